"""Population model of the synthetic cohort: a linear recursive model for the latent
constructs, with race-group-specific paths, solved so that the *population* quantities
published in the report hold exactly.

The population is a mixture of three race groups (Black, White, Other). Within group g the
latent vector eta obeys  eta = B_g eta + Gamma x + alpha_g + zeta,  zeta ~ N(0, Psi), with x the
student covariates (school, subject, grade level, gender, ELL, special education, prior
grade). Because everything is linear, the mean and covariance of (x, eta) within each group,
and so of the pooled population, follow analytically; every target (a standardized effect
with the study's controls, a percent mediated, a correlation) is a function of those moments.
The free coefficients are found by least squares on the targets; the fit is exact (checked).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import least_squares

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
    x_mean: np.ndarray
    x_cov: np.ndarray
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
        mu_eta = A @ (self.Gamma @ self.x_mean + self.alpha[g])
        cov_xe = self.x_cov @ self.Gamma.T @ A.T
        cov_ee = A @ (self.Gamma @ self.x_cov @ self.Gamma.T + self.Psi) @ A.T
        mu = np.concatenate([self.x_mean, mu_eta])
        cov = np.block([[self.x_cov, cov_xe], [cov_xe.T, cov_ee]])
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
        """Difference of group means in pooled-SD units (covariates are independent of race)."""
        mu_a, _ = self.moments(a)
        mu_b, _ = self.moments(b)
        _, cov = self.moments("all")
        i = self.index(latent)
        return float((mu_a[i] - mu_b[i]) / np.sqrt(cov[i, i]))

    def target_value(self, t: dict) -> float:
        if t["quantity"] == "std_effect":
            return self.std_effect(t["outcome"], t["sample"])
        if t["quantity"] == "percent_mediated":
            return self.percent_mediated(t["outcome"], t["mediator"], t["sample"])
        if t["quantity"] == "correlation":
            return self.correlation("hqc", t["outcome"], t["sample"])
        raise ValueError(f"population_model.yaml: unknown target quantity {t['quantity']!r}")


def _covariate_moments(design: dict, cov: dict) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance of x: independent categorical covariates, standardized prior grade."""
    schools = design["schools"]
    n = np.array([schools[s]["students"] for s in SCHOOLS], float)
    p_school = n / n.sum()
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
    latents = ["hqc", *subscales, *environment, *mindsets, "current_grade", "absences"]
    k = len(latents)
    li = {name: i for i, name in enumerate(latents)}
    xi = {name: i for i, name in enumerate(COVARIATES)}

    design = model["design"]
    black = design["share_black_among_surveyed"]
    non_black = design["race_shares_non_black"]
    total_nb = sum(non_black.values())
    white = (1 - black) * non_black["White"] / total_nb
    shares = {"Black": black, "White": white, "Other": 1 - black - white}
    x_mean, x_cov = _covariate_moments(design, model["covariates"])

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

    pop = PopulationModel(latents, shares, x_mean, x_cov, B, Gamma, alpha, Psi, free,
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
