"""The Keras JSON reader on small model files written here in the format of Keras 3's
``model.to_json()`` (and one in Keras 2's), with every expected number by hand."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
import pytest
from hypothesis import given, settings
from typer.testing import CliRunner

from convcalc import api, frontends
from convcalc.cli import app
from convcalc.errors import ConvcalcError, ExitCode, LimitError, SpecError
from convcalc.frontends import keras_json


def tensor(layer: str) -> dict[str, Any]:
    return {
        "class_name": "__keras_tensor__",
        "config": {"shape": [None], "dtype": "float32", "keras_history": [layer, 0, 0]},
    }


def layer(cls: str, name: str, inputs: Any = (), module: str = "keras.layers", **config: Any):
    """One Keras 3 layer entry; ``inputs`` a layer name, a list of names (one call with a
    list argument: a merge) or a list of names and constants (an operation)."""
    if isinstance(inputs, str):
        args: list[Any] = [tensor(inputs)]
    elif inputs and all(isinstance(i, str) for i in inputs):
        args = [[tensor(i) for i in inputs]]
    else:
        args = [tensor(i) if isinstance(i, str) else i for i in inputs]
    return {
        "module": module,
        "class_name": cls,
        "config": {"name": name, "trainable": True, **config},
        "registered_name": None,
        "name": name,
        "inbound_nodes": [{"args": args, "kwargs": {}}] if inputs else [],
    }


def model(tmp_path: Path, *layers: dict[str, Any], name: str = "m") -> Path:
    doc = {
        "module": "keras.src.models.functional",
        "class_name": "Functional",
        "config": {
            "name": name,
            "trainable": True,
            "layers": list(layers),
            "input_layers": [layers[0]["name"], 0, 0],
            "output_layers": [layers[-1]["name"], 0, 0],
        },
    }
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(doc, indent=1))
    return path


def inp(shape: list[Any], name: str = "input_layer") -> dict[str, Any]:
    return layer("InputLayer", name, batch_shape=[None, *shape])


CONV = {"strides": [1, 1], "padding": "valid", "data_format": "channels_last"}


def test_the_reader_claims_keras_json(tmp_path: Path) -> None:
    path = model(tmp_path, inp([8, 8, 3]), layer("Flatten", "f", "input_layer"))
    reader = frontends.reader_for(path)
    assert reader is not None and reader.module == "keras_json"


def test_sequential_conv_flatten_dense(tmp_path: Path) -> None:
    layers = [
        inp([8, 8, 3]),
        layer(
            "Conv2D",
            "conv2d",
            filters=4,
            kernel_size=[3, 3],
            activation="relu",
            use_bias=True,
            dilation_rate=[1, 1],
            groups=1,
            **CONV,
        ),
        layer("Flatten", "flatten"),
        layer("Dense", "dense", units=2, activation="linear", use_bias=True),
    ]
    for entry in layers:  # Sequential entries have no inbound nodes
        del entry["inbound_nodes"]
    path = tmp_path / "seq.json"
    doc = {
        "module": "keras",
        "class_name": "Sequential",
        "config": {"name": "seq", "layers": layers},
    }
    path.write_text(json.dumps(doc))
    r = api.analyze(path)
    # NHWC (None, 8, 8, 3) is convcalc's 3x8x8; a 3x3 valid conv gives 4x6x6, then relu.
    assert [(row.name, row.output_shape) for row in r.layers] == [
        ("conv2d", (4, 6, 6)),
        ("conv2d.relu", (4, 6, 6)),
        ("flatten", (144,)),
        ("dense", (2,)),
    ]
    # conv: 3*3*3*4 + 4 = 112 params, 6*6*4 * 27 = 3888 MACs; dense: 144*2 + 2 = 290
    # params, 288 MACs.
    assert r.totals.params == 112 + 290
    assert r.totals.macs == 3888 + 288


def test_batch_norm_split_padding_depthwise_relu6_add_and_pooling(tmp_path: Path) -> None:
    path = model(
        tmp_path,
        inp([9, 9, 8]),
        layer("BatchNormalization", "bn", "input_layer", axis=-1, center=True, scale=True),
        layer("ZeroPadding2D", "pad", "bn", padding=[[0, 1], [0, 1]], data_format="channels_last"),
        layer(
            "DepthwiseConv2D",
            "dw",
            "pad",
            depth_multiplier=1,
            kernel_size=[3, 3],
            strides=[2, 2],
            padding="valid",
            dilation_rate=[1, 1],
            use_bias=False,
            activation="linear",
            data_format="channels_last",
        ),
        layer("ReLU", "relu6", "dw", max_value=6.0, negative_slope=0.0, threshold=0.0),
        layer(
            "MaxPooling2D",
            "pool",
            "bn",
            pool_size=[2, 2],
            strides=[2, 2],
            padding="valid",
            data_format="channels_last",
        ),
        layer("Add", "add", ["relu6", "pool"]),
        layer("GlobalAveragePooling2D", "gap", "add", keepdims=False, data_format="channels_last"),
        layer("Dense", "fc", "gap", units=3, activation="softmax", use_bias=True),
    )
    r = api.analyze(path)
    shapes = {row.name: row.output_shape for row in r.layers}
    # 9x9 padded bottom and right to 10x10; 3x3 stride 2 valid: floor((10 - 3) / 2) + 1 = 4.
    assert shapes["pad"] == (8, 10, 10)
    assert shapes["dw"] == (8, 4, 4)
    # 2x2 stride-2 max pool of 9x9: floor((9 - 2) / 2) + 1 = 4, so the add meets 8x4x4.
    assert shapes["add"] == (8, 4, 4)
    # keepdims false: the pooled 8x1x1 is flattened to 8 features.
    assert shapes["gap.flatten"] == (8,)
    assert shapes["fc.softmax"] == (3,)
    # bn 2*8 = 16 learned; dw 3*3*8 = 72; fc 8*3 + 3 = 27.
    assert r.totals.params == 16 + 72 + 27
    # dw: 4*4*8 * 9 = 1152 MACs; fc: 24.
    assert r.totals.macs == 1152 + 24
    # Keras counts bn's moving mean and variance (2*8) as non-trainable parameters.
    assert keras_json.keras_counts(path) == (115, 16)
    assert "115 trainable and 16 non-trainable" in r.description


def test_separable_transposed_concat_normalization_dense_per_position(tmp_path: Path) -> None:
    # The model of keras.Model(x, ...) with these layers; Keras 3.15 prints for it "Total
    # params: 452, Trainable params: 419, Non-trainable params: 33" (measured).
    path = model(
        tmp_path,
        inp([16, 16, 3]),
        layer(
            "SeparableConv2D",
            "sep",
            "input_layer",
            depth_multiplier=2,
            filters=8,
            kernel_size=[3, 3],
            strides=[1, 1],
            padding="same",
            dilation_rate=[1, 1],
            activation="gelu",
            use_bias=True,
            data_format="channels_last",
        ),
        layer(
            "Conv2DTranspose",
            "up",
            "input_layer",
            filters=8,
            kernel_size=[3, 3],
            strides=[2, 2],
            padding="same",
            output_padding=None,
            dilation_rate=[1, 1],
            activation="linear",
            use_bias=True,
            data_format="channels_last",
        ),
        layer(
            "AveragePooling2D",
            "avg",
            "up",
            pool_size=[2, 2],
            strides=[2, 2],
            padding="valid",
            data_format="channels_last",
        ),
        layer("Concatenate", "cat", ["sep", "avg"], axis=-1),
        layer("Normalization", "norm", "cat", axis=[-1], invert=False, mean=None, variance=None),
        layer("Dense", "dense", "norm", units=5, activation="tanh", use_bias=True),
    )
    r = api.analyze(path)
    shapes = {row.name: row.output_shape for row in r.layers}
    assert shapes["sep.depthwise"] == (6, 16, 16)  # 3 channels x multiplier 2
    assert shapes["sep.gelu"] == (8, 16, 16)
    assert shapes["up"] == (8, 32, 32)  # same padding: 16 * stride 2
    assert shapes["cat"] == (16, 16, 16)
    assert shapes["dense.tanh"] == (5, 16, 16)  # Dense on the channels of every position
    # sep: 3*3*3*2 = 54 depthwise + 6*8 + 8 = 56 pointwise; up: 3*3*3*8 + 8 = 224;
    # dense: 16*5 + 5 = 85; total 419, Keras' trainable count.
    assert r.totals.params == 54 + 56 + 224 + 85 == 419
    # Normalization's mean and variance (16 each) and its count: 33 non-trainable.
    assert keras_json.keras_counts(path) == (419, 33)
    # MACs: depthwise 16*16*6*9 = 13824; pointwise 16*16*8*6 = 12288; transposed conv
    # (every input value meets every tap) 16*16*3 * 8*9 = 55296; dense 256*16*5 = 20480.
    assert r.totals.macs == 13824 + 12288 + 55296 + 20480


def test_operations_with_constants_and_keras_2_nodes(tmp_path: Path) -> None:
    ops = "keras.src.ops.numpy"
    entries = [
        inp([4, 4, 2]),
        layer("Add", "add", ["input_layer", 3.0], module=ops),
        layer("ReLU", "r6", "add", max_value=6.0),
        layer("Multiply", "mul", ["r6", 1 / 6], module=ops),
        layer("Multiply", "gate", ["input_layer", "mul"]),
    ]
    # Keras 2 writes the last call as a list of [layer, node, index, kwargs].
    entries[-1]["inbound_nodes"] = [[["input_layer", 0, 0, {}], ["mul", 0, 0, {}]]]
    r = api.analyze(model(tmp_path, *entries))
    kinds = [(row.name, row.type) for row in r.layers]
    assert kinds == [("add", "scale"), ("r6", "relu6"), ("mul", "scale"), ("gate", "multiply")]
    # 32 values each: the constant add 1, relu6 2, the constant multiply 1, the product 1
    # FLOP per value.
    assert r.totals.flops == 32 * (1 + 2 + 1 + 1)
    assert r.totals.params == 0


def test_a_free_input_size_needs_input(tmp_path: Path) -> None:
    path = model(tmp_path, inp([None, None, 3]), layer("Flatten", "f", "input_layer"))
    with pytest.raises(SpecError) as err:
        api.analyze(path)
    assert "the input's size is not fixed" in err.value.message
    assert "--input" in (err.value.hint or "")
    r = api.analyze(path, input_shape=(3, 2, 5))
    assert r.layers[0].output_shape == (30,)


def test_an_unsupported_layer_names_the_file_line_and_layer(tmp_path: Path) -> None:
    path = model(tmp_path, inp([4, 4, 3]), layer("LSTM", "lstm_1", "input_layer", units=4))
    line = next(
        i for i, t in enumerate(path.read_text().splitlines(), 1) if '"name": "lstm_1"' in t
    )
    result = CliRunner().invoke(app, ["analyze", str(path)])
    assert result.exit_code == ExitCode.SPEC
    assert result.stderr.startswith(
        f"error: {path}:{line}: layer 'lstm_1': Keras layer 'LSTM' is not supported"
    )
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (layer("Activation", "a", "input_layer", activation="selu"), "activation 'selu'"),
        (layer("ReLU", "r", "input_layer", max_value=4.0), "max_value 4.0"),
        (
            layer("BatchNormalization", "b", "input_layer", axis=-1, center=False),
            "without its scale or center",
        ),
    ],
)
def test_unsupported_settings(tmp_path: Path, entry: dict[str, Any], message: str) -> None:
    with pytest.raises(SpecError) as err:
        api.analyze(model(tmp_path, inp([4, 4, 3]), entry))
    assert message in err.value.message
    assert err.value.layer == entry["name"]


def test_malformed_and_oversized_json(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"class_name": "Functional",\n "config": {"layers": [}\n}')
    with pytest.raises(SpecError) as err:
        api.analyze(bad)
    assert err.value.line == 2 and "not valid JSON" in err.value.message
    deep = tmp_path / "deep.json"
    deep.write_text('{"class_name": "x", "config": ' + "[" * 500 + "]" * 500 + "}")
    with pytest.raises(LimitError) as limit:
        api.analyze(deep)
    assert "deeper than 100 levels" in limit.value.message


def test_the_error_shown_in_the_docs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """docs/import.md's example of an unsupported layer is this file's real message."""
    page = (Path(__file__).resolve().parent.parent / "docs" / "import.md").read_text()
    section = page.split("## Keras JSON", 1)[1].split("\n## ", 1)[0]
    shown = section.split("```\n", 2)[1]
    monkeypatch.chdir(tmp_path)
    model(tmp_path, inp([4, 4, 3]), layer("LSTM", "lstm_1", "input_layer", units=4), name="model")
    result = CliRunner().invoke(app, ["analyze", "model.json"])
    assert result.stderr == shown


VALUES = [None, 0, -1, 3, 1.5, "same", "x", [], {}, [1], [None, 2], True, "relu", [-1]]


@settings(max_examples=100, deadline=None, database=None)
@given(st.lists(st.tuples(st.integers(0, 10**6), st.sampled_from(VALUES)), max_size=3))
def test_any_changed_value_ends_in_a_graph_or_one_located_error(tmp_path_factory, edits):
    """A hand-written model with values replaced anywhere: a graph, or an error that names
    the file, never a traceback."""
    folder = tmp_path_factory.mktemp("fuzz")
    path = model(
        folder,
        inp([8, 8, 3]),
        layer(
            "Conv2D",
            "c",
            "input_layer",
            filters=4,
            kernel_size=[3, 3],
            activation="relu",
            use_bias=True,
            dilation_rate=[1, 1],
            groups=1,
            **CONV,
        ),
        layer("BatchNormalization", "b", "c", axis=-1),
        layer("Add", "a", ["c", "b"]),
        layer("Concatenate", "k", ["a", "c"], axis=-1),
        layer("GlobalAveragePooling2D", "g", "k", keepdims=False),
        layer("Dense", "d", "g", units=2, activation="softmax"),
    )
    doc = json.loads(path.read_text())
    slots: list[tuple[Any, Any]] = []

    def walk(node: Any) -> None:
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, value in items:
            slots.append((node, key))
            if isinstance(value, (dict, list)):
                walk(value)

    walk(doc)
    for where, value in edits:
        node, key = slots[where % len(slots)]
        node[key] = value
    path.write_text(json.dumps(doc))
    try:
        api.analyze(path)
    except ConvcalcError as e:
        assert e.file == str(path)
