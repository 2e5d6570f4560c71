"""Values given on the command line or to the API, parsed exactly and never evaluated as
code: ``--set name=value``, ``--input CxHxW``, sweep value lists and parameter values."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from convcalc import expr, num
from convcalc.errors import ConvcalcError, LimitError, UsageError
from convcalc.layers.base import Shape, check_dim
from convcalc.names import LAYER_NAME

Value = int | Fraction | float | str

MAX_POINTS = 1_000_000  # values in one sweep range, and points in one sweep grid


def param_value(name: str, value: Value) -> Any:
    """A parameter value as an exact number: text is a constant expression (``0.714`` is
    714/1000), a float the decimal it prints as."""
    if isinstance(value, str):
        try:
            return expr.constant(value)
        except ConvcalcError as e:
            raise UsageError(f"value of {name!r}: {e.message}", hint=e.hint) from None
    if isinstance(value, float):
        return Fraction(repr(value))
    return value


def parse_assignment(text: str) -> tuple[str, str]:
    """``name=value`` from ``--set``; the value is parsed later as a constant expression."""
    name, sep, value = text.partition("=")
    name = name.strip()
    if not sep or not LAYER_NAME.match(name) or not value.strip():
        raise UsageError(f"--set expects name=value, got {text!r}")
    return name, value.strip()


def parse_shape(text: str) -> Shape:
    """``3x224x224`` (or ``224`` for a vector input) from ``--input``."""
    parts = text.lower().replace("*", "x").split("x")
    try:
        values = tuple(check_dim(expr.constant(p), "input size") for p in parts)
    except ConvcalcError as e:
        raise UsageError(f"--input {text!r}: {e.message}", hint="write it as CxHxW") from None
    if len(values) not in (1, 3):
        raise UsageError(f"--input {text!r} must be CxHxW (or N)")
    return values


def parse_values(text: str) -> list[Any]:
    """``0.25,0.5,1`` or ``0.25:1:0.25`` (inclusive), or a mix: exact values."""
    values: list[Any] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            if ":" in part:
                bounds = [expr.constant(p) for p in part.split(":")]
                if len(bounds) != 3 or bounds[2] <= 0:
                    raise UsageError(f"a range is start:stop:step with step > 0, got {part!r}")
                start, stop, step = (Fraction(b) for b in bounds)
                count = int((stop - start) / step) + 1
                if count > MAX_POINTS:
                    raise LimitError(f"range {part!r} has {count} values")
                values += [num.normalize(start + i * step) for i in range(max(count, 0))]
            else:
                values.append(expr.constant(part))
        except ConvcalcError as e:
            raise UsageError(f"bad sweep value {part!r}: {e.message}") from None
    if not values:
        raise UsageError(f"no values in {text!r}")
    return values
