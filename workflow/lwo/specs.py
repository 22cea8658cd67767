"""The research-question-1 models, written once in lavaan syntax from the codebook.

Measurement: each construct is a latent factor of its items (1-4 answers treated as
continuous, ML). Structural models: HQC is a latent factor whose indicators are its 8 subscale
scores (parcels), which keeps each model small enough to fit in well under a second while the
second-order CFA of Exhibit 8 checks that structure on the items themselves. Outcomes are
latent factors of their items; grades and absences are observed.

Every model lists its controls, the study's: school fixed effects, grade level, gender, ELL,
special education, subject surveyed; prior grade too where grades are the outcome.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from lwo.codebook import Codebook

SCHOOL_DUMMIES = ["school_2", "school_3", "school_4"]
GRADE_DUMMIES = ["grade_10", "grade_11", "grade_12"]
CONTROLS = [*SCHOOL_DUMMIES, "ela", *GRADE_DUMMIES, "female", "ell", "special_education"]
GRADE_CONTROLS = [*CONTROLS, "prior_grade"]
OBSERVED_OUTCOMES = ("current_grade", "absences")

# Mediator sets of Exhibits 16-19 (and 24-27, 29-31), by the report's names.
MEDIATORS = {
    "personalization": ["teacher_support", "learning_needs_met"],
    "teacher_expectations": ["teacher_expectations"],
    "social_comparison": ["social_comparison"],
    "learning_from_peers": ["peer_learning"],
}
# Mind-set domains of Exhibit 10, for the grade models of Exhibits 15 and 23.
MINDSET_DOMAINS = {
    "engagement": ["emotional_engagement", "behavioral_engagement"],
    "intrinsic_motivation": ["task_valuing", "mastery_orientation"],
    "self_efficacy": ["academic_self_efficacy", "social_self_efficacy"],
}


def parcel(subscale: str) -> str:
    """Column name of a subscale score used as an indicator of HQC."""
    return f"p_{subscale}"


def measurement_lines(codebook: Codebook, constructs) -> list[str]:
    return [f"{c} =~ " + " + ".join(codebook.item_ids(c)) for c in constructs]


def hqc_line(codebook: Codebook) -> str:
    return "hqc =~ " + " + ".join(parcel(s) for s in codebook.hqc_subscales())


@dataclass(frozen=True)
class ModelSpec:
    """One model: its name, lavaan syntax and the columns it needs."""

    name: str
    description: str
    syntax: str
    observed: tuple[str, ...]
    controls: tuple[str, ...] = field(default=())
    # structural models: the outcomes of HQC and the mediators between (empty for CFAs)
    outcomes: tuple[str, ...] = field(default=())
    mediators: tuple[str, ...] = field(default=())
    # block CFAs: the constructs they measure (a construct without data is left out as an outcome is)
    factors: tuple[str, ...] = field(default=())


def _regressions(outcome: str, predictors: list[str], labels: dict[str, str] | None = None) -> str:
    labels = labels or {}
    return f"{outcome} ~ " + " + ".join(f"{labels[p]}*{p}" if p in labels else p for p in predictors)


def _observed(codebook: Codebook, latents, extra=()) -> tuple[str, ...]:
    cols = [parcel(s) for s in codebook.hqc_subscales()]
    for c in latents:
        cols += codebook.item_ids(c)
    return tuple(dict.fromkeys([*cols, *extra]))


def hqc_second_order(codebook: Codebook) -> ModelSpec:
    subs = codebook.hqc_subscales()
    syntax = "\n".join(["# Exhibit 8: HQC as a second-order factor over its 8 subscales",
                        *measurement_lines(codebook, subs), "hqc =~ " + " + ".join(subs)])
    items = tuple(i for s in subs for i in codebook.item_ids(s))
    return ModelSpec("hqc_second_order", "HQC: second-order CFA over 8 subscales (Exhibit 8)", syntax, items)


# the exhibit of each block's correlated-factor CFA (the HQC one is WLSMV's stand-in for Exhibit 8's model)
BLOCK_EXHIBITS = {"hqc": 8, "classroom_environment": 9, "mindset": 10}


def block_cfa(codebook: Codebook, block: str, constructs=None) -> ModelSpec:
    """The correlated-factor CFA of a block's constructs (`constructs`: some of them; default all)."""
    exhibit = BLOCK_EXHIBITS[block]
    cons = list(constructs) if constructs is not None else codebook.constructs_in_block(block)
    syntax = "\n".join([f"# Exhibit {exhibit}: correlated-factor CFA of the {block.replace('_', ' ')} block",
                        *measurement_lines(codebook, cons)])
    items = tuple(i for c in cons for i in codebook.item_ids(c))
    return ModelSpec(f"{block}_cfa", f"CFA of the {block.replace('_', ' ')} measures (Exhibit {exhibit})", syntax, items,
                     factors=tuple(cons))


def direct_effects(codebook: Codebook, outcomes: list[str], name: str, description: str) -> ModelSpec:
    """HQC -> each outcome, controls on every outcome and on HQC."""
    latent_outcomes = [o for o in outcomes if o not in OBSERVED_OUTCOMES]
    grade = "current_grade" in outcomes
    controls = GRADE_CONTROLS if grade else CONTROLS
    lines = [f"# {description}", hqc_line(codebook), *measurement_lines(codebook, latent_outcomes)]
    lines += [_regressions(o, ["hqc", *controls], {"hqc": f"c_{o}"}) for o in outcomes]
    lines.append(_regressions("hqc", list(controls)))
    return ModelSpec(name, description, "\n".join(lines),
                     _observed(codebook, latent_outcomes, [o for o in outcomes if o in OBSERVED_OUTCOMES]),
                     tuple(controls), outcomes=tuple(outcomes))


def mediation(codebook: Codebook, outcomes: list[str], mediators: list[str], name: str, description: str) -> ModelSpec:
    """HQC -> mediators -> outcomes with the direct path kept. Labels: a_<m> (HQC -> m),
    b_<m>_<o> (m -> o), c_<o> (direct HQC -> o), so indirect and percent mediated are
    defined parameters (written into the spec as lavaan `:=` lines): ind = sum(a*b),
    total = ind + c, pm = ind / (ind + c).

    Residual covariances among the mediators are free: lavaan's sem() frees them only among
    pure outcomes, and a mediator set (two personalization measures, the mind-set domains) shares
    causes besides HQC; fixing them at 0 biases the b paths and so the direct effect."""
    grade = "current_grade" in outcomes
    controls = GRADE_CONTROLS if grade else CONTROLS
    latent = [c for c in [*mediators, *outcomes] if c not in OBSERVED_OUTCOMES]
    lines = [f"# {description}", hqc_line(codebook), *measurement_lines(codebook, latent)]
    for m in mediators:
        lines.append(_regressions(m, ["hqc", *controls], {"hqc": f"a_{m}"}))
    for o in outcomes:
        labels = {"hqc": f"c_{o}", **{m: f"b_{m}_{o}" for m in mediators}}
        lines.append(_regressions(o, ["hqc", *mediators, *controls], labels))
    lines.append(_regressions("hqc", list(controls)))
    lines += [f"{a} ~~ {b}" for i, a in enumerate(mediators) for b in mediators[i + 1:]]
    for o in outcomes:
        lines += [f"{k} := {v}" for k, v in indirect_expressions(mediators, o).items()]
    return ModelSpec(name, description, "\n".join(lines),
                     _observed(codebook, latent, [o for o in outcomes if o in OBSERVED_OUTCOMES]), tuple(controls),
                     outcomes=tuple(outcomes), mediators=tuple(mediators))


def without_outcomes(spec: ModelSpec, codebook: Codebook, left_out) -> ModelSpec:
    """The structural model `spec` over its other outcomes, or the block CFA over its other
    constructs (an export without absences, or a survey without one of the scales): the same
    model otherwise, by the function that wrote it."""
    if spec.factors:
        kept = [c for c in spec.factors if c not in set(left_out)]
        if not kept:
            raise ValueError(f"{spec.name}: no construct left")
        return block_cfa(codebook, spec.name.removesuffix("_cfa"), kept)
    outcomes = [o for o in spec.outcomes if o not in set(left_out)]
    if not outcomes:
        raise ValueError(f"{spec.name}: no outcome left")
    if spec.mediators:
        return mediation(codebook, outcomes, list(spec.mediators), spec.name, spec.description)
    return direct_effects(codebook, outcomes, spec.name, spec.description)


def indirect_expressions(mediators: list[str], outcome: str) -> dict[str, str]:
    """Defined parameters (lavaan `:=`) of one outcome of a mediation model."""
    ind = " + ".join(f"a_{m}*b_{m}_{outcome}" for m in mediators)
    return {f"indirect_{outcome}": ind, f"total_{outcome}": f"{ind} + c_{outcome}",
            f"percent_mediated_{outcome}": f"({ind}) / ({ind} + c_{outcome})"}


def rq1_models(codebook: Codebook) -> dict[str, ModelSpec]:
    """Every distinct RQ1 model, by name. Each is fitted once per sample."""
    env = codebook.constructs_in_block("classroom_environment")
    mind = codebook.constructs_in_block("mindset")
    models = [
        hqc_second_order(codebook),
        block_cfa(codebook, "classroom_environment"),
        block_cfa(codebook, "mindset"),
        direct_effects(codebook, env, "hqc_to_classroom_environment",
                       "Exhibits 12 and 21: HQC -> 7 classroom-environment measures"),
        direct_effects(codebook, mind + ["absences"], "hqc_to_mindsets",
                       "Exhibits 13 and 22: HQC -> 6 mind-sets and absences"),
        direct_effects(codebook, ["current_grade"], "hqc_to_grades",
                       "Exhibits 13, 15, 23: HQC -> current grade, prior grade controlled"),
    ]
    for domain, ms in MINDSET_DOMAINS.items():
        models.append(mediation(codebook, ["current_grade"], ms, f"hqc_grades_via_{domain}",
                                f"Exhibits 15 and 23: HQC -> grade before/after {domain.replace('_', ' ')}"))
    models.append(mediation(codebook, ["current_grade"], mind, "hqc_grades_via_mindsets",
                            "Exhibits 15 and 23: HQC -> grade before/after all six mind-sets"))
    for label, ms in MEDIATORS.items():
        models.append(mediation(codebook, mind, ms, f"hqc_mindsets_via_{label}",
                                f"Exhibits 16-19, 24-27, 29-31: HQC -> mind-sets before/after {label.replace('_', ' ')}"))
    return {m.name: m for m in models}


# ---------------------------------------------------------------- Black vs White (Exhibits 29-31)
GROUPS_COMPARED = ("Black", "White")
# Models fitted jointly for Black and White students (one likelihood over both groups).
MULTIGROUP_MODELS = ("hqc_to_mindsets", "hqc_to_grades", "hqc_mindsets_via_personalization",
                     "hqc_mindsets_via_teacher_expectations", "hqc_mindsets_via_social_comparison")
# Measurement constraints shared by the free and the constrained models, so that a
# likelihood-ratio test compares structural paths only: equal loadings (metric invariance),
# except the perceived-inclusion parcel, whose items the study found non-invariant.
MULTIGROUP_EQUAL = ("loadings",)
MULTIGROUP_PARTIAL = ("hqc =~ p_perceived_inclusion",)
# The outcomes the report names for the teacher-expectation difference (Exhibit 30).
TEACHER_EXPECTATION_OUTCOMES = ("task_valuing", "mastery_orientation", "academic_self_efficacy")

_LABELLED_TERM = re.compile(r"(?<![\w.(,])([A-Za-z_][A-Za-z0-9_]*)\*(?=\s*[A-Za-z_.])")
_NAME = re.compile(r"[A-Za-z_.][A-Za-z0-9_.]*")


def group_label(label: str, group: str) -> str:
    """The group-specific copy of a label in a multi-group spec."""
    return f"{label}_{group}"


def multigroup_syntax(syntax: str, groups=GROUPS_COMPARED, shared=()) -> str:
    """A single-group spec made multi-group (lavaan syntax, groups in the order given).

    Every labelled parameter gets one label per group, `c(l_Black, l_White)*x`, so it is free
    in each group; labels in `shared` keep one label, which lavaan reads as equal across
    groups. Each `:=` line becomes one line per group on that group's labels."""
    shared = set(shared)
    out = []
    for line in syntax.splitlines():
        text = line.strip()
        if not text or text.startswith("#"):
            out.append(line)
            continue
        if ":=" in text:
            name, expr = (part.strip() for part in text.split(":=", 1))
            for g in groups:
                expr_g = _NAME.sub(lambda m: m.group(0) if m.group(0) in shared else group_label(m.group(0), g), expr)
                out.append(f"{group_label(name, g)} := {expr_g}")
            continue

        def per_group(m: re.Match) -> str:
            label = m.group(1)
            if label in shared or label == "NA":
                return m.group(0)
            return "c(" + ", ".join(group_label(label, g) for g in groups) + ")*"

        out.append(_LABELLED_TERM.sub(per_group, line))
    return "\n".join(out)


def equality_tests(spec: ModelSpec) -> dict[str, list[str]]:
    """Sets of paths tested for equality between Black and White students: name -> labels.

    Direct-effects models: HQC -> each outcome, and all outcomes at once. Mediation models:
    HQC -> the mediators (a), the mediators -> all outcomes (b), the mediators -> each outcome,
    the direct paths (c); for teacher expectations also the three outcomes the report names."""
    tests: dict[str, list[str]] = {}
    outcomes, mediators = list(spec.outcomes), list(spec.mediators)
    if not mediators:
        for o in outcomes:
            tests[f"HQC -> {o}"] = [f"c_{o}"]
        if len(outcomes) > 1:
            tests["HQC -> every outcome"] = [f"c_{o}" for o in outcomes]
        return tests
    names = " + ".join(mediators)
    tests[f"HQC -> {names} (a)"] = [f"a_{m}" for m in mediators]
    tests[f"{names} -> every outcome (b)"] = [f"b_{m}_{o}" for m in mediators for o in outcomes]
    for o in outcomes:
        tests[f"{names} -> {o} (b)"] = [f"b_{m}_{o}" for m in mediators]
    if mediators == MEDIATORS["teacher_expectations"] and set(TEACHER_EXPECTATION_OUTCOMES) <= set(outcomes):
        tests["teacher_expectations -> " + ", ".join(TEACHER_EXPECTATION_OUTCOMES) + " (b)"] = [
            f"b_teacher_expectations_{o}" for o in TEACHER_EXPECTATION_OUTCOMES]
    tests["HQC -> every outcome, direct (c)"] = [f"c_{o}" for o in outcomes]
    return tests


# ---------------------------------------------------------------- where the fits are saved
MULTIGROUP_SAMPLE = "Black_vs_White"   # results/models/Black_vs_White/<model>/
SAVED_FIT_FILES = ("fit.json", "estimates.csv", "standardized.csv", "correlations.csv")
MULTIGROUP_FIT_FILES = ("lr_tests.csv", "group_contrasts.csv")


def saved_fit_files(models_dir: str, sample: str, *models: str) -> list[str]:
    """The files of saved fits that an exhibit reads (fit.json first for each model)."""
    names = SAVED_FIT_FILES + (MULTIGROUP_FIT_FILES if sample == MULTIGROUP_SAMPLE else ())
    return [f"{models_dir}/{sample}/{m}/{n}" for m in models for n in names]


def bootstrap_summary_files(models_dir: str, sample: str, *models: str, enabled: bool,
                            bootstrapped: list[str]) -> list[str]:
    """Bootstrap summaries of the `bootstrapped` models among `models`, when enabled."""
    return [f"{models_dir}/{sample}/{m}/bootstrap.csv" for m in models if enabled and m in bootstrapped]
