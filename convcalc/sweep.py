"""Sweeps over parameter grids (alpha x rho, g, scale...).

The network is analysed once with the varied parameters free; its totals are compiled into
exact plain-Python functions and evaluated at every point, which is thousands of times
faster than re-analysing. Where the structure itself depends on a varied parameter in a way
the symbolic engine cannot weigh (a block that exists only for some values), every point is
analysed concretely instead, and the result says so.

The size of the grid is known from the values before anything is built and is refused
over :data:`~convcalc.values.MAX_POINTS` (and over
:data:`~convcalc.values.MAX_ANALYSED_POINTS` where each point must be analysed). Compiled
rows are not kept: :class:`Rows` computes each one when it is read, so a renderer that
writes rows as it reads them (CSV, markdown) sweeps a million points in bounded memory.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, overload

from convcalc.errors import ConvcalcError, LimitError, UsageError
from convcalc.pipeline import analyze
from convcalc.values import MAX_ANALYSED_POINTS, MAX_POINTS, Value, param_value

METRICS = ("params", "macs", "flops", "peak_activation_bytes")
MAX_JOBS = 1024  # local worker processes


class Rows(Sequence[dict[str, Any]]):
    """The rows of a compiled sweep, each computed when it is read (in grid order, the
    last parameter varying fastest), so none is kept."""

    def __init__(self, axes: Sequence[Sequence[Any]], row: Callable[[tuple], dict]) -> None:
        self._axes = [list(a) for a in axes]
        self._row = row
        self._len = math.prod(len(a) for a in self._axes)

    def __len__(self) -> int:
        return self._len

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...

    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self._len))]
        if index < 0:
            index += self._len
        if not 0 <= index < self._len:
            raise IndexError(index)
        point = []
        for axis in reversed(self._axes):
            index, at = divmod(index, len(axis))
            point.append(axis[at])
        return self._row(tuple(reversed(point)))

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for point in itertools.product(*self._axes):
            yield self._row(point)


@dataclass
class Sweep:
    arch: str
    names: list[str]
    rows: Sequence[dict[str, Any]] = field(default_factory=list)
    compiled: bool = True
    note: str = ""

    def to_json(self, rows: bool = True) -> dict[str, Any]:
        """The ``convcalc.sweep/1`` document (``rows=False``: with an empty row list, for
        writers that stream the rows)."""
        from convcalc.report import jsonable

        return {
            "schema": "convcalc.sweep/1",
            "architecture": self.arch,
            "vary": self.names,
            "compiled": self.compiled,
            "rows": [{k: jsonable(v) for k, v in row.items()} for row in self.rows] if rows else [],
        }


def sweep(
    arch: str | Path,
    grid: Mapping[str, Iterable[Value]],
    params: Mapping[str, str] | None = None,
    dtype: str = "fp32",
    progress: Callable[[int, int], None] | None = None,
    device: str | None = None,
    device_file: str | Path | None = None,
    batch: int = 1,
    jobs: int = 1,
    scheduler: str | None = None,
    input_shape: Any = None,
) -> Sweep:
    """Evaluate params, MACs, FLOPs and peak memory at every point of ``grid``.

    With a device profile (a bundled or user profile by name, or a file) each point also
    gets the device's latency estimate and verdict; that needs the per-layer analysis, so
    each point is analysed on its own (the totals still come from the compiled formulas).
    Every point is analysed at ``batch`` samples.

    A grid that changes the graph itself (no closed form covers it) is a structural sweep
    (:mod:`convcalc.structural`): its rows are analysed slice by slice as they are read, on
    ``jobs`` local processes, or on the Dask cluster whose scheduler is at ``scheduler``
    (:mod:`convcalc.distributed`, the ``convcalc[dask]`` extra)."""
    if isinstance(jobs, bool) or not isinstance(jobs, int) or not 1 <= jobs <= MAX_JOBS:
        raise UsageError(f"jobs must be a whole number from 1 to {MAX_JOBS}, got {jobs!r}")
    if scheduler is not None and (not isinstance(scheduler, str) or not 0 < len(scheduler) < 200):
        raise UsageError("scheduler must be an address such as tcp://host:8786")
    profile = None
    if device or device_file:
        from convcalc.devices import load_profile

        profile = load_profile(device, path=device_file)
    if not isinstance(grid, Mapping):
        raise UsageError("the grid must map parameter names to lists of values")
    axes = {k: _axis(k, vs) for k, vs in grid.items()}
    arch = str(arch)
    names = list(axes)
    if not names:
        raise UsageError("nothing to sweep: give --alpha, --rho or --vary name=values")
    count = math.prod(len(v) for v in axes.values())
    if count > MAX_POINTS:
        raise LimitError(f"the grid has {count} points; the limit is {MAX_POINTS}")
    if profile is not None and count > MAX_ANALYSED_POINTS:
        _too_many_to_analyse(count, "a device estimate")
    fixed = dict(params or {})
    result = Sweep(arch, names)
    evaluate: Callable[..., tuple[Any, ...]] | None = None
    why = ""  # why no formula covers the grid
    try:
        report = analyze(arch, fixed, input_shape, dtype=dtype, free=names, batch=batch)
        from convcalc.symbolic.compile import compile_exprs

        evaluate = compile_exprs([getattr(report.totals, m) for m in METRICS], names)
    except ConvcalcError as e:
        if isinstance(e, UsageError):
            raise
        result.compiled = False
        why = e.message
        result.note = f"analysed point by point: {why}"

    def row(point: tuple) -> dict[str, Any]:
        if evaluate is not None:
            values = evaluate(*point)
        else:
            params = {**fixed, **{n: v for n, v in zip(names, point, strict=True)}}
            totals = analyze(arch, params, input_shape, dtype=dtype, batch=batch).totals
            values = tuple(getattr(totals, m) for m in METRICS)
        out = {**dict(zip(names, point, strict=True)), **dict(zip(METRICS, values, strict=True))}
        if profile is not None:
            from convcalc.devices import estimate

            params = {**fixed, **dict(zip(names, point, strict=True))}
            est = estimate(analyze(arch, params, input_shape, dtype=dtype, batch=batch), profile)
            out["latency_s"] = est.latency_s
            out["verdict"] = (
                "pass" if est.passed else "fail: " + ", ".join(v.budget for v in est.failed)
            )
        return out

    grid_axes = [axes[n] for n in names]
    if evaluate is not None and profile is None:
        compiled, keys = evaluate, (*names, *METRICS)
        result.rows = Rows(
            grid_axes, lambda point: dict(zip(keys, point + compiled(*point), strict=True))
        )
        return result
    if profile is None:
        from convcalc import structural

        space = structural.Space(
            arch,
            tuple(names),
            tuple(map(tuple, grid_axes)),
            tuple(fixed.items()),
            dtype,
            METRICS,
            batch,
            None if input_shape is None else tuple(input_shape),
        )
        structural.check_size(space)
        size = structural.SLICE
        if scheduler is not None:
            from convcalc import distributed

            runner = distributed.runner(scheduler)
        else:
            runner = structural.local(jobs)
            size = structural.slice_size(len(space), jobs)
        result.rows = structural.Analysed(space, runner, progress, size)
        result.note = f"analysed structure by structure ({why})"
        return result
    if count > MAX_ANALYSED_POINTS:
        _too_many_to_analyse(count, result.note)
    rows = []
    for index, point in enumerate(itertools.product(*grid_axes)):
        rows.append(row(point))
        if progress is not None:
            progress(index + 1, count)
    result.rows = rows
    return result


def _axis(name: str, values: Iterable[Value]) -> list[Any]:
    """The exact values of one swept parameter, refused beyond :data:`MAX_POINTS`
    (without reading further)."""
    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        raise UsageError(f"the values of {name!r} must be a list of numbers")
    out = [param_value(name, v) for v in itertools.islice(values, MAX_POINTS + 1)]
    if len(out) > MAX_POINTS:
        raise LimitError(f"{name!r} has more than {MAX_POINTS} values; the limit is {MAX_POINTS}")
    if not out:
        raise UsageError(f"no values for {name!r}")
    return out


def _too_many_to_analyse(count: int, why: str) -> None:
    raise LimitError(
        f"the grid has {count} points and each must be analysed ({why}); "
        f"the limit is {MAX_ANALYSED_POINTS}",
        hint="fewer values"
        + (
            ", or no --device (the totals alone are compiled)" if why.startswith("a device") else ""
        ),
    )
