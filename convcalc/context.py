"""The state of one run, which every rule evaluated inside it shares.

Two settings belong to a run and not to the process: whether rounding applies (smooth mode,
``--no-round``: rounding is the identity and floor division is true division, so counts
follow the smooth formulas papers write) and how many expression steps the expansion of an
untrusted file may still evaluate. They live in a :class:`Run` that :func:`run` makes
current for the length of a ``with`` block; it is a context variable, so runs in other
threads or tasks never see each other's settings. The arithmetic (:mod:`convcalc.num`) and
the expression evaluator (:mod:`convcalc.expr`) read :func:`current`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass
class Run:
    """``smooth``: rounding rules are off. ``steps_left``: expression steps the current
    expansion may still evaluate (None: no budget)."""

    smooth: bool = False
    steps_left: int | None = None


_IDLE = Run()  # what is current outside any run: rounding on, no budget; never changed
_CURRENT: ContextVar[Run] = ContextVar("convcalc_run")


def current() -> Run:
    """The run in progress (the idle defaults outside one)."""
    return _CURRENT.get(_IDLE)


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


def budget(steps: int) -> AbstractContextManager[None]:
    """Allow ``steps`` expression steps inside the ``with`` block (see
    :func:`convcalc.expr.allow`)."""
    return _changed(steps_left=steps)
