"""Receptive fields through upsampling, transposed convolutions, crops and concatenations,
against brute force: the set of input pixels each output unit depends on, propagated layer
by layer from the definitions of the operations (one axis at a time; the rules are
separable). Nothing here calls convcalc's receptive-field code: the brute force reads only
each layer's arguments from the loaded graph.

Definitions used (PyTorch's, with units beyond a tensor's edge extended by the same rule,
as padding is, so a field counts the padding it reaches):

- convolution and pooling: output u reads u s - p + t d for taps t < k;
- transposed convolution: output o reads every input i with i s - p + t d = o, t < k;
- nearest upsampling from n to m: output o reads floor(o n / m);
- bilinear (half-pixel centres): x = (o + 1/2) n / m - 1/2, output o reads floor(x) and,
  unless x is whole (the second weight is then 0), floor(x) + 1;
- crop from n to m: output o reads o + floor((n - m) / 2);
- adaptive average pooling from n to m: output o reads [floor(o n / m), ceil((o + 1) n / m));
- concatenation and addition: the union of the inputs; element-wise layers: the same unit.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from fractions import Fraction
from functools import cache

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, given, settings

from convcalc import receptive
from convcalc.analysis import analyze
from convcalc.graph import INPUT, Graph
from convcalc.layers import base
from convcalc.report import Report
from convcalc.schema import loader
from convcalc.schema.expand import expand

SETTINGS = settings(
    max_examples=int(os.environ.get("CONVCALC_PROPERTY_EXAMPLES", "200")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def load(text: str) -> Graph:
    return expand(loader.load_yaml(text, "rf.yaml"), "rf.yaml", "rf.yaml")


# --- brute force --------------------------------------------------------------------------


def reads(layer, graph: Graph, axis: int):
    """For one layer along one axis: a function from an output unit to the (input tensor,
    unit) pairs it reads, written from the operation's definition."""
    op, a = layer.kind.op, layer.args
    sources = layer.inputs
    n = graph.shapes[sources[0]][1 + axis]
    m = layer.shape[1 + axis]
    if op in ("conv", "dwconv", "maxpool", "avgpool"):
        k, d = a.k[axis], a.get("dilation", (1, 1))[axis]
        s = (a.stride or a.k)[axis]
        p = a.padding[2 * axis]
        return lambda u: [(sources[0], u * s - p + t * d) for t in range(k)]
    if op == "deconv":
        k, s, d, p = a.k[axis], a.stride[axis], a.dilation[axis], a.padding[2 * axis]
        return lambda o: [
            (sources[0], (o + p - t * d) // s) for t in range(k) if (o + p - t * d) % s == 0
        ]
    if op == "upsample":
        ratio = Fraction(n, m)
        if a.mode == "nearest":
            return lambda o: [(sources[0], math.floor(o * ratio))]

        def bilinear(o: int):
            x = (o + Fraction(1, 2)) * ratio - Fraction(1, 2)
            first = math.floor(x)
            return [(sources[0], first)] + ([] if x == first else [(sources[0], first + 1)])

        return bilinear
    if op == "crop":
        return lambda o: [(sources[0], o + (n - m) // 2)]
    if op == "adaptive_avgpool":  # PyTorch's windows [floor(o n / m), ceil((o + 1) n / m))
        return lambda o: [(sources[0], i) for i in range(o * n // m, -(-(o + 1) * n // m))]
    if op in ("concat", "add"):
        return lambda o: [(s, o) for s in sources]
    if op in ("bn", "relu", "swish", "identity", "slice"):
        return lambda o: [(sources[0], o)]
    raise AssertionError(f"no brute-force rule for {op!r}")


ORIGIN = 1 << 12  # pixel p is bit p + ORIGIN of a set (pixels reach at most this far left)


class Pixels:
    """The input pixels (along one axis) each unit of each tensor depends on, as sets
    (Python ints used as bit sets: bit p + ORIGIN stands for pixel p; union is `|`)."""

    def __init__(self, graph: Graph, axis: int) -> None:
        self.rules = {layer.name: reads(layer, graph, axis) for layer in graph.layers}
        self.memo: dict[tuple[str, int], int] = {}

    def of(self, tensor: str, unit: int) -> int:
        key = (tensor, unit)
        if key not in self.memo:
            if tensor == INPUT:
                assert unit + ORIGIN >= 0
                self.memo[key] = 1 << (unit + ORIGIN)
            else:
                out = 0
                for source, u in self.rules[tensor](unit):
                    out |= self.of(source, u)
                self.memo[key] = out
        return self.memo[key]


def span(pixels: int) -> tuple[int, int | None]:
    """(size, start) of a set of pixels: first to last; (0, None) when empty."""
    if not pixels:
        return 0, None
    first = (pixels & -pixels).bit_length() - 1
    return pixels.bit_length() - first, first - ORIGIN


def reported(rf, axis: int, unit: int) -> tuple[int, int | None]:
    """(size, start) of one unit as convcalc's field reports it: uniform fields step by the
    jump; periodic ones repeat their phases, jump * period pixels on per period."""
    if rf.min_size is None:
        return rf.size[axis], rf.start[axis] + unit * rf.jump[axis]
    period = rf.period[axis]
    size, start = rf.phases[axis][unit % period]
    step = rf.jump[axis] * period
    return size, None if start is None else start + (unit // period) * step


def check_layer(report: Report, graph: Graph, pixels: Pixels, name: str, axis: int) -> None:
    """Every unit of the layer, and its largest, smallest and first field, against brute
    force; where the period was too long to track, that no unit's field is larger than the
    bound shown or starts before the start shown."""
    rf = report.layer(name).rf
    n = graph.shapes[name][1 + axis]
    brute = [span(pixels.of(name, u)) for u in range(n)]
    if rf is None:  # only where no unit reads a pixel (a warning says so)
        assert all(size == 0 for size, _ in brute), name
        assert any("reads an input pixel" in w for w in report.warnings)
        return
    if rf.bound[axis]:
        assert rf.period[axis] is None and rf.min_size[axis] is None
        assert all(size <= rf.size[axis] for size, _ in brute), name
        assert all(start is None or start >= rf.start[axis] for _, start in brute), name
        return
    for u, expected in enumerate(brute):
        assert reported(rf, axis, u) == expected, (name, axis, u)
    assert rf.size[axis] == max(s for s, _ in brute), name
    if rf.min_size is not None:
        assert rf.min_size[axis] == min(s for s, _ in brute), name
    starts = [s for _, s in brute if s is not None]
    assert rf.start[axis] == (min(starts) if starts else None), name


# --- random stacks ------------------------------------------------------------------------


@st.composite
def stacks(draw):
    """A square input and a chain of layers, each with the same arguments on both axes:
    convs, max pools, transposed convs of several strides, nearest and bilinear upsampling
    (by a scale or to a size), adaptive average pools, centre crops, and U-Net skips (an
    earlier tensor of the same mean jump cropped to the current size and concatenated)."""
    n = draw(st.integers(4, 16))
    specs = []
    tensors = [("input", n, Fraction(1))]  # name, extent, input pixels per unit
    current = tensors[0]
    for i in range(draw(st.integers(1, 6))):
        name, size, jump = current
        op = draw(
            st.sampled_from(
                [
                    *("conv", "maxpool", "deconv", "nearest", "bilinear"),
                    *("crop", "adaptive", "skip", "skip"),
                ]
            )
        )
        spec: dict = {"name": f"l{i}", "from": name}
        if op == "conv":
            k, s, d, p = (draw(st.integers(1, 3)), draw(st.integers(1, 3)),
                          draw(st.integers(1, 2)), draw(st.integers(0, 2)))  # fmt: skip
            out = (size + 2 * p - d * (k - 1) - 1) // s + 1
            spec.update(op="conv", out=2, k=k, stride=s, dilation=d, padding=p)
            jump *= s
        elif op == "maxpool":
            k = draw(st.integers(2, 3))
            s = draw(st.integers(1, 2))
            p = draw(st.integers(0, k // 2))
            out = (size + 2 * p - k) // s + 1
            if out < 2:  # one window over the whole map: a global summary, not a field
                continue
            spec.update(op="maxpool", k=k, stride=s, padding=p)
            jump *= s
        elif op == "deconv":
            k, s, d = draw(st.integers(1, 4)), draw(st.integers(1, 3)), draw(st.integers(1, 2))
            p = draw(st.integers(0, 2))
            out = (size - 1) * s - 2 * p + d * (k - 1) + 1
            spec.update(op="deconv", out=2, k=k, stride=s, dilation=d, padding=p)
            jump /= s
        elif op in ("nearest", "bilinear"):
            if draw(st.booleans()):
                f = draw(st.integers(2, 3))
                spec.update(op="upsample", scale=f, mode=op)
                out = size * f
            else:
                out = draw(st.integers(max(1, size // 2), 2 * size + 3))
                spec.update(op="upsample", size=out, mode=op)
            jump *= Fraction(size, out)
        elif op == "crop":
            out = draw(st.integers(1, size))
            spec.update(op="crop", size=out)
        elif op == "adaptive":
            out = draw(st.integers(2, max(2, size)))  # 1 would be a global summary
            spec.update(op="adaptive_avgpool", size=out)
            jump *= Fraction(size, out)
        else:
            earlier = [t for t in tensors[:-1] if t[1] >= size and t[2] == jump]
            if not earlier:
                continue
            source = draw(st.sampled_from(earlier))
            specs.append({"op": "crop", "from": [source[0], name], "name": f"c{i}"})
            spec.update(op="concat", **{"from": [f"c{i}", name]})
            out = size
        if out < 1 or out > 96:
            continue
        specs.append(spec)
        current = (spec["name"], out, jump)
        tensors.append(current)
    return n, specs


@SETTINGS
@given(stacks())
def test_fields_of_random_stacks_match_propagated_pixel_sets(case) -> None:
    n, specs = case
    if not specs:
        return
    rows = "".join(f"  - {json.dumps(s)}\n" for s in specs)
    graph = load(f"input: [1, {n}, {n}]\nlayers:\n{rows}")
    report = analyze(graph)
    pixels = Pixels(graph, 0)
    for layer in graph.layers:
        check_layer(report, graph, pixels, layer.name, 0)
        rf = report.layer(layer.name).rf
        # Same arguments on both axes: the same field.
        assert rf is None or (rf.size[0], rf.jump[0], rf.start[0]) == (
            rf.size[1],
            rf.jump[1],
            rf.start[1],
        )


@SETTINGS
@given(stacks(), st.integers(1, 3))
def test_a_period_past_the_limit_gives_a_bound_every_unit_keeps(case, limit) -> None:
    """With the period limit lowered, fields that would need a longer period are bounds:
    no unit's field is larger than the size, or starts before the start, shown."""
    n, specs = case
    if not specs:
        return
    rows = "".join(f"  - {json.dumps(s)}\n" for s in specs)
    graph = load(f"input: [1, {n}, {n}]\nlayers:\n{rows}")
    saved = base.PHASE_LIMIT, receptive.PHASE_LIMIT
    base.PHASE_LIMIT = receptive.PHASE_LIMIT = limit
    try:
        report = analyze(graph)
    finally:
        base.PHASE_LIMIT, receptive.PHASE_LIMIT = saved
    pixels = Pixels(graph, 0)
    for layer in graph.layers:
        check_layer(report, graph, pixels, layer.name, 0)


def test_upsampling_a_uniform_field_shows_each_phase() -> None:
    # Hand count: a 3x3 conv (field 3, jump 1), nearest x2: output units 2m and 2m + 1 both
    # read unit m, so both see 3 pixels from m; a 3x3 conv then reads units u-1 .. u+1:
    # unit 0 reads m = -1, 0, 0 (pixels -1 .. 2, size 4) and unit 1 reads m = 0, 0, 1
    # (pixels 0 .. 3, size 4); the jump is 1/2 and the period 2 (both phases start at m).
    graph = load(
        "input: [1, 16, 16]\nlayers:\n"
        "  - {op: conv, out: 1, k: 3, padding: 1, name: a}\n"
        "  - {op: upsample, scale: 2, name: up}\n"
        "  - {op: conv, out: 1, k: 3, padding: 1, name: b}\n"
    )
    rf = analyze(graph).layer("b").rf
    assert rf.size == (4, 4) and rf.jump == (Fraction(1, 2),) * 2
    assert rf.period == (2, 2) and rf.phases[0] == ((4, -2), (4, -1))
    up = analyze(graph).layer("up").rf
    assert up.phases[0] == ((3, -1), (3, -1)) and up.min_size == (3, 3)


def test_a_layer_that_returns_to_an_even_grid_is_uniform_again() -> None:
    # Hand count: nearest x2 then a 2x2 stride-2 conv: output u reads units 2u and 2u + 1,
    # both from input pixel u, so every unit sees 1 pixel, jump 1: uniform again.
    graph = load(
        "input: [1, 8, 8]\nlayers:\n"
        "  - {op: upsample, scale: 2, name: up}\n"
        "  - {op: conv, out: 1, k: 2, stride: 2, name: c}\n"
    )
    rf = analyze(graph).layer("c").rf
    assert rf.uniform and (rf.size, rf.jump, rf.start) == ((1, 1), (1, 1), (0, 0))


# --- the bundled U-Net and YOLO-style network ---------------------------------------------


@cache
def bundled(name: str) -> tuple[Graph, Report]:
    from convcalc.pipeline import load as load_bundled

    graph = load_bundled(name)
    return graph, analyze(graph)


@pytest.mark.parametrize("name", ["unet", "yolov8n"])
def test_bundled_fields_match_brute_force_along_one_axis(name: str) -> None:
    graph, report = bundled(name)
    # yolov8n's Detect decoding flattens the maps: no field is claimed from there on, and
    # brute force follows only the layers that keep positions.
    maps = [layer for layer in graph.layers if report.layer(layer.name).rf is not None]
    pixels = Pixels(dataclasses.replace(graph, layers=maps), 0)
    for layer in maps:
        if len(layer.shape) == 3:
            check_layer(report, graph, pixels, layer.name, 0)


# Both networks were also built in plain PyTorch 2.13 (CPU), written from the same papers'
# descriptions, outside the project: parameters by summing p.numel(), multiply-adds as
# torch.utils.flop_counter.FlopCounterMode's total / 2 (it counts 2 FLOPs per conv MAC),
# and receptive fields as the rows with a non-zero input gradient of one output unit in a
# linear copy (positive weights, identity activations, average pools for max pools, so no
# gradient cancels). The measured numbers are written below.


def test_unet_params_macs_and_fields_match_a_pytorch_build() -> None:
    _, report = bundled("unet")
    assert report.layer("head").output_shape == (2, 388, 388)  # the paper's Figure 1
    assert report.totals.params == 31_030_658  # PyTorch: sum of p.numel()
    assert report.totals.macs == 150_428_424_448  # PyTorch: FlopCounterMode / 2
    # PyTorch, head units at rows 100 .. 131 of column 194: rows 112 .. 115 and 128 .. 131
    # see 188 rows starting at 112 and 128; rows 100 .. 111 and 116 .. 127 see 204, from 96
    # and 112: a period of 16 units, 16 pixels on, phases 0 .. 3 of 188, 4 .. 15 of 204
    # (the uniform rule gave 200, a size no unit has).
    rf = report.layer("head").rf
    assert (rf.min_size, rf.size, rf.period) == ((188, 188), (204, 204), (16, 16))
    assert rf.phases[0] == ((188, 0),) * 4 + ((204, 0),) * 12
    assert reported(rf, 0, 112) == (188, 112) and reported(rf, 0, 100) == (204, 96)
    assert report.totals.receptive_field == (204, 204)


def test_yolo_params_macs_and_fields_match_a_pytorch_build() -> None:
    _, report = bundled("yolov8n")
    # With the Detect head's DFL (a fixed 16 -> 1 1x1 conv on 4 x 8,400 positions): 16
    # params and 537,600 MACs more than the convolutions alone (3,157,184; 4,371,456,000).
    assert report.totals.params == 3_157_200  # PyTorch: sum of p.numel()
    assert report.totals.macs == 4_371_993_600  # PyTorch: FlopCounterMode / 2
    # PyTorch on a 2560-row input (so the fields stay inside the image): P5 head units
    # 38 .. 41 see 1263 rows from 569, 601, 633, 665 (32 rows apart; the uniform rule gave
    # 1247); P3 box units 156 .. 159 see 911 rows from 793 and 160 .. 163 from 825 (four
    # units per 32 rows).
    for name in ("box5.pred", "cls5.pred"):
        rf = report.layer(name).rf
        assert rf.uniform and (rf.size, rf.jump) == ((1263, 1263), (32, 32))
        assert [reported(rf, 0, u) for u in (38, 41)] == [(1263, 569), (1263, 665)]
    rf = report.layer("box3.pred").rf
    assert (rf.size, rf.period) == ((911, 911), (4, 4))
    assert [reported(rf, 0, u)[1] for u in (156, 159, 160, 163)] == [793, 793, 825, 825]
    assert report.totals.receptive_field == (1263, 1263)


# --- crop ---------------------------------------------------------------------------------


def test_crop_to_a_size_keeps_the_centre() -> None:
    # Hand count: 7 rows to 3 drop floor(4 / 2) = 2 above (and 2 below); 6 columns to 4 drop
    # 1 on the left and 1 on the right; so output unit (0, 0) is input pixel (2, 1).
    report = analyze(load("input: [4, 7, 6]\nlayers:\n  - {op: crop, size: [3, 4], name: c}\n"))
    row = report.layer("c")
    assert row.output_shape == (4, 3, 4)
    assert (row.rf.size, row.rf.jump, row.rf.start) == ((1, 1), (1, 1), (2, 1))


def test_crop_to_another_layer_reads_only_the_first_input() -> None:
    # U-Net's crop: 2x9x9 cropped to the 5x5 of the second input (a 5x5 valid conv's
    # output, whose field is 5 pixels); the crop's own field is the first input's one pixel,
    # 2 pixels in (floor((9 - 5) / 2)); an odd margin (9 to 4) leaves the extra row below.
    report = analyze(
        load(
            "input: [2, 9, 9]\nlayers:\n"
            "  - {op: conv, out: 3, k: 5, name: small}\n"
            "  - {op: crop, from: [input, small], name: c}\n"
            "  - {op: crop, from: input, size: 4, name: odd}\n"
        )
    )
    c = report.layer("c")
    assert c.output_shape == (2, 5, 5)
    assert (c.rf.size, c.rf.start) == ((1, 1), (2, 2))
    assert report.layer("odd").rf.start == (2, 2)  # floor(5 / 2) = 2 above, 3 below


@pytest.mark.parametrize(
    ("layers", "message"),
    [
        ("  - {op: crop, name: c}\n", "crop needs a 'size'"),
        ("  - {op: crop, size: 9, name: c}\n", "crop height 9 is larger than the input height 8"),
        (
            "  - {op: conv, out: 1, k: 3, name: a}\n"
            "  - {op: crop, from: [input, a], size: 2, name: c}\n",
            "not both",
        ),
    ],
)
def test_bad_crops_are_refused_with_one_message(layers: str, message: str) -> None:
    from convcalc.errors import ConvcalcError

    with pytest.raises(ConvcalcError) as info:
        load("input: [1, 8, 8]\nlayers:\n" + layers)
    assert message in info.value.message
    assert info.value.layer == "c"


def test_conventions_page_shows_what_analyze_prints() -> None:
    from pathlib import Path

    from typer.testing import CliRunner

    from convcalc.cli import app

    page = Path(__file__).resolve().parent.parent / "docs" / "conventions.md"
    if not page.is_file():
        pytest.skip("docs are not beside the tests")
    text = page.read_text()
    marker = "$ convcalc analyze unet --depth 1\n"
    shown = text[text.index(marker) + len(marker) :].split("```", 1)[0]
    result = CliRunner().invoke(app, ["analyze", "unet", "--depth", "1"])
    assert result.stdout == shown


def test_branches_of_different_jumps_after_upsampling_are_not_tracked() -> None:
    # A x2 upsample cropped back to 16 rows steps half a pixel per unit, the input one
    # pixel: no period describes their concatenation, so convcalc says so and shows none.
    report = analyze(
        load(
            "input: [1, 16, 16]\nlayers:\n"
            "  - {op: upsample, scale: 2, name: up}\n"
            "  - {op: crop, size: 16, name: c}\n"
            "  - {op: concat, from: [c, input], name: m}\n"
        )
    )
    assert report.layer("c").rf.jump == (Fraction(1, 2),) * 2
    assert report.layer("m").rf is None
    assert any(w.startswith("m: branches meet with different jumps") for w in report.warnings)


# --- what the report, the table and explain show --------------------------------------------


def test_json_adds_the_phase_fields_only_where_units_differ() -> None:
    _, report = bundled("unet")
    layers = {row["name"]: row["rf"] for row in report.to_json()["layers"]}
    assert set(layers["enc1.conv1.conv"]) == {"size", "jump", "start"}  # uniform: as before
    head = layers["head"]
    assert head["size"] == [204, 204] and head["min_size"] == [188, 188]
    assert head["period"] == [16, 16] and head["bound"] == [False, False]
    assert head["phases"][0][:5] == [{"size": 188, "start": 0}] * 4 + [{"size": 204, "start": 0}]


def test_the_rf_column_shows_the_range_or_the_bound() -> None:
    from convcalc.render.text import rf_text

    _, report = bundled("unet")
    assert rf_text(report.layer("head")) == "188..204"
    assert rf_text(report.layer("dec3.conv2.conv")) == "188"  # period 4, every phase 188
    graph = load("input: [1, 12, 12]\nlayers:\n  - {op: upsample, size: 17, name: u}\n")
    saved = base.PHASE_LIMIT
    base.PHASE_LIMIT = 8  # 12 -> 17 has a period of 17
    try:
        report = analyze(graph)
    finally:
        base.PHASE_LIMIT = saved
    row = report.layer("u")
    # Nearest 12 -> 17: every unit reads one pixel; the envelope bound is floor(11/17) + 1.
    assert rf_text(row) == "<=1" and row.rf.bound == (True, True)
    assert report.warnings == [
        "u: its units repeat with a period over 8; the receptive field shown from here on is "
        "an upper bound"
    ]


def test_explain_gives_the_period_and_each_phase() -> None:
    from convcalc.explain import derive

    graph, report = bundled("unet")
    (explanation,) = derive(graph, report, ["head"])
    steps = {s.metric: s for s in explanation.steps}
    assert steps["RF period (height)"].value == 16
    assert steps["RF period (height)"].substituted == "phase sizes 188 x4, 204 x12"
    assert steps["RF size (height), largest"].value == 204
    assert steps["RF size (height), smallest"].value == 188
    assert steps["RF jump (height)"].value == 1
    # A layer whose fields are uniform keeps the Distill formula.
    (encoder,) = derive(graph, report, ["enc2.conv1.conv"])
    assert [s.formula for s in encoder.steps if s.metric == "RF size (height)"] == [
        "d_h*j_in*(k_h - 1) + r_in"
    ]


def test_upsampling_to_a_free_size_is_not_tracked() -> None:
    graph = load(
        "params: {m: null}\ninput: [1, 8, 8]\nlayers:\n  - {op: upsample, size: [m, m], name: u}\n"
    )
    report = analyze(graph)
    assert report.layer("u").rf is None
    assert "u: the receptive field after this layer needs concrete sizes" in report.warnings
