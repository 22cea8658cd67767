"""Exhibit 20: the finding that the relation of high-quality collaboration (HQC) with the
mind-sets runs largely through students' perceptions of personalization.

Drawn from the spec of model hqc_mindsets_via_personalization (controls left out of the
drawing) with the standardized estimates (std.all) of its saved fit for all students on the
arrows: HQC -> teacher support and learning needs met (a), each of those -> the six mind-sets
(b), and HQC -> each mind-set directly (c). The model is fitted once, by rule sem_fit; this
script only reads results/models/all/hqc_mindsets_via_personalization/ (fit.json and
standardized.csv: std.all with delta-method SEs and CIs). The table adds the indirect and
total effects and the percent mediated (the spec's defined parameters).
"""
import json

import pandas as pd

from lwo.codebook import Codebook
from lwo.descriptives import data_source_label
from lwo.diagrams import draw_path_diagram, edge_values, spec_graph
from lwo.exhibit import write_exhibit
from lwo.plotting import PALETTE
from lwo.runner import run
from lwo.specs import CONTROLS, GRADE_CONTROLS, MEDIATORS, rq1_models

MODEL = "hqc_mindsets_via_personalization"
VIA = PALETTE[0]      # paths through personalization
DIRECT = "#555555"    # direct paths
COLUMNS = ["label", "est.std", "se", "pvalue", "ci.lower", "ci.upper"]


def path_kind(source: str, target: str, mediators) -> str:
    if target in mediators:
        return "a: HQC -> personalization"
    if source in mediators:
        return "b: personalization -> mind-set"
    return "c: HQC -> mind-set, direct"


def main(sm):
    codebook = Codebook.load(sm.input.codebook)
    spec = rq1_models(codebook)[MODEL]
    with open(sm.input.fit, encoding="utf-8") as fh:
        fit = json.load(fh)
    standardized = pd.read_csv(sm.input.standardized)
    estimates = pd.read_csv(sm.input.estimates)  # unstandardized, for the table
    mediators = MEDIATORS["personalization"]
    graph = spec_graph(spec.syntax, exclude=set(CONTROLS) | set(GRADE_CONTROLS))
    labels = {n: codebook.label(n) for n in graph.nodes if n != "hqc"}
    labels["hqc"] = "High-quality collaboration (HQC)"
    source = data_source_label(sm.input.summary)
    converged = fit.get("status") == "ok"
    values = edge_values(standardized, graph, column="est.std") if converged else None
    colours = {(e.source, e.target): VIA if (e.source in mediators or e.target in mediators) else DIRECT
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
            "ELL, special education, subject) are in the model but not drawn. " + fit.get("exclusion_note", ""))
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
                         **{c: hit[c] for c in COLUMNS}})
        for _, d in standardized[standardized["op"] == ":="].iterrows():
            kind, _, outcome = str(d["lhs"]).partition("_")
            if d["lhs"].startswith("percent_mediated_"):
                kind, outcome = "percent mediated", d["lhs"][len("percent_mediated_"):]
            rows.append({"path": f"defined: {kind}", "from": labels["hqc"], "to": labels.get(outcome, outcome),
                         "est": unstandardized.get(d["label"]), **{c: d[c] for c in COLUMNS}})
    table = pd.DataFrame(rows, columns=["path", "from", "to", "est", *COLUMNS])
    # a model with too few students is not estimable (its message says why), not a failure
    status = "ok" if converged else fit.get("message", "") if fit.get("status") == "not estimable" else "failed"
    write_exhibit(sm.output, exhibit="20", title="High-quality collaboration and mind-sets, through "
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
                         f"Model {MODEL}, fitted once by rule sem_fit (results/models/all/{MODEL}/)."])


run(main, snakemake)  # noqa: F821 (injected by Snakemake)
