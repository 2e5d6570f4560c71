"""The registry of layer kinds, keyed by YAML ``op`` name.

Kind modules register into it with :func:`register`; :mod:`convcalc.layers` imports every
kind module, so importing that package fills the registry.
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
