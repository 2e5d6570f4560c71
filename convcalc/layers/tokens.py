"""Tokens and learned tensors: a feature map as a sequence of tokens and back, and the
learned tensors a transformer adds, multiplies or prepends (class token, position
embedding, layer scale, relative position bias).

Tokens are ``(N, C)``: N positions of width C, in the row-major order of the map they came
from (PyTorch's ``x.flatten(2).transpose(1, 2)`` of a ``(B, C, H, W)`` map, without the
batch). Each token keeps the receptive field of its map position.
"""

from __future__ import annotations

from collections.abc import Sequence

from convcalc import num
from convcalc.errors import ShapeError
from convcalc.layers.base import (
    LOST,
    MAP,
    MAX_RANK,
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
    same_size,
    show_shape,
    spatial,
)
from convcalc.layers.registry import register


@register
class ToTokens(Free):
    op = "to_tokens"
    doc = (
        "a C x H x W map to H*W tokens of width C, (N, C) in row-major order (ViT's patch "
        "embedding is a conv with kernel = stride = the patch size, then this); no cost"
    )
    category = "shape"
    is_view = True  # PyTorch's flatten(2).transpose(1, 2) is a view

    def shape(self, a: Args, xs: Sequence[Shape]) -> Shape:
        c, h, w = spatial(xs[0], self.op)
        return (h * w, c)

    def positions(self, a: Args, xs: Sequence[Shape], y: Shape) -> str:
        return SAME  # token p is map position p


@register
class ToMap(Free):
    op = "to_map"
    doc = "N tokens of width C, (N, C), back to a C x H x W map with N = H*W; no cost"
    category = "shape"
    is_view = True
    args = {"size": Arg("pair", "the map's size s or [H, W]", symbols=("H", "W"))}

    def shape(self, a: Args, xs: Sequence[Shape]) -> Shape:
        x = xs[0]
        if len(x) != 2:
            raise ShapeError(f"to_map needs tokens (N, C), got a tensor of shape {show_shape(x)}")
        n, c = x
        h, w = a.size
        if not same_size(n, h * w):
            raise ShapeError(f"to_map to {h}x{w} needs {h * w} tokens, got {n}")
        return (c, h, w)

    def positions(self, a: Args, xs: Sequence[Shape], y: Shape) -> str:
        return SAME

    def summary(self, a: Args) -> str:
        return f"to {a.size[0]}x{a.size[1]}"


@register
class Parameter(LayerKind):
    op = "parameter"
    doc = (
        "a learned tensor added to, multiplied with or concatenated to the input: a class "
        "token (concat [1, C] along the tokens), a position embedding (add [N, C]), a layer "
        "scale (multiply [C, 1, 1] or [C]), a relative position bias (add, with its table's "
        "size as 'learned'); its values are parameters"
    )
    category = "other"
    flops_rule = "1 per output value to add or multiply; 0 to concatenate (a copy)"
    args = {
        "shape": Arg(
            "ints",
            "the learned tensor's shape; add and multiply broadcast it against the input "
            "(NumPy's rules), concat joins it along 'axis'",
        ),
        "mode": Arg(
            "choice", "how it meets the input", default="add", choices=("add", "multiply", "concat")
        ),
        "axis": Arg("axis", "the axis of a concat (0: before the tokens of (N, C))", default=0),
        "learned": Arg(
            "int",
            "learned values when fewer than the shape holds (a relative position bias is "
            "gathered from a table of (2 w_h - 1)(2 w_w - 1) x heads values); default: the "
            "product of the shape",
            default=None,
        ),
    }

    def validate(self, a: Args) -> None:
        if len(a.shape) > MAX_RANK:
            raise ShapeError(f"a parameter has at most {MAX_RANK} axes, got {len(a.shape)}")

    def shape(self, a: Args, xs: Sequence[Shape]) -> Shape:
        x, p = xs[0], a.shape
        if a.mode == "concat":
            axis = axis_of(a.axis, len(x), self.op)
            if len(p) != len(x) or not all(
                same_size(u, v) for i, (u, v) in enumerate(zip(x, p, strict=True)) if i != axis
            ):
                raise ShapeError(
                    f"a parameter of shape {show_shape(p)} cannot be concatenated to "
                    f"{show_shape(x)} along axis {a.axis}: the other sizes must match"
                )
            return (*x[:axis], x[axis] + p[axis], *x[axis + 1 :])
        if len(p) > len(x) or not all(
            v == 1 or same_size(u, v) for u, v in zip(x[len(x) - len(p) :], p, strict=True)
        ):
            raise ShapeError(
                f"a parameter of shape {show_shape(p)} does not broadcast against {show_shape(x)}",
                hint="each of its sizes, matched from the last axis, must equal the input's or 1",
            )
        return x

    def costs(self, a: Args, xs: Sequence[Shape], y: Shape) -> Costs:
        learned = num.prod(a.shape) if a.learned is None else a.learned
        return Costs(learned, 0, 0 if a.mode == "concat" else num.prod(y))

    saves_rule = "its input when it multiplies (for the learned tensor's gradient); else nothing"

    def saved(self, a: Args, xs: Sequence[Shape], y: Shape) -> Saved:
        return Saved(inputs=(0,)) if a.mode == "multiply" else NOTHING_SAVED

    def positions(self, a: Args, xs: Sequence[Shape], y: Shape) -> str:
        x = xs[0]
        if a.mode == "concat" and len(x) == 3 and axis_of(a.axis, 3, self.op) != 0:
            return LOST  # a map grown along its height or width
        return MAP if len(x) == 3 else (SAME if len(x) == 2 else LOST)

    def summary(self, a: Args) -> str:
        return f"{a.mode} {show_shape(a.shape)}"
