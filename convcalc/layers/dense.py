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
    ACT,
    LINEAR,
    LOST,
    MAP,
    MAX_RANK,
    SAME,
    Arg,
    Args,
    AxisPhases,
    AxisRF,
    Costs,
    Free,
    LayerKind,
    Saved,
    Shape,
    axis_of,
    channel_axis,
    check_dim,
    phase_table,
    show_shape,
    spatial,
)
from convcalc.layers.registry import register


@register
class Linear(LayerKind):
    op = "linear"
    doc = (
        "fully connected layer on the channel axis: a vector's features, the width C of "
        "tokens (N, C) (the last axis of any shape but a map) or a map's channels at each "
        "position; out x in weights (+ out biases), shared by every position"
    )
    macs_rule = "in x out per position (the other axes' product)"
    flops_rule = "2 x MACs, + 1 per output with bias"
    category = "linear"
    args = {
        "out": Arg("int", "output features", symbols=("C_out",)),
        "bias": Arg("bool", "learnable bias per output", default=True),
        "per_position": Arg(
            "bool",
            "on a feature map: the same weights at every position (as a 1x1 conv; "
            "Swin's token-wise linears on its C x H x W stages)",
            default=False,
        ),
    }

    def cost_class(self, a: Args, xs: Sequence[Shape]) -> str:
        return LINEAR

    def shape(self, a: Args, xs: Sequence[Shape]) -> Shape:
        x = xs[0]
        if len(x) == 3 and not a.per_position:
            raise ShapeError(
                f"linear needs a vector or tokens, got a feature map {show_shape(x)}",
                hint="add `op: flatten` (or a global pooling then flatten) before it; "
                "per_position: true applies it to the channels at each position",
            )
        axis = channel_axis(x)
        return (*x[:axis], a.out, *x[axis + 1 :])

    def reduces(self, a: Args, xs: Sequence[Shape], y: Shape) -> bool:
        return len(xs[0]) == 1  # on a vector: a summary of the whole input

    def costs(self, a: Args, xs: Sequence[Shape], y: Shape) -> Costs:
        x = xs[0]
        axis = channel_axis(x)
        positions = num.prod(x[:axis] + x[axis + 1 :])  # 1 for a vector
        weights = x[axis] * a.out
        bias = a.out if a.bias else 0
        macs = positions * weights
        return Costs(weights + bias, macs, 2 * macs + positions * bias)


@register
class Flatten(Free):
    op = "flatten"
    doc = (
        "axes start .. end into one (PyTorch's torch.flatten): by default the whole tensor "
        "to a vector (C x H x W to C*H*W features)"
    )
    category = "shape"
    is_view = True
    args = {
        "start": Arg("axis", "first axis flattened", default=0),
        "end": Arg("axis", "last axis flattened (-1: the last)", default=-1),
    }

    def _span(self, a: Args, x: Shape) -> tuple[int, int]:
        start, end = axis_of(a.start, len(x), self.op), axis_of(a.end, len(x), self.op)
        if start > end:
            raise ShapeError(f"flatten start axis {a.start} comes after its end axis {a.end}")
        return start, end

    def shape(self, a: Args, xs: Sequence[Shape]) -> Shape:
        x = xs[0]
        start, end = self._span(a, x)
        merged = check_dim(num.prod(x[start : end + 1]), "flattened size")
        return (*x[:start], merged, *x[end + 1 :])

    def reduces(self, a: Args, xs: Sequence[Shape], y: Shape) -> bool:
        return len(y) == 1  # a vector: no positions left

    def positions(self, a: Args, xs: Sequence[Shape], y: Shape) -> str:
        return SAME if y == xs[0] else LOST


@register
class Reshape(Free):
    op = "reshape"
    doc = (
        "reshape to any shape with the same number of values ([N], [N, C], [C, H, W], ...); "
        "the receptive field is not followed through it unless the shape is unchanged"
    )
    category = "shape"
    is_view = True
    args = {"shape": Arg("ints", f"the new shape, 1 to {MAX_RANK} sizes")}

    def validate(self, a: Args) -> None:
        if len(a.shape) > MAX_RANK:
            raise ShapeError(f"reshape target has {len(a.shape)} axes; at most {MAX_RANK}")

    def shape(self, a: Args, xs: Sequence[Shape]) -> Shape:
        before, after = num.prod(xs[0]), num.prod(a.shape)
        if num.is_concrete(before) and num.is_concrete(after) and before != after:
            raise ShapeError(
                f"cannot reshape {show_shape(xs[0])} ({before} values) to "
                f"{show_shape(a.shape)} ({after} values)",
                hint="the sizes of the new shape must multiply out to the input's",
            )
        return tuple(a.shape)

    def positions(self, a: Args, xs: Sequence[Shape], y: Shape) -> str:
        return SAME if y == xs[0] else LOST


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
    doc = (
        "entries [start, stop) along an axis: by default the first, a map's channels "
        "(ShuffleNet V2's channel split) or the tokens of (N, C) (ViT's class token); no cost"
    )
    category = "shape"
    is_view = True
    args = {
        "start": Arg("int", "first entry kept (0-based)", default=0, min=0),
        "stop": Arg("int", "one past the last entry kept"),
        "axis": Arg("axis", "the axis sliced", default=0),
    }

    def shape(self, a: Args, xs: Sequence[Shape]) -> Shape:
        x = xs[0]
        axis = axis_of(a.axis, len(x), self.op)
        what = "channels" if len(x) == 3 and axis == 0 else f"entries of axis {axis}"
        size, width = x[axis], a.stop - a.start
        if num.is_concrete(width) and width < 1:
            raise ShapeError(f"slice [{a.start}, {a.stop}) keeps no {what}")
        if num.is_concrete(size) and num.is_concrete(a.stop) and a.stop > size:
            raise ShapeError(f"slice stop {a.stop} is beyond the {size} input {what}")
        return (*x[:axis], width, *x[axis + 1 :])

    def positions(self, a: Args, xs: Sequence[Shape], y: Shape) -> str:
        # Channels of a map, or some of the tokens (each keeps its field); a slice of a
        # map's height or width moves its positions, which the field does not follow.
        rank = len(xs[0])
        axis = axis_of(a.axis, rank, self.op)
        if rank == 3:
            return MAP if axis == 0 else LOST
        return SAME if rank == 2 else LOST


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
    saves_rule = "in training, its mask (one value per element, at the activation dtype)"

    def training_view(self) -> bool:
        return False  # training writes the masked copy

    def saved(self, a: Args, xs: Sequence[Shape], y: Shape) -> Saved:
        return Saved(extras=(("mask", num.prod(xs[0]), ACT),))


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
    saves_rule = "in training, its per-sample keep factor (one value per sample)"

    def training_view(self) -> bool:
        return False  # training multiplies the branch by a per-sample factor

    def saved(self, a: Args, xs: Sequence[Shape], y: Shape) -> Saved:
        return Saved(extras=(("keep factor", 1, ACT),))


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
