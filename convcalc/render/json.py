"""The JSON format: versioned documents with exact integers, for programs.

Documents are the data objects' own ``to_json`` forms (``convcalc.analysis/1``,
``convcalc.comparison/1``, ``convcalc.sweep/1``), with a device estimate added under
``device`` where one was made. (``import json`` here is the standard library's: imports are
absolute, so this module shadows nothing.)
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from convcalc.render import rows as cells
from convcalc.report import jsonable

if TYPE_CHECKING:
    from convcalc.api import ArchInfo
    from convcalc.compare import Comparison
    from convcalc.devices import DeviceEstimate, DeviceProfile
    from convcalc.diagnostics import Diagnostic
    from convcalc.explain import Explanation
    from convcalc.layers.base import Arg, LayerKind
    from convcalc.report import Report
    from convcalc.sweep import Sweep


def _dump(doc: Any) -> str:
    return json.dumps(doc, indent=2) + "\n"


def report(
    report: Report,
    depth: int | None = None,
    estimate: DeviceEstimate | None = None,
    tree: bool = False,
) -> str:
    """The ``convcalc.analysis/1`` document, every layer (``depth`` folds rows and ``tree``
    nests them for reading only; a program groups the layers itself), with
    ``diagnostics``: its warnings as objects (code, severity, file, line, layer, message,
    hint, reference)."""
    doc = report.to_json()
    doc["totals"]["peak_layer"] = report.totals.peak_layer  # where the peak occurs
    doc["totals"]["buffers"] = jsonable(report.buffers)  # not trained: running statistics
    doc["diagnostics"] = _diagnostics(report)
    if estimate is not None:
        doc["device"] = estimate.to_json()
    return _dump(doc)


def _diagnostics(report: Report) -> list[dict[str, Any]]:
    """The report's warnings as objects: the ``convcalc.validation/1`` diagnostics that
    ``validate`` lists for the same file."""
    return [d.to_dict() for d in report.diagnostics]


def report_stderr(report: Report, estimate: DeviceEstimate | None = None) -> str:
    """Nothing: the warnings are in the document."""
    return ""


def comparison(
    result: Comparison, by: str | None = None, estimates: Sequence[DeviceEstimate] = ()
) -> str:
    """The ``convcalc.comparison/1`` document, each item with its estimate under
    ``device`` (``by`` is for reading: the items carry every layer to group), and
    ``exact_ratios``, the ratios as fractions."""
    from convcalc.render.text import fraction_text

    doc = result.to_json()
    # The ratios again as exact fractions ('528997/17294693'), formulas when symbolic:
    # ``ratios`` keeps its numbers (the contract), this key loses no digit.
    doc["exact_ratios"] = [{m: fraction_text(v) for m, v in row.items()} for row in result.ratios]
    for item, r in zip(doc["items"], result.reports, strict=True):
        item["totals"]["peak_layer"] = r.totals.peak_layer
        item["totals"]["buffers"] = jsonable(r.buffers)
        item["diagnostics"] = _diagnostics(r)
    for item, est in zip(doc["items"], estimates, strict=False):
        item["device"] = est.to_json()
    return _dump(doc)


def sweep(result: Sweep) -> str:
    """The ``convcalc.sweep/1`` document."""
    return "".join(sweep_chunks(result))


def sweep_chunks(result: Sweep, size: int = 4096) -> Iterator[str]:
    """The ``convcalc.sweep/1`` document written as its rows are computed, in bounded
    memory: the same text as dumping the whole document at once (its rows come last)."""
    from convcalc.report import jsonable

    text = _dump(result.to_json(rows=False))
    cut = text.rindex("[]")
    yield text[:cut]
    opened = False
    batch: list[str] = []
    for row in result.rows:
        item = json.dumps({k: jsonable(v) for k, v in row.items()}, indent=2)
        batch.append((",\n" if opened else "[\n") + textwrap.indent(item, "    "))
        opened = True
        if len(batch) == size:
            yield "".join(batch)
            batch = []
    if batch:
        yield "".join(batch)
    yield ("\n  ]" if opened else "[]") + text[cut + 2 :]


def explanations(items: Sequence[Explanation]) -> str:
    """A list with each layer's or block's derivation steps."""
    return _dump([e.to_json() for e in items])


def devices(profiles: Sequence[DeviceProfile]) -> str:
    """A list of the profiles as plain data."""
    return _dump([p.to_json() for p in profiles])


def architectures(items: Sequence[ArchInfo]) -> str:
    """A list of the bundled architectures with their descriptions and sources."""
    keys = cells.ARCHITECTURE_HEADER
    return _dump([dict(zip(keys, row, strict=True)) for row in cells.architecture_rows(items)])


def _argument(name: str, arg: Arg) -> dict[str, Any]:
    default = None if arg.required else arg.default
    return {
        "name": name,
        "type": arg.type,
        "choices": list(arg.choices),
        "required": arg.required,
        "default": list(default) if isinstance(default, tuple) else default,
        "doc": arg.doc,
    }


def kinds(items: Sequence[LayerKind]) -> str:
    """A list of layer kinds, each with its inputs (``max`` null: any number) and its
    arguments' types, choices and defaults."""
    doc = [
        {
            "op": kind.op,
            "doc": kind.doc,
            "inputs": {"min": kind.inputs[0], "max": kind.inputs[1]},
            "macs_rule": kind.macs_rule or None,
            "flops_rule": kind.flops_rule,
            "args": [_argument(n, a) for n, a in kind.args.items()],
        }
        for kind in items
    ]
    return _dump(doc)


def diagnostics(items: Sequence[Diagnostic], source: str) -> str:
    """The ``convcalc.validation/1`` document: the verdict, the counts and every
    diagnostic."""
    from convcalc.diagnostics import to_json

    return _dump(to_json(items, source))
