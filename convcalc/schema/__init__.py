"""The YAML front end: convcalc's own architecture schema (docs/schema.md).

``loader`` reads untrusted YAML safely (sizes bounded, lines kept); ``expand`` walks the
document (blocks, repeats, stage tables, ``when``) and builds the graph through
:class:`convcalc.graph.GraphBuilder`, with ``extends`` (a file that is another with other
param values), ``document`` (the top-level keys, params, vars, input and defaults),
``blocks`` (the block library and imports), ``binding`` (arguments, table rows, repeat
counts), ``bounds`` (refusing blocks that multiply before they are expanded) and
``limits`` (the size limits); ``where`` is the file errors name, which all of them share.
:func:`load` is what the pipeline calls.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from convcalc.graph import Graph
from convcalc.layers.base import Shape
from convcalc.schema import expand, extends, loader


def read(arch: str | Path) -> tuple[Path, str, Any]:
    """(path, name shown in messages, loaded document) of a file or bundled name."""
    path = loader.resolve(str(arch))
    shown = loader.display_name(path)
    return path, shown, loader.load_yaml(loader.read_text(path, shown), shown)


def load(
    arch: str | Path,
    overrides: Mapping[str, Any],
    input_shape: Shape | None,
    free: tuple[str, ...],
    symbolic: bool,
) -> Graph:
    """The graph of an architecture file (or bundled name) with exact ``overrides``."""
    path, shown, doc = read(arch)
    return expand.expand(doc, shown, shown, overrides, input_shape, path, free, symbolic)


def declared_params(arch: str | Path) -> list[str]:
    """The names an architecture accepts in ``--set`` (its ``params``, or those of the
    architecture it ``extends``)."""
    path, shown, doc = read(arch)
    doc = extends.resolve(doc, shown, path, {})[0]
    params = doc.get("params") if isinstance(doc, dict) else None
    return list(params) if isinstance(params, dict) else []


def described(name: str) -> tuple[str, str]:
    """(description, source) of a bundled architecture, for ``convcalc list``."""
    path = loader.architectures_dir() / f"{name}.yaml"
    doc = loader.load_yaml(loader.read_text(path, name), name)
    doc, _, _, _, thin = extends.resolve(doc, name, path, {})
    return (
        thin.get("description", str(doc.get("description", ""))),
        thin.get("source", str(doc.get("source", ""))),
    )
