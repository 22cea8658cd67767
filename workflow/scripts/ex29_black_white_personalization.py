"""Exhibit 29: Black and White students in one multi-group model, HQC -> mind-sets before and
after personalization; with the text around Exhibits 29-31: the HQC - social self-efficacy
correlation by group (note h: 0.73 White, 0.57 Black), the "about 34 percent stronger"
relation among White students, and HQC -> grades for White students (prior grade controlled).

The report does not say which quantity is 34 percent stronger; its two correlations differ by
28 percent (0.73 / 0.57 - 1). The comparison uses the standardized HQC -> social self-efficacy
path (White / Black - 1, delta-method CI); the correlation ratio is in the notes."""
from lwo.runner import run
from lwo.sem_exhibits import build_exhibit_29


def main(sm):
    build_exhibit_29(inputs=dict(sm.input.items()), outputs=dict(sm.output.items()))


if __name__ == "__main__":
    run(main, snakemake)  # noqa: F821 (injected by Snakemake)
