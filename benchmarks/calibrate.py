#!/usr/bin/env python3
"""Fit the device profiles' efficiency factors and overheads on published latencies, and
write docs/devices.md with an honest account of how far the estimates land.

    python benchmarks/calibrate.py           # refit, rewrite the profiles' calibrated
                                             # blocks and docs/devices.md
    python benchmarks/calibrate.py --check   # exit 1 if either would change (for CI)

The measured latencies are the calibration rows of benchmarks/devices.json (a copy of the
sourced data the profiles were built from): ShuffleNet V2's Table 8 (GTX 1080 Ti, batch 8;
Snapdragon 810, one thread), MobileNetV2's and MnasNet's Pixel 1 latencies, NVIDIA's
ResNet-50 rows and MCUNet's microcontroller rows. A row is used only when its network is a
bundled architecture whose multiply-adds agree with the paper's figure; every other row is
listed as skipped, with the reason.

The fit is deterministic (a fixed coordinate search, no randomness, no clock), so CI can
regenerate the files and check there is no diff. Only the standard library and convcalc
are used.
"""

from __future__ import annotations

import argparse
import bisect
import json
import math
import os
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from convcalc import api  # noqa: E402
from convcalc.devices import estimate, parse_profile  # noqa: E402
from convcalc.devices.profile import (  # noqa: E402
    BUDGET_KEYS,
    DEFAULT_EFFICIENCY,
    DEFAULT_OVERHEAD_S,
    EFFICIENCY_KEYS,
    DeviceProfile,
    _family,
    bundled_dir,
)
from convcalc.errors import ConvcalcError  # noqa: E402
from convcalc.report import Report  # noqa: E402

DATA = Path(__file__).resolve().with_name("devices.json")
DOC = REPO / "docs" / "devices.md"
BEGIN = "# calibrated: begin (written by benchmarks/calibrate.py)"
END = "# calibrated: end"

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

#: How the papers' network names map onto bundled architectures: (name, parameters,
#: input side or None). Where a row has no bundled counterpart the text says why.
Mapping = tuple[str, dict[str, Any], int | None]


def _network(name: str) -> Mapping | str:
    m = re.fullmatch(r"(0\.25|0\.5|0\.75|1\.0) MobileNet v1", name)
    if m:
        return ("mobilenet", {"alpha": m.group(1)}, None)
    if name == "MobileNetV1":
        return ("mobilenet", {}, None)
    m = re.fullmatch(r"(?:MobileNetV2 (1\.0|1\.4|0\.35)x?|(1\.0|1\.4) MobileNet v2)", name)
    if m:
        return ("mobilenet_v2", {"alpha": m.group(1) or m.group(2)}, None)
    if name == "0.75 MobileNet v2 (their impl.)":
        return ("mobilenet_v2", {"alpha": "0.75"}, None)
    m = re.fullmatch(r"ShuffleNet v1 (0\.5|1|1\.5|2)x \(g=3\)", name)
    if m:
        return ("shufflenet", {"g": 3, "scale": m.group(1)}, None)
    m = re.fullmatch(r"ShuffleNet v2 (0\.5|1|1\.5|2)x", name)
    if m:
        return ("shufflenet_v2", {"scale": m.group(1)}, None)
    if name == "ResNet-50 v1.5":
        return ("resnet50", {}, None)
    m = re.fullmatch(r"MbV2-s w(0\.\d+)-r(\d+)", name)
    if m:
        return ("mobilenet_v2", {"alpha": m.group(1)}, int(m.group(2)))
    if "SSDLite" in name:
        return "no SSDLite detection head is bundled"
    m = re.fullmatch(r"MnasNet-A1(?: (0\.35)x)?", name)
    if m:
        # The bundled mnasnet1_0 is torchvision's SE-free B1 variant, not the paper's A1.
        return ("mnasnet_a1", {"alpha": m.group(1)} if m.group(1) else {}, None)
    for pattern, arch in (
        (r"NASNet-A(?: \(mobile\))?", "nasnet_a_mobile"),
        (r"PNASNet-5", "pnasnet5_mobile"),
        (r"IGCV2-1\.0", "igcv2"),
    ):
        if re.fullmatch(pattern, name):
            return (arch, {}, None)
    if "their impl." in name:
        return "the ShuffleNet V2 authors' own variant of this network is not bundled"
    return "not a bundled architecture"


MISSING_NOTE = {
    "mnasnet_a1": "; the bundled mnasnet1_0 is torchvision's SE-free B1 variant, not A1",
}

#: Parameter names a width multiplier may have in a bundled file (first found is used).
WIDTH_NAMES = ("scale", "alpha", "width", "width_mult")
MACS_TOLERANCE = 0.15  # papers round their mult-adds; beyond this it is another network


# ---------------------------------------------------------------------------------------
# Rows


@dataclass
class Row:
    index: int
    network: str
    device: str
    profile: str | None
    framework: str
    batch: int
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

    @property
    def error(self) -> float | None:
        if self.estimated_s is None or not self.measured_s:
            return None
        return self.estimated_s / self.measured_s - 1

    @property
    def loo_error(self) -> float | None:
        if self.loo_s is None or not self.measured_s:
            return None
        return self.loo_s / self.measured_s - 1

    @property
    def convcalc_name(self) -> str:
        if not self.arch:
            return ""
        args = ", ".join(f"{k}={v}" for k, v in self.params.items())
        side = f", {self.input_side}x{self.input_side}" if self.input_side else ""
        return f"{self.arch}" + (f" ({args}{side})" if args or side else "")


def _arch_params(arch: str) -> dict[str, Any] | None:
    from convcalc.schema import loader

    try:
        path = loader.resolve(arch)
    except ConvcalcError:
        return None
    doc = loader.load_yaml(loader.read_text(path, arch), arch)
    return dict(doc.get("params") or {})


def load_rows(data: dict[str, Any], profiles: dict[str, DeviceProfile]) -> list[Row]:
    rows = []
    reports: dict[tuple[Any, ...], Report] = {}
    for i, r in enumerate(data["calibration_rows"]):
        batch = int(r.get("batch") or 1)
        if r.get("latency_ms") is not None:
            measured = float(r["latency_ms"]) / 1e3  # a latency is per batch
        elif r.get("throughput_per_s"):
            measured = batch / float(r["throughput_per_s"])
        else:
            measured = None
        row = Row(
            index=i,
            network=r["network"],
            device=r["device"],
            profile=PROFILE_OF_DEVICE.get(r["device"]),
            framework=r.get("framework") or "",
            batch=batch,
            dtype=PRECISION.get(r.get("precision") or ""),
            measured_s=measured,
            paper_macs=r.get("macs"),
            source=r.get("source", ""),
        )
        rows.append(row)
        if row.profile is None:
            row.skip = f"no profile for {row.device}"
            continue
        if measured is None:
            row.skip = "no latency or throughput given"
            continue
        target = _network(row.network)
        if isinstance(target, str):
            row.skip = target
            continue
        arch, params, side = target
        declared = _arch_params(arch)
        if declared is None:
            row.skip = f"not bundled (no architecture named {arch})" + MISSING_NOTE.get(arch, "")
            continue
        if "alpha" in params and "alpha" not in declared:
            name = next((n for n in WIDTH_NAMES if n in declared), None)
            if name is None:
                row.skip = f"{arch} has no width parameter"
                continue
            params = {name if k == "alpha" else k: v for k, v in params.items()}
        if "scale" in params and "scale" not in declared:
            name = next((n for n in WIDTH_NAMES if n in declared), None)
            if name is None:
                row.skip = f"{arch} has no width parameter"
                continue
            params = {name if k == "scale" else k: v for k, v in params.items()}
        row.arch, row.params, row.input_side = arch, params, side
        key = (arch, tuple(sorted(params.items())), side)
        try:
            if key not in reports:
                shape = (3, side, side) if side else None
                reports[key] = api.analyze(arch, params, shape)
        except ConvcalcError as e:
            row.skip = f"convcalc cannot analyse {row.convcalc_name}: {e.message}"
            continue
        row.report = reports[key]
        row.macs = int(row.report.totals.macs)
        if row.paper_macs:
            off = row.macs / row.paper_macs - 1
            if abs(off) > MACS_TOLERANCE:
                row.skip = (
                    f"{row.convcalc_name} has {row.macs / 1e6:.1f}M MACs, the paper "
                    f"{row.paper_macs / 1e6:.1f}M ({off:+.0%}): not the same network"
                )
                row.report = None
                continue
        profile = profiles[row.profile]
        if row.dtype is None or profile.peak_flops.get(row.dtype) is None:
            row.skip = f"{row.profile} has no {r.get('precision')} peak"
            row.report = None
            continue
        stack = FITTED_FRAMEWORK.get(row.profile)
        row.fitted = row.dtype == profile.dtype and (stack is None or stack in row.framework)
    return rows


# ---------------------------------------------------------------------------------------
# The fit


PARAMS = (*EFFICIENCY_KEYS, "overhead_s")
BOUNDS = {k: (0.005, 1.0) for k in EFFICIENCY_KEYS} | {"overhead_s": (1e-7, 2e-3)}
#: Weight of the pull towards the class priors, per squared log-ratio. Small: with a dozen
#: rows the data decide; with two rows the priors keep the unidentifiable factors in place.
RIDGE = 0.02


def priors(profile: DeviceProfile) -> dict[str, float]:
    family = _family(profile.device_class)
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


def predict(p: Probe, theta: dict[str, float]) -> float:
    """The estimate's latency for factors ``theta`` (the same sum as the estimate)."""
    bw = theta["bandwidth"]
    total = 0.0
    for kind, (ratios, cum_c, cum_m) in p.kinds.items():
        eff = theta[kind]
        k = bisect.bisect_right(ratios, eff / bw)  # the first k layers are memory-bound
        total += cum_m[k] / bw + (cum_c[-1] - cum_c[k]) / eff
    return total + p.layers * theta["overhead_s"]


def objective(probes: Sequence[Probe], theta: dict[str, float], prior: dict[str, float]) -> float:
    data = sum(math.log(predict(p, theta) / p.measured) ** 2 for p in probes) / len(probes)
    ridge = sum(math.log(theta[k] / prior[k]) ** 2 for k in PARAMS)
    return data + RIDGE * ridge


def _golden(f: Callable[[float], float], lo: float, hi: float, iters: int = 40) -> float:
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


def fit(probes: Sequence[Probe], prior: dict[str, float]) -> dict[str, float]:
    """Coordinate search in log space: a 41-point grid per parameter, then golden-section
    refinement around the best grid point; sweeps until the objective stops improving."""
    theta = dict(prior)
    best = objective(probes, theta, prior)
    for _ in range(40):
        start = best
        for k in PARAMS:
            lo, hi = (math.log(v) for v in BOUNDS[k])

            def f(x: float, k: str = k) -> float:
                return objective(probes, {**theta, k: math.exp(x)}, prior)

            grid = [lo + (hi - lo) * i / 40 for i in range(41)]
            values = [f(x) for x in grid]
            j = min(range(41), key=lambda i: values[i])
            x = _golden(f, grid[max(j - 1, 0)], grid[min(j + 1, 40)])
            value = f(x)
            if value < best:
                theta[k], best = math.exp(x), value
        if start - best < 1e-12:
            break
    return theta


def sig3(x: float) -> float:
    return float(f"{x:.3g}")


# ---------------------------------------------------------------------------------------
# Statistics


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
    """Spearman's rho: Pearson correlation of the ranks (ties averaged)."""
    if len(x) < 3:
        return None
    rx, ry = ranks(x), ranks(y)
    mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
    sxy = sum((a - mx) * (b - my) for a, b in zip(rx, ry, strict=True))
    sxx = sum((a - mx) ** 2 for a in rx)
    syy = sum((b - my) ** 2 for b in ry)
    return sxy / math.sqrt(sxx * syy) if sxx and syy else None


def median(values: Sequence[float]) -> float | None:
    if not values:
        return None
    s = sorted(values)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


# ---------------------------------------------------------------------------------------
# Profiles


def calibrated_block(theta: dict[str, float], note: str) -> str:
    eff = ", ".join(f"{k}: {sig3(theta[k]):g}" for k in EFFICIENCY_KEYS)
    return "\n".join(
        [
            BEGIN,
            f"efficiency: {{{eff}}}",
            f"overhead_s: {sig3(theta['overhead_s']):g}",
            f"calibration: {json.dumps(note)}",
            END,
        ]
    )


def replace_block(text: str, block: str, name: str) -> str:
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        raise SystemExit(f"{name}: no '{BEGIN}' ... '{END}' block to write")
    return text[:start] + block + text[end + len(END) :]


def bundled_profiles() -> dict[str, tuple[Path, str]]:
    return {p.stem: (p, p.read_text("utf-8")) for p in sorted(bundled_dir().glob("*.yaml"))}


# ---------------------------------------------------------------------------------------
# Main


@dataclass
class Fit:
    profile: str
    theta: dict[str, float]
    prior: dict[str, float]
    rows: list[Row]
    note: str


def pct(x: float | None) -> str:
    return "-" if x is None else f"{x:+.0%}"


def num(x: float | None, digits: int = 2) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def ms(x: float | None) -> str:
    return "-" if x is None else f"{x * 1e3:.3g}"


def run(write: bool) -> int:
    data = json.loads(DATA.read_text("utf-8"))
    files = bundled_profiles()
    profiles = {
        name: parse_profile(text, f"devices/profiles/{name}.yaml")
        for name, (_, text) in files.items()
    }
    rows = load_rows(data, profiles)

    new_texts: dict[str, str] = {}
    fits: list[Fit] = []
    for name, (path, text) in files.items():
        profile = profiles[name]
        if BEGIN not in text:
            continue  # budgets and profiles that extend another: nothing to fit
        prior = priors(profile)
        mine = [r for r in rows if r.profile == name and r.report is not None]
        fitted = [r for r in mine if r.fitted]
        if fitted:
            probes = [probe(r, profile) for r in fitted]
            theta = {k: sig3(v) for k, v in fit(probes, prior).items()}
            if len(fitted) >= 3:
                for i, r in enumerate(fitted):
                    loo = fit(probes[:i] + probes[i + 1 :], prior)
                    r.loo_s = predict(probes[i], loo)
            note = (
                f"fitted on {len(fitted)} published latenc{'y' if len(fitted) == 1 else 'ies'}"
                f" ({', '.join(sorted({_stack(r.framework) for r in fitted}))}); "
                "see docs/devices.md"
            )
        else:
            theta = prior
            note = (
                "not calibrated: no published latency of a bundled network on this device; "
                "class priors of benchmarks/calibrate.py"
            )
        new_text = replace_block(text, calibrated_block(theta, note), path.name)
        new_texts[name] = new_text
        profiles[name] = parse_profile(new_text, f"devices/profiles/{name}.yaml")
        fits.append(Fit(name, theta, prior, mine, note))

    # Estimates with the profiles exactly as written.
    for r in rows:
        if r.report is not None and r.profile and r.dtype:
            est = estimate(r.report, profiles[r.profile], dtype=r.dtype, batch=r.batch)
            r.estimated_s = est.latency_s

    changed = [name for name, t in new_texts.items() if t != files[name][1]]
    if write:
        # Profiles first: the doc lists every profile as loaded from disk, and a profile
        # that extends a calibrated one must see its new factors.
        for name in changed:
            files[name][0].write_text(new_texts[name], "utf-8")
    doc = render_doc(rows, fits)
    old_doc = DOC.read_text("utf-8") if DOC.exists() else ""
    if doc != old_doc:
        changed.append("docs/devices.md")
    for r in rows:
        if r.skip:
            print(f"skipped: {r.device} / {r.network}: {r.skip}")
    for line in summary_lines(rows, fits):
        print(line)
    if not write:
        if changed:
            print("out of date: " + ", ".join(changed) + " (run benchmarks/calibrate.py)")
            return 1
        print("profiles and docs/devices.md are up to date")
        return 0
    DOC.parent.mkdir(exist_ok=True)
    DOC.write_text(doc, "utf-8")
    print("wrote: " + (", ".join(changed) if changed else "nothing changed"))
    return 0


def table8(rows: Sequence[Row], profile: str) -> list[Row]:
    return [
        r
        for r in rows
        if r.profile == profile and "Table 8" in r.source and r.estimated_s is not None
    ]


def rank_stats(rows: Sequence[Row]) -> tuple[float | None, float | None, int]:
    meas = [r.measured_s or 0.0 for r in rows]
    return (
        spearman([r.estimated_s or 0.0 for r in rows], meas),
        spearman([float(r.macs or 0) for r in rows], meas),
        len(rows),
    )


def summary_lines(rows: Sequence[Row], fits: Sequence[Fit]) -> list[str]:
    used = [r for r in rows if r.error is not None]
    fitted = [abs(r.error) for r in used if r.fitted and r.error is not None]
    held = [abs(r.error) for r in used if not r.fitted and r.error is not None]
    loo = [abs(r.loo_error) for r in used if r.loo_error is not None]
    out = [
        f"rows used: {len(used)} of {len(rows)}; median |error| fitted "
        f"{pct(median(fitted))} (n={len(fitted)}), leave-one-out {pct(median(loo))} "
        f"(n={len(loo)}), held out {pct(median(held))} (n={len(held)})"
    ]
    for profile in ("gpu-gtx1080ti", "snapdragon-810"):
        est_rho, mac_rho, n = rank_stats(table8(rows, profile))
        out.append(
            f"ShuffleNet V2 Table 8 on {profile} (n={n}): Spearman rho by estimate "
            f"{num(est_rho)}, by MACs {num(mac_rho)}"
        )
    return out


# ---------------------------------------------------------------------------------------
# docs/devices.md


def _md(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for r in rows:
        lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in r) + " |")
    return lines


def _figure(p: DeviceProfile, key: str) -> str:
    from convcalc.render.device import rate

    if key.startswith("peak_flops."):
        dtype = key.split(".", 1)[1]
        return rate(p.peak_flops[dtype], "FLOP/s" if dtype != "int8" else "op/s")
    if key == "bandwidth_Bps":
        return rate(p.bandwidth_Bps, "B/s")
    if key.startswith("budgets."):
        b = p.budget(key.split(".", 1)[1])
        if b is None:
            return ""
        if b.name == "latency_s" and b.max is not None:
            return f"<= {b.max * 1e3:g} ms"
        lo = f"{b.min:,.0f} to " if b.min is not None else ""
        return f"{lo}{b.max:,.0f}" if b.max is not None else f">= {b.min:,.0f}"
    value = getattr(p, key, None)
    return "" if value is None else f"{value:,} B"


def render_doc(rows: Sequence[Row], fits: Sequence[Fit]) -> str:
    from convcalc.devices.profile import list_profiles
    from convcalc.render.device import devices_markdown

    ordered = [p for p in list_profiles() if p.source.startswith("devices/profiles/")]
    L: list[str] = []
    add = L.append
    add("# Device profiles and latency estimates")
    add("")
    add("<!-- Generated by benchmarks/calibrate.py; edit that script or the profiles, then")
    add("     run it again. CI runs `python benchmarks/calibrate.py --check`. -->")
    add("")
    add("convcalc can place a network on a device: `convcalc devices` lists the profiles,")
    add("`convcalc analyze ARCH --device NAME` adds per-layer time, bound and share columns")
    add("and a verdict panel, `convcalc compare A B --device NAME` compares estimated")
    add("latencies, and `--fail-over-budget` exits with code 3 when any verdict fails (a CI")
    add("gate). `--device-file PATH` reads your own profile; profiles in `$CONVCALC_DEVICES`")
    add("(a path list) and `~/.config/convcalc/devices/` are found by name and shadow the")
    add("bundled ones. With `--format json` the analysis gains a `device` section.")
    add("")
    add("## The model")
    add("")
    add("Per layer, at the profile's dtype and batch:")
    add("")
    add("    time = max(flops / (peak[dtype] x eff[op kind]),")
    add("               traffic / (bandwidth x eff[bandwidth])) + overhead")
    add("")
    add("The larger of the two terms is the layer's **bound** (compute or memory). `flops` and")
    add("`traffic` are convcalc's own per-layer counts (docs/conventions.md): FLOPs scale with")
    add("the batch; traffic is the input and output activations (times the batch) plus the")
    add("weights (once), in bytes of the device dtype. The op kinds, each with its own")
    add("efficiency factor, are:")
    add("")
    add("- `conv`: a dense k x k convolution (also transposed, dilated, deformable ones);")
    add("- `conv1x1`: a 1x1 convolution with one group;")
    add("- `grouped`: a depthwise convolution, or any convolution with more than one group;")
    add("- `linear`: a fully connected layer;")
    add("- `elementwise`: everything else that touches memory (batch norm, activations, add,")
    add("  concat, channel shuffle, pooling);")
    add("- views (flatten, reshape, identity, dropout, slice) take no time.")
    add("")
    add("A profile's `fused` ops (batch norm, and activations where the runtime fuses them)")
    add("run inside the layer just before them when it is their only input: their FLOPs join")
    add("that layer, their traffic and overhead vanish. Latency is the sum over layers (one")
    add("layer at a time, as single-stream inference runs); throughput is batch / latency;")
    add("arithmetic intensity is total FLOPs over total traffic.")
    add("")
    add("**Memory fit**: weights plus peak activations (times the batch) against the device")
    add("memory; on a microcontroller, peak activations against SRAM and weights against")
    add("flash, at the profile's dtype (int8). The peak is convcalc's liveness scan (file")
    add("order; a tensor lives until its last reader has run) replayed as the device runs the")
    add("graph: fused ops work in place in their host's output and views alias their input,")
    add("so it can be lower than the analysis's own peak. A failing SRAM verdict names the")
    add("tensors alive at the peak. **Budgets** (params,")
    add("macs, flops, param_bytes, peak_activation_bytes, latency_s, throughput_per_s) each")
    add("pass or fail with their margin; `fits` is the memory verdicts, `pass` all of them.")
    add("")
    add("Why not MACs alone: ShuffleNet V2 (Ma et al., 2018) showed networks of equal")
    add("multiply-adds running at different speeds, because of memory access cost, many small")
    add("operators (per-layer overhead) and element-wise ops. Those are the terms above; the")
    add("calibration below checks whether they order networks better than MACs do.")
    add("")
    add("## Profile files")
    add("")
    add("One YAML file per device in `convcalc/devices/profiles/` (shipped in the wheel).")
    add('Numbers may be written `19.5e12` or `"19.5*10**12"`. Fields:')
    add("")
    from convcalc.devices.profile import _KEYS

    L.extend(_md(("field", "meaning"), [(f"`{k}`", v) for k, v in _KEYS.items()]))
    add("")
    add("Every field is validated on load; an error names the file, the line and the field")
    add("(a missing figure, a negative bandwidth, an unknown dtype, an efficiency above 1, an")
    add("unknown op in `fused`...). `extends: NAME` starts from another profile (that is how")
    add("`mobile-75ms` times networks on `pixel1-bigcore`). Budgets: " + ", ".join(BUDGET_KEYS))
    add("(each a maximum, or `{min: ..., max: ...}`; `throughput_per_s` is a minimum), plus")
    add("`input` for the resolution a budget is defined at.")
    add("")
    add("## Profiles")
    add("")
    add(devices_markdown(ordered).rstrip())
    add("")
    for p in ordered:
        add(f"### {p.name}")
        add("")
        add(
            p.title
            + (f" ({p.threads} thread{'s' if p.threads != 1 else ''})" if p.threads else "")
            + (f"; extends `{p.extends}`" if p.extends else "")
            + "."
        )
        add("")
        items = []
        from convcalc.devices.profile import figure_paths

        for key in figure_paths(p):
            items.append((f"`{key}`", _figure(p, key), p.sources.get(key, "(from the base)")))
        if p.fused:
            items.append(("`fused`", ", ".join(p.fused), p.sources.get("fused", "")))
        L.extend(_md(("figure", "value", "source"), items))
        if p.has_hardware:
            add("")
            eff = ", ".join(f"{k} {p.efficiency[k]:g}" for k in EFFICIENCY_KEYS)
            add(
                f"Efficiency: {eff}; overhead {p.overhead_s * 1e6:g} us per layer. "
                f"Calibration: {p.calibration}."
            )
        if p.notes:
            add("")
            add(f"Note: {p.notes}")
        add("")

    add("## Calibration")
    add("")
    add("`benchmarks/calibrate.py` fits, per profile, the five efficiency factors, the")
    add("bandwidth efficiency and the per-layer overhead on the published latencies of")
    add("`benchmarks/devices.json`, minimising the mean squared log error plus")
    add(f"{RIDGE:g} x the squared log distance from the class priors (the defaults below; they")
    add("keep factors that the rows cannot tell apart where they started). The search is a")
    add("deterministic coordinate search (a log grid, then golden-section refinement), so the")
    add("results are reproducible. A profile stands for one device with one software stack:")
    add("rows of its stack at its dtype are **fitted**; the device's other rows are **held out**")
    add("and shown as out-of-sample checks. With three or more fitted rows each row is also")
    add("predicted **leave-one-out** (fitted on the others), the honest in-family error.")
    add("")
    add("Class priors:")
    add("")
    prior_rows = []
    for family, eff in DEFAULT_EFFICIENCY.items():
        prior_rows.append(
            (
                family,
                *(f"{eff[k]:g}" for k in EFFICIENCY_KEYS),
                f"{DEFAULT_OVERHEAD_S[family] * 1e6:g} us",
            )
        )
    L.extend(_md(("class", *EFFICIENCY_KEYS, "overhead"), prior_rows))
    add("")
    add("Fitted values:")
    add("")
    fit_rows = []
    for f in fits:
        n_fit = sum(1 for r in f.rows if r.fitted)
        n_held = sum(1 for r in f.rows if not r.fitted)
        fit_rows.append(
            (
                f.profile,
                str(n_fit),
                str(n_held),
                *(f"{f.theta[k]:g}" for k in EFFICIENCY_KEYS),
                f"{f.theta['overhead_s'] * 1e6:g}",
            )
        )
    L.extend(
        _md(("profile", "fitted rows", "held out", *EFFICIENCY_KEYS, "overhead (us)"), fit_rows)
    )
    add("")

    used = [r for r in rows if r.estimated_s is not None]
    add("### Estimate vs measured")
    add("")
    add("Times are per batch, in ms (throughput rows: batch / images per second). Error is")
    add("estimate / measured - 1. A row is used when convcalc's multiply-adds for the bundled")
    add(f"network are within {MACS_TOLERANCE:.0%} of the paper's figure (papers round, and some")
    add("count slightly different variants); the two MAC columns show how close each is.")
    add("")
    table = []
    for r in sorted(used, key=lambda r: (r.profile or "", not r.fitted, r.index)):
        table.append(
            (
                r.profile or "",
                r.network,
                f"{r.paper_macs / 1e6:.1f}M" if r.paper_macs else "-",
                r.convcalc_name,
                f"{r.macs / 1e6:.1f}M" if r.macs else "",
                str(r.batch),
                r.dtype or "",
                _short(r.framework),
                ms(r.measured_s),
                ms(r.estimated_s),
                pct(r.error),
                pct(r.loo_error),
                "fitted" if r.fitted else "held out",
            )
        )
    L.extend(
        _md(
            (
                "profile",
                "network",
                "paper MACs",
                "convcalc network",
                "MACs",
                "batch",
                "dtype",
                "framework",
                "measured",
                "estimate",
                "error",
                "leave-one-out",
                "use",
            ),
            table,
        )
    )
    add("")
    fitted = [abs(r.error) for r in used if r.fitted and r.error is not None]
    loo = [abs(r.loo_error) for r in used if r.loo_error is not None]
    held = [abs(r.error) for r in used if not r.fitted and r.error is not None]
    add("Median absolute error:")
    add("")
    stat_rows = [
        (
            "all profiles",
            pct(median(fitted)).lstrip("+"),
            str(len(fitted)),
            pct(median(loo)).lstrip("+"),
            str(len(loo)),
            pct(median(held)).lstrip("+"),
            str(len(held)),
        )
    ]
    for f in fits:
        a = [abs(r.error) for r in f.rows if r.fitted and r.error is not None]
        b = [abs(r.loo_error) for r in f.rows if r.loo_error is not None]
        c = [abs(r.error) for r in f.rows if not r.fitted and r.error is not None]
        if a or c:
            stat_rows.append(
                (
                    f.profile,
                    pct(median(a)).lstrip("+"),
                    str(len(a)),
                    pct(median(b)).lstrip("+"),
                    str(len(b)),
                    pct(median(c)).lstrip("+"),
                    str(len(c)),
                )
            )
    L.extend(_md(("", "fitted (in-sample)", "n", "leave-one-out", "n", "held out", "n"), stat_rows))
    add("")
    add("### Ranking: the ShuffleNet V2 lesson")
    add("")
    add("On the rows of ShuffleNet V2's Table 8 that convcalc can build, Spearman's rank")
    add("correlation with the measured time, ranking the networks by convcalc's estimate and")
    add("by multiply-adds (convcalc's exact MACs; 1.0 is a perfect ranking):")
    add("")
    rank_rows = []
    for profile in ("gpu-gtx1080ti", "snapdragon-810"):
        t8 = table8(rows, profile)
        est_rho, mac_rho, n = rank_stats(t8)
        loo_rho = (
            spearman([r.loo_s or 0.0 for r in t8], [r.measured_s or 0.0 for r in t8])
            if t8 and all(r.loo_s is not None for r in t8)
            else None
        )
        rank_rows.append(
            (profile, str(n), num(est_rho), num(loo_rho), num(mac_rho), _verdict(est_rho, mac_rho))
        )
    others = [r for r in used if "Table 8" not in r.source and r.profile == "pixel1-bigcore"]
    est_rho, mac_rho, n = rank_stats(others)
    rank_rows.append(
        (
            "pixel1-bigcore (MobileNetV2 / MnasNet rows)",
            str(n),
            num(est_rho),
            "-",
            num(mac_rho),
            _verdict(est_rho, mac_rho),
        )
    )
    L.extend(
        _md(
            (
                "device",
                "networks",
                "by estimate",
                "by leave-one-out estimate",
                "by MACs",
                "estimate better?",
            ),
            rank_rows,
        )
    )
    add("")
    add("A rank correlation needs at least three networks; '-' marks too few rows so far.")
    add("")
    skipped = [r for r in rows if r.skip]
    add("### Rows not used")
    add("")
    L.extend(_md(("device", "network", "why"), [(r.device, r.network, r.skip) for r in skipped]))
    add("")
    add("## Limits of the model")
    add("")
    add("- A roofline with fitted factors, not a simulator: no caches, tiling, kernel")
    add("  selection, or overlap between layers; errors of tens of percent are normal, and a")
    add("  profile with few calibration rows is mostly its priors.")
    add("- Peak figures marked *derived* or *assumed* in the sources are arithmetic on")
    add("  sourced figures (cores x clock x FLOP/cycle); the efficiency factors absorb their")
    add("  errors for calibrated profiles only.")
    add("- One profile is one software stack: PyTorch eager, TensorRT, TF-Lite and TinyEngine")
    add("  differ by several times on the same chip (see the held-out rows).")
    add("- Multi-threaded CPU profiles use the peak of all their threads; a network with")
    add("  little parallel work per layer will not reach it.")
    return "\n".join(L).rstrip() + "\n"


def _stack(framework: str) -> str:
    """'Triton + ONNX Runtime TensorRT EP (offline)' -> 'Triton + ONNX Runtime TensorRT EP'."""
    return re.sub(r"\s*\(.*\)$", "", framework)


def _short(framework: str) -> str:
    return framework.replace(" (highly optimized in-house library)", "").replace(
        " (paper: single-thread big core)", ""
    )


def _verdict(a: float | None, b: float | None) -> str:
    if a is None or b is None:
        return "-"
    if a > b:
        return "yes"
    return "no" if a < b else "tie"


def main(argv: Sequence[str] | None = None) -> int:
    # Only the bundled profiles: a developer's own profile directories must not leak in.
    os.environ.pop("CONVCALC_DEVICES", None)
    os.environ["XDG_CONFIG_HOME"] = str(REPO / ".calibrate-no-user-profiles")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check",
        action="store_true",
        help="exit 1 if the profiles or docs/devices.md are out of date",
    )
    args = parser.parse_args(argv)
    return run(write=not args.check)


if __name__ == "__main__":
    raise SystemExit(main())
