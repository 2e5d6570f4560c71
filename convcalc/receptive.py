"""Receptive fields: per axis, which input pixels each output unit of a tensor sees, and
the two rules that build them, composition through a layer and union at a merge.

Two models, one place, so the analysis, ``explain`` and the design rules cannot disagree:

- **uniform**, the (size, jump, start) of Araujo et al. (Distill 2019): every unit's field
  has one size and starts ``jump`` pixels after its neighbour's. Exact through convolutions
  and pooling, symbolic values included; ``explain`` runs :func:`compose_axis` on symbols.
- **per phase**, from the first layer whose units read their input unevenly (its kind gives
  :meth:`~convcalc.layers.base.LayerKind.rf_phases`: upsampling, transposed convolution,
  uneven adaptive pooling): the units repeat with a period P, unit q P + r spanning the
  pixels of phase r shifted by q J. Composition keeps it exact (concrete values only) and
  falls back to the uniform model once the period is 1 again. A period over
  :data:`~convcalc.layers.base.PHASE_LIMIT` is bounded instead, by an envelope: unit u's
  field lies within [slope u + lo, slope u + hi].

A field counts the pixels from the first to the last one a unit reads (padding included);
so only each unit's first and last pixel need tracking.

A layer whose every output reads every position of its input (global attention, a softmax
over tokens, a matrix product of activations) gives the **whole** field (:func:`whole`):
every unit sees the whole input, so its jump is 0. Tokens carry the field of the map
position they came from.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from convcalc import num
from convcalc.layers.base import IDENTITY_RF, PHASE_LIMIT, AxisPhases, AxisRF

Span = tuple[int, int] | None  # first and last input pixel of a unit, None when it reads none

RF_BITS = 64  # beyond this a field (or its jump) no longer describes any real input


class Untracked(Exception):
    """The field cannot be told from here on (the message says why)."""


@dataclass(frozen=True)
class Phased:
    """The exact field of one axis: unit q * period + r spans ``spans[r]`` (first and last
    input pixel, None when it reads none) shifted by q * step pixels."""

    period: int
    step: int
    spans: tuple[Span, ...]

    def span(self, unit: int) -> Span:
        q, r = divmod(unit, self.period)
        s = self.spans[r]
        return None if s is None else (s[0] + q * self.step, s[1] + q * self.step)

    @property
    def slope(self) -> Fraction:
        return Fraction(self.step, self.period)


@dataclass(frozen=True)
class Envelope:
    """A bound on one axis: unit u's field lies within [slope u + lo, slope u + hi]."""

    slope: Fraction
    lo: Fraction
    hi: Fraction


AxisField = Phased | Envelope | None  # None: the uniform (size, jump, start) of the RF


@dataclass(frozen=True)
class RF:
    """Receptive field of one tensor, per axis (height, width).

    ``size`` is the largest field of the units that exist, ``jump`` the mean step between
    neighbouring units, ``start`` the first pixel of the first unit that reads any. Where
    units differ (after upsampling), ``min_size`` is the smallest field, ``period`` the
    units per repeat and ``phases`` each phase's (size, start); where an axis was too long to
    track (``bound``), ``size`` is an upper bound on every unit's field and ``start`` a
    lower bound.
    """

    size: tuple[Any, Any]
    jump: tuple[Any, Any]
    start: tuple[Any, Any]
    min_size: tuple[Any, Any] | None = None
    period: tuple[int | None, int | None] = (1, 1)
    phases: tuple[tuple[tuple[int, int | None], ...], ...] = ((), ())
    bound: tuple[bool, bool] = (False, False)
    axes: tuple[AxisField, AxisField] = field(default=(None, None), compare=False, repr=False)

    @property
    def centre(self) -> tuple[Any, Any]:
        return tuple(s + num.div(r - 1, 2) for s, r in zip(self.start, self.size, strict=True))

    @property
    def uniform(self) -> bool:
        """Every unit's field has the same size, ``jump`` pixels after its neighbour's."""
        return self.axes == (None, None)


INPUT_RF = RF((1, 1), (1, 1), (0, 0))  # one pixel of the input, jump 1, start 0


def compose_axis(size: Any, jump: Any, start: Any, t: AxisRF) -> tuple[Any, Any, Any]:
    """(size, jump, start) after a layer with transform ``t`` along one axis:
    r' = r + (k - 1) j, j' = j s, start' = start - p j."""
    return size + (t.kernel - 1) * jump, jump * t.stride, start - t.pad * jump


def _keeps(t: tuple[AxisRF, AxisRF]) -> bool:
    """Whether a uniform transform leaves every field as it is (kernel 1, stride 1, no
    padding on both axes): r + 0 j, j 1, start - 0 j."""
    if t is IDENTITY_RF:  # what every kind that reads each position alone says
        return True
    return all(a.kernel == 1 and a.stride == 1 and a.pad == 0 for a in t)


def _plain(rf: RF) -> bool:
    """Whether a field is its size, jump and start alone (what the uniform rule returns)."""
    return (
        rf.min_size is None
        and rf.period == (1, 1)
        and rf.phases == ((), ())
        and rf.bound == (False, False)
    )


def compose(
    rf: RF,
    t: tuple[AxisRF, AxisRF],
    phases: tuple[AxisPhases | None, AxisPhases | None] | None = None,
    extent: tuple[Any, Any] | None = None,
) -> RF:
    """The field after a layer, from its input's field, the layer's uniform transform ``t``
    and its per-phase transform (``phases``, None for a layer whose units all read alike;
    an axis None when it cannot be tabulated); ``extent`` is the output's (H, W), which
    says which phases exist. Raises :class:`Untracked`."""
    if phases is None and rf.uniform:
        if _keeps(t) and _plain(rf):
            return rf  # each position read alone (a norm, an activation): the same field
        axes = [compose_axis(rf.size[a], rf.jump[a], rf.start[a], t[a]) for a in (0, 1)]
        return RF((axes[0][0], axes[1][0]), (axes[0][1], axes[1][1]), (axes[0][2], axes[1][2]))
    states: list[Any] = []
    for a in (0, 1):
        state = rf.axes[a]
        if phases is None and state is None:
            states.append(compose_axis(rf.size[a], rf.jump[a], rf.start[a], t[a]))
            continue
        if phases is not None and phases[a] is None:
            raise Untracked("the receptive field after this layer needs concrete sizes")
        layer = phases[a] if phases is not None else _uniform_phases(t[a])
        states.append(_through(_phased(rf, a) if state is None else state, layer))
    return _build(states, extent)


def whole(image: tuple[Any, ...]) -> RF:
    """The field of units that read every position: the whole ``image`` (the network
    input's H x W) from pixel 0, jump 0 as every unit sees the same. Padding read on the way
    is not added: the field is the input, whatever the borders."""
    return RF((image[0], image[1]), (0, 0), (0, 0))


def is_whole(rf: RF) -> bool:
    """Whether every unit of a tensor sees the same field (jump 0 on both axes): one that
    has read every position, which a union with other fields keeps as it is."""
    return rf.uniform and all(num.is_concrete(j) and j == 0 for j in rf.jump)


def unbounded(rf: RF) -> bool:
    """Whether a field has grown past :data:`RF_BITS` bits (it is no longer tracked)."""
    for v in (*rf.size, *rf.jump, *rf.start):
        if type(v) is int:  # the common case: one comparison, no abs
            if not -_LIMIT < v < _LIMIT:
                return True
        elif num.is_concrete(v) and abs(v) >= _LIMIT:
            return True
    return False


_LIMIT = 2**RF_BITS


def union(fields: list[RF], layer: str, warnings: list[str]) -> RF:
    """The field of a merge: the union of its inputs' fields (uniform fields: the larger
    jump where they differ, with a warning, as with differently centred branches)."""
    if len(fields) == 1:
        return fields[0]
    if _all_int(fields) and all(f.uniform and f.jump != (0, 0) for f in fields):
        return _union_uniform(fields, layer, warnings)  # the common merge, asked directly
    wholes = [f for f in fields if is_whole(f)]
    if wholes:
        # It already holds every pixel the other inputs' units read (a residual join
        # after attention); the widest one stands for all.
        if all(num.is_concrete(v) for f in wholes for v in f.size):
            return max(wholes, key=lambda f: f.size[0] * f.size[1])
        return wholes[0]
    if not all(f.uniform for f in fields):
        return _build([_union_axis(fields, a, layer) for a in (0, 1)], None)
    if not all(num.is_concrete(v) for f in fields for v in (*f.size, *f.start, *f.jump)):
        return fields[0]
    return _union_uniform(fields, layer, warnings)


def _all_int(fields: list[RF]) -> bool:
    """Whether every size, jump and start of ``fields`` is a plain integer."""
    for f in fields:
        for v in (*f.size, *f.start, *f.jump):
            if type(v) is not int:
                return False
    return True


def _union_uniform(fields: list[RF], layer: str, warnings: list[str]) -> RF:
    """The union of uniform fields of concrete sizes, none of them the whole input."""
    size, jump, start = [], [], []
    for axis in (0, 1):
        lo = min([f.start[axis] for f in fields])
        hi = max([f.start[axis] + f.size[axis] for f in fields]) - 1
        size.append(hi - lo + 1)
        start.append(lo)
        jumps = {f.jump[axis] for f in fields}
        if len(jumps) > 1:
            warnings.append(f"{layer}: branches have different jumps {sorted(jumps)}")
        jump.append(max(jumps))
    # Equal centres are equal 2 start + size (twice the centre, plus one): decided without
    # dividing, which on a 100,000-layer DAG's 20,000 merges was most of the union's time.
    if len({(2 * f.start[0] + f.size[0], 2 * f.start[1] + f.size[1]) for f in fields}) > 1:
        centres = {f.centre for f in fields}
        shown = ", ".join(
            "(" + ", ".join(f"{float(v):g}" for v in c) + ")" for c in sorted(centres)
        )
        warnings.append(
            f"{layer}: branches meet with receptive fields centred differently "
            f"(centres of unit 0 at {shown}); the union is reported"
        )
    return RF((size[0], size[1]), (jump[0], jump[1]), (start[0], start[1]))


# --- the per-phase model ----------------------------------------------------------------


def _whole(value: Any) -> int:
    if isinstance(value, Fraction) and value.denominator == 1:
        return value.numerator
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise Untracked("the receptive field after this layer needs concrete sizes")


def _phased(rf: RF, a: int) -> Phased:
    """A uniform axis as a field of period 1."""
    start = _whole(rf.start[a])
    return Phased(1, _whole(rf.jump[a]), ((start, start + _whole(rf.size[a]) - 1),))


def _uniform_phases(t: AxisRF) -> AxisPhases:
    """A uniform layer transform as a per-phase one of period 1."""
    k, s, p, d = _whole(t.kernel), _whole(t.stride), _whole(t.pad), _whole(t.dilation)
    return AxisPhases(1, s, ((-p, -p + k - 1, d),), (Fraction(-p), Fraction(-p + k - 1)))


def _through(f: Phased | Envelope, t: AxisPhases) -> Phased | Envelope:
    """One axis's field after a layer: output unit v = q * t.period + r reads the input
    units q * t.step + taps[r]; shifting v by t.period * P / gcd(P, t.step) shifts those by
    whole periods of the input field, so that is the new period."""
    if isinstance(f, Phased):
        if _empty(f):
            raise Untracked("no unit of its input reads an input pixel")
        g = math.gcd(f.period, t.step)
        period = t.period * (f.period // g)
        if t.taps and period <= PHASE_LIMIT:
            spans: list[Span] = []
            for r in range(period):
                m, phase = divmod(r, t.period)
                tap = t.taps[phase]
                base = m * t.step
                spans.append(
                    None if tap is None else _reach(f, base + tap[0], base + tap[1], tap[2])
                )
            return _reduced(Phased(period, f.step * (t.step // g), tuple(spans)))
        f = _envelope(f)
    mu = Fraction(t.step, t.period)
    if t.taps:
        read = [(tap, r) for r, tap in enumerate(t.taps) if tap is not None]
        lo = min(tap[0] - mu * r for tap, r in read)
        hi = max(tap[1] - mu * r for tap, r in read)
    else:
        lo, hi = t.envelope
    return Envelope(f.slope * mu, f.slope * lo + f.lo, f.slope * hi + f.hi)


def _empty(f: Phased | Envelope) -> bool:
    """Whether no unit reads any pixel (a crop or stride that keeps only the units between
    a transposed conv's taps)."""
    return isinstance(f, Phased) and all(s is None for s in f.spans)


def _reach(f: Phased, first: int, last: int, every: int) -> Span:
    """First and last pixel seen by the input units first, first + every, ..., last. Every
    lcm(period, every) units the pattern repeats shifted on, so the first and the last
    repeat of the taps decide."""
    units = range(first, last + 1, every)
    cycle = f.period // math.gcd(f.period, every)
    if len(units) > 2 * cycle:
        units = [*units[:cycle], *units[-cycle:]]
    seen = [s for s in map(f.span, units) if s is not None]
    return (min(s[0] for s in seen), max(s[1] for s in seen)) if seen else None


def _reduced(f: Phased) -> Phased:
    """The same field with its shortest period."""
    for p in range(1, f.period):
        if f.period % p or (f.step * p) % f.period:
            continue
        shift = f.step * p // f.period
        if all(
            f.spans[r + p] == (None if s is None else (s[0] + shift, s[1] + shift))
            for r, s in enumerate(f.spans[: f.period - p])
        ):
            return Phased(p, shift, f.spans[:p])
    return f


def _envelope(f: Phased) -> Envelope:
    """The tightest envelope of an exact field."""
    slope = f.slope
    read = [(s, r) for r, s in enumerate(f.spans) if s is not None]
    return Envelope(
        slope, min(s[0] - slope * r for s, r in read), max(s[1] - slope * r for s, r in read)
    )


def _union_axis(fields: list[RF], a: int, layer: str) -> Phased | Envelope | tuple:
    states = [_phased(f, a) if f.axes[a] is None else f.axes[a] for f in fields]
    states = [s for s in states if not _empty(s)]  # a branch that reads nothing adds nothing
    if not states:
        raise Untracked("no unit of its inputs reads an input pixel")
    slopes = {s.slope for s in states}
    if len(slopes) > 1:
        raise Untracked(
            f"branches meet with different jumps {sorted(float(v) for v in slopes)}; "
            "the receptive field is not tracked from here on"
        )
    period = math.lcm(*(s.period for s in states if isinstance(s, Phased)))
    if any(isinstance(s, Envelope) for s in states) or period > PHASE_LIMIT:
        envelopes = [s if isinstance(s, Envelope) else _envelope(s) for s in states]
        return Envelope(
            envelopes[0].slope, min(e.lo for e in envelopes), max(e.hi for e in envelopes)
        )
    spans: list[Span] = []
    for r in range(period):
        seen = [x for x in (s.span(r) for s in states) if x is not None]
        spans.append((min(x[0] for x in seen), max(x[1] for x in seen)) if seen else None)
    return _reduced(Phased(period, int(slopes.pop() * period), tuple(spans)))


def _build(states: list[Any], extent: tuple[Any, Any] | None) -> RF:
    """The reported field from per-axis states: a uniform (size, jump, start), a
    :class:`Phased` field (its phases that exist in a tensor of ``extent``) or an
    :class:`Envelope`."""
    size, jump, start, smallest, period, phases, bound, axes = ([] for _ in range(8))
    for a, state in enumerate(states):
        if isinstance(state, Phased) and state.period == 1 and state.spans[0] is not None:
            lo, hi = state.spans[0]
            state = (hi - lo + 1, state.step, lo)
        if isinstance(state, tuple):
            size.append(state[0])
            jump.append(state[1])
            start.append(state[2])
            smallest.append(state[0])
            period.append(1)
            phases.append(((state[0], state[2]),))
            bound.append(False)
            axes.append(None)
        elif isinstance(state, Phased):
            n = extent[a] if extent is not None else None
            count = min(state.period, n) if isinstance(n, int) else state.period
            shown = tuple(
                (0, None) if s is None else (s[1] - s[0] + 1, s[0]) for s in state.spans[:count]
            )
            starts = [s for _, s in shown if s is not None]
            size.append(max(r for r, _ in shown))
            smallest.append(min(r for r, _ in shown))
            jump.append(num.normalize(state.slope))
            start.append(min(starts) if starts else None)  # None: no unit reads a pixel
            period.append(state.period)
            phases.append(shown)
            bound.append(False)
            axes.append(state)
        else:
            size.append(math.floor(state.hi - state.lo) + 1)
            smallest.append(None)
            jump.append(num.normalize(state.slope))
            start.append(math.ceil(state.lo))
            period.append(None)
            phases.append(())
            bound.append(True)
            axes.append(state)
    if axes == [None, None]:
        return RF(tuple(size), tuple(jump), tuple(start))
    return RF(
        tuple(size),
        tuple(jump),
        tuple(start),
        tuple(smallest),
        tuple(period),
        tuple(phases),
        tuple(bound),
        tuple(axes),
    )
