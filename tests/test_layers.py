"""Every layer kind against hand calculations (the expected values are worked in comments)."""

from __future__ import annotations

import pytest

from convcalc.layers import KINDS, REGISTRY

# One small example per kind: (input shape, layer YAML, output shape, params, macs, flops).
# Every number is worked out by hand in the comment above the row.
CASES = {
    # out 8, in 3, 3x3, pad 1 on 8x8: weights 8*3*9 = 216, bias 8 -> 224;
    # MACs 8*8 positions * 8 out * 27 = 13,824; FLOPs 2*13,824 + 512 bias adds = 28,160.
    "conv": ([3, 8, 8], "{op: conv, out: 8, k: 3, padding: 1}", (8, 8, 8), 224, 13824, 28160),
    # depthwise 3x3 x2 on 16 channels: 32 filters of 9 = 288 + 32 bias = 320;
    # MACs 8*8*32*9 = 18,432; FLOPs 36,864 + 2,048 bias adds = 38,912.
    "dwconv": (
        [16, 8, 8],
        "{op: dwconv, k: 3, padding: 1, multiplier: 2}",
        (32, 8, 8),
        320,
        18432,
        38912,
    ),
    # DCGAN's first fractionally-strided conv: (4-1)*2 - 2*2 + (5-1) + 1 + 1 = 8;
    # weights 1024*512*25 = 13,107,200 + 512 bias; MACs 4*4 inputs * 1024 * 512 * 25.
    "deconv": (
        [1024, 4, 4],
        "{op: deconv, out: 512, k: 5, stride: 2, padding: 2, output_padding: 1}",
        (512, 8, 8),
        13107712,
        209715200,
        2 * 209715200 + 512 * 64,
    ),
    # Offset conv: 2*9 = 18 channels from 4: 18*4*9 + 18 = 666; main 8*4*9 + 8 = 296.
    # MACs 25*(18*36) + 25*(8*36) = 16,200 + 7,200 = 23,400. FLOPs: 2*23,400 + bilinear
    # sampling 25*4*9*7 = 6,300 + offset bias 25*18 = 450 + main bias 25*8 = 200.
    "deform_conv": (
        [4, 5, 5],
        "{op: deform_conv, out: 8, k: 3, padding: 1}",
        (8, 5, 5),
        962,
        23400,
        46800 + 6300 + 450 + 200,
    ),
    # Unshared 3x3 from 2 to 3 channels on 5x5 (no pad): 3*3*3 = 27 outputs, each with
    # 2*9 = 18 weights (486) and its own bias (27): 513 params; 486 MACs.
    "local_conv": ([2, 5, 5], "{op: local_conv, out: 3, k: 3}", (3, 3, 3), 513, 486, 999),
    # Tiled, 2x2 kernel sets: 4 * (3*2*9) = 216 + 3 bias; MACs as conv: 9 * 54 = 486.
    "tiled_conv": (
        [2, 5, 5],
        "{op: tiled_conv, out: 3, k: 3, tiles: 2}",
        (3, 3, 3),
        219,
        486,
        972 + 27,
    ),
    # Connection table with K = 3 non-zeros, 3x3 kernels: K*m*n + P = 3*9 + 2 = 29 (seed 002);
    # MACs 3*3 positions * 3 * 9 = 243.
    "table_conv": (
        [2, 5, 5],
        "{op: table_conv, table: [[1, 1], [0, 1]], k: 3}",
        (2, 3, 3),
        29,
        243,
        486 + 18,
    ),
    # floor((13 - 3) / 2) + 1 = 6; (9 - 1) comparisons per output: 8*6*6*8 = 2,304.
    "maxpool": ([8, 13, 13], "{op: maxpool, k: 3, stride: 2}", (8, 6, 6), 0, 0, 2304),
    # LeNet-5 S2: 2x2 subsampling with a learned coefficient and bias per map: 12 params.
    # FLOPs: 6*14*14 = 1,176 outputs * (4 + 2) = 7,056.
    "avgpool": (
        [6, 28, 28],
        "{op: avgpool, k: 2, trainable: true}",
        (6, 14, 14),
        12,
        0,
        7056,
    ),
    "global_avgpool": ([8, 7, 7], "{op: global_avgpool}", (8, 1, 1), 0, 0, 392),  # 8*49
    "global_maxpool": ([8, 7, 7], "{op: global_maxpool}", (8, 1, 1), 0, 0, 392),
    # PyTorch windows for 5 -> 3: [0,2), [1,4), [3,5): sizes 2 + 3 + 2 = 7 per axis;
    # FLOPs 2 channels * 7 * 7 = 98.
    "adaptive_avgpool": ([2, 5, 5], "{op: adaptive_avgpool, size: 3}", (2, 3, 3), 0, 0, 98),
    # Bilinear x2 on 4x3x3: 4*6*6 = 144 outputs * 7.
    "upsample": (
        [4, 3, 3],
        "{op: upsample, scale: 2, mode: bilinear}",
        (4, 6, 6),
        0,
        0,
        1008,
    ),
    "shift": ([4, 5, 5], "{op: shift, k: 3}", (4, 5, 5), 0, 0, 0),
    # Centre crop of 4x7x6 to 3x4: 4 channels kept, no weights and no arithmetic.
    "crop": ([4, 7, 6], "{op: crop, size: [3, 4]}", (4, 3, 4), 0, 0, 0),
    # VGG fc6: 25,088 * 4,096 = 102,760,448 weights + 4,096 biases.
    "linear": (
        [25088],
        "{op: linear, out: 4096}",
        (4096,),
        102764544,
        102760448,
        2 * 102760448 + 4096,
    ),
    "flatten": ([512, 7, 7], "{op: flatten}", (25088,), 0, 0, 0),
    "reshape": ([16384], "{op: reshape, shape: [1024, 4, 4]}", (1024, 4, 4), 0, 0, 0),
    "channel_shuffle": ([8, 2, 2], "{op: channel_shuffle, groups: 4}", (8, 2, 2), 0, 0, 0),
    "slice": ([8, 2, 2], "{op: slice, start: 2, stop: 6}", (4, 2, 2), 0, 0, 0),
    "identity": ([8, 2, 2], "{op: identity}", (8, 2, 2), 0, 0, 0),
    "dropout": ([10], "{op: dropout, p: 0.5}", (10,), 0, 0, 0),
    "drop_path": ([8, 2, 2], "{op: drop_path, p: 0.1}", (8, 2, 2), 0, 0, 0),
    # torch.nn.PixelShuffle(2) maps (1, 12, 3, 5) to (1, 3, 6, 10), and PixelUnshuffle(2)
    # back (measured with torch 2.13): 12 / 2^2 = 3 channels, each side times 2; no arithmetic.
    "pixel_shuffle": ([12, 3, 5], "{op: pixel_shuffle, factor: 2}", (3, 6, 10), 0, 0, 0),
    "pixel_unshuffle": ([3, 6, 10], "{op: pixel_unshuffle, factor: 2}", (12, 3, 5), 0, 0, 0),
    # 2 per channel (scale, shift); 2 FLOPs per value: 2 * 32*4*4 = 1,024.
    "bn": ([32, 4, 4], "{op: bn}", (32, 4, 4), 64, 0, 1024),
    # Norms with statistics at inference, on 8x4x4 = 128 values: 5 FLOPs per value (mean add;
    # subtract, square, add; multiply) + 2 with affine, + 5 per set of statistics.
    # GroupNorm, 4 groups: torch.nn.GroupNorm(4, 8) has 16 params (2 * 8);
    # FLOPs 7 * 128 + 5 * 4 = 916.
    "groupnorm": ([8, 4, 4], "{op: groupnorm, groups: 4}", (8, 4, 4), 16, 0, 916),
    # torch.nn.InstanceNorm2d(8) has 0 params (affine=False by default); one set of
    # statistics per channel: 5 * 128 + 5 * 8 = 680.
    "instancenorm": ([8, 4, 4], "{op: instancenorm}", (8, 4, 4), 0, 0, 680),
    # Over the 8 channels at each of 16 positions (ConvNeXt's LayerNorm2d is an
    # nn.LayerNorm(8): 16 params); FLOPs 7 * 128 + 5 * 16 = 976.
    "layernorm": ([8, 4, 4], "{op: layernorm}", (8, 4, 4), 16, 0, 976),
    # AlexNet's LRN, n = 5: (2*5 + 3) = 13 FLOPs per value.
    "lrn": ([96, 55, 55], "{op: lrn, size: 5}", (96, 55, 55), 0, 0, 13 * 96 * 55 * 55),
    # Per value: relu 1, relu6 2, leaky 2, sigmoid 4, tanh 5, hsigmoid 4, hswish 5, swish 5,
    # elu 4 (a comparison, exp, subtract 1, multiply by alpha): 4 * 18 values = 72.
    "relu": ([2, 3, 3], "{op: relu}", (2, 3, 3), 0, 0, 18),
    "relu6": ([2, 3, 3], "{op: relu6}", (2, 3, 3), 0, 0, 36),
    "leaky_relu": ([2, 3, 3], "{op: leaky_relu}", (2, 3, 3), 0, 0, 36),
    "sigmoid": ([2, 3, 3], "{op: sigmoid}", (2, 3, 3), 0, 0, 72),
    "tanh": ([2, 3, 3], "{op: tanh}", (2, 3, 3), 0, 0, 90),
    "hsigmoid": ([2, 3, 3], "{op: hsigmoid}", (2, 3, 3), 0, 0, 72),
    "hswish": ([2, 3, 3], "{op: hswish}", (2, 3, 3), 0, 0, 90),
    "swish": ([2, 3, 3], "{op: swish}", (2, 3, 3), 0, 0, 90),
    "elu": ([2, 3, 3], "{op: elu}", (2, 3, 3), 0, 0, 72),
    # softplus 3 (exp, add, log): 54; mish 9 (softplus 3, tanh 5, multiply): 162;
    # exact gelu 5 (divide by sqrt 2, erf, add 1, halve, multiply): 90.
    "softplus": ([2, 3, 3], "{op: softplus}", (2, 3, 3), 0, 0, 54),
    "mish": ([2, 3, 3], "{op: mish}", (2, 3, 3), 0, 0, 162),
    "gelu": ([2, 3, 3], "{op: gelu}", (2, 3, 3), 0, 0, 90),
    "prelu": ([2, 3, 3], "{op: prelu, per_channel: true}", (2, 3, 3), 2, 0, 36),
    "softmax": ([10], "{op: softmax}", (10,), 0, 0, 30),
    # One multiply per value: 8 * 5 * 5 = 200.
    "scale": ([8, 5, 5], "{op: scale, factor: 0.17}", (8, 5, 5), 0, 0, 200),
    # Tokens (N, C), written [N, C], reach the layer through a to_tokens of a C x 1 x N map
    # (see _network). A 8 x 2 x 3 map is 2*3 = 6 tokens of width 8, and back.
    "to_tokens": ([8, 2, 3], "{op: to_tokens}", (6, 8), 0, 0, 0),
    "to_map": ([6, 8], "{op: to_map, size: [2, 3]}", (8, 2, 3), 0, 0, 0),
    # ViT's class token: a learned [1, C] row before the 6 tokens: 8 params, a copy.
    "parameter": ([6, 8], "{op: parameter, shape: [1, 8], mode: concat}", (7, 8), 8, 0, 0),
    "permute": ([2, 3, 4], "{op: permute, order: [1, 2, 0]}", (3, 4, 2), 0, 0, 0),
    "transpose": ([6, 8], "{op: transpose}", (8, 6), 0, 0, 0),
    # q, k, v of a joint projection of width 12: the second of 3 chunks of the last axis.
    "chunk": ([6, 12], "{op: chunk, chunks: 3, index: 1}", (6, 4), 0, 0, 0),
    # F.pad(x, (2, 1, 1, 0)) on 2x3x4: height 3 + 1 + 0, width 4 + 2 + 1; no arithmetic.
    "pad": ([2, 3, 4], "{op: pad, padding: [1, 0, 2, 1]}", (2, 4, 7), 0, 0, 0),
    # x @ x^T on the two 3x4 matrices of a 2x3x4 tensor: 2*3*3 outputs of 4 MACs = 72.
    "matmul": (
        [2, 3, 4],
        "{op: matmul, from: [input, input], transpose: true}",
        (2, 3, 3),
        0,
        72,
        144,
    ),
    # nn.MultiheadAttention(8, 2) on 6 tokens: 288 params (in_proj 24x8 + 24, out_proj 8x8 +
    # 8) and 2,112 MACs, measured with torch 2.13 (FlopCounterMode / 2, math backend). By
    # hand: q, k, v 6*8*24 = 1,152; scores 2 heads * 6*6 = 72, each 4 MACs in q k^T and in
    # the weighted sum: 2*72*4 = 576; output 6*8*8 = 384. FLOPs 2*2,112 + biases 6*(24 + 8)
    # = 192 + q scaled 6*8 = 48 + softmax 3*72 = 216: 4,680.
    "attention": ([6, 8], "{op: attention, heads: 2}", (6, 8), 288, 2112, 4680),
}

MERGES = {
    # Two 4x3x3 inputs: 36 adds.
    "add": ("{op: add, from: [a, b]}", (4, 3, 3), 36),
    "concat": ("{op: concat, from: [a, b]}", (8, 3, 3), 0),
    "multiply": ("{op: multiply, from: [a, b]}", (4, 3, 3), 36),
}


# What each kind says about itself beyond its counts, checked on its CASES/MERGES example:
# (device cost class, flags). Flags: view (no copy), value (per-value function), nonlinear,
# position (each output position reads only the same input position), channel (output
# channel c reads input channel c alone), window (a sliding window the dilation rules see).
FACTS = {
    "conv": ("conv", "window"),  # its example is a dense 3x3; see test_cost_class_of_convs
    "dwconv": ("grouped", "window"),
    "deconv": ("conv", ""),
    "deform_conv": ("conv", ""),
    "local_conv": ("conv", "window"),
    "tiled_conv": ("conv", "window"),
    "table_conv": ("conv", "window"),
    "shift": ("elementwise", "channel"),
    "maxpool": ("elementwise", "channel window"),
    "avgpool": ("elementwise", "channel window"),
    "global_avgpool": ("elementwise", "channel"),
    "global_maxpool": ("elementwise", "channel"),
    "adaptive_avgpool": ("elementwise", "channel"),
    "upsample": ("elementwise", "channel"),
    "linear": ("linear", ""),
    "flatten": ("view", "view"),
    "reshape": ("view", "view"),
    "slice": ("view", "view"),
    "crop": ("view", "view channel"),
    "identity": ("view", "view value position channel"),
    "dropout": ("view", "view value position channel"),
    "drop_path": ("view", "view value position channel"),
    # A copy, not a view: PyTorch's pixel_shuffle output does not share its input's storage.
    "pixel_shuffle": ("elementwise", ""),
    "pixel_unshuffle": ("elementwise", ""),
    "channel_shuffle": ("elementwise", "position"),
    "bn": ("elementwise", "value position channel"),
    "lrn": ("elementwise", "position"),
    "groupnorm": ("elementwise", ""),
    "instancenorm": ("elementwise", "channel"),
    "layernorm": ("elementwise", "position"),
    "softmax": ("elementwise", ""),
    "scale": ("elementwise", "value position channel"),
    "add": ("elementwise", ""),
    "concat": ("elementwise", ""),
    "multiply": ("elementwise", ""),
    "to_tokens": ("view", "view"),
    "to_map": ("view", "view"),
    "parameter": ("elementwise", ""),
    "permute": ("view", "view"),
    "transpose": ("view", "view"),
    "chunk": ("view", "view"),
    # A copy (F.pad writes a new tensor); channel c of the output is channel c of the input.
    "pad": ("elementwise", "channel"),
    "matmul": ("linear", ""),
    "attention": ("linear", ""),
}
ACTIVATIONS = ("elementwise", "value nonlinear position channel")


def test_every_kind_has_a_hand_checked_case() -> None:
    assert set(CASES) | set(MERGES) == set(KINDS)


# PyTorch's names for kinds convcalc already had: torch.nn.SiLU is x * sigmoid(x),
# Hardswish x * relu6(x + 3) / 6, Hardsigmoid relu6(x + 3) / 6 (their documented formulas;
# torch 2.13's functions equal them within 1e-15 on [-5, 5], as do gelu's two forms, mish and
# softplus with the formulas their flops_rule counts).
ALIASES = {"silu": "swish", "hardswish": "hswish", "hardsigmoid": "hsigmoid"}


def test_aliases_are_the_same_kind_listed_once(run_yaml) -> None:
    from convcalc.layers import ordered

    for alias, op in ALIASES.items():
        assert REGISTRY[alias] is KINDS[op]
        assert alias in KINDS[op].aliases and f"`{alias}`" in KINDS[op].doc
        assert alias not in KINDS
    assert set(REGISTRY) == set(KINDS) | {a for k in KINDS.values() for a in k.aliases}
    assert len(ordered()) == len(KINDS)
    # The act: shorthand takes an alias; the layer counts as its kind (swish 5 per value,
    # hswish 5, on a 2x3x3 conv output of 18 values: 90 each).
    report = run_yaml(
        """
        input: [2, 3, 3]
        layers:
          - {op: conv, out: 2, k: 1, act: silu, name: a}
          - {op: conv, out: 2, k: 1, act: hardswish, name: b}
          - {op: hardsigmoid, name: c}
        """
    )
    assert report.layer("a.silu").flops == 90
    assert report.layer("b.hardswish").flops == 90
    assert report.layer("c").flops == 72  # hsigmoid: 4 per value


def test_gelu_tanh_form(run_yaml) -> None:
    # 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))): x^3 2, times 0.044715 1, add x 1,
    # times sqrt(2/pi) 1, tanh 5, add 1, halve, multiply by x: 13 per value; 18 values: 234.
    report = run_yaml("input: [2, 3, 3]\nlayers:\n  - {op: gelu, approximate: tanh, name: x}\n")
    assert report.layer("x").flops == 234


def test_norm_affine_switches(run_yaml) -> None:
    # torch.nn.InstanceNorm2d(8, affine=True): 16 params; FLOPs 7 * 128 + 5 * 8 = 936.
    # torch.nn.GroupNorm(4, 8, affine=False): 0 params; FLOPs 5 * 128 + 5 * 4 = 660.
    # nn.LayerNorm(128) on a vector of 128 features: 256 params; 7 * 128 + 5 * 1 = 901.
    report = run_yaml(
        """
        input: [8, 4, 4]
        layers:
          - {op: instancenorm, affine: true, name: i}
          - {op: groupnorm, groups: 4, affine: false, name: g}
          - {op: flatten}
          - {op: layernorm, name: l}
        """
    )
    got = {n: (report.layer(n).params, report.layer(n).flops) for n in "igl"}
    assert got == {"i": (16, 936), "g": (0, 660), "l": (256, 901)}


def test_norm_shorthand_takes_the_statistics_norms(run_yaml) -> None:
    # norm: and act: ask the kind's category: conv 8 -> 8 1x1 on 8x4x4 (72 params), then
    # layernorm (16 params, 976 FLOPs as in CASES) and gelu (5 * 128 = 640). Statistics over
    # the map do not widen the field: a 1x1 conv and an instance norm keep it at 1.
    report = run_yaml(
        """
        input: [8, 4, 4]
        layers:
          - {op: conv, out: 8, k: 1, norm: layernorm, act: gelu, name: a}
          - {op: conv, out: 8, k: 1, bias: false, norm: instancenorm, name: b}
        """
    )
    assert (report.layer("a.layernorm").params, report.layer("a.layernorm").flops) == (16, 976)
    assert report.layer("a.gelu").flops == 640
    assert report.layer("b.instancenorm").rf.size == (1, 1)


def _example(op: str) -> str:
    """The example layer of ``op`` as the analysis sees it (kind, args, input shapes)."""

    if op in MERGES:
        yaml = "input: [4, 3, 3]\nlayers:\n  - {op: identity, name: a}\n"
        yaml += f"  - {{op: identity, name: b, from: input}}\n  - {MERGES[op][0][:-1]}, name: x}}\n"
    else:
        shape, spec = CASES[op][:2]
        yaml = _network(shape, spec)
    return yaml


def _network(shape: list[int], spec: str) -> str:
    """A network whose layer ``x`` is ``spec`` on an input of ``shape``; tokens [N, C] come
    from a C x 1 x N map through to_tokens (an architecture's input is a map or a vector)."""
    if len(shape) == 2:
        n, c = shape
        head = f"input: [{c}, 1, {n}]\nlayers:\n  - {{op: to_tokens, name: tokens}}\n"
    else:
        head = f"input: {shape}\nlayers:\n"
    return head + f"  - {spec[:-1]}, name: x}}\n"


@pytest.mark.parametrize("op", sorted(KINDS))
def test_every_kind_states_its_facts(op: str, tmp_path) -> None:
    from convcalc import api
    from convcalc.layers.base import COST_CLASSES

    path = tmp_path / "net.yaml"
    path.write_text(_example(op))
    graph = api.load(path)
    layer = next(x for x in graph.layers if x.name == "x")
    kind, args = layer.kind, layer.args
    xs = [graph.shapes[s] for s in layer.inputs]
    category = REGISTRY[op].category
    cost, flags = FACTS.get(op, ACTIVATIONS if category == "activation" else ("?", ""))
    assert op in FACTS or category == "activation", f"write the facts of {op!r} in FACTS"
    flags = set(flags.split())
    assert cost in COST_CLASSES
    assert kind.cost_class(args, xs) == cost
    assert kind.is_view == ("view" in flags)
    assert kind.per_value == ("value" in flags)
    assert kind.nonlinearity == ("nonlinear" in flags)
    assert kind.position_local == ("position" in flags)
    assert kind.channel_local == ("channel" in flags)
    assert (kind.window(args) is not None) == ("window" in flags)
    if kind.channel_local:
        assert kind.channel_source(args, xs, layer.shape, 1) == 1
    for name, arg in kind.args.items():  # explain names each value of an argument once
        width = {"int": 1, "pair": 2, "padding": 4}.get(arg.type)
        assert not arg.symbols or len(arg.symbols) == width, f"{op}.{name}"


# How each kind's output positions read its input's on its example (receptive fields,
# docs/conventions.md): "map" through its window (every map-to-map example unless listed),
# "same" positions, "all" of them, or "lost" (not followed: a vector, a layout change).
POSITIONS = {
    "linear": "lost",  # on a vector
    "flatten": "lost",
    "reshape": "lost",
    "dropout": "lost",  # its example is a vector
    "softmax": "lost",
    "to_tokens": "same",  # token p is map position p
    "to_map": "same",
    "parameter": "same",  # the class token joins the tokens; each keeps its field
    "chunk": "same",
    "transpose": "lost",  # tokens (N, C) become (C, N)
    "permute": "lost",
    "matmul": "all",
    "attention": "all",  # no windows: every token reads every token
}


@pytest.mark.parametrize("op", sorted(KINDS))
def test_every_kind_says_how_its_positions_read_the_input(op: str, tmp_path) -> None:
    from convcalc import api

    path = tmp_path / "net.yaml"
    path.write_text(_example(op))
    graph = api.load(path)
    layer = next(x for x in graph.layers if x.name == "x")
    xs = [graph.shapes[s] for s in layer.inputs]
    assert layer.kind.positions(layer.args, xs, layer.shape) == POSITIONS.get(op, "map")


def test_cost_class_of_convs() -> None:
    """A dense k x k conv, a 1x1 conv and a grouped conv are three device classes."""
    conv = REGISTRY["conv"]
    fmap = [(96, 56, 56)]
    assert conv.cost_class(conv.bind({"out": 64, "k": 3}, {}), fmap) == "conv"
    assert conv.cost_class(conv.bind({"out": 64, "k": 1}, {}), fmap) == "conv1x1"
    assert conv.cost_class(conv.bind({"out": 64, "k": 3, "groups": 32}, {}), fmap) == "grouped"


def test_channel_sources_by_hand() -> None:
    # ShuffleNet's shuffle of 8 channels in 4 groups of 2: output c is input
    # (c mod 4) * 2 + c // 4, so outputs 0..7 read 0, 2, 4, 6, 1, 3, 5, 7.
    shuffle = REGISTRY["channel_shuffle"]
    args = shuffle.bind({"groups": 4}, {})
    x = [(8, 2, 2)]
    assert [shuffle.channel_source(args, x, x[0], c) for c in range(8)] == [0, 2, 4, 6, 1, 3, 5, 7]
    # A depthwise conv with multiplier 2: outputs 2c and 2c + 1 read input c.
    dw = REGISTRY["dwconv"]
    args = dw.bind({"k": 3, "multiplier": 2}, {})
    assert [dw.channel_source(args, [(4, 8, 8)], (8, 6, 6), c) for c in range(8)] == [
        0,
        0,
        1,
        1,
        2,
        2,
        3,
        3,
    ]
    # A conv with groups = C_in is depthwise; a dense conv mixes every channel.
    conv = REGISTRY["conv"]
    assert (
        conv.channel_source(
            conv.bind({"out": 8, "k": 3, "groups": 4}, {}), [(4, 8, 8)], (8, 6, 6), 5
        )
        == 2
    )
    assert conv.channel_source(conv.bind({"out": 8, "k": 3}, {}), [(4, 8, 8)], (8, 6, 6), 5) is None


def test_every_kind_documents_itself() -> None:
    for op, kind in KINDS.items():
        assert kind.doc, op
        assert kind.flops_rule, f"{op} says how it counts FLOPs"
        macs = 0 if op in MERGES else CASES[op][4]
        assert bool(kind.macs_rule) == (macs > 0), f"{op}: a MACs rule exactly when it has MACs"
        for name, arg in kind.args.items():
            assert arg.doc, f"{op}.{name}"


@pytest.mark.parametrize("op", sorted(CASES))
def test_kind(op: str, run_yaml) -> None:
    shape, spec, out, params, macs, flops = CASES[op]
    report = run_yaml(_network(shape, spec))
    row = report.layer("x")
    assert row.output_shape == out
    assert (row.params, row.macs, row.flops) == (params, macs, flops)


@pytest.mark.parametrize("op", sorted(MERGES))
def test_merge_kind(op: str, run_yaml) -> None:
    spec, out, flops = MERGES[op]
    report = run_yaml(
        f"""
        input: [4, 3, 3]
        layers:
          - {{op: identity, name: a}}
          - {{op: identity, name: b, from: input}}
          - {spec[:-1]}, name: x}}
        """
    )
    row = report.layer("x")
    assert row.output_shape == out
    assert (row.params, row.macs, row.flops) == (0, 0, flops)


def test_multiply_scales_channels_by_a_gate(run_yaml) -> None:
    # An SE gate: 8x4x4 features times an 8x1x1 gate = 8x4x4, one multiply per value (128).
    report = run_yaml(
        """
        input: [8, 4, 4]
        layers:
          - {op: identity, name: x}
          - {op: global_avgpool, name: g}
          - {op: sigmoid, name: gate}
          - {op: multiply, from: [x, gate], name: scaled}
        """
    )
    row = report.layer("scaled")
    assert row.output_shape == (8, 4, 4)
    assert row.flops == 128


def test_group_conv_counts(run_yaml) -> None:
    # Seed 002: G groups give G * W_K * H_K * (C_I/G) * (C_O/G) weights and the same factor
    # on multiply-adds. C_I = 8, C_O = 16, G = 4, 3x3, 6x6 output:
    # 4 * 9 * 2 * 4 = 288 weights (1/4 of the dense 1,152); MACs 36 * 288 = 10,368.
    report = run_yaml(
        """
        input: [8, 6, 6]
        layers:
          - {op: conv, out: 16, k: 3, padding: 1, groups: 4, bias: false, name: g}
          - {op: conv, out: 16, k: 3, padding: 1, bias: false, from: input, name: d}
        """
    )
    assert report.layer("g").params == 288
    assert report.layer("g").macs == 10368
    assert report.layer("d").params == 1152
    assert report.layer("d").macs == 4 * 10368


def test_lenet_c3_connection_table(run_yaml) -> None:
    # LeNet-5's C3 (LeCun et al. 1998, Table I): 60 connections of 5x5 kernels and 16 biases:
    # 60*25 + 16 = 1,516 trainable parameters; 10x10 outputs: 100 * 1,500 = 150,000 MACs.
    table = [
        [1, 1, 1, 0, 0, 0],
        [0, 1, 1, 1, 0, 0],
        [0, 0, 1, 1, 1, 0],
        [0, 0, 0, 1, 1, 1],
        [1, 0, 0, 0, 1, 1],
        [1, 1, 0, 0, 0, 1],
        [1, 1, 1, 1, 0, 0],
        [0, 1, 1, 1, 1, 0],
        [0, 0, 1, 1, 1, 1],
        [1, 0, 0, 1, 1, 1],
        [1, 1, 0, 0, 1, 1],
        [1, 1, 1, 0, 0, 1],
        [1, 1, 0, 1, 1, 0],
        [0, 1, 1, 0, 1, 1],
        [1, 0, 1, 1, 0, 1],
        [1, 1, 1, 1, 1, 1],
    ]
    assert sum(map(sum, table)) == 60
    report = run_yaml(
        f"input: [6, 14, 14]\nlayers:\n  - {{op: table_conv, k: 5, table: {table}, name: c3}}\n"
    )
    row = report.layer("c3")
    assert row.output_shape == (16, 10, 10)
    assert row.params == 1516
    assert row.macs == 150000


def test_pixel_shuffle_receptive_fields(run_yaml) -> None:
    # unshuffle r = 2: each unit reads a 2x2 block (field 2, jump 2); a 3x3 conv on it adds
    # 2 * 2 = 4: field 6. shuffle back: output o reads input floor(o / 2), field still 6, jump
    # 1 / 2 of a shuffled unit; a 3x3 conv then reads o - 1 .. o + 1, at most 2 input units of
    # the 12x3x5 map (jump 2 pixels): 6 + 2 = 8.
    report = run_yaml(
        """
        input: [3, 6, 10]
        layers:
          - {op: pixel_unshuffle, factor: 2, name: u}
          - {op: conv, out: 12, k: 3, padding: 1, name: c}
          - {op: pixel_shuffle, factor: 2, name: s}
          - {op: conv, out: 3, k: 3, padding: 1, name: d}
        """
    )
    fields = [report.layer(n).rf.size for n in "ucsd"]
    assert fields == [(2, 2), (6, 6), (6, 6), (8, 8)]
