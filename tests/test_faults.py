"""Faults: a killed job or a failing exhibit never leaves a half-written output, and a rerun
recovers exactly what was lost.

* Atomic writes (lwo.io): every writer moves a finished temporary file into place, so a writer
  killed mid-write leaves the target with its old bytes (or absent) and only a hidden temporary
  file `.<name>.<8 characters>.part`, which the next write of that target removes. No script
  writes an output any other way.
* A killed run: a copy of the default build re-fits its models (`--forcerun sem_fit`, or the
  longest-running model-fit rule where there is no sem_fit) with `--cores 1`, and the whole
  Snakemake process group is sent SIGKILL while a fit job is running:
    - part-way through writing its outputs: every file in place is then byte-identical to the
      clean build (no partial file); Snakemake refuses to start until `snakemake --unlock` (a
      killed run cannot release its lock) and then re-runs the killed job (rerun-incomplete,
      profiles/default);
    - as it starts, when Snakemake has removed its old outputs and written nothing yet, while
      the exhibits that read them are still up to date: the rerun must still rebuild them, which
      it does only if every model file is a target of `rule all`.
  Both times the rerun ends with every output byte-identical to the clean build, nothing left to
  do, nothing marked incomplete and no temporary file.
* A failing exhibit: with one exhibit's script made to fail part-way through writing its files
  (and another exhibit's script edited), `snakemake --keep-going` builds the other exhibit and
  still writes results/report.html, which shows the failed exhibit as not built, with its error,
  and every other exhibit as before; none of the failed exhibit's files is left in place. After
  the fix, a dry run plans only that exhibit and what depends on it (the report), the rerun
  rewrites no other file, and the results are the clean build's bytes.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

from lwo import io as lwo_io
from lwo.plotting import save_figure
from workflow_build import (REPO, RUN_SPECIFIC, clone_build, job_records, output_files, planned_jobs,
                            reproducible_digests, restored, running_outputs, sha256, snakemake,
                            snakemake_command, snakemake_env)

PART = re.compile(r"(^|/)\.[^/]+\.[a-z0-9_]{8}\.part$")


def stale_parts(workdir: Path) -> list[str]:
    return [f for f in output_files(workdir) if PART.search(f)]


# ----------------------------------------------------------------------------------------------
# Atomic writes (no workflow run)
# ----------------------------------------------------------------------------------------------
_HALF_WRITER = textwrap.dedent("""
    import sys, time
    from lwo.io import atomic_path
    with atomic_path(sys.argv[1]) as tmp:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write("half of the new table\\n")
            fh.flush()
            print("written", flush=True)
            time.sleep(60)
            fh.write("the other half\\n")
""")


def test_a_writer_killed_mid_write_leaves_the_old_file_and_the_next_write_cleans_up(tmp_path):
    target = tmp_path / "table.csv"
    target.write_text("the old table\n", encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=str(REPO / "workflow"))
    proc = subprocess.Popen([sys.executable, "-c", _HALF_WRITER, str(target)], stdout=subprocess.PIPE,
                            text=True, env=env)
    try:
        assert proc.stdout.readline().strip() == "written"
        parts = [p.name for p in tmp_path.iterdir() if p.name != "table.csv"]
        assert len(parts) == 1 and PART.search(parts[0]), parts
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    # the target was never touched; the temporary file is left (SIGKILL skips clean-up)
    assert target.read_text(encoding="utf-8") == "the old table\n"
    assert (tmp_path / parts[0]).exists()

    # the next write of the same target puts the new bytes in place and removes the leftover,
    # but not the temporary file of another target that merely shares the prefix
    other = tmp_path / ".table.csv.gz.abcdefgh.part"
    other.write_text("not ours", encoding="utf-8")
    lwo_io.write_text("the new table\n", target)
    assert target.read_text(encoding="utf-8") == "the new table\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".table.csv.gz.abcdefgh.part", "table.csv"]


def _figure():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    return fig


@pytest.mark.parametrize("write, name", [
    (lambda p: lwo_io.write_csv(pd.DataFrame({"n": [1]}), p), "t.csv"),
    (lambda p: lwo_io.write_csv(pd.DataFrame({"n": [1]}), p), "t.csv.gz"),
    (lambda p: lwo_io.write_json({"a": 1}, p), "m.json"),
    (lambda p: lwo_io.write_text("x", p), "t.tex"),
    (lambda p: save_figure(_figure(), p), "f.png"),
    (lambda p: save_figure(_figure(), p), "f.svg"),
], ids=["csv", "csv.gz", "json", "text", "png", "svg"])
def test_every_writer_is_atomic(tmp_path, monkeypatch, write, name):
    """A write that fails before its file is in place leaves the old file and no temporary file."""
    target = tmp_path / name
    target.write_bytes(b"old bytes")

    def fail(*args):
        raise OSError("disk full")

    monkeypatch.setattr(lwo_io.os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        write(target)
    assert target.read_bytes() == b"old bytes"
    assert [p.name for p in tmp_path.iterdir()] == [name]


# writing calls that bypass lwo.io (not atomic): pandas/numpy writers given a path, matplotlib's
# savefig, json.dump, open(..., "w"/"a"/"x"), Path.write_text/write_bytes
_DIRECT_WRITE = re.compile(
    r"\.to_(csv|parquet|excel|json|latex|pickle|feather|stata|html)\(\s*(?![a-z_]+\s*=|\))"
    r"|\bsavefig\(|\bjson\.dump\(|\bnp\.save[zt]?\(|\bpyreadstat\.write_"
    r"|\bopen\([^)]*[\"'][wax]b?[\"']|\.write_(text|bytes)\(")


def test_scripts_and_the_package_write_outputs_only_through_lwo_io():
    """So that every output is written atomically: outside workflow/lwo/io.py, no script or module
    writes a file itself, except job logs (a log is appended line by line on purpose), the
    README table of exhibit_index.py (a repository file, not an output) and
    plotting.save_figure, which saves into lwo.io.atomic_path."""
    offenders = []
    files = sorted((REPO / "workflow" / "scripts").glob("*.py")) + sorted((REPO / "workflow" / "lwo").rglob("*.py"))
    for path in files:
        rel = path.relative_to(REPO).as_posix()
        if rel in ("workflow/lwo/io.py", "workflow/scripts/exhibit_index.py", "workflow/lwo/plotting.py"):
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#", 1)[0]
            if _DIRECT_WRITE.search(code) and not re.search(r"\blog\b|\.log\b|sm\.log|snakemake\.log", code):
                offenders.append(f"{rel}:{number}: {line.strip()}")
    assert not offenders, "write outputs with lwo.io (atomic):\n" + "\n".join(offenders)


# ----------------------------------------------------------------------------------------------
# A run killed while a model-fit job is running
# ----------------------------------------------------------------------------------------------
def rules_of_rule_file(workdir: Path, name: str) -> set[str]:
    path = workdir / "workflow" / "rules" / name
    if not path.exists():
        return set()
    return set(re.findall(r"^(?:rule|checkpoint) (\w+):", path.read_text(encoding="utf-8"), flags=re.MULTILINE))


def choose_job_to_kill(workdir: Path) -> tuple[str, str]:
    """(rule, why): the model-fit rule sem_fit; else the rule of rq1_models.smk, else of any rule
    writing results/models/, whose jobs ran longest in the clean build; else the longest-running
    rule."""
    records = job_records(workdir)
    duration: dict[str, float] = {}
    writes_models: set[str] = set()
    for output, rec in records.items():
        rule = rec.get("rule")
        if not rule or rule in ("report", "all"):
            continue
        seconds = float(rec.get("endtime") or 0) - float(rec.get("starttime") or 0)
        duration[rule] = max(duration.get(rule, 0.0), seconds)
        if output.startswith("results/models/"):
            writes_models.add(rule)
    assert duration, f"no job records in {workdir}/.snakemake/metadata"
    for pool, why in ((writes_models & {"sem_fit"}, "a structural-model fit"),
                      (writes_models & rules_of_rule_file(workdir, "rq1_models.smk"), "a structural-model fit"),
                      (writes_models, "a model fit"), (set(duration), "the longest-running job")):
        if pool:
            return max(pool, key=lambda r: (duration[r], r)), why
    raise AssertionError("unreachable")


def processes_in(workdir: Path) -> list[int]:
    """Processes whose working directory is `workdir` (Snakemake and its jobs)."""
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if Path(os.readlink(proc / "cwd")) == workdir:
                    pids.append(int(proc.name))
            except OSError:
                continue
    return pids


def kill_while_running(workdir: Path, rule: str, when: str, timeout: float = 600) -> dict:
    """Start `snakemake --cores 1 --forcerun <rule>` in its own process group and SIGKILL the group
    while a job of `rule` is running.

    when="part-way": once the job has written some but not all of its outputs (jobs of the rule
    that finish before they are caught so are let be; the next one is tried);
    when="start": as soon as a job has started and before it has written anything (Snakemake
    removes the outputs of a job it re-runs when the job starts, so they are all gone)."""
    outputs_of_rule = {o for o, r in job_records(workdir).items() if r.get("rule") == rule}
    log = open(workdir / "killed_run.log", "w", encoding="utf-8")
    proc = subprocess.Popen(snakemake_command("--forcerun", rule, cores=1), cwd=workdir, env=snakemake_env(),
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    started, state = time.monotonic(), None
    try:
        while state is None:
            if proc.poll() is not None:
                raise AssertionError(f"snakemake ended (exit {proc.returncode}) before a job of {rule} was caught "
                                     f"{when}:\n{(workdir / 'killed_run.log').read_text()[-3000:]}")
            if time.monotonic() - started > timeout:
                raise AssertionError(f"no job of rule {rule} was caught {when} within {timeout} s")
            running = running_outputs(workdir) & outputs_of_rule
            written = sorted(o for o in running if (workdir / o).exists())
            if running and ((when == "start" and not written) or (when == "part-way" and 0 < len(written) < len(running))):
                os.killpg(proc.pid, signal.SIGKILL)
                state = {"running": sorted(running), "written": written}
            else:
                time.sleep(0.002)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=60)
        log.close()
    # SIGKILL reaches every process of the group at once, but a job process (not our child) may
    # take a moment to exit after Snakemake itself is reaped
    deadline = time.monotonic() + 30
    while processes_in(workdir) and time.monotonic() < deadline:
        time.sleep(0.05)
    return state


def assert_no_partial_output(workdir: Path, reference: Path, killed: list[str]) -> None:
    """Every file in place is whole: byte-identical to the clean build (outputs are deterministic);
    hidden temporary files are all a kill may leave, and only beside the killed job's outputs."""
    expected = {f: sha256(reference / f) for f in output_files(reference)}
    wrong, unknown = [], []
    for f in output_files(workdir):
        if RUN_SPECIFIC.match(f) or PART.search(f):
            continue
        if f not in expected:
            unknown.append(f)
        elif sha256(workdir / f) != expected[f]:
            wrong.append(f)
    assert not wrong, f"files in place differ from the clean build after the kill: {wrong}"
    assert not unknown, f"files in place that the clean build does not have: {unknown}"
    killed_dirs = {str(Path(o).parent) for o in killed}
    assert {str(Path(p).parent) for p in stale_parts(workdir)} <= killed_dirs


def rerun_after_kill(workdir: Path, rule: str) -> dict[str, list[str]]:
    """What a user does after a killed run: Snakemake refuses to start while the dead run's lock is
    there and says to use --unlock; after `snakemake --unlock`, plain `snakemake` re-runs what is
    missing or incomplete (rerun-incomplete is set in profiles/default). Returns the planned jobs."""
    locked = snakemake(workdir, check=False)
    assert locked.returncode != 0 and "--unlock" in locked.stdout + locked.stderr, locked.stderr[-2000:]
    snakemake(workdir, "--unlock")
    planned = planned_jobs(workdir)
    snakemake(workdir)
    return planned


def assert_recovered(workdir: Path, reference: Path) -> None:
    """Nothing left to do, nothing marked incomplete, no temporary file, and every output
    byte-identical to the clean build: none lost, none stale."""
    expected, got = reproducible_digests(reference), reproducible_digests(workdir)
    missing, unexpected = sorted(set(expected) - set(got)), sorted(set(got) - set(expected))
    assert not missing, (
        f"outputs of the clean build missing after the rerun: {missing}. A re-run job's outputs are "
        "removed when it starts; if it is killed then, Snakemake rebuilds them only if they are "
        "targets (rule all) or inputs of a job that must run.")
    assert not unexpected, f"unexpected outputs: {unexpected}"
    differing = sorted(f for f in expected if got[f] != expected[f])
    assert not differing, f"after the rerun these outputs differ from the clean build: {differing}"
    assert planned_jobs(workdir) == {}
    assert not running_outputs(workdir), f"still marked incomplete: {sorted(running_outputs(workdir))}"
    assert not stale_parts(workdir), f"temporary files left behind: {stale_parts(workdir)}"


@pytest.fixture(scope="module")
def fit_rule(default_build):
    rule, why = choose_job_to_kill(default_build)
    print(f"killing jobs of rule {rule} ({why})")
    return rule


@pytest.mark.slow
def test_a_model_fit_killed_part_way_leaves_no_partial_output_and_the_rerun_recovers(
        default_build, fit_rule, tmp_path):
    workdir = clone_build(default_build, tmp_path / "killed")
    killed = kill_while_running(workdir, fit_rule, when="part-way")
    assert not processes_in(workdir), "a process of the killed run is still running"
    # Snakemake knows the killed job did not finish: its outputs are marked incomplete
    assert set(killed["running"]) <= running_outputs(workdir)
    assert_no_partial_output(workdir, default_build, killed["running"])

    planned = rerun_after_kill(workdir, fit_rule)
    assert fit_rule in planned, f"the killed job of {fit_rule} was not re-run: {sorted(planned)}"
    assert_recovered(workdir, default_build)


@pytest.mark.slow
def test_a_model_fit_killed_as_it_starts_is_rebuilt_by_the_rerun(default_build, fit_rule, tmp_path):
    """The harder case: killed before it wrote anything, after Snakemake removed its old outputs,
    while the exhibits that read them are still up to date."""
    workdir = clone_build(default_build, tmp_path / "killed")
    killed = kill_while_running(workdir, fit_rule, when="start")
    assert not processes_in(workdir), "a process of the killed run is still running"
    assert_no_partial_output(workdir, default_build, killed["running"])

    rerun_after_kill(workdir, fit_rule)
    assert_recovered(workdir, default_build)


# ----------------------------------------------------------------------------------------------
# A failing exhibit
# ----------------------------------------------------------------------------------------------
INJECTED = "injected failure while writing the exhibit"

# placed before the script's final `run(main, snakemake)`: the exhibit writes its table, LaTeX,
# comparison and figures, then fails on meta.json (written last by write_exhibit)
_FAILURE = textwrap.dedent(f"""
    import lwo.exhibit as _exhibit_module
    from lwo.data import DataError as _DataError


    def _failing_write_json(obj, path):
        raise _DataError(path, "{INJECTED}", fix="Undo the change to this script")


    _exhibit_module.write_json = _failing_write_json
""")
_RUN_LINE = re.compile(r"^run\(main, snakemake\)", flags=re.MULTILINE)


def _sections(html: str) -> dict[str, str]:
    """{exhibit: data-state} of every exhibit section of the report."""
    return dict(re.findall(r'<section class="exhibit[^"]*" id="[^"]+" data-exhibit="([^"]+)" data-state="([^"]+)"',
                           html))


def _section(html: str, exhibit: str) -> str:
    start = html.index(f'data-exhibit="{exhibit}"')
    end = html.find("<section", start)
    return html[start:end if end > 0 else None]


@pytest.mark.slow
def test_a_failing_exhibit_is_reported_and_only_it_is_rebuilt_after_the_fix(default_build, tmp_path):
    from test_incremental_rebuilds import downstream, exhibit_rules, rule_graph

    workdir = clone_build(default_build, tmp_path / "failing")
    # exhibits whose script follows the convention: one `run(main, snakemake)` calling a builder,
    # which writes the exhibit with lwo.exhibit.write_exhibit
    rules = [r for r in exhibit_rules(workdir) if r["script"] and (workdir / r["script"]).is_file()]
    texts = {r["script"]: (workdir / r["script"]).read_text(encoding="utf-8") for r in rules}
    rules = [r for r in rules if len(_RUN_LINE.findall(texts[r["script"]])) == 1]
    by_script: dict[str, int] = {}
    for r in rules:
        by_script[r["script"]] = by_script.get(r["script"], 0) + 1
    rules = [r for r in rules if by_script[r["script"]] == 1]
    if len(rules) < 2:
        pytest.skip("fewer than two exhibit rules with a script of their own")
    failing, edited = rules[0], rules[-1]
    failing_script, edited_script = workdir / failing["script"], workdir / edited["script"]
    exhibit_dir = workdir / "results" / "exhibits" / failing["exhibit"]
    graph = rule_graph(workdir)
    before = {f: (workdir / f).stat().st_mtime_ns for f in output_files(workdir)}

    source = failing_script.read_text(encoding="utf-8")
    broken = _RUN_LINE.sub(lambda m: _FAILURE + "\n\n" + m.group(0), source)
    # a harmless edit of another exhibit's script (kept), so that the run has a job besides the
    # failing one: --keep-going must still build it
    edited_script.write_text(edited_script.read_text(encoding="utf-8") + "\n# an edit\n", encoding="utf-8")
    with restored(failing_script, broken):
        run = snakemake(workdir, "--keep-going", check=False)
    assert run.returncode != 0
    assert "Wrote an incomplete report" in run.stderr, run.stderr[-3000:]
    edited_meta = workdir / "results" / "exhibits" / edited["exhibit"] / "meta.json"
    assert edited_meta.stat().st_mtime_ns > before[edited_meta.relative_to(workdir).as_posix()]
    # the failed job's files are gone (Snakemake removes a failed job's outputs), none half-written
    left = sorted(p.name for p in exhibit_dir.iterdir()) if exhibit_dir.exists() else []
    assert not left, f"the failed exhibit left files behind: {left}"

    # the report says the exhibit was not built, and why; every other exhibit is as before
    html = (workdir / "results" / "report.html").read_text(encoding="utf-8")
    states = _sections(html)
    assert states.pop(failing["exhibit"]) == "not built"
    clean = _sections((default_build / "results" / "report.html").read_text(encoding="utf-8"))
    clean.pop(failing["exhibit"])
    assert states == clean
    section = _section(html, failing["exhibit"])
    assert INJECTED in section and failing["rule"] in section, section[:2000]
    assert 'id="incomplete"' in html

    # after the fix: only the failed exhibit and what depends on it (the report) are planned ...
    planned = planned_jobs(workdir)
    expected = downstream(graph, [failing["rule"]]) - {"all"}
    assert "report" in expected
    assert set(planned) == expected, f"planned {sorted(planned)}, expected {sorted(expected)}"
    # ... and rebuilt: no other file is rewritten
    mtimes = {f: (workdir / f).stat().st_mtime_ns for f in output_files(workdir)}
    snakemake(workdir)
    writer = {f: rec.get("rule") for f, rec in job_records(workdir).items()}
    rewritten = sorted(f for f, t in mtimes.items()
                       if (workdir / f).stat().st_mtime_ns != t and writer.get(f) not in expected
                       and not RUN_SPECIFIC.match(f))
    assert not rewritten, f"the rerun rewrote files of jobs that were not planned: {rewritten}"
    assert planned_jobs(workdir) == {}
    expected_digests, got = reproducible_digests(default_build), reproducible_digests(workdir)
    differing = sorted(f for f in set(got) | set(expected_digests) if got.get(f) != expected_digests.get(f))
    assert not differing, f"outputs that differ from the clean build: {differing}"
