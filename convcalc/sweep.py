"""Sweeps over parameter grids (alpha x rho, g, scale...).

The network is analysed once with the varied parameters free; its totals are compiled into
exact plain-Python functions and evaluated at every point, which is thousands of times
faster than re-analysing. Where the structure itself depends on a varied parameter in a way
the symbolic engine cannot weigh (a block that exists only for some values), every point is
analysed concretely instead, and the result says so.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from convcalc.errors import ConvcalcError, LimitError, UsageError
from convcalc.pipeline import analyze
from convcalc.values import MAX_POINTS, Value, param_value

METRICS = ("params", "macs", "flops", "peak_activation_bytes")


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
    arch: str | Path,
    grid: Mapping[str, Iterable[Value]],
    params: Mapping[str, str] | None = None,
    dtype: str = "fp32",
    progress: Callable[[int, int], None] | None = None,
    device: str | None = None,
    device_file: str | Path | None = None,
) -> Sweep:
    """Evaluate params, MACs, FLOPs and peak memory at every point of ``grid``.

    With a device profile (a bundled or user profile by name, or a file) each point also
    gets the device's latency estimate and verdict; that needs the per-layer analysis, so
    each point is analysed on its own (the totals still come from the compiled formulas)."""
    profile = None
    if device or device_file:
        from convcalc.devices import load_profile

        profile = load_profile(device, path=device_file)
    grid = {k: [param_value(k, v) for v in vs] for k, vs in grid.items()}
    arch = str(arch)
    names = list(grid)
    if not names:
        raise UsageError("nothing to sweep: give --alpha, --rho or --vary name=values")
    points = list(itertools.product(*(grid[n] for n in names)))
    if len(points) > MAX_POINTS:
        raise LimitError(f"the grid has {len(points)} points; the limit is {MAX_POINTS}")
    fixed = dict(params or {})
    result = Sweep(arch, names)
    evaluate: Callable[..., tuple[Any, ...]] | None = None
    try:
        report = analyze(arch, fixed, dtype=dtype, free=names)
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
            totals = analyze(arch, params, dtype=dtype).totals
            values = tuple(getattr(totals, m) for m in METRICS)
        row = {**dict(zip(names, point, strict=True)), **dict(zip(METRICS, values, strict=True))}
        if profile is not None:
            from convcalc.devices import estimate

            params = {**fixed, **dict(zip(names, point, strict=True))}
            est = estimate(analyze(arch, params, dtype=dtype), profile)
            row["latency_s"] = est.latency_s
            row["verdict"] = (
                "pass" if est.passed else "fail: " + ", ".join(v.budget for v in est.failed)
            )
        result.rows.append(row)
        if progress is not None:
            progress(index + 1, len(points))
    return result
