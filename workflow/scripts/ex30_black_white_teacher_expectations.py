"""Exhibit 30: Black and White students, HQC -> mind-sets before and after teacher
expectations; the report: the teacher-expectation paths (to task valuing, mastery orientation
and academic self-efficacy) differ significantly between the groups, tested here by a
Wald test of those three paths' equality from the cluster-robust covariance (or the scaled
likelihood-ratio test, as lr_tests.csv's verdict_test says; lwo.sem_results.fit_multigroup)."""
from lwo.exhibit import compare_statement
from lwo.runner import run
from lwo.saved_fits import ALPHA
from lwo.sem_exhibits import equality_test_text, multigroup_exhibit
from lwo.specs import TEACHER_EXPECTATION_OUTCOMES

TEST = "teacher_expectations -> " + ", ".join(TEACHER_EXPECTATION_OUTCOMES) + " (b)"


def comparisons(ex, result, others):
    pub = ex.pub("paths_differ:teacher_expectations")
    if not result.ok or result.lr_tests is None:
        return [compare_statement(pub, "not estimable", None, result.message)], []
    t = result.lr_tests.set_index("test").loc[TEST]
    if t["status"] != "ok":
        return [compare_statement(pub, "not estimable", None, t["message"])], []
    test = {"Wald": "Wald test (cluster-robust)", "LR": "likelihood-ratio test"}.get(t["verdict_test"], t["verdict_test"])
    return [compare_statement(pub, ("significant: " if t["pvalue"] < ALPHA else "not significant: ")
                              + equality_test_text(t), bool(t["pvalue"] < ALPHA),
                              f"{test} of equal teacher-expectation paths to task valuing, mastery "
                              "orientation and academic self-efficacy in the two groups; p < .05")], []


def main(sm):
    multigroup_exhibit(
        sm.input, sm.output, exhibit="30", mediator_set="teacher_expectations", comparisons=comparisons,
        title=("Relationships between high-quality collaboration and mind-set and dispositional outcomes among Black "
               "and White students, before and after accounting for perceptions of teacher expectations"))


if __name__ == "__main__":
    run(main, snakemake)  # noqa: F821 (injected by Snakemake)
