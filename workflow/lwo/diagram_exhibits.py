"""Builders of the diagram exhibits (1, 2, 14 and 20): each is drawn from a model spec with
lwo.diagrams (Exhibit 20 with the estimates of its saved fit). Each takes plain arguments
(input paths, the output paths by name)."""
from __future__ import annotations

import json
import textwrap

import pandas as pd

from lwo.codebook import Codebook
from lwo.descriptives import data_source_label
from lwo.diagrams import draw_path_diagram, draw_radial_diagram, edge_values, path_diagram_size, spec_graph
from lwo.exhibit import write_exhibit
from lwo.plotting import PALETTE, new_figure
from lwo.specs import CONTROLS, GRADE_CONTROLS, MEDIATORS, rq1_models, without_outcomes


# domain -> (display name, the report's words)
PERSONALIZATION_DOMAINS = {
    "academic_level": ("Academic level", "the right academic difficulty level"),
    "modality": ("Modality", "an appropriate modality of learning"),
    "pace": ("Pace", "an appropriate pace"),
    "interests_culture_goals": ("Interests, culture and goals",
                                "a topical focus that taps into personal interests, culture and goals"),
    "social_emotional": ("Social-emotional support and exchange",
                         "students' needs for social-emotional support and verbal exchange"),
}
PERSONALIZATION_CENTRE = "personalized_learning"
PERSONALIZATION_SPEC = f"{PERSONALIZATION_CENTRE} =~ " + " + ".join(PERSONALIZATION_DOMAINS)
PERSONALIZATION_FOCUS = "social_emotional"


def build_exhibit_1(*, outputs) -> None:
    """Exhibit 1: multiple domains for personalizing learning."""
    graph = spec_graph(PERSONALIZATION_SPEC, measurement=True)
    labels = {PERSONALIZATION_CENTRE: "Personalized learning",
              **{d: name for d, (name, _) in PERSONALIZATION_DOMAINS.items()}}
    details = {d: words for d, (_, words) in PERSONALIZATION_DOMAINS.items()}
    diagram = draw_radial_diagram(
        graph, PERSONALIZATION_CENTRE, labels=labels, details=details, highlight=[PERSONALIZATION_FOCUS],
        title="Multiple domains for personalizing learning",
        note="Domains as the report's text names them. Highlighted: the domain the study links to "
             "collaboration (social-emotional support and exchange).")
    table = pd.DataFrame([{"domain": name, "description": words, "studied_here": d == PERSONALIZATION_FOCUS}
                          for d, (name, words) in PERSONALIZATION_DOMAINS.items()])
    write_exhibit(outputs, exhibit="1", title="Multiple domains for personalizing learning",
                  section="Introduction", table=table, comparison=[], figure=diagram.figure,
                  caption="Personalized learning meets students' varying needs in several domains; "
                          "collaboration speaks to the social-emotional one.",
                  notes=["Conceptual exhibit: no data and no published numbers. Drawn from the spec "
                         f"`{PERSONALIZATION_SPEC}` (lwo.diagrams).",
                         "The domains are those the report's text names beside Exhibit 1; the "
                         "original figure's layout is not reproduced."])


THEORY_SPEC = """
classroom_experiences ~ hqc
mindsets ~ classroom_experiences
attendance_grades ~ mindsets
"""
THEORY_BLOCKS = {"hqc": "hqc", "classroom_experiences": "classroom_environment", "mindsets": "mindset"}
THEORY_LABELS = {"hqc": "High-quality collaborative opportunities", "classroom_experiences": "Classroom experiences",
                 "mindsets": "Mind-sets and dispositions", "attendance_grades": "Outcomes"}
THEORY_MODERATOR = "Student race (Black, White)"


def block_domains(codebook: Codebook, block: str) -> list[str]:
    domains = [codebook.student_constructs[c]["domain"] for c in codebook.constructs_in_block(block)]
    return list(dict.fromkeys(domains))


def build_exhibit_2(*, codebook, outputs) -> None:
    """Exhibit 2: the theorized effect of collaboration on outcomes in student-centered classrooms."""
    codebook = Codebook.load(codebook)
    graph = spec_graph(THEORY_SPEC)
    details = {node: "\n".join(d[0].upper() + d[1:] + (" quality" if block == "hqc" else "")
                               for d in block_domains(codebook, block))
               for node, block in THEORY_BLOCKS.items()}
    details["attendance_grades"] = "Attendance\nGrades"
    diagram = draw_path_diagram(graph, labels=THEORY_LABELS, details=details, moderator=THEORY_MODERATOR,
                                box_width=1.9, wrap=17, column_gap=2.55,
                                title="Theorized effect of collaboration on outcomes",
                                note="Dashed arrows: race moderates every path (the study expected stronger, "
                                     "more positive relations for Black students).")
    rows = []
    for src, dst in sorted(graph.regressions(), key=lambda e: list(graph.nodes).index(e[0])):
        rows.append({"from": THEORY_LABELS[src], "to": THEORY_LABELS[dst],
                     "from_domains": details[src].replace("\n", "; "),
                     "to_domains": details[dst].replace("\n", "; "), "moderated_by": THEORY_MODERATOR})
    write_exhibit(outputs, exhibit="2", title="Theorized effect of collaboration on outcomes in "
                  "student-centered classrooms", section="Introduction", table=pd.DataFrame(rows),
                  comparison=[], figure=diagram.figure,
                  caption="High-quality collaboration is theorized to shape classroom experiences, which "
                          "shape mind-sets and dispositions, which shape attendance and grades; race "
                          "moderates each path.",
                  notes=["Conceptual exhibit: no data and no published numbers. Drawn from the path "
                         "spec " + "; ".join(l.strip() for l in THEORY_SPEC.strip().splitlines()) + " (lwo.diagrams); "
                         "the domains in each box are the codebook's (Exhibits 8-10)."])


LINK_SPECS = {
    "14a": ("High-quality collaboration is directly linked to outcomes, regardless of classroom experiences", """
classroom_experiences ~ 1*hqc
outcomes ~ 1*hqc + 0*classroom_experiences
"""),
    "14b": ("High-quality collaboration is linked to outcomes, but the relationship depends on "
            "students' classroom experiences", """
classroom_experiences ~ 1*hqc
outcomes ~ 0.25*hqc + 1*classroom_experiences
"""),
}
LINK_LABELS = {"hqc": "High-quality collaboration", "classroom_experiences": "Classroom experiences",
               "outcomes": "Outcomes"}
LINK_STRENGTH = {1.0: "strong", 0.25: "weak", 0.0: "no path"}


def build_exhibit_14(*, codebook, outputs) -> None:
    """Exhibits 14a and 14b: the two theorized links between high-quality collaboration and
    outcomes, drawn from their path specs."""
    codebook = Codebook.load(codebook)
    details = {"classroom_experiences": "(perceptions of the classroom)",
               "outcomes": "(mind-sets and dispositions, attendance, grades)"}
    graphs = {exhibit: spec_graph(spec) for exhibit, (_, spec) in LINK_SPECS.items()}
    layout = dict(labels=LINK_LABELS, details=details, box_width=2.3, wrap=20, column_gap=3.5, label_offset=0.2)
    titles = {exhibit: "\n".join(textwrap.wrap(f"Exhibit {exhibit}. {title}", 80))
              for exhibit, (title, _) in LINK_SPECS.items()}
    sizes = [path_diagram_size(graphs[x], title=titles[x], **layout) for x in LINK_SPECS]
    fig, axes = new_figure(len(sizes), 1, figsize=(max(w for w, _ in sizes), sum(h for _, h in sizes)),
                           gridspec_kw={"height_ratios": [h for _, h in sizes], "hspace": 0.05})
    rows = []
    for ax, exhibit in zip(axes, LINK_SPECS):
        graph = graphs[exhibit]
        values = {(e.source, e.target): {"text": LINK_STRENGTH[e.fixed]} for e in graph.edges}
        draw_path_diagram(graph, values=values, ax=ax, title=titles[exhibit], **layout)
        for e in graph.edges:
            rows.append({"exhibit": exhibit, "from": LINK_LABELS[e.source], "to": LINK_LABELS[e.target],
                         "theorized_strength": LINK_STRENGTH[e.fixed], "spec_coefficient": e.fixed})
    n_env = len(codebook.constructs_in_block("classroom_environment"))
    write_exhibit(outputs, exhibit="14", title="Theorized links between high-quality collaboration "
                  "and outcomes: direct (14a) and through classroom experiences (14b)",
                  section="RQ1a: All students", table=pd.DataFrame(rows), comparison=[], figure=fig,
                  caption="Arrow width is the theorized strength of a path; a dotted grey line is a path "
                          "the theory sets to zero.",
                  notes=["Conceptual exhibit: no data and no published numbers. Each panel is drawn from "
                         "its path spec (lwo.diagrams); fixed coefficients encode the theorized strength.",
                         f"Classroom experiences are the {n_env} classroom-environment measures of Exhibit 9; "
                         "the fitted versions of 14b are Exhibits 15-20."])


MEDIATION_MODEL = "hqc_mindsets_via_personalization"
VIA_COLOUR = PALETTE[0]      # paths through personalization
DIRECT_COLOUR = "#555555"    # direct paths
MEDIATION_COLUMNS = ["label", "est.std", "se", "pvalue", "ci.lower", "ci.upper"]


def path_kind(source: str, target: str, mediators) -> str:
    if target in mediators:
        return "a: HQC -> personalization"
    if source in mediators:
        return "b: personalization -> mind-set"
    return "c: HQC -> mind-set, direct"


def build_exhibit_20(*, summary, codebook, fit, standardized, estimates, outputs) -> None:
    """Exhibit 20: HQC and the mind-sets through perceived personalization, drawn from the
    spec of its model with the standardized estimates of its saved fit (all students)."""
    codebook = Codebook.load(codebook)
    spec = rq1_models(codebook)[MEDIATION_MODEL]
    with open(fit, encoding="utf-8") as fh:
        fit = json.load(fh)
    left_out = fit.get("outcomes_left_out") or {}
    if left_out:  # the model fitted: without the outcomes no student had data on
        spec = without_outcomes(spec, codebook, left_out)
    standardized = pd.read_csv(standardized)
    estimates = pd.read_csv(estimates)  # unstandardized, for the table
    mediators = MEDIATORS["personalization"]
    graph = spec_graph(spec.syntax, exclude=set(CONTROLS) | set(GRADE_CONTROLS))
    labels = {n: codebook.label(n) for n in graph.nodes if n != "hqc"}
    labels["hqc"] = "High-quality collaboration (HQC)"
    source = data_source_label(summary)
    converged = fit.get("status") == "ok"
    values = edge_values(standardized, graph, column="est.std") if converged else None
    colours = {(e.source, e.target): (VIA_COLOUR if (e.source in mediators or e.target in mediators)
                                      else DIRECT_COLOUR)
               for e in graph.edges}
    widths = ({k: 0.6 + 5.0 * abs(v["value"]) for k, v in values.items()} if values else None)
    positions = {}
    for e in graph.edges:  # b values near their mediator, c values near their mind-set: apart
        if e.source in mediators:
            positions[(e.source, e.target)] = 0.33
        elif e.target not in mediators:
            positions[(e.source, e.target)] = 0.76
    note = ("Standardized estimates (std.all); * p < .05 (delta method). Blue: paths through personalization; grey: "
            "direct paths. Arrow width grows with the estimate. Controls (school, grade level, gender, "
            "ELL, special education, subject) are in the model but not drawn. " + fit.get("exclusion_note", "")
            + "".join(f". Not drawn: {why}" for why in left_out.values()))
    if not converged:
        note = f"The model has no estimates ({fit.get('message', 'no message')}): none are shown."
    diagram = draw_path_diagram(graph, labels=labels, values=values, widths=widths, colours=colours,
                                highlight=mediators, box_width=2.0, wrap=16, column_gap=(2.8, 4.6), row_gap=1.2,
                                label_position=positions, note=note, source=source,
                                title="HQC and mind-sets through perceptions of personalization (all students)")

    rows = []
    if converged:
        unstandardized = estimates.set_index("label")["est"]
        for edge in graph.edges:
            hit = standardized[(standardized["lhs"] == edge.target) & (standardized["op"] == "~")
                               & (standardized["rhs"] == edge.source)].iloc[0]
            rows.append({"path": path_kind(edge.source, edge.target, mediators), "from": labels[edge.source],
                         "to": labels[edge.target], "est": unstandardized.get(hit["label"]),
                         **{c: hit[c] for c in MEDIATION_COLUMNS}})
        for _, d in standardized[standardized["op"] == ":="].iterrows():
            kind, _, outcome = str(d["lhs"]).partition("_")
            if d["lhs"].startswith("percent_mediated_"):
                kind, outcome = "percent mediated", d["lhs"][len("percent_mediated_"):]
            rows.append({"path": f"defined: {kind}", "from": labels["hqc"], "to": labels.get(outcome, outcome),
                         "est": unstandardized.get(d["label"]), **{c: d[c] for c in MEDIATION_COLUMNS}})
    table = pd.DataFrame(rows, columns=["path", "from", "to", "est", *MEDIATION_COLUMNS])
    # a model with too few students is not estimable (its message says why), not a failure
    status = "ok" if converged else fit.get("message", "") if fit.get("status") == "not estimable" else "failed"
    write_exhibit(outputs, exhibit="20", title="High-quality collaboration and mind-sets, through "
                  "students' perceptions of personalization", section="RQ1a: All students", table=table,
                  comparison=[], figure=diagram.figure, status=status,
                  caption="Mediation of HQC's relation with the six mind-sets by perceived teacher support "
                          "and personal learning needs met, standardized estimates on the arrows.",
                  notes=[note,
                         "Table: est, the unstandardized estimate; est.std with its delta-method SE, p-value "
                         "and 95% CI, the standardized one. The indirect and total effects and the percent "
                         "mediated are the spec's defined parameters.",
                         "The report's Exhibit 20 is an illustration without numbers; no published value "
                         "to compare (Exhibit 16 compares the mediation with the report).",
                         f"Model {MEDIATION_MODEL}, fitted once by rule sem_fit "
                         f"(results/models/all/{MEDIATION_MODEL}/)."])
