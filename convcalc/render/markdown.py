"""The markdown format: pipe tables and headings that paste into a design review, an issue
or a docs page as they are (``convcalc layers -f markdown`` is docs/layers.md)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING

from convcalc.render import rows as cells
from convcalc.render.sanitize import markdown_cell, markdown_text
from convcalc.render.text import exact, fold, seconds, shape
from convcalc.render.text import tree as nesting

if TYPE_CHECKING:
    from convcalc.api import ArchInfo
    from convcalc.compare import Comparison
    from convcalc.devices import DeviceEstimate, DeviceProfile
    from convcalc.diagnostics import Diagnostic
    from convcalc.explain import Explanation
    from convcalc.layers.base import LayerKind
    from convcalc.report import Report
    from convcalc.sweep import Sweep

_LAYER_HEADER = (
    "layer",
    "type",
    "output",
    "params",
    "MACs",
    "FLOPs",
    "activation bytes",
    "traffic bytes",
    "RF",
)
_DEVICE_HEADER = ("layer", "type", "output", "MACs", "time", "bound", "share")
_DIAGNOSTIC_HEADER = ("severity", "code", "where", "message", "hint", "see")


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    """A pipe table's lines; every cell passes through
    :func:`~convcalc.render.sanitize.markdown_cell` (a pipe escaped, a line break as <br>,
    no HTML), so every cell stays one cell of text in its column."""
    head = " | ".join(markdown_cell(h) for h in header)
    lines = ["| " + head + " |", "|" + "|".join("---" for _ in header) + "|"]
    for r in rows:
        lines.append("| " + " | ".join(markdown_cell(c) for c in r) + " |")
    return lines


def report(
    report: Report,
    depth: int | None = None,
    estimate: DeviceEstimate | None = None,
    tree: bool = False,
) -> str:
    """A heading, the input and params, the per-layer table (with ``tree``, nested under
    block subtotals), the totals and the warnings; with an estimate, a second section with
    the device's per-layer times, its summary and a checklist of verdicts."""
    bindings = cells.bindings_text(report)
    lines = [f"### {markdown_text(report.architecture)}", ""]
    lines.append(
        f"Input {shape(report.input)}, {report.dtype}"
        + (f"; {markdown_text(bindings)}" if bindings else "")
    )
    lines.append("")
    if tree:  # each block a row of its subtotals, its parts under it, one '· ' a level
        rows = [
            ["· " * level + label, *cells.layer_cells(row)[1:]]
            for level, label, row in nesting(report.layers, depth or None)
        ]
        lines += _table(_LAYER_HEADER, rows)
    else:
        lines += _table(_LAYER_HEADER, (cells.layer_cells(r) for r in fold(report.layers, depth)))
    lines.append("")
    lines += _table(("total", "exact", "approx."), cells.totals_rows(report))
    lines.append("")
    for w in report.warnings:
        lines.append(f"> warning: {markdown_text(w)}")
    text = "\n".join(lines).rstrip() + "\n"
    if estimate is not None:
        text += "\n" + _device_section(report, estimate, depth)
    return text


def _device_section(report: Report, est: DeviceEstimate, depth: int | None) -> str:
    lines = [f"### {markdown_text(report.architecture)} on {markdown_text(est.device)}", ""]
    rows = [
        (r.name, r.type, r.output, exact(r.macs), seconds(r.time_s), r.bound, f"{r.share:.1%}")
        for r in cells.device_rows(report, est, depth)
    ]
    lines += _table(_DEVICE_HEADER, rows)
    lines += ["", *_table(("metric", "value"), cells.summary_rows(est)), ""]
    for ok, line in cells.verdict_lines(est):
        lines.append(f"- {'✅' if ok else '❌'} {markdown_text(line)}")
    for w in est.warnings:
        lines.append(f"> note: {markdown_text(w)}")
    return "\n".join(lines).rstrip() + "\n"


def report_stderr(report: Report, estimate: DeviceEstimate | None = None) -> str:
    """Nothing: the warnings are quoted in the report itself."""
    return ""


def comparison(
    result: Comparison, by: str | None = None, estimates: Sequence[DeviceEstimate] = ()
) -> str:
    """The totals side by side, the breakdown ``by`` type or stage, and with estimates one
    row per network on the device."""
    tables = [cells.comparison_table(result)]
    if by:
        tables.append(cells.breakdown_table(result, by))
    text = "\n\n".join("\n".join(_table(h, r)) for h, r in tables) + "\n"
    if estimates:
        items = list(zip(result.reports, estimates, strict=True))
        rows = cells.device_comparison_rows(items)
        text += "\n" + "\n".join(_table(cells.DEVICE_COMPARISON_HEADER, rows)) + "\n"
    return text


def sweep(result: Sweep) -> str:
    """One row per grid point."""
    return "".join(sweep_chunks(result))


def sweep_chunks(result: Sweep, size: int = 4096) -> Iterator[str]:
    """:func:`sweep` in pieces of ``size`` rows, written as they are computed."""
    header, rows = cells.sweep_table(result, lazy=True)
    lines = _table(header, [])
    yield "\n".join(lines) + "\n"
    batch: list[str] = []
    for row in rows:
        batch.append("| " + " | ".join(markdown_cell(c) for c in row) + " |\n")
        if len(batch) == size:
            yield "".join(batch)
            batch = []
    if batch:
        yield "".join(batch)


def explanations(items: Sequence[Explanation]) -> str:
    """A heading and a table of derivation steps per layer or block."""
    lines: list[str] = []
    for item in items:
        lines += [f"### {markdown_text(cells.explanation_title(item))}", ""]
        lines += _table(cells.STEP_HEADER, (cells.step_cells(s) for s in item.steps))
        lines.append("")
    return "\n".join(lines)


def devices(profiles: Sequence[DeviceProfile]) -> str:
    """One row per profile (peaks and budgets one a line, as <br>)."""
    return "\n".join(_table(cells.DEVICE_HEADER, cells.devices_rows(profiles))) + "\n"


def architectures(items: Sequence[ArchInfo]) -> str:
    """One row per bundled architecture."""
    rows = cells.architecture_rows(items)
    return "\n".join(_table(cells.ARCHITECTURE_HEADER, rows)) + "\n"


def kinds(items: Sequence[LayerKind]) -> str:
    """docs/layers.md: every layer kind with its rule and arguments, from the registry."""
    lines = [
        "# Layer kinds",
        "",
        "Generated by `convcalc layers --format markdown`; every YAML `op`, its counting",
        "rules and its arguments. The conventions behind the rules are in",
        "[conventions.md](conventions.md). Every layer also takes the reserved keys `name`,",
        "`from`, `repeat`, `when`, `norm` and `act` ([schema.md](schema.md)).",
        "",
    ]
    if len(items) > 1:
        lines += _counting_rules(items)
    for kind in items:
        lines += [f"## `{kind.op}`", "", kind.doc[0].upper() + kind.doc[1:] + ".", ""]
        lines += [f"MACs: {kind.macs_rule or 'none'}. FLOPs: {kind.flops_rule}.", ""]
        if kind.args:
            rows = [(f"`{n}`", t, doc) for n, t, doc in cells.argument_rows(kind)]
            lines += _table(cells.ARGUMENT_HEADER, rows)
        else:
            lines.append("No arguments.")
        lo, hi = kind.inputs
        if (lo, hi) != (1, 1):
            count = f"{lo} or more" if hi is None else f"{lo} to {hi}"
            lines += ["", f"Inputs: {count}, named in `from`."]
        lines.append("")
    return "\n".join(lines)


def _counting_rules(items: Sequence[LayerKind]) -> list[str]:
    """The MACs and FLOPs of every kind in two tables, kinds that share a rule on one row."""
    lines = ["## Counting rules", ""]
    macs = [(f"`{k.op}`", k.macs_rule) for k in items if k.macs_rule]
    lines += ["Multiply-accumulates (every other kind performs none):", ""]
    lines += [*_table(("op", "MACs"), macs), ""]
    by_rule: dict[str, list[str]] = {}
    for k in items:
        by_rule.setdefault(k.flops_rule, []).append(f"`{k.op}`")
    lines += ["FLOPs, per output value unless stated:", ""]
    rows = [(", ".join(ops), rule) for rule, ops in by_rule.items()]
    return [*lines, *_table(("ops", "FLOPs"), rows), ""]


def diagnostics(items: Sequence[Diagnostic], source: str) -> str:
    """A table of the diagnostics, if any, then the summary line."""
    lines: list[str] = []
    if items:
        rows = [
            (
                d.severity,
                d.code,
                cells.diagnostic_where(d),
                d.message,
                d.hint or "",
                d.reference or "",
            )
            for d in items
        ]
        lines += [*_table(_DIAGNOSTIC_HEADER, rows), ""]
    lines.append(markdown_text(cells.validation_summary(items, source)))
    return "\n".join(lines) + "\n"
