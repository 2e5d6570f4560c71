"""The registry of layer kinds, keyed by YAML ``op`` name.

Kind modules register into it with :func:`register`; :mod:`convcalc.layers` imports every
kind module, so importing that package fills the registry. A kind known by more than one
name (PyTorch's ``silu`` is ``swish``) lists the others in ``aliases``: each is a second key
of :data:`REGISTRY` for the same kind, while :data:`KINDS` holds each kind once, under its
own ``op``, for listings.
"""

from __future__ import annotations

from typing import TypeVar

from convcalc.layers.base import LayerKind

REGISTRY: dict[str, LayerKind] = {}
#: Each kind once, keyed by its own ``op`` (no aliases).
KINDS: dict[str, LayerKind] = {}

K = TypeVar("K", bound=type[LayerKind])


def register(cls: K) -> K:
    """Class decorator: make ``cls.op`` and its ``aliases`` usable in YAML."""
    kind = cls()
    for name in (cls.op, *cls.aliases):
        if name in REGISTRY:  # pragma: no cover - a programming error
            raise RuntimeError(f"op {name!r} registered twice")
        REGISTRY[name] = kind
    KINDS[cls.op] = kind
    return cls
