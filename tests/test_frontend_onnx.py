"""The ONNX reader on small graphs built here with ``onnx.helper``, every expected number by
hand. The tests that build files skip when the onnx package (``convcalc[onnx]``) is not
installed; the one that checks the message given without it always runs."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from convcalc import api, frontends
from convcalc.cli import app
from convcalc.errors import ExitCode, LimitError, SpecError, UsageError
from convcalc.frontends import onnx_tensors

FLOAT, INT64 = 1, 7  # TensorProto's FLOAT and INT64


@pytest.fixture
def oh() -> Any:
    """onnx.helper, or a skip when onnx is not installed."""
    return pytest.importorskip("onnx.helper")


def weight(oh: Any, name: str, dims: list[int], value: float = 0.5) -> Any:
    return oh.make_tensor(name, FLOAT, dims, [value] * _prod(dims))


def ints(oh: Any, name: str, values: list[int]) -> Any:
    return oh.make_tensor(name, INT64, [len(values)], values)


def _prod(dims: list[int]) -> int:
    out = 1
    for d in dims:
        out *= d
    return out


def save(
    oh: Any,
    tmp_path: Path,
    nodes: list[Any],
    shape: list[Any],
    inits: list[Any] = (),  # type: ignore[assignment]
    name: str = "net",
    opset: int = 17,
) -> Path:
    """A model of one float input ``x`` of ``shape`` and the last node's first output."""
    graph = oh.make_graph(
        nodes,
        name,
        [oh.make_tensor_value_info("x", FLOAT, shape)],
        [oh.make_tensor_value_info(nodes[-1].output[0], FLOAT, None)],
        list(inits),
    )
    model = oh.make_model(graph, opset_imports=[oh.make_opsetid("", opset)])
    path = tmp_path / f"{name}.onnx"
    path.write_bytes(model.SerializeToString())
    return path


def small_cnn(oh: Any, tmp_path: Path, shape: list[Any] | None = None) -> Path:
    """Conv 3->8 3x3 pad 1 (bias), Relu, MaxPool 2, GlobalAveragePool, Flatten, Gemm 8->10."""
    nodes = [
        oh.make_node("Conv", ["x", "w", "b"], ["c"], "conv", kernel_shape=[3, 3], pads=[1] * 4),
        oh.make_node("Relu", ["c"], ["r"], "relu"),
        oh.make_node("MaxPool", ["r"], ["p"], "pool", kernel_shape=[2, 2], strides=[2, 2]),
        oh.make_node("GlobalAveragePool", ["p"], ["g"], "gap"),
        oh.make_node("Flatten", ["g"], ["f"], "flat", axis=1),
        oh.make_node("Gemm", ["f", "fw", "fb"], ["y"], "fc", transB=1),
    ]
    inits = [
        weight(oh, "w", [8, 3, 3, 3]),
        weight(oh, "b", [8]),
        weight(oh, "fw", [10, 8]),
        weight(oh, "fb", [10]),
    ]
    return save(oh, tmp_path, nodes, shape or [1, 3, 32, 32], inits)


def test_the_reader_claims_onnx_files(oh: Any, tmp_path: Path) -> None:
    reader = frontends.reader_for(small_cnn(oh, tmp_path))
    assert reader is not None and reader.module == "onnx_file"


def test_a_small_cnn(oh: Any, tmp_path: Path) -> None:
    r = api.analyze(small_cnn(oh, tmp_path))
    by = {row.name: row for row in r.layers}
    assert r.input == (3, 32, 32)  # one sample: the batch axis dropped
    assert by["conv"].output_shape == (8, 32, 32)
    # conv: 8 x 3 x 3 x 3 = 216 weights + 8 biases; MACs 32 x 32 x 8 x 27 = 221,184
    assert (by["conv"].params, by["conv"].macs) == (224, 221_184)
    assert by["pool"].output_shape == (8, 16, 16)
    assert by["gap"].output_shape == (8, 1, 1)
    # fc reads the flattened vector of 8: 10 x 8 = 80 weights + 10 biases, 80 MACs
    assert (by["fc"].output_shape, by["fc"].params, by["fc"].macs) == ((10,), 90, 80)
    assert (r.totals.params, r.totals.macs) == (224 + 90, 221_184 + 80)


def test_named_sizes_set_or_left_free(oh: Any, tmp_path: Path) -> None:
    path = small_cnn(oh, tmp_path, ["batch", 3, "height", "width"])
    assert api.declared_params(path) == ["batch", "height", "width"]
    r = api.analyze(path, {"height": 64, "width": 48})
    # conv MACs: 64 x 48 positions x 8 outputs x 27 taps = 663,552
    assert r.layers[0].macs == 663_552
    free = api.analyze(path, {"width": 48})
    assert str(free.layers[0].macs) == "10368*height"  # 48 x 8 x 27 per row
    with pytest.raises(UsageError) as err:
        api.analyze(path, {"batch": 8, "height": 64, "width": 48})
    assert "batch axis" in err.value.message and "--batch 8" in (err.value.hint or "")
    with pytest.raises(UsageError) as unknown:
        api.analyze(path, {"depth": 3})
    assert "no size of that name" in unknown.value.message


def test_the_shape_chain_of_a_reshape_is_folded(oh: Any, tmp_path: Path) -> None:
    # x.view(x.size(0), -1) as the legacy exporter writes it: Shape, Gather 0, Unsqueeze,
    # Concat with [-1], Reshape; then a MatMul with a 48 x 5 initializer (a linear).
    nodes = [
        oh.make_node("Shape", ["x"], ["s"], "shape"),
        oh.make_node("Gather", ["s", "zero"], ["n"], "gather", axis=0),
        oh.make_node("Unsqueeze", ["n", "axes"], ["n1"], "unsq"),
        oh.make_node("Concat", ["n1", "minus1"], ["target"], "cat", axis=0),
        oh.make_node("Reshape", ["x", "target"], ["flat"], "reshape"),
        oh.make_node("MatMul", ["flat", "w"], ["y"], "fc"),
    ]
    inits = [
        oh.make_tensor("zero", INT64, [], [0]),
        ints(oh, "axes", [0]),
        ints(oh, "minus1", [-1]),
        weight(oh, "w", [48, 5]),
    ]
    r = api.analyze(save(oh, tmp_path, nodes, [1, 3, 4, 4], inits))
    fc = r.layers[-1]
    # the reshape's target folds to [1, -1]: 3 x 4 x 4 = 48 features; 48 x 5 = 240
    assert (fc.output_shape, fc.params, fc.macs) == ((5,), 240, 240)
    assert r.totals.params == 240  # the int64 shape constants are not parameters


def test_silu_and_the_erf_form_of_gelu_are_one_layer_each(oh: Any, tmp_path: Path) -> None:
    nodes = [
        oh.make_node("Sigmoid", ["x"], ["s"], "sig"),
        oh.make_node("Mul", ["x", "s"], ["silu"], "silu"),
        oh.make_node("Div", ["silu", "sqrt2"], ["d"], "div"),
        oh.make_node("Erf", ["d"], ["e"], "erf"),
        oh.make_node("Add", ["e", "one"], ["a"], "add"),
        oh.make_node("Mul", ["silu", "a"], ["m"], "mul"),
        oh.make_node("Mul", ["m", "half"], ["g"], "gelu"),
        oh.make_node("HardSigmoid", ["g"], ["h"], "hsig", alpha=1 / 6, beta=0.5),
        oh.make_node("Mul", ["h", "g"], ["y"], "hswish"),
    ]
    consts = [
        oh.make_node("Constant", [], [name], value=oh.make_tensor(name, FLOAT, [], [v]))
        for name, v in (("sqrt2", 1.4142135), ("one", 1.0), ("half", 0.5))
    ]
    r = api.analyze(save(oh, tmp_path, consts + nodes, [1, 4, 6]))
    kinds = [(row.name, row.type) for row in r.layers]
    assert kinds == [("silu", "swish"), ("gelu", "gelu"), ("hswish", "hswish")]
    # 24 values: SiLU 5 FLOPs each (sigmoid 4 + multiply), exact GELU 5 each, hard swish 5
    # (x * relu6(x + 3) / 6)
    assert [row.flops for row in r.layers] == [120, 120, 120]
    assert r.layers[0].output_shape == (4, 6)  # 4 tokens of 6


def test_tokens_attention_and_layer_norm(oh: Any, tmp_path: Path) -> None:
    # 5 tokens of width 8: layer norm, q/k/v linears (bias on q), q @ k^T, softmax, @ v
    nodes = [
        oh.make_node("LayerNormalization", ["x", "g", "beta"], ["n"], "ln", axis=-1),
        oh.make_node("MatMul", ["n", "wq"], ["q0"], "q"),
        oh.make_node("Add", ["bq", "q0"], ["q"], "q_bias"),
        oh.make_node("MatMul", ["n", "wk"], ["k"], "k"),
        oh.make_node("MatMul", ["n", "wv"], ["v"], "v"),
        oh.make_node("Transpose", ["k"], ["kt"], "kt", perm=[0, 2, 1]),
        oh.make_node("MatMul", ["q", "kt"], ["s"], "scores"),
        oh.make_node("Softmax", ["s"], ["p"], "softmax", axis=-1),
        oh.make_node("MatMul", ["p", "v"], ["y"], "mix"),
    ]
    inits = [weight(oh, n, [8, 8], 0.1 * i) for i, n in enumerate(("wq", "wk", "wv"), 1)]
    inits += [weight(oh, "g", [8], 1.0), weight(oh, "beta", [8], 0.0), weight(oh, "bq", [8])]
    r = api.analyze(save(oh, tmp_path, nodes, [1, 5, 8], inits))
    by = {row.name: row for row in r.layers}
    assert by["ln"].params == 16  # scale and shift of 8
    assert by["q_bias"].params == 8
    assert by["kt"].output_shape == (8, 5)
    assert by["scores"].output_shape == (5, 5) and by["scores"].macs == 5 * 5 * 8
    assert by["mix"].output_shape == (5, 8) and by["mix"].macs == 5 * 8 * 5
    # three linears 5 x 8 x 8 = 320 MACs each, 64 weights each
    assert r.totals.macs == 3 * 320 + 200 + 200
    assert r.totals.params == 16 + 3 * 64 + 8


def test_channels_last_layer_norm_and_linear(oh: Any, tmp_path: Path) -> None:
    # ConvNeXt's block: NCHW to NHWC, layer norm and a linear over C, back to NCHW
    nodes = [
        oh.make_node("Transpose", ["x"], ["t"], "to_nhwc", perm=[0, 2, 3, 1]),
        oh.make_node("LayerNormalization", ["t", "g", "beta"], ["n"], "ln", axis=-1),
        oh.make_node("MatMul", ["n", "w"], ["l"], "pw"),
        oh.make_node("Transpose", ["l"], ["y"], "to_nchw", perm=[0, 3, 1, 2]),
    ]
    inits = [weight(oh, "g", [4], 1.0), weight(oh, "beta", [4], 0.0), weight(oh, "w", [4, 8])]
    r = api.analyze(save(oh, tmp_path, nodes, [1, 4, 3, 3], inits))
    by = {row.name: row for row in r.layers}
    assert by["ln"].params == 8  # over the 4 channels at each of the 9 positions
    assert (by["pw"].params, by["pw"].macs) == (32, 9 * 4 * 8)
    assert r.layers[-1].output_shape == (8, 3, 3)


def test_a_tensor_used_twice_is_counted_once(oh: Any, tmp_path: Path) -> None:
    # Two 1x1 convs 2->2 reading one bias (an exporter merges identical zero biases).
    nodes = [
        oh.make_node("Conv", ["x", "w1", "b"], ["c1"], "c1", kernel_shape=[1, 1]),
        oh.make_node("Conv", ["c1", "w2", "b"], ["c2"], "c2", kernel_shape=[1, 1]),
    ]
    inits = [weight(oh, "w1", [2, 2, 1, 1]), weight(oh, "w2", [2, 2, 1, 1], 0.3)]
    inits.append(weight(oh, "b", [2], 0.0))
    r = api.analyze(save(oh, tmp_path, nodes, [1, 2, 4, 4], inits))
    assert r.totals.params == 4 + 4 + 2
    # each conv: 16 positions x 2 x 2 = 64 MACs; bias adds 32 per conv, the second as a
    # layer of its own
    assert r.totals.macs == 128
    assert r.totals.flops == 2 * 128 + 2 * 32
    assert [row.name for row in r.layers] == ["c1", "c2", "c2.bias"]


def test_pools_split_concat_resize_pad(oh: Any, tmp_path: Path) -> None:
    nodes = [
        oh.make_node(
            "MaxPool", ["x"], ["p"], "pool", kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1
        ),
        oh.make_node("Split", ["p", "parts"], ["a", "b"], "split", axis=1),
        oh.make_node("Concat", ["b", "a"], ["c"], "cat", axis=1),
        oh.make_node("Resize", ["c", "", "scales"], ["u"], "up", mode="nearest"),
        oh.make_node("Pad", ["u", "pads"], ["y"], "pad"),
    ]
    inits = [
        ints(oh, "parts", [2, 2]),
        oh.make_tensor("scales", FLOAT, [4], [1.0, 1.0, 2.0, 2.0]),
        ints(oh, "pads", [0, 0, 1, 2, 0, 0, 1, 2]),
    ]
    r = api.analyze(save(oh, tmp_path, nodes, [1, 4, 8, 8], inits))
    by = {row.name: row for row in r.layers}
    # ceil((8 - 3) / 2) + 1 = 4 (the last window starts at 6, inside the input)
    assert by["pool"].output_shape == (4, 4, 4)
    assert by["split.0"].output_shape == (2, 4, 4)
    assert by["cat"].output_shape == (4, 4, 4)
    assert by["up"].output_shape == (4, 8, 8)
    assert by["pad"].output_shape == (4, 8 + 2, 8 + 4)
    assert r.totals.params == 0


def test_transposed_conv_batch_norm_and_pooling(oh: Any, tmp_path: Path) -> None:
    nodes = [
        oh.make_node(
            "ConvTranspose", ["x", "w", "b"], ["t"], "up", kernel_shape=[2, 2], strides=[2, 2]
        ),
        oh.make_node("BatchNormalization", ["t", "g", "beta", "mean", "var"], ["n"], "bn"),
        oh.make_node("HardSwish", ["n"], ["h"], "act"),
        oh.make_node("AveragePool", ["h"], ["p"], "avg", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        oh.make_node("ReduceMean", ["p"], ["y"], "mean", axes=[2, 3], keepdims=1),
    ]
    inits = [weight(oh, "w", [4, 2, 2, 2]), weight(oh, "b", [2], 0.1)]
    inits += [weight(oh, n, [2], v) for n, v in (("g", 1.0), ("beta", 0.2), ("mean", 0.3))]
    inits.append(weight(oh, "var", [2], 1.5))
    r = api.analyze(save(oh, tmp_path, nodes, [1, 4, 3, 3], inits))
    by = {row.name: row for row in r.layers}
    # (3 - 1) x 2 + (2 - 1) + 1 = 6; weights 4 x 2 x 2 x 2 = 32 + 2 biases; every input
    # value meets every tap: 9 x 4 x 2 x 4 = 288 MACs
    assert (by["up"].output_shape, by["up"].params, by["up"].macs) == ((2, 6, 6), 34, 288)
    # batch norm: scale and shift of 2 channels (mean and variance are buffers)
    assert by["bn"].params == 4
    assert by["act"].type == "hswish"
    assert by["avg"].output_shape == (2, 6, 6)  # 3x3, stride 1, padding 1
    assert by["mean"].type == "global_avgpool" and by["mean"].output_shape == (2, 1, 1)


@pytest.mark.parametrize("build", ["cnn", "tokens"])
def test_convert_writes_yaml_that_analyses_identically(oh: Any, tmp_path: Path, build: str) -> None:
    if build == "cnn":
        source = small_cnn(oh, tmp_path)
    else:  # ViT's patches to tokens, a class token, a position embedding, a layer norm,
        # a linear and a softmax
        nodes = [
            oh.make_node(
                "Conv", ["x", "pw", "pb"], ["e"], "patch", kernel_shape=[4, 4], strides=[4, 4]
            ),
            oh.make_node("Reshape", ["e", "to_seq"], ["r"], "seq"),
            oh.make_node("Transpose", ["r"], ["t"], "tokens", perm=[0, 2, 1]),
            oh.make_node("Concat", ["cls", "t"], ["c"], "cat", axis=1),
            oh.make_node("Add", ["c", "pos"], ["p"], "pos_add"),
            oh.make_node("LayerNormalization", ["p", "g", "beta"], ["n"], "ln", axis=-1),
            oh.make_node("MatMul", ["n", "w"], ["l"], "fc"),
            oh.make_node("Softmax", ["l"], ["y"], "softmax", axis=-1),
        ]
        inits = [weight(oh, "cls", [1, 1, 8]), weight(oh, "pos", [1, 5, 8], 0.2)]
        inits += [weight(oh, "g", [8], 1.0), weight(oh, "beta", [8], 0.0)]
        inits += [weight(oh, "w", [8, 3]), weight(oh, "pw", [8, 3, 4, 4]), weight(oh, "pb", [8])]
        inits.append(ints(oh, "to_seq", [1, 8, 4]))
        source = save(oh, tmp_path, nodes, [1, 3, 8, 8], inits)
        # patches 8 x 3 x 4 x 4 + 8 = 392, class token 8, position embedding 5 x 8 = 40,
        # layer norm 16, linear 8 x 3 = 24
        assert api.analyze(source).totals.params == 392 + 8 + 40 + 16 + 24
    written = tmp_path / "written.yaml"
    written.write_text(api.convert(api.load(source)))
    before, after = api.analyze(source), api.analyze(written)
    rows = [
        [(r.type, r.output_shape, r.params, r.macs, r.flops) for r in x.layers]
        for x in (before, after)
    ]
    assert rows[0] == rows[1]
    assert (after.totals.params, after.totals.macs) == (before.totals.params, before.totals.macs)


def test_unknown_op_missing_initializer_and_malformed_file(oh: Any, tmp_path: Path) -> None:
    einsum = oh.make_node("Einsum", ["x"], ["y"], "mix", equation="ij")
    unknown = save(oh, tmp_path, [einsum], [1, 4], name="unknown")
    result = CliRunner().invoke(app, ["analyze", str(unknown)])
    assert result.exit_code == ExitCode.SPEC
    assert result.stderr.startswith(
        f"error: {unknown}: layer 'mix': Einsum node: convcalc does not read the ONNX op Einsum"
    )
    assert "docs/import.md" in result.stderr and "Traceback" not in result.stderr

    conv = oh.make_node("Conv", ["x", "w"], ["y"], "stem", kernel_shape=[3, 3])
    missing = save(oh, tmp_path, [conv], [1, 3, 8, 8], name="missing")
    with pytest.raises(SpecError) as err:
        api.analyze(missing)
    assert (err.value.file, err.value.layer) == (str(missing), "stem")
    assert "Conv node: reads 'w', which is no initializer" in err.value.message
    assert "export it again" in (err.value.hint or "")

    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"\xff\xfe not a protobuf \x00\x01")
    result = CliRunner().invoke(app, ["analyze", str(garbage)])
    assert result.exit_code == ExitCode.SPEC
    assert f"{garbage}: not an ONNX model" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_size_and_node_limits(oh: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = small_cnn(oh, tmp_path)  # 6 nodes
    monkeypatch.setattr(onnx_tensors, "MAX_ONNX_NODES", 5)
    with pytest.raises(LimitError) as nodes:
        api.analyze(path)
    assert nodes.value.message == "the graph has 6 nodes; the limit is 5"
    monkeypatch.setattr(onnx_tensors, "MAX_ONNX_BYTES", 100)
    with pytest.raises(LimitError) as size:
        api.analyze(path)
    assert size.value.message == f"file is {path.stat().st_size} bytes; the limit is 100"


def test_a_folded_constant_is_bounded(oh: Any, tmp_path: Path) -> None:
    # [1, 4096] + [2, 1] broadcasts to 8,192 values, beyond the 4,096 folded
    nodes = [
        oh.make_node("Add", ["row", "col"], ["big"], "big"),
        oh.make_node("Relu", ["x"], ["y"], "relu"),
    ]
    inits = [ints(oh, "row", [0] * 4096), oh.make_tensor("col", INT64, [2, 1], [0, 1])]
    with pytest.raises(LimitError) as err:
        api.analyze(save(oh, tmp_path, nodes, [1, 2], inits))
    assert "a folded constant is too large; the limit is 4096 values" in err.value.message
    assert err.value.layer == "big"


def test_softmax_before_opset_13(oh: Any, tmp_path: Path) -> None:
    # Before opset 13 the input is flattened to 2-D from the axis on (default 1).
    last = oh.make_node("Softmax", ["x"], ["y"], "sm", axis=2)
    r = api.analyze(save(oh, tmp_path, [last], [1, 4, 5], name="last", opset=11))
    assert r.layers[0].flops == 3 * 20  # exp, sum, divide per value
    default = oh.make_node("Softmax", ["x"], ["y"], "sm")
    with pytest.raises(SpecError) as err:
        api.analyze(save(oh, tmp_path, [default], [1, 4, 5], name="default", opset=11))
    assert "before 13 over more than the last axis" in err.value.message


def test_a_clip_outside_relu_and_relu6_is_refused(oh: Any, tmp_path: Path) -> None:
    node = oh.make_node("Clip", ["x", "lo", "hi"], ["y"], "clip")
    inits = [oh.make_tensor("lo", FLOAT, [], [-1.0]), oh.make_tensor("hi", FLOAT, [], [1.0])]
    with pytest.raises(SpecError) as err:
        api.analyze(save(oh, tmp_path, [node], [1, 2, 2, 2], inits))
    assert "Clip to [-1.0, 1.0] is not read" in err.value.message


def _shown(index: int) -> str:
    """The ``index``-th code block of docs/import.md's ONNX section."""
    page = (Path(__file__).resolve().parent.parent / "docs" / "import.md").read_text()
    section = page.split("## ONNX", 1)[1].split("\n## ", 1)[0]
    return section.split("```\n")[2 * index + 1]


def test_without_onnx_one_message_says_how_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Runs whether or not onnx is installed: the import is made to fail. The message is
    the one docs/import.md shows."""
    monkeypatch.delitem(sys.modules, "onnx.onnx_ml_pb2", raising=False)
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx raises ImportError
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "model.onnx").write_bytes(b"\x08\x07")
    result = CliRunner().invoke(app, ["analyze", "model.onnx"])
    assert result.exit_code == ExitCode.USAGE
    assert "pip install 'convcalc[onnx]'" in result.stderr
    assert onnx_tensors.INSTALL in result.stderr
    assert result.stderr == _shown(0)


def test_the_error_shown_in_the_docs(
    oh: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    save(oh, Path("."), [oh.make_node("Einsum", ["x"], ["y"], "mix", equation="ij")], [1, 4])
    result = CliRunner().invoke(app, ["analyze", "net.onnx"])
    assert result.stderr == _shown(1)
