"""The benchmark harness stays runnable: its synthetic networks are valid and as large as
they claim, and its growth exponent is a plain log-log slope. Nothing here is timed."""

from __future__ import annotations

import importlib.util
import math
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from convcalc import api

RUN_PY = Path(__file__).resolve().parent.parent / "benchmarks" / "run.py"


@pytest.fixture(scope="module")
def run() -> Iterator[ModuleType]:
    """benchmarks/run.py as a module (registered while loading: its dataclasses need it)."""
    spec = importlib.util.spec_from_file_location("benchmarks_run", RUN_PY)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules[spec.name]


@pytest.mark.parametrize("kind", ["CHAIN", "DAG"])
def test_synthetic_networks_have_the_layers_they_claim(
    run: ModuleType, kind: str, tmp_path: Path
) -> None:
    path = tmp_path / "net.yaml"
    path.write_text(getattr(run, kind).format(n=1000, r=100))
    report = api.analyze(path)
    assert len(report.layers) == 1000
    assert report.layers[-1].output_shape == (16, 32, 32)
    if kind == "DAG":
        assert {row.type for row in report.layers} >= {"concat", "add"}


def test_growth_exponent_is_the_log_log_slope(run: ModuleType) -> None:
    assert run.slope([(1000, 0.1), (10000, 1.0), (100000, 10.0)]) == pytest.approx(1.0)
    assert run.slope([(10, 1.0), (100, 100.0)]) == pytest.approx(2.0)
    assert math.isclose(run.slope([(1, 3.0), (8, 3.0)]), 0.0, abs_tol=1e-12)


def test_markdown_table_aligns_columns(run: ModuleType) -> None:
    text = run.md_table(["case", "s"], [["a", "0.100"], ["longer", "1.0"]], {1})
    lines = text.splitlines()
    assert len({len(line) for line in lines}) == 1
    assert lines[1] == "|--------|------:|"


def test_search_space_is_a_structural_sweep_of_243_graphs(run: ModuleType, tmp_path) -> None:
    path = tmp_path / "space.yaml"
    path.write_text(run.SPACE)
    # By hand, the defaults: 2 + 3 + 4 + 3 blocks of 3 convolutions (each with its norm and
    # act, the project without act), an add in every block but each stage's first, then the
    # stem, head, pool, flatten and classifier.
    blocks = 2 + 3 + 4 + 3
    convs = 1 + 3 * blocks + 1  # stem, blocks, head
    acts = 1 + 2 * blocks + 1
    expected = convs * 2 + acts + (blocks - 4) + 3  # conv + bn each; adds; pool, flat, fc
    assert len(api.analyze(path).layers) == expected
    argv = run.STRUCTURAL
    values = [argv[i + 1].split("=", 1)[1] for i, a in enumerate(argv) if a == "--vary"]
    assert math.prod(len(v.split(",")) for v in values) == 243
    # another point is another graph: a deeper first stage has more layers
    assert len(api.analyze(path, {"d1": 3}).layers) == expected + 3 * 2 + 2 + 1


def test_timing_scripts_are_python(run: ModuleType) -> None:
    import ast

    for source in (run.API_LOOP, run.DASK_SWEEP):
        ast.parse(source)
