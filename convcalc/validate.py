"""Checking untrusted architecture files for CI gates (docs/validate.md).

:func:`validate` reads, expands and shape-checks a file the way ``analyze`` does, but returns
every problem as a :class:`~convcalc.diagnostics.Diagnostic` instead of raising, so a CI gate
can accept or refuse a file and print why; the design rules of :mod:`convcalc.rules` add
their warnings, which never fail a file.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from convcalc import context
from convcalc.diagnostics import Diagnostic
from convcalc.errors import ConvcalcError
from convcalc.pipeline import load
from convcalc.rules import lint


def validate(
    arch: str | Path,
    params: Mapping[str, Any] | None = None,
    *,
    warnings: bool = True,
) -> list[Diagnostic]:
    """Every problem with an architecture (a path or a bundled name), without raising.

    The first error is returned as the only diagnostic (later errors could be consequences
    of it). When the file is valid and ``warnings`` is on, the design rules run on it (they
    need the receptive fields, so the analysis pass runs too; nothing is printed)."""
    from convcalc.analysis import analyze

    try:
        with context.run():
            graph = load(arch, params)
            report = analyze(graph) if warnings else None
    except ConvcalcError as err:
        return [Diagnostic.from_error(err, str(arch))]
    return lint(graph, report) if warnings and report is not None else []
