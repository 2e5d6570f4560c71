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


@pytest.mark.skipif(not DOCS.is_dir(), reason="docs are not beside the tests")
def test_architecture_page_names_every_module_and_only_real_ones() -> None:
    import re

    import convcalc

    package = Path(convcalc.__file__).resolve().parent
    named = set(re.findall(r"`(convcalc/[\w/]+\.py)`", (DOCS / "architecture.md").read_text()))
    real = {f"convcalc/{p.relative_to(package).as_posix()}" for p in package.rglob("*.py")}
    assert named - real == set(), "docs/architecture.md names modules that do not exist"
    assert real - named == set(), "docs/architecture.md leaves modules out"


@pytest.mark.skipif(not DOCS.is_dir(), reason="docs are not beside the tests")
def test_imports_point_down_the_layers_of_architecture_page() -> None:
    """Each module imports only modules of its own row of the table or an earlier one."""
    import importlib.util
    import re

    spec = importlib.util.spec_from_file_location(
        "structure", Path(__file__).parent / "test_structure.py"
    )
    assert spec is not None and spec.loader is not None
    structure = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(structure)
    text = (DOCS / "architecture.md").read_text()
    rows = [r for r in text.splitlines() if r.startswith("| ") and "`convcalc/" in r]
    level = {}
    for index, row in enumerate(rows):
        cell = row.split("|")[2]
        for path in re.findall(r"`(convcalc/[\w/]+\.py)`", cell):
            name = path[:-3].replace("/", ".").removesuffix(".__init__")
            level[name] = index
    wrong = [
        f"{m} imports {d}"
        for m, deps in structure.import_graph().items()
        for d in deps
        if level[d] > level[m]
    ]
    assert not wrong, "imports up the layers:\n" + "\n".join(sorted(wrong))
