"""Structural sweeps (grids that change the graph): every row equals the analysis of its
point on its own, in this process, on a process pool and per structure with compiled
formulas; limits and the missing-extra message."""

from __future__ import annotations

import sys
from fractions import Fraction
from pathlib import Path

import pytest
from typer.testing import CliRunner

from convcalc import api, structural
from convcalc.cli import app
from convcalc.errors import LimitError, UsageError

# One stage whose depth (d), kernel (k) and expansion ratio (e) are params, and a width
# multiplier. By hand, at d=1, k=3, e=4, alpha=1 (no biases but the classifier's): stem
# 3*16*9 = 432, expand 16*64 = 1,024, depthwise 64*9 = 576, project 64*16 = 1,024, linear
# 16*10 + 10 = 170: 3,226 params; with k=5 the depthwise has 64*25 = 1,600: 4,250.
TINY = (Path(__file__).parent / "sweep_tiny.yaml").read_text()

METRICS = ("params", "macs", "flops", "peak_activation_bytes")
runner = CliRunner()


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY)
    return path


def _alone(path: Path, row: dict, names: list[str]) -> tuple:
    """The totals of one point analysed on its own."""
    totals = api.analyze(path, {n: row[n] for n in names}).totals
    return tuple(getattr(totals, m) for m in METRICS)


def test_hand_counted_points(tiny: Path) -> None:
    result = api.sweep(tiny, {"d": [1], "k": [3, 5]})
    assert not result.compiled and "structure by structure" in result.note
    assert [r["params"] for r in result.rows] == [3_226, 4_250]


def test_structural_sweep_equals_point_by_point(tiny: Path) -> None:
    grid = {"d": [0, 1, 3], "k": [3, 5, 7], "e": [1, 6]}
    result = api.sweep(tiny, grid)
    rows = list(result.rows)
    assert len(rows) == len(result.rows) == 18
    assert [(r["d"], r["k"], r["e"]) for r in rows][:3] == [(0, 3, 1), (0, 3, 6), (0, 5, 1)]
    for row in rows:
        assert tuple(row[m] for m in METRICS) == _alone(tiny, row, list(grid)), row
    assert result.rows[7] == rows[7] and result.rows[-1] == rows[-1]  # read out of order


def test_compiled_per_structure_equals_point_by_point(tiny: Path, monkeypatch) -> None:
    """A continuous axis (alpha) of enough points is compiled once per structure."""
    monkeypatch.setattr(structural, "COMPILE_FROM", 4)
    alphas = [Fraction(n, 8) for n in range(2, 12)]  # 0.25 to 1.375: 8-rounding steps
    result = api.sweep(tiny, {"d": [1, 2], "alpha": alphas, "k": [3, 5]})
    space = structural.Space(str(tiny), ("d", "alpha", "k"), ((1, 2), tuple(alphas), (3, 5)))
    assert space.continuous == (1,)
    rows = list(result.rows)
    assert len(rows) == 40
    for row in rows[::3]:
        assert tuple(row[m] for m in METRICS) == _alone(tiny, row, ["d", "alpha", "k"]), row
    evaluator = structural._EVALUATORS[result.rows.space]
    assert set(evaluator.compiled) == {(1, 3), (1, 5), (2, 3), (2, 5)}
    assert all(fn is not None for fn in evaluator.compiled.values())


def test_jobs_give_the_same_rows(tiny: Path) -> None:
    grid = {"d": [1, 2, 3], "k": [3, 5], "e": [2, 4, 6]}
    one = list(api.sweep(tiny, grid).rows)
    monkeypatch_slice = structural.SLICE
    try:
        structural.SLICE = 4  # several slices, so the pool really splits the grid
        two = list(api.sweep(tiny, grid, jobs=2).rows)
    finally:
        structural.SLICE = monkeypatch_slice
    assert two == one


def test_cli_jobs_output_equals_one_job(tiny: Path) -> None:
    argv = ["sweep", str(tiny), "--vary", "d=1,2", "--vary", "k=3,5,7", "-f", "csv"]
    one = runner.invoke(app, argv)
    two = runner.invoke(app, [*argv, "--jobs", "2"])
    assert one.exit_code == 0 and two.exit_code == 0, one.output + two.output
    assert two.stdout == one.stdout
    assert one.stdout.splitlines()[1] == "1,3,3226,3129504,6275402,524288"  # params by hand


def test_limits_and_bad_jobs(tiny: Path, monkeypatch) -> None:
    monkeypatch.setattr(structural, "MAX_STRUCTURAL_POINTS", 5)
    with pytest.raises(LimitError, match="structure changes"):
        api.sweep(tiny, {"d": [1, 2, 3], "k": [3, 5]})
    with pytest.raises(UsageError, match="jobs"):
        api.sweep(tiny, {"d": [1]}, jobs=0)


def test_scheduler_without_dask_says_what_to_install(tiny: Path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if it were not installed
    result = api.sweep(tiny, {"d": [1, 2]}, scheduler="tcp://127.0.0.1:1")
    with pytest.raises(UsageError, match="Dask distributed") as info:
        list(result.rows)
    assert "convcalc[dask]" in (info.value.hint or "")


def test_parsed_documents_are_kept_by_text_and_an_edit_is_seen(tiny: Path) -> None:
    from convcalc.schema import loader

    text = tiny.read_text()
    assert loader.load_yaml(text, "tiny.yaml") is loader.load_yaml(text, "tiny.yaml")
    assert api.analyze(tiny, {"d": 1}).totals.params == 3_226
    tiny.write_text(text.replace("out: 10}", "out: 20}"))  # 160 more weights and 10 biases
    assert api.analyze(tiny, {"d": 1}).totals.params == 3_226 + 170


def test_sweep_page_shows_the_tests_file_and_real_output(tiny: Path, monkeypatch) -> None:
    import re

    page = (Path(__file__).parent.parent / "docs" / "sweep.md").read_text()
    shown_yaml = page.split("```yaml\n", 1)[1].split("```", 1)[0]
    assert shown_yaml == TINY
    command, shown = re.findall(r"^\$ convcalc (.+)\n((?:(?!```).*\n)+)", page, re.M)[0]
    monkeypatch.chdir(tiny.parent)
    tiny.rename(tiny.parent / "tiny_search.yaml")
    result = runner.invoke(app, command.split())
    assert result.exit_code == 0, result.output
    assert result.stdout == shown
    assert "note: analysed structure by structure" in result.stderr


def test_a_second_sweep_sees_an_edited_file(tiny: Path, monkeypatch) -> None:
    monkeypatch.setattr(structural, "COMPILE_FROM", 2)  # compiled per structure
    grid = {"d": [1], "alpha": [Fraction(1), Fraction(3, 2)]}
    before = [r["params"] for r in api.sweep(tiny, grid).rows]
    tiny.write_text(TINY.replace("out: 10}", "out: 20}"))
    after = [r["params"] for r in api.sweep(tiny, grid).rows]
    # 10 more classes on 16 channels (alpha 1): 170 more; on make_divisible(24, 8) = 24
    # channels (alpha 3/2): 24*10 + 10 = 250 more
    assert before[0] == 3_226 and after == [before[0] + 170, before[1] + 250]


def test_progress_is_told_as_slices_arrive(tiny: Path, monkeypatch) -> None:
    monkeypatch.setattr(structural, "SLICE", 4)
    calls: list[tuple[int, int]] = []
    rows = api.sweep(tiny, {"d": [1, 2, 3], "k": [3, 5, 7]}, progress=lambda *a: calls.append(a))
    assert calls == []  # nothing is analysed before the rows are read
    assert len(list(rows.rows)) == 9
    assert calls == [(4, 9), (8, 9), (9, 9)]


def test_the_terminal_bar_moves_for_slices_of_points(monkeypatch) -> None:
    """The bar is redrawn each time another 100 points are done, however they arrive."""
    from rich.progress import Progress

    from convcalc.render import progress

    drawn: list[int] = []
    monkeypatch.setattr(
        Progress, "update", lambda self, task, completed, total: drawn.append(completed)
    )
    with progress.progress(True) as tick:
        assert tick is not None
        for done in (256, 512, 768, 1000):
            tick(done, 1000)
    assert drawn == [256, 512, 768, 1000]


def test_a_batch_scales_every_count_but_the_params(tiny: Path) -> None:
    one = list(api.sweep(tiny, {"d": [1, 2]}).rows)
    four = list(api.sweep(tiny, {"d": [1, 2]}, batch=4).rows)
    for a, b in zip(one, four, strict=True):
        assert b["params"] == a["params"]
        assert (b["macs"], b["flops"]) == (4 * a["macs"], 4 * a["flops"])


def test_a_pool_gets_slices_small_enough_to_share() -> None:
    # one process: the default slice; two processes and 243 points: ceil(243 / 4) = 61,
    # four slices, two per process; a large grid keeps the default
    assert structural.slice_size(243, 1) == structural.SLICE
    assert structural.slice_size(243, 2) == 61
    assert structural.slice_size(100_000, 8) == structural.SLICE
    assert structural.slice_size(3, 4) == 1
