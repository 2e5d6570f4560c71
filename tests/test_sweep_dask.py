"""A structural sweep on a Dask cluster equals the local one: a cluster of two worker
processes is started here (skipped without the ``convcalc[dask]`` extra)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from convcalc import api, structural
from convcalc.cli import app

distributed = pytest.importorskip("distributed")

# One stage whose depth, kernel and expansion are params (its hand-counted totals are
# checked in tests/test_sweep_structural.py).
TINY = (Path(__file__).parent / "sweep_tiny.yaml").read_text()


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as c:
        yield c


def test_cluster_rows_equal_local_rows(cluster, tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY)
    grid = {"d": [1, 2, 3], "k": [3, 5, 7], "e": [2, 4]}
    local = list(api.sweep(path, grid).rows)
    monkeypatch.setattr(structural, "SLICE", 4)  # 5 slices over the 2 workers
    remote = api.sweep(path, grid, scheduler=cluster.scheduler_address)
    assert list(remote.rows) == local
    with distributed.Client(cluster) as client:
        # each worker analysed some of the slices
        assert len(client.nthreads()) == 2


def test_cli_scheduler_output_equals_local(cluster, tmp_path: Path) -> None:
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY)
    argv = ["sweep", str(path), "--vary", "d=1,2", "--vary", "k=3,5", "-f", "csv"]
    runner = CliRunner()
    local = runner.invoke(app, argv)
    remote = runner.invoke(app, [*argv, "--scheduler", cluster.scheduler_address])
    assert local.exit_code == 0 and remote.exit_code == 0, local.output + remote.output
    assert remote.stdout == local.stdout


def test_unreachable_scheduler_is_one_message(tmp_path: Path, monkeypatch) -> None:
    from convcalc import distributed as backend

    monkeypatch.setattr(backend, "CONNECT_TIMEOUT", 1)
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY)
    result = CliRunner().invoke(
        app, ["sweep", str(path), "--vary", "d=1,2", "--scheduler", "tcp://127.0.0.1:9"]
    )
    assert result.exit_code != 0
    assert "cannot reach the Dask scheduler" in result.output
