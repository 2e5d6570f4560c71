"""A progress bar on stderr for long sweeps; stdout keeps only the result."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def progress(enabled: bool) -> Iterator[Callable[[int, int], None] | None]:
    """Yield a ``tick(done, total)`` that draws the bar, or None when ``enabled`` is off
    (stderr is not a terminal), so nothing is imported or drawn for a pipe."""
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("sweep", total=None)

        drawn = [0]

        def tick(done: int, total: int) -> None:
            # every 100 points, whether they come one by one or a slice at a time
            if done // 100 != drawn[0] // 100 or done == total:
                drawn[0] = done
                bar.update(task, completed=done, total=total)

        yield tick
