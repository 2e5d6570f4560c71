"""Every command prints every format it offers, and each output parses as that format.

The formats are read from the command line itself (each command's ``--format`` choices), so
a format added to :data:`convcalc.render.FORMATS` is checked here without editing this file.
"""

from __future__ import annotations

import csv
import importlib
import inspect
import io
import itertools
import json
import re
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from convcalc.cli import app
from convcalc.render import FORMATS, renderer

COMMANDS = [
    ["analyze", "mobilenet_v2", "--alpha", "0.5", "--rho", "0.714"],
    ["analyze", "resnet18", "--depth", "2"],
    ["analyze", "resnet18", "--device", "gpu-t4"],
    ["analyze", "mobilenet_v2", "--device", "mcu-stm32h743", "--depth", "1"],
    ["compare", "vgg16", "mobilenet"],
    ["compare", "mobilenet_v2", "mobilenet", "--device", "mcu-stm32h743"],
    ["compare", "resnet18", "resnet34", "--by", "stage"],
    ["sweep", "mobilenet", "--alpha", "0.5,1"],
    ["sweep", "mobilenet", "--alpha", "0.5,1", "--device", "pixel1-bigcore"],
    ["explain", "resnet18", "layer1.0.conv1", "layer2"],
    ["validate", "blocks/hdc_2_2_2"],
    ["devices"],
    ["list"],
    ["layers"],
    ["layers", "conv"],
]

# The functions every format module defines, as the table format does.
INTERFACE = (
    "report",
    "report_stderr",
    "comparison",
    "sweep",
    "explanations",
    "devices",
    "architectures",
    "kinds",
    "diagnostics",
)


def offered(command: str) -> list[str]:
    """The --format choices the command line offers for ``command``."""
    group = typer.main.get_command(app)
    (option,) = [p for p in group.commands[command].params if "--format" in p.opts]
    return list(option.type.choices)


CASES = [(argv, fmt) for argv in COMMANDS for fmt in offered(argv[0])]


def run(*argv: str) -> str:
    result = CliRunner().invoke(app, list(argv), catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    return result.stdout


def csv_tables(text: str) -> list[list[list[str]]]:
    """The tables of a CSV output: rows between blank lines, each table's first its header."""
    tables: list[list[list[str]]] = [[]]
    for row in csv.reader(io.StringIO(text)):
        if row:
            tables[-1].append(row)
        elif tables[-1]:
            tables.append([])
    return [t for t in tables if t]


_SEPARATOR = re.compile(r"\|(?:---\|)+")


def has_pipe_table(text: str) -> bool:
    """A header line of pipe-separated cells followed by its separator line."""
    return any(
        header.startswith("| ")
        and _SEPARATOR.fullmatch(rule) is not None
        and header.count(" | ") + 1 == rule.count("---")
        for header, rule in itertools.pairwise(text.splitlines())
    )


def check(fmt: str, text: str) -> None:
    """The output parses as ``fmt``."""
    assert text.strip(), "empty output"
    if fmt == "json":
        json.loads(text)
    elif fmt == "csv":
        tables = csv_tables(text)
        assert tables
        for header, *rows in tables:
            assert len(header) > 1, f"not a CSV header: {header}"
            for row in rows:
                assert len(row) == len(header), (header, row)
    elif fmt == "markdown":
        assert has_pipe_table(text), text[:500]


def test_every_command_offers_every_format() -> None:
    for argv in COMMANDS:
        assert offered(argv[0]) == list(FORMATS)


@pytest.mark.parametrize(("argv", "fmt"), CASES, ids=[" ".join(a) + " -f " + f for a, f in CASES])
def test_output_parses_as_its_format(argv: list[str], fmt: str) -> None:
    check(fmt, run(*argv, "-f", fmt))


def test_a_clean_file_in_every_format() -> None:
    outputs = {fmt: run("validate", "resnet50", "-f", fmt) for fmt in offered("validate")}
    assert outputs["table"] == "resnet50: valid\n"
    assert json.loads(outputs["json"])["valid"] is True
    (header_only,) = csv_tables(outputs["csv"])
    assert len(header_only) == 1
    assert outputs["markdown"].endswith("resnet50: valid\n")


def test_a_failing_check_keeps_its_exit_code_in_every_format(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("input: [3, 8, 8]\nlayers:\n  - {op: conv, out: 4, k: 3, stride: 0}\n")
    for fmt in offered("validate"):
        result = CliRunner().invoke(app, ["validate", str(path), "-f", fmt])
        assert result.exit_code == 1, (fmt, result.stdout)
        assert result.stdout.strip()


def test_every_format_module_has_the_whole_interface() -> None:
    reference = renderer("table")
    for fmt in FORMATS:
        module = renderer(fmt)
        for name in INTERFACE:
            fn = getattr(module, name, None)
            assert callable(fn), f"{fmt}: no {name}()"
            expected = list(inspect.signature(getattr(reference, name)).parameters)
            assert list(inspect.signature(fn).parameters) == expected, (fmt, name)


def test_format_modules_named_like_the_standard_library_shadow_nothing() -> None:
    stdlib = {name: importlib.import_module(name) for name in ("csv", "json")}
    for name, module in stdlib.items():
        ours = importlib.import_module(f"convcalc.render.{name}")
        assert ours.__name__ == f"convcalc.render.{name}"
        assert getattr(ours, name) is module  # its own `import csv` is the standard one
        assert sys.modules[name] is module
        assert "convcalc" not in (module.__file__ or "")


def test_json_sweep_streams_the_same_document() -> None:
    """Written row by row, the sweep document is the one dumped whole, in chunks."""
    import json as stdjson

    from convcalc import api
    from convcalc.render import json as render_json

    result = api.sweep("mobilenet", {"alpha": api.parse_values("0.25:1:0.05")})
    whole = stdjson.dumps(result.to_json(), indent=2) + "\n"
    chunks = list(render_json.sweep_chunks(result, size=4))
    assert "".join(chunks) == whole
    assert len(chunks) > 3  # the 16 rows came in more than one piece
    assert stdjson.loads(whole)["rows"][0]["alpha"] == 0.25
