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


def block_cfa(codebook: Codebook, block: str, exhibit: int) -> ModelSpec:
    cons = codebook.constructs_in_block(block)
    syntax = "\n".join([f"# Exhibit {exhibit}: correlated-factor CFA of the {block.replace('_', ' ')} block",
                        *measurement_lines(codebook, cons)])
    items = tuple(i for c in cons for i in codebook.item_ids(c))
    return ModelSpec(f"{block}_cfa", f"CFA of the {block.replace('_', ' ')} measures (Exhibit {exhibit})", syntax, items)


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
                     tuple(controls))


def mediation(codebook: Codebook, outcomes: list[str], mediators: list[str], name: str, description: str) -> ModelSpec:
    """HQC -> mediators -> outcomes with the direct path kept. Labels: a_<m> (HQC -> m),
    b_<m>_<o> (m -> o), c_<o> (direct HQC -> o), so indirect and percent mediated are
    defined parameters: ind = sum(a*b), pm = ind / (ind + c)."""
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
    return ModelSpec(name, description, "\n".join(lines),
                     _observed(codebook, latent, [o for o in outcomes if o in OBSERVED_OUTCOMES]), tuple(controls))


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
        block_cfa(codebook, "classroom_environment", 9),
        block_cfa(codebook, "mindset", 10),
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
        models.append(mediation(codebook, mind + ["current_grade"] if False else mind, ms, f"hqc_mindsets_via_{label}",
                                f"Exhibits 16-19, 24-27, 29-31: HQC -> mind-sets before/after {label.replace('_', ' ')}"))
    return {m.name: m for m in models}
