"""Exhibit 34: length of collaborative activities in mathematics and ELA classes.

Chi-square test of subject x length (no Yates correction) with Cramer's V (and its
bias-corrected version) and Haberman's adjusted residuals, which show the cells that drive
the association. The published "5+ class periods more likely in ELA" agrees when ELA's share
of long activities is higher, the chi-square is significant and the ELA x long cell's
adjusted residual exceeds 1.96. "Short more likely than long" is tested by the exact 95% CI of
the short share among short-or-long answers. The long-activity share's subject difference is
repeated with classroom-clustered standard errors (subject is constant within a classroom).
"""
from lwo.descriptive_exhibits import build_exhibit_34
from lwo.runner import run


def main(sm):
    build_exhibit_34(
        students=sm.input.students,
        summary=sm.input.summary,
        codebook=sm.input.codebook,
        published=sm.input.published,
        min_cell=sm.params.min_cell,
        outputs=dict(sm.output))


run(main, snakemake)  # noqa: F821 (injected by Snakemake)
