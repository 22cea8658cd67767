"""The report's invariance finding under ordinal (WLSMV) estimation: perceived exclusion is not
comparable across Black and White students (the named item's loading, the race and gender items'
thresholds), perceived inclusion is; on the default cohort, at N = 50,000, and in the built
exhibits. And WLSMV recovers the latent-response population of a study construct."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lwo import measurement as M
from lwo.codebook import Codebook
from lwo.model_data import analysis_columns, select_sample

GROUPS = ["Black", "White"]


def black_white(students, codebook, construct):
    chosen = pd.concat([select_sample(students, g) for g in GROUPS])
    items = codebook.item_ids(construct)
    race = pd.Series(chosen["race"].astype(str).to_numpy(), name="race")
    data = pd.concat([race, analysis_columns(chosen, codebook)[items].reset_index(drop=True)], axis=1)
    return data.dropna(), items


def analyse(students, codebook, construct):
    data, items = black_white(students, codebook, construct)
    return M.ordinal_invariance_analysis(construct, f"{construct} =~ " + " + ".join(items), data, "race", GROUPS)


def check_finding(students, codebook, population_model):
    exclusion = analyse(students, codebook, "perceived_exclusion")
    assert exclusion.loadings == "fails"
    assert exclusion.comparable.startswith("not comparable")
    named = {(f["item"], f["level"]) for f in exclusion.freed}
    assert ("exc_pe3", "loadings") in named  # "not given anything important to do"
    assert {i for i, _ in named} <= set(population_model["measurement"]["non_invariant_items"])
    # with every item ordered, lavaan's "intercepts" step constrains nothing
    assert exclusion.table.loc["intercepts", "df.diff"] == 0
    inclusion = analyse(students, codebook, "perceived_inclusion")
    assert (inclusion.thresholds, inclusion.loadings) == ("holds", "holds")
    assert inclusion.comparable == "means and relations"
    assert inclusion.freed == []
    return exclusion, inclusion


def test_exclusion_fails_and_inclusion_passes_on_the_default_cohort(cohort, codebook, population_model):
    """About 300 Black and 270 White students: the loadings level of exclusion fails (scaled CFI
    drops by more than .01), inclusion holds at both levels."""
    exclusion, _ = check_finding(cohort["students"], codebook, population_model)
    assert exclusion.table.loc["loadings", "cfi.diff"] < -M.CFI_DROP


def test_the_finding_holds_with_classroom_clusters(cohort, codebook):
    """Clustered by classroom (a classroom's Black and White students one cluster, as the build
    does): the same fits and unscaled chi-squares, other scaled tests, the same verdicts."""
    students = cohort["students"]
    chosen = pd.concat([select_sample(students, g) for g in GROUPS])
    for construct, comparable in (("perceived_exclusion", "not comparable"), ("perceived_inclusion", "means")):
        data, items = black_white(students, codebook, construct)
        data["classroom_id"] = chosen["classroom_id"].astype(str).to_numpy()[data.index]
        spec = f"{construct} =~ " + " + ".join(items)
        plain = M.ordinal_invariance_analysis(construct, spec, data, "race", GROUPS, search_items=False)
        clustered = M.ordinal_invariance_analysis(construct, spec, data, "race", GROUPS, search_items=False,
                                                  cluster="classroom_id")
        assert clustered.cluster == "classroom_id" and clustered.comparable.startswith(comparable)
        np.testing.assert_array_equal(clustered.table["df"], plain.table["df"])
        assert not np.allclose(clustered.table["chisq.scaled"], plain.table["chisq.scaled"])


@pytest.mark.slow
def test_exclusion_fails_and_inclusion_passes_at_large_n(population_model, codebook, population):
    """50,000 students: the same verdicts; the race and gender items are named at the
    thresholds level (their planted intercept shifts)."""
    from lwo.synthetic import generate_cohort
    big = generate_cohort(population_model, codebook, seed=77, n_students=50_000, population=population)
    exclusion, inclusion = check_finding(big["students"], codebook, population_model)
    assert exclusion.thresholds == "fails"
    assert {f["item"] for f in exclusion.freed if f["level"] == "thresholds"} & {"exc_pe4", "exc_pe5"}
    assert abs(inclusion.table.loc["loadings", "cfi.diff"]) < 0.002

    # Wu & Estabrook's identification (lavaan >= 0.6-20) tells a shift of an item's location from
    # one of its thresholds: the planted shifts move all three thresholds alike, so the thresholds
    # alone hold and the items are named at the intercepts level, a test of its own here
    data, items = black_white(big["students"], codebook, "perceived_exclusion")
    wu = M.ordinal_invariance_analysis("perceived_exclusion", "perceived_exclusion =~ " + " + ".join(items), data,
                                       "race", GROUPS, identification="wu-estabrook")
    assert wu.thresholds == "holds" and wu.loadings == "fails" and wu.intercepts == "fails"
    assert wu.comparable == "not comparable (loadings and intercepts differ)"
    assert {f["item"] for f in wu.freed if f["level"] == "intercepts"} & {"exc_pe4", "exc_pe5"}
    assert not [f for f in wu.freed if f["level"] == "thresholds"]
    assert wu.table.loc["intercepts", "df.diff"] == len(items) - 1
    # its last model is the default identification's loadings model
    assert wu.table.loc["intercepts", "chisq.scaled"] == pytest.approx(exclusion.table.loc["loadings", "chisq.scaled"],
                                                                      rel=1e-6)
    assert {"intercepts_p", "intercepts_verdict"} <= set(wu.row()) and "intercepts_verdict" not in exclusion.row()


@pytest.mark.slow
def test_wlsmv_recovers_population_thresholds_and_loadings(population_model, codebook, population):
    """One group (White students of a 50,000-student cohort, about 15,000 answering): the WLSMV
    one-factor CFA of a skewed study construct (perceived inclusion, ceiling effect) estimates the
    population's standardized loadings and thresholds (lwo.population.item_parameters) within
    0.01 or two SEs. (The students answering every item are a MAR-selected subset: nonresponse
    goes with the prior grade, so a construct tied to grades can sit a little off at an extreme
    threshold.)"""
    from lwo.population import item_parameters
    from lwo.sem import fit_ordinal
    from lwo.synthetic import generate_cohort
    big = generate_cohort(population_model, codebook, seed=78, n_students=50_000, population=population)
    pop = item_parameters(population_model, codebook, population).set_index(["group", "item"])
    st = big["students"]
    white = st[(st["surveyed"] == 1) & (st["race"] == "White")]
    for construct in ("perceived_inclusion",):
        items = codebook.item_ids(construct)
        fit = fit_ordinal("f =~ " + " + ".join(items), white[items].astype(float), ordered=items)
        assert fit.converged
        e = fit.estimates
        for item in items:
            load = e[(e["op"] == "=~") & (e["rhs"] == item)].iloc[0]
            truth = pop.loc[("White", item), "std_loading"]
            assert abs(load["std.all"] - truth) < max(0.01, 2 * load["se"] * load["std.all"] / load["est"]
                                                      if load["est"] else 0.01), (item, load["std.all"], truth)
            for k in (1, 2, 3):
                th = e[(e["op"] == "|") & (e["lhs"] == item) & (e["rhs"] == f"t{k}")].iloc[0]
                truth = pop.loc[("White", item), f"std_tau{k}"]
                assert abs(th["est"] - truth) < max(0.01, 2 * th["se"]), (item, k, th["est"], truth)


@pytest.mark.slow
def test_built_exhibits_report_the_finding(default_build):
    """The invariance exhibit finds exclusion not comparable and inclusion comparable, both
    published statements agree, and Exhibit 28 says why exclusion is not compared."""
    inv = default_build / "results" / "exhibits" / "invariance"
    table = pd.read_csv(inv / "table.csv").set_index("id")
    assert table.loc["perceived_exclusion", "comparable"].startswith("not comparable")
    assert "exc_pe3 (loadings)" in table.loc["perceived_exclusion", "noninvariant_items"]
    assert table.loc["perceived_inclusion", "comparable"] == "means and relations"
    comparison = pd.read_csv(inv / "comparison.csv").set_index("key")
    assert set(comparison.index) == {"noninvariant:perceived_exclusion", "noninvariant:perceived_inclusion"}
    assert (comparison["agrees"] == "yes").all()
    notes = json.loads((inv / "meta.json").read_text())["notes"]
    assert any(n.startswith("The WLSMV SEs and tests are clustered by classroom_id") for n in notes)
    assert any(n.startswith("Sensitivity (ml_* columns") and "clustered by classroom_id" in n for n in notes)
    # the sequence as current lavaan fits it (Wu & Estabrook): the same comparisons allowed, and its
    # intercepts step a test of its own
    assert table.loc["perceived_exclusion", "we_comparable"].startswith("not comparable")
    assert table.loc["perceived_inclusion", "we_comparable"] == "means and relations"
    assert any(n.startswith("Sensitivity (we_* columns") and "for 22 of 22 constructs" in n for n in notes)
    models = pd.read_csv(inv / "models.csv")
    wu = models[(models["estimator"] == "WLSMV (Wu & Estabrook)") & (models["construct"] == "perceived_inclusion")]
    primary = models[(models["estimator"] == "WLSMV") & (models["construct"] == "perceived_inclusion")]
    # one factor: as many intercepts as loadings to hold equal (items - 1)
    primary = primary.set_index("model")
    assert wu.set_index("model").loc["intercepts", "df.diff"] == primary.loc["loadings", "df.diff"] > 0
    assert primary.loc["intercepts", "df.diff"] == 0
    ex28 = default_build / "results" / "exhibits" / "28"
    notes = json.loads((ex28 / "meta.json").read_text())["notes"]
    assert any(n.startswith("Perceived exclusion") and "not compared" in n and "exc_pe3" in n for n in notes)
    rows = pd.read_csv(ex28 / "table.csv")
    assert "perceived_exclusion" not in set(rows["variable"])
    assert rows.loc[rows["variable"] == "perceived_inclusion", "measurement_invariance"].item() == \
        "means and relations"
    # every construct model is estimable on the default cohort (a block model may not be: an
    # answer category no student of a group chose among those answering all its items)
    assert np.isfinite(table.loc[table["level"] == "construct", "thresholds_cfi_change"]).all()


@pytest.mark.slow
def test_the_primary_and_the_mlr_sensitivity_verdicts_rest_on_holm_corrected_p(default_build):
    """Both sequences of the built exhibit decide from p-values Holm-corrected within each block's
    constructs (statsmodels' Holm here), by one verdict rule: the sensitivity differs from the
    primary sequence by its estimator alone."""
    from statsmodels.stats.multitest import multipletests

    table = pd.read_csv(default_build / "results/exhibits/invariance/table.csv")
    constructs = table[table["level"] == "construct"]
    corrected = 0
    for _, block in constructs.groupby("block"):
        for raw in ("thresholds_p", "loadings_p", "ml_metric_p", "ml_scalar_p"):
            tested = block[block[raw].notna()]
            assert tested[f"{raw}_holm"].to_numpy() == pytest.approx(
                multipletests(tested[raw], method="holm")[1], abs=1e-5), raw
            corrected += int((tested[f"{raw}_holm"] > tested[raw] + 1e-9).sum())
    assert corrected > 0
    for _, row in constructs.iterrows():
        verdicts = [M.level_verdict(row[f"ml_{level}_cfi_change"], row[f"ml_{level}_p_holm"])
                    for level in ("metric", "scalar")]
        assert row["ml_comparable"] == M.comparability(*verdicts), row["id"]


@pytest.mark.slow
def test_a_small_group_is_counted_without_showing_its_size(default_build, tmp_path):
    """Eight Black students (below privacy.min_cell): no construct is compared across groups of
    fewer than min_cell students (as Exhibit 28), the table shows no count of them and states the
    suppression rule under it."""
    from lwo.invariance_exhibit import build_exhibit_invariance

    students = pd.read_csv(default_build / "results/data/analysis/students.csv")
    black = students.index[(students["race"] == "Black") & (students["surveyed"] == 1)][:8]
    white = students.index[(students["race"] == "White") & (students["surveyed"] == 1)][:150]
    students.loc[black.union(white)].to_csv(tmp_path / "students.csv", index=False)
    outputs = {k: str(tmp_path / f"{k}.{ext}") for k, ext in (("table", "csv"), ("comparison", "csv"),
                                                               ("meta", "json"), ("models", "csv"))}
    build_exhibit_invariance(students=tmp_path / "students.csv",
                             summary=default_build / "results/data/analysis/data_summary.json",
                             codebook=default_build / "config/codebook.yaml",
                             published=default_build / "data/published/published_values.csv",
                             min_cell=10, outputs=outputs)
    table = pd.read_csv(outputs["table"], dtype=str, keep_default_na=False)
    assert set(table["n_Black"]) <= {"‡", ""} and set(table["n_White"]) <= {"‡", ""}
    constructs = table[table["level"] == "construct"]
    for column in ("comparable", "we_comparable", "ml_comparable"):
        assert constructs[column].str.startswith("not estimable: too few students: fewer than 10 Black").all()
    meta = json.loads(Path(outputs["meta"]).read_text(encoding="utf-8"))
    assert meta["status"].startswith("not estimable: no construct or block (WLSMV, the primary sequences) has an "
                                  "estimate (the first: too few")
    assert "Cells with fewer than 10 students are suppressed (‡)." in meta["notes"]


@pytest.mark.slow
def test_students_all_in_one_classroom_are_compared_unclustered_and_the_exhibit_says_so(default_build, tmp_path,
                                                                                      monkeypatch):
    """An export whose students share one classroom (a single-class district, or a classroom_id
    column filled with one value) has no cluster sample: the sequences are fitted without
    clustering, as the SEM fits are, and the notes say why (the MLR sequence used to stop the
    job: "cluster-robust SEs need at least two clusters"). One construct keeps it quick."""
    import lwo.invariance_exhibit as IE

    monkeypatch.setattr(IE, "BLOCKS", {"set_aside": IE.BLOCKS["set_aside"]})  # perceived exclusion alone
    students = pd.read_csv(default_build / "results/data/analysis/students.csv").assign(classroom_id="C1")
    students.to_csv(tmp_path / "students.csv", index=False)
    published = pd.read_csv(default_build / "data/published/published_values.csv")
    published[published["key"] != "noninvariant:perceived_inclusion"].to_csv(tmp_path / "published.csv", index=False)
    outputs = {k: str(tmp_path / f"{k}.{ext}") for k, ext in (("table", "csv"), ("comparison", "csv"),
                                                               ("meta", "json"), ("models", "csv"))}
    IE.build_exhibit_invariance(students=tmp_path / "students.csv",
                                summary=default_build / "results/data/analysis/data_summary.json",
                                codebook=default_build / "config/codebook.yaml", published=tmp_path / "published.csv",
                                min_cell=10, outputs=outputs, cluster="classroom_id")
    row = pd.read_csv(outputs["table"]).set_index("id").loc["perceived_exclusion"]
    for column in ("comparable", "we_comparable", "ml_comparable"):
        assert not row[column].startswith("not estimable"), row[column]
    meta = json.loads(Path(outputs["meta"]).read_text(encoding="utf-8"))
    assert meta["status"] == "ok"
    notes = meta["notes"]
    said = "not clustered (every Black and White student has the same classroom_id)"
    assert sum(said in note for note in notes) == 2  # the WLSMV sequences and the MLR sensitivity


@pytest.mark.slow
def test_a_scale_the_survey_did_not_field_is_left_out_of_its_blocks_model(default_build, tmp_path, monkeypatch):
    """A survey without one mind-set scale: its construct row is not estimable, and the block's
    model is of the other five constructs (it used to be not estimable as a whole, 'column ms_ss1
    has no answers'), as the row's label says."""
    import lwo.invariance_exhibit as IE

    monkeypatch.setattr(IE, "BLOCKS", {"mindset": IE.BLOCKS["mindset"]})
    codebook = Codebook.load(default_build / "config/codebook.yaml")
    students = pd.read_csv(default_build / "results/data/analysis/students.csv")
    students[codebook.item_ids("social_self_efficacy")] = np.nan
    students.to_csv(tmp_path / "students.csv", index=False)
    published = pd.read_csv(default_build / "data/published/published_values.csv")
    # the published verdicts are of the set-aside constructs, which this run leaves out
    published[~published["key"].str.startswith("noninvariant:")].to_csv(tmp_path / "published.csv", index=False)
    outputs = {k: str(tmp_path / f"{k}.{ext}") for k, ext in (("table", "csv"), ("comparison", "csv"),
                                                               ("meta", "json"), ("models", "csv"))}
    IE.build_exhibit_invariance(students=tmp_path / "students.csv",
                                summary=default_build / "results/data/analysis/data_summary.json",
                                codebook=default_build / "config/codebook.yaml", published=tmp_path / "published.csv",
                                min_cell=10, outputs=outputs)
    table = pd.read_csv(outputs["table"], keep_default_na=False).set_index("id")
    assert table.loc["social_self_efficacy", "comparable"].startswith("not estimable: too few students")
    block = table.loc["mindset"]
    assert block["construct"] == "5 of the 6 mind-set and disposition measures (the others not answered by both groups)"
    assert not block["comparable"].startswith("not estimable"), block["comparable"]
