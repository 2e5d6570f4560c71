"""The direct writer of plain tables prints exactly what rich prints, or defers to rich."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import pytest
from rich.console import Console

from convcalc import api
from convcalc.render import table

NETWORKS = [
    "resnet50",
    "mobilenet_v2",
    "vgg16",
    "densenet201",
    "inception_v3",
    "shufflenet_v2",
    "efficientnet_b0",
    "blocks/conv_standard",
]


def plain_console(width: int = 200) -> Console:
    """What the command line builds when stdout is a pipe or a file."""
    return Console(file=io.StringIO(), width=width)


def rich_output(
    width: int,
    columns: Sequence[tuple[str, str]],
    rows: Sequence[Sequence[str]],
    title: str | None,
    caption: str | None,
    show_header: bool,
) -> str:
    console = plain_console(width)
    console.print(table.rich_table(columns, rows, title, caption, show_header))
    return console.file.getvalue()  # type: ignore[attr-defined]


def tables(name: str, depth: int | None) -> list[tuple[Any, ...]]:
    title, caption, rows, totals = table.report_tables(api.analyze(name), depth)
    return [
        (table._REPORT_COLUMNS, rows, title, caption, True),
        (table._TOTALS_COLUMNS, totals, "totals", None, False),
    ]


@pytest.mark.parametrize("depth", [None, 2])
@pytest.mark.parametrize("name", NETWORKS)
def test_same_characters_as_rich(name: str, depth: int | None) -> None:
    for spec in tables(name, depth):
        fast = table.plain_table(200, *spec)
        assert fast is not None, f"{name}: the per-layer table should take the direct path"
        assert fast == rich_output(200, *spec)


@pytest.mark.parametrize("width", [60, 100, 118, 119, 120, 150])
def test_narrow_consoles_defer_to_rich_or_agree(width: int) -> None:
    for spec in tables("resnet50", None):
        fast = table.plain_table(width, *spec)
        if fast is not None:
            assert fast == rich_output(width, *spec)
    wide = tables("resnet50", None)[0]
    assert table.plain_table(60, *wide) is None


def test_terminals_and_markup_go_through_rich() -> None:
    spec = tables("vgg16", None)[0]
    styled = Console(file=io.StringIO(), width=200, force_terminal=True, color_system="standard")
    assert not table.plain_console(styled)
    assert table.plain_console(plain_console())
    columns, rows, title, caption, _ = spec
    for odd in ("[bold]x[/bold]", "a:smile:b", "café", "two\nlines", " padded"):
        changed = [[odd, *rows[0][1:]], *rows[1:]]
        assert table.plain_table(200, columns, changed, title, caption) is None


def test_print_report_and_the_rich_free_writer_agree_with_rich() -> None:
    report = api.analyze("resnet50")
    console = plain_console()
    table.print_report(console, report)
    title, caption, rows, totals = table.report_tables(report)
    expected = rich_output(200, table._REPORT_COLUMNS, rows, title, caption, True)
    expected += rich_output(200, table._TOTALS_COLUMNS, totals, "totals", None, False)
    assert console.file.getvalue() == expected  # type: ignore[attr-defined]
    out = io.StringIO()
    assert table.write_plain_tables(out, table.report_tables(report), 200)
    assert out.getvalue() == expected


def test_write_plain_tables_declines_what_needs_rich() -> None:
    out = io.StringIO()
    assert not table.write_plain_tables(out, table.report_tables(api.analyze("resnet50")), 60)
    assert out.getvalue() == ""


def test_sweep_table_same_characters_as_rich() -> None:
    from convcalc.render import study

    result = api.sweep("mobilenet_v2", {"alpha": ["0.5", "1"], "rho": ["0.714", "1"]})
    console = plain_console()
    study.print_sweep(console, result)
    header, rows = study._sweep_rows(result)
    columns = [(h, "right") for h in header]
    expected = rich_output(200, columns, rows, "sweep of mobilenet_v2", None, True)
    assert table.plain_table(200, columns, rows, "sweep of mobilenet_v2") == expected
    assert console.file.getvalue() == expected  # type: ignore[attr-defined]
