"""Structural sweeps: grids over parameters that change the graph itself (repeats, kernel
sizes, expansion ratios per stage, a block that exists only for some values).

Such a grid cannot be compiled into one closed form, so its points are analysed; what does
not depend on the varied values is done once, not per point:

- the files (the architecture and its block libraries) are parsed once per process (the
  loader keeps each document by its text);
- the axes are split into *structural* ones (whole-number values: depths, kernels, ratios)
  and *continuous* ones (fractions: alpha, rho). For each combination of structural values
  the network is analysed once with the continuous parameters free and its totals compiled
  (:mod:`convcalc.symbolic.compile`), so the continuous points of that structure only
  evaluate formulas. A structure whose formulas cannot be compiled, or one with too few
  continuous points to pay for a symbolic analysis, is analysed point by point (without the
  design rules, which do not change the totals).

The space is cut into slices of consecutive points (:class:`Space`, :func:`analyse_slice`),
each analysed on its own, so the same slices run in this process, on a local process pool
(``jobs``), or on a cluster (:mod:`convcalc.distributed`), and rows come back in grid
order as their slice finishes (:class:`Analysed`).
"""

from __future__ import annotations

import itertools
import math
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, overload

from convcalc.errors import ConvcalcError, LimitError, UsageError
from convcalc.pipeline import analyze

#: Points of one structural sweep analysed at most (each takes milliseconds, not
#: microseconds as a compiled point does).
MAX_STRUCTURAL_POINTS = 100_000
#: Continuous points per structure from which its formulas are compiled rather than each
#: point analysed (a symbolic analysis costs as much as some tens of concrete ones).
COMPILE_FROM = 64
#: Points per slice at most: large enough that handing a slice to a worker costs little
#: beside analysing it, small enough that rows stream and the workers stay busy.
SLICE = 256


@dataclass(frozen=True)
class Space:
    """The grid of a structural sweep: everything a worker needs to analyse any slice of
    it (picklable: names, exact values and the fixed params, nothing else)."""

    arch: str
    names: tuple[str, ...]
    axes: tuple[tuple[Any, ...], ...]
    fixed: tuple[tuple[str, Any], ...] = ()
    dtype: str = "fp32"
    metrics: tuple[str, ...] = ("params", "macs", "flops", "peak_activation_bytes")
    batch: int = 1  # samples per point
    input_shape: tuple[int, ...] | None = None  # the input's shape, when not the file's
    # Tells one sweep from another of the same grid (the file may have changed since), so a
    # worker that stays up between sweeps never reuses an older sweep's formulas.
    token: str = field(default_factory=lambda: uuid.uuid4().hex)

    def __len__(self) -> int:
        return math.prod(len(a) for a in self.axes)

    def point(self, index: int) -> tuple[Any, ...]:
        """The values at flat ``index`` (grid order: the last name varies fastest)."""
        out = []
        for axis in reversed(self.axes):
            index, at = divmod(index, len(axis))
            out.append(axis[at])
        return tuple(reversed(out))

    def slices(self, size: int = SLICE) -> list[tuple[int, int]]:
        """(start, stop) of consecutive points, covering the grid in order."""
        n = len(self)
        return [(a, min(a + size, n)) for a in range(0, n, size)]

    @property
    def continuous(self) -> tuple[int, ...]:
        """Positions of the axes with a value that is not a whole number."""
        return tuple(
            i
            for i, axis in enumerate(self.axes)
            if any(isinstance(v, Fraction) and v.denominator != 1 for v in axis)
        )


class _Evaluator:
    """Totals of the points of one space, in one process: per structure, its compiled
    formulas of the continuous parameters, or None (each point is analysed)."""

    def __init__(self, space: Space) -> None:
        self.space = space
        self.free = space.continuous
        self.structural = tuple(i for i in range(len(space.names)) if i not in self.free)
        per_structure = math.prod(len(space.axes[i]) for i in self.free)
        self.compile = bool(self.free) and per_structure >= COMPILE_FROM
        self.compiled: dict[tuple, Callable[..., tuple[Any, ...]] | None] = {}

    def totals(self, point: tuple[Any, ...]) -> tuple[Any, ...]:
        space = self.space
        if self.compile:
            key = tuple(point[i] for i in self.structural)
            if key not in self.compiled:
                self.compiled[key] = self._compiled(key)
            fn = self.compiled[key]
            if fn is not None:
                return fn(*(point[i] for i in self.free))
        params = {**dict(space.fixed), **dict(zip(space.names, point, strict=True))}
        report = analyze(
            space.arch,
            params,
            space.input_shape,
            dtype=space.dtype,
            design_warnings=False,
            batch=space.batch,
        )
        return tuple(getattr(report.totals, m) for m in space.metrics)

    def _compiled(self, key: tuple) -> Callable[..., tuple[Any, ...]] | None:
        space = self.space
        structure = {space.names[i]: v for i, v in zip(self.structural, key, strict=True)}
        params = {**dict(space.fixed), **structure}
        free = [space.names[i] for i in self.free]
        try:
            report = analyze(
                space.arch,
                params,
                space.input_shape,
                dtype=space.dtype,
                free=free,
                design_warnings=False,
                batch=space.batch,
            )
            from convcalc.symbolic.compile import compile_exprs

            return compile_exprs([getattr(report.totals, m) for m in space.metrics], free)
        except ConvcalcError as e:
            if isinstance(e, UsageError):
                raise
            return None  # this structure's formulas cannot be compiled: point by point


_EVALUATORS: dict[Space, _Evaluator] = {}


def analyse_slice(space: Space, start: int, stop: int) -> list[dict[str, Any]]:
    """The rows of points ``start`` to ``stop`` (what a worker runs). A process keeps the
    evaluator of the last few sweeps, so its later slices reuse the compiled structures."""
    evaluator = _EVALUATORS.get(space)
    if evaluator is None:
        if len(_EVALUATORS) >= 4:
            _EVALUATORS.clear()
        evaluator = _EVALUATORS[space] = _Evaluator(space)
    keys = (*space.names, *space.metrics)
    rows = []
    for index in range(start, stop):
        point = space.point(index)
        rows.append(dict(zip(keys, point + evaluator.totals(point), strict=True)))
    return rows


def check_size(space: Space) -> None:
    """Refuse a space of more points than :data:`MAX_STRUCTURAL_POINTS`."""
    if len(space) > MAX_STRUCTURAL_POINTS:
        raise LimitError(
            f"the grid has {len(space)} points and its structure changes with them, so each "
            f"is analysed; the limit is {MAX_STRUCTURAL_POINTS}",
            hint="fewer values of the parameters that change the graph",
        )


Slices = Callable[[Space, list[tuple[int, int]]], Iterator[list[dict[str, Any]]]]


def slice_size(points: int, jobs: int) -> int:
    """Points per slice for a pool of ``jobs`` processes: :data:`SLICE`, or fewer where
    the grid is small, so that every process gets at least two slices (243 points in one
    slice of 256 would all be one process's)."""
    if jobs <= 1:
        return SLICE
    return max(1, min(SLICE, -(-points // (2 * jobs))))


def local(jobs: int = 1) -> Slices:
    """The slices' rows, in order, from this process (``jobs`` 1) or a pool of ``jobs``
    local processes."""

    def run(space: Space, slices: list[tuple[int, int]]) -> Iterator[list[dict[str, Any]]]:
        if jobs <= 1 or len(slices) <= 1:
            for start, stop in slices:
                yield analyse_slice(space, start, stop)
            return
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=min(jobs, len(slices))) as pool:
            starts, stops = zip(*slices, strict=True)
            yield from pool.map(analyse_slice, itertools.repeat(space), starts, stops)

    return run


class Analysed(Sequence[dict[str, Any]]):
    """The rows of a structural sweep, analysed slice by slice as they are read (in grid
    order), by ``runner`` (:func:`local`, or a cluster's); only the slice being read is
    kept. ``progress(done, total)`` is called as slices arrive."""

    def __init__(
        self,
        space: Space,
        runner: Slices,
        progress: Callable[[int, int], None] | None = None,
        size: int | None = None,
    ) -> None:
        self.space = space
        self.runner = runner
        self.progress = progress
        self.size = size or SLICE
        self._kept: tuple[int, list[dict[str, Any]]] | None = None

    def __len__(self) -> int:
        return len(self.space)

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...

    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        n = len(self)
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError(index)
        start = index - index % self.size
        if self._kept is None or self._kept[0] != start:
            self._kept = (start, analyse_slice(self.space, start, min(start + self.size, n)))
        return self._kept[1][index - start]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        done, total = 0, len(self)
        for rows in self.runner(self.space, self.space.slices(self.size)):
            done += len(rows)
            if self.progress is not None:
                self.progress(done, total)
            yield from rows
