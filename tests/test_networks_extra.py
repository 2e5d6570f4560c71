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
