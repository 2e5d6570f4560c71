"""The Ultralytics model YAML reader (convcalc/frontends/ultralytics/) on small files
written for these tests (tests/data/ultralytics/, and inline ones).

Where the expected numbers come from:

- "measured": ultralytics 8.4.190 built each file (``DetectionModel(dict)`` and the
  Segment/Pose/OBB/Classification models, with the scale set as parse_model reads it) in a
  throwaway environment: params are ``sum(p.numel() for p in model.parameters())``; the
  ultralytics FLOPs are ``2 x thop.profile(...)`` with ultralytics-thop 2.0.0 at 640 x 640,
  the procedure that printed the summary comments of Ultralytics' own model YAMLs (which
  docs/import.md checks against every file of the wheel). Both sizes, a 32 x 32 proxy
  times 400 and the full 640 x 640 image, gave the same count for every detection file.
- "by hand": the arithmetic is written beside the value.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from convcalc import api
from convcalc.cli import app
from convcalc.errors import ConvcalcError, ShapeError, UsageError
from convcalc.frontends.ultralytics import counting, make_divisible

DATA = Path(__file__).parent / "data" / "ultralytics"

# file, scale, params, ultralytics FLOPs at 640 (2 x thop's operations): all measured.
MEASURED = [
    ("mini-v8.yaml", "n", 192_414, 1_780_838_400),
    ("mini-v8.yaml", "s", 591_078, 4_882_432_000),
    ("mini-11.yaml", "n", 472_770, 3_481_190_400),
    ("mini-11.yaml", "m", 848_186, 8_278_016_000),  # m: C3k2 takes C3k blocks
    ("mini-12.yaml", "n", 820_792, 7_670_784_000),
    ("mini-12.yaml", "l", 931_064, 8_577_024_000),  # l: A2C2f residual, mlp_ratio 1.2
    ("mini-v10.yaml", "s", 677_304, 4_992_614_400),
    ("mini-v9.yaml", "", 1_011_430, 19_895_705_600),
    ("mini-v5.yaml", "", 1_343_278, 10_144_512_000),
    ("mini-tr.yaml", "n", 1_141_348, 2_631_731_200),  # C3TR: thop 2.0.0 counts its q, k, v
    # and feed-forward nn.Linear maps, not nn.MultiheadAttention (no rule for it)
    ("mini-seg.yaml", "n", 570_372, 5_053_030_400),
    ("mini-pose.yaml", "n", 508_704, 3_719_731_200),
    ("mini-obb.yaml", "n", 509_008, 3_722_291_200),
    # Classify: the 32 x 32 proxy (1,763,532,800) counts the layers after the global
    # pool 400 times; at 640 x 640 directly thop gives 1,752,296,960.
    ("mini-cls.yaml", "n", 284_250, 1_763_532_800),
]


@pytest.mark.parametrize(("name", "scale", "params", "flops"), MEASURED)
def test_params_and_ultralytics_flops_equal_ultralytics(
    name: str, scale: str, params: int, flops: int
) -> None:
    report = api.analyze(DATA / name, {"scale": scale} if scale else None)
    assert report.totals.params == params
    assert counting.ultralytics(report).totals.flops == flops


def test_the_scale_comes_from_the_file_name(tmp_path: Path) -> None:
    # yolo0s-mini.yaml is mini-v8.yaml under a name with scale s: parse_model's
    # guess_model_scale reads the letter after the version.
    copy = tmp_path / "yolo0s-mini.yaml"
    shutil.copyfile(DATA / "mini-v8.yaml", copy)
    assert api.analyze(copy).totals.params == 591_078  # measured, scale s
    # Without a letter in the name the first scale is used (n), as parse_model does.
    assert api.analyze(DATA / "mini-v8.yaml").totals.params == 192_414


def _write(tmp_path: Path, text: str, name: str = "model.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_c2f_and_a_detect_head_by_hand(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "nc: 2\n"
        "backbone:\n"
        "  - [-1, 1, Conv, [16, 3, 2]]\n"
        "  - [-1, 1, C2f, [16]]\n"
        "head:\n"
        "  - [[1], 1, Detect, [nc]]\n",
    )
    report = api.analyze(path, input_shape=(3, 64, 64))
    # Conv 3->16 3x3 no bias + BN: 3*16*9 + 2*16 = 464.
    # C2f(16, 16), c = 8: cv1 16->16 1x1: 256 + 32 = 288; one Bottleneck(8, 8, e=1):
    # two 8->8 3x3 Convs, 576 + 16 each = 1184; cv2 (2+1)*8=24->16: 384 + 32 = 416.
    # Detect, one level of 16 channels: c2 = max(16, 16 // 4, 4 * 16) = 64, c3 =
    # max(16, min(2, 100)) = 16; boxes: 16->64 3x3 (9216 + 128), 64->64 3x3
    # (36864 + 128), 64->64 1x1 with bias (4096 + 64) = 50496; classes: two 16->16 3x3
    # Convs (2304 + 32 each) and 16->2 1x1 with bias (32 + 2) = 4706; DFL's 16 weights.
    assert report.totals.params == 464 + 288 + 1184 + 416 + 50496 + 4706 + 16


def test_repeats_round_half_to_even_and_channels_round_up_to_eights(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "nc: 1\n"
        "scales:\n"
        "  t: [0.25, 0.25, 256]\n"
        "backbone:\n"
        "  - [-1, 1, Conv, [36, 3, 2]]\n"  # 36 * 0.25 = 9 -> 16
        "  - [-1, 10, C2f, [64]]\n"  # round(2.5) = 2 (half to even)
        "  - [-1, 6, C2f, [64]]\n"  # round(1.5) = 2
        "  - [-1, 2, C2f, [2048]]\n"  # round(0.5) = 0 -> 1; min(2048, 256) * 0.25 = 64
        "head:\n"
        "  - [[3], 1, Detect, [nc]]\n",
    )
    report = api.analyze(path, input_shape=(3, 64, 64))
    names = {row.name for row in report.layers}
    assert report.layer("model.0.conv").output_shape[0] == 16
    assert {"model.1.m.1.cv1.conv", "model.2.m.1.cv1.conv"} <= names
    assert not {"model.1.m.2.cv1.conv", "model.2.m.2.cv1.conv", "model.3.m.1.cv1.conv"} & names
    assert report.layer("model.3.cv2.conv").output_shape[0] == 64
    assert make_divisible(9.0) == 16 and make_divisible(16.0) == 16 and make_divisible(0.5) == 8


def test_each_level_of_the_head_has_its_receptive_field() -> None:
    report = api.analyze(DATA / "mini-v8.yaml")
    # Level 0 reads row 9 (stride 8: three stride-2 Convs), level 1 row 6 (stride 16).
    p3 = report.layer("model.10.cv2.0.0.conv").rf
    p4 = report.layer("model.10.cv2.1.0.conv").rf
    assert p3 is not None and p4 is not None
    assert p3.jump == (8, 8) and p4.jump == (16, 16)


def test_nc_is_settable() -> None:
    # mini-obb with nc 8 instead of 7: one class more in each class branch's last 1x1
    # conv (with bias), which is c3 = max(ch[0], min(nc, 100)) = max(64, 8) = 64 wide
    # (row 2 has 256 * 0.25 = 64 channels): 64 + 1 params per level, two levels: 130.
    base = api.analyze(DATA / "mini-obb.yaml").totals.params
    assert api.analyze(DATA / "mini-obb.yaml", {"nc": 8}).totals.params == base + 130


def _error(tmp_path: Path, text: str, params: dict | None = None) -> ConvcalcError:
    with pytest.raises(ConvcalcError) as info:
        api.analyze(_write(tmp_path, text), params)
    return info.value


_HEAD = "nc: 1\nbackbone:\n  - [-1, 1, Conv, [16, 3, 2]]\nhead:\n"


def test_an_unknown_module_names_the_file_line_and_row(tmp_path: Path) -> None:
    e = _error(tmp_path, _HEAD + "  - [-1, 1, Mystery, [16]]\n")
    assert e.file and e.file.endswith("model.yaml") and e.line == 5
    assert "row 1" in e.message and "'Mystery' is not supported" in e.message


def test_a_malformed_row_names_its_line(tmp_path: Path) -> None:
    e = _error(tmp_path, _HEAD + "  - [-1, 1, Conv]\n")
    assert e.line == 5 and "[from, repeats, module, args]" in e.message


def test_a_from_index_that_is_not_an_earlier_row(tmp_path: Path) -> None:
    e = _error(tmp_path, _HEAD + "  - [[-1, 7], 1, Concat, [1]]\n")
    assert e.line == 5 and "index 7" in e.message


def test_a_shape_error_names_the_layer(tmp_path: Path) -> None:
    e = _error(
        tmp_path,
        _HEAD + "  - [-1, 1, Conv, [16, 3, 2]]\n  - [[-1, 0], 1, Concat, [1]]\n",
    )
    assert isinstance(e, ShapeError)
    assert e.line == 6 and e.layer == "model.2" and "row 2 (Concat)" in e.message


def test_a_bad_scale(tmp_path: Path) -> None:
    text = "scales:\n  n: [0.33, 0.25, 1024]\n" + _HEAD.replace("nc: 1\n", "")
    text += "  - [[0], 1, Detect, [1]]\n"
    e = _error(tmp_path, text, {"scale": "q"})
    assert e.line == 1 and "scale 'q' is not one of this file's scales (n)" in e.message


def test_free_parameters_are_refused() -> None:
    with pytest.raises(UsageError):
        api.analyze(DATA / "mini-v8.yaml", free=["nc"])


def test_the_command_line(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "analyze",
            str(DATA / "mini-v8.yaml"),
            "--set",
            "scale=s",
            "--convention",
            "ultralytics",
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    assert '"params": 591078' in result.stdout
    # 4,882,432,000 FLOPs (measured above) to one decimal of a billion.
    assert "ultralytics: 4.9 GFLOPs" in result.stderr
    bad = runner.invoke(app, ["analyze", str(_write(tmp_path, _HEAD + "  - [-1, 1, X, []]\n"))])
    assert bad.exit_code == 1
    assert bad.stderr.startswith("error: ") and "row 1 (X): module 'X' is not supported" in (
        bad.stderr
    )


@pytest.mark.parametrize("name", ["mini-11.yaml", "mini-v9.yaml", "mini-seg.yaml"])
def test_convert_writes_yaml_that_analyses_identically(name: str, tmp_path: Path) -> None:
    source = api.analyze(DATA / name)
    path = tmp_path / "converted.yaml"
    path.write_text(api.convert(api.load(DATA / name)), encoding="utf-8")
    again = api.analyze(path)
    # Names are written with '__' for the dots of nested names (docs/import.md, convert).
    assert again.totals.peak_layer == source.totals.peak_layer.replace(".", "__")
    again.totals.peak_layer = source.totals.peak_layer
    assert again.totals == source.totals
    assert [r.flops for r in again.layers] == [r.flops for r in source.layers]
