"""Start-up cost: --help and concrete runs never import sympy (checked in fresh processes)."""

from __future__ import annotations

import subprocess
import sys


def modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys; print('\\n'.join(sys.modules))"],
        capture_output=True,
        text=True,
        check=True,
    )
    return set(out.stdout.split())


def test_importing_the_cli_is_light() -> None:
    loaded = modules_after("import convcalc.cli")
    assert "sympy" not in loaded
    assert "rich.table" not in loaded
    assert "yaml" not in loaded


def test_help_imports_no_sympy() -> None:
    loaded = modules_after(
        "from typer.testing import CliRunner\n"
        "from convcalc.cli import app\n"
        "r = CliRunner().invoke(app, ['--help'])\n"
        "assert r.exit_code == 0\n"
    )
    assert "sympy" not in loaded


def test_concrete_analysis_imports_no_sympy() -> None:
    loaded = modules_after(
        "from convcalc import api\n"
        "r = api.analyze('mobilenet_v2', {'alpha': '0.5', 'rho': '0.714'})\n"
        "assert r.totals.params > 0\n"
    )
    assert "sympy" not in loaded
