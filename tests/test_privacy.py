"""Privacy: no student can be picked out of anything the pipeline writes for others to read, and
real data never enters git.

What is scanned: every file under results/ of the default build (exhibit tables, LaTeX, figures,
metadata, model estimates and fit files, the report, its provenance, logs and benchmarks), except
the analysis data themselves, which are student-level by nature and stay on the machine:
results/data/ (the validated tables), results/models/<sample>/<model>/*data.csv.gz (the
model-ready data saved beside each fit) and results/diagnostics/.

1. No student id of the cohort (ids of four or more characters that are not plain numbers; a
   number such as 432 cannot be told from a count) and no free text of a student (a text value
   that only one student has) occurs in a scanned file; no exhibit table has a student-id column
   or a row per student.

2. Small cells. The suppression rule applies to counts of students: in every table an exhibit
   writes (table.csv and any further CSV; not comparison.csv, whose published values are public),
   a count of students below `privacy.min_cell` (config; default 10), zero included, is not shown:
   a marker (e.g. ‡) stands in its place. A column is a count column when it is named n, count,
   counts, observed, frequency or for what it counts (students, surveys, respondents,
   participants), or starts with n_/count_ or ends with _n/_count, and holds whole numbers >= 0;
   "n = 7" in a text cell is a count too. A count column counts students unless
     a. the exhibit declares what it counts (meta.json "count_units", from
        write_exhibit(count_units=...)), or
     b. its name names something else: teachers, classrooms, clusters, schools, sites, segments,
        observations, groups, remarks, interviews, items, replicates, or
     c. the exhibit's small-cell statement names only other units ("fewer than 10 teachers"), or
     d. it counts excluded records (n_excluded...): the missing-data policy requires those
        counts in every table, and they describe the handling, not a group of students, or
     e. the exhibit's rule reads no output of another rule (only published files of the
        repository): published counts are public.
   Teacher, classroom, school and published qualitative counts are therefore shown as they are.
   An exhibit states the rule under its table (a note giving the threshold, e.g. "Cells with fewer
   than 10 students are suppressed (‡)", or one starting "Small cells:") when it applies it: when
   its rule is given privacy.min_cell, or a marker stands in its tables.
   Every exhibit built from the cohort's data also states how it handled missing data.
   A statistic of a table shown with hidden cells (a chi-square, Cramer's V, an exact p, a
   difference of its shares) is a function of the hidden counts and, beside the shown cells,
   leaves a handful of candidates for them, often one: it is withheld and its p-value shown as a
   band (Exhibit 34; the across-sites chi-square of Exhibit 32). Nor does any exhibit show a
   value that gives a hidden count back: a share of it (Exhibits 3, 4, 5), a total that the shown
   counts leave it by difference (Exhibit 32's weekly answers), or, for a hidden sample size,
   a CFA's chi-square with its RMSEA (Exhibits 8-10), or a group's size as the all-students n
   less the other group's (Exhibits 8-10), or a hidden row's excluded records (Exhibit 28).

3. Real data stay out of git: data/real/* is ignored (except its README), no file under data/
   other than data/published/* and data/real/README.md is tracked, the configured data files are
   ignored paths, results/ is ignored, and every rule writes under results/.
"""
from __future__ import annotations

import gzip
import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from lwo.report import checkable_ids, find_student_ids
from workflow_build import REPO, output_files

# the analysis data themselves: student-level by nature, never shown
NOT_SCANNED = re.compile(r"^results/(data|diagnostics)/|^results/models/[^/]+/[^/]+/[^/]*data\.csv\.gz$")

COUNT_NAMES = {"n", "count", "counts", "observed", "frequency", "students", "surveys", "respondents",
               "participants"}
COUNT_FIRST = {"n", "count", "students", "surveys", "survey", "respondents", "participants"}
COUNT_LAST = {"n", "count"}
OTHER_UNITS = {"teacher", "teachers", "classroom", "classrooms", "cluster", "clusters", "school", "schools",
               "site", "sites", "segment", "segments", "observation", "observations", "group", "groups",
               "remark", "remarks", "interview", "interviews", "interviewed", "item", "items", "replicate",
               "replicates", "excerpt", "excerpts", "focus"}
STUDENT_UNITS = {"student", "students", "survey", "surveys", "respondent", "respondents", "participant",
                 "participants"}
# "n = 7" or a list of group sizes, "n = 150 (White), 7 (Black)"
IN_TEXT = re.compile(r"\bn\s*=\s*(\d+(?:\s*\([^)]*\))?(?:,\s*\d+\s*\([^)]*\))*)")
IN_TEXT_NUMBER = re.compile(r"(?:^|,\s*)(\d+)")
STATEMENT = re.compile(r"fewer than (\d+) ([a-z ,]+?)(?: are| is| (?:is|are) not|\)|\.|;|$)", re.IGNORECASE)


# ----------------------------------------------------------------------------------------------
# The rule, as functions (checked on small examples below, then on the build)
# ----------------------------------------------------------------------------------------------
def is_marker(value: str) -> bool:
    """A suppression marker: short, no letters or digits (‡, †, *, --)."""
    text = value.strip()
    return bool(text) and len(text) <= 3 and not any(ch.isalnum() for ch in text)


def whole_numbers(values: list[str]) -> list[int] | None:
    """The column's numbers if every non-empty, non-marker cell is a whole number >= 0."""
    numbers = []
    for v in values:
        v = v.strip()
        if not v or is_marker(v):
            continue
        try:
            x = float(v)
        except ValueError:
            return None
        if x < 0 or x != int(x):
            return None
        numbers.append(int(x))
    return numbers


def is_count_name(column: str) -> bool:
    tokens = column.lower().split("_")
    return column.lower() in COUNT_NAMES or tokens[0] in COUNT_FIRST or tokens[-1] in COUNT_LAST


def stated_units(notes: list[str]) -> set[str]:
    """Units named in the exhibit's small-cell statements ("fewer than 10 students or teachers")."""
    units = set()
    for note in notes:
        for _, words in STATEMENT.findall(note):
            units.update(w for w in re.split(r"[\s,]+|\bor\b|\band\b", words.lower()) if w)
    return units


@dataclass
class Exhibit:
    exhibit: str
    directory: Path
    meta: dict
    published_only: bool = False
    # its rule is given privacy.min_cell
    applies_rule: bool = False

    @property
    def notes(self) -> list[str]:
        return [str(n) for n in self.meta.get("notes") or []] + [str(self.meta.get("caption") or "")]

    def unit(self, column: str) -> str:
        """What a count column counts, by rules a-e of the module docstring ("students" unless shown
        otherwise)."""
        declared = self.meta.get("count_units") or {}
        if column in declared or "*" in declared:
            return str(declared.get(column, declared.get("*")))
        tokens = set(column.lower().split("_"))
        if tokens & OTHER_UNITS:
            return "other (named)"
        if column.lower().startswith("n_excluded"):
            return "excluded records"
        if self.published_only:
            return "published counts"
        units = stated_units(self.notes)
        if units and not units & STUDENT_UNITS and units & OTHER_UNITS:
            return "other (stated): " + ", ".join(sorted(units))
        return "students"


def small_student_counts(ex: Exhibit, min_cell: int) -> tuple[list[str], bool]:
    """(cells showing a count of students below min_cell, whether the exhibit has any count of
    students) over every table the exhibit writes."""
    problems, has_student_counts = [], False
    for path in sorted(ex.directory.glob("*.csv")):
        if path.name == "comparison.csv":
            continue
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
        for column in table.columns:
            values = table[column].tolist()
            numbers = whole_numbers(values) if is_count_name(str(column)) else None
            if numbers is not None:
                if ex.unit(str(column)) != "students":
                    continue
                has_student_counts = True
                problems += [f"{path.name}: column {column!r}, row {i + 1}: {v}" for i, v in enumerate(values)
                             if not is_marker(v) and v.strip() and float(v) < min_cell]
            else:
                for i, v in enumerate(values):
                    for m in IN_TEXT.finditer(v):
                        small = [int(k) for k in IN_TEXT_NUMBER.findall(m.group(1)) if int(k) < min_cell]
                        if ex.unit("*") == "students" and small and \
                                "excluded" not in v[max(0, m.start() - 40):m.start()]:
                            problems.append(f"{path.name}: column {column!r}, row {i + 1}: {v[:80]!r}")
    return problems, has_student_counts


def states_the_rule(ex: Exhibit, min_cell: int) -> bool:
    """A note gives the threshold ("fewer than 10 students", "groups of at least 10") or says how
    small cells are handled ("Small cells: ...")."""
    rx = re.compile(rf"\b(fewer than|at least|below|under) {min_cell}\b|^\s*small cells\b", re.IGNORECASE)
    return any(rx.search(n) for n in ex.notes)


def shows_markers(ex: Exhibit) -> bool:
    """A marker stands in place of a count somewhere in the exhibit's tables."""
    for path in sorted(ex.directory.glob("*.csv")):
        if path.name == "comparison.csv":
            continue
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
        if any(is_count_name(str(c)) and any(is_marker(v) for v in table[c]) for c in table.columns):
            return True
    return False


def must_state_the_rule(ex: Exhibit) -> bool:
    return ex.applies_rule or shows_markers(ex)


def scan_text(path: Path) -> str:
    data = path.read_bytes()
    if path.suffix == ".gz":
        data = gzip.decompress(data)
    return data.decode("utf-8", errors="replace")


def free_text_values(students: pd.DataFrame, id_column: str = "student_id") -> list[str]:
    """Text a single student wrote or has: values of a text column (not the id) that only one
    student has and that look like words (a letter and eight or more characters)."""
    out = []
    for column in students.columns:
        if column == id_column or pd.api.types.is_numeric_dtype(students[column]):
            continue
        values = students[column].dropna().astype(str).str.strip()
        counts = values.value_counts()
        unique = counts[counts == 1].index
        out += [v for v in unique if len(v) >= 8 and re.search(r"[A-Za-z]", v)]
    return out


# ----------------------------------------------------------------------------------------------
# The rule on small examples (so the checks on the build can fail)
# ----------------------------------------------------------------------------------------------
def _exhibit(tmp_path, table: pd.DataFrame, notes=(), count_units=None, published_only=False) -> Exhibit:
    d = tmp_path / "exhibit"
    d.mkdir(exist_ok=True)
    table.to_csv(d / "table.csv", index=False)
    meta = {"notes": list(notes), "caption": ""}
    if count_units:
        meta["count_units"] = count_units
    return Exhibit("x", d, meta, published_only)


def test_a_small_count_of_students_is_found_and_a_marker_is_not(tmp_path):
    shown = _exhibit(tmp_path, pd.DataFrame({"site": ["1", "2"], "n": [7, 25], "percent": [21.9, 78.1]}))
    assert small_student_counts(shown, 10) == (["table.csv: column 'n', row 1: 7"], True)
    hidden = _exhibit(tmp_path, pd.DataFrame({"site": ["1", "2"], "n": ["‡", "25"]}),
                      notes=["Cells with fewer than 10 students are suppressed (‡)."])
    assert small_student_counts(hidden, 10) == ([], True) and states_the_rule(hidden, 10)
    assert must_state_the_rule(hidden) and not states_the_rule(hidden, 5)
    assert states_the_rule(_exhibit(tmp_path, pd.DataFrame({"n": [1]}), notes=["Small cells: none shown."]), 10)
    unexplained = _exhibit(tmp_path, pd.DataFrame({"site": ["1", "2"], "n": ["‡", "25"]}))
    assert must_state_the_rule(unexplained) and not states_the_rule(unexplained, 10)
    zero = _exhibit(tmp_path, pd.DataFrame({"n_Black": [0, 30], "surveys_math": [12, 3]}))
    assert len(small_student_counts(zero, 10)[0]) == 2
    in_text = _exhibit(tmp_path, pd.DataFrame({"note": ["not estimable: n = 4 (ela)"]}))
    assert small_student_counts(in_text, 10)[0] == ["table.csv: column 'note', row 1: 'not estimable: n = 4 (ela)'"]
    # the small group of a list of group sizes, listed second
    second = _exhibit(tmp_path, pd.DataFrame({"note": ["n = 150 (White), 7 (Black); too few", "n = 150 (White), 12 (Black)"]}))
    assert small_student_counts(second, 10)[0] == ["table.csv: column 'note', row 1: 'n = 150 (White), 7 (Black); too few'"]


def test_counts_of_other_units_and_excluded_records_are_not_student_counts(tmp_path):
    table = pd.DataFrame({"n_clusters": [4], "classrooms_observed": [3], "n_excluded_missing": [7], "n": [5]})
    assert small_student_counts(_exhibit(tmp_path, table), 10)[0] == ["table.csv: column 'n', row 1: 5"]
    assert small_student_counts(_exhibit(tmp_path, table, count_units={"n": "teachers"}), 10) == ([], False)
    stated = _exhibit(tmp_path, table, notes=["Cells with fewer than 10 teachers are suppressed (‡)."])
    assert small_student_counts(stated, 10) == ([], False)
    both = _exhibit(tmp_path, table, notes=["Cells with fewer than 10 students or teachers are suppressed (‡)."])
    assert small_student_counts(both, 10)[0] == ["table.csv: column 'n', row 1: 5"]
    assert small_student_counts(_exhibit(tmp_path, table, published_only=True), 10) == ([], False)
    # not counts: estimates, decimals, text
    other = pd.DataFrame({"mean": [2.5], "n": ["12.5"], "label": ["Site 1"]})
    assert small_student_counts(_exhibit(tmp_path, other), 10) == ([], False)


def test_ids_and_free_text_are_found(tmp_path):
    students = pd.DataFrame({"student_id": ["ST000001", "ST000002", "432"], "race": ["Black", "Black", "White"],
                             "comment": ["I like my group", None, "short"]})
    assert checkable_ids(students["student_id"]) == ["ST000001", "ST000002"]
    assert find_student_ids("row ST000002, 432 students", students["student_id"]) == ["ST000002"]
    assert find_student_ids("XST000002 and ST0000021", students["student_id"]) == []
    assert free_text_values(students) == ["I like my group"]


def completions(table: pd.DataFrame, res: pd.DataFrame) -> list[dict]:
    """Every whole-number filling of a subject x length table's hidden counts that agrees with what
    is public: its shown counts, the subject totals and the length totals that a shown expected
    count gives away (expected = subject total x length total / N)."""
    import itertools

    subject_total = res.groupby("subject")["observed"].sum()
    n = int(subject_total.sum())
    length_total = {row["length"]: round(float(row["expected"]) * n / subject_total[row["subject"]])
                    for _, row in table[table["expected"] != "‡"].iterrows()}
    shown = pd.to_numeric(table["observed"].where(table["observed"] != "‡"), errors="coerce")
    per_subject = []  # each subject's fillings of its hidden cells that add up to its total
    for subject, rows in table.groupby("subject").groups.items():
        hidden = [i for i in rows if table.at[i, "observed"] == "‡"]
        rest = int(subject_total[subject] - shown[rows].sum())
        fillings = [dict(zip(hidden, (*head, rest - sum(head))))
                    for head in itertools.product(range(rest + 1), repeat=max(len(hidden) - 1, 0))
                    if sum(head) <= rest] if hidden else [{}]
        per_subject.append(fillings)
    found = []
    for parts in itertools.product(*per_subject):
        cells = shown.copy()
        for part in parts:
            cells[list(part)] = list(part.values())
        if all(cells[table["length"] == k].sum() == v for k, v in length_total.items()):
            found.append({i: int(cells[i]) for part in parts for i in part})
    return found


def test_exhibit_34_hides_a_small_cell_with_everything_that_would_give_it_away():
    """One small cell (7 ELA students in long activities): its count, percent, expected count and
    adjusted residual are hidden, and so are as many further cells as it takes for the public
    totals to leave every hidden count open."""
    from lwo.descriptive_exhibits import suppress_length_cells
    from lwo.group_stats import chi_square_table

    answers = {("math", "short"): 40, ("math", "medium"): 15, ("math", "long"): 12,
               ("ela", "short"): 30, ("ela", "medium"): 25, ("ela", "long"): 7}
    students = pd.DataFrame([(s, k) for (s, k), c in answers.items() for _ in range(c)],
                            columns=["subject", "collab_length"])
    res = chi_square_table(students, "subject", "collab_length").rename(
        columns={"row_level": "subject", "col_level": "length"})
    table, statement = suppress_length_cells(res, 10)
    hidden = table["observed"] == "‡"
    assert hidden.sum() == 4 and "3 further cells are suppressed" in statement
    for column in ("row_percent", "expected", "adjusted_residual", "residual_beyond_1_96"):
        assert (table.loc[hidden, column] == "‡").all() and (table.loc[~hidden, column] != "‡").all(), column
    options = completions(table, res)
    assert options and all(len({o[i] for o in options}) > 1 for i in table.index[hidden])
    # the chi-square, a function of every cell, would leave two of them, the truth one: it is
    # hidden with Cramer's V and the rest, and its p is a band
    cells = pd.MultiIndex.from_frame(res[["subject", "length"]])

    def chi2_of(filling: dict) -> float:
        observed = res["observed"].astype(float).copy()
        observed[list(filling)] = list(filling.values())
        grid = pd.Series(observed.to_numpy(), index=cells).unstack().to_numpy()
        expected = np.outer(grid.sum(axis=1), grid.sum(axis=0)) / grid.sum()
        with np.errstate(invalid="ignore"):  # a filling with an empty length: no statistic
            return round(float(((grid - expected) ** 2 / expected).sum()), 6)

    truth = {i: int(res.at[i, "observed"]) for i in table.index[hidden]}
    matching = [o for o in options if chi2_of(o) == round(float(res["chi2"].iloc[0]), 6)]
    assert truth in matching and len(matching) <= 2 < len(options)  # a quadratic in the one free count
    for column in ("chi2", "cramers_v", "cramers_v_bias_corrected", "min_expected", "p_small_sample"):
        assert (table[column] == "‡").all(), column
    assert table["p"].isin(["< 0.001", "< 0.01", "< 0.05", ">= 0.05"]).all()
    # the check can fail: with only the small cell hidden, the totals give it away
    lone = table.copy()
    lone[["observed", "expected"]] = res[["observed", "expected"]].astype(object)
    small = table.index[(res["subject"] == "ela") & (res["length"] == "long")]
    lone.loc[small, ["observed", "expected"]] = "‡"
    assert completions(lone, res) == [{small[0]: 7}]


def _built_from(builder, students: pd.DataFrame, build: Path, tmp_path: Path, *tables: str, **inputs) -> dict:
    """Run an exhibit's builder on `students` with the rest of `build`'s inputs (its analysis
    `tables` too, and further `inputs`); its outputs."""
    data = build / "results" / "data" / "analysis"
    students.to_csv(tmp_path / "students.csv", index=False)
    outputs = {k: str(tmp_path / f"out.{k}") for k in ("table", "tex", "comparison", "meta", "png", "svg")}
    builder(students=tmp_path / "students.csv", summary=data / "data_summary.json",
            codebook=build / "config" / "codebook.yaml", min_cell=10, outputs=outputs,
            published=build / "data" / "published" / "published_values.csv", **{t: data / f"{t}.csv" for t in tables},
            **inputs)
    return outputs


def test_no_share_gives_back_a_hidden_count_of_black_students(default_build, tmp_path):
    """Site 4 with 7 surveyed Black students: Exhibit 4 hides that count (and a complement), and
    its comparison showed site 4's share (0.05: with the site's shown total, 7), Exhibit 3 the same
    share to six decimals. Both now show the marker where Exhibit 4 hides the count. And with 8
    Black students in the whole survey, Exhibit 5's compared share of Black students is hidden as
    its table's count is."""
    from lwo.sample_exhibits import build_exhibit_3, build_exhibit_4, build_exhibit_5

    students = pd.read_csv(default_build / "results" / "data" / "analysis" / "students.csv")
    black = students["surveyed"].eq(1) & students["race"].eq("Black")
    few_at_4 = students.drop(students.index[black & students["school_id"].eq(4)][7:])
    for d in ("3", "4", "5"):
        (tmp_path / d).mkdir()
    ex4 = _built_from(build_exhibit_4, few_at_4, default_build, tmp_path / "4")
    by_race = pd.read_csv(ex4["table"], dtype=str)
    hidden_sites = by_race.loc[by_race["category"].eq("Black") & by_race["n"].eq("‡"), "site"].tolist()
    assert "Site 4" in hidden_sites and len(hidden_sites) >= 2
    compared = pd.read_csv(ex4["comparison"], dtype=str).set_index("key")["reproduced"]
    assert compared["min_share_black_site"] == "lowest site share Black: ‡ (site 4)"
    ex3 = pd.read_csv(_built_from(build_exhibit_3, few_at_4, default_build, tmp_path / "3", "teachers",
                                  "classrooms", "observations")["table"], dtype=str).set_index("site")
    for site in ex3.index:
        assert (ex3.at[site, "share_black_surveyed"] == "‡") == (f"Site {site}" in hidden_sites), site
    eight = students.drop(students.index[black][8:])
    ex5 = _built_from(build_exhibit_5, eight, default_build, tmp_path / "5")
    assert pd.read_csv(ex5["table"], dtype=str).set_index("race").at["Black", "n"] == "‡"
    row = pd.read_csv(ex5["comparison"], dtype=str).set_index("key").loc["share_black_sample"]
    assert row["reproduced"] == "‡" and row["agrees"] == "not applicable" and pd.isna(row["ci_lower"])


def test_exhibit_34s_comparison_and_notes_show_nothing_of_a_hidden_cell(default_build, tmp_path):
    """The default build's students with all but 6 of the ELA students in long activities left
    out: the comparison and the notes showed that cell's percent and adjusted residual, the
    chi-square and the difference of the long shares (each, with the shown cells, all but gives
    the hidden counts back). Now they show the hidden cells' marker and p-value bands."""
    from lwo.descriptive_exhibits import build_exhibit_34

    students = pd.read_csv(default_build / "results" / "data" / "analysis" / "students.csv")
    long_ela = students.index[(students["subject"] == "ela")
                              & (students["collab_length"] == "5 or more class periods")]
    outputs = _built_from(build_exhibit_34, students.drop(long_ela[6:]), default_build, tmp_path)
    table = pd.read_csv(outputs["table"], dtype=str)
    assert table.loc[(table["subject"] == "ela") & (table["length"] == "5 or more class periods"),
                     "observed"].eq("‡").all()
    finding = pd.read_csv(outputs["comparison"], dtype=str).set_index("key").loc["longer_in_ela", "reproduced"]
    assert finding.startswith("5 or more class periods: ELA ‡ vs mathematics ‡; chi-square(2): p < ")
    assert "adjusted residual (ELA, 5 or more class periods) = ‡" in finding and "Cramer" not in finding
    notes = " ".join(json.loads(Path(outputs["meta"]).read_text(encoding="utf-8"))["notes"])
    assert "ELA - mathematics: p " in notes and "ELA - mathematics =" not in notes
    assert not re.search(r"p = 0\.\d", finding + notes)  # no exact p-value of the length tests


def test_exhibit_32_withholds_the_across_sites_chi_square_of_its_table_with_hidden_cells(default_build, tmp_path):
    """Exhibit 32 shows the site x frequency table and, in its notes, the chi-square across sites
    of that same table: with a cell hidden, only the test's p-value band."""
    from lwo.descriptive_exhibits import build_exhibit_32

    students = pd.read_csv(default_build / "results" / "data" / "analysis" / "students.csv")
    answered = students.dropna(subset=["collab_frequency"])
    site, answer = answered.groupby(["school_id", "collab_frequency"]).size().idxmin()
    cell = answered.index[(answered["school_id"] == site) & (answered["collab_frequency"] == answer)]
    outputs = _built_from(build_exhibit_32, students.drop(cell[3:]), default_build, tmp_path)
    assert pd.read_csv(outputs["table"], dtype=str)["n"].eq("‡").any()
    notes = json.loads(Path(outputs["meta"]).read_text(encoding="utf-8"))["notes"]
    across = next(n for n in notes if n.startswith("Across sites: "))
    assert re.fullmatch(r"Across sites: chi-square\(\d+\): p (<|>=) 0\.0\d+ \(statistic withheld: suppressed "
                        r"cells\)\.", across), across


def test_exhibit_32_does_not_count_the_weekly_answers_where_its_all_sites_row_hides_one(default_build, tmp_path):
    """8 students answering "daily" in all: the All sites row hides it (and a second answer). The
    notes' "440 of 869 students" at least weekly, less the shown once-a-week and 2-3-days counts,
    gave it back (and 869 - 440 the other hidden one); so did the compared share. Both withheld."""
    from lwo.descriptive_exhibits import build_exhibit_32

    students = pd.read_csv(default_build / "results" / "data" / "analysis" / "students.csv")
    daily = students.index[students["surveyed"].eq(1) & students["collab_frequency"].eq("daily")]
    students.loc[daily[8:], "collab_frequency"] = "2-3 days a week"
    outputs = _built_from(build_exhibit_32, students, default_build, tmp_path)
    table = pd.read_csv(outputs["table"], dtype=str)
    assert table.loc[table["site"].eq("All sites") & table["category"].eq("daily"), "n"].eq("‡").all()
    row = pd.read_csv(outputs["comparison"], dtype=str).set_index("key").loc["share_at_least_weekly"]
    assert row["reproduced"] == "‡" and row["agrees"] == "not applicable"
    weekly = next(n for n in json.loads(Path(outputs["meta"]).read_text(encoding="utf-8"))["notes"]
                  if n.startswith("At least weekly: "))
    assert " of " not in weekly and "%" not in weekly and "not shown" in weekly


def test_a_cfa_fit_row_whose_n_is_hidden_hides_the_statistics_that_give_it_back(default_build):
    """Exhibits 8-10's cfa_fit.csv: with the default build's fit rows, N follows from a row's
    chi-square, df and RMSEA (lavaan's RMSEA), so a row whose N is hidden (8 Black students; White
    hidden with it, the all-students N being the groups' sum and others) hides those too, and its
    sentence in the notes shows neither."""
    from lwo.measurement_exhibits import N_GIVING_STATISTICS, fit_sentence, shown_fit_table

    rows = pd.read_csv(default_build / "results" / "exhibits" / "8" / "cfa_fit.csv", keep_default_na=False,
                       na_values=[""]).to_dict("records")
    for row in rows:
        if row["status"] == "ok" and row["rmsea"] > 0:
            assert (row["chisq"] / row["df"] - 1) / row["rmsea"] ** 2 == pytest.approx(row["n"], abs=0.5)
    black = next(i for i, r in enumerate(rows) if r["sample"] == "Black")
    rows[black]["n"] = 8
    table, _ = shown_fit_table(rows, 10)
    hidden = table["n"].eq("‡")
    assert set(table.loc[hidden, "sample"]) >= {"Black"} and hidden.sum() >= 2
    for column in N_GIVING_STATISTICS:
        assert table.loc[hidden, column].eq("‡").all() and not table.loc[~hidden, column].eq("‡").any(), column
    for row in table[hidden].to_dict("records"):
        assert "chi-square" in fit_sentence(row) and "RMSEA" in fit_sentence(row)  # only as suppressed
        assert re.search(r"N ‡: CFI( scaled)? = \d\.\d{3}; TLI( scaled)? = -?\d\.\d{3}; SRMR = \d\.\d{3} "
                         r"\(the chi-square and RMSEA, which give N back, are suppressed with it\)$", fit_sentence(row))


def test_exhibit_7_hides_the_interviewed_teachers_of_any_subject_with_an_all_sites_interview_count(default_build,
                                                                                                    tmp_path):
    """8 interviewed ELA teachers in all: the All sites row hid that count alone, while the notes'
    and the comparison's interviewed teachers of any subject (22) less the shown mathematics count
    (14) gave it back. The row now hides the block's other count, and the total is not shown."""
    from lwo.sample_exhibits import build_exhibit_7

    data = default_build / "results" / "data" / "analysis"
    teachers = pd.read_csv(data / "teachers.csv")
    ela = teachers.index[teachers["interviewed"].eq(1) & teachers["subject"].eq("ela")]
    teachers.loc[ela[8:], "interviewed"] = 0
    teachers.to_csv(tmp_path / "teachers.csv", index=False)
    outputs = {k: str(tmp_path / f"out.{k}") for k in ("table", "tex", "comparison", "meta")}
    build_exhibit_7(teachers=tmp_path / "teachers.csv", classrooms=data / "classrooms.csv",
                    observations=data / "observations.csv", summary=data / "data_summary.json",
                    codebook=default_build / "config" / "codebook.yaml", min_cell=10, outputs=outputs,
                    published=default_build / "data" / "published" / "published_values.csv")
    total = pd.read_csv(outputs["table"], dtype=str).set_index("site").loc["All sites"]
    assert total["interviewed_ela"] == "‡" and total["interviewed_math"] == "‡"
    row = pd.read_csv(outputs["comparison"], dtype=str).set_index("key").loc["teachers_interviewed"]
    assert row["reproduced"] == "‡" and row["agrees"] == "not applicable"
    notes = json.loads(Path(outputs["meta"]).read_text(encoding="utf-8"))["notes"]
    assert "Interviewed teachers of any subject: ‡;" in " ".join(notes)


def test_a_small_groups_size_does_not_follow_from_the_others_in_exhibits_8_and_28(default_build, tmp_path):
    """Exhibits 8-10: 9 Black students and no students of other groups; the table showed n and
    n_White beside the hidden n_Black, and n - n_White is n_Black. Neither group's n is shown now.
    Exhibit 28: 12 Black students, 3 of whom did not answer one rating; its row hid both groups'
    sizes but showed the 3 excluded records, so 339 - 3 - (White n at most 327) left n_Black = 9
    alone. A row with hidden sizes now hides its count of excluded records too."""
    from lwo.codebook import Codebook
    from lwo.descriptive_exhibits import build_exhibit_28
    from lwo.descriptives import read_analysis_table
    from lwo.measurement_exhibits import block_measurement

    data = default_build / "results" / "data" / "analysis"
    students = read_analysis_table(data / "students.csv")
    surveyed = students["surveyed"].eq(1)
    black = students.index[surveyed & students["race"].eq("Black")]
    others = students.index[surveyed & ~students["race"].isin(["Black", "White"])]
    nine = students.drop([*black[9:], *others])
    models = default_build / "results" / "models" / "all" / "hqc_second_order"
    result = block_measurement(nine, Codebook.load(default_build / "config" / "codebook.yaml"), "hqc",
                               {"all": pd.read_csv(models / "estimates.csv")},
                               {"all": json.loads((models / "fit.json").read_text(encoding="utf-8"))}, min_cell=10,
                               wlsmv_estimates=pd.read_csv(models / "wlsmv_estimates.csv"),
                               wlsmv_fit=json.loads((models / "wlsmv_fit.json").read_text(encoding="utf-8")))
    table = result.constructs
    assert table["n"].notna().all() and table["n_Black"].isna().all() and table["n_White"].isna().all()
    assert table["alpha_White"].notna().all()

    controls = ["school_id", "grade_level", "gender", "subject", "ell", "special_education"]
    ratings = ["student_centered", "group_interdependence"]
    complete = students[~(surveyed & students["race"].isin(["Black", "White"])
                          & students[controls + ratings].isna().any(axis=1))]
    black = complete.index[complete["surveyed"].eq(1) & complete["race"].eq("Black")]
    twelve = complete.drop(black[12:])
    twelve.loc[black[:3], "student_centered"] = np.nan
    outputs = _built_from(build_exhibit_28, twelve, default_build, tmp_path,
                          invariance=default_build / "results" / "exhibits" / "invariance" / "table.csv")
    ex28 = pd.read_csv(outputs["table"], dtype=str).set_index("variable")
    assert ex28.loc["student_centered", ["n_Black", "n_White", "n_excluded_missing"]].eq("‡").all()
    assert ex28.loc["student_centered", "note"].endswith("‡ rows excluded (missing data, listwise)")
    assert ex28.loc["group_interdependence", "n_Black"] == "12"


def test_exhibit_6_hides_a_second_all_sites_survey_count_where_it_hides_one(tmp_path):
    """A district that surveyed only mathematics classes: no ELA survey anywhere. The all-sites ELA
    count (0) is hidden, and so is a second count of its block, since the surveys, the
    mathematics surveys and the notes' count of surveys without a subject would give it away."""
    import json as json_

    from lwo.sample_exhibits import build_exhibit_6

    students = pd.DataFrame({
        "student_id": [f"S{i:05d}" for i in range(200)], "school_id": [1 + i % 4 for i in range(200)],
        "surveyed": [int(i % 5 != 0) for i in range(200)],
        "subject": ["math" if i % 7 else None for i in range(200)], "focus_group": None})
    students.to_csv(tmp_path / "students.csv", index=False)
    (tmp_path / "summary.json").write_text(json_.dumps({"label": "test data"}), encoding="utf-8")
    outputs = {k: str(tmp_path / f"out.{k}") for k in ("table", "tex", "comparison", "meta")}
    build_exhibit_6(students=tmp_path / "students.csv", summary=tmp_path / "summary.json",
                    published=REPO / "data" / "published" / "published_values.csv", min_cell=10,
                    outputs=outputs)
    table = pd.read_csv(outputs["table"], dtype=str).set_index("site")
    total = table.loc["All sites", ["surveys_math", "surveys_ela", "surveys"]]
    assert total["surveys_ela"] == "‡" and (total == "‡").sum() == 2, total.to_dict()
    notes = " ".join(json_.loads(Path(outputs["meta"]).read_text(encoding="utf-8"))["notes"])
    assert "In the All sites row: 1 further cell is suppressed" in notes
    compared = pd.read_csv(outputs["comparison"], dtype=str).set_index("key")["reproduced"]
    assert compared["surveys_ela"] == "‡" and (compared[list(total[total == "‡"].index)] == "‡").all()


# ----------------------------------------------------------------------------------------------
# The build
# ----------------------------------------------------------------------------------------------
def _published_only_rules(workdir: Path) -> set[str]:
    """Rules that read no output of another rule (from `snakemake --rulegraph`)."""
    from test_incremental_rebuilds import rule_graph

    graph = rule_graph(workdir)
    consumers = {c for targets in graph.values() for c in targets}
    return set(graph) - consumers


_USES_PRIVACY = re.compile(r"""config\[\s*["']privacy["']\s*\]|config_slice\(\s*["']privacy["']""")


def exhibits_of(repo: Path) -> list[Exhibit]:
    """The exhibits a build wrote, with what the rule says about each."""
    from test_incremental_rebuilds import exhibit_rules, rule_bodies

    rule_of = {r["exhibit"]: r["rule"] for r in exhibit_rules(repo)}
    published_only = _published_only_rules(repo)
    bodies = rule_bodies(repo)
    out = []
    for meta_path in sorted((repo / "results" / "exhibits").glob("*/meta.json")):
        ex = meta_path.parent.name
        rule = rule_of.get(ex)
        out.append(Exhibit(ex, meta_path.parent, json.loads(meta_path.read_text(encoding="utf-8")),
                           published_only=rule in published_only,
                           applies_rule=bool(_USES_PRIVACY.search(bodies.get(rule, "")))))
    assert out, "the build has no exhibits"
    return out


def small_count_problems(exhibits: list[Exhibit], min_cell: int) -> dict[str, list[str]]:
    """Per exhibit, the counts of students below min_cell it shows (none: an empty dict)."""
    problems = {}
    for ex in exhibits:
        cells, _ = small_student_counts(ex, min_cell)
        if cells:
            problems[ex.exhibit] = cells
    return problems


@pytest.fixture(scope="module")
def exhibits(default_build) -> list[Exhibit]:
    return exhibits_of(default_build)


@pytest.fixture(scope="module")
def min_cell(default_build) -> int:
    config = yaml.safe_load((default_build / "config" / "config.yaml").read_text(encoding="utf-8"))
    return int((config.get("privacy") or {}).get("min_cell", 10))


@pytest.fixture(scope="module")
def students(default_build) -> pd.DataFrame:
    return pd.read_csv(default_build / "results/data/analysis/students.csv", dtype=str, keep_default_na=False,
                       na_values=[""])


@pytest.mark.slow
def test_no_student_id_or_free_text_in_any_output(default_build, students):
    ids = sorted(set(students["student_id"].str.strip()))
    assert len(checkable_ids(ids)) == len(ids), "the cohort's ids must be searchable (see the docstring)"
    free_text = free_text_values(students)
    scanned, found = 0, []
    for f in output_files(default_build):
        if NOT_SCANNED.match(f):
            continue
        text = scan_text(default_build / f)
        scanned += 1
        found += [f"{f}: student id {i}" for i in find_student_ids(text, ids)]
        found += [f"{f}: text of a student {t[:40]!r}" for t in free_text if t in text]
    assert scanned > 10, f"only {scanned} files scanned"
    assert not found, "\n".join(found[:30])


@pytest.mark.slow
def test_no_exhibit_table_is_student_level(exhibits, students):
    for ex in exhibits:
        for path in ex.directory.glob("*.csv"):
            table = pd.read_csv(path, dtype=str, keep_default_na=False)
            assert not [c for c in table.columns if re.search(r"student.?id", str(c), re.I)], path
            assert len(table) < len(students), f"{path}: {len(table)} rows, one per student?"


@pytest.mark.slow
def test_small_counts_of_students_are_suppressed_in_every_exhibit(exhibits, min_cell):
    problems = small_count_problems(exhibits, min_cell)
    assert not problems, (
        f"counts of students below {min_cell} shown (suppress them with lwo.group_stats.suppress_small_cells, "
        "or declare what the column counts with write_exhibit(count_units=...)):\n"
        + "\n".join(f"  Exhibit {ex}: " + "; ".join(cells[:5]) for ex, cells in problems.items()))


@pytest.mark.slow
def test_every_exhibit_that_applies_the_rule_states_it_under_its_table(exhibits, min_cell):
    assert any(ex.applies_rule for ex in exhibits), "no exhibit rule is given privacy.min_cell"
    silent = [ex.exhibit for ex in exhibits if must_state_the_rule(ex) and not states_the_rule(ex, min_cell)]
    assert not silent, (f"exhibits that suppress small cells (or are given privacy.min_cell) without a note "
                        f"saying e.g. 'Cells with fewer than {min_cell} <unit> are suppressed (marker)': {silent}")


@pytest.mark.slow
def test_every_exhibit_of_the_cohort_states_its_missing_data_handling(exhibits):
    """The missing-data policy (listwise deletion with counts; FIML where a model uses it) is stated
    in every exhibit built from the cohort's data: a note on missing data, listwise deletion, FIML
    or the records excluded."""
    pattern = re.compile(r"missing data|listwise|FIML|full[- ]information|excluded", re.IGNORECASE)
    silent = [ex.exhibit for ex in exhibits
              if not ex.published_only and not any(pattern.search(n) for n in ex.notes)]
    assert not silent, f"exhibits that do not state their handling of missing data: {silent}"


# ----------------------------------------------------------------------------------------------
# Git
# ----------------------------------------------------------------------------------------------
def _git(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def git_checkout():
    if _git("rev-parse", "--is-inside-work-tree").stdout.strip() != "true":
        pytest.skip("not a git checkout")


def _ignored(path: str) -> bool:
    # --no-index: judge the path by the ignore rules alone, tracked or not
    return _git("check-ignore", "-q", "--no-index", path).returncode == 0


def test_real_data_and_results_are_ignored_by_git(git_checkout):
    for path in ("data/real/students.csv", "data/real/teachers.sav", "data/real/2018/observations.csv",
                 "data/real/.hidden.csv", "results/report.html", "results/exhibits/3/table.csv"):
        assert _ignored(path), f"{path} is not ignored by git"
    for path in ("data/real/README.md", "data/published/published_values.csv", "results/README.md"):
        assert not _ignored(path), f"{path} should not be ignored"
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text(encoding="utf-8"))
    for table, path in (config.get("data", {}).get("files") or {}).items():
        assert _ignored(path), f"the configured {table} file {path} would not be ignored by git"


def test_no_data_file_is_tracked_outside_the_published_folder(git_checkout):
    tracked = [f for f in _git("ls-files", "-z", "--", "data", "results").stdout.split("\0") if f]
    allowed = re.compile(r"^data/published/[^/]+$|^data/real/README\.md$|^results/README\.md$")
    assert not [f for f in tracked if not allowed.match(f)], tracked


def test_every_rule_writes_under_results():
    """So no output, however derived from real data, can land in a tracked path."""
    code = ("import json, sys; sys.path.insert(0, 'tests'); "
            "from workflow_build import load_workflow_rules; from pathlib import Path; "
            "print(json.dumps({r.name: [str(f) for f in list(r.output) + list(r.log) + "
            "([r.benchmark] if r.benchmark else [])] for r in load_workflow_rules(Path('.'))}))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    outputs = json.loads(proc.stdout.strip().splitlines()[-1])
    assert outputs
    outside = {rule: [f for f in files if not f.startswith("results/")] for rule, files in outputs.items()}
    assert not {r: f for r, f in outside.items() if f}, outside
