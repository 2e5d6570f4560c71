"""The walk: from a loaded YAML document to one flat, named DAG of layers with their shapes.

:func:`expand` reads the document's top level (:mod:`convcalc.schema.document`) and its
block library (:mod:`convcalc.schema.blocks`); then an :class:`Expander` walks the layer
list. Blocks, repeats and stage tables are expanded here, names are made hierarchical
(``stage.2.0.dw``: use ``stage``, table row 2, repeat 0, layer ``dw``), ``from`` references
are resolved (earlier layers only, so the graph is acyclic by construction), ``when``
conditions and the ``norm``/``act`` shorthands are applied, and every output shape is
inferred as layers are emitted through :class:`convcalc.graph.GraphBuilder`, because a
block's arguments may depend on the shape of its input (``c_in``). Arguments, table rows
and repeat counts are evaluated by :mod:`convcalc.schema.binding`, and
:mod:`convcalc.schema.bounds` refuses a block use too large to expand before it is expanded.

State is kept where it belongs: the graph and the aliases of group and use names are the
:class:`Expander`'s; what changes with each list (name prefix, environment, input, and the
defaults of the file a block body comes from) is its :class:`_Scope`; the file named in
errors is the :class:`~convcalc.schema.where.Where` every part shares.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from convcalc import context, expr, num
from convcalc.errors import ConvcalcError, LimitError, SpecError
from convcalc.graph import INPUT, Graph, GraphBuilder, Layer, check_arity
from convcalc.layers import REGISTRY, ordered
from convcalc.layers.base import LayerKind, Shape, evaluate_value
from convcalc.names import LAYER_NAME
from convcalc.schema import binding, document, extends, limits, templates
from convcalc.schema.blocks import Block, Library
from convcalc.schema.bounds import Bounds
from convcalc.schema.loader import YList, YMap
from convcalc.schema.where import Where

LAYER_KEYS = {"op", "name", "from", "repeat", "when", "norm", "act"}
BLOCK_USE_KEYS = {"block", "name", "from", "repeat", "when", "args", "table"}


@dataclass
class _Scope:
    """One layer list being walked: the file's (``prefix`` empty) or a block instance's."""

    prefix: str
    env: dict[str, Any]
    in_ref: str
    defaults: Mapping[str, YMap]  # per-op defaults of the file the list was written in
    stack: tuple[str, ...] = ()
    counters: dict[str, int] = field(default_factory=dict)

    def full(self, local: str) -> str:
        return f"{self.prefix}.{local}" if self.prefix else local

    def auto_name(self, base: str) -> str:
        n = self.counters.get(base, 0) + 1
        self.counters[base] = n
        return f"{base}{n}"


def _own_references(
    kind: LayerKind, raw: Mapping[str, Any], given: Any
) -> dict[str, frozenset[str]]:
    """The defaults (arguments in ``raw`` the layer does not set, ``given``) that read other
    arguments of the same layer, each with the names it reads: in a default, a name that is
    an argument of the op and that the layer has (set by itself or by a default) means
    that argument; its own name means what it means outside (``bias: "bias == 1"`` reads
    a param ``bias``)."""
    out: dict[str, frozenset[str]] = {}
    for arg, value in raw.items():
        if arg in given:
            continue
        texts = [v for v in (value if isinstance(value, list) else [value]) if isinstance(v, str)]
        reads: set[str] = set()
        for text in texts:
            try:
                reads |= expr.names(text)
            except ConvcalcError:
                continue  # not an expression; binding the argument reports it
        reads &= {a for a in kind.args if a != arg and (a in raw or a in given)}
        if reads:
            out[arg] = frozenset(reads)
    return out


def _is_off(value: Any) -> bool:
    return value is None or value is False or value == "none"


def _op_defaults(defaults: Mapping[str, YMap], op: str) -> tuple[dict[str, Any], Any, Any]:
    """(default arguments, default norm, default act) of ``op`` in ``defaults``."""
    raw = dict(defaults.get(op, {}))
    return raw, raw.pop("norm", None), raw.pop("act", None)


_LITERAL = (int, bool, type(None))


def _memo_key(kind: LayerKind, raw: Mapping[str, Any], shapes: list[Shape]) -> tuple | None:
    """The key under which a layer's bound arguments and output shape are reused, or None.

    A repeated block emits the same layer thousands of times; when every argument is a
    literal whole number (no expression, so the environment cannot change it) and every
    input size is a concrete integer, binding and the shape rule give the same answer each
    time, and a failure is never stored (it stops the run), so reusing it changes nothing.
    Expressions, lists and symbolic sizes are bound afresh. Values are keyed with their
    type (``True`` and ``1`` bind differently), and with whether rounding applies (the
    shape rules divide differently without it)."""
    items = []
    for k, v in raw.items():
        if type(v) not in _LITERAL:
            return None
        items.append((k, type(v), v))
    dims = tuple(shapes)
    for shape in dims:
        for d in shape:
            if type(d) is not int:
                return None
    return (kind, tuple(items), dims, context.current().smooth)


# (kind, literal arguments, input shapes, smooth) -> (args, shape), see _memo_key: shared by
# every expansion, so a layer of literal arguments gets the same Args object in every
# analysis of its file (what convcalc.analysis keys its reuse on); starts afresh when full
_BOUND: dict[tuple, tuple[Any, Shape]] = {}
_MAX_BOUND = 100_000


class Expander:
    """Walks the layer lists of one document into ``graph``, using its ``blocks``; a block
    instance's environment starts from the file's params and vars, ``globals_``."""

    def __init__(
        self, where: Where, blocks: Mapping[str, Block], globals_: Mapping[str, Any], graph: Graph
    ) -> None:
        self.where = where
        self.blocks = blocks
        self.globals = globals_
        self.graph = graph
        self.builder = GraphBuilder(graph, limits.MAX_LAYERS)
        self.bounds = Bounds(where, blocks, globals_)
        self.aliases: dict[str, str] = {}
        # a repeated layer or block use (or a stage table) -> the names of its copies (rows),
        # in order: what ``from: [name.*]`` reads
        self.repeats: dict[str, list[str]] = {}
        if len(_BOUND) > _MAX_BOUND:
            _BOUND.clear()
        self.reads = templates.Reads(blocks)
        # While an instance is being recorded as a template: every alias and repeat set
        # since the outermost recording began, in order (see _set_alias, _instance)
        self._log: list[tuple[str, str, Any]] | None = None
        self._entries: dict[str, YMap] = {}  # and the entry of each layer made since then

    def walk(self, layers: YList, defaults: Mapping[str, YMap]) -> None:
        """Emit the file's ``layers`` (written with its per-op ``defaults``) into the graph."""
        scope = _Scope("", dict(self.globals), INPUT, defaults)
        binding.fill_builtins(scope.env, self.graph.input_shape, 0)
        self._expand_list(layers, scope)

    def _expand_list(self, entries: YList, scope: _Scope) -> str:
        prev = scope.in_ref
        for index, entry in enumerate(entries):
            if not isinstance(entry, YMap):
                raise self.where.error(
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
                    raise self.where.locate(e, entry, "when", entry.get("name")) from None
                if decided is False:
                    continue
                if decided is None:
                    weight = num.indicator(cond)
            if "block" in entry:
                prev = self._block_use(entry, scope, prev)
            elif "op" in entry:
                prev = self._layer_entry(entry, scope, prev, weight)
            else:
                raise self.where.error("a layer needs 'op' (or 'block' to use a block)", entry)
        return prev

    def _name(self, entry: YMap, scope: _Scope, base: str) -> str:
        if "name" not in entry:
            return scope.auto_name(base)
        name = entry["name"]
        if not isinstance(name, str) or not LAYER_NAME.match(name):
            raise self.where.error(
                f"layer name {name!r} is not valid",
                entry,
                "name",
                hint="names use letters, digits, '_' and '-' and start with a letter; "
                "'.' is reserved for nesting",
            )
        if name == INPUT:
            raise self.where.error("'input' is reserved for the network input", entry, "name")
        limits.check_name_length(self.where, name, entry, "name")
        return name

    def _resolve(self, ref: Any, scope: _Scope, entry: YMap, layer: str) -> str:
        if ref == "$in":
            return scope.in_ref
        shown = scope.full(layer)  # errors name the layer as the report does
        if not isinstance(ref, str):
            raise self.where.error(
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
            raise self.where.error(
                f"layer {shown!r} reads its own output (a cycle)", entry, "from", layer=shown
            )
        raise self.where.error(
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
            raise self.where.error(
                "'from' is an empty list", entry, "from", layer=scope.full(layer)
            )
        out: list[str] = []
        for ref in refs:
            if isinstance(ref, str) and ref.endswith(".*"):
                out += self._copies(ref, scope, entry, layer)
            else:
                out.append(self._resolve(ref, scope, entry, layer))
        return tuple(out)

    def _copies(self, ref: str, scope: _Scope, entry: YMap, layer: str) -> list[str]:
        """The outputs of every copy of a repeat (``m.*``: ``m.0``, ``m.1``, ...; the rows
        of a stage table), in order; none for a repeat of 0."""
        base = ref[:-2]
        shown = scope.full(layer)
        copies = self.repeats.get(scope.full(base))
        if copies is None:
            target = scope.full(base)
            what = (
                f"{base!r} is not repeated (it has no 'repeat' or 'table')"
                if target in self.aliases or target in self.graph.shapes
                else f"no repeated layer or block named {base!r} is defined before this one"
            )
            raise self.where.error(
                f"'from' names {ref!r}, but {what}",
                entry,
                "from",
                layer=shown,
                hint="'name.*' reads the output of every copy of a layer or block use "
                "with 'repeat' (or of every row of a stage table), in order",
            )
        return [self.aliases.get(c, c) for c in copies]

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
        self._admit(name, entry, len(inputs), kind)
        try:
            key = _memo_key(kind, raw, [graph.shapes[s] for s in inputs])
            hit = _BOUND.get(key) if key is not None else None
            if hit is None:
                args = kind.bind(raw, env)
                shape = self.builder.shape_of(kind, args, inputs)
                if key is not None:
                    _BOUND[key] = (args, shape)
            else:
                args, shape = hit
        except ConvcalcError as e:
            key = next(
                (k for k in raw if k in entry and e.message.startswith(f"argument {k!r}")), None
            )
            raise self.where.locate(e, entry, key, name) from None
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
                raise self.where.error(
                    "a layer whose 'when' depends on free parameters must read the previous "
                    f"layer and keep its shape (op {kind.op!r} does not)",
                    entry,
                    "when",
                    layer=name,
                    hint="give the parameters values, or make the condition concrete",
                )
            shape = graph.shapes[prev]
        self.builder.append(
            Layer(name, kind, args, inputs, shape, entry.line, weight, self.where.file)
        )
        if self._log is not None:
            self._entries[name] = entry
        expr.allow(limits.STEPS_PER_LAYER)
        return name

    def _admit(self, name: str, entry: YMap, inputs: int, kind: LayerKind | None) -> None:
        """The checks before a layer named ``name`` (written at ``entry``, reading
        ``inputs`` tensors) joins the graph: a unique name, room under the layer limit, the
        number of inputs its ``kind`` takes (None: already checked, for a replayed layer)
        and the run's budget of layer inputs (merge fan-in)."""
        if name in self.graph.shapes or name in self.aliases:
            raise self.where.error(
                f"duplicate layer name {name!r}",
                entry,
                "name",
                layer=name,
                hint="names must be unique; repeated layers get .0, .1, ...",
            )
        try:
            self.builder.check_room()
        except LimitError as e:
            raise self.where.locate(e, entry, None, name) from None
        if kind is not None:
            try:
                check_arity(kind, inputs)
            except SpecError as e:
                raise self.where.locate(e, entry, "from", name) from None
        try:
            context.charge("layer_inputs", inputs)
        except LimitError as e:
            raise self.where.locate(e, entry, "from", name) from None

    def _layer_entry(self, entry: YMap, scope: _Scope, prev: str, weight: Any = 1) -> str:
        op = entry["op"]
        kind = REGISTRY.get(op) if isinstance(op, str) else None
        if kind is None:
            named = entry.get("name")
            layer = (
                scope.full(named) if isinstance(named, str) and LAYER_NAME.match(named) else None
            )
            raise document.unknown_op(self.where, op, entry, "op", layer)
        base = self._name(entry, scope, op)
        count = binding.repeat_count(self.where, entry, scope.env, scope.full(base))
        raw, norm, act = _op_defaults(scope.defaults, op)
        given = {k for k in entry if k not in LAYER_KEYS}
        own = _own_references(kind, raw, given)
        raw.update((k, entry[k]) for k in given)
        norm, act = entry.get("norm", norm), entry.get("act", act)
        out = prev
        reps = range(1) if count is None else range(count)
        env = scope.env
        for i in reps:
            if count is not None:
                env = {**scope.env, "i": i}
            local = base if count is None else f"{base}.{i}"
            name = scope.full(local)
            inputs = self._sources(entry, scope, prev, local) if i == 0 else (out,)
            if not scope.prefix:
                self._check_top_c_in(entry, given, inputs, name)
            group = not (_is_off(norm) and _is_off(act))
            first = f"{name}.{op}" if group else name
            bound, bound_env = raw, env
            if own:
                bound, bound_env = self._own_defaults(op, raw, own, env, scope, first)
            out = self._emit(first, kind, bound, inputs, bound_env, entry, weight)
            if not _is_off(norm):
                out = self._extra(scope, norm, "norm", name, out, entry, weight)
            if not _is_off(act):
                out = self._extra(scope, act, "act", name, out, entry, weight)
            if group:
                self._set_alias(name, out)
        if count == 0:
            self._set_alias(scope.full(base), prev)
        elif count is not None:
            self._set_alias(scope.full(base), out)
        if count is not None:
            self._set_repeat(scope.full(base), [scope.full(f"{base}.{i}") for i in range(count)])
        return out

    def _check_top_c_in(self, entry: YMap, keys: Any, inputs: tuple[str, ...], layer: str) -> None:
        """Refuse ``c_in`` in a top-level expression that reads a layer of other width.

        At the top level ``c_in`` is the network input's channel count (the top level is
        a block whose input is the network input); a layer that reads another layer and
        writes ``out: c_in`` almost always means its own input, so where the two differ
        the file must say which it means."""
        net = self.graph.input_shape[0]
        for key in keys:
            raw = entry[key]
            texts = [v for v in (raw if isinstance(raw, list) else [raw]) if isinstance(v, str)]
            for text in texts:
                try:
                    used = "c_in" in expr.names(text)
                except ConvcalcError:
                    continue  # not an expression (an op's word, such as 'same'); bind says
                if not used:
                    continue
                for src in inputs:
                    width = self.graph.shapes[src][0]
                    if src != INPUT and num.is_concrete(width) and width != net:
                        raise self.where.error(
                            f"at the top level 'c_in' is the network input's {net} channels, "
                            f"but this layer reads {src!r} of {width}",
                            entry,
                            key,
                            layer=layer,
                            hint="write the number you mean, or put the layer in a block, "
                            "where c_in is the block's input",
                        )

    def _own_defaults(
        self,
        op: str,
        raw: Mapping[str, Any],
        own: Mapping[str, frozenset[str]],
        env: Mapping[str, Any],
        scope: _Scope,
        layer: str,
    ) -> tuple[dict[str, Any], Mapping[str, Any]]:
        """The arguments of a layer whose defaults refer to its own arguments
        (``conv: {padding: "k // 2"}``), with those defaults evaluated, and the environment
        that binds them.

        ``own`` maps each such default to the arguments it reads. An argument the layer
        sets itself is evaluated in the scope's environment as always; a default, in that
        environment and the values of the arguments it reads, which may be defaults of
        their own. A chain that comes back to where it started is refused."""
        defaults = scope.defaults[op]
        values: dict[str, Any] = {}

        def value(arg: str, chain: tuple[str, ...]) -> Any:
            if arg in values:
                return values[arg]
            if arg in chain:
                loop = " -> ".join((*chain[chain.index(arg) :], arg))
                raise self.where.error(
                    f"the defaults of {op!r} refer to each other in a loop: {loop}",
                    defaults,
                    chain[0],
                    layer=layer,
                    hint="a default may read the layer's other arguments, "
                    "but not come back to itself through them",
                )
            reads = own.get(arg, frozenset())
            local = env
            if reads:
                local = {**env, **{n: value(n, (*chain, arg)) for n in sorted(reads)}}
            item = raw[arg]
            try:
                if isinstance(item, list):
                    if chain:
                        raise SpecError(
                            f"a default reads argument {arg!r}, which is a list here; "
                            "only a single value can be read"
                        )
                    result: Any = [evaluate_value(v, local, f"argument {arg!r}") for v in item]
                else:
                    result = evaluate_value(item, local, f"argument {arg!r}")
            except ConvcalcError as e:
                if arg in own:
                    raise self.where.locate(e, defaults, arg, layer) from None
                raise
            values[arg] = result
            return result

        bound = dict(raw)
        extra: dict[str, Any] = {}
        for arg in own:
            result = value(arg, ())
            items = result if isinstance(result, list) else [result]
            shown = []
            for n, v in enumerate(items):
                if type(v) is int:
                    shown.append(v)
                else:  # a fraction or a symbol: handed to the kind through a bound name
                    hidden = f"_default_{arg}_{n}"
                    extra[hidden] = v
                    shown.append(hidden)
            bound[arg] = shown if isinstance(result, list) else shown[0]
        return bound, ({**env, **extra} if extra else env)

    def _extra(
        self, scope: _Scope, op: Any, key: str, group: str, prev: str, entry: YMap, weight: Any
    ) -> str:
        kind = REGISTRY.get(op) if isinstance(op, str) else None
        if kind is None:
            raise document.unknown_op(self.where, op, entry, key, group)
        if key == "norm" and kind.category != "norm":
            norms = ", ".join(k.op for k in ordered() if k.category == "norm")
            raise self.where.error(
                f"norm must be a normalisation op ({norms}), got {op!r}", entry, key, layer=group
            )
        if key == "act" and kind.category != "activation":
            raise self.where.error(
                f"act must be an activation op, got {op!r}", entry, key, layer=group
            )
        raw, _, _ = _op_defaults(scope.defaults, op)
        return self._emit(f"{group}.{op}", kind, raw, (prev,), {}, entry, weight)

    def _block_use(self, entry: YMap, scope: _Scope, prev: str) -> str:
        where = self.where
        for key in entry:
            if key not in BLOCK_USE_KEYS:
                raise where.error(
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
            raise where.error(
                f"unknown block {bname!r}",
                entry,
                "block",
                hint=f"blocks defined in this file: {known}",
            )
        if bname in scope.stack:
            chain = " -> ".join((*scope.stack, bname))
            raise where.error(f"recursive block definition: {chain}", entry, "block")
        block = self.blocks[bname]
        use = self._name(entry, scope, bname)
        shown = scope.full(use)
        if len(scope.stack) >= limits.MAX_BLOCK_DEPTH:
            raise where.limit(
                f"blocks nest deeper than {limits.MAX_BLOCK_DEPTH}", entry, layer=shown
            )
        start = self._sources(entry, scope, prev, use)
        if len(start) != 1:
            raise where.error("a block reads exactly one input", entry, "from", layer=use)
        given = entry.get("args")
        if not scope.prefix and isinstance(given, YMap):
            self._check_top_c_in(given, list(given), start, shown)
        plan = []
        for row in binding.table_rows(where, entry, scope.env, shown):
            env = {**scope.env, **row} if row else scope.env
            args = binding.block_args(where, entry, block.args, env, row, self.globals, shown)
            plan.append((args, binding.repeat_count(where, entry, env, shown)))
        self.bounds.check_use(block, plan, scope.stack, len(self.graph.layers), entry, shown)
        out = start[0]
        for r, (args, count) in enumerate(plan):
            row_prefix = f"{use}.{r}" if "table" in entry else use
            for i in range(1 if count is None else count):
                self.bounds.count_instance(entry, shown)
                local = row_prefix if count is None else f"{row_prefix}.{i}"
                inner = {**self.globals, **args}
                binding.fill_builtins(inner, self.graph.shapes[out], i)
                stack = (*scope.stack, bname)
                child = _Scope(scope.full(local), inner, out, block.defaults, stack)
                with where.reading(block.file):
                    out = self._instance(block, child, entry)
                self._set_alias(child.prefix, out, only_unset=True)
            self._set_alias(scope.full(row_prefix), out)
            if count is not None:
                copies = [scope.full(f"{row_prefix}.{i}") for i in range(count)]
                self._set_repeat(scope.full(row_prefix), copies)
        if "table" in entry:
            self._set_repeat(shown, [scope.full(f"{use}.{r}") for r in range(len(plan))])
        self._set_alias(shown, out)
        return out

    # --- instances made once (convcalc.schema.templates) ---------------------------------

    def _set_alias(self, name: str, target: str, only_unset: bool = False) -> None:
        if only_unset and name in self.aliases:
            return
        self.aliases[name] = target
        if self._log is not None:
            self._log.append(("alias", name, target))

    def _set_repeat(self, name: str, copies: list[str]) -> None:
        self.repeats[name] = copies
        if self._log is not None:
            self._log.append(("repeat", name, copies))

    def _instance(self, block: Block, child: _Scope, entry: YMap) -> str:
        """Expand one instance of ``block`` (its scope ``child``): replayed from the
        template of an equal instance when there is one, else walked and kept as one."""
        reads = self.reads.of(block.name)
        shape = self.graph.shapes[child.in_ref]
        k = None if reads is None else templates.key(reads, child.env, self.globals, shape)
        if k is None:
            return self._expand_list(block.body, child)
        assert reads is not None
        found = templates.lookup(block.body, k, reads.objects)
        if found is not None:
            return self._replay(found, child, entry)
        outer = self._log
        if outer is None:
            self._log = []
        log = self._log
        assert log is not None
        start = (len(self.graph.layers), len(log), self.bounds.instances)
        out = self._expand_list(block.body, child)
        try:
            made = self._template(child, out, start, log, reads.objects)
        except templates.NotKept:
            made = None
        if outer is None:
            self._log = None
            self._entries.clear()
        if made is not None:
            templates.keep(block.body, k, made)
        return out

    def _replay(self, template: templates.Template, child: _Scope, entry: YMap) -> str:
        """Make the layers, aliases and repeats of ``template`` for the instance ``child``
        (of the block use ``entry``) with the checks and limits of walking it: a duplicate
        name, the layer limit, the run's budget of layer inputs and of block instances."""
        prefix, in_ref = child.prefix, child.in_ref
        builder = self.builder
        recording = self._log is not None
        for piece in template.pieces:
            name = f"{prefix}.{piece.local}"
            try:
                self._admit(name, piece.entry, len(piece.inputs), None)
            except ConvcalcError as e:
                e.file = piece.file  # the file the layer was written in, as a walk names it
                raise
            inputs = tuple(in_ref if i is None else f"{prefix}.{i}" for i in piece.inputs)
            builder.append(
                Layer(name, piece.kind, piece.args, inputs, piece.shape, piece.line, 1, piece.file)
            )
            if recording:
                self._entries[name] = piece.entry
        if template.instances:
            self.bounds.count_instance(entry, prefix, template.instances)
        for local, target in template.aliases:
            self._set_alias(f"{prefix}.{local}", templates.absolute(target, prefix, in_ref))
        for local, copies in template.repeats:
            self._set_repeat(f"{prefix}.{local}", [f"{prefix}.{c}" for c in copies])
        expr.allow(limits.STEPS_PER_LAYER * len(template.pieces))
        return templates.absolute(template.out, prefix, in_ref)

    def _template(
        self,
        child: _Scope,
        out: str,
        start: tuple[int, int, int],
        log: list[tuple[str, str, Any]],
        objects: tuple[Any, ...],
    ) -> templates.Template:
        """The template of the instance just walked in ``child`` (what it added since
        ``start``: layers, log entries, block instances)."""
        prefix, in_ref = child.prefix, child.in_ref

        def rel(name: str) -> str | None:
            return templates.relative(name, prefix, in_ref)

        pieces = []
        for layer in self.graph.layers[start[0] :]:
            local = rel(layer.name)
            if local is None or layer.weight != 1:
                raise templates.NotKept(layer.name)
            pieces.append(
                templates.Piece(
                    local,
                    layer.kind,
                    layer.args,
                    tuple(rel(i) for i in layer.inputs),
                    layer.shape,
                    layer.line,
                    layer.file,
                    self._entries[layer.name],
                )
            )
        aliases = []
        repeats = []
        for what, name, value in log[start[1] :]:
            local = rel(name)
            if local is None:
                raise templates.NotKept(name)
            if what == "alias":
                aliases.append((local, rel(value)))
            else:
                copies = tuple(rel(c) for c in value)
                if None in copies:
                    raise templates.NotKept(name)
                repeats.append((local, copies))
        return templates.Template(
            tuple(pieces),
            tuple(aliases),
            tuple(repeats),
            rel(out),
            self.bounds.instances - start[2],
            objects,
        )


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

    ``overrides`` are exact values from ``--set``/``--alpha``; ``free`` names params to
    leave as symbols; ``symbolic`` also frees params that have no default."""
    with context.budget(expr.MAX_STEPS):
        shown_file = file
        doc, file, path, overrides, thin = extends.resolve(doc, file, path, overrides or {})
        where = Where(file)
        doc = document.check_top_level(where, doc)
        env = document.read_params(where, doc, source, overrides or {}, free, symbolic)
        bindings = dict(env)
        document.read_vars(where, doc, env)
        defaults = document.read_defaults(where, doc)
        library = Library(where)
        library.read(doc, path, defaults)
        shape = input_shape or document.read_input(where, doc, env)
        graph = Graph(
            name=thin.get("name", str(doc.get("name", source))),
            source=source,
            file=shown_file,
            citation=thin.get("source", str(doc.get("source", ""))),
            description=thin.get("description", str(doc.get("description", ""))),
            bindings=bindings,
            input_shape=shape,
        )
        expander = Expander(where, library.blocks, env, graph)
        layers = doc["layers"]
        if not isinstance(layers, YList) or not layers:
            raise where.error("'layers' must be a non-empty list", doc, "layers")
        expander.walk(layers, defaults)
        return graph
