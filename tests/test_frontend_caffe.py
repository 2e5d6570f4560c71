"""The Caffe prototxt reader and its text-format parser, on short deploy files written here,
with every expected number by hand."""

from __future__ import annotations

from pathlib import Path

import hypothesis.strategies as st
import pytest
from hypothesis import given, settings
from typer.testing import CliRunner

from convcalc import api, frontends
from convcalc.cli import app
from convcalc.errors import ConvcalcError, ExitCode, LimitError, SpecError
from convcalc.frontends import caffe_text

V2 = """\
name: "tiny"
layer { name: "data" type: "Input" top: "data"
        input_param { shape { dim: 1 dim: 3 dim: 8 dim: 8 } } }
layer {
  name: "conv1"  type: "Convolution"  bottom: "data"  top: "conv1"
  param { lr_mult: 1 }  # fillers and learning rates are not read
  convolution_param { num_output: 4 kernel_size: 3 pad: 1
                      weight_filler { type: "gaussian" std: 0.01 } }
}
layer { name: "relu1" type: "ReLU" bottom: "conv1" top: "conv1" }
layer { name: "pool1" type: "Pooling" bottom: "conv1" top: "pool1"
        pooling_param { pool: MAX kernel_size: 3 stride: 2 } }
layer { name: "norm1" type: "LRN" bottom: "pool1" top: "norm1"
        lrn_param { local_size: 3 alpha: 0.0001 beta: 0.75 } }
layer { name: "fc" type: "InnerProduct" bottom: "norm1" top: "fc"
        inner_product_param { num_output: 10 } }
layer { name: "prob" type: "Softmax" bottom: "fc" top: "prob" }
"""


def write(tmp_path: Path, text: str, name: str = "net") -> Path:
    path = tmp_path / f"{name}.prototxt"
    path.write_text(text)
    return path


def test_the_reader_claims_prototxt(tmp_path: Path) -> None:
    reader = frontends.reader_for(write(tmp_path, V2))
    assert reader is not None and reader.module == "caffe_prototxt"


def test_layer_blocks_in_place_relu_and_ceil_pooling(tmp_path: Path) -> None:
    r = api.analyze(write(tmp_path, V2))
    assert r.architecture == "tiny"
    assert r.input == (3, 8, 8)  # N x C x H x W without the batch
    assert [(row.name, row.type, row.output_shape) for row in r.layers] == [
        ("conv1", "conv", (4, 8, 8)),
        ("relu1", "relu", (4, 8, 8)),
        # Caffe rounds up: ceil((8 - 3) / 2) + 1 = 4 (floor would give 3).
        ("pool1", "maxpool", (4, 4, 4)),
        ("norm1", "lrn", (4, 4, 4)),
        ("fc.flatten", "flatten", (64,)),  # InnerProduct flattens C x H x W = 64
        ("fc", "linear", (10,)),
        ("prob", "softmax", (10,)),
    ]
    # The ReLU works in place: the pool reads its output under the blob name conv1.
    assert r.layer("pool1").inputs == ("relu1",)
    # conv1: 3*3*3*4 + 4 = 112 params, 8*8*4 * 27 = 6912 MACs; fc: 64*10 + 10 = 650
    # params, 640 MACs.
    assert r.totals.params == 112 + 650
    assert r.totals.macs == 6912 + 640


LEGACY = """\
name: "legacy"
input: "data"
input_dim: 1
input_dim: 4
input_dim: 9
input_dim: 9
layers { name: "conv1" type: CONVOLUTION bottom: "data" top: "conv1"
  blobs_lr: 1 weight_decay: 1
  convolution_param { num_output: 4 kernel_h: 3 kernel_w: 1 pad_h: 1 pad_w: 0 group: 2
                      bias_term: false } }
layers { name: "conv2" type: CONVOLUTION bottom: "data" top: "conv2"
  convolution_param { num_output: 4 kernel_size: 3 dilation: 2 pad: 2 } }
layers { name: "sum" type: ELTWISE bottom: "conv1" bottom: "conv2" top: "sum" }
layers { name: "cat" type: CONCAT bottom: "sum" bottom: "conv1" top: "cat" }
layers { name: "gap" type: POOLING bottom: "cat" top: "gap"
  pooling_param { pool: AVE global_pooling: true } }
layers { name: "flat" type: FLATTEN bottom: "gap" top: "flat" }
layers { name: "fc" type: INNER_PRODUCT bottom: "flat" top: "fc"
  inner_product_param { num_output: 2 } }
"""


def test_legacy_layers_and_input_dim(tmp_path: Path) -> None:
    r = api.analyze(write(tmp_path, LEGACY))
    shapes = {row.name: row.output_shape for row in r.layers}
    # conv1: 3x1 kernel padded 1 in height only keeps 9x9; conv2: 3x3 dilated 2 is 5x5,
    # padded 2 keeps 9x9.
    assert shapes["conv1"] == shapes["conv2"] == shapes["sum"] == (4, 9, 9)
    assert shapes["cat"] == (8, 9, 9)
    assert shapes["gap"] == (8, 1, 1)
    assert shapes["fc"] == (2,)
    assert r.layer("sum").type == "add"
    # conv1: 4 outputs x (4 / 2 groups) inputs x 3*1 taps = 24 params, no bias; 81 positions
    # x 24 = 1944 MACs. conv2: 4*4*9 + 4 = 148 params, 81 * 144 = 11664 MACs. fc: 8*2 + 2.
    assert r.totals.params == 24 + 148 + 18
    assert r.totals.macs == 1944 + 11664 + 16


PAIRS = """\
input: "data"
input_shape { dim: [1, 2, 4, 4] }
layer < name: "bn" type: "BatchNorm" bottom: "data" top: "data" >
layer { name: "sc" type: "Scale" bottom: "data" top: "data"; scale_param { bias_term: true } }
layer { name: "split" type: "Split" bottom: "data" top: "a" top: "b" }
layer { name: "s" type: "Sigmoid" bottom: "a" top: "s" }
layer { name: "t" type: "TanH" bottom: "b" top: "t" }
layer { name: "gate/prod" type: "Eltwise" bottom: "s" bottom: "t" top: "g"
        eltwise_param { operation: PROD } }
layer { name: "drop" type: "Dropout" bottom: "g" top: "g" dropout_param { dropout_ratio: 0.25 } }
layer { name: "r" type: "Reshape" bottom: "g" top: "r"
        reshape_param { shape { dim: 0 dim: -1 } } }
"""


def test_batch_norm_scale_pairs_split_and_reshape(tmp_path: Path) -> None:
    r = api.analyze(write(tmp_path, PAIRS))
    rows = [(row.name, row.type, row.output_shape) for row in r.layers]
    assert rows == [
        ("bn", "bn", (2, 4, 4)),  # BatchNorm and its Scale: one bn
        ("s", "sigmoid", (2, 4, 4)),
        ("t", "tanh", (2, 4, 4)),
        ("gate.prod", "multiply", (2, 4, 4)),  # '/' nests as '.'
        ("drop", "dropout", (2, 4, 4)),
        ("r", "reshape", (32,)),  # dim 0 keeps the batch, -1 takes the 2*4*4 = 32 rest
    ]
    # Split hands one blob to both readers.
    assert r.layer("s").inputs == r.layer("t").inputs == ("bn",)
    # bn: a learned scale and shift per channel, 2*2 = 4 params; the running mean and
    # variance (2*2) are buffers, as Caffe's BatchNorm blobs are not learned.
    assert r.totals.params == 4
    assert r.buffers == 4


def test_the_parser_reads_the_text_format() -> None:
    msg = caffe_text.parse(
        'a: 1 b: -2.5e1 c: "x\\"y" "z" # comment\nd { e: TRUE_ENUM f: [1, 2, 0x10] }\n'
        "g < h: 1.5f >; i: 'q'",
        "t",
    )
    assert [f.name for f in msg.fields] == ["a", "b", "c", "d", "g", "i"]
    assert msg.last("a").value == 1
    assert msg.last("b").value == -25  # exact
    assert msg.last("c").value == 'x"yz'  # escapes, adjacent strings joined
    d = msg.last("d").value
    assert d.last("e").value == "TRUE_ENUM" and isinstance(d.last("e").value, caffe_text.Enum)
    assert [f.value for f in d.all("f")] == [1, 2, 16]
    assert msg.last("g").value.last("h").value == pytest.approx(1.5)
    assert msg.last("d").line == 2


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ('layer {\n  name: "a"\n', 2, "the message opened on line 1 is never closed"),
        ('layer {\n  name: "a"\n  type: @\n}', 3, "unexpected character '@'"),
        ("a: 1\nb 2\n", 2, "expected ':' or '{' after field 'b'"),
        ("a: 1\n}\n", 2, "expected a field name, got '}'"),
        ('a: "\\q"\n', 1, "unsupported escape"),
    ],
)
def test_malformed_text_names_the_line(tmp_path: Path, text: str, line: int, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(SpecError) as err:
        api.analyze(path)
    assert (err.value.file, err.value.line) == (str(path), line)
    assert message in err.value.message


def test_bounded_nesting_and_literals(tmp_path: Path) -> None:
    with pytest.raises(LimitError) as err:
        api.analyze(write(tmp_path, "a {" * 200 + "}" * 200))
    assert "nest deeper than 100 levels" in err.value.message
    with pytest.raises(LimitError) as err:
        api.analyze(write(tmp_path, "a: 1e999999\n"))
    assert "exponent" in err.value.message


def test_an_unsupported_layer_names_the_file_line_and_layer(tmp_path: Path) -> None:
    text = V2.replace('type: "LRN"', 'type: "Deconvolution"')
    path = write(tmp_path, text)
    result = CliRunner().invoke(app, ["analyze", str(path)])
    assert result.exit_code == ExitCode.SPEC
    # The norm1 layer block starts on line 13.
    assert result.stderr.startswith(
        f"error: {path}:13: layer 'norm1': layer type 'Deconvolution' is not supported"
    )
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('top: "norm1"', 'top: "norm1" top: "x"'), "with 2 tops is not supported"),
        (('bottom: "norm1"', 'bottom: "nowhere"'), "bottom 'nowhere' is the top of no"),
        (("pool: MAX", "pool: STOCHASTIC"), "pooling STOCHASTIC is not supported"),
        (("kernel_size: 3 pad: 1", "kernel_size: [3, 3, 3]"), "only 2-D layers"),
        (("num_output: 10", "num_output: true"), "not a whole number"),
    ],
)
def test_unsupported_or_wrong_layers(tmp_path: Path, change: tuple[str, str], message: str):
    text = V2.replace(*change)
    assert text != V2
    with pytest.raises(SpecError) as err:
        api.analyze(write(tmp_path, text))
    assert message in err.value.message
    assert err.value.file is not None and err.value.line is not None


def test_batch_norm_needs_its_scale(tmp_path: Path) -> None:
    text = PAIRS.replace('type: "Scale"', 'type: "ReLU"')
    with pytest.raises(SpecError) as err:
        api.analyze(write(tmp_path, text))
    assert err.value.layer == "bn"
    assert "must be followed by the Scale" in err.value.message


def test_malformed_text_in_a_layer_names_the_layer(tmp_path: Path) -> None:
    text = V2.replace("num_output: 4 kernel_size: 3", "num_output: 4 kernel_size: 3 {")
    path = write(tmp_path, text)
    result = CliRunner().invoke(app, ["analyze", str(path)])
    assert result.exit_code == ExitCode.SPEC
    # The '{' after the 3 on line 7 opens no field: the error is there, in layer conv1.
    assert result.stderr == (f"error: {path}:7: layer 'conv1': expected a field name, got '{{'\n")


def test_the_errors_shown_in_the_docs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """docs/import.md's two example errors are these files' real messages."""
    page = (Path(__file__).resolve().parent.parent / "docs" / "import.md").read_text()
    section = page.split("## Caffe prototxt", 1)[1].split("\n## ", 1)[0]
    shown = section.split("```\n", 2)[1]
    monkeypatch.chdir(tmp_path)
    out = ""
    for change in (
        ("num_output: 4 kernel_size: 3", "num_output: 4 kernel_size: 3 {"),
        ('type: "LRN"', 'type: "Deconvolution"'),
    ):
        write(tmp_path, V2.replace(*change), "deploy")
        out += CliRunner().invoke(app, ["analyze", "deploy.prototxt"]).stderr
    assert out == shown


FRAGMENTS = [*V2.split(" "), "{", "}", "<", ">", "[", "]", ":", ",", ";", '"', "\n", "#", "-1"]


@settings(max_examples=150, deadline=None, database=None)
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=60).map(" ".join))
def test_any_text_ends_in_a_graph_or_one_located_error(tmp_path_factory, text: str) -> None:
    """Shuffled pieces of a deploy file: a graph, or an error with the file, never a
    traceback."""
    path = tmp_path_factory.mktemp("fuzz") / "f.prototxt"
    path.write_text(text)
    try:
        api.analyze(path)
    except ConvcalcError as e:
        assert e.file == str(path)
