"""Shared helpers: analyse a YAML snippet written in a test."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from convcalc import api
from convcalc.report import Report


@pytest.fixture
def run_yaml(tmp_path: Path):
    """Write YAML text to a file and analyse it; returns the Report."""

    def run(text: str, params: dict | None = None, dtype: str = "fp32") -> Report:
        path = tmp_path / "net.yaml"
        path.write_text(textwrap.dedent(text))
        return api.analyze(path, params, dtype=dtype)

    return run
