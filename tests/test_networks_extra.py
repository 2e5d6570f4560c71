"""Networks of issue 15's list (deeper ResNeXt and Wide ResNet, DenseNet-161, SE-ResNeXt,
segmentation networks, Inception v2/v4 and Inception-ResNet, pre-activation and
stochastic-depth ResNets, the dilated context module) against independent references.

Every expected number is one of: torchvision's documented counts (the weights enum's
``meta["num_params"]`` and ``meta["_ops"]`` in GFLOPS, which are multiply-adds of conv and
linear layers: convcalc's ``macs``); an exact count taken from the reference implementation
itself (torch 2.13 CPU with torchvision 0.28 or timm 1.0.31 in a throwaway environment, the
model built without weights: ``sum(p.numel() for p in model.parameters())`` and
``FlopCounterMode`` total / 2, one image at the input size named); a number printed in a
paper; or a hand calculation written beside it.
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


def within_rounding(value: int, printed: str, unit: int) -> bool:
    """Whether ``value`` rounds to ``printed`` in ``unit``s ("4.2", 10**6: 4.15M to 4.25M)."""
    d = Decimal(printed)
    half = Decimal(1).scaleb(d.as_tuple().exponent) / 2
    return (d - half) * unit <= value <= (d + half) * unit


# (bundled name, --set values, params, MACs): counted on the reference model (see the module
# docstring), each also documented by torchvision where it says so.
COUNTED = [
    # torchvision.models.resnext101_32x8d: meta num_params 88,791,336, GFLOPS 16.414
    ("resnext101_32x8d", {}, 88_791_336, 16_414_015_488),
    # torchvision.models.resnext101_64x4d: meta num_params 83,455,272, GFLOPS 15.46
    ("resnext101_64x4d", {}, 83_455_272, 15_460_270_080),
    # torchvision.models.wide_resnet101_2: meta num_params 126,886,696, GFLOPS 22.753
    ("wide_resnet101_2", {}, 126_886_696, 22_753_050_624),
    # torchvision.models.densenet161: meta num_params 28,681,000, GFLOPS 7.728
    ("densenet161", {}, 28_681_000, 7_727_907_072),
    # timm.create_model("seresnext50_32x4d"), 224x224 (no torchvision model)
    ("se_resnext50_32x4d", {}, 27_559_896, 4_232_994_816),
    # torchvision.models.segmentation.fcn_resnet50(aux_loss=True, num_classes=21), 520x520:
    # meta num_params 35,322,218, GFLOPS 152.717
    ("fcn_resnet50", {}, 35_322_218, 152_716_512_000),
    # torchvision.models.segmentation.deeplabv3_resnet50(aux_loss=True, num_classes=21),
    # 520x520: meta num_params 42,004,074, GFLOPS 178.722
    ("deeplabv3_resnet50", {}, 42_004_074, 178_721_945_088),
    # timm.create_model("inception_v4"), 299x299
    ("inception_v4", {}, 42_679_816, 12_253_974_624),
    # timm.create_model("inception_resnet_v2"), 299x299
    ("inception_resnet_v2", {}, 55_843_464, 13_155_794_016),
    # timm.create_model("resnetv2_50"), "resnetv2_101", "resnetv2_152", 224x224
    ("resnet_v2_50", {}, 25_549_352, 4_089_184_256),
    ("resnet_v2_101", {}, 44_541_480, 7_801_405_440),
    ("resnet_v2_152", {}, 60_185_128, 11_513_626_624),
    # torchvision.models.resnet152 (meta num_params 60,192,808, GFLOPS 11.514): stochastic
    # depth changes training only, so at test time the counts are ResNet-152's
    ("stochastic_depth_resnet152", {}, 60_192_808, 11_513_626_624),
]


@pytest.mark.parametrize(("name", "params", "num_params", "macs"), COUNTED)
def test_counts_of_the_reference_model(name: str, params: dict, num_params: int, macs: int) -> None:
    totals = report(name, **params).totals
    assert (totals.params, totals.macs) == (num_params, macs)


# torchvision's documented GFLOPS, to the digits it prints (weights meta "_ops")
DOCUMENTED_GFLOPS = [
    ("resnext101_32x8d", "16.414"),
    ("resnext101_64x4d", "15.46"),
    ("wide_resnet101_2", "22.753"),
    ("densenet161", "7.728"),
    ("fcn_resnet50", "152.717"),
    ("deeplabv3_resnet50", "178.722"),
]


@pytest.mark.parametrize(("name", "gflops"), DOCUMENTED_GFLOPS)
def test_torchvision_documented_gflops(name: str, gflops: str) -> None:
    assert within_rounding(report(name).totals.macs, gflops, G)


def test_segmentation_backbone_keeps_output_stride_8() -> None:
    # replace_stride_with_dilation=[False, True, True]: 520 -> 260 (conv1) -> 130 (maxpool)
    # -> 65 (layer2), and layer3/layer4 stay at 65x65 with 1024 and 2048 channels.
    rep = report("fcn_resnet50")
    assert row(rep, "layer3.5.relu").output_shape == (1024, 65, 65)
    assert row(rep, "layer4.2.relu").output_shape == (2048, 65, 65)
    assert row(rep, "out").output_shape == (21, 520, 520)
    # torchvision's _make_layer: the first bottleneck of a dilated stage keeps the previous
    # rate (1 in layer3, 2 in layer4), the others use 2 and 4.
    assert row(rep, "layer3.0.conv2.conv").summary == "3x3"
    assert row(rep, "layer3.1.conv2.conv").summary == "3x3 d2"
    assert row(rep, "layer4.0.conv2.conv").summary == "3x3 d2"
    assert row(rep, "layer4.2.conv2.conv").summary == "3x3 d4"


def test_segmentation_auxiliary_head_by_hand() -> None:
    # FCNHead(1024, 21): 3x3 conv 1024 -> 256 (2,359,296) + bn (512) + 1x1 conv 256 -> 21
    # with bias (5,397) = 2,365,205 parameters, which aux=0 removes.
    for name in ("fcn_resnet50", "deeplabv3_resnet50"):
        with_aux, without = report(name).totals, report(name, aux="0").totals
        assert with_aux.params - without.params == 2_365_205
        # multiply-adds at 65x65: (2,359,296 + 5,376) x 4,225 = 9,990,739,200
        assert with_aux.macs - without.macs == 9_990_739_200


def test_reduction_a_filter_table_as_params() -> None:
    # Szegedy et al. 2017, Table 1 (k, l, m, n) and Figure 7: Reduction-A concatenates n + m
    # new channels with the max-pooled input. Inception-v4: 384 + 256 + 384 = 1024 at 17x17;
    # Inception-ResNet-v1: 384 + 256 + 256 = 896; the released Inception-ResNet-v2:
    # 384 + 384 + 320 = 1088 (Figure 15's 17x17x1088 schema of the released model).
    assert row(report("inception_v4"), "reduction_a.concat").output_shape == (1024, 17, 17)
    assert row(report("inception_resnet_v1"), "reduction_a.concat").output_shape == (896, 17, 17)
    assert row(report("inception_resnet_v2"), "mixed_6a.concat").output_shape == (1088, 17, 17)
    # Setting the table's row changes the width: n = 320, m = 192 in Inception-v4 gives
    # 320 + 192 + 384 = 896 channels.
    rep = report("inception_v4", n="320", m="192")
    assert row(rep, "reduction_a.concat").output_shape == (896, 17, 17)


def test_inception_v4_end_point_shapes() -> None:
    # Szegedy et al. 2017, Figures 3 and 9: stem 35x35x384, Reduction-A 17x17x1024,
    # Reduction-B 8x8x1536, Inception-C 8x8x1536.
    rep = report("inception_v4")
    assert row(rep, "mixed_3a").output_shape == (160, 73, 73)  # Figure 3: 73x73x160
    assert row(rep, "mixed_4a").output_shape == (192, 71, 71)  # Figure 3: 71x71x192
    assert row(rep, "mixed_5a").output_shape == (384, 35, 35)
    assert row(rep, "reduction_b.concat").output_shape == (1536, 8, 8)
    assert row(rep, "inception_c.2.concat").output_shape == (1536, 8, 8)


def test_inception_resnet_v1_follows_its_figures() -> None:
    # Szegedy et al. 2017, Figures 14 and 15: 35x35x256 after the stem and the 5 A modules,
    # 17x17x896 after Reduction-A and the 10 B modules, 8x8x1792 after Reduction-B and the 5
    # C modules.
    rep = report("inception_resnet_v1")
    assert row(rep, "conv6.relu").output_shape == (256, 35, 35)
    assert row(rep, "block_a.4.relu").output_shape == (256, 35, 35)
    assert row(rep, "block_b.9.relu").output_shape == (896, 17, 17)
    assert row(rep, "reduction_b.concat").output_shape == (1792, 8, 8)
    assert row(rep, "block_c.4.relu").output_shape == (1792, 8, 8)
    # Figure 10 (Inception-ResNet-A) by hand at 35x35 from 256 channels: 1x1 convs 3 x
    # 256 x 32 = 24,576, 3x3 convs 3 x 9 x 32 x 32 = 27,648, batch norm 2 x 32 x 6 = 384,
    # linear 1x1 96 x 256 + 256 biases = 24,832: 77,440 parameters.
    a = [r for r in rep.layers if r.name.startswith("block_a.0.")]
    assert sum(r.params for r in a) == 77_440


def test_residual_scaling_is_a_parameter_and_costs_one_multiply() -> None:
    # Section 3.3's scaling multiplies each residual before the add: no parameters or
    # multiply-adds, one FLOP per value (35 x 35 x 320 = 392,000 for a 35x35 module of the
    # released Inception-ResNet-v2, which scales by 0.17).
    rep = report("inception_resnet_v2")
    scale = row(rep, "block35.0.scale")
    assert (scale.params, scale.macs, scale.flops) == (0, 0, 392_000)
    other = report("inception_resnet_v2", scale_a="0.3", scale_b="0.3", scale_c="0.3")
    assert (other.totals.params, other.totals.macs) == (rep.totals.params, rep.totals.macs)
    # The last 8x8 module of the released model has neither scaling nor ReLU.
    names = {r.name for r in rep.layers}
    assert "block8_last.scale" not in names and "block8_last.relu" not in names


def test_inception_v2_follows_figure_5() -> None:
    # Ioffe & Szegedy 2015, Figure 5 (TF-slim's end-point comments): 28x28x256 after 3a,
    # 28x28x320 after 3b, 14x14x576 after 3c and 4a-4d, 7x7x1024 after 4e, 5a and 5b.
    rep = report("inception_v2")
    for name, shape in (
        ("pool2", (192, 28, 28)),
        ("inception_3a.concat", (256, 28, 28)),
        ("inception_3b.concat", (320, 28, 28)),
        ("inception_3c.concat", (576, 14, 14)),
        ("inception_4d.concat", (576, 14, 14)),
        ("inception_4e.concat", (1024, 7, 7)),
        ("inception_5b.concat", (1024, 7, 7)),
    ):
        assert row(rep, name).output_shape == shape
    # TF-slim's separable 7x7 stem: depthwise 7 x 7 x 3 x 8 = 1,176 weights and a 1x1 from
    # 24 to 64 channels (1,536) against 7 x 7 x 3 x 64 = 9,408: 6,696 fewer parameters.
    sep = report("inception_v2", sep_stem="1")
    assert rep.totals.params - sep.totals.params == 9_408 - 1_176 - 1_536


# He et al. 2016b, Table 3: pre-activation ResNet-164 has 1.7M parameters, ResNet-1001
# 10.2M; the paper's figures leave out batch norm's scale and shift (see docs/validation.md).
@pytest.mark.parametrize(("depth", "millions"), [("164", "1.7"), ("1001", "10.2")])
def test_preact_resnet_cifar_params(depth: str, millions: str) -> None:
    rep = report("preact_resnet", depth=depth)
    without_bn = rep.totals.params - sum(r.params for r in rep.layers if r.type == "bn")
    assert within_rounding(without_bn, millions, M)


def test_preact_resnet_cifar_layout() -> None:
    # He et al. 2016, Section 4.2 with bottlenecks: n = (164 - 2) / 9 = 18 units per stage at
    # 32x32, 16x16 and 8x8, outputs 64, 128 and 256 channels; 3 x 18 x 3 + 2 = 164 layers.
    rep = report("preact_resnet")
    assert row(rep, "stage1.17.add").output_shape == (64, 32, 32)
    assert row(rep, "stage2.17.add").output_shape == (128, 16, 16)
    assert row(rep, "stage3.17.add").output_shape == (256, 8, 8)
    convs = [r for r in rep.layers if r.type == "conv" and "shortcut" not in r.name]
    assert len(convs) + 1 == 164  # and the classifier
    # Pre-activation: no batch norm or ReLU after a unit's add (Fig. 4(e)).
    assert row(rep, "stage1.1.norm1").inputs == ("stage1.0.add",)


def test_stochastic_depth_linear_decay_and_expected_training_cost() -> None:
    import sympy

    # Huang et al. 2016, eq. 4: p_l = 1 - l / L (1 - p_L) over the L = 50 units; at test
    # time each branch is scaled by p_l (eq. 5), one multiply per value of its output.
    rep = report("stochastic_depth_resnet152")
    survival = [r for r in rep.layers if r.name.endswith(".survival")]
    assert len(survival) == 50
    assert survival[0].name == "layer1.0.survival" and survival[-1].name == "layer4.2.survival"
    assert row(rep, "layer1.0.survival").flops == 256 * 56 * 56
    # Each unit's branch (conv1 to conv3) by hand: every unit but a stage's first costs
    # 218,365,952 (at 56x56: 256x64 + 9x64x64 + 64x256 = 69,632 per position x 3,136; the
    # same in every stage, as width doubles where the grid halves); the first of stage 1
    # reads 64 channels: (64x64 + 36,864 + 16,384) x 3,136 = 179,830,784; the first of
    # stages 2-4 reduces at the input grid and strides its 3x3: 256x128 x 3,136 + (9x128x128
    # + 128x512) x 784 = 269,746,176 (and the same for stages 3 and 4).
    units = [r.name.removesuffix(".survival") for r in survival]
    branch = [sum(r.macs for r in rep.layers if r.name.startswith(u + ".conv")) for u in units]
    firsts = {0: 179_830_784, 3: 269_746_176, 11: 269_746_176, 47: 269_746_176}
    assert branch == [firsts.get(j, 218_365_952) for j in range(50)]
    # Expected training cost as a formula of p_L: unit l's branch runs with probability
    # p_l, everything else always: E = full - (1 - p_L) / L * sum_l l branch_l, with
    # sum_l l branch_l = 218,365,952 x 1,275 - 38,535,168 x 1 + 51,380,224 x (4 + 12 + 48)
    # = 281,666,387,968 by hand; full = 11,513,626,624 (torchvision's ResNet-152).
    p_L = sympy.Symbol("p_L")
    expected = rep.totals.macs - sum(
        (1 - (1 - (j + 1) * (1 - p_L) / 50)) * b for j, b in enumerate(branch)
    )
    by_hand = 11_513_626_624 - (1 - p_L) * sympy.Rational(281_666_387_968, 50)
    assert sympy.expand(expected - by_hand) == 0
    # p_L = 0.5, the paper's choice: 8,696,962,744.32 multiply-adds expected per image, 75.5%
    # of the test-time cost (the paper reports about 25% less training time).
    half = expected.subs(p_L, sympy.Rational(1, 2))
    assert half == sympy.Rational(869_696_274_432, 100)
    # The paper's expected number of units for p_L = 0.5 (Section 3): (3L - 1) / 4 = 37.25.
    assert sum(1 - sympy.Rational(j, 50) / 2 for j in range(1, 51)) == sympy.Rational(149, 4)


def test_context_module_table_1() -> None:
    # Yu & Koltun 2016, Table 1: receptive field after each layer 3, 5, 9, 17, 33, 65, 67, 67.
    for large in ("0", "1"):
        rep = report("context_module", large=large)
        convs = [r for r in rep.layers if r.type == "conv"]
        assert [r.rf.size[0] for r in convs] == [3, 5, 9, 17, 33, 65, 67, 67]
    # Section 3: the basic module has 64 C^2 parameters (7 x 9 C^2 + C^2, weights only),
    # here for C = 21: 28,224; biases add 8 C = 168.
    assert report("context_module", bias="0").totals.params == 64 * 21**2
    assert report("context_module").totals.params == 64 * 21**2 + 8 * 21
    # The large module's widths 2C, 2C, 4C, 8C, 16C, 32C, 32C, C by hand: 9 C^2 (2 + 4 + 8 +
    # 32 + 128 + 512 + 1024) + 32 C^2 = 15,422 C^2 weights.
    assert report("context_module", large="1", bias="0").totals.params == 15_422 * 21**2


def test_context_module_formula_in_c() -> None:
    # The same 64 C^2 as a formula, with C free (the symbolic engine).
    rep = api.analyze("context_module", {"bias": "0"}, symbolic=True, free=("C",))
    assert str(rep.totals.params) == "64*C**2"


# Araujo et al.'s receptive-field table (google-research/receptive_field,
# RECEPTIVE_FIELD_TABLE.md) on the TF-Slim models, for the named end-point.
@pytest.mark.parametrize(
    ("name", "field"),
    [
        ("inception_v2", 699),  # inception_v2/Mixed_5c
        ("inception_v4", 2071),  # inception_v4/Mixed_7d
        ("inception_resnet_v2", 3039),  # inception_resnet_v2/Conv2d_7b_1x1
    ],
)
def test_inception_receptive_fields_match_tf_slim(name: str, field: int) -> None:
    assert report(name).totals.receptive_field == (field, field)


def test_igc_resnet18_follows_the_released_symbol_files() -> None:
    # hellozting/InterleavedGroupConvolutions, models/IGC-L4M32_ImageNet/...-symbol.json:
    # conv1 7x7 to 128; g1 3x3 convs 128 wide in 4 groups, secondary 1x1s in 32 groups, no
    # projection; g2's projection a 1x1 stride-2 conv to 256 in 4 groups; g4's secondary 1x1s
    # 1,024 wide in 256 groups; a 1,000-way classifier on 1,024 features.
    rep = report("igc_resnet18")
    assert row(rep, "conv1.conv").output_shape == (128, 112, 112)
    # 3x3 primary in 4 groups: 9 x 128 x 32 weights; secondary in 32 groups: 128 x 4
    assert row(rep, "stage.0.0.igc1.primary").params == 9 * 128 * 32
    assert row(rep, "stage.0.0.igc1.secondary").params == 128 * 4
    assert row(rep, "stage.0.0.proj").type == "identity"
    assert row(rep, "stage.1.0.proj.conv").params == 256 * 128 // 4
    assert row(rep, "stage.3.1.igc2.secondary").params == 1024 * 4
    assert row(rep, "fc").params == 1024 * 1000 + 1000
    # IGC-L100M2+Ident.: conv1 to 100, g1 projects to 200 in 100 groups (its symbol file).
    l100 = report("igc_resnet18", L="100", M="2", double_l="1")
    assert row(l100, "conv1.conv").output_shape == (100, 112, 112)
    assert row(l100, "stage.0.0.proj.conv").params == 200 * 100 // 100


@pytest.mark.parametrize(
    ("params", "millions", "gflops"),
    [
        # Zhang et al. 2017, ImageNet table: IGC-L100M2+Ident. 8.61M parameters, 1.3 x 10^9
        # FLOPs (multiply-adds, as its ResNet-18 row's 1.8 shows); the parameters without
        # batch norm (see docs/validation.md)
        ({"L": "100", "M": "2", "double_l": "1"}, "8.61", "1.3"),
    ],
)
def test_igc_published_counts(params: dict, millions: str, gflops: str) -> None:
    rep = report("igc_resnet18", **params)
    without_bn = rep.totals.params - sum(r.params for r in rep.layers if r.type == "bn")
    assert within_rounding(without_bn, millions, M)
    assert within_rounding(rep.totals.macs, gflops, G)


def test_igc_l4m32_multiply_adds_within_the_table() -> None:
    # Zhang et al. 2017, ImageNet table: IGC-L4M32+Ident. 1.9 x 10^9 FLOPs (multiply-adds).
    assert within_rounding(report("igc_resnet18").totals.macs, "1.9", G)


# Araujo et al.'s table of the TF-Slim models: receptive fields of resnet_v2_50's block1 to
# block4 (35, 99, 291, 483), and block4 of resnet_v2_101 and _152 (1027, 1507); TF-slim's
# resnet_v2 subsamples in the last unit of blocks 1-3, so at 224x224 the blocks end at
# 28x28x256, 14x14x512, 7x7x1024 and 7x7x2048 (nets/resnet_v2.py).
def test_resnet_v2_tf_slim_layout() -> None:
    rep = report("resnet_v2_50", slim="1")
    ends = ["stage1.2.add", "stage2.3.add", "stage3.5.add", "stage4.2.add"]
    assert [row(rep, e).rf.size[0] for e in ends] == [35, 99, 291, 483]
    assert [row(rep, e).output_shape for e in ends] == [
        (256, 28, 28),
        (512, 14, 14),
        (1024, 7, 7),
        (2048, 7, 7),
    ]
    assert report("resnet_v2_101", slim="1").totals.receptive_field == (1027, 1027)
    assert report("resnet_v2_152", slim="1").totals.receptive_field == (1507, 1507)
    # The subsampling shortcut is a 1x1 max pool of the unit's input: no parameters.
    assert row(rep, "stage1.2.shortcut").type == "maxpool"
