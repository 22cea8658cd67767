"""Timing of the RQ1 model set: every structural model on every sample (all, Black, White)
and the five Black-White multi-group models (free model + equality-constrained models), as
the `sem_fit` and `sem_fit_multigroup` rules run them (fit, := parameters, standardized
solution with delta-method SEs, implied correlations; optionally the saved files too).

Cohorts: the default synthetic cohort (892 students) and N = 100,000. Covariance-based
fitting should cost about the same at both sizes.

Targets (2 cores): the whole set under 30 s for the default cohort; under 3x that at 100,000.

Run:  python benchmarks/bench_rq1_models.py [--cores 2] [--sizes 892 100000] [--save]
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow"))

TARGET_DEFAULT_S = 30.0
TARGET_RATIO_100K = 3.0
_STUDENTS = None  # per worker process


def _init(n_students: int) -> None:
    global _STUDENTS
    import yaml

    from lwo.codebook import Codebook
    from lwo.synthetic import generate_cohort

    codebook = Codebook.load(ROOT / "config" / "codebook.yaml")
    with open(ROOT / "config" / "population_model.yaml", encoding="utf-8") as fh:
        model = yaml.safe_load(fh)
    _STUDENTS = generate_cohort(model, codebook, seed=20180901, n_students=n_students)["students"]


def _job(args) -> dict:
    """One rule's work: (model, sample) or (model, 'Black_vs_White')."""
    model, sample, save = args
    from lwo.codebook import Codebook
    from lwo.sem_results import (fit_model, fit_multigroup, implied_correlations, save_fit, save_multigroup,
                                 standardized_solution)
    from lwo.specs import rq1_models

    codebook = Codebook.load(ROOT / "config" / "codebook.yaml")
    spec = rq1_models(codebook)[model]
    targets = [*spec.mediators, *spec.outcomes]
    t0 = time.perf_counter()
    if sample == "Black_vs_White":
        result = fit_multigroup(spec, _STUDENTS, codebook)
        run, n_fits = result.free, 1 + len(result.constrained)
    else:
        run, n_fits = fit_model(spec, _STUDENTS, codebook, sample), 1
    t_fit = time.perf_counter() - t0
    if run.ok:
        standardized_solution(run.fit, run.definitions)
        implied_correlations(run.fit, "hqc", targets)
    t_inference = time.perf_counter() - t0 - t_fit
    t_save = 0.0
    if save:
        with tempfile.TemporaryDirectory() as d:
            t1 = time.perf_counter()
            if sample == "Black_vs_White":
                save_multigroup(result, d, correlation_targets=targets)
            else:
                save_fit(run, d, correlation_targets=targets)
            t_save = time.perf_counter() - t1
    return {"model": model, "sample": sample, "status": run.status, "fits": n_fits, "npar": run.fit.fit_indices["npar"]
            if run.fit is not None else None, "fit_s": t_fit, "inference_s": t_inference, "save_s": t_save}


def jobs(save: bool) -> list[tuple[str, str, bool]]:
    from lwo.codebook import Codebook
    from lwo.specs import MULTIGROUP_MODELS, rq1_models

    specs = rq1_models(Codebook.load(ROOT / "config" / "codebook.yaml"))
    structural = [name for name, spec in specs.items() if spec.outcomes]
    out = [(m, s, save) for m in structural for s in ("all", "Black", "White")]
    return out + [(m, "Black_vs_White", save) for m in MULTIGROUP_MODELS]


def run_set(n_students: int, cores: int, save: bool) -> dict:
    work = jobs(save)
    t0 = time.perf_counter()
    with ProcessPoolExecutor(max_workers=cores, initializer=_init, initargs=(n_students,)) as pool:
        # warm-up: each worker builds its cohort before the clock that matters
        list(pool.map(_noop, range(cores)))
        t1 = time.perf_counter()
        rows = list(pool.map(_job, work))
        wall = time.perf_counter() - t1
    return {"n_students": n_students, "cores": cores, "wall_s": wall, "setup_s": t1 - t0, "jobs": rows}


def _noop(_):
    return None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--sizes", type=int, nargs="+", default=[892, 100_000])
    parser.add_argument("--save", action="store_true", help="also time writing the saved files")
    parser.add_argument("--json", help="write the timings here")
    args = parser.parse_args(argv)
    results = []
    for n in args.sizes:
        res = run_set(n, args.cores, args.save)
        results.append(res)
        print(f"\nN = {n:,}: whole RQ1 set {res['wall_s']:.1f} s on {args.cores} cores "
              f"(cohort set-up {res['setup_s']:.1f} s, not counted)")
        print(f"{'model':42s} {'sample':15s} {'fits':>4s} {'npar':>5s} {'fit s':>7s} {'infer s':>8s} {'save s':>7s}")
        for r in res["jobs"]:
            print(f"{r['model']:42s} {r['sample']:15s} {r['fits']:4d} {str(r['npar']):>5s} {r['fit_s']:7.2f} "
                  f"{r['inference_s']:8.2f} {r['save_s']:7.2f}  {r['status'] if r['status'] != 'ok' else ''}")
        total = sum(r["fit_s"] + r["inference_s"] + r["save_s"] for r in res["jobs"])
        print(f"sum of job times {total:.1f} s")
    ok = True
    first = results[0]
    if first["n_students"] == 892:
        verdict = first["wall_s"] < TARGET_DEFAULT_S
        ok &= verdict
        print(f"\ntarget: default cohort < {TARGET_DEFAULT_S:.0f} s: {'met' if verdict else 'MISSED'} "
              f"({first['wall_s']:.1f} s)")
    for res in results[1:]:
        ratio = res["wall_s"] / first["wall_s"]
        verdict = ratio < TARGET_RATIO_100K
        ok &= verdict
        print(f"target: N = {res['n_students']:,} < {TARGET_RATIO_100K:.0f}x the default: "
              f"{'met' if verdict else 'MISSED'} ({ratio:.2f}x)")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
