"""Ops that join branches: add, concat, multiply (channel scaling)."""

from __future__ import annotations

from collections.abc import Sequence

from convcalc import num
from convcalc.errors import ShapeError
from convcalc.layers.base import Costs, Free, LayerKind, Shape
from convcalc.layers.registry import register


def _show(shape: Shape) -> str:
    return "x".join(str(v) for v in shape)


def _same(a: object, b: object) -> bool:
    """Equal, or not decidable now (symbolic sizes are checked once bound)."""
    if num.is_concrete(a) and num.is_concrete(b):
        return a == b
    return True


class Merge(LayerKind):
    category = "merge"
    inputs = (2, None)
    flops_rule = "n - 1 for n inputs"


@register
class Add(Merge):
    op = "add"
    doc = "element-wise sum of inputs of one shape (residual joins); (n-1) FLOP/value"

    def shape(self, a: object, xs: Sequence[Shape]) -> Shape:
        first = xs[0]
        for other in xs[1:]:
            if len(other) != len(first) or not all(map(_same, first, other)):
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

    def shape(self, a: object, xs: Sequence[Shape]) -> Shape:
        # The output is the full-size input; a C x 1 x 1 gate broadcasts over it.
        full = next((x for x in xs if len(x) != 3 or x[1:] != (1, 1)), xs[0])
        for x in xs:
            broadcast = len(x) == 3 == len(full) and x[1:] == (1, 1) and _same(x[0], full[0])
            if broadcast or (len(x) == len(full) and all(map(_same, x, full))):
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
    doc = "concatenation along channels (features, for vectors); no cost"

    def input_symbols(self, count: int) -> list[str]:
        # Inputs of different widths each get their own name: C_1 + C_2 + ...
        return [f"C_{i + 1}" for i in range(count)] if count > 1 else ["C_in"]

    def shape(self, a: object, xs: Sequence[Shape]) -> Shape:
        first = xs[0]
        for other in xs[1:]:
            if len(other) != len(first) or not all(map(_same, first[1:], other[1:])):
                raise ShapeError(
                    f"concat needs equal spatial sizes, got {_show(first)} and {_show(other)}",
                    hint="check strides and padding on each branch",
                )
        return (sum(x[0] for x in xs), *first[1:])
