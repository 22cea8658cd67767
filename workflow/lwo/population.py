"""Population model of the synthetic cohort: a linear recursive model for the latent
constructs, with race-group-specific paths, solved so that the *population* quantities
published in the report hold exactly.

The population is a mixture of three race groups (Black, White, Other). Within group g the
latent vector eta obeys  eta = B_g eta + Gamma x + alpha_g + zeta,  zeta ~ N(0, Psi), with x the
student covariates (school, subject, grade level, gender, ELL, special education, prior
grade); the school's distribution differs by group (the sites' racial compositions), the other
covariates are independent of group and of each other. Because everything is linear, the mean
and covariance of (x, eta) within each group, and so of the pooled population, follow
analytically; every target (a standardized effect with the study's controls, a percent
mediated, a correlation) is a function of those moments. The free coefficients are found by
least squares on the targets; the fit is exact (checked).

The survey answers follow a latent-response model (config/population_model.yaml,
`measurement`): :func:`item_parameters` lists each item's loading, intercept and thresholds.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import least_squares
from scipy.special import ndtri  # the normal quantile; scipy.stats costs the cohort job ~0.6 s of imports

from lwo.codebook import Codebook

GROUPS = ("Black", "White", "Other")
SCHOOLS = (1, 2, 3, 4)
GRADE_LEVELS = (9, 10, 11, 12)
COVARIATES = ("school_2", "school_3", "school_4", "ela", "grade_10", "grade_11", "grade_12",
              "female", "ell", "special_education", "prior_grade")
# The study's controls for the RQ1 models (Exhibit 28 too); prior grade only for grade models.
CONTROLS = COVARIATES[:-1]
GRADE_CONTROLS = COVARIATES


def population_group(race: str | None) -> str:
    """Race group of the population model for a self-identified race."""
    return race if race in ("Black", "White") else "Other"


@dataclass
class PopulationModel:
    """Linear model of the latents; build with :func:`build_population`."""

    latents: list[str]
    group_shares: dict[str, float]
    x_mean: dict[str, np.ndarray]          # by group: the school mix differs by race
    x_cov: dict[str, np.ndarray]
    school_probabilities: dict[str, np.ndarray]
    B: dict[str, np.ndarray]
    Gamma: np.ndarray
    alpha: dict[str, np.ndarray]
    Psi: np.ndarray
    free: list[tuple] = field(default_factory=list)      # (row, col, groups) of calibrated paths
    targets: list[dict] = field(default_factory=list)
    calibrated: dict[str, float] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return list(COVARIATES) + self.latents

    def index(self, name: str) -> int:
        return self.names.index(name)

    # -- moments -------------------------------------------------------------------------
    def group_moments(self, g: str) -> tuple[np.ndarray, np.ndarray]:
        k = len(self.latents)
        A = np.linalg.inv(np.eye(k) - self.B[g])
        x_mean, x_cov = self.x_mean[g], self.x_cov[g]
        mu_eta = A @ (self.Gamma @ x_mean + self.alpha[g])
        cov_xe = x_cov @ self.Gamma.T @ A.T
        cov_ee = A @ (self.Gamma @ x_cov @ self.Gamma.T + self.Psi) @ A.T
        mu = np.concatenate([x_mean, mu_eta])
        cov = np.block([[x_cov, cov_xe], [cov_xe.T, cov_ee]])
        return mu, cov

    def moments(self, sample: str = "all") -> tuple[np.ndarray, np.ndarray]:
        """Mean and covariance of (x, eta) in a sample: 'all' or one race group."""
        groups = GROUPS if sample == "all" else (sample,)
        shares = np.array([self.group_shares[g] for g in groups])
        shares = shares / shares.sum()
        parts = [self.group_moments(g) for g in groups]
        mu = sum(p * m for p, (m, _) in zip(shares, parts))
        second = sum(p * (c + np.outer(m, m)) for p, (m, c) in zip(shares, parts))
        return mu, second - np.outer(mu, mu)

    # -- population quantities -----------------------------------------------------------
    def _coef(self, cov, y: str, predictors: list[str]) -> np.ndarray:
        ix = [self.index(p) for p in predictors]
        iy = self.index(y)
        return np.linalg.solve(cov[np.ix_(ix, ix)], cov[ix, iy])

    def controls_for(self, outcome: str) -> list[str]:
        return list(GRADE_CONTROLS if outcome == "current_grade" else CONTROLS)

    def std_effect(self, outcome: str, sample: str = "all", mediators: tuple = ()) -> float:
        """Standardized (lavaan std.all) coefficient of HQC on `outcome` with the study's
        controls, and with `mediators` held constant when given."""
        _, cov = self.moments(sample)
        b = self._coef(cov, outcome, ["hqc", *mediators, *self.controls_for(outcome)])[0]
        i, j = self.index("hqc"), self.index(outcome)
        return float(b * np.sqrt(cov[i, i] / cov[j, j]))

    def percent_mediated(self, outcome: str, mediator: str, sample: str = "all") -> float:
        before = self.std_effect(outcome, sample)
        after = self.std_effect(outcome, sample, (mediator,))
        return 1.0 - after / before

    def correlation(self, a: str, b: str, sample: str = "all") -> float:
        _, cov = self.moments(sample)
        i, j = self.index(a), self.index(b)
        return float(cov[i, j] / np.sqrt(cov[i, i] * cov[j, j]))

    def group_difference(self, latent: str, a: str = "Black", b: str = "White") -> float:
        """Difference of group means at the same covariates (the population's mean covariates;
        Exhibit 28 controls for them), in pooled-SD units. Race goes with school, so the raw
        difference of means also carries the schools' effects."""
        _, cov = self.moments("all")
        x_bar, _ = self.moments("all")
        x_bar = x_bar[:len(COVARIATES)]
        i = self.latents.index(latent)
        mean = {}
        for g in (a, b):
            A = np.linalg.inv(np.eye(len(self.latents)) - self.B[g])
            mean[g] = (A @ (self.Gamma @ x_bar + self.alpha[g]))[i]
        j = self.index(latent)
        return float((mean[a] - mean[b]) / np.sqrt(cov[j, j]))

    def target_value(self, t: dict) -> float:
        if t["quantity"] == "std_effect":
            return self.std_effect(t["outcome"], t["sample"])
        if t["quantity"] == "percent_mediated":
            return self.percent_mediated(t["outcome"], t["mediator"], t["sample"])
        if t["quantity"] == "correlation":
            return self.correlation("hqc", t["outcome"], t["sample"])
        raise ValueError(f"population_model.yaml: unknown target quantity {t['quantity']!r}")


def site_race_counts(design: dict, students) -> dict[str, np.ndarray]:
    """Expected Black, White and Other students per school (SCHOOLS order) among `students`
    per school: Black students take the share of Exhibit 5 overall, spread over the sites in
    proportion to their compositions; a site's other students split as its composition says."""
    n = np.asarray(students, float)
    comp = design["site_race_composition"]
    black_w = np.array([comp[s]["Black"] for s in SCHOOLS])
    white_w = np.array([comp[s]["White"] for s in SCHOOLS])
    black = design["share_black_among_surveyed"] * n.sum() * n * black_w / (n * black_w).sum()
    rest = n - black
    if np.any(rest < 0) or np.any(black_w + white_w > 1):
        raise ValueError("population_model.yaml: design.site_race_composition cannot hold "
                         f"{design['share_black_among_surveyed']:g} Black students overall")
    white = rest * white_w / (1 - black_w)
    return {"Black": black, "White": white, "Other": rest - white}


def _covariate_moments(design: dict, cov: dict, p_school: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance of x in one group: its school mix `p_school`, and independent
    categorical covariates and a standardized prior grade common to all groups."""
    schools = design["schools"]
    math = sum(schools[s]["math_surveys"] for s in SCHOOLS)
    ela = sum(schools[s]["ela_surveys"] for s in SCHOOLS)
    p_grade = np.array([cov["grade_level"][g] for g in GRADE_LEVELS])
    blocks = [
        (p_school[1:], True),
        (np.array([ela / (math + ela)]), False),
        (p_grade[1:], True),
        (np.array([cov["female"]]), False),
        (np.array([cov["ell"]]), False),
        (np.array([cov["special_education"]]), False),
    ]
    means, covs = [], []
    for p, multinomial in blocks:
        means.append(p)
        covs.append(np.diag(p) - np.outer(p, p) if multinomial else np.diag(p * (1 - p)))
    means.append(np.zeros(1))
    covs.append(np.ones((1, 1)))
    size = sum(len(m) for m in means)
    x_cov = np.zeros((size, size))
    at = 0
    for c in covs:
        k = c.shape[0]
        x_cov[at:at + k, at:at + k] = c
        at += k
    return np.concatenate(means), x_cov


def build_population(model: dict, codebook: Codebook, calibrate: bool = True) -> PopulationModel:
    """The population model of `config/population_model.yaml`, calibrated to its targets."""
    st = model["structural"]
    fixed = st["fixed_paths"]
    subscales = codebook.constructs_in_block("hqc")
    environment = codebook.constructs_in_block("classroom_environment")
    mindsets = codebook.constructs_in_block("mindset")
    set_aside = codebook.constructs_in_block("set_aside")
    latents = ["hqc", *subscales, *environment, *mindsets, "current_grade", "absences", *set_aside]
    k = len(latents)
    li = {name: i for i, name in enumerate(latents)}
    xi = {name: i for i, name in enumerate(COVARIATES)}

    design = model["design"]
    counts = site_race_counts(design, [design["schools"][s]["students"] for s in SCHOOLS])
    total = sum(c.sum() for c in counts.values())
    shares = {g: float(counts[g].sum() / total) for g in GROUPS}
    p_school = {g: counts[g] / counts[g].sum() for g in GROUPS}
    x_mean, x_cov = {}, {}
    for g in GROUPS:
        x_mean[g], x_cov[g] = _covariate_moments(design, model["covariates"], p_school[g])

    B0 = np.zeros((k, k))
    Gamma = np.zeros((k, len(COVARIATES)))
    Psi = np.zeros((k, k))
    for s in subscales:
        lam = st["subscale_loadings"][codebook.student_constructs[s]["domain"]]
        B0[li[s], li["hqc"]] = lam
        Psi[li[s], li[s]] = 1 - lam ** 2
    Psi[li["hqc"], li["hqc"]] = 1.0
    for block, r in ((environment, st["environment_residual_correlation"]),
                     (mindsets, st["mindset_residual_correlation"])):
        for a in block:
            for b in block:
                Psi[li[a], li[b]] = 1.0 if a == b else r
    Psi[li["current_grade"], li["current_grade"]] = 0.35
    Psi[li["absences"], li["absences"]] = 1 - fixed["prior_to_absences"] ** 2

    for school, effect in st["hqc"]["school_effects"].items():
        Gamma[li["hqc"], xi[f"school_{school}"]] = effect
    Gamma[li["hqc"], xi["ela"]] = st["hqc"]["ela_minus_math"]
    for s, effect in st["subscale_ela_minus_math"].items():
        Gamma[li[s], xi["ela"]] = effect
    for m in mindsets:
        Gamma[li[m], xi["prior_grade"]] = fixed["prior_to_mindsets"]
    Gamma[li["current_grade"], xi["prior_grade"]] = fixed["prior_to_current_grade"]
    Gamma[li["absences"], xi["prior_grade"]] = fixed["prior_to_absences"]

    B = {g: B0.copy() for g in GROUPS}
    alpha = {g: np.zeros(k) for g in GROUPS}
    for name, diff in st["black_minus_white"].items():
        alpha["Black"][li[name]] = diff
    # set-aside constructs: leaves of the model, so no target depends on them
    for name in set_aside:
        spec = st["set_aside_constructs"][name]
        for g in GROUPS:
            B[g][li[name], li[spec["from"]]] = spec["path"]
        Psi[li[name], li[name]] = 1 - spec["path"] ** 2
        alpha["Black"][li[name]] = spec["black_minus_white"]
    for g in GROUPS:
        Bg = B[g]
        for m in mindsets:
            for p in ("teacher_support", "learning_needs_met"):
                Bg[li[m], li[p]] = fixed["personalization_to_mindsets"]
        for m in ("task_valuing", "mastery_orientation", "academic_self_efficacy"):
            Bg[li[m], li["teacher_expectations"]] = fixed["teacher_expectations_to_intrinsic_and_academic"][g]
        Bg[li["social_self_efficacy"], li["social_comparison"]] = fixed["social_comparison_to_social_self_efficacy"][g]
        Bg[li["current_grade"], li["hqc"]] = fixed["hqc_to_grade_direct"]
        Bg[li["absences"], li["hqc"]] = fixed["hqc_to_absences"]

    # Calibrated paths: (row, col, groups sharing the coefficient, start value).
    free = [(li[e], li["hqc"], GROUPS, 0.5) for e in environment]
    free += [(li[m], li["hqc"], GROUPS, 0.3) for m in mindsets if m != "social_self_efficacy"]
    free += [(li["social_self_efficacy"], li["hqc"], (g,), 0.3) for g in GROUPS]
    free += [(li["social_self_efficacy"], li["peer_learning"], GROUPS, 0.4)]
    weights = fixed["grade_weights_of_mindsets"]
    free += [("grade", g, (g,), 0.3) for g in GROUPS]

    pop = PopulationModel(latents, shares, x_mean, x_cov, p_school, B, Gamma, alpha, Psi, free,
                          list(st["targets"]))

    def set_params(theta):
        for value, (row, col, groups, _) in zip(theta, free):
            if row == "grade":
                for m, w in weights.items():
                    pop.B[col][li["current_grade"], li[m]] = value * w
            else:
                for g in groups:
                    pop.B[g][row, col] = value

    def residuals(theta):
        set_params(theta)
        return [pop.target_value(t) - t["value"] for t in pop.targets]

    theta0 = np.array([f[3] for f in free])
    if not calibrate:
        set_params(theta0)
        return pop
    if len(free) != len(pop.targets):
        raise ValueError(f"population_model.yaml: {len(pop.targets)} targets for {len(free)} "
                         "calibrated paths; the calibration needs as many of each")
    sol = least_squares(residuals, theta0, xtol=1e-14, ftol=1e-14, gtol=1e-14)
    set_params(sol.x)
    worst = float(np.max(np.abs(residuals(sol.x))))
    if worst > 1e-8:
        raise RuntimeError(f"population_model.yaml: the targets cannot all hold (largest miss {worst:.2e});"
                           " revise the targets or the fixed paths")
    for value, (row, col, groups, _) in zip(sol.x, free):
        if row == "grade":
            pop.calibrated[f"mindsets->current_grade scale [{col}]"] = float(value)
        else:
            key = f"{latents[row]} ~ {latents[col]}" + ("" if len(groups) == 3 else f" [{groups[0]}]")
            pop.calibrated[key] = float(value)
    return pop


# --------------------------------------------------------------------------- survey items
def answer_thresholds(shares) -> np.ndarray:
    """Thresholds on a standard-normal latent response giving the answer shares P(1..K)."""
    shares = np.asarray(shares, float)
    if shares.ndim != 1 or len(shares) < 2 or np.any(shares <= 0) or abs(shares.sum() - 1) > 1e-9:
        raise ValueError(f"population_model.yaml: answer shares {list(shares)} must be positive and sum to 1")
    return ndtri(np.cumsum(shares)[:-1])


def item_parameters(model: dict, codebook: Codebook, population: PopulationModel) -> pd.DataFrame:
    """The latent-response model of every survey item, per race group (one row per group and
    item), on the answers as stored (a reverse-worded item has a negative loading).

    Raw columns (the generating model, common scale): y* = loading * eta + intercept + e with
    eta the construct standardized in the whole population, Var(e) = residual_variance, answer k
    when tau_{k-1} < y* <= tau_k (tau1..). `factor_mean`, `factor_sd`: eta's mean and SD in the
    group. Standardized columns (what an ordinal CFA of the group alone estimates with the factor
    standardized, delta parameterization): std_loading = loading * factor_sd / sd(y*),
    std_tau_k = (tau_k - intercept - loading * factor_mean) / sd(y*), sd(y*) in the group."""
    meas = model["measurement"]
    default = answer_thresholds(meas["answer_shares"])
    skewed = meas.get("skewed_answer_shares", {})
    shifts = meas.get("construct_shift", {})
    dif = meas.get("non_invariant_items", {})
    unknown = sorted(set(skewed) - set(codebook.student_constructs))
    if unknown:
        raise ValueError(f"population_model.yaml: measurement.skewed_answer_shares names {unknown}, "
                         "which are not constructs of the codebook")
    mu_all, cov_all = population.moments("all")
    rows = []
    for g in GROUPS:
        mu_g, cov_g = population.moments(g)
        for construct in codebook.student_constructs:
            i = population.index(construct)
            sd = np.sqrt(cov_all[i, i])
            m, s = (mu_g[i] - mu_all[i]) / sd, np.sqrt(cov_g[i, i]) / sd
            tau = answer_thresholds(skewed[construct]) if construct in skewed else default
            for item in codebook.items(construct):
                # answer shares run in the construct's direction: a reverse-worded item's mirror
                cuts = -tau[::-1] if item.reverse else tau
                lam = meas["reverse_item_loading"] if item.reverse else meas["item_loading"]
                nu = shifts.get(construct, 0.0)
                if item.id in dif:
                    d = dif[item.id]
                    lam = d["loading"] if g == d["group"] else d.get("other_groups_loading", lam)
                    nu += d["intercept_shift"] if g == d["group"] else 0.0
                theta = 1 - lam ** 2
                signed = -lam if item.reverse else lam
                sd_y = np.sqrt(signed ** 2 * s ** 2 + theta)
                row = {"group": g, "construct": construct, "item": item.id, "reverse": item.reverse,
                       "loading": signed, "intercept": nu, "residual_variance": theta,
                       "factor_mean": m, "factor_sd": s, "std_loading": signed * s / sd_y}
                row.update({f"tau{k + 1}": t for k, t in enumerate(cuts)})
                row.update({f"std_tau{k + 1}": (t - nu - signed * m) / sd_y for k, t in enumerate(cuts)})
                rows.append(row)
    return pd.DataFrame(rows)
