"""The synthetic cohort follows the report's design exactly, carries the mess of a real survey
as stated parameters of config/population_model.yaml (race by site, skewed answers, missing
answers at random given observed data, classroom effects; the latter are checked in
test_population_model.py), and is deterministic."""
import hashlib

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from lwo.io import write_csv


def test_student_counts_match_exhibits_5_and_6(cohort, population_model):
    st = cohort["students"]
    assert len(st) == 892
    assert st["surveyed"].sum() == 869
    surveyed = st[st.surveyed == 1]
    assert (surveyed.subject == "math").sum() == 432
    assert (surveyed.subject == "ela").sum() == 429
    assert round((surveyed.race == "Black").mean(), 2) == 0.46
    per_school = st.groupby("school_id").size()
    assert per_school.min() == 175 and per_school.max() == 312
    for s, spec in population_model["design"]["schools"].items():
        assert per_school[s] == spec["students"]
    assert st.student_id.is_unique
    fg = st.focus_group.value_counts()
    assert fg["all-Black"] == 26 and fg["mixed-race"] == 26
    assert (st.loc[st.focus_group == "all-Black", "race"] == "Black").all()


def test_every_site_meets_the_diversity_criterion(cohort, population_model):
    """Exhibit 4: each site at least 20% Black and 20% White; the sites' compositions differ as
    the population model states."""
    s = cohort["students"]
    shares = s[s.surveyed == 1].groupby("school_id").race.value_counts(normalize=True).unstack()
    assert (shares["Black"] >= 0.20).all() and (shares["White"] >= 0.20).all()
    stated = population_model["design"]["site_race_composition"]
    for school, comp in stated.items():
        assert shares.loc[school, "Black"] == pytest.approx(comp["Black"], abs=0.01)
        assert shares.loc[school, "White"] == pytest.approx(comp["White"], abs=0.01)


def test_teacher_and_classroom_counts_match_exhibit_7(cohort):
    t, rooms, obs = cohort["teachers"], cohort["classrooms"], cohort["observations"]
    assert len(t) == 138
    per_school = t.groupby("school_id").size()
    assert per_school.min() == 17 and per_school.max() == 56
    assert t.interviewed.sum() == 28
    assert len(rooms) == 30 and rooms.classroom_id.is_unique
    assert (rooms.subject == "math").sum() == 14 and (rooms.subject == "ela").sum() == 16
    assert set(rooms.teacher_id) <= set(t.loc[t.observed == 1, "teacher_id"])
    seen = obs.groupby("classroom_id").segment_type.apply(lambda s: (s == "collaborative").any())
    assert seen.sum() == 15   # "about half of 30 classrooms"
    share = seen.groupby(rooms.set_index("classroom_id").school_id).mean()
    assert share.min() == pytest.approx(0.25) and share.max() == pytest.approx(0.875)


def test_items_are_ordinal_one_to_four(cohort, codebook):
    st = cohort["students"]
    items = st[[i.id for i in codebook.all_items()]]
    surveyed = st.surveyed == 1
    assert items[~surveyed].isna().all().all()
    answered = items[surveyed].to_numpy(dtype=float)
    values = set(np.unique(answered[~np.isnan(answered)]))
    assert values == {1.0, 2.0, 3.0, 4.0}


def test_item_nonresponse_at_the_stated_rate(cohort, codebook, population_model):
    """Blank answers among the surveyed at the stated rate (the expected rate is exact; the
    realized one differs by Bernoulli noise, SD about 0.0008 here); records, race and the
    collaboration questions complete."""
    st = cohort["students"]
    surveyed = st[st.surveyed == 1]
    blank = surveyed[[i.id for i in codebook.all_items()]].isna().to_numpy()
    assert blank.mean() == pytest.approx(population_model["nonresponse"]["item_rate"], abs=0.0025)
    complete = ["student_id", "school_id", "classroom_id", "race", "gender", "grade_level", "ell",
                "special_education", "prior_grade", "current_grade", "absences", "collab_frequency", "collab_length"]
    assert surveyed[complete].notna().all().all()


def test_nonresponse_zero_gives_complete_answers(population_model, codebook, population):
    import copy
    from lwo.synthetic import generate_cohort
    model = copy.deepcopy(population_model)
    model["nonresponse"]["item_rate"] = 0
    st = generate_cohort(model, codebook, seed=3, population=population)["students"]
    assert st.loc[st.surveyed == 1, [i.id for i in codebook.all_items()]].notna().all().all()


@pytest.fixture(scope="module")
def large_cohort(population_model, codebook, population):
    from lwo.synthetic import generate_cohort
    return generate_cohort(population_model, codebook, seed=77, n_students=50_000, population=population)


def test_nonresponse_is_missing_at_random(large_cohort, codebook):
    """Blanks go with the observed prior grade and school, and given those not with any latent
    (engagement, self-efficacy, HQC): a linear probability model of a student's blank share on
    prior grade, school and the latents finds the latents' coefficients zero (|t| < 3) and the
    prior grade's clearly negative."""
    st, lat = large_cohort["students"], large_cohort["latents"]
    rows = (st.surveyed == 1).to_numpy()
    share = st.loc[rows, [i.id for i in codebook.all_items()]].isna().mean(axis=1).to_numpy()
    lat = lat[rows]
    latents = ["hqc_latent", "behavioral_engagement_latent", "emotional_engagement_latent",
               "academic_self_efficacy_latent", "current_grade_latent"]
    X = np.column_stack([np.ones(len(lat)), lat["prior_grade_latent"], lat[["school_2", "school_3", "school_4"]],
                         lat[latents]]).astype(float)
    b, *_ = np.linalg.lstsq(X, share, rcond=None)
    resid = share - X @ b
    se = np.sqrt(np.diag(np.linalg.inv(X.T @ X)) * resid.var())
    t = b / se
    assert t[1] < -10                      # weaker prior grades: more blanks
    assert np.abs(t[2:5]).max() > 5        # schools differ
    assert np.abs(t[5:]).max() < 3, dict(zip(latents, t[5:].round(2)))


def test_answers_pile_up_where_real_surveys_show_it(cohort, codebook, population_model):
    """Ceiling constructs: most answers 3-4, the modal answer 4; floor constructs: the modal
    answer 1 (population_model.yaml, measurement.skewed_answer_shares)."""
    st = cohort["students"]
    for construct, shares in population_model["measurement"]["skewed_answer_shares"].items():
        # in the construct's direction: reverse-worded items flipped
        answers = np.concatenate([5 - st[i.id].to_numpy(dtype=float) if i.reverse else st[i.id].to_numpy(dtype=float)
                                  for i in codebook.items(construct)])
        answers = answers[~np.isnan(answers)]
        counts = np.array([(answers == k).mean() for k in (1, 2, 3, 4)])
        assert counts.argmax() == int(np.argmax(shares)), (construct, counts)
        assert counts[[0, 3]].max() > 0.35, (construct, counts)


def test_item_parameters_state_the_latent_response_model(population_model, codebook, population):
    from lwo.population import item_parameters
    p = item_parameters(population_model, codebook, population)
    assert len(p) == 3 * len(codebook.all_items())
    taus = p.groupby("item")[["tau1", "tau2", "tau3"]].nunique()
    assert (taus == 1).all().all()                                       # one set of cut points per item
    te = p[p["group"] == "White"].set_index("item")
    assert te.loc["env_te4", "tau1"] == pytest.approx(-te.loc["env_te1", "tau3"])   # reverse-worded: mirrored
    assert (np.diff(p[["tau1", "tau2", "tau3"]].to_numpy(), axis=1) > 0).all()
    by = p.set_index(["item", "group"])
    # exclusion: the named item loads more for Black students; the race and gender items shift
    assert by.loc[("exc_pe3", "Black"), "loading"] > by.loc[("exc_pe3", "White"), "loading"] + 0.3
    for item in ("exc_pe4", "exc_pe5"):
        assert by.loc[(item, "Black"), "intercept"] != by.loc[(item, "White"), "intercept"]
    # inclusion and every other construct: the same loading and intercept in every group
    planted = set(population_model["measurement"]["non_invariant_items"])
    same = p[~p["item"].isin(planted)].groupby("item")[["loading", "intercept"]].nunique()
    assert (same == 1).all().all()
    assert not planted & set(codebook.item_ids("perceived_inclusion"))


def test_answers_follow_the_stated_thresholds(large_cohort, codebook, population_model, population):
    """Within a group, the share answering at most k is Phi(std_tau_k) of item_parameters
    (the latent is normal within a group up to the small mixture over covariates). Checked on
    the skewed constructs and the non-invariant exclusion items, within 0.01."""
    from lwo.population import item_parameters
    p = item_parameters(population_model, codebook, population).set_index(["item", "group"])
    st = large_cohort["students"]
    items = [i for c in population_model["measurement"]["skewed_answer_shares"] for i in codebook.item_ids(c)]
    worst = 0.0
    for group in ("Black", "White"):
        answers = st.loc[(st.surveyed == 1) & (st.race == group), items]
        for item in items:
            a = answers[item].dropna().to_numpy(float)
            for k in (1, 2, 3):
                expected = norm.cdf(p.loc[(item, group), f"std_tau{k}"])
                worst = max(worst, abs((a <= k).mean() - expected))
    assert worst < 0.01


def test_exclusion_fails_invariance_and_inclusion_passes(large_cohort, codebook, population_model):
    """The report's finding, planted in the population model: perceived exclusion cannot be
    compared across Black and White students (metric and scalar levels fail; the items named
    include the report's 'not given anything important to do'), while perceived inclusion can.
    Two-group CFAs under continuous ML (lwo.measurement), about 38,000 students."""
    import pandas as pd
    from lwo import measurement as M
    from lwo.model_data import analysis_columns, select_sample

    st = large_cohort["students"]
    chosen = pd.concat([select_sample(st, g) for g in ("Black", "White")])
    race = pd.Series(chosen["race"].astype(str).to_numpy(), name="race")
    data = pd.concat([race, analysis_columns(chosen, codebook).reset_index(drop=True)], axis=1)

    def analyse(construct):
        items = codebook.item_ids(construct)
        rows = data[["race", *items]].dropna()
        return M.invariance_analysis(construct, f"{construct} =~ " + " + ".join(items), rows, "race",
                                     ["Black", "White"])

    exclusion = analyse("perceived_exclusion")
    assert (exclusion.metric, exclusion.scalar) == ("fails", "fails")
    freed = {f["item"] for f in exclusion.freed}
    assert "exc_pe3" in freed
    assert freed <= set(population_model["measurement"]["non_invariant_items"])
    inclusion = analyse("perceived_inclusion")
    assert inclusion.comparable == "means and relations"
    assert abs(inclusion.table.loc["metric", "cfi.diff"]) < 0.002
    assert abs(inclusion.table.loc["scalar", "cfi.diff"]) < 0.002


def _digest(tables, tmp_path, tag):
    h = hashlib.sha256()
    for name in sorted(tables):
        path = tmp_path / f"{tag}_{name}.csv.gz"
        write_csv(tables[name], path)
        h.update(path.read_bytes())
    return h.hexdigest()


def test_same_seed_gives_byte_identical_tables(population_model, codebook, population, tmp_path):
    from lwo.synthetic import generate_cohort
    a = generate_cohort(population_model, codebook, seed=5, population=population)
    b = generate_cohort(population_model, codebook, seed=5, population=population)
    c = generate_cohort(population_model, codebook, seed=6, population=population)
    assert _digest(a, tmp_path, "a") == _digest(b, tmp_path, "b")
    assert _digest(a, tmp_path, "a2") != _digest(c, tmp_path, "c")


def test_other_cohort_sizes_scale_the_design(population_model, codebook, population):
    from lwo.synthetic import generate_cohort
    big = generate_cohort(population_model, codebook, seed=1, n_students=8920, population=population)
    st = big["students"]
    assert len(st) == 8920
    assert st.surveyed.sum() == 8690
    assert round((st[st.surveyed == 1].race == "Black").mean(), 2) == 0.46
    # ten times the classrooms (30 per 892 students), each with an observed teacher of its subject
    assert len(big["classrooms"]) == 300 and st.classroom_id.nunique() == 300
    assert set(big["classrooms"].teacher_id) <= set(big["teachers"].loc[lambda t: t.observed == 1, "teacher_id"])
