"""Blocks under architectures/blocks/ against the seed notes' block-level claims (CLAIMS.md)
and hand calculations written beside each expected number."""

from __future__ import annotations

from fractions import Fraction
from functools import cache

import pytest

from convcalc import api
from convcalc.report import LayerRow, Report


@cache
def report(name: str, **params: str) -> Report:
    return api.analyze(f"blocks/{name}", params or None)


def row(rep: Report, name: str) -> LayerRow:
    for r in rep.layers:
        if r.name == name:
            return r
    raise AssertionError(f"{rep.architecture} has no layer {name!r}")


def conv_rows(rep: Report) -> list[LayerRow]:
    return [r for r in rep.layers if r.type in ("conv", "dwconv", "deform_conv")]


# --- seed notes 000 §4: the 1x1 bottleneck --------------------------------------------------


def test_bottleneck_weights() -> None:
    # 256 x 3 x 3 x 256 = 589,824 against 256x64 + 64x3x3x64 + 64x256 = 16,384 + 36,864 +
    # 16,384 = 69,632: about 1/8.5.
    plain = report("bottleneck_plain").totals.params
    reduced = report("bottleneck_1x1").totals.params
    assert plain == 589_824
    assert reduced == 69_632
    assert [r.params for r in conv_rows(report("bottleneck_1x1"))] == [16_384, 36_864, 16_384]
    assert round(plain / reduced, 1) == 8.5
    # Both keep the 256 x 56 x 56 map.
    assert report("bottleneck_1x1").layers[-1].output_shape == (256, 56, 56)


# --- seed notes 000 §6 and 001: depthwise separable convolution -------------------------------


@pytest.mark.parametrize(
    ("n", "standard", "depthwise", "pointwise"),
    [
        (256, 6_912, 27, 768),  # 3x3x3x256 = 6,912; 3x3x3 = 27; 3x1x1x256 = 768: 795
        (4, 108, 27, 12),  # 4x3x3x3 = 108; 3x3x3 = 27; 1x1x3x4 = 12: 39
    ],
)
def test_depthwise_separable(n: int, standard: int, depthwise: int, pointwise: int) -> None:
    std = report(f"dw_3_{n}_standard")
    sep = report(f"dw_3_{n}_separable")
    assert std.totals.params == standard
    assert [r.params for r in conv_rows(sep)] == [depthwise, pointwise]
    assert sep.totals.params == depthwise + pointwise
    # Howard et al. 2017 §3.1 / seed notes 004 §8.1.1: separable / standard cost
    # = 1/N + 1/D_K^2, exactly, with N = n outputs and D_K = 3.
    assert Fraction(sep.totals.macs, std.totals.macs) == Fraction(1, n) + Fraction(1, 9)
    assert std.layers[-1].output_shape == sep.layers[-1].output_shape


# --- seed notes 004 §8.3.1: ResNeXt's 1x1 share of multiply-adds -----------------------------


def test_resnext_1x1_share() -> None:
    # Per position: 1x1 256 -> 128 (32,768) + 1x1 128 -> 256 (32,768) = 65,536; grouped 3x3
    # 128 -> 128 in 32 groups: 128 x 4 x 9 = 4,608. 65,536 / 70,144 = 93.4%.
    rep = report("resnext_block")
    convs = conv_rows(rep)
    ones = sum(r.macs for r in convs if r.name.startswith(("reduce", "expand")))
    assert ones == 56 * 56 * 65_536
    assert round(100 * ones / sum(r.macs for r in convs), 1) == 93.4
    # The identity shortcut costs nothing.
    assert (row(rep, "add").params, row(rep, "add").macs) == (0, 0)


# --- seed notes 004 §6.2: SE overhead -----------------------------------------------------


def test_se_block_overhead() -> None:
    # (2/r) C^2 = 2 x 256^2 / 16 = 8,192 weights, plus the FCs' biases C/r + C = 16 + 256.
    rep = report("se_block")
    assert rep.totals.params == 8_192 + 16 + 256
    weights = sum(r.params - r.output_shape[0] for r in conv_rows(rep))
    assert weights == 2 * 256**2 // 16
    # The gate's FCs run once per map, not per position: their MACs equal their weights.
    assert rep.totals.macs == 8_192
    assert rep.layers[-1].output_shape == (256, 56, 56)
    # Other ratios r give (2/r) C^2 as well: r = 8, C = 128 -> 4,096 weights.
    other = report("se_block", c="128", r="8")
    assert other.totals.params == 2 * 128**2 // 8 + 16 + 128


# --- seed notes 001: SqueezeNet fire module -----------------------------------------------


def test_fire_module() -> None:
    # s1x1 = SR (e1x1 + e3x3) = 0.125 x (64 + 64) = 16 (Iandola et al. 2016, fire2).
    rep = report("fire_module")
    assert row(rep, "squeeze.conv").output_shape == (16, 55, 55)
    # Weights and biases: 96x16 + 16 = 1,552; 16x64 + 64 = 1,088; 16x9x64 + 64 = 9,280;
    # 11,920 in all, fire2's count in Iandola et al. 2016, Table 1.
    assert rep.totals.params == 1_552 + 1_088 + 9_280 == 11_920
    assert row(rep, "concat").output_shape == (128, 55, 55)
    # The ratio holds for other expand widths: 0.125 x (128 + 128) = 32 (fire4).
    assert row(report("fire_module", e1x1="128", e3x3="128"), "squeeze.conv").output_shape[0] == 32


# --- seed notes 004 §7: dense block and transition ------------------------------------------


def test_dense_block() -> None:
    # k0 = 64, k = 32, 6 layers. Layer l (1-based) reads k0 + k (l - 1) channels; its 1x1 gives
    # 4k = 128 and its 3x3 gives k = 32.
    rep = report("dense_block")
    for layer in range(1, 7):
        c_in = 64 + 32 * (layer - 1)
        one = row(rep, f"denselayer.{layer - 1}.conv1")
        assert one.params == c_in * 128  # 1x1 weights c_in x 4k
        assert one.output_shape == (128, 56, 56)
        assert row(rep, f"denselayer.{layer - 1}.norm1").params == 2 * c_in
        assert row(rep, f"denselayer.{layer - 1}.conv2").output_shape == (32, 56, 56)
        assert row(rep, f"denselayer.{layer - 1}.concat").output_shape == (c_in + 32, 56, 56)
    # Transition with theta = 0.5: 64 + 6 x 32 = 256 channels -> 128, then 2x2 pooling.
    assert row(rep, "transition_conv").params == 256 * 128
    assert rep.layers[-1].output_shape == (128, 28, 28)
    # theta = 0.25 keeps a quarter: 64.
    assert report("dense_block", theta="0.25").layers[-1].output_shape == (64, 28, 28)


# --- seed notes 001, 002: dilation, HDC and ASPP -------------------------------------------


@pytest.mark.parametrize(
    ("name", "rates"),
    [("hdc_1_2_5", (1, 2, 5)), ("hdc_2_2_2", (2, 2, 2))],
)
def test_hybrid_dilated_stacks(name: str, rates: tuple) -> None:
    # A 3-kernel at rate r covers 3 + 2 (r - 1) = 2r + 1 pixels; padding r keeps the size, so
    # the fields grow by 2r per layer: [1, 2, 5] -> 3, 7, 17; [2, 2, 2] -> 5, 9, 13.
    rep = report(name)
    convs = conv_rows(rep)
    size = 1
    for conv, r in zip(convs, rates, strict=True):
        size += 2 * r
        assert conv.rf.size == (size, size)
        assert conv.output_shape == (64, 64, 64)
    assert rep.totals.receptive_field == (1 + 2 * sum(rates),) * 2


def test_aspp() -> None:
    rep = report("aspp")
    # Padding = dilation keeps 33 x 33 on every branch; 5 branches of 256 concatenate to 1,280.
    for name in ("atrous1", "atrous2", "atrous3"):
        assert row(rep, f"{name}.conv").output_shape == (256, 33, 33)
    assert row(rep, "concat").output_shape == (1280, 33, 33)
    assert rep.layers[-1].output_shape == (256, 33, 33)
    # The widest branch (3x3 at rate 18) sees 2 x 18 + 1 = 37 pixels; image pooling is global
    # and does not widen the per-position field.
    assert rep.totals.receptive_field == (37, 37)
    # Weights (no bias): 1x1 2048x256 = 524,288; 3 x 3x3 at 2048x256x9 = 14,155,776; pooling
    # branch 524,288; fusion 1280x256 = 327,680; bn 2 x 256 on 6 convs = 3,072.
    assert rep.totals.params == 524_288 + 14_155_776 + 524_288 + 327_680 + 3_072


# --- other blocks ----------------------------------------------------------------------------


def test_igc() -> None:
    # L = 4 primary partitions of M = 32 channels: primary 3x3 weights L M^2 9 = 36,864,
    # secondary 1x1 with M partitions of L: M L^2 = 512; bn on 128 channels: 256.
    rep = report("igc")
    assert row(rep, "primary").params == 9 * 4 * 32**2
    assert row(rep, "secondary").params == 32 * 4**2
    assert rep.totals.params == 36_864 + 512 + 256
    # The two permutations cost nothing and keep the shape.
    for name in ("permute", "permute_back"):
        assert (row(rep, name).params, row(rep, name).macs) == (0, 0)


def test_shift_block() -> None:
    # The shift owns no parameters and no multiply-adds, yet gives a 3 x 3 field.
    rep = report("shift_block")
    shift = row(rep, "shift")
    assert (shift.params, shift.macs) == (0, 0)
    assert shift.rf.size == (3, 3)
    # 1x1 64 -> 192 and 192 -> 64: 2 x 12,288; bn 2 x 192 + 2 x 64 = 512.
    assert rep.totals.params == 2 * 12_288 + 512


def test_deformable_block() -> None:
    # Main 3x3 64 -> 64: 36,864 weights; offset conv 3x3 64 -> 2 x 9 = 18 with bias:
    # 10,368 + 18. MACs at 56 x 56: 3,136 x (36,864 + 10,368).
    deform = row(report("deformable_block"), "deform.deform_conv")
    assert deform.params == 36_864 + 10_368 + 18
    assert deform.macs == 3_136 * (36_864 + 10_368)
    assert deform.output_shape == (64, 56, 56)


def test_shufflenet_units() -> None:
    # Stride 1, 240 channels, g = 3, bottleneck 60: 1x1 240/3 x 60 = 4,800; dw 60 x 9 = 540;
    # 1x1 60/3 x 240 = 4,800; bn 2 x (60 + 60 + 240) = 720. MACs per position 10,140.
    s1 = report("shufflenet_unit_s1")
    assert s1.totals.params == 4_800 + 540 + 4_800 + 720
    assert s1.totals.macs == 28 * 28 * 10_140
    assert row(s1, "unit.join").type == "add"
    # Stride 2, 240 -> 480, bottleneck 120: 1x1 240/3 x 120 = 9,600; dw 1,080; 1x1 to
    # 480 - 240 = 240: 120/3 x 240 = 9,600; bn 2 x (120 + 120 + 240) = 960.
    s2 = report("shufflenet_unit_s2")
    assert s2.totals.params == 9_600 + 1_080 + 9_600 + 960
    assert row(s2, "unit.join").output_shape == (480, 14, 14)
    assert row(s2, "unit.shortcut").output_shape == (240, 14, 14)


def test_inverted_residual() -> None:
    # Sandler et al. 2018 Table 1 with t = 6 on 24 channels: 1x1 24 -> 144 (3,456), dw 3x3
    # (1,296), 1x1 144 -> 24 (3,456), bn 2 x (144 + 144 + 24) = 624.
    rep = report("inverted_residual")
    assert rep.totals.params == 3_456 + 1_296 + 3_456 + 624
    assert row(rep, "expand.conv").output_shape == (144, 56, 56)
    # The projection is linear: no activation after its bn, and the residual adds nothing.
    assert [r.type for r in rep.layers[-3:]] == ["conv", "bn", "add"]
    assert row(rep, "add").params == 0


# --- YOLOv8's C2f: the concat of every bottleneck (from: [cv1, m.*]) -----------------------


@pytest.mark.parametrize("n", [1, 2, 3])
def test_c2f_concatenates_every_bottleneck(n: int) -> None:
    # On 64 x 80 x 80 with c2 = 64, by hand: cv1 64 x 64 weights + 128 bn; each bottleneck
    # two 3x3 32 -> 32 convs, 2 (9,216 + 64) = 18,560; cv2 (64 + 32 n) x 64 + 128. So
    # 8,448 + 20,608 n params. MACs: cv1 4,096 x 6,400 = 26,214,400, each bottleneck
    # 2 x 9,216 x 6,400 = 117,964,800, cv2 64 (64 + 32 n) x 6,400: 52,428,800 + 131,072,000 n.
    rep = report("c2f", n=str(n))
    assert rep.totals.params == 8_448 + 20_608 * n
    assert rep.totals.macs == 52_428_800 + 131_072_000 * n
    assert row(rep, "cat").output_shape == (64 + 32 * n, 80, 80)
    assert row(rep, "cv2.swish").output_shape == (64, 80, 80)
    # padding k // 2: every 3x3 conv keeps 80 x 80.
    assert all(r.output_shape[1:] == (80, 80) for r in conv_rows(rep))
