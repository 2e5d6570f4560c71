"""Number and shape formatting shared by every format: exact counts, short approximations,
byte sizes, times, rates, ratios, shapes, receptive fields and folded rows.

These are the words every format agrees on; none of them is a format of its own.
"""

from __future__ import annotations

import functools
import itertools
import operator
from collections.abc import Iterable, Sequence
from dataclasses import replace
from fractions import Fraction
from typing import Any

from convcalc import num
from convcalc.report import LayerRow
from convcalc.units import binary_bytes, plain

_UNITS = ((10**12, "T"), (10**9, "G"), (10**6, "M"), (10**3, "K"))


def formula(value: Any) -> str:
    """A symbolic value as a readable formula (sympy is loaded only for these)."""
    from convcalc.symbolic.ops import show

    return show(value)


def human(value: Any) -> str:
    """4,231,976 -> '4.23M'; symbolic values as formulas."""
    if not num.is_concrete(value):
        return formula(value)
    for scale, unit in _UNITS:
        if abs(value) >= scale:
            return f"{float(value) / scale:.3g}{unit}"
    return plain(value)


def human_bytes(value: Any) -> str:
    """14,019,488 -> '13.4 MiB'; symbolic values as formulas."""
    if not num.is_concrete(value):
        return formula(value)
    return binary_bytes(value)


def exact(value: Any) -> str:
    """4231976 -> '4,231,976'."""
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return plain(value) if num.is_concrete(value) else formula(value)


def shape(values: Sequence[Any]) -> str:
    """(64, 56, 56) -> '64x56x56'."""
    return "x".join(plain(v) for v in values)


def rf_text(row: LayerRow) -> str:
    """A layer's receptive field: one size when square, 'HxW' otherwise, '' for vectors.
    Where units differ (after upsampling) an axis reads 'smallest..largest'; where the
    field is only bounded, '<=bound' (docs/conventions.md)."""
    if row.rf is None:
        return ""
    h, w = (_rf_axis(row.rf, axis) for axis in (0, 1))
    return h if h == w else f"{h}x{w}"


def _rf_axis(rf: Any, axis: int) -> str:
    if rf.bound[axis]:
        return f"<={plain(rf.size[axis])}"
    if rf.min_size is not None and rf.min_size[axis] != rf.size[axis]:
        return f"{plain(rf.min_size[axis])}..{plain(rf.size[axis])}"
    return plain(rf.size[axis])


def seconds(value: float | None) -> str:
    """0.0000935 -> '93.5 us'; None -> '-'."""
    if value is None:
        return "-"
    if value == 0:
        return "0"
    for scale, unit in ((1.0, "s"), (1e-3, "ms"), (1e-6, "us")):
        if abs(value) >= scale:
            return f"{value / scale:.3g} {unit}"
    return f"{value / 1e-9:.3g} ns"


def count(value: float) -> str:
    """1234.5 -> '1,234.5'; 0.0185 -> '0.0185' (small rates keep three digits)."""
    return f"{value:,.1f}" if value >= 10 else f"{value:.3g}"


def rate(value: float | None, unit: str) -> str:
    """11.34e12 -> '11.3 T' + unit."""
    if value is None:
        return "-"
    for scale, prefix in ((1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K")):
        if value >= scale:
            return f"{value / scale:.3g} {prefix}{unit}"
    return f"{value:.3g} {unit}"


#: Significant digits of a ratio in a table (JSON has the exact fraction).
RATIO_DIGITS = 4


def ratio_text(r: Any) -> str:
    """An exact ratio to :data:`RATIO_DIGITS` significant digits: 3997/1000 -> 'x3.997',
    0.0306 -> 'x0.03059 (1/32.69)', 1/4 -> 'x0.25 (1/4)'; formulas as formulas."""
    if r is None:
        return "-"
    if not num.is_concrete(r):
        return formula(r)
    value = float(r)
    if value == 1:
        return "x1"
    if 0 < value < 1:
        return f"x{_digits(value)} (1/{_digits(1 / value)})"
    return f"x{_digits(value)}"


def _digits(value: float) -> str:
    """:data:`RATIO_DIGITS` significant digits, whole numbers past them written out
    (123456.7 -> '123,457', not '1.235e+05')."""
    if abs(value) >= 10**RATIO_DIGITS:
        return f"{round(value):,}"
    return f"{value:.{RATIO_DIGITS}g}"


def fraction_text(r: Any) -> str | None:
    """An exact ratio as text a program reads back exactly: '3997/1000', '4', '-1/3';
    formulas as formulas; None stays None (division by zero)."""
    if r is None:
        return None
    if not num.is_concrete(r):
        return formula(r)
    f = Fraction(r)
    return str(f.numerator) if f.denominator == 1 else f"{f.numerator}/{f.denominator}"


def share(part: Any, whole: Any) -> str:
    """``part`` as a percentage of ``whole`` to one decimal (2/3 -> '66.7%'); '' when either
    is a formula or the whole is zero."""
    if not (num.is_concrete(part) and num.is_concrete(whole)) or not whole:
        return ""
    return f"{float(Fraction(part) * 100 / Fraction(whole)):.1f}%"


def elide_middle(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters in the middle ('layer3.5.c…nv3.bn'), so both its
    first parts (the stage) and its last (the layer's role) stay; shorter text unchanged."""
    if len(text) <= width:
        return text
    if width < 3:
        return text[:width]
    head = width // 2
    tail = width - 1 - head
    return text[:head] + "…" + (text[-tail:] if tail else "")


def _prefix(name: str, depth: int) -> str:
    """The first ``depth`` parts of a dotted name ('layer1.0.conv1', 2 -> 'layer1.0')."""
    return ".".join(name.split(".", depth)[:depth])


def _merged(run: Sequence[LayerRow], name: str) -> LayerRow:
    """One row for consecutive rows: named ``name``, their counts summed (left to right,
    as written), the shape and receptive field of the last, the type of all of them or
    'block' where they differ; a single row only renamed, its summary kept."""
    first = run[0]
    if len(run) == 1:
        return replace(first, name=name) if name != first.name else first
    last = run[-1]
    return replace(
        first,
        name=name,
        type=first.type if all(row.type == first.type for row in run) else "block",
        output_shape=last.output_shape,
        params=_sum(row.params for row in run),
        macs=_sum(row.macs for row in run),
        flops=_sum(row.flops for row in run),
        activation_bytes=_sum(row.activation_bytes for row in run),
        traffic_bytes=_sum(row.traffic_bytes for row in run),
        rf=last.rf,
        summary="",
    )


def _sum(values: Iterable[Any]) -> Any:
    """Values added in order (exact for ints and fractions, one formula for symbols)."""
    return functools.reduce(operator.add, values)


def fold(rows: Sequence[LayerRow], depth: int | None) -> list[LayerRow]:
    """Fold consecutive rows that share the first ``depth`` name parts into one row (the
    runs found first, so a run of thousands of layers is one copy, not one per layer)."""
    if not depth:
        return list(rows)
    runs = itertools.groupby(rows, key=lambda row: _prefix(row.name, depth))
    return [_merged(list(run), key) for key, run in runs]


#: The most rows the table format shows by default (docs/cli.md): a longer network is
#: folded by the deepest name prefix that keeps it within this many rows.
REVIEW_ROWS = 40


def review_depth(rows: Sequence[LayerRow], limit: int = REVIEW_ROWS) -> int | None:
    """The deepest fold (name parts kept) that shows ``rows`` in at most ``limit`` rows;
    None when every layer fits already, or when no fold does (a flat chain of names)."""
    if len(rows) <= limit:
        return None
    best = None
    for depth in range(1, 1 + max(row.name.count(".") for row in rows)):
        runs = itertools.groupby(rows, key=lambda row: _prefix(row.name, depth))
        if sum(1 for _ in itertools.islice(runs, limit + 1)) > limit:
            break  # counted no further than one row past the limit
        best = depth
    return best


def tree(rows: Sequence[LayerRow], depth: int | None = None) -> list[tuple[int, str, LayerRow]]:
    """The layers as a hierarchy by name parts, each block (a run of layers sharing a name
    prefix) first as a row of its subtotals, then its parts one level deeper, down to
    ``depth`` levels (deeper parts stay folded into their block); a layer alone under its
    prefix is a row of its own. Each entry is (level, label, row): the label is the name
    past the parent block's prefix (``conv1`` under ``layer1.0``)."""
    out: list[tuple[int, str, LayerRow]] = []

    def walk(group: Sequence[LayerRow], level: int) -> None:
        for key, items in itertools.groupby(group, key=lambda row: _prefix(row.name, level + 1)):
            run = list(items)
            parts = run[0].name.split(".")
            if (len(run) == 1 and len(parts) <= level + 1) or (depth and level + 1 >= depth):
                row = run[0] if len(run) == 1 else _merged(run, key)
                out.append((level, ".".join(row.name.split(".")[level:]), row))
            else:
                out.append((level, parts[level], _merged(run, key)))
                walk(run, level + 1)

    walk(rows, 0)
    return out
