"""Statistics of the calibration: how far the estimates land from the measurements, and
whether they order networks better than multiply-adds do.

Kept apart from the fit because they judge its result (in-sample, leave-one-network-out
and held-out errors; Spearman's rank correlation within each device and framework, the
test of the model's premise that it orders networks better than multiply-adds; the error
bands the estimates carry) and are what both docs/devices.md and the console summary
report. Only the standard library: the samples are tens of rows.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from calibration.data import Row
from calibration.fit import Fit


def ranks(values: Sequence[float]) -> list[float]:
    """Ranks starting at 1, ties sharing their average rank."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    out = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            out[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return out


def spearman(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Spearman's rho: Pearson correlation of the ranks (ties averaged); None for fewer
    than three values or a constant side, where it means nothing."""
    if len(x) < 3:
        return None
    rx, ry = ranks(x), ranks(y)
    mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
    sxy = sum((a - mx) * (b - my) for a, b in zip(rx, ry, strict=True))
    sxx = sum((a - mx) ** 2 for a in rx)
    syy = sum((b - my) ** 2 for b in ry)
    return sxy / math.sqrt(sxx * syy) if sxx and syy else None


def median(values: Sequence[float]) -> float | None:
    """The median, or None for no values."""
    if not values:
        return None
    s = sorted(values)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


@dataclass(frozen=True)
class Errors:
    """Absolute errors of a set of rows, by how each was predicted."""

    fitted: list[float]  # in-sample: rows the profile was fitted on
    leave_one_out: list[float]  # fitted rows, predicted from a fit on other networks
    held_out: list[float]  # out-of-sample: the device's rows of other stacks or dtypes


def abs_errors(rows: Sequence[Row]) -> Errors:
    """The absolute errors of ``rows`` that have an estimate, sorted into :class:`Errors`."""
    return Errors(
        fitted=[abs(r.error) for r in rows if r.fitted and r.error is not None],
        leave_one_out=[abs(r.loo_error) for r in rows if r.loo_error is not None],
        held_out=[abs(r.error) for r in rows if not r.fitted and r.error is not None],
    )


#: A profile's own band needs this many leave-one-network-out rows; with fewer it borrows
#: the rows of its class (and with fewer there, of every class).
MIN_BAND_ROWS = 5
#: The band is the central 80% of measured / estimated: "typically" means 8 rows in 10.
BAND_QUANTILES = (0.1, 0.9)


def quantile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile with linear interpolation between order statistics (the common
    'type 7' rule of R and numpy), so small samples give a value between two rows."""
    s = sorted(values)
    if not s:
        raise ValueError("no values")
    pos = q * (len(s) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


@dataclass(frozen=True)
class GroupStats:
    """One profile (one device and software stack): how its leave-one-network-out
    estimates land, and how well they, the in-sample estimates and MACs rank its rows."""

    profile: str
    rows: int
    networks: int
    median: float | None
    p90: float | None
    rho_loo: float | None
    rho_fit: float | None
    rho_macs: float | None
    rho_by_batch: tuple[tuple[int, float | None], ...] = ()


def group_stats(profile: str, rows: Sequence[Row]) -> GroupStats:
    """The statistics of ``profile``'s fitted rows that have a leave-one-network-out
    estimate (the rows the targets are judged on)."""
    mine = [r for r in rows if r.fitted and r.loo_s is not None]
    errors = [abs(r.loo_error) for r in mine if r.loo_error is not None]
    measured = [r.measured_s or 0.0 for r in mine]
    return GroupStats(
        profile=profile,
        rows=len(mine),
        networks=len({r.network_key for r in mine}),
        median=median(errors),
        p90=quantile(errors, 0.9) if errors else None,
        rho_loo=spearman([r.loo_s or 0.0 for r in mine], measured),
        rho_fit=spearman([r.estimated_s or 0.0 for r in mine], measured),
        rho_macs=spearman([float(r.macs or 0) for r in mine], measured),
        rho_by_batch=_by_batch(mine),
    )


def _by_batch(rows: Sequence[Row]) -> tuple[tuple[int, float | None], ...]:
    """Spearman's rho of the leave-one-network-out estimates within each batch size, when
    a group has more than one: a larger batch takes longer, so ranking rows of mixed
    batches is easier than ranking networks at one batch."""
    batches = sorted({r.batch for r in rows})
    if len(batches) < 2:
        return ()
    out = []
    for b in batches:
        mine = [r for r in rows if r.batch == b]
        out.append(
            (b, spearman([r.loo_s or 0.0 for r in mine], [r.measured_s or 0.0 for r in mine]))
        )
    return tuple(out)


def bands(fits: Sequence[Fit], families: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """Each profile's ``uncertainty`` block: its basis and the band of measured / estimated.

    The rule: a calibrated profile with at least :data:`MIN_BAND_ROWS` leave-one-network-out
    rows takes the 10th and 90th percentiles of its own ratios. Any other profile (too few
    networks of its own to test it on one it has not seen, or no rows at all) takes the
    ratios of the class priors' estimates on the fitted rows of its class (``families``
    maps a profile to its class's efficiency family): how far an estimate lands when the
    device's own rows have not shaped it, which is what a fit on one or two networks mostly
    is. With fewer than :data:`MIN_BAND_ROWS` such rows in its class, those of every class."""
    own: dict[str, list[float]] = {}
    prior: dict[str, list[float]] = {}
    for f in fits:
        own[f.profile] = [
            (r.measured_s or 0.0) / r.loo_s for r in f.rows if r.fitted and r.loo_s is not None
        ]
        prior[f.profile] = [
            (r.measured_s or 0.0) / r.prior_s for r in f.rows if r.fitted and r.prior_s
        ]

    def pooled(family: str | None) -> list[float]:
        return [x for name, xs in prior.items() if family in (None, families[name]) for x in xs]

    out: dict[str, dict[str, Any]] = {}
    for f in fits:
        fitted = [r for r in f.rows if r.fitted]
        choices = [
            ("own", own[f.profile]),
            ("class", pooled(families[f.profile])),
            ("all", pooled(None)),
        ]
        band, ratios = next(((b, xs) for b, xs in choices if len(xs) >= MIN_BAND_ROWS), choices[-1])
        lo, hi = (quantile(ratios, q) for q in BAND_QUANTILES)
        out[f.profile] = {
            "basis": "calibrated" if fitted else "class defaults",
            "low": float(f"{lo:.2g}"),
            "high": float(f"{hi:.2g}"),
            "rows": len(fitted),
            "networks": len({r.network_key for r in fitted}),
            "band": band,
            "band_rows": len(ratios),
        }
    return out
