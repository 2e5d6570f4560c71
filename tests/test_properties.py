"""convcalc's closed-form counts against brute force, on random small networks.

Each property builds a random conv/pool stack or a small DAG as YAML, analyses it, and
checks the result against a count written here from the definitions alone: output sizes by
laying windows every stride and keeping those the padding rule allows, parameters by
enumerating every weight, multiply-adds by enumerating every output position and kernel tap,
receptive fields by propagating the set of input coordinates each unit depends on, and peak
memory by simulating which tensors are alive while each layer runs. Nothing here calls
convcalc's formulas.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, given, settings

from convcalc.analysis import analyze
from convcalc.errors import ShapeError
from convcalc.report import Report
from convcalc.schema import loader
from convcalc.schema.expand import expand

# A few seconds in the normal suite; set CONVCALC_PROPERTY_EXAMPLES for a longer search.
SETTINGS = settings(
    max_examples=int(os.environ.get("CONVCALC_PROPERTY_EXAMPLES", "250")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def run(text: str) -> Report:
    return analyze(expand(loader.load_yaml(text, "prop.yaml"), "prop.yaml", "prop.yaml"))


# --- brute force, one axis at a time --------------------------------------------------------


def window_starts(size: int, k: int, s: int, d: int, before: int, after: int, ceil: bool):
    """Input coordinates where each output's window starts, found by laying windows every
    ``s`` from the top of the padded input: in floor mode a window is kept when all its taps
    are inside the padded input; in ceil mode one more, partial, window is kept while the
    previous one has not reached the last padded row, unless it would start in the bottom
    padding (PyTorch). None when not even the first window fits."""
    last = size + after - 1  # last padded coordinate
    span = d * (k - 1)
    if -before + span > last:
        return None
    starts = []
    o = 0
    while True:
        first = o * s - before
        if first + span <= last or (ceil and (o - 1) * s - before + span < last and first < size):
            starts.append(first)
        else:
            return starts
        o += 1


def transposed_length(size: int, k: int, s: int, d: int, before: int, after: int, extra: int):
    """Output length of a transposed conv: scatter every input position through every tap,
    take the span of positions written, crop the padding and add the output padding."""
    written = {i * s + t * d for i in range(size) for t in range(k)}
    return max(written) - min(written) + 1 - before - after + extra


@dataclass
class Layer:
    """A layer as the brute force sees it (axis 0 = height, 1 = width)."""

    op: str
    k: tuple[int, int] = (1, 1)
    s: tuple[int, int] = (1, 1)
    d: tuple[int, int] = (1, 1)
    pad: tuple[int, int, int, int] = (0, 0, 0, 0)  # top, bottom, left, right
    out: int = 0
    groups: int = 1
    multiplier: int = 1
    bias: bool = True
    ceil: bool = False
    extra: tuple[int, int] = (0, 0)  # output padding of a transposed conv
    yaml: dict = field(default_factory=dict)


def connections(layer: Layer, c_in: int) -> tuple[int, list[list[int]]]:
    """(C_out, for each output channel the input channels it reads), enumerated."""
    if layer.op == "dwconv":
        c_out = c_in * layer.multiplier
        return c_out, [[o // layer.multiplier] for o in range(c_out)]
    if layer.op in ("conv", "deconv"):
        c_out = layer.out
        per_in, per_out = c_in // layer.groups, c_out // layer.groups
        return c_out, [
            [c for c in range(c_in) if c // per_in == o // per_out] for o in range(c_out)
        ]
    return c_in, [[o] for o in range(c_in)]  # pools: channel by channel


def brute(layer: Layer, shape: tuple[int, int, int]):
    """(output shape, params, MACs, FLOPs) of one layer, or None when it cannot run."""
    c_in, h, w = shape
    c_out, reads = connections(layer, c_in)
    taps_h = range(layer.k[0])
    taps_w = range(layer.k[1])
    if layer.op == "deconv":
        sizes = [
            transposed_length(
                n, layer.k[a], layer.s[a], layer.d[a], *layer.pad[2 * a : 2 * a + 2], layer.extra[a]
            )
            for a, n in ((0, h), (1, w))
        ]
        if min(sizes) < 1:
            return None
        macs = 0
        for _ih in range(h):  # every input value meets every tap of its group's filters
            for _iw in range(w):
                for _th in taps_h:
                    for _tw in taps_w:
                        macs += sum(len(r) for r in reads)
        weights = sum(len(r) for r in reads) * layer.k[0] * layer.k[1]
        outputs = c_out * sizes[0] * sizes[1]
        bias = c_out if layer.bias else 0
        return (c_out, *sizes), weights + bias, macs, 2 * macs + (outputs if layer.bias else 0)
    rows = window_starts(h, layer.k[0], layer.s[0], layer.d[0], *layer.pad[:2], layer.ceil)
    cols = window_starts(w, layer.k[1], layer.s[1], layer.d[1], *layer.pad[2:], layer.ceil)
    if not rows or not cols:
        return None
    out_shape = (c_out, len(rows), len(cols))
    outputs = c_out * len(rows) * len(cols)
    if layer.op in ("maxpool", "avgpool"):
        taps = 0
        for _r in rows:
            for _c in cols:
                for _th in taps_h:
                    for _tw in taps_w:
                        taps += 1
        per_output = taps // (len(rows) * len(cols))
        flops = outputs * (per_output - 1 if layer.op == "maxpool" else per_output)
        return out_shape, 0, 0, flops
    macs = 0
    for r in rows:
        for c in cols:
            for th in taps_h:
                for tw in taps_w:
                    y, x = r + th * layer.d[0], c + tw * layer.d[1]
                    assert -layer.pad[0] <= y < h + layer.pad[1]  # inside the padded input
                    assert -layer.pad[2] <= x < w + layer.pad[3]
                    macs += sum(len(ins) for ins in reads)
    weights = sum(len(ins) for ins in reads) * layer.k[0] * layer.k[1]
    bias = c_out if layer.bias else 0
    return out_shape, weights + bias, macs, 2 * macs + (outputs if layer.bias else 0)


# --- random layers ------------------------------------------------------------------------


def pair(draw, lo: int, hi: int) -> tuple[int, int]:
    a = draw(st.integers(lo, hi))
    return (a, a) if draw(st.booleans()) else (a, draw(st.integers(lo, hi)))


@st.composite
def sliding_layer(draw, c_in: int, allow_deconv: bool = True) -> Layer:
    op = draw(
        st.sampled_from(
            ["conv", "conv", "dwconv", "maxpool", "avgpool"] + (["deconv"] if allow_deconv else [])
        )
    )
    k = pair(draw, 1, 4)
    s = pair(draw, 1, 3)
    d = pair(draw, 1, 3) if op in ("conv", "dwconv", "maxpool", "deconv") else (1, 1)
    if op in ("maxpool", "avgpool"):  # PyTorch: padding at most half the kernel
        pad = tuple(draw(st.integers(0, k[i // 2] // 2)) for i in range(4))
    else:
        pad = tuple(draw(st.integers(0, 3)) for _ in range(4))
    if draw(st.booleans()):
        pad = (pad[0], pad[0], pad[2], pad[2])
    layer = Layer(op, k, s, d, pad)
    spec: dict = {"op": op, "k": list(k), "stride": list(s), "padding": list(pad)}
    if d != (1, 1):
        spec["dilation"] = list(d)
    if op in ("conv", "deconv"):
        layer.groups = draw(st.sampled_from([g for g in (1, 2, 3, 4) if c_in % g == 0]))
        layer.out = layer.groups * draw(st.integers(1, 3))
        layer.bias = draw(st.booleans())
        spec.update(out=layer.out, groups=layer.groups, bias=layer.bias)
    if op == "deconv":
        layer.extra = tuple(draw(st.integers(0, max(s[a], d[a]) - 1)) for a in (0, 1))
        spec["output_padding"] = list(layer.extra)
    if op == "dwconv":
        layer.multiplier = draw(st.integers(1, 2))
        layer.bias = draw(st.booleans())
        spec.update(multiplier=layer.multiplier, bias=layer.bias)
    if op in ("maxpool", "avgpool"):
        layer.ceil = draw(st.booleans())
        spec["ceil_mode"] = layer.ceil
    layer.yaml = spec
    return layer


def yaml_of(shape: tuple[int, ...], layers: list[dict]) -> str:
    """An architecture file (JSON is YAML) with these layers."""
    rows = "".join(f"  - {json.dumps(entry)}\n" for entry in layers)
    return f"input: {list(shape)}\nlayers:\n{rows}"


@st.composite
def stacks(draw):
    shape = (draw(st.integers(1, 4)), draw(st.integers(1, 12)), draw(st.integers(1, 12)))
    layers = []
    c = shape[0]
    for _ in range(draw(st.integers(1, 4))):
        layer = draw(sliding_layer(c))
        layers.append(layer)
        c = layer.out if layer.op in ("conv", "deconv") else c * layer.multiplier
    return shape, layers


@SETTINGS
@given(stacks())
def test_stack_shapes_params_macs_flops_match_brute_force(case) -> None:
    shape, layers = case
    expected = []
    current = shape
    for layer in layers:
        result = brute(layer, current)
        if result is None:
            break
        expected.append(result)
        current = result[0]
    specs = [dict(layer.yaml, name=f"l{i}") for i, layer in enumerate(layers)]
    text = yaml_of(shape, specs)
    if len(expected) < len(layers):  # some window cannot fit: convcalc must refuse it
        with pytest.raises(ShapeError) as info:
            run(text)
        assert info.value.layer == f"l{len(expected)}"
        return
    report = run(text)
    for i, (out_shape, params, macs, flops) in enumerate(expected):
        row = report.layer(f"l{i}")
        assert row.output_shape == out_shape, (i, layers[i])
        assert row.params == params, (i, layers[i])
        assert row.macs == macs, (i, layers[i])
        assert row.flops == flops, (i, layers[i])
    assert report.totals.params == sum(e[1] for e in expected)
    assert report.totals.macs == sum(e[2] for e in expected)


# --- receptive fields ---------------------------------------------------------------------


class Field:
    """Which input coordinates (along one axis) each unit of each tensor depends on.

    Units outside a tensor's extent (in the padding) are extended the same way, so unit 0's
    set reaches into the padding exactly as far as the composed field does."""

    def __init__(self) -> None:
        self.rules: dict[str, list] = {"input": []}

    def units(self, tensor: str, u: int, memo: dict) -> frozenset[int]:
        key = (tensor, u)
        if key not in memo:
            rule = self.rules[tensor]
            if not rule:
                memo[key] = frozenset([u])
            else:
                deps: set[int] = set()
                for source, k, s, d, before in rule:
                    for t in range(k):
                        deps |= self.units(source, u * s - before + t * d, memo)
                memo[key] = frozenset(deps)
        return memo[key]

    def measure(self, tensor: str) -> tuple[int, int, int]:
        """(size, jump, start) of the tensor's field: unit 0's span, and the step to unit 1."""
        memo: dict = {}
        first = self.units(tensor, 0, memo)
        second = self.units(tensor, 1, memo)
        return max(first) - min(first) + 1, min(second) - min(first), min(first)


@st.composite
def rf_stacks(draw):
    """Conv and pool stacks (no transposed convs: their fields have fractional jumps)."""
    shape = (draw(st.integers(1, 3)), draw(st.integers(8, 24)), draw(st.integers(8, 24)))
    layers = []
    c = shape[0]
    for _ in range(draw(st.integers(1, 5))):
        layer = draw(sliding_layer(c, allow_deconv=False))
        layers.append(layer)
        c = layer.out if layer.op == "conv" else c * layer.multiplier
    return shape, layers


@SETTINGS
@given(rf_stacks(), st.booleans())
def test_receptive_fields_match_propagated_pixel_sets(case, global_pool: bool) -> None:
    shape, layers = case
    current = shape
    fields = [Field(), Field()]
    runnable = []
    whole_map = []  # per layer: a pool with one output whose window hits every position
    for i, layer in enumerate(layers):
        result = brute(layer, current)
        if result is None:
            break
        source = "input" if i == 0 else f"l{i - 1}"
        for axis in (0, 1):
            fields[axis].rules[f"l{i}"] = [
                (source, layer.k[axis], layer.s[axis], layer.d[axis], layer.pad[2 * axis])
            ]
        whole_map.append(
            layer.op in ("maxpool", "avgpool")
            and result[0][1:] == (1, 1)
            and all(
                set(range(current[1 + a]))
                <= {t * layer.d[a] - layer.pad[2 * a] for t in range(layer.k[a])}
                for a in (0, 1)
            )
        )
        runnable.append(layer)
        current = result[0]
    if not runnable:
        return
    specs = [dict(layer.yaml, name=f"l{i}") for i, layer in enumerate(runnable)]
    if global_pool:  # one window the size of the whole map
        last = f"l{len(runnable) - 1}"
        for axis in (0, 1):
            fields[axis].rules["gp"] = [(last, current[1 + axis], 1, 1, 0)]
        specs.append({"op": "global_avgpool", "name": "gp"})
        whole_map.append(True)
    report = run(yaml_of(shape, specs))
    for spec in specs:
        rf = report.layer(spec["name"]).rf
        for axis in (0, 1):
            size, jump, start = fields[axis].measure(spec["name"])
            assert rf.size[axis] == size, (spec, axis)
            assert rf.start[axis] == start, (spec, axis)
            if spec["name"] != "gp":  # one unit only: no neighbour to step to
                assert rf.jump[axis] == jump, (spec, axis)
    # The total is the field of the last layer before the first pooling that sums up the
    # whole map in one window (a global pooling, in effect or by name); a conv that does so
    # (LeNet-5's C5) still has a field.
    first = whole_map.index(True) if True in whole_map else len(specs)
    expected = None if first == 0 else report.layer(specs[first - 1]["name"]).rf.size
    assert report.totals.receptive_field == expected


@st.composite
def branch_dags(draw):
    """A stem, two or three stride-1 branches of 'same'-size convs and pools, then a merge."""
    shape = (draw(st.integers(1, 3)), draw(st.integers(6, 16)), draw(st.integers(6, 16)))
    branches = []
    for _ in range(draw(st.integers(2, 3))):
        convs = []
        for _ in range(draw(st.integers(1, 3))):
            k = draw(st.integers(1, 4))
            d = draw(st.integers(1, 3))
            span = d * (k - 1)  # keep the size: pads summing to the span, split any way
            top = draw(st.integers(0, span))
            left = draw(st.integers(0, span))
            convs.append((k, d, top, span - top, left, span - left))
        branches.append(convs)
    merge = draw(st.sampled_from(["add", "concat"]))
    return shape, branches, merge


@SETTINGS
@given(branch_dags())
def test_merged_branches_see_the_union_of_their_fields(case) -> None:
    shape, branches, merge = case
    fields = [Field(), Field()]
    specs, ends = [], []
    for b, convs in enumerate(branches):
        source = "input"
        for j, (k, d, top, bottom, left, right) in enumerate(convs):
            name = f"b{b}_{j}"
            specs.append(
                {
                    "op": "conv",
                    "out": 2,
                    "k": k,
                    "dilation": d,
                    "padding": [top, bottom, left, right],
                    "from": source,
                    "name": name,
                }
            )
            fields[0].rules[name] = [(source, k, 1, d, top)]
            fields[1].rules[name] = [(source, k, 1, d, left)]
            source = name
        ends.append(source)
    specs.append({"op": merge, "from": ends, "name": "m"})
    for axis in (0, 1):
        fields[axis].rules["m"] = [(end, 1, 1, 1, 0) for end in ends]
    report = run(yaml_of(shape, specs))
    rf = report.layer("m").rf
    for axis in (0, 1):
        size, jump, start = fields[axis].measure("m")
        assert (rf.size[axis], rf.jump[axis], rf.start[axis]) == (size, jump, start)
    expected_channels = 2 if merge == "add" else 2 * len(branches)
    assert report.layer("m").output_shape == (expected_channels, shape[1], shape[2])


# --- peak activation memory ---------------------------------------------------------------


@st.composite
def dags(draw):
    """Layers that keep H x W, each reading earlier tensors chosen at random (skips, merges)."""
    h, w = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    channels = {"input": draw(st.integers(1, 4))}
    order = ["input"]
    specs = []
    for i in range(draw(st.integers(1, 10))):
        name = f"n{i}"
        op = draw(st.sampled_from(["conv", "relu", "bn", "maxpool", "concat", "add"]))
        earlier = st.sampled_from(order)
        if op == "add":
            widths = {}
            for t in order:
                widths.setdefault(channels[t], []).append(t)
            pairs = [ts for ts in widths.values() if len(ts) >= 2]
            if not pairs:
                op = "concat"
            else:
                group = draw(st.sampled_from(pairs))
                sources = draw(st.lists(st.sampled_from(group), min_size=2, max_size=3))
                channels[name] = channels[sources[0]]
        if op == "concat":
            sources = draw(st.lists(earlier, min_size=2, max_size=3))
            channels[name] = sum(channels[t] for t in sources)
        if op in ("conv", "relu", "bn", "maxpool"):
            sources = [draw(earlier)]
            spec = {"op": op}
            if op == "conv":
                k = draw(st.sampled_from([1, 3]))
                channels[name] = draw(st.integers(1, 5))
                spec.update(out=channels[name], k=k, padding=k // 2)
            else:
                channels[name] = channels[sources[0]]
                if op == "maxpool":
                    spec.update(k=3, stride=1, padding=1)
        else:
            spec = {"op": op}
        spec.update({"from": sources if len(sources) > 1 else sources[0], "name": name})
        specs.append(spec)
        order.append(name)
    return (h, w), channels, specs


def simulated_peak(hw, channels, specs) -> tuple[int, str]:
    """Run the layers in file order; at each step the live tensors are those already made
    and still to be read by this or a later layer (each layer's output at least during its
    own step, the network input from the start); the peak is the largest live sum."""
    size = {t: c * hw[0] * hw[1] for t, c in channels.items()}
    made = {"input": -1}
    last_read = {"input": -1}
    for step, spec in enumerate(specs):
        made[spec["name"]] = step
        last_read[spec["name"]] = step
        sources = spec["from"] if isinstance(spec["from"], list) else [spec["from"]]
        for t in sources:
            last_read[t] = max(last_read[t], step)
    best, where = size["input"], "input"
    for step, spec in enumerate(specs):
        live = sum(size[t] for t in made if made[t] <= step <= last_read[t])
        if live > best:
            best, where = live, spec["name"]
    return best, where


@SETTINGS
@given(dags(), st.sampled_from(["fp32", "fp16", "int8"]))
def test_peak_memory_matches_a_simulation_of_tensor_lifetimes(case, dtype: str) -> None:
    hw, channels, specs = case
    graph = expand(loader.load_yaml(yaml_of((channels["input"], *hw), specs), "p"), "p", "p")
    report = analyze(graph, dtype)
    width = {"fp32": 4, "fp16": 2, "int8": 1}[dtype]
    peak, where = simulated_peak(hw, channels, specs)
    assert report.totals.peak_activation_bytes == peak * width
    assert report.totals.peak_layer == where
    assert (
        report.totals.activation_bytes
        == sum(channels[s["name"]] * hw[0] * hw[1] for s in specs) * width
    )


@SETTINGS
@given(dags())
def test_dag_shapes_params_and_macs_match_brute_force(case) -> None:
    """Every layer of a random DAG (skips, concats, adds) against the brute force: convs and
    pools by enumeration, merges and element-wise layers from their definitions."""
    hw, channels, specs = case
    report = run(yaml_of((channels["input"], *hw), specs))
    for spec in specs:
        sources = spec["from"] if isinstance(spec["from"], list) else [spec["from"]]
        c_in = channels[sources[0]]
        values = c_in * hw[0] * hw[1]
        row = report.layer(spec["name"])
        op = spec["op"]
        if op in ("conv", "maxpool"):
            k = spec["k"]
            pad = spec["padding"]
            layer = Layer(op, (k, k), pad=(pad, pad, pad, pad), out=spec.get("out", 0))
            expected = brute(layer, (c_in, *hw))
        elif op == "concat":  # channels side by side: no weights, no work
            expected = ((sum(channels[t] for t in sources), *hw), 0, 0, 0)
        elif op == "add":  # n inputs: n - 1 adds per output value
            expected = ((c_in, *hw), 0, 0, (len(sources) - 1) * values)
        elif op == "bn":  # scale and shift per channel; one multiply and one add per value
            expected = ((c_in, *hw), 2 * c_in, 0, 2 * values)
        else:  # relu: one comparison per value
            expected = ((c_in, *hw), 0, 0, values)
        assert (row.output_shape, row.params, row.macs, row.flops) == expected, spec


# --- fixed cases, checked by hand ---------------------------------------------------------


def test_brute_force_itself_on_hand_counted_cases() -> None:
    """The brute force is only worth as much as these hand counts."""
    # 5 wide, k 3, stride 2, no padding: windows start at 0 and 2 (0..2, 2..4): 2 outputs.
    assert window_starts(5, 3, 2, 1, 0, 0, False) == [0, 2]
    # 6 wide, k 3, stride 2: floor keeps 0 and 2 (4..6 would need row 6); ceil adds 4.
    assert window_starts(6, 3, 2, 1, 0, 0, False) == [0, 2]
    assert window_starts(6, 3, 2, 1, 0, 0, True) == [0, 2, 4]
    # ceil mode with padding 1: the window at 5 would start in the bottom padding: dropped.
    assert window_starts(5, 2, 2, 1, 1, 1, True) == [-1, 1, 3]
    # A 3-tap kernel at dilation 2 spans 5; 4 wide plus one padding each side is 6: 2 fit.
    assert window_starts(4, 3, 1, 2, 1, 1, False) == [-1, 0]
    assert window_starts(2, 3, 1, 1, 0, 0, False) is None
    # Transposed: 3 inputs, k 4, stride 2 write 0..7 (8 values); padding 1+1 leaves 6.
    assert transposed_length(3, 4, 2, 1, 1, 1, 0) == 6
    # 3x3 conv 3 -> 4 on 5x5, no padding: 3x3 outputs, 4*3*9 = 108 weights + 4 biases,
    # 9 positions x 108 = 972 MACs; FLOPs 2*972 + 36 bias adds.
    layer = Layer("conv", (3, 3), out=4)
    assert brute(layer, (3, 5, 5)) == ((4, 3, 3), 112, 972, 1980)
    # Two 3x3 convs at stride 1, padding 1: 5 pixels, jump 1, starting 2 into the padding.
    f = Field()
    f.rules["a"] = [("input", 3, 1, 1, 1)]
    f.rules["b"] = [("a", 3, 1, 1, 1)]
    assert f.measure("b") == (5, 1, -2)
    # Dilation 2 twice: unit 0 sees only even offsets -4..4 (gridding), span 9.
    f.rules["c"] = [("input", 3, 1, 2, 0)]
    f.rules["e"] = [("c", 3, 1, 2, 0)]
    assert f.units("e", 0, {}) == frozenset({0, 2, 4, 6, 8})
    assert f.measure("e") == (9, 1, 0)
    # Input 3 wide; a (3 ch) and b (reads a) each 3: at b the input is dead, a and b alive.
    specs = [{"op": "relu", "from": "input", "name": "a"}, {"op": "relu", "from": "a", "name": "b"}]
    assert simulated_peak((1, 1), {"input": 3, "a": 3, "b": 3}, specs) == (6, "a")
