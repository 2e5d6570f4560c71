"""``extends``: an architecture that is another one with other parameter values.

A family of networks (EfficientNet B0 to B7: one layer list, a width, a depth and a
resolution per member) is one file with params, and each member a thin file naming it::

    extends: efficientnet
    name: efficientnet_b3
    params: {width: 1.2, depth: 1.4, res: 300}

The thin file has only ``convcalc``, ``name``, ``description``, ``source``, ``extends``
and ``params``; each of its params must be a param the base declares, and its value a
number (or an expression of numbers only): it replaces the base's default, exactly as
``--set`` would, and ``--set`` on the thin file still overrides it. The base is found as
an import is (beside the thin file, confined to its folder or the bundled library) and may
itself extend another, to a depth of MAX_BLOCK_DEPTH, never in a cycle. Errors in the base
name the base file, whose lines they are; errors in the thin file name the thin file.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from convcalc.errors import ConvcalcError, InputFileError
from convcalc.layers.base import evaluate_value
from convcalc.schema import limits, loader
from convcalc.schema.blocks import root_of
from convcalc.schema.loader import YMap
from convcalc.schema.where import Where

THIN_KEYS = ("convcalc", "name", "description", "source", "extends", "params")


def resolve(
    doc: Any, file: str, path: Path | None, overrides: Mapping[str, Any]
) -> tuple[Any, str, Path | None, dict[str, Any], dict[str, str]]:
    """(the document to expand, the file its errors name, its path, the overrides, the
    thin files' name, description and source) of ``doc``; a document without
    ``extends`` comes back as it is."""
    merged = dict(overrides)
    shown: dict[str, str] = {}
    chain: list[Path] = []
    root = root_of(path) if path is not None else None
    while isinstance(doc, YMap) and "extends" in doc:
        where = Where(file)
        params = _check_thin(where, doc)
        for key in ("name", "description", "source"):
            if key in doc:
                shown.setdefault(key, str(doc[key]))
        for name, value in params.items():
            merged.setdefault(name, value)  # --set, then the outermost thin file, wins
        if path is not None:
            chain.append(path.resolve())
        if len(chain) > limits.MAX_BLOCK_DEPTH:
            raise where.limit(f"'extends' nests deeper than {limits.MAX_BLOCK_DEPTH}", doc)
        ref = doc["extends"]
        if not isinstance(ref, str):
            raise where.error("'extends' must name one architecture", doc, "extends")
        base = path.parent if path is not None else Path.cwd()
        try:
            target = loader.resolve(ref, base=base, root=root or base).resolve()
        except ConvcalcError as e:
            raise where.locate(e, doc, "extends") from None
        except (OSError, RuntimeError) as e:
            error = InputFileError(f"cannot open {ref[:120]!r}: {type(e).__name__}")
            raise where.locate(error, doc, "extends") from None
        if target in chain:
            raise where.error(f"'extends' cycle: {ref!r} extends this file again", doc, "extends")
        file = loader.display_name(target)
        thin = doc
        # As an import's, the base's YAML errors quote none of it (it may be any file
        # beside the thin one): the line locates the problem.
        doc = loader.load_yaml(loader.read_text(target, file), file, quote=False)
        path = target
        _check_declared(where, thin, doc, file)
    return doc, file, path, merged, shown


def _check_thin(where: Where, doc: YMap) -> dict[str, Any]:
    """The exact values of a thin file's params, after checking its keys."""
    for key in doc:
        if key not in THIN_KEYS:
            raise where.error(
                f"a file that 'extends' another has no key {key!r}",
                doc,
                key,
                hint="it has " + ", ".join(THIN_KEYS) + "; the layers are the base's",
            )
    raw = doc.get("params", YMap())
    if not isinstance(raw, YMap):
        raise where.error("'params' must be a mapping of name: value", doc, "params")
    values: dict[str, Any] = {}
    for name, value in raw.items():
        try:
            values[name] = evaluate_value(value, {}, f"param {name!r}")
        except ConvcalcError as e:
            raise where.locate(e, raw, name) from None
    return values


def _check_declared(where: Where, thin: YMap, base: Any, file: str) -> None:
    """Refuse a param of the ``thin`` file that its base (``file``) does not declare."""
    declared = base.get("params") if isinstance(base, YMap) else None
    declared = declared if isinstance(declared, dict) else {}
    params = thin.get("params", YMap())
    for name in params:
        if name not in declared:
            raise where.error(
                f"{file} has no parameter {name!r} to set",
                params,
                name,
                hint="its parameters are: " + (", ".join(declared) or "none"),
            )
