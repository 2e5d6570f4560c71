"""The calibration's fast latency sum is the device estimate's.

benchmarks/calibration/fit.py fits the profiles with ``predict``, a reformulation of
:func:`convcalc.devices.estimate`'s per-layer sum that answers for any factors from
prefix sums. Nothing else ties the two: here every published latency the calibration
uses is predicted and estimated, with its profile's own fitted factors and with other
factors, and the two must agree, so a change to either that the other does not follow
fails.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from convcalc.devices import DeviceProfile, estimate

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"

#: Factors other than the fitted ones, as multiples of them. Not one common scale: that
#: would leave every layer's bound where it was, and the split between compute- and
#: memory-bound layers is the part of ``predict`` most easily got wrong.
PERTURBED = {
    "conv": 0.5,
    "conv1x1": 0.5,
    "grouped": 0.5,
    "linear": 0.5,
    "elementwise": 0.5,
    "bandwidth": 0.25,
    "overhead_s": 2.0,
}


@dataclass(frozen=True)
class Case:
    """One calibration row: its profile as stored, and the row reduced for the fit."""

    row: Any  # calibration.data.Row
    profile: DeviceProfile
    probe: Any  # calibration.fit.Probe


@dataclass(frozen=True)
class Calibration:
    """The rows, and the fit's latency sum to hold against the estimate."""

    cases: list[Case]
    predict: Callable[[Any, dict[str, float]], float]  # calibration.fit.predict


@pytest.fixture(scope="module")
def calibration(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Calibration]:
    """Every row the calibration uses, loaded as benchmarks/calibrate.py loads them: only
    the bundled profiles (no user profile directories), benchmarks/ on the import path."""
    with pytest.MonkeyPatch.context() as mp:
        mp.syspath_prepend(str(BENCHMARKS))
        mp.delenv("CONVCALC_DEVICES", raising=False)
        mp.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("no-user-profiles")))
        from calibration import data, fit

        profiles = {
            name: data.parse_bundled(name, text)
            for name, (_, text) in data.bundled_profiles().items()
        }
        cases = [
            Case(row, profiles[row.profile], fit.probe(row, profiles[row.profile]))
            for row in data.load_rows(profiles)
            if row.report is not None
        ]
        yield Calibration(cases, fit.predict)


def factors(profile: DeviceProfile) -> dict[str, float]:
    """A profile's fitted factors in the fit's terms."""
    return {**profile.efficiency, "overhead_s": profile.overhead_s}


def with_factors(profile: DeviceProfile, theta: dict[str, float]) -> DeviceProfile:
    """``profile`` with the factors ``theta`` instead of its own."""
    efficiency = {k: v for k, v in theta.items() if k != "overhead_s"}
    return dataclasses.replace(profile, efficiency=efficiency, overhead_s=theta["overhead_s"])


def perturbed(profile: DeviceProfile) -> dict[str, float]:
    """The profile's factors moved by :data:`PERTURBED`."""
    return {k: v * PERTURBED[k] for k, v in factors(profile).items()}


def latency(case: Case, profile: DeviceProfile) -> float:
    """The estimate's latency for ``case``'s row on ``profile``."""
    row = case.row
    est = estimate(row.report, profile, dtype=row.dtype, batch=row.batch)
    assert est.latency_s is not None
    return est.latency_s


def test_the_rows_cover_every_calibrated_device(calibration: Calibration) -> None:
    """The checks below are only as wide as the rows loaded: every profile that has
    published latencies, fitted and held-out rows both."""
    covered = {c.profile.name for c in calibration.cases}
    assert covered >= {
        "gpu-a100",
        "gpu-gtx1080ti",
        "gpu-t4",
        "gpu-v100",
        "mcu-stm32f746",
        "pixel1-bigcore",
        "snapdragon-810",
    }
    assert any(not c.row.fitted for c in calibration.cases)


@pytest.mark.parametrize("theta_of", [factors, perturbed], ids=["fitted", "perturbed"])
def test_predict_equals_the_estimate(
    calibration: Calibration, theta_of: Callable[[DeviceProfile], dict[str, float]]
) -> None:
    wrong = []
    for case in calibration.cases:
        theta = theta_of(case.profile)
        predicted = calibration.predict(case.probe, theta)
        estimated = latency(case, with_factors(case.profile, theta))
        if not math.isclose(predicted, estimated, rel_tol=1e-9):
            wrong.append(f"{case.profile.name} / {case.row.network}: {predicted} != {estimated}")
    assert not wrong, "\n".join(wrong)


def test_the_perturbation_moves_layers_across_the_roofline(calibration: Calibration) -> None:
    """Otherwise the perturbed factors would not test where ``predict`` splits the layers
    into compute- and memory-bound ones."""
    moved = 0
    for case in calibration.cases:
        row, profile = case.row, case.profile
        before = estimate(row.report, profile, dtype=row.dtype, batch=row.batch)
        after = estimate(
            row.report, with_factors(profile, perturbed(profile)), dtype=row.dtype, batch=row.batch
        )
        moved += sum(a.bound != b.bound for a, b in zip(before.layers, after.layers, strict=True))
    assert moved
