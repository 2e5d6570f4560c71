"""The pipeline under the API: load (a front end reads a file into a graph), then analyze
(the graph into a report, with the design rules' warnings).

Every command goes through here: :mod:`convcalc.compare`, :mod:`convcalc.sweep`,
:mod:`convcalc.explain` and :mod:`convcalc.validate` call these functions, and
:mod:`convcalc.api` re-exports them. The YAML schema (:mod:`convcalc.schema`) is the front
end today; a reader of another format returns a :class:`~convcalc.graph.Graph` built with
:class:`~convcalc.graph.GraphBuilder`, and :func:`load` is where it is chosen.

:func:`boundary` is the API's gate: :mod:`convcalc.api` wraps every function it exports in
it, so a caller's wrong types and absurd values end in a documented
:class:`~convcalc.errors.ConvcalcError` before any work starts.
"""

from __future__ import annotations

import functools
import inspect
import itertools
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import partial
from pathlib import Path
from typing import Any

from convcalc import context, frontends, schema, suggest
from convcalc.errors import LimitError, SpecError, UsageError
from convcalc.graph import Graph
from convcalc.layers.base import Shape, check_dim
from convcalc.report import DTYPE_BYTES, Report
from convcalc.values import Value, param_value

#: The name that makes the batch size free in ``free`` (``--free batch``).
BATCH = "batch"


def load(
    arch: str | Path,
    params: Mapping[str, Value] | None = None,
    input_shape: Shape | None = None,
    free: Iterable[str] = (),
    symbolic: bool = False,
) -> Graph:
    """Read, validate and expand an architecture (a path or a bundled name): a model file
    a reader of :mod:`convcalc.frontends` claims, else convcalc's own YAML.

    ``free`` params stay symbols even if they have defaults; ``symbolic`` also frees every
    param that has no default."""
    reader = frontends.reader_for(arch)
    if reader is not None:
        module = reader.load_module()
        text = getattr(module, "TEXT_PARAMS", frozenset())  # names, not numbers (a scale)
        overrides = {
            k: v if k in text and isinstance(v, str) else param_value(k, v)
            for k, v in (params or {}).items()
        }
        return module.load(Path(arch), overrides, input_shape, tuple(free), symbolic)
    overrides = {k: param_value(k, v) for k, v in (params or {}).items()}
    try:
        return schema.load(arch, overrides, input_shape, tuple(free), symbolic)
    except SpecError as err:
        if err.hint is None:  # a merge given one input: say how to name its inputs
            err.hint = suggest.for_message(err.message)
        raise


def declared_params(arch: str | Path) -> list[str]:
    """The names an architecture accepts in ``--set`` (its ``params``)."""
    reader = frontends.reader_for(arch)
    if reader is not None:
        return reader.load_module().declared_params(Path(arch))
    return schema.declared_params(arch)


def analyze(
    arch: str | Path,
    params: Mapping[str, Value] | None = None,
    input_shape: Shape | None = None,
    dtype: str = "fp32",
    free: Iterable[str] = (),
    symbolic: bool = False,
    smooth: bool = False,
    design_warnings: bool = True,
    batch: int = 1,
    train: bool = False,
    optimizer: str = "adam",
    precision: str = "fp32",
    checkpoint: int | None = None,
) -> Report:
    """Shapes, params, MACs, FLOPs, memory and receptive fields of an architecture.

    ``batch`` samples run at once: every count but the parameters scales with it. Naming
    ``batch`` in ``free`` leaves it a symbol instead (formulas linear in it). ``train``
    adds the memory and FLOPs of one training step with ``optimizer`` at ``precision``
    (``report.training``; docs/training.md), with the segments of layers sharing their
    first ``checkpoint`` name parts checkpointed.

    ``design_warnings`` adds the design-rule warnings of :mod:`convcalc.rules` (gridding
    dilations, ReLU after a linear bottleneck, ...) to the report's warnings.

    With ``free``/``symbolic`` the counts are sympy expressions in the free params;
    ``smooth`` (``--no-round``) drops every rounding rule, giving the formulas papers write.
    """
    from convcalc.analysis import analyze as run

    if dtype not in DTYPE_BYTES:
        raise UsageError(f"unknown dtype {dtype!r}; use one of {', '.join(DTYPE_BYTES)}")
    free = tuple(free)
    size: Any = batch
    if BATCH in free:
        from convcalc.symbolic.ops import symbol

        free = tuple(f for f in free if f != BATCH)
        size = symbol(BATCH, "int")
    if checkpoint is not None and not train:
        raise UsageError(
            "--checkpoint applies to a training step", hint="add --train (docs/training.md)"
        )
    if train and dtype != "fp32":
        raise UsageError(
            "a training step's bytes follow --precision, not --dtype",
            hint="drop --dtype, or give --precision amp-fp16 / amp-bf16",
        )
    with context.run(smooth=smooth):
        graph = load(arch, params, input_shape, free, symbolic)
        report = run(graph, dtype, size)
        report.buffers = buffers(graph)
        if train:
            from convcalc.training import training

            report.training = training(graph, report, optimizer, precision, checkpoint)
    from convcalc.diagnostics import from_warnings

    report.diagnostics = from_warnings(report.warnings, graph)  # what validate reports too
    if design_warnings:
        from convcalc.rules import lint

        for d in lint(graph, report):
            report.diagnostics.append(d)
            where = f"{d.layer}: " if d.layer else ""
            cite = f" [{d.reference}]" if d.reference else ""
            report.warnings.append(f"{where}{d.message}{cite}")
    return report


def buffers(graph: Graph) -> Any:
    """The values a network keeps that are not trained (batch norm's running statistics),
    each layer's kind asked (:meth:`~convcalc.layers.base.LayerKind.buffers`)."""
    total: Any = 0
    for layer in graph.layers:
        xs = [graph.shapes[s] for s in layer.inputs]
        n = layer.kind.buffers(layer.args, xs, layer.shape)
        if n:
            total += n * layer.weight
    return total


@dataclass(frozen=True)
class ArchInfo:
    name: str
    description: str
    citation: str


def list_architectures() -> list[ArchInfo]:
    """Bundled architectures with their one-line description and source."""
    return [ArchInfo(name, *schema.described(name)) for name in schema.loader.bundled_names()]


# ---------------------------------------------------------------------------------------
# The API boundary: every public function of convcalc.api checks its arguments here


MAX_ITEMS = 10_000  # names in ``free``, ``targets``, ``devices``; architectures compared
MAX_PATH = 4_096  # characters of a path or bundled name


def _fail(fn: str, name: str, what: str, value: Any) -> UsageError:
    return UsageError(f"{fn}(): {name} must be {what}, got {type(value).__name__}")


def _path(fn: str, name: str, value: Any, optional: bool = False) -> Any:
    if value is None and optional:
        return None
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str):
        raise _fail(fn, name, "a path or a bundled name", value)
    if not value or len(value) > MAX_PATH:
        raise UsageError(f"{fn}(): {name} must be a path of 1 to {MAX_PATH} characters")
    return value


def _text(fn: str, name: str, value: Any, optional: bool = False, limit: int = 10_000) -> Any:
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise _fail(fn, name, "text", value)
    if len(value) > limit:
        raise LimitError(f"{fn}(): {name} is {len(value)} characters; the limit is {limit}")
    return value


def _flag(fn: str, name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise _fail(fn, name, "True or False", value)
    return value


def _strings(fn: str, name: str, value: Any) -> tuple[str, ...]:
    """A list of names: not one string (whose letters would be names), at most
    MAX_ITEMS, each a string."""
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise _fail(fn, name, "a list of names", value)
    items = tuple(itertools.islice(value, MAX_ITEMS + 1))
    if len(items) > MAX_ITEMS:
        raise LimitError(f"{fn}(): {name} has more than {MAX_ITEMS} items")
    for item in items:
        if not isinstance(item, str):
            raise _fail(fn, f"each of {name}", "text", item)
    return items


def _items(fn: str, name: str, value: Any) -> tuple[Any, ...]:
    """Architectures to compare: paths, names (``name:k=v``) or compare items."""
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise _fail(fn, name, "a list of architectures", value)
    items = tuple(itertools.islice(value, MAX_ITEMS + 1))
    if len(items) > MAX_ITEMS:
        raise LimitError(f"{fn}(): {name} has more than {MAX_ITEMS} items")
    return tuple(
        item if hasattr(item, "arch") and hasattr(item, "params") else _path(fn, name, item)
        for item in items
    )


def _params(fn: str, name: str, value: Any) -> Any:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise _fail(fn, name, "a mapping of parameter names to values", value)
    if len(value) > MAX_ITEMS:
        raise LimitError(f"{fn}(): {name} has more than {MAX_ITEMS} items")
    out = {}
    for key, v in value.items():
        if not isinstance(key, str) or not key or len(key) > 100:
            raise _fail(fn, f"each name in {name}", "text of 1 to 100 characters", key)
        if not (isinstance(v, str) and v.isidentifier() and len(v) <= 100):  # a name: a scale
            param_value(key, v)  # refuses what no parameter can be, before any work
        out[key] = v
    return out


def _grid(fn: str, name: str, value: Any) -> Any:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise _fail(fn, name, "a mapping of parameter names to lists of values", value)
    for key, values in value.items():
        if not isinstance(key, str) or not key or len(key) > 100:
            raise _fail(fn, f"each name in {name}", "text of 1 to 100 characters", key)
        if isinstance(values, str | bytes) or not isinstance(values, Iterable):
            raise _fail(fn, f"the values of {key!r}", "a list of numbers", values)
    return value


def _shape(fn: str, name: str, value: Any) -> Shape | None:
    if value is None:
        return None
    if (
        isinstance(value, str | bytes)
        or not isinstance(value, Sequence)
        or len(value) not in (1, 3)
    ):
        raise _fail(fn, name, "C, H, W (or one size) as integers", value)
    for v in value:
        if isinstance(v, bool) or not isinstance(v, int):
            raise _fail(fn, f"each size of {name}", "an integer", v)
        check_dim(v, "input size")
    return tuple(value)


def _count(fn: str, name: str, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 1 << 20:
        raise _fail(fn, name, f"an integer from 1 to {1 << 20}", value)
    return value


def _budgets(fn: str, name: str, value: Any) -> tuple[tuple[str, Any], ...]:
    """Budgets as (name, value) pairs, as :func:`convcalc.values.parse_budget` gives them."""
    from convcalc.values import BUDGET_NAMES

    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise _fail(fn, name, "a list of (name, value) pairs", value)
    items = tuple(itertools.islice(value, MAX_ITEMS + 1))
    if len(items) > MAX_ITEMS:
        raise LimitError(f"{fn}(): {name} has more than {MAX_ITEMS} items")
    out = []
    for item in items:
        if not (isinstance(item, tuple) and len(item) == 2 and item[0] in BUDGET_NAMES):
            raise _fail(fn, f"each of {name}", "a (budget name, value) pair", item)
        v = item[1]
        if isinstance(v, bool) or not isinstance(v, int | float | Fraction) or not v > 0:
            raise _fail(fn, f"the value of budget {item[0]!r}", "a positive number", v)
        if isinstance(v, float) and v == float("inf"):
            raise _fail(fn, f"the value of budget {item[0]!r}", "a finite number", v)
        out.append((BUDGET_NAMES[item[0]], v))
    return tuple(out)


def _graph(fn: str, name: str, value: Any) -> Graph:
    if not isinstance(value, Graph):
        raise _fail(fn, name, "a Graph (from load)", value)
    return value


def _report(fn: str, name: str, value: Any) -> Report:
    if not isinstance(value, Report):
        raise _fail(fn, name, "a Report (from analyze)", value)
    return value


def _callable(fn: str, name: str, value: Any) -> Any:
    if value is not None and not callable(value):
        raise _fail(fn, name, "a function or None", value)
    return value


_CHECKS: dict[str, Callable[[str, str, Any], Any]] = {
    "arch": _path,
    "device_file": partial(_path, optional=True),
    "items": _items,
    "archs": _items,
    "params": _params,
    "grid": _grid,
    "input_shape": _shape,
    "dtype": partial(_text, optional=True),
    "device": partial(_text, optional=True, limit=200),
    "text": _text,
    "free": _strings,
    "targets": _strings,
    "devices": _strings,
    "symbolic": _flag,
    "smooth": _flag,
    "design_warnings": _flag,
    "train": _flag,
    "optimizer": partial(_text, limit=100),
    "precision": partial(_text, limit=100),
    "warnings": _flag,
    "progress": _callable,
    "report": _report,
    "graph": _graph,
    "batch": _count,
    "max_batch": _flag,
    "checkpoint": _count,
    "budgets": _budgets,
}


def boundary(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` with its arguments checked first: wrong names or counts of arguments, wrong
    types, None where a value is needed, NaN, infinities, huge integers and nested values
    all become a :class:`UsageError` or :class:`LimitError` naming the argument, instead of
    whatever Python would raise deep inside. Input that nests deeper than the interpreter
    can follow is a :class:`LimitError` too."""
    signature = inspect.signature(fn)

    @functools.wraps(fn)
    def checked(*args: Any, **kwargs: Any) -> Any:
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError as e:
            raise UsageError(f"{fn.__name__}(): {e}") from None
        for name, value in bound.arguments.items():
            check = _CHECKS.get(name)
            if check is not None:
                bound.arguments[name] = check(fn.__name__, name, value)
        try:
            with context.collector_paused():
                return fn(*bound.args, **bound.kwargs)
        except RecursionError:
            raise LimitError(f"{fn.__name__}(): the input nests too deeply") from None

    return checked
