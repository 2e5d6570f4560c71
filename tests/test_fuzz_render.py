"""Fuzzing the renderers: arbitrary Unicode and control characters in every free-text field.

Organised like ``tests/test_fuzz.py``: hypothesis generates the input, a few hundred
examples in the normal suite (``CONVCALC_FUZZ_EXAMPLES`` runs more), and a failure is any
exception or any output that breaks the format's promise. Real results (a report of a small
network, a comparison, a device estimate, the bundled list, a profile, diagnostics and
explanations) get hostile text in every field a file or an option can fill: names, types,
summaries, architecture names, sources, descriptions, warnings, compare labels, device
titles and sources, diagnostic messages, hints and references, explanation titles. Each is
rendered in every format, on a plain pipe and through rich as a terminal draws it, and:

- the table format, stderr and markdown hold no character that acts on a terminal (the only
  escape sequences on a terminal are convcalc's own colours), and no rich markup was eaten;
- every markdown table row has as many cells as its header, with no HTML;
- every CSV table parses, every row as wide as its header, and no cell starts a formula;
- the JSON parses back to the same text.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from dataclasses import replace
from typing import Any

import hypothesis.strategies as st
from hypothesis import HealthCheck, given, settings

from convcalc import api
from convcalc.compare import Item
from convcalc.devices import list_profiles
from convcalc.diagnostics import Diagnostic
from convcalc.explain import Explanation, Step
from convcalc.render import renderer
from convcalc.render import table as table_format

EXAMPLES = int(os.environ.get("CONVCALC_FUZZ_EXAMPLES", "200"))
SETTINGS = settings(
    max_examples=max(EXAMPLES // 8, 10),  # each example renders a dozen views
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)

# Any character at all, with the dangerous ones drawn often.
DANGEROUS = "\x00\x07\x08\t\n\r\x1b\x7f\x85\x9b\u061c\u200e\u202a\u202e\u2066\u2069\ufeff"
TEXT = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8"),
        st.sampled_from(DANGEROUS),
        st.sampled_from("[]/\\|<>&!=+-@:`*_#"),
    ),
    max_size=40,
) | st.sampled_from(
    [
        "\x1b]52;c;aGk=\x07",
        "\x1b]8;;http://e/\x1b\\x\x1b]8;;\x1b\\",
        "[link=http://e/]x[/link]",
        "[/]",
        "=HYPERLINK(1)",
        "-1+1",
        "<img src=x>",
        "a|b\\|c",
    ]
)

_SGR = re.compile(r"\x1b\[[0-9;]*m")
_ACTING = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]"
)

_BASE = api.analyze("lenet5")
_DEVICE = api.estimate(_BASE, "pixel1-bigcore")
_PROFILE = next(p for p in list_profiles() if p.name == "pixel1-bigcore")


def _report(texts: list[str]) -> Any:
    layers = [
        replace(row, name=texts[(3 * i) % len(texts)], type=texts[(3 * i + 1) % len(texts)],
                summary=texts[(3 * i + 2) % len(texts)])
        for i, row in enumerate(_BASE.layers)
    ]  # fmt: skip
    return replace(
        _BASE,
        architecture=texts[0],
        source=texts[-1],
        layers=layers,
        citation=texts[1 % len(texts)],
        description=texts[2 % len(texts)],
        warnings=list(texts),
        totals=replace(_BASE.totals, peak_layer=texts[-1]),
    )


def _check_terminal(text: str) -> None:
    shown = _SGR.sub("", text)
    assert "\x1b" not in shown, repr(text)
    assert not _ACTING.search(shown.replace("\n", "")), repr(text)


def _check_markdown(text: str) -> None:
    assert not _ACTING.search(text.replace("\n", "")), repr(text)
    assert not re.search(r"<(?!br>)[A-Za-z/!?]", text), text
    widths = []
    for line in text.splitlines():
        if line.startswith("|"):
            widths.append(len(re.findall(r"(?<!\\)\|", re.sub(r"\\\\", "", line))))
        elif widths:
            assert len(set(widths)) == 1, text
            widths = []
    assert len(set(widths)) <= 1, text


def _check_csv(text: str) -> None:
    for part in text.split("\n\n"):
        rows = list(csv.reader(io.StringIO(part)))
        rows = [r for r in rows if r]
        assert len({len(r) for r in rows}) <= 1, part
        for cell in (c for r in rows for c in r):
            assert not _ACTING.search(cell.replace("\n", "")), repr(cell)
            if cell[:1] in ("=", "+", "-", "@"):
                assert re.fullmatch(r"[+-]?\d+(\.\d*)?([eE][+-]?\d+)?(/\d+)?", cell), cell


def _rich(pieces: list[Any]) -> str:
    """The pieces as rich draws them on a colour terminal."""
    from rich.console import Console

    console = Console(file=io.StringIO(), force_terminal=True, color_system="truecolor", width=160)
    table_format.show(console, pieces)
    return console.file.getvalue()  # type: ignore[attr-defined]


def _all_formats(render: Any) -> None:
    for fmt in ("table", "markdown", "csv", "json"):
        out = render(renderer(fmt))
        if fmt == "table":
            _check_terminal(out)
        elif fmt == "markdown":
            _check_markdown(out)
        elif fmt == "csv":
            _check_csv(out)
        else:
            json.loads(out)


@SETTINGS
@given(texts=st.lists(TEXT, min_size=1, max_size=8))
def test_reports_render_safely_in_every_format(texts: list[str]) -> None:
    report = _report(texts)
    _all_formats(lambda r: r.report(report))
    _all_formats(lambda r: r.report(report, 1, _DEVICE))
    _check_terminal(renderer("table").report_stderr(report))
    _check_terminal(_rich(table_format.report_pieces(report)))
    _check_terminal(_rich(table_format.report_pieces(report, None, _DEVICE)))
    # the text is still there to read, as JSON shows it
    assert json.loads(renderer("json").report(report))["architecture"] == texts[0]


@SETTINGS
@given(labels=st.lists(TEXT, min_size=2, max_size=3), texts=st.lists(TEXT, min_size=1))
def test_comparisons_render_safely(labels: list[str], texts: list[str]) -> None:
    reports = [_report([label, *texts]) for label in labels]
    items = [Item(label, "x", {}) for label in labels]
    result = api.compare(["lenet5"] * len(labels))
    result = replace(result, items=items, reports=reports)
    _all_formats(lambda r: r.comparison(result, "type"))
    _all_formats(lambda r: r.comparison(result, None, [_DEVICE] * len(labels)))
    _check_terminal(_rich(table_format.comparison_pieces(result, "type")))


@SETTINGS
@given(texts=st.lists(TEXT, min_size=4, max_size=6))
def test_profiles_diagnostics_explanations_and_lists_render_safely(texts: list[str]) -> None:
    profile = replace(
        _PROFILE,
        title=texts[0],
        source=texts[1],
        sources={k: texts[2] for k in _PROFILE.sources} or {"peak_flops.fp32": texts[2]},
    )
    _all_formats(lambda r: r.devices([profile]))
    _check_terminal(_rich(table_format.devices_pieces([profile])))
    diagnostics = [
        Diagnostic("spec", "error", texts[0], 3, texts[1], texts[2], texts[3], texts[-1]),
        Diagnostic("rule", "warning", None, None, None, texts[1], None, None),
    ]
    _all_formats(lambda r: r.diagnostics(diagnostics, texts[0]))
    steps = [Step(texts[0], texts[1], texts[2], 12), Step("MACs", texts[3], texts[-1], 7)]
    explanations = [Explanation(texts[0], texts[1], texts[2], 4, steps)]
    _all_formats(lambda r: r.explanations(explanations))
    archs = [api.ArchInfo(texts[0], texts[1], texts[2])]
    _all_formats(lambda r: r.architectures(archs))
    _check_terminal(_rich(table_format.architectures_pieces(archs)))
