"""Receptive fields: the per-axis (size, jump, start) of a tensor and the two rules that
build them, composition through a layer and union at a merge (Araujo et al., Distill 2019).

One place for both, so the analysis, ``explain`` (which runs :func:`compose_axis` on
symbols to print the formula) and the design rules cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from convcalc import num
from convcalc.layers.base import AxisRF

RF_BITS = 64  # beyond this a field (or its jump) no longer describes any real input


@dataclass(frozen=True)
class RF:
    """Receptive field of one tensor: per axis (height, width) size, jump and start."""

    size: tuple[Any, Any]
    jump: tuple[Any, Any]
    start: tuple[Any, Any]

    @property
    def centre(self) -> tuple[Any, Any]:
        return tuple(s + num.div(r - 1, 2) for s, r in zip(self.start, self.size, strict=True))


INPUT_RF = RF((1, 1), (1, 1), (0, 0))  # one pixel of the input, jump 1, start 0


def compose_axis(size: Any, jump: Any, start: Any, t: AxisRF) -> tuple[Any, Any, Any]:
    """(size, jump, start) after a layer with transform ``t`` along one axis:
    r' = r + (k - 1) j, j' = j s, start' = start - p j."""
    return size + (t.kernel - 1) * jump, jump * t.stride, start - t.pad * jump


def compose(field: RF, t: tuple[AxisRF, AxisRF]) -> RF:
    """The field after a layer, from its input's field and its per-axis transform."""
    axes = [compose_axis(field.size[a], field.jump[a], field.start[a], t[a]) for a in (0, 1)]
    return RF((axes[0][0], axes[1][0]), (axes[0][1], axes[1][1]), (axes[0][2], axes[1][2]))


def unbounded(field: RF) -> bool:
    """Whether a field has grown past :data:`RF_BITS` bits (it is no longer tracked)."""
    return any(
        num.is_concrete(v) and abs(v) >= 2**RF_BITS
        for v in (*field.size, *field.jump, *field.start)
    )


def union(fields: list[RF], layer: str, warnings: list[str]) -> RF:
    """The field of a merge: the union of its inputs' fields (the larger jump where they
    differ, with a warning, as with differently centred branches)."""
    if len(fields) == 1:
        return fields[0]
    first = fields[0]
    if not all(num.is_concrete(v) for f in fields for v in (*f.size, *f.start, *f.jump)):
        return first
    size, jump, start = [], [], []
    for axis in (0, 1):
        lo = min(f.start[axis] for f in fields)
        hi = max(f.start[axis] + f.size[axis] - 1 for f in fields)
        size.append(hi - lo + 1)
        start.append(lo)
        jumps = {f.jump[axis] for f in fields}
        if len(jumps) > 1:
            warnings.append(f"{layer}: branches have different jumps {sorted(jumps)}")
        jump.append(max(jumps))
    centres = {f.centre for f in fields}
    if len(centres) > 1:
        shown = ", ".join(
            "(" + ", ".join(f"{float(v):g}" for v in c) + ")" for c in sorted(centres)
        )
        warnings.append(
            f"{layer}: branches meet with receptive fields centred differently "
            f"(centres of unit 0 at {shown}); the union is reported"
        )
    return RF(tuple(size), tuple(jump), tuple(start))
