#!/usr/bin/env python3
"""Write docs/validation.md: convcalc's exact counts beside the published figures.

    python docs/validation.py           # rewrite docs/validation.md
    python docs/validation.py --check   # exit 1 if docs/validation.md is out of date (for CI)

Papers print rounded figures and do not always say what they cover, so a table of
"expected" numbers is only worth something if every figure carries its source and the
rounding it was printed with. This script holds that table (``CONFIGS``), analyses each
bundled network and configuration with convcalc, and writes one row per configuration:
the exact params, multiply-adds and receptive field, each published figure with its source
and rounding, the difference, and a verdict. A figure outside its rounding must carry the
reason (which number is right and why) in the table, and a figure inside it must not, so
a change to a network that moves a count past a published figure fails ``--check`` instead
of silently rewriting the page.

The published figures are copied here by hand from the cited papers, torchvision's weights
metadata and the receptive-field table of Araujo et al.; none is convcalc output. The page
is deterministic (no clock, fixed order), so CI can regenerate it and demand no diff.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from fractions import Fraction
from functools import cache
from pathlib import Path

from convcalc import api
from convcalc.report import Report

DOC = Path(__file__).resolve().with_name("validation.md")

#: Multipliers of the units figures are printed in.
UNITS = {"": 1, "K": 10**3, "M": 10**6, "G": 10**9}

#: Metrics compared, in column order: (key, column title).
METRICS = (("params", "params"), ("macs", "MACs"), ("rf", "RF"))

#: Short source names (as they appear in the table) and the full references.
SOURCES = {
    "torchvision": (
        "torchvision 0.28 weights metadata of the network (`AlexNet_Weights.IMAGENET1K_V1`, "
        "`ResNet50_Weights.IMAGENET1K_V1`, `ShuffleNet_V2_X0_5_Weights.IMAGENET1K_V1`, ...): "
        '`meta["num_params"]` and `meta["_ops"]`, printed in GFLOPS, which are the multiply-adds '
        "of conv and linear layers."
    ),
    "LeCun 1998": (
        'LeCun, Bottou, Bengio & Haffner, "Gradient-Based Learning Applied to Document '
        'Recognition", Proc. IEEE 1998, Section II.B (trainable parameters per layer).'
    ),
    "Krizhevsky 2012": (
        'Krizhevsky, Sutskever & Hinton, "ImageNet Classification with Deep Convolutional '
        'Neural Networks", NIPS 2012, abstract ("60 million parameters").'
    ),
    "Simonyan 2015": (
        'Simonyan & Zisserman, "Very Deep Convolutional Networks for Large-Scale Image '
        'Recognition", ICLR 2015, Table 2 (parameters in millions of configurations A-E).'
    ),
    "Szegedy 2015": (
        'Szegedy et al., "Going Deeper with Convolutions", CVPR 2015, Table 1 (per-layer '
        "params and ops)."
    ),
    "He 2016": (
        'He, Zhang, Ren & Sun, "Deep Residual Learning for Image Recognition", CVPR 2016, '
        "Table 1 (FLOPs, i.e. multiply-adds, Section 3.3) and Section 3.3 (VGG-19's 19.6 "
        "billion FLOPs)."
    ),
    "Iandola 2016": (
        'Iandola et al., "SqueezeNet: AlexNet-level accuracy with 50x fewer parameters and '
        '<0.5MB model size", arXiv:1602.07360 (title).'
    ),
    "Howard 2017": (
        'Howard et al., "MobileNets: Efficient Convolutional Neural Networks for Mobile Vision '
        'Applications", arXiv:1704.04861, Tables 6 (width multiplier), 7 (resolution), 8 '
        "(against VGG16 and GoogLeNet) and 10 (0.50 MobileNet-160); million mult-adds and "
        "million parameters."
    ),
    "Huang 2017": (
        'Huang, Liu, van der Maaten & Weinberger, "Densely Connected Convolutional Networks", '
        "CVPR 2017, ImageNet results (DenseNet-201 with 20M parameters against a ResNet-101 "
        "with more than 40M)."
    ),
    "Xie 2017": (
        'Xie, Girshick, Dollar, Tu & He, "Aggregated Residual Transformations for Deep Neural '
        'Networks", CVPR 2017, Table 1.'
    ),
    "Chollet 2017": (
        'Chollet, "Xception: Deep Learning with Depthwise Separable Convolutions", CVPR 2017, '
        "Table 3."
    ),
    "Zhang 2018": (
        'Zhang, Zhou, Lin & Sun, "ShuffleNet: An Extremely Efficient Convolutional Neural '
        'Network for Mobile Devices", CVPR 2018, Tables 1 and 2 (complexity in MFLOPs, which '
        "are multiply-adds)."
    ),
    "Sandler 2018": (
        'Sandler et al., "MobileNetV2: Inverted Residuals and Linear Bottlenecks", CVPR 2018, '
        "Table 4 (million parameters and mult-adds)."
    ),
    "Hu 2018": (
        'Hu, Shen & Sun, "Squeeze-and-Excitation Networks", CVPR 2018, Section 4 (model and '
        "computational complexity) and the reduction-ratio table (r = 16: 28.1M)."
    ),
    "Tan 2019": (
        'Tan & Le, "EfficientNet: Rethinking Model Scaling for Convolutional Neural Networks", '
        "ICML 2019, Table 2."
    ),
    "counted": (
        "counted here with the reference implementation itself, in a throwaway environment: "
        "torch 2.13 (CPU) with torchvision 0.28 or timm 1.0.31, the model built without "
        "weights, parameters summed over `model.parameters()`, and multiply-adds from "
        "`torch.utils.flop_counter.FlopCounterMode` (which counts 2 FLOPs per multiply-add of "
        "conv, linear and matrix products, so halved) in one forward pass of a batch of one "
        "at the input size of the row."
    ),
    "built": (
        "a plain-PyTorch build of the network written from the same published description "
        "as the bundled file, outside the project (no reference implementation is used), "
        "measured as the counted rows: torch 2.13 (CPU), parameters summed over "
        "`model.parameters()`, multiply-adds from `FlopCounterMode` / 2, one image."
    ),
    "Ioffe 2015": (
        'Ioffe & Szegedy, "Batch Normalization: Accelerating Deep Network Training by Reducing '
        'Internal Covariate Shift", ICML 2015, Section 4.2.1 ("The network contains 13.6 * 10^6 '
        'parameters") and Figure 5.'
    ),
    "He 2016b": (
        'He, Zhang, Ren & Sun, "Identity Mappings in Deep Residual Networks", ECCV 2016, '
        "Table 3 (parameters of the pre-activation ResNet-164 and ResNet-1001 on CIFAR)."
    ),
    "Yu 2016": (
        'Yu & Koltun, "Multi-Scale Context Aggregation by Dilated Convolutions", ICLR 2016, '
        "Section 3 (the basic context module's 64 C^2 parameters) and Table 1 (receptive field "
        "of each layer)."
    ),
    "Zhang 2017": (
        'Zhang, Qi, Xiao & Wang, "Interleaved Group Convolutions for Deep Neural Networks", '
        "ICCV 2017, the ImageNet table (#Params in millions and FLOPs in 10^9 of "
        "IGC-L4M32+Ident. and IGC-L100M2+Ident.), as also printed in the authors' repository "
        "(hellozting/InterleavedGroupConvolutions, README.md), whose MXNet symbol files of the "
        "released models the bundled network mirrors."
    ),
    "Araujo 2019": (
        'Araujo, Norris & Sim, "Computing Receptive Fields of Convolutional Neural Networks", '
        "Distill 2019, and its library's table (google-research/receptive_field, "
        "RECEPTIVE_FIELD_TABLE.md), computed on the TF-Slim models: RF of the named end-point."
    ),
    "notes": (
        "The Chinese-language study notes on CNN design that convcalc was designed from "
        "(notes 001 and 004; section numbers as cited)."
    ),
}


@dataclass(frozen=True)
class Scope:
    """What a published figure covers when the source says it is not the bundled network as
    a whole: the figure is then compared with convcalc's count over the same part."""

    text: str
    #: Layer names (or group prefixes) the figure leaves out.
    without: tuple[str, ...] = ()
    #: A part the figure includes and the bundled file does not, counted by hand in ``text``.
    plus: int = 0


@dataclass(frozen=True)
class Figure:
    """One published number, as printed, with where it comes from and how it was rounded."""

    metric: str  # "params", "macs" or "rf"
    printed: str  # the digits as printed: "4.2", "61,100,840", "0.714"
    unit: str  # "", "K", "M" or "G"
    source: str  # a key of SOURCES
    where: str  # table, section or end-point inside the source
    #: "nearest" (half a step either way), "truncated" (the digits after the step cut off)
    #: or "exact".
    rounding: str = "nearest"
    #: The rounding step in ``unit``s when it is not the last printed digit ("100" for a
    #: table that prints 15300 beside 569 and 1550: 3 significant figures).
    step: str = ""
    scope: Scope | None = None
    #: Context worth a sentence whether or not the figure agrees.
    note: str = ""
    #: Required exactly when the figure lies outside its rounding: which number is right and
    #: why.
    wrong: str = ""


@dataclass(frozen=True)
class Config:
    """A bundled network with ``--set`` values, and the figures published for it."""

    network: str
    settings: tuple[tuple[str, str], ...]
    label: str
    figures: tuple[Figure, ...]


def tv(params: int, gflops: str) -> tuple[Figure, Figure]:
    """torchvision's documented parameter count (exact) and GFLOPS (rounded as printed)."""
    return (
        Figure("params", f"{params:,}", "", "torchvision", "num_params", rounding="exact"),
        Figure("macs", gflops, "G", "torchvision", "GFLOPS"),
    )


def counted(model: str, params: int, macs: int, **kw: str) -> tuple[Figure, Figure]:
    """Parameters and multiply-adds counted exactly on the reference implementation's
    ``model`` (``torchvision.models.NAME`` or ``timm.create_model("NAME")``)."""
    return (
        Figure("params", f"{params:,}", "", "counted", model, rounding="exact", **kw),
        Figure("macs", f"{macs:,}", "", "counted", model, rounding="exact"),
    )


def rf(size: int, where: str, note: str = "", wrong: str = "") -> Figure:
    """A receptive-field size from Araujo et al.'s table (exact integers)."""
    return Figure("rf", str(size), "", "Araujo 2019", where, "exact", note=note, wrong=wrong)


def howard(metric: str, printed: str, table: str, **kw: str) -> Figure:
    """A MobileNet v1 figure: millions of mult-adds or parameters."""
    return Figure(metric, printed, "M", "Howard 2017", table, **kw)


WITHOUT_FC = Scope(
    "the network without its final FC layer (`fc`): all five complexities of Table 1 agree "
    "only when it is left out (with it, g = 2, 4 and 8 would print 141, 134 and 138)",
    without=("fc",),
)

WITHOUT_FC_T2 = Scope(
    "the network without its final FC layer (`fc`), as Table 1 of the same paper counts",
    without=("fc",),
)

RESNET_RF_WRONG = (
    "both are right for their networks: {published} is TF-slim's resnet_v1, which subsamples "
    "in the last unit of each block and so sees the fields of the original stride on the "
    "first 1x1 (`stride_in_1x1=1`, next row: {published}); torchvision strides the 3x3, which "
    "then runs at the finer jump: {hand}"
)

ATTENTION = (
    "FlopCounterMode run with autograd on and the math attention backend "
    "(torch.nn.attention.sdpa_kernel(SDPBackend.MATH)), where it counts every matrix product "
    "of the attention"
)

CONFIGS: tuple[Config, ...] = (
    Config(
        "alexnet",
        (),
        "as published: two towers as groups of 2",
        (
            Figure(
                "params",
                "60",
                "M",
                "Krizhevsky 2012",
                "abstract",
                rounding="truncated",
                note='"60 million" is the count cut to whole millions (60.97M)',
            ),
            rf(195, "alexnet_v2/pool5"),
        ),
    ),
    Config(
        "alexnet_tv",
        (),
        "torchvision's single tower",
        (
            *tv(61_100_840, "0.714"),
            rf(195, "alexnet_v2/pool5", note="alexnet_v2 has this network's kernels and strides"),
        ),
    ),
    Config("dcgan_generator", (), "Radford et al. 2016, Figure 1", ()),
    Config(
        "context_module",
        (("bias", "0"),),
        "basic, C = 21, weights only",
        (
            Figure(
                "params",
                "28,224",
                "",
                "Yu 2016",
                "Section 3, 64 C^2 with C = 21",
                rounding="exact",
            ),
            Figure("rf", "67", "", "Yu 2016", "Table 1, layer 8", rounding="exact"),
        ),
    ),
    Config(
        "context_module",
        (("large", "1"),),
        "large, C = 21, with biases",
        (Figure("rf", "67", "", "Yu 2016", "Table 1, layer 8", rounding="exact"),),
    ),
    Config(
        "deeplabv3_resnet50",
        (),
        "torchvision, with the auxiliary head, 21 classes",
        (
            *tv(42_004_074, "178.722"),
            *counted(
                "torchvision.models.segmentation.deeplabv3_resnet50", 42_004_074, 178_721_945_088
            ),
        ),
    ),
    Config("densenet121", (), "torchvision", tv(7_978_856, "2.834")),
    Config(
        "densenet161",
        (),
        "torchvision",
        (
            *tv(28_681_000, "7.728"),
            *counted("torchvision.models.densenet161", 28_681_000, 7_727_907_072),
        ),
    ),
    Config("densenet169", (), "torchvision", tv(14_149_480, "3.36")),
    Config("densenet201", (), "torchvision", tv(20_013_928, "4.291")),
    Config(
        "efficientnet_b0",
        (),
        "torchvision",
        (
            *tv(5_288_548, "0.386"),
            Figure("params", "5.3", "M", "Tan 2019", "Table 2"),
            Figure("macs", "0.39", "G", "Tan 2019", "Table 2 (FLOPs)"),
        ),
    ),
    Config(
        "fcn_resnet50",
        (),
        "torchvision, with the auxiliary head, 21 classes",
        (
            *tv(35_322_218, "152.717"),
            *counted("torchvision.models.segmentation.fcn_resnet50", 35_322_218, 152_716_512_000),
        ),
    ),
    Config(
        "googlenet",
        (),
        "as published: 5x5 branches, biases, no auxiliary heads",
        (
            Figure(
                "params",
                "6.8",
                "M",
                "Howard 2017",
                "Table 8",
                wrong=(
                    "convcalc is right: 6.8M is the sum of Szegedy et al.'s Table 1 params "
                    "column (6,797.7K), whose rows conv1 (2.7K for 7x7x3x64 = 9,408 weights), "
                    "4a, 4c, 4d, 4e, 5a and 5b do not follow from the channel counts printed "
                    "beside them; from those counts the weights are 6,990,272 and, with 8,280 "
                    "biases, 6,998,552"
                ),
            ),
            Figure(
                "macs",
                "1550",
                "M",
                "Howard 2017",
                "Table 8",
                step="10",
                wrong=(
                    "convcalc is right: Table 1 of Szegedy et al. sums to 1,502M ops but prints "
                    "conv1 as 34M for 118M (9,408 x 112 x 112 = 118,013,952) and 5a as 54M for "
                    "51M; from its channel counts the network has 1,582,671,872 multiply-adds, "
                    "and 1550M matches neither"
                ),
            ),
        ),
    ),
    Config(
        "googlenet_tv", (), "torchvision: 3x3 in the 5x5 branch, batch norm", tv(6_624_904, "1.498")
    ),
    Config(
        "igc_resnet18",
        (),
        "IGC-L4M32+Ident. (the file's defaults)",
        (
            Figure(
                "params",
                "11.205",
                "M",
                "Zhang 2017",
                "ImageNet table",
                wrong=(
                    "convcalc counts the released model: its symbol file has these layers "
                    "(conv1 to 128, stages of 128, 256, 512 and 1,024 channels, primary groups "
                    "4 and secondary groups 32 to 256, grouped projections, a 1,024 x 1,000 "
                    "classifier), 12,232,040 parameters without batch norm; 11.205M is "
                    "1,027,040 fewer, near the classifier's 1,025,000 but not equal, and the "
                    "paper does not say what it leaves out"
                ),
            ),
            Figure(
                "macs",
                "1.9",
                "G",
                "Zhang 2017",
                "ImageNet table (FLOPs, multiply-adds)",
            ),
        ),
    ),
    Config(
        "igc_resnet18",
        (("L", "100"), ("M", "2"), ("double_l", "1")),
        "IGC-L100M2+Ident.",
        (
            Figure(
                "params",
                "8.61",
                "M",
                "Zhang 2017",
                "ImageNet table",
                wrong=(
                    "both count the same network: 8,637,900 includes batch norm's scale and "
                    "shift (30,200); without them 8,607,700 = 8.61M, the table's figure"
                ),
            ),
            Figure(
                "macs",
                "1.3",
                "G",
                "Zhang 2017",
                "ImageNet table (FLOPs, multiply-adds)",
            ),
        ),
    ),
    Config(
        "inception_resnet_v1",
        (),
        "as in the paper's figures (no released model)",
        (),
    ),
    Config(
        "inception_resnet_v2",
        (),
        "timm (the released model), k, l, m, n = 256, 256, 384, 384",
        (
            *counted(
                'timm "inception_resnet_v2"',
                55_843_464,
                13_155_794_016,
                note=(
                    "the notes (004 section 4.4.1) print m = 256 for Inception-ResNet-v2 in "
                    "Table 1's row; the paper and the released model have 384, which is what "
                    "makes Reduction-A's output 384 + 384 + 320 = 1,088 channels wide"
                ),
            ),
            rf(3039, "inception_resnet_v2/Conv2d_7b_1x1"),
        ),
    ),
    Config(
        "inception_v2",
        (),
        "BN-Inception as TF-slim defines it, ordinary 7x7 stem",
        (
            Figure(
                "params",
                "13.6",
                "M",
                "Ioffe 2015",
                "Section 4.2.1",
                wrong=(
                    "convcalc counts the network of Figure 5's table, whose channel counts "
                    "give 11,194,984 parameters (11,175,080 without batch norm, 11,188,288 "
                    "with TF-slim's separable 7x7 stem); 13.6M is 2.4M more than any of these, "
                    "and the paper does not break it down or say what else it counts"
                ),
            ),
            rf(699, "inception_v2/Mixed_5c"),
        ),
    ),
    Config(
        "inception_v3",
        (),
        "torchvision, without the auxiliary head",
        (
            Figure(
                "params",
                "27,161,264",
                "",
                "torchvision",
                "num_params",
                rounding="exact",
                scope=Scope(
                    "the network with its auxiliary head, which torchvision's model holds and "
                    "the bundled file leaves out: conv 768->128 1x1 (98,304 + batch norm 256), "
                    "conv 128->768 5x5 (2,457,600 + 1,536) and linear 768->1000 (769,000), "
                    "3,326,696 by hand",
                    plus=3_326_696,
                ),
            ),
            Figure("macs", "5.713", "G", "torchvision", "GFLOPS"),
            rf(1311, "inception_v3/Mixed_7c"),
        ),
    ),
    Config(
        "inception_v4",
        (),
        "timm (the released model), k, l, m, n = 192, 224, 256, 384",
        (
            *counted('timm "inception_v4"', 42_679_816, 12_253_974_624),
            rf(2071, "inception_v4/Mixed_7d"),
        ),
    ),
    Config(
        "lenet5",
        (),
        "as published, 32x32",
        (
            Figure(
                "params",
                "60,000",
                "",
                "LeCun 1998",
                "Section II.B, C1 to F6",
                rounding="exact",
                scope=Scope(
                    "layers C1 to F6, whose trainable parameters the paper lists layer by "
                    "layer (156 + 12 + 1,516 + 32 + 48,120 + 10,164 = 60,000); the RBF output "
                    "layer's 84 x 10 = 840 parameters, which the paper chooses by hand and "
                    "keeps fixed (at least initially), are left out",
                    without=("output",),
                ),
            ),
        ),
    ),
    Config(
        "mnasnet1_0",
        (),
        "torchvision (the SE-free B1 variant)",
        tv(4_383_312, "0.314"),
    ),
    Config(
        "mobilenet",
        (),
        "alpha 1, 224x224 (1.0 MobileNet-224)",
        (
            howard("macs", "569", "Table 6"),
            howard("params", "4.2", "Table 6"),
            howard("macs", "569", "Table 8"),
            howard("params", "4.2", "Table 8"),
            rf(315, "mobilenet_v1/Conv2d_13_pointwise"),
        ),
    ),
    Config(
        "mobilenet",
        (("alpha", "0.75"),),
        "0.75 MobileNet-224",
        (
            howard("macs", "325", "Table 6"),
            howard("params", "2.6", "Table 6"),
            rf(315, "mobilenet_v1_075/Conv2d_13_pointwise"),
        ),
    ),
    Config(
        "mobilenet",
        (("alpha", "0.5"),),
        "0.5 MobileNet-224",
        (howard("macs", "149", "Table 6"), howard("params", "1.3", "Table 6")),
    ),
    Config(
        "mobilenet",
        (("alpha", "0.25"),),
        "0.25 MobileNet-224",
        (howard("macs", "41", "Table 6"), howard("params", "0.5", "Table 6")),
    ),
    Config(
        "mobilenet",
        (("rho", "6/7"),),
        "1.0 MobileNet-192",
        (howard("macs", "418", "Table 7"), howard("params", "4.2", "Table 7")),
    ),
    Config(
        "mobilenet",
        (("rho", "5/7"),),
        "1.0 MobileNet-160",
        (
            howard(
                "macs",
                "290",
                "Table 7",
                wrong=(
                    "convcalc is right: 290,675,200 rounds to 291M, the figure TF-slim's "
                    "mobilenet_v1.md lists for MobileNet_v1_1.0_160; the paper cut 290.68 "
                    "short, while its 569 for MobileNet-224 (568,740,352) is rounded"
                ),
            ),
            howard("params", "4.2", "Table 7"),
        ),
    ),
    Config(
        "mobilenet",
        (("rho", "4/7"),),
        "1.0 MobileNet-128",
        (howard("macs", "186", "Table 7"), howard("params", "4.2", "Table 7")),
    ),
    Config(
        "mobilenet",
        (("alpha", "0.5"), ("rho", "5/7")),
        "0.50 MobileNet-160",
        (
            howard(
                "macs",
                "76",
                "Table 10",
                wrong=(
                    "convcalc is right: 76,524,800 rounds to 77M, the figure TF-slim's "
                    "mobilenet_v1.md lists for MobileNet_v1_0.50_160; the paper cut 76.52 "
                    "short, as it did 290.68 for MobileNet-160"
                ),
            ),
            howard(
                "params",
                "1.32",
                "Table 10",
                wrong=(
                    "both count the same network: 1,331,592 includes batch norm's scale and "
                    "shift (2 per channel, 10,944 here); without them 1,320,648 = 1.32M, the "
                    "paper's figure (its 4.2, 2.6, 1.3 and 0.5 of Table 6 are the same with or "
                    "without batch norm)"
                ),
            ),
        ),
    ),
    Config(
        "mobilenet_v1",
        (),
        "the same network as mobilenet, alpha 1, 224x224",
        (
            howard("macs", "569", "Table 6"),
            howard("params", "4.2", "Table 6"),
            rf(315, "mobilenet_v1/Conv2d_13_pointwise"),
        ),
    ),
    Config(
        "mobilenet_v2",
        (),
        "torchvision, alpha 1, 224x224",
        (
            *tv(3_504_872, "0.301"),
            Figure(
                "params",
                "3.4",
                "M",
                "Sandler 2018",
                "Table 4",
                rounding="truncated",
                wrong=(
                    "both count the same network: 3,504,872 (torchvision's num_params) includes "
                    "batch norm's scale and shift (34,112); without them 3,470,760 = 3.47M, the "
                    "figure TF-slim's table lists for mobilenet_v2_1.0_224, of which the paper's "
                    "3.4 is cut short"
                ),
            ),
            Figure(
                "macs",
                "300",
                "M",
                "Sandler 2018",
                "Table 4",
                rounding="truncated",
                note=(
                    "Table 4 cuts figures short rather than rounding them (ShuffleNet x2: "
                    "5,450,776 parameters printed 5.4)"
                ),
            ),
        ),
    ),
    Config("mobilenet_v3_large", (), "torchvision", tv(5_483_032, "0.217")),
    Config("mobilenet_v3_small", (), "torchvision", tv(2_542_856, "0.057")),
    Config(
        "preact_resnet",
        (),
        "ResNet-164 on CIFAR (depth 164, n = 18)",
        (Figure("params", "1.7", "M", "He 2016b", "Table 3"),),
    ),
    Config(
        "preact_resnet",
        (("depth", "1001"),),
        "ResNet-1001 on CIFAR (n = 111)",
        (
            Figure(
                "params",
                "10.2",
                "M",
                "He 2016b",
                "Table 3",
                wrong=(
                    "both count the same network: 10,327,706 includes batch norm's scale and "
                    "shift (149,216); without them 10,178,490 = 10.2M, the paper's figure "
                    "(ResNet-164's 1.7M is the same with or without them: 1,703,258 and "
                    "1,679,034)"
                ),
            ),
        ),
    ),
    Config(
        "resnet18",
        (),
        "torchvision",
        (*tv(11_689_512, "1.814"), Figure("macs", "1.8", "G", "He 2016", "Table 1")),
    ),
    Config(
        "resnet34",
        (),
        "torchvision: projection shortcuts (option B)",
        (
            *tv(21_797_672, "3.664"),
            Figure(
                "macs",
                "3.6",
                "G",
                "He 2016",
                "Table 1",
                wrong=(
                    "both are right for their networks: He et al.'s 3.6 is the 34-layer net "
                    "without projection shortcuts (the plain baseline of Section 3.3, and "
                    "option A); torchvision's has three 1x1 projections of 6,422,528 "
                    "multiply-adds each, and without them 3,644,493,824 = 3.6G"
                ),
            ),
        ),
    ),
    Config(
        "resnet50",
        (),
        "torchvision (stride on the 3x3)",
        (
            *tv(25_557_032, "4.089"),
            rf(
                483,
                "resnet_v1_50/block4",
                wrong=RESNET_RF_WRONG.format(
                    published=483,
                    hand=(
                        "conv1 7, maxpool 11, layer1 +24 = 35, layer2 +8 +48 = 91, layer3 "
                        "+16 +160 = 267, layer4 +32 +128 = 427"
                    ),
                ),
            ),
        ),
    ),
    Config(
        "resnet50",
        (("stride_in_1x1", "1"),),
        "original placement: stride on the first 1x1",
        (
            Figure(
                "macs",
                "3.8",
                "G",
                "He 2016",
                "Table 1",
                wrong=(
                    "convcalc is right: 3,857,973,248 rounds to 3.9G, and Hu et al. give 3.86G "
                    "for this network (next figure); He et al. cut 3.86 short, while their "
                    "7.6 and 11.3 for ResNet-101 and -152 (7.57 and 11.28) are rounded"
                ),
            ),
            Figure("macs", "3.86", "G", "Hu 2018", "Section 4"),
            rf(483, "resnet_v1_50/block4"),
        ),
    ),
    Config(
        "resnet101",
        (),
        "torchvision (stride on the 3x3)",
        (
            *tv(44_549_160, "7.801"),
            rf(
                1027,
                "resnet_v1_101/block4",
                wrong=RESNET_RF_WRONG.format(
                    published=1027,
                    hand="427 for ResNet-50 plus 17 more layer3 bottlenecks of +32: 971",
                ),
            ),
        ),
    ),
    Config(
        "resnet101",
        (("stride_in_1x1", "1"),),
        "original placement: stride on the first 1x1",
        (
            Figure("macs", "7.6", "G", "He 2016", "Table 1"),
            rf(1027, "resnet_v1_101/block4"),
        ),
    ),
    Config(
        "resnet152",
        (),
        "torchvision (stride on the 3x3)",
        (
            *tv(60_192_808, "11.514"),
            rf(
                1507,
                "resnet_v1_152/block4",
                wrong=RESNET_RF_WRONG.format(
                    published=1507,
                    hand=(
                        "427 for ResNet-50 plus 4 more layer2 bottlenecks of +16 and 30 more "
                        "layer3 bottlenecks of +32: 1451"
                    ),
                ),
            ),
        ),
    ),
    Config(
        "resnet152",
        (("stride_in_1x1", "1"),),
        "original placement: stride on the first 1x1",
        (
            Figure("macs", "11.3", "G", "He 2016", "Table 1"),
            rf(1507, "resnet_v1_152/block4"),
        ),
    ),
    *(
        config
        for depth, params, macs, published, hand in (
            (50, 25_549_352, 4_089_184_256, 483, 427),
            (101, 44_541_480, 7_801_405_440, 1027, 971),
            (152, 60_185_128, 11_513_626_624, 1507, 1451),
        )
        for config in (
            Config(
                f"resnet_v2_{depth}",
                (),
                f"timm's resnetv2_{depth} (pre-activation, stride on the 3x3)",
                (
                    *counted(f'timm "resnetv2_{depth}"', params, macs),
                    rf(
                        published,
                        f"resnet_v2_{depth}/block4",
                        wrong=(
                            f"both are right for their networks: {published} is TF-slim's "
                            "resnet_v2, which subsamples in the last unit of blocks 1-3 "
                            "rather than the first unit of blocks 2-4 (`slim=1`, next row: "
                            f"{published}); timm strides the 3x3 of a block's first unit: by "
                            f"hand {hand}, as for torchvision's resnet{depth} (the "
                            "pre-activation moves no kernel)"
                        ),
                    ),
                ),
            ),
            Config(
                f"resnet_v2_{depth}",
                (("slim", "1"),),
                f"TF-slim's resnet_v2_{depth} (stride in the last unit of blocks 1-3)",
                (rf(published, f"resnet_v2_{depth}/block4"),),
            ),
        )
    ),
    Config(
        "resnext50_32x4d",
        (),
        "torchvision",
        (
            *tv(25_028_904, "4.23"),
            Figure("params", "25.0", "M", "Xie 2017", "Table 1"),
            Figure("macs", "4.2", "G", "Xie 2017", "Table 1"),
        ),
    ),
    Config(
        "resnext101_32x8d",
        (),
        "torchvision",
        (
            *tv(88_791_336, "16.414"),
            *counted("torchvision.models.resnext101_32x8d", 88_791_336, 16_414_015_488),
        ),
    ),
    Config(
        "resnext101_64x4d",
        (),
        "torchvision",
        (
            *tv(83_455_272, "15.46"),
            *counted("torchvision.models.resnext101_64x4d", 83_455_272, 15_460_270_080),
        ),
    ),
    Config(
        "se_resnet50",
        (),
        "r = 16, torchvision's ResNet-50 body",
        (Figure("params", "28.1", "M", "Hu 2018", "reduction-ratio table, r = 16"),),
    ),
    Config(
        "se_resnet50",
        (("stride_in_1x1", "1"),),
        "r = 16, original placement: stride on the first 1x1",
        (
            Figure("params", "28.1", "M", "Hu 2018", "reduction-ratio table, r = 16"),
            Figure(
                "macs",
                "3.87",
                "G",
                "Hu 2018",
                "Section 4",
                wrong=(
                    "both are right for what they count: the multiply-adds of conv and FC "
                    "layers are 3,860,488,192 (3.86G); the paper's 3.87 also counts each gate's "
                    "squeeze pooling and channel scaling, one operation per value of the "
                    "block's output (2 x 5,519,360 = 11,038,720 in all: 3,871,526,912)"
                ),
            ),
        ),
    ),
    Config(
        "se_resnext50_32x4d",
        (),
        "r = 16, timm's definition (stride on the 3x3)",
        counted('timm "seresnext50_32x4d"', 27_559_896, 4_232_994_816),
    ),
    Config(
        "stochastic_depth_resnet152",
        (),
        "at test time (every unit, scaled by its survival probability), p_L = 0.5: "
        "torchvision's resnet152 figures",
        tv(60_192_808, "11.514"),
    ),
    *(
        Config(
            "shufflenet",
            (("g", str(g)),),
            f"1x, g = {g}" + (" (the file's defaults)" if g == 3 else ""),
            (Figure("macs", mflops, "M", "Zhang 2018", "Table 1", scope=WITHOUT_FC),),
        )
        for g, mflops in ((1, "143"), (2, "140"), (3, "137"), (4, "133"), (8, "137"))
    ),
    Config(
        "shufflenet",
        (("g", "1"), ("scale", "0.5")),
        "0.5x, g = 1",
        (Figure("macs", "38", "M", "Zhang 2018", "Table 2", scope=WITHOUT_FC_T2),),
    ),
    Config(
        "shufflenet",
        (("g", "3"), ("scale", "0.5")),
        "0.5x, g = 3",
        (
            Figure(
                "macs",
                "38",
                "M",
                "Zhang 2018",
                "Table 2",
                scope=WITHOUT_FC_T2,
                wrong=(
                    "convcalc is right for g = 3: Table 2 prints one complexity per width for "
                    "all g, and 38M is g = 1's (previous row); g = 3 at 0.5x has 37,109,856 "
                    "without the FC"
                ),
            ),
        ),
    ),
    Config(
        "shufflenet",
        (("g", "1"), ("scale", "0.25")),
        "0.25x, g = 1",
        (Figure("macs", "13", "M", "Zhang 2018", "Table 2", scope=WITHOUT_FC_T2),),
    ),
    Config(
        "shufflenet",
        (("g", "3"), ("scale", "0.25")),
        "0.25x, g = 3",
        (Figure("macs", "13", "M", "Zhang 2018", "Table 2", scope=WITHOUT_FC_T2),),
    ),
    Config(
        "shufflenet",
        (("g", "8"), ("scale", "0.25")),
        "0.25x, g = 8",
        (
            Figure(
                "macs",
                "13",
                "M",
                "Zhang 2018",
                "Table 2",
                scope=WITHOUT_FC_T2,
                wrong=(
                    "convcalc is right for g = 8: Table 2 prints one complexity per width for "
                    "all g, and 13M is g = 1's and g = 3's (previous rows); g = 8 at 0.25x has "
                    "15,335,040 without the FC, with stage widths 96, 192, 384 (Table 1's "
                    "quarter) and conv1 at 16 (12 rounded up to a multiple of 8, as the "
                    "released 0.5x model does). No widths the units allow give 13M: the "
                    "stage-2 width must be a multiple of 32 (its bottleneck splits into 8 "
                    "groups) and conv1 a multiple of 8 (the first unit's branch, width minus "
                    "conv1, is a grouped conv's output); over stage-2 widths 32 to 128 (stages "
                    "3 and 4 at 2x and 4x) and every conv1 they allow, the nearest are "
                    "12,042,240 (conv1 at 8) and 13,522,432 (stage 2 at 64, conv1 at 24), both "
                    "outside 12.5M to 13.5M"
                ),
            ),
        ),
    ),
    Config(
        "shufflenet",
        (("g", "3"), ("scale", "1.5")),
        "1.5x, g = 3",
        (
            Figure("params", "3.4", "M", "Sandler 2018", "Table 4", rounding="truncated"),
            Figure("macs", "292", "M", "Sandler 2018", "Table 4", rounding="truncated"),
        ),
    ),
    Config(
        "shufflenet",
        (("g", "3"), ("scale", "2")),
        "2x, g = 3",
        (
            Figure("params", "5.4", "M", "Sandler 2018", "Table 4", rounding="truncated"),
            Figure("macs", "524", "M", "Sandler 2018", "Table 4", rounding="truncated"),
        ),
    ),
    *(
        Config("shufflenet_v2", (("scale", scale),), f"torchvision x{scale}", tv(params, gflops))
        for scale, params, gflops in (
            ("0.5", 1_366_792, "0.04"),
            ("1", 2_278_604, "0.145"),
            ("1.5", 3_503_624, "0.296"),
            ("2", 7_393_996, "0.583"),
        )
    ),
    Config("squeezenet1_0", (), "torchvision", tv(1_248_424, "0.819")),
    Config("squeezenet1_1", (), "torchvision", tv(1_235_496, "0.349")),
    Config(
        "vgg11",
        (),
        "configuration A, torchvision",
        (
            *tv(132_863_336, "7.609"),
            Figure("params", "133", "M", "Simonyan 2015", "Table 2 (A)"),
            Figure(
                "params",
                "113",
                "M",
                "notes",
                "004 section 3.2",
                wrong=(
                    "convcalc is right: the notes' 113 is a typo of the paper's 133 (Table 2 "
                    "prints 133 for A and A-LRN), and 132,863,336 is also torchvision's count"
                ),
            ),
            rf(150, "vgg_a/pool5"),
        ),
    ),
    Config(
        "vgg13",
        (),
        "configuration B, torchvision",
        (*tv(133_047_848, "11.308"), Figure("params", "133", "M", "Simonyan 2015", "Table 2 (B)")),
    ),
    Config(
        "vgg16",
        (),
        "configuration D, torchvision",
        (
            *tv(138_357_544, "15.47"),
            Figure("params", "138", "M", "Simonyan 2015", "Table 2 (D)"),
            Figure("params", "138", "M", "Howard 2017", "Table 8"),
            Figure(
                "macs",
                "15300",
                "M",
                "Howard 2017",
                "Table 8",
                step="100",
                wrong=(
                    "convcalc is right for the whole network: 15300M is the 13 convolutions "
                    'alone (15,346,630,656, as in He et al.\'s "15.3 billion FLOPs"); the three '
                    "FC layers add 25,088x4,096 + 4,096x4,096 + 4,096x1,000 = 123,633,664, "
                    "15,470,264,320 in all, torchvision's 15.47 GFLOPS"
                ),
            ),
            rf(212, "vgg_16/pool5"),
        ),
    ),
    Config(
        "vgg16_bn",
        (),
        "configuration D with batch norm, torchvision",
        (*tv(138_365_992, "15.47"), rf(212, "vgg_16/pool5")),
    ),
    Config(
        "vgg16_c",
        (),
        "configuration C (1x1 third conv in stages 3-5)",
        (Figure("params", "134", "M", "Simonyan 2015", "Table 2 (C)"),),
    ),
    Config(
        "vgg19",
        (),
        "configuration E, torchvision",
        (
            *tv(143_667_240, "19.632"),
            Figure("params", "144", "M", "Simonyan 2015", "Table 2 (E)"),
            Figure("macs", "19.6", "G", "He 2016", "Section 3.3"),
        ),
    ),
    Config("wide_resnet50_2", (), "torchvision", tv(68_883_240, "11.398")),
    Config(
        "wide_resnet101_2",
        (),
        "torchvision",
        (
            *tv(126_886_696, "22.753"),
            *counted("torchvision.models.wide_resnet101_2", 126_886_696, 22_753_050_624),
        ),
    ),
    Config(
        "xception",
        (),
        "Keras's definition, 299x299",
        (
            Figure(
                "params",
                "22,855,952",
                "",
                "Chollet 2017",
                "Table 3",
                rounding="exact",
                note=(
                    "Keras reports 22,910,480 because it also counts batch norm's 54,528 "
                    "running statistics, which are buffers"
                ),
            ),
        ),
    ),
    Config(
        "swin_t",
        (),
        "torchvision",
        (
            *tv(28_288_354, "4.491"),
            *counted("torchvision.models.swin_t", 28_288_354, 4_490_566_656, note=ATTENTION),
        ),
    ),
    Config(
        "vit_b_16",
        (),
        "torchvision",
        (
            *tv(86_567_656, "17.564"),
            *counted("torchvision.models.vit_b_16", 86_567_656, 17_563_828_224, note=ATTENTION),
        ),
    ),
    Config(
        "vit_b_16",
        (("image", "384"),),
        "torchvision's SWAG weights' 384x384 input",
        (
            *tv(86_859_496, "55.484"),
            *counted(
                "torchvision.models.vit_b_16(image_size=384)",
                86_859_496,
                55_484_350_464,
                note=ATTENTION,
            ),
        ),
    ),
    Config(
        "vit_b_32",
        (),
        "torchvision",
        (
            *tv(88_224_232, "4.409"),
            *counted("torchvision.models.vit_b_32", 88_224_232, 4_409_186_304, note=ATTENTION),
        ),
    ),
    Config(
        "vit_l_16",
        (),
        "torchvision",
        (
            *tv(304_326_632, "61.555"),
            *counted("torchvision.models.vit_l_16", 304_326_632, 61_554_712_576, note=ATTENTION),
        ),
    ),
    Config(
        "efficientnet",
        (),
        "the family file's defaults: B0",
        (
            *tv(5_288_548, "0.386"),
            *counted("torchvision.models.efficientnet_b0", 5_288_548, 385_814_752),
        ),
    ),
    Config(
        "efficientnet_b1",
        (),
        "torchvision, at its weights' 240x240 crop",
        (
            *tv(7_794_184, "0.687"),
            *counted("torchvision.models.efficientnet_b1", 7_794_184, 686_802_832),
        ),
    ),
    Config(
        "efficientnet_b2",
        (),
        "torchvision, at its weights' 288x288 crop",
        (
            *tv(9_109_994, "1.088"),
            *counted("torchvision.models.efficientnet_b2", 9_109_994, 1_087_529_456),
        ),
    ),
    Config(
        "efficientnet_b3",
        (),
        "torchvision, at its weights' 300x300 crop",
        (
            *tv(12_233_232, "1.827"),
            *counted("torchvision.models.efficientnet_b3", 12_233_232, 1_827_141_392),
        ),
    ),
    Config(
        "efficientnet_b4",
        (),
        "torchvision, at its weights' 380x380 crop",
        (
            *tv(19_341_616, "4.394"),
            *counted("torchvision.models.efficientnet_b4", 19_341_616, 4_393_771_024),
        ),
    ),
    Config(
        "efficientnet_b5",
        (),
        "torchvision, at its weights' 456x456 crop",
        (
            *tv(30_389_784, "10.266"),
            *counted("torchvision.models.efficientnet_b5", 30_389_784, 10_266_384_752),
        ),
    ),
    Config(
        "efficientnet_b6",
        (),
        "torchvision, at its weights' 528x528 crop",
        (
            *tv(43_040_704, "19.068"),
            *counted("torchvision.models.efficientnet_b6", 43_040_704, 19_067_593_536),
        ),
    ),
    Config(
        "efficientnet_b7",
        (),
        "torchvision, at its weights' 600x600 crop",
        (
            *tv(66_347_960, "37.746"),
            *counted("torchvision.models.efficientnet_b7", 66_347_960, 37_745_884_192),
        ),
    ),
    Config(
        "efficientnet_v2_s",
        (),
        "torchvision, at its weights' 384x384 crop",
        (
            *tv(21_458_488, "8.366"),
            *counted("torchvision.models.efficientnet_v2_s", 21_458_488, 8_365_617_152),
        ),
    ),
    Config(
        "mnasnet",
        (),
        "the family file's defaults: depth multiplier 1.0",
        (
            *tv(4_383_312, "0.314"),
            *counted("torchvision.models.mnasnet1_0", 4_383_312, 314_415_872),
        ),
    ),
    Config(
        "mnasnet0_5",
        (),
        "torchvision, depth multiplier 0.5",
        (
            *tv(2_218_512, "0.104"),
            *counted("torchvision.models.mnasnet0_5", 2_218_512, 104_455_968),
        ),
    ),
    Config(
        "mnasnet0_75",
        (),
        "torchvision, depth multiplier 0.75",
        (
            *tv(3_170_208, "0.215"),
            *counted("torchvision.models.mnasnet0_75", 3_170_208, 215_493_104),
        ),
    ),
    Config(
        "mnasnet1_3",
        (),
        "torchvision, depth multiplier 1.3",
        (
            *tv(6_282_256, "0.526"),
            *counted("torchvision.models.mnasnet1_3", 6_282_256, 526_362_432),
        ),
    ),
    Config(
        "regnet",
        (),
        "the file's defaults: regnet_x_400mf",
        (
            *tv(5_495_976, "0.414"),
            *counted("torchvision.models.regnet_x_400mf", 5_495_976, 413_812_608),
        ),
    ),
    Config(
        "regnet_x_400mf",
        (),
        "torchvision",
        (
            *tv(5_495_976, "0.414"),
            *counted("torchvision.models.regnet_x_400mf", 5_495_976, 413_812_608),
        ),
    ),
    Config(
        "regnet_y_400mf",
        (),
        "torchvision",
        (
            *tv(4_344_144, "0.402"),
            *counted("torchvision.models.regnet_y_400mf", 4_344_144, 401_842_848),
        ),
    ),
    Config(
        "regnet",
        (
            ("depth", "16"),
            ("w0", "56"),
            ("wa", "35.73"),
            ("wm", "2.28"),
            ("group_width", "16"),
            ("se", "0"),
        ),
        "torchvision regnet_x_800mf",
        (
            *tv(7_259_656, "0.8"),
            *counted("torchvision.models.regnet_x_800mf", 7_259_656, 799_699_712),
        ),
    ),
    Config(
        "regnet",
        (
            ("depth", "18"),
            ("w0", "80"),
            ("wa", "34.01"),
            ("wm", "2.25"),
            ("group_width", "24"),
            ("se", "0"),
        ),
        "torchvision regnet_x_1_6gf",
        (
            *tv(9_190_136, "1.603"),
            *counted("torchvision.models.regnet_x_1_6gf", 9_190_136, 1_602_849_792),
        ),
    ),
    Config(
        "regnet",
        (
            ("depth", "25"),
            ("w0", "88"),
            ("wa", "26.31"),
            ("wm", "2.25"),
            ("group_width", "48"),
            ("se", "0"),
        ),
        "torchvision regnet_x_3_2gf",
        (
            *tv(15_296_552, "3.177"),
            *counted("torchvision.models.regnet_x_3_2gf", 15_296_552, 3_176_621_952),
        ),
    ),
    Config(
        "regnet",
        (
            ("depth", "23"),
            ("w0", "80"),
            ("wa", "49.56"),
            ("wm", "2.88"),
            ("group_width", "120"),
            ("se", "0"),
        ),
        "torchvision regnet_x_8gf",
        (
            *tv(39_572_648, "7.995"),
            *counted("torchvision.models.regnet_x_8gf", 39_572_648, 7_995_132_416),
        ),
    ),
    Config(
        "regnet",
        (
            ("depth", "22"),
            ("w0", "216"),
            ("wa", "55.59"),
            ("wm", "2.1"),
            ("group_width", "128"),
            ("se", "0"),
        ),
        "torchvision regnet_x_16gf",
        (
            *tv(54_278_536, "15.941"),
            *counted("torchvision.models.regnet_x_16gf", 54_278_536, 15_940_755_456),
        ),
    ),
    Config(
        "regnet",
        (
            ("depth", "23"),
            ("w0", "320"),
            ("wa", "69.86"),
            ("wm", "2.0"),
            ("group_width", "168"),
            ("se", "0"),
        ),
        "torchvision regnet_x_32gf",
        (
            *tv(107_811_560, "31.736"),
            *counted("torchvision.models.regnet_x_32gf", 107_811_560, 31_735_929_792),
        ),
    ),
    Config(
        "regnet",
        (
            ("depth", "14"),
            ("w0", "56"),
            ("wa", "38.84"),
            ("wm", "2.4"),
            ("group_width", "16"),
            ("se", "1"),
        ),
        "torchvision regnet_y_800mf",
        (
            *tv(6_432_512, "0.834"),
            *counted("torchvision.models.regnet_y_800mf", 6_432_512, 833_856_256),
        ),
    ),
    Config(
        "regnet",
        (
            ("depth", "27"),
            ("w0", "48"),
            ("wa", "20.71"),
            ("wm", "2.65"),
            ("group_width", "24"),
            ("se", "1"),
        ),
        "torchvision regnet_y_1_6gf",
        (
            *tv(11_202_430, "1.612"),
            *counted("torchvision.models.regnet_y_1_6gf", 11_202_430, 1_612_076_160),
        ),
    ),
    Config(
        "regnet",
        (
            ("depth", "21"),
            ("w0", "80"),
            ("wa", "42.63"),
            ("wm", "2.66"),
            ("group_width", "24"),
            ("se", "1"),
        ),
        "torchvision regnet_y_3_2gf",
        (
            *tv(19_436_338, "3.176"),
            *counted("torchvision.models.regnet_y_3_2gf", 19_436_338, 3_176_482_752),
        ),
    ),
    Config(
        "regnet",
        (
            ("depth", "17"),
            ("w0", "192"),
            ("wa", "76.82"),
            ("wm", "2.19"),
            ("group_width", "56"),
            ("se", "1"),
        ),
        "torchvision regnet_y_8gf",
        (
            *tv(39_381_472, "8.473"),
            *counted("torchvision.models.regnet_y_8gf", 39_381_472, 8_473_070_592),
        ),
    ),
    Config(
        "regnet",
        (
            ("depth", "18"),
            ("w0", "200"),
            ("wa", "106.23"),
            ("wm", "2.48"),
            ("group_width", "112"),
            ("se", "1"),
        ),
        "torchvision regnet_y_16gf",
        (
            *tv(83_590_140, "15.912"),
            *counted("torchvision.models.regnet_y_16gf", 83_590_140, 15_911_510_272),
        ),
    ),
    Config(
        "regnet",
        (
            ("depth", "20"),
            ("w0", "232"),
            ("wa", "115.89"),
            ("wm", "2.53"),
            ("group_width", "232"),
            ("se", "1"),
        ),
        "torchvision regnet_y_32gf",
        (
            *tv(145_046_770, "32.28"),
            *counted("torchvision.models.regnet_y_32gf", 145_046_770, 32_279_552_832),
        ),
    ),
    Config(
        "regnet",
        (
            ("depth", "27"),
            ("w0", "456"),
            ("wa", "160.83"),
            ("wm", "2.52"),
            ("group_width", "264"),
            ("se", "1"),
        ),
        "torchvision regnet_y_128gf",
        (
            *tv(644_812_894, "127.518"),
            *counted("torchvision.models.regnet_y_128gf", 644_812_894, 127_517_815_680),
        ),
    ),
    Config(
        "convnext",
        (),
        "the family file's defaults: ConvNeXt-T",
        (
            *tv(28_589_128, "4.456"),
            *counted("torchvision.models.convnext_tiny", 28_589_128, 4_455_531_264),
        ),
    ),
    Config(
        "convnext_tiny",
        (),
        "torchvision",
        (
            *tv(28_589_128, "4.456"),
            *counted("torchvision.models.convnext_tiny", 28_589_128, 4_455_531_264),
        ),
    ),
    Config(
        "convnext",
        (("depth3", "27"),),
        "torchvision convnext_small",
        (
            *tv(50_223_688, "8.684"),
            *counted("torchvision.models.convnext_small", 50_223_688, 8_683_712_256),
        ),
    ),
    Config(
        "convnext",
        (("width", "128"), ("depth3", "27")),
        "torchvision convnext_base",
        (
            *tv(88_591_464, "15.355"),
            *counted("torchvision.models.convnext_base", 88_591_464, 15_354_729_472),
        ),
    ),
    Config(
        "convnext",
        (("width", "192"), ("depth3", "27")),
        "torchvision convnext_large",
        (
            *tv(197_767_336, "34.361"),
            *counted("torchvision.models.convnext_large", 197_767_336, 34_361_433_600),
        ),
    ),
    Config(
        "unet",
        (),
        "Ronneberger et al. 2015, Figure 1: valid convolutions, crop and concat",
        (
            Figure("params", "31,030,658", "", "built", "U-Net, Figure 1", rounding="exact"),
            Figure("macs", "150,428,424,448", "", "built", "U-Net, Figure 1", rounding="exact"),
        ),
    ),
    Config(
        "yolov8n",
        (),
        "YOLOv8n-style, its Detect head's DFL included, 640x640",
        (
            Figure("params", "3,157,200", "", "built", "YOLOv8n", rounding="exact"),
            Figure("macs", "4,371,993,600", "", "built", "YOLOv8n", rounding="exact"),
        ),
    ),
)


@dataclass(frozen=True)
class Claim:
    """One of the notes' comparisons between networks, with the paper's own version."""

    claim: str
    where: str  # section of the notes
    printed: str  # the notes' figure, e.g. "1/26.9"
    #: "inverse": the notes print 1/x with x = b / a; "times": x = b / a; "increase": b - a
    #: in M; "percent": 100 (b - a) / a; "value": a in M.
    kind: str
    a: tuple[str, tuple[tuple[str, str], ...], str]  # (network, settings, metric)
    b: tuple[str, tuple[tuple[str, str], ...], str] | None
    paper: str
    step: str = ""
    wrong: str = ""


CLAIMS: tuple[Claim, ...] = (
    Claim(
        "MobileNet's size, as a fraction of VGG16's",
        "004 section 8.1",
        "1/26.9",
        "inverse",
        ("mobilenet", (), "params"),
        ("vgg16", (), "params"),
        "1/32.9 (Howard 2017, Table 8: 4.2M against 138M)",
        wrong=(
            "not the paper's: 26.9 is Table 8's compute ratio (15300M / 569M), not its size "
            "ratio (138M / 4.2M = 32.9)"
        ),
    ),
    Claim(
        "MobileNet's compute, as a fraction of VGG16's",
        "004 section 8.1",
        "1/34.3",
        "inverse",
        ("mobilenet", (), "macs"),
        ("vgg16", (), "macs"),
        "1/26.9 (Howard 2017, Table 8: 569M against 15300M)",
        wrong=(
            "not the paper's, which is 1/26.9 from VGG16's convolutions alone (15300M); "
            "with its FC layers, as counted here, 1/27.2"
        ),
    ),
    Claim(
        "MobileNet's size, as a fraction of GoogLeNet's",
        "004 section 8.1",
        "1/2.7",
        "inverse",
        ("mobilenet", (), "params"),
        ("googlenet", (), "params"),
        "1/1.6 (Howard 2017, Table 8: 4.2M against 6.8M)",
        wrong=(
            "size and compute are swapped: 2.7 is Table 8's compute ratio (1550M / 569M); "
            "its size ratio is 1/1.6, and 1/1.65 with GoogLeNet's exact count (see the "
            "googlenet row for its 6.8M)"
        ),
    ),
    Claim(
        "MobileNet's compute, as a fraction of GoogLeNet's",
        "004 section 8.1",
        "1/1.6",
        "inverse",
        ("mobilenet", (), "macs"),
        ("googlenet", (), "macs"),
        "1/2.7 (Howard 2017, Table 8: 569M against 1550M)",
        wrong=(
            "size and compute are swapped: 1.6 is Table 8's size ratio; its compute ratio is "
            "1/2.7, and 1/2.78 with GoogLeNet's exact count (see the googlenet row for its "
            "1550M)"
        ),
    ),
    Claim(
        "SqueezeNet 1.0 has about 50x fewer parameters than AlexNet (as published)",
        "001",
        "50",
        "times",
        ("squeezenet1_0", (), "params"),
        ("alexnet", (), "params"),
        "50x (Iandola 2016, title)",
        step="10",
    ),
    Claim(
        "SE blocks add about 2.5M parameters to ResNet-50",
        "004 section 6.2",
        "2.5",
        "increase",
        ("resnet50", (), "params"),
        ("se_resnet50", (), "params"),
        "~2.5 million (Hu 2018, Section 4)",
    ),
    Claim(
        "... a relative increase of about 10%",
        "004 section 6.2",
        "10",
        "percent",
        ("resnet50", (), "params"),
        ("se_resnet50", (), "params"),
        "~10% (Hu 2018, Section 4)",
    ),
    Claim(
        "DenseNet-201 has about 20M parameters",
        "004 section 7",
        "20",
        "value",
        ("densenet201", (), "params"),
        None,
        "20M (Huang 2017)",
    ),
    Claim(
        "... against ResNet-101's about 40M",
        "004 section 7",
        "40",
        "value",
        ("resnet101", (), "params"),
        None,
        "more than 40M (Huang 2017)",
        step="10",
    ),
)


# --- computing ---------------------------------------------------------------------------


@cache
def analyse(network: str, settings: tuple[tuple[str, str], ...]) -> Report:
    """convcalc's report of one configuration (cached: claims reuse the rows' reports)."""
    return api.analyze(network, dict(settings) or None)


def whole(report: Report, metric: str) -> int:
    """convcalc's count of ``metric`` for the whole network (RF: the square field's side)."""
    totals = report.totals
    if metric == "rf":
        field = totals.receptive_field
        if field is None:
            raise ValueError(f"{report.architecture} has no receptive field")
        size_h, size_w = field
        if size_h != size_w:
            raise ValueError(f"{report.architecture}: non-square receptive field {field}")
        return int(size_h)
    value = totals.params if metric == "params" else totals.macs
    if not isinstance(value, int):
        raise ValueError(f"{report.architecture}: {metric} is not an exact integer: {value}")
    return value


def scoped(report: Report, figure: Figure) -> int:
    """convcalc's count over what ``figure`` covers."""
    count = whole(report, figure.metric)
    scope = figure.scope
    if scope is None:
        return count
    if figure.metric == "rf":
        raise ValueError("a receptive field is not a sum over layers: it cannot be scoped")
    for prefix in scope.without:
        rows = [r for r in report.layers if r.name == prefix or r.name.startswith(prefix + ".")]
        if not rows:
            raise ValueError(f"{report.architecture} has no layer {prefix!r} to leave out")
        count -= sum(getattr(r, figure.metric) for r in rows)
    return count + scope.plus


def step_of(figure: Figure) -> Decimal:
    """The rounding step of a figure, in its unit: its last printed digit unless given."""
    if figure.step:
        return Decimal(figure.step)
    return Decimal(1).scaleb(value_of(figure).as_tuple().exponent)


def value_of(figure: Figure) -> Decimal:
    """The printed figure as a number in its unit."""
    return Decimal(figure.printed.replace(",", ""))


def interval(figure: Figure) -> tuple[Decimal, Decimal, bool]:
    """(low, high, high included) in absolute units: the counts the printed figure allows."""
    unit = UNITS[figure.unit]
    value = value_of(figure)
    if figure.rounding == "exact":
        return value * unit, value * unit, True
    step = step_of(figure)
    if figure.rounding == "truncated":
        return value * unit, (value + step) * unit, False
    if figure.rounding == "nearest":
        return (value - step / 2) * unit, (value + step / 2) * unit, True
    raise ValueError(f"unknown rounding {figure.rounding!r}")


def agrees(count: int, figure: Figure) -> bool:
    """Whether the exact ``count`` is one the printed figure stands for."""
    low, high, closed = interval(figure)
    return low <= count and (count <= high if closed else count < high)


def rounding_text(figure: Figure) -> str:
    """How the figure was rounded, in words: "1 decimal of M", "truncated to whole M"."""
    if figure.rounding == "exact":
        return "exact"
    unit = figure.unit or "units"
    if figure.step:
        text = f"to {Decimal(figure.step):,}{figure.unit}"
    else:
        places = -value_of(figure).as_tuple().exponent
        if places == 0:
            text = f"whole {unit}"
        else:
            text = f"{places} decimal{'s' if places > 1 else ''} of {unit}"
    return f"truncated to {text.removeprefix('to ')}" if figure.rounding == "truncated" else text


def percent(diff: int, base: Decimal) -> str:
    """diff / base as a signed percentage with two decimals."""
    if diff == 0:
        return "0%"
    with localcontext() as ctx:
        ctx.prec = 50
        value = (Decimal(diff) * 100 / base).quantize(Decimal("0.01"), ROUND_HALF_EVEN)
    if value == 0:
        return "+<0.01%" if diff > 0 else "-<0.01%"
    return f"{value:+}%"


def signed(n: int) -> str:
    """An integer with its sign and thousands separators; zero has no sign."""
    return f"{n:+,}" if n else "0"


@dataclass(frozen=True)
class Outcome:
    """One figure compared: what convcalc counts over the figure's scope, and the result."""

    figure: Figure
    count: int  # convcalc over the figure's scope
    ok: bool


def judge(report: Report, figure: Figure, where: str) -> Outcome:
    """Compare one figure; a disagreement needs its reason, an agreement must not have one."""
    count = scoped(report, figure)
    ok = agrees(count, figure)
    label = f"{where}: {figure.metric} {figure.printed}{figure.unit} ({figure.source})"
    if not ok and not figure.wrong:
        raise ValueError(
            f"{label} disagrees with convcalc's {count:,} and the table gives no reason; "
            "find out which is right and say why in its `wrong` field"
        )
    if ok and figure.wrong:
        raise ValueError(
            f"{label} now agrees with convcalc's {count:,}; drop the reason in its `wrong` field"
        )
    return Outcome(figure, count, ok)


# --- rendering -----------------------------------------------------------------------------


def cell(text: str) -> str:
    """Table-cell safe text."""
    return text.replace("|", "\\|").replace("\n", " ")


def published_cell(figure: Figure) -> str:
    """The figure as printed, how it is rounded, and where it comes from."""
    text = (
        f"{figure.printed}{figure.unit} ({rounding_text(figure)}; {figure.source}, {figure.where})"
    )
    if figure.scope is not None:
        text += "; covers part of the network, see verdict"
    return text


def difference_cell(outcome: Outcome) -> str:
    """convcalc minus the figure (over the figure's scope), absolute and relative."""
    figure = outcome.figure
    base = value_of(figure) * UNITS[figure.unit]
    diff = outcome.count - int(base)
    text = f"{signed(diff)} ({percent(diff, base)})"
    if figure.scope is not None:
        text += f"; convcalc over what it covers: {outcome.count:,}"
    return text


def config_label(cfg: Config, report: Report) -> str:
    """The ``--set`` values to reproduce the row, what they stand for, and the input."""
    settings = " ".join(f"{k}={v}" for k, v in cfg.settings)
    shape = "x".join(str(v) for v in report.input)
    head = f"`{settings}`, " if settings else ""
    return f"{head}{cfg.label}; input {shape}"


def verdict(outcomes: list[Outcome]) -> str:
    """The row's verdict: agreement, or each disagreement with its reason; then notes."""
    if not outcomes:
        return "no published figure to compare"
    bad = [o for o in outcomes if not o.ok]
    notes = [o.figure.note for o in outcomes if o.figure.note]
    notes += [
        f"{o.figure.printed}{o.figure.unit} ({o.figure.source}) counts {o.figure.scope.text}"
        for o in outcomes
        if o.figure.scope is not None
    ]
    if bad:
        text = "disagrees: " + "; ".join(
            f"{o.figure.printed}{o.figure.unit} ({o.figure.source}, {o.figure.where}): "
            f"{o.figure.wrong}"
            for o in bad
        )
    else:
        text = "agrees within the published rounding"
    if notes:
        text += ". Notes: " + "; ".join(notes)
    return text + "."


def fmt_count(value: int | None) -> str:
    """An exact count with thousands separators, or "-" where there is none."""
    return "-" if value is None else f"{value:,}"


def decimal_of(fr: Fraction, places: int) -> str:
    """An exact fraction rounded half-even to ``places`` decimals (deterministic)."""
    with localcontext() as ctx:
        ctx.prec = 50
        value = Decimal(fr.numerator) / Decimal(fr.denominator)
        return f"{value.quantize(Decimal(1).scaleb(-places), ROUND_HALF_EVEN):,}"


def claim_row(claim: Claim) -> tuple[str, str, bool]:
    """(convcalc's exact value as shown, verdict, agrees) of one of the notes' claims."""
    name_a, set_a, metric_a = claim.a
    a = whole(analyse(name_a, set_a), metric_a)
    b = 0
    if claim.b is not None:
        name_b, set_b, metric_b = claim.b
        b = whole(analyse(name_b, set_b), metric_b)
    printed = Decimal(claim.printed.removeprefix("1/"))
    step = Decimal(claim.step) if claim.step else Decimal(1).scaleb(printed.as_tuple().exponent)
    places = max(0, -printed.as_tuple().exponent) + 1
    if claim.kind in ("inverse", "times"):
        x = Fraction(b, a)
        prefix = "1/" if claim.kind == "inverse" else ""
        shown = f"{a:,} / {b:,} = {prefix}{decimal_of(x, places)}"
        if claim.kind == "times":
            shown = f"{b:,} / {a:,} = {decimal_of(x, places)}x"
    elif claim.kind == "increase":
        x = Fraction(b - a, 10**6)
        shown = f"{b:,} - {a:,} = {b - a:,} ({decimal_of(x, places)}M)"
    elif claim.kind == "percent":
        x = Fraction(100 * (b - a), a)
        shown = f"{b - a:,} / {a:,} = {decimal_of(x, places)}%"
    elif claim.kind == "value":
        x = Fraction(a, 10**6)
        shown = f"{a:,} ({decimal_of(x, places)}M)"
    else:
        raise ValueError(f"unknown claim kind {claim.kind!r}")
    ok = abs(x - Fraction(printed)) <= Fraction(step) / 2
    where = f"claim {claim.claim!r}"
    if not ok and not claim.wrong:
        raise ValueError(f"{where} disagrees ({shown}) and the table gives no reason")
    if ok and claim.wrong:
        raise ValueError(f"{where} now agrees ({shown}); drop its `wrong` field")
    text = f"agrees within the printed rounding (to {step})" if ok else f"disagrees: {claim.wrong}"
    return shown, text, ok


#: How each kind of claim prints its figure.
CLAIM_SUFFIX = {"inverse": "", "times": "x", "increase": "M", "percent": "%", "value": "M"}


def render() -> str:
    """The whole of docs/validation.md."""
    rows: list[str] = []
    figures = disagreements = scoped_figures = empty = 0
    networks: set[str] = set()
    disagreeing: list[str] = []
    for number, cfg in enumerate(CONFIGS, 1):
        report = analyse(cfg.network, cfg.settings)
        networks.add(cfg.network)
        where = f"row {number} ({cfg.network} {dict(cfg.settings)})"
        outcomes = [judge(report, f, where) for f in cfg.figures]
        figures += len(outcomes)
        scoped_figures += sum(1 for o in outcomes if o.figure.scope is not None)
        bad = [o for o in outcomes if not o.ok]
        disagreements += len(bad)
        empty += not outcomes
        if bad:
            metrics = ", ".join(sorted({o.figure.metric for o in bad}, key=metric_order))
            disagreeing.append(f"{number} ({cfg.network}: {metrics})")
        cells = [str(number), f"`{cfg.network}`", config_label(cfg, report)]
        for metric, _ in METRICS:
            mine = [o for o in outcomes if o.figure.metric == metric]
            exact: int | None
            try:
                exact = whole(report, metric)
            except ValueError:
                exact = None
            cells.append(fmt_count(exact))
            cells.append("<br>".join(published_cell(o.figure) for o in mine) or "-")
            cells.append("<br>".join(difference_cell(o) for o in mine) or "-")
        cells.append(verdict(outcomes))
        rows.append("| " + " | ".join(cell(c) for c in cells) + " |")

    claim_rows = []
    claim_bad = 0
    for claim in CLAIMS:
        shown, text, ok = claim_row(claim)
        claim_bad += not ok
        claim_rows.append(
            "| "
            + " | ".join(
                cell(c)
                for c in (
                    claim.claim,
                    f"{claim.printed}{CLAIM_SUFFIX[claim.kind]} (notes {claim.where})",
                    claim.paper,
                    shown,
                )
            )
            + f" | {cell(text)} |"
        )

    header = ["#", "network", "configuration"]
    for _, title in METRICS:
        header += [f"{title} (convcalc)", f"{title} (published)", "difference"]
    header.append("verdict")

    out: list[str] = []
    add = out.append
    add("<!-- Generated by docs/validation.py from its table of published figures; do not edit.")
    add("     Regenerate with `python docs/validation.py`; CI runs it with --check. -->")
    add("")
    add("# Validation against published figures")
    add("")
    add(
        "Each row is one bundled network (every file under `architectures/` but `blocks/` and "
        "`lib/`) in one configuration: convcalc's exact parameters, multiply-adds and receptive "
        "field, the figures published for it with their sources, the difference, and a verdict. "
        "A published figure agrees when convcalc's exact count rounds to it the way the source "
        "printed it; where it does not, the row says which number is right and why."
    )
    add("")
    add(
        f"{len(CONFIGS)} configurations of {len(networks)} networks; {figures} published "
        f"figures, of which {figures - disagreements} agree within their rounding and "
        f"{disagreements} disagree; {empty} configuration{'s' if empty != 1 else ''} "
        f"with no published figure. {scoped_figures} figures cover part of a network only "
        "(their verdict says which part, and the difference is taken over that part)."
    )
    add("")
    add("Rows with a disagreement: " + ", ".join(disagreeing) + ".")
    add("")
    add("## How to read the table")
    add("")
    add(
        "- **params**: learnable parameters, batch norm's scale and shift included (running "
        "statistics are buffers), as torchvision's `num_params` counts them "
        "([conventions](conventions.md))."
    )
    add(
        "- **MACs**: multiply-adds of conv and linear layers and of products of activations "
        "(attention's): torchvision's GFLOPS, the "
        '"mult-adds" of the MobileNet papers, the "FLOPs" of the ResNet, ResNeXt, ShuffleNet '
        "and EfficientNet papers."
    )
    add(
        "- **RF**: receptive-field size, in input pixels, of the last feature map with spatial "
        "extent; published fields are from Araujo et al.'s table of the TF-Slim models, for the "
        "end-point named."
    )
    add(
        '- **Rounding**: "4.2M (1 decimal of M)" allows 4.15M to 4.25M; "truncated to whole M" '
        'allows 60M up to, not including, 61M; "to 100M" is a figure printed to fewer '
        "significant digits than its last one shows (15300 beside 569); exact figures allow "
        "nothing else."
    )
    add(
        "- **difference**: convcalc minus the published figure, absolute and relative to the "
        "figure (over the part of the network the figure covers, where that is stated)."
    )
    add(
        "- **configuration**: the `--set` values (`convcalc analyze NETWORK --set k=v`) and "
        "the input."
    )
    add("")
    add("## Networks and configurations")
    add("")
    add("| " + " | ".join(header) + " |")
    add("|" + "|".join(["---:"] + ["---"] * 2 + ["---:", "---", "---"] * 3 + ["---"]) + "|")
    out.extend(rows)
    add("")
    add("## The notes' comparisons")
    add("")
    add(
        "The study notes convcalc was designed from compare networks by ratios; each is "
        "checked against the exact counts of the rows above (default configurations; AlexNet "
        f"as published). {len(CLAIMS) - claim_bad} of {len(CLAIMS)} hold."
    )
    add("")
    add("| claim | notes | paper | convcalc (exact) | verdict |")
    add("|---|---|---|---|---|")
    out.extend(claim_rows)
    add("")
    add("## Sources")
    add("")
    for key, text in SOURCES.items():
        add(f"- **{key}**: {text}")
    add("")
    return "\n".join(out)


def metric_order(metric: str) -> int:
    """Column position of a metric, to list a row's disagreeing metrics in table order."""
    return [m for m, _ in METRICS].index(metric)


def check(path: Path = DOC) -> str | None:
    """None when ``path`` holds what the script would write, else a message saying so."""
    want = render()
    have = path.read_text("utf-8") if path.exists() else ""
    if have == want:
        return None
    for n, (a, b) in enumerate(zip(have.splitlines(), want.splitlines(), strict=False), 1):
        if a != b:
            return (
                f"{path.name} is out of date (first difference at line {n}); "
                "regenerate it with: python docs/validation.py"
            )
    return f"{path.name} is out of date; regenerate it with: python docs/validation.py"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if docs/validation.md is out of date"
    )
    args = parser.parse_args(argv)
    try:
        if args.check:
            problem = check()
            if problem:
                print(problem, file=sys.stderr)
                return 1
            print(f"{DOC.name} is current")
            return 0
        text = render()
    except ValueError as exc:
        print(f"validation: {exc}", file=sys.stderr)
        return 1
    DOC.write_text(text, "utf-8")
    print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
