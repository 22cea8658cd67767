"""Scale scores, checked against values computed by hand."""
import numpy as np
import pandas as pd
import pytest

from lwo.scoring import score_construct


def test_reverse_coded_mean_by_hand(codebook):
    # group_interdependence: hqc_gi3 is reverse-worded
    assert [i.reverse for i in codebook.items("group_interdependence")] == [False, False, True, False]
    df = pd.DataFrame({"hqc_gi1": [4, 1, 2], "hqc_gi2": [3, 1, np.nan], "hqc_gi3": [1, 4, np.nan], "hqc_gi4": [4, 2, np.nan]})
    s = score_construct(df, codebook, "group_interdependence")
    # row 0: 4, 3, (5-1)=4, 4 -> 15/4; row 1: 1, 1, (5-4)=1, 2 -> 5/4
    assert s.iloc[0] == pytest.approx(3.75)
    assert s.iloc[1] == pytest.approx(1.25)
    # row 2: one of four items answered, below the codebook's minimum share (1/2)
    assert np.isnan(s.iloc[2])


def test_half_the_items_is_enough(codebook):
    df = pd.DataFrame({"env_ps1": [2], "env_ps2": [3], "env_ps3": [np.nan], "env_ps4": [np.nan]})
    assert score_construct(df, codebook, "peer_support").iloc[0] == pytest.approx(2.5)


def test_scores_track_the_latent_construct(cohort, codebook):
    from lwo.scoring import score_constructs
    st = cohort["students"]
    scores = score_constructs(st[st.surveyed == 1], codebook)
    lat = cohort["latents"].set_index("student_id").loc[st.loc[st.surveyed == 1, "student_id"]]
    for construct in ("peer_support", "social_self_efficacy", "group_interdependence"):
        scored = scores[construct].notna().to_numpy()   # too few items answered: no score
        assert scored.mean() > 0.9, construct
        r = np.corrcoef(scores[construct].to_numpy()[scored], lat[f"{construct}_latent"].to_numpy()[scored])[0, 1]
        assert r > 0.75, construct
