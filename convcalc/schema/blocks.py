"""The block library: the ``blocks:`` a file defines and those of the files it ``imports:``.

A :class:`Library` reads them all before any layer is expanded, so a block may use one
defined later or in another file. Each imported file is read once however many files
import it; a file that imports itself (directly or not) is refused as a cycle. Every
:class:`Block` keeps the file it came from and that file's ``defaults``, so the walk names
that file in errors and applies those defaults while it expands the block's body.

Imports are confined (:func:`convcalc.schema.loader.resolve`): beside the importing file,
never absolute, never out of the folder of the file named on the command line (the root)
except into the bundled library. An imported file is read as a block library and nothing
else: one that is not a mapping with ``blocks`` is refused without quoting it, and no error
about an imported file quotes its values, so a file that imports a secret cannot make the
message show it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from convcalc.errors import ConvcalcError, InputFileError, SpecError
from convcalc.names import LAYER_NAME
from convcalc.schema import document, limits, loader
from convcalc.schema.binding import check_var_name
from convcalc.schema.loader import YList, YMap
from convcalc.schema.where import Where


@dataclass(frozen=True)
class Block:
    """A block definition with the file it came from and that file's defaults."""

    name: str
    args: YMap
    body: YList
    file: str
    defaults: dict[str, YMap]


class Library:
    """The blocks of one expansion by name (``blocks``), read from a file and its imports;
    errors name the file being read through ``where``."""

    def __init__(self, where: Where) -> None:
        self.where = where
        self.blocks: dict[str, Block] = {}
        self._imported: set[Path] = set()
        self._root: Path | None = None  # the folder imports may not leave

    def read(
        self,
        doc: YMap,
        path: Path | None,
        defaults: dict[str, YMap],
        chain: tuple[Path, ...] = (),
    ) -> None:
        """Add the blocks of ``doc`` (read from ``path``, whose ``defaults`` they keep) and,
        first, those of its imports; ``chain`` holds the files importing this one."""
        if self._root is None and path is not None:
            self._root = root_of(path)
        self._imports(doc, path, chain if path is None else (*chain, path.resolve()))
        blocks = doc.get("blocks", YMap())
        if not isinstance(blocks, YMap):
            raise self.where.error("'blocks' must map block names to definitions", doc, "blocks")
        for name, body in blocks.items():
            self._define(blocks, name, body, defaults)

    def _imports(self, doc: YMap, path: Path | None, chain: tuple[Path, ...]) -> None:
        where = self.where
        refs = doc.get("imports")
        if refs is None:
            return
        if not isinstance(refs, YList) or not all(isinstance(r, str) for r in refs):
            raise where.error(
                "'imports' must be a list of file paths or bundled names", doc, "imports"
            )
        for index, ref in enumerate(refs):
            base = path.parent if path is not None else Path.cwd()
            try:
                target = loader.resolve(ref, base=base, root=self._root or base)
                target = target.resolve()
            except ConvcalcError as e:
                raise where.locate(e, refs, index) from None
            except (OSError, RuntimeError) as e:
                error = InputFileError(f"cannot open {ref[:120]!r}: {type(e).__name__}")
                raise where.locate(error, refs, index) from None
            if target in chain:
                raise where.error(f"import cycle: {ref!r} imports this file again", refs, index)
            if target in self._imported:
                continue
            self._imported.add(target)
            if len(chain) >= limits.MAX_BLOCK_DEPTH:
                raise where.limit("imports nest too deeply")
            shown = loader.display_name(target)
            sub = loader.load_yaml(loader.read_text(target, shown), shown, quote=False)
            if not isinstance(sub, YMap) or "blocks" not in sub:
                raise SpecError(
                    "an imported file must be a block library (a mapping with 'blocks')",
                    file=shown,
                )
            with where.reading(shown):
                document.check_keys(where, sub)
                self.read(sub, target, document.read_defaults(where, sub), (*chain, target))

    def _define(self, blocks: YMap, name: str, body: Any, defaults: dict[str, YMap]) -> None:
        """Check the definition ``blocks[name]`` and add it."""
        where = self.where
        if not LAYER_NAME.match(name):
            raise where.error(f"{name!r} is not a valid block name", blocks, name)
        limits.check_name_length(where, name, blocks, name)
        if name in self.blocks:
            raise where.error(
                f"block {name!r} is defined twice (also in {self.blocks[name].file})",
                blocks,
                name,
            )
        if not isinstance(body, YMap) or "body" not in body:
            raise where.error(
                f"block {name!r} must be a mapping with 'body' (and optional 'args')",
                blocks,
                name,
            )
        for key in body:
            if key not in ("args", "body", "doc"):
                raise where.error(
                    f"unknown key {key!r} in block {name!r}",
                    body,
                    key,
                    hint="a block has args, body and doc",
                )
        if not isinstance(body["body"], YList) or not body["body"]:
            raise where.error(f"block {name!r} body must be a non-empty list", body, "body")
        args = body.get("args", YMap())
        if isinstance(args, YList):
            for arg in args:
                if not isinstance(arg, str):
                    raise where.error(f"block arg {arg!r} is not a name", body, "args")
            fixed = YMap({a: None for a in args})
            fixed.line, fixed.key_lines = args.line, {}
            args = fixed
        if not isinstance(args, YMap):
            raise where.error("block args must be a list of names or a mapping", body, "args")
        for arg in args:
            if not isinstance(arg, str):
                raise where.error(f"block arg {arg!r} is not a name", body, "args")
            check_var_name(where, arg, args)
        self.blocks[name] = Block(name, args, body["body"], where.file, defaults)


def root_of(path: Path) -> Path:
    """The folder the imports of a run may not leave: that of the file named on the
    command line, or the whole bundled library for a bundled file (whose block files
    import ``../lib/...``)."""
    library = loader.architectures_dir().resolve()
    folder = path.resolve().parent
    return library if folder == library or library in folder.parents else folder
