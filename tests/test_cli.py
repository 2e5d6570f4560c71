"""The command line: output formats, exit codes and one-line errors without tracebacks."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from convcalc.cli import app
from convcalc.errors import ExitCode

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args))


def test_help_on_every_command() -> None:
    result = invoke("--help")
    assert result.exit_code == 0
    commands = [c.name or c.callback.__name__ for c in app.registered_commands]
    for name in commands:
        sub = invoke(name, "--help")
        assert sub.exit_code == 0, name
        assert len(sub.stdout.strip().splitlines()) > 3, name
    assert "multiply-accumulates" in result.stdout  # the conventions are in --help


def test_analyze_json_totals_are_exact_integers() -> None:
    result = invoke("analyze", "mobilenet_v2", "--alpha", "0.5", "--rho", "0.714", "-f", "json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["schema"] == "convcalc.analysis/1"
    # round(224 * 0.714) = round(159.936) = 160.
    assert doc["input"] == [3, 160, 160]
    assert doc["bindings"]["alpha"] == 0.5
    for key in (
        "params",
        "macs",
        "flops",
        "param_bytes",
        "activation_bytes",
        "peak_activation_bytes",
    ):
        assert isinstance(doc["totals"][key], int), key
    assert doc["totals"]["param_bytes"] == 4 * doc["totals"]["params"]  # fp32
    first = doc["layers"][0]
    assert set(first) >= {
        "name",
        "type",
        "inputs",
        "output_shape",
        "params",
        "macs",
        "flops",
        "activation_bytes",
        "traffic_bytes",
        "rf",
    }
    assert set(first["rf"]) == {"size", "jump", "start"}


def test_analyze_table_csv_markdown_and_depth() -> None:
    table = invoke("analyze", "mobilenet_v2", "--alpha", "0.5", "--rho", "0.714")
    assert table.exit_code == 0
    assert "stem.conv" in table.stdout and "totals" in table.stdout
    csv_out = invoke("analyze", "vgg16", "-f", "csv")
    lines = csv_out.stdout.strip().splitlines()
    assert lines[0].startswith("name,type,output_shape,params,macs")
    folded = invoke("analyze", "vgg16", "-f", "csv", "--depth", "1")
    names = [line.split(",")[0] for line in folded.stdout.strip().splitlines()[1:]]
    assert names[:5] == ["block1", "block2", "block3", "block4", "block5"]
    md = invoke("analyze", "vgg16", "-f", "markdown", "--depth", "1")
    assert "| block1 | block |" in md.stdout


def test_dtype_changes_bytes() -> None:
    fp32 = json.loads(invoke("analyze", "vgg16", "-f", "json").stdout)["totals"]
    int8 = json.loads(invoke("analyze", "vgg16", "-f", "json", "--dtype", "int8").stdout)
    assert int8["totals"]["param_bytes"] * 4 == fp32["param_bytes"]


def test_list_and_layers() -> None:
    listed = invoke("list")
    assert listed.exit_code == 0
    assert "mobilenet_v2" in listed.stdout and "vgg16" in listed.stdout
    kinds = invoke("layers")
    assert kinds.exit_code == 0 and "dwconv" in kinds.stdout
    one = invoke("layers", "conv")
    assert "dilation" in one.stdout
    assert invoke("layers", "nope").exit_code == ExitCode.USAGE


def test_input_override() -> None:
    doc = json.loads(invoke("analyze", "vgg16", "--input", "3x32x32", "-f", "json").stdout)
    assert doc["input"] == [3, 32, 32]
    # 32 / 2^5 = 1 after block5; adaptive pooling brings it back to 7x7 as in torchvision.
    assert doc["layers"][-1]["output_shape"] == [1000]


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "net.yaml"
    path.write_text(textwrap.dedent(text).lstrip())
    return str(path)


BAD = [
    # (YAML, exit code, line, layer or None, fragment)
    (
        "input: [3, 8, 8]\nlayers:\n  - {op: conv, out: 4, k: 3\n",
        ExitCode.SPEC,
        4,
        None,
        "YAML syntax error",
    ),
    (
        "input: [3, 8, 8]\nlayers:\n  - {op: conv3d, out: 4, k: 3}\n",
        ExitCode.SPEC,
        3,
        None,
        "unknown op 'conv3d'",
    ),
    (
        "input: [3, 8, 8]\nlayers:\n  - {op: conv, out: 4, kernel: 3, name: c}\n",
        ExitCode.SPEC,
        3,
        "c",
        "unknown argument 'kernel'",
    ),
    (
        "input: [3, 8, 8]\nlayers:\n  - {op: relu, name: a}\n  - {op: relu, from: nope, name: b}\n",
        ExitCode.SPEC,
        4,
        "b",
        "'from' names 'nope'",
    ),
    (
        "input: [3, 8, 8]\nlayers:\n  - {op: relu, name: a}\n  - {op: relu, name: a}\n",
        ExitCode.SPEC,
        4,
        "a",
        "duplicate layer name",
    ),
    (
        "input: [3, 8, 8]\nlayers:\n  - {op: relu, name: a, from: a}\n",
        ExitCode.SPEC,
        3,
        "a",
        "cycle",
    ),
    (
        "input: [3, 8, 8]\nlayers:\n  - {op: relu, name: a}\n  - {op: relu, from: b, name: c}\n"
        "  - {op: relu, name: b}\n",
        ExitCode.SPEC,
        4,
        "c",
        "not a layer defined before",
    ),
    (
        "input: [3, 8, 8]\nlayers:\n  - {op: conv, out: 4, k: 1, name: a}\n"
        "  - {op: add, from: [input, a], name: s}\n",
        ExitCode.SPEC,
        4,
        "s",
        "add needs inputs of one shape",
    ),
    (
        "input: [3, 8, 8]\nlayers:\n  - {op: maxpool, k: 2, name: a}\n"
        "  - {op: concat, from: [input, a], name: s}\n",
        ExitCode.SPEC,
        4,
        "s",
        "concat needs equal spatial sizes",
    ),
    (
        "input: [3, 8, 8]\nlayers:\n  - {op: conv, out: 4, k: 11, name: big}\n",
        ExitCode.SPEC,
        3,
        "big",
        "larger than the padded input",
    ),
    (
        "params: {alpha: 0.75}\ninput: [3, 8, 8]\nlayers:\n"
        '  - {op: conv, out: "10*alpha", k: 1, name: c}\n',
        ExitCode.SPEC,
        4,
        "c",
        "must be a whole number",
    ),
    (
        "input: [3, 8, 8]\nlayers:\n  - {op: conv, out: \"__import__('os').system('x')\", k: 1,"
        " name: c}\n",
        ExitCode.SPEC,
        3,
        "c",
        "unknown function '__import__'",
    ),
    (
        'input: [3, 8, 8]\nlayers:\n  - {op: conv, out: "c.__class__", k: 1, name: c}\n',
        ExitCode.SPEC,
        3,
        "c",
        "attribute access",
    ),
    (
        'input: [3, 8, 8]\nlayers:\n  - {op: conv, out: "lambda: 3", k: 1, name: c}\n',
        ExitCode.SPEC,
        3,
        "c",
        "not allowed",
    ),
    (
        'input: [3, 8, 8]\nlayers:\n  - {op: conv, out: "10**100", k: 1, name: c}\n',
        ExitCode.LIMIT,
        3,
        "c",
        "largest dimension",
    ),
    (
        'input: [3, 8, 8]\nlayers:\n  - {op: relu, repeat: "2**64", name: r}\n',
        ExitCode.LIMIT,
        3,
        "r",
        "exceeds the limit",
    ),
    (
        "input: [3, 8, 8]\nlayers:\n  - {op: conv, out: 6, k: 1, groups: 4, name: g}\n",
        ExitCode.SPEC,
        3,
        "g",
        "not divisible by groups",
    ),
    ("input: [3, 8, 8]\nlayers:\n\t- {op: relu}\n", ExitCode.SPEC, 3, None, "tabs"),
]


@pytest.mark.parametrize(("text", "code", "line", "layer", "fragment"), BAD)
def test_bad_input_gives_one_clear_message(
    tmp_path: Path, text: str, code: int, line: int, layer: str | None, fragment: str
) -> None:
    path = write(tmp_path, text)
    result = invoke("analyze", path)
    assert result.exit_code == code, result.stderr
    err = result.stderr
    assert fragment in err
    assert f"{path}:{line}" in err
    if layer:
        assert f"layer '{layer}'" in err
    assert "Traceback" not in err
    assert result.stdout == ""


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    path = write(tmp_path, "input: [3, 8, 8]\nlayers:\n  - {op: conv3d}\n")
    result = invoke("analyze", path, "--debug")
    assert result.exit_code != 0
    assert result.exception is not None  # re-raised instead of a message


def test_missing_file_and_bad_options(tmp_path: Path) -> None:
    missing = invoke("analyze", str(tmp_path / "nope.yaml"))
    assert missing.exit_code == ExitCode.FILE
    assert "no such file" in missing.stderr
    unknown = invoke("analyze", "vgg16", "--set", "width=2")
    assert unknown.exit_code == ExitCode.USAGE
    assert "no parameter 'width'" in unknown.stderr and "classes" in unknown.stderr
    bad_value = invoke("analyze", "mobilenet_v2", "--alpha", "os.system")
    assert bad_value.exit_code == ExitCode.USAGE
    assert invoke("analyze", "vgg16", "--dtype", "fp64").exit_code == ExitCode.USAGE


def test_errors_in_blocks_name_the_nested_layer(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        input: [3, 8, 8]
        blocks:
          b:
            args: [c]
            body:
              - {op: conv, out: c, k: 1, name: inner}
        layers:
          - {block: b, name: outer, args: {c: "5/2"}}
        """,
    )
    result = invoke("analyze", path)
    assert result.exit_code == ExitCode.SPEC
    assert f"{path}:6" in result.stderr  # the line of the layer in the block body
    assert "layer 'outer.inner'" in result.stderr


def test_device_estimate_in_json_and_budget_gate() -> None:
    out = invoke(
        "analyze",
        "mobilenet_v2",
        "--alpha",
        "0.5",
        "--rho",
        "0.714",
        "--device",
        "cortex-a76-sd855",
        "-f",
        "json",
    )
    assert out.exit_code == 0, out.stderr
    device = json.loads(out.stdout)["device"]
    assert device["name"] == "cortex-a76-sd855"
    assert {"latency_s", "throughput_per_s", "layers", "verdicts", "fits"} <= set(device)
    assert all(row["bound"] in ("compute", "memory") for row in device["layers"])
    # ResNet-50's 25,557,032 int8 weights cannot fit the STM32F746's 1 MiB of flash.
    gate = invoke("analyze", "resnet50", "--device", "mcu-stm32f746", "--fail-over-budget")
    assert gate.exit_code == ExitCode.OVER_BUDGET
    assert "flash" in gate.stdout
    plain = invoke("analyze", "resnet50", "--device", "mcu-stm32f746")
    assert plain.exit_code == 0  # without the gate a failed verdict is only reported
    listed = invoke("devices")
    assert listed.exit_code == 0 and "gpu-a100" in listed.stdout
    unknown = invoke("analyze", "vgg16", "--device", "gpu-z9000")
    assert unknown.exit_code == ExitCode.USAGE and "convcalc devices" in unknown.stderr


def test_compare_with_a_device() -> None:
    out = invoke(
        "compare",
        "mobilenet_v2",
        "resnet50",
        "--device",
        "mobile-600m",
        "-f",
        "json",
        "--fail-over-budget",
    )
    # ResNet-50's 4.09 G multiply-adds exceed the 600 M mobile setting.
    assert out.exit_code == ExitCode.OVER_BUDGET
    items = json.loads(out.stdout)["items"]
    assert [i["device"]["fits"] for i in items] == [True, True]
    verdicts = {v["budget"]: v["pass"] for v in items[1]["device"]["verdicts"]}
    assert verdicts["macs"] is False


def test_validate_command() -> None:
    # Rates (2, 2, 2) share the factor 2: the gridding effect (Wang et al. 2018); a warning
    # never fails the check.
    grid = invoke("validate", "blocks/hdc_2_2_2")
    assert grid.exit_code == 0
    assert "warning[gridding]" in grid.stdout and "valid, 1 warning" in grid.stdout
    clean = invoke("validate", "blocks/hdc_1_2_5", "-f", "json")
    doc = json.loads(clean.stdout)
    assert doc["valid"] and doc["warnings"] == 0
    assert invoke("validate", "nope.yaml").exit_code == ExitCode.FILE
    # analyze reports the same design warning on stderr.
    analysed = invoke("analyze", "blocks/hdc_2_2_2", "-f", "json")
    assert any("gridding" in w for w in json.loads(analysed.stdout)["warnings"])


def test_validate_reports_errors_as_diagnostics(tmp_path: Path) -> None:
    path = write(tmp_path, "input: [3, 8, 8]\nlayers:\n  - {op: conv, out: 4, k: 11, name: big}\n")
    out = invoke("validate", path, "-f", "json")
    assert out.exit_code == ExitCode.SPEC
    [diag] = json.loads(out.stdout)["diagnostics"]
    assert (diag["severity"], diag["line"], diag["layer"]) == ("error", 3, "big")
    assert "larger than the padded input" in diag["message"]
