"""Build times of the whole workflow: cold full build, no-op rerun, one-script edit.

Each scenario runs the real workflow on the default config in a private copy of the repository
(tracked and not-ignored files), so the repository's own results/ is never touched:
  cold        `snakemake --cores N` from nothing (synthetic cohort, every exhibit, the report)
  no-op       the same command again: nothing to do
  one edit    a comment appended to one exhibit's script: that exhibit and the report rebuild
The targets (2 cores, default cohort) are cold <= 60 s, no-op <= 3 s, one edit <= 15 s.

Run:  python benchmarks/bench_build.py [--cores 2] [--repeat 1] [--json benchmarks/results/build.json]
      [--repo PATH]  (another checkout, e.g. to compare two versions side by side under the same load)
On a shared machine the wall times depend on the load; the jobs' CPU seconds (also reported, with
the load average) hardly do.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGETS = {"cold": 60.0, "no-op": 3.0, "one edit": 15.0}
sys.path.insert(0, str(REPO / "tests"))
from workflow_build import copy_repository  # noqa: E402  (the one way to copy the repository)


def run_snakemake(workdir: Path, cores: int) -> tuple[float, int]:
    """Wall time of one `snakemake --cores N` and the number of jobs it ran."""
    env = dict(os.environ, PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "snakemake", "--cores", str(cores)], cwd=workdir, env=env,
                          capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"snakemake failed in {workdir}:\n{proc.stderr[-4000:]}")
    done = re.findall(r"(\d+) of (\d+) steps", proc.stderr + proc.stdout)
    jobs = int(done[-1][0]) if done else 0
    return seconds, jobs


def edited_script(workdir: Path) -> Path:
    """The script of the first exhibit rule that has a script of its own."""
    proc = subprocess.run([sys.executable, "workflow/scripts/exhibit_index.py", "--json", "--repo", str(workdir)],
                          cwd=workdir, capture_output=True, text=True, check=True)
    rules = json.loads(proc.stdout)
    scripts = [r["script"] for r in rules if r["script"]]
    own = [s for s in scripts if scripts.count(s) == 1]
    if not own:
        sys.exit("no exhibit rule with a script of its own: nothing to edit")
    return workdir / own[0]


def rule_seconds(workdir: Path) -> tuple[float, float]:
    """Sums of the jobs' own wall and CPU seconds (Snakemake benchmark files, last run of each job)."""
    wall = cpu = 0.0
    for tsv in (workdir / "results" / "benchmarks").glob("**/*.tsv"):
        lines = tsv.read_text().splitlines()
        if len(lines) >= 2:
            row = dict(zip(lines[0].split("\t"), lines[-1].split("\t")))
            wall += float(row["s"])
            cpu += float(row.get("cpu_time", "nan"))
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=1, help="repetitions of each scenario (median reported)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--keep", action="store_true", help="keep the temporary copies")
    parser.add_argument("--repo", type=Path, default=REPO, help="the checkout to build (default: this one)")
    args = parser.parse_args()

    times: dict[str, list[float]] = {k: [] for k in TARGETS}
    jobs: dict[str, int] = {}
    rules_total = rules_cpu = 0.0
    load = []
    script_name = ""
    for _ in range(args.repeat):
        workdir = Path(tempfile.mkdtemp(prefix="lwo-bench-"))
        try:
            copy_repository(workdir, args.repo)
            load.append(os.getloadavg()[0])
            t, jobs["cold"] = run_snakemake(workdir, args.cores)
            times["cold"].append(t)
            load.append(os.getloadavg()[0])
            rules_total, rules_cpu = rule_seconds(workdir)
            t, jobs["no-op"] = run_snakemake(workdir, args.cores)
            times["no-op"].append(t)
            script = edited_script(workdir)
            script_name = script.relative_to(workdir).as_posix()
            with open(script, "a", encoding="utf-8") as fh:
                fh.write("\n# benchmark edit\n")
            t, jobs["one edit"] = run_snakemake(workdir, args.cores)
            times["one edit"].append(t)
        finally:
            if args.keep:
                print(f"kept {workdir}")
            else:
                shutil.rmtree(workdir, ignore_errors=True)

    print(f"Build times, {args.cores} cores, median of {args.repeat} ({platform.python_version()}, "
          f"{os.cpu_count()} CPUs on this machine)")
    print(f"{'scenario':<10} {'seconds':>8} {'jobs':>5} {'target':>8}  met")
    result = {}
    for name, target in TARGETS.items():
        median = statistics.median(times[name])
        met = median <= target
        result[name] = {"seconds": round(median, 2), "jobs": jobs[name], "target_seconds": target, "met": met}
        print(f"{name:<10} {median:>8.1f} {jobs[name]:>5} {target:>8.0f}  {'yes' if met else 'NO'}")
    print(f"one edit = {script_name}; the cold build's jobs ran {rules_total:.1f} s and used {rules_cpu:.1f} CPU s "
          f"in total (sums over jobs, Snakemake benchmark files); 1-min load average "
          f"{min(load):.1f}-{max(load):.1f} around the cold builds")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"cores": args.cores, "repeat": args.repeat, "edited_script": script_name,
                                         "rule_seconds_cold": round(rules_total, 2),
                                         "rule_cpu_seconds_cold": round(rules_cpu, 2),
                                         "load_average": [min(load), max(load)], "scenarios": result},
                                        indent=2) + "\n")


if __name__ == "__main__":
    main()
