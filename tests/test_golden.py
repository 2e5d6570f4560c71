"""Byte-identical output of every golden command line (tests/golden/cases.py says how the
set was made and when it may be regenerated)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location(
    "golden_cases", Path(__file__).parent / "golden" / "cases.py"
)
assert _spec is not None and _spec.loader is not None
golden = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(golden)

CASES = golden.cases()


def test_every_case_has_an_output() -> None:
    kept = {p.name for p in golden.OUT.glob("*.txt")}
    assert kept == {golden.key(argv) for argv in CASES}


@pytest.mark.parametrize("argv", CASES, ids=[" ".join(a) for a in CASES])
def test_output_is_unchanged(argv: list[str]) -> None:
    expected = (golden.OUT / golden.key(argv)).read_text(encoding="utf-8")
    assert golden.run(argv) == expected
