"""Finding and reading architecture files safely, keeping line numbers.

YAML is read only through PyYAML's safe loader (the C one when available). Mappings and
lists come back as :class:`YMap` / :class:`YList`, which remember the line of every key and
item so later errors can point at the exact line. Before anything is constructed the node
graph is measured, so alias bombs ("billion laughs"), recursive aliases, absurd nesting and
documents too large to compose quickly are refused instead of expanded (docs/limits.md).

Files are untrusted, and so are the paths they name: an import is resolved beside the
importing file and must stay inside the tree of the file named on the command line (or
inside the bundled library), links followed; a file is opened without blocking, read only
if it is a regular file and never beyond the size limit, whatever ``stat`` says; every OS
error is an :class:`InputFileError` (docs/security.md).
"""

from __future__ import annotations

import functools
import os
import re
import stat
from pathlib import Path
from typing import Any

import yaml

from convcalc import context, suggest
from convcalc.errors import InputFileError, LimitError, SpecError
from convcalc.names import BUNDLED_NAME

MAX_FILE_BYTES = 4 * 1024 * 1024
MAX_YAML_NODES = 50_000  # as written, and again after expanding aliases
MAX_NESTING = 100  # levels of lists and mappings
MAX_INT_DIGITS = 100  # characters of one integer literal

_BASE_LOADER: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


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


@functools.cache
def architectures_dir() -> Path:
    """The bundled architectures: inside the installed package, or the source checkout's
    (found once: the package does not move while it runs; every path here is resolved)."""
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


def _path_text(arch: str, limit: int = 120) -> str:
    """A path for a message, cut to ``limit`` characters (a path may be thousands long)."""
    return arch if len(arch) <= limit else arch[: limit - 3] + "..."


def _os_error(e: OSError | RuntimeError | ValueError, arch: str) -> InputFileError:
    """An OS error on a path (too long, no permission, a loop of links) as one message."""
    reason = getattr(e, "strerror", None) or type(e).__name__
    return InputFileError(f"cannot open {_path_text(arch)}: {reason}")


def _kind(path: Path, arch: str) -> str | None:
    """'file', 'other' (a directory, a device, a pipe) or None when nothing is there;
    links are followed."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        return None
    except (OSError, ValueError) as e:
        raise _os_error(e, arch) from None
    return "file" if stat.S_ISREG(mode) else "other"


def _bundled(arch: str) -> Path | None:
    """The bundled file a name (with or without ``.yaml``) stands for, if there is one."""
    name = arch[:-5] if arch.endswith(".yaml") else arch
    if BUNDLED_NAME.match(name) and ".." not in name:
        candidate = architectures_dir() / f"{name}.yaml"
        if _kind(candidate, arch) == "file":
            return candidate
    return None


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def resolve(arch: str, base: Path | None = None, root: Path | None = None) -> Path:
    """A path to an existing regular file, or a bundled name with or without ``.yaml``.

    With ``base`` (an importing file's directory) ``arch`` is an import: a relative path
    taken from ``base``, so what a file imports does not depend on the directory convcalc
    is run from, and confined: it must not be absolute, and neither the path as written
    nor the file it leads to (links followed) may leave ``root`` (the directory of the file
    named on the command line) unless it is inside the bundled library."""
    if "\0" in arch:
        raise InputFileError("a path cannot contain a NUL character")
    path = Path(arch)
    if base is not None:
        path = _confined(arch, base, root or base)
    kind = _kind(path, arch)
    if kind == "file":
        return path
    bundled = _bundled(arch)
    if bundled is not None:
        return bundled
    if kind is not None:
        raise InputFileError(f"{_path_text(arch)} is not a regular file")
    near = suggest.architecture(arch, bundled_names()) if base is None else None
    raise InputFileError(
        f"no such file or bundled architecture: {_path_text(arch)}",
        hint=(near + " " if near else "") + "`convcalc list` shows the bundled architectures",
    )


def _confined(ref: str, base: Path, root: Path) -> Path:
    """The path an import names, refused when absolute or when it leaves ``root``."""
    hint = "import a file beside this one (or below it), or a bundled library (lib/resnet)"
    if Path(ref).is_absolute():
        raise SpecError(f"import {_path_text(ref)!r} is an absolute path", hint=hint)
    try:
        base, root = base.resolve(), root.resolve()
        library = architectures_dir().resolve()
        written = Path(os.path.normpath(base / ref))
        if not (_inside(written, root) or _inside(written, library)):
            raise SpecError(
                f"import {_path_text(ref)!r} leads outside the architecture's folder", hint=hint
            )
        if _kind(written, ref) is None:
            return written
        real = written.resolve(strict=True)
    except (OSError, RuntimeError, ValueError) as e:
        raise _os_error(e, ref) from None
    if not (_inside(real, root) or _inside(real, library)):
        raise SpecError(
            f"import {_path_text(ref)!r} is a link that leads outside the architecture's folder",
            hint=hint,
        )
    return real


def display_name(path: Path) -> str:
    """How a file is named in messages: bundled ones by their bundled name."""
    root = architectures_dir()
    try:
        return path.resolve().relative_to(root.resolve()).with_suffix("").as_posix()
    except (ValueError, OSError, RuntimeError):
        return str(path)


_NONBLOCK = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)


def _read_at_most(path: Path, shown: str, limit: int) -> bytes:
    """At most ``limit`` + 1 bytes of a regular file. It is opened without blocking (a
    named pipe would wait forever) and checked on the open descriptor, so what is read is
    what was checked; special files, which report a size of 0, are refused."""
    fd = os.open(path, _NONBLOCK)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise InputFileError("not a regular file", file=shown)
        if info.st_size > limit:
            raise LimitError(f"file is {info.st_size} bytes; the limit is {limit}", file=shown)
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def read_text(path: Path, shown: str) -> str:
    """The text of a file, within the size limit of one file and the run's budget of YAML
    bytes across a file and all it imports."""
    try:
        data = _read_at_most(path, shown, MAX_FILE_BYTES)
    except (OSError, ValueError) as e:
        reason = getattr(e, "strerror", None) or str(e)
        raise InputFileError(f"cannot read file: {reason}", file=shown) from None
    if len(data) > MAX_FILE_BYTES:
        raise LimitError(f"file is more than {MAX_FILE_BYTES} bytes", file=shown)
    try:
        context.charge("yaml_bytes", len(data))
    except LimitError as e:
        raise e.locate(file=shown) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise InputFileError(
            f"file is not UTF-8 text (byte 0x{data[e.start]:02x} at offset {e.start})",
            file=shown,
            line=line,
        ) from None


def _scan(text: str, shown: str) -> None:
    """Walk the parser's event stream (no nodes are built) and refuse documents that nest
    deeper than MAX_NESTING or hold more than MAX_YAML_NODES nodes as written.

    libyaml's parser keeps its own stack on the heap, but its composer and PyYAML's
    constructor recurse once per level (the C composer crashes the process near 30,000
    levels of ``- - - ...``), and composing costs microseconds per node, so both are
    bounded here, before anything recursive or costly runs.
    """
    parser = _BASE_LOADER(text)
    depth = nodes = 0
    try:
        while parser.check_event():
            event = parser.get_event()
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                nodes += 1
                if depth > MAX_NESTING:
                    raise LimitError(
                        f"the document nests deeper than {MAX_NESTING} levels",
                        file=shown,
                        line=event.start_mark.line + 1,
                    )
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
            elif isinstance(event, yaml.ScalarEvent | yaml.AliasEvent):
                nodes += 1
            if nodes > MAX_YAML_NODES:
                raise LimitError(
                    f"the document has more than {MAX_YAML_NODES} YAML nodes",
                    file=shown,
                    line=event.start_mark.line + 1,
                    hint="an architecture is a few thousand nodes; split it into block libraries",
                )
    finally:
        parser.dispose()


def _short(value: Any, limit: int = 60) -> str:
    """``repr`` cut to ``limit`` characters, so a huge key or value cannot flood a message."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


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
    quote = True  # errors may quote the file's values (not for an import: see load_yaml)

    def quoted(self, value: Any, lead: str = " ") -> str:
        """``value`` for a message, cut short; nothing where the file may not be quoted."""
        return lead + _short(value) if self.quote else ""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        """PyYAML's constructors raise plain ValueError/OverflowError for values that match
        an implicit type but cannot be built (``2001-13-45`` read as a date); those become
        errors with the line instead of crashes."""
        try:
            return super().construct_object(node, deep)
        except (ValueError, OverflowError, TypeError) as e:
            shown = self.quoted(node.value) if isinstance(node, yaml.ScalarNode) else ""
            raise SpecError(
                f"cannot read the YAML value{shown}: {e}",
                file=self.shown,
                line=node.start_mark.line + 1,
                hint="quote it to make it a string",
            ) from None


def _construct_int(loader: _Loader, node: yaml.ScalarNode) -> Any:
    """Integers as PyYAML reads them, but a literal longer than MAX_INT_DIGITS characters is
    refused before it is converted (Python refuses 4,300 digits with a ValueError, and the
    conversion is quadratic in the length)."""
    if len(node.value) > MAX_INT_DIGITS:
        raise LimitError(
            f"integer literal of {len(node.value)} characters; the limit is {MAX_INT_DIGITS}",
            file=loader.shown,
            line=node.start_mark.line + 1,
        )
    return loader.construct_yaml_int(node)


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
                f"mapping key{loader.quoted(key)} is not a name",
                file=loader.shown,
                line=key_node.start_mark.line + 1,
                hint=hint,
            )
        if key in seen:
            raise SpecError(
                f"duplicate key{loader.quoted(key)}",
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
                f"mapping key{loader.quoted(key)} is not a name",
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
_Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)


_QUOTED = re.compile(r"'[^'\n]*'|\"[^\"\n]*\"")
# A top-level key only convcalc's files have (an architecture, a block library, a device).
_CONVCALC_KEY = re.compile(r"^(convcalc|convcalc_device|input|layers|blocks|imports)\s*:", re.M)


_PARSED: dict[tuple[str, str, bool], Any] = {}
_PARSED_FILES = 64  # documents kept
_PARSED_BYTES = 1 << 20  # longer texts are parsed every time


def load_yaml(text: str, shown: str, quote: bool = True) -> Any:
    """Parse YAML text safely; errors carry the file and line. Without ``quote`` (a file
    read because another file imports it, which may be anything on the machine), and for
    any file that has none of the top-level keys of convcalc's own files (a credentials
    file named by mistake), errors quote nothing of its content: the line locates the
    problem.

    The document is kept, keyed by its text: a search loop or a sweep analyses the same
    files again and again, and parsing was half of a resnet50 analysis. Callers read the
    document and never change it (it is shared); a text that fails is parsed again."""
    key = (text, shown, quote)
    doc = _PARSED.get(key)
    if doc is None:
        doc = _parse(text, shown, quote)
        if len(text) <= _PARSED_BYTES:
            if len(_PARSED) >= _PARSED_FILES:
                _PARSED.clear()
            _PARSED[key] = doc
    return doc


def _parse(text: str, shown: str, quote: bool) -> Any:
    """The document of ``text`` (see :func:`load_yaml`)."""
    quote = quote and bool(_CONVCALC_KEY.search(text))
    loader = _Loader(text)
    loader.shown = shown
    loader.quote = quote
    try:
        _scan(text, shown)
        node = loader.get_single_node()
        if node is None:
            raise SpecError("the file is empty", file=shown, hint="see docs/schema.md")
        _measure(node, shown)
        return loader.construct_document(node)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark else None
        problem = e.problem or str(e)
        if not quote:
            problem = _QUOTED.sub("'...'", problem)
        hint = suggest.yaml_syntax(text, line)  # tabs, or indentation matching no line
        raise SpecError(f"YAML syntax error: {problem}", file=shown, line=line, hint=hint) from None
    except yaml.reader.ReaderError as e:
        line = text.count("\n", 0, e.position) + 1 if isinstance(e.position, int) else None
        char = e.character if isinstance(e.character, int) else ord(str(e.character)[:1] or " ")
        raise SpecError(
            f"character U+{char:04X} is not allowed in YAML ({e.reason})",
            file=shown,
            line=line,
            hint="remove control characters; only tab, newline and printable text are allowed",
        ) from None
    except yaml.YAMLError as e:
        first = str(e).splitlines()[0] if quote else type(e).__name__
        raise SpecError(f"YAML error: {first}", file=shown) from None
    except RecursionError:
        raise LimitError("the YAML document nests too deeply", file=shown) from None
    finally:
        loader.dispose()
