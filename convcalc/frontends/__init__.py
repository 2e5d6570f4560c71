"""Readers of the model files designers already have, each building the one graph
(:class:`convcalc.graph.Graph`, through :class:`convcalc.graph.GraphBuilder`) that every
command analyses. convcalc's own YAML schema (:mod:`convcalc.schema`) is the default;
the readers here are chosen by a file's extension and, where extensions are shared (YAML,
JSON), by its first bytes. docs/import.md lists every reader, module and op.

A reader is a module with two functions:

- ``load(path, overrides, input_shape, free, symbolic) -> Graph``: the graph of the file,
  ``overrides`` being the exact values of ``--set`` (and ``--alpha``/``--rho``) for the
  parameters the file has;
- ``declared_params(path) -> list[str]``: the names ``--set`` accepts for it.

Each is imported only when a file of its kind is read, so an optional dependency (the
``onnx`` package) loads only then, and its absence is one clear message.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

#: How much of a file is read to tell formats that share an extension apart.
SNIFF_BYTES = 64 * 1024


@dataclass(frozen=True)
class Reader:
    """One file format: its module under :mod:`convcalc.frontends`, the extensions it
    claims and, for a shared extension, a test on the file's first bytes."""

    name: str
    module: str
    extensions: tuple[str, ...]
    sniff: Callable[[bytes], bool] | None = None

    def load_module(self) -> ModuleType:
        return importlib.import_module(f"convcalc.frontends.{self.module}")


def _ultralytics_yaml(head: bytes) -> bool:
    """An Ultralytics model YAML: top-level backbone and head lists, no convcalc key."""
    return (
        re.search(rb"(?m)^backbone\s*:", head) is not None
        and re.search(rb"(?m)^head\s*:", head) is not None
        and re.search(rb"(?m)^convcalc\s*:", head) is None
    )


def _keras_json(head: bytes) -> bool:
    """Keras' model.to_json(): an object with a class_name and a config."""
    return b'"class_name"' in head and b'"config"' in head


#: The readers, in the order they are tried. A file no reader claims is convcalc YAML.
READERS: tuple[Reader, ...] = (
    Reader("ultralytics", "ultralytics", (".yaml", ".yml"), _ultralytics_yaml),
    Reader("onnx", "onnx_file", (".onnx",)),
    Reader("keras", "keras_json", (".json",), _keras_json),
    Reader("caffe", "caffe_prototxt", (".prototxt",)),
)


def reader_for(arch: str | Path) -> Reader | None:
    """The reader of an existing file whose extension (and first bytes) a reader claims;
    None for a bundled name or convcalc's own YAML."""
    path = Path(arch)
    suffix = path.suffix.lower()
    candidates = [r for r in READERS if suffix in r.extensions]
    if not candidates or not path.is_file():
        return None
    head = b""
    if any(r.sniff is not None for r in candidates):
        with path.open("rb") as f:
            head = f.read(SNIFF_BYTES)
    for reader in candidates:
        if reader.sniff is None or reader.sniff(head):
            return reader
    return None
