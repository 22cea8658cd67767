# The report: results/report.html (one self-contained file) and results/provenance.json.
#
# The report's inputs are every exhibit registered with exhibit_outputs() (its meta.json,
# table.csv, comparison.csv and figure.png), the data summary, the published values, the config,
# the pinned requirements and the report's own code and templates. So it is rebuilt when, and
# only when, one of those changes; the input list is a function, evaluated once every rule file
# is included, so exhibits registered in later files count too.
#
# Failed exhibits (`snakemake --keep-going`): Snakemake never runs a job one of whose inputs
# failed, so the `report` job cannot itself show a failure, and making its exhibit inputs
# optional would break incremental rebuilds (an exhibit built after the report would not
# trigger it). Instead, when a run that included the report fails, the `onerror` handler below
# renders the same report, with the same code, from whatever was built: each missing exhibit is
# shown as "not built" with the error of its job, and the front page says the build is
# incomplete. That file is not recorded as a finished job, so the next run rebuilds the failed
# exhibits and the report, and nothing else.
import sys

# the report's code lives in the shared package (workflow/lwo), imported here too
sys.path.insert(0, str(Path(workflow.basedir) / "workflow"))
import lwo.report as lwo_report
from lwo.registry import load_registry

REPORT_HTML = f"{RESULTS}/report.html"
PROVENANCE_JSON = f"{RESULTS}/provenance.json"
REPORT_TEMPLATES = "workflow/templates"
REPORT_TARGETS.extend([REPORT_HTML, PROVENANCE_JSON])

# Exhibits built by a separate target (not `rule all`), e.g. the replication study: the registry
# entries with a `target`; the report shows such an exhibit when its files exist.
REPORT_OPTIONAL_EXHIBITS = [ex.id for ex in load_registry() if ex.target]


rule report:
    """The report (results/report.html) and its provenance (results/provenance.json)."""
    input:
        # a function: evaluated once every rule file has registered its exhibits
        exhibits=lambda wildcards: lwo_report.exhibit_input_files(EXHIBIT_TARGETS, REPORT_OPTIONAL_EXHIBITS, RESULTS),
        summary=analysis_data()["summary"],
        students=analysis_data()["students"],  # read only to check that no student id leaks
        published=config["published_values"],
        configfiles=list(workflow.configfiles),
        requirements="requirements.txt",
        code=shared_code("report.py"),
        registry="workflow/exhibits.yaml",  # the report's parts (lwo.report.load_parts)
        templates=expand(
            f"{REPORT_TEMPLATES}/{{name}}", name=["report.html.j2", "macros.html.j2", "report.css", "sections.yaml"]
        ),
    output:
        html=report(REPORT_HTML, caption="../templates/snakemake_report.rst", category="Report"),
        provenance=PROVENANCE_JSON,
    log:
        f"{RESULTS}/logs/report.log",
    benchmark:
        f"{RESULTS}/benchmarks/report.tsv"
    conda:
        CONDA_ENV
    params:
        sources=lambda wildcards: json.dumps(
            lwo_report.exhibit_sources(workflow.rules, EXHIBIT_META, REPORT_OPTIONAL_EXHIBITS, RESULTS), sort_keys=True
        ),
        rule_benchmarks=lambda wildcards: json.dumps(lwo_report.rule_benchmark_patterns(workflow.rules), sort_keys=True),
        config=json.dumps(config, sort_keys=True),
        template_dir=lambda wildcards, input: str(Path(input.templates[0]).parent),
        benchmark_dir=f"{RESULTS}/benchmarks",
    script:
        "../scripts/report.py"


# The report of a failed run (see the top of this file).
onerror:
    try:
        dag = getattr(workflow, "dag", None)
        if (
            dag is not None
            and any(job.rule.name == "report" for job in dag.jobs)
            and Path(analysis_data()["summary"]).exists()
        ):
            _sources = lwo_report.exhibit_sources(workflow.rules, EXHIBIT_META, REPORT_OPTIONAL_EXHIBITS, RESULTS)
            _failed = getattr(getattr(workflow, "scheduler", None), "failed", None) or set()
            _missing = sum(not (Path(s["directory"]) / "meta.json").exists() for s in _sources if not s["optional"])
            lwo_report.build_report(
                sources=[lwo_report.ExhibitSource.from_dict(s) for s in _sources],
                data_summary=analysis_data()["summary"],
                published=config["published_values"],
                config=config,
                configfiles=list(workflow.configfiles),
                requirements="requirements.txt",
                students=analysis_data()["students"],
                benchmark_dir=f"{RESULTS}/benchmarks",
                rule_benchmarks=lwo_report.rule_benchmark_patterns(workflow.rules),
                template_dir=REPORT_TEMPLATES,
                out_html=REPORT_HTML,
                out_provenance=PROVENANCE_JSON,
                failures=lwo_report.failed_exhibits(_failed, _sources),
                incomplete=(
                    f"The last run failed: {_missing} exhibit(s) were not built (shown below as not built, "
                    "with the error). Fix the cause and rerun snakemake: only the failed exhibits and this "
                    "report are rebuilt."
                ),
            )
            print(f"Wrote an incomplete report: {REPORT_HTML} ({_missing} exhibit(s) not built)", file=sys.stderr)
    except Exception as err:  # the run has failed already; say why the report is missing too
        print(f"The incomplete report could not be written: {err}", file=sys.stderr)
