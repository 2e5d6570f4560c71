"""Binding names to values: which names a file may bind, the built-ins the walk binds, and
the values of a block use's ``args``, its stage ``table`` rows and ``repeat`` counts.

These are functions of the environment they evaluate in (and of the
:class:`~convcalc.schema.where.Where` their errors name): binding keeps no state, so the
walk and the lower-bound estimate can evaluate the same entries without sharing any.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from convcalc import context, num
from convcalc.errors import ConvcalcError, SpecError
from convcalc.layers.base import Shape, evaluate_value
from convcalc.names import IDENTIFIER
from convcalc.schema import limits
from convcalc.schema.loader import YList, YMap
from convcalc.schema.where import Where

BUILTINS = ("i", "c_in", "h_in", "w_in")


def check_var_name(where: Where, name: str, node: Any) -> None:
    """Refuse a param, var, block argument or table column that is not an identifier, or
    that is a built-in."""
    if not IDENTIFIER.match(name) or name.startswith("__"):
        raise where.error(f"{name!r} is not a valid name", node, name)
    if name in BUILTINS:
        raise where.error(f"{name!r} is a built-in name ({', '.join(BUILTINS)})", node, name)


def fill_builtins(env: dict[str, Any], shape: Shape, i: int) -> None:
    """Bind the copy index ``i`` and the input's ``c_in`` (``h_in``, ``w_in``) in ``env``."""
    env["i"] = i
    env["c_in"] = shape[0]
    if len(shape) == 3:
        env["h_in"], env["w_in"] = shape[1], shape[2]


def repeat_count(where: Where, entry: YMap, env: Mapping[str, Any], layer: str) -> int | None:
    """The entry's ``repeat`` count (None without one), a whole number up to MAX_REPEAT."""
    if "repeat" not in entry:
        return None
    try:
        with context.smooth(False):  # a count of copies is whole even without rounding
            count = num.as_int(evaluate_value(entry["repeat"], env, "repeat"), "repeat")
        if not num.is_concrete(count):
            raise SpecError("repeat must be a number once parameters are bound")
    except ConvcalcError as e:
        raise where.locate(e, entry, "repeat", layer) from None
    if count < 0:
        raise where.error(f"repeat must be 0 or more, got {count}", entry, "repeat")
    if count > limits.MAX_REPEAT:
        raise where.limit(
            f"repeat {count} exceeds the limit of {limits.MAX_REPEAT}",
            entry,
            "repeat",
            layer=layer,
        )
    return count


def table_rows(where: Where, entry: YMap, env: Mapping[str, Any], use: str) -> list[dict[str, Any]]:
    """The column values of each row of a block use's ``table`` ([{}] without one)."""
    table = entry.get("table")
    if table is None:
        return [{}]
    if not isinstance(table, YMap) or set(table) != {"cols", "rows"}:
        raise where.error("'table' must have exactly 'cols' and 'rows'", entry, "table")
    cols, rows = table["cols"], table["rows"]
    if not isinstance(cols, list) or not all(isinstance(c, str) for c in cols):
        raise where.error("table 'cols' must be a list of names", table, "cols")
    for c in cols:
        check_var_name(where, c, table)
    if not isinstance(rows, YList) or not rows:
        raise where.error("table 'rows' must be a non-empty list", table, "rows")
    out = []
    for index, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != len(cols):
            raise where.error(
                f"table row {index} must have {len(cols)} values ({', '.join(cols)})",
                rows,
                index,
                layer=use,
            )
        try:
            out.append(
                {c: evaluate_value(v, env, f"column {c!r}") for c, v in zip(cols, row, strict=True)}
            )
        except ConvcalcError as e:
            raise where.locate(e, rows, index, use) from None
    return out


def block_args(
    where: Where,
    entry: YMap,
    spec: YMap,
    env: Mapping[str, Any],
    row: Mapping[str, Any],
    globals_: Mapping[str, Any],
    use: str,
) -> dict[str, Any]:
    """The arguments of one instance of a block use: each from the use's ``args``
    (evaluated in ``env``), else its table ``row``, else the default of the block's ``spec``
    (evaluated in the file's params and vars, ``globals_``, and the arguments before it)."""
    given = entry.get("args", YMap())
    if not isinstance(given, YMap):
        raise where.error("block 'args' must be a mapping", entry, "args", layer=use)
    for key in given:
        if key not in spec:
            raise where.error(
                f"block {entry['block']!r} has no argument {key!r}",
                given,
                key,
                layer=use,
                hint="its arguments are: " + (", ".join(spec) or "none"),
            )
    values: dict[str, Any] = {}
    for name, default in spec.items():
        try:
            if name in given:
                values[name] = evaluate_value(given[name], env, f"argument {name!r}")
            elif name in row:
                values[name] = row[name]
            elif default is not None:
                values[name] = evaluate_value(default, {**globals_, **values}, f"argument {name!r}")
            else:
                raise SpecError(
                    f"block {entry['block']!r} needs argument {name!r}",
                    hint="give it under 'args' or as a table column",
                )
        except ConvcalcError as e:
            raise where.locate(
                e, given if name in given else entry, name if name in given else None, use
            ) from None
    return values
