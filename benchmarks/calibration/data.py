"""The calibration rows: published latencies matched to bundled networks and profiles.

benchmarks/devices.json (a copy of the sourced data the profiles were built from) lists
each measurement as its paper gives it: a network name, a device, a framework, a precision,
a latency or a throughput, often the paper's multiply-adds. benchmarks/latencies.json,
the project's own collection, names for each row the profile it calibrates and the
bundled architecture with its parameters and input side, so no name has to be guessed.
Each becomes a :class:`Row` that says which profile it calibrates, which bundled
architecture it is, convcalc's analysis of that network, and whether it is fitted or held
out, or else why it cannot be used. A row is used only when convcalc builds the network with
the paper's multiply-adds (within :data:`MACS_TOLERANCE`), so the fit never learns from a
network other than the one measured.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from convcalc import api
from convcalc.devices import DeviceProfile, parse_profile
from convcalc.devices.search import bundled_dir
from convcalc.errors import ConvcalcError
from convcalc.report import Report
from convcalc.schema import loader

DATA = Path(__file__).resolve().parent.parent / "devices.json"
LATENCIES = Path(__file__).resolve().parent.parent / "latencies.json"

#: How a bundled profile's file is named in its ``source`` (and in messages).
BUNDLED_SOURCE = "devices/profiles/"

#: Rows' "device" field -> the profile they calibrate (rows of other devices are skipped).
PROFILE_OF_DEVICE = {
    "NVIDIA GTX 1080Ti": "gpu-gtx1080ti",
    "Qualcomm Snapdragon 810 CPU": "snapdragon-810",
    "Pixel 1, single large CPU core": "pixel1-bigcore",
    "NVIDIA T4": "gpu-t4",
    "NVIDIA V100 16GB (DGX-1)": "gpu-v100",
    "NVIDIA V100 32GB": "gpu-v100",
    "NVIDIA A100 80GB": "gpu-a100",
    "STM32F746": "mcu-stm32f746",
    "STM32H743": "mcu-stm32h743",
}

#: A profile models one device with one software stack: rows of the stack named here (and
#: at the profile's dtype) are fitted; the device's other rows are held out and reported as
#: out-of-sample checks.
FITTED_FRAMEWORK = {
    "gpu-t4": "TensorRT",
    "gpu-v100": "PyTorch",
    "gpu-a100": "TensorRT",
    "mcu-stm32f746": "TinyEngine",
    "mcu-stm32h743": "TinyEngine",
}

PRECISION = {"fp32": "fp32", "fp16": "fp16", "amp": "fp16", "int8": "int8"}

#: A bundled counterpart of a paper's network: (architecture, parameters, input side or
#: None for the architecture's own).
Network = tuple[str, dict[str, Any], int | None]

#: The papers' network names (full matches) and the bundled architectures they are, with
#: fixed parameters; the named groups ``alpha``, ``scale`` and ``side`` (the input side)
#: carry the figures a name states.
NETWORKS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    (r"(?P<alpha>0\.25|0\.5|0\.75|1\.0) MobileNet v1", "mobilenet", {}),
    (r"MobileNetV1", "mobilenet", {}),
    (r"MobileNetV2 (?P<alpha>1\.0|1\.4|0\.35)x?", "mobilenet_v2", {}),
    (r"(?P<alpha>1\.0|1\.4) MobileNet v2", "mobilenet_v2", {}),
    (r"0\.75 MobileNet v2 \(their impl\.\)", "mobilenet_v2", {"alpha": "0.75"}),
    (r"ShuffleNet v1 (?P<scale>0\.5|1|1\.5|2)x \(g=3\)", "shufflenet", {"g": 3}),
    (r"ShuffleNet v2 (?P<scale>0\.5|1|1\.5|2)x", "shufflenet_v2", {}),
    (r"ResNet-50 v1\.5", "resnet50", {}),
    (r"MbV2-s w(?P<alpha>0\.\d+)-r(?P<side>\d+)", "mobilenet_v2", {}),
    (r"MnasNet-A1(?: (?P<alpha>0\.35)x)?", "mnasnet_a1", {}),  # see MISSING_NOTE
    (r"NASNet-A(?: \(mobile\))?", "nasnet_a_mobile", {}),
    (r"PNASNet-5", "pnasnet5_mobile", {}),
    (r"IGCV2-1\.0", "igcv2", {}),
)

#: Names that no bundled architecture can stand for, by a part of the name, with why.
UNBUILDABLE = (
    ("SSDLite", "no SSDLite detection head is bundled"),
    ("their impl.", "the ShuffleNet V2 authors' own variant of this network is not bundled"),
)

MISSING_NOTE = {
    "mnasnet_a1": "; the bundled mnasnet1_0 is torchvision's SE-free B1 variant, not A1",
}

#: Parameter names a width multiplier may have in a bundled file (first found is used).
WIDTH_NAMES = ("scale", "alpha", "width", "width_mult")
MACS_TOLERANCE = 0.15  # papers round their mult-adds; beyond this it is another network


@dataclass
class Row:
    """One published latency, what convcalc makes of it, and (filled in by the run) the
    estimates for it. ``skip`` is empty for a row that is used, else why it is not."""

    index: int
    network: str
    device: str
    profile: str | None
    framework: str
    batch: int
    precision: str  # as published
    dtype: str | None
    measured_s: float | None  # per batch
    paper_macs: float | None
    source: str
    arch: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    input_side: int | None = None
    macs: int | None = None
    fitted: bool = False
    skip: str = ""
    report: Report | None = None
    estimated_s: float | None = None
    loo_s: float | None = None
    prior_s: float | None = None  # the estimate with the class priors, before any fit
    explicit: bool = False  # the row names its profile and architecture itself

    @property
    def network_key(self) -> tuple[Any, ...]:
        """What 'one network' is for leave-one-network-out: the architecture and its
        parameters, whatever the input size or batch (so a held-out network is never seen
        at another resolution either)."""
        return (self.arch, tuple(sorted((k, str(v)) for k, v in self.params.items())))

    @property
    def prior_error(self) -> float | None:
        """The error of the class priors' estimate (what an uncalibrated profile gives)."""
        return self._relative(self.prior_s)

    @property
    def error(self) -> float | None:
        """Estimate / measured - 1, with the profile's written factors."""
        return self._relative(self.estimated_s)

    @property
    def loo_error(self) -> float | None:
        """The error when the profile is fitted without this row's network (leave one
        network out)."""
        return self._relative(self.loo_s)

    def _relative(self, predicted_s: float | None) -> float | None:
        if predicted_s is None or not self.measured_s:
            return None
        return predicted_s / self.measured_s - 1

    @property
    def convcalc_name(self) -> str:
        """The bundled network as the document shows it: 'shufflenet (g=3, scale=1)'."""
        if not self.arch:
            return ""
        args = ", ".join(f"{k}={v}" for k, v in self.params.items())
        side = f", {self.input_side}x{self.input_side}" if self.input_side else ""
        return f"{self.arch}" + (f" ({args}{side})" if args or side else "")


def bundled_profiles() -> dict[str, tuple[Path, str]]:
    """The bundled profile files by name, with their text: the fit rewrites their
    calibrated blocks, so the text is kept as read."""
    return {p.stem: (p, p.read_text("utf-8")) for p in sorted(bundled_dir().glob("*.yaml"))}


def parse_bundled(name: str, text: str) -> DeviceProfile:
    """A bundled profile's text, validated and named as the package names its file."""
    return parse_profile(text, f"{BUNDLED_SOURCE}{name}.yaml")


def load_rows(profiles: Mapping[str, DeviceProfile]) -> list[Row]:
    """Every calibration row of benchmarks/devices.json, each matched to its profile (from
    ``profiles``) and bundled network where it can be, else with the reason it is skipped."""
    data = json.loads(DATA.read_text("utf-8"))
    own = json.loads(LATENCIES.read_text("utf-8"))
    reports: dict[tuple[Any, ...], Report] = {}
    rows = [_row(i, r) for i, r in enumerate(data["calibration_rows"])]
    rows += [_row(len(rows) + i, r) for i, r in enumerate(own["rows"])]
    for row in rows:
        row.skip = _match(row, profiles, reports)
    return rows


def _row(index: int, r: Mapping[str, Any]) -> Row:
    batch = int(r.get("batch") or 1)
    if r.get("latency_ms") is not None:
        measured = float(r["latency_ms"]) / 1e3  # a latency is per batch
    elif r.get("throughput_per_s"):
        measured = batch / float(r["throughput_per_s"])
    else:
        measured = None
    precision = r.get("precision") or ""
    common = {
        "index": index,
        "network": r["network"],
        "device": r["device"],
        "framework": r.get("framework") or "",
        "batch": batch,
        "precision": precision,
        "dtype": PRECISION.get(precision),
        "measured_s": measured,
        "paper_macs": r.get("macs"),
        "source": r.get("source", ""),
    }
    if "arch" in r:  # a row that names its network and profile itself
        return Row(
            **common,
            profile=r.get("profile"),
            arch=r["arch"],
            params=dict(r.get("params") or {}),
            input_side=r.get("input"),
            explicit=True,
        )
    return Row(**common, profile=PROFILE_OF_DEVICE.get(r["device"]))


def _match(
    row: Row, profiles: Mapping[str, DeviceProfile], reports: dict[tuple[Any, ...], Report]
) -> str:
    """Fill in ``row``'s network, analysis and use; return why it cannot be used ('' when
    it can). ``reports`` caches analyses: many rows time the same network."""
    if row.profile is None:
        return f"no profile for {row.device}" + (f", {row.framework}" if row.explicit else "")
    if row.profile not in profiles:
        return f"no profile named {row.profile}"
    if row.measured_s is None:
        return "no latency or throughput given"
    if row.explicit:
        target: Network | str = (row.arch, row.params, row.input_side)
    else:
        target = _network(row.network)
    if isinstance(target, str):
        return target
    arch, params, side = target
    declared = _arch_params(arch)
    if declared is None:
        return f"not bundled (no architecture named {arch})" + MISSING_NOTE.get(arch, "")
    for given in ("alpha", "scale"):
        if given in params and given not in declared:
            name = next((n for n in WIDTH_NAMES if n in declared), None)
            if name is None:
                return f"{arch} has no width parameter"
            params = {name if k == given else k: v for k, v in params.items()}
    row.arch, row.params, row.input_side = arch, params, side
    key = (arch, tuple(sorted(params.items())), side)
    if key not in reports:
        try:
            reports[key] = api.analyze(arch, params, (3, side, side) if side else None)
        except ConvcalcError as e:
            return f"convcalc cannot analyse {row.convcalc_name}: {e.message}"
    report = reports[key]
    row.macs = int(report.totals.macs)
    if row.paper_macs:
        off = row.macs / row.paper_macs - 1
        if abs(off) > MACS_TOLERANCE:
            return (
                f"{row.convcalc_name} has {row.macs / 1e6:.1f}M MACs, the paper "
                f"{row.paper_macs / 1e6:.1f}M ({off:+.0%}): not the same network"
            )
    profile = profiles[row.profile]
    if row.dtype is None or profile.peak_flops.get(row.dtype) is None:
        return f"{row.profile} has no {row.precision} peak"
    row.report = report
    stack = None if row.explicit else FITTED_FRAMEWORK.get(row.profile)
    row.fitted = row.dtype == profile.dtype and (stack is None or stack in row.framework)
    return ""


def _network(name: str) -> Network | str:
    """The bundled counterpart of a paper's network name, or why there is none."""
    for pattern, arch, fixed in NETWORKS:
        m = re.fullmatch(pattern, name)
        if m:
            stated = {k: v for k, v in m.groupdict().items() if v is not None}
            side = stated.pop("side", None)
            return (arch, {**fixed, **stated}, int(side) if side else None)
    return next((why for part, why in UNBUILDABLE if part in name), "not a bundled architecture")


def _arch_params(arch: str) -> dict[str, Any] | None:
    """The parameters a bundled architecture declares, or None when there is no such one."""
    try:
        path = loader.resolve(arch)
    except ConvcalcError:
        return None
    doc = loader.load_yaml(loader.read_text(path, arch), arch)
    return dict(doc.get("params") or {})
