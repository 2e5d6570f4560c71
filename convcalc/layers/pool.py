"""Pooling: max and average (overlapping windows, ceil mode), global and adaptive average,
upsampling and the shift operation (all own no parameters and perform no MACs)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

from convcalc import num
from convcalc.errors import ShapeError, SpecError
from convcalc.layers.base import (
    ELEMENTWISE,
    INT64,
    NOTHING_SAVED,
    Arg,
    Args,
    AxisPhases,
    AxisRF,
    Costs,
    Free,
    LayerKind,
    Saved,
    Shape,
    check_dim,
    phase_table,
    spatial,
)
from convcalc.layers.conv import DILATION, KERNEL, PADDING, SlidingWindow
from convcalc.layers.registry import register

POOL_STRIDE = Arg("pair", "stride (default: the kernel size)", default=None, symbols=("s_h", "s_w"))
CEIL = Arg("bool", "round the output size up (PyTorch ceil_mode)", default=False)


class Pool(SlidingWindow):
    category = "pool"
    channel_local = True
    macs_rule = ""

    def cost_class(self, a: Args, xs: Sequence[Shape]) -> str:
        return ELEMENTWISE

    def validate(self, a: Args) -> None:
        if isinstance(a.padding, tuple):
            for axis in (0, 1):
                for p in a.padding[2 * axis : 2 * axis + 2]:
                    k = a.k[axis]
                    if num.is_concrete(p) and num.is_concrete(k) and 2 * p > k:
                        raise ShapeError(
                            f"pool padding {p} is more than half the kernel {k}",
                            hint="PyTorch refuses this; reduce the padding",
                        )

    def shape(self, a: Args, xs: Sequence[Shape]) -> Shape:
        ho, wo, _ = self.geometry(a, xs[0], ceil_mode=a.ceil_mode)
        return (xs[0][0], ho, wo)

    def reduces(self, a: Args, xs: Sequence[Shape], y: Shape) -> bool:
        # One window over the whole map (GoogLeNet's final 7x7 average pool) is a global
        # pooling in effect: the single output's taps must hit every row and column (with
        # padding or dilation a kernel as large as the map can still miss some).
        _, h, w = xs[0]
        if not all(num.is_concrete(v) for v in (h, w, *a.k, *y[1:])) or y[1:] != (1, 1):
            return False
        _, _, (ph, pw) = self.geometry(a, xs[0], ceil_mode=a.ceil_mode)
        dil = a.get("dilation", (1, 1))
        return all(
            _covers(size, k, d, before)
            for size, k, d, (before, _) in zip((h, w), a.k, dil, (ph, pw), strict=True)
        )


def _covers(size: int, k: int, d: int, before: int) -> bool:
    """Whether the taps -before + t d (t < k) include every position 0 .. size - 1."""
    if size == 1:
        return before % d == 0 and before // d < k
    return d == 1 and before + size <= k


@register
class MaxPool(Pool):
    op = "maxpool"
    doc = "max pooling; (k_h k_w - 1) comparisons per output value"
    flops_rule = "k_h k_w - 1 comparisons"
    args = {
        "k": KERNEL,
        "stride": POOL_STRIDE,
        "padding": PADDING,
        "dilation": DILATION,
        "ceil_mode": CEIL,
    }

    saves_rule = "its input, and the index of each maximum (int64, one per output value)"

    def costs(self, a: Args, xs: Sequence[Shape], y: Shape) -> Costs:
        return Costs(0, 0, y[0] * y[1] * y[2] * (a.k[0] * a.k[1] - 1))

    def saved(self, a: Args, xs: Sequence[Shape], y: Shape) -> Saved:
        return Saved(inputs=(0,), extras=(("indices", num.prod(y), INT64),))


@register
class AvgPool(Pool):
    op = "avgpool"
    doc = "average pooling; k_h k_w FLOPs (adds and one divide) per output value"
    flops_rule = "k_h k_w (adds and a divide); + 2 with trainable"
    args = {
        "k": KERNEL,
        "stride": POOL_STRIDE,
        "padding": PADDING,
        "ceil_mode": CEIL,
        "trainable": Arg(
            "bool",
            "LeNet-5 subsampling: a learnable coefficient and bias per channel (2C params)",
            default=False,
        ),
    }

    def costs(self, a: Args, xs: Sequence[Shape], y: Shape) -> Costs:
        outputs = y[0] * y[1] * y[2]
        flops = outputs * a.k[0] * a.k[1] + (2 * outputs if a.trainable else 0)
        return Costs(2 * y[0] if a.trainable else 0, 0, flops)


class GlobalPool(LayerKind):
    category = "pool"
    reduces_space = True
    channel_local = True
    flops_rule = "1 per input value"

    def shape(self, a: Args, xs: Sequence[Shape]) -> Shape:
        c, _, _ = spatial(xs[0], self.op)
        return (c, 1, 1)

    def costs(self, a: Args, xs: Sequence[Shape], y: Shape) -> Costs:
        return Costs(0, 0, num.prod(xs[0]))

    def rf(self, a: Args, xs: Sequence[Shape]) -> tuple[AxisRF, AxisRF]:
        _, h, w = xs[0]
        return AxisRF(h, 1, 0), AxisRF(w, 1, 0)


@register
class GlobalAvgPool(GlobalPool):
    op = "global_avgpool"
    doc = "global average pooling to C x 1 x 1; one FLOP per input value"
    saves_rule = "nothing (a mean's gradient needs only the input's size)"

    def saved(self, a: Args, xs: Sequence[Shape], y: Shape) -> Saved:
        return NOTHING_SAVED


@register
class GlobalMaxPool(GlobalPool):
    op = "global_maxpool"
    doc = "global max pooling to C x 1 x 1; one FLOP per input value"
    saves_rule = "its input, and the index of each channel's maximum (int64)"

    def saved(self, a: Args, xs: Sequence[Shape], y: Shape) -> Saved:
        return Saved(inputs=(0,), extras=(("indices", xs[0][0], INT64),))


def _adaptive_windows(size: int, out: int) -> list[tuple[int, int]]:
    """PyTorch's adaptive windows along one axis: [floor(i*n/o), ceil((i+1)*n/o))."""
    return [((i * size) // out, -(-((i + 1) * size) // out)) for i in range(out)]


@register
class AdaptiveAvgPool(LayerKind):
    op = "adaptive_avgpool"
    doc = "adaptive average pooling to a fixed output size (PyTorch's window rule)"
    flops_rule = "the size of each output's window (PyTorch's windows), summed"
    category = "pool"
    channel_local = True
    args = {"size": Arg("pair", "output size s or [s_h, s_w]")}

    def shape(self, a: Args, xs: Sequence[Shape]) -> Shape:
        c, _, _ = spatial(xs[0], self.op)
        return (c, a.size[0], a.size[1])

    saves_rule = "its input; nothing for a 1 x 1 output (PyTorch computes a mean)"

    def reduces(self, a: Args, xs: Sequence[Shape], y: Shape) -> bool:
        return a.size == (1, 1)

    def saved(self, a: Args, xs: Sequence[Shape], y: Shape) -> Saved:
        return NOTHING_SAVED if a.size == (1, 1) else Saved(inputs=(0,))

    def costs(self, a: Args, xs: Sequence[Shape], y: Shape) -> Costs:
        c, h, w = xs[0]
        if not all(isinstance(v, int) for v in (h, w, *a.size)):  # symbolic, or --no-round
            return Costs(0, 0, c * h * w)
        # Each output averages its window: as many FLOPs as the window has values.
        sum_h = sum(e - s for s, e in _adaptive_windows(h, a.size[0]))
        sum_w = sum(e - s for s, e in _adaptive_windows(w, a.size[1]))
        return Costs(0, 0, c * sum_h * sum_w)

    def rf(self, a: Args, xs: Sequence[Shape]) -> tuple[AxisRF, AxisRF]:
        # The windows are uniform when the size divides the input; otherwise the widest
        # window and the mean stride are reported (see docs/conventions.md).
        out = []
        for size, o in zip(xs[0][1:], a.size, strict=True):
            out.append(
                AxisRF(
                    num.ceildiv(size, o) + (0 if num.is_concrete(size) and size % o == 0 else 1),
                    num.div(size, o),
                    0,
                )
            )
        return out[0], out[1]

    def rf_phases(self, a: Args, xs: Sequence[Shape]) -> tuple[Any, Any] | None:
        # Uneven windows: output i = q b + r reads [floor(i n / o), ceil((i + 1) n / o)), so
        # with n / o = a / b in lowest terms the windows repeat every b outputs, a inputs on.
        sizes = xs[0][1:]
        if not all(isinstance(v, int) for v in (*sizes, *a.size)):
            return None
        if all(n % o == 0 for n, o in zip(sizes, a.size, strict=True)):
            return None  # even windows: :meth:`rf` is exact
        out = []
        for n, o in zip(sizes, a.size, strict=True):
            ratio = Fraction(n, o)
            out.append(
                phase_table(
                    ratio.denominator,
                    ratio.numerator,
                    lambda r, q=ratio: (math.floor(r * q), math.ceil((r + 1) * q) - 1, 1),
                    (Fraction(-1), ratio),
                )
            )
        return out[0], out[1]


@register
class Upsample(LayerKind):
    op = "upsample"
    doc = "upsampling by an integer scale or to a size; nearest (0 FLOPs) or bilinear (7/value)"
    flops_rule = "nearest 0, bilinear 7 (4 multiplies, 3 adds)"
    category = "pool"
    channel_local = True
    args = {
        "scale": Arg(
            "pair", "integer scale factor s or [s_h, s_w]", default=None, symbols=("s_h", "s_w")
        ),
        "size": Arg("pair", "output size instead of a scale", default=None),
        "mode": Arg("choice", "interpolation", default="nearest", choices=("nearest", "bilinear")),
    }

    def validate(self, a: Args) -> None:
        if (a.scale is None) == (a.size is None):
            raise SpecError("upsample needs exactly one of 'scale' and 'size'")

    def shape(self, a: Args, xs: Sequence[Shape]) -> Shape:
        c, h, w = spatial(xs[0], self.op)
        if a.size is not None:
            return (c, a.size[0], a.size[1])
        return (
            c,
            check_dim(h * a.scale[0], "output height"),
            check_dim(w * a.scale[1], "output width"),
        )

    saves_rule = "nothing (its gradient needs only the sizes)"

    def saved(self, a: Args, xs: Sequence[Shape], y: Shape) -> Saved:
        return NOTHING_SAVED

    def costs(self, a: Args, xs: Sequence[Shape], y: Shape) -> Costs:
        # Bilinear: 4 neighbours weighted (4 multiplies) and summed (3 adds) per output value.
        return Costs(0, 0, 7 * num.prod(y) if a.mode == "bilinear" else 0)

    def rf(self, a: Args, xs: Sequence[Shape]) -> tuple[AxisRF, AxisRF]:
        taps = 2 if a.mode == "bilinear" else 1
        out = []
        for axis in (0, 1):
            ratio: Any = num.div(xs[0][1 + axis], (self.shape(a, xs))[1 + axis])
            out.append(AxisRF(taps, ratio, 0))
        return out[0], out[1]

    def rf_phases(self, a: Args, xs: Sequence[Shape]) -> tuple[Any, Any] | None:
        # Output o reads input floor(o n / m) (nearest), or floor(x) and floor(x) + 1 with
        # x = (o + 1/2) n / m - 1/2 (bilinear, half-pixel centres; the second only when x is
        # not whole, its weight being the fraction). With n / m = a / b in lowest terms the
        # pattern repeats every b outputs, a inputs on.
        y = self.shape(a, xs)
        out: list[AxisPhases | None] = []
        for axis in (0, 1):
            if a.scale is not None:
                ratio: Any = num.div(1, a.scale[axis])
            else:
                ratio = num.div(xs[0][1 + axis], y[1 + axis])
            if not num.is_concrete(ratio):
                out.append(None)  # symbolic: not tabulated
                continue
            ratio = Fraction(ratio)
            period, step = ratio.denominator, ratio.numerator
            if a.mode == "nearest":
                out.append(
                    phase_table(
                        period,
                        step,
                        lambda r, q=ratio: (math.floor(r * q), math.floor(r * q), 1),
                        (Fraction(1, period) - 1, 0),
                    )
                )
            else:
                out.append(
                    phase_table(
                        period,
                        step,
                        lambda r, q=ratio: _bilinear_reads(
                            (r + Fraction(1, 2)) * q - Fraction(1, 2)
                        ),
                        (ratio / 2 - Fraction(3, 2), ratio / 2 + Fraction(1, 2)),
                    )
                )
        return out[0], out[1]


def _bilinear_reads(x: Fraction) -> tuple[int, int, int]:
    """The inputs a bilinear sample at x weighs: floor(x), and the next one unless x is whole."""
    first = math.floor(x)
    return first, first if x == first else first + 1, 1


@register
class Shift(Free):
    op = "shift"
    doc = "shift (Wu et al. 2018): each channel moved by up to k//2; zero params and FLOPs"
    category = "conv"
    channel_local = True
    args = {"k": Arg("pair", "shift kernel size (odd)", default=(3, 3))}

    def validate(self, a: Args) -> None:
        if any(num.is_concrete(k) and k % 2 == 0 for k in a.k):
            raise ShapeError("shift kernel size must be odd")

    def shape(self, a: Args, xs: Sequence[Shape]) -> Shape:
        return spatial(xs[0], self.op)

    def rf(self, a: Args, xs: Sequence[Shape]) -> tuple[AxisRF, AxisRF]:
        return AxisRF(a.k[0], 1, num.floordiv(a.k[0], 2)), AxisRF(
            a.k[1], 1, num.floordiv(a.k[1], 2)
        )
