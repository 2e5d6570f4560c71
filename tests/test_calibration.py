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
import json
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
    stats: Any  # the calibration.stats module
    data: Any  # the calibration.data module


@pytest.fixture(scope="module")
def calibration(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Calibration]:
    """Every row the calibration uses, loaded as benchmarks/calibrate.py loads them: only
    the bundled profiles (no user profile directories), benchmarks/ on the import path."""
    with pytest.MonkeyPatch.context() as mp:
        mp.syspath_prepend(str(BENCHMARKS))
        mp.delenv("CONVCALC_DEVICES", raising=False)
        mp.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("no-user-profiles")))
        from calibration import data, fit, stats

        profiles = {
            name: data.parse_bundled(name, text)
            for name, (_, text) in data.bundled_profiles().items()
        }
        cases = [
            Case(row, profiles[row.profile], fit.probe(row, profiles[row.profile]))
            for row in data.load_rows(profiles)
            if row.report is not None
        ]
        yield Calibration(cases, fit.predict, stats, data)


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
        "cortex-a76-sd855",
        "gpu-a100",
        "gpu-gtx1080ti",
        "gpu-rtx3090-pytorch-fp16",
        "gpu-rtx4090-pytorch-fp16",
        "gpu-t4",
        "gpu-v100",
        "mcu-stm32f746",
        "pixel1-bigcore",
        "pixel4-tflite-cpu4-int8",
        "pixel4-tflite-gpu-fp32",
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


def test_every_row_of_the_projects_own_data_has_a_source_and_a_figure() -> None:
    """benchmarks/latencies.json: each row names its source, a latency or a throughput,
    and the bundled architecture it is."""
    doc = json.loads((BENCHMARKS / "latencies.json").read_text("utf-8"))
    bad = [
        r["network"]
        for r in doc["rows"]
        if not r.get("source")
        or not r.get("arch")
        or (r.get("latency_ms") is None and not r.get("throughput_per_s"))
    ]
    assert not bad, bad


def test_one_network_is_its_architecture_and_parameters_at_any_size(
    calibration: Calibration,
) -> None:
    """Leave-one-network-out holds out a network at every resolution: the MobileNetV2 1.0
    rows of the Pixel 1 at 224 and at 96 pixels are one network, 1.0 and 0.5 are two."""
    pixel = [c.row for c in calibration.cases if c.row.profile == "pixel1-bigcore"]
    v2 = {(r.params.get("alpha"), r.input_side): r for r in pixel if r.arch == "mobilenet_v2"}
    assert v2[("1.0", 224)].network_key == v2[("1.0", 96)].network_key
    assert v2[("1.0", 224)].network_key != v2[("0.5", 224)].network_key


def test_quantile_interpolates_between_rows(calibration: Calibration) -> None:
    q = calibration.stats.quantile
    # Sorted 1, 2, 3, 4: position 0.9 * 3 = 2.7, so 3 + 0.7 * (4 - 3) = 3.7.
    assert math.isclose(q([4.0, 1.0, 3.0, 2.0], 0.9), 3.7)
    # Position 0.1 * 3 = 0.3: 1 + 0.3 * (2 - 1) = 1.3.
    assert math.isclose(q([4.0, 1.0, 3.0, 2.0], 0.1), 1.3)
    assert q([5.0], 0.9) == 5.0


def test_band_rule(calibration: Calibration) -> None:
    """The band is a profile's own leave-one-network-out ratios with five or more, else the
    class priors' ratios on its class's rows; uncalibrated profiles are class defaults."""
    data, stats = calibration.data, calibration.stats
    from calibration.fit import Fit

    def row(key: str, measured: float, loo: float | None, prior: float, fitted: bool = True):
        r = data.Row(0, key, "d", "p", "f", 1, "fp32", "fp32", measured, None, "s")
        r.arch, r.fitted, r.loo_s, r.prior_s = key, fitted, loo, prior
        return r

    # Five networks, measured / leave-one-network-out = 0.5, 1, 1, 1, 2.
    big = [row(f"n{i}", m, 1.0, 1.0) for i, m in enumerate((0.5, 1.0, 1.0, 1.0, 2.0))]
    # One network (no leave-one-network-out), priors off by 2x.
    small = [row("m", 2.0, None, 1.0)]
    fits = [Fit("big", {}, big, ""), Fit("small", {}, small, ""), Fit("none", {}, [], "")]
    out = stats.bands(fits, {"big": "gpu", "small": "gpu", "none": "gpu"})
    # Sorted 0.5, 1, 1, 1, 2: 10th percentile at position 0.4 -> 0.5 + 0.4 * 0.5 = 0.7;
    # 90th at 3.6 -> 1 + 0.6 * 1 = 1.6.
    assert out["big"] == {
        "basis": "calibrated",
        "low": 0.7,
        "high": 1.6,
        "rows": 5,
        "networks": 5,
        "band": "own",
        "band_rows": 5,
    }
    # The class's prior ratios: 0.5, 1, 1, 1, 2 (big) and 2 (small): sorted
    # 0.5, 1, 1, 1, 2, 2; 10th at 0.5 -> 0.75, 90th at 4.5 -> 2.
    assert out["small"]["band"] == "class" and out["small"]["basis"] == "calibrated"
    assert (out["small"]["low"], out["small"]["high"]) == (0.75, 2.0)
    assert out["none"]["basis"] == "class defaults" and out["none"]["rows"] == 0
    assert (out["none"]["low"], out["none"]["high"]) == (0.75, 2.0)


def test_ci_checks_the_generated_report() -> None:
    """docs/devices.md and the calibrated blocks are regenerated and compared in CI."""
    ci = (BENCHMARKS.parent / ".ci" / "run").read_text("utf-8")
    assert "python benchmarks/calibrate.py --check" in ci
