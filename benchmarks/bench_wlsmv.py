"""WLSMV CFA: lwo.sem.ordinal vs lavaan 0.6.14 on the same data, and what continuous ML
does to the same items.

Timed fits (median of --repeat runs; lavaan timed inside one R session, without R start-up):

* the cohort's environment items (tests/lavaan/ordinal/study_env.csv; 3 factors, 12 items);
* the same, two groups (Black, White) with thresholds and loadings equal;
* Holzinger-Swineford cut into 4 categories (tests/lavaan/ordinal/hs_ordinal.csv);
* N = 50,000 from the latent-response model of tests/test_sem_ordinal.py (ceiling thresholds);
* missing = "pairwise": Holzinger-Swineford with holes (tests/lavaan/ordinal/hs_ordinal_holes.csv)
  and the N = 50,000 data with a fifth of the answers blank at random;
* cluster = (cluster-robust SEs and test): Holzinger-Swineford in runs of ten rows (as
  tests/lavaan/ordinal/reference_cluster.R), and the N = 50,000 data with holes in 500 clusters
  of 100. lavaan's time is that of the lavaan installed (0.6 ignores cluster = with ordered
  items; point R_LIBS at lavaan >= 0.7-2 to time its clustered fits).

Then a diagnostic (not a test): on the N = 50,000 data, standardized loadings from WLSMV and
from continuous normal-theory ML (lwo.sem.fit on the 1-4 codes) against the population values;
ML's are attenuated by the coarse, skewed categories.

--mar: a diagnostic (not a test) of listwise and pairwise deletion under the synthetic cohort's own
nonresponse (MAR: it goes with prior grades and school): the White students of a 50,000-student
cohort, three constructs' one-factor WLSMV fits against the population's standardized loadings
and thresholds (lwo.population.item_parameters). Both are consistent under MCAR only.

Run:  python benchmarks/bench_wlsmv.py [--repeat 5] [--no-r] [--mar]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow"))
sys.path.insert(0, str(ROOT / "tests"))

from lwo import sem  # noqa: E402
from lwo.sem.ordinal import _FIRST_STAGE, fit_ordinal  # noqa: E402
from test_sem_ordinal import (  # noqa: E402
    HS_CFA, POP_LOADINGS, RECOVERY_MODEL, STUDY_MODEL, simulate_latent_response)

REF = ROOT / "tests" / "lavaan" / "ordinal"


def cases(big: pd.DataFrame) -> list[dict]:
    study = pd.read_csv(REF / "study_env.csv")
    hs = pd.read_csv(REF / "hs_ordinal.csv")
    holes = pd.read_csv(REF / "hs_ordinal_holes.csv")
    big_holes = big.astype(float).mask(np.random.default_rng(14).random(big.shape) < 0.2)
    s_items = [c for c in study.columns if c.startswith("env_")]
    h_items = [c for c in hs.columns if c.startswith("x")]
    return [
        dict(name="study CFA (N=869, 12 items)", spec=STUDY_MODEL, data=study, items=s_items),
        dict(name="study 2 groups, thresholds+loadings equal", spec=STUDY_MODEL,
             data=study[study["race"].isin(["Black", "White"])], items=s_items, group="race",
             group_equal=("thresholds", "loadings")),
        dict(name="Holzinger-Swineford 4 categories (N=301)", spec=HS_CFA, data=hs, items=h_items),
        dict(name="latent-response model, N=50,000", spec=RECOVERY_MODEL, data=big,
             items=list(big.columns)),
        dict(name="Holzinger-Swineford with holes, pairwise", spec=HS_CFA, data=holes, items=h_items,
             missing="pairwise"),
        dict(name="N=50,000, a fifth blank, pairwise", spec=RECOVERY_MODEL, data=big_holes,
             items=list(big.columns), missing="pairwise"),
        dict(name="Holzinger-Swineford, 31 clusters", spec=HS_CFA, data=hs.assign(cls=np.arange(len(hs)) // 10),
             items=h_items, cluster="cls"),
        dict(name="N=50,000, a fifth blank, pairwise, 500 clusters", spec=RECOVERY_MODEL,
             data=big_holes.assign(cls=np.arange(len(big)) // 100), items=list(big.columns), missing="pairwise",
             cluster="cls"),
    ]


def time_python(case: dict, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        _FIRST_STAGE.clear()  # time whole fits (a refit of the same data reuses its first stage)
        t = time.perf_counter()
        fit = fit_ordinal(case["spec"], case["data"], ordered=case["items"], group=case.get("group"),
                          group_equal=case.get("group_equal", ()), missing=case.get("missing", "listwise"),
                          cluster=case.get("cluster"))
        times.append(time.perf_counter() - t)
        assert fit.converged
    return float(np.median(times))


def time_lavaan(case: dict, repeat: int, tmp: Path) -> float:
    csv = tmp / "data.csv"
    case["data"].to_csv(csv, index=False)
    group = f', group = "{case["group"]}"' if case.get("group") else ""
    ge = case.get("group_equal", ())
    if ge:
        group += ", group.equal = c(" + ", ".join(f'"{g}"' for g in ge) + ")"
    items = ", ".join(f'"{i}"' for i in case["items"])
    if case.get("missing"):
        group += f', missing = "{case["missing"]}"'
    if case.get("cluster"):
        group += f', cluster = "{case["cluster"]}"'
    script = f"""
suppressMessages(library(lavaan))
d <- read.csv("{csv}")
model <- '{case["spec"]}'
t <- numeric({repeat})
for (k in seq_len({repeat})) t[k] <- system.time(
  cfa(model, data = d, ordered = c({items}), estimator = "WLSMV"{group}))[["elapsed"]]
cat(median(t), "\\n")
"""
    out = subprocess.run(["Rscript", "-e", script], capture_output=True, text=True, check=True)
    return float(out.stdout.split()[-1])


def ml_vs_wlsmv(big: pd.DataFrame) -> None:
    wl = fit_ordinal(RECOVERY_MODEL, big, ordered=list(big.columns)).estimates
    ml = sem.fit(RECOVERY_MODEL, big.astype(float)).estimates
    lw = wl[wl["op"] == "=~"]["std.all"].to_numpy()
    lm = ml[ml["op"] == "=~"]["std.all"].to_numpy()
    print("\nStandardized loadings at N = 50,000 (population | WLSMV | continuous ML):")
    for k, (p, a, b) in enumerate(zip(POP_LOADINGS, lw, lm)):
        print(f"  y{k + 1}: {p:.3f} | {a:.3f} | {b:.3f}")
    print(f"  mean abs error: WLSMV {np.mean(np.abs(lw - POP_LOADINGS)):.4f}, "
          f"ML {np.mean(np.abs(lm - POP_LOADINGS)):.4f} (ML bias {np.mean(lm - POP_LOADINGS):+.4f})")


def mar_diagnostic() -> None:
    import yaml

    from lwo.codebook import Codebook
    from lwo.population import build_population, item_parameters
    from lwo.synthetic import generate_cohort

    codebook = Codebook.load(ROOT / "config" / "codebook.yaml")
    with open(ROOT / "config" / "population_model.yaml", encoding="utf-8") as fh:
        model = yaml.safe_load(fh)
    population = build_population(model, codebook)
    students = generate_cohort(model, codebook, seed=78, n_students=50_000, population=population)["students"]
    white = students[(students["surveyed"] == 1) & (students["race"] == "White")]
    truth = item_parameters(model, codebook, population).set_index(["group", "item"])
    print(f"{'construct':28s} {'N':>6s} {'complete':>8s} {'deletion':>9s} {'max |error|':>11s} {'mean error':>10s}")
    for construct in ("perceived_inclusion", "academic_self_efficacy", "emotional_engagement"):
        items = codebook.item_ids(construct)
        data = white[items].astype(float)
        for missing in ("listwise", "pairwise"):
            e = fit_ordinal("f =~ " + " + ".join(items), data, ordered=items, missing=missing).estimates
            errors = []
            for item in items:
                errors.append(e[(e["op"] == "=~") & (e["rhs"] == item)]["std.all"].iloc[0]
                              - truth.loc[("White", item), "std_loading"])
                for k in (1, 2, 3):
                    errors.append(e[(e["op"] == "|") & (e["lhs"] == item) & (e["rhs"] == f"t{k}")]["est"].iloc[0]
                                  - truth.loc[("White", item), f"std_tau{k}"])
            print(f"{construct:28s} {len(data):6d} {len(data.dropna()):8d} {missing:>9s} "
                  f"{np.max(np.abs(errors)):11.4f} {np.mean(errors):+10.4f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--no-r", action="store_true")
    ap.add_argument("--mar", action="store_true", help="the listwise/pairwise diagnostic under the cohort's MAR")
    args = ap.parse_args()
    if args.mar:
        mar_diagnostic()
        return
    big = simulate_latent_response(50_000, seed=13)
    use_r = not args.no_r and shutil.which("Rscript") is not None
    print(f"{'case':45s} {'lwo (s)':>9s} {'lavaan (s)':>11s} {'ratio':>7s}")
    with tempfile.TemporaryDirectory() as tmp:
        for case in cases(big):
            py = time_python(case, args.repeat)
            r = time_lavaan(case, args.repeat, Path(tmp)) if use_r else float("nan")
            print(f"{case['name']:45s} {py:9.3f} {r:11.3f} {r / py:7.1f}x")
    ml_vs_wlsmv(big)


if __name__ == "__main__":
    main()
