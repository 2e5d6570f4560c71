"""The direct writer of plain tables prints exactly what rich prints, or defers to rich."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from rich.console import Console

from convcalc import api
from convcalc.layers import ordered
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


def specs(pieces: Sequence[table.Piece]) -> list[tuple[Any, ...]]:
    return [
        (p.columns, p.rows, p.title, p.caption, p.show_header)
        for p in pieces
        if isinstance(p, table.Grid)
    ]


def tables(name: str, depth: int | None) -> list[tuple[Any, ...]]:
    return specs(table.report_pieces(api.analyze(name), depth))


def shown(pieces: Sequence[table.Piece], width: int = 200) -> str:
    console = plain_console(width)
    table.show(console, pieces)
    return console.file.getvalue()  # type: ignore[attr-defined]


def laid_out(
    monkeypatch: pytest.MonkeyPatch, pieces: Sequence[table.Piece], plain: bool, width: int = 200
) -> str:
    """What the command line writes on a pipe: directly (``plain``), or all through rich."""
    monkeypatch.setattr(table, "plain_stdout", lambda: plain)
    monkeypatch.setattr(table, "stdout_console", lambda: plain_console(width))
    monkeypatch.setattr(table, "PIPED_WIDTH", width)
    return table.lay_out(pieces)


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


def test_markup_and_odd_text_go_through_rich() -> None:
    columns, rows, title, caption, _ = tables("vgg16", None)[0]
    for odd in ("[bold]x[/bold]", "a:smile:b", "café", "two\nlines", "padded "):
        changed = [[odd, *rows[0][1:]], *rows[1:]]
        assert table.plain_table(200, columns, changed, title, caption) is None


def test_indented_text_same_characters_as_rich() -> None:
    columns, rows, title, caption, _ = tables("vgg16", None)[0]
    for show_header in (True, False):
        for indented in ("  conv1", "      x"):  # layers left-justified, params right
            spec = (
                columns,
                [[indented, *r[1:4], "  " + r[4], *r[5:]] for r in rows],
                title,
                caption,
            )
            fast = table.plain_table(200, *spec, show_header)
            assert fast is not None
            assert fast == rich_output(200, *spec, show_header)


@pytest.mark.parametrize("name", ["resnet50", "inception_v3"])
def test_tree_same_characters_as_rich(name: str) -> None:
    pieces = table.report_pieces(api.analyze(name), tree=True)
    for spec in specs(pieces):
        fast = table.plain_table(200, *spec)
        assert fast is not None, f"{name}: the tree should take the direct path"
        assert fast == rich_output(200, *spec)


def test_only_a_plain_utf8_pipe_is_plain(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.delenv("TTY_COMPATIBLE", raising=False)
    monkeypatch.setattr("sys.stdout", io.TextIOWrapper(io.BytesIO(), encoding="utf-8"))
    assert table.plain_stdout()
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert not table.plain_stdout()
    monkeypatch.delenv("FORCE_COLOR")
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    assert not table.plain_stdout()
    monkeypatch.delenv("TTY_COMPATIBLE")
    monkeypatch.setattr("sys.stdout", io.TextIOWrapper(io.BytesIO(), encoding="latin-1"))
    assert not table.plain_stdout()


def test_report_on_a_pipe_is_what_rich_prints(monkeypatch: pytest.MonkeyPatch) -> None:
    pieces = table.report_pieces(api.analyze("resnet50"))
    expected = "".join(
        p + "\n" if isinstance(p, str) else rich_output(200, *specs([p])[0])
        for p in pieces
        if isinstance(p, str | table.Grid)
    )
    assert shown(pieces) == expected
    assert laid_out(monkeypatch, pieces, plain=True) == expected
    assert laid_out(monkeypatch, pieces, plain=False) == expected


def test_too_wide_for_the_pipe_goes_through_rich(monkeypatch: pytest.MonkeyPatch) -> None:
    pieces = table.report_pieces(api.analyze("resnet50"))
    assert pieces[0].plain(60) is None  # type: ignore[union-attr]
    assert laid_out(monkeypatch, pieces, plain=True, width=60) == shown(pieces, 60)


def test_sweep_table_same_characters_as_rich(monkeypatch: pytest.MonkeyPatch) -> None:
    result = api.sweep("mobilenet_v2", {"alpha": ["0.5", "1"], "rho": ["0.714", "1"]})
    pieces = table.sweep_pieces(result)
    (spec,) = specs(pieces)
    expected = rich_output(200, *spec)
    assert table.plain_table(200, *spec) == expected
    assert laid_out(monkeypatch, pieces, plain=True) == expected


def _device_report() -> list[table.Piece]:
    report = api.analyze("mobilenet_v2")
    return table.report_pieces(report, 2, api.estimate(report, "mcu-stm32h743"))


def _device_comparison() -> list[table.Piece]:
    pair = api.compare(["resnet18", "resnet34"])
    estimates = [api.estimate(r, "cortex-a76-sd855") for r in pair.reports]
    return table.comparison_pieces(pair, "stage", estimates)


VIEWS: dict[str, Callable[[], list[table.Piece]]] = {
    "report --device": _device_report,
    "compare --by --device": _device_comparison,
    "explain": lambda: table.explanations_pieces(
        api.explain("resnet18", ["layer1.0.conv1", "layer2"], {})
    ),
    "list": lambda: table.architectures_pieces(api.list_architectures()),
    "layers": lambda: table.kinds_pieces(ordered()),
}


@pytest.mark.parametrize("view", list(VIEWS))
def test_every_view_on_a_pipe_is_what_rich_prints(
    monkeypatch: pytest.MonkeyPatch, view: str
) -> None:
    pieces = VIEWS[view]()
    expected = shown(pieces)
    assert laid_out(monkeypatch, pieces, plain=True) == expected
    assert laid_out(monkeypatch, pieces, plain=False) == expected
