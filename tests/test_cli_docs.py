"""docs/cli.md shows real output: every example ``$ convcalc ...`` without a pipe, run
here, prints what the page shows below it (stdout, then stderr), byte for byte.

After an intended change of output, rewrite the examples with
``python tests/test_cli_docs.py --write`` and read the diff.
"""

from __future__ import annotations

import io
import re
import shlex
import sys
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from convcalc.cli import app
from convcalc.render import table

PAGE = Path(__file__).resolve().parent.parent / "docs" / "cli.md"


TERMINAL = re.compile(r"\s+# an? (\d+)-column terminal$")


def examples(text: str) -> list[tuple[int, list[str], list[str], int | None]]:
    """(line index, argv, shown output lines, terminal width) of each checked example in
    ``text``: a line '$ convcalc ARGS' inside a code block, ARGS without a pipe or
    redirection, and the lines up to the next '$ ' line or the end of the block. A line
    ending '# an 80-column terminal' is run as on a terminal that wide; others as on a
    pipe."""
    lines = text.splitlines()
    found = []
    inside = False
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("```"):
            inside = not inside
            i += 1
            continue
        words = line.split()
        if (
            inside
            and line.startswith("$ convcalc ")
            and not any(c in TERMINAL.sub("", line) for c in "|><`\\#")
            and not any(w.endswith((".yaml", ".yml", ".html", ".svg", ".png")) for w in words)
        ):  # files of the reader's own (narrow.yaml) and written files stay unchecked
            j = i + 1
            while j < len(lines) and not lines[j].startswith(("$ ", "```")):
                j += 1
            m = TERMINAL.search(line)
            command = line[len("$ convcalc ") : m.start() if m else None]
            width = int(m[1]) if m else None
            found.append((i, shlex.split(command), lines[i + 1 : j], width))
            i = j
            continue
        i += 1
    return found


def output(argv: list[str], width: int | None = None) -> list[str]:
    """What the command prints, on a pipe or (``width``) on a terminal that wide."""
    if width is None:
        result = CliRunner().invoke(app, argv)
    else:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(table, "plain_stdout", lambda: False)
            patch.setattr(
                table,
                "stdout_console",
                lambda: Console(file=io.StringIO(), width=width, color_system=None),
            )
            result = CliRunner().invoke(app, argv)
    return (result.stdout + result.stderr).splitlines()


@pytest.mark.skipif(not PAGE.is_file(), reason="docs are not beside the tests")
def test_the_page_has_checked_examples() -> None:
    assert len(examples(PAGE.read_text())) >= 8


CASES = examples(PAGE.read_text()) if PAGE.is_file() else []


@pytest.mark.parametrize(
    ("at", "argv", "shown", "width"), CASES, ids=[" ".join(c[1]) for c in CASES]
)
def test_example_prints_what_the_page_shows(
    at: int, argv: list[str], shown: list[str], width: int | None
) -> None:
    assert output(argv, width) == shown, f"line {at + 1}: python tests/test_cli_docs.py --write"


def write() -> None:
    """Replace each checked example's output in docs/cli.md with the real one."""
    lines = PAGE.read_text().splitlines()
    for at, argv, shown, width in reversed(examples(PAGE.read_text())):
        lines[at + 1 : at + 1 + len(shown)] = output(argv, width)
    PAGE.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    if sys.argv[1:] == ["--write"]:
        write()
