"""Timing of full-information ML with robust (MLR) inference against complete-data ML.

1. The RQ1 structural models (the pipeline's RQ1 model set) on the default synthetic
   cohort, each on the rows it has complete (329-843 of the 861 surveyed students: the
   cohort has item nonresponse of its own): complete-data ML (lavaan's defaults, as `sem.fit(spec,
   data)`) vs FIML + MLR + classroom clusters on the same rows with 5% of the item answers
   blanked (deterministically). Target: FIML + MLR <= 2x ML over the set, judged on CPU
   time (the machine may be shared: wall time then overstates). For reference also ML
   with classroom-clustered SEs on the complete data (the build's estimation before FIML).
   Each fit is timed as the best of --repeat runs (wall and CPU separately).
   Every fit is a fresh one: nothing is carried from one fit (or timed run) to the next.
2. The personalization mediation model (246 free parameters) on every surveyed student
   with an answer (869, the cohort's own holes; the build's fit, lavaan missing = "ml.x"):
   FIML + MLR + classroom clusters in <= 3 s (lavaan 0.6.14 took 344 s to fit it).
   1 and 2 are the default run.

--lavaan (where R with lavaan is present): lavaan on the same specs and data as 1, each fit
   given its saved spec (`spec_full`) and the lavaan call in its header (MLR, missing = "ml",
   cluster = "classroom_id"): CPU seconds of `lavaan::sem()` (estimates, SEs, scaled test)
   and of `fitMeasures()` (the robust CFI/TLI/RMSEA), timed inside one R process per model
   (without R's start-up), and the two scaled chi-squares side by side (the same fit). It
   takes minutes per large model (--lavaan-timeout bounds each).

--phases: where the time of 1 goes, per phase of the fits (CPU s over the set, one pass, best of
   --repeat passes): the optimisation, the estimates table and, for FIML + MLR, the unrestricted
   (h1) model's EM, information and factor, and scores, the observed information, the meat, the
   baseline's scaling factor and the FIML-corrected robust indices; the rest is parsing, data
   preparation and the fit indices.

--multigroup: the build's pattern of the Black-White models (sem_fit_multigroup,
   Exhibits 29-31): per model the free two-group model and its refits with sets of paths
   equal across the groups, on the same rows; complete-data ML against FIML + MLR +
   classroom clusters, the refits reusing the free model's unrestricted (h1) model and
   starting at its estimates and leaving out the robust CFI/TLI/RMSEA nobody reads from them
   (`sem.fit(..., h1=free, start=free, robust_indices=False)`, as the build does; the
   ML refits start there too) and, for reference, FIML refits without any of these.

3. --recovery: the N = 100,000 MAR data of tests/test_sem_fiml_recovery.py analysed by
   FIML and listwise: standardized paths against their population values (the listwise
   bias is a diagnostic, not a test).
4. --crossed: coverage of the 95% CI of a Black-White contrast with 30 shared
   classrooms (tests/test_sem_crossed_clusters.py), crossed clusters vs lavaan's
   clusters-within-groups.
   --wald-size: the size of the Black-White equality tests under equal paths with 30 shared
   classrooms and classroom random slopes (1, 4 and 12 paths): the cluster-robust Wald test
   referred to a chi-square and as the adjusted Wald F, and the scaled likelihood-ratio difference.
5. --scaling [N ...]: larger exports with more holes. The personalization mediation model on
   the worked example's export (a fifth of the item answers blank on top of the cohort's own
   holes: nearly every student a missing-data pattern of its own) of synthetic cohorts of N
   students, FIML + MLR + classroom clusters as the build fits it, each size in a fresh
   process: CPU seconds of the fit and the process's peak memory.

One BLAS thread, as the engine runs. Run:
  python benchmarks/bench_fiml.py [--models NAME ...] [--repeat 3] [--phases] [--multigroup] [--lavaan]
                                  [--recovery] [--crossed] [--wald-size] [--scaling [N ...]]
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow"))

TARGET_RATIO = 2.0
TARGET_BIG_S = 3.0
BIG_MODEL = "hqc_mindsets_via_personalization"
HOLE_RATE = 0.05
SCALING_SIZES = (892, 2000, 5000)


def cohort():
    import yaml

    from lwo.codebook import Codebook
    from lwo.synthetic import generate_cohort

    codebook = Codebook.load(ROOT / "config" / "codebook.yaml")
    with open(ROOT / "config" / "population_model.yaml", encoding="utf-8") as fh:
        model = yaml.safe_load(fh)
    return codebook, generate_cohort(model, codebook, seed=20180901)["students"]


def with_holes(data, codebook, rate=HOLE_RATE, seed=5):
    """The same rows with `rate` of the item answers blank (fixed seed: deterministic)."""
    items = [c for c in data.columns if c in {i.id for i in codebook.all_items()}]
    out = data.copy()
    rng = np.random.default_rng(seed)
    for c in items:
        out.loc[rng.random(len(out)) < rate, c] = np.nan
    return out, items


CPU = {}  # CPU seconds of the last timed call (the machine may be shared: wall time then overstates)


def timed(func, repeat=1):
    """Best wall time of `repeat` calls (returned) and best CPU time (in CPU["last"])."""
    best, best_cpu = np.inf, np.inf
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        result = func()
        best = min(best, time.perf_counter() - t0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    CPU["last"] = best_cpu
    return result, best


LAVAAN_SCRIPT = """
suppressMessages(library(lavaan))
data <- read.csv("{csv}")
model <- paste(readLines("{spec}"), collapse = "\\n")
t0 <- proc.time()
fit <- {call}
t1 <- proc.time()
fm <- fitMeasures(fit, c("chisq.scaled", "cfi.robust", "rmsea.robust"))
t2 <- proc.time()
cpu <- function(a, b) sum((b - a)[c("user.self", "sys.self")])
cat(cpu(t0, t1), cpu(t1, t2), fm, "\\n")
"""


def lavaan_available() -> bool:
    if shutil.which("Rscript") is None:
        return False
    return subprocess.run(["Rscript", "-e", "library(lavaan)"], capture_output=True).returncode == 0


def time_lavaan(fit, data, timeout: float) -> dict:
    """lavaan on fit's saved spec and data with the call in the spec's header: CPU seconds of
    the fit and of its fit measures, and its scaled chi-square and robust CFI/RMSEA."""
    call = re.search(r"fit with (lavaan::\w+\(.*\))$", fit.spec_full.splitlines()[0]).group(1)
    with tempfile.TemporaryDirectory() as tmp:
        csv, spec = Path(tmp) / "data.csv", Path(tmp) / "model.lav"
        data.to_csv(csv, index=False)  # a blank field is NA to read.csv
        spec.write_text(fit.spec_full, encoding="utf-8")
        script = LAVAAN_SCRIPT.format(csv=csv, spec=spec, call=call)
        env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")  # one BLAS thread, as the engine
        try:
            out = subprocess.run(["Rscript", "-e", script], capture_output=True, text=True, timeout=timeout, env=env)
        except subprocess.TimeoutExpired:
            return {"error": f"over {timeout:.0f} s"}
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr.strip() else "failed"}
    fit_s, measures_s, chisq, cfi, rmsea = map(float, out.stdout.split()[-5:])
    return {"fit": fit_s, "measures": measures_s, "chisq.scaled": chisq, "cfi.robust": cfi, "rmsea.robust": rmsea}


def lavaan_comparison(fits: list, timeout: float) -> None:
    """Per model of the set: lwo's FIML + MLR + clusters fit against lavaan's on the same spec."""
    print(f"\n{'lavaan on the same specs':42s} {'lwo CPU':>8s} {'lavaan fit':>10s} {'+measures':>9s} {'ratio':>7s} "
          f"{'chisq.scaled lwo':>16s} {'lavaan':>10s}")
    total = {"lwo": 0.0, "lavaan": 0.0}
    for name, fit, data, cpu in fits:
        got = time_lavaan(fit, data, timeout)
        if "error" in got:
            print(f"{name:42s} {cpu:8.2f} lavaan: {got['error']}")
            continue
        lav = got["fit"] + got["measures"]
        total["lwo"] += cpu
        total["lavaan"] += lav
        print(f"{name:42s} {cpu:8.2f} {got['fit']:10.1f} {got['measures']:9.1f} {lav / cpu:7.0f} "
              f"{fit.fit_indices['chisq.scaled']:16.3f} {got['chisq.scaled']:10.3f}")
    if total["lwo"] > 0:
        print(f"set (models lavaan finished), CPU: lwo {total['lwo']:.2f} s, lavaan {total['lavaan']:.1f} s "
              f"(fit and fit measures): {total['lavaan'] / total['lwo']:.0f}x")


def recovery() -> None:
    sys.path.insert(0, str(ROOT / "tests"))
    from test_sem_fiml_recovery import SPEC, population_std, simulate, structural_std

    from lwo import sem

    data = simulate(100_000, seed=3)
    truth = population_std()
    fiml, t_fiml = timed(lambda: sem.fit(SPEC, data, missing="ml"))
    listwise, t_lw = timed(lambda: sem.fit(SPEC, data, missing="listwise"))
    got_f, got_l = structural_std(fiml), structural_std(listwise)
    blank = data.drop(columns=["x1", "x2"]).isna().to_numpy().mean()
    print(f"N = {len(data):,}, {blank:.1%} of answers blank (MAR on x1)")
    print(f"FIML: {fiml.n_used['total']:,} rows, {t_fiml:.1f} s; "
          f"listwise: {listwise.n_used['total']:,} rows, {t_lw:.1f} s")
    print(f"{'path':12s} {'population':>10s} {'FIML':>8s} {'error':>8s} {'listwise':>9s} {'error':>8s}")
    for (lhs, rhs), value in truth.items():
        f, lw = got_f[lhs, rhs], got_l[lhs, rhs]
        print(f"{lhs + ' ~ ' + rhs:12s} {value:10.4f} {f:8.4f} {f - value:+8.4f} {lw:9.4f} {lw - value:+8.4f}")


def crossed() -> None:
    sys.path.insert(0, str(ROOT / "tests"))
    from test_sem_crossed_clusters import REPLICATES, coverage

    for flag, name in ((True, "crossed (default)"), (False, "within groups (lavaan)")):
        (rate, width), seconds = timed(lambda: coverage(REPLICATES, seed=20180901, crossed=flag))
        mcse = (rate * (1 - rate) / REPLICATES) ** 0.5
        print(f"clusters {name:24s}: coverage {rate:.3f} (MC SE {mcse:.4f}), mean CI width {width:.3f}, "
              f"{REPLICATES} replicates in {seconds:.0f} s")


def wald_size(replicates: int = 400) -> None:
    sys.path.insert(0, str(ROOT / "tests"))
    from test_sem_crossed_clusters import N_CLASSROOMS, N_STUDENTS, equality_test_sizes

    print(f"tests of equal Black-White paths under the null, {N_CLASSROOMS} shared classrooms, {N_STUDENTS} students, "
          f"{replicates} replicates (MC SE of a 5% rate: {(0.05 * 0.95 / replicates) ** 0.5:.3f}); rejections at 5%:")
    for n_paths in (1, 4, 12):
        sizes, seconds = timed(lambda: equality_test_sizes(n_paths, replicates, seed=20181002))
        print(f"  {n_paths:2d} paths: " + ", ".join(f"{name} {rate:.3f}" for name, rate in sizes.items())
              + f" ({seconds:.0f} s)")


def scaling(sizes) -> None:
    print(f"{BIG_MODEL}, the worked example's export (a fifth of the answers blank), FIML + MLR + clusters:")
    print(f"{'cohort':>7s} {'surveyed':>9s} {'patterns':>9s} {'CPU s':>7s} {'peak memory (MB)':>17s}")
    for n in sizes:  # a fresh process per size: its peak memory is the fit's and the cohort's
        subprocess.run([sys.executable, __file__, "--scaling-one", str(n)], check=True)


def scaling_one(n: int) -> None:
    import resource

    import yaml

    from lwo import sem
    from lwo.codebook import Codebook
    from lwo.example import worked_example
    from lwo.model_data import model_ready
    from lwo.sem_results import frame_with_clusters
    from lwo.specs import rq1_models
    from lwo.synthetic import generate_cohort

    codebook = Codebook.load(ROOT / "config" / "codebook.yaml")
    with open(ROOT / "config" / "population_model.yaml", encoding="utf-8") as fh:
        model = yaml.safe_load(fh)
    seed = 20180901  # config.yaml's synthetic.seed, which the worked example's rule also uses
    students = worked_example(generate_cohort(model, codebook, seed=seed, n_students=n), codebook, seed=seed)
    md = model_ready(students, codebook, rq1_models(codebook)[BIG_MODEL], "all", missing="fiml")
    data = frame_with_clusters(md)
    start = time.process_time()
    fit = sem.fit(rq1_models(codebook)[BIG_MODEL].syntax, data, missing="ml.x", estimator="MLR",
                  cluster=md.cluster_name)
    cpu = time.process_time() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{n:7d} {fit.n_used['total']:9d} {len(fit._model.data[0].patterns):9d} {cpu:7.2f} {peak:17.0f}", flush=True)


PHASES = (  # (module, attribute, phase): the engine functions each phase of a fit runs in
    ("api", "_optimise", "optimisation"), ("api", "_estimates_table", "estimates table"),
    ("fiml", "em_h1", "h1: EM"), ("FIMLModel", "h1_factor", "h1: information and its factor"),
    ("FIMLModel", "h1_scores", "h1: scores"), ("FIMLModel", "observed_information", "observed information"),
    ("robust", "_meat", "meat (casewise scores)"), ("robust", "_scaling_factor", "baseline's scaling factor"),
    ("robust", "fiml_corrected", "FIML-corrected robust indices"),
)


def phases(fits: dict, repeat: int) -> None:
    """CPU seconds per phase (PHASES) of one pass over the set, ML and FIML + MLR: each engine
    function is wrapped in a timer for the run (a phase inside another counts in the outer)."""
    from lwo.sem import api, fiml, robust

    owners = {"api": api, "fiml": fiml, "robust": robust, "FIMLModel": fiml.FIMLModel}
    spent: dict[str, float] = {}
    inside = [False]

    def timer(func, phase):
        def timed_func(*args, **kwargs):
            if inside[0]:
                return func(*args, **kwargs)
            inside[0], start = True, time.process_time()
            try:
                return func(*args, **kwargs)
            finally:
                spent[phase] = spent.get(phase, 0.0) + time.process_time() - start
                inside[0] = False
        return timed_func

    originals = [(owners[o], a, getattr(owners[o], a)) for o, a, _ in PHASES]
    for (owner, attr, func), (_, _, phase) in zip(originals, PHASES):
        setattr(owner, attr, timer(func, phase))
    try:
        print(f"\n{'phase (CPU s over the set, one pass)':42s} {'ML':>7s} {'FIML + MLR':>10s}")
        best = {}
        for kind, run in fits.items():
            for _ in range(repeat):
                spent.clear()
                start = time.process_time()
                for func in run:
                    func()
                total = time.process_time() - start
                if kind not in best or total < best[kind][0]:
                    best[kind] = (total, dict(spent))
        for _, _, phase in PHASES:
            print(f"{phase:42s} {best['ml'][1].get(phase, 0.0):7.3f} {best['fiml'][1].get(phase, 0.0):10.3f}")
        rest = {k: total - sum(parts.values()) for k, (total, parts) in best.items()}
        print(f"{'rest (parsing, data, fit indices)':42s} {rest['ml']:7.3f} {rest['fiml']:10.3f}")
        print(f"{'all':42s} {best['ml'][0]:7.3f} {best['fiml'][0]:10.3f}")
    finally:
        for owner, attr, func in originals:
            setattr(owner, attr, func)


def multigroup(students, codebook, repeat: int) -> None:
    """Free two-group model plus its equality refits, as sem_fit_multigroup fits them."""
    from lwo import sem
    from lwo.model_data import model_ready, model_syntax
    from lwo.sem_results import GROUP_COLUMN, split_definitions
    from lwo.specs import (GROUPS_COMPARED, MULTIGROUP_EQUAL, MULTIGROUP_MODELS, MULTIGROUP_PARTIAL,
                           equality_tests, multigroup_syntax, rq1_models)

    specs = rq1_models(codebook)
    opts = dict(group=GROUP_COLUMN, group_order=list(GROUPS_COMPARED), group_equal=MULTIGROUP_EQUAL,
                group_partial=MULTIGROUP_PARTIAL)
    robust = dict(missing="ml", estimator="MLR", cluster="classroom_id")
    print(f"\n{'multi-group model':42s} {'fits':>4s} {'N':>5s} {'CPU ML':>7s} {'CPU FIML':>8s} {'ratio':>6s} "
          f"{'no reuse':>8s} {'ratio':>6s}")
    total = dict.fromkeys(("ml", "fiml", "fresh"), 0.0)
    for name in MULTIGROUP_MODELS:
        spec = specs[name]
        md = model_ready(students, codebook, spec, "+".join(GROUPS_COMPARED), constant_within=GROUP_COLUMN)
        data = md.data.copy()
        data["classroom_id"] = md.clusters.to_numpy()
        holes, _ = with_holes(data, codebook)
        base = model_syntax(spec.syntax, md)
        syntaxes = [split_definitions(multigroup_syntax(base, GROUPS_COMPARED))[0]]
        syntaxes += [split_definitions(multigroup_syntax(base, GROUPS_COMPARED, shared=labels))[0]
                     for labels in equality_tests(spec).values()]

        def ml():  # refits started at the free model's estimates, as in the build
            free = sem.fit(syntaxes[0], data, **opts)
            return [free] + [sem.fit(text, data, **opts, start=free) for text in syntaxes[1:]]

        def fiml(reuse=True):
            free = sem.fit(syntaxes[0], holes, **opts, **robust)
            # as the build: the refits enter only the scaled difference tests (no robust CFI/TLI/RMSEA)
            return [free] + [sem.fit(text, holes, **opts, **robust, h1=free if reuse else None,
                                     start=free if reuse else None, robust_indices=not reuse)
                             for text in syntaxes[1:]]

        timed(ml, repeat)
        c_ml = CPU["last"]
        fits, _ = timed(fiml, repeat)
        c_fiml = CPU["last"]
        timed(lambda: fiml(reuse=False), repeat)
        c_fresh = CPU["last"]
        for key, value in (("ml", c_ml), ("fiml", c_fiml), ("fresh", c_fresh)):
            total[key] += value
        print(f"{name:42s} {len(syntaxes):4d} {fits[0].n_used['total']:5d} {c_ml:7.2f} {c_fiml:8.2f} "
              f"{c_fiml / c_ml:6.2f} {c_fresh:8.2f} {c_fresh / c_ml:6.2f}")
    print(f"multi-group set, CPU: ML {total['ml']:.2f} s, FIML + MLR + clusters {total['fiml']:.2f} s with the "
          f"h1 reused by the refits (ratio {total['fiml'] / total['ml']:.2f}), {total['fresh']:.2f} s without "
          f"(ratio {total['fresh'] / total['ml']:.2f})")


def main(argv=None) -> int:
    from lwo import sem
    from lwo.model_data import model_ready
    from lwo.sem_results import frame_with_clusters
    from lwo.specs import rq1_models

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*", help="RQ1 model names (default: every structural model)")
    parser.add_argument("--recovery", action="store_true", help="FIML vs listwise at N = 100,000 (MAR)")
    parser.add_argument("--crossed", action="store_true", help="crossed-cluster coverage Monte Carlo")
    parser.add_argument("--wald-size", action="store_true",
                        help="size of the equality tests (Wald chi-square, adjusted Wald F, scaled LR), 30 classrooms")
    parser.add_argument("--scaling", nargs="*", type=int, metavar="N",
                        help=f"the personalization model on the worked example's export of N-student cohorts "
                             f"(default {' '.join(map(str, SCALING_SIZES))})")
    parser.add_argument("--scaling-one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per fit (best is reported)")
    parser.add_argument("--phases", action="store_true", help="also the CPU time of the set per phase of the fits")
    parser.add_argument("--multigroup", action="store_true",
                        help="also the Black-White models with their equality refits (the build's pattern)")
    parser.add_argument("--lavaan", action="store_true",
                        help="also lavaan on the same specs and data (needs R with lavaan; minutes per large model)")
    parser.add_argument("--lavaan-timeout", type=float, default=1800, help="seconds allowed to each lavaan fit")
    args = parser.parse_args(argv)
    if args.scaling_one:
        scaling_one(args.scaling_one)
        return 0
    if args.scaling is not None:
        scaling(args.scaling or SCALING_SIZES)
        return 0
    if args.recovery:
        recovery()
    if args.crossed:
        crossed()
    if args.wald_size:
        wald_size()
    if args.recovery or args.crossed or args.wald_size:
        return 0
    codebook, students = cohort()
    specs = rq1_models(codebook)
    names = args.models or [n for n, s in specs.items() if s.outcomes]
    print(f"{'model':42s} {'npar':>5s} {'N':>5s} {'pat':>5s} {'ML s':>6s} {'FIML s':>7s} {'ratio':>6s} "
          f"{'CPU ML':>7s} {'CPU ML+cl':>9s} {'CPU FIML':>8s} {'ratio':>6s}")
    total = dict.fromkeys(("ml", "fiml", "cpu_ml", "cpu_mlcl", "cpu_fiml"), 0.0)
    big = None
    fits = []  # (name, FIML fit, its data, CPU s) for --lavaan
    passes = {"ml": [], "fiml": []}  # the fits of the set, for --phases
    for name in names:
        md = model_ready(students, codebook, specs[name], "all")
        data = md.data.copy()
        data["classroom_id"] = md.clusters.to_numpy()
        holes, _ = with_holes(data, codebook)
        syntax = specs[name].syntax

        def fit_ml(syntax=syntax, data=data):
            return sem.fit(syntax, data)

        def fit_fiml(syntax=syntax, holes=holes):
            return sem.fit(syntax, holes, missing="ml", estimator="MLR", cluster="classroom_id")

        ml, t_ml = timed(fit_ml, args.repeat)
        c_ml = CPU["last"]
        timed(lambda: sem.fit(syntax, data, cluster="classroom_id"), args.repeat)
        c_mlcl = CPU["last"]
        fiml, t_fiml = timed(fit_fiml, args.repeat)
        c_fiml = CPU["last"]
        for key, value in (("ml", t_ml), ("fiml", t_fiml), ("cpu_ml", c_ml), ("cpu_mlcl", c_mlcl), ("cpu_fiml", c_fiml)):
            total[key] += value
        npat = len(fiml._model.data[0].patterns) if fiml._model is not None else 0
        flag = "" if (ml.converged and fiml.converged) else f"  not converged: {ml.message} / {fiml.message}"
        print(f"{name:42s} {ml.fit_indices['npar']:5d} {fiml.n_used['total']:5d} {npat:5d} {t_ml:6.2f} "
              f"{t_fiml:7.2f} {t_fiml / t_ml:6.2f} {c_ml:7.2f} {c_mlcl:9.2f} {c_fiml:8.2f} {c_fiml / c_ml:6.2f}{flag}")
        fits.append((name, fiml, holes, c_fiml))
        passes["ml"].append(fit_ml)
        passes["fiml"].append(fit_fiml)
        if name == BIG_MODEL:
            big = (fiml, t_fiml, c_fiml)
    ratio = total["cpu_fiml"] / total["cpu_ml"]
    ok = ratio <= TARGET_RATIO
    print(f"\nset, CPU: ML {total['cpu_ml']:.2f} s (with classroom-clustered SEs {total['cpu_mlcl']:.2f} s), "
          f"FIML + MLR + clusters {total['cpu_fiml']:.2f} s: ratio {ratio:.2f} "
          f"(target <= {TARGET_RATIO:.0f}x: {'met' if ok else 'MISSED'})")
    print(f"set, wall: ML {total['ml']:.2f} s, FIML + MLR + clusters {total['fiml']:.2f} s: "
          f"ratio {total['fiml'] / total['ml']:.2f}")
    if big is not None:
        fit, seconds, cpu = big
        print(f"{BIG_MODEL} (in the set): {fit.fit_indices['npar']} parameters, {fit.n_used['total']} students, "
              f"{seconds:.2f} s, CPU {cpu:.2f} s; chisq.scaled {fit.fit_indices['chisq.scaled']:.1f}, "
              f"df {fit.fit_indices['df']}")
    if args.models is None or BIG_MODEL in args.models:
        # the target's data: every surveyed student with an answer, the cohort's own holes (the build's fit)
        md = model_ready(students, codebook, specs[BIG_MODEL], "all", missing="fiml")
        data = frame_with_clusters(md)
        fit, seconds = timed(lambda: sem.fit(specs[BIG_MODEL].syntax, data, missing="ml.x", estimator="MLR",
                                             cluster=md.cluster_name), args.repeat)
        verdict = seconds <= TARGET_BIG_S
        ok &= verdict
        print(f"{BIG_MODEL} on every surveyed student with an answer: {fit.fit_indices['npar']} parameters, "
              f"{fit.n_used['total']} students, {len(fit._model.data[0].patterns)} patterns, {seconds:.2f} s, "
              f"CPU {CPU['last']:.2f} s (target <= {TARGET_BIG_S:.0f} s: {'met' if verdict else 'MISSED'})")
    if args.phases:
        phases(passes, args.repeat)
    if args.multigroup:
        multigroup(students, codebook, args.repeat)
    if args.lavaan and lavaan_available():
        lavaan_comparison(fits, args.lavaan_timeout)
    elif args.lavaan:
        print("\n--lavaan: R with lavaan is not installed here (Debian: r-cran-lavaan)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
