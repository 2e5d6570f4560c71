"""Binary byte units, the one rule for every place that prints a size in words."""

from __future__ import annotations

from typing import Any

_BINARY = ((2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB"))


def binary_bytes(value: Any) -> str:
    """14,019,488 -> '13.4 MiB' (three significant digits); below 1 KiB the exact count."""
    for scale, unit in _BINARY:
        if abs(value) >= scale:
            return f"{float(value) / scale:.3g} {unit}"
    return f"{value} B"
