"""Structural equation models by maximum likelihood, reproducing lavaan's ``sem()``.

ML or robust ML (``estimator="MLR"``), complete data, listwise deletion or
full-information ML (``missing="ml"``/``"ml.x"``), cluster-robust inference with
clusters that may cross groups, scaled difference tests (``lr_test``), Wald tests
(``wald_test``) and the delta method (``delta_method``).

``fit(spec, data, group=..., cluster=...)`` takes lavaan model syntax and returns a
:class:`SEMFit` with lavaan-named estimates (``parameterEstimates`` columns plus
``std.all``), fit indices (``fitMeasures`` names), the parameter covariance matrix and
``spec_full`` (every default parameter written out, to refit in lavaan).
"""

from importlib import import_module
from typing import TYPE_CHECKING

from .syntax import ModelDataError, SpecError, parse_spec

if TYPE_CHECKING:  # the lazy attributes' modules as imports, for what reads imports without running them:
    # type checkers, and the workflow, whose jobs rerun when a file their code imports changes
    from . import api, ordinal, polychoric  # noqa: F401

# Loaded on first use: the estimation engines import numpy and scipy, which a job that only
# reads model syntax (the diagrams) need not pay for, and the ordinal (WLSMV) engine imports
# scipy.stats, about a second per job, which the continuous fits need not pay for.
_LAZY = {**dict.fromkeys(("SEMFit", "count_text", "defined", "delta_method", "fit", "invariance", "invariance_models",
                          "invariance_table", "lavaan_call", "lr_test", "suppress_row_counts",
                          "wald_test"), "api"),
         **dict.fromkeys(("OrdinalFit", "fit_ordinal", "lr_test_ordinal"), "ordinal"), "rows_used": "polychoric"}


def __getattr__(name):
    if name in _LAZY:
        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    try:  # a submodule (sem.api, sem.ordinal, ...), as if the package had imported it
        return import_module(f".{name}", __name__)
    except ModuleNotFoundError as exc:
        if exc.name != f"{__name__}.{name}":
            raise
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ModelDataError",
    "OrdinalFit",
    "SEMFit",
    "SpecError",
    "count_text",
    "defined",
    "delta_method",
    "fit",
    "fit_ordinal",
    "invariance",
    "invariance_models",
    "invariance_table",
    "lavaan_call",
    "lr_test",
    "lr_test_ordinal",
    "parse_spec",
    "rows_used",
    "suppress_row_counts",
    "wald_test",
]
