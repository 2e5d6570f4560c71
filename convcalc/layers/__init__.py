"""Layer kinds: one class per YAML ``op``, owning every fact about that op.

Adding a kind is one class in one module here, decorated with
:func:`~convcalc.layers.registry.register`; the loader, the analysis, the design rules, the
device estimate, ``explain``, the ``layers`` command, the docs and the completeness tests
all read the registry and ask the kind, never the op name.
"""

from __future__ import annotations

from convcalc.layers import (  # noqa: F401
    activation,
    attention,
    conv,
    dense,
    merge,
    norm,
    pool,
    shape,
    tokens,
)
from convcalc.layers.base import CATEGORIES, LayerKind
from convcalc.layers.registry import KINDS, REGISTRY, register

__all__ = ["KINDS", "REGISTRY", "LayerKind", "ordered", "register"]


def ordered() -> list[LayerKind]:
    """Every kind once (aliases under their kind), grouped by category (convolutions first),
    for listings and docs."""
    return sorted(KINDS.values(), key=lambda k: CATEGORIES.index(k.category))
