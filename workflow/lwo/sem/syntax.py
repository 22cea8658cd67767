"""Parser for the lavaan model syntax subset used by the pipeline.

Supported:  ``=~`` (loadings), ``~`` (regressions), ``~~`` (variances/covariances),
``~ 1`` (intercepts/means), ``:=`` (defined parameters), ``==`` between two labels
(equality), comments (``#`` or ``!``), statements split by newlines or ``;``, a
statement continued on the next line after a trailing ``+`` / operator, several
left-hand sides (``y1 + y2 ~ x``), and the modifiers ``label*x``, ``0.5*x``,
``NA*x``, ``c(a, b)*x``, ``c(1, NA)*x``, ``start(0.5)*x`` and ``label("a")*x``,
chained as in lavaan (``NA*a*x``).

Anything else that lavaan accepts (``<~``, ``|``, ``%``, inequality constraints,
``efa()``, interactions ``x:z``) raises :class:`SpecError`, so a spec never means
something different here than in lavaan.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

__all__ = ["ModelDataError", "SpecError", "Statement", "Constraint", "Definition", "ParsedSpec", "parse_spec"]


class SpecError(ValueError):
    """The model specification cannot be parsed or is not supported."""


class ModelDataError(ValueError):
    """The data cannot give the model, for a reason the message names with the variables it
    concerns (one nobody answered or everyone answered alike, two never observed together,
    collinear ones) or with the counts behind it (an unrestricted model the rows do not determine).
    Defined here, beside SpecError, so that code reporting it need not load the engine."""


@dataclass
class Statement:
    """One model element ``lhs op rhs`` with its modifiers.

    ``fixed``: per-group fixed values (``None`` entries mean ``NA``, i.e. explicitly free),
    ``label``: per-group labels (``""`` = no label); lists of length 1 are recycled
    over groups, as lavaan does.
    """

    lhs: str
    op: str
    rhs: str
    fixed: list[float | None] | None = None
    label: list[str] | None = None
    start: list[float | None] | None = None
    line: int = 0


@dataclass
class Constraint:
    """Equality of two labelled parameters (``a == b``)."""

    lhs: str
    rhs: str
    line: int = 0


@dataclass
class Definition:
    """Defined parameter ``name := expression``."""

    name: str
    expr: str
    line: int = 0


@dataclass
class ParsedSpec:
    statements: list[Statement] = field(default_factory=list)
    constraints: list[Constraint] = field(default_factory=list)
    definitions: list[Definition] = field(default_factory=list)


_IDENT = r"[A-Za-z_.][A-Za-z0-9_.]*"
_IDENT_RE = re.compile(rf"^{_IDENT}$")
_NUMBER_RE = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
# operators, longest first so that '=~' is not read as '='
_OPERATORS = [":=", "=~", "~~", "<~", "==", "|~", "~*~", "<", ">", "~", "|", "%"]
_UNSUPPORTED_OPS = {"<~", "|~", "~*~", "<", ">", "|", "%"}


def _strip_comment(line: str) -> str:
    in_quote: str | None = None
    for pos, char in enumerate(line):
        if in_quote:
            if char == in_quote:
                in_quote = None
        elif char in "\"'":
            in_quote = char
        elif char in "#!":
            return line[:pos]
    return line


def _split_top(text: str, sep: str) -> list[str]:
    """Split at `sep` outside parentheses; a '+' in a number exponent is not a separator."""
    parts, depth, current = [], 0, []
    for pos, char in enumerate(text):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == sep and depth == 0:
            if sep == "+" and pos > 0 and text[pos - 1] in "eE" and pos >= 2 and text[pos - 2].isdigit():
                current.append(char)
                continue
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def _logical_statements(spec: str) -> list[tuple[int, str]]:
    """Join continuation lines and split at ';'. Returns (line number, text)."""
    raw = []
    for number, line in enumerate(spec.splitlines(), start=1):
        text = _strip_comment(line).strip()
        for piece in text.split(";"):
            piece = piece.strip()
            if piece:
                raw.append((number, piece))
    joined: list[tuple[int, str]] = []
    for number, text in raw:
        if joined:
            prev_number, prev = joined[-1]
            continues = prev.endswith(("+", "*", "=~", "~~", "~", ":=", "==", ",", "(")) or text.startswith(
                ("+", "*", ",", ")")
            )
            if continues:
                joined[-1] = (prev_number, f"{prev} {text}")
                continue
        joined.append((number, text))
    return joined


def _find_operator(text: str) -> tuple[str, int]:
    depth = 0
    pos = 0
    while pos < len(text):
        char = text[pos]
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif depth == 0:
            for op in _OPERATORS:
                if text.startswith(op, pos):
                    return op, pos
        pos += 1
    return "", -1


def _parse_value(token: str, line: int) -> tuple[str, object]:
    """Classify one modifier element: ('fixed', float|None) or ('label', str)."""
    token = token.strip()
    if token == "NA":
        return "fixed", None
    if _NUMBER_RE.match(token):
        return "fixed", float(token)
    if len(token) >= 2 and token[0] == token[-1] and token[0] in "\"'":
        return "label", token[1:-1]
    if _IDENT_RE.match(token):
        if token in ("TRUE", "FALSE", "Inf", "NaN"):
            raise SpecError(f"line {line}: unsupported modifier value {token!r}")
        return "label", token
    raise SpecError(f"line {line}: cannot read modifier value {token!r}")


def _parse_modifier(token: str, line: int, mods: dict) -> None:
    token = token.strip()
    call = re.match(r"^([A-Za-z_.][A-Za-z0-9_.]*)\s*\((.*)\)$", token, re.S)
    if call:
        func, inner = call.group(1), call.group(2)
        elements = [e for e in _split_top(inner, ",")]
        if func == "c":
            kinds = [_parse_value(e, line) for e in elements]
            kind_set = {k for k, _ in kinds}
            if len(kind_set) != 1:
                raise SpecError(f"line {line}: c() mixes labels and values: {token!r}")
            kind = kind_set.pop()
            values = [v for _, v in kinds]
        elif func in ("start", "label", "equal"):
            if func == "equal":
                raise SpecError(f"line {line}: equal() modifier is not supported; use shared labels")
            parsed = [_parse_value(e, line) for e in elements]
            if func == "start":
                kind = "start"
                values = [v for _, v in parsed]
            else:
                kind = "label"
                values = [str(v) for _, v in parsed]
        else:
            raise SpecError(f"line {line}: unsupported modifier {func}()")
    else:
        kind, value = _parse_value(token, line)
        values = [value]
    if kind in mods:
        raise SpecError(f"line {line}: two {kind} modifiers on one element")
    mods[kind] = values


def _parse_term(term: str, line: int) -> tuple[str, dict]:
    pieces = [p.strip() for p in _split_top(term, "*")]
    if any(p == "" for p in pieces):
        raise SpecError(f"line {line}: empty term in {term!r}")
    variable = pieces[-1]
    mods: dict = {}
    for piece in pieces[:-1]:
        _parse_modifier(piece, line, mods)
    return variable, mods


def _check_name(name: str, line: int) -> None:
    if ":" in name:
        raise SpecError(f"line {line}: interaction terms ({name!r}) are not supported")
    if not _IDENT_RE.match(name):
        raise SpecError(f"line {line}: invalid variable name {name!r}")


def parse_spec(spec: str) -> ParsedSpec:
    """Parse lavaan model syntax into statements, equality constraints and definitions."""
    if not isinstance(spec, str) or not spec.strip():
        raise SpecError("empty model specification")
    out = ParsedSpec()
    for line, text in _logical_statements(spec):
        op, pos = _find_operator(text)
        if not op:
            raise SpecError(f"line {line}: no operator in {text!r}")
        lhs_text, rhs_text = text[:pos].strip(), text[pos + len(op):].strip()
        if op in _UNSUPPORTED_OPS:
            raise SpecError(f"line {line}: operator {op!r} is not supported")
        if not lhs_text or not rhs_text:
            raise SpecError(f"line {line}: incomplete statement {text!r}")
        if op == ":=":
            if not _IDENT_RE.match(lhs_text):
                raise SpecError(f"line {line}: invalid name for defined parameter {lhs_text!r}")
            out.definitions.append(Definition(lhs_text, rhs_text, line))
            continue
        if op == "==":
            if not (_IDENT_RE.match(lhs_text) and _IDENT_RE.match(rhs_text)):
                raise SpecError(f"line {line}: only 'label == label' constraints are supported")
            out.constraints.append(Constraint(lhs_text, rhs_text, line))
            continue
        lhs_names = [p.strip() for p in _split_top(lhs_text, "+")]
        for name in lhs_names:
            _check_name(name, line)
        for term in _split_top(rhs_text, "+"):
            variable, mods = _parse_term(term, line)
            this_op = op
            if op == "~" and variable == "1":
                this_op, variable = "~1", ""
            elif variable == "1" or _NUMBER_RE.match(variable):
                raise SpecError(f"line {line}: a number cannot be a variable in {text!r}")
            else:
                _check_name(variable, line)
            if this_op == "=~" and variable == "":
                raise SpecError(f"line {line}: empty indicator")
            for lhs in lhs_names:
                if this_op == "~" and lhs == variable:
                    raise SpecError(f"line {line}: {lhs} regressed on itself")
                out.statements.append(
                    Statement(
                        lhs=lhs,
                        op=this_op,
                        rhs=variable,
                        fixed=mods.get("fixed"),
                        label=[str(v) for v in mods["label"]] if "label" in mods else None,
                        start=mods.get("start"),
                        line=line,
                    )
                )
    for statement in out.statements:
        if statement.fixed is not None:
            for value in statement.fixed:
                if value is not None and not math.isfinite(value):
                    raise SpecError(f"line {statement.line}: non-finite fixed value")
    return out
