"""Parameter table with lavaan's ``sem()``/``cfa()`` defaults.

Follows lavaan 0.6/0.7 (``lav_partable_flat``, ``lav_partable_vnames``,
``lav_partable_labels``):

* variable roles: latent = lhs of ``=~``; observed exogenous covariates (``ov.x``) =
  right-hand side of ``~`` that are neither latent, indicators nor outcomes, and not
  mentioned by the user in ``~~``/``~1`` (lavaan then treats them as random);
* ``auto.fix.first``: the first loading of every factor is fixed to 1;
* ``auto.fix.single``: a single indicator gets residual variance 0;
* ``auto.var``: (residual) variances of all non-``ov.x`` observed and all latent
  variables are free;
* ``auto.cov.lv.x``: covariances among exogenous latent variables are free;
* ``auto.cov.y``: residual covariances among the *pure* outcomes (latent or observed
  variables that are regressed on something and predict nothing and are no indicator)
  are free;
* ``fixed.x = TRUE``: variances, covariances (and means) of ``ov.x`` are fixed to their
  sample values; latent exogenous variables and ``ov.x`` are uncorrelated unless the
  spec says otherwise (lavaan's default ``auto.cov.x = FALSE``);
* mean structure: observed intercepts free, latent means fixed to 0; with
  ``group_equal`` containing "intercepts" (and not "means") the latent means are free
  in all groups but the first;
* multiple groups: modifiers of length 1 are recycled over groups (so one label means
  one parameter shared by all groups), ``c(...)`` gives one value per group;
  ``group_equal`` gives matching parameters a shared label across groups.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from itertools import combinations

from .syntax import ParsedSpec, SpecError, Statement

__all__ = ["ParRow", "ParTable", "build_partable", "GROUP_EQUAL_CHOICES"]

GROUP_EQUAL_CHOICES = (
    "loadings",
    "intercepts",
    "means",
    "regressions",
    "residuals",
    "residual.covariances",
    "lv.variances",
    "lv.covariances",
)


@dataclass
class ParRow:
    lhs: str
    op: str
    rhs: str
    group: int  # 0-based
    user: bool
    free: bool
    value: float  # fixed value (fixed rows); ignored for free rows
    label: str = ""  # user label
    eq_key: str = ""  # rows with the same non-empty key share one parameter
    exo: bool = False
    start: float | None = None
    index: int = -1  # free-parameter index (-1 = fixed)
    first_loading: bool = False

    @property
    def name(self) -> str:
        """lavaan-style name (``lhs op rhs`` without spaces, ``.gK`` suffix from group 2)."""
        base = f"{self.lhs}{self.op}{self.rhs}"
        return base if self.group == 0 else f"{base}.g{self.group + 1}"


@dataclass
class _Element:
    """One model element of the single-group template."""

    lhs: str
    op: str
    rhs: str
    user: bool
    free: bool = True
    value: float = 0.0
    exo: bool = False
    first_loading: bool = False
    statement: Statement | None = None


@dataclass
class ParTable:
    rows: list[ParRow]
    ngroups: int
    meanstructure: bool
    ov_names: list[str]
    lv_names: list[str]
    ov_x: list[str]
    ov_y: list[str]
    lv_x: list[str]
    lv_y: list[str]
    npar: int
    # label -> free index, or fixed value (a label on a fixed parameter)
    label_index: dict[str, int] = field(default_factory=dict)
    label_fixed: dict[str, float] = field(default_factory=dict)
    definitions: list = field(default_factory=list)

    def group_rows(self, group: int) -> list[ParRow]:
        return [r for r in self.rows if r.group == group]


def _element_key(lhs: str, op: str, rhs: str) -> tuple[str, str, str]:
    """Identity of a model element: 'a ~~ b' and 'b ~~ a' are the same element."""
    if op == "~~" and rhs < lhs:
        return (rhs, op, lhs)
    return (lhs, op, rhs)


def _merge_repeated(statements: list[Statement]) -> list[Statement]:
    """An element written twice combines its modifiers, as in lavaan
    (``f =~ 4*x3 + lab*x3`` fixes and labels one loading); a second value of the
    same kind (two labels, two fixed values) is an error."""
    merged: dict[tuple[str, str, str], Statement] = {}
    for s in statements:
        key = _element_key(s.lhs, s.op, s.rhs)
        if key not in merged:
            merged[key] = Statement(s.lhs, s.op, s.rhs, s.fixed, s.label, s.start, s.line)
            continue
        target = merged[key]
        for kind in ("fixed", "label", "start"):
            new = getattr(s, kind)
            if new is None:
                continue
            if getattr(target, kind) is not None:
                raise SpecError(
                    f"line {s.line}: duplicated element '{s.lhs} {s.op} {s.rhs}' with a second {kind} modifier"
                )
            setattr(target, kind, new)
    return list(merged.values())


def _unique(seq):
    seen, out = set(), []
    for item in seq:
        if item not in seen:
            seen.add(item)
            out.append(item)
    return out


def _roles(statements: list[Statement], fixed_x: bool):
    lv_names = _unique(s.lhs for s in statements if s.op == "=~")
    v_ind = _unique(s.rhs for s in statements if s.op == "=~")
    eqs_y = _unique(s.lhs for s in statements if s.op == "~")
    eqs_x = _unique(s.rhs for s in statements if s.op == "~")
    ov_ind = [v for v in v_ind if v not in lv_names]
    ov_y_all = [v for v in eqs_y if v not in lv_names and v not in ov_ind]
    ov_x = [v for v in eqs_x if v not in lv_names and v not in ov_ind and v not in ov_y_all]
    mentioned = set()
    for s in statements:
        if s.op == "~1":
            mentioned.add(s.lhs)
        elif s.op == "~~":
            mentioned.update((s.lhs, s.rhs))
    random_x = [v for v in ov_x if v in mentioned]
    if random_x and fixed_x:
        warnings.warn(
            "model syntax contains variance/covariance/intercept formulas involving exogenous "
            f"covariate(s) {random_x}; like lavaan, these are now treated as random variables "
            "with free (co)variances",
            stacklevel=4,
        )
    # mentioned covariates become ordinary (random) exogenous variables, as in lavaan
    ov_x = [v for v in ov_x if v not in mentioned]
    extra = []
    for s in statements:
        if s.op == "~~":
            extra += [s.lhs, s.rhs]
        elif s.op == "~1":
            extra.append(s.lhs)
    extra = [v for v in _unique(extra) if v not in lv_names]
    ordered = _unique(ov_ind + ov_y_all + [v for v in eqs_x if v not in lv_names] + extra)
    ov_names = ordered
    lv_x = [v for v in lv_names if v not in v_ind and v not in eqs_y]
    ov_y = [v for v in eqs_y if v not in v_ind and v not in eqs_x and v not in lv_names]
    lv_y = [v for v in eqs_y if v in lv_names and v not in v_ind and v not in eqs_x]
    return lv_names, ov_names, ov_x, ov_y, lv_x, lv_y, ov_ind


def _per_group(values, ngroups: int, what: str, statement: Statement):
    if values is None:
        return None
    if len(values) == 1:
        return list(values) * ngroups
    if len(values) != ngroups:
        raise SpecError(
            f"line {statement.line}: {what} modifier of '{statement.lhs} {statement.op} "
            f"{statement.rhs}' has {len(values)} values for {ngroups} group(s)"
        )
    return list(values)


def build_partable(
    parsed: ParsedSpec,
    *,
    ngroups: int = 1,
    meanstructure: bool = False,
    group_equal: tuple[str, ...] | list[str] = (),
    group_partial: tuple[str, ...] | list[str] = (),
    fixed_x: bool = True,
) -> ParTable:
    if not parsed.statements:
        raise SpecError("the specification has no model statements")
    statements = _merge_repeated(parsed.statements)
    bad = [g for g in group_equal if g not in GROUP_EQUAL_CHOICES]
    if bad:
        raise SpecError(f"unsupported group_equal entries {bad}; choose from {GROUP_EQUAL_CHOICES}")
    if any(s.op == "~1" for s in statements):
        meanstructure = True
    if ngroups > 1 or any(g in ("intercepts", "means") for g in group_equal):
        meanstructure = True

    lv_names, ov_names, ov_x, ov_y, lv_x, lv_y, ov_ind = _roles(statements, fixed_x)
    for s in statements:
        if s.op == "=~" and s.lhs in ov_names:
            raise SpecError(f"line {s.line}: {s.lhs} is both latent and observed")
    ov_nox = [v for v in ov_names if v not in ov_x]

    # default elements (variances, covariances, exogenous block, intercepts)
    defaults: list[tuple[str, str, str]] = []
    defaults += [(v, "~~", v) for v in ov_nox + lv_names]
    defaults += [(a, "~~", b) for a, b in combinations(lv_x, 2)]
    lvov_y = lv_y + ov_y
    defaults += [(a, "~~", b) for a, b in combinations(lvov_y, 2)]
    for i, a in enumerate(ov_x):
        for b in ov_x[i:]:
            defaults.append((a, "~~", b))
    if meanstructure:
        defaults += [(v, "~1", "") for v in ov_names + lv_names]
    # user elements replace defaults; a default is never listed twice
    taken = {_element_key(s.lhs, s.op, s.rhs) for s in statements}
    dedup: list[tuple[str, str, str]] = []
    for d in defaults:
        key = _element_key(*d)
        if key not in taken:
            taken.add(key)
            dedup.append(d)
    defaults = dedup

    # one group's elements: user statements first, then the defaults (lavaan's order)
    template = [_Element(s.lhs, s.op, s.rhs, user=True, statement=s) for s in statements]
    template += [_Element(lhs, op, rhs, user=False) for lhs, op, rhs in defaults]

    # auto.fix.first: the first loading of each factor (in table order) is fixed to 1
    seen_factors = set()
    for e in template:
        if e.op == "=~" and e.lhs not in seen_factors:
            seen_factors.add(e.lhs)
            e.free, e.value, e.first_loading = False, 1.0, True
    # auto.fix.single: the indicator of a single-indicator factor gets residual variance 0
    indicators: dict[str, list[str]] = {}
    for e in template:
        if e.op == "=~":
            indicators.setdefault(e.lhs, []).append(e.rhs)
    all_indicators = [i for lst in indicators.values() for i in lst]
    single = {
        lst[0] for lst in indicators.values()
        if len(lst) == 1 and lst[0] not in lv_names and all_indicators.count(lst[0]) == 1
    }
    for e in template:
        if e.op == "~~" and e.lhs == e.rhs and e.lhs in single and not e.user:
            e.free, e.value = False, 0.0
    # mean structure: latent means fixed to 0 (observed intercepts stay free)
    for e in template:
        if e.op == "~1" and not e.user and e.lhs in lv_names:
            e.free, e.value = False, 0.0
    # fixed.x: covariate (co)variances and means fixed to their sample values
    if fixed_x:
        for e in template:
            if not e.user and e.lhs in ov_x and (e.op == "~1" or (e.op == "~~" and e.rhs in ov_x)):
                e.free, e.exo = False, True

    rows: list[ParRow] = []
    for g in range(ngroups):
        for e in template:
            r = ParRow(e.lhs, e.op, e.rhs, g, e.user, e.free, e.value, exo=e.exo, first_loading=e.first_loading)
            statement = e.statement
            if statement is not None:
                fixed = _per_group(statement.fixed, ngroups, "value", statement)
                labels = _per_group(statement.label, ngroups, "label", statement)
                starts = _per_group(statement.start, ngroups, "start", statement)
                if fixed is not None:
                    if fixed[g] is None:
                        r.free = True
                    else:
                        r.free, r.value = False, float(fixed[g])
                if labels is not None:
                    r.label = labels[g]
                if starts is not None and starts[g] is not None:
                    r.start = float(starts[g])
            if g > 0 and meanstructure and e.op == "~1" and e.lhs in lv_names and not e.user:
                if "intercepts" in group_equal and "means" not in group_equal:
                    r.free = True
            rows.append(r)

    # equality keys: user labels override group_equal keys (as in lavaan)
    partial = {p.replace(" ", "") for p in group_partial}
    for r in rows:
        if r.label:
            r.eq_key = "label:" + r.label
            continue
        if ngroups < 2 or not group_equal:
            continue
        key = f"{r.lhs}{r.op}{r.rhs}"
        if key in partial:
            continue
        eq = False
        if r.op == "=~" and "loadings" in group_equal:
            eq = True
        elif r.op == "~1" and r.lhs in ov_nox and "intercepts" in group_equal:
            eq = True
        elif r.op == "~1" and r.lhs in lv_names and "means" in group_equal:
            eq = True
        elif r.op == "~" and "regressions" in group_equal:
            eq = True
        elif r.op == "~~" and r.lhs in ov_nox and r.rhs in ov_nox:
            eq = ("residuals" in group_equal) if r.lhs == r.rhs else ("residual.covariances" in group_equal)
        elif r.op == "~~" and r.lhs in lv_names and r.rhs in lv_names:
            eq = ("lv.variances" in group_equal) if r.lhs == r.rhs else ("lv.covariances" in group_equal)
        if eq:
            r.eq_key = "equal:" + key

    # '==' constraints merge equality keys
    label_keys = {r.label for r in rows if r.label}
    parent: dict[str, str] = {}

    def find(k: str) -> str:
        while parent.get(k, k) != k:
            k = parent[k]
        return k

    for c in parsed.constraints:
        for name in (c.lhs, c.rhs):
            if name not in label_keys:
                raise SpecError(f"line {c.line}: constraint uses unknown label {name!r}")
        a, b = find("label:" + c.lhs), find("label:" + c.rhs)
        if a != b:
            parent[b] = a
    for r in rows:
        if r.eq_key:
            r.eq_key = find(r.eq_key)

    # free-parameter indices
    npar = 0
    key_index: dict[str, int] = {}
    key_fixed: dict[str, list[ParRow]] = {}
    for r in rows:
        if r.eq_key:
            key_fixed.setdefault(r.eq_key, []).append(r)
    for key, members in key_fixed.items():
        states = {m.free for m in members}
        if len(states) > 1:
            if key.startswith("equal:"):
                # group_equal on an element that is fixed in some groups (e.g. a user-fixed
                # value): lavaan keeps the fixed ones fixed; the free ones share a parameter
                continue
            raise SpecError(f"label {key.split(':', 1)[1]!r} is attached to both fixed and free parameters")
        if not members[0].free and len({m.value for m in members}) > 1:
            raise SpecError(f"label {key.split(':', 1)[1]!r} is attached to fixed parameters with different values")
    for r in rows:
        if not r.free:
            continue
        if r.eq_key:
            if r.eq_key not in key_index:
                key_index[r.eq_key] = npar
                npar += 1
            r.index = key_index[r.eq_key]
        else:
            r.index = npar
            npar += 1

    label_index: dict[str, int] = {}
    label_fixed: dict[str, float] = {}
    for r in rows:
        if r.label:
            if r.free:
                label_index.setdefault(r.label, r.index)
            else:
                label_fixed.setdefault(r.label, r.value)

    return ParTable(
        rows=rows,
        ngroups=ngroups,
        meanstructure=meanstructure,
        ov_names=ov_names,
        lv_names=lv_names,
        ov_x=ov_x,
        ov_y=ov_y,
        lv_x=lv_x,
        lv_y=lv_y,
        npar=npar,
        label_index=label_index,
        label_fixed=label_fixed,
        definitions=list(parsed.definitions),
    )


# ------------------------------------------------------------------ written out
SPEC_SECTIONS = {"=~": "# measurement", "~": "# regressions", "var": "# (residual) variances",
                 "cov": "# (residual) covariances", "~1": "# intercepts and means", "|": "# thresholds",
                 "~*~": "# scale factors"}


def full_spec_text(rows, ngroups: int, *, title: str, group_labels, covariates, names: set, latents, definitions,
                   skip=None) -> str:
    """Every parameter of a parameter table in lavaan syntax, with ``c()`` modifiers across
    groups: lavaan fits the text with no defaults left to choose (the continuous engine's
    and the WLSMV engine's tables alike; ``rows`` have lhs, op, rhs, group, free, value,
    label, index, exo, user). A free parameter shared by several rows (an equality across
    groups) gets one label, so the refit needs no ``group.equal``; a fixed value beside free
    ones in other groups is written in lavaan's repeated-element form (``c(NA, 1)*x +
    c(p4, fix1)*x``). Elements of the covariates' moments (fixed.x sets them), lavaan's
    default latent means (0) and those ``skip(lhs, op, rhs)`` names are left out. ``names``:
    the variable and label names a generated label must not take. The header: ``title``
    (what was fitted and the lavaan call), the order of the groups in the ``c()`` modifiers
    (``group_labels``, None for one group) and the exogenous ``covariates``."""
    G = ngroups
    shared: dict[int, int] = {}
    for r in rows:
        if r.index >= 0:
            shared[r.index] = shared.get(r.index, 0) + 1
    taken = set(names) | {r.label for r in rows if r.label} | {d.name for d in definitions}
    generated: dict[int, str] = {}

    def new_name(stem: str) -> str:
        name = stem
        while name in taken:
            name += "_"
        taken.add(name)
        return name

    def label_for(r) -> str | None:
        if r.label:
            return r.label
        if r.index >= 0 and shared[r.index] > 1:
            if r.index not in generated:
                generated[r.index] = new_name(f"p{r.index + 1}")
            return generated[r.index]
        return None

    def fixed_label() -> str:  # a label for a fixed value beside labelled free ones
        k = 1
        while f"fix{k}" in taken:
            k += 1
        taken.add(f"fix{k}")
        return f"fix{k}"

    elements: dict[tuple[str, str, str], list] = {}
    for r in rows:
        elements.setdefault((r.lhs, r.op, r.rhs), [None] * G)[r.group] = r
    factors: set = set()
    lines_by_section: dict[str, list] = {s: [] for s in SPEC_SECTIONS}
    for (lhs, op, rhs), rs in elements.items():
        first = op == "=~" and lhs not in factors  # lavaan fixes a factor's first loading unless NA*
        if op == "=~":
            factors.add(lhs)
        if all(r.exo for r in rs) or (skip is not None and skip(lhs, op, rhs)):
            continue
        if op == "~1" and lhs in latents and all(not r.free and not r.user and r.value == 0.0 for r in rs):
            continue  # latent means fixed at 0: lavaan's default
        term = "1" if op == "~1" else rhs
        tokens = [("fixed", format(float(r.value), ".12g")) if not r.free
                  else (("label", label_for(r)) if label_for(r) else ("free", None)) for r in rs]
        kinds = {k for k, _ in tokens}
        # labels of fixed parameters (usable in ':='): lavaan's repeated-element form
        fixed_labels = [r.label for r in rs if not r.free and r.label]
        if kinds == {"fixed"}:
            values = [v for _, v in tokens]
            text = f"{values[0]}*{term}" if len(set(values)) == 1 else f"c({', '.join(values)})*{term}"
            if fixed_labels and (G == 1 or len(set(fixed_labels)) == 1 and len(fixed_labels) == G):
                text += f" + {fixed_labels[0]}*{term}"
            elif fixed_labels:
                text += f" + c({', '.join(r.label or fixed_label() for r in rs)})*{term}"
        elif kinds == {"free"}:
            text = f"NA*{term}" if first else term
        elif "fixed" not in kinds:  # free, some labelled: every group's own label
            labels = [v if v is not None else new_name(f"p{r.index + 1}") for r, (_, v) in zip(rs, tokens)]
            text = f"{labels[0]}*{term}" if G == 1 else f"c({', '.join(labels)})*{term}"
        else:
            text = f"c({', '.join('NA' if k != 'fixed' else v for k, v in tokens)})*{term}"
            if "label" in kinds or fixed_labels:  # lavaan's repeated-element form: values, then labels
                labels = [v if k == "label" else (r.label or fixed_label()) if k == "fixed" else new_name(f"p{r.index + 1}")
                          for r, (k, v) in zip(rs, tokens)]
                text += f" + c({', '.join(labels)})*{term}"
        section = op if op != "~~" else ("var" if lhs == rhs else "cov")
        lines_by_section[section].append(((lhs, op), text))

    out = [f"# {title}"]
    if group_labels is not None:
        out.append(f"# group order (c() modifiers): {', '.join(str(g) for g in group_labels)}")
    if covariates:
        out.append(f"# exogenous covariates (moments fixed, not estimated; lavaan fixed.x): {', '.join(covariates)}")
    for section, heading in SPEC_SECTIONS.items():
        entries = lines_by_section[section]
        if not entries:
            continue
        out.append(heading)
        if section == "~1":
            out += [f"{lhs} ~ {text}" for (lhs, _), text in entries]
            continue
        grouped: dict[tuple[str, str], list[str]] = {}
        for key, text in entries:
            grouped.setdefault(key, []).append(text)
        out += [f"{lhs} {op} {' + '.join(texts)}" for (lhs, op), texts in grouped.items()]
    if definitions:
        out.append("# defined parameters")
        out += [f"{d.name} := {d.expr}" for d in definitions]
    return "\n".join(out) + "\n"
