"""Finding and reading architecture files safely, keeping line numbers.

YAML is read only through PyYAML's safe loader (the C one when available). Mappings and
lists come back as :class:`YMap` / :class:`YList`, which remember the line of every key and
item so later errors can point at the exact line. Before anything is constructed the node
graph is measured, so alias bombs ("billion laughs"), recursive aliases and absurd nesting
are refused instead of expanded.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from convcalc.errors import InputFileError, LimitError, SpecError

MAX_FILE_BYTES = 4 * 1024 * 1024
MAX_YAML_NODES = 500_000  # after expanding aliases
MAX_NESTING = 100

_BASE_LOADER: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_NAME_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*(/[A-Za-z0-9_][A-Za-z0-9_.\-]*)*\Z")


class YMap(dict):
    """A mapping that knows its own line and the line of each key."""

    line: int = 0
    key_lines: dict[str, int]

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


class YList(list):
    """A list that knows its own line and the line of each item."""

    line: int = 0
    item_lines: list[int]

    def line_of(self, index: int) -> int:
        return self.item_lines[index] if index < len(self.item_lines) else self.line


def architectures_dir() -> Path:
    """The bundled architectures: inside the installed package, or the source checkout's."""
    here = Path(__file__).resolve().parent.parent
    packaged = here / "architectures"
    if packaged.is_dir():
        return packaged
    return here.parent / "architectures"


def bundled_names() -> list[str]:
    """Every bundled architecture name (``blocks/...`` included, block libraries under
    ``lib/`` left out), sorted."""
    root = architectures_dir()
    names = [p.relative_to(root).with_suffix("").as_posix() for p in root.rglob("*.yaml")]
    names = [n for n in names if not n.startswith("lib/")]
    return sorted(names, key=lambda n: (n.count("/"), n))


def resolve(arch: str) -> Path:
    """A path to an existing file, or a bundled name with or without ``.yaml``."""
    path = Path(arch)
    if path.is_file():
        return path
    name = arch[:-5] if arch.endswith(".yaml") else arch
    if _NAME_RE.match(name) and ".." not in name:
        candidate = architectures_dir() / f"{name}.yaml"
        if candidate.is_file():
            return candidate
    if path.exists():
        raise InputFileError(f"{arch} is not a regular file")
    raise InputFileError(
        f"no such file or bundled architecture: {arch}",
        hint="`convcalc list` shows the bundled architectures",
    )


def display_name(path: Path) -> str:
    """How a file is named in messages: bundled ones by their bundled name."""
    root = architectures_dir()
    try:
        return path.resolve().relative_to(root.resolve()).with_suffix("").as_posix()
    except ValueError:
        return str(path)


def read_text(path: Path, shown: str) -> str:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise LimitError(f"file is {size} bytes; the limit is {MAX_FILE_BYTES}", file=shown)
        data = path.read_bytes()
    except OSError as e:
        raise InputFileError(f"cannot read file: {e.strerror}", file=shown) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise InputFileError(
            f"file is not UTF-8 text (byte 0x{data[e.start]:02x} at offset {e.start})",
            file=shown,
            line=line,
        ) from None


def _check_nesting(text: str, shown: str) -> None:
    depth = 0
    line = 1
    for ch in text:
        if ch == "\n":
            line += 1
        elif ch in "[{":
            depth += 1
            if depth > MAX_NESTING:
                raise LimitError(
                    f"flow collections nest deeper than {MAX_NESTING} levels",
                    file=shown,
                    line=line,
                )
        elif ch in "]}":
            depth = max(0, depth - 1)
    for lineno, row in enumerate(text.splitlines(), 1):
        indent = len(row) - len(row.lstrip(" "))
        if indent > 2 * MAX_NESTING:
            raise LimitError(
                f"indentation of {indent} columns nests deeper than the limit",
                file=shown,
                line=lineno,
            )


def _measure(node: yaml.Node, shown: str) -> None:
    """Count nodes as they would be after alias expansion; refuse bombs and cycles."""
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def size(n: yaml.Node) -> int:
        key = id(n)
        if key in sizes:
            return sizes[key]
        if key in active:
            raise SpecError(
                "recursive YAML alias (a node contains itself)",
                file=shown,
                line=n.start_mark.line + 1,
            )
        active.add(key)
        total = 1
        if isinstance(n, yaml.SequenceNode):
            for child in n.value:
                total += size(child)
        elif isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                total += size(k) + size(v)
        if total > MAX_YAML_NODES:
            raise LimitError(
                f"the document expands to more than {MAX_YAML_NODES} YAML nodes "
                "(aliases repeated many times, e.g. a 'billion laughs' file)",
                file=shown,
                line=n.start_mark.line + 1,
            )
        active.discard(key)
        sizes[key] = total
        return total

    size(node)


class _Loader(_BASE_LOADER):  # type: ignore[misc, valid-type]
    shown = "<yaml>"


def _construct_map(loader: _Loader, node: yaml.MappingNode) -> Any:
    data = YMap()
    data.line = node.start_mark.line + 1
    data.key_lines = {}
    yield data
    explicit = [k for k, _ in node.value if k.tag != "tag:yaml.org,2002:merge"]
    seen: set[Any] = set()
    for key_node in explicit:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str):
            hint = (
                "YAML 1.1 reads yes/no/on/off/true/false as booleans: quote the key"
                if isinstance(key, bool)
                else "keys are names: quote it"
            )
            raise SpecError(
                f"mapping key {key!r} is not a name",
                file=loader.shown,
                line=key_node.start_mark.line + 1,
                hint=hint,
            )
        if key in seen:
            raise SpecError(
                f"duplicate key {key!r}",
                file=loader.shown,
                line=key_node.start_mark.line + 1,
                hint="each key may appear once in a mapping",
            )
        seen.add(key)
    loader.flatten_mapping(node)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str):
            raise SpecError(
                f"mapping key {key!r} is not a name",
                file=loader.shown,
                line=key_node.start_mark.line + 1,
            )
        data[key] = loader.construct_object(value_node, deep=True)
        data.key_lines[key] = key_node.start_mark.line + 1


def _construct_seq(loader: _Loader, node: yaml.SequenceNode) -> Any:
    data = YList()
    data.line = node.start_mark.line + 1
    data.item_lines = [child.start_mark.line + 1 for child in node.value]
    yield data
    data.extend(loader.construct_object(child, deep=True) for child in node.value)


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_map)
_Loader.add_constructor("tag:yaml.org,2002:seq", _construct_seq)


def load_yaml(text: str, shown: str) -> Any:
    """Parse YAML text safely; errors carry the file and line."""
    _check_nesting(text, shown)
    loader = _Loader(text)
    loader.shown = shown
    try:
        node = loader.get_single_node()
        if node is None:
            raise SpecError("the file is empty", file=shown, hint="see docs/schema.md")
        _measure(node, shown)
        return loader.construct_document(node)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark else None
        problem = e.problem or str(e)
        hint = None
        rows = text.splitlines()
        if line and line <= len(rows) and "\t" in rows[line - 1]:
            hint = "indent with spaces, not tabs (YAML forbids tabs in indentation)"
        raise SpecError(f"YAML syntax error: {problem}", file=shown, line=line, hint=hint) from None
    except yaml.YAMLError as e:
        raise SpecError(f"YAML error: {e}", file=shown) from None
    except RecursionError:
        raise LimitError("the YAML document nests too deeply", file=shown) from None
    finally:
        loader.dispose()
