"""Normalisation layers: batch norm, local response normalisation, and the norms that
compute their statistics at inference (group, instance and layer norm)."""

from __future__ import annotations

from collections.abc import Sequence

from convcalc import num
from convcalc.errors import ShapeError
from convcalc.layers.base import (
    ACT,
    FP32,
    Arg,
    Args,
    Costs,
    LayerKind,
    Saved,
    Shape,
    channel_axis,
    spatial,
)
from convcalc.layers.registry import register


@register
class BatchNorm(LayerKind):
    op = "bn"
    doc = "batch norm: 2 params per channel (scale, shift); 2 FLOPs per value at inference"
    category = "norm"
    per_value = position_local = channel_local = True
    flops_rule = "2 (inference folds it to one multiply and one add)"
    saves_rule = (
        "its input, and the batch's mean and 1 / std per channel (float32, 2C values "
        "whatever the batch)"
    )

    def costs(self, a: Args, xs: Sequence[Shape], y: Shape) -> Costs:
        # Running mean and variance are buffers, not parameters; inference folds the
        # normalisation into one multiply and one add per value.
        return Costs(2 * xs[0][0], 0, 2 * num.prod(y))

    def saved(self, a: Args, xs: Sequence[Shape], y: Shape) -> Saved:
        # PyTorch's native batch norm keeps the input and save_mean, save_invstd (C each).
        return Saved(inputs=(0,), fixed=(("mean and 1/std", 2 * xs[0][0], FP32),))

    def buffers(self, a: Args, xs: Sequence[Shape], y: Shape) -> object:
        return 2 * xs[0][0]  # running mean and variance


@register
class LRN(LayerKind):
    op = "lrn"
    doc = "local response normalisation across n channels; 2n + 3 FLOPs per value"
    category = "norm"
    position_local = True  # across channels only
    flops_rule = "2n + 3 for a window of n (n squares, n - 1 adds, scale, add k, power, divide)"
    args = {
        "size": Arg("int", "channels n in each normalisation window", default=5, symbols=("n",))
    }

    saves_rule = (
        "its input and three tensors of its size (the squares' window average, the scale "
        "and its power: PyTorch composes it from those ops)"
    )

    def costs(self, a: Args, xs: Sequence[Shape], y: Shape) -> Costs:
        # n squares, n - 1 adds, scale by alpha, add k, power beta, divide: 2n + 3.
        return Costs(0, 0, (2 * a.size + 3) * num.prod(y))

    def saved(self, a: Args, xs: Sequence[Shape], y: Shape) -> Saved:
        return Saved(inputs=(0,), extras=(("average, scale, power", 3 * num.prod(y), ACT),))


# A norm that is not folded into the layer before it computes its statistics on every input.
# Per value: an add into the mean's sum; subtract the mean, square, add into the variance's
# sum; multiply by 1 / sqrt(var + eps) (5), and the affine scale and shift (2 more). Per set
# of statistics: divide each sum by its count, add eps, sqrt, reciprocal (5).
_STATS_RULE = (
    "5 per value (mean: an add; variance: subtract, square, add; normalise: a multiply), "
    "+ 2 with the affine scale and shift, + 5 per set of statistics (two divides, add eps, "
    "sqrt, reciprocal)"
)


class StatsNorm(LayerKind):
    """A norm whose mean and variance are computed from the input, at inference too.

    Statistics over a whole map (group and instance norm) are a global summary that
    broadcasts back over space, as a squeeze-and-excitation gate's: like it, they do not widen
    the per-position receptive field (docs/conventions.md).
    """

    category = "norm"
    flops_rule = _STATS_RULE
    saves_rule = "its input, and the mean and 1 / std of each set of statistics (float32)"
    amp_fp32 = True  # autocast runs group and layer norm in float32

    def stat_sets(self, a: Args, x: Shape) -> object:
        """How many sets of (mean, variance) one input has."""
        raise NotImplementedError

    def saved(self, a: Args, xs: Sequence[Shape], y: Shape) -> Saved:
        return Saved(inputs=(0,), extras=(("mean and 1/std", 2 * self.stat_sets(a, xs[0]), FP32),))

    def costs(self, a: Args, xs: Sequence[Shape], y: Shape) -> Costs:
        x = xs[0]
        params = 2 * x[channel_axis(x)] if a.affine else 0
        per_value = 7 if a.affine else 5
        return Costs(params, 0, per_value * num.prod(x) + 5 * self.stat_sets(a, x))


_AFFINE = "a learned scale and shift per channel (2C params)"


@register
class GroupNorm(StatsNorm):
    op = "groupnorm"
    doc = (
        "group norm (Wu & He 2018): mean and variance over each group of C / G channels and "
        "every position (its statistics do not widen the receptive field); 2C params with the "
        "affine scale and shift"
    )
    args = {
        "groups": Arg(
            "int",
            "groups G (channels divisible by G; 32 as in the paper)",
            default=32,
            symbols=("G",),
        ),
        "affine": Arg("bool", _AFFINE, default=True),
    }

    def shape(self, a: Args, xs: Sequence[Shape]) -> Shape:
        c = xs[0][0]
        if num.is_concrete(c) and num.is_concrete(a.groups) and c % a.groups:
            raise ShapeError(f"channels {c} are not divisible by groups {a.groups}")
        return xs[0]

    def stat_sets(self, a: Args, x: Shape) -> object:
        return a.groups

    def summary(self, a: Args) -> str:
        return f"G{a.groups}"


@register
class InstanceNorm(StatsNorm):
    op = "instancenorm"
    doc = (
        "instance norm (Ulyanov et al. 2016): mean and variance per channel over its "
        "positions (not widening the receptive field); no params unless affine (PyTorch's "
        "default: none)"
    )
    channel_local = True
    args = {"affine": Arg("bool", _AFFINE, default=False)}

    def shape(self, a: Args, xs: Sequence[Shape]) -> Shape:
        return spatial(xs[0], self.op)

    def stat_sets(self, a: Args, x: Shape) -> object:
        return x[0]


@register
class LayerNorm(StatsNorm):
    op = "layernorm"
    doc = (
        "layer norm (Ba et al. 2016) over the channel axis: a map's channels at each "
        "position (ConvNeXt's LayerNorm2d), the width C of each of N tokens (N, C) (the last "
        "axis of any shape but a map), the features of a vector; 2C params with the affine "
        "scale and shift"
    )
    position_local = True
    args = {"affine": Arg("bool", _AFFINE, default=True)}

    def stat_sets(self, a: Args, x: Shape) -> object:
        axis = channel_axis(x)
        return num.prod(x[:axis] + x[axis + 1 :])  # one set per position (1 for a vector)
