"""Rendering of comparisons, sweeps and derivations (tables, markdown, CSV, JSON)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from convcalc import num
from convcalc.render.text import _md_table, exact, formula, human, human_bytes, plain

_ROWS = (
    ("params", "params", human),
    ("MACs", "macs", human),
    ("FLOPs", "flops", human),
    ("param memory", "param_bytes", human_bytes),
    ("peak activation memory", "peak_activation_bytes", human_bytes),
)


def json_text(doc: Any) -> str:
    return json.dumps(doc, indent=2) + "\n"


def ratio_text(r: Any) -> str:
    """0.0306 -> 'x0.0306 (1/32.7)'; formulas as formulas."""
    if r is None:
        return "-"
    if not num.is_concrete(r):
        return formula(r)
    value = float(r)
    if value == 1:
        return "x1"
    if 0 < value < 1:
        return f"x{value:.3g} (1/{1 / value:.3g})"
    return f"x{value:.3g}"


def _comparison_rows(result: Any) -> tuple[list[str], list[list[str]]]:
    labels = [item.label for item in result.items]
    header = ["metric", *labels, *(f"{b} / {labels[0]}" for b in labels[1:])]
    rows = []
    ratios = result.ratios
    for title, key, fmt in _ROWS:
        values = [getattr(r.totals, key) for r in result.reports]
        cells = [f"{exact(v)} ({fmt(v)})" if num.is_concrete(v) else formula(v) for v in values]
        rows.append([title, *cells, *(ratio_text(r[key]) for r in ratios[1:])])
    rfs = [r.totals.receptive_field for r in result.reports]
    rows.append(
        [
            "receptive field",
            *("-" if f is None else f"{plain(f[0])}x{plain(f[1])}" for f in rfs),
            *("" for _ in labels[1:]),
        ]
    )
    return header, rows


def _breakdown_rows(result: Any, by: str) -> tuple[list[str], list[list[str]]]:
    keys, tables = result.breakdown(by)
    labels = [item.label for item in result.items]
    header = [by, *(f"{lab} params" for lab in labels), *(f"{lab} MACs" for lab in labels)]
    rows = []
    for key in keys:
        params = [exact(t[key][0]) if key in t else "" for t in tables]
        macs = [exact(t[key][1]) if key in t else "" for t in tables]
        rows.append([key, *params, *macs])
    return header, rows


def print_comparison(console: Any, result: Any, by: str | None) -> None:
    from rich.table import Table

    header, rows = _comparison_rows(result)
    table = Table(title="comparison", header_style="bold")
    for i, h in enumerate(header):
        table.add_column(h, justify="left" if i == 0 else "right")
    for row in rows:
        table.add_row(*row)
    console.print(table)
    if by:
        header, rows = _breakdown_rows(result, by)
        table = Table(title=f"by {by}", header_style="bold")
        for i, h in enumerate(header):
            table.add_column(h, justify="left" if i == 0 else "right")
        for row in rows:
            table.add_row(*row)
        console.print(table)


def _csv(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def comparison_text(result: Any, by: str | None, fmt: str) -> str:
    parts = [_comparison_rows(result)]
    if by:
        parts.append(_breakdown_rows(result, by))
    if fmt == "csv":
        return "\n".join(_csv(h, r) for h, r in parts)
    return "\n\n".join("\n".join(_md_table(h, r)) for h, r in parts) + "\n"


def _sweep_rows(result: Any) -> tuple[list[str], list[list[str]]]:
    device = bool(result.rows) and "verdict" in result.rows[0]
    header = [*result.names, "params", "MACs", "FLOPs", "peak activation bytes"]
    if device:
        header += ["latency", "verdict"]
    rows = []
    for row in result.rows:
        cells = [
            *(plain(row[n]) for n in result.names),
            exact(row["params"]),
            exact(row["macs"]),
            exact(row["flops"]),
            exact(row["peak_activation_bytes"]),
        ]
        if device:
            cells += [f"{row['latency_s'] * 1000:.3g} ms", row["verdict"]]
        rows.append(cells)
    return header, rows


def print_sweep(console: Any, result: Any) -> None:
    """The grid as a table: thousands of rows, so plain output skips rich's layout."""
    from convcalc.render.table import print_table

    header, rows = _sweep_rows(result)
    print_table(console, [(h, "right") for h in header], rows, f"sweep of {result.arch}")


def sweep_text(result: Any, fmt: str) -> str:
    header, rows = _sweep_rows(result)
    if fmt == "csv":  # raw values, in the JSON keys' order
        keys = [k for k in result.rows[0] if k not in result.names] if result.rows else []
        rows = [
            [*(plain(row[n]) for n in result.names), *(plain(row[k]) for k in keys)]
            for row in result.rows
        ]
        return _csv([*result.names, *keys], rows)
    return "\n".join(_md_table(header, rows)) + "\n"


@contextmanager
def progress(enabled: bool) -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar on stderr for long sweeps (only on a terminal)."""
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("sweep", total=None)

        def tick(done: int, total: int) -> None:
            if done % 100 == 0 or done == total:
                bar.update(task, completed=done, total=total)

        yield tick


def _step_cells(step: Any) -> list[str]:
    value = exact(step.value)
    return [step.metric, step.formula, step.substituted, value]


def print_explanations(console: Any, items: Sequence[Any]) -> None:
    from rich.table import Table

    for item in items:
        title = f"{item.name} ({item.op}{' ' + item.summary if item.summary else ''})"
        if item.line:
            title += f", line {item.line}"
        table = Table(title=title, header_style="bold")
        for h in ("metric", "formula", "substituted", "value"):
            table.add_column(h, justify="right" if h == "value" else "left")
        for step in item.steps:
            table.add_row(*_step_cells(step))
        console.print(table)


def explanation_text(items: Sequence[Any]) -> str:
    lines: list[str] = []
    for item in items:
        lines.append(f"### {item.name} ({item.op}{' ' + item.summary if item.summary else ''})")
        lines.append("")
        lines += _md_table(
            ("metric", "formula", "substituted", "value"), (_step_cells(s) for s in item.steps)
        )
        lines.append("")
    return "\n".join(lines)
