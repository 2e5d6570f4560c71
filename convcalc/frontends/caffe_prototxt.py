"""Caffe's deploy prototxt: the network of ``layer {}`` blocks (and the legacy ``layers {}``
blocks with ``input_dim``), read into the graph convcalc analyses.

:mod:`convcalc.frontends.caffe_text` parses the protobuf text format; this module walks the
layers in file order, following blobs by name: a layer whose top is its bottom (in place:
ReLU, Dropout, BatchNorm and Scale) replaces the blob, so a later reader of the name reads
its output. Caffe's blobs are N x C x H x W; convcalc drops the batch axis. Pooling rounds
up as Caffe does (``round_mode: CEIL``, its default); a BatchNorm followed by its Scale with
a bias is convcalc's ``bn`` (Caffe keeps the statistics in BatchNorm and the learned scale
and shift in Scale). docs/import.md lists every layer type and its rule.

Each field read has Caffe's default from ``caffe.proto`` (the dataclasses below, one per
parameter message, field names as in the proto).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import MISSING, dataclass, fields
from fractions import Fraction
from pathlib import Path
from typing import Any, TypeVar

from convcalc import context
from convcalc.errors import ConvcalcError, SpecError, UsageError
from convcalc.frontends.caffe_text import Enum, Field, Message, parse
from convcalc.graph import INPUT, Graph, GraphBuilder, Layer
from convcalc.layers.base import LayerKind, Shape
from convcalc.layers.conv import Conv
from convcalc.layers.dense import Dropout, Flatten, Linear, Reshape
from convcalc.layers.merge import Add, Concat, Multiply
from convcalc.layers.norm import LRN, BatchNorm
from convcalc.layers.pool import AvgPool, GlobalAvgPool, GlobalMaxPool, MaxPool
from convcalc.layers.registry import REGISTRY
from convcalc.schema import limits, loader

_T = TypeVar("_T")

# The legacy (V1) layer types, an enum, by their V2 names.
_V1_TYPES = {
    "CONVOLUTION": "Convolution",
    "INNER_PRODUCT": "InnerProduct",
    "POOLING": "Pooling",
    "RELU": "ReLU",
    "SIGMOID": "Sigmoid",
    "TANH": "TanH",
    "LRN": "LRN",
    "DROPOUT": "Dropout",
    "SOFTMAX": "Softmax",
    "CONCAT": "Concat",
    "ELTWISE": "Eltwise",
    "FLATTEN": "Flatten",
    "SPLIT": "Split",
}


# --- the parameter messages read, with caffe.proto's defaults ------------------------------


@dataclass(frozen=True)
class ConvolutionParameter:
    num_output: int = 0
    bias_term: bool = True
    pad: tuple[int, ...] = ()
    kernel_size: tuple[int, ...] = ()
    stride: tuple[int, ...] = ()
    dilation: tuple[int, ...] = ()
    pad_h: int | None = None
    pad_w: int | None = None
    kernel_h: int | None = None
    kernel_w: int | None = None
    stride_h: int | None = None
    stride_w: int | None = None
    group: int = 1
    axis: int = 1


@dataclass(frozen=True)
class PoolingParameter:
    pool: str = "MAX"
    pad: int = 0
    pad_h: int | None = None
    pad_w: int | None = None
    kernel_size: int | None = None
    kernel_h: int | None = None
    kernel_w: int | None = None
    stride: int = 1
    stride_h: int | None = None
    stride_w: int | None = None
    global_pooling: bool = False
    round_mode: str = "CEIL"


@dataclass(frozen=True)
class InnerProductParameter:
    num_output: int = 0
    bias_term: bool = True
    axis: int = 1


@dataclass(frozen=True)
class LRNParameter:
    local_size: int = 5
    norm_region: str = "ACROSS_CHANNELS"


@dataclass(frozen=True)
class EltwiseParameter:
    operation: str = "SUM"
    coeff: tuple[Fraction, ...] = ()


@dataclass(frozen=True)
class ConcatParameter:
    axis: int = 1
    concat_dim: int | None = None


@dataclass(frozen=True)
class AxisParameter:
    """The ``axis`` of softmax_param and the axes of flatten_param."""

    axis: int = 1
    end_axis: int = -1


@dataclass(frozen=True)
class ReLUParameter:
    negative_slope: Fraction = Fraction(0)


@dataclass(frozen=True)
class ScaleParameter:
    axis: int = 1
    num_axes: int = 1
    bias_term: bool = False


@dataclass(frozen=True)
class DropoutParameter:
    dropout_ratio: Fraction = Fraction(1, 2)


@dataclass(frozen=True)
class ReshapeParameter:
    axis: int = 0
    num_axes: int = -1


def _scalar(f: Field, like: Any, shown: str) -> Any:
    """A field's value checked against the type of its default."""
    v = f.value
    if isinstance(like, bool):
        if isinstance(v, Enum) and v in ("true", "false"):
            return v == "true"
        if isinstance(v, int) and v in (0, 1):
            return bool(v)
    elif isinstance(like, str):
        if isinstance(v, Enum):
            return str(v)
    elif isinstance(like, Fraction):
        if isinstance(v, (int, Fraction)):
            return Fraction(v)
    elif isinstance(v, int):
        return v
    raise SpecError(
        f"field {f.name!r} has the value {v!r}, which is not a {_type(like)}",
        file=shown,
        line=f.line,
    )


def _type(like: Any) -> str:
    if isinstance(like, bool):
        return "true or false"
    if isinstance(like, str):
        return "name"
    return "number" if isinstance(like, Fraction) else "whole number"


def _read(msg: Message | None, cls: type[_T], shown: str) -> _T:
    """A parameter message as its dataclass (Caffe's defaults for absent fields; other
    fields of the message, such as weight fillers, are not read)."""
    values: dict[str, Any] = {}
    for spec in fields(cls):  # type: ignore[arg-type]
        found = msg.all(spec.name) if msg is not None else []
        if not found:
            continue
        default = spec.default
        if default is MISSING or isinstance(default, tuple):
            like: Any = Fraction(0) if spec.name == "coeff" else 0
            values[spec.name] = tuple(_scalar(f, like, shown) for f in found)
        else:
            like = 0 if default is None else default
            values[spec.name] = _scalar(found[-1], like, shown)
    return cls(**values)


# --- the network --------------------------------------------------------------------------


@dataclass
class _CLayer:
    name: str
    type: str
    bottoms: list[str]
    tops: list[str]
    msg: Message


_NAME_BAD = re.compile(r"[^A-Za-z0-9_\-.]")


def _name(raw: str) -> str:
    """A Caffe layer name as a convcalc layer name: '/' (GoogLeNet's inception_3a/1x1)
    nests as '.', other characters become '_'."""
    name = _NAME_BAD.sub("_", raw.replace("/", "."))
    if not re.match(r"[A-Za-z_]", name):
        name = "_" + name
    return name[: limits.MAX_NAME_LENGTH]


def _strings(msg: Message, name: str, shown: str) -> list[str]:
    out = []
    for f in msg.all(name):
        if not isinstance(f.value, str) or isinstance(f.value, Enum):
            raise SpecError(f"{name!r} must be a quoted name", file=shown, line=f.line)
        out.append(f.value)
    return out


def _excluded(msg: Message) -> bool:
    """Whether a layer runs only in training: include { phase: TRAIN } or
    exclude { phase: TEST } (a deploy network is the TEST phase)."""
    for rule, phase in (("include", "TRAIN"), ("exclude", "TEST")):
        for f in msg.all(rule):
            if isinstance(f.value, Message):
                got = f.value.last("phase")
                if got is not None and got.value == phase:
                    return True
    return False


def _dims(msg: Message | None, shown: str) -> list[int]:
    """The ``dim`` values of a BlobShape message."""
    if msg is None:
        return []
    out = []
    for f in msg.all("dim"):
        if not isinstance(f.value, int) or isinstance(f.value, bool):
            raise SpecError("'dim' must be a whole number", file=shown, line=f.line)
        out.append(f.value)
    return out


class _Reader:
    def __init__(self, net: Message, shown: str, given: Shape | None) -> None:
        self.net = net
        self.shown = shown
        self.given = given
        self.blob: dict[str, str] = {}  # Caffe blob -> convcalc tensor
        self.current: _CLayer | None = None
        self.graph: Graph | None = None
        self.builder: GraphBuilder | None = None

    def fail(self, message: str, line: int | None = None, hint: str | None = None) -> SpecError:
        layer = self.current
        return SpecError(
            message,
            file=self.shown,
            line=line if line is not None else (layer.msg.line if layer else None),
            layer=layer.name if layer else None,
            hint=hint,
        )

    # --- reading the file's layers -------------------------------------------------------

    def layers(self) -> list[_CLayer]:
        v2, v1 = self.net.all("layer"), self.net.all("layers")
        if v2 and v1:
            raise SpecError(
                "the file mixes 'layer' and legacy 'layers' blocks",
                file=self.shown,
                line=v1[0].line,
            )
        out = []
        for f in v2 or v1:
            msg = f.value
            if not isinstance(msg, Message):
                raise SpecError(
                    f"{f.name!r} must be a {{ ... }} block", file=self.shown, line=f.line
                )
            if _excluded(msg):
                continue
            names = _strings(msg, "name", self.shown)
            name = names[-1] if names else f"layer{len(out)}"
            kind = msg.last("type")
            if kind is None:
                raise SpecError(
                    "a layer without a type", file=self.shown, line=msg.line, layer=name
                )
            if isinstance(kind.value, Enum):
                if kind.value not in _V1_TYPES:
                    raise SpecError(
                        f"layer type {kind.value!s} is not supported",
                        file=self.shown,
                        line=kind.line,
                        layer=name,
                        hint="docs/import.md lists the Caffe layers convcalc reads",
                    )
                type_name = _V1_TYPES[kind.value]
            elif isinstance(kind.value, str):
                type_name = kind.value
            else:
                raise SpecError(
                    "'type' must be a name", file=self.shown, line=kind.line, layer=name
                )
            out.append(
                _CLayer(
                    name,
                    type_name,
                    _strings(msg, "bottom", self.shown),
                    _strings(msg, "top", self.shown),
                    msg,
                )
            )
        if not out:
            raise SpecError("the file has no layers", file=self.shown)
        return out

    def input_shape(self, layers: list[_CLayer]) -> tuple[str, Shape, list[_CLayer]]:
        """The input blob, its shape without the batch axis, and the layers after it."""
        names = _strings(self.net, "input", self.shown)
        dims: list[int] = []
        declared = self.net.last("input")
        line = declared.line if declared is not None else None
        if names:
            dims = [f.value for f in self.net.all("input_dim")]
            shapes = self.net.all("input_shape")
            if not dims and shapes and isinstance(shapes[0].value, Message):
                dims = _dims(shapes[0].value, self.shown)
            if len(names) > 1:
                raise SpecError(
                    "networks with several inputs are not supported", file=self.shown, line=line
                )
            blob = names[0]
        else:
            first = layers[0]
            if first.type not in ("Input", "DummyData"):
                raise SpecError(
                    f"the network has no input: no 'input' field and its first layer is a "
                    f"{first.type!r}, not an Input layer",
                    file=self.shown,
                    line=first.msg.line,
                    layer=first.name,
                    hint="a deploy file names its input; a train_val file's data layers are "
                    "not read",
                )
            self.current = first
            if len(first.tops) != 1:
                raise self.fail("an Input layer with several tops is not supported")
            param = first.msg.last("input_param") or first.msg.last("dummy_data_param")
            shape = (
                param.value.last("shape") if param and isinstance(param.value, Message) else None
            )
            dims = _dims(
                shape.value if shape and isinstance(shape.value, Message) else None, self.shown
            )
            blob, line, layers = first.tops[0], first.msg.line, layers[1:]
        if self.given is not None:
            return blob, tuple(self.given), layers
        if len(dims) < 2 or any(not isinstance(d, int) or d < 1 for d in dims):
            raise SpecError(
                f"the input's shape {dims} is not N x C x H x W (or N x D)",
                file=self.shown,
                line=line,
                hint="give it with --input CxHxW",
            )
        return blob, tuple(dims[1:]), layers

    # --- building -----------------------------------------------------------------------

    def add(
        self,
        name: str,
        kind: LayerKind,
        raw: Mapping[str, Any],
        inputs: Sequence[str],
        line: int | None = None,
    ) -> str:
        assert self.builder is not None and self.graph is not None and self.current is not None
        layer = self.current
        line = line or layer.msg.line
        try:
            if name in self.graph.shapes:
                raise SpecError(f"duplicate layer name {name!r}")
            self.builder.check_room()
            context.charge("layer_inputs", len(inputs))  # merge fan-in, per run
            args = kind.bind(raw, {})
            shape = self.builder.shape_of(kind, args, inputs)
        except ConvcalcError as e:
            raise e.locate(file=self.shown, line=line, layer=layer.name) from None
        self.builder.append(Layer(name, kind, args, tuple(inputs), shape, line, 1, self.shown))
        return name

    def param(self, field_name: str, cls: type[_T]) -> _T:
        assert self.current is not None
        f = self.current.msg.last(field_name)
        if f is not None and not isinstance(f.value, Message):
            raise self.fail(f"{field_name!r} must be a {{ ... }} block", f.line)
        return _read(f.value if f is not None else None, cls, self.shown)

    def shape(self, tensor: str) -> Shape:
        assert self.graph is not None
        return self.graph.shapes[tensor]

    def window(
        self, size: tuple[int, ...], h: int | None, w: int | None, default: int, what: str
    ) -> list[int]:
        """[h, w] of a conv's kernel, stride or pad: the _h/_w fields, else one value for
        both axes or one per axis, else Caffe's default."""
        if h is not None or w is not None:
            if h is None or w is None:
                raise self.fail(f"{what} must be given together")
            return [h, w]
        if not size:
            return [default, default]
        if len(size) == 1:
            return [size[0], size[0]]
        if len(size) == 2:
            return list(size)
        raise self.fail(f"{len(size)} sizes of a window: only 2-D layers are supported")

    def convolution(self, x: str) -> str:
        p = self.param("convolution_param", ConvolutionParameter)
        if p.num_output < 1:
            raise self.fail("a Convolution needs num_output")
        if p.axis != 1:
            raise self.fail(f"a Convolution over axis {p.axis} is not supported")
        if not p.kernel_size and p.kernel_h is None:
            raise self.fail("a Convolution needs kernel_size (or kernel_h and kernel_w)")
        ph, pw = self.window(p.pad, p.pad_h, p.pad_w, 0, "pad_h and pad_w")
        raw = {
            "out": p.num_output,
            "k": self.window(p.kernel_size, p.kernel_h, p.kernel_w, 1, "kernel_h and kernel_w"),
            "stride": self.window(p.stride, p.stride_h, p.stride_w, 1, "stride_h and stride_w"),
            "padding": [ph, pw],
            "dilation": self.window(p.dilation, None, None, 1, "dilation"),
            "groups": p.group,
            "bias": p.bias_term,
        }
        return self.add(self.out_name(), _kind(Conv), raw, [x])

    def innerproduct(self, x: str) -> str:
        p = self.param("inner_product_param", InnerProductParameter)
        if p.num_output < 1:
            raise self.fail("an InnerProduct needs num_output")
        if p.axis != 1:
            raise self.fail(f"an InnerProduct over axis {p.axis} is not supported")
        name = self.out_name()
        if len(self.shape(x)) > 1:  # Caffe flattens everything after the batch axis
            x = self.add(f"{name}.flatten", _kind(Flatten), {}, [x])
        return self.add(name, _kind(Linear), {"out": p.num_output, "bias": p.bias_term}, [x])

    def pooling(self, x: str) -> str:
        p = self.param("pooling_param", PoolingParameter)
        if p.pool not in ("MAX", "AVE"):
            raise self.fail(f"pooling {p.pool} is not supported (only MAX and AVE)")
        if p.global_pooling:
            kind = GlobalMaxPool if p.pool == "MAX" else GlobalAvgPool
            return self.add(self.out_name(), _kind(kind), {}, [x])
        if p.kernel_size is None and p.kernel_h is None:
            raise self.fail("a Pooling needs kernel_size (or global_pooling)")
        size = (p.kernel_size,) if p.kernel_size is not None else ()
        raw = {
            "k": self.window(size, p.kernel_h, p.kernel_w, 1, "kernel_h and kernel_w"),
            "stride": self.window((p.stride,), p.stride_h, p.stride_w, 1, "stride_h and stride_w"),
            "padding": self.window((p.pad,), p.pad_h, p.pad_w, 0, "pad_h and pad_w"),
            "ceil_mode": p.round_mode == "CEIL",
        }
        kind = MaxPool if p.pool == "MAX" else AvgPool
        return self.add(self.out_name(), _kind(kind), raw, [x])

    def activation(self, x: str) -> str:
        assert self.current is not None
        if self.current.type == "ReLU":
            slope = self.param("relu_param", ReLUParameter).negative_slope
            if slope:
                raise self.fail(f"a ReLU with negative_slope {slope} is not supported")
        if self.current.type == "Softmax":
            p = self.param("softmax_param", AxisParameter)
            if p.axis != 1:
                raise self.fail(f"a Softmax over axis {p.axis} is not supported")
        # Caffe's ReLU, Sigmoid, TanH and Softmax are convcalc's kinds of the same name.
        return self.add(self.out_name(), REGISTRY[self.current.type.lower()], {}, [x])

    def lrn(self, x: str) -> str:
        p = self.param("lrn_param", LRNParameter)
        if p.norm_region != "ACROSS_CHANNELS":
            raise self.fail(f"LRN {p.norm_region} is not supported (only ACROSS_CHANNELS)")
        return self.add(self.out_name(), _kind(LRN), {"size": p.local_size}, [x])

    def dropout(self, x: str) -> str:
        ratio = self.param("dropout_param", DropoutParameter).dropout_ratio
        return self.add(self.out_name(), _kind(Dropout), {"p": str(ratio)}, [x])

    def flatten(self, x: str) -> str:
        p = self.param("flatten_param", AxisParameter)
        if p.axis != 1 or p.end_axis != -1:
            raise self.fail("a Flatten of axes other than 1 to the last is not supported")
        return self.add(self.out_name(), _kind(Flatten), {}, [x])

    def reshape(self, x: str) -> str:
        assert self.current is not None
        p = self.param("reshape_param", ReshapeParameter)
        if p.axis != 0 or p.num_axes != -1:
            raise self.fail("a Reshape with axis or num_axes is not supported")
        holder = self.current.msg.last("reshape_param")
        shape = holder.value.last("shape") if holder and isinstance(holder.value, Message) else None
        dims = _dims(
            shape.value if shape and isinstance(shape.value, Message) else None, self.shown
        )
        if len(dims) < 2 or dims[0] not in (0, 1):
            raise self.fail("a Reshape's shape must keep the batch axis first (dim: 0)")
        source = self.shape(x)
        out = [source[i - 1] if d == 0 and 0 < i <= len(source) else d for i, d in enumerate(dims)][
            1:
        ]
        if out.count(-1) > 1 or any(d == 0 or d < -1 for d in out):
            raise self.fail(f"the Reshape shape {dims} is not supported")
        total, known = 1, 1
        for v in source:
            total *= v
        for v in out:
            known *= v if v != -1 else 1
        out = [total // known if d == -1 else d for d in out]
        return self.add(self.out_name(), _kind(Reshape), {"shape": out}, [x])

    def eltwise(self, xs: list[str]) -> str:
        p = self.param("eltwise_param", EltwiseParameter)
        if p.coeff and any(c != 1 for c in p.coeff):
            raise self.fail("an Eltwise SUM with coefficients other than 1 is not supported")
        if p.operation == "PROD":
            return self.add(self.out_name(), _kind(Multiply), {}, xs)
        if p.operation in ("SUM", "MAX"):
            # MAX counts as add does: the same shape, no parameters, n - 1 operations per
            # value (comparisons instead of adds).
            return self.add(self.out_name(), _kind(Add), {}, xs)
        raise self.fail(f"Eltwise operation {p.operation} is not supported")

    def concat(self, xs: list[str]) -> str:
        p = self.param("concat_param", ConcatParameter)
        axis = p.concat_dim if p.concat_dim is not None else p.axis
        rank = len(self.shape(xs[0]))
        if axis < 0:
            axis += rank + 1
        if not 1 <= axis <= rank:
            raise self.fail(f"a Concat over axis {axis} is not supported")
        raw = {} if axis == 1 else {"axis": axis - 1}
        return self.add(self.out_name(), _kind(Concat), raw, xs)

    def out_name(self) -> str:
        assert self.current is not None
        return _name(self.current.name)

    # --- the walk -----------------------------------------------------------------------

    def build(self, title: str) -> Graph:
        layers = self.layers()
        blob, shape, layers = self.input_shape(layers)
        self.graph = Graph(title, self.shown, self.shown, "", "", {}, shape)
        self.builder = GraphBuilder(self.graph, limits.MAX_LAYERS)
        self.blob[blob] = INPUT
        skip = -1
        for i, layer in enumerate(layers):
            if i == skip:
                continue
            self.current = layer
            missing = [b for b in layer.bottoms if b not in self.blob]
            if missing:
                raise self.fail(f"bottom {missing[0]!r} is the top of no earlier layer")
            xs = [self.blob[b] for b in layer.bottoms]
            if layer.type == "Split":
                if len(xs) != 1:
                    raise self.fail("a Split has one bottom")
                for top in layer.tops:
                    self.blob[top] = xs[0]
                continue
            if len(layer.tops) != 1:
                raise self.fail(
                    f"a {layer.type} layer with {len(layer.tops)} tops is not supported"
                )
            try:
                out = self.read_layer(i, layer, layers, xs)
            except ConvcalcError as e:
                raise e.locate(file=self.shown, line=layer.msg.line, layer=layer.name) from None
            if layer.type == "BatchNorm":
                skip = i + 1
            self.blob[layer.tops[0]] = out
        if not self.graph.layers:
            raise SpecError("the network has no layers after its input", file=self.shown)
        return self.graph

    def read_layer(self, i: int, layer: _CLayer, layers: list[_CLayer], xs: list[str]) -> str:
        """The convcalc tensor one Caffe layer (with its Scale, for a BatchNorm) makes."""
        if layer.type == "BatchNorm":
            return self.batch_norm(xs, layers[i + 1] if i + 1 < len(layers) else None)
        if layer.type in ("Eltwise", "Concat"):
            if len(xs) < 2:
                raise self.fail(f"an {layer.type} needs at least two bottoms")
            return self.eltwise(xs) if layer.type == "Eltwise" else self.concat(xs)
        if layer.type in _ONE:
            if len(xs) != 1:
                raise self.fail(f"a {layer.type} layer has one bottom, not {len(xs)}")
            return _ONE[layer.type](self, xs[0])
        raise self.fail(
            f"layer type {layer.type!r} is not supported",
            hint="docs/import.md lists the Caffe layers convcalc reads",
        )

    def batch_norm(self, xs: list[str], after: _CLayer | None) -> str:
        """A BatchNorm and the Scale (with bias) that reads its top: convcalc's bn."""
        assert self.current is not None
        bn = self.current
        top = bn.tops[0]
        if len(xs) != 1:
            raise self.fail("a BatchNorm has one bottom")
        if after is None or after.type != "Scale" or after.bottoms != [top]:
            raise self.fail(
                "a BatchNorm must be followed by the Scale that reads its top: convcalc's bn "
                "has the learned scale and shift that Caffe keeps in Scale"
            )
        self.current = after
        scale = self.param("scale_param", ScaleParameter)
        if not scale.bias_term or scale.axis != 1 or scale.num_axes != 1:
            raise self.fail("the Scale after a BatchNorm needs bias_term: true (per channel)")
        if len(after.tops) != 1:
            raise self.fail("a Scale with several tops is not supported")
        self.current = bn
        out = self.add(self.out_name(), _kind(BatchNorm), {}, xs)
        bn.tops = after.tops  # the pair's output is the Scale's top
        return out


def _kind(cls: type[LayerKind]) -> LayerKind:
    """The registered kind of a class (its instance in the registry)."""
    return REGISTRY[cls.op]


_ONE = {
    "Convolution": _Reader.convolution,
    "InnerProduct": _Reader.innerproduct,
    "Pooling": _Reader.pooling,
    "ReLU": _Reader.activation,
    "Sigmoid": _Reader.activation,
    "TanH": _Reader.activation,
    "Softmax": _Reader.activation,
    "LRN": _Reader.lrn,
    "Dropout": _Reader.dropout,
    "Flatten": _Reader.flatten,
    "Reshape": _Reader.reshape,
}
#: Every Caffe layer type the reader knows (docs/import.md lists them).
SUPPORTED = ("Input", "Split", "BatchNorm", "Scale", "Eltwise", "Concat", *_ONE)


def load(
    path: Path,
    overrides: Mapping[str, Any],
    input_shape: Shape | None,
    free: tuple[str, ...],
    symbolic: bool,
) -> Graph:
    """The graph of a Caffe deploy prototxt (it declares no parameters)."""
    shown = str(path)
    if overrides or free:
        raise UsageError("a Caffe network has no parameters to set or free", file=shown)
    text = loader.read_text(path, shown)
    try:
        net = parse(text, shown)
    except SpecError as e:
        raise e.locate(layer=_layer_at(text, e.line)) from None
    names = net.all("name")
    title = names[-1].value if names and isinstance(names[-1].value, str) else path.stem
    return _Reader(net, shown, input_shape).build(str(title))


_BLOCK = re.compile(r'\blayers?\s*:?\s*[{<]|"(?:[^"\\\n]|\\.)*"|#[^\n]*|[{}<>]')
_LAYER_NAME = re.compile(r'\bname\s*:\s*"((?:[^"\\\n]|\\.)*)"')


def _layer_at(text: str, line: int | None) -> str | None:
    """The name of the layer block a malformed line is in, for the error: the block open
    at that line (found by its braces, strings and comments skipped), named by its first
    name field (None outside a block, or in one without a name)."""
    if line is None:
        return None
    end = sum(len(t) for t in text.splitlines(keepends=True)[:line])
    start, depth = None, 0
    for m in _BLOCK.finditer(text, 0, end):
        token = m.group()
        if token[0] in '"#':
            continue
        if token[0] == "l":
            if depth == 0:
                start = m.end()
            depth += 1
        elif token in "{<":
            depth += 1
        elif depth:
            depth -= 1
            if depth == 0:
                start = None
    if start is None:
        return None
    found = _LAYER_NAME.search(text, start)
    return found.group(1) if found else None


def declared_params(path: Path) -> list[str]:
    """A Caffe network has no parameters for ``--set``."""
    return []
