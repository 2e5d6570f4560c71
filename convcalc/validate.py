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
from convcalc.diagnostics import Diagnostic, from_warnings
from convcalc.errors import ConvcalcError, UsageError
from convcalc.layers.base import Shape
from convcalc.pipeline import load
from convcalc.report import DTYPE_BYTES
from convcalc.rules import lint


def validate(
    arch: str | Path,
    params: Mapping[str, Any] | None = None,
    input_shape: Shape | None = None,
    dtype: str = "fp32",
    *,
    warnings: bool = True,
) -> list[Diagnostic]:
    """Every problem with an architecture (a path or a bundled name), without raising.

    The first error is returned as the only diagnostic (later errors could be consequences
    of it). When the file is valid and ``warnings`` is on, the analysis pass's warnings and
    the design rules' follow, the same diagnostics ``analyze`` reports (they need the
    receptive fields, so the analysis pass runs too; nothing is printed). ``input_shape``
    and ``dtype`` are those of ``analyze``, so a file is checked as it will be run."""
    from convcalc.analysis import analyze

    try:
        if dtype not in DTYPE_BYTES:
            raise UsageError(f"unknown dtype {dtype!r}; use one of {', '.join(DTYPE_BYTES)}")
        with context.run():
            graph = load(arch, params, input_shape)
            report = analyze(graph, dtype) if warnings else None
    except ConvcalcError as err:
        return [Diagnostic.from_error(err, str(arch))]
    if not warnings or report is None:
        return []
    return from_warnings(report.warnings, graph) + lint(graph, report)
