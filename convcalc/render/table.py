"""Rich tables for terminals and design reviews (rich is imported only here)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.table import Table

from convcalc.render.text import exact, fold, human, plain, rf_text, shape, totals_rows
from convcalc.report import Report


def print_report(console: Console, report: Report, depth: int | None = None) -> None:
    bindings = ", ".join(f"{k}={plain(v)}" for k, v in report.bindings.items())
    title = f"{report.architecture}  input {shape(report.input)}  {report.dtype}"
    table = Table(title=title, caption=bindings or None, header_style="bold")
    for col, justify in (
        ("layer", "left"),
        ("type", "left"),
        ("args", "left"),
        ("output", "right"),
        ("params", "right"),
        ("MACs", "right"),
        ("FLOPs", "right"),
        ("act. bytes", "right"),
        ("RF", "right"),
    ):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for row in fold(report.layers, depth):
        table.add_row(
            row.name,
            row.type,
            row.summary,
            shape(row.output_shape),
            exact(row.params),
            exact(row.macs),
            human(row.flops),
            human(row.activation_bytes),
            rf_text(row),
        )
    console.print(table)
    totals = Table(title="totals", show_header=False)
    totals.add_column("metric")
    totals.add_column("exact", justify="right")
    totals.add_column("approx.", justify="right")
    for r in totals_rows(report):
        totals.add_row(*r)
    console.print(totals)


def print_rows(
    console: Console, title: str, header: Sequence[str], rows: Sequence[Sequence[str]]
) -> None:
    table = Table(title=title, header_style="bold")
    for h in header:
        table.add_column(h)
    for r in rows:
        table.add_row(*r)
    console.print(table)
