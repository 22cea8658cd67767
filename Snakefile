# Learning With Others (AIR, 2018): reproducible pipeline.
#   snakemake --cores 4            the full report, results/report.html
#   snakemake --cores 4 replication  Monte Carlo replication study (not in the default build)
#   snakemake --cores 1 data_template  empty CSVs and the data dictionary, for a district's own data
import sys
from pathlib import Path

from snakemake.utils import min_version, validate

sys.path.insert(0, str(Path(workflow.basedir) / "workflow"))
from lwo.config_check import check_config
from lwo.errors import DataError

min_version("9.0")


configfile: "config/config.yaml"


# A bad config stops here, before any job runs, naming the key, its line and the fix.
try:
    check_config(config, "config/config.yaml")
except DataError as err:
    raise WorkflowError(f"ERROR: {err}") from None
validate(config, "workflow/schemas/config.schema.yaml")


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/template.smk"
include: "workflow/rules/rq1_measurement.smk"
include: "workflow/rules/rq1_models.smk"
include: "workflow/rules/exhibits.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/replication.smk"


# Saved model fits the exhibits read are targets as well: a fit job killed after Snakemake
# removed its old files would otherwise not be rerun, since its exhibits still look current.
MODEL_TARGETS = sorted(
    {
        str(f)
        for r in workflow.rules
        for f in r.input
        if isinstance(f, str) and f.startswith(f"{RESULTS}/models/") and "{" not in f
    }
)


# The default target. It must live here: a default set inside an included file is ignored.
rule all:
    default_target: True
    input:
        [p for t, p in analysis_data().items() if t == "summary" or t in available_tables()],
        EXHIBIT_TARGETS,
        MODEL_TARGETS,
        REPORT_TARGETS,


# Snakemake's job rate limiter at its default (--max-jobs-per-timespan 100/1s) never binds on
# one machine (at most `cores` jobs at once), but while jobs wait for a core it starts a 1-s
# timer on every scheduling pass and each timer starts another pass: the passes multiply with
# the finished jobs, each one stats every waiting job's inputs (about 3 CPU s of a 2-core cold
# build), and the last timer holds Snakemake's exit for up to a second (snakemake/snakemake#3744).
# Without it a local run schedules when a job finishes. A limit given by hand, and cluster
# runs, keep it.
onstart:
    rate = workflow.scheduling_settings.max_jobs_per_timespan
    if workflow.local_exec and rate is not None and (rate.max_jobs, rate.timespan) == (100, 1):
        workflow.scheduler.job_rate_limiter = None
