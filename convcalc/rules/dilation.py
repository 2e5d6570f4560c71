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
from convcalc.report import Report
from convcalc.rules.walk import Found, Walk

HDC = (
    'Wang et al., "Understanding Convolution for Semantic Segmentation" (hybrid dilated '
    "convolution), WACV 2018, section 3.2; seed notes 001 and 002"
)
MAX_SPAN = 1 << 20  # fields wider than this are not checked for holes


def _stack_member(g: Walk, layer: Layer) -> bool:
    """A stride-1 sliding window with a kernel wider than 1 on some axis."""
    w = g.window(layer)
    return w is not None and w.stride == (1, 1) and w.kernel != (1, 1)


def _transparent_for_space(g: Walk, layer: Layer) -> bool:
    """Layers that map each position to the same position: norms, activations, channel
    shuffles, identities, 1x1 stride-1 windows (of any dilation)."""
    if layer.kind.position_local:
        return True
    w = g.window(layer)
    return w is not None and w.kernel == (1, 1) and w.stride == (1, 1)


def _previous_member(g: Walk, layer: Layer) -> Layer | None:
    node = g.source(layer)
    while node is not None and not _stack_member(g, node):
        if not _transparent_for_space(g, node):
            return None
        node = g.source(node)
    return node


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


def rule(g: Walk, report: Report | None) -> list[Found]:
    members = [layer for layer in g.layers if _stack_member(g, layer)]
    previous = {m.name: _previous_member(g, m) for m in members}
    has_next = {p.name for p in previous.values() if p is not None}
    found = []
    for tail in members:
        if tail.name in has_next:
            continue  # not the end of its stack: the stack is checked at its last layer
        stack = [tail]
        while (p := previous[stack[-1].name]) is not None:
            stack.append(p)
        stack.reverse()
        if len(stack) < 2:
            continue
        names = ", ".join(f"'{m.name}'" for m in stack)
        windows = [w for w in (g.window(m) for m in stack) if w is not None]
        per_axis = [
            [(w.kernel[axis], w.dilation[axis]) for w in windows if w.kernel[axis] > 1]
            for axis in (0, 1)
        ]
        rates_shown = " x ".join(
            "(" + ", ".join(str(d) for _, d in taps) + ")" for taps in _unique(per_axis)
        )
        common = [math.gcd(*(d for _, d in taps)) if len(taps) >= 2 else 1 for taps in per_axis]
        if max(common) > 1:
            factor = max(common)
            found.append(
                g.diagnostic(
                    tail,
                    "gridding",
                    f"the stacked dilated layers {names} have rates {rates_shown} with the "
                    f"common factor {factor}: each output reads only pixels at offsets that "
                    f"are multiples of {factor}, and neighbouring outputs read disjoint grids "
                    "(the gridding effect)",
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
                    f"the stacked dilated layers {names} (kernels and rates "
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
