"""Token tensors and attention: the kinds on tokens (N, C), attention as the sum of its parts,
receptive fields through tokens and windows, and the bundled ViT and Swin networks against
torchvision.

Reference counts were measured with torch 2.13 (CPU) and torchvision 0.28 in a throwaway
environment: parameters summed over ``model.parameters()``; multiply-adds are
``FlopCounterMode`` / 2, run with autograd on under
``torch.nn.attention.sdpa_kernel(SDPBackend.MATH)`` (the only setting where it counts every
matrix product of the attention on CPU), on one image.
"""

from __future__ import annotations

import json

import pytest

from convcalc import api
from convcalc.errors import ShapeError, SpecError
from convcalc.render import renderer

# --- the bundled networks against torchvision ---------------------------------------------

# name: (params, MACs), measured as in the module docstring; torchvision's weight metadata
# agrees (num_params exactly; GFLOPS 17.564, 4.409, 61.555, 4.491).
TORCHVISION = {
    "vit_b_16": (86_567_656, 17_563_828_224),
    "vit_b_32": (88_224_232, 4_409_186_304),
    "vit_l_16": (304_326_632, 61_554_712_576),
    "swin_t": (28_288_354, 4_490_566_656),
}


@pytest.mark.parametrize("name", sorted(TORCHVISION))
def test_network_equals_torchvision(name: str) -> None:
    totals = api.analyze(name).totals
    assert (totals.params, totals.macs) == TORCHVISION[name]
    # Every unit of the last tokens or map reads the whole 224 x 224 input.
    assert totals.receptive_field == (224, 224)


def test_vit_shapes_are_torchvision_s() -> None:
    # Measured with forward hooks on torchvision's vit_b_16: conv_proj (1, 768, 14, 14),
    # every encoder block (1, 197, 768): 196 patches and the class token; heads (1, 1000).
    report = api.analyze("vit_b_16")
    shapes = {row.name: row.output_shape for row in report.layers}
    assert shapes["conv_proj"] == (768, 14, 14)
    assert shapes["tokens"] == (196, 768)
    for i in range(12):
        assert shapes[f"encoder.{i}.add_2"] == (197, 768)
    assert shapes["class_out"] == (1, 768)
    assert shapes["head"] == (1000,)
    # The position embedding is (1, 197, 768) in torchvision: 151,296 params; the class
    # token 768.
    rows = {row.name: row for row in report.layers}
    assert rows["pos_embedding"].params == 197 * 768
    assert rows["class_token"].params == 768


def test_swin_stage_shapes_are_torchvision_s() -> None:
    # torchvision's swin_t features.0 .. 7 (measured with forward hooks) are B x H x W x C:
    # (56, 56, 96) twice, (28, 28, 192) twice, (14, 14, 384) twice, (7, 7, 768) twice;
    # convcalc keeps each as the C x H x W map of the same values.
    report = api.analyze("swin_t")
    shapes = {row.name: row.output_shape for row in report.layers}
    torchvision = {
        "patch_norm": (56, 56, 96),
        "stage1.1.add_2": (56, 56, 96),
        "merge1.reduction": (28, 28, 192),
        "stage2.1.add_2": (28, 28, 192),
        "merge2.reduction": (14, 14, 384),
        "stage3.5.add_2": (14, 14, 384),
        "merge3.reduction": (7, 7, 768),
        "stage4.1.add_2": (7, 7, 768),
    }
    for name, (h, w, c) in torchvision.items():
        assert shapes[name] == (c, h, w), name


def test_vit_with_a_free_image_size_substitutes_to_torchvision() -> None:
    """The symbolic engine through tokens: ViT-B/16's totals as formulas in `image`, then
    evaluated, equal torchvision's at 224 and at 384 (vit_b_16(image_size=384): 86,859,496
    params, 55,484,350,464 MACs, measured; its SWAG weights' metadata: 55.484 GFLOPS)."""
    from convcalc.symbolic.compile import compile_exprs

    totals = api.analyze("vit_b_16", free=("image",)).totals
    fn = compile_exprs([totals.params, totals.macs], ["image"])
    assert fn(224) == TORCHVISION["vit_b_16"]
    assert fn(384) == (86_859_496, 55_484_350_464)
    concrete = api.analyze("vit_b_16", {"image": "256"}).totals
    # torchvision's vit_b_16(image_size=256), measured: 86,613,736 params, 23,197,384,704 MACs.
    assert fn(256) == (concrete.params, concrete.macs) == (86_613_736, 23_197_384_704)


def test_swin_with_a_free_image_size_substitutes_to_concrete_runs() -> None:
    """Swin-T's totals in `image`: the windows' padding and torchvision's rule that drops the
    shift where one window covers a stage (stage 4 at 224: 7 x 7) become conditions on it.
    Substituted, they equal the concrete runs at 160, 192, 224 and 256, and torchvision's
    counts at 224 and 256 (measured: 4,490,566,656 and 7,345,441,536 MACs)."""
    from convcalc.symbolic.compile import compile_exprs

    totals = api.analyze("swin_t", free=("image",)).totals
    fn = compile_exprs([totals.params, totals.macs, totals.flops], ["image"])
    for image in (160, 192, 224, 256):
        concrete = api.analyze("swin_t", {"image": str(image)}).totals
        assert fn(image) == (concrete.params, concrete.macs, concrete.flops), image
    assert fn(224)[:2] == TORCHVISION["swin_t"]
    assert fn(256)[:2] == (28_288_354, 7_345_441_536)


def test_swin_at_another_size() -> None:
    # torchvision's swin_t on a 256 x 256 image, measured: 28,288,354 params (the relative
    # position tables do not grow) and 7,345,441,536 MACs (the 64 x 64 stage pads to 70 x 70,
    # windows of 7).
    totals = api.analyze("swin_t", {"image": "256"}).totals
    assert (totals.params, totals.macs) == (28_288_354, 7_345_441_536)


# --- attention is the sum of its parts ------------------------------------------------------

PARTS = """
input: [8, 1, 6]
layers:
  - {op: to_tokens, name: x}
  - {op: attention, heads: 2, name: whole}
  - {op: linear, out: 24, from: x, name: qkv}
  - {op: chunk, chunks: 3, index: 0, name: q0}
  - {op: chunk, chunks: 3, index: 1, from: qkv, name: k0}
  - {op: chunk, chunks: 3, index: 2, from: qkv, name: v0}
  - {op: reshape, shape: [6, 2, 4], from: q0, name: q1}
  - {op: permute, order: [1, 0, 2], name: q2}
  - {op: scale, factor: 0.5, name: q}
  - {op: reshape, shape: [6, 2, 4], from: k0, name: k1}
  - {op: permute, order: [1, 0, 2], name: k}
  - {op: reshape, shape: [6, 2, 4], from: v0, name: v1}
  - {op: permute, order: [1, 0, 2], name: v}
  - {op: matmul, from: [q, k], transpose: true, name: scores}
  - {op: softmax, axis: -1, name: weights}
  - {op: matmul, from: [weights, v], name: mixed}
  - {op: permute, order: [1, 0, 2], name: heads}
  - {op: reshape, shape: [6, 8], name: joined}
  - {op: linear, out: 8, name: proj}
"""


def test_attention_is_the_sum_of_its_parts(run_yaml) -> None:
    # 6 tokens of width 8, 2 heads of 4: nn.MultiheadAttention(8, 2) has 288 params and
    # 2,112 MACs (measured, torch 2.13, math backend). The parts by hand: q, k, v linear
    # 8 x 24 + 24 = 216 params, 6*8*24 = 1,152 MACs, 2*1,152 + 6*24 = 2,448 FLOPs; q scaled:
    # 48; q k^T: 2*6*6 outputs of 4 MACs = 288 (576 FLOPs); softmax 3 * 72 = 216; the
    # weighted sum 2*6*4 outputs of 6 MACs = 288 (576); output linear 8 x 8 + 8 = 72 params,
    # 384 MACs, 768 + 48 = 816 FLOPs.
    report = run_yaml(PARTS)
    whole = report.layer("whole")
    parts = [row for row in report.layers if row.name not in ("x", "whole")]
    summed = tuple(sum(getattr(r, k) for r in parts) for k in ("params", "macs", "flops"))
    assert summed == (288, 2112, 2448 + 48 + 576 + 216 + 576 + 816)
    assert (whole.params, whole.macs, whole.flops) == summed
    assert report.layer("proj").output_shape == whole.output_shape == (6, 8)
    assert report.layer("scores").output_shape == (2, 6, 6)


def test_windowed_attention_counts_torchvision_s() -> None:
    """Swin's attention: torchvision's ShiftedWindowAttention, measured (torch 2.13)."""
    cases = [
        # dim 96, 3 heads, window 7, shift 3 on 56 x 56: 37,755 params (qkv 96 x 288 + 288,
        # proj 96 x 96 + 96, table 13*13*3 = 507) and 145,108,992 MACs: qkv 3136*96*288 =
        # 86,704,128, 64 windows * 3 heads * 49^2 scores * 32 * 2 = 29,503,488, proj
        # 3136*96*96 = 28,901,376.
        ((96, 56, 56), 3, 3, 37_755, 145_108_992),
        # dim 8, 2 heads on 10 x 10: padded to 14 x 14 (4 windows): 626 params, 203,840 MACs
        # (196*8*24 + 2 * 4*2*49^2 * 4 + 196*8*8), shifted or not (measured both).
        ((8, 10, 10), 2, 3, 626, 203_840),
        ((8, 10, 10), 2, 0, 626, 203_840),
    ]
    from convcalc.layers import REGISTRY

    kind = REGISTRY["attention"]
    for x, heads, shift, params, macs in cases:
        args = kind.bind({"heads": heads, "window": 7, "shift": shift, "rel_pos_bias": True}, {})
        costs = kind.costs(args, [x], kind.shape(args, [x]))
        assert (costs.params, costs.macs) == (params, macs), x


def test_attention_flops_by_hand(run_yaml) -> None:
    # Swin-style on 8 x 10 x 10, 2 heads, window 7, shift 3, relative bias: P = 196 padded
    # positions, S = 4 windows * 2 * 49^2 = 19,208 scores, MACs 203,840 (above). FLOPs:
    # 2 * 203,840 + biases 196 * (24 + 8) = 6,272 + q scaled 196 * 8 = 1,568 + softmax
    # 3 * 19,208 + bias 19,208 + mask 19,208: 407,680 + 6,272 + 1,568 + 96,040 = 511,560.
    report = run_yaml(
        """
        input: [8, 10, 10]
        layers:
          - {op: attention, heads: 2, window: 7, shift: 3, rel_pos_bias: true, name: a}
          - {op: attention, heads: 2, window: 7, rel_pos_bias: true, name: b, from: input}
          - {op: attention, heads: 2, window: 10, shift: 3, name: c, from: input}
        """
    )
    assert report.layer("a").flops == 511_560
    assert report.layer("b").flops == 511_560 - 19_208  # no shift, no mask
    # One 10 x 10 window covers the map: the shift is dropped (torchvision's rule), and the
    # window is the whole map: 100 positions, 2 * 100^2 = 20,000 scores; no table.
    c = report.layer("c")
    assert c.macs == 100 * 8 * 24 + 2 * 20_000 * 4 + 100 * 64
    assert c.params == 8 * 24 + 24 + 64 + 8
    assert c.rf.size == (10, 10) and c.rf.jump == (0, 0)


# --- receptive fields on tokens ---------------------------------------------------------


def test_tokens_keep_the_patch_field_until_attention(run_yaml) -> None:
    # A 16 x 16 stride-16 patch conv on 64 x 64: each token sees its 16 x 16 patch, 16 apart.
    # Layer norm, a token-wise linear and the class token keep that; attention reads every
    # token: every unit sees the whole 64 x 64 input (jump 0), and so do the residual join
    # and everything after it. A flatten to a vector has no field (as after a global pool).
    report = run_yaml(
        """
        input: [3, 64, 64]
        layers:
          - {op: conv, out: 8, k: 16, stride: 16, name: patch}
          - {op: to_tokens, name: tokens}
          - {op: parameter, shape: [1, 8], mode: concat, name: cls}
          - {op: layernorm, name: ln}
          - {op: linear, out: 8, name: fc}
          - {op: attention, heads: 2, name: attn}
          - {op: add, from: [fc, attn], name: res}
          - {op: softmax, axis: 0, from: fc, name: over_tokens}
          - {op: flatten, from: res, name: flat}
        """
    )
    for name in ("patch", "tokens", "cls", "ln", "fc"):
        rf = report.layer(name).rf
        assert (rf.size, rf.jump, rf.start) == ((16, 16), (16, 16), (0, 0)), name
    for name in ("attn", "res", "over_tokens"):
        rf = report.layer(name).rf
        assert (rf.size, rf.jump, rf.start) == ((64, 64), (0, 0), (0, 0)), name
    assert report.layer("flat").rf is None
    assert report.totals.receptive_field == (64, 64)
    assert not report.warnings


def test_window_fields_by_hand(run_yaml) -> None:
    # On a 14 x 14 map, window 7: unit u reads its window [7 floor(u / 7), + 6]: size 7
    # everywhere, period 7. Then windows shifted by 3 ([3, 9] in the middle): unit 5 reads
    # units 3..9, whose windows are [0, 6] and [7, 13]: size 14. The first units' shifted
    # window [-4, 2] reaches past the edge as padding would: [-7, 6], size 14, start -7.
    report = run_yaml(
        """
        input: [4, 14, 14]
        layers:
          - {op: attention, heads: 1, window: 7, name: w}
          - {op: attention, heads: 1, window: 7, shift: 3, name: sw}
        """
    )
    w, sw = report.layer("w").rf, report.layer("sw").rf
    assert (w.size, w.min_size, w.start, w.period) == ((7, 7), (7, 7), (0, 0), (7, 7))
    assert (sw.size, sw.min_size, sw.start) == ((14, 14), (14, 14), (-7, -7))


def test_layout_ops_that_move_positions_drop_the_field(run_yaml) -> None:
    # A transpose of tokens or a reshape puts positions on another axis: the field is no
    # longer followed (no number shown), where an unchanged reshape keeps it.
    report = run_yaml(
        """
        input: [4, 6, 6]
        layers:
          - {op: conv, out: 4, k: 3, padding: 1, name: c}
          - {op: to_tokens, name: t}
          - {op: transpose, name: tt}
          - {op: reshape, shape: [36, 4], from: t, name: same}
          - {op: reshape, shape: [4, 36], from: t, name: moved}
          - {op: to_map, size: 6, from: t, name: back}
        """
    )
    assert report.layer("tt").rf is None and report.layer("moved").rf is None
    assert report.layer("same").rf.size == report.layer("back").rf.size == (3, 3)


# --- the extended kinds, by hand ----------------------------------------------------------


def test_token_kinds_by_hand(run_yaml) -> None:
    report = run_yaml(
        """
        input: [8, 2, 3]
        layers:
          - {op: to_tokens, name: t}
          - {op: linear, out: 16, name: fc}
          - {op: layernorm, from: t, name: ln}
          - {op: softmax, axis: 0, from: t, name: sm}
          - {op: parameter, shape: [6, 8], from: t, name: pos}
          - {op: parameter, shape: [8], mode: multiply, from: t, name: gamma}
          - {op: matmul, from: [t, t], transpose: true, name: scores}
          - {op: parameter, shape: [6, 6], learned: 50, name: bias}
          - {op: slice, stop: 1, axis: 0, from: t, name: first}
          - {op: slice, start: 2, stop: 5, axis: -1, from: t, name: some}
          - {op: linear, out: 4, per_position: true, from: input, name: pp}
          - {op: conv, out: 4, k: 1, from: input, name: conv1x1}
          - {op: flatten, start: 1, from: input, name: f}
          - {op: reshape, shape: [2, 2, 2, 6], from: input, name: r4}
          - {op: pad, padding: 1, mode: reflect, from: input, name: p}
        """
    )
    row = {r.name: r for r in report.layers}
    # 6 tokens of width 8, linear to 16: 8*16 + 16 = 144 params (nn.Linear(8, 16)), 6*128 =
    # 768 MACs, 2*768 + 6*16 bias adds = 1,632 FLOPs.
    assert (row["fc"].output_shape, row["fc"].params, row["fc"].macs, row["fc"].flops) == (
        (6, 16),
        144,
        768,
        1632,
    )
    # nn.LayerNorm(8) on 6 tokens: 16 params; 7 * 48 + 5 * 6 sets = 366 FLOPs.
    assert (row["ln"].params, row["ln"].flops) == (16, 366)
    assert row["sm"].flops == 3 * 48
    # A position embedding [6, 8]: 48 params, 48 adds; a layer scale [8]: 8 params, 48
    # multiplies; a bias gathered from a table of 50 values onto 6 x 6 scores: 36 adds.
    assert (row["pos"].params, row["pos"].flops) == (48, 48)
    assert (row["gamma"].params, row["gamma"].flops) == (8, 48)
    assert (row["bias"].params, row["bias"].flops) == (50, 36)
    # (6, 8) @ (6, 8)^T = (6, 6), 36 outputs of 8 MACs.
    assert (row["scores"].output_shape, row["scores"].macs) == ((6, 6), 288)
    assert row["first"].output_shape == (1, 8) and row["some"].output_shape == (6, 3)
    # A linear at every position of an 8 x 2 x 3 map is a 1x1 conv: 8*4 + 4 = 36 params,
    # 6 * 32 = 192 MACs.
    assert (row["pp"].params, row["pp"].macs) == (row["conv1x1"].params, row["conv1x1"].macs)
    assert (row["pp"].params, row["pp"].macs, row["pp"].output_shape) == (36, 192, (4, 2, 3))
    assert row["f"].output_shape == (8, 6) and row["r4"].output_shape == (2, 2, 2, 6)
    # Padding by 1 on every side: output unit 0 is the padding before input unit 0, so its
    # field (one pixel) starts at -1, as a conv's padding moves it.
    assert row["p"].output_shape == (8, 4, 5)
    assert (row["p"].rf.size, row["p"].rf.start) == ((1, 1), (-1, -1))


def test_every_format_prints_tokens_and_rank_4_tensors(run_yaml) -> None:
    report = run_yaml(
        """
        input: [8, 2, 3]
        layers:
          - {op: to_tokens, name: t}
          - {op: reshape, shape: [2, 3, 4, 2], name: r4}
        """
    )
    for fmt in ("table", "markdown", "csv"):
        text = renderer(fmt).report(report)
        assert "6x8" in text and "2x3x4x2" in text, fmt
    doc = json.loads(renderer("json").report(report))
    shapes = {layer["name"]: layer["output_shape"] for layer in doc["layers"]}
    assert shapes == {"t": [6, 8], "r4": [2, 3, 4, 2]}


# --- bad input to the new kinds --------------------------------------------------------------

BAD = [
    ("{op: attention, heads: 3}", ShapeError, "attention width 8 is not divisible by 3 heads"),
    ("{op: attention, heads: 2, window: 2}", ShapeError, "windowed attention needs a feature map"),
    ("{op: attention, heads: 2, shift: 1}", SpecError, "shift and rel_pos_bias need a 'window'"),
    ("{op: reshape, shape: [5, 10]}", ShapeError, "cannot reshape 6x8 (48 values) to 5x10"),
    ("{op: matmul, from: [tokens, tokens]}", ShapeError, "inner sizes 8 and 6 differ"),
    ("{op: to_map, size: [2, 2]}", ShapeError, "to_map to 2x2 needs 4 tokens, got 6"),
    ("{op: chunk, chunks: 3}", ShapeError, "does not split into 3 equal chunks"),
    ("{op: permute, order: [0, 0]}", ShapeError, "is not a permutation of the 2 axes"),
    ("{op: parameter, shape: [2, 8]}", ShapeError, "does not broadcast against 6x8"),
    ("{op: slice, stop: 9, axis: 1}", ShapeError, "slice stop 9 is beyond the 8 input entries"),
    ("{op: softmax, axis: 2}", ShapeError, "axis 2 is out of range for a tensor of 2 axes"),
    ("{op: pad, padding: 1}", ShapeError, "op 'pad' needs a feature map (C, H, W)"),
    ("{op: concat, from: [tokens, input]}", ShapeError, "concat needs equal other sizes"),
]


@pytest.mark.parametrize(("spec", "error", "message"), BAD)
def test_bad_token_layers_name_the_layer(spec: str, error: type, message: str, tmp_path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(f"input: [8, 1, 6]\nlayers:\n  - {{op: to_tokens, name: tokens}}\n  - {spec}\n")
    with pytest.raises(error) as info:
        api.analyze(path)
    text = str(info.value)
    assert message in text, text
    assert ":4" in text and "layer '" in text, text


def test_explain_attention_on_tokens() -> None:
    # ViT-B/16's first attention (197 tokens of 768, 12 heads of 64): params 4 x 768^2 + 4 x
    # 768 = 2,362,368 (nn.MultiheadAttention(768, 12)); MACs per block 524,391,936 (by hand
    # in docs/conventions.md). The formula names the tokens N_in, their width C_in, heads h.
    [exp] = api.explain("vit_b_16", ["encoder.0.self_attention"])
    steps = {s.metric: s for s in exp.steps}
    assert (steps["N_out"].value, steps["C_out"].value) == (197, 768)
    assert steps["params"].value == 2_362_368
    assert steps["MACs"].value == 524_391_936
    assert {"N_in", "C_in", "h"} <= set(steps["MACs"].formula.replace("*", " ").split())


def test_yolo_dfl_along_a_non_channel_axis(run_yaml) -> None:
    """YOLOv8's distribution focal loss decoding: the box outputs of every scale flattened
    and joined along the anchors, 4 sides x 16 bins reshaped, the bins moved first, a softmax
    over them and a fixed 1x1 conv (weights 0..15) taking the expectation. A plain-PyTorch
    DFL (view(b, 4, 16, a).transpose(2, 1).softmax(1), Conv2d(16, 1, 1, bias=False) with
    requires_grad off, view(b, 4, a)), measured with torch 2.13 on 20 anchors: 16 params
    (counted, as model.parameters() counts them), 1,280 MACs (FlopCounterMode / 2), output
    (1, 4, 20); on YOLOv8n's 8,400 anchors 537,600 MACs."""
    report = run_yaml(
        """
        input: [144, 4, 4]
        layers:
          - {op: identity, name: p3}
          - {op: maxpool, k: 2, from: input, name: p4}
          - {op: flatten, start: 1, from: p3, name: f3}
          - {op: flatten, start: 1, from: p4, name: f4}
          - {op: concat, from: [f3, f4], axis: -1, name: cat}
          - {op: slice, stop: 64, name: box}
          - {op: slice, start: 64, stop: 144, from: cat, name: cls}
          - {op: reshape, shape: [4, 16, 20], from: box, name: sides}
          - {op: transpose, axes: [0, 1], name: bins}
          - {op: softmax, axis: 0, name: probs}
          - {op: conv, out: 1, k: 1, bias: false, name: expect}
          - {op: reshape, shape: [4, 20], name: dist}
        """
    )
    row = {r.name: r for r in report.layers}
    assert row["cat"].output_shape == (144, 20)  # 16 + 4 anchors
    assert row["cls"].output_shape == (80, 20)
    assert row["bins"].output_shape == (16, 4, 20)
    assert row["probs"].flops == 3 * 16 * 4 * 20  # exp, sum, divide per value
    assert (row["expect"].params, row["expect"].macs) == (16, 1280)
    assert row["dist"].output_shape == (4, 20)
    # Positions were rearranged by the flatten: no receptive field is claimed after it.
    assert all(row[n].rf is None for n in ("cat", "sides", "probs", "expect", "dist"))


def test_concat_along_an_axis(run_yaml) -> None:
    # Tokens (6, 8) joined with themselves: by default along the channel axis (the last, as
    # torch.cat(dim=-1)) to (6, 16); along axis 0 (the tokens) to (12, 8). A map's default
    # stays its channels; its width is another axis. No cost either way.
    report = run_yaml(
        """
        input: [8, 2, 3]
        layers:
          - {op: to_tokens, name: t}
          - {op: concat, from: [t, t], name: wide}
          - {op: concat, from: [t, t], axis: 0, name: long}
          - {op: concat, from: [input, input], name: maps}
          - {op: concat, from: [input, input], axis: 2, name: side}
        """
    )
    shapes = {r.name: r.output_shape for r in report.layers}
    assert shapes == {
        "t": (6, 8),
        "wide": (6, 16),
        "long": (12, 8),
        "maps": (16, 2, 3),
        "side": (8, 2, 6),
    }
    assert report.layer("side").rf is None and report.layer("maps").rf.size == (1, 1)


def test_attention_head_width_output_and_bias(run_yaml) -> None:
    # 6 tokens of width 8. Two heads of width 8 (inner width 16): q, k, v 8 x 48 + 48 = 432,
    # output 16 x 8 + 8 = 136: 568 params; MACs 6*8*48 = 2,304 + 2 * (2*36 scores) * 8 =
    # 1,152 + 6*16*8 = 768: 4,224. Without biases (nn.MultiheadAttention(8, 2, bias=False):
    # 4 x 64 = 256 params). To 4 outputs: 3 x 64 + 24 + 8 x 4 + 4 = 252 params, (6, 4).
    report = run_yaml(
        """
        input: [8, 1, 6]
        layers:
          - {op: to_tokens, name: t}
          - {op: attention, heads: 2, head_dim: 8, name: wide}
          - {op: attention, heads: 2, bias: false, from: t, name: plain}
          - {op: attention, heads: 2, out: 4, from: t, name: narrow}
        """
    )
    wide, plain, narrow = (report.layer(n) for n in ("wide", "plain", "narrow"))
    assert (wide.params, wide.macs) == (568, 4224)
    assert plain.params == 256
    assert (narrow.params, narrow.output_shape) == (252, (6, 4))
