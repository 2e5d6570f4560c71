"""Layout ops on tensors of any rank: permuting axes, splitting into chunks, and padding a
map's borders. None performs arithmetic."""

from __future__ import annotations

from collections.abc import Sequence

from convcalc import num
from convcalc.errors import ShapeError, SpecError
from convcalc.layers.base import (
    LOST,
    MAP,
    SAME,
    Arg,
    Args,
    AxisRF,
    Free,
    Shape,
    axis_of,
    channel_axis,
    spatial,
)
from convcalc.layers.registry import register


class _Reorder(Free):
    """Axes in a new order; a view in PyTorch (no copy until a later op needs one)."""

    category = "shape"
    is_view = True

    def order(self, a: Args, rank: int) -> tuple[int, ...]:
        raise NotImplementedError

    def shape(self, a: Args, xs: Sequence[Shape]) -> Shape:
        x = xs[0]
        return tuple(x[i] for i in self.order(a, len(x)))

    def positions(self, a: Args, xs: Sequence[Shape], y: Shape) -> str:
        # Only the identity keeps the axes where the receptive field expects them.
        rank = len(xs[0])
        if self.order(a, rank) != tuple(range(rank)):
            return LOST
        return MAP if rank == 3 else (SAME if rank == 2 else LOST)


@register
class Permute(_Reorder):
    op = "permute"
    doc = "axes in a new order (PyTorch's permute): output axis i is input axis order[i]; no cost"
    args = {"order": Arg("axes", "the input axis of each output axis, a permutation")}

    def order(self, a: Args, rank: int) -> tuple[int, ...]:
        order = tuple(axis_of(v, rank, self.op) for v in a.order)
        if len(order) != rank or sorted(order) != list(range(rank)):
            raise ShapeError(
                f"permute order {list(a.order)} is not a permutation of the {rank} axes"
            )
        return order

    def summary(self, a: Args) -> str:
        return ",".join(str(v) for v in a.order)


@register
class Transpose(_Reorder):
    op = "transpose"
    doc = "two axes swapped (PyTorch's transpose; by default the last two); no cost"
    args = {"axes": Arg("axes", "the two axes swapped", default=(-2, -1))}

    def validate(self, a: Args) -> None:
        if len(a.axes) != 2:
            raise SpecError(f"transpose swaps two axes, got {len(a.axes)}")

    def order(self, a: Args, rank: int) -> tuple[int, ...]:
        if rank < 2:
            raise ShapeError("transpose needs a tensor of at least 2 axes")
        i, j = (axis_of(v, rank, self.op) for v in a.axes)
        order = list(range(rank))
        order[i], order[j] = j, i
        return tuple(order)


@register
class Chunk(Free):
    op = "chunk"
    doc = (
        "one of n equal parts along an axis (PyTorch's chunk or an even split: q, k and v "
        "of a joint projection, YOLO's box and class halves); a view, no cost"
    )
    category = "shape"
    is_view = True
    args = {
        "chunks": Arg("int", "the number of equal parts n", symbols=("n",)),
        "index": Arg("int", "which part (0-based)", default=0, min=0),
        "axis": Arg("axis", "the axis split (none: the channel axis)", default=None),
    }

    def _axis(self, a: Args, x: Shape) -> int:
        return channel_axis(x) if a.axis is None else axis_of(a.axis, len(x), self.op)

    def shape(self, a: Args, xs: Sequence[Shape]) -> Shape:
        x = xs[0]
        axis = self._axis(a, x)
        size, n = x[axis], a.chunks
        if num.is_concrete(size) and num.is_concrete(n) and size % n:
            raise ShapeError(f"axis {axis} of size {size} does not split into {n} equal chunks")
        if num.is_concrete(n) and num.is_concrete(a.index) and a.index >= n:
            raise ShapeError(f"chunk index {a.index} is not below the {n} chunks")
        return (*x[:axis], num.floordiv(size, n), *x[axis + 1 :])

    def positions(self, a: Args, xs: Sequence[Shape], y: Shape) -> str:
        x = xs[0]
        axis = self._axis(a, x)
        if len(x) == 3:
            return MAP if axis == 0 else LOST
        return SAME if len(x) == 2 else LOST

    def summary(self, a: Args) -> str:
        return f"{a.index}/{a.chunks}"


@register
class Pad(Free):
    op = "pad"
    doc = (
        "a map's borders widened by constant, reflected or replicated values, per side "
        "(PyTorch's F.pad); no arithmetic, but a copy"
    )
    category = "shape"
    channel_local = True
    args = {
        "padding": Arg(
            "padding",
            "p, [p_h, p_w] or [top, bottom, left, right]",
            symbols=("p_t", "p_b", "p_l", "p_r"),
        ),
        "mode": Arg(
            "choice",
            "constant (the value), reflect (mirrored without the edge), replicate (the edge "
            "repeated)",
            default="constant",
            choices=("constant", "reflect", "replicate"),
        ),
        "value": Arg("number", "the constant of constant padding (recorded)", default=0),
    }

    def validate(self, a: Args) -> None:
        if isinstance(a.padding, str):
            raise SpecError("pad takes numbers: p, [p_h, p_w] or [top, bottom, left, right]")

    def shape(self, a: Args, xs: Sequence[Shape]) -> Shape:
        c, h, w = spatial(xs[0], self.op)
        top, bottom, left, right = a.padding
        if a.mode == "reflect":  # PyTorch: each pad below the size of its axis
            sides = ((top, h, "height"), (bottom, h, "height"), (left, w, "width"))
            for pad, size, axis in (*sides, (right, w, "width")):
                if num.is_concrete(pad) and num.is_concrete(size) and pad >= size:
                    raise ShapeError(
                        f"reflect padding {pad} must be smaller than the input {axis} {size}"
                    )
        return (c, h + top + bottom, w + left + right)

    def rf(self, a: Args, xs: Sequence[Shape]) -> tuple[AxisRF, AxisRF]:
        # Output unit u is input unit u - top (the border units count as padding, as a
        # conv's, whatever the values they copy).
        top, _, left, _ = a.padding
        return AxisRF(1, 1, top), AxisRF(1, 1, left)

    def summary(self, a: Args) -> str:
        return f"{a.mode} {','.join(str(v) for v in a.padding)}"
