"""The fit: per profile, the efficiency factors and per-layer overhead that bring the device
estimate closest to the measured latencies.

The objective is evaluated tens of thousands of times per profile, too often to call
convcalc's estimate each time: every row is reduced once to a :class:`Probe`, and
:func:`predict` recomputes the estimate's latency sum from it, for any factors, in time
logarithmic in the number of layers. tests/test_calibration.py holds :func:`predict` to
:func:`convcalc.devices.estimate` on every calibration row, so the two cannot drift apart.

The search is deterministic (a fixed coordinate search, no randomness, no clock), so CI can
regenerate the profiles and check there is no diff.
"""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from calibration.data import Row
from convcalc.devices import DeviceProfile, estimate
from convcalc.devices.schema import (
    DEFAULT_EFFICIENCY,
    DEFAULT_OVERHEAD_S,
    EFFICIENCY_KEYS,
    efficiency_family,
)

PARAMS = (*EFFICIENCY_KEYS, "overhead_s")
BOUNDS = {k: (0.005, 1.0) for k in EFFICIENCY_KEYS} | {"overhead_s": (1e-7, 2e-3)}
#: Weight of the pull towards the class priors, per squared log-ratio. Small: with a dozen
#: rows the data decide; with two rows the priors keep the unidentifiable factors in place.
RIDGE = 0.02


def priors(profile: DeviceProfile) -> dict[str, float]:
    """The factors a profile of this class starts from (and is pulled towards)."""
    family = efficiency_family(profile.device_class)
    return {**DEFAULT_EFFICIENCY[family], "overhead_s": DEFAULT_OVERHEAD_S[family]}


@dataclass
class Probe:
    """A row reduced to what the fit needs. Per op kind, the layers sorted by c/m (compute
    time at full peak over memory time at full bandwidth) with prefix sums of c and m: a
    layer is compute-bound exactly when c/m > eff_op/eff_bw, so the total time for any
    factors is two prefix sums found by bisection, not a pass over every layer."""

    kinds: dict[str, tuple[list[float], list[float], list[float]]]
    layers: int
    measured: float


def probe(row: Row, profile: DeviceProfile) -> Probe:
    """``row`` reduced for :func:`predict` on ``profile`` (at the row's dtype and batch)."""
    assert row.report is not None and row.measured_s and row.dtype
    est = estimate(row.report, profile, dtype=row.dtype, batch=row.batch)
    peak = profile.peak(row.dtype)
    bw = profile.bandwidth_Bps or 0.0
    by_kind: dict[str, list[tuple[float, float]]] = {}
    layers = 0
    for t in est.layers:
        if t.op_class == "view" or t.fused_into:
            continue
        layers += 1
        m = (t.traffic_bytes / bw) if bw else 0.0
        by_kind.setdefault(t.op_class, []).append((t.flops / peak, m))
    kinds = {}
    for kind, items in sorted(by_kind.items()):
        items.sort(key=lambda cm: (cm[0] / cm[1]) if cm[1] else math.inf)
        ratios = [(c / m) if m else math.inf for c, m in items]
        cum_c, cum_m = [0.0], [0.0]
        for c, m in items:
            cum_c.append(cum_c[-1] + c)
            cum_m.append(cum_m[-1] + m)
        kinds[kind] = (ratios, cum_c, cum_m)
    return Probe(kinds, layers, row.measured_s)


def kind_time(p: Probe, kind: str, eff: float, bw: float) -> float:
    """The time of ``p``'s layers of one op kind at efficiency ``eff`` and bandwidth
    efficiency ``bw``: memory-bound ones at bandwidth, the others at ``eff`` x peak."""
    if kind not in p.kinds:
        return 0.0
    ratios, cum_c, cum_m = p.kinds[kind]
    k = bisect.bisect_right(ratios, eff / bw)  # the first k layers are memory-bound
    return cum_m[k] / bw + (cum_c[-1] - cum_c[k]) / eff


def predict(p: Probe, theta: dict[str, float]) -> float:
    """The estimate's latency for factors ``theta`` (the same sum as the estimate)."""
    bw = theta["bandwidth"]
    total = sum(kind_time(p, kind, theta[kind], bw) for kind in p.kinds)
    return total + p.layers * theta["overhead_s"]


def objective(probes: Sequence[Probe], theta: dict[str, float], prior: dict[str, float]) -> float:
    """Mean squared log error of the predictions, plus the ridge pull towards ``prior``."""
    data = sum(math.log(predict(p, theta) / p.measured) ** 2 for p in probes) / len(probes)
    return data + _ridge(theta, prior)


def _golden(f: Callable[[float], float], lo: float, hi: float, iters: int = 30) -> float:
    g = (math.sqrt(5) - 1) / 2
    a, b = lo, hi
    c, d = b - g * (b - a), a + g * (b - a)
    fc, fd = f(c), f(d)
    for _ in range(iters):
        if fc <= fd:
            b, d, fd = d, c, fc
            c = b - g * (b - a)
            fc = f(c)
        else:
            a, c, fc = c, d, fd
            d = a + g * (b - a)
            fd = f(d)
    return (a + b) / 2


def _ridge(theta: dict[str, float], prior: dict[str, float]) -> float:
    return RIDGE * sum(math.log(theta[k] / prior[k]) ** 2 for k in PARAMS)


def _along(
    probes: Sequence[Probe], theta: dict[str, float], prior: dict[str, float], k: str
) -> Callable[[float], float]:
    """The objective as a function of log(theta[k]) alone. Varying one op kind's
    efficiency changes only that kind's time in each prediction, and the overhead only the
    overhead term, so the rest of each prediction is computed once here, not at every
    point of the search (the bandwidth moves every kind and is computed in full)."""
    n = len(probes)
    if k == "bandwidth":
        return lambda x: objective(probes, {**theta, k: math.exp(x)}, prior)
    if k == "overhead_s":
        rest = [predict(p, theta) - p.layers * theta[k] for p in probes]

        def term(p: Probe, value: float) -> float:
            return p.layers * value

    else:
        bw = theta["bandwidth"]
        rest = [predict(p, theta) - kind_time(p, k, theta[k], bw) for p in probes]

        def term(p: Probe, value: float) -> float:
            return kind_time(p, k, value, bw)

    def f(x: float) -> float:
        value = math.exp(x)
        data = sum(
            math.log((r + term(p, value)) / p.measured) ** 2
            for p, r in zip(probes, rest, strict=True)
        )
        return data / n + _ridge({**theta, k: value}, prior)

    return f


def fit(probes: Sequence[Probe], prior: dict[str, float]) -> dict[str, float]:
    """Coordinate search in log space: a 41-point grid per parameter, then golden-section
    refinement around the best grid point; sweeps until the objective stops improving."""
    theta = dict(prior)
    best = objective(probes, theta, prior)
    for _ in range(40):
        start = best
        for k in PARAMS:
            lo, hi = (math.log(v) for v in BOUNDS[k])
            f = _along(probes, theta, prior, k)
            grid = [lo + (hi - lo) * i / 40 for i in range(41)]
            values = [f(x) for x in grid]
            j = min(range(41), key=lambda i: values[i])
            x = _golden(f, grid[max(j - 1, 0)], grid[min(j + 1, 40)])
            value = f(x)
            if value < best:
                theta[k], best = math.exp(x), value
        if start - best < 1e-8:
            break
    return theta


def leave_one_network_out(
    rows: Sequence[Row], probes: Sequence[Probe], prior: dict[str, float]
) -> list[float | None]:
    """Each row's predicted latency when the factors are fitted on the rows of every other
    network (:attr:`Row.network_key`): the honest error on a network the profile has never
    seen, which the in-sample fit flatters. None for all when there is only one network."""
    groups: dict[tuple[object, ...], list[int]] = {}
    for i, r in enumerate(rows):
        groups.setdefault(r.network_key, []).append(i)
    out: list[float | None] = [None] * len(rows)
    if len(groups) < 2:
        return out
    for held in groups.values():
        train = [p for i, p in enumerate(probes) if i not in held]
        theta = fit(train, prior)
        for i in held:
            out[i] = predict(probes[i], theta)
    return out


def sig3(x: float) -> float:
    """A fitted value at the three significant figures a profile file stores."""
    return float(f"{x:.3g}")


@dataclass
class Fit:
    """One profile's calibration: its factors, its rows (fitted and held out) and the
    note written into the profile's ``calibration`` field."""

    profile: str
    theta: dict[str, float]
    rows: list[Row]
    note: str


def calibrate_profile(name: str, profile: DeviceProfile, rows: Sequence[Row]) -> Fit:
    """Fit the profile called ``name`` on its fitted rows (the class priors when it has
    none). Every row of the profile also gets the class priors' estimate (``prior_s``, what
    an uncalibrated profile of its class would say), and with two or more networks each
    fitted row its leave-one-network-out latency (``loo_s``)."""
    prior = priors(profile)
    mine = [r for r in rows if r.profile == name and r.report is not None]
    for r in mine:
        r.prior_s = predict(probe(r, profile), prior)
    fitted = [r for r in mine if r.fitted]
    if not fitted:
        note = (
            "not calibrated: no published latency of a bundled network on this device and "
            "software; class priors of benchmarks/calibrate.py"
        )
        return Fit(name, prior, mine, note)
    probes = [probe(r, profile) for r in fitted]
    theta = {k: sig3(v) for k, v in fit(probes, prior).items()}
    for r, loo in zip(fitted, leave_one_network_out(fitted, probes, prior), strict=True):
        r.loo_s = loo
    networks = len({r.network_key for r in fitted})
    note = (
        f"fitted on {len(fitted)} published latenc{'y' if len(fitted) == 1 else 'ies'} of "
        f"{networks} network{'' if networks == 1 else 's'}"
        f" ({', '.join(sorted({_stack(r.framework) for r in fitted}))}); "
        "see docs/devices.md"
    )
    return Fit(name, theta, mine, note)


def _stack(framework: str) -> str:
    """'Triton + ONNX Runtime TensorRT EP (offline)' -> 'Triton + ONNX Runtime TensorRT EP'."""
    return re.sub(r"\s*\(.*\)$", "", framework)
