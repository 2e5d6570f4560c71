"""The ONNX reader: an exported model (``.onnx``) read into convcalc's graph, one layer per
compute node, with the ``onnx`` package (the ``convcalc[onnx]`` extra) and nothing else.

convcalc's tensors are one sample's: the ONNX batch axis is read at size 1 and dropped, and
followed through transposes and reshapes (an exporter's literal reshape targets keep it as
a size-1 axis, or merge it into the heads of attention). Constant subgraphs (the ``Shape``,
``Gather``, ``Concat``, ``Unsqueeze`` chains exporters emit for reshapes) are folded by
:mod:`convcalc.frontends.onnx_tensors`; layout-only nodes (reshape, flatten, squeeze) add no
layer until a layer needs the new layout. Parameters are the elements of the initializers
compute nodes read, each tensor counted once. docs/import.md lists every op and its rule.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from convcalc import num
from convcalc.errors import ConvcalcError, LimitError, SpecError, UsageError
from convcalc.frontends import onnx_tensors as ot
from convcalc.frontends.onnx_tensors import Const
from convcalc.graph import INPUT, Graph, GraphBuilder, Layer
from convcalc.layers import REGISTRY
from convcalc.layers.activation import GELU, PReLU, Scale, Softmax
from convcalc.layers.attention import MatMul
from convcalc.layers.base import Args, LayerKind, Shape
from convcalc.layers.conv import Conv, TransposedConv
from convcalc.layers.dense import Linear, Reshape, Slice
from convcalc.layers.merge import Add, Concat, Multiply
from convcalc.layers.norm import BatchNorm, LayerNorm
from convcalc.layers.pool import AvgPool, GlobalAvgPool, GlobalMaxPool, MaxPool, Upsample
from convcalc.layers.shape import Chunk, Pad, Permute
from convcalc.layers.tokens import Parameter
from convcalc.names import IDENTIFIER

#: Element-wise ONNX ops read as the convcalc activation of the same name (snake case).
ACTIVATIONS = (
    "Relu",
    "Sigmoid",
    "Tanh",
    "HardSwish",
    "HardSigmoid",
    "LeakyRelu",
    "Elu",
    "Softplus",
    "Mish",
    "Swish",
)
#: Ops that pass their input through unchanged at inference.
PASS_THROUGH = ("Identity", "Dropout", "Cast")
#: Ops that only re-index a tensor (no layer until a layer needs the new layout).
LAYOUT = ("Reshape", "Flatten", "Squeeze", "Unsqueeze")
#: Binary element-wise ops, read as add (Add, Sub) or multiply (Mul, Div).
BINARY = ("Add", "Sub", "Mul", "Div")

_PARAM_ADD, _PARAM_MULTIPLY, _PARAM_CONCAT = Parameter.args["mode"].choices
_NEAREST, _BILINEAR = Upsample.args["mode"].choices
_SCALE, _SIZE, _MODE = Upsample.args
#: ONNX Resize's modes (capitalised) read, as upsample's.
_RESIZE_MODES = {"Nearest": _NEAREST, "Linear": _BILINEAR}


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def _activation(name: str) -> LayerKind:
    """The kind an element-wise ONNX op (or PyTorch module: ``ReLU6``, ``SiLU``) names."""
    return REGISTRY.get(name.lower()) or REGISTRY[_snake(name)]


@dataclass
class Act:
    """An activation: the convcalc layer holding it and that layer's shape, and the ONNX
    dims (batch at size 1) with the axis of the batch (None when merged into another)."""

    layer: str
    shape: Shape
    dims: tuple[Any, ...]
    batch: int | None
    node: str  # the node that last changed its layout (names a reshape made for it)

    @property
    def sample(self) -> Shape:
        """One sample's shape: the dims without the batch axis."""
        if self.batch is None:
            return self.dims
        return self.dims[: self.batch] + self.dims[self.batch + 1 :]

    def axis(self, axis: int, what: str) -> int:
        """An ONNX axis as an axis of one sample."""
        rank = len(self.dims)
        if not -rank <= axis < rank:
            raise SpecError(f"{what} {axis} is out of range for {rank} axes")
        axis %= rank
        if self.batch is not None:
            if axis == self.batch:
                raise SpecError(f"{what} {axis} is the batch axis, which convcalc does not read")
            if axis > self.batch:
                axis -= 1
        return axis


Value = Act | Const


def _batch_after(old: Act, dims: tuple) -> int | None:
    """Where the batch axis is after a reshape to ``dims``: the size-1 axis after the same
    leading values as before it (or, once merged, the first size-1 axis)."""
    if old.batch is None:
        return next((i for i, d in enumerate(dims) if d == 1), None)
    before = math.prod(old.dims[: old.batch])
    lead = 1
    for i, d in enumerate(dims):
        if lead == before and d == 1:
            return i
        lead *= d
        if num.is_concrete(lead) and num.is_concrete(before) and lead > before:
            break
    return None


#: ``Reader._out``'s default: the batch axis where the input has it.
SAME_BATCH = object()


class Reader:
    """One file's walk: every node in order, each folded, aliased or added as a layer."""

    def __init__(
        self,
        path: Path,
        overrides: Mapping[str, Any],
        input_shape: Shape | None,
        free: Sequence[str],
        symbolic: bool,
    ) -> None:
        self.path = path
        self.file = str(path)
        self.model = ot.read_model(path)
        self.graph = self.model.graph
        self.opset = next(
            (o.version for o in self.model.opset_import if o.domain in ("", "ai.onnx")), 1
        )
        self.values: dict[str, Value] = {}
        self.counted: set[str] = set()
        self.names: set[str] = {INPUT}
        self.overrides = dict(overrides)
        self.free = set(free)
        self.symbolic = symbolic
        self.bindings: dict[str, Any] = {}
        self.skip: set[int] = set()  # nodes read as part of a pattern (SiLU, erf GELU)
        self.fused: dict[int, tuple[LayerKind, str, dict]] = {}  # node -> kind on a tensor
        self.input_shape = input_shape
        self.producer: dict[str, int] = {}
        self.consumers: dict[str, list[int]] = {}

    # --- the walk -----------------------------------------------------------------------

    def load(self) -> Graph:
        inits = self.graph.initializer
        for proto in inits:
            self.values[proto.name] = ot.tensor(proto, learned=True)
        for index, node in enumerate(self.graph.node):
            for out in node.output:
                self.producer[out] = index
            for name in node.input:
                self.consumers.setdefault(name, []).append(index)
        dims, batch = self._input()
        stem = re.sub(r"[^A-Za-z0-9_\-]", "_", self.path.stem) or "onnx"
        g = Graph(
            name=stem,
            source=self.file,
            file=self.file,
            citation="",
            description=self._description(),
            bindings=self.bindings,
            input_shape=dims[:batch] + dims[batch + 1 :] if batch is not None else dims,
        )
        self.builder = GraphBuilder(g, 2 * ot.MAX_ONNX_NODES)
        name = self._graph_input().name
        self.values[name] = Act(INPUT, g.input_shape, dims, batch, name)
        self._patterns()
        for index, node in enumerate(self.graph.node):
            if index in self.skip:
                continue
            try:
                self._node(index, node)
            except ConvcalcError as err:
                if err.layer is None:
                    err.message = f"{self._shown(node)}: {err.message}"
                raise err.locate(file=self.file, layer=node.name or None) from None
            except (KeyError, IndexError, ValueError, TypeError, ZeroDivisionError) as err:
                raise SpecError(
                    f"{self._shown(node)} is malformed ({type(err).__name__}: {err})",
                    file=self.file,
                    layer=node.name or None,
                    hint="check the file with onnx.checker.check_model, or export it again",
                ) from None
        if not g.layers:
            raise SpecError("the graph has no compute nodes convcalc reads", file=self.file)
        return g

    def _shown(self, node: Any) -> str:
        """The node in messages: its op type (its name is the error's layer), and its
        first output when it has no name."""
        if node.name or not node.output:
            return f"{node.op_type} node"
        return f"{node.op_type} node writing {node.output[0]!r}"

    def _description(self) -> str:
        m = self.model
        opset = next((o.version for o in m.opset_import if o.domain in ("", "ai.onnx")), "?")
        by = f" by {m.producer_name} {m.producer_version}".rstrip() if m.producer_name else ""
        return f"ONNX model{by}, opset {opset}"

    def _graph_input(self) -> Any:
        inits = {i.name for i in self.graph.initializer}
        inputs = [i for i in self.graph.input if i.name not in inits]
        if len(inputs) != 1:
            raise SpecError(
                f"the graph has {len(inputs)} inputs; convcalc reads networks of one input",
                file=self.file,
            )
        return inputs[0]

    def _input(self) -> tuple[tuple[Any, ...], int | None]:
        """The input's dims at batch 1, each named size set, left free or refused."""
        proto = self._graph_input()
        shape = proto.type.tensor_type.shape
        raw = [(d.dim_value if d.HasField("dim_value") else d.dim_param) for d in shape.dim]
        if not raw:
            raise SpecError(f"input {proto.name!r} has no shape", file=self.file)
        batch_name = raw[0] if isinstance(raw[0], str) else None
        if batch_name and batch_name in self.overrides:
            raise UsageError(
                f"{batch_name!r} is the batch axis: convcalc counts one sample",
                file=self.file,
                hint=f"give --batch {self.overrides[batch_name]} instead of --set {batch_name}=...",
            )
        dims: list[Any] = [1]
        for d in raw[1:]:
            if isinstance(d, int) and d > 0:
                dims.append(d)
            else:
                dims.append(self._named(d if isinstance(d, str) and d else None, proto.name))
        if self.input_shape is not None:
            if len(self.input_shape) != len(dims) - 1:
                raise UsageError(
                    f"--input gives {len(self.input_shape)} sizes; input {proto.name!r} has "
                    f"{len(dims) - 1} besides the batch",
                    file=self.file,
                )
            dims = [1, *self.input_shape]
        unknown = [k for k in self.overrides if k not in declared(self.model)]
        if unknown:
            raise UsageError(
                f"--set {unknown[0]}: the file's input has no size of that name",
                file=self.file,
                hint="its named sizes: " + (", ".join(declared(self.model)) or "none"),
            )
        return tuple(dims), 0

    def _named(self, name: str | None, what: str) -> Any:
        if name is None or not IDENTIFIER.match(name):
            raise SpecError(
                f"input {what!r} has a size without a value or a usable name",
                file=self.file,
                hint="give every size with --input C H W",
            )
        if name in self.overrides and name not in self.free:
            value = num.as_int(self.overrides[name], f"--set {name}")
            self.bindings[name] = value
            return value
        from convcalc.symbolic.ops import symbol

        value = symbol(name, "int")
        self.bindings[name] = value
        return value

    # --- patterns read as one layer -----------------------------------------------------

    def _only_consumer(self, tensor: str) -> int | None:
        users = self.consumers.get(tensor, [])
        return users[0] if len(users) == 1 else None

    def _node_at(self, tensor: str) -> Any:
        index = self.producer.get(tensor)
        return None if index is None else self.graph.node[index]

    def _const_value(self, tensor: str) -> float | None:
        """The single value of a constant input (an initializer or a Constant node)."""
        value = self.values.get(tensor)
        if value is None:
            node = self._node_at(tensor)
            if node is None or node.op_type != "Constant":
                return None
            attrs = ot.attributes(node)
            if "value" in attrs:
                value = ot.tensor(attrs["value"], False)
            elif "value_float" in attrs:
                return attrs["value_float"]
            else:
                return None
        if isinstance(value, Const) and value.data is not None and len(value.data) == 1:
            return float(value.data[0])
        return None

    def _patterns(self) -> None:
        """Find x * sigmoid(x) (SiLU), x * hardsigmoid(x) (hard swish, as opsets before 14
        write it) and the erf form of GELU, each read as one layer."""
        nodes = self.graph.node
        for index, node in enumerate(nodes):
            gate = node.op_type == "Sigmoid"
            if node.op_type == "HardSigmoid":
                attrs = ot.attributes(node)
                gate = abs(attrs.get("alpha", 0.2) - 1 / 6) < 1e-6 and attrs.get("beta") == 0.5
            if gate:
                x = node.input[0]
                mul = self._only_consumer(node.output[0])
                if mul is not None and nodes[mul].op_type == "Mul":
                    ins = list(nodes[mul].input)
                    if sorted(ins) == sorted([x, node.output[0]]):
                        self.skip.add(index)
                        swish = "SiLU" if node.op_type == "Sigmoid" else "HardSwish"
                        self.fused[mul] = (_activation(swish), x, {})
            elif node.op_type == "Erf":
                self._erf_gelu(index, node)

    def _other(self, node: Any, tensor: str) -> str | None:
        ins = list(node.input)
        if len(ins) != 2 or tensor not in ins:
            return None
        return ins[1] if ins[0] == tensor else ins[0]

    def _erf_gelu(self, index: int, erf: Any) -> None:
        # x / sqrt(2) (or x * 1/sqrt(2)), erf, + 1, then * x and * 0.5 in either order.
        nodes = self.graph.node
        pre = self._node_at(erf.input[0])
        if pre is None or pre.op_type not in ("Div", "Mul") or len(pre.input) != 2:
            return
        x = pre.input[0]
        c = self._const_value(pre.input[1])
        want = math.sqrt(2) if pre.op_type == "Div" else 1 / math.sqrt(2)
        if c is None or abs(c - want) > 1e-3:
            return
        add_i = self._only_consumer(erf.output[0])
        if add_i is None or nodes[add_i].op_type != "Add":
            return
        one = self._other(nodes[add_i], erf.output[0])
        if one is None or self._const_value(one) != 1.0:
            return
        mul_i = self._only_consumer(nodes[add_i].output[0])
        if mul_i is None or nodes[mul_i].op_type != "Mul":
            return
        partner = self._other(nodes[mul_i], nodes[add_i].output[0])
        chain = [self.producer[erf.input[0]], index, add_i]
        if partner == x:  # (x * (1 + erf)) * 0.5
            end = self._only_consumer(nodes[mul_i].output[0])
            if end is None or nodes[end].op_type != "Mul":
                return
            half = self._other(nodes[end], nodes[mul_i].output[0])
            if half is None or self._const_value(half) != 0.5:
                return
            chain.append(mul_i)
        else:  # (x * 0.5) * (1 + erf)
            h = self._node_at(partner) if partner else None
            if h is None or h.op_type != "Mul" or self._other(h, x) is None:
                return
            if self._const_value(self._other(h, x) or "") != 0.5:
                return
            chain.append(self.producer[partner])
            end = mul_i
        self.skip.update(chain)
        self.fused[end] = (REGISTRY[GELU.op], x, {})

    # --- one node -------------------------------------------------------------------------

    def _input_values(self, node: Any) -> list[Value | None]:
        out: list[Value | None] = []
        for name in node.input:
            if not name:  # an optional input left out
                out.append(None)
                continue
            value = self.values.get(name)
            if value is None:
                raise SpecError(
                    f"reads {name!r}, which is no initializer, input or output of an earlier node",
                    hint="the file is incomplete or its nodes are out of order: export it "
                    "again (an initializer kept in a separate file is not read)",
                )
            out.append(value)
        return out

    def _node(self, index: int, node: Any) -> None:
        op = node.op_type
        if node.domain not in ("", "ai.onnx"):
            raise SpecError(
                f"op {node.domain}.{op} is outside the standard ONNX operators",
                hint="export with the standard opset only (docs/import.md lists the ops read)",
            )
        if index in self.fused:
            kind, x, args = self.fused[index]
            act = self._act(self.values[x], "the input")
            self._out(node, self._layer(node, kind, [act.layer], args), act)
            return
        if op == "Constant":
            attrs = ot.attributes(node)
            if "value" not in attrs:
                value = attrs.get("value_float", attrs.get("value_int"))
                if value is None:
                    raise SpecError("a Constant without a value is not read")
                self.values[node.output[0]] = Const((), [value])
            else:
                self.values[node.output[0]] = ot.tensor(attrs["value"], False)
            return
        xs = self._input_values(node)
        attrs = ot.attributes(node)
        if all(not isinstance(x, Act) for x in xs):
            folded = self._fold(node, op, xs, attrs)
            if folded is not None:
                self.values[node.output[0]] = folded
                return
        handler = getattr(self, f"_op_{op}", None)
        if handler is None:
            if op in ACTIVATIONS:
                return self._unary(node, _activation(op), xs)
            if op in PASS_THROUGH:
                self.values[node.output[0]] = xs[0]  # type: ignore[assignment]
                return
            if op in LAYOUT:
                return self._layout(node, op, xs, attrs)
            if op in BINARY:
                return self._binary(node, op, xs)
            raise SpecError(
                f"convcalc does not read the ONNX op {op}",
                hint="docs/import.md lists the ops read; write the network in convcalc's "
                "YAML (convcalc layers lists the kinds) or export without this op",
            )
        handler(node, xs, attrs)

    def _fold(self, node: Any, op: str, xs: Sequence[Value | None], attrs: dict) -> Any:
        consts = [x if isinstance(x, Const) else None for x in xs]
        if op == "Expand" and consts[0] is not None and consts[0].source is not None:
            target = consts[1].values("the expand shape") if consts[1] else []
            dims = ot.broadcast([consts[0].dims, tuple(target)])
            c = consts[0]
            return Const(dims, None, c.source, c.count)
        if op == "Transpose" and consts[0] is not None and consts[0].source is not None:
            c = consts[0]
            perm = attrs.get("perm", list(range(len(c.dims)))[::-1])
            return Const(tuple(c.dims[p] for p in perm), None, c.source, c.count)
        try:
            return ot.fold(op, consts, attrs)
        except SpecError:
            raise
        except (TypeError, ValueError, OverflowError) as err:
            raise SpecError(f"its constant inputs cannot be folded ({err})") from None

    # --- helpers --------------------------------------------------------------------------

    def _act(self, value: Value | None, what: str) -> Act:
        if not isinstance(value, Act):
            raise SpecError(f"{what} must be an activation, not a constant")
        return value

    def _name(self, node: Any, suffix: str = "") -> str:
        base = node.name or (node.output[0] if node.output else node.op_type)
        base = re.sub(r"[^A-Za-z0-9_\-.]", "_", base.strip("/").replace("/", ".")) or "node"
        base = base.strip(".")[:90] or "node"
        if not re.match(r"[A-Za-z_]", base):
            base = "n" + base
        name, i = base + suffix, 1
        while name in self.names:
            i += 1
            name = f"{base}{suffix}_{i}"
        self.names.add(name)
        return name

    def _layer(
        self, node: Any, kind: LayerKind, inputs: list[str], values: dict, suffix: str = ""
    ) -> tuple[str, Shape]:
        """Add a layer of ``kind``; returns its name and shape."""
        args = Args()
        for key, spec in kind.args.items():
            args[key] = values.get(key, None if spec.required else spec.default)
        kind.validate(args)
        self.builder.check_room()
        shape = self.builder.shape_of(kind, args, inputs)
        name = self._name(node, suffix)
        self.builder.append(Layer(name, kind, args, tuple(inputs), shape, None, file=self.file))
        return name, shape

    def _view(self, act: Act, shape: Shape) -> str:
        """``act``'s layer in ``shape``, through a reshape when it is held in another."""
        if tuple(act.shape) == tuple(shape):
            return act.layer
        kind = REGISTRY[Reshape.op]
        args = Args(shape=tuple(shape))
        self.builder.check_room()
        out = self.builder.shape_of(kind, args, [act.layer])
        name = self._name(_Named(act.node), ".view")
        self.builder.append(Layer(name, kind, args, (act.layer,), out, None, file=self.file))
        return name

    def _sample(self, act: Act) -> str:
        """``act``'s layer in one sample's shape."""
        return self._view(act, act.sample)

    def _out(
        self,
        node: Any,
        made: tuple[str, Shape],
        like: Act,
        dims: tuple | None = None,
        batch: Any = SAME_BATCH,
    ) -> Act:
        """Record a node's output: a layer, the ONNX dims (by default those of the one
        sample's shape with the batch axis put back where ``like`` has it)."""
        name, shape = made
        b = like.batch if batch is SAME_BATCH else batch
        if dims is None:
            dims = tuple(shape) if b is None else (*shape[:b], 1, *shape[b:])
        act = Act(name, shape, tuple(dims), b, node.name or name)
        self.values[node.output[0]] = act
        return act

    def _unseen(self, value: Value | None) -> bool:
        """Whether a learned tensor is not counted yet."""
        return (
            isinstance(value, Const)
            and value.source is not None
            and (value.source not in self.counted)
        )

    def _fresh(self, value: Value | None) -> bool:
        """Whether a learned tensor is counted here for the first time (each once)."""
        if not isinstance(value, Const) or value.source is None:
            return False
        if value.source in self.counted:
            return False
        self.counted.add(value.source)
        return True

    def _weight(self, value: Value | None, what: str, rank: int) -> Const:
        if not isinstance(value, Const):
            raise SpecError(f"{what} must be an initializer (a learned tensor), not computed")
        if len(value.dims) != rank:
            raise SpecError(f"{what} has {len(value.dims)} axes, expected {rank}")
        self._fresh(value)
        return value

    def _bias_layer(self, node: Any, made: tuple[str, Shape]) -> tuple[str, Shape]:
        """A bias counted already (an exporter merges identical tensors): its adds as a
        layer of their own, without params."""
        return self._layer(node, REGISTRY[Scale.op], [made[0]], {}, ".bias")

    # --- element-wise ---------------------------------------------------------------------

    def _unary(self, node: Any, kind: LayerKind, xs: Sequence[Value | None], args=None) -> None:
        act = self._act(xs[0], "the input")
        self._out(node, self._layer(node, kind, [act.layer], args or {}), act, act.dims)

    def _op_Gelu(self, node: Any, xs: list, attrs: dict) -> None:
        approx = attrs.get("approximate", "none")
        self._unary(node, REGISTRY[GELU.op], xs, {"approximate": approx})

    def _op_Clip(self, node: Any, xs: list, attrs: dict) -> None:
        lo = attrs.get("min")
        hi = attrs.get("max")
        if len(xs) > 1 and xs[1] is not None:
            lo = self._act_const(xs[1]).scalar("Clip's min")
        if len(xs) > 2 and xs[2] is not None:
            hi = self._act_const(xs[2]).scalar("Clip's max")
        if lo == 0 and hi == 6:
            return self._unary(node, _activation("ReLU6"), xs)
        if lo == 0 and hi is None:
            return self._unary(node, _activation("Relu"), xs)
        raise SpecError(
            f"Clip to [{lo}, {hi}] is not read (only [0, 6], ReLU6, and [0, inf), ReLU)"
        )

    def _act_const(self, value: Value | None) -> Const:
        if not isinstance(value, Const):
            raise SpecError("a bound must be a constant")
        return value

    def _op_PRelu(self, node: Any, xs: list, attrs: dict) -> None:
        slope = xs[1]
        per_channel = isinstance(slope, Const) and math.prod(slope.dims) > 1
        self._fresh(slope)
        self._unary(node, REGISTRY[PReLU.op], xs, {"per_channel": per_channel})

    def _op_Softmax(self, node: Any, xs: list, attrs: dict) -> None:
        act = self._act(xs[0], "the input")
        rank = len(act.dims)
        if self.opset < 13:  # the input seen as 2-D from the axis on (default 1)
            first = attrs.get("axis", 1) % rank
            if first != rank - 1:
                raise SpecError(
                    "a Softmax of opset before 13 over more than the last axis is not read"
                )
        axis = act.axis(attrs.get("axis", -1), "softmax axis")
        made = self._layer(node, REGISTRY[Softmax.op], [self._sample(act)], {"axis": axis})
        self._out(node, made, act, act.dims)

    def _binary(self, node: Any, op: str, xs: Sequence[Value | None]) -> None:
        acts = [x for x in xs if isinstance(x, Act)]
        adds = op in ("Add", "Sub")
        if len(acts) == 2:
            a, b = acts
            kind = REGISTRY[(Add if adds else Multiply).op]
            if a.shape == b.shape and a.sample == b.sample:
                inputs = [a.layer, b.layer]
            else:
                inputs = [self._sample(a), self._sample(b)]
            big = a if math.prod(a.dims) >= math.prod(b.dims) else b
            made = self._layer(node, kind, inputs, {})
            self._out(node, made, big, ot.broadcast([a.dims, b.dims]))
            return
        act = acts[0]
        const = next(x for x in xs if isinstance(x, Const))
        if const.source is not None and self._fresh(const):
            # A learned tensor (bias, layer scale, position embedding) meets the input.
            rank = len(act.dims)
            aligned = (1,) * (rank - len(const.dims)) + tuple(const.dims)
            if act.batch is not None:
                aligned = aligned[: act.batch] + aligned[act.batch + 1 :]
            while len(aligned) > 1 and aligned[0] == 1:
                aligned = aligned[1:]
            mode = _PARAM_ADD if adds else _PARAM_MULTIPLY
            learned = const.count if const.count != math.prod(aligned) else None
            values = {"shape": aligned, "mode": mode, "learned": learned}
            made = self._layer(node, REGISTRY[Parameter.op], [self._sample(act)], values)
        else:
            # A constant (or a tensor counted already): one operation per value, no params.
            made = self._layer(node, REGISTRY[Scale.op], [act.layer], {})
            self._out(node, made, act, act.dims)
            return
        self._out(node, made, act, ot.broadcast([act.dims, const.dims]))

    # --- convolutions and matrix products -------------------------------------------------

    def _window(self, attrs: dict, size: Sequence[Any], k: Sequence[int], stride, dil) -> Any:
        """ONNX padding (pads, auto_pad) as convcalc's: (top, bottom, left, right) or same."""
        auto = attrs.get("auto_pad", "NOTSET")
        if auto == "VALID":
            return (0, 0, 0, 0)
        if auto == "SAME_UPPER":
            return "same"
        if auto == "SAME_LOWER":
            out = []
            for axis in (0, 1):
                eff = dil[axis] * (k[axis] - 1) + 1
                steps = num.ceildiv(size[axis], stride[axis]) - 1
                total = max(steps * stride[axis] + eff - size[axis], 0)
                out += [total - total // 2, total // 2]
            return tuple(out)
        pads = attrs.get("pads", [0, 0, 0, 0])
        if len(pads) != 4:
            raise SpecError(f"pads {pads} are not those of a 2-D window")
        return (pads[0], pads[2], pads[1], pads[3])

    def _map(self, value: Value | None) -> tuple[Act, str]:
        act = self._act(value, "the input")
        if len(act.dims) != 4 or act.batch != 0:
            raise SpecError(
                f"needs a 2-D feature map (N, C, H, W), got dims {list(act.dims)}",
                hint="1-D and 3-D convolutions and pools are not read",
            )
        return act, self._sample(act)

    def _op_Conv(self, node: Any, xs: list, attrs: dict) -> None:
        act, x = self._map(xs[0])
        w = self._weight(xs[1], "the weight", 4)
        k = tuple(attrs.get("kernel_shape", w.dims[2:]))
        stride = tuple(attrs.get("strides", [1, 1]))
        dil = tuple(attrs.get("dilations", [1, 1]))
        groups = attrs.get("group", 1)
        bias = len(xs) > 2 and xs[2] is not None
        fresh = bias and self._fresh(xs[2])
        values = {
            "out": w.dims[0],
            "k": k,
            "stride": stride,
            "padding": self._window(attrs, act.sample[1:], k, stride, dil),
            "dilation": dil,
            "groups": groups,
            "bias": fresh,
        }
        made = self._layer(node, REGISTRY[Conv.op], [x], values)
        if bias and not fresh:
            made = self._bias_layer(node, made)
        self._out(node, made, act)

    def _op_ConvTranspose(self, node: Any, xs: list, attrs: dict) -> None:
        act, x = self._map(xs[0])
        w = self._weight(xs[1], "the weight", 4)
        if "output_shape" in attrs or attrs.get("auto_pad", "NOTSET") != "NOTSET":
            raise SpecError("ConvTranspose with output_shape or auto_pad is not read; use pads")
        groups = attrs.get("group", 1)
        pads = attrs.get("pads", [0, 0, 0, 0])
        bias = len(xs) > 2 and xs[2] is not None
        fresh = bias and self._fresh(xs[2])
        values = {
            "out": w.dims[1] * groups,
            "k": tuple(attrs.get("kernel_shape", w.dims[2:])),
            "stride": tuple(attrs.get("strides", [1, 1])),
            "padding": (pads[0], pads[2], pads[1], pads[3]),
            "output_padding": tuple(attrs.get("output_padding", [0, 0])),
            "dilation": tuple(attrs.get("dilations", [1, 1])),
            "groups": groups,
            "bias": fresh,
        }
        made = self._layer(node, REGISTRY[TransposedConv.op], [x], values)
        if bias and not fresh:
            made = self._bias_layer(node, made)
        self._out(node, made, act)

    def _linear(self, node: Any, act: Act, out: Any, bias: bool, fresh: bool) -> None:
        sample = act.sample
        if len(sample) == 3:  # not a map: tokens with two leading axes
            sample = (sample[0] * sample[1], sample[2])
        values = {"out": out, "bias": fresh}
        made = self._layer(node, REGISTRY[Linear.op], [self._view(act, sample)], values)
        if bias and not fresh:
            made = self._bias_layer(node, made)
        self._out(node, made, act, (*act.dims[:-1], out))

    def _op_Gemm(self, node: Any, xs: list, attrs: dict) -> None:
        act = self._act(xs[0], "input A")
        if attrs.get("transA", 0):
            raise SpecError("Gemm with transA is not read")
        w = self._weight(xs[1], "input B", 2)
        out = w.dims[0] if attrs.get("transB", 0) else w.dims[1]
        bias = len(xs) > 2 and xs[2] is not None and attrs.get("beta", 1.0) != 0
        self._linear(node, act, out, bias, bias and self._fresh(xs[2]))

    def _op_MatMul(self, node: Any, xs: list, attrs: dict) -> None:
        a, b = xs[0], xs[1]
        if isinstance(a, Act) and isinstance(b, Const):
            w = self._weight(b, "the second input", 2)
            return self._linear(node, a, w.dims[1], False, False)
        if isinstance(a, Act) and isinstance(b, Act):
            x, z = self._sample(a), self._sample(b)
            made = self._layer(node, REGISTRY[MatMul.op], [x, z], {})
            big = a if len(a.dims) >= len(b.dims) else b
            dims = (*ot.broadcast([a.dims[:-2], b.dims[:-2]]), a.dims[-2], b.dims[-1])
            self._out(node, made, big, dims)
            return
        raise SpecError("a MatMul whose first input is a learned tensor is not read")

    # --- normalisation ------------------------------------------------------------------------

    def _op_BatchNormalization(self, node: Any, xs: list, attrs: dict) -> None:
        act, x = self._map(xs[0])
        for value in xs[1:5]:
            self._fresh(value)
        self._out(node, self._layer(node, REGISTRY[BatchNorm.op], [x], {}), act)

    def _op_LayerNormalization(self, node: Any, xs: list, attrs: dict) -> None:
        act = self._act(xs[0], "the input")
        rank = len(act.dims)
        if attrs.get("axis", -1) % rank != rank - 1:
            raise SpecError("a layer norm over more than the last axis is not read")
        learned = [v for v in xs[1:3] if v is not None]
        fresh = [self._unseen(v) for v in learned]
        affine = len(learned) == 2 and all(fresh)
        sample = act.sample
        if len(sample) == 3:
            sample = (sample[0] * sample[1], sample[2])
        x = self._view(act, sample)
        made = self._layer(node, REGISTRY[LayerNorm.op], [x], {"affine": affine})
        if affine:
            for v in learned:
                self._fresh(v)
        else:  # a scale or shift counted already: each its own layer, as the affine's parts
            for value, mode, part in zip(
                learned, (_PARAM_MULTIPLY, _PARAM_ADD), ("gamma", "beta"), strict=False
            ):
                if self._fresh(value):
                    assert isinstance(value, Const)
                    values = {"shape": (sample[-1],), "mode": mode}
                    made = self._layer(node, REGISTRY[Parameter.op], [made[0]], values, f".{part}")
                else:
                    made = self._layer(node, REGISTRY[Scale.op], [made[0]], {}, f".{part}")
        self._out(node, made, act, act.dims)

    # --- pooling and resizing -------------------------------------------------------------

    def _pool(self, node: Any, xs: list, attrs: dict, kind: LayerKind) -> None:
        act, x = self._map(xs[0])
        k = tuple(attrs["kernel_shape"])
        stride = tuple(attrs.get("strides", [1, 1]))
        dil = tuple(attrs.get("dilations", [1, 1]))
        values = {
            "k": k,
            "stride": stride,
            "padding": self._window(attrs, act.sample[1:], k, stride, dil),
            "ceil_mode": bool(attrs.get("ceil_mode", 0)),
        }
        if "dilation" in kind.args:
            values["dilation"] = dil
        elif dil != (1, 1):
            raise SpecError("a dilated average pool is not read")
        self._out(node, self._layer(node, kind, [x], values), act)

    def _op_MaxPool(self, node: Any, xs: list, attrs: dict) -> None:
        if len(node.output) > 1 and node.output[1]:
            raise SpecError("MaxPool's indices output is not read")
        self._pool(node, xs, attrs, REGISTRY[MaxPool.op])

    def _op_AveragePool(self, node: Any, xs: list, attrs: dict) -> None:
        self._pool(node, xs, attrs, REGISTRY[AvgPool.op])

    def _op_GlobalAveragePool(self, node: Any, xs: list, attrs: dict) -> None:
        act, x = self._map(xs[0])
        self._out(node, self._layer(node, REGISTRY[GlobalAvgPool.op], [x], {}), act)

    def _op_GlobalMaxPool(self, node: Any, xs: list, attrs: dict) -> None:
        act, x = self._map(xs[0])
        self._out(node, self._layer(node, REGISTRY[GlobalMaxPool.op], [x], {}), act)

    def _op_ReduceMean(self, node: Any, xs: list, attrs: dict) -> None:
        act, x = self._map(xs[0])
        axes = attrs.get("axes")
        if axes is None and len(xs) > 1 and isinstance(xs[1], Const):
            axes = xs[1].values("the axes")
        if sorted(a % 4 for a in (axes or [])) != [2, 3]:
            raise SpecError("ReduceMean is read over the height and width of a map only")
        made = self._layer(node, REGISTRY[GlobalAvgPool.op], [x], {})
        keep = attrs.get("keepdims", 1)
        self._out(node, made, act, act.dims[:2] + ((1, 1) if keep else ()))

    def _op_Resize(self, node: Any, xs: list, attrs: dict) -> None:
        act, x = self._map(xs[0])
        mode = attrs.get("mode", "nearest")
        if mode.capitalize() not in _RESIZE_MODES:
            raise SpecError(f"Resize mode {mode!r} is not read (nearest and linear are)")
        scales = xs[2] if len(xs) > 2 and isinstance(xs[2], Const) else None
        sizes = xs[3] if len(xs) > 3 and isinstance(xs[3], Const) else None
        if node.op_type == "Upsample":
            scales = xs[1] if len(xs) > 1 else None
        values: dict[str, Any] = {_MODE: _RESIZE_MODES[mode.capitalize()]}
        if sizes is not None and sizes.data:
            values[_SIZE] = tuple(sizes.values("the sizes")[2:])
        elif scales is not None and scales.data:
            sh, sw = scales.values("the scales")[2:]
            if sh != int(sh) or sw != int(sw):
                raise SpecError(f"Resize by scales {sh}, {sw} is read for whole scales only")
            values[_SCALE] = (int(sh), int(sw))
        else:
            raise SpecError("Resize needs constant scales or sizes")
        self._out(node, self._layer(node, REGISTRY[Upsample.op], [x], values), act)

    _op_Upsample = _op_Resize

    def _op_Pad(self, node: Any, xs: list, attrs: dict) -> None:
        act, x = self._map(xs[0])
        pads = attrs.get("pads")
        if pads is None and len(xs) > 1 and isinstance(xs[1], Const):
            pads = xs[1].values("the pads")
        if pads is None or len(pads) != 8 or any(pads[i] for i in (0, 1, 4, 5)):
            raise SpecError("Pad is read on the height and width of a map only")
        if any(p < 0 for p in pads):
            raise SpecError("a negative pad (a crop) is not read")
        mode = {"constant": "constant", "reflect": "reflect", "edge": "replicate"}.get(
            attrs.get("mode", "constant")
        )
        if mode is None:
            raise SpecError(f"Pad mode {attrs.get('mode')!r} is not read")
        values = {"padding": (pads[2], pads[6], pads[3], pads[7]), "mode": mode}
        self._out(node, self._layer(node, REGISTRY[Pad.op], [x], values), act)

    # --- layout ---------------------------------------------------------------------------

    def _layout(self, node: Any, op: str, xs: Sequence[Value | None], attrs: dict) -> None:
        act = self._act(xs[0], "the input")
        consts = [x if isinstance(x, Const) else None for x in xs]
        dims = ot.shape_op(op, act.dims, consts, attrs)
        if op == "Flatten" or op == "Reshape":
            batch = _batch_after(act, dims)
        else:
            batch = self._batch_moved(op, act, dims, consts, attrs)
        self.values[node.output[0]] = Act(act.layer, act.shape, dims, batch, node.name)

    def _batch_moved(self, op: str, act: Act, dims: tuple, consts: list, attrs: dict) -> Any:
        if act.batch is None:
            return None
        axes = attrs.get("axes")
        if axes is None and len(consts) > 1 and consts[1] is not None:
            axes = consts[1].values("the axes")
        if op == "Squeeze":
            if axes is None:
                return None
            drop = {a % len(act.dims) for a in axes}
            if act.batch in drop:
                return None
            return act.batch - sum(1 for a in drop if a < act.batch)
        b = act.batch
        for a in sorted(v % len(dims) for v in axes or []):
            if a <= b:
                b += 1
        return b

    def _op_Transpose(self, node: Any, xs: list, attrs: dict) -> None:
        act = self._act(xs[0], "the input")
        rank = len(act.dims)
        perm = list(attrs.get("perm", list(range(rank))[::-1]))
        dims = tuple(act.dims[p] for p in perm)
        if act.batch is None:
            order, batch = perm, None
        else:
            batch = perm.index(act.batch)
            order = [p - (p > act.batch) for p in perm if p != act.batch]
        if order == sorted(order):  # only the batch axis moves
            self.values[node.output[0]] = Act(act.layer, act.shape, dims, batch, node.name)
            return
        made = self._layer(node, REGISTRY[Permute.op], [self._sample(act)], {"order": order})
        self._out(node, made, act, dims, batch)

    def _op_Concat(self, node: Any, xs: list, attrs: dict) -> None:
        acts = [x for x in xs if isinstance(x, Act)]
        learned = [x for x in xs if isinstance(x, Const)]
        first = acts[0]
        axis = first.axis(attrs["axis"], "concat axis")
        dims = list(first.dims)
        onnx_axis = attrs["axis"] % len(dims)
        dims[onnx_axis] = sum(x.dims[onnx_axis] for x in xs if x is not None)
        if learned:
            if len(acts) != 1 or len(learned) != 1 or learned[0].source is None:
                raise SpecError("a concat of a constant with several inputs is not read")
            c = learned[0]
            self._fresh(c)
            b = first.batch
            shape = c.dims if b is None else c.dims[:b] + c.dims[b + 1 :]
            learned = c.count if c.count != math.prod(shape) else None
            values = {"shape": shape, "mode": _PARAM_CONCAT, "axis": axis, "learned": learned}
            made = self._layer(node, REGISTRY[Parameter.op], [self._sample(first)], values)
        else:
            inputs = [self._sample(a) for a in acts]
            made = self._layer(node, REGISTRY[Concat.op], inputs, {"axis": axis})
        self._out(node, made, first, tuple(dims))

    def _op_Split(self, node: Any, xs: list, attrs: dict) -> None:
        act = self._act(xs[0], "the input")
        onnx_axis = attrs.get("axis", 0) % len(act.dims)
        axis = act.axis(onnx_axis, "split axis")
        sizes = attrs.get("split")
        if sizes is None and len(xs) > 1 and isinstance(xs[1], Const):
            sizes = xs[1].values("the split sizes")
        n = len(node.output)
        size = act.dims[onnx_axis]
        if sizes is None:
            sizes = [num.div(size, n)] * n
        x = self._sample(act)
        start = 0
        for i, (out, width) in enumerate(zip(node.output, sizes, strict=True)):
            if len(set(sizes)) == 1:
                values = {"chunks": n, "index": i, "axis": axis}
                made = self._layer(node, REGISTRY[Chunk.op], [x], values, f".{i}")
            else:
                values = {"start": start, "stop": start + width, "axis": axis}
                made = self._layer(node, REGISTRY[Slice.op], [x], values, f".{i}")
            start += width
            dims = list(act.dims)
            dims[onnx_axis] = width
            self.values[out] = Act(made[0], made[1], tuple(dims), act.batch, node.name)

    def _op_Slice(self, node: Any, xs: list, attrs: dict) -> None:
        act = self._act(xs[0], "the input")
        consts = [x if isinstance(x, Const) else None for x in xs]
        current, dims = act, list(act.dims)
        for onnx_axis, start, end, step in ot.slice_args(consts, attrs, len(act.dims)):
            lo, hi = ot.slice_range(act.dims[onnx_axis], start, end, step)
            if (lo, hi) == (0, act.dims[onnx_axis]) or onnx_axis == act.batch:
                continue
            axis = current.axis(onnx_axis, "slice axis")
            values = {"start": lo, "stop": hi, "axis": axis}
            made = self._layer(node, REGISTRY[Slice.op], [self._sample(current)], values)
            dims[onnx_axis] = hi - lo
            current = Act(made[0], made[1], tuple(dims), act.batch, node.name)
        self.values[node.output[0]] = current

    def _op_Gather(self, node: Any, xs: list, attrs: dict) -> None:
        act = self._act(xs[0], "the data")
        index = xs[1]
        if not isinstance(index, Const) or index.dims != () or index.data is None:
            raise SpecError("Gather is read with one constant index only")
        onnx_axis = attrs.get("axis", 0) % len(act.dims)
        i = index.data[0] % act.dims[onnx_axis]
        axis = act.axis(onnx_axis, "gather axis")
        values = {"start": i, "stop": i + 1, "axis": axis}
        made = self._layer(node, REGISTRY[Slice.op], [self._sample(act)], values)
        dims = act.dims[:onnx_axis] + act.dims[onnx_axis + 1 :]
        b = act.batch
        batch = None if b is None else b - (onnx_axis < b)
        self.values[node.output[0]] = Act(made[0], made[1], dims, batch, node.name)

    def _op_Shape(self, node: Any, xs: list, attrs: dict) -> None:
        act = self._act(xs[0], "the input")
        self.values[node.output[0]] = ot.fold(node.op_type, [Const(act.dims, None)], attrs)

    _op_Size = _op_Shape

    def _op_Expand(self, node: Any, xs: list, attrs: dict) -> None:
        act = self._act(xs[0], "the input")
        target = self._act_const(xs[1]).values("the expand shape")
        if ot.broadcast([act.dims, tuple(target)]) != tuple(act.dims):
            raise SpecError("an Expand that grows an activation is not read")
        self.values[node.output[0]] = act


class _Named:
    """Something with a name, for :meth:`Reader._name` (a reshape named after a node)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.output: list[str] = []
        self.op_type = ""


def declared(model: Any) -> list[str]:
    """The named sizes of the input besides the batch (what ``--set`` accepts)."""
    inits = {i.name for i in model.graph.initializer}
    names: list[str] = []
    for proto in model.graph.input:
        if proto.name in inits:
            continue
        for d in list(proto.type.tensor_type.shape.dim):
            if d.dim_param and not d.HasField("dim_value") and d.dim_param not in names:
                names.append(d.dim_param)
    return names


def load(
    path: Path,
    overrides: Mapping[str, Any],
    input_shape: Shape | None,
    free: tuple[str, ...],
    symbolic: bool,
) -> Graph:
    """The graph of an ONNX file (docs/import.md)."""
    try:
        return Reader(path, overrides, input_shape, free, symbolic).load()
    except RecursionError:  # pragma: no cover - protobuf nesting beyond Python's stack
        raise LimitError("the file nests too deeply", file=str(path)) from None


def declared_params(path: Path) -> list[str]:
    """The input's named sizes (``--set height=320``), the batch's among them."""
    return declared(ot.read_model(path))
