"""Timing of the descriptive, group-comparison and qualitative exhibits (3-7, 11, 28, 32-44,
FG, TI): how long the family takes to rebuild, and how much of each job is start-up.

These exhibits compute little (t-tests, chi-squares, an ANCOVA on 120 segments); most of
each job is starting Python and importing pandas, scipy, statsmodels and matplotlib. The
benchmark reports:

1. the family's rebuild on N cores (every exhibit rule forced, data already built), with the
   sum of the jobs' own wall and CPU times from Snakemake's `benchmark:` files; target: under
   20 s on 2 cores;
2. per-job overhead: a Snakemake script job that does nothing, and the import cost of the
   module sets the exhibit scripts load (median of several runs).

Runs in a private copy of the repository (your results/ is not touched); the family is the
exhibit registry's entries of FAMILIES (workflow/exhibits.yaml). The machine's load average is
printed before and after: on a shared machine, other processes inflate every number.

Run:  python benchmarks/bench_descriptive_exhibits.py [--cores 2] [--repeat 3] [--json PATH]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow"))
sys.path.insert(0, str(REPO / "tests"))
from workflow_build import copy_repository  # noqa: E402  (the one way to copy the repository)
from lwo.registry import load_registry  # noqa: E402

FAMILIES = ["sample", "rq1_group_differences", "rq2_opportunities", "rq3_context", "qualitative"]
TARGET_SECONDS = 20.0
IMPORT_SETS = {
    "python only": "pass",
    "pandas + lwo.runner + lwo.exhibit": "import pandas, lwo.runner, lwo.exhibit",
    "+ matplotlib (figures)": "import pandas, lwo.runner, lwo.exhibit, lwo.plotting",
    "+ scipy.stats (tests)": "import pandas, lwo.runner, lwo.exhibit, lwo.plotting, scipy.stats",
    "+ statsmodels OLS + pingouin (all of group_stats)":
        "import pandas, lwo.runner, lwo.exhibit, lwo.plotting, scipy.stats, pingouin; "
        "from statsmodels.regression.linear_model import OLS",
}


def family_rules() -> tuple[list[str], list[str]]:
    """(rule names, exhibit meta.json targets) of the family's exhibits."""
    family = [e for e in load_registry() if e.family in FAMILIES]
    return [e.rule for e in family], [f"results/exhibits/{e.id}/meta.json" for e in family]


def private_copy(dst: Path) -> Path:
    copy_repository(dst)
    return dst


def snakemake(work: Path, *args: str) -> float:
    env = dict(os.environ, PATH=os.pathsep.join([str(Path(sys.executable).parent),
                                                 os.environ.get("PATH", "")]))
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "snakemake", *args],
                          cwd=work, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"snakemake {' '.join(args)} failed:\n{proc.stderr[-4000:]}")
    return elapsed


def job_times(work: Path, rules_prefix: str = "ex") -> list[tuple[str, float, float]]:
    """(job, wall s, CPU s) of each exhibit job, from its benchmark file."""
    out = []
    for tsv in sorted((work / "results" / "benchmarks").glob(f"{rules_prefix}*.tsv")):
        header, *rows = tsv.read_text(encoding="utf-8").splitlines()
        cols = header.split("\t")
        last = rows[-1].split("\t")
        out.append((tsv.stem, float(last[cols.index("s")]), float(last[cols.index("cpu_time")])))
    return out


def median_seconds(cmd: list[str], runs: int, env: dict) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, env=env, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def noop_job_overhead(work: Path, cores: int, n_jobs: int = 20) -> float:
    """Seconds per job of a Snakemake `script:` job that does nothing (wall / jobs x cores)."""
    (work / "noop.py").write_text('open(snakemake.output[0], "w").write("")\n', encoding="utf-8")
    (work / "noop.smk").write_text(
        f'rule all:\n    input: expand("noop/{{i}}.txt", i=range({n_jobs}))\n\n\n'
        'rule noop:\n    output: "noop/{i}.txt"\n    script: "noop.py"\n', encoding="utf-8")
    env = dict(os.environ, PATH=os.pathsep.join([str(Path(sys.executable).parent),
                                                 os.environ.get("PATH", "")]))
    base = [sys.executable, "-m", "snakemake", "-s", "noop.smk", "--cores", str(cores)]
    start = time.perf_counter()
    subprocess.run(base, cwd=work, env=env, check=True, capture_output=True)
    with_jobs = time.perf_counter() - start
    start = time.perf_counter()
    subprocess.run(base + ["-n"], cwd=work, env=env, check=True, capture_output=True)
    startup = time.perf_counter() - start
    return max(with_jobs - startup, 0.0) * cores / n_jobs


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3, help="forced rebuilds to time")
    ap.add_argument("--import-runs", type=int, default=5)
    ap.add_argument("--json", type=Path, help="write the results here too")
    args = ap.parse_args()
    rules, targets = family_rules()
    result: dict = {"cores": args.cores, "exhibits": len(targets), "load_before": loadavg()}
    print(f"load average before: {result['load_before']}")
    with tempfile.TemporaryDirectory(prefix="bench_descriptive_") as tmp:
        work = private_copy(Path(tmp))
        cold = snakemake(work, "--cores", str(args.cores), *targets)
        print(f"cold build (synthetic cohort, analysis data, {len(targets)} exhibits): "
              f"{cold:.1f} s")
        rebuilds = []
        for _ in range(args.repeat):
            rebuilds.append(snakemake(work, "--cores", str(args.cores), "--forcerun", *rules,
                                      "--", *targets))
        jobs = job_times(work)
        wall_sum, cpu_sum = sum(j[1] for j in jobs), sum(j[2] for j in jobs)
        best = min(rebuilds)
        print(f"\nfamily rebuild on {args.cores} cores ({len(jobs)} jobs): "
              + ", ".join(f"{t:.1f}" for t in rebuilds) + f" s; best {best:.1f} s "
              f"(target < {TARGET_SECONDS:.0f} s: {'met' if best < TARGET_SECONDS else 'NOT met'})")
        print(f"sum of the jobs' wall time {wall_sum:.1f} s, CPU time {cpu_sum:.1f} s; "
              f"wall / cores = {wall_sum / args.cores:.1f} s")
        print("\njob                         wall s   CPU s")
        for name, wall, cpu in sorted(jobs, key=lambda j: -j[1]):
            print(f"{name:<26} {wall:7.2f} {cpu:7.2f}")
        noop = noop_job_overhead(work, args.cores)
        print(f"\nSnakemake script job doing nothing: {noop:.2f} s per job")

        env = dict(os.environ, PYTHONPATH=str(work / "workflow"))
        imports = {label: median_seconds([sys.executable, "-c", code], args.import_runs, env)
                   for label, code in IMPORT_SETS.items()}
        print("\nimport cost per job (median wall s):")
        for label, secs in imports.items():
            print(f"  {label:<50} {secs:5.2f}")
        result |= {"cold_build_s": cold, "rebuild_s": rebuilds, "rebuild_best_s": best,
                   "target_s": TARGET_SECONDS, "jobs": [dict(zip(("job", "wall_s", "cpu_s"), j))
                                                        for j in jobs],
                   "jobs_wall_sum_s": wall_sum, "jobs_cpu_sum_s": cpu_sum,
                   "noop_script_job_s": noop, "imports_s": imports, "load_after": loadavg()}
    print(f"\nload average after: {result['load_after']}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
