"""Values given on the command line or to the API, parsed exactly and never evaluated as
code: ``--set name=value``, ``--input CxHxW``, sweep value lists and parameter values."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

from convcalc import expr, num
from convcalc.errors import ConvcalcError, LimitError, UsageError
from convcalc.layers.base import Shape, check_dim
from convcalc.names import LAYER_NAME

Value = int | Fraction | float | str

MAX_POINTS = 1_000_000  # values of one sweep parameter, and points in one sweep grid
MAX_ANALYSED_POINTS = 1_000  # points of a sweep analysed one by one (a device, or no formula)


MAX_TEXT = 1_000  # characters of one value given as text


def param_value(name: str, value: Value) -> Any:
    """A parameter value as an exact number: text is a constant expression (``0.714`` is
    714/1000), a float the decimal it prints as. Anything else (a bool, None, a list, NaN,
    an infinity, an integer beyond the exact-value limit) is a :class:`UsageError` or a
    :class:`LimitError`, never a crash later."""
    if isinstance(value, str):
        if len(value) > MAX_TEXT:
            raise LimitError(
                f"value of {name!r} is {len(value)} characters; the limit is {MAX_TEXT}"
            )
        try:
            return expr.constant(value)
        except ConvcalcError as e:
            raise UsageError(f"value of {name!r}: {e.message}", hint=e.hint) from None
    if isinstance(value, bool) or not isinstance(value, int | Fraction | float):
        raise UsageError(f"value of {name!r} must be a number or text, got {type(value).__name__}")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise UsageError(f"value of {name!r} must be finite, got {value!r}")
        value = Fraction(repr(value))
    try:
        return num.normalize(value)
    except LimitError as e:
        raise LimitError(f"value of {name!r}: {e.message}") from None


def parse_assignment(text: str) -> tuple[str, str]:
    """``name=value`` from ``--set``; the value is parsed later as a constant expression."""
    if not isinstance(text, str):
        raise UsageError(f"--set expects name=value text, got {type(text).__name__}")
    name, sep, value = text.partition("=")
    name = name.strip()
    if not sep or not LAYER_NAME.match(name) or not value.strip():
        raise UsageError(f"--set expects name=value, got {text!r}")
    return name, value.strip()


def parse_shape(text: str) -> Shape:
    """``3x224x224`` (or ``224`` for a vector input) from ``--input``."""
    if not isinstance(text, str) or len(text) > MAX_TEXT:
        raise UsageError("--input expects CxHxW text")
    parts = text.lower().replace("*", "x").split("x")
    try:
        values = tuple(check_dim(expr.constant(p), "input size") for p in parts)
    except ConvcalcError as e:
        raise UsageError(f"--input {text!r}: {e.message}", hint="write it as CxHxW") from None
    if len(values) not in (1, 3):
        raise UsageError(f"--input {text!r} must be CxHxW, NxCxHxW (a batch of N) or N")
    return values


def parse_input(shape_text: str | None, batch: int | None) -> tuple[Shape | None, int]:
    """``--input`` and ``--batch`` together: the shape and the batch. ``NxCxHxW`` gives the
    batch as its leading size (which must agree with ``--batch`` when both are given)."""
    text = shape_text
    if text is None:
        return None, 1 if batch is None else batch
    parts = text.lower().replace("*", "x").split("x") if isinstance(text, str) else []
    if len(parts) != 4:
        return parse_shape(text), 1 if batch is None else batch
    lead, *rest = parts
    shape = parse_shape("x".join(rest))
    try:
        size = check_dim(expr.constant(lead), "batch")
    except ConvcalcError as e:
        raise UsageError(f"--input {text!r}: {e.message}", hint="write it as NxCxHxW") from None
    if batch is not None and batch != size:
        raise UsageError(f"--input {text!r} gives batch {size} but --batch is {batch}")
    return shape, size


def parse_values(text: str) -> list[Any]:
    """``0.25,0.5,1`` or ``0.25:1:0.25`` (inclusive), or a mix: exact values. How many
    values the text makes is computed from the ranges first, and more than
    :data:`MAX_POINTS` are refused before any is built."""
    if not isinstance(text, str):
        raise UsageError(f"sweep values must be text, got {type(text).__name__}")
    if len(text) > 10_000:
        raise LimitError(f"sweep values of {len(text)} characters; the limit is 10000")
    parts: list[tuple[str, Any, Any, int]] = []  # (text, start, step, count)
    total = 0
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            if ":" in part:
                bounds = [expr.constant(p) for p in part.split(":")]
                if len(bounds) != 3 or not num.is_concrete(bounds[2]) or bounds[2] <= 0:
                    raise UsageError(f"a range is start:stop:step with step > 0, got {part!r}")
                start, stop, step = (Fraction(b) for b in bounds)
                count = max(int((stop - start) / step) + 1, 0)
            else:
                start, step, count = expr.constant(part), 0, 1
        except (ConvcalcError, TypeError, ValueError, ZeroDivisionError) as e:
            message = e.message if isinstance(e, ConvcalcError) else "not an exact number"
            raise UsageError(f"bad sweep value {part!r}: {message}") from None
        total += count
        if total > MAX_POINTS:
            raise LimitError(
                f"the values {text[:60]!r} make more than {MAX_POINTS} points",
                hint="a coarser step, or fewer values",
            )
        parts.append((part, start, step, count))
    values = [num.normalize(start + i * step) for _, start, step, n in parts for i in range(n)]
    if not values:
        raise UsageError(f"no values in {text!r}")
    return values


#: ``--budget`` names: the short ones first, then every profile budget by its own name.
BUDGET_NAMES = {
    "memory": "memory_bytes",
    "latency": "latency_s",
    "throughput": "throughput_per_s",
    "weights": "param_bytes",
    "activations": "peak_activation_bytes",
    **{
        k: k
        for k in (
            "params",
            "macs",
            "flops",
            "param_bytes",
            "peak_activation_bytes",
            "memory_bytes",
            "latency_s",
            "throughput_per_s",
        )
    },
}
_COUNT = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12}
_BYTES = {
    "b": 1,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
}
_TIME = {"s": Fraction(1), "ms": Fraction(1, 10**3), "us": Fraction(1, 10**6)}


def parse_budget(text: str) -> tuple[str, Any]:
    """``memory=16GiB``, ``latency=10ms``, ``params=5M``, ``throughput=200/s`` from
    ``--budget``: the profile budget's name and its exact value (bytes, seconds, counts;
    K, M, G are powers of 1000, KiB, MiB, GiB of 1024)."""
    if not isinstance(text, str) or len(text) > MAX_TEXT or "=" not in text:
        raise UsageError(
            f"--budget expects name=value, got {text!r}",
            hint="e.g. --budget memory=16GiB --budget latency=10ms --budget params=5M",
        )
    name, raw = (part.strip() for part in text.split("=", 1))
    key = BUDGET_NAMES.get(name.lower())
    if key is None:
        raise UsageError(
            f"unknown budget {name!r}",
            hint="use one of " + ", ".join(BUDGET_NAMES),
        )
    value = raw.lower().replace("_", "").replace(",", "")
    units: dict[str, Any]
    if key.endswith("_bytes"):
        units = _BYTES
    elif key == "latency_s":
        units = _TIME
    elif key == "throughput_per_s":
        units, value = {"": 1}, value.removesuffix("/s")
    else:
        units = _COUNT
    suffix = ""
    for unit in sorted(units, key=len, reverse=True):
        if unit and value.endswith(unit):
            suffix, value = unit, value[: -len(unit)]
            break
    if key.endswith("_bytes") and not suffix:
        suffix = "b"
    if suffix not in units:
        raise UsageError(f"--budget {text!r}: give a unit ({', '.join(u for u in units if u)})")
    try:
        number = expr.constant(value.strip())
    except ConvcalcError as e:
        raise UsageError(f"--budget {text!r}: {e.message}") from None
    if number <= 0:
        raise UsageError(f"--budget {text!r}: a budget must be positive")
    exact = number * units[suffix]
    if isinstance(exact, Fraction) and exact.denominator == 1:
        exact = exact.numerator
    return key, exact
