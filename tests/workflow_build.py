"""Running the real workflow in private copies of the repository, shared by the tests that do.

The repository's source files are copied into a temporary directory and Snakemake is run there,
so a test never touches the repository's own results/. A whole build takes a minute or more, so a
test session builds each kind of copy (`BUILDS`: the default build, a second one with one core,
the worked example, a small district) at most once, all of them started together
in the background when the session starts (conftest.py); tests read those copies, dry-run in them,
or copy them (`clone_build`) before changing anything.
"""
from __future__ import annotations

import base64
import hashlib
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[1]
CORES = "2"
# files that are not part of the workflow's sources, whatever git says
_NOT_COPIED = re.compile(r"^(results|\.snakemake|\.git|\.venv|venv|benchmarks/results)(/|$)")


def load_workflow_rules(repo: Path = REPO):
    """The rules of the workflow in `repo`, parsed by Snakemake itself (no job runs)."""
    from snakemake.api import SnakemakeApi
    from snakemake.settings.types import (ConfigSettings, OutputSettings, Quietness, ResourceSettings,
                                          StorageSettings)

    with SnakemakeApi(OutputSettings(quiet={Quietness.ALL})) as api:
        wf = api.workflow(resource_settings=ResourceSettings(), config_settings=ConfigSettings(),
                          storage_settings=StorageSettings(), snakefile=repo / "Snakefile", workdir=repo)
        # the parsed workflow: Snakemake's public API stops at running it
        return list(wf._workflow.rules)


def repository_files(repo: Path = REPO) -> list[str]:
    """The workflow's source files: tracked and not-ignored files of the work tree."""
    try:
        out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                             cwd=repo, capture_output=True, check=True, timeout=60).stdout
        files = [f for f in out.decode().split("\0") if f]
    except (OSError, subprocess.CalledProcessError):  # not a git checkout (e.g. an archive)
        files = [p.relative_to(repo).as_posix() for p in repo.rglob("*") if p.is_file()]
    return sorted(f for f in files if not _NOT_COPIED.match(f) and (repo / f).is_file())


def copy_repository(dst: Path, repo: Path = REPO) -> Path:
    for f in repository_files(repo):
        target = dst / f
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(repo / f, target)
    return dst


def snakemake_command(*args: str, cores: str | int | None = CORES) -> list[str]:
    cores_args = ["--cores", str(cores)] if cores is not None else []
    return [sys.executable, "-m", "snakemake", *cores_args, *args]


def snakemake_env() -> dict[str, str]:
    """This Python environment's tools first on PATH (the workflow's scripts run with it)."""
    return dict(os.environ, PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))


def snakemake(workdir: Path, *args: str, timeout: float = 1200, cores: str | int | None = CORES,
              check: bool = True) -> subprocess.CompletedProcess:
    """Run Snakemake (of this Python environment) in `workdir`; with `check`, fail with its
    output if it fails."""
    proc = subprocess.run(snakemake_command(*args, cores=cores), cwd=workdir, env=snakemake_env(),
                          capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed in {workdir}:\n{proc.stdout[-4000:]}\n"
                             f"{proc.stderr[-8000:]}")
    return proc


_RULE_HEADER = re.compile(r"^(?:local)?(?:rule|checkpoint) (\S+):$")


def planned_jobs(workdir: Path, *args: str) -> dict[str, list[str]]:
    """The jobs a dry run plans, as {rule: [reason of each job]} (the `all` target left out)."""
    proc = snakemake(workdir, "--dry-run", *args)
    text = proc.stdout + proc.stderr
    jobs: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        m = _RULE_HEADER.match(line.strip())
        if m:
            current = m.group(1)
            jobs.setdefault(current, [])
        elif current and line.strip().startswith("reason:"):
            jobs[current].append(line.strip()[len("reason:"):].strip())
            current = None
    jobs.pop("all", None)
    if not jobs and "Nothing to be done" not in text:
        raise AssertionError(f"could not read the planned jobs from the dry run:\n{text[-3000:]}")
    return jobs


class restored:
    """Change a file for the duration of a block; put back its bytes and its time stamp after."""

    def __init__(self, path: Path, new_text: str):
        self.path, self.new_text = Path(path), new_text

    def __enter__(self):
        self.old = self.path.read_bytes()
        self.stat = self.path.stat()
        self.path.write_text(self.new_text, encoding="utf-8")
        return self.path

    def __exit__(self, *exc):
        self.path.write_bytes(self.old)
        os.utime(self.path, ns=(self.stat.st_atime_ns, self.stat.st_mtime_ns))


# ----------------------------------------------------------------------------------------------
# Builds shared by a test session
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Build:
    """One kind of build a test session may need: `snakemake --cores N [args]` (the whole workflow
    unless args name targets) in a private copy of the repository, optionally pointed (`export`) at
    a district-like export of the default synthetic cohort: export(cohort tables, codebook) -> {table: DataFrame}."""
    folder: str
    cores: int
    args: tuple[str, ...] = ()
    export: Callable | None = None
    # scheduling priority: the default build, which most tests read, runs ahead of the others;
    # then the one-core build (left to the end it would leave a core idle), then the heavier of
    # the other two (the worked example's fits of a fifth of the answers blank)
    nice: int = 10


def _one_school(cohort: dict, codebook, **kw) -> dict:
    from lwo.example import district_export
    return district_export(cohort, codebook, schools=[1], n_students=150, **kw)


# The exhibits of the second, one-core build: one of every family the default build makes and,
# through them, every kind of job (the cohort, the analysis data, the three kinds of model fit:
# one-group FIML + MLR, two-group, WLSMV CFA; the invariance sequences). A whole second build would
# cost as much again as the default one, most of it each job's imports: these 16 jobs cost a third.
DETERMINISM_EXHIBITS = ("3", "8", "16", "28", "29", "39", "43", "FG")

# fixture name (conftest.py) -> the build it returns
BUILDS = {
    # the default build; most workflow tests read it
    "default_build": Build("built-workflow", 4, nice=0),
    # an independent build in another folder with one core, of a sample of the exhibits that runs
    # every kind of job: determinism compares its outputs with the default build's
    "cores1_build": Build("second-build-cores1", 1,
                          tuple(f"results/exhibits/{e}/meta.json" for e in DETERMINISM_EXHIBITS), nice=5),
    # the README's worked example: the cohort's students table alone, 20% of the item answers blank
    # (the messy export a district analyst tried: every model must still fit every surveyed student)
    "worked_example_build": Build("worked-example", 2, ("--configfile", "config/example_district.yaml"), nice=8),
    # a small district: all four tables cut to 150 students of one school, 5% of answers blank
    "small_district_build": Build("small-district", 2,
                                  export=partial(_one_school, seed=12, blank_share=0.05)),
}
_BUILT: dict[str, Path] = {}
# builds started in the background: name -> (process, folder, log file)
_PENDING: dict[str, tuple[subprocess.Popen, Path, object]] = {}


def start_build(tmp_path_factory, name: str, cohort: dict | None = None, codebook=None) -> None:
    """Start the build `name` in the background (once per session). A build spends much of its
    time starting jobs rather than computing, and some tests wait on Slurm rather than the CPU, so
    the session starts every build its tests need at once (conftest.py) and the machine's cores
    stay busy."""
    if name in _BUILT or name in _PENDING:
        return
    kind = BUILDS[name]
    root = tmp_path_factory.getbasetemp() / kind.folder / "repo"
    if kind.export is None:
        copy_repository(root)
    else:
        copy_with_export(root, kind.export(cohort, codebook))
    log = open(root.parent / "snakemake.log", "w", encoding="utf-8")
    proc = subprocess.Popen(["nice", "-n", str(kind.nice), *snakemake_command(*kind.args, cores=kind.cores)],
                            cwd=root, env=snakemake_env(),
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    _deprioritise_session(proc.pid, kind.nice)
    _PENDING[name] = (proc, root, log)


def _deprioritise_session(pid: int, nice: int) -> None:
    """Give the new session's scheduler group the build's niceness. Where the kernel groups
    processes by session (sched_autogroup), the CPU is shared between groups first and a process's
    own nice value only counts within its group, so without this every build would get an equal
    share whatever its niceness. Best effort: elsewhere the nice value alone does it."""
    try:
        Path(f"/proc/{pid}/autogroup").write_text(str(nice))
    except OSError:
        pass


def finished_build(tmp_path_factory, name: str, cohort: dict | None = None, codebook=None,
                   timeout: float = 3600) -> Path:
    """The copy of the repository in which the build `name` has finished (started if it was not);
    fails with the end of Snakemake's output if any job failed."""
    if name not in _BUILT:
        start_build(tmp_path_factory, name, cohort, codebook)
        proc, root, log = _PENDING[name]
        proc.wait(timeout=timeout)  # pending while waited on: an interrupted session stops it
        del _PENDING[name]
        log.close()
        if proc.returncode != 0:
            raise AssertionError(f"snakemake --cores {BUILDS[name].cores} {' '.join(BUILDS[name].args)} failed in "
                                 f"{root}:\n{build_log(root)[-6000:]}")
        _BUILT[name] = root
    return _BUILT[name]


def build_log(root: Path) -> str:
    """Everything Snakemake printed while building `root` (a `finished_build`)."""
    return (Path(root).parent / "snakemake.log").read_text(encoding="utf-8", errors="replace")


def stop_pending_builds() -> None:
    """End the background builds nobody waited for (their whole process group)."""
    import signal

    for name, (proc, _, log) in list(_PENDING.items()):
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)
        log.close()
        del _PENDING[name]


def clone_build(src: Path, dst: Path) -> Path:
    """A copy of a built workflow, Snakemake's records included (time stamps kept), so that
    Snakemake sees the same up-to-date build in the new folder."""
    shutil.copytree(src, dst, symlinks=True, ignore=shutil.ignore_patterns("locks"))
    return dst


# ----------------------------------------------------------------------------------------------
# Outputs
# ----------------------------------------------------------------------------------------------
# run-specific by design: logs and benchmarks (timings), the provenance (run date, timings,
# git state) and the report, which is compared without its provenance block
RUN_SPECIFIC = re.compile(r"^results/(logs|benchmarks)/|^results/provenance\.json$|^results/report\.html$")


def output_files(workdir: Path) -> list[str]:
    """Every file under results/ (paths relative to `workdir`), dot-files included."""
    results = workdir / "results"
    return sorted(p.relative_to(workdir).as_posix() for p in results.rglob("*") if p.is_file())


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def reproducible_digests(workdir: Path) -> dict[str, str]:
    """sha256 of every output that must be the same on every build with the same config and seed:
    all files under results/ except the run-specific ones, plus the report without its provenance
    block (as 'results/report.html#without-provenance')."""
    sys.path.insert(0, str(workdir / "workflow"))
    try:
        from lwo.report import strip_provenance
    finally:
        sys.path.pop(0)
    digests = {f: sha256(workdir / f) for f in output_files(workdir) if not RUN_SPECIFIC.match(f)}
    report = workdir / "results" / "report.html"
    if report.exists():
        stripped = strip_provenance(report.read_text(encoding="utf-8")).encode("utf-8")
        digests["results/report.html#without-provenance"] = hashlib.sha256(stripped).hexdigest()
    return digests


def running_outputs(workdir: Path) -> set[str]:
    """Outputs of the jobs Snakemake has started and not finished (its .snakemake/incomplete
    records, one per output file, named by the file's path in URL-safe base64)."""
    marks = workdir / ".snakemake" / "incomplete"
    out = set()
    if not marks.is_dir():
        return out
    for path in marks.rglob("*"):
        if not path.is_file() or path.name == "migration_underway":
            continue
        # long paths are split into folders whose names start with "@"
        parts = [p.lstrip("@") for p in path.relative_to(marks).parts]
        try:
            out.add(base64.urlsafe_b64decode("".join(parts).encode()).decode())
        except (ValueError, UnicodeDecodeError):
            continue
    return out


def job_records(workdir: Path) -> dict[str, dict]:
    """Snakemake's record of the job that wrote each output (.snakemake/metadata, one JSON file
    per output, named like the incomplete records): {output: {"rule": ..., "starttime": ...,
    "endtime": ..., ...}}."""
    import json

    records = {}
    meta = workdir / ".snakemake" / "metadata"
    for path in meta.rglob("*") if meta.is_dir() else []:
        if not path.is_file():
            continue
        parts = [p.lstrip("@") for p in path.relative_to(meta).parts]
        try:
            name = base64.urlsafe_b64decode("".join(parts).encode()).decode()
            records[name] = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError):
            continue
    return records


def copy_with_export(dst: Path, export: dict, repo: Path = REPO) -> Path:
    """A copy of the repository whose config reads `export` (table name -> DataFrame) as real
    data files under data/real/, as a district would point it at its own export."""
    import yaml
    from lwo.io import write_csv

    copy_repository(dst, repo)
    config = yaml.safe_load((dst / "config/config.yaml").read_text(encoding="utf-8"))
    config["data"] = {"source": "files", "files": {}}
    for table, df in export.items():
        write_csv(df, dst / f"data/real/{table}.csv")
        config["data"]["files"][table] = f"data/real/{table}.csv"
    (dst / "config/config.yaml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return dst
