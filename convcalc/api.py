"""The library surface: everything the command line does is a call here.

Functions return data (graphs, reports); they never print or exit. Errors are
:class:`convcalc.errors.ConvcalcError` subclasses carrying file, line and layer, and only
those: every function is wrapped in :func:`convcalc.pipeline.boundary`, which checks its
arguments (types, None, NaN, infinities, huge and nested values) before it runs. This module
only re-exports: the pipeline (:mod:`convcalc.pipeline`) and the commands built on it live
below it, so none of them imports this facade. Each name is imported when first used, so
``from convcalc import api`` costs nothing and a concrete analysis never loads sympy.
"""

from __future__ import annotations

import importlib
import inspect
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from convcalc.compare import compare
    from convcalc.convert import convert
    from convcalc.devices.estimate import estimate_on as estimate
    from convcalc.explain import explain
    from convcalc.frontends.ultralytics.counting import apply as convention
    from convcalc.frontends.ultralytics.counting import note as convention_note
    from convcalc.pipeline import ArchInfo, analyze, declared_params, list_architectures, load
    from convcalc.review import review
    from convcalc.sweep import sweep
    from convcalc.validate import validate
    from convcalc.values import (
        Value,
        parse_assignment,
        parse_budget,
        parse_input,
        parse_shape,
        parse_values,
    )

# name -> (module, name there)
_EXPORTS = {
    "ArchInfo": ("convcalc.pipeline", "ArchInfo"),
    "Value": ("convcalc.values", "Value"),
    "analyze": ("convcalc.pipeline", "analyze"),
    "compare": ("convcalc.compare", "compare"),
    "convert": ("convcalc.convert", "convert"),
    "convention": ("convcalc.frontends.ultralytics.counting", "apply"),
    "convention_note": ("convcalc.frontends.ultralytics.counting", "note"),
    "declared_params": ("convcalc.pipeline", "declared_params"),
    "estimate": ("convcalc.devices.estimate", "estimate_on"),
    "explain": ("convcalc.explain", "explain"),
    "list_architectures": ("convcalc.pipeline", "list_architectures"),
    "load": ("convcalc.pipeline", "load"),
    "parse_assignment": ("convcalc.values", "parse_assignment"),
    "parse_budget": ("convcalc.values", "parse_budget"),
    "parse_input": ("convcalc.values", "parse_input"),
    "parse_shape": ("convcalc.values", "parse_shape"),
    "parse_values": ("convcalc.values", "parse_values"),
    "review": ("convcalc.review", "review"),
    "sweep": ("convcalc.sweep", "sweep"),
    "validate": ("convcalc.validate", "validate"),
}

__all__ = [
    "ArchInfo",
    "Value",
    "analyze",
    "compare",
    "convention",
    "convention_note",
    "convert",
    "declared_params",
    "estimate",
    "explain",
    "list_architectures",
    "load",
    "parse_assignment",
    "parse_budget",
    "parse_input",
    "parse_shape",
    "parse_values",
    "review",
    "sweep",
    "validate",
]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'convcalc.api' has no attribute {name!r}")
    module, attr = _EXPORTS[name]
    value = getattr(importlib.import_module(module), attr)
    if inspect.isfunction(value):  # every argument checked before any work
        from convcalc.pipeline import boundary

        value = boundary(value)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
