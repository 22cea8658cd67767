"""Exhibit 1: multiple domains for personalizing learning.

The figure did not survive the report's text extraction; its domains are the ones the text
beside it names ("from the right academic difficulty level; to appropriate modality and pace;
to a topical focus that taps into their personal interests, culture, and goals; to students'
needs for social-emotional support and exchange"). They are written as a one-factor spec
(personalized learning and its facets) and drawn from it. The social-emotional domain is
highlighted: it is the one the study links to collaboration.
"""
import pandas as pd

from lwo.diagrams import draw_radial_diagram, spec_graph
from lwo.exhibit import write_exhibit
from lwo.runner import run

# domain -> (display name, the report's words)
DOMAINS = {
    "academic_level": ("Academic level", "the right academic difficulty level"),
    "modality": ("Modality", "an appropriate modality of learning"),
    "pace": ("Pace", "an appropriate pace"),
    "interests_culture_goals": ("Interests, culture and goals",
                                "a topical focus that taps into personal interests, culture and goals"),
    "social_emotional": ("Social-emotional support and exchange",
                         "students' needs for social-emotional support and verbal exchange"),
}
CENTRE = "personalized_learning"
SPEC = f"{CENTRE} =~ " + " + ".join(DOMAINS)
FOCUS = "social_emotional"


def main(sm):
    graph = spec_graph(SPEC, measurement=True)
    labels = {CENTRE: "Personalized learning", **{d: name for d, (name, _) in DOMAINS.items()}}
    details = {d: words for d, (_, words) in DOMAINS.items()}
    diagram = draw_radial_diagram(
        graph, CENTRE, labels=labels, details=details, highlight=[FOCUS],
        title="Multiple domains for personalizing learning",
        note="Domains as the report's text names them. Highlighted: the domain the study links to "
             "collaboration (social-emotional support and exchange).")
    table = pd.DataFrame([{"domain": name, "description": words, "studied_here": d == FOCUS}
                          for d, (name, words) in DOMAINS.items()])
    write_exhibit(sm.output, exhibit="1", title="Multiple domains for personalizing learning",
                  section="Introduction", table=table, comparison=[], figure=diagram.figure,
                  caption="Personalized learning meets students' varying needs in several domains; "
                          "collaboration speaks to the social-emotional one.",
                  notes=["Conceptual exhibit: no data and no published numbers. Drawn from the spec "
                         f"`{SPEC}` (lwo.diagrams).",
                         "The domains are those the report's text names beside Exhibit 1; the "
                         "original figure's layout is not reproduced."])


run(main, snakemake)  # noqa: F821 (injected by Snakemake)
