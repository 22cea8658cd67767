"""The descriptive, group-comparison and qualitative exhibits (3-7, 11, 28, 32-44, FG, TI).

Two kinds of check:

* on the real workflow output (the test session's default build, tests/workflow_build.py):
  every exhibit's files, sections, notes, published-vs-reproduced rows, small-cell
  suppression and a set of its numbers are checked, the numbers against independent
  computations (scipy, statsmodels formulas, direct counts) on the same analysis data;
* on small hand-made inputs: a site without mathematics teachers, a sample without White
  students and a missing subject group each give "not estimable: n = ..." rows, not a crash
  or an unexplained blank.
"""
from __future__ import annotations

import json
import re
import runpy
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import scipy.stats as st
import statsmodels.formula.api as smf
from statsmodels.stats.anova import anova_lm
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint

from lwo.registry import load_registry

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = REPO / "workflow" / "scripts"
FAMILIES = ["sample", "rq1_group_differences", "rq2_opportunities", "rq3_context", "qualitative"]
FAMILY = [e for e in load_registry() if e.family in FAMILIES]
SECTIONS = {e.id: e.section for e in FAMILY}
EXHIBITS = list(SECTIONS)
WITH_FIGURE = {e.id for e in FAMILY if e.figure}
MARKER = "‡"
AGREES = {"yes", "no", "not estimable", "not applicable"}
MIN_CELL = 10
NESTED_STUDENTS = {"28", "32", "34", "35", "36", "39"}
TEACHERS_ONLY = {e.id for e in FAMILY if e.tables == ("teachers",)}
COUNT_TABLES = {"4": ["n"], "5": ["n"], "32": ["n"], "33": ["n"], "34": ["observed"],
                "6": ["students", "surveys", "surveys_math", "surveys_ela",
                      "focus_group_all_black", "focus_group_mixed_race"],
                "7": ["teachers", "survey_math", "survey_ela", "survey_other_subject",
                      "interviewed_math", "interviewed_ela"],
                # teachers, by site: hidden below min_cell as Exhibit 7 hides them
                **{ex: ["n_ela", "n_math"] for ex in ("40", "43", "44")}}


# --------------------------------------------------------------------------- building
def family_targets() -> list[str]:
    return [f"results/exhibits/{e.id}/meta.json" for e in FAMILY]


@pytest.fixture(scope="module")
def built(default_build) -> Path:
    """The session's default build (tests/workflow_build.py), which has every exhibit of the family."""
    return default_build


def exhibit(work: Path, ex: str) -> SimpleNamespace:
    d = work / "results" / "exhibits" / ex
    def read(name: str) -> pd.DataFrame:
        return pd.read_csv(d / name, dtype=str, keep_default_na=False)

    return SimpleNamespace(dir=d, table=read("table.csv"), comparison=read("comparison.csv"),
                           meta=json.loads((d / "meta.json").read_text(encoding="utf-8")))


def analysis(work: Path, table: str) -> pd.DataFrame:
    return pd.read_csv(work / "results" / "data" / "analysis" / f"{table}.csv",
                       dtype={"classroom_id": str, "teacher_id": str, "student_id": str})


def num(s: pd.Series) -> pd.Series:
    return pd.to_numeric(s, errors="coerce")


# --------------------------------------------------------------------------- real outputs
@pytest.mark.slow
def test_every_exhibit_has_its_files_and_section(built):
    # the session build made every exhibit of the family, each by the script its registry entry names
    assert set(EXHIBITS) <= {p.parent.name for p in (built / "results" / "exhibits").glob("*/meta.json")}
    assert len(EXHIBITS) == 22 and all((SCRIPTS / e.script).is_file() for e in FAMILY)
    for ex in EXHIBITS:
        e = exhibit(built, ex)
        expected = {"table.csv", "comparison.csv", "meta.json", "table.tex"}
        if ex in WITH_FIGURE:
            expected |= {"figure.png", "figure.svg"}
        assert expected <= {p.name for p in e.dir.iterdir()}, ex
        assert e.meta["section"] == SECTIONS[ex], ex
        assert e.meta["status"] == "ok" and len(e.table) > 0, ex
        assert "\\toprule" in (e.dir / "table.tex").read_text(encoding="utf-8"), ex


@pytest.mark.slow
def test_every_published_value_is_set_beside_its_reproduction(built):
    published = pd.read_csv(REPO / "data" / "published" / "published_values.csv", dtype=str,
                            keep_default_na=False)
    for ex in EXHIBITS:
        comp = exhibit(built, ex).comparison
        keys = set(published.loc[published["exhibit"] == ex, "key"])
        assert keys <= set(comp["key"]), (ex, keys - set(comp["key"]))
        assert set(comp["agrees"]) <= AGREES, ex
        assert (comp["reproduced"] != "").all() and (comp["published"] != "").all(), ex
    # Exhibit 38 shows the count published with Exhibit 37 (one family of seven areas)
    assert "teacher_subject_differences" in set(exhibit(built, "38").comparison["key"])
    # the report's group comparisons are judged on direction and significance
    comp = exhibit(built, "28").comparison
    assert comp["basis"].str.contains("direction and significance").all()


@pytest.mark.slow
def test_row_tables_carry_statement_reproduction_and_agreement(built):
    for ex in ("28", "35", "36", "37", "38", "39", "40", "41", "42", "43", "44", "FG", "TI"):
        t = exhibit(built, ex).table
        assert {"published", "reproduced", "agrees"} <= set(t.columns), ex
        annotated = t[t["published"] != ""]
        assert len(annotated) > 0, ex
        assert (annotated["reproduced"] != "").all(), ex
        for value in annotated["agrees"]:
            assert set(value.split(" | ")) <= AGREES, (ex, value)


@pytest.mark.slow
def test_notes_state_missing_data_correction_suppression_and_clustering(built):
    for ex in EXHIBITS:
        notes = " ".join(exhibit(built, ex).meta["notes"])
        assert "Multiple comparisons:" in notes, ex
        assert "Missing data:" in notes, ex
        if ex not in ("11", "FG", "TI"):
            assert re.search(r"n excluded: \d+", notes), ex
        if ex in COUNT_TABLES:
            assert "suppressed" in notes, ex
        if ex in NESTED_STUDENTS:
            assert "classroom-clustered" in notes, ex
        if ex in TEACHERS_ONLY:
            assert "No clustered sensitivity" in notes, ex
    assert "Holm (m = 8)" in " ".join(exhibit(built, "28").meta["notes"])
    for ex in ("FG", "TI"):
        table = exhibit(built, ex).table
        assert (table["caveat"].str.len() > 50).all(), ex


@pytest.mark.slow
def test_no_small_count_and_no_student_id_is_shown(built):
    for ex, columns in COUNT_TABLES.items():
        t = exhibit(built, ex).table
        for col in columns:
            values = t[col]
            shown = num(values[values != MARKER])
            assert shown.notna().all(), (ex, col)
            assert (shown >= MIN_CELL).all(), (ex, col, shown[shown < MIN_CELL].tolist())
    ids = set(analysis(built, "students")["student_id"])
    pattern = re.compile("|".join(re.escape(i) for i in sorted(ids)[:200]))
    for path in (built / "results" / "exhibits").rglob("*"):
        if path.suffix in (".csv", ".tex", ".json", ".svg"):
            assert not pattern.search(path.read_text(encoding="utf-8")), path


@pytest.mark.slow
def test_sample_counts_match_direct_counts(built):
    students = analysis(built, "students")
    t6 = exhibit(built, "6").table.set_index("site")
    assert int(t6.loc["All sites", "students"]) == len(students)
    assert int(t6.loc["All sites", "surveys_math"]) == int(
        ((students["surveyed"] == 1) & (students["subject"] == "math")).sum())
    surveyed = students[(students["surveyed"] == 1) & students["race"].notna()]
    k, n = int((surveyed["race"] == "Black").sum()), len(surveyed)
    lo, hi = proportion_confint(k, n, alpha=0.05, method="beta")  # Clopper-Pearson
    row = exhibit(built, "5").comparison.set_index("key").loc["share_black_sample"]
    assert float(row["reproduced"]) == pytest.approx(k / n, abs=1e-6)
    assert float(row["ci_lower"]) == pytest.approx(lo, abs=1e-6)
    assert float(row["ci_upper"]) == pytest.approx(hi, abs=1e-6)


@pytest.mark.slow
def test_chi_square_of_exhibit_34_against_scipy(built):
    s = analysis(built, "students")
    s = s[(s["surveyed"] == 1) & s["subject"].isin(["ela", "math"])]
    s = s.dropna(subset=["collab_length"])
    ref = st.chi2_contingency(pd.crosstab(s["subject"], s["collab_length"]), correction=False)
    t = exhibit(built, "34").table
    assert float(t["chi2"].iloc[0]) == pytest.approx(ref.statistic, rel=1e-5)
    assert float(t["p"].iloc[0]) == pytest.approx(ref.pvalue, rel=1e-4, abs=1e-6)
    v = np.sqrt(ref.statistic / (len(s) * 1))  # 2 x 3 table: min(r, c) - 1 = 1
    assert float(t["cramers_v"].iloc[0]) == pytest.approx(v, rel=1e-5)


@pytest.mark.slow
def test_welch_tests_and_holm_of_exhibits_35_36_against_scipy(built):
    s = analysis(built, "students")
    s = s[s["surveyed"] == 1]
    family = ["student_centered", "group_interdependence", "norms_task_clarity",
              "balanced_composition", "respectful_interactions", "constructive_exchange",
              "shared_leadership"]
    p = []
    for area in family:
        ela = s.loc[s["subject"] == "ela", area].dropna()
        math = s.loc[s["subject"] == "math", area].dropna()
        p.append(st.ttest_ind(ela, math, equal_var=False).pvalue)
    holm = dict(zip(family, multipletests(p, method="holm")[1]))
    rows = pd.concat([exhibit(built, "35").table, exhibit(built, "36").table])
    rows = rows[rows["variable"].isin(family)].set_index("variable")
    assert set(rows.index) == set(family)
    for area in family:
        assert float(rows.loc[area, "p"]) == pytest.approx(p[family.index(area)], rel=1e-4,
                                                           abs=1e-6)
        assert float(rows.loc[area, "p_adjusted"]) == pytest.approx(holm[area], rel=1e-4, abs=1e-6)
    count = exhibit(built, "35").comparison.set_index("key").loc["student_subject_differences"]
    assert int(float(count["reproduced"])) == int(sum(v < 0.05 for v in holm.values()))


@pytest.mark.slow
def test_ols_with_controls_of_exhibit_28_against_statsmodels_formula(built):
    s = analysis(built, "students")
    s = s[(s["surveyed"] == 1) & s["race"].isin(["Black", "White"])]
    cols = ["perceived_inclusion", "race", "school_id", "grade_level", "gender", "subject", "ell",
            "special_education", "classroom_id"]
    d = s[cols].dropna()
    formula = ("perceived_inclusion ~ C(race, Treatment('White')) + C(school_id) + C(grade_level)"
               " + C(gender) + C(subject) + ell + special_education")
    fit = smf.ols(formula, d).fit()
    term = "C(race, Treatment('White'))[T.Black]"
    clustered = smf.ols(formula, d).fit(cov_type="cluster", cov_kwds={"groups": d["classroom_id"]},
                                        use_t=True)
    row = exhibit(built, "28").table.set_index("variable").loc["perceived_inclusion"]
    assert float(row["difference_Black_minus_White"]) == pytest.approx(fit.params[term], rel=1e-5)
    assert float(row["p"]) == pytest.approx(fit.pvalues[term], rel=1e-3, abs=1e-6)
    assert float(row["se_cluster"]) == pytest.approx(clustered.bse[term], rel=1e-5)
    assert int(row["n_Black"]) + int(row["n_White"]) == len(d)


@pytest.mark.slow
def test_ancova_of_exhibit_39_against_statsmodels_anova(built):
    o = analysis(built, "observations")
    o["constructive_exchange"] = o[["obs_ce1", "obs_ce2"]].mean(axis=1)
    fit = smf.ols("constructive_exchange ~ C(segment_type) + pre_rating", o).fit()
    ref = anova_lm(fit, typ=2).loc["C(segment_type)"]
    row = exhibit(built, "39").table
    row = row[(row["unit"] == "area") & (row["variable"] == "constructive_exchange")].iloc[0]
    assert float(row["F"]) == pytest.approx(ref["F"], rel=1e-5)
    assert float(row["p"]) == pytest.approx(ref["PR(>F)"], rel=1e-4, abs=1e-6)  # tables carry 6 decimals
    # the adjusted difference is the segment-type coefficient
    assert float(row["difference_adjusted"]) == pytest.approx(
        -fit.params["C(segment_type)[T.other]"], rel=1e-5)
    by_site = pd.read_csv(built / "results" / "exhibits" / "39" / "classrooms_by_site.csv")
    rooms = analysis(built, "classrooms").set_index("classroom_id")
    seen = o.groupby("classroom_id")["segment_type"].apply(lambda x: (x == "collaborative").any())
    share = seen.groupby(rooms.loc[seen.index, "school_id"].to_numpy()).mean()
    assert by_site["share"].iloc[:-1].to_numpy() == pytest.approx(share.to_numpy(), abs=1e-6)


@pytest.mark.slow
def test_focus_group_exact_tests_against_scipy(built):
    t = exhibit(built, "FG").table
    row = t[(t["kind"] == "rate") & (t["label"] == "relevance lacking")].iloc[0]
    # 20 vs 4 remarks over 4 vs 4 groups: given 24 remarks, 20 ~ Binomial(24, 1/2)
    assert float(row["p_exact"]) == pytest.approx(st.binomtest(20, 24, 0.5).pvalue, abs=1e-6)
    share = t[(t["kind"] == "share")
              & (t["label"] == "insufficient guidance for group work")].iloc[0]
    assert float(share["p_exact"]) == pytest.approx(st.binomtest(6, 8).pvalue, abs=1e-6)
    lo, hi = proportion_confint(6, 8, method="beta")
    assert (float(share["ci_low"]), float(share["ci_high"])) == pytest.approx((lo, hi), abs=1e-6)


# --------------------------------------------------------------------------- hand-made inputs
class _Named(dict):
    __getattr__ = dict.__getitem__


def run_script(script: str, tmp: Path, inputs: dict[str, Path | str], *, exhibit_id: str,
               min_cell: int = MIN_CELL) -> SimpleNamespace:
    """Run an exhibit script as Snakemake would (a `snakemake` object with input, output,
    params) and read back what it wrote."""
    out = tmp / "out" / exhibit_id
    output = _Named(table=str(out / "table.csv"), comparison=str(out / "comparison.csv"),
                    meta=str(out / "meta.json"), tex=str(out / "table.tex"),
                    png=str(out / "figure.png"), svg=str(out / "figure.svg"))
    summary = tmp / "data_summary.json"
    summary.write_text(json.dumps({"label": "hand-made test data"}), encoding="utf-8")
    sm = SimpleNamespace(input=_Named({k: str(v) for k, v in inputs.items()} | {
        "summary": str(summary), "codebook": str(REPO / "config" / "codebook.yaml"),
        "published": str(REPO / "data" / "published" / "published_values.csv")}),
        output=output, params=_Named(min_cell=min_cell), log=[])
    runpy.run_path(str(SCRIPTS / script), init_globals={"snakemake": sm}, run_name="__main__")
    return SimpleNamespace(table=pd.read_csv(output.table, dtype=str, keep_default_na=False),
                           comparison=pd.read_csv(output.comparison, dtype=str,
                                                  keep_default_na=False),
                           meta=json.loads(Path(output.meta).read_text(encoding="utf-8")))


def teachers_table(codebook_items: list[str], seed: int = 3) -> pd.DataFrame:
    """Teachers at four sites; site 2 has ELA teachers only (no mathematics teachers)."""
    rng = np.random.default_rng(seed)
    layout = {1: {"math": 12, "ela": 11, "other": 5}, 2: {"ela": 12, "other": 4},
              3: {"math": 11, "ela": 10}, 4: {"math": 10, "ela": 10, "other": 2}}
    rows = []
    for site, groups in layout.items():
        for subject, n in groups.items():
            for _ in range(n):
                rows.append({"teacher_id": f"T{len(rows):03d}", "school_id": site,
                             "subject": subject})
    df = pd.DataFrame(rows)
    shift = np.where(df["subject"] == "ela", 0.4, 0.0)
    for item in codebook_items:
        df[item] = np.clip(np.round(2.6 + shift + rng.normal(0, 0.8, len(df))), 1, 4)
    return df


def not_estimable_rows(table: pd.DataFrame) -> pd.DataFrame:
    return table[table["note"].str.startswith("not estimable: n = ")]


def test_site_without_mathematics_teachers_is_a_not_estimable_row(tmp_path, codebook):
    items = list(codebook.teacher_rating_items["benefits"]["items"])
    teachers = teachers_table(items)
    teachers.to_csv(tmp_path / "teachers.csv", index=False)
    out = run_script("ex40_benefits_by_subject.py", tmp_path,
                     {"teachers": tmp_path / "teachers.csv"}, exhibit_id="40")
    t = out.table.set_index("scope")
    # no mathematics teacher: its count (0) is hidden, and with it the ELA count of the row (and a
    # second site's, since the sites add up to the composite's counts)
    assert t.loc["site 2", "note"].startswith("not estimable: fewer than 10 teachers in a group")
    assert (t.loc["site 2", ["n_ela", "n_math"]] == "‡").all() and (t["n_math"] == "‡").sum() >= 2
    # the ELA mean of that site is shown (12 teachers); there is no mathematics mean or test
    assert t.loc["site 2", "mean_ela"] != "" and t.loc["site 2", "mean_math"] == ""
    assert t.loc["site 2", "p"] == ""
    # every blank test statistic is explained by its row's note
    blank = out.table[out.table["p"] == ""]
    assert len(blank) == 1 and (blank["note"].str.startswith("not estimable")).all()
    # the estimable sites and the pooled rows are the plain Welch tests
    pooled = teachers[teachers["subject"].isin(["ela", "math"])]
    composite = pooled[items].mean(axis=1)
    ref = st.ttest_ind(composite[pooled["subject"] == "ela"],
                       composite[pooled["subject"] == "math"], equal_var=False)
    assert float(t.loc["composite", "t"]) == pytest.approx(ref.statistic, rel=1e-6)
    assert "n excluded: 11, reason: teaches a subject other than" in " ".join(out.meta["notes"])
    assert out.comparison["agrees"].iloc[0] in ("yes", "no")


def test_no_white_students_gives_not_estimable_rows_not_a_crash(tmp_path, codebook):
    rng = np.random.default_rng(5)
    n = 80
    students = pd.DataFrame({
        "student_id": [f"S{i:03d}" for i in range(n)], "surveyed": 1,
        "race": rng.choice(["Black", "Hispanic"], n), "school_id": rng.integers(1, 5, n),
        "grade_level": rng.integers(9, 13, n), "gender": rng.choice(["female", "male"], n),
        "ell": rng.integers(0, 2, n), "special_education": rng.integers(0, 2, n),
        "subject": rng.choice(["math", "ela"], n),
        "classroom_id": [f"C{i % 6}" for i in range(n)]})
    blocks = ("hqc", "classroom_environment")
    for c in [c for b in blocks for c in codebook.constructs_in_block(b)]:
        students[c] = rng.uniform(1, 4, n)
    students.to_csv(tmp_path / "students.csv", index=False)
    # the invariance exhibit's verdicts, which Exhibit 28 reads (here: every measure comparable
    # but the set-aside exclusion)
    ids = [c for b in (*blocks, "set_aside") for c in codebook.constructs_in_block(b)]
    pd.DataFrame({"id": ids, "comparable": ["not comparable" if c in codebook.constructs_in_block("set_aside")
                                            else "comparable" for c in ids],
                  "noninvariant_items": "", "thresholds_verdict": "holds", "loadings_verdict": "holds"}
                 ).to_csv(tmp_path / "invariance.csv", index=False)
    out = run_script("ex28_black_white_ratings.py", tmp_path,
                     {"students": tmp_path / "students.csv", "invariance": tmp_path / "invariance.csv"},
                     exhibit_id="28")
    t = out.table
    # no White student: neither group's size is shown (privacy.min_cell, zero included)
    assert len(t) == 15 and (t["note"].str.startswith("not estimable: fewer than 10 students in a group")).all()
    assert (t[["n_Black", "n_White"]] == "‡").all().all()
    assert any("Cells with fewer than 10 students are suppressed (‡)." in n for n in out.meta["notes"])
    assert set(out.comparison["agrees"]) == {"not estimable"}


def test_subject_group_below_minimum_is_not_tested(tmp_path, codebook):
    """With fewer mathematics teachers than the minimum cell size, no teacher subject test is
    run and no mathematics mean is shown (privacy rule and estimability in one)."""
    scales = list(codebook.teacher_scales)
    teachers = teachers_table(scales, seed=11)
    keep = (teachers["subject"] != "math") | (teachers.groupby("subject").cumcount() < 4)
    teachers[keep].to_csv(tmp_path / "teachers.csv", index=False)
    out = run_script("ex37_teacher_structural_quality.py", tmp_path,
                     {"teachers": tmp_path / "teachers.csv"}, exhibit_id="37")
    t = out.table
    assert (t["note"].str.startswith("not estimable: n = 43 (ela), 4 (math)")).all()
    assert (t["mean_math"] == "").all() and (t["mean_ela"] != "").all()
    assert out.comparison["reproduced"].iloc[0] == "0"


def test_a_small_subject_group_of_students_is_not_shown(tmp_path, codebook):
    """Exhibits 35 and 36 with 6 ELA students: not tested, and their number is hidden in the
    n columns (the mathematics count too, which would give it away) and in the note."""
    rng = np.random.default_rng(4)
    n = 90
    students = pd.DataFrame({
        "student_id": [f"S{i:03d}" for i in range(n)], "surveyed": 1,
        "subject": ["ela"] * 6 + ["math"] * (n - 6), "classroom_id": [f"C{i % 6}" for i in range(n)]})
    for c in codebook.hqc_subscales():
        students[c] = rng.uniform(1, 4, n)
    students.to_csv(tmp_path / "students.csv", index=False)
    for script, ex in (("ex35_student_dynamic_quality.py", "35"), ("ex36_student_structural_quality.py", "36")):
        t = run_script(script, tmp_path, {"students": tmp_path / "students.csv"}, exhibit_id=ex)
        assert (t.table[["n_ela", "n_math"]] == "‡").all().all(), ex
        assert t.table["note"].str.startswith("not estimable: fewer than 10 students in a group").all(), ex
        assert not t.table["note"].str.contains(r"\b(?:6|84) \(").any(), ex
        assert any("Cells with fewer than 10 students are suppressed (‡)." in note for note in t.meta["notes"]), ex


def test_one_subject_only_gives_not_estimable_chi_square_not_a_crash(tmp_path, codebook):
    rng = np.random.default_rng(8)
    n = 120
    items = codebook.student_collaboration_items
    students = pd.DataFrame({
        "student_id": [f"S{i:03d}" for i in range(n)], "surveyed": 1, "subject": "math",
        "school_id": rng.integers(1, 5, n), "classroom_id": [f"C{i % 8}" for i in range(n)],
        "collab_frequency": rng.choice(items["collab_frequency"]["categories"], n),
        "collab_length": rng.choice(items["collab_length"]["categories"], n)})
    students.to_csv(tmp_path / "students.csv", index=False)
    for script, ex, key in (
            ("ex32_collaboration_frequency.py", "32", "subject_difference:frequency"),
            ("ex34_collaboration_length.py", "34", "longer_in_ela")):
        out = run_script(script, tmp_path, {"students": tmp_path / "students.csv"},
                         exhibit_id=ex)
        row = out.comparison.set_index("key").loc[key]
        assert row["agrees"] == "not estimable", ex
        assert "not estimable" in row["reproduced"], ex


# --------------------------------------------------------------------------- helpers
def test_direction_agreement_needs_direction_and_significance():
    from lwo.descriptives import direction_agreement

    assert direction_agreement(1, 0.3, True) is True
    assert direction_agreement(1, -0.3, True) is False   # significant, wrong direction
    assert direction_agreement(1, 0.3, False) is False   # right direction, not significant
    assert direction_agreement(-1, -0.3, True) is True
    assert direction_agreement(0, 0.3, False) is True    # published "no difference"
    assert direction_agreement(0, 0.3, True) is False
    assert direction_agreement(1, float("nan"), False) is None


def test_count_table_hides_small_cells_so_no_total_recovers_them():
    from lwo.descriptives import count_table

    rows = [("A", "x", 30), ("A", "y", 4), ("A", "z", 25), ("B", "x", 40), ("B", "y", 22),
            ("B", "z", 31), ("C", "x", 12), ("C", "y", 15), ("C", "z", 18)]
    df = pd.DataFrame([{"site": s, "answer": a} for s, a, n in rows for _ in range(n)])
    table, statement = count_table(df, "site", "answer", row_levels=["A", "B", "C"],
                                   col_levels=["x", "y", "z"], min_cell=10, unit="students",
                                   row_name="site")
    wide = table.pivot(index="site", columns="category", values="n")
    assert wide.loc["A", "y"] == MARKER and wide.loc["All sites", "y"] == 41
    hidden = wide.drop(index="All sites").eq(MARKER).to_numpy()
    # row totals and the All-sites row are shown, so no row or column may hide exactly one
    assert all(r.sum() != 1 for r in hidden) and all(c.sum() != 1 for c in hidden.T)
    assert (table.loc[table["n"] == MARKER, "percent"] == MARKER).all()
    shown = table[table["n"] != MARKER]
    expected = 100 * shown["n"].astype(float) / shown["row_total"].astype(float)
    assert shown["percent"].astype(float).tolist() == pytest.approx(expected.tolist())
    assert statement.startswith("Cells with fewer than 10 students are suppressed")


def test_latex_tables_are_the_bytes_of_pandas_to_latex():
    """lwo.exhibit.to_latex writes pandas' booktabs table without the Styler: the same bytes
    for text needing escapes, missing values of every kind, integers, booleans, nullable
    integers, floats in text columns, no rows and no columns."""
    from lwo.exhibit import to_latex

    mixed = pd.DataFrame({
        "a_b": ["x&y", "50% ~ a^b \\ c {d} #1 $2", None], "n": [1, 2, 3],
        "f": [1.23456, np.nan, np.inf], "flag": [True, False, True],
        "nullable": pd.array([1, None, 3], dtype="Int64"), "object": [1.5, "t", np.nan],
        3: [np.int64(4), "{}", pd.NA]})
    frames = [mixed, mixed.iloc[:0], pd.DataFrame(), mixed.rename_axis(columns="name"),
              pd.DataFrame({"p": [0.00049, 0.0005, -0.0004], "s": ["‡", "a_b", ""]})]
    for table in frames:
        expected = table.to_latex(index=False, float_format="%.3f", na_rep="--", escape=True)
        assert to_latex(table, "caption") == f"% caption\n{expected}"


@pytest.mark.slow
def test_without_black_students_exhibit_28_is_not_estimable_as_a_whole(built, tmp_path):
    """Legal but limiting data: no Black student. Every row of Exhibit 28 says why it has no
    estimate, and so does the exhibit's status (the report shows it for the exhibit), while an
    exhibit with one estimable row stays "ok"."""
    from lwo.descriptive_exhibits import build_exhibit_28
    from lwo.exhibit import status_of_rows

    students = analysis(built, "students")
    students[students["race"] != "Black"].to_csv(tmp_path / "students.csv", index=False)
    outputs = {k: str(tmp_path / f"{k}.{ext}") for k, ext in (("table", "csv"), ("comparison", "csv"),
                                                               ("meta", "json"))}
    build_exhibit_28(students=tmp_path / "students.csv", summary=built / "results/data/analysis/data_summary.json",
                     codebook=built / "config/codebook.yaml", published=built / "data/published/published_values.csv",
                     invariance=built / "results/exhibits/invariance/table.csv", min_cell=MIN_CELL, outputs=outputs)
    notes = pd.read_csv(outputs["table"])["note"]
    assert notes.str.startswith("not estimable: fewer than 10 students in a group").all()
    status = json.loads(Path(outputs["meta"]).read_text(encoding="utf-8"))["status"]
    assert status == f"not estimable: no Black-White comparison has an estimate (the first: {notes[0].removeprefix('not estimable: ')})"
    assert status_of_rows([notes[0], "3 rows excluded (missing data, listwise)"], "row") == "ok"
    assert status_of_rows([], "row") == "ok"


def test_exhibit_3_keeps_a_districts_own_schools_apart_from_the_studys(built, tmp_path):
    """A district numbers its schools its own way: Exhibit 3 counts its schools under their ids, and
    the published descriptors of the study's sites 1-4 stay rows of their own, which a note says are
    other schools. With the study's ids there is no such note."""
    from lwo.sample_exhibits import build_exhibit_3

    own_ids = {1: 12, 2: 31, 3: 47, 4: 58}
    files = {}
    for table in ("students", "teachers", "classrooms", "observations"):
        frame = analysis(built, table)
        if "school_id" in frame:
            frame["school_id"] = frame["school_id"].map(own_ids)
        files[table] = tmp_path / f"{table}.csv"
        frame.to_csv(files[table], index=False)
    outputs = {k: str(tmp_path / f"{k}.{ext}") for k, ext in (("table", "csv"), ("comparison", "csv"),
                                                               ("meta", "json"))}
    build_exhibit_3(**files, summary=built / "results/data/analysis/data_summary.json",
                    codebook=built / "config/codebook.yaml", published=built / "data/published/published_values.csv",
                    min_cell=MIN_CELL, outputs=outputs)
    table = pd.read_csv(outputs["table"])
    assert table["site"].tolist() == [1, 2, 3, 4, 12, 31, 47, 58]
    study_rows, own_rows = table[table["site"] <= 4], table[table["site"] > 4]
    assert study_rows["students"].isna().all() and own_rows["published_type"].isna().all()
    assert own_rows["students"].tolist() == analysis(built, "students")["school_id"].value_counts().sort_index().tolist()
    notes = json.loads(Path(outputs["meta"]).read_text(encoding="utf-8"))["notes"]
    assert "The data's school ids 12, 31, 47, 58 are not the study's sites (1, 2, 3, 4)" in " ".join(notes)
    default_notes = json.loads((built / "results/exhibits/3/meta.json").read_text(encoding="utf-8"))["notes"]
    assert not any("not the study's sites" in n for n in default_notes)


def test_students_of_classes_in_another_subject_are_left_out_of_the_subject_comparison(built, tmp_path):
    """A district that also surveyed classes in other subjects: Exhibit 35 compares the mathematics
    and ELA students it did before, less those now of another subject, and its note counts them.
    The study's data (no such class) has no such note."""
    from lwo.descriptive_exhibits import build_exhibit_35

    students = analysis(built, "students")
    rooms = sorted(students.loc[students["subject"] == "math", "classroom_id"].unique())[:3]
    moved = students["classroom_id"].isin(rooms) & students["subject"].notna() & students["surveyed"].eq(1)
    students.loc[moved, "subject"] = "other"
    students.to_csv(tmp_path / "students.csv", index=False)
    outputs = {k: str(tmp_path / f"{k}.{ext}") for k, ext in (("table", "csv"), ("comparison", "csv"),
                                                               ("meta", "json"))}
    build_exhibit_35(students=tmp_path / "students.csv", summary=built / "results/data/analysis/data_summary.json",
                     codebook=built / "config/codebook.yaml", published=built / "data/published/published_values.csv",
                     min_cell=MIN_CELL, outputs=outputs)
    table, default = pd.read_csv(outputs["table"]), exhibit(built, "35")
    assert (table["n_ela"].to_numpy() == num(default.table["n_ela"]).to_numpy()).all()
    assert (table["n_math"].to_numpy() < num(default.table["n_math"]).to_numpy()).all()
    notes = " ".join(json.loads(Path(outputs["meta"]).read_text(encoding="utf-8"))["notes"])
    assert f"n excluded: {int(moved.sum())}, reason: surveyed in a class of another subject" in notes
    assert "another subject" not in " ".join(default.meta["notes"])
