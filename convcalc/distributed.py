"""Structural sweeps on a Dask cluster (the ``convcalc[dask]`` extra).

The same slices of the grid as on a local pool (:func:`convcalc.structural.analyse_slice`)
become Dask tasks; rows come back in grid order as their slice finishes, with a bounded
number of slices in flight, so the rows stream and memory stays bounded whatever the grid.
Every worker needs convcalc installed (the same version) and the architecture file at the
same path, or a bundled name. ``distributed`` is imported only here, and only when a sweep
asks for a scheduler.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from typing import Any

from convcalc.errors import ConvcalcError, UsageError
from convcalc.structural import Slices, Space, analyse_slice

#: Slices submitted ahead of the one being read, per worker thread of the cluster.
AHEAD = 2
#: Seconds to wait for the scheduler to answer.
CONNECT_TIMEOUT = 30


def _client(address: str) -> Any:
    """A client of the scheduler at ``address`` (``tcp://host:8786``)."""
    try:
        from distributed import Client
    except ImportError:
        raise UsageError(
            "a sweep on a cluster needs Dask distributed, which is not installed",
            hint="pip install 'convcalc[dask]'",
        ) from None
    try:
        return Client(address, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError, ValueError) as e:
        raise ConvcalcError(f"cannot reach the Dask scheduler at {address!r}: {e}") from None


def runner(address: str, client: Any = None) -> Slices:
    """A slice runner (see :class:`convcalc.structural.Analysed`) on the cluster whose
    scheduler is at ``address``; ``client``, an existing Dask client, is used instead when
    given (it stays open)."""

    def run(space: Space, slices: list[tuple[int, int]]) -> Iterator[list[dict[str, Any]]]:
        own = client is None
        c = _client(address) if own else client
        try:
            threads = max(1, sum(c.nthreads().values()))
            pending: deque[Any] = deque()
            todo = iter(slices)
            for start, stop in todo:
                pending.append(c.submit(analyse_slice, space, start, stop, pure=False))
                if len(pending) >= AHEAD * threads:
                    break
            while pending:
                rows = pending.popleft().result()
                nxt = next(todo, None)
                if nxt is not None:
                    pending.append(c.submit(analyse_slice, space, *nxt, pure=False))
                yield rows
        finally:
            if own:
                c.close()

    return run
