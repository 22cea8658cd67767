"""Exhibits 14a and 14b: the two theorized links between high-quality collaboration and
outcomes, drawn from their path specs.

14a: HQC is linked to classroom experiences (thick arrow) and directly to outcomes, whatever
the classroom experiences (no path from experiences to outcomes: fixed at 0).
14b: HQC has a weak direct link to outcomes (thin arrow); its strongest path to outcomes runs
through students' perceptions of the classroom.
A fixed coefficient in the spec is the theorized strength of a path (1 strong, 0.25 weak, 0
none); it sets the arrow's width. The models that test this (Exhibits 15-19) are fitted by
rule sem_fit.
"""
import textwrap

import matplotlib.pyplot as plt
import pandas as pd

from lwo.codebook import Codebook
from lwo.diagrams import draw_path_diagram, path_diagram_size, spec_graph
from lwo.exhibit import write_exhibit
from lwo.plotting import STYLE
from lwo.runner import run

SPECS = {
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
LABELS = {"hqc": "High-quality collaboration", "classroom_experiences": "Classroom experiences",
          "outcomes": "Outcomes"}
STRENGTH = {1.0: "strong", 0.25: "weak", 0.0: "no path"}


def main(sm):
    codebook = Codebook.load(sm.input.codebook)
    details = {"classroom_experiences": "(perceptions of the classroom)",
               "outcomes": "(mind-sets and dispositions, attendance, grades)"}
    graphs = {exhibit: spec_graph(spec) for exhibit, (_, spec) in SPECS.items()}
    layout = dict(labels=LABELS, details=details, box_width=2.3, wrap=20, column_gap=3.5, label_offset=0.2)
    titles = {exhibit: "\n".join(textwrap.wrap(f"Exhibit {exhibit}. {title}", 80))
              for exhibit, (title, _) in SPECS.items()}
    sizes = [path_diagram_size(graphs[x], title=titles[x], **layout) for x in SPECS]
    plt.rcParams.update(STYLE)
    fig, axes = plt.subplots(len(sizes), 1, figsize=(max(w for w, _ in sizes), sum(h for _, h in sizes)),
                             gridspec_kw={"height_ratios": [h for _, h in sizes], "hspace": 0.05})
    rows = []
    for ax, exhibit in zip(axes, SPECS):
        graph = graphs[exhibit]
        values = {(e.source, e.target): {"text": STRENGTH[e.fixed]} for e in graph.edges}
        draw_path_diagram(graph, values=values, ax=ax, title=titles[exhibit], **layout)
        for e in graph.edges:
            rows.append({"exhibit": exhibit, "from": LABELS[e.source], "to": LABELS[e.target],
                         "theorized_strength": STRENGTH[e.fixed], "spec_coefficient": e.fixed})
    n_env = len(codebook.constructs_in_block("classroom_environment"))
    write_exhibit(sm.output, exhibit="14", title="Theorized links between high-quality collaboration "
                  "and outcomes: direct (14a) and through classroom experiences (14b)",
                  section="RQ1a: All students", table=pd.DataFrame(rows), comparison=[], figure=fig,
                  caption="Arrow width is the theorized strength of a path; a dotted grey line is a path "
                          "the theory sets to zero.",
                  notes=["Conceptual exhibit: no data and no published numbers. Each panel is drawn from "
                         "its path spec (lwo.diagrams); fixed coefficients encode the theorized strength.",
                         f"Classroom experiences are the {n_env} classroom-environment measures of Exhibit 9; "
                         "the fitted versions of 14b are Exhibits 15-20."])


run(main, snakemake)  # noqa: F821 (injected by Snakemake)
