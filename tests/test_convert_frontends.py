"""``convcalc convert`` on every reader: each file the readers' own tests build is, once
read, written as convcalc YAML and analysed again, and must give the same layers and
totals (tests/test_convert.py does the same for the bundled networks; the ONNX reader's
tests check it on their graphs with onnx installed).

The readers' test functions are run again here with their ``api`` replaced by one whose
``analyze`` checks the round trip of every file it reads before returning its report."""

from __future__ import annotations

import importlib.util
import inspect
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

from convcalc import api
from convcalc.convert import NEST

HERE = Path(__file__).resolve().parent
DATA = HERE / "data" / "ultralytics"


def _module(name: str) -> ModuleType:
    """A test module of this folder, loaded by path (tests are not a package)."""
    spec = importlib.util.spec_from_file_location(f"convert_{name}", HERE / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_rows = _module("test_convert")._rows
READERS = [
    _module(n) for n in ("test_frontend_keras", "test_frontend_caffe", "test_frontend_ultralytics")
]


def _round_trip(arch: Any, tmp: Path, *args: Any, **kwargs: Any) -> Any:
    report = api.analyze(arch, *args, **kwargs)
    if isinstance(arch, str | Path) and Path(arch).is_file() and "free" not in kwargs:
        params = args[0] if args else kwargs.get("params")
        shape = args[1] if len(args) > 1 else kwargs.get("input_shape")
        written = tmp / f"converted{len(list(tmp.glob('converted*')))}.yaml"
        written.write_text(api.convert(api.load(arch, params, shape)))
        again = api.analyze(written, batch=kwargs.get("batch", 1))
        assert _rows(again) == _rows(report), arch
        assert [r.name for r in again.layers] == [r.name.replace(".", NEST) for r in report.layers]
        assert again.totals.params == report.totals.params
        assert again.totals.macs == report.totals.macs
    return report


def _cases(module: Any) -> list[Any]:
    """The module's tests that read files they write (those taking only tmp_path)."""
    return [
        pytest.param((module, fn), id=f"{module.__name__.removeprefix('convert_test_')}.{name}")
        for name, fn in vars(module).items()
        if name.startswith("test_") and list(inspect.signature(fn).parameters) == ["tmp_path"]
    ]


@pytest.mark.parametrize("test", [case for module in READERS for case in _cases(module)])
def test_every_file_a_reader_test_reads_converts(
    test: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module, test = test
    spare = tmp_path / "converted"
    spare.mkdir()
    proxy = SimpleNamespace(**{n: getattr(api, n) for n in api.__all__})
    proxy.analyze = lambda arch, *a, **k: _round_trip(arch, spare, *a, **k)
    monkeypatch.setattr(module, "api", proxy)
    test(tmp_path)


@pytest.mark.parametrize("path", sorted(DATA.glob("*.yaml")), ids=lambda p: p.name)
def test_every_ultralytics_test_file_converts(path: Path, tmp_path: Path) -> None:
    _round_trip(path, tmp_path)
