"""Products of activations: ``matmul`` between two tensors, and ``attention``, multi-head
self-attention over tokens or over the positions of a map, globally or in (shifted)
windows, counted as the sum of its parts (docs/conventions.md, "Attention").
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from convcalc import num
from convcalc.errors import ShapeError, SpecError
from convcalc.layers.base import (
    ACT,
    ALL,
    LINEAR,
    MAP,
    Arg,
    Args,
    AxisPhases,
    AxisRF,
    Costs,
    LayerKind,
    Saved,
    Shape,
    phase_table,
    same_size,
    show_shape,
)
from convcalc.layers.registry import register


@register
class MatMul(LayerKind):
    op = "matmul"
    doc = (
        "the matrix product of two activations (..., m, k) @ (..., k, n) -> (..., m, n) over "
        "equal leading axes (a size 1 broadcasts), as attention's q k^T and its weighted sum "
        "of v; no parameters"
    )
    category = "linear"
    inputs = (2, 2)
    macs_rule = "k per output value (the inner size times the output size)"
    flops_rule = "2 x MACs"
    args = {
        "transpose": Arg(
            "bool", "use the second input with its last two axes swapped (q @ k^T)", default=False
        )
    }

    def _operands(self, a: Args, xs: Sequence[Shape]) -> tuple[Shape, Shape]:
        x, z = xs
        if len(x) < 2 or len(z) < 2:
            raise ShapeError(
                f"matmul needs two tensors of at least 2 axes, got {show_shape(x)} and "
                f"{show_shape(z)}"
            )
        if a.transpose:
            z = (*z[:-2], z[-1], z[-2])
        return x, z

    def shape(self, a: Args, xs: Sequence[Shape]) -> Shape:
        x, z = self._operands(a, xs)
        shown = f"{show_shape(x)} @ {show_shape(z)}" + (" (second transposed)" * a.transpose)
        if len(x) != len(z):
            raise ShapeError(f"matmul of {shown}: the operands have different ranks")
        if not same_size(x[-1], z[-2]):
            raise ShapeError(
                f"matmul of incompatible shapes {shown}: inner sizes {x[-1]} and {z[-2]} differ"
            )
        batch = []
        for u, v in zip(x[:-2], z[:-2], strict=True):
            if not (u == 1 or v == 1 or same_size(u, v)):
                raise ShapeError(f"matmul of {shown}: leading sizes {u} and {v} differ")
            batch.append(v if u == 1 else u)
        return (*batch, x[-2], z[-1])

    def costs(self, a: Args, xs: Sequence[Shape], y: Shape) -> Costs:
        x, _ = self._operands(a, xs)
        macs = num.prod(y) * x[-1]
        return Costs(0, macs, 2 * macs)

    def cost_class(self, a: Args, xs: Sequence[Shape]) -> str:
        return LINEAR

    saves_rule = "both inputs (each one's gradient is a product with the other)"

    def backward_flops(
        self, a: Args, xs: Sequence[Shape], y: Shape, c: Costs, grad_in: bool
    ) -> Any:
        # The gradient of each input is a product as large as the forward one.
        return 2 * 2 * c.macs if grad_in else 0

    def positions(self, a: Args, xs: Sequence[Shape], y: Shape) -> str:
        return ALL  # each output sums over a whole axis of both inputs


def _pair_text(v: tuple) -> str:
    return str(v[0]) if v[0] == v[1] else f"{v[0]}x{v[1]}"


@register
class Attention(LayerKind):
    op = "attention"
    doc = (
        "multi-head self-attention (Vaswani et al. 2017) over tokens (N, C) or the positions "
        "of a C x H x W map: q, k, v projections, scores q k^T / sqrt(d) (+ a relative "
        "position bias), softmax, the weighted sum of v, an output projection; optionally in "
        "windows of the map, shifted (Swin, Liu et al. 2021), the map padded at the bottom "
        "and right to whole windows"
    )
    category = "linear"
    macs_rule = (
        "P x C x 3I (q, k, v) + 2 x S x d (q k^T and the weighted sum of v) + P x I x O "
        "(output projection), for P positions (padded to whole windows), S scores (heads x "
        "tokens^2 per window), head width d and inner width I = heads x d"
    )
    flops_rule = (
        "2 x MACs, + (3I + O) x P with bias, + I x P (q scaled by 1/sqrt(d)), + 3 x S "
        "(softmax), + S with the relative position bias, + S with a shifted window's mask"
    )
    args = {
        "heads": Arg("int", "attention heads h", symbols=("h",)),
        "head_dim": Arg(
            "int", "width d of each head (default: C / heads)", default=None, symbols=("d",)
        ),
        "out": Arg("int", "output width O (default: the input width C)", default=None),
        "bias": Arg("bool", "biases on the q, k, v and output projections", default=True),
        "window": Arg(
            "pair",
            "attend within windows w or [w_h, w_w] of a map (default: every position)",
            default=None,
            symbols=("w_h", "w_w"),
        ),
        "shift": Arg(
            "pair",
            "shifted windows: the map rolled by s or [s_h, s_w] before the partition, with "
            "the mask that keeps wrapped regions apart; dropped on an axis that one window "
            "covers, as torchvision's Swin does",
            default=(0, 0),
            min=0,
            symbols=("s_h", "s_w"),
        ),
        "rel_pos_bias": Arg(
            "bool",
            "a learned relative position bias per head: (2 w_h - 1)(2 w_w - 1) x heads params, "
            "added to the scores",
            default=False,
        ),
    }

    def validate(self, a: Args) -> None:
        shifted = any(not num.is_concrete(s) or s != 0 for s in a.shift)
        if a.window is None and (shifted or a.rel_pos_bias):
            raise SpecError("shift and rel_pos_bias need a 'window'")
        if a.window is not None:
            for s, w in zip(a.shift, a.window, strict=True):
                if num.is_concrete(s) and num.is_concrete(w) and s >= w:
                    raise SpecError(f"shift {s} must be smaller than the window {w}")

    def _width(self, a: Args, x: Shape) -> tuple[Any, Any]:
        """(C, head width d) of an input, checking heads against the width."""
        if len(x) not in (2, 3):
            raise ShapeError(
                f"attention needs tokens (N, C) or a feature map (C, H, W), got {show_shape(x)}"
            )
        c = x[0] if len(x) == 3 else x[1]
        if a.head_dim is not None:
            return c, a.head_dim
        if num.is_concrete(c) and num.is_concrete(a.heads) and c % a.heads:
            raise ShapeError(
                f"attention width {c} is not divisible by {a.heads} heads",
                hint="set head_dim, or a width that is a multiple of heads",
            )
        return c, num.floordiv(c, a.heads)

    def shape(self, a: Args, xs: Sequence[Shape]) -> Shape:
        x = xs[0]
        c, _ = self._width(a, x)
        out = c if a.out is None else a.out
        if len(x) == 2:
            if a.window is not None:
                raise ShapeError(
                    "windowed attention needs a feature map (C, H, W)",
                    hint="op: to_map turns tokens back into a map",
                )
            return (x[0], out)
        return (out, x[1], x[2])

    def _grid(self, a: Args, x: Shape) -> tuple[Any, Any, Any, tuple[Any, Any]]:
        """Positions P (padded), windows, tokens per window and, per axis, whether the shift
        is in effect (a condition where it depends on free sizes)."""
        if len(x) == 2:
            return x[0], 1, x[0], (False, False)
        h, w = x[1], x[2]
        if a.window is None:
            return h * w, 1, h * w, (False, False)
        (wh, ww), padded, shift = a.window, [], []
        for size, win, s in ((h, wh, a.shift[0]), (w, ww, a.shift[1])):
            full = num.ceildiv(size, win) * win
            padded.append(full)
            # torchvision drops the shift where one window covers the padded axis: the shift
            # in effect, or a condition on the free sizes where that is undecided.
            shift.append(num.logic("and", num.ne(s, 0), num.lt(win, full)))
        windows = num.floordiv(padded[0], wh) * num.floordiv(padded[1], ww)
        return padded[0] * padded[1], windows, wh * ww, (shift[0], shift[1])

    def costs(self, a: Args, xs: Sequence[Shape], y: Shape) -> Costs:
        x = xs[0]
        c, d = self._width(a, x)
        inner = a.heads * d
        out = c if a.out is None else a.out
        positions, windows, tokens, shift = self._grid(a, x)
        scores = windows * a.heads * tokens * tokens
        macs = positions * c * 3 * inner + 2 * scores * d + positions * inner * out
        params = 3 * inner * c + inner * out
        flops = 2 * macs + positions * inner + 3 * scores
        if a.bias:
            params += 3 * inner + out
            flops += positions * (3 * inner + out)
        if a.rel_pos_bias:
            wh, ww = a.window
            params += (2 * wh - 1) * (2 * ww - 1) * a.heads
            flops += scores
        # The mask is added to every window's scores (torchvision adds it to all), where a
        # shift is in effect.
        shifted = num.logic("or", *shift)
        if num.decided(shifted) is None:
            flops += scores * num.indicator(shifted)
        elif num.decided(shifted):
            flops += scores
        return Costs(params, macs, flops)

    def cost_class(self, a: Args, xs: Sequence[Shape]) -> str:
        return LINEAR

    saves_rule = (
        "its input, the q, k, v projection, the attention weights (the softmax output, one "
        "per score), the weighted sum before the output projection and, without windows, q "
        "and k scaled by PyTorch's math attention (measured on torchvision's ViT and Swin)"
    )

    def saved(self, a: Args, xs: Sequence[Shape], y: Shape) -> Saved:
        # The projection keeps its input; q k^T and the weighted sum keep views of the
        # q, k, v projection's output (with q scaled: Swin scales q alone, counted in the
        # product; PyTorch's math attention scales q and k, two tensors more), the softmax
        # its output, the output projection its input.
        x = xs[0]
        _, d = self._width(a, x)
        positions, windows, tokens, _ = self._grid(a, x)
        inner = a.heads * d
        scores = windows * a.heads * tokens * tokens
        extras = [
            ("q, k, v", 3 * positions * inner, ACT),
            ("attention weights", scores, ACT),
            ("weighted sum", positions * inner, ACT),
        ]
        if a.window is None:
            extras.append(("scaled q and k", 2 * positions * inner, ACT))
        return Saved(inputs=(0,), extras=tuple(extras))

    def _whole(self, a: Args, x: Shape) -> bool:
        """Whether every output reads every position (no windows, or one window)."""
        if len(x) == 2 or a.window is None:
            return True
        _, windows, _, _ = self._grid(a, x)
        return num.is_concrete(windows) and windows == 1

    def positions(self, a: Args, xs: Sequence[Shape], y: Shape) -> str:
        return ALL if self._whole(a, xs[0]) else MAP

    def rf(self, a: Args, xs: Sequence[Shape]) -> tuple[AxisRF, AxisRF]:
        # The uniform bound of a window: every unit reads at most a window, up to w - 1
        # units either side of itself (the exact field is per phase, below).
        if a.window is None:
            return AxisRF(), AxisRF()
        return tuple(AxisRF(2 * w - 1, 1, w - 1) for w in a.window)  # type: ignore[return-value]

    def rf_phases(
        self, a: Args, xs: Sequence[Shape]
    ) -> tuple[AxisPhases | None, AxisPhases | None] | None:
        # Unit u = q w + r of an axis reads its window: [q w, q w + w - 1] unshifted; with a
        # shift s the windows start at s (mod w), so phases r < s read [q w + s - w,
        # q w + s - 1] and the others [q w + s, q w + s + w - 1]. At the map's edges the
        # first and last windows are cut (the mask); the field, periodic, shows them whole
        # as if padded.
        if a.window is None:
            return None
        _, _, _, shifted = self._grid(a, xs[0])
        axes = []
        for w, s, on in zip(a.window, a.shift, shifted, strict=True):
            if not (num.is_concrete(w) and num.is_concrete(s)) or num.decided(on) is None:
                axes.append(None)
                continue
            s = s if num.decided(on) else 0

            def reads(r: int, w: int = w, s: int = s) -> tuple[int, int, int]:
                lo = s - w if r < s else s
                return (lo, lo + w - 1, 1)

            lows = [reads(r)[0] - r for r in range(w)]
            highs = [reads(r)[1] - r for r in range(w)]
            axes.append(phase_table(w, w, reads, (min(lows), max(highs))))
        return axes[0], axes[1]

    def summary(self, a: Args) -> str:
        text = f"h{a.heads}"
        if a.window is not None:
            text += f" w{_pair_text(a.window)}"
            if a.shift != (0, 0):
                text += f" s{_pair_text(a.shift)}"
        return text
