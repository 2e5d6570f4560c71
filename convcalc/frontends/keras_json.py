"""Keras' ``model.to_json()``: Functional and Sequential models of Keras 3 (and the
``inbound_nodes`` lists of Keras 2), read without TensorFlow or Keras.

The file is JSON, parsed with the standard library after its nesting is bounded; nothing in
it is evaluated. Each Keras layer becomes one convcalc layer of the same name (a few become
two or three: an activation inside a layer, a separable convolution's depthwise and
pointwise parts), added through :class:`convcalc.graph.GraphBuilder`. Keras keeps tensors
NHWC; convcalc's maps are (C, H, W), so every shape is read with its channels moved first
(a Keras ``(None, 112, 112, 32)`` is ``32x112x112``) and a Keras axis is mapped to
convcalc's. docs/import.md lists every layer and its rule.

Keras' ``summary()`` splits its parameters into trainable and non-trainable ones: batch
norm's moving mean and variance and a Normalization layer's statistics are non-trainable.
convcalc's parameter totals are the learned ones (batch norm's moving statistics are
buffers, :meth:`convcalc.layers.base.LayerKind.buffers`); :func:`keras_counts` gives the
Keras split, and the graph's description states it.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

from convcalc import context
from convcalc.errors import ConvcalcError, LimitError, SpecError, UsageError
from convcalc.graph import INPUT, Graph, GraphBuilder, Layer
from convcalc.layers.activation import Scale, Softmax
from convcalc.layers.base import LayerKind, Shape
from convcalc.layers.conv import Conv, DepthwiseConv, TransposedConv
from convcalc.layers.dense import Dropout, Flatten, Identity, Linear, Reshape
from convcalc.layers.merge import Add, Concat, Multiply
from convcalc.layers.norm import BatchNorm
from convcalc.layers.pool import AvgPool, GlobalAvgPool, GlobalMaxPool, MaxPool
from convcalc.layers.registry import REGISTRY
from convcalc.layers.shape import Pad
from convcalc.schema import limits, loader

#: Deepest nesting of JSON arrays and objects (a to_json() file nests about ten levels).
MAX_JSON_DEPTH = 100
#: Longest integer literal, in digits.
MAX_INT_DIGITS = 100

# Keras' names of the same function (keras.activations): hard_swish is hard_silu.
_KERAS_SYNONYMS = {"hard_silu": "hard_swish"}

_T = TypeVar("_T")

_NAME_AT = re.compile(r'"name"\s*:\s*"((?:[^"\\\n]|\\.)*)"')
_NESTING = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def _kind(cls: type[LayerKind]) -> LayerKind:
    """The registered kind of a class (its instance in the registry)."""
    return REGISTRY[cls.op]


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise LimitError(
            f"integer literal of {len(text)} characters; the limit is {MAX_INT_DIGITS}"
        )
    return int(text)


def _no_constant(text: str) -> Any:
    raise SpecError(f"{text} is not a number JSON allows")


def read_json(path: Path, shown: str) -> tuple[Any, str]:
    """The parsed document and its text, within the size, nesting and literal limits."""
    text = loader.read_text(path, shown)
    depth = 0
    for m in _NESTING.finditer(text):
        token = m.group()
        if token in "[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                line = text.count("\n", 0, m.start()) + 1
                raise LimitError(
                    f"the document nests deeper than {MAX_JSON_DEPTH} levels",
                    file=shown,
                    line=line,
                )
        elif token in "]}":
            depth -= 1
    try:
        return json.loads(text, parse_int=_parse_int, parse_constant=_no_constant), text
    except json.JSONDecodeError as e:
        raise SpecError(f"not valid JSON: {e.msg}", file=shown, line=e.lineno) from None
    except ConvcalcError as e:
        raise e.locate(file=shown) from None


# --- the model's layers as written ------------------------------------------------------------


@dataclass
class _Call:
    """One call of a Keras layer: the tensors it reads (layer names) and its constants."""

    tensors: list[str] = field(default_factory=list)
    constants: list[Any] = field(default_factory=list)


@dataclass
class _KLayer:
    name: str
    class_name: str
    module: str
    config: dict[str, Any]
    calls: list[_Call]
    line: int | None


def _history(tensor: Any, where: str) -> str:
    """The layer a Keras 3 tensor comes from (its ``keras_history``)."""
    config = tensor.get("config")
    history = config.get("keras_history") if isinstance(config, dict) else None
    if not isinstance(history, list) or len(history) != 3 or not isinstance(history[0], str):
        raise SpecError(f"{where}: a tensor without a keras_history [layer, node, index]")
    if history[2] != 0:
        raise SpecError(
            f"{where}: reads output {history[2]} of layer {history[0]!r}; "
            "layers with several outputs are not supported"
        )
    return history[0]


def _collect(value: Any, call: _Call, where: str) -> None:
    """The tensors and constants of a Keras 3 call's arguments, in order."""
    if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
        call.tensors.append(_history(value, where))
    elif isinstance(value, list):
        for v in value:
            _collect(v, call, where)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        call.constants.append(value)
    elif value is not None:
        raise SpecError(f"{where}: an argument of type {type(value).__name__} is not supported")


def _calls(raw: Any, where: str) -> list[_Call]:
    """The calls of a layer: Keras 3 nodes ({"args": [...]}) or Keras 2's lists of
    [layer, node, index, kwargs]."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise SpecError(f"{where}: 'inbound_nodes' must be a list")
    out = []
    for node in raw:
        call = _Call()
        if isinstance(node, dict):
            _collect(node.get("args", []), call, where)
        elif isinstance(node, list):
            for ref in node:
                if not isinstance(ref, list) or len(ref) < 3 or not isinstance(ref[0], str):
                    raise SpecError(f"{where}: an inbound node entry must be [layer, node, index]")
                if ref[2] != 0:
                    raise SpecError(f"{where}: layers with several outputs are not supported")
                call.tensors.append(ref[0])
        else:
            raise SpecError(f"{where}: an inbound node must be an object or a list")
        out.append(call)
    return out


def _layers(doc: Any, text: str, shown: str) -> tuple[str, str, list[_KLayer]]:
    """(model class, model name, layers) of a Functional or Sequential document."""
    if not isinstance(doc, dict) or not isinstance(doc.get("config"), dict):
        raise SpecError("not a Keras model: no 'config' object", file=shown)
    model = doc.get("class_name")
    if model not in ("Functional", "Model", "Sequential"):
        raise SpecError(
            f"Keras model class {model!r} is not supported (only Functional and Sequential)",
            file=shown,
        )
    config = doc["config"]
    raw_layers = config.get("layers")
    if not isinstance(raw_layers, list) or not raw_layers:
        raise SpecError("the model has no 'layers' list", file=shown)
    lines: dict[str, int] = {}
    for m in _NAME_AT.finditer(text):
        lines.setdefault(m.group(1), text.count("\n", 0, m.start()) + 1)
    out = []
    for i, raw in enumerate(raw_layers):
        if not isinstance(raw, dict) or not isinstance(raw.get("config"), dict):
            raise SpecError(f"layer {i} of the model is not an object with a config", file=shown)
        cfg = raw["config"]
        name = raw.get("name", cfg.get("name"))
        if not isinstance(name, str) or not name:
            raise SpecError(f"layer {i} of the model has no name", file=shown)
        class_name = raw.get("class_name")
        if not isinstance(class_name, str):
            raise SpecError("a layer without a class_name", file=shown, layer=name)
        try:
            calls = _calls(raw.get("inbound_nodes"), f"layer {name!r}")
        except SpecError as e:
            raise e.locate(file=shown, line=lines.get(name)) from None
        out.append(
            _KLayer(name, class_name, str(raw.get("module", "")), cfg, calls, lines.get(name))
        )
    title = config.get("name")
    return model, title if isinstance(title, str) else Path(shown).stem, out


# --- shapes and names ------------------------------------------------------------------------


def _from_keras(dims: Sequence[Any]) -> tuple[Any, ...]:
    """A Keras shape without its batch axis in convcalc's order: (H, W, C) -> (C, H, W)."""
    dims = tuple(dims)
    return (dims[2], dims[0], dims[1]) if len(dims) == 3 else dims


def _axis(axis: Any, rank: int, what: str) -> int | None:
    """A Keras axis (counting the batch axis, channels last) as convcalc's: None for the
    channel axis, else the convcalc axis of a map's height or width, or of a vector."""
    if isinstance(axis, list) and len(axis) == 1:
        axis = axis[0]
    if isinstance(axis, bool) or not isinstance(axis, int) or not -(rank + 1) <= axis <= rank:
        raise SpecError(f"{what}: axis {axis!r} is not an axis of a tensor of rank {rank + 1}")
    axis %= rank + 1
    if axis == 0:
        raise SpecError(f"{what}: the batch axis is not supported")
    if axis == rank:
        return None  # channels last
    return axis if rank == 3 else axis - 1


_NAME_BAD = re.compile(r"[^A-Za-z0-9_\-.]")


def _name(raw: str) -> str:
    """A Keras layer name as a convcalc layer name (other characters become '_')."""
    name = _NAME_BAD.sub("_", raw)
    if not re.match(r"[A-Za-z_]", name):
        name = "_" + name
    return name[: limits.MAX_NAME_LENGTH]


# --- the reader ------------------------------------------------------------------------------


class _Reader:
    def __init__(self, graph: Graph, shown: str) -> None:
        self.graph = graph
        self.shown = shown
        self.builder = GraphBuilder(graph, limits.MAX_LAYERS)
        self.tensor: dict[str, str] = {}  # Keras layer name -> convcalc tensor name
        self.layer: _KLayer | None = None
        self.frozen: set[str] = set()  # convcalc layers of non-trainable Keras layers
        self.normalization_weights = 0  # Normalization layers' statistics (non-trainable)

    def fail(self, message: str, hint: str | None = None) -> SpecError:
        layer = self.layer
        return SpecError(
            message,
            file=self.shown,
            line=layer.line if layer else None,
            layer=layer.name if layer else None,
            hint=hint,
        )

    def add(self, name: str, kind: LayerKind, raw: Mapping[str, Any], inputs: Sequence[str]) -> str:
        """One convcalc layer, checked by the builder; errors name the Keras layer."""
        layer = self.layer
        assert layer is not None
        try:
            if name in self.graph.shapes:
                raise SpecError(f"duplicate layer name {name!r}")
            self.builder.check_room()
            context.charge("layer_inputs", len(inputs))  # merge fan-in, per run
            args = kind.bind(raw, {})
            shape = self.builder.shape_of(kind, args, inputs)
        except ConvcalcError as e:
            raise e.locate(file=self.shown, line=layer.line, layer=layer.name) from None
        self.builder.append(
            Layer(name, kind, args, tuple(inputs), shape, layer.line, 1, self.shown)
        )
        if layer.config.get("trainable") is False:
            self.frozen.add(name)
        return name

    def shape(self, tensor: str) -> Shape:
        return self.graph.shapes[tensor]

    def activation(self, base: str, name: Any, source: str) -> str:
        """The activation named in a layer's ``activation`` (or an Activation layer) after
        ``source``; Keras' "linear" is none."""
        if not isinstance(name, str):
            raise self.fail(f"activation {name!r} is not supported (only Keras' built-in names)")
        # Keras calls the identity activation "linear", the same word as convcalc's fully
        # connected op: it adds no layer.
        if name == Linear.op:
            return source
        return self.add(base, self.activation_kind(name), {}, [source])

    def activation_kind(self, name: str) -> LayerKind:
        """The kind of a Keras activation name: convcalc's op of the same name, or of the
        name without underscores (hard_swish, hard_sigmoid)."""
        keras = _KERAS_SYNONYMS.get(name, name)
        for key in (keras, keras.replace("_", "")):
            kind = REGISTRY.get(key)
            if kind is not None and kind.category == "activation":
                return kind
        raise self.fail(f"activation {name!r} is not supported")

    def config(self, key: str, default: Any = None) -> Any:
        assert self.layer is not None
        return self.layer.config.get(key, default)

    def fields(self, cls: type[_T]) -> _T:
        """The config keys named by a dataclass's fields (its defaults where absent)."""
        assert self.layer is not None
        given = {
            f.name: self.layer.config[f.name] for f in fields(cls) if f.name in self.layer.config
        }
        return cls(**given)

    def channels_last(self) -> None:
        fmt = self.config("data_format")
        if fmt not in (None, "channels_last"):
            raise self.fail(f"data_format {fmt!r} is not supported (only channels_last)")

    def padding(self) -> str:
        padding = self.config("padding", "valid")
        if padding not in ("valid", "same"):
            raise self.fail(f"padding {padding!r} is not supported (only valid and same)")
        return padding

    # --- one method per Keras layer class ------------------------------------------------

    def conv2d(self, x: str) -> str:
        self.channels_last()
        name = _name(self.layer_name)
        out = self.add(
            name,
            _kind(Conv),
            {
                "out": self.config("filters"),
                "k": self.config("kernel_size"),
                "stride": self.config("strides", 1),
                "padding": self.padding(),
                "dilation": self.config("dilation_rate", 1),
                "groups": self.config("groups", 1),
                "bias": bool(self.config("use_bias", True)),
            },
            [x],
        )
        return self.activation_after(name, out)

    def activation_after(self, name: str, out: str) -> str:
        act = self.config("activation", Linear.op)
        return self.activation(f"{name}.{act}", act, out)

    def depthwise(self, name: str, x: str, bias: bool) -> str:
        return self.add(
            name,
            _kind(DepthwiseConv),
            {
                "k": self.config("kernel_size"),
                "stride": self.config("strides", 1),
                "padding": self.padding(),
                "dilation": self.config("dilation_rate", 1),
                "multiplier": self.config("depth_multiplier", 1),
                "bias": bias,
            },
            [x],
        )

    def depthwiseconv2d(self, x: str) -> str:
        self.channels_last()
        name = _name(self.layer_name)
        out = self.depthwise(name, x, bool(self.config("use_bias", True)))
        return self.activation_after(name, out)

    def separableconv2d(self, x: str) -> str:
        # Keras: a depthwise kernel without bias, then a 1x1 pointwise kernel with the bias.
        self.channels_last()
        name = _name(self.layer_name)
        dw = self.depthwise(f"{name}.depthwise", x, False)
        pw = self.add(
            name,
            _kind(Conv),
            {"out": self.config("filters"), "k": 1, "bias": bool(self.config("use_bias", True))},
            [dw],
        )
        return self.activation_after(name, pw)

    def conv2dtranspose(self, x: str) -> str:
        self.channels_last()
        name = _name(self.layer_name)
        k = _pair(self.config("kernel_size"))
        s = _pair(self.config("strides", 1))
        d = _pair(self.config("dilation_rate", 1))
        given = self.config("output_padding")
        padding = self.padding()
        crop, extra = [], []
        for axis in range(2):
            eff = d[axis] * (k[axis] - 1) + 1
            if given is not None:
                # Keras: (i - 1) s + eff - 2 pad + output_padding, pad = eff // 2 for same.
                pad = eff // 2 if padding == "same" else 0
                crop += [pad, pad]
                extra.append(_pair(given)[axis])
            elif padding == "same":  # i * s: crop eff - s, or add s - eff rows
                total = eff - s[axis]
                crop += [max(total, 0) // 2, max(total, 0) - max(total, 0) // 2]
                extra.append(max(-total, 0))
            else:  # valid: i * s + max(eff - s, 0)
                crop += [0, 0]
                extra.append(max(s[axis] - eff, 0))
        out = self.add(
            name,
            _kind(TransposedConv),
            {
                "out": self.config("filters"),
                "k": list(k),
                "stride": list(s),
                "padding": crop,
                "output_padding": extra,
                "dilation": list(d),
                "bias": bool(self.config("use_bias", True)),
            },
            [x],
        )
        return self.activation_after(name, out)

    def dense(self, x: str) -> str:
        name = _name(self.layer_name)
        out = self.add(
            name,
            _kind(Linear),
            {
                "out": self.config("units"),
                "bias": bool(self.config("use_bias", True)),
                "per_position": len(self.shape(x)) == 3,
            },
            [x],
        )
        return self.activation_after(name, out)

    def batchnormalization(self, x: str) -> str:
        rank = len(self.shape(x))
        if _axis(self.config("axis", -1), rank, "BatchNormalization") is not None:
            raise self.fail("batch norm over an axis other than the channels is not supported")
        affine = self.fields(_Affine)
        if not (affine.center and affine.scale):
            raise self.fail(
                "batch norm without its scale or center is not supported "
                "(convcalc's bn learns both)"
            )
        return self.add(_name(self.layer_name), _kind(BatchNorm), {}, [x])

    def activation_layer(self, x: str) -> str:
        act = self.config("activation")
        if act == Linear.op:
            return self.add(_name(self.layer_name), _kind(Identity), {}, [x])
        return self.activation(_name(self.layer_name), act, x)

    def relu(self, x: str) -> str:
        top, slope, threshold = (
            self.config("max_value"),
            self.config("negative_slope", 0),
            self.config("threshold", 0),
        )
        if slope or threshold:
            raise self.fail("ReLU with a negative_slope or threshold is not supported")
        if top is None:
            kind = self.activation_kind(self.layer_class.lower())
        elif top == 6:  # ReLU capped at 6: Keras' relu6
            kind = self.activation_kind(f"{self.layer_class.lower()}{int(top)}")
        else:
            raise self.fail(f"ReLU with max_value {top} is not supported (only 6 or none)")
        return self.add(_name(self.layer_name), kind, {}, [x])

    def softmax(self, x: str) -> str:
        axis = _axis(self.config("axis", -1), len(self.shape(x)), "Softmax")
        return self.add(_name(self.layer_name), _kind(Softmax), {"axis": axis}, [x])

    def zeropadding2d(self, x: str) -> str:
        self.channels_last()
        raw = self.config("padding", 1)
        if isinstance(raw, int):
            sides = [raw] * 4
        elif isinstance(raw, list) and all(isinstance(v, int) for v in raw) and len(raw) == 2:
            sides = [raw[0], raw[0], raw[1], raw[1]]
        elif (
            isinstance(raw, list)
            and len(raw) == 2
            and all(isinstance(v, list) and len(v) == 2 for v in raw)
        ):
            sides = [raw[0][0], raw[0][1], raw[1][0], raw[1][1]]
        else:
            raise self.fail(f"ZeroPadding2D padding {raw!r} is not supported")
        return self.add(_name(self.layer_name), _kind(Pad), {"padding": sides}, [x])

    def pooling(self, x: str, kind: LayerKind) -> str:
        self.channels_last()
        size = self.config("pool_size", 2)
        strides = self.config("strides")
        return self.add(
            _name(self.layer_name),
            kind,
            {"k": size, "stride": size if strides is None else strides, "padding": self.padding()},
            [x],
        )

    def global_pooling(self, x: str, kind: LayerKind) -> str:
        self.channels_last()
        name = _name(self.layer_name)
        out = self.add(name, kind, {}, [x])
        if self.config("keepdims", False):
            return out
        return self.add(f"{name}.flatten", _kind(Flatten), {}, [out])

    def merge(self, xs: list[str], kind: LayerKind) -> str:
        return self.add(_name(self.layer_name), kind, {}, xs)

    def concatenate(self, xs: list[str]) -> str:
        axis = _axis(self.config("axis", -1), len(self.shape(xs[0])), "Concatenate")
        return self.add(_name(self.layer_name), _kind(Concat), {"axis": axis}, xs)

    def reshape(self, x: str) -> str:
        target = self.config("target_shape")
        if not isinstance(target, list) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in target
        ):
            raise self.fail(f"Reshape target_shape {target!r} is not a list of sizes")
        total = 1
        for v in self.shape(x):
            total *= v
        known = 1
        for v in target:
            known *= v if v != -1 else 1
        if target.count(-1) > 1 or any(v == 0 or v < -1 for v in target) or known == 0:
            raise self.fail(f"Reshape target_shape {target!r} is not supported")
        dims = [total // known if v == -1 else v for v in target]
        return self.add(
            _name(self.layer_name), _kind(Reshape), {"shape": list(_from_keras(dims))}, [x]
        )

    def flatten(self, x: str) -> str:
        return self.add(_name(self.layer_name), _kind(Flatten), {}, [x])

    def dropout(self, x: str) -> str:
        rate = self.config("rate", 0.5)
        return self.add(_name(self.layer_name), _kind(Dropout), {"p": rate}, [x])

    def rescaling(self, x: str) -> str:
        # x * scale + offset: one multiply per value, and an add when there is an offset
        # (convcalc's scale kind: one operation per value, no parameters).
        name = _name(self.layer_name)
        rescale = self.fields(_Rescale)
        raw = {"factor": rescale.scale} if isinstance(rescale.scale, (int, float)) else {}
        out = self.add(name, _kind(Scale), raw, [x])
        if rescale.offset:
            out = self.add(f"{name}.offset", _kind(Scale), {}, [out])
        return out

    def normalization(self, x: str) -> str:
        # (x - mean) / sqrt(variance): a subtraction and a division per value; the mean,
        # variance and count are non-trainable weights unless given as constants.
        shape = self.shape(x)
        if _axis(self.config("axis", -1), len(shape), "Normalization") is not None:
            raise self.fail("Normalization over an axis other than the channels is not supported")
        name = _name(self.layer_name)
        centred = self.add(f"{name}.mean", _kind(Scale), {}, [x])
        if self.config("mean") is None:
            channels = shape[0] if len(shape) == 3 else shape[-1]
            self.normalization_weights += 2 * channels + 1
        return self.add(name, _kind(Scale), {}, [centred])

    def numpy_op(self, call: _Call) -> str:
        """Keras' operations on tensors (x + 3.0, x * (1 / 6): MobileNetV3's hard sigmoid
        written out): two tensors merge; a tensor and a constant is one operation per value
        (convcalc's scale kind)."""
        name = _name(self.layer_name)
        cls = self.layer_class
        if len(call.tensors) >= 2 and not call.constants and cls in ("Add", "Multiply"):
            return self.merge(call.tensors, _kind(Add if cls == "Add" else Multiply))
        constant = len(call.tensors) == 1 and len(call.constants) == 1
        if constant and cls in ("Add", "Subtract", "Multiply", "Divide", "TrueDivide"):
            raw = {"factor": call.constants[0]} if cls == "Multiply" else {}
            return self.add(name, _kind(Scale), raw, call.tensors)
        raise self.fail(f"Keras operation {cls!r} on these arguments is not supported")

    @property
    def layer_name(self) -> str:
        assert self.layer is not None
        return self.layer.name

    @property
    def layer_class(self) -> str:
        assert self.layer is not None
        return self.layer.class_name


@dataclass(frozen=True)
class _Affine:
    """A batch norm's learned parts (its config's ``center`` and ``scale``)."""

    center: bool = True
    scale: bool = True


@dataclass(frozen=True)
class _Rescale:
    """A Rescaling layer's config: x * scale + offset (scale a number or one per channel)."""

    scale: Any = 1
    offset: Any = 0


def _pair(value: Any) -> tuple[int, int]:
    if isinstance(value, int) and not isinstance(value, bool):
        return value, value
    if isinstance(value, list) and len(value) == 2 and all(isinstance(v, int) for v in value):
        return value[0], value[1]
    raise SpecError(f"{value!r} is not a size or a pair of sizes")


# Keras class -> the method that reads it (one input tensor unless a merge).
_ONE: dict[str, Callable[[_Reader, str], str]] = {
    "Conv2D": _Reader.conv2d,
    "DepthwiseConv2D": _Reader.depthwiseconv2d,
    "SeparableConv2D": _Reader.separableconv2d,
    "Conv2DTranspose": _Reader.conv2dtranspose,
    "Dense": _Reader.dense,
    "BatchNormalization": _Reader.batchnormalization,
    "Activation": _Reader.activation_layer,
    "ReLU": _Reader.relu,
    "Softmax": _Reader.softmax,
    "ZeroPadding2D": _Reader.zeropadding2d,
    "MaxPooling2D": lambda r, x: r.pooling(x, _kind(MaxPool)),
    "AveragePooling2D": lambda r, x: r.pooling(x, _kind(AvgPool)),
    "GlobalAveragePooling2D": lambda r, x: r.global_pooling(x, _kind(GlobalAvgPool)),
    "GlobalMaxPooling2D": lambda r, x: r.global_pooling(x, _kind(GlobalMaxPool)),
    "Reshape": _Reader.reshape,
    "Flatten": _Reader.flatten,
    "Dropout": _Reader.dropout,
    "SpatialDropout2D": _Reader.dropout,
    "Rescaling": _Reader.rescaling,
    "Normalization": _Reader.normalization,
}
_MERGE: dict[str, Callable[[_Reader, list[str]], str]] = {
    "Add": lambda r, xs: r.merge(xs, _kind(Add)),
    "Multiply": lambda r, xs: r.merge(xs, _kind(Multiply)),
    "Concatenate": _Reader.concatenate,
}
#: Every Keras layer class the reader knows (docs/import.md lists them).
SUPPORTED = ("InputLayer", *_ONE, *_MERGE)


def _input_shape(layer: _KLayer, given: Shape | None, shown: str) -> Shape:
    dims = layer.config.get("batch_shape", layer.config.get("batch_input_shape"))
    if not isinstance(dims, list) or len(dims) < 2:
        raise SpecError(
            "the input layer has no batch_shape", file=shown, line=layer.line, layer=layer.name
        )
    shape = _from_keras(dims[1:])
    if any(v is not None and (isinstance(v, bool) or not isinstance(v, int)) for v in shape):
        raise SpecError(
            f"the input's batch_shape {json.dumps(dims)} holds a size that is not a whole number",
            file=shown,
            line=layer.line,
            layer=layer.name,
        )
    if given is not None:
        if len(given) != len(shape):
            raise UsageError(
                f"--input has {len(given)} sizes; the model's input has {len(shape)}",
                file=shown,
            )
        return tuple(given)
    if any(v is None for v in shape):
        raise SpecError(
            f"the input's size is not fixed: batch_shape {json.dumps(dims)}",
            file=shown,
            line=layer.line,
            layer=layer.name,
            hint="give it with --input (e.g. --input 3x224x224: channels first)",
        )
    return shape


def load(
    path: Path,
    overrides: Mapping[str, Any],
    input_shape: Shape | None,
    free: tuple[str, ...],
    symbolic: bool,
) -> Graph:
    """The graph of a Keras model file (it declares no parameters)."""
    shown = str(path)
    if overrides or free:
        raise UsageError("a Keras model has no parameters to set or free", file=shown)
    graph, _ = _build(path, shown, input_shape)
    return graph


def keras_counts(path: Path, input_shape: Shape | None = None) -> tuple[int, int]:
    """(trainable, non-trainable) parameters as Keras' ``summary()`` counts them."""
    _, counts = _build(path, str(path), input_shape)
    return counts


def _build(path: Path, shown: str, input_shape: Shape | None) -> tuple[Graph, tuple[int, int]]:
    doc, text = read_json(path, shown)
    model, title, layers = _layers(doc, text, shown)
    if model == "Sequential":
        layers = _chain(layers, doc, shown)
    first = layers[0]
    if first.class_name != "InputLayer":
        raise SpecError(
            "the model has no InputLayer first",
            file=shown,
            line=first.line,
            layer=first.name,
            hint="build it on keras.Input(shape), so that its input size is written",
        )
    shape = _input_shape(first, input_shape, shown)
    graph = Graph(
        name=title,
        source=shown,
        file=shown,
        citation="",
        description="",
        bindings={},
        input_shape=shape,
    )
    reader = _Reader(graph, shown)
    reader.tensor[first.name] = INPUT
    for layer in layers[1:]:
        reader.layer = layer
        if layer.class_name == "InputLayer":
            raise reader.fail("a second input: models with several inputs are not supported")
        if len(layer.calls) != 1:
            raise reader.fail(
                f"the layer is called {len(layer.calls)} times; shared layers are not supported"
                if layer.calls
                else "the layer is never called"
            )
        call = layer.calls[0]
        missing = [t for t in call.tensors if t not in reader.tensor]
        if missing:
            raise reader.fail(f"reads {missing[0]!r}, which no earlier layer makes")
        try:
            reader.tensor[layer.name] = _read_layer(reader, layer, call)
        except ConvcalcError as e:
            raise e.locate(file=shown, line=layer.line, layer=layer.name) from None
    if not graph.layers:
        raise SpecError("the model has no layers after its input", file=shown)
    counts = _counts(graph, reader)
    trainable, frozen = counts
    graph.description = (
        f"Keras {model} model: {trainable + frozen:,} params as Keras counts them, "
        f"{trainable:,} trainable and {frozen:,} non-trainable (batch norm's moving "
        "statistics, Normalization's statistics and frozen layers)"
    )
    return graph, counts


def _read_layer(reader: _Reader, layer: _KLayer, call: _Call) -> str:
    """The convcalc tensor a Keras layer's call makes (its last convcalc layer)."""
    xs = [reader.tensor[t] for t in call.tensors]
    if not xs:
        raise reader.fail("the layer's call reads no tensor")
    if layer.module.startswith("keras.src.ops"):
        return reader.numpy_op(_Call(xs, call.constants))
    if layer.class_name in _MERGE and not call.constants:
        return _MERGE[layer.class_name](reader, xs)
    if layer.class_name in _ONE and len(xs) == 1 and not call.constants:
        return _ONE[layer.class_name](reader, xs[0])
    raise reader.fail(
        f"Keras layer {layer.class_name!r} is not supported",
        hint="docs/import.md lists the Keras layers convcalc reads",
    )


def _chain(layers: list[_KLayer], doc: dict[str, Any], shown: str) -> list[_KLayer]:
    """A Sequential model's layers, each reading the one before."""
    out = list(layers)
    if out[0].class_name != "InputLayer":
        dims = doc["config"].get("build_input_shape")
        if dims is None:
            build = out[0].config.get("batch_input_shape") or out[0].config.get("batch_shape")
            dims = build
        if isinstance(dims, list):
            out.insert(0, _KLayer("input_layer", "InputLayer", "", {"batch_shape": dims}, [], None))
    for before, layer in itertools.pairwise(out):
        layer.calls = [_Call([before.name])]
    return out


def _counts(graph: Graph, reader: _Reader) -> tuple[int, int]:
    """Keras' trainable and non-trainable parameter counts of the graph."""
    trainable = frozen = 0
    for layer in graph.layers:
        xs = [graph.shapes[s] for s in layer.inputs]
        params = layer.kind.costs(layer.args, xs, layer.shape).params
        if layer.name in reader.frozen:
            frozen += params
        else:
            trainable += params
        frozen += layer.kind.buffers(layer.args, xs, layer.shape)
    return trainable, frozen + reader.normalization_weights


def declared_params(path: Path) -> list[str]:
    """A Keras model has no parameters for ``--set``."""
    return []
