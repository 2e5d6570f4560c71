"""Documentation stays true: generated pages are current, every command is documented."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from convcalc.cli import app

DOCS = Path(__file__).resolve().parent.parent / "docs"


@pytest.mark.skipif(not DOCS.is_dir(), reason="docs are not beside the tests")
def test_layers_page_is_generated_from_the_registry() -> None:
    result = CliRunner().invoke(app, ["layers", "--format", "markdown"])
    assert result.exit_code == 0
    assert (DOCS / "layers.md").read_text() == result.stdout, (
        "regenerate with: convcalc layers --format markdown > docs/layers.md"
    )


@pytest.mark.skipif(not DOCS.is_dir(), reason="docs are not beside the tests")
def test_every_command_is_documented() -> None:
    text = (DOCS / "cli.md").read_text()
    for command in app.registered_commands:
        name = command.name or command.callback.__name__
        assert f"convcalc {name}" in text, name
