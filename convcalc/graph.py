"""The one graph every front end builds and every analysis reads.

A :class:`Graph` is a flat DAG of named layers in a topological order (each layer reads
only earlier ones). Front ends (the YAML schema today; model files next) build it through
a :class:`GraphBuilder`, which checks each layer against its inputs as it is added, so a
shape error names the layer that causes it, whatever file it came from. The liveness scan
that peak memory rests on lives here too, once, for the analysis and the device estimate.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from convcalc import num
from convcalc.errors import LimitError, ShapeError, SpecError
from convcalc.layers.base import Args, LayerKind, Shape, check_dim

INPUT = "input"  # the name of the network input in ``inputs`` and in ``Graph.shapes``


@dataclass(slots=True)
class Layer:
    """One layer: its kind, bound arguments, producers and output shape."""

    name: str
    kind: LayerKind
    args: Args
    inputs: tuple[str, ...]
    shape: Shape
    line: int | None
    weight: Any = 1  # 1, or an indicator when the layer exists only under a free condition
    file: str | None = None  # the file of ``line`` (a block library's, for imported blocks)


@dataclass
class Graph:
    """The flat DAG in a topological order, with the shape of every tensor by name."""

    name: str
    source: str
    file: str
    citation: str
    description: str
    bindings: dict[str, Any]
    input_shape: Shape
    layers: list[Layer] = field(default_factory=list)
    shapes: dict[str, Shape] = field(default_factory=dict)


def check_arity(kind: LayerKind, count: int) -> None:
    """Refuse a layer given more or fewer inputs than its kind takes."""
    lo, hi = kind.inputs
    if count < lo or (hi is not None and count > hi):
        want = f"{lo}" if lo == hi else f"at least {lo}" if hi is None else f"{lo} to {hi}"
        raise SpecError(f"op {kind.op!r} takes {want} input(s), got {count}")


class GraphBuilder:
    """Builds a :class:`Graph` one layer at a time, checking each as it is added.

    Errors carry no file or line: the front end knows where the layer came from and adds
    them (:meth:`convcalc.errors.ConvcalcError.locate`)."""

    def __init__(self, graph: Graph, max_layers: int) -> None:
        self.graph = graph
        self.max_layers = max_layers
        graph.shapes[INPUT] = graph.input_shape

    @property
    def last(self) -> str:
        """The most recently added layer (the input before any)."""
        return self.graph.layers[-1].name if self.graph.layers else INPUT

    def shape_of(self, kind: LayerKind, args: Args, inputs: Sequence[str]) -> Shape:
        """The output shape ``kind`` gives these inputs, each size checked."""
        check_arity(kind, len(inputs))
        try:
            shape = kind.shape(args, [self.graph.shapes[i] for i in inputs])
        except ShapeError as err:
            cause = self.uneven_cause(inputs) if len(inputs) > 1 else None
            if cause is not None:  # a merge: say where its branches' sizes parted
                err.hint = cause if err.hint is None else f"{cause} ({err.hint})"
            raise
        return tuple(check_dim(v, "output size") for v in shape)

    def uneven_cause(self, inputs: Sequence[str]) -> str | None:
        """Where, on the paths into ``inputs``, a size first stopped dividing evenly: the
        first downsampling layer whose input height or width is not a multiple of its
        stride (its output was rounded, so branches that meet later disagree)."""
        by_name = {layer.name: layer for layer in self.graph.layers}
        seen: set[str] = set()
        stack = [i for i in inputs if i in by_name]
        while stack:
            name = stack.pop()
            if name not in seen:
                seen.add(name)
                stack.extend(i for i in by_name[name].inputs if i in by_name)
        for layer in self.graph.layers:
            window = layer.kind.window(layer.args) if layer.name in seen else None
            x = self.graph.shapes[layer.inputs[0]] if window is not None else ()
            if len(x) != 3 or len(layer.shape) != 3:
                continue
            for axis, size, out, s in zip(
                ("height", "width"), x[1:], layer.shape[1:], window.stride, strict=True
            ):
                concrete = all(num.is_concrete(v) for v in (size, out, s))
                if concrete and s > 1 and out < size and size % s:
                    return (
                        f"sizes stop dividing evenly at {layer.name}: its input {axis} "
                        f"{size} is not a multiple of its stride {s} (output {out}); give "
                        "the network an input that the total stride divides"
                    )
        return None

    def check_room(self) -> None:
        """Refuse one layer more than the limit allows."""
        if len(self.graph.layers) >= self.max_layers:
            raise LimitError(f"the network expands to more than {self.max_layers} layers")

    def append(self, layer: Layer) -> None:
        """Add a layer whose shape is already checked (see :meth:`shape_of`)."""
        self.graph.layers.append(layer)
        self.graph.shapes[layer.name] = layer.shape


# --- liveness -------------------------------------------------------------------------------


class Step(NamedTuple):
    """One step of a schedule: the tensor it allocates (None when it writes into one that
    exists: a fused op, a view) and the tensors it reads. A named tuple: a schedule has a
    step per layer, and a tuple is made several times faster than a frozen dataclass."""

    alloc: str | None
    reads: tuple[str, ...]


def _last_uses(steps: Sequence[Step], initial: Iterable[str]) -> dict[str, int]:
    """For each tensor, the step that reads it last (its own step when nothing reads it;
    -1 for an initial tensor nothing reads)."""
    last_use: dict[str, int] = dict.fromkeys(initial, -1)
    for index, step in enumerate(steps):
        if step.alloc is not None:
            last_use.setdefault(step.alloc, index)
        for t in step.reads:
            last_use[t] = index
    return last_use


def live_totals(steps: Sequence[Step], size: Mapping[str, Any], initial: Sequence[str]) -> list:
    """The total size alive after each step has allocated its output, in order.

    A tensor lives from its allocation until the last step that reads it has run (DESIGN.md
    section 2); ``initial`` tensors (the network input) are alive before the first step and
    are freed before it when nothing reads them. Sizes may be symbolic."""
    frees: dict[int, list[str]] = {}
    for name, index in _last_uses(steps, initial).items():
        frees.setdefault(index, []).append(name)
    live: Any = sum((size[t] for t in initial), 0)
    for name in frees.get(-1, ()):
        live -= size[name]
    out = []
    for index, step in enumerate(steps):
        if step.alloc is not None:
            live += size[step.alloc]
        out.append(live)
        for name in frees.get(index, ()):
            live -= size[name]
    return out


def alive_after(steps: Sequence[Step], at: int, initial: Sequence[str]) -> list[str]:
    """The tensors alive right after step ``at`` has allocated (the rule of
    :func:`live_totals`), in allocation order."""
    last_use = _last_uses(steps, initial)
    born = list(initial) + [s.alloc for s in steps[: at + 1] if s.alloc is not None]
    return [t for t in dict.fromkeys(born) if last_use[t] >= at]


def peak_of(totals: Sequence[Any], initial_total: Any) -> tuple[Any, int | None, list[Any]]:
    """The largest live total and its step (None: before the first step), and the totals
    that depend on free parameters (their maximum is decided only once they are bound)."""
    peak, where = initial_total, None
    symbolic: list[Any] = []
    for index, live in enumerate(totals):
        if num.is_concrete(live) and num.is_concrete(peak):
            if live > peak:
                peak, where = live, index
        else:
            symbolic.append(live)
    return peak, where, symbolic
