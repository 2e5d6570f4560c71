"""Classic bundled networks against published figures.

Every expected number below is one of: torchvision's documented counts (the weights enum's
``meta["num_params"]`` and ``meta["_ops"]``, in GFLOPS, which are multiply-adds of conv and
linear layers: convcalc's ``macs``), a number printed in a paper or in the seed notes
(/work/shared/seeds, CLAIMS.md), or a hand calculation written beside it.
"""

from __future__ import annotations

from decimal import Decimal
from functools import cache

import pytest

from convcalc import api
from convcalc.report import LayerRow, Report


@cache
def report(name: str) -> Report:
    return api.analyze(name)


def row(rep: Report, name: str) -> LayerRow:
    for r in rep.layers:
        if r.name == name:
            return r
    raise AssertionError(f"{rep.architecture} has no layer {name!r}")


def resolve(rep: Report, name: str) -> str:
    """The row that outputs ``name``: the row itself, or the last row of a group or block."""
    names = [r.name for r in rep.layers]
    if name in names:
        return name
    inside = [n for n in names if n.startswith(name + ".")]
    assert inside, f"{rep.architecture} has no layer {name!r}"
    return inside[-1]


def out(rep: Report, name: str) -> tuple:
    return tuple(row(rep, resolve(rep, name)).output_shape)


def within_rounding(value: int, printed: str, unit: int) -> bool:
    """Whether ``value`` rounds to ``printed`` (a decimal string) in ``unit``s: "0.714" with
    unit 10**9 accepts 0.7135e9 <= value <= 0.7145e9."""
    d = Decimal(printed)
    half = Decimal(1).scaleb(d.as_tuple().exponent) / 2
    return (d - half) * unit <= value <= (d + half) * unit


# --- torchvision: exact params, MACs within the documented GFLOPS' rounding ---------------

# (bundled name, torchvision weights meta num_params, torchvision weights meta _ops GFLOPS)
TORCHVISION = [
    ("alexnet_tv", 61_100_840, "0.714"),  # torchvision weights meta num_params
    ("vgg11", 132_863_336, "7.609"),  # torchvision weights meta num_params
    ("vgg13", 133_047_848, "11.308"),  # torchvision weights meta num_params
    ("vgg19", 143_667_240, "19.632"),  # torchvision weights meta num_params
    ("vgg16_bn", 138_365_992, "15.47"),  # torchvision weights meta num_params
    ("googlenet_tv", 6_624_904, "1.498"),  # torchvision weights meta num_params (no aux heads)
    # torchvision weights meta num_params is 27,161,264 with the auxiliary head; the head is
    # conv 768->128 1x1 (98,304 + BN 256), conv 128->768 5x5 (2,457,600 + BN 1,536) and
    # linear 768->1000 (769,000): 3,326,696, so without it 27,161,264 - 3,326,696.
    ("inception_v3", 27_161_264 - 3_326_696, "5.713"),
    ("squeezenet1_0", 1_248_424, "0.819"),  # torchvision weights meta num_params
    ("squeezenet1_1", 1_235_496, "0.349"),  # torchvision weights meta num_params
    ("densenet121", 7_978_856, "2.834"),  # torchvision weights meta num_params
    ("densenet169", 14_149_480, "3.36"),  # torchvision weights meta num_params
    ("densenet201", 20_013_928, "4.291"),  # torchvision weights meta num_params
]


@pytest.mark.parametrize(("name", "params", "gflops"), TORCHVISION)
def test_torchvision_counts(name: str, params: int, gflops: str) -> None:
    totals = report(name).totals
    assert totals.params == params
    assert within_rounding(totals.macs, gflops, 10**9), totals.macs


# --- LeNet-5 (LeCun et al. 1998; seed 004 section 1) --------------------------------------


def test_lenet5_shapes() -> None:
    # Seed 004 section 1: 32x32 input; C1 6x28x28, S2 6x14x14, C3 16x10x10, S4 16x5x5,
    # C5 120x1x1, F6 84, output 10.
    rep = report("lenet5")
    assert tuple(rep.input) == (1, 32, 32)
    assert out(rep, "c1") == (6, 28, 28)
    assert out(rep, "s2") == (6, 14, 14)
    assert out(rep, "c3") == (16, 10, 10)
    assert out(rep, "s4") == (16, 5, 5)
    assert out(rep, "c5") == (120, 1, 1)
    assert out(rep, "f6") == (84,)
    assert out(rep, "output") == (10,)


def test_lenet5_params_and_connections() -> None:
    # LeCun et al. 1998, Section II.B: C1 156 trainable parameters and 122,304 connections;
    # S2 12 and 5,880; C3 1,516 and 151,600; S4 32 and 2,000; C5 48,120 connections (full
    # connection, so also its parameters); F6 10,164 trainable parameters. The RBF output
    # layer has 84 x 10 = 840 parameters (no bias).
    # Hand total: 156 + 12 + 1,516 + 32 + 48,120 + 10,164 + 840 = 60,840, the paper's
    # "about 60,000 trainable parameters".
    rep = report("lenet5")
    expect = {
        "c1.conv": 156,  # 6 x (5x5 + 1)
        "s2.avgpool": 12,  # 6 x (coefficient + bias)
        "c3.table_conv": 1_516,  # 60 table connections x 25 + 16 biases
        "s4.avgpool": 32,  # 16 x 2
        "c5.conv": 48_120,  # 120 x (16 x 25 + 1)
        "f6.linear": 10_164,  # 84 x (120 + 1)
        "output": 840,  # 84 x 10
    }
    for name, params in expect.items():
        assert row(rep, name).params == params, name
    assert rep.totals.params == 60_840
    # The paper's "connections" of a conv layer are its multiply-adds plus one bias add per
    # output value: C1 117,600 + 4,704; C3 150,000 + 1,600; C5 48,000 + 120.
    for name, connections in (
        ("c1.conv", 122_304),
        ("c3.table_conv", 151_600),
        ("c5.conv", 48_120),
    ):
        r = row(rep, name)
        c, h, w = r.output_shape
        assert r.macs + c * h * w == connections, name


# --- AlexNet (Krizhevsky et al. 2012; seed 004 section 2.6) --------------------------------


def test_alexnet_shapes() -> None:
    # Seed 004 section 2.6: 227x227 input; 96x55x55, pool 27, 256x27x27, pool 13,
    # 384x13x13 twice, 256x13x13, pool 6x6, 4096, 4096, 1000.
    rep = report("alexnet")
    assert tuple(rep.input) == (3, 227, 227)
    assert out(rep, "conv1") == (96, 55, 55)
    assert out(rep, "pool1") == (96, 27, 27)
    assert out(rep, "conv2") == (256, 27, 27)
    assert out(rep, "pool2") == (256, 13, 13)
    assert out(rep, "conv3") == (384, 13, 13)
    assert out(rep, "conv4") == (384, 13, 13)
    assert out(rep, "conv5") == (256, 13, 13)
    assert out(rep, "pool5") == (256, 6, 6)
    assert out(rep, "fc6") == (4096,)
    assert out(rep, "fc7") == (4096,)
    assert out(rep, "fc8") == (1000,)


def test_alexnet_two_gpu_groups_and_params() -> None:
    # Two GPUs = groups of 2 in conv 2, 4, 5 (each kernel reads half the input maps):
    # conv1 96 x (11x11x3) + 96           =     34,944
    # conv2 256 x (48 x 5x5) + 256        =    307,456   (groups 2: 48 = 96/2 inputs)
    # conv3 384 x (256 x 3x3) + 384       =    885,120   (reads both GPUs)
    # conv4 384 x (192 x 3x3) + 384       =    663,936   (groups 2)
    # conv5 256 x (192 x 3x3) + 256       =    442,624   (groups 2)
    # fc6   4096 x 9216 + 4096            = 37,752,832
    # fc7   4096 x 4096 + 4096            = 16,781,312
    # fc8   1000 x 4096 + 1000            =  4,097,000
    # total                                 60,965,224   (the paper's "60 million parameters")
    rep = report("alexnet")
    expect = {
        "conv1.conv": 34_944,
        "conv2.conv": 307_456,
        "conv3.conv": 885_120,
        "conv4.conv": 663_936,
        "conv5.conv": 442_624,
        "fc6.linear": 37_752_832,
        "fc7.linear": 16_781_312,
        "fc8": 4_097_000,
    }
    for name, params in expect.items():
        assert row(rep, name).params == params, name
    assert rep.totals.params == 60_965_224
    assert 60_000_000 <= rep.totals.params < 61_000_000  # "60 million", truncated


def test_alexnet_neuron_counts() -> None:
    # Krizhevsky et al. 2012, Section 3.5: "the number of neurons in the network's remaining
    # layers is given by 253,440-186,624-64,896-64,896-43,264-4096-4096-1000". Every count
    # but the first is the layer's output size. The first is not: conv1's 96x55x55 output
    # (the paper's own Figure 2 and the seed notes) has 290,400 values; the printed 253,440
    # does not follow from the shapes the paper gives, so it is not asserted.
    rep = report("alexnet")
    sizes = {
        "conv2": 186_624,  # 256 x 27 x 27
        "conv3": 64_896,  # 384 x 13 x 13
        "conv4": 64_896,
        "conv5": 43_264,  # 256 x 13 x 13
        "fc6": 4096,
        "fc7": 4096,
        "fc8": 1000,
    }
    for name, n in sizes.items():
        shape = out(rep, name)
        total = 1
        for v in shape:
            total *= v
        assert total == n, name
    assert out(rep, "conv1") == (96, 55, 55)  # 290,400 values, not 253,440


# --- VGG A-E (Simonyan & Zisserman 2015, Table 2; seed 004 section 3.2) --------------------


@pytest.mark.parametrize(
    ("name", "millions"),
    [
        # The seed notes print 113 for A (and A-LRN), a typo of the paper's 133.
        ("vgg11", 133),  # A
        ("vgg13", 133),  # B
        # C: D with the third conv of stages 3-5 as 1x1: 138,357,544 - 8 x 256^2 - 2 x 8 x
        # 512^2 = 133,638,952 by hand.
        ("vgg16_c", 134),
        ("vgg16", 138),  # D
        ("vgg19", 144),  # E
    ],
)
def test_vgg_paper_params(name: str, millions: int) -> None:
    assert round(report(name).totals.params / 1_000_000) == millions


def test_vgg16_c_exact() -> None:
    # Hand calculation above: 138,357,544 (torchvision vgg16, configuration D) - 4,718,592.
    assert report("vgg16_c").totals.params == 133_638_952
    # MACs: D's 15,470,264,320 (torchvision vgg16) less 3x3 -> 1x1 on 256 channels at 56x56
    # and on 512 at 28x28 and 14x14: 8 x (56^2 x 256^2 + 28^2 x 512^2 + 14^2 x 512^2)
    # = 3,699,376,128.
    assert report("vgg16_c").totals.macs == 15_470_264_320 - 3_699_376_128


# --- GoogLeNet (Szegedy et al. 2015, Table 1; seed 004 section 4.1.3) ----------------------

# Table 1 rows: (layer, input channels, output HxW, #1x1, #3x3 reduce, #3x3, #5x5 reduce,
# #5x5, pool proj, printed params, printed ops).
GOOGLENET_TABLE = [
    ("inception3a", 192, 28, 64, 96, 128, 16, 32, 32, "159", "128"),
    ("inception3b", 256, 28, 128, 128, 192, 32, 96, 64, "380", "304"),
    ("inception4a", 480, 14, 192, 96, 208, 16, 48, 64, "364", "73"),
    ("inception4b", 512, 14, 160, 112, 224, 24, 64, 64, "437", "88"),
    ("inception4c", 512, 14, 128, 128, 256, 24, 64, 64, "463", "100"),
    ("inception4d", 512, 14, 112, 144, 288, 32, 64, 64, "580", "119"),
    ("inception4e", 528, 14, 256, 160, 320, 32, 128, 128, "840", "170"),
    ("inception5a", 832, 7, 256, 160, 320, 32, 128, 128, "1072", "54"),
    ("inception5b", 832, 7, 384, 192, 384, 48, 128, 128, "1388", "71"),
]

# Rows whose printed figure does not follow from the channel counts printed beside them
# (the computed value is asserted instead; see test_googlenet_table1):
#   conv1 params 2.7K / ops 34M: 7x7x3x64 = 9,408 weights (9.2K), 9,408 x 112^2 =
#     118,013,952 multiply-adds (118M).
#   4a params 364K: 375,552 weights = 366.75K.     4c params 463K: 509,440 = 497.5K.
#   4d params 580K: 604,672 = 590.5K.              4e params 840K: 867,328 = 847K.
#   5a params 1072K / ops 54M: 1,042,432 = 1018K and 51,079,168 multiply-adds (51M).
#   5b params 1388K: 1,442,816 = 1409K.
PARAMS_MISPRINTS = {"conv1", "inception4a", "inception4c", "inception4d", "inception4e"}
PARAMS_MISPRINTS |= {"inception5a", "inception5b"}
OPS_MISPRINTS = {"conv1", "inception5a"}


def googlenet_weights(rep: Report, prefix: str) -> tuple[int, int]:
    """Weights (params without biases) and MACs of the conv/linear layers under prefix."""
    weights = macs = 0
    for r in rep.layers:
        if r.name == prefix or r.name.startswith(prefix + "."):
            if r.type in ("conv", "linear"):
                weights += r.params - r.output_shape[0]  # every conv here has a bias
            macs += r.macs
    return weights, macs


def table1_check(name: str, weights: int, macs: int, params_k: str, ops_m: str) -> None:
    # The params column counts weights without biases in units of 1024 (conv2: 64x64 +
    # 64x9x192 = 114,688 = 112 x 1024 exactly, printed 112K; linear: 1024 x 1000 =
    # 1,024,000 = 1000 x 1024, printed 1000K); the ops column is millions of multiply-adds.
    # The printed figures mix rounding and truncation (3a: 159.5K printed 159K; 4b:
    # 87.9M printed 88M), so one unit of the last printed digit is allowed either way.
    params_ok = abs(weights / 1024 - float(params_k)) <= 1
    ops_ok = abs(macs / 1_000_000 - float(ops_m)) <= 1
    assert params_ok == (name not in PARAMS_MISPRINTS), (name, weights / 1024, params_k)
    assert ops_ok == (name not in OPS_MISPRINTS), (name, macs / 1e6, ops_m)


def test_googlenet_table1() -> None:
    rep = report("googlenet")
    for name, cin, hw, c1, c3r, c3, c5r, c5, pp, params_k, ops_m in GOOGLENET_TABLE:
        # Hand formula of an inception module from the printed channel counts: four 1x1
        # convolutions read the input, a 3x3 reads the 3x3 reduce, a 5x5 the 5x5 reduce.
        weights = cin * (c1 + c3r + c5r + pp) + 9 * c3r * c3 + 25 * c5r * c5
        macs = weights * hw * hw
        biases = c1 + c3r + c3 + c5r + c5 + pp
        got_weights, got_macs = googlenet_weights(rep, name)
        assert (got_weights, got_macs) == (weights, macs), name
        assert sum(r.params for r in rep.layers if r.name.startswith(name + ".")) == (
            weights + biases
        )
        assert out(rep, name)[0] == c1 + c3 + c5 + pp
        table1_check(name, weights, macs, params_k, ops_m)
    # convolution 7x7/2 to 112x112x64: 7*7*3*64 = 9,408 weights, x 112^2 multiply-adds.
    table1_check("conv1", *googlenet_weights(rep, "conv1"), "2.7", "34")
    assert googlenet_weights(rep, "conv1") == (9_408, 9_408 * 112 * 112)
    # convolution 3x3/1 (depth 2: the 1x1 reduce to 64, then 3x3 to 192) at 56x56:
    # 64x64 + 64x9x192 = 114,688 weights, x 56^2 = 359,661,568 multiply-adds.
    w_red, m_red = googlenet_weights(rep, "conv2_reduce")
    w_3, m_3 = googlenet_weights(rep, "conv2")
    assert (w_red + w_3, m_red + m_3) == (114_688, 114_688 * 56 * 56)
    table1_check("conv2", w_red + w_3, m_red + m_3, "112", "360")
    # linear 1024 -> 1000: 1,024,000 weights and multiply-adds.
    assert googlenet_weights(rep, "fc") == (1_024_000, 1_024_000)
    table1_check("linear", 1_024_000, 1_024_000, "1000", "1")


@pytest.mark.parametrize("name", ["googlenet", "googlenet_tv"])
def test_googlenet_output_sizes(name: str) -> None:
    # Table 1, output size column.
    rep = report(name)
    stem = ("pool1", "conv2", "pool2") if name == "googlenet" else ("maxpool1", "conv3", "maxpool2")
    assert out(rep, "conv1") == (64, 112, 112)
    assert out(rep, stem[0]) == (64, 56, 56)
    assert out(rep, stem[1]) == (192, 56, 56)
    assert out(rep, stem[2]) == (192, 28, 28)
    sizes = {"3a": (256, 28), "3b": (480, 28), "4a": (512, 14), "4b": (512, 14)}
    sizes |= {"4c": (512, 14), "4d": (528, 14), "4e": (832, 14), "5a": (832, 7), "5b": (1024, 7)}
    for key, (c, hw) in sizes.items():
        layer = (
            f"inception{key}"
            if name == "googlenet"
            else f"inception{key[0]}.{'abcde'.index(key[1])}"
        )
        assert out(rep, layer) == (c, hw, hw), layer
    assert out(rep, "fc") == (1000,)


def test_googlenet_paper_total() -> None:
    # Sum of Table 1's modules from the channel counts (hand formula above, with biases)
    # plus conv1 (9,408 + 64), conv2 (4,096 + 64 + 110,592 + 192) and the linear layer
    # (1,024,000 + 1,000): 6,998,552.
    total = 9_408 + 64 + 4_096 + 64 + 110_592 + 192 + 1_024_000 + 1_000
    for _, cin, _, c1, c3r, c3, c5r, c5, pp, *_ in GOOGLENET_TABLE:
        total += cin * (c1 + c3r + c5r + pp) + 9 * c3r * c3 + 25 * c5r * c5
        total += c1 + c3r + c3 + c5r + c5 + pp
    assert total == 6_998_552
    assert report("googlenet").totals.params == total


# --- Inception v3 (Szegedy et al. 2016, Table 1; seed 004 section 4.3.2) -------------------


def test_inception_v3_input_size_column() -> None:
    # The table's input-size column, as (C, H, W). The sixth row's 71x71x80 does not occur
    # in the network: the released model (torchvision, TF-slim) has a 1x1 conv to 80 at
    # 73x73, then a 3x3 conv to 192 at 71x71 and a 3x3/2 max pool to 35x35x192; the table's
    # conv rows 5-7 do not match that model, so that row is left out here.
    column = [
        (3, 299, 299),
        (32, 149, 149),
        (32, 147, 147),
        (64, 147, 147),
        (64, 73, 73),
        # (80, 71, 71): not in the network, see above
        (192, 35, 35),
        (288, 35, 35),
        (768, 17, 17),
        (1280, 8, 8),
        (2048, 8, 8),
        (2048, 1, 1),
        (1000,),
    ]
    rep = report("inception_v3")
    shapes = [tuple(rep.input)] + [tuple(r.output_shape) for r in rep.layers]
    it = iter(shapes)
    assert all(any(s == want for s in it) for want in column)  # a subsequence, in order
    assert (80, 71, 71) not in shapes
    assert out(rep, "Mixed_5d") == (288, 35, 35)
    assert out(rep, "Mixed_6a") == (768, 17, 17)
    assert out(rep, "Mixed_7a") == (1280, 8, 8)
    assert out(rep, "Mixed_7c") == (2048, 8, 8)


# --- Xception (Chollet 2017) ----------------------------------------------------------------


def test_xception() -> None:
    # Chollet 2017, Table 3: Xception has 22,855,952 parameters (Keras counts 22,910,480
    # including the 54,528 batch-norm running statistics, which are buffers).
    rep = report("xception")
    assert rep.totals.params == 22_855_952

    # Hand calculation. A separable conv (3x3 depthwise + 1x1 pointwise, no bias) with
    # batch norm, cin -> cout at s x s: 9 cin + cin cout + 2 cout params, s^2 (9 cin +
    # cin cout) multiply-adds. Sizes: 299 -> 149 (3x3/2 valid) -> 147 (3x3 valid) -> 74 ->
    # 37 -> 19 (each entry block halves, rounding up) -> 10 (exit block).
    params = macs = 0

    def conv(s: int, cin: int, cout: int, k: int) -> None:
        nonlocal params, macs
        params += k * k * cin * cout + 2 * cout
        macs += s * s * k * k * cin * cout

    def sep(s: int, cin: int, cout: int) -> None:
        nonlocal params, macs
        params += 9 * cin + cin * cout + 2 * cout
        macs += s * s * (9 * cin + cin * cout)

    conv(149, 3, 32, 3)
    conv(147, 32, 64, 3)
    for cin, cout, s, s_out in ((64, 128, 147, 74), (128, 256, 74, 37), (256, 728, 37, 19)):
        sep(s, cin, cout)
        sep(s, cout, cout)
        conv(s_out, cin, cout, 1)  # 1x1 stride-2 residual projection
    for _ in range(8 * 3):
        sep(19, 728, 728)
    sep(19, 728, 728)
    sep(19, 728, 1024)
    conv(10, 728, 1024, 1)
    sep(10, 1024, 1536)
    sep(10, 1536, 2048)
    params += 2048 * 1000 + 1000
    macs += 2048 * 1000
    assert params == 22_855_952
    assert (rep.totals.params, rep.totals.macs) == (params, macs)
    assert out(rep, "block14_relu2") == (2048, 10, 10)


# --- SqueezeNet (Iandola et al. 2016; seed 001) ---------------------------------------------


def test_squeezenet_50x_fewer_params_than_alexnet() -> None:
    # Seed 001 / the paper's title: about 50x fewer parameters than AlexNet (the paper's
    # Table 2: 240 MB vs 4.8 MB). "About 50x" read as 45x to 55x. Exact: 60,965,224 /
    # 1,248,424 = 48.8 (paper AlexNet); 61,100,840 / 1,248,424 = 48.9 (torchvision's).
    for alexnet in ("alexnet", "alexnet_tv"):
        ratio = report(alexnet).totals.params / report("squeezenet1_0").totals.params
        assert 45 <= ratio <= 55, (alexnet, ratio)


@pytest.mark.parametrize("name", ["squeezenet1_0", "squeezenet1_1"])
def test_squeezenet_squeeze_ratio(name: str) -> None:
    # Seed 001: s1x1 = SR (e1x1 + e3x3) with SR = 0.125 in every fire module.
    rep = report(name)
    fires = [r for r in rep.layers if r.name.endswith(".concat")]
    assert len(fires) == 8
    for concat in fires:
        squeeze = row(rep, concat.name.replace(".concat", ".squeeze.conv"))
        assert squeeze.output_shape[0] * 8 == concat.output_shape[0], concat.name


# --- DenseNet (Huang et al. 2017; seed 004 section 7) ---------------------------------------


def test_densenet201_about_20m() -> None:
    # Seed 004 section 7: DenseNet-201 has about 20M parameters (vs ResNet-101's 40M+,
    # which belongs to the ResNet file); "20M" is 19.5M to 20.5M.
    assert 19_500_000 <= report("densenet201").totals.params < 20_500_000


def test_densenet_block_channels() -> None:
    # Seed 004 section 7: layer l of a dense block reads k_0 + k (l - 1) channels; the
    # bottleneck gives 4k; a transition halves the channels. DenseNet-121, k = 32:
    # block 1: 64 + 6 x 32 = 256 -> 128; block 2: 128 + 12 x 32 = 512 -> 256;
    # block 3: 256 + 24 x 32 = 1024 -> 512; block 4: 512 + 16 x 32 = 1024.
    rep = report("densenet121")
    assert out(rep, "denseblock.0.denselayer.5.conv1")[0] == 4 * 32
    assert row(rep, "denseblock.0.denselayer.5.norm1").output_shape[0] == 64 + 5 * 32
    assert out(rep, "denseblock.0.denselayer") == (256, 56, 56)
    assert out(rep, "denseblock.0.transition") == (128, 28, 28)
    assert out(rep, "denseblock.1.transition") == (256, 14, 14)
    assert out(rep, "denseblock.2.transition") == (512, 7, 7)
    assert out(rep, "denseblock.3") == (1024, 7, 7)


# --- DCGAN generator (Radford et al. 2016, Figure 1) ---------------------------------------


def test_dcgan_generator() -> None:
    # Figure 1: 100-d z -> 1024x4x4 -> 512x8x8 -> 256x16x16 -> 128x32x32 -> 3x64x64.
    rep = report("dcgan_generator")
    assert tuple(rep.input) == (100,)
    assert out(rep, "reshape") == (1024, 4, 4)
    assert out(rep, "deconv1") == (512, 8, 8)
    assert out(rep, "deconv2") == (256, 16, 16)
    assert out(rep, "deconv3") == (128, 32, 32)
    assert out(rep, "deconv4") == (3, 64, 64)
    # Hand count, no biases (the authors' code): projection 100 x 16,384 + per-feature batch
    # norm 2 x 16,384; transposed convs 1024x512x25, 512x256x25, 256x128x25, 128x3x25, with
    # batch norm (2 per channel) on the first three: 1,638,400 + 32,768 + 13,107,200 + 1,024 +
    # 3,276,800 + 512 + 819,200 + 256 + 9,600 = 18,885,760.
    assert rep.totals.params == 18_885_760
    # Multiply-adds: each input value meets every tap of its filters: 16x1024x512x25 =
    # 64x512x256x25 = 256x256x128x25 = 209,715,200; 1024x128x3x25 = 9,830,400; plus the
    # projection's 1,638,400.
    assert rep.totals.macs == 3 * 209_715_200 + 9_830_400 + 1_638_400


# --- receptive fields against Araujo et al. (Distill 2019) ---------------------------------

# The receptive-field table of Araujo, Norris & Sim's library (google-research/
# receptive_field, RECEPTIVE_FIELD_TABLE.md, the source of the article's figures), computed
# on the TF-Slim models: (end-point, RF size, effective stride, effective padding).
# alexnet_v2 has the paper's kernel geometry (11/4 valid, 3/2 pools, 5x5 and 3x3 "same").
ALEXNET_RF = [
    ("conv1", 11, 4, 0),
    ("pool1", 19, 8, 0),
    ("conv2", 51, 8, 16),
    ("conv3", 99, 16, 32),
    ("conv4", 131, 16, 48),
    ("conv5", 163, 16, 64),
    ("pool5", 195, 32, 64),
]
VGG_A_RF = [  # vgg_a
    ("block1.conv.0", 3, 1, 1),
    ("block1.pool", 4, 2, 1),
    ("block2.conv.0", 8, 2, 3),
    ("block2.pool", 10, 4, 3),
    ("block3.conv.0", 18, 4, 7),
    ("block3.conv.1", 26, 4, 11),
    ("block3.pool", 30, 8, 11),
    ("block4.conv.0", 46, 8, 19),
    ("block4.conv.1", 62, 8, 27),
    ("block4.pool", 70, 16, 27),
    ("block5.conv.0", 102, 16, 43),
    ("block5.conv.1", 134, 16, 59),
    ("block5.pool", 150, 32, 59),
]
INCEPTION_V3_RF = [  # inception_v3 (TF-Slim; the same graph as torchvision's)
    ("Conv2d_1a_3x3", 3, 2, 0),
    ("Conv2d_2a_3x3", 7, 2, 0),
    ("Conv2d_2b_3x3", 11, 2, 2),
    ("maxpool1", 15, 4, 2),  # MaxPool_3a_3x3
    ("Conv2d_3b_1x1", 15, 4, 2),
    ("Conv2d_4a_3x3", 23, 4, 2),
    ("maxpool2", 31, 8, 2),  # MaxPool_5a_3x3
    ("Mixed_5b", 63, 8, 18),
    ("Mixed_5c", 95, 8, 34),
    ("Mixed_5d", 127, 8, 50),
    ("Mixed_6a", 159, 16, 58),
    ("Mixed_6b", 351, 16, 154),
    ("Mixed_6c", 543, 16, 250),
    ("Mixed_6d", 735, 16, 346),
    ("Mixed_6e", 927, 16, 442),
    ("Mixed_7a", 1055, 32, 490),
    ("Mixed_7b", 1183, 32, 554),
    ("Mixed_7c", 1311, 32, 618),
]


@pytest.mark.parametrize(
    ("name", "table"),
    [("alexnet", ALEXNET_RF), ("vgg11", VGG_A_RF), ("inception_v3", INCEPTION_V3_RF)],
)
def test_receptive_fields_per_layer(name: str, table: list) -> None:
    rep = report(name)
    for layer, size, jump, padding in table:
        rf = row(rep, resolve(rep, layer)).rf
        assert rf is not None
        assert (rf.size, rf.jump, rf.start) == ((size,) * 2, (jump,) * 2, (-padding,) * 2), layer


@pytest.mark.parametrize(
    ("name", "rf"),
    [
        ("alexnet", 195),  # alexnet_v2 pool5
        ("alexnet_tv", 195),  # same kernels and strides (its padding differs: size only)
        ("vgg11", 150),  # vgg_a pool5
        ("vgg16_bn", 212),  # vgg_16 pool5
        ("inception_v3", 1311),  # Mixed_7c
    ],
)
def test_total_receptive_field(name: str, rf: int) -> None:
    # The last map with spatial extent: pool5 for AlexNet and VGG (what follows is flatten,
    # or an adaptive 6x6/7x7 pool that is the identity at 224), Mixed_7c for Inception v3.
    assert tuple(report(name).totals.receptive_field) == (rf, rf)
