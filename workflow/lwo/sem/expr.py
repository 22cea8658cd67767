"""Safe evaluation of lavaan ``:=`` expressions (R arithmetic on parameter labels)."""

from __future__ import annotations

import ast
from functools import lru_cache
import math
import operator
from collections.abc import Callable, Mapping

__all__ = ["compile_expression", "expression_names"]

_BINARY = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}
_UNARY = {ast.UAdd: operator.pos, ast.USub: operator.neg}
_FUNCTIONS: dict[str, Callable[..., float]] = {
    "exp": math.exp,
    "log": math.log,
    "sqrt": math.sqrt,
    "abs": abs,
}


def _to_python(expr: str) -> str:
    if any(token in expr for token in ("__", "lambda", ";")):
        raise ValueError(f"invalid expression {expr!r}")
    return expr.replace("^", "**")


@lru_cache(maxsize=None)  # definitions are re-evaluated at every finite-difference step
def _parse(expr: str) -> ast.Expression:
    try:
        tree = ast.parse(_to_python(expr), mode="eval")
    except SyntaxError as err:
        raise ValueError(f"cannot parse expression {expr!r}: {err.msg}") from None
    for node in ast.walk(tree):
        allowed = (
            ast.Expression,
            ast.BinOp,
            ast.UnaryOp,
            ast.Constant,
            ast.Name,
            ast.Load,
            ast.Call,
            *_BINARY,
            *_UNARY,
        )
        if not isinstance(node, allowed):
            raise ValueError(f"unsupported element {type(node).__name__} in expression {expr!r}")
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in _FUNCTIONS or node.keywords:
                raise ValueError(f"unsupported function call in expression {expr!r}")
        if isinstance(node, ast.Constant) and not isinstance(node.value, (int, float)):
            raise ValueError(f"unsupported constant in expression {expr!r}")
    return tree


def expression_names(expr: str) -> list[str]:
    """Parameter labels used by an expression (function names excluded)."""
    tree = _parse(expr)
    calls = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and id(node) not in calls and node.id not in names:
            names.append(node.id)
    return names


@lru_cache(maxsize=None)
def compile_expression(expr: str) -> Callable[[Mapping[str, float]], float]:
    """Return f(values) evaluating the expression with label values from a mapping."""
    tree = _parse(expr)

    def evaluate(node, values):
        if isinstance(node, ast.Expression):
            return evaluate(node.body, values)
        if isinstance(node, ast.Constant):
            return float(node.value)
        if isinstance(node, ast.Name):
            if node.id not in values:
                raise KeyError(node.id)
            return float(values[node.id])
        if isinstance(node, ast.BinOp):
            left, right = evaluate(node.left, values), evaluate(node.right, values)
            try:
                return _BINARY[type(node.op)](left, right)
            except ZeroDivisionError:
                return math.nan
        if isinstance(node, ast.UnaryOp):
            return _UNARY[type(node.op)](evaluate(node.operand, values))
        if isinstance(node, ast.Call):
            args = [evaluate(a, values) for a in node.args]
            try:
                return _FUNCTIONS[node.func.id](*args)
            except ValueError:
                return math.nan
        raise ValueError(type(node).__name__)  # pragma: no cover - rejected in _parse

    return lambda values: evaluate(tree, values)
