"""Device profiles: YAML data files, found by name, validated on load.

A profile describes one device (or one pure budget) as data: peak compute per dtype, memory
bandwidth and capacity, per-op-kind efficiency factors, a per-layer overhead, a default dtype
and batch, budgets, and the source of every figure. Keeping devices as data means a new
device is one file, reviewable without reading code, and a user's own device needs no code
at all (``--device-file``, ``$CONVCALC_DEVICES`` or ``~/.config/convcalc/devices``).

Every problem in a file is a :class:`DeviceProfileError` naming the file, the line and the
field, because a silently wrong figure here would make every estimate wrong.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from convcalc import expr
from convcalc.errors import ConvcalcError, InputFileError, SpecError, UsageError
from convcalc.report import DTYPE_BYTES

SCHEMA_KEY = "convcalc_device"
SCHEMA_VERSION = 1

#: Device classes; ``budget`` profiles hold limits only (no hardware figures).
CLASSES = ("gpu", "edge-gpu", "cpu", "phone-cpu", "mcu", "budget")

#: Op kinds with their own efficiency factor; see :func:`convcalc.devices.estimate.op_class`.
OP_CLASSES = ("conv", "conv1x1", "grouped", "linear", "elementwise")
EFFICIENCY_KEYS = (*OP_CLASSES, "bandwidth")

#: Budgets a profile may set: each is a maximum, except ``throughput_per_s`` (a minimum).
BUDGET_KEYS = (
    "params",
    "macs",
    "flops",
    "param_bytes",
    "peak_activation_bytes",
    "latency_s",
    "throughput_per_s",
)
MIN_BUDGETS = ("throughput_per_s",)

#: Efficiency factors used where a profile gives none (a user's own file, say). They are
#: the calibration priors of benchmarks/calibrate.py, so an uncalibrated profile starts
#: where a calibrated one of its class would start.
DEFAULT_EFFICIENCY: dict[str, dict[str, float]] = {
    "gpu": {
        "conv": 0.5,
        "conv1x1": 0.5,
        "grouped": 0.1,
        "linear": 0.3,
        "elementwise": 0.5,
        "bandwidth": 0.7,
    },
    "cpu": {
        "conv": 0.5,
        "conv1x1": 0.5,
        "grouped": 0.2,
        "linear": 0.3,
        "elementwise": 0.3,
        "bandwidth": 0.3,
    },
    "mcu": {
        "conv": 0.15,
        "conv1x1": 0.15,
        "grouped": 0.1,
        "linear": 0.15,
        "elementwise": 0.3,
        "bandwidth": 0.5,
    },
}
DEFAULT_OVERHEAD_S = {"gpu": 1e-5, "cpu": 2e-5, "mcu": 1e-4}

_KEYS = {
    SCHEMA_KEY: "schema version (1)",
    "name": "profile name, as given to --device",
    "title": "one-line description of the device",
    "class": "one of " + ", ".join(CLASSES),
    "extends": "name of a profile whose fields this one starts from",
    "threads": "CPU threads the peak figures assume",
    "dtype": "default dtype of the estimate: " + ", ".join(DTYPE_BYTES),
    "batch": "default batch size",
    "peak_flops": "peak FLOP/s per dtype (a MAC is 2 FLOPs; int8 figures are ops/s)",
    "bandwidth_Bps": "memory bandwidth in bytes/s",
    "memory_bytes": "memory capacity in bytes",
    "sram_bytes": "on-chip SRAM in bytes (microcontrollers)",
    "flash_bytes": "on-chip flash in bytes (microcontrollers)",
    "efficiency": "fraction of peak reached per op kind, and of bandwidth",
    "overhead_s": "fixed time added to every layer that runs (launch, dispatch)",
    "fused": "op names folded into the layer before them (batch norm, activations)",
    "budgets": "limits checked against the network: " + ", ".join(BUDGET_KEYS),
    "calibration": "how the efficiency factors were obtained (text)",
    "sources": "where each figure comes from: field path -> text",
    "notes": "free text",
}
_NAME_RE = re.compile(r"[a-z0-9][a-z0-9_.\-]*\Z")


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
    lines: Mapping[str, int] = field(default_factory=dict, compare=False, repr=False)

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
            "sources": dict(self.sources),
        }


# ---------------------------------------------------------------------------------------
# Finding profiles


def bundled_dir() -> Path:
    """Profiles shipped inside the package (so they are in every wheel)."""
    return Path(__file__).resolve().parent / "profiles"


def user_dirs() -> list[Path]:
    """User profile directories, searched before the bundled ones: every directory in
    ``$CONVCALC_DEVICES`` (path-separator separated), then the XDG config directory."""
    dirs = [Path(p) for p in os.environ.get("CONVCALC_DEVICES", "").split(os.pathsep) if p]
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    dirs.append(Path(config) / "convcalc" / "devices")
    return dirs


def search_path() -> list[Path]:
    return [*user_dirs(), bundled_dir()]


def _find(name: str) -> Path | None:
    if not _NAME_RE.match(name):
        return None
    for directory in search_path():
        candidate = directory / f"{name}.yaml"
        if candidate.is_file():
            return candidate
    return None


def profile_names() -> list[str]:
    """Every profile name on the search path (user files shadow bundled ones), sorted."""
    names: set[str] = set()
    for directory in search_path():
        if directory.is_dir():
            names.update(p.stem for p in directory.glob("*.yaml") if _NAME_RE.match(p.stem))
    return sorted(names)


def _shown(path: Path) -> str:
    try:
        rel = path.resolve().relative_to(bundled_dir())
        return f"devices/profiles/{rel.as_posix()}"
    except ValueError:
        return str(path)


def load_profile(name: str | None = None, *, path: str | Path | None = None) -> DeviceProfile:
    """A validated profile: from ``path`` when given (``--device-file``), else by name from
    the user directories and then the bundled profiles."""
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise InputFileError(f"no such device profile file: {path}")
        return _load_path(p, ())
    if not name:
        raise UsageError("no device given", hint="`convcalc devices` lists the profiles")
    found = _find(name[:-5] if name.endswith(".yaml") else name)
    if found is None:
        raise UsageError(
            f"unknown device {name!r}",
            hint="`convcalc devices` lists the profiles; or pass --device-file PATH",
        )
    return _load_path(found, ())


def list_profiles() -> list[DeviceProfile]:
    """Every profile on the search path, validated, sorted by class then name."""
    order = {c: i for i, c in enumerate(CLASSES)}
    profiles = [load_profile(n) for n in profile_names()]
    return sorted(profiles, key=lambda p: (order.get(p.device_class, 99), p.name))


def parse_profile(text: str, shown: str) -> DeviceProfile:
    """Validate profile text (used by the calibration script on text it is about to write)."""
    return _build(_read_doc(text, shown), shown, ())


def _read_doc(text: str, shown: str) -> Any:
    from convcalc.schema import loader

    doc = loader.load_yaml(text, shown)
    if not isinstance(doc, dict):
        raise DeviceProfileError("a device profile is a mapping of fields", file=shown, line=1)
    return doc


def _load_path(path: Path, chain: tuple[str, ...]) -> DeviceProfile:
    from convcalc.schema import loader

    shown = _shown(path)
    text = loader.read_text(path, shown)
    return _build(_read_doc(text, shown), shown, chain)


# ---------------------------------------------------------------------------------------
# Validation


class _Fields:
    """Typed access to a profile mapping; every error names file, line and field."""

    def __init__(self, doc: Any, shown: str) -> None:
        self.doc = doc
        self.shown = shown

    def line(self, mapping: Any, key: str | None = None) -> int | None:
        if key is not None and hasattr(mapping, "line_of"):
            return mapping.line_of(key)
        return getattr(mapping, "line", None)

    def fail(
        self,
        path: str,
        message: str,
        mapping: Any = None,
        key: str | None = None,
        hint: str | None = None,
    ) -> DeviceProfileError:
        line = self.line(mapping if mapping is not None else self.doc, key)
        return DeviceProfileError(
            f"field '{path}': {message}", file=self.shown, line=line, hint=hint
        )

    def number(
        self,
        value: Any,
        path: str,
        mapping: Any,
        key: str,
        *,
        positive: bool = True,
        allow_zero: bool = False,
    ) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise self.fail(
                path,
                f"expected a number, got {value!r}",
                mapping,
                key,
                hint='write it as 19.5e12 or "19.5*10**12"',
            )
        if isinstance(value, str):
            try:
                parsed: Any = expr.constant(value)
            except ConvcalcError as e:
                raise self.fail(
                    path, f"not a number: {value!r} ({e.message})", mapping, key
                ) from None
        else:
            parsed = value
        number = float(Fraction(parsed)) if not isinstance(parsed, float) else parsed
        if number != number or number in (float("inf"), float("-inf")):
            raise self.fail(path, "must be finite", mapping, key)
        if number < 0 or (number == 0 and not allow_zero and positive):
            raise self.fail(
                path,
                f"must be {'non-negative' if allow_zero else 'positive'}, got {value}",
                mapping,
                key,
            )
        return number

    def integer(self, value: Any, path: str, mapping: Any, key: str) -> int:
        number = self.number(value, path, mapping, key)
        if number != int(number):
            raise self.fail(path, f"must be a whole number, got {value}", mapping, key)
        return int(number)

    def text(self, value: Any, path: str, mapping: Any, key: str) -> str:
        if isinstance(value, str):
            return value
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return "; ".join(value)
        raise self.fail(path, f"expected text, got {value!r}", mapping, key)


def _merge(base: Mapping[str, Any], child: Mapping[str, Any]) -> Any:
    """``extends``: the child's fields win; nested mappings merge one level deep. Line
    marks are kept so errors still point into the child's file where the child set a key."""
    out = type(child)() if isinstance(child, dict) else {}
    out.update(base)
    for key, value in child.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    if hasattr(child, "line"):
        out.line = child.line
        out.key_lines = {**getattr(base, "key_lines", {}), **getattr(child, "key_lines", {})}
    return out


def _build(doc: Any, shown: str, chain: tuple[str, ...]) -> DeviceProfile:
    f = _Fields(doc, shown)
    for key in doc:
        if key not in _KEYS:
            raise f.fail(key, "unknown field", doc, key, hint="fields are: " + ", ".join(_KEYS))
    if SCHEMA_KEY not in doc:
        raise f.fail(
            SCHEMA_KEY,
            f"missing (the first line of a profile is '{SCHEMA_KEY}: {SCHEMA_VERSION}')",
            doc,
        )
    if doc[SCHEMA_KEY] != SCHEMA_VERSION:
        raise f.fail(
            SCHEMA_KEY,
            f"unsupported version {doc[SCHEMA_KEY]!r}; this convcalc "
            f"reads version {SCHEMA_VERSION}",
            doc,
            SCHEMA_KEY,
        )
    if "name" not in doc:
        raise f.fail("name", "missing", doc)
    name = doc["name"]
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise f.fail(
            "name",
            f"{name!r} is not a profile name (lower case letters, digits, '-', '_', '.')",
            doc,
            "name",
        )

    extends = doc.get("extends")
    base_merged: Mapping[str, Any] = {}
    if extends is not None:
        if not isinstance(extends, str):
            raise f.fail("extends", "expected a profile name", doc, "extends")
        if extends in chain or extends == name:
            raise f.fail(
                "extends",
                f"profile {extends!r} extends itself ({' -> '.join((*chain, name, extends))})",
                doc,
                "extends",
            )
        base_path = _find(extends)
        if base_path is None:
            raise f.fail(
                "extends",
                f"unknown profile {extends!r}",
                doc,
                "extends",
                hint="`convcalc devices` lists the profiles",
            )
        from convcalc.schema import loader

        base_shown = _shown(base_path)
        base_doc = _read_doc(loader.read_text(base_path, base_shown), base_shown)
        _build(base_doc, base_shown, (*chain, name))  # the base must be valid on its own
        base_merged = _resolved(base_doc, (*chain, name))
    data = _merge(base_merged, doc) if base_merged else doc

    def req(key: str, why: str) -> Any:
        if data.get(key) is None:
            raise f.fail(key, f"missing ({why})", doc, hint=f"{key}: {_KEYS[key]}")
        return data[key]

    device_class = req("class", "every profile has a class")
    if device_class not in CLASSES:
        raise f.fail(
            "class",
            f"unknown class {device_class!r}; use one of " + ", ".join(CLASSES),
            data,
            "class",
        )
    title = f.text(data.get("title", name), "title", data, "title")

    dtype = data.get("dtype", "fp32")
    if dtype not in DTYPE_BYTES:
        raise f.fail(
            "dtype", f"unknown dtype {dtype!r}; use one of " + ", ".join(DTYPE_BYTES), data, "dtype"
        )
    batch = f.integer(data.get("batch", 1), "batch", data, "batch")
    threads = None
    if data.get("threads") is not None:
        threads = f.integer(data["threads"], "threads", data, "threads")

    peaks: dict[str, float | None] = {}
    raw_peaks = data.get("peak_flops") or {}
    if not isinstance(raw_peaks, dict):
        raise f.fail("peak_flops", "expected a mapping of dtype to FLOP/s", data, "peak_flops")
    for key, value in raw_peaks.items():
        if key not in DTYPE_BYTES:
            raise f.fail(
                f"peak_flops.{key}",
                f"unknown dtype {key!r}; use one of " + ", ".join(DTYPE_BYTES),
                raw_peaks,
                key,
            )
        peaks[key] = None if value is None else f.number(value, f"peak_flops.{key}", raw_peaks, key)

    def size(key: str) -> int | None:
        value = data.get(key)
        return None if value is None else f.integer(value, key, data, key)

    bandwidth = data.get("bandwidth_Bps")
    bandwidth_f = (
        None if bandwidth is None else f.number(bandwidth, "bandwidth_Bps", data, "bandwidth_Bps")
    )
    memory, sram, flash = size("memory_bytes"), size("sram_bytes"), size("flash_bytes")

    if device_class != "budget":
        if peaks.get(dtype) is None:
            raise f.fail(
                f"peak_flops.{dtype}",
                f"missing (the profile's dtype is {dtype}, so its peak is needed)",
                raw_peaks or data,
                hint="add it under peak_flops, or change dtype",
            )
        req("bandwidth_Bps", "the memory-bound side of the roofline needs it")
        if device_class == "mcu":
            req("sram_bytes", "a microcontroller's activations live in SRAM")
            req("flash_bytes", "a microcontroller's weights live in flash")
        else:
            req("memory_bytes", "the memory-fit verdict needs it")

    family = _family(device_class)
    eff: dict[str, float] = dict(DEFAULT_EFFICIENCY[family])
    raw_eff = data.get("efficiency") or {}
    if not isinstance(raw_eff, dict):
        raise f.fail(
            "efficiency", "expected a mapping of op kind to a fraction", data, "efficiency"
        )
    for key, value in raw_eff.items():
        if key not in EFFICIENCY_KEYS:
            raise f.fail(
                f"efficiency.{key}",
                "unknown op kind; use one of " + ", ".join(EFFICIENCY_KEYS),
                raw_eff,
                key,
            )
        number = f.number(value, f"efficiency.{key}", raw_eff, key)
        if number > 1:
            raise f.fail(
                f"efficiency.{key}", f"{value} is above 1 (a fraction of peak)", raw_eff, key
            )
        eff[key] = number
    overhead = DEFAULT_OVERHEAD_S[family]
    if data.get("overhead_s") is not None:
        overhead = f.number(data["overhead_s"], "overhead_s", data, "overhead_s", allow_zero=True)

    fused_raw = data.get("fused") or []
    if not isinstance(fused_raw, list) or not all(isinstance(x, str) for x in fused_raw):
        raise f.fail("fused", "expected a list of op names", data, "fused")
    from convcalc.layers import REGISTRY

    for i, op in enumerate(fused_raw):
        if op not in REGISTRY:
            raise f.fail(
                f"fused[{i}]",
                f"unknown op {op!r}",
                fused_raw,
                None,
                hint="`convcalc layers` lists the ops",
            )

    budgets: list[Budget] = []
    budget_input: tuple[int, ...] | None = None
    raw_budgets = data.get("budgets") or {}
    if not isinstance(raw_budgets, dict):
        raise f.fail("budgets", "expected a mapping", data, "budgets")
    for key, value in raw_budgets.items():
        path = f"budgets.{key}"
        if key == "input":
            if not isinstance(value, list) or not value:
                raise f.fail(path, "expected a shape such as [3, 224, 224]", raw_budgets, key)
            budget_input = tuple(f.integer(v, path, raw_budgets, key) for v in value)
            continue
        if key not in BUDGET_KEYS:
            raise f.fail(
                path,
                "unknown budget; use one of " + ", ".join(BUDGET_KEYS) + " (or input)",
                raw_budgets,
                key,
            )
        if isinstance(value, dict):
            unknown = set(value) - {"max", "min"}
            if unknown:
                raise f.fail(
                    path,
                    f"unknown key {sorted(unknown)[0]!r}; use max and/or min",
                    value,
                    sorted(unknown)[0],
                )
            lo = (
                None
                if value.get("min") is None
                else f.number(value["min"], f"{path}.min", value, "min")
            )
            hi = (
                None
                if value.get("max") is None
                else f.number(value["max"], f"{path}.max", value, "max")
            )
            if lo is None and hi is None:
                raise f.fail(path, "needs max or min", raw_budgets, key)
            if lo is not None and hi is not None and lo > hi:
                raise f.fail(path, f"min {lo:g} is above max {hi:g}", raw_budgets, key)
        else:
            number = f.number(value, path, raw_budgets, key)
            lo, hi = (number, None) if key in MIN_BUDGETS else (None, number)
        budgets.append(Budget(key, hi, lo))
    if device_class == "budget" and not budgets:
        raise f.fail("budgets", "missing (a budget profile sets at least one limit)", doc)
    if any(b.name in ("latency_s", "throughput_per_s") for b in budgets) and not any(
        v is not None for v in peaks.values()
    ):
        raise f.fail(
            "budgets",
            "a latency or throughput budget needs hardware figures to estimate against",
            raw_budgets,
            hint="add 'extends: <device>'",
        )

    raw_sources = data.get("sources") or {}
    if not isinstance(raw_sources, dict):
        raise f.fail("sources", "expected a mapping of field path to text", data, "sources")
    sources = {k: f.text(v, f"sources.{k}", raw_sources, k) for k, v in raw_sources.items()}

    lines = dict(getattr(doc, "key_lines", {}))
    return DeviceProfile(
        name=name,
        title=title,
        device_class=device_class,
        dtype=dtype,
        batch=batch,
        peak_flops=peaks,
        bandwidth_Bps=bandwidth_f,
        memory_bytes=memory,
        sram_bytes=sram,
        flash_bytes=flash,
        efficiency=eff,
        overhead_s=overhead,
        fused=tuple(fused_raw),
        budgets=tuple(budgets),
        budget_input=budget_input,
        threads=threads,
        sources=sources,
        source=shown,
        calibration=f.text(data.get("calibration", ""), "calibration", data, "calibration"),
        notes=f.text(data.get("notes", ""), "notes", data, "notes"),
        extends=extends,
        lines=lines,
    )


def _resolved(doc: Mapping[str, Any], chain: tuple[str, ...]) -> Mapping[str, Any]:
    """A profile document with its own ``extends`` applied (for multi-level chains)."""
    parent = doc.get("extends")
    if not isinstance(parent, str):
        return doc
    path = _find(parent)
    if path is None or parent in chain:
        return doc
    from convcalc.schema import loader

    shown = _shown(path)
    base = _read_doc(loader.read_text(path, shown), shown)
    return _merge(_resolved(base, (*chain, parent)), doc)


def _family(device_class: str) -> str:
    """Which default efficiency set a class uses."""
    if device_class in ("gpu", "edge-gpu"):
        return "gpu"
    if device_class == "mcu":
        return "mcu"
    return "cpu"


def figure_paths(profile: DeviceProfile) -> Iterable[str]:
    """Field paths of every hardware figure and budget the profile states (each needs a
    source in a bundled profile)."""
    for key, value in profile.peak_flops.items():
        if value is not None:
            yield f"peak_flops.{key}"
    for key in ("bandwidth_Bps", "memory_bytes", "sram_bytes", "flash_bytes"):
        if getattr(profile, key) is not None:
            yield key
    for b in profile.budgets:
        yield f"budgets.{b.name}"
