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


def modules_after_cli(*args: str) -> set[str]:
    """The modules a whole ``convcalc ARGS`` process loads, its stdout a pipe."""
    code = (
        "import sys\n"
        f"sys.argv = ['convcalc', *{list(args)!r}]\n"
        "from convcalc.cli import main\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as e:\n"
        "    assert not e.code, e.code\n"
        "sys.stderr.write('\\n'.join(sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout
    return set(out.stderr.split())


def test_cli_help_process_imports_no_sympy_rich_or_yaml() -> None:
    loaded = modules_after_cli("--help")
    assert not {"sympy", "rich", "yaml"} & loaded


def test_cli_concrete_analysis_process_imports_no_sympy() -> None:
    for args in (
        ("analyze", "resnet50"),
        ("analyze", "mobilenet_v2", "--alpha", "0.5", "--rho", "0.714", "-f", "json"),
        ("analyze", "densenet201", "--depth", "2"),
    ):
        loaded = modules_after_cli(*args)
        assert "sympy" not in loaded, args
        if "-f" not in args:  # a plain table to a pipe needs no rich either
            assert "rich" not in loaded
