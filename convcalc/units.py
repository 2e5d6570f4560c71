"""Numbers in words, one rule each for every place that prints them: binary byte units and
the plain text of an exact value."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

_BINARY = ((2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB"))


def binary_bytes(value: Any) -> str:
    """14,019,488 -> '13.4 MiB' (three significant digits); below 1 KiB the exact count."""
    for scale, unit in _BINARY:
        if abs(value) >= scale:
            return f"{float(value) / scale:.3g} {unit}"
    return f"{value} B"


def plain(value: Any) -> str:
    """A value without separators, for machines: a fraction as its decimal."""
    if isinstance(value, Fraction) and value.denominator != 1:
        return f"{float(value):g}"
    return str(value)
