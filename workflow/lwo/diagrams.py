"""Path diagrams drawn with matplotlib from lavaan model syntax.

The boxes and arrows come from the spec (:func:`spec_graph`): a regression ``y ~ x`` is an
arrow x -> y, a loading ``f =~ x`` an arrow f -> x, a latent variable (left of ``=~``) an
ellipse, anything else a box. Conceptual exhibits write their theory as a spec too, with
fixed coefficients as the theorized strength of a path (``outcomes ~ 0.3*hqc`` is a weak path,
``0*`` no path), so what is drawn is what the spec says.

Layout (:func:`layered_layout`): columns by path depth (a node's column is one more than its
deepest predictor's), nodes of a column spread evenly over the height of the tallest column,
in the order the spec names them; an arrow that would pass through a box of an intermediate
column is drawn as an arc around it.
"""
from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from matplotlib.patches import Ellipse, FancyArrowPatch, FancyBboxPatch

from lwo.plotting import PALETTE, new_figure
from lwo.sem.syntax import parse_spec  # the syntax alone: a diagram needs no engine

NODE_FILL = "#F2F2F2"
HIGHLIGHT_FILL = "#D6E9F8"
EDGE_COLOUR = "#333333"
NO_PATH_COLOUR = "#9A9A9A"
MODERATOR_COLOUR = PALETTE[5]


@dataclass(frozen=True)
class Node:
    name: str
    latent: bool


@dataclass(frozen=True)
class Edge:
    """An arrow source -> target. `op`: '~' (target regressed on source) or '=~' (source is the
    factor of indicator target); `label`: the parameter label; `fixed`: a fixed value, or None
    when the parameter is free."""

    source: str
    target: str
    op: str
    label: str | None = None
    fixed: float | None = None


@dataclass
class PathGraph:
    nodes: dict[str, Node]
    edges: list[Edge]

    def regressions(self) -> set[tuple[str, str]]:
        """(predictor, outcome) pairs of the spec's regressions."""
        return {(e.source, e.target) for e in self.edges if e.op == "~"}


def spec_graph(syntax: str, *, exclude=(), measurement: bool = False) -> PathGraph:
    """Nodes and arrows of a lavaan spec. `exclude`: variables left out with their arrows (the
    controls); `measurement`: draw the indicators of latent variables too (default: latent
    variables are drawn as ellipses without their items). Covariances, intercepts and defined
    parameters are not drawn."""
    parsed = parse_spec(syntax)
    excluded = set(exclude)
    latent = {s.lhs for s in parsed.statements if s.op == "=~"}
    order: list[str] = []
    edges: list[Edge] = []

    def add(name):
        if name not in order:
            order.append(name)

    for s in parsed.statements:
        if s.op not in ("~", "=~") or s.lhs in excluded or s.rhs in excluded:
            continue
        if s.op == "=~" and not measurement and s.rhs not in latent:
            add(s.lhs)
            continue
        label = s.label[0] if s.label and s.label[0] else None
        fixed = s.fixed[0] if s.fixed and s.fixed[0] is not None else None
        source, target = (s.rhs, s.lhs) if s.op == "~" else (s.lhs, s.rhs)
        add(source)
        add(target)
        edges.append(Edge(source, target, s.op, label, fixed))
    return PathGraph({n: Node(n, n in latent) for n in order}, edges)


def layers(graph: PathGraph) -> dict[str, int]:
    """Column of each node: 0 without predictors, else one more than its deepest predictor."""
    parents: dict[str, list[str]] = {n: [] for n in graph.nodes}
    for e in graph.edges:
        parents[e.target].append(e.source)
    depth: dict[str, int] = {}

    def visit(n, stack=()):
        if n in depth:
            return depth[n]
        if n in stack:
            raise ValueError(f"the spec has a feedback loop through {n!r}; a layered diagram needs none")
        depth[n] = 1 + max((visit(p, (*stack, n)) for p in parents[n]), default=-1)
        return depth[n]

    for n in graph.nodes:
        visit(n)
    return depth


def layered_layout(graph: PathGraph, column_gap=3.2, row_gap: float = 1.1) -> dict[str, tuple[float, float]]:
    """Centre of each node (x by column, y spread evenly over the tallest column's height).
    `column_gap`: distance between neighbouring columns, one number or one per gap."""
    depth = layers(graph)
    n_columns = max(depth.values()) + 1
    gaps = [float(column_gap)] * (n_columns - 1) if np.isscalar(column_gap) else [float(g) for g in column_gap]
    if len(gaps) < n_columns - 1:
        raise ValueError(f"{n_columns} columns need {n_columns - 1} column gaps, got {len(gaps)}")
    column_x = np.concatenate([[0.0], np.cumsum(gaps)])
    columns: dict[int, list[str]] = {}
    for n in graph.nodes:  # spec order within a column
        columns.setdefault(depth[n], []).append(n)
    height = (max(len(v) for v in columns.values()) - 1) * row_gap
    pos = {}
    for col, names in columns.items():
        ys = [0.0] if len(names) == 1 else np.linspace(height / 2, -height / 2, len(names))
        for name, y in zip(names, ys):
            pos[name] = (float(column_x[col]), float(y))
    return pos


def edge_values(estimates: pd.DataFrame, graph: PathGraph, column: str = "std.all",
                group: int = 1) -> dict[tuple[str, str], dict]:
    """The value (`column`) and p-value of each drawn arrow, from a lavaan-style table
    (parameterEstimates with std.all, or a standardized solution with est.std)."""
    e = estimates[estimates["group"] == group] if "group" in estimates.columns else estimates
    out = {}
    for edge in graph.edges:
        lhs, rhs = (edge.target, edge.source) if edge.op == "~" else (edge.source, edge.target)
        hit = e[(e["lhs"] == lhs) & (e["op"] == edge.op) & (e["rhs"] == rhs)]
        if len(hit) != 1:
            raise ValueError(f"the estimates have no row {lhs} {edge.op} {rhs} for the arrow "
                             f"{edge.source} -> {edge.target}")
        r = hit.iloc[0]
        out[(edge.source, edge.target)] = {"value": float(r[column]), "pvalue": float(r.get("pvalue", float("nan")))}
    return out


def significance_mark(p: float) -> str:
    return "*" if np.isfinite(p) and p < 0.05 else ""


# --------------------------------------------------------------------------- drawing
@dataclass
class Diagram:
    figure: object
    positions: dict[str, tuple[float, float]]
    edges_drawn: list[tuple[str, str]] = field(default_factory=list)


def _wrap(text: str, width: int) -> str:
    return "\n".join(textwrap.wrap(text, width)) if text else ""


LATENT_WIDTH, LATENT_HEIGHT = 1.12, 1.35
MAIN_LINE = 0.17   # height of a line of a node's name (9-10 pt), in diagram units (inches)
DETAIL_LINE = 0.145  # height of a line of a node's details (7.5-8 pt)


def _node_text(label: str, detail: str, wrap: int) -> tuple[str, str, float]:
    """The wrapped name and details of a node and the box height they need."""
    main = _wrap(label, wrap)
    detail = "\n".join(_wrap(line, wrap + 6) for line in detail.splitlines()) if detail else ""
    height = 0.3 + MAIN_LINE * (main.count("\n") + 1) + (0.1 + DETAIL_LINE * (detail.count("\n") + 1) if detail else 0)
    return main, detail, height


def _draw_node_text(ax, x, y, main, detail, main_size=9.0, detail_size=7.5):
    n_main = main.count("\n") + 1
    if not detail:
        ax.text(x, y, main, ha="center", va="center", fontsize=main_size, fontweight="bold", zorder=3)
        return
    n_detail = detail.count("\n") + 1
    block = MAIN_LINE * n_main + 0.1 + DETAIL_LINE * n_detail
    top = y + block / 2
    ax.text(x, top - MAIN_LINE * n_main / 2, main, ha="center", va="center", fontsize=main_size,
            fontweight="bold", zorder=3, linespacing=1.15)
    ax.text(x, top - MAIN_LINE * n_main - 0.1 - DETAIL_LINE * n_detail / 2, detail, ha="center", va="center",
            fontsize=detail_size, color="#333333", zorder=3, linespacing=1.15)


def _node_patch(ax, x, y, w, h, latent, fill, edge_colour="#333333"):
    if latent:
        patch = Ellipse((x, y), w, h, facecolor=fill, edgecolor=edge_colour, lw=1.2, zorder=2)
    else:
        patch = FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.02,rounding_size=0.08",
                               facecolor=fill, edgecolor=edge_colour, lw=1.2, zorder=2)
    ax.add_patch(patch)
    return patch


def _crosses_box(p0, p1, centre, half_w, half_h, samples: int = 60) -> bool:
    t = np.linspace(0.08, 0.92, samples)
    xs = p0[0] + t * (p1[0] - p0[0])
    ys = p0[1] + t * (p1[1] - p0[1])
    return bool(np.any((np.abs(xs - centre[0]) < half_w) & (np.abs(ys - centre[1]) < half_h)))


def _bezier_point(p0, p1, rad, t):
    """Point at parameter t on matplotlib's arc3 curve from p0 to p1."""
    (x1, y1), (x2, y2) = p0, p1
    cx, cy = (x1 + x2) / 2 + rad * (y2 - y1), (y1 + y2) / 2 - rad * (x2 - x1)
    return ((1 - t) ** 2 * x1 + 2 * (1 - t) * t * cx + t ** 2 * x2,
            (1 - t) ** 2 * y1 + 2 * (1 - t) * t * cy + t ** 2 * y2)


def _arc(edge: Edge, pos, sizes) -> float:
    """matplotlib arc3 `rad` of an arrow: 0 (straight) unless the straight arrow would cross a
    box of a column strictly between its ends; then an arc that clears that box by 0.3 (a
    quadratic curve's middle lies half the control point's offset, rad * length, from the chord)."""
    p0, p1 = pos[edge.source], pos[edge.target]
    between = [n for n in pos if min(p0[0], p1[0]) < pos[n][0] < max(p0[0], p1[0])]
    blockers = [n for n in between if _crosses_box(p0, p1, pos[n], sizes[n][0] / 2 + 0.1, sizes[n][1] / 2 + 0.1)]
    if not blockers:
        return 0.0
    b = pos[blockers[0]]
    length = math.hypot(p1[0] - p0[0], p1[1] - p0[1])
    chord_y = p0[1] + (p1[1] - p0[1]) * ((b[0] - p0[0]) / (p1[0] - p0[0]) if p1[0] != p0[0] else 0.5)
    rad = 2 * (abs(b[1] - chord_y) + sizes[blockers[0]][1] / 2 + 0.3) / length
    below = b[1] >= chord_y  # pass below a box that sits above the chord
    # arc3 bends to the right of the direction of travel for rad > 0
    return rad if (p1[0] >= p0[0]) == below else -rad


def _note_height(note: str, width: float) -> float:
    return 0.0 if not note else 0.15 + 0.16 * (_wrap(note, _note_chars(width)).count("\n") + 1)


def _note_chars(width: float) -> int:
    return max(30, int(width * 12))


def _path_geometry(graph, labels, details, box_width, wrap, column_gap, row_gap, moderator, title, note, source=""):
    """Node centres, box sizes, wrapped texts and the drawing's extent (left, right, bottom, top)."""
    labels = labels or {}
    details = details or {}
    pos = layered_layout(graph, column_gap=column_gap, row_gap=row_gap)
    sizes, texts = {}, {}
    for n in graph.nodes:
        main, detail, height = _node_text(labels.get(n, n.replace("_", " ")), details.get(n, ""), wrap)
        texts[n] = (main, detail)
        # an ellipse needs more room than a box around the same text
        sizes[n] = (box_width * LATENT_WIDTH, height * LATENT_HEIGHT) if graph.nodes[n].latent else (box_width, height)
    xs = [p[0] for p in pos.values()]
    ys = [p[1] for p in pos.values()]
    max_h = max(h for _, h in sizes.values())
    left = min(p[0] - sizes[n][0] / 2 for n, p in pos.items()) - 0.3
    right = max(p[0] + sizes[n][0] / 2 for n, p in pos.items()) + 0.3
    # room for the arcs around intermediate boxes (their lowest and highest points), and the note
    low, high = min(ys) - max_h / 2, max(ys) + max_h / 2
    for e in graph.edges:
        rad = _arc(e, pos, sizes)
        if rad:
            _, y = _bezier_point(pos[e.source], pos[e.target], rad, 0.5)
            low, high = min(low, y - 0.3), max(high, y + 0.3)
    top = high + (1.4 if moderator else 0.3) + (0.25 + 0.2 * (title.count("\n") + 1) if title else 0)
    bottom = low - 0.25 - _note_height(note, right - left) - (0.22 if source else 0)
    return pos, sizes, texts, (left, right, bottom, top)


def path_diagram_size(graph: PathGraph, *, labels=None, details=None, box_width: float = 2.2, wrap: int = 22,
                      column_gap: float = 3.2, row_gap: float = 1.1, moderator: str | None = None,
                      title: str = "", note: str = "", source: str = "", **drawing_only) -> tuple[float, float]:
    """Width and height (inches) that :func:`draw_path_diagram` needs with these arguments, to
    size a figure of several panels (its other arguments, `drawing_only`, do not change the size)."""
    *_, (left, right, bottom, top) = _path_geometry(graph, labels, details, box_width, wrap, column_gap,
                                                    row_gap, moderator, title, note, source)
    return right - left, top - bottom


def draw_path_diagram(graph: PathGraph, *, labels: dict[str, str] | None = None,
                      details: dict[str, str] | None = None, values: dict | None = None,
                      widths: dict | None = None, highlight=(), moderator: str | None = None,
                      title: str = "", box_width: float = 2.2, wrap: int = 22, column_gap: float = 3.2,
                      row_gap: float = 1.1, label_position: dict | None = None, note: str = "",
                      value_format: str = "{:.2f}", label_offset: float = 0.0, colours: dict | None = None,
                      source: str = "", ax=None) -> Diagram:
    """Draw a path diagram of `graph`.

    labels: display name per node; details: smaller second text per node (e.g. its domains);
    values: text value per arrow {(source, target): {"value": float, "pvalue": float}} shown on
    the arrow (with * when p < .05), or {"text": str} shown as given; widths: line width per arrow (default: from the fixed
    coefficient of a conceptual spec, or 1.6); highlight: nodes drawn in the highlight colour;
    moderator: a node above the paths with dashed arrows onto every regression arrow (a
    multi-group model: the paths may differ by group); label_position: where along an arrow
    (0 = source, 1 = target) its value sits, per arrow (default 0.5); label_offset: distance of
    the value from its arrow (0: on the arrow, over a white patch); colours: colour per arrow;
    source: the data-source line (bottom right, below the note: see plotting.mark_data_source); ax: draw into these axes (e.g. a panel) instead of a new figure."""
    labels = labels or {}
    pos, sizes, texts, (left, right, bottom, top) = _path_geometry(
        graph, labels, details, box_width, wrap, column_gap, row_gap, moderator, title, note, source)
    xs = [p[0] for p in pos.values()]
    ys = [p[1] for p in pos.values()]
    max_h = max(h for _, h in sizes.values())
    if ax is None:
        fig, ax = new_figure(figsize=(right - left, top - bottom))
        ax.set_position([0, 0, 1, 1])  # the axes fill the figure, so the figure has the drawing's shape
    else:
        fig = ax.figure
    ax.set_xlim(left, right)
    ax.set_ylim(bottom, top)
    ax.set_aspect("equal")
    ax.axis("off")
    patches = {}
    for n, (x, y) in pos.items():
        w, h = sizes[n]
        fill = HIGHLIGHT_FILL if n in highlight else NODE_FILL
        patches[n] = _node_patch(ax, x, y, w, h, graph.nodes[n].latent, fill)
        _draw_node_text(ax, x, y, *texts[n])

    drawn, midpoints = [], []
    for e in graph.edges:
        p0, p1 = pos[e.source], pos[e.target]
        rad = _arc(e, pos, sizes)
        fixed_zero = e.fixed is not None and e.fixed == 0
        if widths and (e.source, e.target) in widths:
            lw = widths[(e.source, e.target)]
        elif e.fixed is not None:
            lw = 0.8 + 3.0 * abs(e.fixed)
        else:
            lw = 1.6
        style = dict(color=NO_PATH_COLOUR, linestyle=(0, (2, 3)), lw=1.2) if fixed_zero else \
            dict(color=(colours or {}).get((e.source, e.target), EDGE_COLOUR), linestyle="-", lw=lw)
        arrow = FancyArrowPatch(p0, p1, patchA=patches[e.source], patchB=patches[e.target],
                                connectionstyle=f"arc3,rad={rad}", arrowstyle="-|>",
                                mutation_scale=10 + 2.5 * min(style["lw"], 4), shrinkA=2, shrinkB=2,
                                zorder=1, **style)
        ax.add_patch(arrow)
        drawn.append((e.source, e.target))
        t = (label_position or {}).get((e.source, e.target), 0.5)
        midpoints.append(_bezier_point(p0, p1, rad, 0.5))
        if values and (e.source, e.target) in values:
            v = values[(e.source, e.target)]
            text = v["text"] if "text" in v else (value_format.format(v["value"])
                                                  + significance_mark(v.get("pvalue", float("nan"))))
            lx, ly = _bezier_point(p0, p1, rad, t)
            if label_offset:  # beside the arrow, not on it: left of its direction, or outside an arc
                length = math.hypot(p1[0] - p0[0], p1[1] - p0[1]) or 1.0
                side = -1.0 if rad > 0 else 1.0  # arc3 with rad > 0 bends to the right
                lx -= side * label_offset * (p1[1] - p0[1]) / length
                ly += side * label_offset * (p1[0] - p0[0]) / length
            ax.text(lx, ly, text, ha="center", va="center", fontsize=8.5, zorder=4, color=style["color"],
                    bbox=dict(boxstyle="round,pad=0.15", facecolor="white", edgecolor="none"))
    if moderator:
        # a banner across the diagram, with a dashed arrow straight down onto each path
        my = max(ys) + max_h / 2 + 0.85
        ax.add_patch(FancyBboxPatch((min(xs) - box_width / 2, my - 0.22), max(xs) - min(xs) + box_width, 0.44,
                                    boxstyle="round,pad=0.02,rounding_size=0.08", facecolor="white",
                                    edgecolor=MODERATOR_COLOUR, lw=1.4, zorder=2))
        ax.text((min(xs) + max(xs)) / 2, my, moderator, ha="center", va="center", fontsize=9.5,
                fontweight="bold", color=MODERATOR_COLOUR, zorder=3)
        for (px, py), e in zip(midpoints, graph.edges):
            if e.op != "~" or (e.fixed is not None and e.fixed == 0):
                continue
            ax.add_patch(FancyArrowPatch((px, my - 0.24), (px, py + 0.06), arrowstyle="-|>", mutation_scale=10,
                                         color=MODERATOR_COLOUR, linestyle=(0, (4, 2)), lw=1.1, zorder=1,
                                         shrinkA=0, shrinkB=1))
    if title:
        ax.text((left + right) / 2, top - 0.2, title, ha="center", va="top", fontsize=10.5, fontweight="bold")
    if note:
        ax.text(left + 0.05, bottom + 0.08 + (0.22 if source else 0), _wrap(note, _note_chars(right - left)),
                ha="left", va="bottom", fontsize=7.5, color="#444444")
    if source:
        ax.text(right - 0.05, bottom + 0.05, source, ha="right", va="bottom", fontsize=7, color="#666666")
    return Diagram(fig, pos, drawn)


def draw_radial_diagram(graph: PathGraph, centre: str, *, labels: dict[str, str] | None = None,
                        details: dict[str, str] | None = None, highlight=(), title: str = "",
                        radius: float = 2.8, box_width: float = 2.6, wrap: int = 26, note: str = "") -> Diagram:
    """A factor and its facets (a one-factor spec `centre =~ a + b + ...`) as a hub with
    spokes: the centre in the middle, each facet around it (clockwise from the top), an arrow
    from the centre to each."""
    labels = labels or {}
    details = details or {}
    facets = [e.target for e in graph.edges if e.source == centre]
    if not facets:
        raise ValueError(f"{centre!r} has no arrows in the spec")
    pos = {centre: (0.0, 0.0)}
    for k, f in enumerate(facets):
        angle = math.pi / 2 - 2 * math.pi * k / len(facets)
        pos[f] = (radius * 1.25 * math.cos(angle), radius * math.sin(angle))
    heights, texts = {}, {}
    for n in pos:
        main, detail, heights[n] = _node_text(labels.get(n, n.replace("_", " ")), details.get(n, ""),
                                              wrap if n != centre else 18)
        texts[n] = (main, detail)
    xs = [p[0] for p in pos.values()]
    ys = [p[1] for p in pos.values()]
    max_h = max(heights.values())
    top = max(ys) + max_h / 2 + 0.3 + (0.45 if title else 0)
    bottom = min(ys) - max_h / 2 - 0.3 - (0.45 if note else 0)
    left, right = min(xs) - box_width / 2 - 0.2, max(xs) + box_width / 2 + 0.2
    fig, ax = new_figure(figsize=(right - left, top - bottom))
    ax.set_position([0, 0, 1, 1])
    ax.set_xlim(left, right)
    ax.set_ylim(bottom, top)
    ax.set_aspect("equal")
    ax.axis("off")
    patches = {}
    for n, (x, y) in pos.items():
        fill = HIGHLIGHT_FILL if n in highlight else ("#FFFFFF" if n == centre else NODE_FILL)
        w, h = box_width * (0.9 if n == centre else 1), heights[n]
        if graph.nodes[n].latent:
            w, h = w * LATENT_WIDTH, h * LATENT_HEIGHT
        patches[n] = _node_patch(ax, x, y, w, h, graph.nodes[n].latent, fill)
        _draw_node_text(ax, x, y, *texts[n], main_size=10 if n == centre else 9.5, detail_size=8)
    drawn = []
    for e in graph.edges:
        ax.add_patch(FancyArrowPatch(pos[e.source], pos[e.target], patchA=patches[e.source],
                                     patchB=patches[e.target], arrowstyle="-|>", mutation_scale=12,
                                     color=EDGE_COLOUR, lw=1.4, shrinkA=2, shrinkB=2, zorder=1))
        drawn.append((e.source, e.target))
    if title:
        ax.text((left + right) / 2, top - 0.1, title, ha="center", va="top", fontsize=11, fontweight="bold")
    if note:
        ax.text(left + 0.05, bottom + 0.05, _wrap(note, int((right - left) * 11)), ha="left", va="bottom",
                fontsize=7.5, color="#444444")
    return Diagram(fig, pos, drawn)
