"""Ordinal alpha, ordinal omega and polychoric EFA against the latent-response population of
tests/test_sem_ordinal.py, and the polychoric matrix against lavaan."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lwo.measurement import cronbach_alpha
from lwo.ordinal_measurement import ordinal_alpha, ordinal_omega, polychoric_efa, smoothed
from lwo.sem.polychoric import polychoric_matrix
from test_sem_ordinal import POP_LOADINGS, simulate_latent_response

REF = Path(__file__).parent / "lavaan" / "ordinal"


@pytest.fixture(scope="module")
def big():
    return simulate_latent_response(50_000, seed=7)


def test_polychoric_matrix_matches_lavaan():
    hs = pd.read_csv(REF / "hs_ordinal.csv")
    items = [f"x{i}" for i in range(1, 10)]
    corr, th = polychoric_matrix(hs, items)
    obs = pd.read_csv(REF / "ref_hs1_wls_obs.csv")["value"].to_numpy()
    rows, cols = np.tril_indices(9, -1)
    order = np.lexsort((rows, cols))  # lavaan: below the diagonal, column by column
    np.testing.assert_allclose(corr.to_numpy()[rows[order], cols[order]], obs[27:], atol=1e-6)
    np.testing.assert_allclose(np.concatenate([th[i] for i in items]), obs[:27], atol=1e-6)


def test_ordinal_reliability_recovers_latent_response_values(big):
    """Items y1-y4 (loadings .8, .7, .6, .5): omega and alpha of y* are .749 and .742; the
    raw Cronbach alpha of the 1-4 codes is visibly lower."""
    items = ["y1", "y2", "y3", "y4"]
    lam = POP_LOADINGS[:4]
    omega_pop = lam.sum() ** 2 / (lam.sum() ** 2 + np.sum(1 - lam**2))
    k = len(lam)
    total = k + lam.sum() ** 2 - np.sum(lam**2)
    alpha_pop = k / (k - 1) * (1 - k / total)
    assert ordinal_omega(big, items) == pytest.approx(omega_pop, abs=0.01)
    assert ordinal_alpha(big, items) == pytest.approx(alpha_pop, abs=0.01)
    assert cronbach_alpha(big[items]) < alpha_pop - 0.03


def test_pairwise_polychoric_matrix_matches_lavaan():
    holes = pd.read_csv(REF / "hs_ordinal_holes.csv")
    items = [f"x{i}" for i in range(1, 10)]
    corr, th = polychoric_matrix(holes, items, missing="pairwise")
    obs = pd.read_csv(REF / "ref_hs1_pw_wls_obs.csv")["value"].to_numpy()
    rows, cols = np.tril_indices(9, -1)
    order = np.lexsort((rows, cols))
    np.testing.assert_allclose(corr.to_numpy()[rows[order], cols[order]], obs[27:], atol=1e-6)
    np.testing.assert_allclose(np.concatenate([th[i] for i in items]), obs[:27], atol=1e-6)


def test_pairwise_reliability_recovers_latent_response_values_with_a_third_of_the_answers_blank(big):
    """The same values with a third of the answers blank at random (a fifth of the students
    answer all four items): pairwise, every answer counts."""
    items = ["y1", "y2", "y3", "y4"]
    holes = big[items].astype(float).mask(np.random.default_rng(8).random((len(big), 4)) < 1 / 3)
    assert holes.notna().all(axis=1).mean() < 0.21
    lam = POP_LOADINGS[:4]
    omega_pop = lam.sum() ** 2 / (lam.sum() ** 2 + np.sum(1 - lam**2))
    alpha_pop = 4 / 3 * (1 - 4 / (4 + lam.sum() ** 2 - np.sum(lam**2)))
    assert ordinal_omega(holes, items, missing="pairwise") == pytest.approx(omega_pop, abs=0.01)
    assert ordinal_alpha(holes, items, missing="pairwise") == pytest.approx(alpha_pop, abs=0.01)
    with pytest.raises(ValueError, match="rows have every item"):
        ordinal_alpha(holes.head(8), items)


def test_pairwise_polychoric_efa_recovers_pattern_where_no_student_answered_every_item(big):
    """Half of the answers blank at random: almost no student answers all eight items, so a
    listwise EFA has nothing; the pairwise one recovers the pattern (smoothing a non-positive
    definite matrix where needed)."""
    rng = np.random.default_rng(9)
    holes = big.astype(float).mask(rng.random(big.shape) < 0.5)
    assert holes.notna().all(axis=1).mean() < 0.005  # 0.5^8: listwise would keep 0.4%
    res = polychoric_efa(holes, list(big.columns), n_factors=2, missing="pairwise")
    load = res.loadings.to_numpy()
    # each correlation rests on a quarter of the students (12,500): 0.03 is about two SDs of a loading
    np.testing.assert_allclose(np.abs(load).max(axis=1), POP_LOADINGS, atol=0.03)
    assert np.abs(load).min(axis=1).max() < 0.04
    assert res.factor_correlations.iloc[0, 1] == pytest.approx(0.4, abs=0.04)
    assert res.n == int(holes.notna().any(axis=1).sum()) and res.method == "ml (polychoric, pairwise)"
    with pytest.raises(ValueError, match="too few for an EFA"):
        polychoric_efa(holes.head(6), list(big.columns), n_factors=2, missing="pairwise")


def test_smoothing_makes_a_pairwise_matrix_positive_definite_and_leaves_a_proper_one_alone():
    R = np.array([[1.0, 0.9, 0.1], [0.9, 1.0, 0.9], [0.1, 0.9, 1.0]])  # correlations no data can give
    assert np.linalg.eigvalsh(R).min() < 0
    S = smoothed(R)
    assert np.linalg.eigvalsh(S).min() > 0 and np.allclose(np.diag(S), 1.0) and np.allclose(S, S.T)
    # a correction, not a new matrix: signs and order kept, each correlation moved by less than 0.15
    assert np.abs(S - R).max() < 0.15 and (np.sign(S) == np.sign(R)).all() and S[1, 0] > S[2, 0]
    proper = np.array([[1.0, 0.5], [0.5, 1.0]])
    assert smoothed(proper) is proper


def test_polychoric_efa_recovers_pattern(big):
    res = polychoric_efa(big, list(big.columns), n_factors=2)
    load = res.loadings.to_numpy()
    main = np.abs(load).max(axis=1)
    np.testing.assert_allclose(main, POP_LOADINGS, atol=0.02)
    cross = np.abs(load).min(axis=1)
    assert cross.max() < 0.03
    assert res.factor_correlations.iloc[0, 1] == pytest.approx(0.4, abs=0.03)
    assert res.method == "ml (polychoric)"


def test_bad_input_names_the_items(big):
    with pytest.raises(ValueError, match="not in the data"):
        ordinal_alpha(big, ["y1", "nope"])
