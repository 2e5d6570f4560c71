"""Sweeps over parameter grids (alpha x rho, g, scale...).

The network is analysed once with the varied parameters free; its totals are compiled into
exact plain-Python functions and evaluated at every point, which is thousands of times
faster than re-analysing. Where the structure itself depends on a varied parameter in a way
the symbolic engine cannot weigh (a block that exists only for some values), every point is
analysed concretely instead, and the result says so.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from convcalc import expr, num
from convcalc.errors import ConvcalcError, LimitError, UsageError

METRICS = ("params", "macs", "flops", "peak_activation_bytes")
MAX_POINTS = 1_000_000


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


@dataclass
class Sweep:
    arch: str
    names: list[str]
    rows: list[dict[str, Any]] = field(default_factory=list)
    compiled: bool = True
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        from convcalc.report import jsonable

        return {
            "schema": "convcalc.sweep/1",
            "architecture": self.arch,
            "vary": self.names,
            "compiled": self.compiled,
            "rows": [{k: jsonable(v) for k, v in row.items()} for row in self.rows],
        }


def sweep(
    arch: str,
    grid: Mapping[str, Sequence[Any]],
    fixed: Mapping[str, str] | None = None,
    dtype: str = "fp32",
    progress: Callable[[int, int], None] | None = None,
    device: Any = None,
) -> Sweep:
    """Evaluate params, MACs, FLOPs and peak memory at every point of ``grid``.

    With a device profile each point also gets the device's latency estimate and verdict;
    that needs the per-layer analysis, so each point is analysed on its own (the totals
    still come from the compiled formulas)."""
    from convcalc import api

    names = list(grid)
    if not names:
        raise UsageError("nothing to sweep: give --alpha, --rho or --vary name=values")
    points = list(itertools.product(*(grid[n] for n in names)))
    if len(points) > MAX_POINTS:
        raise LimitError(f"the grid has {len(points)} points; the limit is {MAX_POINTS}")
    fixed = dict(fixed or {})
    result = Sweep(arch, names)
    evaluate: Callable[..., tuple[Any, ...]] | None = None
    try:
        report = api.analyze(arch, fixed, dtype=dtype, free=names)
        from convcalc.symbolic.compile import compile_exprs

        evaluate = compile_exprs([getattr(report.totals, m) for m in METRICS], names)
    except ConvcalcError as e:
        if isinstance(e, UsageError):
            raise
        result.compiled = False
        result.note = f"analysed point by point: {e.message}"
    for index, point in enumerate(points):
        if evaluate is not None:
            values = evaluate(*point)
        else:
            params = {**fixed, **{n: v for n, v in zip(names, point, strict=True)}}
            totals = api.analyze(arch, params, dtype=dtype).totals
            values = tuple(getattr(totals, m) for m in METRICS)
        row = {**dict(zip(names, point, strict=True)), **dict(zip(METRICS, values, strict=True))}
        if device is not None:
            from convcalc.devices import estimate

            params = {**fixed, **dict(zip(names, point, strict=True))}
            est = estimate(api.analyze(arch, params, dtype=dtype), device)
            row["latency_s"] = est.latency_s
            row["verdict"] = (
                "pass" if est.passed else "fail: " + ", ".join(v.budget for v in est.failed)
            )
        result.rows.append(row)
        if progress is not None:
            progress(index + 1, len(points))
    return result
