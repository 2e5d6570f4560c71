"""The CSV format: tables for spreadsheets and scripts, numbers without separators.

Where an output holds several tables (a comparison and its breakdown), they follow one
another with a blank line between, each with its own header row. (``import csv`` here is
the standard library's: imports are absolute, so this module shadows nothing.)

No cell runs in a spreadsheet: one that starts with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return gets a leading apostrophe unless it is a number (docs/security.md).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from convcalc import num
from convcalc.diagnostics import FIELDS
from convcalc.render import rows as cells
from convcalc.render.sanitize import csv_cell
from convcalc.render.text import fold, formula, fraction_text, shape
from convcalc.units import plain

if TYPE_CHECKING:
    from convcalc.api import ArchInfo
    from convcalc.compare import Comparison
    from convcalc.devices import Budget, DeviceEstimate, DeviceProfile
    from convcalc.diagnostics import Diagnostic
    from convcalc.explain import Explanation
    from convcalc.layers.base import LayerKind
    from convcalc.report import Report
    from convcalc.sweep import Sweep

_DEVICE_LAYER_KEYS = ("name", "type", "output_shape", "macs", "flops", "time_s", "bound", "share")
_DEVICE_COMPARISON_KEYS = (
    "network",
    "params",
    "macs",
    "latency_s",
    "latency_low_s",
    "latency_high_s",
    "latency_ratio",
    "throughput_per_s",
    "peak_activation_bytes",
    "fits",
    "verdict",
)
_STEP_KEYS = ("name", "type", "line", "metric", "formula", "substituted", "value")
_KIND_KEYS = ("op", "what it is", "argument", "type and default", "meaning")


def _csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """Every cell through :func:`~convcalc.render.sanitize.csv_cell`: shown, never run."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([csv_cell(c) for c in header])
    writer.writerows([csv_cell(c) for c in r] for r in rows)
    return buf.getvalue()


def _body(rows: Iterable[Sequence[Any]]) -> str:
    """Rows without a header, every cell as :func:`_csv` writes it."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([csv_cell(c) for c in r] for r in rows)
    return buf.getvalue()


def _float(value: float | None) -> str:
    """A measured figure exactly as Python reads it back; '' for none."""
    return "" if value is None else repr(value)


def _value(value: Any) -> str:
    """An exact value: the number without separators, or its formula."""
    return plain(value) if num.is_concrete(value) else formula(value)


def report(
    report: Report,
    depth: int | None = None,
    estimate: DeviceEstimate | None = None,
    tree: bool = False,
) -> str:
    """The per-layer table (folded by ``depth``); with an estimate, the per-layer device
    columns instead (raw seconds and shares)."""
    if estimate is not None:
        rows = [
            (r.name, r.type, r.output, r.macs, r.flops, repr(r.time_s), r.bound, f"{r.share:.6f}")
            for r in cells.device_rows(report, estimate, depth)
        ]
        return _csv(_DEVICE_LAYER_KEYS, rows)
    out = []
    for row in fold(report.layers, depth):
        line = cells.layer_cells(row)
        line[3:8] = [
            plain(v)
            for v in (row.params, row.macs, row.flops, row.activation_bytes, row.traffic_bytes)
        ]
        out.append(line)
    return _csv(cells.LAYER_KEYS, out)


def report_stderr(report: Report, estimate: DeviceEstimate | None = None) -> str:
    """Nothing: a CSV consumer reads the table alone; the JSON document has the warnings."""
    return ""


def comparison(
    result: Comparison, by: str | None = None, estimates: Sequence[DeviceEstimate] = ()
) -> str:
    """The totals side by side, the breakdown ``by`` type or stage, and with estimates one
    row per network on the device (raw seconds, ratio to the first, images a second)."""
    header, _ = cells.comparison_table(result)
    rows = []
    for (title, key, _), ratios in zip(cells.COMPARED, _ratio_columns(result), strict=True):
        values = [_raw(getattr(r.totals, key)) for r in result.reports]
        rows.append([title, *values, *ratios])
    fields = [r.totals.receptive_field for r in result.reports]
    rows.append(
        [
            "receptive field",
            *("" if f is None else f"{plain(f[0])}x{plain(f[1])}" for f in fields),
            *("" for _ in result.reports[1:]),
        ]
    )
    parts = [_csv(header, rows)]
    if by:
        header, _ = cells.breakdown_table(result, by)
        keys, tables = result.breakdown(by)
        rows = [
            [
                key,
                *(_raw(t[key][0]) if key in t else "" for t in tables),
                *(_raw(t[key][1]) if key in t else "" for t in tables),
            ]
            for key in keys
        ]
        parts.append(_csv(header, rows))
    if estimates:
        first = estimates[0]
        rows = [
            (
                r.architecture,
                plain(r.totals.params),
                plain(r.totals.macs),
                _float(est.latency_s),
                _float(est.latency_band_s[0] if est.latency_band_s else None),
                _float(est.latency_band_s[1] if est.latency_band_s else None),
                _float(cells.latency_ratio(est, first)),
                _float(est.throughput_per_s),
                est.peak_activation_bytes,
                "true" if est.fits else "false",
                cells.verdict_word(est),
            )
            for r, est in zip(result.reports, estimates, strict=True)
        ]
        parts.append(_csv(_DEVICE_COMPARISON_KEYS, rows))
    return "\n".join(parts)


def _raw(value: Any) -> str:
    """A count as a spreadsheet reads it: digits only, or the formula when symbolic."""
    return plain(value) if num.is_concrete(value) else formula(value)


def _ratio_columns(result: Comparison) -> list[list[str]]:
    """Per compared metric, each later item's ratio to the first as an exact fraction
    (``3997/1000``), a formula when symbolic, empty where the first is zero."""
    return [
        [fraction_text(r[key]) or "" for r in result.ratios[1:]] for _, key, _ in cells.COMPARED
    ]


def sweep(result: Sweep) -> str:
    """One row per grid point with raw values, in the JSON keys' order."""
    return "".join(sweep_chunks(result))


def sweep_chunks(result: Sweep, size: int = 4096) -> Iterator[str]:
    """:func:`sweep` in pieces of ``size`` rows, each written as soon as its rows are
    computed, so a sweep of a million points never holds its table in memory."""
    keys = [k for k in result.rows[0] if k not in result.names] if result.rows else []
    yield _csv([*result.names, *keys], [])
    columns = [*result.names, *keys]
    numbers = "verdict" not in keys  # every cell an exact number: nothing to quote
    batch: list[str] = []
    for row in result.rows:
        values = [plain(row[k]) for k in columns]
        batch.append(",".join(values) + "\n" if numbers else _body([values]))
        if len(batch) == size:
            yield "".join(batch)
            batch = []
    if batch:
        yield "".join(batch)


def explanations(items: Sequence[Explanation]) -> str:
    """One row per derivation step, named by its layer or block (the JSON's fields)."""
    rows = [
        (
            item.name,
            item.op,
            "" if item.line is None else item.line,
            s.metric,
            s.formula,
            s.substituted,
            _value(s.value),
        )
        for item in items
        for s in item.steps
    ]
    return _csv(_STEP_KEYS, rows)


def _budget(b: Budget) -> str:
    """'latency_s<=0.075', '10000000<=macs<=150000000'."""

    def n(v: float) -> str:
        return str(int(v)) if float(v).is_integer() else repr(v)

    if b.min is not None and b.max is not None:
        return f"{n(b.min)}<={b.name}<={n(b.max)}"
    if b.max is not None:
        return f"{b.name}<={n(b.max)}"
    return f"{b.name}>={n(b.min)}"


def devices(profiles: Sequence[DeviceProfile]) -> str:
    """One row per profile with raw figures: a peak column per dtype any profile has,
    bytes, budgets and the full source of the main figure."""
    dtypes = list(dict.fromkeys(k for p in profiles for k in p.peak_flops))
    header = [
        "name",
        "title",
        "class",
        "threads",
        "dtype",
        "batch",
        *(f"peak_flops_{d}" for d in dtypes),
        "bandwidth_Bps",
        "memory_bytes",
        "sram_bytes",
        "flash_bytes",
        "budgets",
        "budget_input",
        "framework",
        "unit",
        "mode",
        "basis",
        "band_low",
        "band_high",
        "source",
    ]
    rows = [
        (
            p.name,
            p.title,
            p.device_class,
            p.threads or "",
            p.dtype,
            p.batch,
            *(_float(p.peak_flops.get(d)) for d in dtypes),
            _float(p.bandwidth_Bps),
            "" if p.memory_bytes is None else p.memory_bytes,
            "" if p.sram_bytes is None else p.sram_bytes,
            "" if p.flash_bytes is None else p.flash_bytes,
            "; ".join(_budget(b) for b in p.budgets),
            "" if p.budget_input is None else shape(p.budget_input),
            "" if p.runtime is None else p.runtime.framework,
            "" if p.runtime is None else p.runtime.unit,
            "" if p.runtime is None else p.runtime.mode,
            "" if p.uncertainty is None or not p.has_hardware else p.uncertainty.text(),
            _float(p.uncertainty.low if p.uncertainty and p.has_hardware else None),
            _float(p.uncertainty.high if p.uncertainty and p.has_hardware else None),
            cells.source_text(p, limit=None),
        )
        for p in profiles
    ]
    return _csv(header, rows)


def architectures(items: Sequence[ArchInfo]) -> str:
    """One row per bundled architecture."""
    return _csv(cells.ARCHITECTURE_HEADER, cells.architecture_rows(items))


def kinds(items: Sequence[LayerKind]) -> str:
    """One row per argument of each layer kind (one with empty argument cells for a kind
    without arguments), so a spreadsheet can filter by op or by argument."""
    rows: list[tuple[str, ...]] = []
    for kind in items:
        args = cells.argument_rows(kind) or [("", "", "")]
        rows += [(kind.op, kind.doc, *arg) for arg in args]
    return _csv(_KIND_KEYS, rows)


def diagnostics(items: Sequence[Diagnostic], source: str) -> str:
    """One row per diagnostic with the JSON's fields (the file's verdict is the exit
    code)."""
    rows = [["" if getattr(d, k) is None else getattr(d, k) for k in FIELDS] for d in items]
    return _csv(FIELDS, rows)
