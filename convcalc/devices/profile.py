"""Device profiles as data: what a validated profile file becomes.

A profile describes one device (or one pure budget) as data: peak compute per dtype, memory
bandwidth and capacity, per-op-kind efficiency factors, a per-layer overhead, a default dtype
and batch, budgets, and the source of every figure. Keeping devices as data means a new
device is one file, reviewable without reading code, and a user's own device needs no code
at all (``--device-file``, ``$CONVCALC_DEVICES`` or ``~/.config/convcalc/devices``).

The file format and its validation are :mod:`convcalc.devices.schema`; where profiles are
found is :mod:`convcalc.devices.search`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from convcalc.errors import SpecError, UsageError


class DeviceProfileError(SpecError):
    """A device profile file is malformed: a missing, unknown or out-of-range field."""

    kind = "device"


@dataclass(frozen=True)
class Budget:
    """One limit: ``value`` must stay at or below ``max`` (or at or above ``min``)."""

    name: str
    max: float | None = None
    min: float | None = None


@dataclass(frozen=True)
class Runtime:
    """The software a profile's figures hold for: one chip runs the same network an order of
    magnitude apart under two frameworks or precisions, so a profile names its stack.

    ``framework`` is the runtime (``tflite``, ``tensorrt``, ``coreml``, ``pytorch``...),
    ``unit`` the part of the chip it runs on (:data:`UNITS`), ``mode`` whether the figure
    that matters is one request's latency or a large batch's throughput."""

    framework: str
    unit: str
    mode: str = "latency"

    def to_json(self) -> dict[str, Any]:
        return {"framework": self.framework, "unit": self.unit, "mode": self.mode}


#: Where a runtime executes on the chip.
UNITS = ("cpu", "gpu", "npu", "dsp", "mcu")
#: What a profile's estimates are for: one request at a time, or a batch for throughput.
MODES = ("latency", "throughput")


#: Where an error band comes from: the profile's own leave-one-network-out rows, or (too
#: few of its own) how far the class priors land on the rows of every profile of its
#: class, or of every class (too few in its class).
BAND_SOURCES = ("own", "class", "all")


@dataclass(frozen=True)
class Uncertainty:
    """How far published latencies land from this profile's estimates: the measured time
    is typically between ``low`` and ``high`` times the estimate (the 10th and 90th
    percentiles of measured / estimated over ``band_rows`` rows: the profile's own, each
    predicted by a fit that never saw its network, or those the class priors estimated).
    ``basis`` is ``calibrated`` (fitted on ``rows`` published
    latencies of ``networks`` networks) or ``class defaults`` (no latency of its own);
    ``band`` says whose rows the band comes from (:data:`BAND_SOURCES`)."""

    basis: str
    low: float
    high: float
    rows: int
    networks: int
    band: str
    band_rows: int

    def text(self) -> str:
        """The basis in words: 'calibrated on 31 rows (31 networks)'."""
        if self.basis == "calibrated":
            text = f"calibrated on {self.rows} row{'s' if self.rows != 1 else ''} "
            text += f"({self.networks} network{'s' if self.networks != 1 else ''})"
        else:
            text = "class defaults, not calibrated"
        if self.band == "class":
            text += f"; band from the class priors' error on {self.band_rows} rows of its class"
        elif self.band == "all":
            text += f"; band from the class priors' error on {self.band_rows} rows"
        return text

    def to_json(self) -> dict[str, Any]:
        return {
            "basis": self.basis,
            "rows": self.rows,
            "networks": self.networks,
            "low": self.low,
            "high": self.high,
            "band": self.band,
            "band_rows": self.band_rows,
            "text": self.text(),
        }


@dataclass(frozen=True)
class DeviceProfile:
    """A validated profile. Figures are plain floats/ints in SI units (bytes, seconds)."""

    name: str
    title: str
    device_class: str
    dtype: str
    batch: int
    peak_flops: Mapping[str, float | None]
    bandwidth_Bps: float | None
    memory_bytes: int | None
    sram_bytes: int | None
    flash_bytes: int | None
    efficiency: Mapping[str, float]
    overhead_s: float
    fused: tuple[str, ...]
    budgets: tuple[Budget, ...]
    budget_input: tuple[int, ...] | None
    threads: int | None
    sources: Mapping[str, str]
    source: str  # the file it came from (bundled name or path)
    calibration: str = ""
    notes: str = ""
    extends: str | None = None
    runtime: Runtime | None = None
    uncertainty: Uncertainty | None = None

    @property
    def has_hardware(self) -> bool:
        """True when the profile can time a network (not a pure budget)."""
        return any(v is not None for v in self.peak_flops.values())

    @property
    def is_mcu(self) -> bool:
        return self.device_class == "mcu"

    def peak(self, dtype: str) -> float:
        """Peak FLOP/s at ``dtype``; a clear error when the profile has none."""
        value = self.peak_flops.get(dtype)
        if value is None:
            have = [k for k, v in self.peak_flops.items() if v is not None]
            raise UsageError(
                f"device {self.name!r} has no {dtype} peak",
                hint=f"use --dtype {' or '.join(have)}" if have else "it is a pure budget",
            )
        return value

    def budget(self, name: str) -> Budget | None:
        return next((b for b in self.budgets if b.name == name), None)

    def to_json(self) -> dict[str, Any]:
        """The profile as plain data (for ``convcalc devices --format json``)."""
        return {
            "name": self.name,
            "title": self.title,
            "class": self.device_class,
            "source": self.source,
            "extends": self.extends,
            "threads": self.threads,
            "dtype": self.dtype,
            "batch": self.batch,
            "peak_flops": dict(self.peak_flops),
            "bandwidth_Bps": self.bandwidth_Bps,
            "memory_bytes": self.memory_bytes,
            "sram_bytes": self.sram_bytes,
            "flash_bytes": self.flash_bytes,
            "efficiency": dict(self.efficiency) if self.has_hardware else None,
            "overhead_s": self.overhead_s if self.has_hardware else None,
            "fused": list(self.fused),
            "budgets": [{"budget": b.name, "max": b.max, "min": b.min} for b in self.budgets],
            "budget_input": None if self.budget_input is None else list(self.budget_input),
            "calibration": self.calibration,
            "runtime": None if self.runtime is None else self.runtime.to_json(),
            "uncertainty": None if self.uncertainty is None else self.uncertainty.to_json(),
            "sources": dict(self.sources),
        }


def command_line_profile() -> DeviceProfile:
    """A pure budget with no limits of its own, for ``--budget`` without ``--device``."""
    return DeviceProfile(
        name="command line",
        title="budgets given on the command line",
        device_class="budget",
        dtype="fp32",
        batch=1,
        peak_flops={},
        bandwidth_Bps=None,
        memory_bytes=None,
        sram_bytes=None,
        flash_bytes=None,
        efficiency={},
        overhead_s=0.0,
        fused=(),
        budgets=(),
        budget_input=None,
        threads=None,
        sources={},
        source="--budget",
    )


def with_budgets(profile: DeviceProfile, budgets: Any) -> DeviceProfile:
    """``profile`` with command-line budgets (``(name, value)`` pairs) added: each replaces
    the profile's own of that name; ``memory_bytes`` replaces its memory (an MCU's SRAM)."""
    from dataclasses import replace

    if not budgets:
        return profile
    given = dict(budgets)
    memory = given.pop("memory_bytes", None)
    kept = tuple(b for b in profile.budgets if b.name not in given)
    added = tuple(
        Budget(k, min=float(v)) if k == "throughput_per_s" else Budget(k, max=float(v))
        for k, v in given.items()
    )
    changes: dict[str, Any] = {"budgets": kept + added}
    if memory is not None:
        changes["sram_bytes" if profile.is_mcu else "memory_bytes"] = int(memory)
    return replace(profile, **changes)
