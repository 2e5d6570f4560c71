"""Fully connected layers and the ops that change a tensor's layout: linear, flatten,
reshape, channel shuffle, channel slice, spatial crop, pixel shuffle and unshuffle,
identity, dropout and drop path."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import Any

from convcalc import num
from convcalc.errors import ShapeError
from convcalc.layers.base import (
    LINEAR,
    Arg,
    Args,
    AxisPhases,
    AxisRF,
    Costs,
    Free,
    LayerKind,
    Shape,
    check_dim,
    phase_table,
    spatial,
)
from convcalc.layers.registry import register


@register
class Linear(LayerKind):
    op = "linear"
    doc = "fully connected layer on a vector: out x in weights (+ out biases)"
    macs_rule = "in x out"
    flops_rule = "2 x MACs, + 1 per output with bias"
    category = "linear"
    reduces_space = True
    args = {
        "out": Arg("int", "output features", symbols=("C_out",)),
        "bias": Arg("bool", "learnable bias per output", default=True),
    }

    def cost_class(self, a: Args, xs: Sequence[Shape]) -> str:
        return LINEAR

    def shape(self, a: Args, xs: Sequence[Shape]) -> Shape:
        if len(xs[0]) != 1:
            raise ShapeError(
                f"linear needs a vector, got a feature map {'x'.join(map(str, xs[0]))}",
                hint="add `op: flatten` (or a global pooling then flatten) before it",
            )
        return (a.out,)

    def costs(self, a: Args, xs: Sequence[Shape], y: Shape) -> Costs:
        macs = xs[0][0] * a.out
        bias = a.out if a.bias else 0
        return Costs(macs + bias, macs, 2 * macs + bias)


@register
class Flatten(Free):
    op = "flatten"
    doc = "C x H x W feature map to a vector of C*H*W features"
    category = "shape"
    reduces_space = True
    is_view = True

    def shape(self, a: Args, xs: Sequence[Shape]) -> Shape:
        return (check_dim(num.prod(xs[0]), "flattened size"),)


@register
class Reshape(Free):
    op = "reshape"
    doc = "reshape to [N] or [C, H, W] with the same number of values"
    category = "shape"
    is_view = True
    args = {"shape": Arg("ints", "the new shape: [N] or [C, H, W]")}

    def validate(self, a: Args) -> None:
        if len(a.shape) not in (1, 3):
            raise ShapeError("reshape target must be [N] or [C, H, W]")

    def shape(self, a: Args, xs: Sequence[Shape]) -> Shape:
        before, after = num.prod(xs[0]), num.prod(a.shape)
        if num.is_concrete(before) and num.is_concrete(after) and before != after:
            raise ShapeError(
                f"cannot reshape {'x'.join(map(str, xs[0]))} ({before} values) to "
                f"{'x'.join(map(str, a.shape))} ({after} values)"
            )
        return tuple(a.shape)


@register
class ChannelShuffle(Free):
    op = "channel_shuffle"
    doc = "ShuffleNet channel shuffle: reorder channels across groups; no cost"
    category = "shape"
    position_local = True
    args = {"groups": Arg("int", "number of groups g (channels divisible by g)", symbols=("g",))}

    def channel_source(self, a: Args, xs: Sequence[Shape], y: Shape, channel: int) -> Any:
        # Output channel c = (group c mod g, member c // g) of the grouped input.
        return (channel % a.groups) * (xs[0][0] // a.groups) + channel // a.groups

    def shape(self, a: Args, xs: Sequence[Shape]) -> Shape:
        c, _, _ = spatial(xs[0], self.op)
        if num.is_concrete(c) and num.is_concrete(a.groups) and c % a.groups:
            raise ShapeError(f"channels {c} are not divisible by groups {a.groups}")
        return xs[0]


@register
class Slice(Free):
    op = "slice"
    doc = "channels [start, stop) of the input (ShuffleNet V2's channel split); no cost"
    category = "shape"
    is_view = True
    args = {
        "start": Arg("int", "first channel kept (0-based)", default=0, min=0),
        "stop": Arg("int", "one past the last channel kept"),
    }

    def shape(self, a: Args, xs: Sequence[Shape]) -> Shape:
        c = xs[0][0]
        width = a.stop - a.start
        if num.is_concrete(width) and width < 1:
            raise ShapeError(f"slice [{a.start}, {a.stop}) keeps no channels")
        if num.is_concrete(c) and num.is_concrete(a.stop) and a.stop > c:
            raise ShapeError(f"slice stop {a.stop} is beyond the {c} input channels")
        return (width, *xs[0][1:])


@register
class Crop(Free):
    op = "crop"
    doc = (
        "centre crop to a size, or of the first input to the second's H x W "
        "(U-Net's crop before concatenation); no cost"
    )
    category = "shape"
    is_view = channel_local = True
    inputs = (1, 2)
    args = {
        "size": Arg(
            "pair", "output size s or [s_h, s_w] (with one input)", default=None, symbols=("h", "w")
        )
    }

    def shape(self, a: Args, xs: Sequence[Shape]) -> Shape:
        c, h, w = spatial(xs[0], self.op)
        if len(xs) == 2:
            if a.size is not None:
                raise ShapeError("crop takes a 'size' or a second input to match, not both")
            _, th, tw = spatial(xs[1], self.op)
        elif a.size is None:
            raise ShapeError("crop needs a 'size', or a second input whose size it matches")
        else:
            th, tw = a.size
        for target, size, axis in ((th, h, "height"), (tw, w, "width")):
            if num.is_concrete(target) and num.is_concrete(size) and target > size:
                raise ShapeError(f"crop {axis} {target} is larger than the input {axis} {size}")
        return (c, th, tw)

    def rf(self, a: Args, xs: Sequence[Shape]) -> tuple[AxisRF, AxisRF]:
        # Output unit u is input unit u + floor((n - m) / 2): the odd row or column of the
        # margin is cut after (bottom, right), as TensorFlow's 'same' padding adds it after.
        y = self.shape(a, xs)
        h, w = (
            AxisRF(1, 1, -num.floordiv(n - m, 2)) for n, m in zip(xs[0][1:], y[1:], strict=True)
        )
        return h, w

    def field_inputs(self, count: int) -> range:
        return range(1)  # a second input only lends its height and width

    def summary(self, a: Args) -> str:
        return "" if a.size is None else f"to {a.size[0]}x{a.size[1]}"


@register
class Identity(Free):
    op = "identity"
    doc = "passes its input through (an identity shortcut); no cost"
    category = "shape"
    is_view = per_value = position_local = channel_local = True


@register
class Dropout(Free):
    op = "dropout"
    doc = "dropout; an identity at inference, so no cost"
    category = "shape"
    is_view = per_value = position_local = channel_local = True
    args = {"p": Arg("number", "drop probability (recorded, not counted)", default=0.5)}


@register
class DropPath(Free):
    op = "drop_path"
    doc = (
        "stochastic depth (Huang et al. 2016): drops a whole residual branch per sample while "
        "training; an identity at inference, so no cost"
    )
    category = "shape"
    is_view = per_value = position_local = channel_local = True
    args = {"p": Arg("number", "drop probability (recorded, not counted)", default=0)}


_FACTOR = Arg("int", "factor r of each spatial axis", symbols=("r",))


@register
class PixelShuffle(Free):
    op = "pixel_shuffle"
    doc = (
        "depth to space (Shi et al. 2016): C r^2 x H x W to C x rH x rW; no arithmetic, but a "
        "copy (PyTorch's returns a new tensor, not a view of its input)"
    )
    category = "shape"
    args = {"factor": _FACTOR}

    def shape(self, a: Args, xs: Sequence[Shape]) -> Shape:
        c, h, w = spatial(xs[0], self.op)
        r = a.factor
        if num.is_concrete(c) and num.is_concrete(r) and c % (r * r):
            raise ShapeError(f"channels {c} are not divisible by factor^2 = {r * r}")
        return (
            num.floordiv(c, r * r),
            check_dim(h * r, "output height"),
            check_dim(w * r, "output width"),
        )

    def rf(self, a: Args, xs: Sequence[Shape]) -> tuple[AxisRF, AxisRF]:
        # Output unit o reads input unit floor(o / r), as nearest upsampling by r.
        step: Any = num.div(1, a.factor)
        return AxisRF(1, step, 0), AxisRF(1, step, 0)

    def rf_phases(
        self, a: Args, xs: Sequence[Shape]
    ) -> tuple[AxisPhases | None, AxisPhases | None] | None:
        r = a.factor
        if not num.is_concrete(r):
            return None, None
        axis = phase_table(r, 1, lambda _: (0, 0, 1), (Fraction(1, r) - 1, 0))
        return axis, axis

    def summary(self, a: Args) -> str:
        return f"r{a.factor}"


@register
class PixelUnshuffle(Free):
    op = "pixel_unshuffle"
    doc = (
        "space to depth, the inverse of pixel_shuffle: C x rH x rW to C r^2 x H x W; no "
        "arithmetic, but a copy (not a view)"
    )
    category = "shape"
    args = {"factor": _FACTOR}

    def shape(self, a: Args, xs: Sequence[Shape]) -> Shape:
        c, h, w = spatial(xs[0], self.op)
        r = a.factor
        for size, what in ((h, "height"), (w, "width")):
            if num.is_concrete(size) and num.is_concrete(r) and size % r:
                raise ShapeError(f"input {what} {size} is not divisible by factor {r}")
        return (
            check_dim(c * r * r, "output channels"),
            num.floordiv(h, r),
            num.floordiv(w, r),
        )

    def rf(self, a: Args, xs: Sequence[Shape]) -> tuple[AxisRF, AxisRF]:
        # Output unit o reads the r input units r o .. r o + r - 1: a window r, stride r.
        return AxisRF(a.factor, a.factor, 0), AxisRF(a.factor, a.factor, 0)

    def summary(self, a: Args) -> str:
        return f"r{a.factor}"
