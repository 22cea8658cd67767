"""Rule report: results/report.html and results/provenance.json (see workflow/lwo/report.py)."""
import json

from lwo.report import ExhibitSource, build_report
from lwo.runner import run


def main(sm):
    build_report(
        sources=[ExhibitSource.from_dict(s) for s in json.loads(sm.params.sources)],
        data_summary=sm.input.summary,
        published=sm.input.published,
        config=json.loads(sm.params.config),
        configfiles=list(sm.input.configfiles),
        requirements=sm.input.requirements,
        students=sm.input.students,
        benchmark_dir=sm.params.benchmark_dir,
        rule_benchmarks=json.loads(sm.params.rule_benchmarks),
        template_dir=sm.params.template_dir,
        out_html=sm.output.html,
        out_provenance=sm.output.provenance,
    )


run(main, snakemake)  # noqa: F821 (injected by Snakemake)
