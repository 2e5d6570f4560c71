"""The top level of an architecture file: its keys and schema version, ``params`` (short
and long form), ``vars``, ``input`` and the per-op ``defaults``.

Each part is read once, before any layer, by a function of the loaded mapping and the
:class:`~convcalc.schema.where.Where` its errors name; what they return (the params' and
vars' values, the input shape, the defaults) is all the rest of the expansion reads of it.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from convcalc.errors import ConvcalcError, SpecError, UsageError
from convcalc.layers import REGISTRY
from convcalc.layers.base import Shape, check_dim, evaluate_value
from convcalc.schema import limits
from convcalc.schema.binding import check_var_name
from convcalc.schema.loader import YMap
from convcalc.schema.where import Where

SCHEMA_VERSION = 1

TOP_KEYS = {
    "convcalc": "schema version (1)",
    "name": "architecture name",
    "description": "one line shown by `convcalc list`",
    "source": "citation of the paper or implementation mirrored",
    "params": "parameters with defaults, settable with --set",
    "vars": "derived values: name -> expression, in order",
    "input": "input shape [C, H, W] (or [N])",
    "defaults": "per-op default arguments",
    "blocks": "reusable blocks: name -> {args, body}",
    "imports": "files whose blocks this file uses (paths relative to it, or bundled names)",
    "layers": "the layer list",
}


def check_keys(where: Where, doc: YMap, hint: str | None = None) -> None:
    """Refuse a top-level key that is not in TOP_KEYS (of a file or of an imported one)."""
    for key in doc:
        if key not in TOP_KEYS:
            raise where.error(f"unknown top-level key {key!r}", doc, key, hint=hint)


def check_top_level(where: Where, doc: Any) -> YMap:
    """``doc`` if it is an architecture: a mapping of known keys with 'input' and 'layers'
    in a supported schema version."""
    if not isinstance(doc, YMap) or not any(key in TOP_KEYS for key in doc):
        # (a mapping of none of convcalc's keys is some other file: none of it is quoted)
        raise SpecError(
            "the file must be a mapping with at least 'input' and 'layers'",
            file=where.file,
            line=getattr(doc, "line", 1),
            hint="see docs/schema.md",
        )
    check_keys(where, doc, hint="allowed keys: " + ", ".join(TOP_KEYS))
    version = doc.get("convcalc", SCHEMA_VERSION)
    if version != SCHEMA_VERSION:
        raise where.error(
            f"schema version {version!r} is not supported; this convcalc reads version "
            f"{SCHEMA_VERSION}",
            doc,
            "convcalc",
        )
    if "layers" not in doc and "input" not in doc and "blocks" in doc:
        raise where.error(
            "this file only defines blocks",
            doc,
            hint="use its blocks from another file with `imports:`",
        )
    for key in ("input", "layers"):
        if key not in doc:
            raise where.error(f"missing required key {key!r}", doc, hint="see docs/schema.md")
    return doc


def read_params(
    where: Where,
    doc: YMap,
    source: str,
    overrides: Mapping[str, Any],
    free: tuple[str, ...],
    symbolic: bool,
) -> dict[str, Any]:
    """The value of each param: its ``overrides`` value, a symbol (if ``free``, without a
    default, or marked symbolic under ``symbolic``), else its evaluated default."""
    params = doc.get("params", YMap())
    if not isinstance(params, dict):
        raise where.error("'params' must be a mapping of name: default", doc, "params")
    if len(params) > limits.MAX_PARAMS:
        raise where.limit(f"more than {limits.MAX_PARAMS} params", doc, "params")
    known = ", ".join(params) or "none"
    for name in (*overrides, *free):
        if name not in params:
            raise UsageError(
                f"{source} has no parameter {name!r}; its parameters are: {known}",
            )
    env: dict[str, Any] = {}
    for name, raw in params.items():
        check_var_name(where, name, params)
        default, kind, marked = _param_spec(where, name, raw, params)
        if name in overrides and name not in free:
            env[name] = overrides[name]
        elif name in free or default is None or (symbolic and marked):
            from convcalc.symbolic import ops

            env[name] = ops.symbol(name, kind)
        else:
            try:
                env[name] = evaluate_value(default, env, f"param {name!r}")
            except ConvcalcError as e:
                raise where.locate(e, params, name) from None
    return env


def _param_spec(where: Where, name: str, raw: Any, params: YMap) -> tuple[Any, str, bool]:
    """(default, kind, symbolic?) of a param. ``name: 1.0`` is real, ``name: 3`` an
    integer, ``name:`` (no default) an integer left free; the long form
    ``{default, type: int|real|even, symbolic: true, doc}`` says it explicitly, and
    ``symbolic: true`` marks the params ``--symbolic`` frees (alpha, rho)."""
    if isinstance(raw, YMap):
        for key in raw:
            if key not in ("default", "type", "symbolic", "doc"):
                raise where.error(
                    f"unknown key {key!r} in param {name!r}",
                    raw,
                    key,
                    hint="a param has default, type (int, real or even), symbolic and doc",
                )
        kind = raw.get("type")
        if kind not in (None, "int", "real", "even"):
            raise where.error(f"param {name!r}: type must be int, real or even", raw, "type")
        default = raw.get("default")
        if kind is None:
            kind = "real" if isinstance(default, float) else "int"
        marked = raw.get("symbolic", False)
        if not isinstance(marked, bool):
            raise where.error(f"param {name!r}: symbolic must be true or false", raw, "symbolic")
        return default, kind, marked
    if isinstance(raw, list | bool):
        raise where.error(f"param {name!r} must be a number or an expression", params, name)
    return raw, "real" if isinstance(raw, float) else "int", False


def read_vars(where: Where, doc: YMap, env: dict[str, Any]) -> None:
    """Evaluate the ``vars`` in order, each into ``env`` (which holds the params)."""
    variables = doc.get("vars", YMap())
    if not isinstance(variables, dict):
        raise where.error("'vars' must be a mapping of name: expression", doc, "vars")
    for name, raw in variables.items():
        check_var_name(where, name, variables)
        if name in env:
            raise where.error(f"var {name!r} shadows a param", variables, name)
        try:
            env[name] = evaluate_value(raw, env, f"var {name!r}")
        except ConvcalcError as e:
            raise where.locate(e, variables, name) from None


def read_input(where: Where, doc: YMap, env: Mapping[str, Any]) -> Shape:
    """The ``input`` shape, [C, H, W] or [N], each size evaluated in ``env``."""
    raw = doc["input"]
    if isinstance(raw, YMap) and "shape" in raw:
        raw = raw["shape"]
    if not isinstance(raw, list) or len(raw) not in (1, 3):
        raise where.error("'input' must be [C, H, W] or [N]", doc, "input")
    try:
        return tuple(check_dim(evaluate_value(v, env, "input size"), "input size") for v in raw)
    except ConvcalcError as e:
        raise where.locate(e, doc, "input") from None


def read_defaults(where: Where, doc: YMap) -> dict[str, YMap]:
    """The ``defaults`` of a file (or of an imported one): op name -> default arguments."""
    defaults = doc.get("defaults", YMap())
    if not isinstance(defaults, YMap):
        raise where.error("'defaults' must map op names to arguments", doc, "defaults")
    out: dict[str, YMap] = {}
    for op, values in defaults.items():
        if op not in REGISTRY:
            raise unknown_op(where, op, defaults, op)
        if not isinstance(values, YMap):
            raise where.error(f"defaults for {op!r} must be a mapping", defaults, op)
        out[op] = values
    return out


def unknown_op(where: Where, op: Any, node: Any, key: Any, layer: str | None = None) -> SpecError:
    """The error for an op name the registry lacks, with the closest names as a hint."""
    close = difflib.get_close_matches(str(op), REGISTRY, n=3)
    hint = (f"did you mean {', '.join(close)}? " if close else "") + "`convcalc layers` lists them"
    return where.error(f"unknown op {op!r}", node, key, hint=hint, layer=layer)
