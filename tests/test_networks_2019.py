"""Networks of 2019 and after against torchvision 0.28: EfficientNet B0-B7 (one family file),
EfficientNetV2-S, MNASNet at its four depth multipliers, RegNet X and Y from the width rule,
ConvNeXt T, S, B and L; and U-Net and YOLOv8n against plain-PyTorch builds.

Where the numbers come from:

- params: torchvision's documented ``meta["num_params"]`` of each model's weights (for
  example ``EfficientNet_B3_Weights.IMAGENET1K_V1``), which is ``sum(p.numel())``;
- MACs: measured with torch 2.13 (CPU) and torchvision 0.28 outside the project,
  ``torch.utils.flop_counter.FlopCounterMode`` total / 2 (it counts 2 FLOPs per conv and
  linear multiply-add) on one image of the size given, the model in eval mode; each agrees
  with torchvision's documented ``meta["_ops"]`` (GFLOPS, 3 decimals), written beside it;
- shapes: the same runs, forward hooks on the stages (``features.N`` of EfficientNet,
  ``layers.N`` of MNASNet, every ``trunk_output.blockK.blockK-j`` of RegNet, ``features.N``
  of ConvNeXt).
"""

from __future__ import annotations

from functools import cache

import pytest

from convcalc import api
from convcalc.report import Report


@cache
def report(name: str, **params: str) -> Report:
    return api.analyze(name, params or None)


def output(rep: Report, prefix: str) -> tuple:
    """The output shape of a layer, group or block use: that of its last layer."""
    rows = [r for r in rep.layers if r.name == prefix or r.name.startswith(prefix + ".")]
    assert rows, f"{rep.architecture} has no layer {prefix!r}"
    return tuple(rows[-1].output_shape)


# --- EfficientNet B0 .. B7 ------------------------------------------------------------------

# (member, input size, num_params, FlopCounterMode MACs, torchvision GFLOPS, the output of
# features.0 (stem), features.1 .. 7 (the seven stages) and features.8 (head): (C, H) each)
EFFICIENTNET = [
    ("efficientnet_b0", 224, 5_288_548, 385_814_752, "0.386",
     [(32, 112), (16, 112), (24, 56), (40, 28), (80, 14), (112, 14), (192, 7), (320, 7),
      (1280, 7)]),
    ("efficientnet_b1", 240, 7_794_184, 686_802_832, "0.687",
     [(32, 120), (16, 120), (24, 60), (40, 30), (80, 15), (112, 15), (192, 8), (320, 8),
      (1280, 8)]),
    ("efficientnet_b2", 288, 9_109_994, 1_087_529_456, "1.088",
     [(32, 144), (16, 144), (24, 72), (48, 36), (88, 18), (120, 18), (208, 9), (352, 9),
      (1408, 9)]),
    ("efficientnet_b3", 300, 12_233_232, 1_827_141_392, "1.827",
     [(40, 150), (24, 150), (32, 75), (48, 38), (96, 19), (136, 19), (232, 10), (384, 10),
      (1536, 10)]),
    ("efficientnet_b4", 380, 19_341_616, 4_393_771_024, "4.394",
     [(48, 190), (24, 190), (32, 95), (56, 48), (112, 24), (160, 24), (272, 12), (448, 12),
      (1792, 12)]),
    ("efficientnet_b5", 456, 30_389_784, 10_266_384_752, "10.266",
     [(48, 228), (24, 228), (40, 114), (64, 57), (128, 29), (176, 29), (304, 15), (512, 15),
      (2048, 15)]),
    ("efficientnet_b6", 528, 43_040_704, 19_067_593_536, "19.068",
     [(56, 264), (32, 264), (40, 132), (72, 66), (144, 33), (200, 33), (344, 17), (576, 17),
      (2304, 17)]),
    ("efficientnet_b7", 600, 66_347_960, 37_745_884_192, "37.746",
     [(64, 300), (32, 300), (48, 150), (80, 75), (160, 38), (224, 38), (384, 19), (640, 19),
      (2560, 19)]),
]  # fmt: skip


@pytest.mark.parametrize(("name", "res", "params", "macs", "gflops", "stages"), EFFICIENTNET)
def test_efficientnet_family(
    name: str, res: int, params: int, macs: int, gflops: str, stages: list
) -> None:
    rep = report(name)
    assert rep.input == (3, res, res)
    assert rep.totals.params == params
    assert rep.totals.macs == macs
    assert f"{macs / 1e9:.3f}" == gflops
    names = ["stem"] + [f"stage.{r}" for r in range(7)] + ["head"]
    assert [output(rep, n) for n in names] == [(c, h, h) for c, h in stages]


def test_the_family_file_with_set_values_is_the_member() -> None:
    # efficientnet --set width=1.8 depth=2.6 res=528 is torchvision's efficientnet_b6.
    rep = report("efficientnet", width="1.8", depth="2.6", res="528")
    assert (rep.totals.params, rep.totals.macs) == (43_040_704, 19_067_593_536)


def test_efficientnet_v2_s() -> None:
    rep = report("efficientnet_v2_s")
    assert rep.input == (3, 384, 384)  # EfficientNet_V2_S_Weights: crop_size 384
    assert rep.totals.params == 21_458_488
    assert rep.totals.macs == 8_365_617_152  # torchvision GFLOPS 8.366
    # features.0 .. 7: stem, three Fused-MBConv stages, three MBConv stages, head.
    names = ["stem", "fused.0", "fused.1", "fused.2", "stage.0", "stage.1", "stage.2", "head"]
    shapes = [(24, 192), (24, 192), (48, 96), (64, 48), (128, 24), (160, 24), (256, 12),
              (1280, 12)]  # fmt: skip
    assert [output(rep, n) for n in names] == [(c, h, h) for c, h in shapes]


# --- MNASNet ----------------------------------------------------------------------------------

# (member, num_params, FlopCounterMode MACs, torchvision GFLOPS, widths of layers.7 (the
# separable conv's projection) and layers.8 .. 13 (the six stacks))
MNASNET = [
    ("mnasnet0_5", 2_218_512, 104_455_968, "0.104", [8, 16, 24, 40, 48, 96, 160]),
    ("mnasnet0_75", 3_170_208, 215_493_104, "0.215", [16, 24, 32, 64, 72, 144, 240]),
    ("mnasnet1_0", 4_383_312, 314_415_872, "0.314", [16, 24, 40, 80, 96, 192, 320]),
    ("mnasnet1_3", 6_282_256, 526_362_432, "0.526", [24, 32, 56, 104, 128, 248, 416]),
]


@pytest.mark.parametrize(("name", "params", "macs", "gflops", "widths"), MNASNET)
def test_mnasnet_depth_multipliers(
    name: str, params: int, macs: int, gflops: str, widths: list
) -> None:
    rep = report(name)
    assert rep.totals.params == params
    assert rep.totals.macs == macs
    assert f"{macs / 1e9:.3f}" == gflops
    sizes = [112, 56, 28, 14, 14, 7, 7]
    names = ["sep_pw"] + [f"stack.{r}" for r in range(6)]
    shapes = [(w, s, s) for w, s in zip(widths, sizes, strict=True)]
    assert [output(rep, n) for n in names] == shapes


# --- RegNet -----------------------------------------------------------------------------------

# torchvision/models/regnet.py: BlockParams.from_init_params(depth, w_0, w_a, w_m,
# group_width, se_ratio) of each builder; num_params; FlopCounterMode MACs; GFLOPS.
REGNET = [
    ("regnet_x_400mf", 22, 24, "24.48", "2.54", 16, 0, 5_495_976, 413_812_608, "0.414"),
    ("regnet_x_800mf", 16, 56, "35.73", "2.28", 16, 0, 7_259_656, 799_699_712, "0.800"),
    ("regnet_x_1_6gf", 18, 80, "34.01", "2.25", 24, 0, 9_190_136, 1_602_849_792, "1.603"),
    ("regnet_x_3_2gf", 25, 88, "26.31", "2.25", 48, 0, 15_296_552, 3_176_621_952, "3.177"),
    ("regnet_x_8gf", 23, 80, "49.56", "2.88", 120, 0, 39_572_648, 7_995_132_416, "7.995"),
    ("regnet_x_16gf", 22, 216, "55.59", "2.1", 128, 0, 54_278_536, 15_940_755_456, "15.941"),
    ("regnet_x_32gf", 23, 320, "69.86", "2.0", 168, 0, 107_811_560, 31_735_929_792, "31.736"),
    ("regnet_y_400mf", 16, 48, "27.89", "2.09", 8, 1, 4_344_144, 401_842_848, "0.402"),
    ("regnet_y_800mf", 14, 56, "38.84", "2.4", 16, 1, 6_432_512, 833_856_256, "0.834"),
    ("regnet_y_1_6gf", 27, 48, "20.71", "2.65", 24, 1, 11_202_430, 1_612_076_160, "1.612"),
    ("regnet_y_3_2gf", 21, 80, "42.63", "2.66", 24, 1, 19_436_338, 3_176_482_752, "3.176"),
    ("regnet_y_8gf", 17, 192, "76.82", "2.19", 56, 1, 39_381_472, 8_473_070_592, "8.473"),
    ("regnet_y_16gf", 18, 200, "106.23", "2.48", 112, 1, 83_590_140, 15_911_510_272, "15.912"),
    ("regnet_y_32gf", 20, 232, "115.89", "2.53", 232, 1, 145_046_770, 32_279_552_832, "32.280"),
    ("regnet_y_128gf", 27, 456, "160.83", "2.52", 264, 1, 644_812_894, 127_517_815_680,
     "127.518"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "depth", "w0", "wa", "wm", "g", "se", "params", "macs", "gflops"), REGNET
)
def test_every_torchvision_regnet_from_the_width_rule(
    name: str, depth: int, w0: int, wa: str, wm: str, g: int, se: int, params: int, macs: int,
    gflops: str,
) -> None:  # fmt: skip
    values = {"depth": depth, "w0": w0, "wa": wa, "wm": wm, "group_width": g, "se": se}
    rep = report("regnet", **{k: str(v) for k, v in values.items()})
    assert rep.totals.params == params
    assert rep.totals.macs == macs
    assert f"{macs / 1e9:.3f}" == gflops


# Every block's output (C, H) in torchvision's order (trunk_output.block1.block1-0, ...).
REGNET_BLOCKS = {
    "regnet_x_400mf": [(32, 56)] + [(64, 28)] * 2 + [(160, 14)] * 7 + [(400, 7)] * 12,
    "regnet_y_400mf": [(48, 56)] + [(104, 28)] * 3 + [(208, 14)] * 6 + [(440, 7)] * 6,
}


@pytest.mark.parametrize("name", sorted(REGNET_BLOCKS))
def test_regnet_400mf_files_block_by_block(name: str) -> None:
    rep = report(name)
    expected = next(row for row in REGNET if row[0] == name)
    assert (rep.totals.params, rep.totals.macs) == expected[7:9]
    assert output(rep, "stem") == (32, 112, 112)
    blocks = REGNET_BLOCKS[name]
    shapes = [output(rep, f"trunk.{j}") for j in range(len(blocks))]
    assert shapes == [(c, h, h) for c, h in blocks]


# --- ConvNeXt ---------------------------------------------------------------------------------

# (--set values of convnext, num_params, FlopCounterMode MACs, torchvision GFLOPS)
CONVNEXT = [
    ("convnext_tiny", {}, 28_589_128, 4_455_531_264, "4.456"),
    ("convnext_small", {"depth3": "27"}, 50_223_688, 8_683_712_256, "8.684"),
    ("convnext_base", {"width": "128", "depth3": "27"}, 88_591_464, 15_354_729_472, "15.355"),
    ("convnext_large", {"width": "192", "depth3": "27"}, 197_767_336, 34_361_433_600, "34.361"),
]


@pytest.mark.parametrize(("name", "values", "params", "macs", "gflops"), CONVNEXT)
def test_convnext_members(name: str, values: dict, params: int, macs: int, gflops: str) -> None:
    rep = report("convnext", **values)
    assert rep.totals.params == params
    assert rep.totals.macs == macs
    assert f"{macs / 1e9:.3f}" == gflops


def test_convnext_tiny_file_and_its_stages() -> None:
    rep = report("convnext_tiny")
    assert (rep.totals.params, rep.totals.macs) == CONVNEXT[0][2:4]
    # features.0 (stem) .. features.7: stages at 56, 28, 14 and 7, downsamplings between.
    names = ["stem_norm", "stages.0", "stages.1.down", "stages.1", "stages.2.down", "stages.2",
             "stages.3.down", "stages.3"]  # fmt: skip
    shapes = [(96, 56), (96, 56), (192, 28), (192, 28), (384, 14), (384, 14), (768, 7), (768, 7)]
    assert [output(rep, n) for n in names] == [(c, h, h) for c, h in shapes]
    # One block's layer scale is C = 96 learned values, its linears 96 x 384 (+ 384) and
    # 384 x 96 (+ 96) at each of the 56 x 56 positions (torchvision's CNBlock).
    rows = {r.name: r for r in rep.layers}
    assert rows["stages.0.block.0.layer_scale"].params == 96
    assert rows["stages.0.block.0.pwconv1"].params == 96 * 384 + 384
    assert rows["stages.0.block.0.pwconv2"].macs == 384 * 96 * 56 * 56
    assert output(rep, "classifier") == (1000,)


# --- U-Net and YOLOv8n against plain-PyTorch builds ---------------------------------------------

# Both were also written in plain PyTorch 2.13 (CPU) from the same descriptions as the
# bundled files (Ronneberger et al. 2015, Figure 1; YOLOv8's Conv, C2f, SPPF, neck and
# Detect head with its DFL), outside the project, and measured as the torchvision models
# above: params = sum(p.numel()), MACs = FlopCounterMode / 2, shapes by the forward pass.


def test_unet_against_a_pytorch_build() -> None:
    rep = report("unet")
    assert rep.totals.params == 31_030_658
    assert rep.totals.macs == 150_428_424_448
    shapes = {
        "enc1": (64, 568), "enc2": (128, 280), "enc3": (256, 136), "enc4": (512, 64),
        "bottom": (1024, 28), "up4": (512, 56), "dec4": (512, 52), "up3": (256, 104),
        "dec3": (256, 100), "up2": (128, 200), "dec2": (128, 196), "up1": (64, 392),
        "dec1": (64, 388), "head": (2, 388),
    }  # fmt: skip
    assert {n: output(rep, n) for n in shapes} == {n: (c, h, h) for n, (c, h) in shapes.items()}
    assert rep.input == (1, 572, 572)


def test_yolov8n_against_a_pytorch_build() -> None:
    # 3,157,200 params of which 16 are the DFL's fixed 1x1 conv (the build's trainable
    # ones: 3,157,184); its MACs 4,371,993,600 include the DFL's 16 x 4 x 8,400 = 537,600.
    rep = report("yolov8n")
    assert rep.totals.params == 3_157_200
    assert rep.totals.macs == 4_371_993_600
    shapes = {
        "c2f2": (32, 160, 160), "c2f3": (64, 80, 80), "c2f4": (128, 40, 40),
        "c2f5": (256, 20, 20), "sppf": (256, 20, 20), "td4": (128, 40, 40),
        "out3": (64, 80, 80), "out4": (128, 40, 40), "out5": (256, 20, 20),
        "anchors": (144, 8400), "dist": (4, 8400), "scores": (80, 8400),
    }  # fmt: skip
    assert {n: output(rep, n) for n in shapes} == shapes
    rows = {r.name: r for r in rep.layers}
    assert (rows["dfl"].params, rows["dfl"].macs) == (16, 537_600)
    # C2f's concat of cv1 (c2) and every bottleneck (c2 / 2 each): 64 + 2 x 32 = 128 in
    # c2f3 (n = 2), 32 + 16 = 48 in c2f2 (n = 1).
    assert output(rep, "c2f3.cat") == (128, 80, 80) and output(rep, "c2f2.cat") == (48, 160, 160)


# --- the symbolic engine on the families -------------------------------------------------------


def test_mnasnet_with_a_free_depth_multiplier_substitutes_to_torchvision() -> None:
    # One formula in alpha (make_divisible stays a function of it) gives all four members.
    from fractions import Fraction

    from convcalc.symbolic.compile import compile_exprs

    totals = api.analyze("mnasnet", free=("alpha",)).totals
    fn = compile_exprs([totals.params, totals.macs], ["alpha"])
    for name, params, macs, _, _ in MNASNET:
        alpha = Fraction(name.removeprefix("mnasnet").replace("_", "."))
        assert fn(alpha) == (params, macs), name


@pytest.mark.parametrize(
    ("name", "res", "others"),
    [
        ("efficientnet_b3", 300, (224, 301)),
        ("regnet_y_400mf", 224, (193,)),
    ],
)
def test_free_resolution_substitutes_to_the_concrete_analysis(
    name: str, res: int, others: tuple
) -> None:
    # At the member's own resolution the formula gives torchvision's counts (the tables
    # above); at others it equals the concrete analysis (floors of odd sizes included).
    from convcalc.symbolic.compile import compile_exprs

    totals = api.analyze(name, free=("res",)).totals
    fn = compile_exprs([totals.params, totals.macs], ["res"])
    expected = {row[0]: row[2:4] for row in EFFICIENTNET}
    expected.update({row[0]: row[7:9] for row in REGNET})
    assert fn(res) == expected[name]
    for other in others:
        concrete = report(name, res=str(other)).totals
        assert fn(other) == (concrete.params, concrete.macs), other


def test_convnext_with_a_free_width_substitutes_to_torchvision() -> None:
    # One formula in C for the 27-block members: small (96), base (128), large (192).
    from convcalc.symbolic.compile import compile_exprs

    totals = api.analyze("convnext", {"depth3": "27"}, free=("width",)).totals
    fn = compile_exprs([totals.params, totals.macs], ["width"])
    for name, values, params, macs, _ in CONVNEXT[1:]:
        assert fn(int(values.get("width", "96"))) == (params, macs), name


def test_regnet_widths_with_free_rule_parameters_are_refused() -> None:
    # The width rule takes logarithms of wa and wm, which the symbolic engine does not carry.
    from convcalc.errors import ConvcalcError

    with pytest.raises(ConvcalcError) as info:
        api.analyze("regnet_x_400mf", free=("wa",))
    error = info.value
    assert "log() needs a number, but its argument depends on a free parameter" in error.message
    # Block 0's width is log(24 / 24) whatever wa is; block 1's, log((wa + 24) / 24), is not.
    assert (error.file, error.line, error.layer) == ("lib/regnet", 24, "trunk.1.f")
