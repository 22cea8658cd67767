"""Equal thresholds across groups identified as Wu & Estabrook (2016), lavaan >= 0.6-20's models
(``fit_ordinal(..., identification="wu-estabrook")``), against lavaan 0.7-2.

Reference values: tests/lavaan/ordinal/reference_wu_estabrook.R, made with lavaan 0.7-2 installed
from source (Debian's lavaan 0.6.14 has the older models, which stay the default here and are
checked in test_sem_ordinal.py; the script says how to regenerate them).
"""

import io
import math
import re
import subprocess

import numpy as np
import pandas as pd
import pytest

from lwo.sem.ordinal import fit_ordinal, lr_test_ordinal

from test_sem_ordinal import HS_CFA, HS_ITEMS, HS_MIXED, REF, STEPS, assert_matches_lavaan, reference_tables

WU = dict(group="school", identification="wu-estabrook")


@pytest.fixture(scope="module")
def hs():
    return pd.read_csv(REF / "hs_ordinal.csv")


@pytest.fixture(scope="module")
def ref():
    return reference_tables("ref_we")


@pytest.fixture(scope="module")
def fits(hs):
    out = {f"we_hs2_{step}": fit_ordinal(HS_CFA, hs, ordered=HS_ITEMS, group_equal=ge, **WU)
           for step, ge in STEPS.items()}
    out["we_hs_mixed_thresholds"] = fit_ordinal(HS_MIXED, hs, ordered=HS_ITEMS[:6], group_equal=("thresholds",), **WU)
    binary = hs.assign(x1=(hs["x1"] >= 3).astype(int), x4=(hs["x4"] >= 3).astype(int))
    out["we_hs_binary_thresholds"] = fit_ordinal(HS_CFA, binary, ordered=HS_ITEMS, group_equal=("thresholds",), **WU)
    # clusters of ten rows, numbered within each group as lavaan does
    clustered = hs.assign(cls=np.arange(len(hs)) // 10)
    for step in ("configural", "thresholds"):
        out[f"we_c_hs2_{step}"] = fit_ordinal(HS_CFA, clustered, ordered=HS_ITEMS, group_equal=STEPS[step], cluster="cls",
                                              crossed_clusters=False, **WU)
    return out


MODELS = ([f"we_hs2_{s}" for s in STEPS] + ["we_hs_mixed_thresholds", "we_hs_binary_thresholds"]
          + ["we_c_hs2_configural", "we_c_hs2_thresholds"])


@pytest.mark.parametrize("name", MODELS)
def test_estimates_and_fit_match_lavaan(fits, ref, name):
    assert_matches_lavaan(fits[name], ref, name)


def test_the_sequence_tests_match_lavaan_and_intercepts_is_a_step(fits, ref):
    """Each step against the one before (lavTestLRT), with and without clusters: the intercepts
    step now constrains (df 6 = 9 items - 3 factors), and its model is lavaan 0.6.14's loadings
    step."""
    for sequence, steps in (("we_hs2", list(STEPS)), ("we_c_hs2", ["configural", "thresholds"])):
        lrt = ref[2][ref[2]["sequence"] == sequence].set_index("model")
        for free, restricted in zip(steps, steps[1:]):
            out = lr_test_ordinal(fits[f"{sequence}_{restricted}"], fits[f"{sequence}_{free}"])
            assert out["df_diff"] == lrt.loc[restricted, "df.diff"]
            assert out["chisq_diff"] == pytest.approx(lrt.loc[restricted, "chisq.diff"], rel=1e-3)
            assert out["pvalue"] == pytest.approx(lrt.loc[restricted, "pvalue"], rel=1e-3)
        if sequence == "we_hs2":
            assert lrt.loc["intercepts", "df.diff"] == 6


def test_the_two_identifications_differ_where_lavaan_changed(fits, hs):
    """lavaan 0.6.14's thresholds step (the default) is Wu & Estabrook's thresholds step with the
    intercepts held equal; their configural models and their last steps are the same model."""
    old = {s: fit_ordinal(HS_CFA, hs, ordered=HS_ITEMS, group="school", group_equal=ge) for s, ge in STEPS.items()}
    new = {s: fits[f"we_hs2_{s}"] for s in STEPS}
    both = fit_ordinal(HS_CFA, hs, ordered=HS_ITEMS, group_equal=("thresholds", "intercepts"), **WU)
    assert old["thresholds"].fit_indices["chisq"] == pytest.approx(both.fit_indices["chisq"], rel=1e-8)
    assert old["thresholds"].fit_indices["df"] == both.fit_indices["df"] == new["thresholds"].fit_indices["df"] + 6
    for same in ("configural", "intercepts"):
        assert old[same].fit_indices["df"] == new[same].fit_indices["df"]
        assert old[same].fit_indices["chisq"] == pytest.approx(new[same].fit_indices["chisq"], rel=1e-8)
    assert old["configural"].identification == "lavaan-0.6.14" and new["thresholds"].identification == "wu-estabrook"


def test_an_item_with_every_threshold_freed_keeps_its_intercept_and_scale_fixed(hs, ref):
    """group.partial freeing all of x2's thresholds: its intercept and scale in the second group
    would trade off against them, so they stay at 0 and 1 (x2 is then as in the configural model).
    lavaan 0.7-2 frees both and counts them: the same chi-square, two df fewer."""
    fit = fit_ordinal(HS_CFA, hs, ordered=HS_ITEMS, group_equal=("thresholds",),
                      group_partial=tuple(f"x2|t{k}" for k in (1, 2, 3)), **WU)
    lav = ref[2].set_index("model").loc["thresholds_partial_x2"]
    assert fit.fit_indices["chisq"] == pytest.approx(lav["Chisq"], rel=1e-6)
    assert fit.fit_indices["df"] == lav["Df"] + 2
    e = fit.estimates.set_index(["lhs", "op", "group"])
    assert e.loc[("x2", "~1", 2), "free"] == 0 and e.loc[("x2", "~*~", 2), "free"] == 0
    assert e.loc[("x3", "~1", 2), "free"] > 0 and e.loc[("x3", "~*~", 2), "free"] > 0


def test_models_of_the_two_identifications_are_compared_only_where_nested(fits, hs):
    """lavaan 0.6.14's thresholds model holds the intercepts equal, which Wu & Estabrook's
    loadings model frees: a difference test of the two is refused; against the configural model
    (no equal thresholds: the same model in both) it is the test of either sequence."""
    old_thresholds = fit_ordinal(HS_CFA, hs, ordered=HS_ITEMS, group="school", group_equal=("thresholds",))
    with pytest.raises(ValueError, match="different identifications are not nested"):
        lr_test_ordinal(fits["we_hs2_loadings"], old_thresholds)
    old_configural = fit_ordinal(HS_CFA, hs, ordered=HS_ITEMS, group="school")
    a = lr_test_ordinal(fits["we_hs2_thresholds"], old_configural)
    b = lr_test_ordinal(fits["we_hs2_thresholds"], fits["we_hs2_configural"])
    assert a["df_diff"] == b["df_diff"] == 9
    assert (a["chisq_diff"], a["pvalue"]) == pytest.approx((b["chisq_diff"], b["pvalue"]), rel=1e-8)


def test_unknown_identification_is_refused(hs):
    with pytest.raises(ValueError, match="identification must be one of"):
        fit_ordinal(HS_CFA, hs, ordered=HS_ITEMS, group="school", identification="0.6-20")
    assert not math.isnan(fit_ordinal(HS_CFA, hs, ordered=HS_ITEMS, identification="wu-estabrook").fit_indices["chisq"])


@pytest.mark.slow
@pytest.mark.parametrize("name", ["we_hs2_thresholds", "we_hs2_loadings", "we_hs_binary_thresholds"])
def test_spec_full_gives_any_lavaan_the_wu_estabrook_fit(fits, hs, tmp_path, name, lavaan_r):
    """Every parameter written out (equal ones sharing labels, no group.equal): lavaan 0.6.14,
    which cannot give these models by group.equal, fits them from spec_full with its header's call
    and returns the same chi-square, df and estimates."""
    fit = fits[name]
    data = hs.assign(x1=(hs["x1"] >= 3).astype(int), x4=(hs["x4"] >= 3).astype(int)) if "binary" in name else hs
    data.to_csv(tmp_path / "d.csv", index=False)
    (tmp_path / "m.lav").write_text(fit.spec_full, encoding="utf-8")
    call = fit.lavaan_call(model="m", data="d")
    assert "group.equal" not in fit.spec_full.splitlines()[0]
    script = (f'suppressMessages(library(lavaan)); d <- read.csv("{tmp_path / "d.csv"}")\n'
              f'm <- paste(readLines("{tmp_path / "m.lav"}"), collapse = "\\n")\n'
              f'f <- {re.sub(r", group.equal = c[(][^)]*[)]", "", call)}\n'
              'write.csv(parameterEstimates(f)[, c("lhs", "op", "rhs", "group", "est")], stdout(), row.names = FALSE)\n'
              'cat("FIT", fitMeasures(f, c("chisq", "df")), "\\n")\n')
    out = subprocess.run(["Rscript", "-e", script], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    body, fit_line = out.stdout.split("FIT")
    chisq, df = map(float, fit_line.split())
    assert df == fit.fit_indices["df"]
    assert chisq == pytest.approx(fit.fit_indices["chisq"], rel=1e-5)
    lav = pd.read_csv(io.StringIO(body), keep_default_na=False, na_values=["NA"])
    m = lav.merge(fit.estimates, on=["lhs", "op", "rhs", "group"], suffixes=("_lavaan", ""))
    assert len(m) == len(fit.estimates) == len(lav)
    np.testing.assert_allclose(m["est"], m["est_lavaan"], atol=1e-4)  # (lavaan's convergence: 1e-5)
