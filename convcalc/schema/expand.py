"""From a loaded YAML document to one flat, named DAG of layers with their shapes.

Blocks, repeats and stage tables are expanded here, names are made hierarchical
(``stage.2.0.dw``: use ``stage``, table row 2, repeat 0, layer ``dw``), ``from`` references
are resolved (earlier layers only, so the graph is acyclic by construction), arguments are
evaluated and every output shape is inferred as layers are emitted, because a block's
arguments may depend on the shape of its input (``c_in``).
"""

from __future__ import annotations

import contextlib
import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from convcalc import context, expr, num
from convcalc.errors import (
    ConvcalcError,
    LimitError,
    SpecError,
    UsageError,
)
from convcalc.graph import INPUT, Graph, GraphBuilder, Layer, check_arity
from convcalc.layers import REGISTRY
from convcalc.layers.base import LayerKind, Shape, check_dim, evaluate_value
from convcalc.names import IDENTIFIER, LAYER_NAME
from convcalc.schema import loader
from convcalc.schema.loader import YList, YMap

SCHEMA_VERSION = 1
# The largest bundled network has about 700 layers; synthetic ones of 100,000 are analysed
# in seconds. Nested blocks that multiply are caught before they are expanded (see
# Expander._at_least), so reaching these limits takes expansion time only in files whose
# repeat counts depend on tensor shapes.
MAX_LAYERS = 200_000  # layers after expansion; also the limit on block instances
MAX_REPEAT = 100_000
MAX_BOUND_VISITS = 20_000  # block-body entries examined for lower bounds, per expansion
STEPS_PER_LAYER = 100  # expression steps each emitted layer adds to the budget
_SATURATED = 10**15  # lower bounds stop growing here (deep nests of large repeats)
MAX_BLOCK_DEPTH = 32
MAX_PARAMS = 1_000
MAX_NAME_LENGTH = 100  # characters of one layer, block or use name (before nesting)

TOP_KEYS = {
    "convcalc": "schema version (1)",
    "name": "architecture name",
    "description": "one line shown by `convcalc list`",
    "source": "citation of the paper or implementation mirrored",
    "params": "parameters with defaults, settable with --set",
    "vars": "derived values: name -> expression, in order",
    "input": "input shape [C, H, W] (or [N])",
    "defaults": "per-op default arguments",
    "blocks": "reusable blocks: name -> {args, body}",
    "imports": "files whose blocks this file uses (paths relative to it, or bundled names)",
    "layers": "the layer list",
}
LAYER_KEYS = {"op", "name", "from", "repeat", "when", "norm", "act"}
BLOCK_USE_KEYS = {"block", "name", "from", "repeat", "when", "args", "table"}
BUILTINS = ("i", "c_in", "h_in", "w_in")


@dataclass(frozen=True)
class _Block:
    """A block definition with the file it came from and that file's defaults."""

    name: str
    args: YMap
    body: YList
    file: str
    defaults: dict[str, YMap]


@dataclass
class _Scope:
    prefix: str
    env: dict[str, Any]
    in_ref: str
    stack: tuple[str, ...] = ()
    counters: dict[str, int] = field(default_factory=dict)

    def full(self, local: str) -> str:
        return f"{self.prefix}.{local}" if self.prefix else local

    def auto_name(self, base: str) -> str:
        n = self.counters.get(base, 0) + 1
        self.counters[base] = n
        return f"{base}{n}"


def _is_off(value: Any) -> bool:
    return value is None or value is False or value == "none"


class Expander:
    """Expands one document. ``overrides`` are exact values from ``--set``/``--alpha``."""

    def __init__(
        self,
        doc: Any,
        file: str,
        source: str,
        overrides: Mapping[str, Any] | None = None,
        input_shape: Shape | None = None,
        path: Path | None = None,
        free: tuple[str, ...] = (),
        symbolic: bool = False,
    ) -> None:
        self.free = tuple(free)
        self.symbolic = symbolic
        self.file = file
        self.path = path
        self.source = source
        self.overrides = dict(overrides or {})
        self.input_override = input_shape
        if not isinstance(doc, YMap):
            raise SpecError(
                "the file must be a mapping with at least 'input' and 'layers'",
                file=file,
                line=getattr(doc, "line", 1),
                hint="see docs/schema.md",
            )
        self.doc = doc
        self.aliases: dict[str, str] = {}
        self.blocks: dict[str, _Block] = {}
        self.defaults: dict[str, YMap] = {}
        self.imported: set[Path] = set()
        self.instances = 0  # block instances expanded, bounded like layers
        self._bounds: dict[tuple, tuple[int, int]] = {}  # memo of _at_least
        self._visits = 0

    # --- errors ---------------------------------------------------------------------------

    def error(self, message: str, node: Any = None, key: Any = None, **kw: Any) -> SpecError:
        return SpecError(message, file=self.file, line=self._line(node, key), **kw)

    def _line(self, node: Any, key: Any = None) -> int | None:
        if isinstance(node, YMap):
            return node.line_of(key) if key is not None else node.line
        if isinstance(node, YList):
            return node.line_of(key) if isinstance(key, int) else node.line
        return None

    def _locate(self, e: ConvcalcError, node: Any, key: Any, layer: str | None) -> ConvcalcError:
        return e.locate(file=self.file, line=self._line(node, key), layer=layer)

    # --- top level ------------------------------------------------------------------------

    def run(self) -> Graph:
        with context.budget(expr.MAX_STEPS):
            return self._run()

    def _run(self) -> Graph:
        doc = self.doc
        for key in doc:
            if key not in TOP_KEYS:
                raise self.error(
                    f"unknown top-level key {key!r}",
                    doc,
                    key,
                    hint="allowed keys: " + ", ".join(TOP_KEYS),
                )
        version = doc.get("convcalc", SCHEMA_VERSION)
        if version != SCHEMA_VERSION:
            raise self.error(
                f"schema version {version!r} is not supported; this convcalc reads version "
                f"{SCHEMA_VERSION}",
                doc,
                "convcalc",
            )
        if "layers" not in doc and "input" not in doc and "blocks" in doc:
            raise self.error(
                "this file only defines blocks",
                doc,
                hint="use its blocks from another file with `imports:`",
            )
        for key in ("input", "layers"):
            if key not in doc:
                raise self.error(f"missing required key {key!r}", doc, hint="see docs/schema.md")
        env = self._params()
        self._vars(env)
        self.globals = env
        self.defaults = self._read_defaults(doc)
        self._read_blocks(doc, self.path, self.defaults, ())
        shape = self.input_override or self._input(env)
        name = doc.get("name", self.source)
        graph = Graph(
            name=str(name),
            source=self.source,
            file=self.file,
            citation=str(doc.get("source", "")),
            description=str(doc.get("description", "")),
            bindings=self.bindings,
            input_shape=shape,
        )
        self.graph = graph
        self.builder = GraphBuilder(graph, MAX_LAYERS)
        layers = doc["layers"]
        if not isinstance(layers, YList) or not layers:
            raise self.error("'layers' must be a non-empty list", doc, "layers")
        scope = _Scope("", dict(env), INPUT)
        self._fill_builtins(scope.env, shape, 0)
        self._expand_list(layers, scope)
        return graph

    def _params(self) -> dict[str, Any]:
        params = self.doc.get("params", YMap())
        if not isinstance(params, dict):
            raise self.error("'params' must be a mapping of name: default", self.doc, "params")
        if len(params) > MAX_PARAMS:
            raise LimitError(
                f"more than {MAX_PARAMS} params",
                file=self.file,
                line=self._line(self.doc, "params"),
            )
        known = ", ".join(params) or "none"
        for name in (*self.overrides, *self.free):
            if name not in params:
                raise UsageError(
                    f"{self.source} has no parameter {name!r}; its parameters are: {known}",
                )
        env: dict[str, Any] = {}
        for name, raw in params.items():
            self._check_var_name(name, params)
            default, kind, marked = self._param_spec(name, raw, params)
            if name in self.overrides and name not in self.free:
                env[name] = self.overrides[name]
            elif name in self.free or default is None or (self.symbolic and marked):
                from convcalc.symbolic import ops

                env[name] = ops.symbol(name, kind)
            else:
                try:
                    env[name] = evaluate_value(default, env, f"param {name!r}")
                except ConvcalcError as e:
                    raise self._locate(e, params, name, None) from None
        self.bindings = dict(env)
        return env

    def _param_spec(self, name: str, raw: Any, params: YMap) -> tuple[Any, str, bool]:
        """(default, kind, symbolic?) of a param. ``name: 1.0`` is real, ``name: 3`` an
        integer, ``name:`` (no default) an integer left free; the long form
        ``{default, type: int|real|even, symbolic: true, doc}`` says it explicitly, and
        ``symbolic: true`` marks the params ``--symbolic`` frees (alpha, rho)."""
        if isinstance(raw, YMap):
            for key in raw:
                if key not in ("default", "type", "symbolic", "doc"):
                    raise self.error(
                        f"unknown key {key!r} in param {name!r}",
                        raw,
                        key,
                        hint="a param has default, type (int, real or even), symbolic and doc",
                    )
            kind = raw.get("type")
            if kind not in (None, "int", "real", "even"):
                raise self.error(f"param {name!r}: type must be int, real or even", raw, "type")
            default = raw.get("default")
            if kind is None:
                kind = "real" if isinstance(default, float) else "int"
            marked = raw.get("symbolic", False)
            if not isinstance(marked, bool):
                raise self.error(f"param {name!r}: symbolic must be true or false", raw, "symbolic")
            return default, kind, marked
        if isinstance(raw, list | bool):
            raise self.error(f"param {name!r} must be a number or an expression", params, name)
        return raw, "real" if isinstance(raw, float) else "int", False

    def _vars(self, env: dict[str, Any]) -> None:
        variables = self.doc.get("vars", YMap())
        if not isinstance(variables, dict):
            raise self.error("'vars' must be a mapping of name: expression", self.doc, "vars")
        for name, raw in variables.items():
            self._check_var_name(name, variables)
            if name in env:
                raise self.error(f"var {name!r} shadows a param", variables, name)
            try:
                env[name] = evaluate_value(raw, env, f"var {name!r}")
            except ConvcalcError as e:
                raise self._locate(e, variables, name, None) from None

    def _check_var_name(self, name: str, node: Any) -> None:
        if not IDENTIFIER.match(name) or name.startswith("__"):
            raise self.error(f"{name!r} is not a valid name", node, name)
        if name in BUILTINS:
            raise self.error(f"{name!r} is a built-in name ({', '.join(BUILTINS)})", node, name)

    def _input(self, env: dict[str, Any]) -> Shape:
        raw = self.doc["input"]
        if isinstance(raw, YMap) and "shape" in raw:
            raw = raw["shape"]
        if not isinstance(raw, list) or len(raw) not in (1, 3):
            raise self.error("'input' must be [C, H, W] or [N]", self.doc, "input")
        try:
            return tuple(check_dim(evaluate_value(v, env, "input size"), "input size") for v in raw)
        except ConvcalcError as e:
            raise self._locate(e, self.doc, "input", None) from None

    def _read_defaults(self, doc: YMap) -> dict[str, YMap]:
        defaults = doc.get("defaults", YMap())
        if not isinstance(defaults, YMap):
            raise self.error("'defaults' must map op names to arguments", doc, "defaults")
        out: dict[str, YMap] = {}
        for op, values in defaults.items():
            if op not in REGISTRY:
                raise self._unknown_op(op, defaults, op)
            if not isinstance(values, YMap):
                raise self.error(f"defaults for {op!r} must be a mapping", defaults, op)
            out[op] = values
        return out

    def _imports(self, doc: YMap, path: Path | None, chain: tuple[Path, ...]) -> None:
        refs = doc.get("imports")
        if refs is None:
            return
        if not isinstance(refs, YList) or not all(isinstance(r, str) for r in refs):
            raise self.error(
                "'imports' must be a list of file paths or bundled names", doc, "imports"
            )
        for index, ref in enumerate(refs):
            try:
                target = loader.resolve(ref, base=path.parent if path is not None else None)
            except ConvcalcError as e:
                raise e.locate(file=self.file, line=refs.line_of(index)) from None
            target = target.resolve()
            if target in chain:
                raise self.error(f"import cycle: {ref!r} imports this file again", refs, index)
            if target in self.imported:
                continue
            self.imported.add(target)
            if len(chain) >= MAX_BLOCK_DEPTH:
                raise LimitError("imports nest too deeply", file=self.file)
            shown = loader.display_name(target)
            sub = loader.load_yaml(loader.read_text(target, shown), shown)
            if not isinstance(sub, YMap):
                raise SpecError("an imported file must be a mapping with 'blocks'", file=shown)
            saved, self.file = self.file, shown
            try:
                for key in sub:
                    if key not in TOP_KEYS:
                        raise self.error(f"unknown top-level key {key!r}", sub, key)
                self._read_blocks(sub, target, self._read_defaults(sub), (*chain, target))
            finally:
                self.file = saved

    def _read_blocks(
        self, doc: YMap, path: Path | None, defaults: dict[str, YMap], chain: tuple[Path, ...]
    ) -> None:
        self._imports(doc, path, chain if path is None else (*chain, path.resolve()))
        blocks = doc.get("blocks", YMap())
        if not isinstance(blocks, YMap):
            raise self.error("'blocks' must map block names to definitions", doc, "blocks")
        for name, body in blocks.items():
            if not LAYER_NAME.match(name):
                raise self.error(f"{name!r} is not a valid block name", blocks, name)
            self._check_length(name, blocks, name)
            if name in self.blocks:
                raise self.error(
                    f"block {name!r} is defined twice (also in {self.blocks[name].file})",
                    blocks,
                    name,
                )
            if not isinstance(body, YMap) or "body" not in body:
                raise self.error(
                    f"block {name!r} must be a mapping with 'body' (and optional 'args')",
                    blocks,
                    name,
                )
            for key in body:
                if key not in ("args", "body", "doc"):
                    raise self.error(
                        f"unknown key {key!r} in block {name!r}",
                        body,
                        key,
                        hint="a block has args, body and doc",
                    )
            if not isinstance(body["body"], YList) or not body["body"]:
                raise self.error(f"block {name!r} body must be a non-empty list", body, "body")
            args = body.get("args", YMap())
            if isinstance(args, YList):
                for arg in args:
                    if not isinstance(arg, str):
                        raise self.error(f"block arg {arg!r} is not a name", body, "args")
                fixed = YMap({a: None for a in args})
                fixed.line, fixed.key_lines = args.line, {}
                args = fixed
            if not isinstance(args, YMap):
                raise self.error("block args must be a list of names or a mapping", body, "args")
            for arg in args:
                if not isinstance(arg, str):
                    raise self.error(f"block arg {arg!r} is not a name", body, "args")
                self._check_var_name(arg, args)
            self.blocks[name] = _Block(name, args, body["body"], self.file, defaults)

    def _unknown_op(self, op: Any, node: Any, key: Any, layer: str | None = None) -> SpecError:
        close = difflib.get_close_matches(str(op), REGISTRY, n=3)
        hint = (
            f"did you mean {', '.join(close)}? " if close else ""
        ) + "`convcalc layers` lists them"
        return self.error(f"unknown op {op!r}", node, key, hint=hint, layer=layer)

    # --- lists, layers, blocks ------------------------------------------------------------

    def _fill_builtins(self, env: dict[str, Any], shape: Shape, i: int) -> None:
        env["i"] = i
        env["c_in"] = shape[0]
        if len(shape) == 3:
            env["h_in"], env["w_in"] = shape[1], shape[2]

    def _expand_list(self, entries: YList, scope: _Scope) -> str:
        prev = scope.in_ref
        for index, entry in enumerate(entries):
            if not isinstance(entry, YMap):
                raise self.error(
                    "each layer must be a mapping with 'op' (or 'block')", entries, index
                )
            weight: Any = 1
            if "when" in entry:
                try:
                    cond = evaluate_value(entry["when"], scope.env, "when")
                    decided = num.decided(cond)
                    if decided is None and "op" not in entry:
                        num.truth(cond, "when")  # raises: blocks cannot be conditional
                except ConvcalcError as e:
                    raise self._locate(e, entry, "when", entry.get("name")) from None
                if decided is False:
                    continue
                if decided is None:
                    weight = num.indicator(cond)
            if "block" in entry:
                prev = self._block_use(entry, scope, prev)
            elif "op" in entry:
                prev = self._layer_entry(entry, scope, prev, weight)
            else:
                raise self.error("a layer needs 'op' (or 'block' to use a block)", entry)
        return prev

    def _name(self, entry: YMap, scope: _Scope, base: str) -> str:
        if "name" not in entry:
            return scope.auto_name(base)
        name = entry["name"]
        if not isinstance(name, str) or not LAYER_NAME.match(name):
            raise self.error(
                f"layer name {name!r} is not valid",
                entry,
                "name",
                hint="names use letters, digits, '_' and '-' and start with a letter; "
                "'.' is reserved for nesting",
            )
        if name == INPUT:
            raise self.error("'input' is reserved for the network input", entry, "name")
        self._check_length(name, entry, "name")
        return name

    def _check_length(self, name: str, node: Any, key: Any) -> None:
        if len(name) > MAX_NAME_LENGTH:
            raise LimitError(
                f"name {name[:20]!r}... is {len(name)} characters long; the limit is "
                f"{MAX_NAME_LENGTH}",
                file=self.file,
                line=self._line(node, key),
            )

    def _repeat(self, entry: YMap, env: Mapping[str, Any], layer: str) -> int | None:
        if "repeat" not in entry:
            return None
        try:
            with context.smooth(False):  # a count of copies is whole even without rounding
                count = num.as_int(evaluate_value(entry["repeat"], env, "repeat"), "repeat")
            if not num.is_concrete(count):
                raise SpecError("repeat must be a number once parameters are bound")
        except ConvcalcError as e:
            raise self._locate(e, entry, "repeat", layer) from None
        if count < 0:
            raise self.error(f"repeat must be 0 or more, got {count}", entry, "repeat")
        if count > MAX_REPEAT:
            raise LimitError(
                f"repeat {count} exceeds the limit of {MAX_REPEAT}",
                file=self.file,
                line=entry.line_of("repeat"),
                layer=layer,
            )
        return count

    def _resolve(self, ref: Any, scope: _Scope, entry: YMap, layer: str) -> str:
        if ref == "$in":
            return scope.in_ref
        shown = scope.full(layer)  # errors name the layer as the report does
        if not isinstance(ref, str):
            raise self.error(
                f"'from' must name layers, got {ref!r}",
                entry,
                "from",
                layer=shown,
                hint="layers are named, never numbered",
            )
        target = scope.full(ref)
        if target in self.aliases:
            return self.aliases[target]
        if target in self.graph.shapes and target != INPUT:
            return target
        if ref == INPUT and not scope.prefix:
            return INPUT
        if scope.full(ref) == scope.full(layer):
            raise self.error(
                f"layer {shown!r} reads its own output (a cycle)", entry, "from", layer=shown
            )
        raise self.error(
            f"'from' names {ref!r}, which is not a layer defined before this one",
            entry,
            "from",
            layer=shown,
            hint="layers may read only earlier layers (no forward references or cycles); "
            "inside a block use $in for the block input",
        )

    def _sources(self, entry: YMap, scope: _Scope, prev: str, layer: str) -> tuple[str, ...]:
        if "from" not in entry:
            return (prev,)
        refs = entry["from"]
        if not isinstance(refs, list):
            refs = [refs]
        if not refs:
            raise self.error("'from' is an empty list", entry, "from", layer=scope.full(layer))
        return tuple(self._resolve(r, scope, entry, layer) for r in refs)

    def _emit(
        self,
        name: str,
        kind: LayerKind,
        raw: Mapping[str, Any],
        inputs: tuple[str, ...],
        env: Mapping[str, Any],
        entry: YMap,
        weight: Any = 1,
    ) -> str:
        graph = self.graph
        if name in graph.shapes or name in self.aliases:
            raise self.error(
                f"duplicate layer name {name!r}",
                entry,
                "name",
                layer=name,
                hint="names must be unique; repeated layers get .0, .1, ...",
            )
        try:
            self.builder.check_room()
        except LimitError as e:
            raise e.locate(file=self.file, line=entry.line, layer=name) from None
        try:
            check_arity(kind, len(inputs))
        except SpecError as e:
            raise self._locate(e, entry, "from", name) from None
        try:
            args = kind.bind(raw, env)
            shape = self.builder.shape_of(kind, args, inputs)
        except ConvcalcError as e:
            key = next(
                (k for k in raw if k in entry and e.message.startswith(f"argument {k!r}")), None
            )
            raise self._locate(e, entry, key, name) from None
        if weight != 1:
            # The layer exists only where its condition holds; elsewhere the graph goes on
            # from the previous layer, so it must read that layer and keep its shape.
            prev = self.builder.last
            if prev not in inputs or (
                len(inputs) == 1
                and any(
                    num.is_concrete(a) and num.is_concrete(b) and a != b
                    for a, b in zip(shape, graph.shapes[prev], strict=False)
                )
            ):
                raise self.error(
                    "a layer whose 'when' depends on free parameters must read the previous "
                    f"layer and keep its shape (op {kind.op!r} does not)",
                    entry,
                    "when",
                    layer=name,
                    hint="give the parameters values, or make the condition concrete",
                )
            shape = graph.shapes[prev]
        self.builder.append(Layer(name, kind, args, inputs, shape, entry.line, weight, self.file))
        expr.allow(STEPS_PER_LAYER)
        return name

    def _layer_entry(self, entry: YMap, scope: _Scope, prev: str, weight: Any = 1) -> str:
        op = entry["op"]
        kind = REGISTRY.get(op) if isinstance(op, str) else None
        if kind is None:
            named = entry.get("name")
            layer = (
                scope.full(named) if isinstance(named, str) and LAYER_NAME.match(named) else None
            )
            raise self._unknown_op(op, entry, "op", layer)
        base = self._name(entry, scope, op)
        count = self._repeat(entry, scope.env, scope.full(base))
        raw: dict[str, Any] = dict(self.defaults.get(op, {}))
        raw.update((k, v) for k, v in entry.items() if k not in LAYER_KEYS)
        norm = entry.get("norm", raw.pop("norm", None))
        act = entry.get("act", raw.pop("act", None))
        raw.pop("norm", None)
        raw.pop("act", None)
        out = prev
        reps = range(1) if count is None else range(count)
        env = scope.env
        for i in reps:
            if count is not None:
                env = {**scope.env, "i": i}
            local = base if count is None else f"{base}.{i}"
            name = scope.full(local)
            inputs = self._sources(entry, scope, prev, local) if i == 0 else (out,)
            group = not (_is_off(norm) and _is_off(act))
            first = f"{name}.{op}" if group else name
            out = self._emit(first, kind, raw, inputs, env, entry, weight)
            if not _is_off(norm):
                out = self._extra(norm, "norm", name, out, entry, weight)
            if not _is_off(act):
                out = self._extra(act, "act", name, out, entry, weight)
            if group:
                self.aliases[name] = out
        if count == 0:
            self.aliases[scope.full(base)] = prev
        elif count is not None:
            self.aliases[scope.full(base)] = out
        return out

    def _extra(self, op: Any, key: str, group: str, prev: str, entry: YMap, weight: Any) -> str:
        kind = REGISTRY.get(op) if isinstance(op, str) else None
        if kind is None:
            raise self._unknown_op(op, entry, key, group)
        if key == "norm" and kind.category != "norm":
            raise self.error(
                f"norm must be a normalisation op (bn, lrn), got {op!r}", entry, key, layer=group
            )
        if key == "act" and kind.category != "activation":
            raise self.error(f"act must be an activation op, got {op!r}", entry, key, layer=group)
        raw = dict(self.defaults.get(op, {}))
        raw.pop("norm", None)
        raw.pop("act", None)
        return self._emit(f"{group}.{op}", kind, raw, (prev,), {}, entry, weight)

    def _block_use(self, entry: YMap, scope: _Scope, prev: str) -> str:
        for key in entry:
            if key not in BLOCK_USE_KEYS:
                raise self.error(
                    f"unknown key {key!r} in a block use",
                    entry,
                    key,
                    hint="a block use has: "
                    + ", ".join(sorted(BLOCK_USE_KEYS))
                    + "; block arguments go under 'args'",
                )
        bname = entry["block"]
        if not isinstance(bname, str) or bname not in self.blocks:
            known = ", ".join(self.blocks) or "none"
            raise self.error(
                f"unknown block {bname!r}",
                entry,
                "block",
                hint=f"blocks defined in this file: {known}",
            )
        if bname in scope.stack:
            chain = " -> ".join((*scope.stack, bname))
            raise self.error(f"recursive block definition: {chain}", entry, "block")
        block = self.blocks[bname]
        use = self._name(entry, scope, bname)
        if len(scope.stack) >= MAX_BLOCK_DEPTH:
            raise LimitError(
                f"blocks nest deeper than {MAX_BLOCK_DEPTH}",
                file=self.file,
                line=entry.line,
                layer=scope.full(use),
            )
        start = self._sources(entry, scope, prev, use)
        if len(start) != 1:
            raise self.error("a block reads exactly one input", entry, "from", layer=use)
        rows = self._table_rows(entry, scope, use)
        plan = []
        for row_env in rows:
            env = {**scope.env, **row_env} if row_env else scope.env
            args = self._block_args(entry, block, env, row_env, use)
            plan.append((row_env, args, self._repeat(entry, env, scope.full(use))))
        self._check_bound(bname, block, plan, entry, scope.full(use), scope.stack)
        out = start[0]
        for r, (_row_env, args, count) in enumerate(plan):
            row_prefix = f"{use}.{r}" if "table" in entry else use
            for i in range(1 if count is None else count):
                self.instances += 1
                if self.instances > MAX_LAYERS:
                    raise LimitError(
                        f"the network expands more than {MAX_LAYERS} block instances",
                        file=self.file,
                        line=entry.line,
                        layer=scope.full(use),
                    )
                local = row_prefix if count is None else f"{row_prefix}.{i}"
                inner = {**self.globals, **args}
                self._fill_builtins(inner, self.graph.shapes[out], i)
                child = _Scope(scope.full(local), inner, out, (*scope.stack, bname))
                saved = self.file, self.defaults
                self.file, self.defaults = block.file, block.defaults
                try:
                    out = self._expand_list(block.body, child)
                finally:
                    self.file, self.defaults = saved
                self.aliases.setdefault(child.prefix, out)
            self.aliases[scope.full(row_prefix)] = out
        self.aliases[scope.full(use)] = out
        return out

    # --- lower bounds: blocks that multiply are refused before they are expanded ----------

    def _check_bound(
        self,
        bname: str,
        block: _Block,
        plan: list[tuple[Any, dict[str, Any], int | None]],
        entry: YMap,
        use: str,
        stack: tuple[str, ...],
    ) -> None:
        layers = instances = 0
        for _row, args, count in plan:
            one = self._at_least(bname, block, args, (*stack, bname))
            reps = 1 if count is None else count
            layers = min(layers + reps * one[0], _SATURATED)
            instances = min(instances + reps * (1 + one[1]), _SATURATED)
        for what, done, more in (
            ("layers", len(self.graph.layers), layers),
            ("block instances", self.instances, instances),
        ):
            if done + more > MAX_LAYERS:
                raise LimitError(
                    f"the network would expand to more than {MAX_LAYERS} {what}: this use of "
                    f"block {bname!r} alone makes at least {more}",
                    file=self.file,
                    line=entry.line,
                    layer=use,
                    hint="blocks that use blocks multiply their repeat counts",
                )

    def _at_least(
        self, bname: str, block: _Block, args: Mapping[str, Any], stack: tuple[str, ...]
    ) -> tuple[int, int]:
        """Lower bounds on the (layers, block instances) one instance of ``block`` expands
        to, from what is decidable before expanding it: entries whose ``when`` holds (or
        that have none) and repeat counts computed from params, vars and block arguments.
        Anything that needs ``i`` or an input shape counts as zero, so the bound never
        overestimates; results are memoised by block and arguments, and the work is capped
        by MAX_BOUND_VISITS (after which the remaining entries count as zero)."""
        try:
            key = (bname, tuple(sorted(args.items())))
            hash(key)
        except TypeError:  # pragma: no cover - argument values are numbers
            return 0, 0
        if key in self._bounds:
            return self._bounds[key]
        env = {**self.globals, **args}
        layers = instances = 0
        for entry in block.body:
            self._visits += 1
            if self._visits > MAX_BOUND_VISITS:
                break
            if not isinstance(entry, YMap):
                continue
            try:
                if (
                    "when" in entry
                    and num.decided(evaluate_value(entry["when"], env, "when")) is not True
                ):
                    continue
                count = evaluate_value(entry.get("repeat", 1), env, "repeat")
                if not isinstance(count, int) or count < 0:
                    continue
                if "op" in entry:
                    layers = min(layers + count, _SATURATED)
                    continue
                inner = entry.get("block")
                sub = self.blocks.get(inner) if isinstance(inner, str) else None
                if sub is None or inner in stack or len(stack) >= MAX_BLOCK_DEPTH:
                    continue
                rows = 1
                if "table" in entry:
                    table = entry["table"]
                    if not isinstance(table, YMap) or not isinstance(table.get("rows"), list):
                        continue
                    rows = len(table["rows"])
                given = entry.get("args")
                sub_args: dict[str, Any] = {}
                for name, raw in given.items() if isinstance(given, YMap) else ():
                    # Unknown here: expressions that need it count as zero.
                    with contextlib.suppress(ConvcalcError):
                        sub_args[name] = evaluate_value(raw, env, "argument")
                sub_layers, sub_instances = self._at_least(inner, sub, sub_args, (*stack, inner))
                layers = min(layers + rows * count * sub_layers, _SATURATED)
                instances = min(instances + rows * count * (1 + sub_instances), _SATURATED)
            except ConvcalcError:
                continue
        self._bounds[key] = (layers, instances)
        return layers, instances

    def _table_rows(self, entry: YMap, scope: _Scope, use: str) -> list[dict[str, Any]]:
        table = entry.get("table")
        if table is None:
            return [{}]
        if not isinstance(table, YMap) or set(table) != {"cols", "rows"}:
            raise self.error("'table' must have exactly 'cols' and 'rows'", entry, "table")
        cols, rows = table["cols"], table["rows"]
        if not isinstance(cols, list) or not all(isinstance(c, str) for c in cols):
            raise self.error("table 'cols' must be a list of names", table, "cols")
        for c in cols:
            self._check_var_name(c, table)
        if not isinstance(rows, YList) or not rows:
            raise self.error("table 'rows' must be a non-empty list", table, "rows")
        out = []
        for index, row in enumerate(rows):
            if not isinstance(row, list) or len(row) != len(cols):
                raise self.error(
                    f"table row {index} must have {len(cols)} values ({', '.join(cols)})",
                    rows,
                    index,
                    layer=use,
                )
            try:
                out.append(
                    {
                        c: evaluate_value(v, scope.env, f"column {c!r}")
                        for c, v in zip(cols, row, strict=True)
                    }
                )
            except ConvcalcError as e:
                raise e.locate(file=self.file, line=rows.line_of(index), layer=use) from None
        return out

    def _block_args(
        self, entry: YMap, block: _Block, env: Mapping[str, Any], row: Mapping[str, Any], use: str
    ) -> dict[str, Any]:
        spec = block.args
        given = entry.get("args", YMap())
        if not isinstance(given, YMap):
            raise self.error("block 'args' must be a mapping", entry, "args", layer=use)
        for key in given:
            if key not in spec:
                raise self.error(
                    f"block {entry['block']!r} has no argument {key!r}",
                    given,
                    key,
                    layer=use,
                    hint="its arguments are: " + (", ".join(spec) or "none"),
                )
        values: dict[str, Any] = {}
        for name, default in spec.items():
            try:
                if name in given:
                    values[name] = evaluate_value(given[name], env, f"argument {name!r}")
                elif name in row:
                    values[name] = row[name]
                elif default is not None:
                    values[name] = evaluate_value(
                        default, {**self.globals, **values}, f"argument {name!r}"
                    )
                else:
                    raise SpecError(
                        f"block {entry['block']!r} needs argument {name!r}",
                        hint="give it under 'args' or as a table column",
                    )
            except ConvcalcError as e:
                raise self._locate(
                    e, given if name in given else entry, name if name in given else None, use
                ) from None
        return values


def expand(
    doc: Any,
    file: str,
    source: str,
    overrides: Mapping[str, Any] | None = None,
    input_shape: Shape | None = None,
    path: Path | None = None,
    free: tuple[str, ...] = (),
    symbolic: bool = False,
) -> Graph:
    """Expand a loaded document into a :class:`Graph`; ``path`` anchors relative imports.

    ``free`` names params to leave as symbols; ``symbolic`` also frees params that have no
    default."""
    return Expander(doc, file, source, overrides, input_shape, path, free, symbolic).run()
