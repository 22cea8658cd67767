"""Ordinal (categorical) factor models by WLSMV, reproducing lavaan 0.6.14's
``cfa(model, data, ordered = ..., estimator = "WLSMV")``.

* First stage: thresholds and polychoric correlations per group and their asymptotic
  covariance ``Gamma`` (:mod:`lwo.sem.polychoric`); rows with a missing item are dropped
  (lavaan's default ``missing = "listwise"``), or each statistic uses the rows that answered
  its variables (``missing = "pairwise"``).
* Second stage: DWLS, minimising ``sum_g (N_g - 1)/N (s_g - sigma_g)' W_g (s_g - sigma_g)``
  with ``W_g = diag(Gamma_g)^-1`` (lavaan's objective, with its ``(N_g - 1)/N_g`` factor);
  robust (sandwich) covariance ``E^-1 (sum_g f_g D_g' W_g Gamma_g W_g D_g) E^-1 / (N - G)``
  with ``E = sum_g f_g D_g' W_g D_g``, ``f_g = N_g/N``.
* Clusters (``cluster =``, lavaan >= 0.7-2, Mplus ``TYPE = COMPLEX``): Gamma from the
  case-wise first-stage scores summed per cluster, times G/(G-1); the weights ``W_g`` stay
  the unclustered ones. Clusters crossing groups make the groups' Gammas covary (one joint
  Gamma), where lavaan numbers clusters within each group.
* Test: ``chisq = sum_g (N_g - 1) (s_g - sigma_g)' W_g (s_g - sigma_g)`` and lavaan's
  scaled-shifted statistic (``a = sqrt(df / tr((U Gamma)^2))``, shift ``df - a tr(U Gamma)``,
  ``lav_test_satorra_bentler``); the baseline model has free thresholds (means, variances)
  and zero correlations. RMSEA uses ``N - G`` as lavaan does for non-ML estimators; SRMR is
  the root mean square of the correlation residuals (diagonal counted as zeros).
* Delta parameterisation: the latent responses ``y*`` have intercepts 0 and scale factors
  ``delta`` (``~*~``); residual variances are ``1/delta^2 - diag(Lambda Phi Lambda')`` and are
  not parameters; model-implied thresholds are ``(tau - Lambda alpha) * delta`` and
  correlations ``delta_i delta_j [Lambda Phi Lambda' + Theta]_ij``.
* Multiple groups follow lavaan's ``group.equal`` for ordered indicators, in one of two
  identifications of equal thresholds (``fit_ordinal(identification=...)``):
  - ``"lavaan-0.6.14"`` (the default; Debian's lavaan): with "thresholds" equal, the scale
    factors and the latent means are free in every group but the first and the intercepts of
    continuous indicators are equal too; "intercepts" adds no constraint after "thresholds"
    (those of ``y*`` are fixed at 0), so the "intercepts" step equals the "loadings" step.
  - ``"wu-estabrook"`` (Wu & Estabrook, 2016; lavaan >= 0.6-20): with "thresholds" equal,
    the ordered items' intercepts and scale factors are free in the later groups and the
    latent means stay at 0; only "intercepts" equalises intercepts (then the latent means are
    free), so "intercepts" is a step of its own, and the thresholds step alone constrains
    (number of thresholds - 2) per item instead of (number of thresholds - 1) per item less
    one per factor. A binary item keeps its scale at 1 (one threshold identifies the
    intercept only). An item with one threshold left equal (group.partial) keeps its scale at
    1 too, and one with none keeps its intercept at 0 as well: lavaan 0.7-2 frees them, which
    leaves them unidentified (the same chi-square, with df that count them).
  "loadings" equalises loadings in both.
* Difference tests (:func:`lr_test_ordinal`): lavaan's ``lavTestLRT`` default for WLSMV,
  ``method = "satorra.2000"`` with ``scaled.shifted = TRUE`` and ``A.method = "delta"``.

Continuous indicators may be mixed with ordered ones (lavaan: polyserial and Pearson
correlations in the first stage; free intercepts and residual variances, the statistics being
their means, variances and covariances). Derivatives of the model statistics are exact
(complex step).

Structural models: regressions among latent variables and continuous observed variables
(``B``, lavaan's LISREL form for categorical data: an observed variable in a regression is a
"dummy" latent with loading 1 and no residual). Exogenous covariates enter as lavaan's
``conditional.x = FALSE, fixed.x = TRUE`` (stated in the call): they are continuous variables
of the first stage (polyserial correlations with the ordered items, Pearson with the
continuous ones); their means, variances and covariances are fixed at the sample values and
not counted as data, but keep their DWLS weights, which enter the scaled test (as lavaan). A
0/1 covariate split exactly in half has a variance without sampling variance: its weight is
0 here, where lavaan's is 1 / (rounding error) (estimates and SEs agree; the chi-square may
not). Ordered variables and indicators cannot enter regressions.
"""

from __future__ import annotations

import hashlib
import math
from collections import OrderedDict
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from scipy.special import chdtrc
from scipy.special._ufuncs import _ncx2_sf  # what scipy.stats.ncx2.sf calls; scipy.stats costs a job ~0.3 s

from .api import ESTIMATE_COLUMNS, SEMFit, _collinear_text, _inference, _with_single_thread_blas
from .robust import rmsea_ci
from .expr import compile_expression
from .partable import _roles, full_spec_text
from .polychoric import OrdinalStats, _lower_pairs, ordinal_stats, rows_used
from .syntax import ModelDataError, SpecError, parse_spec

__all__ = ["OrdinalFit", "fit_ordinal", "lr_test_ordinal"]

# how equal thresholds identify a multiple-group model (see the module's docstring)
IDENTIFICATIONS = ("lavaan-0.6.14", "wu-estabrook")
GROUP_EQUAL_ORDINAL = ("thresholds", "loadings", "intercepts", "means", "lv.variances",
                       "lv.covariances", "regressions", "residual.covariances")


@dataclass
class _Row:
    lhs: str
    op: str
    rhs: str
    group: int
    free: bool
    value: float = 0.0
    label: str = ""
    eq_key: str = ""
    user: bool = False
    index: int = -1
    start: float | None = None
    exo: bool = False  # a covariate's mean, variance or covariance: fixed at the sample value


@dataclass
class OrdinalFit(SEMFit):
    """:class:`lwo.sem.SEMFit` of a WLSMV fit, plus what the difference test needs."""

    ordered: list = field(default_factory=list)
    group_equal: tuple = ()
    group_partial: tuple = ()
    structural: bool = False  # regressions in the model: lavaan::sem, else lavaan::cfa
    covariates: bool = False  # exogenous covariates: conditional.x = FALSE (see module doc)
    missing: str = "listwise"  # or "pairwise" (lavaan's missing)
    crossed_clusters: bool = False  # clusters crossing groups (not lavaan's numbering within groups)
    identification: str = "lavaan-0.6.14"  # of equal thresholds across groups (fit_ordinal)
    _ord: "_OrdinalModel | None" = field(default=None, repr=False)

    def lavaan_call(self, model: str = "model", data: str = "data") -> str:
        """The lavaan call of this fit. Where thresholds are held equal across groups, its
        group.equal gives this fit's models in the lavaan versions of its ``identification``
        (lavaan 0.6.14's up to 0.6-19, Wu & Estabrook's from 0.6-20); ``spec_full``, every
        parameter written out, gives them in any version with the call without group.equal."""
        ordered = ", ".join(f'"{v}"' for v in self.ordered)
        call = (f'lavaan::{"sem" if self.structural else "cfa"}({model}, data = {data}, '
                f'ordered = c({ordered}), estimator = "WLSMV"')
        if self.covariates:
            call += ", conditional.x = FALSE, fixed.x = TRUE"
        if self.missing != "listwise":
            call += f', missing = "{self.missing}"'
        if self.cluster:
            call += f', cluster = "{self.cluster}"'
        if self.group:
            call += f', group = "{self.group}"'
            if self.group_equal:
                call += ", group.equal = c(" + ", ".join(f'"{g}"' for g in self.group_equal) + ")"
            if self.group_partial:
                call += ", group.partial = c(" + ", ".join(f'"{g}"' for g in self.group_partial) + ")"
            call += ", group.label = c(" + ", ".join(f'"{g}"' for g in self.group_labels) + ")"
        return call + ")"


    def first_stage_table(self) -> pd.DataFrame:
        """What lavaan needs beside the data to give this one-group fit's numbers, lavaan
        0.6.14 included (``NACOV = list(crossprod(V)), WLS.V = list(diag(w))``): a row
        ``weight`` (the DWLS weights w) and, with a cluster, a row ``cluster`` per cluster (V:
        its summed influences on the statistics, scaled so that V'V is the clustered Gamma);
        columns: lavaan's names of the statistics."""
        if len(self._ord.groups) != 1:
            raise ValueError("one group only: lavaan's NACOV has no covariance between groups")
        gd = self._ord.groups[0]
        rows = [gd.w]
        if self.cluster:
            V = gd.stats.cluster_sums
            rows += list(V * math.sqrt(gd.n * len(V) / (len(V) - 1)))
        names, order = _lavaan_stat_order(self._ord.model, gd.stats)
        table = pd.DataFrame(np.asarray(rows)[:, order], columns=names)
        table.insert(0, "kind", ["weight"] + ["cluster"] * (len(rows) - 1))
        return table


class _OrdinalModel:
    """Parameter rows, implied statistics and their derivatives for G groups."""

    def __init__(self, spec: str, ordered: list[str], ngroups: int, group_equal=(), group_partial=(),
                 identification: str = "lavaan-0.6.14"):
        if identification not in IDENTIFICATIONS:
            raise ValueError(f"identification must be one of {IDENTIFICATIONS}, not {identification!r}")
        self.wu_estabrook = identification == "wu-estabrook"
        parsed = parse_spec(spec)
        self.parsed = parsed
        bad = [g for g in group_equal if g not in GROUP_EQUAL_ORDINAL]
        if bad:
            raise SpecError(f"group_equal values not supported for ordinal models: {bad}")
        sts = parsed.statements
        self.latents = list(dict.fromkeys(s.lhs for s in sts if s.op == "=~"))
        names = []
        for s in sts:
            for v in (s.lhs, s.rhs):
                if v and v not in self.latents and v not in names:
                    names.append(v)
        self.ov = names
        self.numeric = np.array([v not in ordered for v in self.ov], bool)
        if self.numeric.all():
            raise SpecError("no observed variable of the model is declared ordered")
        # lavaan's roles with conditional.x = FALSE (then fixed.x = FALSE: the covariates'
        # means, variances and covariances are free parameters)
        _, _, self.ov_x, ov_y, self.lv_x, lv_y, ov_ind = _roles(sts, fixed_x=False)
        self.lvov_y = lv_y + ov_y
        # observed variables in regressions become "dummy" latents (lavaan's LISREL form):
        # loading 1, no residual; their (residual) variances, covariances and means sit in
        # Psi and alpha, so B holds every regression
        in_reg = {v for s in sts if s.op == "~" for v in (s.lhs, s.rhs)}
        self.dummies = [v for v in self.ov if v in in_reg]
        for s in sts:
            if s.op == "~1" and s.lhs not in self.dummies:
                raise SpecError(f"line {s.line}: intercepts/means ('~1') are set by the ordinal "
                                "parameterisation; remove them from the spec")
            if s.op == "~~" and s.lhs == s.rhs and s.lhs in ordered:
                raise SpecError(f"line {s.line}: residual variance of ordered {s.lhs} is not a "
                                "parameter under the delta parameterisation")
            if s.op == "~":
                for v in (s.lhs, s.rhs):
                    if v in ordered:
                        raise SpecError(f"line {s.line}: ordered {v} in a regression is not supported "
                                        "for ordinal models (only continuous observed variables)")
                    if v in ov_ind:
                        raise SpecError(f"line {s.line}: indicator {v} in a regression is not supported "
                                        "for ordinal models")
            if s.op == "~~" and s.lhs != s.rhs and (s.lhs in self.dummies) != (s.rhs in self.dummies) \
                    and not (s.lhs in self.latents or s.rhs in self.latents):
                raise SpecError(f"line {s.line}: a covariance between {s.lhs} and {s.rhs} (one in a "
                                "regression, one an indicator) is not supported for ordinal models")
        self.G = ngroups
        self.group_equal = tuple(group_equal)
        self.group_partial = {p.replace(" ", "") for p in group_partial}
        self.nth: list[int] | None = None
        self.rows: list[_Row] = []
        self._sts = sts

    # ----------------------------------------------------------- rows
    def build(self, nth: list[int]):
        """Create the parameter rows once the number of thresholds per item is known
        (``nth``: 0 for a continuous item)."""
        self.nth = nth
        numeric = dict(zip(self.ov, self.numeric))
        ge = set(self.group_equal)
        lv, ov = self.latents, self.ov
        exo_lv = self.lv_x
        rows: list[_Row] = []
        for g in range(self.G):
            seen_first = set()
            user_keys = set()
            for s in self._sts:
                fixed = s.fixed[g if len(s.fixed) > 1 else 0] if s.fixed else "unset"
                label = s.label[g if len(s.label) > 1 else 0] if s.label else ""
                r = _Row(s.lhs, s.op, s.rhs, g, True, 0.0, label or "", user=True)
                if s.start and s.start[g if len(s.start) > 1 else 0] is not None:
                    r.start = float(s.start[g if len(s.start) > 1 else 0])
                if s.op == "=~":
                    first = s.lhs not in seen_first
                    seen_first.add(s.lhs)
                    if first and fixed == "unset":
                        r.free, r.value = False, 1.0
                    if "loadings" in ge:
                        r.eq_key = f"{s.lhs}=~{s.rhs}"
                elif s.op == "~" and "regressions" in ge:
                    r.eq_key = f"{s.lhs}~{s.rhs}"
                elif s.op == "~~":
                    both_lv = s.lhs in lv and s.rhs in lv
                    if both_lv and s.lhs == s.rhs and "lv.variances" in ge:
                        r.eq_key = f"{s.lhs}~~{s.rhs}"
                    elif both_lv and s.lhs != s.rhs and "lv.covariances" in ge:
                        r.eq_key = f"{s.lhs}~~{s.rhs}"
                    elif not both_lv and "residual.covariances" in ge:
                        r.eq_key = f"{s.lhs}~~{s.rhs}"
                if fixed not in ("unset", None):
                    r.free, r.value = False, float(fixed)
                user_keys.add((s.lhs, s.op, s.rhs))
                user_keys.add((s.rhs, s.op, s.lhs))
                rows.append(r)
            for v, k in zip(ov, nth):
                for m in range(k):
                    rows.append(_Row(v, "|", f"t{m + 1}", g, True,
                                     eq_key=f"{v}|t{m + 1}" if "thresholds" in ge else ""))
            for v in ov:  # ordered items' residual variances are implied by delta
                if numeric[v] and (v, "~~", v) not in user_keys:
                    rows.append(_Row(v, "~~", v, g, True,
                                     eq_key=f"{v}~~{v}" if "residuals" in ge and v not in self.ov_x else ""))
                elif not numeric[v]:
                    rows.append(_Row(v, "~~", v, g, False))
            for f in lv:
                if (f, "~~", f) not in user_keys:
                    rows.append(_Row(f, "~~", f, g, True,
                                     eq_key=f"{f}~~{f}" if "lv.variances" in ge else ""))
            for i, a in enumerate(exo_lv):
                for b in exo_lv[i + 1:]:
                    if (a, "~~", b) not in user_keys:
                        rows.append(_Row(a, "~~", b, g, True,
                                         eq_key=f"{a}~~{b}" if "lv.covariances" in ge else ""))
            # lavaan's auto.cov.y (residual covariances of the pure outcomes) and the
            # covariates' covariances (free: fixed.x = FALSE)
            for i, a in enumerate(self.lvov_y):
                for b in self.lvov_y[i + 1:]:
                    if (a, "~~", b) not in user_keys:
                        rows.append(_Row(a, "~~", b, g, True))
            for i, a in enumerate(self.ov_x):
                for b in self.ov_x[i + 1:]:
                    if (a, "~~", b) not in user_keys:
                        rows.append(_Row(a, "~~", b, g, True))
            # each ordered item's thresholds held equal to the first group's in this group
            n_equal = {v: sum(f"{v}|t{m + 1}" not in self.group_partial for m in range(k))
                       if g > 0 and "thresholds" in ge else 0 for v, k in zip(ov, nth)}
            # the scale factor is free where enough thresholds are equal to identify it: one
            # (lavaan 0.6.14), two (Wu & Estabrook: one more goes to the free intercept); an
            # item whose thresholds are all freed keeps its scale at 1 (else the scale trades off
            # against its thresholds and loading: not identified)
            for v in ov:
                if not numeric[v]:
                    rows.append(_Row(v, "~*~", v, g, n_equal[v] >= (2 if self.wu_estabrook else 1), 1.0))
            for v in ov:
                if numeric[v]:
                    # lavaan 0.6.14: "thresholds" also equalises continuous items' intercepts
                    # (their "threshold" is minus the mean); from 0.6-20 only "intercepts" does
                    eq = ({"intercepts"} if self.wu_estabrook else {"intercepts", "thresholds"}) & ge \
                        and v not in self.ov_x
                    rows.append(_Row(v, "~1", "", g, True, 0.0, eq_key=f"{v}~1" if eq else ""))
                else:
                    # Wu & Estabrook: with equal thresholds an ordered item's intercept is free
                    # in the later groups, unless "intercepts" holds it at the first group's 0
                    free_int = self.wu_estabrook and n_equal[v] >= 1 and (
                        "intercepts" not in ge or f"{v}~1" in self.group_partial)
                    rows.append(_Row(v, "~1", "", g, free_int, 0.0))
            # the latent means are free in the later groups where the items' locations are held
            # equal: by "thresholds" (lavaan 0.6.14, whose "thresholds" implies "intercepts")
            # or by "intercepts" (Wu & Estabrook)
            locations = {"intercepts"} if self.wu_estabrook else {"thresholds", "intercepts"}
            free_means = g > 0 and bool(locations & ge) and "means" not in ge
            for f in lv:
                rows.append(_Row(f, "~1", "", g, free_means, 0.0))
        for r in rows:  # fixed.x: the covariates' moments are fixed (values: fix_covariates)
            if not r.user and r.lhs in self.ov_x and (r.op == "~1" or (r.op == "~~" and r.rhs in self.ov_x)):
                r.free, r.exo = False, True
        for r in rows:  # group.partial: these stay free in every group
            if r.eq_key in self.group_partial:
                r.eq_key = ""
        # free-parameter indices: shared by equal labels and by group.equal keys
        index: dict[str, int] = {}
        n = 0
        for r in rows:
            if not r.free:
                continue
            key = f"label:{r.label}" if r.label else (f"eq:{r.eq_key}" if r.eq_key else None)
            if key is not None and key in index:
                r.index = index[key]
                continue
            r.index = n
            if key is not None:
                index[key] = n
            n += 1
        self.rows = rows
        self.npar = n
        lv_all = lv + self.dummies
        p, m = len(ov), len(lv_all)
        self.p, self.m = p, m
        self.ovi = {v: i for i, v in enumerate(ov)}
        self.lvi = {f: i for i, f in enumerate(lv_all)}
        # one slot per threshold, or for a continuous item its mean (stored as -mean)
        self.slots = np.where(self.numeric, 1, np.asarray(nth, int))
        self.th_start = np.concatenate(([0], np.cumsum(self.slots))).astype(int)
        self.slot_var = np.repeat(np.arange(p), self.slots)
        self.slot_numeric = self.numeric[self.slot_var]
        self.pairs = _lower_pairs(p)
        # statistics of the covariates alone (means, variances, covariances): reproduced by their
        # fixed moments, not counted as data (lavaan's fixed.x with conditional.x = FALSE); they
        # keep their weights, which enter the scaled test
        x = np.array([v in self.ov_x for v in ov])
        self.x_stat = np.concatenate([x[self.slot_var], x[self.numeric], x[self.pairs[0]] & x[self.pairs[1]]])
        return self

    def fix_covariates(self, stats_: list[OrdinalStats]):
        """The covariates' moments at their sample values, per group (fixed.x)."""
        for r in self.rows:
            if r.exo:
                st = stats_[r.group]
                i = self.ovi[r.lhs]
                r.value = float(-st.thresholds[i][0] if r.op == "~1" else st.cov[i, self.ovi[r.rhs]])

    # ----------------------------------------------------------- implied
    def _layout(self, g: int):
        """Where each row of group g goes: (target, flat position, parameter index, fixed value)."""
        p, m = self.p, self.m
        spots = []
        for r in self.rows:
            if r.group != g:
                continue
            if r.op == "=~":
                if r.rhs in self.lvi:
                    raise SpecError("higher-order factors are not supported for ordinal models")
                spots.append(("L", self.ovi[r.rhs] * m + self.lvi[r.lhs], r))
            elif r.op == "~":
                spots.append(("B", self.lvi[r.lhs] * m + self.lvi[r.rhs], r))
            elif r.op == "~~" and r.lhs in self.lvi and r.rhs in self.lvi:
                i, j = self.lvi[r.lhs], self.lvi[r.rhs]
                spots.append(("P", i * m + j, r))
                if i != j:
                    spots.append(("P", j * m + i, r))
            elif r.op == "~~" and r.lhs != r.rhs:
                i, j = self.ovi[r.lhs], self.ovi[r.rhs]
                spots += [("T", i * p + j, r), ("T", j * p + i, r)]
            elif r.op == "~~" and self.numeric[self.ovi[r.lhs]]:
                spots.append(("T", self.ovi[r.lhs] * (p + 1), r))
            elif r.op == "|":
                spots.append(("tau", int(self.th_start[self.ovi[r.lhs]]) + int(r.rhs[1:]) - 1, r))
            elif r.op == "~*~":
                spots.append(("delta", self.ovi[r.lhs], r))
            elif r.op == "~1" and r.lhs in self.lvi:
                spots.append(("alpha", self.lvi[r.lhs], r))
            elif r.op == "~1":
                spots.append(("nu", self.ovi[r.lhs], r))
        one = _Row("", "", "", g, False, 1.0)
        spots += [("L", self.ovi[v] * m + self.lvi[v], one) for v in self.dummies]
        out = {}
        for target in ("L", "B", "P", "T", "tau", "delta", "alpha", "nu"):
            sel = [(pos, r.index, r.value) for t, pos, r in spots if t == target]
            out[target] = (np.array([s[0] for s in sel], int), np.array([s[1] for s in sel], int),
                           np.array([s[2] for s in sel], float))
        return out

    _TARGETS = ("L", "P", "B", "T", "tau", "delta", "alpha", "nu")

    def _plan(self, g: int):
        """Group g's model matrices as one flat vector: (template with the fixed values, positions
        of the free ones, their parameter indices, slices and shapes of the matrices). Built once:
        the optimiser asks for the matrices some thousands of times per fit."""
        if not hasattr(self, "_plans"):
            self._layouts = [self._layout(k) for k in range(self.G)]
            self._plans = [None] * self.G
        if self._plans[g] is None:
            p, m = self.p, self.m
            shapes = {"L": (p, m), "P": (m, m), "B": (m, m), "T": (p, p), "tau": (int(self.th_start[-1]),),
                      "delta": (p,), "alpha": (m,), "nu": (p,)}
            template, slots, parts, start = [], {}, [], 0
            for target in self._TARGETS:
                size = math.prod(shapes[target])
                template.append((np.ones if target == "delta" else np.zeros)(size))
                pos, idx, fixed = self._layouts[g][target]
                for q, i, v in zip(pos, idx, fixed):  # in order: where a place is written twice, the last wins
                    slots[start + q] = (i, v)
                parts.append((slice(start, start + size), shapes[target]))
                start += size
            template = np.concatenate(template)
            free = {q: i for q, (i, v) in slots.items() if i >= 0}
            for q, (i, v) in slots.items():
                if i < 0:
                    template[q] = v
            self._plans[g] = (template, np.array(list(free), int), np.array(list(free.values()), int), parts)
        return self._plans[g]

    def matrices(self, theta: np.ndarray, g: int):
        """Model matrices of group g (L, P, B, T, tau, delta, alpha, nu); ``theta`` of shape (npar,)
        or a batch (K, npar)."""
        template, free_pos, free_idx, parts = self._plan(g)
        batch = theta.reshape(-1, theta.shape[-1])
        flat = np.empty((batch.shape[0], template.size), batch.dtype)
        flat[:] = template
        flat[:, free_pos] = batch[:, free_idx]
        mats = [flat[:, sl].reshape((-1, *shape)) for sl, shape in parts]
        return mats if theta.ndim == 2 else [x[0] for x in mats]

    def implied(self, theta: np.ndarray, g: int):
        """Model statistics in lavaan's ``wls.obs`` order (see :class:`OrdinalStats`);
        ``theta`` of shape (npar,) or a batch (K, npar)."""
        L, Psi, Beta, ThOff, tau, delta, alpha, nu = self.matrices(np.atleast_2d(theta), g)
        if len(self._layouts[g]["B"][0]):
            IB = np.linalg.inv(np.eye(self.m) - Beta)
            Phi = IB @ Psi @ IB.transpose(0, 2, 1)
            alpha = (IB @ alpha[:, :, None])[:, :, 0]
        else:  # no regressions: (I - B)^-1 = I
            Phi = Psi
        S = L @ Phi @ L.transpose(0, 2, 1) + ThOff
        mu = nu + (L @ alpha[:, :, None])[:, :, 0]
        sv = self.slot_var
        th = np.where(self.slot_numeric, -mu[:, sv], (tau - mu[:, sv]) * delta[:, sv])
        num = np.flatnonzero(self.numeric)
        rows, cols = self.pairs
        cor = delta[:, rows] * delta[:, cols] * S[:, rows, cols]
        out = np.concatenate([th, S[:, num, num], cor], axis=1)
        return out if theta.ndim == 2 else out[0]

    def jacobian(self, theta: np.ndarray, g: int) -> np.ndarray:
        """d sigma_g / d theta by complex step (exact to rounding), all parameters at once."""
        h = 1e-30
        batch = np.tile(theta.astype(complex), (self.npar, 1))
        batch[np.arange(self.npar), np.arange(self.npar)] += 1j * h
        return (self.implied(batch, g).imag / h).T

    def row_values(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Estimates and std.all of every row (residual variances computed from delta)."""
        est = np.array([theta[r.index] if r.index >= 0 else r.value for r in self.rows], float)
        std = np.zeros(len(self.rows))
        cache = {}
        for g in range(self.G):
            L, Psi, Beta, ThOff, tau, delta, alpha, nu = self.matrices(theta, g)
            IB = np.linalg.inv(np.eye(self.m) - Beta)
            Phi = IB @ Psi @ IB.T
            S = L @ Phi @ L.T + ThOff
            resid = np.where(self.numeric, np.diag(ThOff), 1.0 / delta**2 - np.diag(L @ Phi @ L.T))
            sd_ov = np.where(self.numeric, np.sqrt(np.abs(np.diag(S))), 1.0 / delta)
            with np.errstate(invalid="ignore"):  # a negative latent variance: nan std.all (the fit notes it)
                cache[g] = (np.sqrt(np.diag(Phi)), sd_ov, resid, np.diag(Psi))
        for k, r in enumerate(self.rows):
            sd_lv, sd_ov, resid, psi = cache[r.group]
            if r.op == "~~" and r.lhs == r.rhs and r.lhs in self.ovi and not self.numeric[self.ovi[r.lhs]]:
                est[k] = resid[self.ovi[r.lhs]]
            e = est[k]
            if r.op == "=~":
                std[k] = e * sd_lv[self.lvi[r.lhs]] / sd_ov[self.ovi[r.rhs]]
            elif r.op == "~":
                std[k] = e * sd_lv[self.lvi[r.rhs]] / sd_lv[self.lvi[r.lhs]]
            elif r.op == "~~" and r.lhs == r.rhs:  # (residual) variance over total variance
                sd = sd_lv if r.lhs in self.lvi else sd_ov
                idx = self.lvi if r.lhs in self.lvi else self.ovi
                std[k] = e / sd[idx[r.lhs]] ** 2
            elif r.op == "~~":  # (residual) covariance over the residual SDs, as lavaan
                var, idx = (psi, self.lvi) if r.lhs in self.lvi else (resid, self.ovi)
                std[k] = e / math.sqrt(abs(var[idx[r.lhs]] * var[idx[r.rhs]]))
            elif r.op == "|":
                std[k] = e / sd_ov[self.ovi[r.lhs]]
            elif r.op == "~*~":
                std[k] = 1.0
            elif r.op == "~1":
                std[k] = e / (sd_lv[self.lvi[r.lhs]] if r.lhs in self.lvi else sd_ov[self.ovi[r.lhs]])
        return est, std

    def start(self, stats_: list[OrdinalStats]) -> np.ndarray:
        """Starting values: sample thresholds, means and half the variances of continuous
        items, loadings 1, factor variances 0.05 (lavaan's "simple" start), the rest 0."""
        theta = np.zeros(self.npar)
        count = np.zeros(self.npar)
        for r in self.rows:
            if r.index < 0:
                continue
            st = stats_[r.group]
            if r.op == "|":
                v = st.thresholds[self.ovi[r.lhs]][int(r.rhs[1:]) - 1]
            elif r.op == "~1" and r.lhs in self.ovi:  # continuous item: its mean (an ordered one: 0)
                i = self.ovi[r.lhs]
                v = -st.thresholds[i][0] if self.numeric[i] else 0.0
            elif r.op == "~~" and r.lhs == r.rhs and r.lhs in self.ovi:
                v = 0.5 * st.variances[self.ovi[r.lhs]]
            elif r.op == "=~":
                v = 1.0
            elif r.op == "~~" and r.lhs == r.rhs:
                v = 0.05
            elif r.op == "~*~":
                v = 1.0
            else:
                v = 0.0
            if r.start is not None:  # start() in the spec
                v = r.start
            theta[r.index] += v
            count[r.index] += 1
        return theta / np.maximum(count, 1)


@dataclass
class _GroupData:
    stats: OrdinalStats
    w: np.ndarray  # DWLS weights 1/diag(Gamma)
    n: int


def _fit_core(model: _OrdinalModel, groups: list[_GroupData], theta0: np.ndarray):
    # lavaan's DWLS objective: sum_g (N_g - 1)/N * F_g
    N = sum(gd.n - 1 for gd in groups)
    fg = [(gd.n - 1) / N for gd in groups]
    obs = [gd.stats.wls_obs for gd in groups]
    sw = [np.sqrt(f * gd.w) for f, gd in zip(fg, groups)]

    def resid(t):
        return np.concatenate([s * (model.implied(t, g) - o) for g, (s, o) in enumerate(zip(sw, obs))])

    def jac(t):
        return np.vstack([s[:, None] * model.jacobian(t, g) for g, s in enumerate(sw)])

    return _levenberg_marquardt(resid, jac, theta0)


@dataclass
class _LMResult:
    x: np.ndarray
    success: bool
    message: str
    nfev: int


def _levenberg_marquardt(resid, jac, x0, tol: float = 1e-13, max_nfev: int = 2000) -> _LMResult:
    """Minimise ||resid(x)||^2 by Levenberg-Marquardt on the normal equations.

    MINPACK's LM (scipy's least_squares "lm") factors the whole residual Jacobian by unblocked
    QR at every step; here the DWLS Jacobians of a block's CFA are tall (1,184 x 312), and
    forming J'J by BLAS and solving the small system is several times cheaper, for the same
    minimum (on the default build's invariance fits the objectives agree to rounding, the
    estimates within 1e-7). Damping lambda * diag(J'J) (Marquardt's scaling), updated from the
    gain ratio (Nielsen, 1999); MINPACK's three stopping rules, each at ``tol``: relative
    decrease of the objective (ftol), relative step (xtol), gradient cosine (gtol)."""
    x = np.array(x0, float)
    r = resid(x)
    f = float(r @ r)
    nfev, lam, nu = 1, 1.0, 2.0
    J = jac(x)
    while True:
        A = J.T @ J
        g = J.T @ r
        scale = np.diag(A).copy()
        # a parameter no residual depends on (not identified): unit scaling, as MINPACK
        scale[~(scale > 0)] = 1.0
        cosine = np.max(np.abs(g) / np.sqrt(scale * f)) if f > 0 else 0.0
        if cosine <= tol:
            return _LMResult(x, True, "the gradient is orthogonal to the residuals (gtol)", nfev)
        if nfev >= max_nfev:
            return _LMResult(x, False, f"{max_nfev} function evaluations without convergence", nfev)
        try:
            step = -np.linalg.solve(A + lam * np.diag(scale), g)
        except np.linalg.LinAlgError:
            lam, nu = lam * nu, nu * 2
            if lam > 1e20:
                return _LMResult(x, False, "no step decreases the objective", nfev)
            continue
        r_new = resid(x + step)
        nfev += 1
        f_new = float(r_new @ r_new) if np.all(np.isfinite(r_new)) else np.inf
        predicted = -float(2 * step @ g + step @ A @ step)
        if predicted > 0 and f_new < f:
            rho = (f - f_new) / predicted
            small_f = f - f_new <= tol * f and predicted <= tol * f
            small_x = np.linalg.norm(np.sqrt(scale) * step) <= tol * np.linalg.norm(np.sqrt(scale) * (x + step))
            x, r, f = x + step, r_new, f_new
            if small_f or small_x:
                return _LMResult(x, True, "the relative change of the objective or of the estimates is "
                                          f"below {tol:g} ({'ftol' if small_f else 'xtol'})", nfev)
            lam, nu = lam * max(1 / 3, 1 - (2 * rho - 1) ** 3), 2.0
            J = jac(x)
        elif not predicted > tol * f * 1e-3:
            # the linear model promises no decrease: the minimum to rounding, unless the
            # gradient says otherwise (steps cut short by a region where the model is undefined)
            if cosine <= 1e-6:
                return _LMResult(x, True, "no further decrease is possible (ftol)", nfev)
            return _LMResult(x, False, "no step decreases the objective", nfev)
        else:
            lam, nu = lam * nu, nu * 2
            if lam > 1e20:
                return _LMResult(x, False, "no step decreases the objective", nfev)


def _bdiag(blocks, diag=False):
    from scipy.linalg import block_diag

    return block_diag(*[np.diag(b) if diag else b for b in blocks])


@_with_single_thread_blas
def fit_ordinal(spec: str, data: pd.DataFrame, *, ordered: list[str], group: str | None = None,
                group_order: list | None = None, group_equal=(), group_partial=(),
                parameterization: str = "delta", missing: str = "listwise", cluster: str | None = None,
                crossed_clusters: bool = True, identification: str = "lavaan-0.6.14") -> OrdinalFit:
    """Fit ``spec`` (lavaan syntax) with ordered (and optionally continuous) indicators by
    WLSMV, as lavaan's
    ``cfa(spec, data, ordered = ordered, estimator = "WLSMV", group = group,
    group.equal = group_equal, group.partial = group_partial, missing = missing)``;
    ``group_partial`` as lavaan's (``"f=~x"``, ``"x|t1"``).

    ``missing``: ``"listwise"`` (lavaan's default) drops incomplete rows; ``"pairwise"`` keeps
    every row with an answer and computes each first-stage statistic from the rows that have
    its variables (:func:`lwo.sem.polychoric.ordinal_stats`). As lavaan, rows without a group
    or (pairwise) without every exogenous covariate are dropped either way: the covariates'
    moments are fixed at their sample values.

    ``cluster``: a column of cluster ids (every used row needs one). The SEs and the test are
    then cluster-robust as lavaan >= 0.7-2's (Mplus ``TYPE = COMPLEX``): the first stage's
    case-wise scores summed per cluster before the outer product, times G/(G-1); the DWLS
    weights, hence the estimates and the unscaled chi-square, do not change. With ``missing =
    "pairwise"`` a missing answer's scores are 0 in its cluster's sums (lavaan 0.7-2 instead
    leaves out every cluster with a hole: its sums are NA, and its SEs shrink towards 0).
    ``crossed_clusters`` (multiple groups): a cluster is one cluster whatever the groups of its
    members and the groups' statistics covary through it, G/(G-1) over all G clusters (as
    :func:`lwo.sem.fit`); False numbers clusters within each group, as lavaan does.

    ``identification`` (multiple groups with equal thresholds): ``"lavaan-0.6.14"`` gives
    lavaan 0.6.14's models (equal thresholds imply equal intercepts, the latent means are
    free); ``"wu-estabrook"`` gives lavaan >= 0.6-20's (Wu & Estabrook, 2016: the ordered
    items' intercepts are free in the later groups and the latent means fixed, until
    ``"intercepts"`` holds the intercepts equal and frees the means; see the module's
    docstring)."""
    if parameterization != "delta":
        raise SpecError('only parameterization = "delta" (lavaan\'s default) is implemented')
    if missing not in ("listwise", "pairwise"):
        raise ValueError(f'missing must be "listwise" or "pairwise" for ordered items, not {missing!r}')
    group_equal = tuple(group_equal)
    ordered = list(ordered)
    probe = _OrdinalModel(spec, ordered, 1, identification=identification)
    items = probe.ov
    extra = ([group] if group else []) + ([cluster] if cluster and cluster != group else [])
    missing_cols = [c for c in items + extra if c not in data.columns]
    if missing_cols:
        raise ValueError(f"variables in the model are not columns of the data: {missing_cols}")
    # as lavaan: rows without a group or (fixed.x) a covariate are dropped either way
    frame = data[items + extra].dropna(subset=list(probe.ov_x) + ([group] if group else []))
    frame = rows_used(frame, items, missing)
    if cluster and frame[cluster].isna().any():
        row = frame.index[frame[cluster].isna().to_numpy()][0]
        raise ValueError(f"column {cluster!r}, row {row!r}: no cluster id")
    if group:
        # lavaan's group order: first appearance in the data
        labels = list(group_order) if group_order is not None else list(pd.unique(data[group].dropna()))
        frames = [frame[frame[group] == lab] for lab in labels]
        for lab, fr in zip(labels, frames):
            if len(fr) == 0:
                raise ValueError(f"group {group}={lab!r} has no " + (
                    "complete rows" if missing == "listwise" else "rows with an answer"))
    else:
        labels, frames = [], [frame]
    covariates = list(probe.ov_x)
    for lab, fr in zip(labels or [None], frames):  # fixed at their sample moments: those must be invertible
        named = covariates and _collinear_text(fr[covariates].to_numpy(dtype=float), covariates,
                                               f" (group {group}={lab!r})" if group else "")
        if named:
            raise ModelDataError(f"{named}: the covariates' covariance matrix is singular")
    ord_items = [it for it in items if it in ordered]
    codes = None  # integer cluster codes per group
    if cluster:
        if group and not crossed_clusters:  # lavaan: clusters numbered within each group
            codes = counted = [pd.factorize(fr[cluster])[0] for fr in frames]
        else:  # one numbering over the groups
            shared = pd.factorize(frame[cluster])[0]
            codes = [shared[(frame[group] == lab).to_numpy()] for lab in labels] if group else [shared]
            counted = [shared]
        if min(len(np.unique(c)) for c in counted) < 2:
            raise ModelDataError(f"fewer than two clusters ({cluster}) among the rows used"
                                 + (" of a group" if len(counted) > 1 else "") + ": no cluster-robust SEs")
    levels, stats_ = _first_stage(frame, frames, items, ord_items, group, labels, missing, codes)
    model = _OrdinalModel(spec, ordered, len(frames), group_equal, group_partial, identification).build(
        [len(levels[it]) - 1 if it in levels else 0 for it in items])
    model.fix_covariates(stats_)
    for lab, st in zip(labels or [None], stats_):
        bad = np.flatnonzero(~(np.diag(st.nacov) > 0) & ~model.x_stat)
        if len(bad):
            # e.g. a variable that is constant among some categories of another
            where = f" (group {group}={lab!r})" if group else ""
            raise ModelDataError(f"the sample statistic {_stat_names(model, st)[bad[0]]}{where} has zero "
                                 "asymptotic variance, so WLSMV has no weight for it")
    # a covariate statistic without sampling variance (the variance of a 0/1 covariate split
    # exactly in half) adds nothing to the test: weight 0
    with np.errstate(divide="ignore"):
        groups = [_GroupData(st, np.where(np.diag(st.nacov) > 0, 1.0 / np.diag(st.nacov), 0.0), st.nobs)
                  for st in stats_]
    res = _fit_core(model, groups, model.start(stats_))
    theta = res.x
    gamma = _gamma_star(groups, clustered=bool(cluster), crossed=bool(group) and crossed_clusters)
    fit = _assemble(model, groups, theta, res, spec, group, labels, ordered, group_equal, missing, gamma, cluster)
    fit.group_partial = tuple(group_partial)
    fit.identification = identification
    fit.crossed_clusters = bool(cluster and group and crossed_clusters)
    fit._model.cluster_codes = codes  # the Wald test's bound on the rank of the clustered covariance
    # equal parameters share labels in spec_full: its call needs no group.equal
    fit.spec_full = _spec_full(model, group, labels, OrdinalFit.lavaan_call(replace(fit, group_equal=())))
    return fit


@dataclass
class _GammaFactor:
    """A clustered Gamma* as F'F, F with a row per cluster: products with it cost a pass over
    the clusters rather than over the statistics twice."""

    F: np.ndarray

    def full(self) -> np.ndarray:
        return self.F.T @ self.F


def _gamma_star(groups: list, clustered: bool, crossed: bool):
    """N Cov(s) of the groups' stacked first-stage statistics s (Gamma_g / f_g for group g, f_g
    = N_g / N): unclustered, a list of per-group blocks; clustered, N V'V G/(G-1) from the
    per-cluster influence sums V (G clusters: per group, or over all groups where they cross,
    whose statistics then covary), as its factor."""
    N = sum(gd.n for gd in groups)
    if not clustered:
        return [gd.stats.nacov * (N / gd.n) for gd in groups]
    sums = [gd.stats.cluster_sums for gd in groups]
    widths = np.cumsum([0] + [V.shape[1] for V in sums])
    if crossed:  # one row per cluster, each group's sums in its columns
        ncl = max(len(V) for V in sums)
        F = np.zeros((ncl, widths[-1]))
        for V, k in zip(sums, widths):
            F[:len(V), k:k + V.shape[1]] = V * math.sqrt(N * ncl / (ncl - 1))
        return _GammaFactor(F)
    F = np.zeros((sum(len(V) for V in sums), widths[-1]))
    r = 0
    for V, k in zip(sums, widths):
        F[r:r + len(V), k:k + V.shape[1]] = V * math.sqrt(N * len(V) / (len(V) - 1))
        r += len(V)
    return _GammaFactor(F)


def _middle(Dv: np.ndarray, gamma) -> np.ndarray:
    """Dv' Gamma* Dv for Gamma* from :func:`_gamma_star` (block-wise where it is a list)."""
    if isinstance(gamma, _GammaFactor):
        FD = gamma.F @ Dv
        return FD.T @ FD
    out, k = 0.0, 0
    for gam in gamma:
        D = Dv[k:k + len(gam)]
        out = out + D.T @ gam @ D
        k += len(gam)
    return out


_FIRST_STAGE: OrderedDict = OrderedDict()  # the last few data sets' first stage (see _first_stage)


def _first_stage(frame, frames, items, ord_items, group, labels, missing, codes=None):
    """Category levels and per-group sample statistics. The same data are fitted under several
    models in a row (an invariance sequence and its item search): the statistics, which depend
    on the data alone, are computed once per data set (keyed by the rows' content)."""
    digest = hashlib.sha1(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes()).hexdigest()
    key = (digest, len(frame), tuple(frame.columns), tuple(items), tuple(ord_items), group, tuple(map(str, labels)),
           missing, None if codes is None else hashlib.sha1(np.concatenate(codes).tobytes()).hexdigest())
    if key in _FIRST_STAGE:
        _FIRST_STAGE.move_to_end(key)
        return _FIRST_STAGE[key]
    # categories as in the pooled data (lavaan: levels of the ordered factor)
    levels = {it: list(np.sort(pd.unique(frame[it].dropna()))) for it in ord_items}
    stats_ = []
    for lab, fr in zip(labels or [None], frames):
        try:
            stats_.append(ordinal_stats(fr, items, ordered=ord_items, levels=levels, missing=missing,
                                        cluster=None if codes is None else codes[len(stats_)]))
        except ValueError as exc:  # keeps its type: a ModelDataError says the data cannot give the model
            raise type(exc)(f"group {group}={lab!r}: {exc}" if group else str(exc)) from None
    _FIRST_STAGE[key] = levels, stats_
    if len(_FIRST_STAGE) > 8:
        _FIRST_STAGE.popitem(last=False)
    return levels, stats_


def _assemble(model, groups, theta, res, spec, group, labels, ordered, group_equal, missing, gamma,
              cluster) -> OrdinalFit:
    N = sum(gd.n for gd in groups)
    G = len(groups)
    fg = [gd.n / N for gd in groups]
    deltas = [model.jacobian(theta, g) for g in range(G)]
    E = sum(f * D.T @ (gd.w[:, None] * D) for f, D, gd in zip(fg, deltas, groups))
    try:
        E_inv = np.linalg.inv(E)
    except np.linalg.LinAlgError:  # e.g. items that do not correlate: a factor with no loading
        raise ValueError("the information matrix is singular: the model is not identified from these data") from None
    v = np.concatenate([f * gd.w for f, gd in zip(fg, groups)])
    B = _middle(v[:, None] * np.vstack(deltas), gamma)  # sum_g f_g D_g' W_g Gamma_g W_g D_g unclustered
    vcov = E_inv @ B @ E_inv / (N - G)  # lavaan: ntotal - ngroups for DWLS
    # tests
    diffs = [gd.stats.wls_obs - model.implied(theta, g) for g, gd in enumerate(groups)]
    F_group = [float(np.sum(gd.w * d * d)) for gd, d in zip(groups, diffs)]
    T = sum((gd.n - 1) * f for gd, f in zip(groups, F_group))  # lavaan: 2 N_g f_g, f_g = (N_g-1)/(2N_g) F_g
    ndat = sum(len(gd.w) for gd in groups) - G * int(model.x_stat.sum())
    df = ndat - model.npar
    Ts, scale, shift = _ss_test(T, df, np.vstack(deltas), groups, fg, E_inv, gamma)
    # baseline: thresholds (means, variances) free, correlations zero (the covariates' at their
    # sample values) -> the residuals are the other correlations
    Tb = 0.0
    base_deltas = []
    for gd in groups:
        nth = len(gd.stats.wls_obs) - len(model.pairs[0])
        free = np.concatenate([np.ones(nth, bool), np.zeros(len(model.pairs[0]), bool)]) & ~model.x_stat
        cor = np.where(free | model.x_stat, 0.0, gd.stats.wls_obs)
        Tb += (gd.n - 1) * float(np.sum(gd.w * cor * cor))
        Db = np.zeros((len(gd.w), int(free.sum())))
        Db[np.flatnonzero(free), np.arange(Db.shape[1])] = 1.0
        base_deltas.append(Db)
    dfb = ndat - sum(D.shape[1] for D in base_deltas)
    Db_all = _bdiag(base_deltas)
    Eb = Db_all.T @ _bdiag([f * gd.w for f, gd in zip(fg, groups)], diag=True) @ Db_all
    # the baseline's parameters are separate per group: stack its block-diagonal Jacobian
    Tbs, scale_b, _ = _ss_test(Tb, dfb, Db_all, groups, fg, np.linalg.inv(Eb), gamma)
    fi = _fit_measures(T, Ts, df, scale, shift, Tb, Tbs, dfb, scale_b, N, G, model, theta, groups, diffs)
    fi["npar"] = model.npar  # as lavaan's fitMeasures: equal parameters counted once
    est, std = model.row_values(theta)
    names = _param_names(model)
    records = []
    for k, r in enumerate(model.rows):
        se = math.sqrt(vcov[r.index, r.index]) if r.index >= 0 else 0.0
        rec = {"lhs": r.lhs, "op": r.op, "rhs": r.rhs, "group": r.group + 1, "label": r.label, "est": est[k]}
        rec.update(_inference(est[k], se))
        if cluster:  # as lwo.sem.fit with MLR and a cluster: the robust SEs are the clustered ones
            rec.update(_inference(est[k], se, ".cluster"))
        rec["std.all"] = std[k]
        rec["free"] = r.index + 1
        rec["user"] = int(r.user)
        records.append(rec)
    for d in model.parsed.definitions:
        e, se, es = _defined(model, theta, vcov, d.expr, est, std)
        rec = {"lhs": d.name, "op": ":=", "rhs": d.expr, "group": 0, "label": d.name, "est": e}
        rec.update(_inference(e, se))
        if cluster:
            rec.update(_inference(e, se, ".cluster"))
        rec.update({"std.all": es, "free": 0, "user": 1})
        records.append(rec)
    table = pd.DataFrame.from_records(records)
    if cluster:  # the column order of lwo.sem.fit's table
        first = ESTIMATE_COLUMNS + [c for c in table.columns if c.endswith(".cluster")]
        table = table[first + [c for c in table.columns if c not in first]]
    converged = bool(res.success) and bool(np.all(np.isfinite(theta)))
    notes = _admissibility(records)
    message = f"{'converged' if converged else 'not converged'} ({res.message})"
    if notes:
        message += "; " + "; ".join(notes)
    fit = OrdinalFit(
        estimates=table, fit_indices=fi, converged=converged, iterations=int(res.nfev),
        message=message, warnings=notes, vcov=pd.DataFrame(vcov, index=names, columns=names),
        vcov_cluster=pd.DataFrame(vcov, index=names, columns=names) if cluster else None, cluster=cluster,
        spec=spec,
        nobs={(str(lab) if group else "all"): gd.n for lab, gd in zip(labels or ["all"], groups)},
        group=group, group_labels=list(labels), ordered=list(ordered), group_equal=tuple(group_equal), missing=missing,
        _theta=theta, _ord=_State(model, groups, theta, deltas, E_inv, T, df, gamma),
        structural=any(s.op == "~" for s in model.parsed.statements), covariates=bool(model.ov_x),
        _model=_EngineView(model),
        spec_full="",
    )
    return fit


def _stat_names(model: _OrdinalModel, st: OrdinalStats) -> list[str]:
    """lavaan's names of the first-stage statistics, in ``wls_obs`` order."""
    names = [f"{v}~1" if nu else f"{v}|t{k + 1}" for v, nu, th in zip(model.ov, model.numeric, st.thresholds)
             for k in range(len(th))]
    names += [f"{v}~~{v}" for v, nu in zip(model.ov, model.numeric) if nu]
    return names + [f"{model.ov[i]}~~{model.ov[j]}" for i, j in zip(*model.pairs)]


def _lavaan_stat_order(model: _OrdinalModel, st: OrdinalStats) -> tuple[list[str], np.ndarray]:
    """lavaan's names and order of the first-stage statistics (its variables: the model's in
    order of appearance, the exogenous covariates last; correlations by rows of the upper
    triangle), and where each is in ``wls_obs``."""
    ov = list(model.ov)
    lav = [v for v in ov if v not in model.ov_x] + [v for v in ov if v in model.ov_x]
    start = np.concatenate(([0], np.cumsum([len(t) for t in st.thresholds]))).astype(int)
    var_at = {v: int(start[-1]) + k for k, v in enumerate(v for v, nu in zip(ov, model.numeric) if nu)}
    pair_at = {frozenset((ov[i], ov[j])): st.n_univariate + q for q, (i, j) in enumerate(zip(*model.pairs))}
    names, order = [], []
    for v in lav:
        j = ov.index(v)
        k = len(st.thresholds[j])
        names += [f"{v}~1"] if model.numeric[j] else [f"{v}|t{m + 1}" for m in range(k)]
        order += range(start[j], start[j] + k)
    for v in lav:
        if v in var_at:
            names.append(f"{v}~~{v}")
            order.append(var_at[v])
    for a, u in enumerate(lav):
        for w in lav[a + 1:]:
            names.append(f"{u}~~{w}")
            order.append(pair_at[frozenset((u, w))])
    return names, np.array(order)


@dataclass
class _ParTableView:
    rows: list
    label_index: dict
    label_fixed: dict
    definitions: list
    ov_names: list  # the sizes lwo.sem_results weighs a sample against
    npar: int
    ngroups: int


class _EngineView:
    """A fitted ordinal model as lwo.sem_results and :func:`lwo.sem.wald_test` read a fit's
    engine (``fit._model``): its parameter rows, labels and definitions, the std.all of every
    row, and the implied covariance matrix of the latent variables and of the observed
    variables in regressions (``full_cov``)."""

    def __init__(self, model: _OrdinalModel):
        self.model = model
        index = {r.label: r.index for r in model.rows if r.label and r.index >= 0}
        fixed = {r.label: r.value for r in model.rows if r.label and r.index < 0 and r.label not in index}
        self.pt = _ParTableView(model.rows, index, fixed, list(model.parsed.definitions), list(model.ov),
                                model.npar, model.G)
        self.var_names = list(model.lvi)
        self.ngroups = model.G

    def standardized_rows(self, theta: np.ndarray) -> np.ndarray:
        return self.model.row_values(theta)[1]

    def standardized_group(self, theta: np.ndarray, g: int, imp=None) -> np.ndarray:
        """std.all of group g's rows in table order (the engine's standardization is over all groups)."""
        return self.standardized_rows(theta)[[k for k, r in enumerate(self.pt.rows) if r.group == g]]

    def implied(self, theta: np.ndarray, g: int):
        _, Psi, Beta, *_ = self.model.matrices(theta, g)
        IB = np.linalg.inv(np.eye(self.model.m) - Beta)
        return _Implied(IB @ Psi @ IB.T)


@dataclass
class _Implied:
    full_cov: np.ndarray


def _admissibility(records: list[dict]) -> list[str]:
    """Negative (residual) variances among the estimates' records: the solution is improper
    (lavaan warns likewise)."""
    return [f"negative variance {r['lhs']} ~~ {r['rhs']} in group {r['group']} ({r['est']:.3f})"
            for r in records if r["op"] == "~~" and r["lhs"] == r["rhs"] and r["est"] < 0]


@dataclass
class _State:
    model: _OrdinalModel
    groups: list
    theta: np.ndarray
    deltas: list
    E_inv: np.ndarray
    T: float
    df: int
    gamma: object  # Gamma* (:func:`_gamma_star`)


def _ss_test(T, df, D_all, groups, fg, E_inv, gamma):
    """lavaan's scaled-shifted statistic: U Gamma* over all groups (``lav_test_satorra_bentler``)."""
    if df == 0:  # a saturated model (e.g. one factor of three items): nothing to scale
        return float(T), float("nan"), float("nan")
    v = np.concatenate([f * gd.w for f, gd in zip(fg, groups)])
    U = -((v[:, None] * D_all) @ E_inv @ D_all.T * v)  # V D E^-1 D' V with V = diag(v), exactly
    U[np.diag_indices_from(U)] += v
    tr1, tr2 = _traces(U, gamma)
    a = math.sqrt(df / tr2)
    return a * T + df - a * tr1, 1.0 / a, df - a * tr1


def _traces(U, gamma) -> tuple[float, float]:
    """tr(U Gamma*) and tr((U Gamma*)^2) for Gamma* of :func:`_gamma_star`; where it is block
    diagonal (a list of blocks), one block of columns at a time; for Gamma* = F'F from the
    small F U F' (the traces are invariant under the cycle)."""
    if isinstance(gamma, _GammaFactor):
        A = gamma.F @ U @ gamma.F.T
        return float(np.trace(A)), float(np.sum(A * A.T))
    UG = np.empty_like(U)
    k = 0
    for gam in gamma:
        UG[:, k:k + len(gam)] = U[:, k:k + len(gam)] @ gam
        k += len(gam)
    return float(np.trace(UG)), float(np.sum(UG * UG.T))


def _chi2_sf(x: float, df: float, nc: float = 0.0) -> float:
    """scipy.stats.chi2.sf(x, df) (nc = 0) or ncx2.sf(x, df, nc): the same special functions
    and edge cases, without importing scipy.stats."""
    if math.isnan(x) or not df > 0:
        return float("nan")
    if x <= 0 or x == math.inf:
        return 1.0 if x <= 0 else 0.0
    return float(_ncx2_sf(x, df, nc) if nc else chdtrc(df, x))


def _fit_measures(T, Ts, df, scale, shift, Tb, Tbs, dfb, scale_b, N, G, model, theta, groups, diffs):
    n_rmsea = N - G  # lavaan: ntotal - ngroups for non-ML estimators

    def cfi(x, d, xb, db):
        t1 = max(x - d, 0.0)
        t2 = max(x - d, xb - db, 0.0)
        return 1.0 if t2 == 0 else 1.0 - t1 / t2

    def tli(x, d, xb, db):
        return ((xb / db) - (x / d)) / ((xb / db) - 1.0) if d > 0 else 1.0

    def rmsea(x, d):
        return math.sqrt(max(x / n_rmsea / d - 1.0 / n_rmsea, 0.0)) * math.sqrt(G) if d > 0 else 0.0

    def rmsea_p(x, d):  # lavaan: P(RMSEA <= .05)
        return _chi2_sf(x, d, n_rmsea * d * 0.05**2 / G) if d > 0 else float("nan")

    lo, hi = rmsea_ci(T, df, n_rmsea, G)
    los, his = rmsea_ci(Ts, df, n_rmsea, G)
    # SRMR: root mean square of the correlation residuals (diagonal included, as zeros)
    p = model.p
    rows, cols = model.pairs
    srmr_g = []
    for g, gd in enumerate(groups):
        st = gd.stats
        imp = model.implied(theta, g)
        u = st.n_univariate
        v = np.ones(p)
        v[st.numeric] = imp[u - int(st.numeric.sum()):u]
        implied_cor = imp[u:] / np.sqrt(v[rows] * v[cols])
        resid = st.corr[rows, cols] - implied_cor
        srmr_g.append(math.sqrt(float(np.sum(resid**2)) / (p * (p + 1) / 2)))
    fg = [gd.n / N for gd in groups]
    return {
        "chisq": T, "df": df, "pvalue": _chi2_sf(T, df) if df > 0 else float("nan"),
        "chisq.scaled": Ts, "df.scaled": df, "pvalue.scaled": _chi2_sf(Ts, df) if df > 0 else float("nan"),
        "chisq.scaling.factor": scale, "chisq.shift.parameters": shift,
        "baseline.chisq": Tb, "baseline.df": dfb, "baseline.pvalue": _chi2_sf(Tb, dfb),
        "baseline.chisq.scaled": Tbs, "baseline.df.scaled": dfb,
        "baseline.chisq.scaling.factor": scale_b,
        "cfi": cfi(T, df, Tb, dfb), "tli": tli(T, df, Tb, dfb),
        "cfi.scaled": cfi(Ts, df, Tbs, dfb), "tli.scaled": tli(Ts, df, Tbs, dfb),
        "rmsea": rmsea(T, df), "rmsea.ci.lower": lo, "rmsea.ci.upper": hi, "rmsea.pvalue": rmsea_p(T, df),
        "rmsea.scaled": rmsea(Ts, df), "rmsea.ci.lower.scaled": los, "rmsea.ci.upper.scaled": his,
        "rmsea.pvalue.scaled": rmsea_p(Ts, df),
        "srmr": float(sum(f * s for f, s in zip(fg, srmr_g))),
        "ntotal": N, "nobs": N, "ngroups": G,
        # no likelihood under DWLS (lavaan reports NA)
        "logl": float("nan"), "unrestricted.logl": float("nan"), "aic": float("nan"),
        "bic": float("nan"), "bic2": float("nan"),
    }


def _param_names(model: _OrdinalModel) -> list[str]:
    names = [""] * model.npar
    for r in model.rows:
        if r.index >= 0 and not names[r.index]:
            base = f"{r.lhs}{r.op}{r.rhs}"
            names[r.index] = r.label or (base if r.group == 0 else f"{base}.g{r.group + 1}")
    return names


def _label_values(model, values: np.ndarray) -> dict:
    out = {}
    for k, r in enumerate(model.rows):
        if r.label and r.label not in out:
            out[r.label] = values[k]
    return out


def _defined(model, theta, vcov, expr, est, std):
    f = compile_expression(expr)
    defs = model.parsed.definitions

    def value(t, standardized=False):
        e, s = model.row_values(t)
        vals = _label_values(model, s if standardized else e)
        for d in defs:
            vals[d.name] = compile_expression(d.expr)(vals)
            if d.expr == expr:
                break
        return f(vals)

    e = value(theta)
    grad = np.zeros(theta.size)
    for k in range(theta.size):
        h = 1e-6 * max(1.0, abs(theta[k]))
        tp, tm = theta.copy(), theta.copy()
        tp[k] += h
        tm[k] -= h
        grad[k] = (value(tp) - value(tm)) / (2 * h)
    var = float(grad @ vcov @ grad)
    return e, math.sqrt(var) if var >= 0 else float("nan"), value(theta, True)


def _spec_full(model: _OrdinalModel, group, labels, call: str) -> str:
    """Every parameter written out in lavaan syntax, to refit with the call in the header
    (no ``group.equal`` needed: equal parameters share a label)."""

    def scale_implied(lhs, op, rhs):  # an ordered item's residual variance follows from its scale factor
        return op == "~~" and lhs == rhs and lhs in model.ovi and not model.numeric[model.ovi[lhs]]

    return full_spec_text(model.rows, model.G,
                          title=f"Every parameter written out (WLSMV, delta parameterisation); fit with {call}",
                          group_labels=labels if group else None, covariates=model.ov_x,
                          names=set(model.ov) | set(model.latents), latents=set(model.latents),
                          definitions=model.parsed.definitions, skip=scale_implied)


@_with_single_thread_blas
def lr_test_ordinal(restricted: OrdinalFit, free: OrdinalFit) -> dict:
    """Scaled-shifted difference test as lavaan's ``lavTestLRT(free, restricted)`` for WLSMV
    (``method = "satorra.2000"``, ``scaled.shifted = TRUE``, ``A.method = "delta"``, ``H1 = TRUE``),
    from the clustered Gamma where the fits have a cluster.

    Keys as :func:`lwo.sem.lr_test` (``chisq_diff``, ``df_diff``, ``pvalue``, ``cfi_diff`` and
    ``rmsea_diff``, here from the scaled indices) plus lavaan's scale ``a`` and shift ``b``.
    Models with equal df (lavaan's "intercepts" step for ordered items) give ``df_diff`` 0 and a
    NaN p-value, as lavaan does."""
    for f, role in ((restricted, "restricted"), (free, "free")):
        if not f.converged:
            raise ValueError(f"the {role} model did not converge: {f.message}")
    if restricted.fit_indices["nobs"] != free.fit_indices["nobs"]:
        raise ValueError("models were fitted to different numbers of observations")
    if (restricted.cluster, restricted.crossed_clusters) != (free.cluster, free.crossed_clusters):
        raise ValueError("models were fitted with different clusters")
    if restricted.identification != free.identification and all(
            "thresholds" in f.group_equal for f in (restricted, free)):
        # e.g. lavaan 0.6.14's thresholds model holds intercepts equal that Wu & Estabrook's
        # loadings model frees: not nested
        raise ValueError("models with equal thresholds in different identifications are not nested "
                         f"({free.identification} and {restricted.identification})")
    m1, m0 = free._ord, restricted._ord
    m = m0.df - m1.df
    out = {"method": "satorra.2000 (scaled.shifted)", "df_diff": int(m),
           "cfi_diff": float(restricted.fit_indices["cfi.scaled"] - free.fit_indices["cfi.scaled"]),
           "rmsea_diff": float(restricted.fit_indices["rmsea.scaled"] - free.fit_indices["rmsea.scaled"])}
    if m < 0:
        raise ValueError(f"the restricted model must have at least the free model's df (difference {m})")
    if m == 0:
        out.update({"chisq_diff": float(m0.T - m1.T), "pvalue": float("nan"), "a": float("nan"),
                    "b": float("nan")})
        return out
    groups = m1.groups
    N = sum(gd.n for gd in groups)
    fg = np.array([gd.n / N for gd in groups])
    D1 = np.vstack(m1.deltas)
    D0 = np.vstack(m0.deltas)
    H = np.linalg.pinv(D1) @ D0
    # orthogonal complement of H's column space (rows of A)
    q, rr = np.linalg.qr(H, mode="complete")
    rank = np.linalg.matrix_rank(H)
    A = q[:, rank:].T
    P_inv = m1.E_inv
    APA = A @ P_inv @ A.T
    keep = ~((np.abs(APA.sum(0)) < np.finfo(float).eps ** 0.5) & (np.abs(APA.sum(1)) < np.finfo(float).eps ** 0.5))
    A = A[keep]
    PAAPAAP = P_inv @ A.T @ np.linalg.pinv(A @ P_inv @ A.T) @ A @ P_inv
    v = np.concatenate([f * gd.w for f, gd in zip(fg, groups)])
    U = (v[:, None] * D1) @ PAAPAAP @ D1.T * v  # V D1 PAAPAAP D1' V with V = diag(v)
    tr, tr2 = _traces(U, m1.gamma)
    a = math.sqrt(m / tr2)
    b = m - a * tr
    stat = (m0.T - m1.T) * a + b
    out.update({"chisq_diff": float(stat), "pvalue": _chi2_sf(stat, m), "a": a, "b": float(b)})
    return out
