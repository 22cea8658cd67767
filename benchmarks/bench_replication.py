"""Throughput of the Monte Carlo replication study: replicates per core-minute, and how it
scales with the cohort size.

One replicate = draw a cohort from the population model, build the model-ready data and fit the
key RQ1 models as the default config's `estimation:` block says (lwo.replication.CohortStudy.
replicate; --estimation listwise-ml: listwise, normal-theory ML without clusters, for comparison).
Timed in this process on one core (CPU time, so other load on the machine counts less), split into
cohort generation and the rest.
With --workflow it also runs `snakemake --cores N replication` on the default config in a
private copy of the repository and reports the wall time and the jobs' own runtimes.

Run:  python benchmarks/bench_replication.py [--sizes 400 892 2000 5000] [--replicates 5]
                                             [--workflow --cores 2] [--json benchmarks/results/replication.json]
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow"))
sys.path.insert(0, str(REPO / "benchmarks"))

from lwo import synthetic  # noqa: E402
from lwo.codebook import Codebook  # noqa: E402
from lwo.replication import Cell, CohortStudy, batch_ranges, grid, replicate_seed  # noqa: E402


def time_cell(study: CohortStudy, replicates: int, seed: int) -> dict:
    """CPU seconds per replicate, and the share of it spent drawing the cohort."""
    generation = 0.0
    original = synthetic.generate_cohort

    def timed_generate(*args, **kwargs):
        nonlocal generation
        t = time.process_time()
        try:
            return original(*args, **kwargs)
        finally:
            generation += time.process_time() - t

    import lwo.replication as rp
    rp.generate_cohort = timed_generate
    try:
        study.replicate(replicate_seed(seed, study.cell, 10**6))  # warm-up (imports, caches)
        generation = 0.0
        cpu, wall = time.process_time(), time.perf_counter()
        converged = 0
        for r in range(replicates):
            rows = study.replicate(replicate_seed(seed, study.cell, r))
            converged += sum(row["converged"] for row in rows)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    finally:
        rp.generate_cohort = original
    per = cpu / replicates
    return {"n_students": study.cell.n_students, "replicates": replicates, "cpu_seconds_per_replicate": per,
            "wall_seconds_per_replicate": wall / replicates, "replicates_per_core_minute": 60.0 / per,
            "cohort_generation_share": generation / cpu if cpu else math.nan,
            "converged_share": converged / (replicates * len(rows))}


def run_workflow(cores: int) -> dict:
    """The default replication target in a private copy of the repository."""
    from bench_build import copy_repository, rule_seconds

    workdir = Path(tempfile.mkdtemp(prefix="lwo-bench-replication-"))
    try:
        copy_repository(workdir)
        env = dict(os.environ, PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "snakemake", "--cores", str(cores), "replication"],
                              cwd=workdir, env=env, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        if proc.returncode != 0:
            sys.exit(f"snakemake failed in {workdir}:\n{proc.stderr[-4000:]}")
        with open(workdir / "config" / "config.yaml", encoding="utf-8") as fh:
            cfg = yaml.safe_load(fh)["replication"]
        total = len(grid(cfg)) * cfg["replicates"]
        job_wall, job_cpu = rule_seconds(workdir)
        return {"cores": cores, "wall_seconds": round(seconds, 1), "replicates": total,
                "batch_jobs": len(grid(cfg)) * len(batch_ranges(cfg["replicates"], cfg["batch_size"])),
                "rule_seconds": round(job_wall, 1), "rule_cpu_seconds": round(job_cpu, 1),
                "replicates_per_core_minute": round(total / (seconds * cores / 60.0), 1)}
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[400, 892, 2000, 5000],
                        help="cohort sizes to time (none: only --workflow)")
    parser.add_argument("--share-black", type=float, default=0.46)
    parser.add_argument("--replicates", type=int, default=5, help="timed replicates per cohort size")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workflow", action="store_true", help="also time `snakemake replication`")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--estimation", choices=("config", "listwise-ml"), default="config",
                        help="the config's estimation block (default) or listwise ML without clusters")
    args = parser.parse_args()

    with open(REPO / "config" / "population_model.yaml", encoding="utf-8") as fh:
        population_model = yaml.safe_load(fh)
    codebook = Codebook.load(REPO / "config" / "codebook.yaml")
    with open(REPO / "config" / "config.yaml", encoding="utf-8") as fh:
        estimation = yaml.safe_load(fh)["estimation"]
    if args.estimation == "listwise-ml":
        estimation = {"missing": "listwise", "estimator": "ML", "cluster": None}

    print(f"Replication throughput, one core ({platform.python_version()}, {os.cpu_count()} CPUs on this machine); "
          f"estimation {json.dumps(estimation, sort_keys=True)}")
    print(f"{'students':>8} {'s/replicate':>12} {'per core-min':>13} {'cohort draw':>12} {'converged':>10}")
    rows = []
    for n in args.sizes:
        study = CohortStudy(population_model, codebook, Cell(n, args.share_black), estimation=estimation)
        row = time_cell(study, args.replicates, args.seed)
        rows.append(row)
        print(f"{n:>8} {row['cpu_seconds_per_replicate']:>12.2f} {row['replicates_per_core_minute']:>13.1f} "
              f"{100 * row['cohort_generation_share']:>11.0f}% {100 * row['converged_share']:>9.0f}%")
    # cost ~ N^slope: the model fits work on covariance matrices, so it should grow slowly
    slope = float(np.polyfit(np.log([r["n_students"] for r in rows]),
                             np.log([r["cpu_seconds_per_replicate"] for r in rows]), 1)[0]) if len(rows) > 1 else math.nan
    if len(rows) > 1:
        print(f"time per replicate grows as N^{slope:.2f} over {min(args.sizes)}-{max(args.sizes)} students")
    result = {"share_black": args.share_black, "estimation": estimation, "by_cohort_size": rows,
              "scaling_exponent": slope}
    if args.workflow:
        wf = run_workflow(args.cores)
        result["workflow"] = wf
        print(f"snakemake --cores {wf['cores']} replication (default config): {wf['wall_seconds']} s wall for "
              f"{wf['replicates']} replicates in {wf['batch_jobs']} batch jobs ({wf['rule_seconds']} s of job "
              f"runtime, {wf['rule_cpu_seconds']} CPU s); {wf['replicates_per_core_minute']} replicates per "
              "core-minute end to end")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
