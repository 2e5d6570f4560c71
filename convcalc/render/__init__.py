"""Renderers: one module per output format. Only these modules print.

Each format module renders every kind of result with the same functions, each returning
the text for stdout: ``report``, ``report_stderr`` (what goes to stderr beside a report),
``comparison``, ``sweep``, ``explanations``, ``devices``, ``architectures``, ``kinds`` and
``diagnostics``. A new format is a new module with those functions and one line in
:data:`FORMATS`; the command line offers every format listed there.

Modules are imported on first use, so ``convcalc --help`` loads none of them (nor rich).
"""

from __future__ import annotations

import importlib
from types import ModuleType

FORMATS: dict[str, str] = {
    "table": "convcalc.render.table",
    "json": "convcalc.render.json",
    "csv": "convcalc.render.csv",
    "markdown": "convcalc.render.markdown",
}


def renderer(fmt: str) -> ModuleType:
    """The module that renders format ``fmt`` (a key of :data:`FORMATS`)."""
    return importlib.import_module(FORMATS[fmt])
