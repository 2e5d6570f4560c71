"""``convcalc convert``: the written YAML analyses as its source does, layer by layer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from convcalc import api
from convcalc.cli import app
from convcalc.convert import NEST
from convcalc.errors import UsageError

runner = CliRunner()


def _rows(report) -> list[tuple]:
    return [
        (r.type, r.output_shape, r.params, r.macs, r.flops, r.activation_bytes, r.rf)
        for r in report.layers
    ]


def _same_analysis(source, written: Path, params: dict | None = None) -> None:
    before = api.analyze(source, params)
    after = api.analyze(written)
    assert _rows(after) == _rows(before)
    assert [r.name for r in after.layers] == [r.name.replace(".", NEST) for r in before.layers]
    for key in ("params", "macs", "flops", "peak_activation_bytes", "receptive_field"):
        assert getattr(after.totals, key) == getattr(before.totals, key), key


# A representative set of the bundled networks: branches and merges, grouped and
# depthwise convs, SE gates, upsampling and crops, stage tables and repeats, tokens and
# attention, every-copy merges.
NETWORKS = [
    "resnet50",
    "mobilenet_v2",
    "mobilenet_v3_small",
    "densenet121",
    "inception_v3",
    "shufflenet_v2",
    "unet",
    "deeplabv3_resnet50",
    "yolov8n",
    "vit_b_16",
    "swin_t",
    "blocks/deformable_block",
    "lenet5",
]


@pytest.mark.parametrize("name", NETWORKS)
def test_a_converted_network_analyses_identically(tmp_path: Path, name: str) -> None:
    path = tmp_path / "net.yaml"
    path.write_text(api.convert(api.load(name)))
    _same_analysis(name, path)


def test_parameters_are_bound_into_the_written_file(tmp_path: Path) -> None:
    path = tmp_path / "small.yaml"
    result = runner.invoke(app, ["convert", "mobilenet_v2", "--alpha", "0.5", "-o", str(path)])
    assert result.exit_code == 0, result.output
    _same_analysis("mobilenet_v2", path, {"alpha": "0.5"})


def test_a_converted_file_converts_to_itself(tmp_path: Path) -> None:
    once = api.convert(api.load("resnet18"))
    path = tmp_path / "once.yaml"
    path.write_text(once)
    twice = api.convert(api.load(path))

    # The same layers, arguments and inputs (the group comments go: the written names have
    # no nesting left).
    def layers(text: str) -> list[str]:
        return [line for line in text.splitlines() if line.startswith("  - {")]

    assert layers(once) == layers(twice)


def test_the_written_file_reads_as_documented() -> None:
    text = api.convert(api.load("resnet18"))
    lines = text.splitlines()
    assert "convcalc: 1" in lines and "input: [3, 224, 224]" in lines
    # ResNet-18's stem: a 7x7 stride-2 conv of 64 without bias, torchvision's definition.
    assert (
        "  - {op: conv, name: conv1__conv, out: 64, k: 7, stride: 2, padding: 3, bias: false}"
        in lines
    )
    assert "  # layer1" in lines  # each group of the source's stages opens with a comment


def test_a_symbolic_graph_cannot_be_written() -> None:
    with pytest.raises(UsageError, match="bind every parameter"):
        api.convert(api.load("mobilenet_v2", free=["alpha"]))
    with pytest.raises(UsageError, match="formula"):
        api.convert(api.load("blocks/conv_standard", symbolic=True))


def test_untrusted_names_are_made_safe(tmp_path: Path) -> None:
    src = tmp_path / "odd.yaml"
    src.write_text(
        "convcalc: 1\nname: odd\ninput: [3, 8, 8]\nlayers:\n"
        "  - {op: conv, out: 4, k: 3, name: a-b}\n"
        "  - {op: relu, name: input_}\n"
    )
    text = api.convert(api.load(src))
    out = tmp_path / "out.yaml"
    out.write_text(text)
    _same_analysis(src, out)


def test_convert_to_standard_output(tmp_path: Path) -> None:
    result = runner.invoke(app, ["convert", "lenet5"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("# Written by convcalc convert")
    path = tmp_path / "lenet5.yaml"
    path.write_text(result.stdout)
    docs = [
        json.loads(runner.invoke(app, ["analyze", arch, "-f", "json"]).stdout)["totals"]
        for arch in ("lenet5", str(path))
    ]
    docs[1]["peak_layer"] = docs[1]["peak_layer"].replace(NEST, ".")
    assert docs[0] == docs[1]
