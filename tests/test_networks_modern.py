"""Modern bundled networks (ResNet family, mobile networks, ShuffleNet) against published figures.

Every expected number below is one of: torchvision's documented counts (the weights enum's
``meta["num_params"]`` and ``meta["_ops"]`` in GFLOPS, which are multiply-adds of conv and
linear layers: convcalc's ``macs``), a number printed in a paper, in the seed notes
(/work/shared/seeds, CLAIMS.md) or in a cited reference table, or a hand calculation written
beside it.
"""

from __future__ import annotations

from decimal import Decimal
from functools import cache

import pytest

from convcalc import api
from convcalc.report import LayerRow, Report

M = 10**6
G = 10**9


@cache
def report(name: str, **params: str) -> Report:
    return api.analyze(name, params or None)


def row(rep: Report, name: str) -> LayerRow:
    for r in rep.layers:
        if r.name == name:
            return r
    raise AssertionError(f"{rep.architecture} has no layer {name!r}")


def last_in(rep: Report, prefix: str) -> LayerRow:
    """The last row of a group or block instance (the one its name stands for)."""
    rows = [r for r in rep.layers if r.name == prefix or r.name.startswith(prefix + ".")]
    assert rows, f"{rep.architecture} has no layer {prefix!r}"
    return rows[-1]


def within_rounding(value: int, printed: str, unit: int) -> bool:
    """Whether ``value`` rounds to ``printed`` in ``unit``s: "4.2" with unit 10**6 accepts
    4.15e6 <= value <= 4.25e6."""
    d = Decimal(printed)
    half = Decimal(1).scaleb(d.as_tuple().exponent) / 2
    return (d - half) * unit <= value <= (d + half) * unit


def macs_without(rep: Report, layer: str) -> int:
    return rep.totals.macs - row(rep, layer).macs


# --- torchvision: exact params, MACs within the documented GFLOPS' rounding ---------------

# (bundled name, --set values, torchvision weights meta num_params, meta _ops GFLOPS)
TORCHVISION = [
    ("resnet18", {}, 11_689_512, "1.814"),  # torchvision weights meta num_params
    ("resnet34", {}, 21_797_672, "3.664"),  # torchvision weights meta num_params
    ("resnet50", {}, 25_557_032, "4.089"),  # torchvision weights meta num_params
    ("resnet101", {}, 44_549_160, "7.801"),  # torchvision weights meta num_params
    ("resnet152", {}, 60_192_808, "11.514"),  # torchvision weights meta num_params
    ("resnext50_32x4d", {}, 25_028_904, "4.23"),  # torchvision weights meta num_params
    ("wide_resnet50_2", {}, 68_883_240, "11.398"),  # torchvision weights meta num_params
    ("mobilenet_v3_large", {}, 5_483_032, "0.217"),  # torchvision weights meta num_params
    ("mobilenet_v3_small", {}, 2_542_856, "0.057"),  # torchvision weights meta num_params
    ("mnasnet1_0", {}, 4_383_312, "0.314"),  # torchvision weights meta num_params
    ("efficientnet_b0", {}, 5_288_548, "0.386"),  # torchvision weights meta num_params
    # shufflenet_v2_x0_5, x1_0, x1_5, x2_0: torchvision weights meta num_params
    ("shufflenet_v2", {"scale": "0.5"}, 1_366_792, "0.04"),
    ("shufflenet_v2", {"scale": "1"}, 2_278_604, "0.145"),
    ("shufflenet_v2", {"scale": "1.5"}, 3_503_624, "0.296"),
    ("shufflenet_v2", {"scale": "2"}, 7_393_996, "0.583"),
]


@pytest.mark.parametrize(("name", "params", "num_params", "gflops"), TORCHVISION)
def test_torchvision_counts(name: str, params: dict, num_params: int, gflops: str) -> None:
    totals = report(name, **params).totals
    assert totals.params == num_params
    assert within_rounding(totals.macs, gflops, G), totals.macs


def test_resnet50_stage_shapes_follow_table_1() -> None:
    # He et al. 2016, Table 1 (50-layer): conv1 112x112, conv2_x 56x56x256, conv3_x
    # 28x28x512, conv4_x 14x14x1024, conv5_x 7x7x2048, then 1000-d fc.
    rep = report("resnet50")
    assert tuple(last_in(rep, "conv1").output_shape) == (64, 112, 112)
    assert tuple(last_in(rep, "maxpool").output_shape) == (64, 56, 56)
    for stage, shape in [
        ("layer1", (256, 56, 56)),
        ("layer2", (512, 28, 28)),
        ("layer3", (1024, 14, 14)),
        ("layer4", (2048, 7, 7)),
    ]:
        assert tuple(last_in(rep, stage).output_shape) == shape
    assert tuple(row(rep, "fc").output_shape) == (1000,)


def test_resnext_and_wide_resnet_inner_widths() -> None:
    # torchvision Bottleneck: width = int(planes * base_width / 64) * groups.
    # resnext50_32x4d, layer1: int(64 * 4 / 64) * 32 = 128, grouped 3x3 with 32 groups, so
    # weights 128 * (128 / 32) * 9 = 4,608. wide_resnet50_2, layer1: int(64 * 128 / 64) = 128,
    # dense 3x3: 128 * 128 * 9 = 147,456.
    x = row(report("resnext50_32x4d"), "layer1.0.conv2.conv")
    assert (x.output_shape[0], x.params) == (128, 4_608)
    w = row(report("wide_resnet50_2"), "layer1.0.conv2.conv")
    assert (w.output_shape[0], w.params) == (128, 147_456)


def test_shortcuts_identity_free_projection_counted() -> None:
    # He et al. 2016 §3.3 / seed notes 004 §5.2: identity shortcuts add no parameters and no
    # multiply-adds; projection shortcuts (1x1 conv + bn) do. ResNet-50 layer2.0 projects
    # 256 -> 512 with stride 2: weights 256 * 512 = 131,072 plus bn 2 * 512 = 1,024; MACs
    # 28 * 28 * 512 * 256 = 102,760,448.
    rep = report("resnet50")
    identity = row(rep, "layer2.1.shortcut")
    assert (identity.type, identity.params, identity.macs) == ("identity", 0, 0)
    for r in rep.layers:
        if r.type == "add":
            assert (r.params, r.macs) == (0, 0)
    proj = row(rep, "layer2.0.shortcut.conv")
    assert (proj.params, proj.macs) == (131_072, 102_760_448)
    assert row(rep, "layer2.0.shortcut.bn").params == 1_024
    # 3 projections in the 16 bottlenecks of ResNet-50 (one per stage, four stages): 4.
    assert sum(1 for r in rep.layers if r.name.endswith(".shortcut.conv")) == 4
    assert sum(1 for r in rep.layers if r.type == "identity") == 16 - 4


# --- SE-ResNet-50 (Hu et al. 2018; seed notes 004 §6.2) ---------------------------------------


def test_se_resnet50_overhead_is_2_over_r_sum_c_squared() -> None:
    # (2/r) sum_s C_s^2 with r = 16 over the 16 bottlenecks, C = 4 x planes:
    # 3 * 256^2 + 4 * 512^2 + 6 * 1024^2 + 3 * 2048^2 = 20,119,552; * 2/16 = 2,514,944.
    # The FCs are 1x1 convs with bias: sum (C/16 + C) = 3*272 + 4*544 + 6*1088 + 3*2176
    # = 16,048 more.
    extra = report("se_resnet50").totals.params - report("resnet50").totals.params
    assert extra == 2_514_944 + 16_048
    # "about 2.5M more than ResNet-50's about 25M, about 10%" (seed notes 004 §6.2).
    assert within_rounding(extra, "2.5", M)
    assert 0.095 < extra / report("resnet50").totals.params < 0.105
    # Hu et al. 2018, Table (reduction ratio r = 16): SE-ResNet-50 28.1M parameters.
    assert within_rounding(report("se_resnet50").totals.params, "28.1", M)
    # Every SE gate sits after the bottleneck's last bn and before the add.
    rep = report("se_resnet50")
    add = row(rep, "layer3.2.add")
    assert add.inputs == ("layer3.2.se.scale", "layer3.2.shortcut")
    assert row(rep, "layer3.2.se.fc1").inputs == ("layer3.2.se.pool",)


def test_se_resnet50_gflops_of_the_paper() -> None:
    # Hu et al. 2018, section on model complexity: ResNet-50 ~3.86 GFLOPs, SE-ResNet-50
    # ~3.87 (224 x 224, the original Caffe ResNet with the stride on the first 1x1). With the
    # stride there, ResNet-50's multiply-adds round to 3.86 G.
    base = report("resnet50", stride_in_1x1="1")
    assert within_rounding(base.totals.macs, "3.86", G)
    # The SE figure is 3.87 only if the gate's squeeze pooling and channel scaling (one op
    # per value each) are counted besides its FC multiply-adds: 3.8605 G from the MACs alone.
    se = report("se_resnet50", stride_in_1x1="1")
    assert within_rounding(se.totals.macs, "3.86", G)
    gate_ops = sum(r.flops for r in se.layers if r.name.endswith((".se.pool", ".se.scale")))
    assert within_rounding(se.totals.macs + gate_ops, "3.87", G)
    # Where the stride sits changes multiply-adds only, never parameters.
    assert base.totals.params == report("resnet50").totals.params


# --- receptive fields against the TF-slim table of Araujo et al. -----------------------------
# Araujo, Norris & Sim, "Computing Receptive Fields of Convolutional Neural Networks",
# Distill 2019, and its library's table (google-research/receptive_field,
# RECEPTIVE_FIELD_TABLE.md), computed on the TF-slim models.


def test_mobilenet_v1_receptive_field() -> None:
    # mobilenet_v1, end-point Conv2d_13_pointwise (the last feature map) at 224: RF 315,
    # effective stride 32, effective padding 126; Conv2d_12_pointwise: 251, 32, 94.
    rep = report("mobilenet")
    assert rep.totals.receptive_field == (315, 315)
    last = last_in(rep, "body.conv.12")
    assert last.rf.size == (315, 315) and last.rf.jump == (32, 32)
    assert last.rf.start == (-126, -126)
    prev = last_in(rep, "body.conv.11")
    assert (prev.rf.size, prev.rf.start) == ((251, 251), (-94, -94))


@pytest.mark.parametrize(
    ("name", "fields"),
    [
        # resnet_v1_50 block1..block4: 35, 99, 291, 483
        ("resnet50", (35, 99, 291, 483)),
        # resnet_v1_101 block1..block4: 35, 99, 835, 1027
        ("resnet101", (35, 99, 835, 1027)),
        # resnet_v1_152 block1..block4: 35, 163, 1315, 1507
        ("resnet152", (35, 163, 1315, 1507)),
    ],
)
def test_resnet_receptive_fields_match_tf_slim_resnet_v1(name: str, fields: tuple) -> None:
    # TF-slim's resnet_v1 subsamples in the last unit of each block, which sees the same
    # field as the original stride on the first 1x1 of the next stage's first unit:
    # stride_in_1x1=1 reproduces the table; each block's output is our layer1..layer4.
    rep = report(name, stride_in_1x1="1")
    for stage, size in zip(("layer1", "layer2", "layer3", "layer4"), fields, strict=True):
        assert last_in(rep, stage).rf.size == (size, size), stage
    assert rep.totals.receptive_field == (fields[-1], fields[-1])


def test_torchvision_resnet_receptive_fields_by_hand() -> None:
    # torchvision puts the stride on the 3x3, which then runs at the finer jump.
    # ResNet-50: conv1 7 (jump 2), maxpool 11 (jump 4); layer1 3 convs 3x3 at jump 4: +24 = 35;
    # layer2 first 3x3 stride 2 at jump 4: +8 = 43, 3 more at 8: +48 = 91; layer3: +16 = 107,
    # 5 more at 16: +160 = 267; layer4: +32 = 299, 2 more at 32: +128 = 427.
    assert report("resnet50").totals.receptive_field == (427, 427)
    # ResNet-18: 11; layer1 4 convs at 4: 43; layer2 +8, 3 at 8: 99; layer3 +16, 3 at 16:
    # 211; layer4 +32, 3 at 32: 435.
    assert report("resnet18").totals.receptive_field == (435, 435)
    # ResNet-101 has 17 more bottlenecks in layer3 (jump 16, each 3x3 adding 32): 427 + 544
    # = 971. ResNet-152: 4 more in layer2 (+16 each) and 30 more in layer3: 427 + 64 + 960.
    assert report("resnet101").totals.receptive_field == (971, 971)
    assert report("resnet152").totals.receptive_field == (1451, 1451)


# --- MobileNet v1 (Howard et al. 2017; seed notes 004 §8.1) -----------------------------------

# Table 6 (width multiplier at 224): mult-adds and parameters in millions.
MOBILENET_ALPHA = [
    ("1", "569", "4.2"),
    ("0.75", "325", "2.6"),
    ("0.5", "149", "1.3"),
    ("0.25", "41", "0.5"),
]


@pytest.mark.parametrize(("alpha", "mult_adds", "params"), MOBILENET_ALPHA)
def test_mobilenet_width_multiplier(alpha: str, mult_adds: str, params: str) -> None:
    totals = report("mobilenet", alpha=alpha).totals
    assert within_rounding(totals.macs, mult_adds, M), totals.macs
    assert within_rounding(totals.params, params, M), totals.params


# Table 7 (resolution at alpha 1): rho = 6/7, 5/7, 4/7 give 192, 160, 128.
MOBILENET_RHO = [
    ("1", 224, "569"),
    ("6/7", 192, "418"),
    # The paper prints 290; the exact count 290.68M rounds to 291, which is what TF-slim's
    # mobilenet_v1.md lists for MobileNet_v1_1.0_160 (291 million MACs, 4.24M params).
    ("5/7", 160, "291"),
    ("4/7", 128, "186"),
]


@pytest.mark.parametrize(("rho", "side", "mult_adds"), MOBILENET_RHO)
def test_mobilenet_resolution_multiplier(rho: str, side: int, mult_adds: str) -> None:
    rep = report("mobilenet", rho=rho)
    assert rep.input == (3, side, side)
    assert within_rounding(rep.totals.macs, mult_adds, M), rep.totals.macs
    # rho leaves the parameters alone: still "4.2" M.
    assert rep.totals.params == report("mobilenet").totals.params
    assert within_rounding(rep.totals.params, "4.2", M)


def test_mobilenet_160_paper_figure_is_within_one_million() -> None:
    # Table 7 prints 290 for MobileNet-160; the network's exact 290.68M is within 1M of it.
    assert abs(report("mobilenet", rho="5/7").totals.macs - 290 * M) < M


def test_mobilenet_table_1_body() -> None:
    # Table 1: conv s2 3x3x3x32 on 224; 13 dw/pw pairs with pointwise outputs 64, 128, 128,
    # 256, 256, 512 (x6), 1024, 1024; depthwise strides 1, 2, 1, 2, 1, 2, 1 x5, 2, 1 (the last
    # is printed s2, but the table's 7x7 avg pool input needs s1, as in the released models).
    rep = report("mobilenet")
    assert tuple(last_in(rep, "conv0").output_shape) == (32, 112, 112)
    assert row(rep, "conv0.conv").params == 3 * 3 * 3 * 32
    widths = [64, 128, 128, 256, 256, 512, 512, 512, 512, 512, 512, 1024, 1024]
    sides = [112, 56, 56, 28, 28, 14, 14, 14, 14, 14, 14, 7, 7]
    for n, (c, s) in enumerate(zip(widths, sides, strict=True)):
        assert tuple(last_in(rep, f"body.conv.{n}").output_shape) == (c, s, s)
    assert tuple(row(rep, "avgpool").output_shape) == (1024, 1, 1)
    assert row(rep, "fc").params == 1024 * 1000 + 1000


def test_mobilenet_width_rounding_and_alias() -> None:
    # Channels are floor(c * alpha) (Keras' int(c * alpha)); for alpha 0.6, 32 -> 19, 64 -> 38.
    rep = report("mobilenet", alpha="0.6")
    assert row(rep, "conv0.conv").output_shape[0] == 19
    assert row(rep, "body.conv.0.pointwise.conv").output_shape[0] == 38
    # mobilenet_v1 is the same network under its versioned name.
    for params in ({}, {"alpha": "0.5", "rho": "5/7"}):
        a, b = report("mobilenet", **params), report("mobilenet_v1", **params)
        assert (a.totals.params, a.totals.macs) == (b.totals.params, b.totals.macs)


def test_mobilenet_vs_vgg16_and_googlenet() -> None:
    # Howard et al. 2017, Table 8: MobileNet 569M mult-adds, 4.2M params; VGG 16 15300M,
    # 138M; GoogLeNet 1550M, 6.8M. So VGG16 has 138/4.2 = 32.9x the parameters and
    # 15300/569 = 26.9x the mult-adds; GoogLeNet 6.8/4.2 = 1.6x and 1550/569 = 2.7x. (The
    # seed notes' "1/26.9 of the size, 1/34.3 of the compute" swap and misquote these.)
    mob = report("mobilenet").totals
    vgg = report("vgg16").totals
    goog = report("googlenet").totals
    assert abs(vgg.params / mob.params - 32.9) < 0.5
    assert abs(vgg.macs / mob.macs - 26.9) < 0.5
    assert abs(goog.params / mob.params - 1.6) < 0.1
    assert abs(goog.macs / mob.macs - 2.7) < 0.1


# --- MobileNet v2 (Sandler et al. 2018; seed notes 004 §8.2) ------------------------------


def test_mobilenet_v2_claims() -> None:
    # "about 300M mult-adds and 3.4M params" at 224, alpha 1. torchvision's 3,504,872 holds
    # the 1280 x 1000 classifier (1,281,000) and two bn params per channel; TF-slim's table
    # lists 3.47M and 300 MACs for mobilenet_v2_1.0_224, so the paper's 3.4 is 3.47 cut short.
    totals = report("mobilenet_v2").totals
    assert abs(totals.macs - 300 * M) < M
    assert 3.4 * M <= totals.params < 3.55 * M


# --- ShuffleNet v1 (Zhang et al. 2018; seed notes 004 §8.3) -----------------------------------

# Table 1: output channels of stages 2, 3, 4 and the complexity (MFLOPs = mult-adds) at 1x.
SHUFFLENET_TABLE_1 = [
    (1, (144, 288, 576), "143"),
    (2, (200, 400, 800), "140"),
    (3, (240, 480, 960), "137"),
    (4, (272, 544, 1088), "133"),
    (8, (384, 768, 1536), "137"),
]


@pytest.mark.parametrize(("g", "channels", "mflops"), SHUFFLENET_TABLE_1)
def test_shufflenet_table_1(g: int, channels: tuple, mflops: str) -> None:
    rep = report("shufflenet", g=str(g))
    assert tuple(last_in(rep, "conv1").output_shape) == (24, 112, 112)
    assert tuple(row(rep, "maxpool").output_shape) == (24, 56, 56)
    for n, (c, side, repeats) in enumerate(zip(channels, (28, 14, 7), (4, 8, 4), strict=True)):
        assert tuple(last_in(rep, f"stage.{n}").output_shape) == (c, side, side)
        assert tuple(last_in(rep, f"stage.{n}.{repeats - 1}").output_shape) == (c, side, side)
    assert tuple(row(rep, "fc").output_shape) == (1000,)
    # The complexity row counts the convolutions without the final fully connected layer:
    # 142.5, 140.0, 136.5, 133.3, 136.8 M. (With the FC, g = 2, 4, 8 would print 141, 134, 138.)
    assert within_rounding(macs_without(rep, "fc"), mflops, M), macs_without(rep, "fc")


def test_shufflenet_unit_structure() -> None:
    # Bottleneck = a quarter of the output channels; stage 2's first 1x1 is not grouped
    # (24 input channels); later 1x1s use g groups. g = 3: stage 2 bottleneck 60, and the
    # stride-2 unit's main branch makes 240 - 24 = 216 channels, concatenated with the pooled
    # 24-channel input.
    rep = report("shufflenet", g="3")
    first = row(rep, "stage.0.0.gconv1.conv")
    assert (first.output_shape[0], first.params) == (60, 24 * 60)
    grouped = row(rep, "stage.0.1.gconv1.conv")
    assert grouped.params == 240 * 60 // 3
    assert row(rep, "stage.0.0.gconv2.conv").output_shape[0] == 216
    assert row(rep, "stage.0.0.join").type == "concat"
    assert row(rep, "stage.0.1.join").type == "add"


def test_shufflenet_scaled_complexity() -> None:
    # Table 2 (seed notes 004 §8.3): ShuffleNet 0.5x 38 MFLOPs, 0.25x 13 MFLOPs (one figure
    # per row for all g), counted like Table 1 without the FC: g = 1 gives 38.2 and 13.0.
    assert within_rounding(macs_without(report("shufflenet", g="1", scale="0.5"), "fc"), "38", M)
    assert within_rounding(macs_without(report("shufflenet", g="1", scale="0.25"), "fc"), "13", M)
    assert within_rounding(macs_without(report("shufflenet", g="3", scale="0.25"), "fc"), "13", M)
    # g = 3 at 0.5x: 37.1M, within 1M of the row's 38.
    assert abs(macs_without(report("shufflenet", g="3", scale="0.5"), "fc") - 38 * M) < M
    # 0.5x halves the stage widths: g = 3 gives 120, 240, 480.
    rep = report("shufflenet", g="3", scale="0.5")
    assert [last_in(rep, f"stage.{n}").output_shape[0] for n in range(3)] == [120, 240, 480]


@pytest.mark.parametrize(
    ("scale", "mult_adds", "params"),
    [
        # Sandler et al. 2018 (MobileNetV2), Table 4 / seed notes 004 §8.2: ShuffleNet (1.5)
        # 292M mult-adds, 3.4M params; ShuffleNet (x2) 524M, 5.4M (g = 3). These include the
        # FC, as do the released models' figures (megvii ShuffleNet-Series: 292M, 524M).
        ("1.5", "292", "3.4"),
        ("2", "524", None),
    ],
)
def test_shufflenet_large_scales(scale: str, mult_adds: str, params: str | None) -> None:
    totals = report("shufflenet", g="3", scale=scale).totals
    assert within_rounding(totals.macs, mult_adds, M), totals.macs
    if params is not None:
        assert within_rounding(totals.params, params, M), totals.params
    else:
        # 5,450,776 is 5.45M: the printed 5.4 is cut short, not rounded.
        assert 5.4 * M <= totals.params < 5.5 * M


def test_shufflenet_v2_channel_split() -> None:
    # Ma et al. 2018, Fig. 3 (c): a stride-1 unit splits its c channels in halves, the right
    # half goes through 1x1, 3x3 depthwise, 1x1 (each c/2 wide), then concat and shuffle.
    # x1_0 stage 2 is 116 wide: each half 58; Table 5 gives 116, 232, 464 and 1024.
    rep = report("shufflenet_v2", scale="1")
    assert tuple(row(rep, "stage.0.1.split1").output_shape) == (58, 28, 28)
    assert tuple(row(rep, "stage.0.1.split2").output_shape) == (58, 28, 28)
    assert row(rep, "stage.0.1.branch2_pw1.conv").params == 58 * 58
    widths = [last_in(rep, f"stage.{n}").output_shape[0] for n in range(3)]
    assert widths == [116, 232, 464]
    assert tuple(last_in(rep, "conv5").output_shape) == (1024, 7, 7)


# --- MobileNetV3 / EfficientNet SE widths ---------------------------------------------------


def test_se_squeeze_widths_follow_torchvision() -> None:
    # MobileNetV3-Large bneck 4 (k5, exp 72, SE): squeeze make_divisible(72 // 4, 8) = 24, so
    # fc1 72 * 24 + 24 = 1,752 and fc2 24 * 72 + 72 = 1,800.
    rep = report("mobilenet_v3_large")
    assert row(rep, "bneck.3.se.fc1").params == 1_752
    assert row(rep, "bneck.3.se.fc2").params == 1_800
    # EfficientNet-B0 first MBConv: squeeze max(1, 32 // 4) = 8 on its 32 channels.
    eff = report("efficientnet_b0")
    assert row(eff, "stage.0.0.se.fc1").params == 32 * 8 + 8
