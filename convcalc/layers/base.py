"""The layer-kind protocol: one class per YAML ``op`` owning every rule of that kind.

A kind declares its arguments (:class:`Arg`), how many inputs it takes, and the rules that
turn input shapes into an output shape, parameters, multiply-accumulates, FLOPs and a
receptive-field transform. Shapes are tuples: ``(C, H, W)`` for feature maps, ``(N,)`` for
vectors, ``(N, C)`` for a sequence of N tokens of width C, and any other rank for the
intermediate tensors of attention and detection heads. A map's channels are its first axis,
every other shape's its last (:func:`channel_axis`). Values may be exact numbers or, in
symbolic runs, sympy expressions: rules use the helpers in :mod:`convcalc.num` (never ``//``
or ``max`` directly) so both work.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, ClassVar

from convcalc import expr, num
from convcalc.errors import ExprError, LimitError, ShapeError, SpecError

Shape = tuple[Any, ...]

MAX_DIM = 2**24  # largest single dimension (channels, height, width, features)
MAX_RANK = 6  # most axes a tensor may have


def channel_axis(shape: Sequence[Any]) -> int:
    """The axis holding channels: the first of a (C, H, W) map, the last of any other shape
    (a vector's features, the width of (N, C) tokens)."""
    return 0 if len(shape) == 3 else len(shape) - 1


def show_shape(shape: Sequence[Any]) -> str:
    """A shape as its sizes joined by x, for messages."""
    return "x".join(str(v) for v in shape)


def axis_of(axis: Any, rank: int, op: str) -> int:
    """An axis given as 0 .. rank - 1 or counted from the end (-1 the last), checked."""
    if not -rank <= axis < rank:
        raise ShapeError(f"op {op!r}: axis {axis} is out of range for a tensor of {rank} axes")
    return axis % rank


# How a layer's output positions read its input's, for receptive fields (see
# LayerKind.positions): through a sliding window of a map, the same positions, every
# position, or positions rearranged so that the field is no longer followed.
MAP, SAME, ALL, LOST = "map", "same", "all", "lost"

REQUIRED = object()

#: Groups of kinds for listings and docs, in the order they are listed.
CATEGORIES = ("conv", "pool", "linear", "norm", "activation", "merge", "shape", "other")

# How a device runs a layer: the efficiency classes of a device profile (docs/devices.md).
# Convolutions split three ways because they run at very different fractions of peak: a
# dense k x k conv is a large matrix product, a 1x1 conv a thinner one, and a depthwise or
# grouped conv has little reuse per weight (ShuffleNet V2's guideline G2). A view only
# re-indexes memory in every framework (no copy), so it takes no time.
CONV, CONV1X1, GROUPED, LINEAR, ELEMENTWISE, VIEW = (
    "conv",
    "conv1x1",
    "grouped",
    "linear",
    "elementwise",
    "view",
)
COST_CLASSES = (CONV, CONV1X1, GROUPED, LINEAR, ELEMENTWISE, VIEW)
#: Classes that run as a matrix product, so an element-wise op after one can run inside it.
MATMUL_CLASSES = frozenset({CONV, CONV1X1, GROUPED, LINEAR})


@dataclass(frozen=True)
class Arg:
    """One argument of a layer kind.

    ``type`` is one of: ``int`` (a whole number >= ``min``), ``pair`` (an int or ``[h, w]``),
    ``padding`` (an int, ``[h, w]``, ``[top, bottom, left, right]``, or one of ``same``,
    ``valid``, ``full``), ``bool``, ``number`` (exact, may be fractional), ``choice`` (one of
    ``choices``), ``matrix`` (a list of rows of 0/1), ``ints`` (a list of whole numbers),
    ``axis`` (an axis: 0, 1, ... or counted from the end, -1 the last) and ``axes`` (a list
    of them).
    ``symbols`` name the values in ``explain``'s formulas (one for an int, two for a pair,
    four for padding); an argument without them is shown by its value.
    """

    type: str
    doc: str
    default: Any = REQUIRED
    min: int = 1
    choices: tuple[str, ...] = ()
    symbols: tuple[str, ...] = ()  # names in derivations: one per value (``k_h``, ``k_w``)

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    def describe(self) -> str:
        kind = "|".join(self.choices) if self.type == "choice" else self.type
        default = "required" if self.required else f"default {_show(self.default)}"
        return f"{kind}, {default}"


def _show(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


class Args(dict):
    """Bound argument values, readable as attributes (``a.stride``)."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


@dataclass(frozen=True)
class AxisRF:
    """Receptive-field transform of one spatial axis: effective kernel, stride, padding
    before the first tap (Araujo et al., Distill 2019)."""

    kernel: Any = 1
    stride: Any = 1
    pad: Any = 0
    dilation: Any = 1  # spacing of the taps within the kernel (for the per-phase model)


IDENTITY_RF = (AxisRF(), AxisRF())

#: The longest period (units per repeat) of a per-phase receptive field tracked exactly;
#: beyond it the field is bounded instead (docs/conventions.md).
PHASE_LIMIT = 1024

#: The input units one output unit reads: first, last and the spacing between them
#: (lo, lo + every, ..., hi), or None when it reads none.
Taps = tuple[int, int, int] | None


@dataclass(frozen=True)
class AxisPhases:
    """Receptive-field transform of one axis whose output units are not evenly spaced over
    its input (upsampling, transposed convolution, uneven adaptive windows).

    Output unit ``q * period + r`` reads the input units ``q * step + lo``, then every
    ``every`` units up to ``q * step + hi``, with ``(lo, hi, every) = taps[r]`` (None: it
    reads none, as between the taps of a transposed conv with a kernel smaller than its
    stride). ``envelope`` = (a, b) bounds every unit v's reads by ``v * step / period + a``
    .. ``+ b``; it stands in for ``taps``, left empty, when the period is over
    :data:`PHASE_LIMIT`.
    """

    period: int
    step: int
    taps: tuple[Taps, ...]
    envelope: tuple[Fraction, Fraction]


def phase_table(
    period: int, step: int, reads: Callable[[int], Taps], envelope: tuple[Any, Any]
) -> AxisPhases:
    """An :class:`AxisPhases` whose taps come from ``reads(r)`` for each phase r (not
    tabulated when the period is over the limit)."""
    taps = tuple(reads(r) for r in range(period)) if period <= PHASE_LIMIT else ()
    return AxisPhases(period, step, taps, (Fraction(envelope[0]), Fraction(envelope[1])))


#: What a saved tensor's values are stored as: the activation dtype (``act``: the run's
#: dtype, or the half type under mixed precision), always float32 (statistics), int64
#: (pooling indices).
ACT, FP32, INT64 = "act", "fp32", "int64"
SAVED_WIDTH = {FP32: 4, INT64: 8}


@dataclass(frozen=True)
class Saved:
    """What a layer keeps for its backward pass in training (docs/training.md).

    ``inputs``: which of its inputs it keeps (by position); ``output``: whether it keeps
    its own output; ``extras``: tensors of its own it allocates and keeps, each
    ``(what, elements per sample, dtype)`` with dtype one of :data:`ACT`, :data:`FP32`,
    :data:`INT64`; ``fixed``: the same for tensors whose size does not grow with the batch
    (batch norm's per-channel statistics). Parameters a layer keeps are its weights,
    counted once as weights."""

    inputs: tuple[int, ...] = ()
    output: bool = False
    extras: tuple[tuple[str, Any, str], ...] = ()
    fixed: tuple[tuple[str, Any, str], ...] = ()


NOTHING_SAVED = Saved()


@dataclass
class Costs:
    """What a layer costs; returned by :meth:`LayerKind.costs`."""

    params: Any = 0
    macs: Any = 0
    flops: Any = 0


def evaluate_value(raw: Any, env: Mapping[str, Any], what: str) -> Any:
    """A YAML scalar as an exact number: ints stay ints, floats become the decimal they were
    written as (0.714 -> 714/1000), strings are parsed as expressions."""
    if isinstance(raw, bool):
        return int(raw)
    if isinstance(raw, int):
        return num.normalize(raw)
    if isinstance(raw, float):
        if raw != raw or raw in (float("inf"), float("-inf")):
            raise ExprError(f"{what} must be a finite number, got {raw}")
        return num.normalize(Fraction(repr(raw)))
    if isinstance(raw, str):
        return expr.evaluate_text(raw, env)
    raise SpecError(f"{what} must be a number or an expression, got {type(raw).__name__}")


def check_dim(value: Any, what: str, minimum: int = 1) -> Any:
    """A dimension-like integer: whole, at least ``minimum``, at most MAX_DIM."""
    value = num.as_int(value, what)
    if num.is_concrete(value):
        if value < minimum:
            raise ShapeError(f"{what} must be at least {minimum}, got {value}")
        if value > MAX_DIM:
            raise LimitError(f"{what} is {value}; the largest dimension allowed is {MAX_DIM}")
    return value


def same_size(a: Any, b: Any) -> bool:
    """Equal, or not decidable now (symbolic sizes are checked once bound)."""
    return a == b if num.is_concrete(a) and num.is_concrete(b) else True


@dataclass(frozen=True)
class Window:
    """The sliding window of a layer, per axis (height, width): what the design rules on
    dilation and receptive fields read."""

    kernel: tuple[Any, Any]
    stride: tuple[Any, Any]
    dilation: tuple[Any, Any]


class LayerKind:
    """Base of every layer kind. Subclasses set ``op``, ``doc``, ``args`` and override rules.

    ``inputs`` is ``(min, max)`` inputs (``max`` None for any number). ``reduces_space``
    marks kinds after which a tensor no longer has spatial extent for receptive-field
    purposes (global pooling, flatten, linear).

    The facts other modules ask of a kind (never of its op name):

    - ``is_view``: the output only re-indexes the input's memory (no copy, no time);
    - ``per_value``: each output value depends on the input value at the same channel and
      position alone (batch norm, activations, identity); ``nonlinearity`` marks those that
      are a non-linear function of it (activations);
    - ``position_local``: each output position reads only the same input position (every
      ``per_value`` kind, and channel shuffles and cross-channel normalisations);
    - :meth:`window`, :meth:`channel_source`, :meth:`depthwise`, :meth:`grouped` and
      :meth:`cost_class`, which depend on the arguments;
    - ``macs_rule`` and ``flops_rule``: the counting rules in words (docs/layers.md).
    """

    op: ClassVar[str]
    doc: ClassVar[str]
    aliases: ClassVar[tuple[str, ...]] = ()  # other YAML names of the same kind
    args: ClassVar[dict[str, Arg]] = {}
    inputs: ClassVar[tuple[int, int | None]] = (1, 1)
    reduces_space: ClassVar[bool] = False
    category: ClassVar[str] = "other"
    is_view: ClassVar[bool] = False
    per_value: ClassVar[bool] = False
    nonlinearity: ClassVar[bool] = False
    position_local: ClassVar[bool] = False
    channel_local: ClassVar[bool] = False  # output channel c reads input channel c alone
    # The counting rules in words, for docs/layers.md: the multiply-accumulates (empty when
    # the kind performs none) and the FLOPs, per output value unless stated.
    macs_rule: ClassVar[str] = ""
    flops_rule: ClassVar[str] = ""

    # --- binding ------------------------------------------------------------------------

    def bind(self, raw: Mapping[str, Any], env: Mapping[str, Any]) -> Args:
        """Evaluate raw YAML argument values (the caller adds file and line to errors)."""
        unknown = [k for k in raw if k not in self.args]
        if unknown:
            raise SpecError(
                f"unknown argument {unknown[0]!r} for op {self.op!r}",
                hint="its arguments are: "
                + (", ".join(self.args) or "none")
                + " (see `convcalc layers`)",
            )
        out = Args()
        for name, spec in self.args.items():
            if name in raw and raw[name] is not None:
                try:
                    out[name] = self._coerce(spec, raw[name], env, f"argument {name!r}")
                except (SpecError, ExprError, ShapeError, LimitError) as e:
                    if not e.message.startswith(f"argument {name!r}"):
                        e.message = f"argument {name!r}: {e.message}"
                    raise
            elif spec.required:
                raise SpecError(
                    f"op {self.op!r} needs argument {name!r} ({spec.doc})",
                )
            else:
                out[name] = spec.default
        self.validate(out)
        return out

    def validate(self, a: Args) -> None:
        """Checks between arguments; subclasses raise SpecError/ShapeError."""

    def _coerce(self, spec: Arg, raw: Any, env: Mapping[str, Any], name: str) -> Any:
        t = spec.type
        if t == "int":
            return check_dim(evaluate_value(raw, env, name), name, spec.min)
        if t == "number":
            return evaluate_value(raw, env, name)
        if t == "bool":
            if isinstance(raw, bool):
                return raw
            return num.truth(evaluate_value(raw, env, name), name)
        if t == "choice":
            if not isinstance(raw, str) or raw not in spec.choices:
                raise SpecError(f"must be one of {', '.join(spec.choices)}, got {raw!r}")
            return raw
        if t == "pair":
            return self._pair(raw, env, name, spec.min)
        if t == "padding":
            return self._padding(raw, env, name)
        if t == "ints":
            if not isinstance(raw, list) or not raw:
                raise SpecError("must be a non-empty list of whole numbers")
            return tuple(check_dim(evaluate_value(v, env, name), name) for v in raw)
        if t == "matrix":
            return self._matrix(raw)
        if t == "axis":
            return _axis(raw, name)
        if t == "axes":
            if not isinstance(raw, list) or not raw or len(raw) > MAX_RANK:
                raise SpecError(f"must be a list of 1 to {MAX_RANK} axes")
            return tuple(_axis(v, name) for v in raw)
        raise AssertionError(t)  # pragma: no cover

    def _pair(self, raw: Any, env: Mapping[str, Any], name: str, minimum: int) -> tuple:
        if isinstance(raw, list):
            if len(raw) != 2:
                raise SpecError(f"must be one value or a pair [h, w], got {len(raw)} values")
            return tuple(check_dim(evaluate_value(v, env, name), name, minimum) for v in raw)
        v = check_dim(evaluate_value(raw, env, name), name, minimum)
        return (v, v)

    def _padding(self, raw: Any, env: Mapping[str, Any], name: str) -> Any:
        if isinstance(raw, str) and raw in ("same", "valid", "full"):
            return raw
        if isinstance(raw, list):
            if len(raw) not in (2, 4):
                raise SpecError(
                    "padding is a number, [h, w], [top, bottom, left, right], "
                    "or one of same, valid, full"
                )
            vals = [check_dim(evaluate_value(v, env, name), name, 0) for v in raw]
            if len(vals) == 2:
                return (vals[0], vals[0], vals[1], vals[1])
            return tuple(vals)
        v = check_dim(evaluate_value(raw, env, name), name, 0)
        return (v, v, v, v)

    def _matrix(self, raw: Any) -> tuple[tuple[int, ...], ...]:
        if not isinstance(raw, list) or not raw or not all(isinstance(r, list) for r in raw):
            raise SpecError("must be a list of rows, each a list of 0/1")
        width = len(raw[0])
        rows = []
        for r in raw:
            if len(r) != width or any(v not in (0, 1) or isinstance(v, float) for v in r):
                raise SpecError("every row must have the same length and hold only 0 and 1")
            rows.append(tuple(int(v) for v in r))
        return tuple(rows)

    # --- rules ----------------------------------------------------------------------------

    def shape(self, a: Args, xs: Sequence[Shape]) -> Shape:
        """Output shape from input shapes; raises ShapeError when they cannot meet."""
        return xs[0]

    def costs(self, a: Args, xs: Sequence[Shape], y: Shape) -> Costs:
        """Parameters, MACs and FLOPs. Every kind must say, even when all are zero."""
        raise NotImplementedError

    def rf(self, a: Args, xs: Sequence[Shape]) -> tuple[AxisRF, AxisRF]:
        """Receptive-field transform per spatial axis (height, width)."""
        return IDENTITY_RF

    def rf_phases(
        self, a: Args, xs: Sequence[Shape]
    ) -> tuple[AxisPhases | None, AxisPhases | None] | None:
        """The per-phase transform per axis, for kinds whose output units do not all read
        the same pattern of input units (None: :meth:`rf` describes every unit; an axis
        None: it cannot be tabulated, as with symbolic sizes)."""
        return None

    def field_inputs(self, count: int) -> range:
        """Which of ``count`` inputs the output's values are read from (all, unless an
        input only lends its size)."""
        return range(count)

    def positions(self, a: Args, xs: Sequence[Shape], y: Shape) -> str:
        """How the output's positions read the input's, for receptive fields: :data:`MAP`
        (a map from maps, through :meth:`rf`), :data:`SAME` (each output position reads the
        same positions of its inputs: element-wise ops on tokens), :data:`ALL` (every output
        reads every input position: the field becomes the whole input) or :data:`LOST`
        (positions rearranged: the field is not followed). By default maps from maps are
        MAP, tokens from tokens SAME, anything else LOST."""
        if len(y) == 3 and all(len(x) == 3 for x in xs):
            return MAP
        if len(y) == 2 and all(len(x) == 2 for x in xs):
            return SAME
        return LOST

    def reduces(self, a: Args, xs: Sequence[Shape], y: Shape) -> bool:
        """Whether the output has lost its spatial extent (see ``reduces_space``)."""
        return self.reduces_space

    def summary(self, a: Args) -> str:
        """Short text of the arguments for tables (e.g. ``3x3 s2``)."""
        return ""

    # --- facts for the design rules, the device estimate and explain ------------------------

    def window(self, a: Args) -> Window | None:
        """The sliding window, for kinds that slide one over a feature map."""
        return None

    def channel_source(self, a: Args, xs: Sequence[Shape], y: Shape, channel: int) -> Any:
        """Which input channel output ``channel`` is computed from, or None when the kind
        mixes channels (a dense conv) or the question has no answer."""
        return channel if self.channel_local else None

    def depthwise(self, a: Args, xs: Sequence[Shape]) -> bool:
        """Whether this is a depthwise convolution (one filter group per input channel)."""
        return False

    def grouped(self, a: Args, xs: Sequence[Shape]) -> int:
        """The group count of a grouped (not depthwise) convolution, else 0."""
        return 0

    def cost_class(self, a: Args, xs: Sequence[Shape]) -> str:
        """The device efficiency class (one of :data:`COST_CLASSES`)."""
        return VIEW if self.is_view else ELEMENTWISE

    def input_symbols(self, count: int) -> list[str]:
        """Names of the inputs' channel counts in ``explain``'s formulas."""
        return ["C_in"] * count

    # --- training (docs/training.md) -----------------------------------------------------

    #: What the kind keeps for backward, in words (docs/training.md lists them).
    saves_rule: ClassVar[str] = "its inputs"
    #: Whether autocast (mixed precision) runs it in float32, so that what it keeps is
    #: float32 whatever the half type (softmax and the normalisations over positions).
    amp_fp32: ClassVar[bool] = False

    def saved(self, a: Args, xs: Sequence[Shape], y: Shape) -> Saved:
        """What the layer keeps for its backward pass. By default a kind with a cost keeps
        its inputs (a conv or linear needs its input for the weight gradient); a view or a
        kind without cost keeps nothing (see :class:`Free`)."""
        return NOTHING_SAVED if self.is_view else Saved(inputs=tuple(range(len(xs))))

    def training_view(self) -> bool:
        """Whether, in training, the output aliases the input's memory (a view); dropout
        is an identity at inference and a masked copy in training."""
        return self.is_view

    def buffers(self, a: Args, xs: Sequence[Shape], y: Shape) -> Any:
        """Values the layer stores that are not learned (batch norm's running mean and
        variance): kept with the weights, never trained."""
        return 0

    def backward_flops(
        self, a: Args, xs: Sequence[Shape], y: Shape, c: Costs, grad_in: bool
    ) -> Any:
        """FLOPs of the layer's backward pass (docs/training.md). A matrix-product kind
        computes the gradient of its input (when ``grad_in``: not for a layer reading only
        the network input) and of its weights, each as many MACs as the forward pass, so 2
        FLOPs per MAC for each; its element-wise part (bias, fused norm) costs its forward
        FLOPs again. Any other kind costs its forward FLOPs again."""
        if self.cost_class(a, xs) in MATMUL_CLASSES:
            macs = c.macs * ((1 if grad_in else 0) + (1 if c.params else 0))
            return 2 * macs + (c.flops - 2 * c.macs)
        return c.flops


class Free(LayerKind):
    """A kind that costs nothing: no parameters, MACs or FLOPs (layout changes, identities)."""

    flops_rule = "0"
    saves_rule = "nothing"

    def costs(self, a: Args, xs: Sequence[Shape], y: Shape) -> Costs:
        return Costs()

    def saved(self, a: Args, xs: Sequence[Shape], y: Shape) -> Saved:
        return NOTHING_SAVED


def _axis(raw: Any, name: str) -> int:
    """A literal axis: a whole number between -MAX_RANK and MAX_RANK - 1."""
    if isinstance(raw, bool) or not isinstance(raw, int) or not -MAX_RANK <= raw < MAX_RANK:
        raise SpecError(f"an axis is a whole number from {-MAX_RANK} to {MAX_RANK - 1}")
    return raw


def spatial(shape: Shape, op: str) -> Shape:
    """The (C, H, W) of a feature map, or a ShapeError naming the op."""
    if len(shape) != 3:
        got = (
            f"a vector of {shape[0]} features"
            if len(shape) == 1
            else f"a tensor of shape {show_shape(shape)}"
        )
        raise ShapeError(
            f"op {op!r} needs a feature map (C, H, W), got {got}",
            hint="spatial layers must come before flatten/linear (tokens: op to_map first)",
        )
    return shape
