"""The device profile file: the fields it may have, their checks, and the profile they build.

Every problem in a file is a :class:`DeviceProfileError` naming the file, the line and the
field, because a silently wrong figure here would make every estimate wrong. The checks run
in file-section order (header, base, class and defaults, hardware figures, memory,
efficiency, fused ops, budgets, sources), so a file with several problems always reports
the same first one.

Finding a profile by name (for ``extends``) is the caller's part: :func:`build` takes an
``open_profile`` function, which :mod:`convcalc.devices.search` supplies.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from fractions import Fraction
from typing import Any

from convcalc import expr
from convcalc.devices.profile import (
    BAND_SOURCES,
    MODES,
    UNITS,
    Budget,
    DeviceProfile,
    DeviceProfileError,
    Runtime,
    Uncertainty,
)
from convcalc.errors import ConvcalcError
from convcalc.layers.base import CONV, CONV1X1, ELEMENTWISE, GROUPED, LINEAR
from convcalc.report import DTYPE_BYTES

SCHEMA_KEY = "convcalc_device"
SCHEMA_VERSION = 1

#: Device classes; ``budget`` profiles hold limits only (no hardware figures).
CLASSES = ("gpu", "edge-gpu", "cpu", "phone-cpu", "mcu", "budget")

#: Op kinds with their own efficiency factor: the layer kinds' cost classes that take time
#: (see :data:`convcalc.layers.base.COST_CLASSES`; a view takes none).
OP_CLASSES = (CONV, CONV1X1, GROUPED, LINEAR, ELEMENTWISE)
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
        CONV: 0.5,
        CONV1X1: 0.5,
        GROUPED: 0.1,
        LINEAR: 0.3,
        ELEMENTWISE: 0.5,
        "bandwidth": 0.7,
    },
    "cpu": {
        CONV: 0.5,
        CONV1X1: 0.5,
        GROUPED: 0.2,
        LINEAR: 0.3,
        ELEMENTWISE: 0.3,
        "bandwidth": 0.3,
    },
    "mcu": {
        CONV: 0.15,
        CONV1X1: 0.15,
        GROUPED: 0.1,
        LINEAR: 0.15,
        ELEMENTWISE: 0.3,
        "bandwidth": 0.5,
    },
}
DEFAULT_OVERHEAD_S = {"gpu": 1e-5, "cpu": 2e-5, "mcu": 1e-4}

#: Every field a profile may have, with its meaning (the table in docs/devices.md).
FIELDS = {
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
    "runtime": "the software stack: framework, unit ("
    + ", ".join(UNITS)
    + "), mode ("
    + ", ".join(MODES)
    + ")",
    "calibration": "how the efficiency factors were obtained (text)",
    "uncertainty": "the error band and its basis (written by the calibration)",
    "sources": "where each figure comes from: field path -> text",
    "notes": "free text",
}

#: The keys of ``runtime`` and of ``uncertainty``.
RUNTIME_KEYS = ("framework", "unit", "mode")
UNCERTAINTY_KEYS = ("basis", "low", "high", "rows", "networks", "band", "band_rows")
BASES = ("calibrated", "class defaults")

#: A framework name: 'tflite', 'tensorrt', 'onnxruntime', 'coreml'...
FRAMEWORK_RE = re.compile(r"[a-z][a-z0-9_.\-]*\Z")

#: A profile name: the ``name`` field, a ``--device`` argument, a file's stem.
NAME_RE = re.compile(r"[a-z0-9][a-z0-9_.\-]*\Z")

#: Opens a profile by name: its document and the name its file is shown by, or None.
Opener = Callable[[str], tuple[Any, str] | None]


def read_doc(text: str, shown: str) -> Any:
    """The YAML document of a profile file, which must be a mapping."""
    from convcalc.schema import loader

    doc = loader.load_yaml(text, shown)
    if not isinstance(doc, dict):
        raise DeviceProfileError("a device profile is a mapping of fields", file=shown, line=1)
    return doc


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


def efficiency_family(device_class: str) -> str:
    """Which default efficiency set a class uses."""
    if device_class in ("gpu", "edge-gpu"):
        return "gpu"
    if device_class == "mcu":
        return "mcu"
    return "cpu"


# ---------------------------------------------------------------------------------------
# Typed access to fields


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
        self, value: Any, path: str, mapping: Any, key: str, *, allow_zero: bool = False
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
        if number < 0 or (number == 0 and not allow_zero):
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

    def optional_number(
        self, mapping: Any, key: str, path: str | None = None, *, allow_zero: bool = False
    ) -> float | None:
        """``mapping[key]`` as a number, or None where it is absent or null."""
        value = mapping.get(key)
        if value is None:
            return None
        return self.number(value, path or key, mapping, key, allow_zero=allow_zero)

    def optional_integer(self, mapping: Any, key: str) -> int | None:
        """``mapping[key]`` as a whole number, or None where it is absent or null."""
        value = mapping.get(key)
        return None if value is None else self.integer(value, key, mapping, key)

    def text_field(self, mapping: Any, key: str, default: str) -> str:
        return self.text(mapping.get(key, default), key, mapping, key)

    def section(self, data: Any, key: str, expected: str) -> Any:
        """A nested mapping field (empty where absent); ``expected`` says what it holds."""
        raw = data.get(key) or {}
        if not isinstance(raw, dict):
            raise self.fail(key, expected, data, key)
        return raw

    def required(self, data: Any, key: str, why: str) -> Any:
        """A field the profile must set (itself or through its base)."""
        if data.get(key) is None:
            raise self.fail(key, f"missing ({why})", self.doc, hint=f"{key}: {FIELDS[key]}")
        return data[key]


def _unknown_dtype(dtype: Any) -> str:
    return f"unknown dtype {dtype!r}; use one of " + ", ".join(DTYPE_BYTES)


# ---------------------------------------------------------------------------------------
# Building a profile, one section of the file at a time


def build(doc: Any, shown: str, chain: tuple[str, ...], open_profile: Opener) -> DeviceProfile:
    """Validate a profile document (and, through ``extends``, its bases) into a profile.

    ``chain`` is the names of the profiles that extend this one, to refuse a cycle."""
    f = _Fields(doc, shown)
    name = _header(f)
    data = _with_base(f, name, chain, open_profile)
    device_class, title = _identity(f, data, name)
    dtype, batch, threads = _run_defaults(f, data)
    peaks = _peaks(f, data)
    bandwidth, memory, sram, flash = _memory(f, data)
    _check_hardware(f, data, device_class, dtype, peaks)
    family = efficiency_family(device_class)
    efficiency = _efficiency(f, data, family)
    overhead = _overhead(f, data, family)
    fused = _fused(f, data)
    budgets, budget_input = _budgets(f, data, device_class, peaks)
    sources = _sources(f, data)
    runtime = _runtime(f, data)
    uncertainty = _uncertainty(f, data)
    return DeviceProfile(
        name=name,
        title=title,
        device_class=device_class,
        dtype=dtype,
        batch=batch,
        peak_flops=peaks,
        bandwidth_Bps=bandwidth,
        memory_bytes=memory,
        sram_bytes=sram,
        flash_bytes=flash,
        efficiency=efficiency,
        overhead_s=overhead,
        fused=fused,
        budgets=budgets,
        budget_input=budget_input,
        threads=threads,
        sources=sources,
        source=shown,
        calibration=f.text_field(data, "calibration", ""),
        notes=f.text_field(data, "notes", ""),
        extends=doc.get("extends"),
        runtime=runtime,
        uncertainty=uncertainty,
    )


def _header(f: _Fields) -> str:
    """Field names, schema version and profile name, checked on the file's own fields
    before anything else: a typo in a key or a file for another convcalc version would
    otherwise surface as a confusing error about some other field. Returns the name."""
    doc = f.doc
    for key in doc:
        if key not in FIELDS:
            raise f.fail(key, "unknown field", doc, key, hint="fields are: " + ", ".join(FIELDS))
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
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise f.fail(
            "name",
            f"{name!r} is not a profile name (lower case letters, digits, '-', '_', '.')",
            doc,
            "name",
        )
    return name


def _with_base(
    f: _Fields, name: str, chain: tuple[str, ...], open_profile: Opener
) -> Mapping[str, Any]:
    """``extends``: the fields the rest of the checks read, the base's merged under the
    file's own. The base must be valid on its own, so its errors point into its file and a
    budget profile cannot inherit a broken device."""
    doc = f.doc
    extends = doc.get("extends")
    if extends is None:
        return doc
    if not isinstance(extends, str):
        raise f.fail("extends", "expected a profile name", doc, "extends")
    if extends in chain or extends == name:
        raise f.fail(
            "extends",
            f"profile {extends!r} extends itself ({' -> '.join((*chain, name, extends))})",
            doc,
            "extends",
        )
    opened = open_profile(extends)
    if opened is None:
        raise f.fail(
            "extends",
            f"unknown profile {extends!r}",
            doc,
            "extends",
            hint="`convcalc devices` lists the profiles",
        )
    base_doc, base_shown = opened
    build(base_doc, base_shown, (*chain, name), open_profile)
    return _merge(_resolved(base_doc, (*chain, name), open_profile), doc)


def _resolved(doc: Mapping[str, Any], chain: tuple[str, ...], open_profile: Opener) -> Any:
    """A profile document with its own ``extends`` applied (for multi-level chains)."""
    parent = doc.get("extends")
    if not isinstance(parent, str) or parent in chain:
        return doc
    opened = open_profile(parent)
    if opened is None:
        return doc
    return _merge(_resolved(opened[0], (*chain, parent), open_profile), doc)


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


def _identity(f: _Fields, data: Any, name: str) -> tuple[str, str]:
    """Class and title. The class decides which figures are required and which default
    efficiencies apply, so it is required and checked first. Returns (class, title)."""
    device_class = f.required(data, "class", "every profile has a class")
    if device_class not in CLASSES:
        raise f.fail(
            "class",
            f"unknown class {device_class!r}; use one of " + ", ".join(CLASSES),
            data,
            "class",
        )
    return device_class, f.text_field(data, "title", name)


def _run_defaults(f: _Fields, data: Any) -> tuple[str, int, int | None]:
    """What an estimate runs at unless told otherwise: dtype (fp32) and batch (1), and the
    threads the peak figures assume. Returns (dtype, batch, threads)."""
    dtype = data.get("dtype", "fp32")
    if dtype not in DTYPE_BYTES:
        raise f.fail("dtype", _unknown_dtype(dtype), data, "dtype")
    batch = f.integer(data.get("batch", 1), "batch", data, "batch")
    return dtype, batch, f.optional_integer(data, "threads")


def _peaks(f: _Fields, data: Any) -> dict[str, float | None]:
    """Hardware figures: peak FLOP/s per dtype. A null peak is kept as None, so a profile
    can state that its device has no such path (and ``--dtype`` says so)."""
    raw_peaks = f.section(data, "peak_flops", "expected a mapping of dtype to FLOP/s")
    peaks: dict[str, float | None] = {}
    for key in raw_peaks:
        if key not in DTYPE_BYTES:
            raise f.fail(f"peak_flops.{key}", _unknown_dtype(key), raw_peaks, key)
        peaks[key] = f.optional_number(raw_peaks, key, f"peak_flops.{key}")
    return peaks


def _memory(f: _Fields, data: Any) -> tuple[float | None, int | None, int | None, int | None]:
    """Memory figures: bandwidth (the memory-bound side of the roofline) and the
    capacities the fit verdicts check. Each is optional here; :func:`_check_hardware`
    says which a class needs. Returns (bandwidth, memory, sram, flash)."""
    bandwidth = f.optional_number(data, "bandwidth_Bps")
    memory = f.optional_integer(data, "memory_bytes")
    sram = f.optional_integer(data, "sram_bytes")
    flash = f.optional_integer(data, "flash_bytes")
    return bandwidth, memory, sram, flash


def _check_hardware(
    f: _Fields, data: Any, device_class: str, dtype: str, peaks: Mapping[str, float | None]
) -> None:
    """A device (any class but ``budget``) must state what its estimate reads: the peak at
    its own dtype, the bandwidth, and the memory its fit verdict checks (SRAM and flash on
    a microcontroller, where activations and weights live apart)."""
    if device_class == "budget":
        return
    if peaks.get(dtype) is None:
        raise f.fail(
            f"peak_flops.{dtype}",
            f"missing (the profile's dtype is {dtype}, so its peak is needed)",
            data.get("peak_flops") or data,
            hint="add it under peak_flops, or change dtype",
        )
    f.required(data, "bandwidth_Bps", "the memory-bound side of the roofline needs it")
    if device_class == "mcu":
        f.required(data, "sram_bytes", "a microcontroller's activations live in SRAM")
        f.required(data, "flash_bytes", "a microcontroller's weights live in flash")
    else:
        f.required(data, "memory_bytes", "the memory-fit verdict needs it")


def _efficiency(f: _Fields, data: Any, family: str) -> dict[str, float]:
    """Efficiency: the fraction of peak each op kind reaches (and of bandwidth). Factors
    the file leaves out come from its class's calibration priors, so a user's own profile
    works without a calibration; each must be a fraction, at most 1."""
    eff: dict[str, float] = dict(DEFAULT_EFFICIENCY[family])
    raw_eff = f.section(data, "efficiency", "expected a mapping of op kind to a fraction")
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
    return eff


def _overhead(f: _Fields, data: Any, family: str) -> float:
    """The fixed time per layer (launch, dispatch), defaulting to the class's prior. Zero
    is allowed: a runtime may hide it entirely."""
    overhead = f.optional_number(data, "overhead_s", allow_zero=True)
    return DEFAULT_OVERHEAD_S[family] if overhead is None else overhead


def _fused(f: _Fields, data: Any) -> tuple[str, ...]:
    """Ops the runtime folds into the layer before them. Each must be a known op, since a
    misspelt name would silently fuse nothing."""
    fused = data.get("fused") or []
    if not isinstance(fused, list) or not all(isinstance(x, str) for x in fused):
        raise f.fail("fused", "expected a list of op names", data, "fused")
    from convcalc.layers import REGISTRY

    for i, op in enumerate(fused):
        if op not in REGISTRY:
            raise f.fail(
                f"fused[{i}]",
                f"unknown op {op!r}",
                fused,
                None,
                hint="`convcalc layers` lists the ops",
            )
    return tuple(fused)


def _budgets(
    f: _Fields, data: Any, device_class: str, peaks: Mapping[str, float | None]
) -> tuple[tuple[Budget, ...], tuple[int, ...] | None]:
    """Budgets: the limits checked against a network, and the input shape they are defined
    at. A budget profile exists to set limits, so it must set one; a time budget needs
    hardware figures (its own or its base's) to be estimated against.
    Returns (budgets, input shape)."""
    raw_budgets = f.section(data, "budgets", "expected a mapping")
    budgets: list[Budget] = []
    budget_input: tuple[int, ...] | None = None
    for key, value in raw_budgets.items():
        if key == "input":
            budget_input = _budget_input(f, raw_budgets, value)
        else:
            budgets.append(_budget(f, raw_budgets, key, value))
    if device_class == "budget" and not budgets:
        raise f.fail("budgets", "missing (a budget profile sets at least one limit)", f.doc)
    if any(b.name in ("latency_s", "throughput_per_s") for b in budgets) and not any(
        v is not None for v in peaks.values()
    ):
        raise f.fail(
            "budgets",
            "a latency or throughput budget needs hardware figures to estimate against",
            raw_budgets,
            hint="add 'extends: <device>'",
        )
    return tuple(budgets), budget_input


def _budget_input(f: _Fields, raw_budgets: Any, value: Any) -> tuple[int, ...]:
    """``budgets.input``: the resolution the limits hold at, a non-empty shape."""
    path = "budgets.input"
    if not isinstance(value, list) or not value:
        raise f.fail(path, "expected a shape such as [3, 224, 224]", raw_budgets, "input")
    return tuple(f.integer(v, path, raw_budgets, "input") for v in value)


def _budget(f: _Fields, raw_budgets: Any, key: str, value: Any) -> Budget:
    """One budget: a bare number is a maximum (a minimum for ``throughput_per_s``), or a
    ``{min, max}`` mapping sets either or both bounds."""
    path = f"budgets.{key}"
    if key not in BUDGET_KEYS:
        raise f.fail(
            path,
            "unknown budget; use one of " + ", ".join(BUDGET_KEYS) + " (or input)",
            raw_budgets,
            key,
        )
    if not isinstance(value, dict):
        number = f.number(value, path, raw_budgets, key)
        return Budget(key, min=number) if key in MIN_BUDGETS else Budget(key, max=number)
    unknown = set(value) - {"max", "min"}
    if unknown:
        first = sorted(unknown)[0]
        raise f.fail(path, f"unknown key {first!r}; use max and/or min", value, first)
    lo = f.optional_number(value, "min", f"{path}.min")
    hi = f.optional_number(value, "max", f"{path}.max")
    if lo is None and hi is None:
        raise f.fail(path, "needs max or min", raw_budgets, key)
    if lo is not None and hi is not None and lo > hi:
        raise f.fail(path, f"min {lo:g} is above max {hi:g}", raw_budgets, key)
    return Budget(key, max=hi, min=lo)


def _sources(f: _Fields, data: Any) -> dict[str, str]:
    """Sources: where each figure comes from, by field path. Kept as text so a reviewer
    can check every figure; the bundled profiles must source every one (a test checks
    that with :func:`figure_paths`)."""
    raw_sources = f.section(data, "sources", "expected a mapping of field path to text")
    return {k: f.text(v, f"sources.{k}", raw_sources, k) for k, v in raw_sources.items()}


def _runtime(f: _Fields, data: Any) -> Runtime | None:
    """``runtime``: the framework, the unit it runs on and the mode (latency by default).
    The framework and unit are required once the section is there: a stack with no name
    says nothing."""
    if data.get("runtime") is None:
        return None
    raw = f.section(data, "runtime", "expected a mapping: framework, unit, mode")
    for key in raw:
        if key not in RUNTIME_KEYS:
            raise f.fail(f"runtime.{key}", "unknown key; use " + ", ".join(RUNTIME_KEYS), raw, key)
    framework = raw.get("framework")
    if not isinstance(framework, str) or not FRAMEWORK_RE.match(framework):
        raise f.fail(
            "runtime.framework",
            f"expected a framework name such as tflite or tensorrt, got {framework!r}",
            raw,
            "framework" if "framework" in raw else None,
        )
    unit = raw.get("unit")
    if unit not in UNITS:
        raise f.fail(
            "runtime.unit",
            f"unknown unit {unit!r}; use one of " + ", ".join(UNITS),
            raw,
            "unit" if "unit" in raw else None,
        )
    mode = raw.get("mode", "latency")
    if mode not in MODES:
        raise f.fail(
            "runtime.mode", f"unknown mode {mode!r}; use one of " + ", ".join(MODES), raw, "mode"
        )
    return Runtime(framework, unit, mode)


def _uncertainty(f: _Fields, data: Any) -> Uncertainty | None:
    """``uncertainty``: the error band the calibration measured, and its basis. Written by
    benchmarks/calibrate.py, but checked like any field: a band with low above high, or a
    basis the estimate cannot name, would mislead every estimate."""
    if data.get("uncertainty") is None:
        return None
    raw = f.section(data, "uncertainty", "expected a mapping: " + ", ".join(UNCERTAINTY_KEYS))
    for key in UNCERTAINTY_KEYS:
        if key not in raw:
            raise f.fail(f"uncertainty.{key}", "missing", raw)
    for key in raw:
        if key not in UNCERTAINTY_KEYS:
            raise f.fail(
                f"uncertainty.{key}",
                "unknown key; use " + ", ".join(UNCERTAINTY_KEYS),
                raw,
                key,
            )
    if raw["basis"] not in BASES:
        raise f.fail(
            "uncertainty.basis",
            f"unknown basis {raw['basis']!r}; use one of " + ", ".join(BASES),
            raw,
            "basis",
        )
    if raw["band"] not in BAND_SOURCES:
        raise f.fail(
            "uncertainty.band",
            f"unknown band source {raw['band']!r}; use one of " + ", ".join(BAND_SOURCES),
            raw,
            "band",
        )
    low = f.number(raw["low"], "uncertainty.low", raw, "low")
    high = f.number(raw["high"], "uncertainty.high", raw, "high")
    if low > high:
        raise f.fail("uncertainty.high", f"{high:g} is below low {low:g}", raw, "high")
    rows = f.integer(raw["rows"], "uncertainty.rows", raw, "rows") if raw["rows"] else 0
    networks = (
        f.integer(raw["networks"], "uncertainty.networks", raw, "networks")
        if raw["networks"]
        else 0
    )
    band_rows = f.integer(raw["band_rows"], "uncertainty.band_rows", raw, "band_rows")
    return Uncertainty(raw["basis"], low, high, rows, networks, raw["band"], band_rows)
