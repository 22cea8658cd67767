"""Exhibit 30: Black and White students, HQC -> mind-sets before and after teacher
expectations; the report: the teacher-expectation paths (to task valuing, mastery orientation
and academic self-efficacy) differ significantly between the groups, tested here by a
Wald test of those three paths' equality from the cluster-robust covariance, as an adjusted
Wald F (or the scaled likelihood-ratio test, as lr_tests.csv's verdict_test says; lwo.sem_results.fit_multigroup)."""
from lwo.runner import run
from lwo.sem_exhibits import build_exhibit_30


def main(sm):
    build_exhibit_30(inputs=dict(sm.input.items()), outputs=dict(sm.output.items()))


if __name__ == "__main__":
    run(main, snakemake)  # noqa: F821 (injected by Snakemake)
