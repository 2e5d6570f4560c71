"""Rich tables for terminals and design reviews (rich is imported only here).

The per-layer table of a large network is hundreds of rows, and rich lays out every cell
through its full text pipeline (about a millisecond a row), which would dominate a run.
When the output is plain (a pipe or a file: no colour, no terminal styles) and every cell
is one line of ordinary ASCII that fits, the same characters are written directly:
:func:`plain_table` reproduces rich's layout for that case (tests hold it to rich's own
output for the bundled networks) and anything else goes through rich. The command line
takes that path without importing rich at all (:func:`write_plain_tables`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import IO, TYPE_CHECKING

from convcalc.render.text import exact, fold, human, plain, rf_text, shape, totals_rows
from convcalc.report import Report

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

Justify = str  # "left" or "right"

_REPORT_COLUMNS: tuple[tuple[str, Justify], ...] = (
    ("layer", "left"),
    ("type", "left"),
    ("args", "left"),
    ("output", "right"),
    ("params", "right"),
    ("MACs", "right"),
    ("FLOPs", "right"),
    ("act. bytes", "right"),
    ("RF", "right"),
)
_TOTALS_COLUMNS: tuple[tuple[str, Justify], ...] = (
    ("metric", "left"),
    ("exact", "right"),
    ("approx.", "right"),
)

# rich's HEAVY_HEAD box (its default) and SQUARE (what it draws when there is no header):
# top, header row, header rule, body row, bottom, as (left, fill, divider, right).
_HEAVY_HEAD = ("┏━┳┓", "┃ ┃┃", "┡━╇┩", "│ ││", "└─┴┘")
_SQUARE = ("┌─┬┐", "│ ││", "├─┼┤", "│ ││", "└─┴┘")

# Printable ASCII without what rich would interpret ([markup], \escapes, :emoji:).
_PLAIN_CELL = re.compile(r"[ -9;-Z^-~]*")


def _rule(box: str, widths: Sequence[int]) -> str:
    return box[0] + box[2].join(box[1] * w for w in widths) + box[3]


def _line(box: str, cells: Sequence[str], widths: Sequence[int], justify: Sequence[str]) -> str:
    parts = [
        " " + (c.ljust(w - 2) if j == "left" else c.rjust(w - 2)) + " "
        for c, w, j in zip(cells, widths, justify, strict=True)
    ]
    return box[0] + box[2].join(parts) + box[3]


def _centred(text: str, width: int) -> str:
    left = (width - len(text)) // 2
    return " " * left + text + " " * (width - len(text) - left)


def plain_console(console: Console) -> bool:
    """True when ``console`` prints no styles and rich's own box characters."""
    if console.color_system is not None or console.legacy_windows:
        return False
    return console.encoding.lower().startswith("utf")


def plain_table(
    width: int,
    columns: Sequence[tuple[str, Justify]],
    rows: Sequence[Sequence[str]],
    title: str | None = None,
    caption: str | None = None,
    show_header: bool = True,
) -> str | None:
    """The text rich would print for this table on a plain console ``width`` characters
    wide, or None where only rich knows (markup-like or non-ASCII text, multi-line cells,
    or a table wider than the console, which rich shrinks and wraps)."""
    headers = [h for h, _ in columns]
    justify = [j for _, j in columns]
    texts = [*headers, *(c for r in rows for c in r), title or "", caption or ""]
    if not all(_PLAIN_CELL.fullmatch(t) and t == t.strip() for t in texts):
        return None
    sized = [headers, *rows] if show_header else list(rows)
    widths = [max((len(r[i]) for r in sized), default=0) + 2 for i in range(len(columns))]
    table_width = sum(widths) + len(widths) + 1
    if table_width > width:
        return None
    if len(title or "") > table_width or len(caption or "") > table_width:
        return None
    box = _HEAVY_HEAD if show_header else _SQUARE
    out = []
    if title:
        out.append(_centred(title, table_width))
    out.append(_rule(box[0], widths))
    if show_header:
        out.append(_line(box[1], headers, widths, justify))
        out.append(_rule(box[2], widths))
    out.extend(_line(box[3], r, widths, justify) for r in rows)
    out.append(_rule(box[4], widths))
    if caption:
        out.append(_centred(caption, table_width))
    return "\n".join(out) + "\n"


def rich_table(
    columns: Sequence[tuple[str, Justify]],
    rows: Sequence[Sequence[str]],
    title: str | None = None,
    caption: str | None = None,
    show_header: bool = True,
) -> Table:
    """The same table as a rich renderable (bold header, styled title and caption)."""
    from rich.table import Table

    table = Table(title=title, caption=caption, header_style="bold", show_header=show_header)
    for col, justify in columns:
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for r in rows:
        table.add_row(*r)
    return table


def print_table(
    console: Console,
    columns: Sequence[tuple[str, Justify]],
    rows: Sequence[Sequence[str]],
    title: str | None = None,
    caption: str | None = None,
    show_header: bool = True,
) -> None:
    """Print a table of one-line cells on ``console``: directly where it is plain, else
    through rich."""
    text = None
    if plain_console(console):
        text = plain_table(console.width, columns, rows, title, caption, show_header)
    if text is None:
        console.print(rich_table(columns, rows, title, caption, show_header))
    else:
        console.file.write(text)
        console.file.flush()


ReportTables = tuple[str, str | None, list[list[str]], list[list[str]]]


def report_tables(report: Report, depth: int | None = None) -> ReportTables:
    """Title, caption, layer rows and totals rows of a report's two tables (formatted once:
    with free parameters every cell is a printed formula, which takes seconds)."""
    bindings = ", ".join(f"{k}={plain(v)}" for k, v in report.bindings.items())
    title = f"{report.architecture}  input {shape(report.input)}  {report.dtype}"
    rows = [
        [
            row.name,
            row.type,
            row.summary,
            shape(row.output_shape),
            exact(row.params),
            exact(row.macs),
            human(row.flops),
            human(row.activation_bytes),
            rf_text(row),
        ]
        for row in fold(report.layers, depth)
    ]
    return title, bindings or None, rows, [list(r) for r in totals_rows(report)]


def print_report(console: Console, report: Report, depth: int | None = None) -> None:
    print_tables(console, report_tables(report, depth))


def print_tables(console: Console, tables: ReportTables) -> None:
    """The per-layer table and the totals of :func:`report_tables`."""
    title, caption, rows, totals = tables
    print_table(console, _REPORT_COLUMNS, rows, title, caption)
    print_table(console, _TOTALS_COLUMNS, totals, "totals", show_header=False)


def write_plain_tables(out: IO[str], tables: ReportTables, width: int) -> bool:
    """Write what :func:`print_tables` prints on a plain console ``width`` wide, without
    importing rich; False (nothing written) when either table needs rich."""
    title, caption, rows, totals = tables
    first = plain_table(width, _REPORT_COLUMNS, rows, title, caption)
    second = plain_table(width, _TOTALS_COLUMNS, totals, "totals", show_header=False)
    if first is None or second is None:
        return False
    out.write(first + second)
    return True


def print_rows(
    console: Console, title: str, header: Sequence[str], rows: Sequence[Sequence[str]]
) -> None:
    from rich.table import Table

    table = Table(title=title, header_style="bold")
    for h in header:
        table.add_column(h)
    for r in rows:
        table.add_row(*r)
    console.print(table)
