"""Activations and softmax: element-wise, no MACs, a documented FLOP cost per value.

One factory builds the whole family from a table, so a new activation is one row.
"""

from __future__ import annotations

from collections.abc import Sequence

from convcalc import num
from convcalc.layers.base import (
    ALL,
    LOST,
    MAP,
    NOTHING_SAVED,
    SAME,
    Arg,
    Args,
    Costs,
    LayerKind,
    Saved,
    Shape,
    axis_of,
    channel_axis,
)
from convcalc.layers.registry import register


class Activation(LayerKind):
    category = "activation"
    per_value = nonlinearity = position_local = channel_local = True
    flops_per_value: int = 1
    # Whether the backward pass reads the output instead of the input (PyTorch's ReLU,
    # sigmoid, tanh and softmax: their derivative is a function of the result).
    keeps_output: bool = False

    def costs(self, a: Args, xs: Sequence[Shape], y: Shape) -> Costs:
        return Costs(0, 0, self.flops_per_value * num.prod(y))

    def saved(self, a: Args, xs: Sequence[Shape], y: Shape) -> Saved:
        return Saved(output=True) if self.keeps_output else Saved(inputs=(0,))


# op: (FLOPs per value, why, other names). Composite functions count their parts as the
# rows above do: exp, log and erf one operation each, tanh 5, sigmoid 4. Those whose
# backward reads their output are in _KEEP_OUTPUT (measured with PyTorch's saved-tensor
# hooks: ReLU, sigmoid, tanh always; leaky ReLU and ELU in their in-place form, the way
# networks write them); the others keep their input, in place or not (in place, a copy).
_FAMILY = {
    "relu": (1, "max(x, 0): one comparison", ()),
    "relu6": (2, "min(max(x, 0), 6): two comparisons", ()),
    "leaky_relu": (2, "a comparison and a multiply", ()),
    "sigmoid": (4, "1 / (1 + exp(-x)): negate, exp, add, divide", ()),
    "tanh": (5, "(e^x - e^-x) / (e^x + e^-x) with a shared exp: 5 operations", ()),
    "hsigmoid": (4, "relu6(x + 3) / 6: add, two comparisons, divide", ("hardsigmoid",)),
    "hswish": (5, "x * relu6(x + 3) / 6: hsigmoid and a multiply", ("hardswish",)),
    "swish": (5, "x * sigmoid(x): sigmoid and a multiply", ("silu",)),
    "elu": (4, "x if x > 0 else alpha (e^x - 1): a comparison, exp, subtract, multiply", ()),
    "softplus": (3, "log(1 + e^x) (beta 1, PyTorch's default): exp, add, log", ()),
    "mish": (9, "x * tanh(softplus(x)): softplus 3, tanh 5, a multiply", ()),
}

_KEEP_OUTPUT = frozenset({"relu", "sigmoid", "tanh", "leaky_relu", "elu"})

for _op, (_flops, _why, _aliases) in _FAMILY.items():
    _also = f" (also `{'`, `'.join(_aliases)}`)" if _aliases else ""
    register(
        type(
            f"Act_{_op}",
            (Activation,),
            {
                "op": _op,
                "aliases": _aliases,
                "doc": f"{_op} activation{_also}; {_flops} FLOP/value ({_why})",
                "flops_per_value": _flops,
                "flops_rule": f"{_flops} ({_why})",
                "keeps_output": _op in _KEEP_OUTPUT,
                "saves_rule": "its output" if _op in _KEEP_OUTPUT else "its input",
            },
        )
    )


@register
class GELU(Activation):
    op = "gelu"
    doc = (
        "GELU, x Phi(x) (Hendrycks & Gimpel 2016): exact with erf, 5 FLOP/value, or PyTorch's "
        "tanh approximation, 13 FLOP/value"
    )
    flops_rule = (
        "5 exact (x / sqrt 2, erf, add 1, halve, multiply by x); 13 with approximate: tanh "
        "(x^3 two multiplies, times 0.044715, add x, times sqrt(2/pi), tanh 5, add 1, halve, "
        "multiply by x)"
    )
    args = {
        "approximate": Arg(
            "choice",
            "none: the exact erf form; tanh: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))",
            default="none",
            choices=("none", "tanh"),
        )
    }

    def costs(self, a: Args, xs: Sequence[Shape], y: Shape) -> Costs:
        return Costs(0, 0, (13 if a.approximate == "tanh" else 5) * num.prod(y))

    def summary(self, a: Args) -> str:
        return "tanh" if a.approximate == "tanh" else ""


@register
class PReLU(Activation):
    op = "prelu"
    doc = "parametric ReLU: a learned slope (one, or one per channel); 2 FLOP/value"
    flops_per_value = 2
    flops_rule = "2 (a comparison and a multiply)"
    args = {"per_channel": Arg("bool", "one slope per channel instead of one", default=False)}

    def costs(self, a: Args, xs: Sequence[Shape], y: Shape) -> Costs:
        return Costs(y[0] if a.per_channel else 1, 0, 2 * num.prod(y))


@register
class Softmax(Activation):
    op = "softmax"
    doc = (
        "softmax along an axis (by default the channel axis: a vector's features, a map's "
        "channels, the last axis of any other shape): exp, sum and divide, 3 FLOP/value"
    )
    flops_per_value = 3
    flops_rule = "3 (exp, sum, divide)"
    # Every output reads every input along its axis: not a per-value function.
    per_value = nonlinearity = position_local = channel_local = False
    keeps_output = amp_fp32 = True
    saves_rule = "its output (float32 under mixed precision)"
    args = {
        "axis": Arg(
            "axis",
            "the axis normalised (none: the channel axis; -1 the last)",
            default=None,
        )
    }

    def shape(self, a: Args, xs: Sequence[Shape]) -> Shape:
        self._axis(a, xs[0])  # checks the axis exists
        return xs[0]

    def _axis(self, a: Args, x: Shape) -> int:
        return channel_axis(x) if a.axis is None else axis_of(a.axis, len(x), self.op)

    def positions(self, a: Args, xs: Sequence[Shape], y: Shape) -> str:
        # Over channels: each position alone. Over the tokens of (N, C): every token reads
        # every token. Along a map's height or width, or in other tensors: not followed.
        x = xs[0]
        axis = self._axis(a, x)
        if axis == channel_axis(x):
            return MAP if len(x) == 3 else (SAME if len(x) == 2 else LOST)
        return ALL if len(x) == 2 else LOST

    def summary(self, a: Args) -> str:
        return "" if a.axis is None else f"axis {a.axis}"


@register
class Scale(Activation):
    op = "scale"
    doc = (
        "multiplication by a constant factor (Inception-ResNet's residual scaling, stochastic "
        "depth's survival probability at test time); 1 FLOP/value"
    )
    category = "other"
    flops_rule = "1 (a multiply)"
    # Linear: a constant multiple, so not a non-linearity between two linear layers.
    nonlinearity = False
    saves_rule = "nothing (its gradient is the factor)"

    def saved(self, a: Args, xs: Sequence[Shape], y: Shape) -> Saved:
        return NOTHING_SAVED

    args = {"factor": Arg("number", "the constant multiplying every value", default=1)}
