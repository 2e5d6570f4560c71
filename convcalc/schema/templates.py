"""Block instances expanded once: what an instance makes, kept to be made again.

An instance of a block is a pure function of what it reads: the block's body (which stands
for its arguments and its file's defaults too), the bodies of the blocks it uses, the
values of the names its expressions read, its input's shape and whether rounding applies.
A ResNet stage that repeats one bottleneck, a 100,000-layer chain of one unit, and the same
network analysed again with only its class count changed all make instances whose inputs
are equal, so the walk (:mod:`convcalc.schema.expand`) expands the first and replays the
rest from a :class:`Template`: its layers, aliases and repeats relative to the instance's
name and input, with their bound arguments and shapes.

The key is conservative: every name a string of the block or of its defaults could read,
with its value in the instance's environment, and every name the blocks it uses (directly
or not) could read, with its value in the file's params (a used block starts from those;
its arguments come from strings of the using block), each value typed, so ``1``, ``1.0``
and ``True`` are different keys. An instance reading a symbol, a symbolic size or a value
that cannot be compared exactly is expanded afresh. A failure is never kept (it stops the
run). Templates live on the block body they came from, so they last as long as the loaded
document does (:mod:`convcalc.schema.loader` keeps documents by their text) and are shared
by every analysis of it; each body keeps at most :data:`MAX_PER_BODY`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from convcalc import context, expr
from convcalc.errors import ConvcalcError
from convcalc.layers.base import Args, LayerKind, Shape
from convcalc.schema.blocks import Block
from convcalc.schema.loader import YList, YMap

MAX_PER_BODY = 512  # distinct instances of one block kept; then the store starts afresh

_MISSING = object()
_MISSING_KEY = ("unset",)  # a name the environment does not bind, in a key
_EXACT = (int, bool, str, Fraction, float, type(None))
_ATTR = "_convcalc_templates"  # on a block body (a YList): its templates
_READS = "_convcalc_reads"  # on a block body: (names its strings read, blocks it uses)


@dataclass(frozen=True, slots=True)
class Piece:
    """One layer of a template: its name and inputs relative to the instance (an input of
    None is the instance's input), with what the walk bound for it."""

    local: str
    kind: LayerKind
    args: Args
    inputs: tuple[str | None, ...]
    shape: Shape
    line: int | None
    file: str | None
    entry: YMap  # the layer's entry, for errors (a duplicate name, the layer limit)


@dataclass(frozen=True, slots=True)
class Template:
    """What one instance made: its layers in order, the aliases and repeats it set (in the
    order it set them; an alias target of None is the instance's input), its output and
    the block instances inside it (counted against the run's limit when it is replayed;
    so are its layers and their inputs, one by one). ``keep`` holds the objects whose
    identities the key names, so those identities stay valid."""

    pieces: tuple[Piece, ...]
    aliases: tuple[tuple[str, str | None], ...]  # (name, target)
    repeats: tuple[tuple[str, tuple[str, ...]], ...]
    out: str | None
    instances: int
    keep: tuple[Any, ...]


def _frozen(value: Any) -> Any:
    """``value`` as an exact, typed, hashable key part, or _MISSING when it has none."""
    if isinstance(value, list | tuple):
        parts = tuple(_frozen(v) for v in value)
        return _MISSING if _MISSING in parts else (type(value), parts)
    if type(value) in _EXACT:
        return (type(value), value)
    return _MISSING


def _scan(node: Any, names: set[str], uses: set[str]) -> None:
    """Add the names every string under ``node`` reads, and the blocks it uses."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            # a string that is no expression (a word such as 'same', $in) reads nothing
            with contextlib.suppress(ConvcalcError):
                names |= expr.names(item)
        elif isinstance(item, dict):
            block = item.get("block")
            if isinstance(block, str):
                uses.add(block)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _own_reads(block: Block) -> tuple[frozenset[str], frozenset[str]]:
    """(names, used blocks) of one block's body, argument defaults and file defaults,
    kept on the body: its arguments and defaults come from the same document node and
    file, so the body stands for all three."""
    cached = getattr(block.body, _READS, None)
    if cached is None:
        names: set[str] = set()
        uses: set[str] = set()
        _scan(block.body, names, uses)
        _scan(block.args, names, uses)
        _scan(block.defaults, names, uses)
        cached = (frozenset(names), frozenset(uses))
        setattr(block.body, _READS, cached)
    return cached


class Reads:
    """What each block of one expansion reads, worked out once per expansion: the names
    its own strings read (bound in the instance's environment) and those the blocks it
    uses read, directly or not (a used block starts from the file's params: what else it
    reads, its arguments, come from strings of the using block)."""

    def __init__(self, blocks: Mapping[str, Block]) -> None:
        self.blocks = blocks
        self._memo: dict[str, Reading | None] = {}

    def of(self, name: str) -> Reading | None:
        """What block ``name`` reads; None when it uses a block that is not defined (the
        walk reports it)."""
        if name in self._memo:
            return self._memo[name]
        block = self.blocks[name]
        own, uses = _own_reads(block)
        nested: set[str] = set()
        objects: list[Any] = [block.body, block.file]  # the file its layers and errors name
        seen = {name}
        todo = sorted(uses)
        result: Reading | None = None
        while todo:
            current = todo.pop()
            if current in seen:
                continue
            seen.add(current)
            used = self.blocks.get(current)
            if used is None:
                break
            names, more = _own_reads(used)
            nested |= names
            objects += (used.body, used.file)
            todo.extend(sorted(more))
        else:
            result = Reading(tuple(sorted(own)), tuple(sorted(nested)), tuple(objects))
        self._memo[name] = result
        return result


@dataclass(frozen=True, slots=True)
class Reading:
    """The names one block reads itself (``own``) and through the blocks it uses
    (``nested``), and the objects its templates depend on (``objects``: the bodies and
    their files)."""

    own: tuple[str, ...]
    nested: tuple[str, ...]
    objects: tuple[Any, ...]


def _values(names: tuple[str, ...], env: Mapping[str, Any]) -> tuple | None:
    out = []
    for name in names:
        value = env.get(name, _MISSING)
        if value is _MISSING:
            out.append(_MISSING_KEY)
            continue
        frozen = _frozen(value)
        if frozen is _MISSING:
            return None
        out.append(frozen)
    return tuple(out)


def key(
    reads: Reading, env: Mapping[str, Any], globals_: Mapping[str, Any], shape: Shape
) -> tuple | None:
    """The key of an instance reading ``env`` (file params ``globals_``) with an input of
    ``shape``, or None when it must be expanded afresh (a symbolic size or value)."""
    for d in shape:
        if type(d) is not int:
            return None
    own = _values(reads.own, env)
    nested = _values(reads.nested, globals_)
    if own is None or nested is None:
        return None
    return (
        tuple(shape),
        own,
        nested,
        tuple(o if type(o) is str else id(o) for o in reads.objects),
        context.current().smooth,
    )


def lookup(body: YList, k: tuple, objects: tuple[Any, ...]) -> Template | None:
    """The template kept for key ``k`` on ``body``, if its objects are those of the key."""
    store = getattr(body, _ATTR, None)
    if store is None:
        return None
    found = store.get(k)
    if found is None or len(found.keep) != len(objects):
        return None
    if not all(
        a == b if type(a) is str else a is b for a, b in zip(found.keep, objects, strict=True)
    ):
        return None
    return found


def keep(body: YList, k: tuple, template: Template) -> None:
    """Keep ``template`` under ``k`` on ``body`` (a full store starts afresh)."""
    store = getattr(body, _ATTR, None)
    if store is None or len(store) >= MAX_PER_BODY:
        store = {}
        setattr(body, _ATTR, store)
    store[k] = template


class NotKept(Exception):
    """An instance that cannot be replayed (a name it made lies outside it, or a layer of
    it exists only under a condition): it is not kept."""


def relative(name: str, prefix: str, in_ref: str) -> str | None:
    """``name`` relative to an instance named ``prefix`` reading ``in_ref`` (None: the
    input)."""
    if name == in_ref:
        return None
    if name.startswith(prefix) and name[len(prefix) : len(prefix) + 1] == ".":
        return name[len(prefix) + 1 :]
    raise NotKept(name)


def absolute(local: str | None, prefix: str, in_ref: str) -> str:
    """The inverse of :func:`relative` for another instance."""
    return in_ref if local is None else f"{prefix}.{local}"
