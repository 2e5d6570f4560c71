"""The registry of layer kinds, keyed by YAML ``op`` name.

Adding a kind is one class in one module here, decorated with :func:`register`; the loader,
the ``layers`` command, the docs and the completeness tests all read this registry.
"""

from __future__ import annotations

from typing import TypeVar

from convcalc.layers.base import LayerKind

REGISTRY: dict[str, LayerKind] = {}

K = TypeVar("K", bound=type[LayerKind])


def register(cls: K) -> K:
    """Class decorator: make ``cls.op`` usable in YAML."""
    if cls.op in REGISTRY:  # pragma: no cover - a programming error
        raise RuntimeError(f"op {cls.op!r} registered twice")
    REGISTRY[cls.op] = cls()
    return cls


_CATEGORIES = ("conv", "pool", "linear", "norm", "activation", "merge", "shape", "other")


def ordered() -> list[LayerKind]:
    """Every kind, grouped by category (convolutions first), for listings and docs."""
    return sorted(REGISTRY.values(), key=lambda k: _CATEGORIES.index(k.category))


# Importing the modules registers their kinds.
from convcalc.layers import (  # noqa: E402
    activation,  # noqa: F401
    conv,  # noqa: F401
    dense,  # noqa: F401
    merge,  # noqa: F401
    norm,  # noqa: F401
    pool,  # noqa: F401
)
