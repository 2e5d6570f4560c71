"""Stacked dilated convolutions: gridding (HDC rule 1) and gaps (HDC rule 2).

A stack is a run of stride-1 sliding windows wider than 1x1, with only position-local
layers (norms, activations, channel shuffles, 1x1 stride-1 windows) between them. Along
each axis the offsets one output reaches are the sums of one tap of each layer; the rule
computes that set exactly as a bit set and reports a common factor of the rates (every
output sees one sub-grid) or holes in the field (pixels no path reaches)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from convcalc.graph import Layer
from convcalc.layers.base import Window
from convcalc.report import Report
from convcalc.rules.walk import Found, Walk

HDC = (
    'Wang et al., "Understanding Convolution for Semantic Segmentation" (hybrid dilated '
    "convolution), WACV 2018, section 3.2; seed notes 001 and 002"
)
MAX_SPAN = 1 << 20  # fields wider than this are not checked for holes


def _stack_member(w: Window | None) -> bool:
    """A stride-1 sliding window with a kernel wider than 1 on some axis."""
    return w is not None and w.stride == (1, 1) and w.kernel != (1, 1)


def _transparent_for_space(layer: Layer, w: Window | None) -> bool:
    """Layers that map each position to the same position: norms, activations, channel
    shuffles, identities, 1x1 stride-1 windows (of any dilation); ``w`` is its window."""
    return layer.kind.position_local or (
        w is not None and w.kernel == (1, 1) and w.stride == (1, 1)
    )


def _offsets(taps: Sequence[tuple[int, int]]) -> int | None:
    """The input offsets one output reaches through stacked (kernel, rate) taps, as a bit set
    (bit x set when offset x is reached); None when the field is too wide to check."""
    span = sum((k - 1) * d for k, d in taps)
    if span > MAX_SPAN:
        return None
    bits = 1
    for k, d in taps:
        spread = 0
        for t in range(k):
            spread |= bits << (t * d)
        bits = spread
    return bits


def _unique(items: list[list[tuple[int, int]]]) -> list[list[tuple[int, int]]]:
    return [items[0]] if items[0] == items[1] else items


def _previous_members(g: Walk) -> dict[str, Layer | None]:
    """Each stack member's previous member in its stack (None at the start of a stack), in
    file order: one pass that carries, for every output, the member it is at through
    transparent layers."""
    previous: dict[str, Layer | None] = {}
    at: dict[str, Layer | None] = {}  # outputs of members and transparent layers
    for layer in g.layers:
        w = g.windows[layer.name]
        before = at.get(layer.inputs[0]) if len(layer.inputs) == 1 else None
        if _stack_member(w):
            previous[layer.name] = before
            at[layer.name] = layer
        elif _transparent_for_space(layer, w):
            at[layer.name] = before
    return previous


def _names(stack: Sequence[Layer]) -> str:
    """The stack's names quoted, made only for a warning (a stack can be thousands long)."""
    return ", ".join(f"'{m.name}'" for m in stack)


def rule(g: Walk, report: Report | None) -> list[Found]:
    previous = _previous_members(g)
    has_next = {p.name for p in previous.values() if p is not None}
    found = []
    for name, start in previous.items():
        if name in has_next or start is None:
            continue  # not the end of its stack (checked at its last layer), or alone
        stack = [g.by_name[name], start]
        while (p := previous[stack[-1].name]) is not None:
            stack.append(p)
        stack.reverse()
        windows = [w for w in (g.window(m) for m in stack) if w is not None]
        per_axis = [
            [(w.kernel[axis], w.dilation[axis]) for w in windows if w.kernel[axis] > 1]
            for axis in (0, 1)
        ]
        tail = stack[-1]
        common = [math.gcd(*(d for _, d in taps)) if len(taps) >= 2 else 1 for taps in per_axis]
        if max(common) > 1:
            factor = max(common)
            rates_shown = " x ".join(
                "(" + ", ".join(str(d) for _, d in taps) + ")" for taps in _unique(per_axis)
            )
            found.append(
                g.diagnostic(
                    tail,
                    "gridding",
                    f"the stacked dilated layers {_names(stack)} have rates {rates_shown} "
                    f"with the common factor {factor}: each output reads only pixels at offsets "
                    f"that are multiples of {factor}, and neighbouring outputs read disjoint "
                    "grids (the gridding effect)",
                    HDC,
                    hint="use rates without a common factor, rising in a sawtooth such as "
                    "1, 2, 5 (hybrid dilated convolution)",
                )
            )
            continue
        for taps in per_axis:
            if len(taps) < 2 or all(d == 1 for _, d in taps):
                continue
            bits = _offsets(taps)
            if bits is None or bits == (1 << bits.bit_length()) - 1:
                continue
            span = bits.bit_length()
            first_hole = next(x for x in range(span) if not bits >> x & 1)
            holes = span - bin(bits).count("1")
            last = taps[-1]
            found.append(
                g.diagnostic(
                    tail,
                    "dilation-gap",
                    f"the stacked dilated layers {_names(stack)} (kernels and rates "
                    + ", ".join(f"{k}@{d}" for k, d in taps)
                    + f") leave {holes} of the {span} pixels of their field unseen (the "
                    f"first at offset {first_hole}): the rate {last[1]} of the last dilated "
                    "layer is larger than the span the kernels before it fill",
                    HDC,
                    hint="HDC's rule: choose rates so the largest gap is at most the kernel "
                    "size (M_2 <= K), e.g. 1, 2, 5 for 3x3 kernels",
                )
            )
            break
    return found
