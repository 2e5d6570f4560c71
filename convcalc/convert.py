"""``convcalc convert``: any architecture the pipeline reads, written back as an editable
convcalc YAML file that analyses identically (docs/import.md, "convert").

The file is the graph itself: one layer per line, in the graph's order, each with its op,
its name, its inputs (``from:``, left out where it is the layer just before) and every
argument that differs from the kind's default, as exact numbers. Names keep their
structure: ``.`` (reserved for nesting in convcalc YAML) becomes ``__``, and a comment opens
each group of layers that shares a first name part, so the stages of the source stay
visible. A symbolic graph cannot be written (every size must be a number): bind its
parameters first.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from fractions import Fraction
from typing import Any

from convcalc import num
from convcalc.errors import UsageError
from convcalc.graph import INPUT, Graph, Layer
from convcalc.layers.base import REQUIRED

#: What ``.`` becomes in a written name (a layer name may not hold ``.``).
NEST = "__"
_UNSAFE = re.compile(r"[^A-Za-z0-9_\-]")


def _name(name: str, taken: dict[str, str]) -> str:
    """A layer name the schema accepts, unique in the file: ``a.b-c`` -> ``a__b-c``; any
    other character becomes ``_``, and a clash gets a numbered suffix."""
    base = _UNSAFE.sub("_", name.replace(".", NEST)) or "layer"
    if not (base[0].isalpha() or base[0] == "_"):
        base = f"l_{base}"
    out, n = base, 1
    while out in taken.values() or out == INPUT:
        n += 1
        out = f"{base}_{n}"
    taken[name] = out
    return out


def _value(value: Any, what: str) -> str:
    """An exact argument value in YAML flow syntax (JSON is valid YAML)."""
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Fraction):
        return str(value.numerator) if value.denominator == 1 else json.dumps(str(value))
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_value(v, what) for v in value) + "]"
    if not num.is_concrete(value):
        raise UsageError(
            f"{what} is a formula ({value}); convert writes numbers",
            hint="bind every parameter (--set, --alpha, --rho) and leave out --symbolic",
        )
    raise UsageError(f"{what}: a value of type {type(value).__name__} cannot be written")


def _same(value: Any, default: Any) -> bool:
    """Whether a bound value is what leaving the argument out gives."""
    if default is REQUIRED:
        return False
    if isinstance(default, int | Fraction) and isinstance(value, tuple):
        return all(v == default for v in value)  # a pair or padding written as one number
    if isinstance(default, list):
        default = tuple(default)
    return value == default


def _layer(layer: Layer, previous: str, names: dict[str, str]) -> str:
    kind = layer.kind
    fields = [f"op: {kind.op}", f"name: {names[layer.name]}"]
    sources = [INPUT if s == INPUT else names[s] for s in layer.inputs]
    if sources != [previous] or kind.inputs[0] > 1:
        shown = sources[0] if len(sources) == 1 else "[" + ", ".join(sources) + "]"
        fields.append(f"from: {shown}")
    for arg, spec in kind.args.items():
        value = layer.args.get(arg)
        if value is None or _same(value, spec.default):
            continue
        if spec.type in ("pair", "padding") and isinstance(value, tuple) and len(set(value)) == 1:
            value = value[0]  # [3, 3] as 3, [1, 1, 1, 1] as 1
        fields.append(f"{arg}: {_value(value, f'{layer.name}: argument {arg!r}')}")
    return "  - {" + ", ".join(fields) + "}"


def _groups(layers: Iterable[Layer]) -> Iterable[tuple[str | None, Layer]]:
    """Each layer with the first name part of its group, when that starts a new group."""
    last = None
    for layer in layers:
        head = layer.name.split(".", 1)[0] if "." in layer.name else None
        yield (head if head != last and head is not None else None), layer
        last = head


def convert(graph: Graph) -> str:
    """The convcalc YAML text of a graph (see the module docstring)."""
    for layer in graph.layers:
        if layer.weight != 1:
            raise UsageError(
                f"{layer.name} exists only under a condition on a free parameter",
                hint="bind every parameter to write the network",
            )
    shape = _value(tuple(graph.input_shape), "the input shape")
    lines = [
        f"# Written by convcalc convert from {json.dumps(graph.file or graph.source)}; its",
        "# layers in order, every argument exact ('.' of nested names written as '__').",
        "convcalc: 1",
        f"name: {json.dumps(_name(graph.name, {}))}",
        f"description: {json.dumps(graph.description or f'converted from {graph.source}')}",
    ]
    if graph.citation:
        lines.append(f"source: {json.dumps(graph.citation)}")
    lines += [f"input: {shape}", "layers:"]
    names: dict[str, str] = {}
    previous = INPUT
    for head, layer in _groups(graph.layers):
        if head is not None:
            lines.append(f"  # {_UNSAFE.sub('_', head)}")
        _name(layer.name, names)
        lines.append(_layer(layer, previous, names))
        previous = names[layer.name]
    return "\n".join(lines) + "\n"
