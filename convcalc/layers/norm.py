"""Normalisation layers: batch norm and local response normalisation."""

from __future__ import annotations

from collections.abc import Sequence

from convcalc import num
from convcalc.layers.base import Arg, Args, Costs, LayerKind, Shape
from convcalc.layers.registry import register


@register
class BatchNorm(LayerKind):
    op = "bn"
    doc = "batch norm: 2 params per channel (scale, shift); 2 FLOPs per value at inference"
    category = "norm"
    per_value = position_local = channel_local = True
    flops_rule = "2 (inference folds it to one multiply and one add)"

    def costs(self, a: Args, xs: Sequence[Shape], y: Shape) -> Costs:
        # Running mean and variance are buffers, not parameters; inference folds the
        # normalisation into one multiply and one add per value.
        return Costs(2 * xs[0][0], 0, 2 * num.prod(y))


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

    def costs(self, a: Args, xs: Sequence[Shape], y: Shape) -> Costs:
        # n squares, n - 1 adds, scale by alpha, add k, power beta, divide: 2n + 3.
        return Costs(0, 0, (2 * a.size + 3) * num.prod(y))
