"""Convolutions: standard/grouped/dilated, depthwise, transposed, deformable, locally
connected (unshared), tiled, and with a connection table.

All share one sliding-window rule (:func:`window`) and one receptive-field transform; each
kind only says how many weights it owns and how many multiply-accumulates it performs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

from convcalc import num
from convcalc.errors import ShapeError, SpecError
from convcalc.layers.base import (
    CONV,
    CONV1X1,
    GROUPED,
    Arg,
    Args,
    AxisPhases,
    AxisRF,
    Costs,
    LayerKind,
    Shape,
    Taps,
    Window,
    check_dim,
    phase_table,
    spatial,
)
from convcalc.layers.registry import register

KERNEL = Arg("pair", "kernel size k or [k_h, k_w]", symbols=("k_h", "k_w"))
STRIDE = Arg("pair", "stride s or [s_h, s_w]", default=(1, 1), symbols=("s_h", "s_w"))
PAD_SYMBOLS = ("p_t", "p_b", "p_l", "p_r")
PADDING = Arg(
    "padding",
    "zero padding: p, [p_h, p_w], [top, bottom, left, right], same, valid or full",
    default=(0, 0, 0, 0),
    symbols=PAD_SYMBOLS,
)
DILATION = Arg("pair", "dilation rate d or [d_h, d_w]", default=(1, 1), symbols=("d_h", "d_w"))
BIAS = Arg("bool", "learnable bias per output channel", default=True)
OUT = Arg("int", "output channels", symbols=("C_out",))


def pads(padding: Any, size: Any, k: Any, s: Any, d: Any, axis: int) -> tuple[Any, Any]:
    """Padding before and after along one axis (0 = height, 1 = width).

    ``same`` follows TensorFlow: the output is ceil(size / s) and the total padding is split
    with the odd unit after. ``full`` pads d(k-1) on each side (the "wide" convolution).
    """
    eff = d * (k - 1) + 1
    if padding == "valid":
        return 0, 0
    if padding == "full":
        return eff - 1, eff - 1
    if padding == "same":
        out = num.ceildiv(size, s)
        total = num.vmax((out - 1) * s + eff - size, 0)
        before = num.floordiv(total, 2)
        return before, total - before
    return padding[2 * axis], padding[2 * axis + 1]


def window(
    size: Any, k: Any, s: Any, d: Any, before: Any, after: Any, axis: str, ceil_mode: bool = False
) -> Any:
    """Output length of a sliding window: floor((size + pads - d(k-1) - 1) / s) + 1.

    With ``ceil_mode`` the division rounds up, but (as in PyTorch) the last window must
    start inside the input or the left padding.
    """
    eff = d * (k - 1) + 1
    padded = size + before + after
    if num.is_concrete(padded) and num.is_concrete(eff) and padded < eff:
        raise ShapeError(
            f"kernel {k}"
            + (f" (dilated to {eff})" if eff != k else "")
            + f" is larger than the padded input {axis} {padded} ({size} + padding)",
            hint="reduce the kernel, add padding, or remove a downsampling layer before it",
        )
    if ceil_mode:
        out = num.ceildiv(padded - eff, s) + 1
        if (
            num.is_concrete(out)
            and num.is_concrete(size + before)
            and (out - 1) * s >= size + before
        ):
            out -= 1
        return out
    return num.floordiv(padded - eff, s) + 1


class SlidingWindow(LayerKind):
    """Shared geometry of every kind that slides a k_h x k_w window."""

    category = "conv"
    flops_rule = "2 x MACs, + 1 per output value with bias"

    def geometry(self, a: Args, x: Shape, ceil_mode: bool = False) -> tuple[Any, Any, tuple]:
        """(H_out, W_out, ((before_h, after_h), (before_w, after_w)))."""
        _, h, w = spatial(x, self.op)
        stride = a.get("stride") or a.k
        dil = a.get("dilation", (1, 1))
        ph = pads(a.padding, h, a.k[0], stride[0], dil[0], 0)
        pw = pads(a.padding, w, a.k[1], stride[1], dil[1], 1)
        ho = window(h, a.k[0], stride[0], dil[0], *ph, "height", ceil_mode)
        wo = window(w, a.k[1], stride[1], dil[1], *pw, "width", ceil_mode)
        return ho, wo, (ph, pw)

    def rf(self, a: Args, xs: Sequence[Shape]) -> tuple[AxisRF, AxisRF]:
        _, h, w = spatial(xs[0], self.op)
        stride = a.get("stride") or a.k
        dil = a.get("dilation", (1, 1))
        out = []
        for axis, size in ((0, h), (1, w)):
            before, _ = pads(a.padding, size, a.k[axis], stride[axis], dil[axis], axis)
            out.append(AxisRF(dil[axis] * (a.k[axis] - 1) + 1, stride[axis], before, dil[axis]))
        return out[0], out[1]

    def window(self, a: Args) -> Window | None:
        return Window(a.k, a.get("stride") or a.k, a.get("dilation", (1, 1)))

    def cost_class(self, a: Args, xs: Sequence[Shape]) -> str:
        groups = a.get("groups", 1)
        if num.is_concrete(groups) and groups > 1:
            return GROUPED
        return CONV1X1 if a.k == (1, 1) else CONV

    def summary(self, a: Args) -> str:
        text = f"{a.k[0]}x{a.k[1]}"
        stride = a.get("stride") or a.k
        if stride != (1, 1):
            text += f" s{stride[0]}" if stride[0] == stride[1] else f" s{stride[0]}x{stride[1]}"
        dil = a.get("dilation", (1, 1))
        if dil != (1, 1):
            text += f" d{dil[0]}" if dil[0] == dil[1] else f" d{dil[0]}x{dil[1]}"
        if a.get("groups", 1) != 1:
            text += f" g{a.groups}"
        return text


def weighted(weights: Any, macs: Any, y: Shape, bias: bool) -> Costs:
    """Costs of a kind with ``weights`` and ``macs`` and, when ``bias`` is on, one bias per
    output channel added to every output value (1 FLOP each)."""
    if not bias:
        return Costs(weights, macs, 2 * macs)
    return Costs(weights + y[0], macs, 2 * macs + num.prod(y))


class Grouped(SlidingWindow):
    """A convolution with a ``groups`` argument: grouped when 1 < G < C_in."""

    def grouped(self, a: Args, xs: Sequence[Shape]) -> int:
        g, c_in = a.groups, xs[0][0]
        if num.is_concrete(g) and num.is_concrete(c_in) and 1 < g < c_in:
            return g
        return 0


GROUPS = Arg("int", "number of groups G (C_in and out divisible by G)", default=1, symbols=("g",))


def _divisible(c: Any, g: Any, what: str) -> None:
    if num.is_concrete(c) and num.is_concrete(g) and c % g:
        raise ShapeError(
            f"{what} {c} is not divisible by groups {g}",
            hint="channels must split evenly into groups",
        )


@register
class Conv(Grouped):
    op = "conv"
    doc = "2-D convolution (grouped, dilated, asymmetric kernels, optional bias)"
    macs_rule = "H_out W_out C_out (C_in / groups) k_h k_w"
    args = {
        "out": OUT,
        "k": KERNEL,
        "stride": STRIDE,
        "padding": PADDING,
        "dilation": DILATION,
        "groups": GROUPS,
        "bias": BIAS,
    }

    def depthwise(self, a: Args, xs: Sequence[Shape]) -> bool:
        g, c_in = a.groups, xs[0][0]
        return num.is_concrete(g) and num.is_concrete(c_in) and 1 < g == c_in

    def channel_source(self, a: Args, xs: Sequence[Shape], y: Shape, channel: int) -> Any:
        if not self.depthwise(a, xs):
            return None
        return channel // (y[0] // xs[0][0])

    def shape(self, a: Args, xs: Sequence[Shape]) -> Shape:
        c, _, _ = spatial(xs[0], self.op)
        _divisible(c, a.groups, "input channels")
        _divisible(a.out, a.groups, "output channels")
        ho, wo, _ = self.geometry(a, xs[0])
        return (a.out, ho, wo)

    def costs(self, a: Args, xs: Sequence[Shape], y: Shape) -> Costs:
        c_in = xs[0][0]
        # C_in / G is exact: shape() has checked that G divides C_in.
        per_out = num.div(c_in, a.groups) * a.k[0] * a.k[1]
        return weighted(a.out * per_out, y[1] * y[2] * a.out * per_out, y, a.bias)


@register
class DepthwiseConv(SlidingWindow):
    op = "dwconv"
    doc = "depthwise convolution: one k_h x k_w filter per input channel (x multiplier)"
    macs_rule = "H_out W_out C_out k_h k_w (C_out = multiplier x C_in)"
    args = {
        "k": KERNEL,
        "stride": STRIDE,
        "padding": PADDING,
        "dilation": DILATION,
        "multiplier": Arg(
            "int", "channel multiplier: outputs per input channel", default=1, symbols=("m",)
        ),
        "bias": BIAS,
    }

    def depthwise(self, a: Args, xs: Sequence[Shape]) -> bool:
        return True

    def channel_source(self, a: Args, xs: Sequence[Shape], y: Shape, channel: int) -> Any:
        return channel // a.multiplier

    def cost_class(self, a: Args, xs: Sequence[Shape]) -> str:
        return GROUPED

    def shape(self, a: Args, xs: Sequence[Shape]) -> Shape:
        c, _, _ = spatial(xs[0], self.op)
        ho, wo, _ = self.geometry(a, xs[0])
        return (check_dim(c * a.multiplier, "output channels"), ho, wo)

    def costs(self, a: Args, xs: Sequence[Shape], y: Shape) -> Costs:
        kk = a.k[0] * a.k[1]
        weights = y[0] * kk
        macs = y[1] * y[2] * y[0] * kk
        return weighted(weights, macs, y, a.bias)

    def summary(self, a: Args) -> str:
        return super().summary(a) + (f" x{a.multiplier}" if a.multiplier != 1 else "")


@register
class TransposedConv(Grouped):
    op = "deconv"
    doc = "transposed (fractionally-strided) convolution: out = (i-1)s - 2p + d(k-1) + op + 1"
    macs_rule = (
        "H_in W_in C_in (C_out / groups) k_h k_w: every input value meets every tap of its "
        "group's filters, whether or not the output padding crops the result"
    )
    args = {
        "out": OUT,
        "k": KERNEL,
        "stride": STRIDE,
        "padding": Arg(
            "padding",
            "padding removed from the output: p, [p_h, p_w] or 4 values",
            default=(0, 0, 0, 0),
            symbols=PAD_SYMBOLS,
        ),
        "output_padding": Arg(
            "pair",
            "extra rows/columns added on one side",
            default=(0, 0),
            min=0,
            symbols=("o_h", "o_w"),
        ),
        "dilation": DILATION,
        "groups": Arg("int", "number of groups", default=1, symbols=("g",)),
        "bias": BIAS,
    }

    def window(self, a: Args) -> Window | None:
        # Not a window over the input: each input value spreads over an output window.
        return None

    def validate(self, a: Args) -> None:
        if isinstance(a.padding, str):
            raise SpecError("deconv padding must be numbers, not same/valid/full")
        for axis in (0, 1):
            op, s, d = a.output_padding[axis], a.stride[axis], a.dilation[axis]
            if all(num.is_concrete(v) for v in (op, s, d)) and op >= max(s, d):
                raise ShapeError(
                    f"output_padding {op} must be smaller than the stride or the dilation"
                )

    def shape(self, a: Args, xs: Sequence[Shape]) -> Shape:
        c, h, w = spatial(xs[0], self.op)
        _divisible(c, a.groups, "input channels")
        _divisible(a.out, a.groups, "output channels")
        p = a.padding
        ho = (h - 1) * a.stride[0] - p[0] - p[1] + a.dilation[0] * (a.k[0] - 1)
        wo = (w - 1) * a.stride[1] - p[2] - p[3] + a.dilation[1] * (a.k[1] - 1)
        ho = check_dim(ho + a.output_padding[0] + 1, "output height")
        wo = check_dim(wo + a.output_padding[1] + 1, "output width")
        return (a.out, ho, wo)

    def costs(self, a: Args, xs: Sequence[Shape], y: Shape) -> Costs:
        c_in, h, w = xs[0]
        per_in = num.div(a.out, a.groups) * a.k[0] * a.k[1]  # G divides C_out (checked)
        weights = c_in * per_in
        # Every input value is multiplied by every tap of its group's filters.
        macs = h * w * c_in * per_in
        return weighted(weights, macs, y, a.bias)

    def rf(self, a: Args, xs: Sequence[Shape]) -> tuple[AxisRF, AxisRF]:
        # Output o reads inputs i with i*s - p + t*d = o: the field spans ceil(eff/s) inputs,
        # and the jump shrinks by s.
        out = []
        for axis in (0, 1):
            s, d, k = a.stride[axis], a.dilation[axis], a.k[axis]
            eff = d * (k - 1) + 1
            p = a.padding[2 * axis]
            first = num.ceildiv(p - eff + 1, s)
            out.append(AxisRF(num.ceildiv(eff, s), num.div(1, s), -first))
        return out[0], out[1]

    def rf_phases(self, a: Args, xs: Sequence[Shape]) -> tuple[Any, Any] | None:
        # Output o = q s + r reads input i = q + (r + p - t d) / s for the taps t where that
        # division is exact: neighbouring outputs read different taps (period s).
        out: list[AxisPhases | None] = []
        for axis in (0, 1):
            s, d, k, p = a.stride[axis], a.dilation[axis], a.k[axis], a.padding[2 * axis]
            if not all(isinstance(v, int) for v in (s, d, k, p)):
                out.append(None)  # symbolic: not tabulated
                continue
            out.append(
                phase_table(
                    s,
                    1,
                    lambda r, s=s, d=d, k=k, p=p: _deconv_reads(r + p, s, d, k),
                    (Fraction(p - d * (k - 1), s), Fraction(p, s)),
                )
            )
        return out[0], out[1]


def _deconv_reads(offset: int, s: int, d: int, k: int) -> Taps:
    """The inputs read by the output at ``offset`` (its index plus the padding) of a
    transposed conv: i = (offset - t d) / s over the taps t < k where it is whole."""
    g = math.gcd(s, d)
    cycle = s // g  # the taps that divide exactly repeat every `cycle`, d / g inputs apart
    first = next((t for t in range(min(cycle, k)) if (offset - t * d) % s == 0), None)
    if first is None:
        return None
    last = first + (k - 1 - first) // cycle * cycle
    return (offset - last * d) // s, (offset - first * d) // s, d // g


@register
class DeformableConv(Grouped):
    op = "deform_conv"
    doc = "deformable convolution (v1, or v2 with modulation), its offset conv included"
    macs_rule = (
        "the main conv, plus its offset-predicting conv (2 k_h k_w offset channels per "
        "offset group, 3 k_h k_w with modulation)"
    )
    flops_rule = (
        "2 x MACs, + 7 per sampled value (bilinear: 4 multiplies, 3 adds; 8 with "
        "modulation), + the bias adds of both convs"
    )
    args = {
        "out": OUT,
        "k": KERNEL,
        "stride": STRIDE,
        "padding": PADDING,
        "dilation": DILATION,
        "groups": Arg("int", "groups of the main convolution", default=1, symbols=("g",)),
        "offset_groups": Arg(
            "int", "deformable groups: offset fields predicted", default=1, symbols=("G_off",)
        ),
        "modulated": Arg("bool", "v2: also predict a modulation scalar per tap", default=False),
        "bias": BIAS,
    }

    def window(self, a: Args) -> Window | None:
        # The taps move with learned offsets: no fixed grid for the dilation rules.
        return None

    def shape(self, a: Args, xs: Sequence[Shape]) -> Shape:
        c, _, _ = spatial(xs[0], self.op)
        _divisible(c, a.groups, "input channels")
        _divisible(c, a.offset_groups, "input channels (offset_groups)")
        ho, wo, _ = self.geometry(a, xs[0])
        return (a.out, ho, wo)

    def costs(self, a: Args, xs: Sequence[Shape], y: Shape) -> Costs:
        c_in = xs[0][0]
        kk = a.k[0] * a.k[1]
        hw = y[1] * y[2]
        per_tap = 3 if a.modulated else 2  # (dy, dx) per tap, plus a mask scalar in v2
        off_ch = a.offset_groups * per_tap * kk
        off_weights = off_ch * c_in * kk + off_ch  # the offset conv always has a bias
        off_macs = hw * off_ch * c_in * kk
        per_out = num.div(c_in, a.groups) * kk  # G divides C_in (checked)
        weights = a.out * per_out + (a.out if a.bias else 0)
        macs = hw * a.out * per_out
        # Bilinear sampling: 4 taps weighted and summed (7 FLOPs) per sampled value, plus one
        # multiply by the modulation scalar in v2; bias adds of both convs.
        samples = hw * c_in * kk
        flops = 2 * (macs + off_macs) + samples * (8 if a.modulated else 7)
        flops += hw * off_ch + (hw * a.out if a.bias else 0)
        return Costs(weights + off_weights, macs + off_macs, flops)


@register
class LocallyConnected(SlidingWindow):
    op = "local_conv"
    doc = "locally connected layer: like conv, but every output position has its own weights"
    macs_rule = "as conv: H_out W_out C_out C_in k_h k_w (each position its own weights)"
    args = {
        "out": OUT,
        "k": KERNEL,
        "stride": STRIDE,
        "padding": PADDING,
        "dilation": DILATION,
        "bias": Arg(
            "bool", "a learnable bias per output value (position and channel)", default=True
        ),
    }

    def shape(self, a: Args, xs: Sequence[Shape]) -> Shape:
        ho, wo, _ = self.geometry(a, xs[0])
        return (a.out, ho, wo)

    def costs(self, a: Args, xs: Sequence[Shape], y: Shape) -> Costs:
        outputs = y[0] * y[1] * y[2]
        macs = outputs * xs[0][0] * a.k[0] * a.k[1]
        bias = outputs if a.bias else 0
        return Costs(macs + bias, macs, 2 * macs + bias)


@register
class TiledConv(SlidingWindow):
    op = "tiled_conv"
    doc = "tiled convolution: t_h x t_w kernel sets cycling over output positions"
    macs_rule = "as conv: H_out W_out C_out C_in k_h k_w (each position its tile's weights)"
    args = {
        "out": OUT,
        "k": KERNEL,
        "tiles": Arg(
            "pair",
            "kernel sets per axis, t or [t_h, t_w] (1 = ordinary conv)",
            symbols=("t_h", "t_w"),
        ),
        "stride": STRIDE,
        "padding": PADDING,
        "dilation": DILATION,
        "bias": BIAS,
    }

    def shape(self, a: Args, xs: Sequence[Shape]) -> Shape:
        ho, wo, _ = self.geometry(a, xs[0])
        return (a.out, ho, wo)

    def costs(self, a: Args, xs: Sequence[Shape], y: Shape) -> Costs:
        per_set = a.out * xs[0][0] * a.k[0] * a.k[1]
        return weighted(a.tiles[0] * a.tiles[1] * per_set, y[1] * y[2] * per_set, y, a.bias)


@register
class TableConv(SlidingWindow):
    op = "table_conv"
    doc = "convolution with a connection table T (P x D): output p reads input d iff T[p][d]"
    macs_rule = "H_out W_out K k_h k_w, K = the connection table's non-zeros"
    args = {
        "table": Arg("matrix", "P rows (outputs) of D columns (inputs), each 0 or 1"),
        "k": KERNEL,
        "stride": STRIDE,
        "padding": PADDING,
        "dilation": DILATION,
        "bias": BIAS,
    }

    def shape(self, a: Args, xs: Sequence[Shape]) -> Shape:
        c, _, _ = spatial(xs[0], self.op)
        if num.is_concrete(c) and len(a.table[0]) != c:
            raise ShapeError(
                f"connection table has {len(a.table[0])} columns but the input has {c} channels"
            )
        ho, wo, _ = self.geometry(a, xs[0])
        return (len(a.table), ho, wo)

    def costs(self, a: Args, xs: Sequence[Shape], y: Shape) -> Costs:
        connections = sum(sum(row) for row in a.table)  # K, the table's non-zeros
        kk = a.k[0] * a.k[1]
        macs = y[1] * y[2] * connections * kk
        return weighted(connections * kk, macs, y, a.bias)
