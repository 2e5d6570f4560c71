"""A design review: one or more networks, each on every chosen device and swept over a grid.

``convcalc report`` and ``convcalc plot`` gather here everything the page and the charts
show, by the same calls the other commands make (analysis and comparison through the
pipeline, :func:`convcalc.devices.estimate`, :func:`convcalc.sweep.sweep`), so the page
holds the objects the JSON output is made of and computes nothing of its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from convcalc.compare import Comparison, Item, compare, parse_item
from convcalc.devices import DeviceEstimate, DeviceProfile, estimate, load_profile
from convcalc.errors import UsageError
from convcalc.pipeline import analyze, declared_params
from convcalc.report import Report
from convcalc.sweep import Sweep, sweep
from convcalc.values import Value


@dataclass(frozen=True)
class OnDevice:
    """A network's estimate on one device, with the profile it was made from (the
    roofline's roof is the profile's peak and bandwidth)."""

    profile: DeviceProfile
    estimate: DeviceEstimate


@dataclass
class Network:
    """One reviewed network: its report, its estimates, and its sweep when one was asked
    for and the network declares a varied parameter (``note`` says why not otherwise)."""

    label: str
    report: Report
    devices: list[OnDevice] = field(default_factory=list)
    sweep: Sweep | None = None
    note: str = ""


@dataclass
class Review:
    """Everything a review page shows; ``comparison`` is there for two or more networks."""

    networks: list[Network]
    comparison: Comparison | None
    grid: dict[str, list[Any]]
    device_names: list[str]


def review(
    archs: Sequence[str],
    params: Mapping[str, Value] | None = None,
    grid: Mapping[str, Iterable[Value]] | None = None,
    input_shape: Any = None,
    dtype: str | None = None,
    devices: Sequence[str] = (),
    device_file: str | Path | None = None,
) -> Review:
    """Analyse every item (``name`` or ``name:k=v,...``, as for ``compare``), estimate each
    on every device (``dtype`` None: the device's own), and sweep each over ``grid`` (with
    the first device's latency when a device is given). Parameters in ``grid`` keep the
    file's defaults in the analysis."""
    if not archs:
        raise UsageError("give at least one architecture")
    grid = {k: list(v) for k, v in (grid or {}).items()}
    shared = {k: v for k, v in (params or {}).items() if k not in grid}
    items = [parse_item(a) for a in archs]
    analysis_dtype = dtype or "fp32"
    comparison = None
    if len(items) > 1:
        comparison = compare(items, shared, input_shape, analysis_dtype)
        reports = comparison.reports
    else:
        item = items[0]
        reports = [analyze(item.arch, {**shared, **item.params}, input_shape, analysis_dtype)]
    profiles = [load_profile(n) for n in devices]
    if device_file is not None:
        profiles.append(load_profile(path=device_file))
    networks = [
        Network(
            item.label,
            report,
            [OnDevice(p, estimate(report, p, dtype=dtype)) for p in profiles],
        )
        for item, report in zip(items, reports, strict=True)
    ]
    if grid:
        swept = False
        for item, net in zip(items, networks, strict=True):
            swept |= _sweep(net, item, grid, shared, analysis_dtype, devices, device_file)
        if not swept:
            raise UsageError(
                f"no reviewed architecture has a parameter {' or '.join(map(repr, grid))}"
            )
    names = [p.name for p in profiles]
    return Review(networks, comparison, grid, names)


def _sweep(
    net: Network,
    item: Item,
    grid: Mapping[str, list[Any]],
    shared: Mapping[str, Value],
    dtype: str,
    devices: Sequence[str],
    device_file: str | Path | None,
) -> bool:
    """Sweep one network over the varied parameters it declares; False when none."""
    declared = set(declared_params(item.arch))
    own = {k: v for k, v in grid.items() if k in declared}
    if not own:
        net.note = f"{item.label} declares none of {', '.join(grid)}: not swept"
        return False
    fixed = {k: v for k, v in {**shared, **item.params}.items() if k in declared and k not in own}
    net.sweep = sweep(
        item.arch,
        own,
        fixed,
        dtype,
        device=devices[0] if devices else None,
        device_file=None if devices else device_file,
    )
    return True
