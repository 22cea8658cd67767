"""The report (workflow/lwo/report.py, workflow/templates/): formatting, grouping, fidelity
summary, failed and missing exhibits, privacy, determinism outside the provenance block, and,
on the real workflow, the student-id search and Snakemake's own report."""
from __future__ import annotations

import json
import re
import struct
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from lwo import report as R
from lwo.exhibit import compare_number, compare_statement, write_exhibit

REPO = Path(__file__).resolve().parents[1]
TEMPLATES = REPO / "workflow" / "templates"


# ----------------------------------------------------------------------------------------------
# formatting
# ----------------------------------------------------------------------------------------------
def test_format_number():
    assert R.format_number(1200) == "1,200"
    assert R.format_number(1200.0) == "1,200"
    assert R.format_number(0.6912) == "0.691"
    assert R.format_number(-0.2204) == "\u22120.220"
    assert R.format_number(-0.0001) == "0.000"          # no negative zero
    assert R.format_number(float("nan")) == "\u2014"
    assert R.format_number(None) == "\u2014"
    assert R.format_number("not estimable: n = 3") == "not estimable: n = 3"
    assert R.format_number(12.3456, 1) == "12.3"


def test_table_view_formats_columns_by_what_they_hold():
    df = pd.DataFrame({"site": ["1", "2"], "n": [312, 1205], "estimate": [0.5, -0.12345],
                       "p_value": [0.0004, 0.0312], "percent_black": [46.04, 50.0], "note": ["NA", None]})
    view = R.table_view(df)
    assert view.columns == ["site", "n", "estimate", "p value", "percent black", "note"]
    assert view.rows[0] == ["1", "312", "0.500", "< 0.001", "46.0", "NA"]
    assert view.rows[1] == ["2", "1,205", "\u22120.123", "0.031", "50.0", "\u2014"]
    assert view.numeric == [True, True, True, True, True, False]
    # a suppressed count (dagger) keeps the column numeric; a share is not a percentage
    mixed = R.table_view(pd.DataFrame({"n": ["150", "\u2021", "1200"], "percent": ["48.076923", "\u2021", "5"],
                                       "share_black": [0.48, 0.5, 0.1], "label": ["a", "7", "b"]}))
    assert [r[:3] for r in mixed.rows] == [["150", "48.1", "0.480"], ["\u2021", "\u2021", "0.500"],
                                           ["1,200", "5.0", "0.100"]]
    assert mixed.numeric == [True, True, True, False] and [r[3] for r in mixed.rows] == ["a", "7", "b"]
    # a wide table shows a column with one value in every row once, under the table
    wide = pd.DataFrame({"area": ["a", "b"], "est": [0.1, 0.2], "correction": ["Holm (m = 8)"] * 2, "n": [30, 30],
                         "empty": [None, None],
                         **{f"c{i}": [i, i + 1] for i in range(4)}})
    folded = R.table_view(wide)
    assert folded.columns == ["area", "est", "c0", "c1", "c2", "c3"]
    assert folded.constant == [("correction", "Holm (m = 8)"), ("n", "30")]
    assert R.table_view(wide.iloc[:, :7]).constant == []          # narrow: kept as they are
    assert R.table_view(wide.iloc[:, :7]).columns[:5] == ["area", "est", "correction", "n", "empty"]
    long = R.table_view(pd.DataFrame({"x": range(100)}), max_rows=10)
    assert long.truncated and len(long.rows) == 10 and long.total_rows == 100


def test_exhibit_order_numbers_first_then_named():
    ids = ["FG", "12", "3", "14b", "invariance", "14a", "TI", "44"]
    assert sorted(ids, key=R.exhibit_sort_key) == ["3", "12", "14a", "14b", "44", "FG", "invariance", "TI"]


@pytest.mark.parametrize("status, state", [("ok", "ok"), ("OK", "ok"), ("failed: did not converge", "failed"),
                                           ("error: singular matrix", "failed"), ("model did not converge", "failed"),
                                           ("", "failed"), ("partial: 2 of 7 models", "warning"),
                                           ("not available: needs teachers", "not available")])
def test_classify_status(status, state):
    assert R.classify_status(status) == state


def test_png_display_size_uses_the_resolution(tmp_path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from lwo.plotting import save_figure

    fig, _ = plt.subplots(figsize=(4, 2))
    save_figure(fig, tmp_path / "f.png")  # 150 dpi, tight bounding box
    data = (tmp_path / "f.png").read_bytes()
    width, height = struct.unpack(">II", data[16:24])
    assert R.png_display_size(data) == (round(width * 96 / 150), round(height * 96 / 150))
    assert R.png_display_size(b"not a png") is None


# ----------------------------------------------------------------------------------------------
# sections
# ----------------------------------------------------------------------------------------------
def _ex(exhibit, section="", state="ok"):
    return R.Exhibit(exhibit=exhibit, title=f"t{exhibit}", section=section, state=state)


def test_exhibits_go_to_their_research_question():
    parts = R.load_parts(TEMPLATES / R.SECTIONS_FILE)
    part = {p["id"] for p in parts}
    assert {"study", "rq1", "rq2", "rq3", "qualitative", "replication", "other"} <= part
    cases = {("12", "RQ1a: all students"): "rq1", ("29", "Research question 1c: Black vs White"): "rq1",
             ("23", "RQ1b: Black sample"): "rq1",          # 'sample' does not make it a sample exhibit
             ("3", "Sites and samples"): "study", ("6", ""): "study",  # by number when no section text
             ("invariance", "Measurement invariance"): "rq1", ("35", "RQ2: quality by subject"): "rq2",
             ("41", ""): "rq3", ("FG", "Focus groups"): "qualitative", ("TI", ""): "qualitative",
             ("power", "Replication: Monte Carlo"): "replication", ("X9", "Something else"): "other"}
    for (exhibit, section), expected in cases.items():
        assert R.assign_part(_ex(exhibit, section), parts) == expected, (exhibit, section)
    grouped = R.group_exhibits([_ex("13", "RQ1a"), _ex("3", "Sites"), _ex("12", "RQ1a"), _ex("21", "RQ1b")], parts)
    assert [p["id"] for p in grouped] == ["study", "rq1"]
    assert [[e.exhibit for e in s["exhibits"]] for s in grouped[1]["subsections"]] == [["12", "13"], ["21"]]


# ----------------------------------------------------------------------------------------------
# a small set of exhibits written the way exhibit scripts write them
# ----------------------------------------------------------------------------------------------
PUBLISHED = pd.DataFrame([
    ("12", "peer", "Effect of HQC on peer support", "0.69", "number", "Exhibit 12"),
    ("12", "comparison", "Effect of HQC on social comparison", "-0.22", "number", "Exhibit 12"),
    ("12", "absences", "HQC unrelated to absences", "not significant", "direction", "text"),
    ("3", "sites", "Number of sites", "4", "count", "Exhibit 3"),
    ("28", "respect", "Black students rate respectful interactions higher", "higher", "direction", "text"),
    ("40", "benefits", "ELA stronger belief in benefits", "higher", "direction", "text"),
], columns=["exhibit", "key", "statement", "value", "kind", "source"])
STUDENT_IDS = [f"ST{i:06d}" for i in range(1, 41)]


def _figure():
    from lwo.plotting import new_figure  # the exhibits' own figures: no pyplot registry to fill

    fig, ax = new_figure(figsize=(3, 2))
    ax.bar(["a", "b"], [1, 2])
    return fig


def _outputs(root: Path, exhibit: str, figure=True) -> dict:
    d = root / "results" / "exhibits" / exhibit
    out = {"table": d / "table.csv", "comparison": d / "comparison.csv", "meta": d / "meta.json", "tex": d / "table.tex"}
    if figure:
        out.update(png=d / "figure.png", svg=d / "figure.svg")
    return {k: str(v) for k, v in out.items()}


@pytest.fixture
def project(tmp_path):
    """Exhibits 3 (ok, no figure), 12 (ok, figure, CIs: one inside, one outside), 28 (failed),
    40 (not built), plus the data summary, published values, student ids and config."""
    pub_path = tmp_path / "published.csv"
    PUBLISHED.to_csv(pub_path, index=False)
    pub = {row["key"]: row for _, row in PUBLISHED.iterrows()}
    write_exhibit(_outputs(tmp_path, "3", figure=False), exhibit="3", title="Site characteristics",
                  section="The study: sites", table=pd.DataFrame({"site": [1, 2], "students": [312, 205]}),
                  comparison=[compare_number(pub["sites"], 4.0)],
                  caption="Sites.", notes=["Counts below 10 are suppressed."])
    write_exhibit(_outputs(tmp_path, "12"), exhibit="12", title="HQC and the classroom environment",
                  section="RQ1a: all students",
                  table=pd.DataFrame({"outcome": ["peer support", "social comparison"], "std_effect": [0.7, -0.1],
                                      "pvalue": [0.0001, 0.02]}),
                  comparison=[compare_number(pub["peer"], 0.70, 0.65, 0.75),
                              compare_number(pub["comparison"], -0.10, -0.15, -0.05),
                              compare_statement(pub["absences"], "not significant", True, "p >= .05")],
                  figure=_figure(), caption="Standardized effects.")
    pd.DataFrame({"site": [1, 2], "classrooms_with_collaboration": [4, 3]}).to_csv(
        tmp_path / "results" / "exhibits" / "12" / "classrooms_by_site.csv", index=False)
    write_exhibit(_outputs(tmp_path, "28"), exhibit="28", title="Black vs White ratings", section="RQ1c",
                  table=pd.DataFrame({"area": ["respect"], "difference": [0.3]}),
                  comparison=[compare_statement(pub["respect"], "higher", True, "t")],
                  figure=_figure(), status="failed: the model did not converge (iterations 1000)")
    summary = tmp_path / "data_summary.json"
    summary.write_text(json.dumps({"source": "synthetic", "label": "Synthetic cohort (seed 1): numbers test the "
                                   "pipeline, not the study's claims", "files": {"students": {"path": "s.csv",
                                   "sha256": "ab" * 32}}, "counts": {"students": 892, "teachers": 138}}))
    students = tmp_path / "students.csv"
    pd.DataFrame({"student_id": STUDENT_IDS, "x": range(len(STUDENT_IDS))}).to_csv(students, index=False)
    config = tmp_path / "config.yaml"
    config.write_text("synthetic: {seed: 1}\n")
    bench = tmp_path / "results" / "benchmarks"
    bench.mkdir(parents=True)
    (bench / "ex12.tsv").write_text("s\th:m:s\tmax_rss\tcpu_time\n1.25\t0:00:01\t80.5\t1.1\n")
    (bench / "fit_model_all.tsv").write_text("s\th:m:s\tmax_rss\tcpu_time\n3.5\t0:00:03\t120\t3.4\n")
    sources = [R.ExhibitSource(e, str(tmp_path / "results" / "exhibits" / e), rule=f"ex{e}",
                               tables=("classrooms_by_site.csv",) if e == "12" else ())
               for e in ("3", "12", "28", "40")]
    sources.append(R.ExhibitSource("power", str(tmp_path / "results" / "exhibits" / "power"), optional=True))
    kwargs = dict(sources=sources, data_summary=summary, published=pub_path,
                  config={"synthetic": {"seed": 1}, "bootstrap": {"seed": 7}}, configfiles=[config],
                  requirements=REPO / "requirements.txt", students=students, benchmark_dir=bench,
                  rule_benchmarks={"ex12": "results/benchmarks/ex12.tsv",
                                   "fit_model": str(bench / "fit_model_{sample}.tsv")},
                  template_dir=TEMPLATES, out_html=tmp_path / "report.html", out_provenance=tmp_path / "provenance.json",
                  cwd=tmp_path)
    return tmp_path, kwargs


def _sections(html: str) -> dict[str, str]:
    """{exhibit: data-state} of every exhibit section."""
    return dict(re.findall(r'<section class="exhibit[^"]*" id="[^"]+" data-exhibit="([^"]+)" data-state="([^"]+)"', html))


def test_an_exhibit_the_data_cannot_support_is_shown_as_not_available(project):
    """Status 'not available: needs <table>' (rule exhibit_not_available): neither failed nor
    absent; no numbers, the reason, its own count on the front page."""
    from lwo.registry import not_available_status

    root, kwargs = project
    status = not_available_status(["teachers"])
    write_exhibit(_outputs(root, "33", figure=False), exhibit="33", title="Teacher-reported frequency",
                  section="RQ2: Opportunities for collaboration",
                  table=pd.DataFrame([{"exhibit": "33", "status": status}]), comparison=[], status=status)
    kwargs["sources"].append(R.ExhibitSource("33", str(root / "results" / "exhibits" / "33"),
                                             rule="exhibit_not_available"))
    R.build_report(**kwargs)
    html = (root / "report.html").read_text()
    assert _sections(html)["33"] == "not available"
    ex33 = html[html.index('id="exhibit-33"'):html.index('id="exhibit-40"')]
    assert "not available: needs teachers" in ex33 and '<span class="badge not-available">' in ex33
    assert "<table" not in ex33 and "Failed" not in ex33
    assert "1 not available (data lack a table)" in html


def test_report_shows_every_exhibit_with_its_state(project):
    root, kwargs = project
    # a CSV its rule does not declare (left by an older run, or put there by hand) is not shown
    pd.DataFrame({"left_behind": [7]}).to_csv(root / "results" / "exhibits" / "3" / "stale_table.csv", index=False)
    prov = R.build_report(**kwargs)
    html = (root / "report.html").read_text()
    assert _sections(html) == {"3": "ok", "12": "ok", "28": "failed", "40": "not built"}
    assert "power" not in _sections(html)          # optional exhibit, not built: left out
    # the figure of exhibit 12 is embedded; the failed exhibit shows its reason and no numbers
    assert html.count("data:image/png;base64,") == 1
    ex28 = html[html.index('id="exhibit-28"'):html.index('id="exhibit-40"')]
    assert "the model did not converge (iterations 1000)" in ex28 and "<img" not in ex28 and "<table" not in ex28
    ex40 = html[html.index('id="exhibit-40"'):]
    assert "Not built." in ex40 and "rule ex40 did not produce" in ex40
    # a further table the exhibit's rule declares beside table.csv is shown too, an undeclared one not
    assert "<h5>Classrooms by site</h5>" in html and "classrooms with collaboration" in html
    assert "Stale table" not in html and "left behind" not in html
    # tables rendered from table.csv with formatted numbers
    assert "<td class=\"num\">312</td>" in html and "\u22120.100" in html and "&lt; 0.001" in html
    # front page: synthetic, counts, no run date outside the provenance block
    assert "Synthetic cohort (seed 1): numbers test the pipeline, not the study&#39;s claims" in html
    assert "<dd>892</dd>" in html
    # self-contained: nothing fetched from elsewhere
    assert not re.search(r"""(src|href)\s*=\s*["'](https?:)?//|@import|url\(""", html)


def test_fidelity_summary_counts_and_lists_the_disagreements(project):
    root, kwargs = project
    R.build_report(**kwargs)
    exhibits = [R.load_exhibit(s) for s in kwargs["sources"][:4]]
    fid = R.fidelity_summary(exhibits, PUBLISHED)
    # 3: 4 == 4 (number); 12: 0.69 inside [0.65, 0.75], -0.22 outside [-0.15, -0.05], statement agrees
    assert fid["total"] == 4 and fid["agree"] == 3
    assert [(r["exhibit"], r["key"]) for r in fid["disagree"]] == [("12", "comparison")]
    assert fid["kinds"]["interval"] == {"label": fid["kinds"]["interval"]["label"], "total": 2, "agree": 1,
                                        "disagree": 1, "not_estimable": 0}
    assert fid["kinds"]["number"]["total"] == 1 and fid["kinds"]["statement"]["total"] == 1
    why = {(r["exhibit"], r["key"]): r["why"] for r in fid["not_compared"]}
    assert why == {("28", "respect"): "exhibit failed", ("40", "benefits"): "exhibit not built"}
    html = (root / "report.html").read_text()
    lead = re.search(r'<p class="lead">(.*?)</p>', html, flags=re.S).group(1)
    assert re.sub(r"\s+", " ", lead).strip() == ("The exhibits compare 4 published values with the reproduction: "
                                                 "<strong>3 agree</strong>, <strong>1 do not</strong>.")
    disagreements = html[html.index('id="disagreements"'):html.index('id="not-compared"')]
    assert "Effect of HQC on social comparison" in disagreements and "Effect of HQC on peer support" not in disagreements


def test_a_rechecked_value_counts_once_and_context_is_not_tested(project):
    """Exhibit 13 rechecks Exhibit 12's peer-support value (as Exhibit 38 rechecks 37's) and shows
    Exhibit 40's published value beside its own as context ('not applicable'): the summary, the
    front page and the part summary count the value once and the context not at all."""
    root, kwargs = project
    pub = {row["key"]: row for _, row in PUBLISHED.iterrows()}
    context = {**compare_statement(pub["benefits"], "higher", None, "context"), "agrees": "not applicable"}
    write_exhibit(_outputs(root, "13"), exhibit="13", title="HQC and mind-sets", section="RQ1a: all students",
                  table=pd.DataFrame({"outcome": ["growth"], "std_effect": [0.5]}),
                  comparison=[compare_number(pub["peer"], 0.10, 0.05, 0.15), context], figure=_figure())
    kwargs["sources"].insert(2, R.ExhibitSource("13", str(root / "results" / "exhibits" / "13"), rule="ex13"))
    R.build_report(**kwargs)
    exhibits = [R.load_exhibit(src) for src in kwargs["sources"][:5]]
    fid = R.fidelity_summary(exhibits, PUBLISHED)
    # Exhibit 12's own row (inside its CI) stands for the value, not Exhibit 13's (outside)
    assert fid["total"] == 4 and fid["agree"] == 3 and fid["published_context"] == 1
    assert [(r["exhibit"], r["key"]) for r in fid["disagree"]] == [("12", "comparison")]
    assert fid["published_tested"] == 4  # peer, comparison, absences, sites; 28 failed
    html = (root / "report.html").read_text()
    assert re.search(r'glance-number">4<span> of 6</span></p>\s*<p class="glance-label">published values tested'
                     r'</p>\s*<p class="glance-detail">1 shown as context, not tested; ', html)
    part = R.group_exhibits(exhibits, R.load_parts(TEMPLATES / "sections.yaml"))
    rq1 = next(p for p in part if any(ex.exhibit == "13" for sub in p["subsections"] for ex in sub["exhibits"]))
    assert (rq1["n_agree"], rq1["n_compared"]) == (2, 3)


def test_incomplete_build_and_failure_reason_are_shown(project):
    root, kwargs = project
    R.build_report(**kwargs, failures={"40": "The job of rule ex40 failed: ERROR: data/x.csv: bad column"},
                   incomplete="The last run failed: 1 exhibit(s) were not built.")
    html = (root / "report.html").read_text()
    assert 'id="incomplete"' in html and "The last run failed" in html
    assert "ERROR: data/x.csv: bad column" in html[html.index('id="exhibit-40"'):]


def test_real_data_front_page(project):
    root, kwargs = project
    Path(kwargs["data_summary"]).write_text(json.dumps({"source": "files", "label": "Real data: data/real/students.csv",
                                                        "files": {}, "counts": {"students": 10}}))
    R.build_report(**kwargs)
    html = (root / "report.html").read_text()
    assert 'data-source="files"' in html and "Real data: data/real/students.csv" in html
    body = R.strip_provenance(html).split("</style>", 1)[1]
    assert "synthetic" not in body.lower()


def test_provenance(project, monkeypatch):
    root, kwargs = project
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1543622400")
    prov = R.build_report(**kwargs)
    saved = json.loads((root / "provenance.json").read_text())
    assert saved == json.loads(json.dumps(prov, default=str))
    assert prov["run_date"] == "2018-12-01T00:00:00+00:00"
    html = (root / "report.html").read_text()
    assert "2018-12-01T00:00:00" in html and "2018-12-01T00:00:00" not in R.strip_provenance(html)
    assert prov["git"]["commit"] is None                  # the tmp dir is no git work tree
    assert prov["seeds"] == {"synthetic_cohort": 1, "bootstrap": 7}
    assert prov["config"]["files"][0]["sha256"] == R.sha256_file(kwargs["configfiles"][0])
    assert prov["config"]["effective_sha256"] == R.sha256_json({"bootstrap": {"seed": 7}, "synthetic": {"seed": 1}})
    pins = {p["package"]: p for p in prov["packages"]}
    assert {"snakemake", "pandas", "jinja2"} <= set(pins) and pins["pandas"]["pinned"] == "3.1.1"
    assert pins["jinja2"]["installed"] == pins["jinja2"]["pinned"] and pins["jinja2"]["matches"]
    runtimes = {r["file"].rsplit("/", 1)[-1]: r for r in prov["rule_runtimes"]}
    assert runtimes["ex12.tsv"]["rule"] == "ex12" and runtimes["ex12.tsv"]["seconds"] == 1.25
    assert runtimes["fit_model_all.tsv"]["rule"] == "fit_model"   # matched through the wildcard pattern
    assert prov["total_rule_seconds"] == 4.75
    assert prov["data"]["files"]["students"]["sha256"] == "ab" * 32
    assert set(prov["exhibits"]) == {"3", "12", "28", "40"}
    assert prov["exhibits"]["12"]["files"]["table.csv"] == R.sha256_file(root / "results/exhibits/12/table.csv")
    assert prov["exhibits"]["40"] == {"state": "not built", "rule": "ex40", "files": {}}


def test_package_versions_flags_a_package_off_its_pin(tmp_path):
    req = tmp_path / "requirements.txt"
    req.write_text("# pins\njinja2==0.0.1\nsnakemake[reports]==9.27.1  # with extras\nnot-a-package-xyz==1.0\n")
    rows = {r["package"]: r for r in R.package_versions(req)}
    assert rows["jinja2"]["matches"] is False and rows["jinja2"]["installed"]
    assert rows["snakemake"]["pinned"] == "9.27.1"
    assert rows["not-a-package-xyz"]["installed"] is None and not rows["not-a-package-xyz"]["matches"]


def test_same_inputs_same_report_outside_the_provenance_block(project, monkeypatch):
    root, kwargs = project
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1000000000")
    R.build_report(**kwargs)
    first = (root / "report.html").read_text()
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    (root / "results" / "benchmarks" / "ex12.tsv").write_text("s\th:m:s\tmax_rss\tcpu_time\n9.5\t0:00:09\t80\t9\n")
    R.build_report(**kwargs)
    second = (root / "report.html").read_text()
    assert first != second                                  # the provenance block did change
    assert R.strip_provenance(first) == R.strip_provenance(second)
    assert first.count(R.PROVENANCE_START) == 1 and first.count(R.PROVENANCE_END) == 1


def test_a_student_id_in_an_exhibit_stops_the_report(project):
    root, kwargs = project
    write_exhibit(_outputs(root, "3", figure=False), exhibit="3", title="Leaky", section="Sites",
                  table=pd.DataFrame({"student": [STUDENT_IDS[4]], "grade": [3.2]}))
    with pytest.raises(R.PrivacyError, match="1 student id"):
        R.build_report(**kwargs)
    assert not (root / "report.html").exists()


def test_student_id_search():
    ids = ["ST000012", "ST000001", "123", "AB"]
    text = 'x ST0000012 <img src="data:image/png;base64,AAST000001AA"> ST000012. 123 AB'
    # whole tokens only, images skipped; short or purely numeric ids cannot be told from numbers
    assert R.find_student_ids(text, ids) == ["ST000012"]
    assert R.redact_ids("failed at ST000012, ST0000012", ids) == "failed at [student id], ST0000012"


# ----------------------------------------------------------------------------------------------
# the real workflow
# ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def built(default_build):
    return default_build


@pytest.mark.slow
def test_report_of_the_workflow_contains_no_student_id(built):
    html = (built / "results" / "report.html").read_text(encoding="utf-8")
    ids = pd.read_csv(built / "results/data/analysis/students.csv", usecols=["student_id"], dtype=str)["student_id"]
    assert len(ids) > 0
    leaked = [i for i in ids if i in html]      # plain substring search, embedded images included
    assert not leaked, f"{len(leaked)} student ids in the report, e.g. {leaked[:3]}"
    prov = (built / "results" / "provenance.json").read_text(encoding="utf-8")
    assert not [i for i in ids if i in prov]


@pytest.mark.slow
def test_report_of_the_workflow_lists_every_registered_exhibit(built):
    html = (built / "results" / "report.html").read_text(encoding="utf-8")
    prov = json.loads((built / "results" / "provenance.json").read_text(encoding="utf-8"))
    on_disk = {p.parent.name for p in (built / "results" / "exhibits").glob("*/meta.json")}
    assert set(_sections(html)) == set(prov["exhibits"]) == on_disk
    assert all(state == "ok" or state == "warning" or state == "failed" for state in _sections(html).values())
    assert 'data-source="synthetic"' in html
    assert {r["rule"] for r in prov["rule_runtimes"]} >= {"synthetic_cohort", "analysis_data"}
    # the further tables the registry declares (extra_outputs) are shown in their exhibit's section
    from lwo.registry import load_registry

    for ex in load_registry():
        section = html[html.index(f'data-exhibit="{ex.id}"'):].split("</section>")[0] if not ex.target else ""
        for name in (f for f in ex.extra_outputs.values() if f.endswith(".csv") and not ex.target):
            assert f"<h5>{name[:-4].replace('_', ' ').capitalize()}</h5>" in section, (ex.id, name)


@pytest.mark.slow
def test_rerunning_the_report_gives_the_same_bytes_outside_provenance(built, tmp_path):
    from test_incremental_rebuilds import snakemake
    from workflow_build import clone_build

    repo = clone_build(built, tmp_path / "repo")  # the shared build stays as it was built

    def provenance():
        """provenance.json without the fields that describe the run (date, timings, git state)."""
        prov = json.loads((repo / "results" / "provenance.json").read_text(encoding="utf-8"))
        for field in ("run_date", "rule_runtimes", "total_rule_seconds", "git", "platform"):
            prov.pop(field, None)
        return prov

    before, prov_before = (repo / "results" / "report.html").read_text(encoding="utf-8"), provenance()
    snakemake(repo, "--forcerun", "report")
    after = (repo / "results" / "report.html").read_text(encoding="utf-8")
    assert R.strip_provenance(before) == R.strip_provenance(after)
    assert prov_before["exhibits"], "the provenance lists no exhibit"
    assert provenance() == prov_before


@pytest.mark.slow
def test_snakemake_report_zip(built, tmp_path):
    from test_incremental_rebuilds import snakemake

    out = tmp_path / "snakemake_report.zip"
    snakemake(built, "--report", str(out))
    with zipfile.ZipFile(out) as z:
        names = z.namelist()
        assert "snakemake_report/report.html" in names
        # the flagged results/report.html is inside, byte for byte
        ours = [n for n in names if n.endswith("/report.html") and "/data/" in n]
        assert ours and z.read(ours[0]) == (built / "results" / "report.html").read_bytes()
