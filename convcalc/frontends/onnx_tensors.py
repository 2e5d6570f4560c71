"""The ONNX file below the reader: the protobuf parsed with the ``onnx`` package's schema,
and the small constant tensors (shapes, indices, scalars) that exporters compute with
``Shape``, ``Gather``, ``Concat`` and ``Unsqueeze`` chains, folded here in plain Python.

Only the schema module ``onnx.onnx_ml_pb2`` is loaded: the package's ``__init__`` imports
numpy and ml_dtypes, most of a second of start-up that reading a file does not need. Values
are exact: integers stay Python ints (or sympy expressions for a named input size left
free), floats are only kept to recognise constants such as the 0.5 and sqrt(2) of GELU.
"""

from __future__ import annotations

import importlib.util
import math
import struct
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from convcalc import num
from convcalc.errors import InputFileError, LimitError, SpecError, UsageError

#: The largest ONNX file read: protobuf's own ceiling for one message (2 GiB).
MAX_ONNX_BYTES = 2**31 - 1
#: The most nodes a graph may have (the schema's layer limit, docs/limits.md).
MAX_ONNX_NODES = 200_000
#: Constants with more values than this are not decoded (weights are never needed).
MAX_FOLDED = 4096

INSTALL = "pip install 'convcalc[onnx]'"

# TensorProto data types: FLOAT, UINT8, INT8, UINT16, INT16, INT32, INT64, BOOL, FLOAT16,
# DOUBLE, UINT32, UINT64 (onnx.proto's DataType enum) with their struct codes.
_STRUCT = {1: "f", 2: "B", 3: "b", 4: "H", 5: "h", 6: "i", 7: "q", 9: "?", 10: "e", 11: "d"}
_STRUCT.update({12: "I", 13: "Q"})
FLOAT_TYPES = frozenset({1, 10, 11, 16})  # float, float16, double, bfloat16


def schema(file: str) -> ModuleType:
    """The onnx package's protobuf module, or one clear message when it is not installed."""
    loaded = sys.modules.get("onnx.onnx_ml_pb2")
    if loaded is not None:
        return loaded
    try:
        spec = importlib.util.find_spec("onnx")
    except (ImportError, ValueError):
        spec = None
    if spec is not None and spec.submodule_search_locations:
        path = Path(next(iter(spec.submodule_search_locations))) / "onnx_ml_pb2.py"
        module_spec = importlib.util.spec_from_file_location("convcalc_onnx_ml_pb2", path)
        if path.is_file() and module_spec is not None and module_spec.loader is not None:
            module = importlib.util.module_from_spec(module_spec)
            module_spec.loader.exec_module(module)
            return module
    try:  # a package laid out otherwise: the whole import
        from onnx import onnx_ml_pb2
    except ImportError:
        raise UsageError(
            "reading ONNX files needs the onnx package, which is not installed",
            file=file,
            hint=f"{INSTALL} (the onnx package only; no onnxruntime or torch)",
        ) from None
    return onnx_ml_pb2


def read_model(path: Path) -> Any:
    """The parsed ModelProto of a file, within the size limits."""
    file = str(path)
    pb = schema(file)
    try:
        size = path.stat().st_size
        if size > MAX_ONNX_BYTES:
            raise LimitError(f"file is {size} bytes; the limit is {MAX_ONNX_BYTES}", file=file)
        data = path.read_bytes()
    except OSError as err:
        raise InputFileError(f"cannot read the file: {err.strerror}", file=file) from None
    model = pb.ModelProto()
    try:
        model.ParseFromString(data)
    except Exception:  # protobuf's DecodeError, whatever its module
        raise SpecError(
            "not an ONNX model: the protobuf could not be parsed",
            file=file,
            hint="export it again (torch.onnx.export) or check that the file is complete",
        ) from None
    if not model.HasField("graph") or not model.graph.node:
        raise SpecError(
            "not an ONNX model: the file holds no graph nodes",
            file=file,
            hint="export it again; a file of another format renamed .onnx cannot be read",
        )
    if len(model.graph.node) > MAX_ONNX_NODES:
        raise LimitError(
            f"the graph has {len(model.graph.node)} nodes; the limit is {MAX_ONNX_NODES}",
            file=file,
        )
    return model


def attributes(node: Any) -> dict[str, Any]:
    """A node's attributes as Python values (ints, floats, strings, lists, tensors)."""
    out: dict[str, Any] = {}
    for a in node.attribute:
        # AttributeType: FLOAT 1, INT 2, STRING 3, TENSOR 4, FLOATS 6, INTS 7, STRINGS 8.
        t = a.type
        if t == 1:
            out[a.name] = a.f
        elif t == 2:
            out[a.name] = a.i
        elif t == 3:
            out[a.name] = a.s.decode("utf-8", "replace")
        elif t == 4:
            out[a.name] = a.t
        elif t == 6:
            out[a.name] = list(a.floats)
        elif t == 7:
            out[a.name] = list(a.ints)
        elif t == 8:
            out[a.name] = [s.decode("utf-8", "replace") for s in a.strings]
    return out


@dataclass
class Const:
    """A tensor known without running the network: its dims and, when small enough to
    decode, its values in row-major order. ``source`` names the initializer it comes from
    when it holds learned values (weights, biases, embeddings), ``count`` how many."""

    dims: tuple[Any, ...]
    data: list[Any] | None
    source: str | None = None
    count: int = 0

    def values(self, what: str) -> list[Any]:
        if self.data is None:
            raise SpecError(f"{what} must be a small constant the file spells out")
        return self.data

    def scalar(self, what: str) -> Any:
        data = self.values(what)
        if len(data) != 1:
            raise SpecError(f"{what} must be a single value, got {len(data)}")
        return data[0]


def tensor(proto: Any, learned: bool) -> Const:
    """A TensorProto as a constant (values decoded only when small)."""
    dims = tuple(int(d) for d in proto.dims)
    count = math.prod(dims)
    data: list[Any] | None = None
    if count <= MAX_FOLDED and proto.data_location != 1:  # 1: EXTERNAL
        data = _decode(proto, count)
    source = proto.name if learned and proto.data_type in FLOAT_TYPES else None
    return Const(dims, data, source, count if source else 0)


def _decode(proto: Any, count: int) -> list[Any] | None:
    code = _STRUCT.get(proto.data_type)
    if code is None:
        return None
    if proto.raw_data:
        raw = proto.raw_data
        if len(raw) != count * struct.calcsize(code):
            return None
        values = list(struct.unpack(f"<{count}{code}", raw))
    else:
        field = {1: proto.float_data, 11: proto.double_data, 7: proto.int64_data}.get(
            proto.data_type, proto.int32_data
        )
        values = list(field)
        if proto.data_type == 10:  # float16 in int32_data holds the bit patterns
            values = [struct.unpack("<e", struct.pack("<H", v))[0] for v in values]
        if len(values) != count:
            return None
    if proto.data_type not in FLOAT_TYPES:
        values = [int(v) for v in values]
    return values


# --- folding ----------------------------------------------------------------------------------


def _strides(dims: Sequence[int]) -> list[int]:
    out, step = [], 1
    for d in reversed(dims):
        out.append(step)
        step *= d
    return out[::-1]


def _index(dims: Sequence[int], flat: int) -> list[int]:
    return [(flat // s) % d for s, d in zip(_strides(dims), dims, strict=True)]


def broadcast(dims: Sequence[Sequence[Any]]) -> tuple[Any, ...]:
    """NumPy's broadcast of several shapes."""
    rank = max(len(d) for d in dims)
    out = []
    for axis in range(rank):
        sizes = {d[axis - rank + len(d)] for d in dims if axis - rank + len(d) >= 0}
        sizes.discard(1)
        if len(sizes) > 1:
            raise SpecError(f"shapes {[list(d) for d in dims]} do not broadcast")
        out.append(sizes.pop() if sizes else 1)
    return tuple(out)


def _elementwise(fn: Callable[..., Any], xs: Sequence[Const]) -> Const:
    dims = broadcast([x.dims for x in xs])
    count = math.prod(dims)
    if count > MAX_FOLDED:
        raise LimitError(f"a folded constant is too large; the limit is {MAX_FOLDED} values")
    datas = [x.values("an operand") for x in xs]
    out = []
    for flat in range(count):
        idx = _index(dims, flat)
        args = []
        for x, data in zip(xs, datas, strict=True):
            off = len(dims) - len(x.dims)
            pos = sum(
                (0 if d == 1 else idx[off + i]) * s
                for i, (d, s) in enumerate(zip(x.dims, _strides(x.dims), strict=True))
            )
            args.append(data[pos])
        out.append(fn(*args))
    return Const(dims, out)


def _div(a: Any, b: Any) -> Any:
    if isinstance(a, float) or isinstance(b, float):
        return a / b
    return num.floordiv(a, b) if num.is_concrete(a) and num.is_concrete(b) else num.div(a, b)


_BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "Add": lambda a, b: a + b,
    "Sub": lambda a, b: a - b,
    "Mul": lambda a, b: a * b,
    "Div": _div,
    "Mod": lambda a, b: a % b,
    "Equal": lambda a, b: int(a == b),
    "Less": lambda a, b: int(a < b),
    "Greater": lambda a, b: int(a > b),
    "Max": lambda a, b: max(a, b),
    "Min": lambda a, b: min(a, b),
    "Pow": lambda a, b: a**b,
}


def _axis(axis: int, rank: int) -> int:
    if not -rank <= axis < max(rank, 1):
        raise SpecError(f"axis {axis} is out of range for {rank} axes")
    return axis % max(rank, 1)


def reshape_dims(old: Sequence[Any], target: Sequence[Any], allowzero: int = 0) -> tuple:
    """ONNX Reshape's target with its 0 (copy the input's size) and -1 (the rest) resolved."""
    out = [old[i] if (t == 0 and not allowzero) else t for i, t in enumerate(target)]
    if sum(1 for t in out if num.is_concrete(t) and t == -1) > 1:
        raise SpecError("a reshape target has more than one -1")
    if any(num.is_concrete(t) and t == -1 for t in out):
        known = math.prod(t for t in out if not (num.is_concrete(t) and t == -1))
        rest = num.div(math.prod(old), known)
        out = [rest if num.is_concrete(t) and t == -1 else t for t in out]
    return tuple(num.normalize(t) if num.is_concrete(t) else t for t in out)


def slice_range(size: Any, start: int, end: int, step: int) -> tuple[Any, Any]:
    """ONNX Slice's [start, end) on one axis of ``size``, clamped as the operator does."""
    if step != 1:
        raise SpecError(f"a slice with step {step} is not read (only step 1)")
    if num.is_concrete(size):
        start = start + size if start < 0 else start
        end = end + size if end < 0 else end
        return max(0, min(start, size)), max(0, min(end, size))
    lo = start if start >= 0 else size + start
    hi = size if end >= 2**62 else (end if end >= 0 else size + end)
    return lo, hi


def fold(op: str, xs: Sequence[Const | None], attrs: dict[str, Any]) -> Const | None:
    """The value of a node whose inputs are all constants, or None when ``op`` is not one
    convcalc folds (the caller then reads it as a layer or refuses it)."""
    if op in _BINARY:
        a, b = xs[0], xs[1]
        assert a is not None and b is not None
        return _elementwise(_BINARY[op], (a, b))
    x = xs[0] if xs else None
    if op in ("Identity", "Cast", "Squeeze", "Unsqueeze", "Reshape", "Flatten") and x is not None:
        data = x.data
        if op == "Cast":
            to = attrs.get("to", 1)
            if data is not None and to not in FLOAT_TYPES:
                data = [int(v) for v in data]
            elif data is not None:
                data = [float(v) if num.is_concrete(v) else v for v in data]
        dims = shape_op(op, x.dims, xs, attrs)
        return Const(dims, data, x.source, x.count)
    if op == "Shape" and x is not None:
        dims = list(x.dims)
        start, end = attrs.get("start", 0), attrs.get("end", len(dims))
        sel = dims[slice(start, end)]
        return Const((len(sel),), sel)
    if op == "Size" and x is not None:
        return Const((), [math.prod(x.dims)])
    if op == "ConstantOfShape" and x is not None:
        value = attrs.get("value")
        fill = tensor(value, False).values("the fill value")[0] if value is not None else 0.0
        dims = tuple(x.values("the shape"))
        if math.prod(dims) > MAX_FOLDED:
            return Const(dims, None)
        return Const(dims, [fill] * math.prod(dims))
    if op == "Gather" and x is not None and xs[1] is not None:
        return _gather(x, xs[1], attrs.get("axis", 0))
    if op == "Concat":
        return _concat([c for c in xs if c is not None], attrs.get("axis", 0))
    if op == "Slice" and x is not None:
        return _slice(x, xs, attrs)
    if op == "Where" and all(c is not None for c in xs):
        return _elementwise(lambda c, a, b: a if c else b, [c for c in xs if c is not None])
    if op in ("Sqrt", "Neg", "Not", "Floor", "Ceil", "Abs", "Reciprocal") and x is not None:
        fn = {
            "Sqrt": math.sqrt,
            "Neg": lambda v: -v,
            "Not": lambda v: int(not v),
            "Floor": math.floor,
            "Ceil": math.ceil,
            "Abs": abs,
            "Reciprocal": lambda v: 1 / v,
        }[op]
        return _elementwise(fn, [x])
    if op == "Range" and all(c is not None for c in xs):
        start, limit, delta = (c.scalar("a range bound") for c in xs if c is not None)
        values = list(range(start, limit, delta))
        return Const((len(values),), values)
    return None


def shape_op(op: str, dims: tuple, xs: Sequence[Const | None], attrs: dict[str, Any]) -> tuple:
    """The output dims of the ops that only re-index a tensor: Squeeze, Unsqueeze, Reshape,
    Flatten (and Identity, Cast), whether its values are known or not."""
    rank = len(dims)
    if op == "Reshape":
        target = xs[1].values("the reshape target") if len(xs) > 1 and xs[1] else None
        if target is None:
            raise SpecError("the reshape target must be a constant")
        return reshape_dims(dims, target, attrs.get("allowzero", 0))
    if op == "Flatten":
        axis = _axis(attrs.get("axis", 1), rank + 1)
        return (math.prod(dims[:axis]), math.prod(dims[axis:]))
    if op in ("Squeeze", "Unsqueeze"):
        axes = attrs.get("axes")
        if axes is None and len(xs) > 1 and xs[1] is not None:
            axes = xs[1].values("the axes")
        if op == "Squeeze":
            if axes is None:
                return tuple(d for d in dims if d != 1)
            drop = {_axis(a, rank) for a in axes}
            return tuple(d for i, d in enumerate(dims) if i not in drop)
        if axes is None:
            raise SpecError("Unsqueeze needs its axes")
        out_rank = rank + len(axes)
        add = sorted(_axis(a, out_rank) for a in axes)
        out, it = [], iter(dims)
        for i in range(out_rank):
            out.append(1 if i in add else next(it))
        return tuple(out)
    return dims


def _gather(x: Const, idx: Const, axis: int) -> Const:
    data, where = x.values("the gathered tensor"), idx.values("the indices")
    axis = _axis(axis, len(x.dims))
    size = x.dims[axis]
    outer = math.prod(x.dims[:axis])
    inner = math.prod(x.dims[axis + 1 :])
    out = []
    for o in range(outer):
        for i in where:
            i = i + size if i < 0 else i
            out.extend(data[(o * size + i) * inner : (o * size + i + 1) * inner])
    dims = (*x.dims[:axis], *idx.dims, *x.dims[axis + 1 :])
    return Const(dims, out)


def _concat(xs: Sequence[Const], axis: int) -> Const:
    rank = len(xs[0].dims)
    axis = _axis(axis, rank)
    outer = math.prod(xs[0].dims[:axis])
    out = []
    datas = [x.values("a concatenated tensor") for x in xs]
    for o in range(outer):
        for x, data in zip(xs, datas, strict=True):
            chunk = math.prod(x.dims[axis:])
            out.extend(data[o * chunk : (o + 1) * chunk])
    dims = (*xs[0].dims[:axis], sum(x.dims[axis] for x in xs), *xs[0].dims[axis + 1 :])
    return Const(dims, out)


def slice_args(xs: Sequence[Const | None], attrs: dict[str, Any], rank: int) -> list[tuple]:
    """(axis, start, end, step) of each sliced axis, from the attributes (opset < 10) or the
    constant inputs."""
    if len(xs) > 1:
        starts = xs[1].values("the slice starts") if xs[1] else None
        ends = xs[2].values("the slice ends") if len(xs) > 2 and xs[2] else None
        axes = xs[3].values("the slice axes") if len(xs) > 3 and xs[3] else None
        steps = xs[4].values("the slice steps") if len(xs) > 4 and xs[4] else None
    else:
        starts, ends, axes, steps = (attrs.get(k) for k in ("starts", "ends", "axes", "steps"))
    if starts is None or ends is None:
        raise SpecError("a slice needs constant starts and ends")
    axes = axes if axes is not None else list(range(len(starts)))
    steps = steps if steps is not None else [1] * len(starts)
    return [
        (_axis(a, rank), s, e, st) for a, s, e, st in zip(axes, starts, ends, steps, strict=True)
    ]


def _slice(x: Const, xs: Sequence[Const | None], attrs: dict[str, Any]) -> Const:
    data = x.values("the sliced tensor")
    ranges = [(0, d) for d in x.dims]
    for axis, start, end, step in slice_args(xs, attrs, len(x.dims)):
        ranges[axis] = slice_range(x.dims[axis], start, end, step)
    dims = tuple(hi - lo for lo, hi in ranges)
    out = []
    for flat in range(math.prod(dims)):
        idx = _index(dims, flat)
        pos = sum((i + lo) * s for i, (lo, _), s in zip(idx, ranges, _strides(x.dims), strict=True))
        out.append(data[pos])
    return Const(dims, out)
