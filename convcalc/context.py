"""The state of one run, which every rule evaluated inside it shares.

Three things belong to a run and not to the process: whether rounding applies (smooth mode,
``--no-round``: rounding is the identity and floor division is true division, so counts
follow the smooth formulas papers write), how many expression steps the expansion of an
untrusted file may still evaluate, and the rest of the run's work budget (:class:`Work`:
YAML bytes read across the file and all its imports, layer inputs, conditions on free
parameters, and the time symbolic work may take). They live in a :class:`Run` that
:func:`run` makes current for the length of a ``with`` block; it is a context variable, so
runs in other threads or tasks never see each other's settings. The arithmetic
(:mod:`convcalc.num`), the expression evaluator (:mod:`convcalc.expr`), the YAML reader and
the symbolic backend read :func:`current`. The limits are documented in docs/limits.md.

One setting of the process belongs here too: :func:`collector_paused`, which every API call
and the command line run inside.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import partial

from convcalc.errors import LimitError

MAX_RUN_YAML_BYTES = 16 * 1024 * 1024  # the file and every file it imports, together
MAX_LAYER_INPUTS = 1_000_000  # inputs of every layer together (merge fan-in)
MAX_UNDECIDED = 10_000  # layers and values whose condition depends on free parameters
SYMBOLIC_SECONDS = 30.0  # symbolic work (simplifying, comparing, printing) in one run

# What each budget counts, for the error a user sees, and the constant that bounds it
# (read when a run starts, so a test can lower it).
_WHAT = {
    "yaml_bytes": ("bytes of YAML (the file and its imports together)", "MAX_RUN_YAML_BYTES"),
    "layer_inputs": ("layer inputs (merge fan-in over the whole network)", "MAX_LAYER_INPUTS"),
    "undecided": ("conditions that depend on free parameters", "MAX_UNDECIDED"),
}


@dataclass
class Work:
    """What one run may still spend: each budget counts down from its limit; the symbolic
    deadline is set by the first symbolic operation of the run."""

    yaml_bytes: int = field(default_factory=lambda: MAX_RUN_YAML_BYTES)
    layer_inputs: int = field(default_factory=lambda: MAX_LAYER_INPUTS)
    undecided: int = field(default_factory=lambda: MAX_UNDECIDED)
    symbolic_seconds: float = field(default_factory=lambda: SYMBOLIC_SECONDS)
    deadline: float | None = None


@dataclass
class Run:
    """``smooth``: rounding rules are off. ``steps_left``: expression steps the current
    expansion may still evaluate (None: no budget). ``work``: the rest of the run's
    budget."""

    smooth: bool = False
    steps_left: int | None = None
    work: Work = field(default_factory=Work)


_IDLE = Run()  # what is current outside any run: rounding on, no budget; never changed
_CURRENT: ContextVar[Run] = ContextVar("convcalc_run")


#: The run in progress (the idle defaults outside one): a C-level call, since the arithmetic
#: asks it on every rounding operation.
current: Callable[[], Run] = partial(_CURRENT.get, _IDLE)


@contextmanager
def run(*, smooth: bool = False) -> Iterator[Run]:
    """A new run, current inside the block."""
    token = _CURRENT.set(Run(smooth=smooth))
    try:
        yield _CURRENT.get()
    finally:
        _CURRENT.reset(token)


@contextmanager
def _changed(**changes: object) -> Iterator[None]:
    """Change settings of the current run inside the block (of a new run when none is in
    progress), restoring them after."""
    state = _CURRENT.get(None)
    if state is None:
        with run() as fresh:
            for key, value in changes.items():
                setattr(fresh, key, value)
            yield
        return
    saved = {key: getattr(state, key) for key in changes}
    for key, value in changes.items():
        setattr(state, key, value)
    try:
        yield
    finally:
        for key, value in saved.items():
            setattr(state, key, value)


def smooth(enabled: bool = True) -> AbstractContextManager[None]:
    """Evaluate with (``enabled=False``) or without rounding inside the ``with`` block."""
    return _changed(smooth=enabled)


def charge(what: str, amount: int) -> None:
    """Spend ``amount`` of the run's budget ``what`` (a field of :class:`Work`); a
    :class:`LimitError` when it is spent. Outside a run nothing is counted."""
    state = _CURRENT.get(None)
    if state is None:
        return
    left = getattr(state.work, what) - amount
    setattr(state.work, what, left)
    if left < 0:
        words, constant = _WHAT[what]
        limit = globals()[constant]
        raise LimitError(
            f"the run exceeds its budget of {limit} {words}",
            hint="see docs/limits.md",
        )


def check_time() -> None:
    """A :class:`LimitError` once the run's symbolic work has taken longer than its bound
    (the clock starts at the first call in a run); called between symbolic operations."""
    state = _CURRENT.get(None)
    if state is None:
        return
    now = time.monotonic()
    work = state.work
    if work.deadline is None:
        work.deadline = now + work.symbolic_seconds
    elif now > work.deadline:
        raise LimitError(
            f"symbolic work took longer than {work.symbolic_seconds:g} s",
            hint="give some parameters values (--set name=value), or leave fewer free",
        )


def budget(steps: int) -> AbstractContextManager[None]:
    """Allow ``steps`` expression steps inside the ``with`` block (see
    :func:`convcalc.expr.allow`)."""
    return _changed(steps_left=steps)


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused inside the block (restored after).

    An analysis allocates a few objects per layer (rows, fields, tuples) that form no
    reference cycles: reference counting frees them all, and a run of a 100,000-layer
    graph leaves under a hundred objects in cycles, fewer than a thousand for a bundled
    network or a symbolic one (measured with ``gc.collect()``, benchmarks/README.md). The
    collector still walks every live object again and again as they pile up, which was a
    third of that run's time."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
