"""Tests of lwo.diagrams: the arrows drawn are the spec's regressions (checked against the SEM
engine's own parameter table), the layout follows path depth, and estimates land on the
right arrows."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.patches import FancyArrowPatch

from lwo import diagrams as D
from lwo import sem
from lwo.specs import CONTROLS, GRADE_CONTROLS, rq1_models

SPEC = """
f =~ a1 + a2 + a3
m ~ lab_a*f + c1 + c2
y ~ 0.3*f + b*m + c1
y ~~ m
y ~ 1
ind := lab_a*b
"""


def regressions_from_engine(syntax: str, data: pd.DataFrame, exclude=()) -> set[tuple[str, str]]:
    """(predictor, outcome) of every regression row of the engine's parameter table (defined
    parameters left out: they add no regression, only time)."""
    fit = sem.fit("\n".join(line for line in syntax.splitlines() if ":=" not in line), data)
    e = fit.estimates
    reg = e[(e["op"] == "~")]
    return {(r.rhs, r.lhs) for r in reg.itertuples() if r.rhs not in exclude and r.lhs not in exclude}


def test_spec_graph_reads_nodes_edges_labels_and_fixed_values():
    g = D.spec_graph(SPEC, exclude=["c1", "c2"])
    assert g.regressions() == {("f", "m"), ("f", "y"), ("m", "y")}
    assert list(g.nodes) == ["f", "m", "y"]
    assert g.nodes["f"].latent and not g.nodes["m"].latent
    edges = {(e.source, e.target): e for e in g.edges}
    assert edges[("f", "m")].label == "lab_a" and edges[("f", "m")].fixed is None
    assert edges[("f", "y")].fixed == pytest.approx(0.3)
    assert edges[("m", "y")].label == "b"
    # covariances, intercepts, defined parameters and controls draw nothing
    assert all(e.op == "~" for e in g.edges)
    # with the measurement part: the loadings as arrows factor -> item
    full = D.spec_graph(SPEC, exclude=["c1", "c2"], measurement=True)
    assert {(e.source, e.target) for e in full.edges if e.op == "=~"} == {("f", "a1"), ("f", "a2"), ("f", "a3")}


def test_arrows_of_an_rq1_model_are_its_regressions(codebook, cohort):
    """The Exhibit 20 model: the drawn arrows equal the regressions the engine estimates
    (controls left out), and every arrow is drawn once."""
    from lwo.model_data import model_ready

    spec = rq1_models(codebook)["hqc_mindsets_via_personalization"]
    controls = set(CONTROLS) | set(GRADE_CONTROLS)
    graph = D.spec_graph(spec.syntax, exclude=controls)
    data = model_ready(cohort["students"], codebook, spec, "all").data
    assert graph.regressions() == regressions_from_engine(spec.syntax, data, exclude=controls)
    assert len(graph.edges) == 2 + 2 * 6 + 6  # a paths, b paths, direct paths
    diagram = D.draw_path_diagram(graph)
    assert sorted(diagram.edges_drawn) == sorted(graph.regressions())
    arrows = [p for p in diagram.figure.axes[0].patches if isinstance(p, FancyArrowPatch)]
    assert len(arrows) == len(graph.edges)


def test_layout_columns_follow_path_depth():
    g = D.spec_graph("m ~ x\ny ~ m + x\nz ~ y")
    assert D.layers(g) == {"x": 0, "m": 1, "y": 2, "z": 3}
    pos = D.layered_layout(g, column_gap=2.0)
    assert [pos[n][0] for n in ("x", "m", "y", "z")] == [0.0, 2.0, 4.0, 6.0]
    pos = D.layered_layout(g, column_gap=(1.0, 2.0, 3.0))
    assert [pos[n][0] for n in ("x", "m", "y", "z")] == [0.0, 1.0, 3.0, 6.0]
    with pytest.raises(ValueError, match="column gaps"):
        D.layered_layout(g, column_gap=(1.0,))
    with pytest.raises(ValueError, match="feedback loop"):
        D.layers(D.spec_graph("a ~ b\nb ~ a"))


def test_an_arrow_through_a_box_becomes_an_arc():
    g = D.spec_graph("m ~ x\ny ~ m + x")
    pos = D.layered_layout(g)
    sizes = {n: (2.0, 0.6) for n in g.nodes}
    edges = {(e.source, e.target): e for e in g.edges}
    assert D._arc(edges[("x", "m")], pos, sizes) == 0.0
    rad = D._arc(edges[("x", "y")], pos, sizes)
    assert rad != 0.0
    # the arc's middle clears the box of m by its half height plus 0.3
    _, y_mid = D._bezier_point(pos["x"], pos["y"], rad, 0.5)
    assert abs(y_mid - pos["m"][1]) == pytest.approx(0.3 + 0.3, abs=1e-9)


def test_edge_values_come_from_the_matching_rows():
    g = D.spec_graph("m ~ x\ny ~ m")
    est = pd.DataFrame({"lhs": ["m", "y", "y"], "op": ["~", "~", "~~"], "rhs": ["x", "m", "y"],
                        "est": [0.5, 0.2, 1.0], "std.all": [0.45, 0.18, 0.9], "pvalue": [0.001, 0.2, np.nan]})
    values = D.edge_values(est, g)
    assert values[("x", "m")]["value"] == 0.45 and values[("m", "y")]["value"] == 0.18
    assert D.significance_mark(values[("x", "m")]["pvalue"]) == "*"
    assert D.significance_mark(values[("m", "y")]["pvalue"]) == ""
    with pytest.raises(ValueError, match="no row y ~ x"):
        D.edge_values(est, D.spec_graph("y ~ x"))


def test_drawn_values_and_moderator():
    g = D.spec_graph("m ~ x\ny ~ m")
    values = {("x", "m"): {"value": 0.45, "pvalue": 0.001}, ("m", "y"): {"text": "weak"}}
    diagram = D.draw_path_diagram(g, values=values, moderator="Race")
    texts = [t.get_text() for t in diagram.figure.axes[0].texts]
    assert "0.45*" in texts and "weak" in texts and "Race" in texts
    arrows = [p for p in diagram.figure.axes[0].patches if isinstance(p, FancyArrowPatch)]
    assert len(arrows) == 2 + 2  # two paths, each with a moderator arrow


def test_radial_diagram_draws_every_facet():
    g = D.spec_graph("p =~ a + b + c + d + e", measurement=True)
    diagram = D.draw_radial_diagram(g, "p")
    assert sorted(diagram.edges_drawn) == [("p", f) for f in "abcde"]
    radius = [np.hypot(*diagram.positions[f]) for f in "abcde"]
    assert min(radius) > 2.0
    with pytest.raises(ValueError, match="no arrows"):
        D.draw_radial_diagram(g, "a")
