"""The graph builder and the liveness scan, used directly as a front end other than the
YAML schema would use them (expected values worked by hand in the comments)."""

from __future__ import annotations

import pytest

from convcalc.analysis import analyze
from convcalc.errors import ShapeError, SpecError
from convcalc.graph import INPUT, Graph, GraphBuilder, Layer, Step, alive_after, live_totals
from convcalc.layers import REGISTRY


def _build() -> Graph:
    """input 3x8x8 -> conv 4, 3x3 pad 1 -> relu -> add(conv, relu)."""
    graph = Graph("toy", "toy", "toy.onnx", "", "", {}, (3, 8, 8))
    builder = GraphBuilder(graph, max_layers=10)
    for name, op, raw, inputs in (
        ("c", "conv", {"out": 4, "k": 3, "padding": 1}, (INPUT,)),
        ("r", "relu", {}, ("c",)),
        ("a", "add", {}, ("c", "r")),
    ):
        kind = REGISTRY[op]
        args = kind.bind(raw, {})
        builder.append(Layer(name, kind, args, inputs, builder.shape_of(kind, args, inputs), 1))
    return graph


def test_a_graph_built_without_yaml_is_analysed() -> None:
    report = analyze(_build())
    # conv: 4*3*9 + 4 = 112 params; MACs 8*8*4*27 = 6,912.
    assert report.totals.params == 112
    assert report.totals.macs == 6912
    # Live elements: input 192 + c 256 = 448; then r 256 while c and r are read by a
    # (input freed after c): 256 + 256 = 512; then a: 512 + 256 = 768, the peak, at 'a'.
    assert report.totals.peak_activation_bytes == 768 * 4
    assert report.totals.peak_layer == "a"


def test_the_builder_checks_each_layer_as_it_is_added() -> None:
    graph = Graph("toy", "toy", "toy.onnx", "", "", {}, (3, 8, 8))
    builder = GraphBuilder(graph, max_layers=1)
    add, conv = REGISTRY["add"], REGISTRY["conv"]
    with pytest.raises(SpecError, match="takes at least 2 input"):
        builder.shape_of(add, add.bind({}, {}), (INPUT,))
    with pytest.raises(ShapeError, match="larger than the padded input"):
        builder.shape_of(conv, conv.bind({"out": 4, "k": 9}, {}), (INPUT,))


def test_liveness_by_hand() -> None:
    # a (size 5) reads x (size 2); b (3) reads a; c (1) reads a and b.
    steps = [Step("a", ("x",)), Step("b", ("a",)), Step("c", ("a", "b"))]
    size = {"x": 2, "a": 5, "b": 3, "c": 1}
    # x + a = 7; x freed, a + b = 8; a + b + c = 9.
    assert live_totals(steps, size, ("x",)) == [7, 8, 9]
    assert alive_after(steps, 0, ("x",)) == ["x", "a"]
    assert alive_after(steps, 2, ("x",)) == ["a", "b", "c"]
    # A step that writes into an existing tensor allocates nothing.
    fused = [Step("a", ("x",)), Step(None, ("a",))]
    assert live_totals(fused, size, ("x",)) == [7, 5]
