"""The table format: rich tables on a terminal, the same characters written directly on a
pipe or a file (rich is imported only where it draws).

Every view is a list of pieces: a :class:`Grid` (a table of one-line cells) or a factory of
a rich renderable (a panel, a table with wrapped cells). :func:`show` prints pieces on any
console through rich; the format functions (:func:`report`, :func:`comparison`, ...) lay
them out for stdout and return the text.

The per-layer table of a large network is hundreds of rows, and rich lays out every cell
through its full text pipeline (about a millisecond a row), which would dominate a run.
When stdout is plain (a pipe or a file: no colour, no terminal styles) and every cell of a
grid is one line of ordinary ASCII that fits, :func:`plain_table` writes the characters rich
would (tests hold it to rich's own output) without importing rich at all; anything else goes
through rich.

No cell is ever read as rich markup: every text passes through
:func:`convcalc.render.sanitize.visible` (control characters shown as escapes) and reaches
rich as a ``Text``; markup appears only in this module's own styles.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from convcalc import num
from convcalc.render import rows as cells
from convcalc.render.sanitize import visible
from convcalc.render.text import (
    RATIO_DIGITS,
    elide_middle,
    exact,
    fold,
    human,
    human_bytes,
    review_depth,
    rf_text,
    seconds,
    shape,
    share,
)
from convcalc.render.text import tree as nesting

if TYPE_CHECKING:
    from rich.console import Console, RenderableType
    from rich.table import Table

    from convcalc.api import ArchInfo
    from convcalc.compare import Comparison
    from convcalc.devices import DeviceEstimate, DeviceProfile
    from convcalc.diagnostics import Diagnostic
    from convcalc.explain import Explanation
    from convcalc.layers.base import LayerKind
    from convcalc.report import LayerRow, Report
    from convcalc.sweep import Sweep

Justify = str  # "left" or "right"
Columns = Sequence[tuple[str, Justify]]

PIPED_WIDTH = 200  # console width for a file or pipe, so numbers are never cut
FOLDED = 8  # the fewest characters a text column is folded to on a narrow console

_REPORT_COLUMNS: Columns = (
    ("layer", "left"),
    ("type", "left"),
    ("args", "left"),
    ("output", "right"),
    ("params", "right"),
    ("% params", "right"),
    ("MACs", "right"),
    ("% MACs", "right"),
    ("FLOPs", "right"),
    ("act. bytes", "right"),
    ("RF", "right"),
)
_TOTALS_COLUMNS: Columns = (("metric", "left"), ("exact", "right"), ("approx.", "right"))
_DEVICE_COLUMNS: Columns = (
    ("layer", "left"),
    ("type", "left"),
    ("output", "right"),
    ("MACs", "right"),
    ("FLOPs", "right"),
    ("time", "right"),
    ("bound", "left"),
    ("share", "right"),
)
_SUMMARY_COLUMNS: Columns = (("metric", "left"), ("value", "left"))
_STEP_COLUMNS: Columns = tuple((h, "right" if h == "value" else "left") for h in cells.STEP_HEADER)

# rich's HEAVY_HEAD box (its default) and SQUARE (what it draws when there is no header):
# top, header row, header rule, body row, bottom, as (left, fill, divider, right).
_HEAVY_HEAD = ("┏━┳┓", "┃ ┃┃", "┡━╇┩", "│ ││", "└─┴┘")
_SQUARE = ("┌─┬┐", "│ ││", "├─┼┤", "│ ││", "└─┴┘")

# Printable ASCII without what rich would interpret ([markup], \escapes, :emoji:).
_PLAIN_CELL = re.compile(r"[ -9;-Z^-~]*")


# ---------------------------------------------------------------------------------------
# Laying out


def _rule(box: str, widths: Sequence[int]) -> str:
    return box[0] + box[2].join(box[1] * w for w in widths) + box[3]


def _line(box: str, widths: Sequence[int], justify: Sequence[str]) -> str:
    """The format of a row: each cell padded to its column's width as ``ljust`` or
    ``rjust`` pads it, a space either side (one ``str.format`` call a row)."""
    cells = [
        f" {{:{'<' if j == 'left' else '>'}{w - 2}}} " for w, j in zip(widths, justify, strict=True)
    ]
    return box[0] + box[2].join(cells) + box[3]


def _widths(rows: Sequence[Sequence[str]], count: int) -> list[int]:
    """The longest cell of each of ``count`` columns (0 for a column without rows)."""
    longest = [max(map(len, column)) for column in zip(*rows, strict=True)]
    return longest[:count] + [0] * (count - len(longest))


def _centred(text: str, width: int) -> str:
    left = (width - len(text)) // 2
    return " " * left + text + " " * (width - len(text) - left)


def plain_table(
    width: int,
    columns: Columns,
    rows: Sequence[Sequence[str]],
    title: str | None = None,
    caption: str | None = None,
    show_header: bool = True,
) -> str | None:
    """The text rich would print for this table on a plain console ``width`` characters
    wide, or None where only rich knows (markup-like or non-ASCII text, multi-line cells,
    trailing spaces, or a table wider than the console, which rich shrinks and wraps)."""
    headers = [visible(h) for h, _ in columns]
    justify = [j for _, j in columns]
    shown = {c: visible(c, newlines=True) for c in {c for r in rows for c in r}}  # each once
    if any(text != c for c, text in shown.items()):
        rows = [[shown[c] for c in r] for r in rows]
    title, caption = _safe(title), _safe(caption)
    texts = {*headers, *shown.values(), title or "", caption or ""}
    if not all(_PLAIN_CELL.fullmatch(t) and t == t.rstrip() for t in texts):
        return None  # leading spaces (the indent of a tree) rich keeps; trailing it strips
    sized = [headers, *rows] if show_header else rows
    widths = [w + 2 for w in _widths(sized, len(columns))]
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
        out.append(_line(box[1], widths, justify).format(*headers))
        out.append(_rule(box[2], widths))
    line = _line(box[3], widths, justify)
    out.extend(line.format(*r) for r in rows)
    out.append(_rule(box[4], widths))
    if caption:
        out.append(_centred(caption, table_width))
    return "\n".join(out) + "\n"


def rich_table(
    columns: Columns,
    rows: Sequence[Sequence[str]],
    title: str | None = None,
    caption: str | None = None,
    show_header: bool = True,
) -> Table:
    """The same table as a rich renderable (bold header, styled title and caption); every
    text a ``Text``, never markup."""
    from rich.table import Table

    table = Table(
        title=_text(title, "table.title"),
        caption=_text(caption, "table.caption"),
        header_style="bold",
        show_header=show_header,
    )
    for i, (col, justify) in enumerate(columns):
        # Numbers are kept on one line where rich can; no cell is ever cut with an
        # ellipsis: what does not fit folds onto the next line.
        table.add_column(
            _text(col),
            justify=justify,  # type: ignore[arg-type]
            no_wrap=_numeric(justify, [r[i] for r in rows]),
            overflow="fold",
        )
    for r in rows:
        table.add_row(*(_text(c) for c in r))
    return table


#: The longest cell of a column of numbers: longer right-justified text (a formula in
#: place of a count) wraps like any text.
NUMBER_CELL = 32


def _numeric(justify: str, column: Sequence[str]) -> bool:
    """Whether a column holds numbers, which are never wrapped: right-justified and short."""
    return justify == "right" and all(len(c) <= NUMBER_CELL for c in column)


def _safe(text: str | None) -> str | None:
    return None if text is None else visible(text)


def _text(text: str | None, style: str = "") -> Any:
    """``text`` as a rich ``Text`` (shown by :func:`visible`, never parsed as markup)."""
    from rich.text import Text

    return None if text is None else Text(visible(text, newlines=True), style=style)


Step = Callable[["Grid", int], "Grid"]  # a way to make a grid narrower, for a width


@dataclass(frozen=True)
class Grid:
    """A table of one-line cells: written directly on a plain stdout, else drawn by rich.

    ``narrower`` are the ways to make it fit a narrow console, in the order they are tried
    (:meth:`fit`): each replaces, merges or drops columns; none ever cuts a number."""

    columns: Columns
    rows: Sequence[Sequence[str]]
    title: str | None = None
    caption: str | None = None
    show_header: bool = True
    narrower: Sequence[Step] = ()

    def width(self) -> int:
        """The characters the table takes at its natural width (as rich draws it)."""
        sized = [[h for h, _ in self.columns], *self.rows] if self.show_header else self.rows
        return sum(w + 3 for w in _widths(sized, len(self.columns))) + 1

    def least_width(self) -> int:
        """The narrowest rich can draw the table without cutting a cell: numbers (see
        :func:`_numeric`) at full width, text folded down to :data:`FOLDED` characters."""
        sized = [[h for h, _ in self.columns], *self.rows] if self.show_header else self.rows
        total = 1
        for i, (_, justify) in enumerate(self.columns):
            longest = max((len(r[i]) for r in sized), default=0)
            whole = _numeric(justify, [r[i] for r in self.rows])
            total += (longest if whole else min(longest, FOLDED)) + 3
        return total

    def fit(self, width: int) -> Grid:
        """The grid after as many of its :attr:`narrower` steps as it takes to be at most
        ``width`` characters wide (all of them when even the last is too wide)."""
        grid = self
        for step in self.narrower:
            if grid.width() <= width:
                break
            grid = step(grid, width)
        return replace(grid, narrower=())

    def index(self, header: str) -> int | None:
        """The position of the column headed ``header``, None when it is not shown."""
        return next((i for i, (h, _) in enumerate(self.columns) if h == header), None)

    def plain(self, width: int) -> str | None:
        """See :func:`plain_table`."""
        return plain_table(
            width, self.columns, self.rows, self.title, self.caption, self.show_header
        )

    def rich(self) -> Table:
        """See :func:`rich_table`."""
        return rich_table(self.columns, self.rows, self.title, self.caption, self.show_header)


def swap(header: str, cells: Sequence[str], new_header: str | None = None) -> Step:
    """A step that shows other cells (a shorter form) in the column ``header``, or with no
    cells only gives it the header ``new_header``."""

    def step(grid: Grid, width: int = 0) -> Grid:
        i = grid.index(header)
        if i is None:
            return grid
        columns = list(grid.columns)
        columns[i] = (new_header or header, columns[i][1])
        if not cells:  # a new header only
            return replace(grid, columns=columns)
        rows = [[*r[:i], c, *r[i + 1 :]] for r, c in zip(grid.rows, cells, strict=True)]
        return replace(grid, columns=columns, rows=rows)

    return step


def together(steps: Sequence[Step]) -> Step:
    """One step that takes all of ``steps`` (so the columns of a table change alike)."""

    def step(grid: Grid, width: int = 0) -> Grid:
        for each in steps:
            grid = each(grid, width)
        return grid

    return step


def drop(*headers: str) -> Step:
    """A step that leaves the columns ``headers`` out."""

    def step(grid: Grid, width: int = 0) -> Grid:
        keep = [i for i, (h, _) in enumerate(grid.columns) if h not in headers]
        columns = [grid.columns[i] for i in keep]
        return replace(grid, columns=columns, rows=[[r[i] for i in keep] for r in grid.rows])

    return step


def merge(into: str, other: str) -> Step:
    """A step that appends the column ``other``'s cells to ``into``'s, one space apart."""

    def step(grid: Grid, width: int = 0) -> Grid:
        i, j = grid.index(into), grid.index(other)
        if i is None or j is None:
            return grid
        cells = [f"{r[i]} {r[j]}".strip() for r in grid.rows]
        return drop(other)(swap(into, cells)(grid))

    return step


def elide(header: str, least: int = 12) -> Step:
    """A step that shortens the cells of the column ``header`` in the middle, just enough
    for the table to fit, never below ``least`` characters: the start and the end of a
    layer name (its stage and its role) stay readable."""

    def step(grid: Grid, width: int = 0) -> Grid:
        i = grid.index(header)
        if i is None or not grid.rows:
            return grid
        longest = max(len(r[i]) for r in grid.rows)
        target = max(least, longest - max(0, grid.width() - width))
        return swap(header, [elide_middle(r[i], target) for r in grid.rows])(grid)

    return step


def fitted(piece: Piece, width: int) -> Piece:
    """``piece`` made to fit ``width`` characters where it is a grid."""
    return piece.fit(width) if isinstance(piece, Grid) else piece


Piece = Grid | str | Callable[[], "RenderableType"]  # a str: one line of plain text


def _renderable(piece: Piece) -> RenderableType:
    if isinstance(piece, str):
        return _text(piece)
    return piece.rich() if isinstance(piece, Grid) else piece()


def plain_stdout() -> bool:
    """True when the console of :func:`stdout_console` would print no styles: stdout is a
    UTF-8 file or pipe and neither TTY_COMPATIBLE=1 nor FORCE_COLOR makes rich treat it as
    a terminal. Decided without importing rich (tens of milliseconds per run)."""
    if sys.platform == "win32" or sys.stdout.isatty():
        return False
    if os.environ.get("TTY_COMPATIBLE", "") == "1" or os.environ.get("FORCE_COLOR"):
        return False
    return (getattr(sys.stdout, "encoding", None) or "").lower().startswith("utf")


def stdout_console() -> Console:
    """A rich console on stdout; wide when writing to a file or pipe, so numbers are never
    cut."""
    from rich.console import Console

    return Console(width=None if sys.stdout.isatty() else PIPED_WIDTH)


def lay_out(pieces: Sequence[Piece]) -> str:
    """The text the pieces make on stdout: grids directly where stdout is plain, the rest
    rendered by rich as it would print them there; every grid first fitted to the width
    of stdout (:data:`PIPED_WIDTH` on a pipe or a file, the terminal's width on one)."""
    plain = plain_stdout()
    console = None if plain else stdout_console()
    width = PIPED_WIDTH if console is None else console.width
    out = []
    for piece in pieces:
        piece = fitted(piece, width)
        text = piece.plain(width) if plain and isinstance(piece, Grid) else None
        if (
            plain
            and isinstance(piece, str)
            and len(piece) <= width
            and _PLAIN_CELL.fullmatch(piece)
        ):
            text = piece + "\n"  # else rich shows it, as it shows a cell
        if text is None:
            console = console or stdout_console()
            with console.capture() as captured:
                _print(console, piece)
            text = captured.get()
        out.append(text)
    return "".join(out)


def show(console: Console, pieces: Sequence[Piece]) -> None:
    """Print the pieces on ``console`` through rich (a recording console records them),
    each grid fitted to the console's width."""
    for piece in pieces:
        _print(console, fitted(piece, console.width))


def _print(console: Console, piece: Piece) -> None:
    """Print one piece; a grid that rich could draw on the console only by cutting cells
    (after every narrowing step) is drawn at its own width instead and left to the
    terminal to wrap."""
    if isinstance(piece, Grid) and piece.least_width() > console.width:
        from rich.console import Console as Wide
        from rich.text import Text

        wide = Wide(
            width=piece.width(),
            color_system=console.color_system,
            force_terminal=console.is_terminal,
        )
        with wide.capture() as captured:
            wide.print(piece.rich())
        console.print(Text.from_ansi(captured.get()), soft_wrap=True, end="")
        return
    console.print(_renderable(piece))


def _left_first(header: Sequence[str]) -> Columns:
    return [(h, "left" if i == 0 else "right") for i, h in enumerate(header)]


# ---------------------------------------------------------------------------------------
# Views


def _once(fmt: Callable[[Any], str]) -> Callable[[Any], str]:
    """``fmt`` that formats each distinct whole number (or tuple of them) once: the layers
    of a repeated block have the same counts and shapes, thousands of times over."""
    seen: dict[Any, str] = {}

    def cell(value: Any) -> str:
        if type(value) is int or (type(value) is tuple and all(type(v) is int for v in value)):
            text = seen.get(value)
            if text is None:
                text = seen[value] = fmt(value)
            return text
        return fmt(value)

    return cell


def report_pieces(
    report: Report,
    depth: int | None = None,
    estimate: DeviceEstimate | None = None,
    tree: bool = False,
) -> list[Piece]:
    """The per-layer table and the totals; with an estimate, the per-layer table has time,
    bound and share columns and a summary and the verdict panel follow. Every cell is
    formatted once (with free parameters each is a printed formula, which takes seconds).

    ``depth`` None folds a long network to a review size (:func:`review_depth`), 0 shows
    every layer; ``tree`` shows the layers nested under their blocks, each block a row of
    its subtotals, down to ``depth`` levels (every level when None)."""
    totals = totals_grid(report)
    note = []
    folded: list[LayerRow] | None = None  # the review fold, counted for the note
    if depth is None and not tree:
        depth = review_depth(report.layers)
        if depth is not None:
            folded = fold(report.layers, depth)
            note = [
                f"{len(report.layers)} layers shown as {len(folded)} rows, folded by the first "
                f"{depth} name part{'s' if depth > 1 else ''}; --full shows every layer, "
                "--depth N another fold"
            ]
    if estimate is not None:
        device = _device_pieces(report, estimate, depth)
        return [*device, *note, totals, *_summary_pieces(estimate)]
    title = f"{report.architecture}  input {shape(report.input)}  {report.dtype}"
    shown, exacts, humans, human_b = _once(shape), _once(exact), _once(human), _once(human_bytes)
    t = report.totals
    params_share = _once(lambda v: share(v, t.params))
    macs_share = _once(lambda v: share(v, t.macs))
    if tree:
        nested = nesting(report.layers, depth or None)
        folded = [row for _, _, row in nested]
        names = ["  " * level + label for level, label, _ in nested]
    else:
        folded = folded or fold(report.layers, depth)
        names = [row.name for row in folded]
    rows = [
        [
            name,
            row.type,
            row.summary,
            shown(row.output_shape),
            exacts(row.params),
            params_share(row.params),
            exacts(row.macs),
            macs_share(row.macs),
            humans(row.flops),
            human_b(row.activation_bytes),
            rf_text(row),
        ]
        for name, row in zip(names, folded, strict=True)
    ]
    narrower = (
        merge("type", "args"),
        swap("params", [humans(r.params) for r in folded]),
        swap("MACs", [humans(r.macs) for r in folded]),
        drop("FLOPs"),
        drop("act. bytes"),
        drop("% params", "% MACs"),
        elide("layer"),
    )
    caption = cells.bindings_text(report) or None
    return [Grid(_REPORT_COLUMNS, rows, title, caption, narrower=narrower), *note, totals]


#: Shorter names of the totals, for a narrow console.
_SHORT_TOTALS = {
    "activation memory (all outputs)": "all activations",
    "peak activation memory": "peak activations",
}


def totals_grid(report: Report) -> Grid:
    """The totals: metric, exact value, human form; on a narrow console the metrics take
    shorter names and the peak layer moves to a row of its own."""
    rows = cells.totals_rows(report)
    peak = report.totals.peak_layer

    def short_names(grid: Grid, width: int = 0) -> Grid:
        return replace(grid, rows=[[_SHORT_TOTALS.get(r[0], r[0]), *r[1:]] for r in grid.rows])

    def peak_apart(grid: Grid, width: int = 0) -> Grid:
        out: list[list[str]] = []
        for r in grid.rows:
            if r[2].endswith(f" at {peak}"):
                out += [[r[0], r[1], r[2].removesuffix(f" at {peak}")], ["  at layer", "", peak]]
            else:
                out.append(list(r))
        return replace(grid, rows=out)

    return Grid(
        _TOTALS_COLUMNS,
        rows,
        "totals",
        show_header=False,
        narrower=(short_names, peak_apart, elide("approx.")),
    )


def _device_pieces(report: Report, est: DeviceEstimate, depth: int | None) -> list[Piece]:
    timed = est.latency_s is not None
    device_rows = cells.device_rows(report, est, depth)
    rows = [
        [
            r.name,
            r.type,
            r.output,
            exact(r.macs),
            human(r.flops),
            seconds(r.time_s) if timed else "-",
            r.bound if timed else "-",
            f"{r.share:.1%}" if timed else "-",
        ]
        for r in device_rows
    ]
    caption = ", ".join(f"{k}={v}" for k, v in report.bindings.items())
    narrower = (
        swap("MACs", [human(r.macs) for r in device_rows]),
        drop("FLOPs"),
        swap("bound", [r[6].split(" ")[0] for r in rows]),  # 'fused', 'view'
        elide("layer"),
    )
    title = cells.device_title(report, est)
    return [Grid(_DEVICE_COLUMNS, rows, title, caption or None, narrower=narrower)]


def _summary_pieces(est: DeviceEstimate) -> list[Piece]:
    summary = Grid(_SUMMARY_COLUMNS, cells.summary_rows(est), f"on {est.device}", None, False)
    return [summary, lambda: _verdict_panel(est)]


def _verdict_panel(est: DeviceEstimate) -> RenderableType:
    """One line per limit, green or red, under an overall verdict."""
    from rich.panel import Panel
    from rich.text import Text

    text = Text()
    for ok, line in cells.verdict_lines(est):
        text.append(visible(line) + "\n", style="green" if ok else "bold red")
    if not est.verdicts:
        text.append("no limits to check\n", style="dim")
    for w in est.warnings:
        text.append(f"note: {visible(w)}\n", style="yellow")
    text.rstrip()
    return Panel(
        text,
        title=_text(f"verdict on {est.device}: {cells.overall_verdict(est)}"),
        border_style="green" if est.passed else "red",
    )


def comparison_pieces(
    result: Comparison, by: str | None = None, estimates: Sequence[DeviceEstimate] = ()
) -> list[Piece]:
    """The totals side by side, the breakdown ``by`` type or stage, and with estimates one
    row per network on the device and the panel of each that fails a limit."""
    pieces: list[Piece] = [comparison_grid(result)]
    if by:
        header, rows = cells.breakdown_table(result, by)
        keys, tables = result.breakdown(by)
        humans = [
            [human(t[k][part]) if k in t else "" for k in keys] for part in (0, 1) for t in tables
        ]
        short = together([swap(h, column) for h, column in zip(header[1:], humans, strict=True)])
        pieces.append(Grid(_left_first(header), rows, f"by {by}", narrower=[short, elide(by)]))
    if estimates:
        pieces += device_comparison_pieces(list(zip(result.reports, estimates, strict=True)))
    return pieces


def comparison_grid(result: Comparison) -> Grid:
    """The totals side by side with each ratio to the first item, to
    :data:`~convcalc.render.text.RATIO_DIGITS` significant digits (the caption says so).
    Narrower, in this order: the counts lose their human form, the ratios their
    reciprocal, the ratio columns take short headers (``2/1``: the second item over the
    first), the metrics short names, and last the counts show only their human form."""
    header, rows = cells.comparison_table(result)
    n = len(result.items)
    labels = header[1 : 1 + n]
    values = [[getattr(r.totals, key) for r in result.reports] for _, key, _ in cells.COMPARED]
    forms = [approx for _, _, approx in cells.COMPARED]

    def counts(pick: Callable[[Any], str] | None) -> Step:
        swaps = []
        for j, label in enumerate(labels):
            column = [
                (pick or forms[i])(v[j]) if num.is_concrete(v[j]) else r[1 + j]
                for i, (v, r) in enumerate(zip(values, rows, strict=False))
            ]
            column += [r[1 + j] for r in rows[len(values) :]]
            swaps.append(swap(label, column))
        return together(swaps)

    ratio_headers = header[1 + n :]
    steps = [
        counts(exact),
        together(
            [
                swap(h, [r[1 + n + k].split(" (")[0] for r in rows])
                for k, h in enumerate(ratio_headers)
            ]
        ),
        together([swap(h, [], f"{k + 2}/1") for k, h in enumerate(ratio_headers)]),
        swap("metric", [_SHORT_METRICS.get(r[0], r[0]) for r in rows]),
        counts(None),
    ]
    concrete = any(num.is_concrete(r[key]) for r in result.ratios[1:] for key in r)
    caption = None
    if concrete:
        caption = f"ratios to {RATIO_DIGITS} significant digits, exact in --format json"
    return Grid(_left_first(header), rows, "comparison", caption, narrower=steps)


#: Shorter names of the compared metrics, for a narrow console.
_SHORT_METRICS = {
    **_SHORT_TOTALS,
    "param memory": "param bytes",
    "receptive field": "RF",
}


def device_comparison_pieces(items: Sequence[tuple[Report, DeviceEstimate]]) -> list[Piece]:
    """One row per network on the device, latency relative to the first, then the verdict
    panel of each network that fails a limit."""
    rows = cells.device_comparison_rows(items)
    title = cells.device_comparison_title(items)
    pieces: list[Piece] = [Grid(_left_first(cells.DEVICE_COMPARISON_HEADER), rows, title)]
    for _, est in items:
        if not est.passed:
            pieces.append(lambda est=est: _verdict_panel(est))
    return pieces


def sweep_pieces(result: Sweep) -> list[Piece]:
    """The grid of points, thousands of rows (so a plain stdout skips rich's layout): each
    count exact with its human form beside it, only the human form on a narrow console."""
    header, rows = cells.sweep_table(result)
    keys = ("params", "macs", "flops", "peak_activation_bytes")
    forms = (human, human, human, human_bytes)
    first = len(result.names)
    texts = [[form(row[k]) for k, form in zip(keys, forms, strict=True)] for row in result.rows]
    both = [
        [*r[:first], *(f"{r[first + i]} ({t[i]})" for i in range(4)), *r[first + 4 :]]
        for r, t in zip(rows, texts, strict=True)
    ]
    short = [swap(header[first + i], [t[i] for t in texts]) for i in range(len(keys))]
    columns = [(h, "right") for h in header]
    return [Grid(columns, both, f"sweep of {result.arch}", narrower=[together(short)])]


def explanations_pieces(items: Sequence[Explanation]) -> list[Piece]:
    """One table of derivation steps per layer or block, titled with its source line."""
    pieces: list[Piece] = []
    for item in items:
        title = cells.explanation_title(item)
        if item.line:
            title += f", line {item.line}"
        pieces.append(Grid(_STEP_COLUMNS, [cells.step_cells(s) for s in item.steps], title))
    return pieces


def devices_pieces(profiles: Sequence[DeviceProfile]) -> list[Piece]:
    """One row per profile, long cells folded and rows ruled apart."""

    def build() -> RenderableType:
        from rich.table import Table

        table = Table(title="device profiles", header_style="bold", show_lines=True)
        for h in cells.DEVICE_HEADER:
            table.add_column(h, overflow="fold")
        for row in cells.devices_rows(profiles):
            table.add_row(*(_text(c) for c in row))
        return table

    return [build]


def architectures_pieces(items: Sequence[ArchInfo]) -> list[Piece]:
    """The bundled architectures with their descriptions and sources."""
    columns = [(h, "left") for h in cells.ARCHITECTURE_HEADER]
    return [Grid(columns, cells.architecture_rows(items), "bundled architectures")]


def kinds_pieces(kinds: Sequence[LayerKind]) -> list[Piece]:
    """The layer kinds, each with its arguments one a line."""
    columns = [(h, "left") for h in cells.KIND_HEADER]
    return [Grid(columns, cells.kind_rows(kinds), "layer kinds")]


# ---------------------------------------------------------------------------------------
# The format: every view laid out for stdout


def report(
    report: Report,
    depth: int | None = None,
    estimate: DeviceEstimate | None = None,
    tree: bool = False,
) -> str:
    """See :func:`report_pieces`."""
    return lay_out(report_pieces(report, depth, estimate, tree))


def report_stderr(report: Report, estimate: DeviceEstimate | None = None) -> str:
    """The analysis warnings, which the report tables have no room for, as lines for
    stderr; the device view, which ends with its verdict panel, leaves them out."""
    if estimate is not None:
        return ""
    return "".join(f"warning: {visible(w)}\n" for w in report.warnings)


def comparison(
    result: Comparison, by: str | None = None, estimates: Sequence[DeviceEstimate] = ()
) -> str:
    """See :func:`comparison_pieces`."""
    return lay_out(comparison_pieces(result, by, estimates))


def sweep(result: Sweep) -> str:
    """See :func:`sweep_pieces`."""
    return lay_out(sweep_pieces(result))


def sweep_chunks(result: Sweep) -> Iterator[str]:
    """The sweep table in one piece: its column widths depend on every row, so it cannot
    be written before the last is computed (CSV, markdown and JSON stream)."""
    yield sweep(result)


def explanations(items: Sequence[Explanation]) -> str:
    """See :func:`explanations_pieces`."""
    return lay_out(explanations_pieces(items))


def devices(profiles: Sequence[DeviceProfile]) -> str:
    """See :func:`devices_pieces`."""
    return lay_out(devices_pieces(profiles))


def architectures(items: Sequence[ArchInfo]) -> str:
    """See :func:`architectures_pieces`."""
    return lay_out(architectures_pieces(items))


def kinds(items: Sequence[LayerKind]) -> str:
    """See :func:`kinds_pieces`."""
    return lay_out(kinds_pieces(items))


def diagnostics(items: Sequence[Diagnostic], source: str) -> str:
    """Each diagnostic as a compiler-style line with its hint and reference, then a summary
    line (``net.yaml: valid, 1 warning``): lines a terminal and a CI log read alike."""
    lines = [cells.diagnostic_text(d) for d in items]
    lines.append(visible(cells.validation_summary(items, source)))
    return "\n".join(lines) + "\n"
