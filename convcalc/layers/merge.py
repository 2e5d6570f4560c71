"""Ops that join branches: add, concat, multiply (channel scaling)."""

from __future__ import annotations

from collections.abc import Sequence

from convcalc import num
from convcalc.errors import ShapeError
from convcalc.layers.base import (
    LOST,
    MAP,
    NOTHING_SAVED,
    SAME,
    Arg,
    Args,
    Costs,
    Free,
    LayerKind,
    Saved,
    Shape,
    axis_of,
    channel_axis,
    same_size,
)
from convcalc.layers.registry import register


def _show(shape: Shape) -> str:
    return "x".join(str(v) for v in shape)


class Merge(LayerKind):
    category = "merge"
    inputs = (2, None)
    flops_rule = "n - 1 for n inputs"


@register
class Add(Merge):
    op = "add"
    doc = "element-wise sum of inputs of one shape (residual joins); (n-1) FLOP/value"
    saves_rule = "nothing (the gradient passes to every input as it is)"

    def saved(self, a: object, xs: Sequence[Shape], y: Shape) -> Saved:
        return NOTHING_SAVED

    def shape(self, a: object, xs: Sequence[Shape]) -> Shape:
        first = xs[0]
        for other in xs[1:]:
            if len(other) != len(first) or not all(map(same_size, first, other)):
                raise ShapeError(
                    f"add needs inputs of one shape, got {_show(first)} and {_show(other)}",
                    hint="use a projection (1x1 conv, stride) on the shortcut to match",
                )
        return first

    def costs(self, a: object, xs: Sequence[Shape], y: Shape) -> Costs:
        return Costs(0, 0, (len(xs) - 1) * num.prod(y))


@register
class Multiply(Merge):
    op = "multiply"
    doc = "element-wise product; a C x 1 x 1 input scales channels (SE gates); (n-1) FLOP/value"
    saves_rule = "every input (each one's gradient is the product of the others)"

    def shape(self, a: object, xs: Sequence[Shape]) -> Shape:
        # The output is the full-size input; a C x 1 x 1 gate broadcasts over it.
        full = next((x for x in xs if len(x) != 3 or x[1:] != (1, 1)), xs[0])
        for x in xs:
            broadcast = len(x) == 3 == len(full) and x[1:] == (1, 1) and same_size(x[0], full[0])
            if broadcast or (len(x) == len(full) and all(map(same_size, x, full))):
                continue
            raise ShapeError(
                f"multiply needs equal shapes or a C x 1 x 1 scale, got {_show(x)} "
                f"and {_show(full)}"
            )
        return full

    def costs(self, a: object, xs: Sequence[Shape], y: Shape) -> Costs:
        return Costs(0, 0, (len(xs) - 1) * num.prod(y))


@register
class Concat(Free, Merge):
    op = "concat"
    doc = (
        "concatenation along the channel axis (a map's channels, the features of a vector, "
        "the last axis of tokens and other shapes) or another axis; no cost"
    )
    args = {
        "axis": Arg(
            "axis",
            "the axis joined (none: the channel axis; 0 joins the tokens of (N, C))",
            default=None,
        )
    }

    def _axis(self, a: Args, x: Shape) -> int:
        return channel_axis(x) if a.axis is None else axis_of(a.axis, len(x), self.op)

    def input_symbols(self, count: int) -> list[str]:
        # Inputs of different widths each get their own name: C_1 + C_2 + ...
        return [f"C_{i + 1}" for i in range(count)] if count > 1 else ["C_in"]

    def shape(self, a: Args, xs: Sequence[Shape]) -> Shape:
        first = xs[0]
        axis = self._axis(a, first)
        for other in xs[1:]:
            if len(other) != len(first) or not all(
                same_size(u, v)
                for i, (u, v) in enumerate(zip(first, other, strict=True))
                if i != axis
            ):
                what = "spatial sizes" if len(first) == 3 and axis == 0 else "other sizes"
                raise ShapeError(
                    f"concat needs equal {what}, got {_show(first)} and {_show(other)}",
                    hint="check strides and padding on each branch",
                )
        return (*first[:axis], sum(x[axis] for x in xs), *first[axis + 1 :])

    def positions(self, a: Args, xs: Sequence[Shape], y: Shape) -> str:
        # Channels of maps side by side keep each position's field (the union); maps joined
        # along their height or width move positions.
        if len(y) == 3:
            return MAP if self._axis(a, y) == 0 else LOST
        return SAME if len(y) == 2 else LOST
