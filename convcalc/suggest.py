"""Hints where users get stuck: a name or path that is nearly right, the YAML mistakes
made most (indentation), and a merge given one input.

Each function returns a hint (one sentence for the error's ``hint`` line) or None; none
reads anything but the names, the directory listing and the text it is given, and none
raises.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Iterable
from pathlib import Path

#: How alike a name must be to be suggested (difflib's ratio; 'resnet5O' and 'resnet50'
#: are 0.875 alike, 'vgg' and 'vgg16' 0.75).
CUTOFF = 0.7
#: The most names in a directory looked at for a path that is nearly right.
MAX_LISTED = 2_000


def closest(word: str, candidates: Iterable[str], n: int = 3) -> list[str]:
    """The candidates most like ``word``, best first (case-insensitively)."""
    pool = {c.lower(): c for c in candidates}
    return [pool[m] for m in difflib.get_close_matches(word.lower(), list(pool), n, CUTOFF)]


def did_you_mean(options: list[str]) -> str | None:
    """'did you mean 'a'?' or 'did you mean 'a' or 'b'?'; None for no options."""
    if not options:
        return None
    quoted = [f"'{o}'" for o in options]
    return (
        "did you mean "
        + (quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1])
        + "?"
    )


def architecture(arch: str, bundled: Iterable[str]) -> str | None:
    """A hint for an architecture that is neither a file nor a bundled name: a file beside
    the path with a nearly equal name (``nets/unet.yml`` when ``nets/unet.yaml`` exists),
    or bundled names like it (``resnet5O``: ``resnet50``)."""
    path = Path(arch)
    near = _beside(path)
    if near:
        return did_you_mean(near)
    stem = arch.removesuffix(".yaml").removesuffix(".yml")
    return did_you_mean(closest(stem, bundled))


def _beside(path: Path) -> list[str]:
    """Files in the path's directory whose names are nearly the path's name, written as
    the user wrote the directory."""
    folder = path.parent
    try:
        with os.scandir(folder) as entries:
            names = []
            for i, entry in enumerate(entries):
                if i >= MAX_LISTED:
                    break
                if entry.is_file():
                    names.append(entry.name)
    except (OSError, ValueError):
        return []
    want = path.name
    same_stem = [
        n for n in names if Path(n).stem == Path(want).stem and n.endswith((".yaml", ".yml"))
    ]
    found = same_stem or closest(want, names)
    prefix = "" if str(folder) in ("", ".") else str(folder) + os.sep
    return [prefix + n for n in found]


def yaml_syntax(text: str, line: int | None) -> str | None:
    """A hint for a YAML syntax error at ``line`` (1-based) that is an indentation error:
    the line's indentation against the lines before it, which is what a user needs to see
    (PyYAML says 'mapping values are not allowed here' or 'did not find expected key')."""
    rows = text.splitlines()
    if not line or line > len(rows):
        return None
    here = rows[line - 1]
    if "\t" in here:
        return "indent with spaces, not tabs (YAML forbids tabs in indentation)"
    before = [r for r in rows[: line - 1] if r.strip() and not r.lstrip().startswith("#")]
    if not before or not here.strip():
        return None
    indent = _indent(here)
    same = [r for r in before if _indent(r) == indent]
    if same and same[-1].lstrip().startswith("- ") and not here.lstrip().startswith("- "):
        return (
            f"line {line} starts at the column of the list's '-' items: indent it "
            f"{_key_indent(same[-1])} spaces to line up with the keys of the item above, or "
            "start a new item with '- '"
        )
    levels = sorted({_indent(r) for r in before} | {_key_indent(r) for r in before})
    if indent in levels:
        return None
    shown = ", ".join(str(v) for v in levels[-4:])
    return (
        f"line {line} is indented {indent} spaces, which matches no line above it "
        f"(those are indented {shown}): the keys of one mapping and the items of one list "
        "must line up"
    )


def _indent(row: str) -> int:
    return len(row) - len(row.lstrip(" "))


def _key_indent(row: str) -> int:
    """Where the keys of a list item start ('  - op: conv': 4)."""
    body = row.lstrip(" ")
    if body.startswith("- "):
        return _indent(row) + 2 + _indent(body[2:])
    return _indent(row)


def merge_inputs(op: str, low: int, got: int) -> str | None:
    """A hint for a merge layer given fewer inputs than it takes: a layer reads the one
    before it unless ``from:`` names its inputs."""
    if got >= low or low < 2:
        return None
    return (
        f"a layer reads only the layer before it unless 'from:' lists its inputs: "
        f"write from: [a, b] with the names of the layers {op!r} merges"
    )


_ARITY = re.compile(r"^op '(\w+)' takes (?:at least )?(\d+)(?: to \d+)? input\(s\), got (\d+)$")


def for_message(message: str) -> str | None:
    """A hint for an error message of the graph builder that has none (today: a merge
    given fewer inputs than it takes, see :func:`merge_inputs`)."""
    m = _ARITY.match(message)
    return merge_inputs(m[1], int(m[2]), int(m[3])) if m else None
