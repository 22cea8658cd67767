"""Exhibit 2: the theorized effect of collaboration on outcomes in student-centered classrooms.

The theory (report, "Theoretical Model for the Study"): high-quality collaborative
opportunities -> students' classroom experiences -> mind-sets and dispositions -> attendance
and grades, each path moderated by race. It is written as a path spec and drawn from it; each
box lists the domains of its measures from the codebook (Exhibits 8-10), and race appears as a
moderator of every path (in the models: Black and White students fitted as two groups).
"""
import pandas as pd

from lwo.codebook import Codebook
from lwo.diagrams import draw_path_diagram, spec_graph
from lwo.exhibit import write_exhibit
from lwo.runner import run

SPEC = """
classroom_experiences ~ hqc
mindsets ~ classroom_experiences
attendance_grades ~ mindsets
"""
BLOCK_OF = {"hqc": "hqc", "classroom_experiences": "classroom_environment", "mindsets": "mindset"}
LABELS = {"hqc": "High-quality collaborative opportunities", "classroom_experiences": "Classroom experiences",
          "mindsets": "Mind-sets and dispositions", "attendance_grades": "Outcomes"}
MODERATOR = "Student race (Black, White)"


def block_domains(codebook: Codebook, block: str) -> list[str]:
    domains = [codebook.student_constructs[c]["domain"] for c in codebook.constructs_in_block(block)]
    return list(dict.fromkeys(domains))


def main(sm):
    codebook = Codebook.load(sm.input.codebook)
    graph = spec_graph(SPEC)
    details = {node: "\n".join(d[0].upper() + d[1:] + (" quality" if block == "hqc" else "")
                               for d in block_domains(codebook, block))
               for node, block in BLOCK_OF.items()}
    details["attendance_grades"] = "Attendance\nGrades"
    diagram = draw_path_diagram(graph, labels=LABELS, details=details, moderator=MODERATOR,
                                box_width=1.9, wrap=17, column_gap=2.55,
                                title="Theorized effect of collaboration on outcomes",
                                note="Dashed arrows: race moderates every path (the study expected stronger, "
                                     "more positive relations for Black students).")
    rows = []
    for src, dst in sorted(graph.regressions(), key=lambda e: list(graph.nodes).index(e[0])):
        rows.append({"from": LABELS[src], "to": LABELS[dst], "from_domains": details[src].replace("\n", "; "),
                     "to_domains": details[dst].replace("\n", "; "), "moderated_by": MODERATOR})
    write_exhibit(sm.output, exhibit="2", title="Theorized effect of collaboration on outcomes in "
                  "student-centered classrooms", section="Introduction", table=pd.DataFrame(rows),
                  comparison=[], figure=diagram.figure,
                  caption="High-quality collaboration is theorized to shape classroom experiences, which "
                          "shape mind-sets and dispositions, which shape attendance and grades; race "
                          "moderates each path.",
                  notes=["Conceptual exhibit: no data and no published numbers. Drawn from the path "
                         "spec " + "; ".join(l.strip() for l in SPEC.strip().splitlines()) + " (lwo.diagrams); "
                         "the domains in each box are the codebook's (Exhibits 8-10)."])


run(main, snakemake)  # noqa: F821 (injected by Snakemake)
