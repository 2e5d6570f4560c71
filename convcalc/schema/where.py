"""Which file is being read, and the errors that name it and a line in it.

This is the one piece of state every part of the expansion shares and none owns: an error
names the file its node came from, and that file changes while an imported file's blocks
are read and while a block defined in one is expanded. So rather than one class (or
mixins) with every attribute on ``self``, the parts cooperate through a shared
:class:`Where`: the document and binding are functions that take it, and the block
library, the bounds and the walk are small classes that hold it beside only their own
state. What each part depends on is then in its signature, and the current file changes
in one place (:meth:`Where.reading`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from convcalc.errors import ConvcalcError, LimitError, SpecError
from convcalc.schema.loader import YList, YMap


def line_of(node: Any, key: Any = None) -> int | None:
    """The line of ``node[key]`` (of ``node`` itself without a key); None for a scalar."""
    if isinstance(node, YMap):
        return node.line_of(key) if key is not None else node.line
    if isinstance(node, YList):
        return node.line_of(key) if isinstance(key, int) else node.line
    return None


class Where:
    """The file errors name (``file``), and errors placed in it at a node's line."""

    def __init__(self, file: str) -> None:
        self.file = file

    @contextmanager
    def reading(self, file: str) -> Iterator[None]:
        """Name ``file`` in errors while the block is inside; then the previous file."""
        saved, self.file = self.file, file
        try:
            yield
        finally:
            self.file = saved

    def error(self, message: str, node: Any = None, key: Any = None, **kw: Any) -> SpecError:
        return SpecError(message, file=self.file, line=line_of(node, key), **kw)

    def limit(self, message: str, node: Any = None, key: Any = None, **kw: Any) -> LimitError:
        return LimitError(message, file=self.file, line=line_of(node, key), **kw)

    def locate(
        self, e: ConvcalcError, node: Any, key: Any = None, layer: str | None = None
    ) -> ConvcalcError:
        """``e`` placed at ``node[key]`` of this file (where it has no place yet)."""
        return e.locate(file=self.file, line=line_of(node, key), layer=layer)
