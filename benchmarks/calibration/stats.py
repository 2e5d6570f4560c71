"""Statistics of the calibration: how far the estimates land from the measurements, and
whether they order networks better than multiply-adds do.

Kept apart from the fit because they judge its result (in-sample, leave-one-out and
held-out errors; Spearman's rank correlation on ShuffleNet V2's Table 8, the test of the
model's premise) and are what both docs/devices.md and the console summary report. Only
the standard library: the sample sizes are a few dozen rows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from calibration.data import Row

#: The profiles with ShuffleNet V2's Table 8 rows (the same networks timed on both).
TABLE8_PROFILES = ("gpu-gtx1080ti", "snapdragon-810")


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
    leave_one_out: list[float]  # fitted rows, predicted from a fit on the others
    held_out: list[float]  # out-of-sample: the device's rows of other stacks or dtypes


def abs_errors(rows: Sequence[Row]) -> Errors:
    """The absolute errors of ``rows`` that have an estimate, sorted into :class:`Errors`."""
    return Errors(
        fitted=[abs(r.error) for r in rows if r.fitted and r.error is not None],
        leave_one_out=[abs(r.loo_error) for r in rows if r.loo_error is not None],
        held_out=[abs(r.error) for r in rows if not r.fitted and r.error is not None],
    )


def table8(rows: Sequence[Row], profile: str) -> list[Row]:
    """The estimated rows of ShuffleNet V2's Table 8 on ``profile``."""
    return [
        r
        for r in rows
        if r.profile == profile and "Table 8" in r.source and r.estimated_s is not None
    ]


def rank_stats(rows: Sequence[Row]) -> tuple[float | None, float | None, int]:
    """Spearman's rho of the measured times against the estimates and against the MACs,
    and the number of rows."""
    meas = [r.measured_s or 0.0 for r in rows]
    return (
        spearman([r.estimated_s or 0.0 for r in rows], meas),
        spearman([float(r.macs or 0) for r in rows], meas),
        len(rows),
    )
