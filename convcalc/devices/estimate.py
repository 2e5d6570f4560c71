"""The device estimate: a per-layer roofline with efficiency factors, plus verdicts.

For every layer, ``time = max(flops / (peak x eff_op), traffic / (bandwidth x eff_bw)) +
overhead``; the larger term names the bound the layer hits. A roofline cannot see cache
behaviour, kernel quality or scheduling, so each profile's efficiency factors and overhead
are fitted on published latencies (benchmarks/calibrate.py) and docs/devices.md reports how
far the estimates land from those measurements. What the model does capture is exactly what
multiply-add counts miss (ShuffleNet V2, Ma et al. 2018): memory traffic, many small layers
(overheads), and depthwise/grouped convolutions and element-wise ops running far below peak.

Verdicts are exact where they can be: parameter, MAC and memory budgets compare integers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from convcalc import num
from convcalc.devices.profile import (
    DeviceProfile,
    Runtime,
    Uncertainty,
    command_line_profile,
    with_budgets,
)
from convcalc.errors import UsageError
from convcalc.graph import Step, alive_after, live_totals
from convcalc.layers.base import MATMUL_CLASSES, VIEW
from convcalc.report import DTYPE_BYTES, Report
from convcalc.units import binary_bytes as _bytes


@dataclass(frozen=True)
class LayerTime:
    """One layer on the device. ``fused_into`` names the layer a fused op runs inside."""

    name: str
    op_class: str
    flops: float
    traffic_bytes: float
    compute_s: float
    memory_s: float
    overhead_s: float
    time_s: float
    bound: str  # "compute" or "memory"
    fused_into: str | None = None

    def to_json(self, total: float) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "time_s": self.time_s,
            "bound": self.bound,
            "op_class": self.op_class,
            "share": self.time_s / total if total else 0.0,
        }
        if self.fused_into:
            out["fused_into"] = self.fused_into
        return out


@dataclass(frozen=True)
class Verdict:
    """One limit checked: ``margin`` is headroom (limit - value for a maximum, value -
    limit for a minimum): negative when it fails. ``reason`` says why, in words."""

    budget: str
    limit: float
    value: float
    passed: bool
    kind: str = "max"  # "max", or "min" for throughput
    reason: str = ""
    minimum: float | None = None  # the lower end of a range budget (ShuffleNet's 10-150M)

    @property
    def margin(self) -> float:
        return self.limit - self.value if self.kind == "max" else self.value - self.limit

    @property
    def ratio(self) -> float:
        """value / limit (1.0 is exactly at the limit)."""
        return self.value / self.limit if self.limit else float("inf")

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "budget": self.budget,
            "limit": _plain(self.limit),
            "value": _plain(self.value),
            "pass": self.passed,
            "kind": self.kind,
            "margin": _plain(self.margin),
            "ratio": self.ratio,
            "reason": self.reason,
        }
        if self.minimum is not None:
            out["min"] = _plain(self.minimum)
        return out


@dataclass
class DeviceEstimate:
    """A network on a device: per-layer times, totals and verdicts."""

    device: str
    title: str
    device_class: str
    dtype: str
    batch: int
    layers: list[LayerTime]
    latency_s: float | None
    throughput_per_s: float | None
    flops: float
    traffic_bytes: float
    param_bytes: int
    peak_activation_bytes: int
    peak_layer: str
    verdicts: list[Verdict]
    fits: bool
    warnings: list[str] = field(default_factory=list)
    source: str = ""
    uncertainty: Uncertainty | None = None
    runtime: Runtime | None = None
    step_time_s: float | None = None  # one training step, when the report has one
    max_batch: int | None = None  # the largest batch that fits the memory, when asked

    @property
    def latency_band_s(self) -> tuple[float, float] | None:
        """Where the measured latency typically lands: the estimate times the profile's
        calibrated band (None without a latency or a band)."""
        if self.latency_s is None or self.uncertainty is None:
            return None
        return (self.latency_s * self.uncertainty.low, self.latency_s * self.uncertainty.high)

    @property
    def basis(self) -> str:
        """What the estimate rests on, in words."""
        if self.uncertainty is None:
            return "no calibration band: the profile states none"
        return self.uncertainty.text()

    @property
    def passed(self) -> bool:
        """Every verdict passes (memory fit and every budget): the --fail-over-budget gate."""
        return all(v.passed for v in self.verdicts)

    @property
    def failed(self) -> list[Verdict]:
        return [v for v in self.verdicts if not v.passed]

    @property
    def arithmetic_intensity(self) -> float | None:
        """FLOPs per byte of memory traffic over the whole network."""
        return self.flops / self.traffic_bytes if self.traffic_bytes else None

    def bound_shares(self) -> dict[str, float]:
        """Share of the latency spent in compute-bound and memory-bound layers and in
        per-layer overhead."""
        total = self.latency_s or 0.0
        out = {"compute": 0.0, "memory": 0.0, "overhead": 0.0}
        if not total:
            return out
        for t in self.layers:
            out["overhead"] += t.overhead_s / total
            out[t.bound] += (t.time_s - t.overhead_s) / total
        return out

    def to_json(self) -> dict[str, Any]:
        """The ``device`` section of ``convcalc.analysis/1`` (DESIGN.md section 3)."""
        total = self.latency_s or 0.0
        band = self.latency_band_s
        return {
            "name": self.device,
            "title": self.title,
            "class": self.device_class,
            "source": self.source,
            "runtime": None if self.runtime is None else self.runtime.to_json(),
            "dtype": self.dtype,
            "batch": self.batch,
            "latency_s": self.latency_s,
            "latency_band_s": None if band is None else list(band),
            "basis": None if self.uncertainty is None else self.uncertainty.to_json(),
            "throughput_per_s": self.throughput_per_s,
            "flops": _plain(self.flops),
            "traffic_bytes": _plain(self.traffic_bytes),
            "arithmetic_intensity": self.arithmetic_intensity,
            "param_bytes": self.param_bytes,
            "peak_activation_bytes": self.peak_activation_bytes,
            "layers": [t.to_json(total) for t in self.layers],
            "verdicts": [v.to_json() for v in self.verdicts],
            "fits": self.fits,
            "pass": self.passed,
            "warnings": list(self.warnings),
            **(
                {}
                if self.step_time_s is None
                else {
                    "step_time_s": self.step_time_s,
                    "train_throughput_per_s": self.batch / self.step_time_s,
                }
            ),
            **({} if self.max_batch is None else {"max_batch": self.max_batch}),
        }


def _plain(x: float) -> float | int:
    return int(x) if float(x).is_integer() and abs(x) < 2**63 else float(x)


def _concrete(value: Any, what: str) -> float:
    if not num.is_concrete(value):
        raise UsageError(
            f"a device estimate needs concrete numbers, but {what} is symbolic ({value})",
            hint="bind every parameter (leave out --symbolic) to estimate on a device",
        )
    return float(value)


def estimate(
    report: Report,
    profile: DeviceProfile,
    *,
    dtype: str | None = None,
    batch: int | None = None,
    max_batch: bool = False,
) -> DeviceEstimate:
    """Time ``report`` on ``profile`` and check every budget and memory limit. Never
    prints; raises UsageError for symbolic reports.

    The batch is ``batch`` when given (a command-line value), else the report's own when it
    was analysed at more than one sample, else the profile's. Parameter, MAC and FLOP
    budgets are per sample; memory, latency and throughput are for the whole batch.

    A report with a training step (``report.training``) is judged on the step's peak
    memory, and gets a step time: each layer's forward time with its compute scaled by
    (forward + backward FLOPs) / forward FLOPs, its memory time by 3 (backward reads what
    the layer kept and the output's gradient, and writes the input's and the weights'
    gradients) and its overhead by 2, plus the optimizer step's memory traffic: an
    estimate from the inference calibration, never fitted on training times.
    ``max_batch`` adds the largest batch whose memory fits."""
    dtype = dtype or profile.dtype
    if dtype not in DTYPE_BYTES:
        raise UsageError(f"unknown dtype {dtype!r}; use one of {', '.join(DTYPE_BYTES)}")
    per = report.batch
    if not num.is_concrete(per):
        raise UsageError("a device estimate needs a concrete batch; give --batch a number")
    if batch is None:
        batch = per if per != 1 else profile.batch
    if batch < 1:
        raise UsageError(f"batch must be at least 1, got {batch}")
    width = DTYPE_BYTES[dtype]
    warnings: list[str] = []

    rows = report.layers
    classes = [r.cost_class for r in rows]
    # Per-sample element counts -> bytes at the device dtype and batch.
    params = [_concrete(r.params, f"params of {r.name}") for r in rows]
    io_elems = [
        _concrete(r.input_elements + r.output_elements, f"traffic of {r.name}") for r in rows
    ]
    flops = [_concrete(r.flops, f"flops of {r.name}") * batch / per for r in rows]
    traffic = [(batch * e + p) * width for e, p in zip(io_elems, params, strict=True)]

    # Fusion: an op named in the profile's `fused` list whose only input is the layer just
    # before it runs inside that layer's kernel (folded batch norm, fused activation): its
    # arithmetic joins the host, its memory traffic and overhead disappear.
    host_of: dict[int, int] = {}
    index = {r.name: i for i, r in enumerate(rows)}
    for i, r in enumerate(rows):
        if r.type not in profile.fused or len(r.inputs) != 1 or i == 0:
            continue
        j = index.get(r.inputs[0])
        if j != i - 1:
            continue
        host = host_of.get(j, j)
        if classes[host] in MATMUL_CLASSES:
            host_of[i] = host
    host_flops = list(flops)
    for i, h in host_of.items():
        host_flops[h] += flops[i]

    layers: list[LayerTime] = []
    latency: float | None = None
    step: float | None = None
    if profile.has_hardware:
        peak = profile.peak(dtype)
        bandwidth = profile.bandwidth_Bps or 0.0
        eff_bw = profile.efficiency["bandwidth"]
        pending: dict[int, LayerTime] = {}
        for i, r in enumerate(rows):
            cls = classes[i]
            if cls == VIEW:
                layers.append(LayerTime(r.name, cls, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, "memory"))
                continue
            if i in host_of:
                host = rows[host_of[i]].name
                layers.append(
                    LayerTime(
                        r.name,
                        cls,
                        flops[i],
                        0.0,
                        0.0,
                        0.0,
                        0.0,
                        0.0,
                        pending[host_of[i]].bound,
                        fused_into=host,
                    )
                )
                continue
            compute = host_flops[i] / (peak * profile.efficiency[cls])
            memory = traffic[i] / (bandwidth * eff_bw) if bandwidth else 0.0
            over = profile.overhead_s
            t = LayerTime(
                r.name,
                cls,
                host_flops[i],
                traffic[i],
                compute,
                memory,
                over,
                max(compute, memory) + over,
                "compute" if compute >= memory else "memory",
            )
            pending[i] = t
            layers.append(t)
        latency = sum(t.time_s for t in layers)
        if report.training is not None:
            step = _step_time(report, layers, per, batch, bandwidth * eff_bw)

    t = report.totals
    param_count = int(_concrete(t.params, "the parameter count"))
    peak = device_peak(report, host_of, classes)
    param_bytes = param_count * width
    peak_act = peak.elements * width * batch
    train = report.training
    need = None
    if train is not None:
        need = train.peak_at(batch) if num.is_concrete(train.batch) else None
    verdicts = _verdicts(
        profile, t, per, dtype, batch, latency, param_bytes, peak_act, peak, warnings, need, train
    )
    fits = all(v.passed for v in verdicts if v.budget in _MEMORY_VERDICTS)
    if profile.budget_input is not None and tuple(report.input) != profile.budget_input:
        shown = "x".join(str(v) for v in profile.budget_input)
        warnings.append(
            f"the budgets of {profile.name} are defined at input {shown}; this network's "
            f"input is {'x'.join(str(v) for v in report.input)}"
        )
    return DeviceEstimate(
        device=profile.name,
        title=profile.title,
        device_class=profile.device_class,
        dtype=dtype,
        batch=batch,
        layers=layers,
        latency_s=latency,
        throughput_per_s=(batch / latency) if latency else None,
        flops=sum(flops),
        traffic_bytes=sum(
            tr for i, tr in enumerate(traffic) if classes[i] != VIEW and i not in host_of
        ),
        param_bytes=param_bytes,
        peak_activation_bytes=peak_act,
        peak_layer=peak.layer,
        verdicts=verdicts,
        fits=fits,
        warnings=warnings,
        source=profile.source,
        uncertainty=profile.uncertainty if profile.has_hardware else None,
        runtime=profile.runtime,
        step_time_s=step,
        max_batch=_max_batch(profile, train, param_bytes, peak.elements * width)
        if max_batch
        else None,
    )


def _step_time(
    report: Report, layers: Sequence[LayerTime], per: int, batch: int, bw: float
) -> float:
    """One training step on the device (see :func:`estimate`)."""
    train = report.training
    total = 0.0
    for row, lt, tl in zip(report.layers, layers, train.layers, strict=True):
        fwd = float(row.flops)
        ratio = (fwd + float(tl.backward_flops)) / fwd if fwd else 2.0
        total += lt.compute_s * ratio + lt.memory_s * 3 + lt.overhead_s * 2
    states = train.optimizer_bytes // max(train.weight_bytes, 1)
    # the step reads weights, gradients and state, and writes weights and state
    traffic = train.weight_bytes * (3 + 2 * states)
    return total * batch / per + (traffic / bw if bw else 0.0)


def _max_batch(p: DeviceProfile, train: Any, param_bytes: int, per_sample: int) -> int | None:
    """The largest batch whose memory fits the profile's memory (None: it states none)."""
    memory = p.sram_bytes if p.is_mcu else p.memory_bytes
    if memory is None:
        raise UsageError(
            f"{p.name} states no memory to fit a batch in",
            hint="give one: --budget memory=16GiB",
        )
    if train is not None:
        return train.max_batch(memory)
    fixed = 0 if p.is_mcu else param_bytes  # an MCU keeps its weights in flash
    if fixed > memory:
        return 0
    return (memory - fixed) // per_sample if per_sample else None


_MEMORY_VERDICTS = ("memory_bytes", "sram_bytes", "flash_bytes")


@dataclass(frozen=True)
class Peak:
    """Peak activation memory as the device runs the graph: fused ops work in place in
    their host's output and views alias their input, so neither allocates a tensor."""

    elements: int  # batch 1
    layer: str
    alive: tuple[tuple[str, int], ...]  # (tensor, elements), largest first


def device_peak(report: Report, host_of: dict[int, int], classes: Sequence[str]) -> Peak:
    """The liveness scan of the analysis (:func:`convcalc.graph.live_totals`) over the
    layers that really allocate on the device: a fused op writes into its host's tensor and
    a view aliases its input."""
    rows = report.layers
    index = {r.name: i for i, r in enumerate(rows)}
    owner: dict[str, str] = {}  # tensor name -> the allocation it lives in
    size: dict[str, int] = {}
    initial = [s for s in dict.fromkeys(s for r in rows for s in r.inputs) if s not in index]
    for name in initial[:1]:
        owner[name] = name
        size[name] = int(num.prod(int(v) for v in report.input))
    steps: list[Step] = []
    for i, r in enumerate(rows):
        reads = tuple(owner.get(s, s) for s in r.inputs)
        elems = int(_concrete(r.output_elements, f"activations of {r.name}"))
        if i in host_of:
            host = owner[rows[host_of[i]].name]
            owner[r.name] = host
            size[host] = max(size[host], elems)
            steps.append(Step(None, reads))
        elif classes[i] == VIEW and len(r.inputs) == 1 and reads[0] in size:
            owner[r.name] = reads[0]
            steps.append(Step(None, reads))
        else:
            owner[r.name] = r.name
            size[r.name] = elems
            steps.append(Step(r.name, reads))
    totals = live_totals(steps, size, initial[:1])
    if not totals:
        return Peak(0, "", ())
    at = max(range(len(totals)), key=lambda i: (totals[i], -i))
    alive = sorted(((t, size[t]) for t in alive_after(steps, at, initial[:1])), key=lambda x: -x[1])
    return Peak(totals[at], rows[at].name, tuple(alive))


def _fmt(value: float, budget: str) -> str:
    """A budget value in words: seconds as ms, counts and bytes as exact integers."""
    if budget == "latency_s":
        return f"{value * 1e3:.4g} ms"
    if budget == "throughput_per_s":
        return f"{value:.4g}/s"
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:.6g}"


def _over(value: float, limit: float) -> str:
    """'3.1x the limit, 123,456 over' - how far a value overshoots."""
    return f"{value / limit:.3g}x the limit, {_plain(value - limit):,} over"


def _verdicts(
    p: DeviceProfile,
    t: Any,
    per: int,
    dtype: str,
    batch: int,
    latency: float | None,
    param_bytes: int,
    peak_act: int,
    peak: Peak,
    warnings: list[str],
    train_need: int | None = None,
    train: Any = None,
) -> list[Verdict]:
    out: list[Verdict] = []
    at = f"{dtype}, batch {batch}"
    peak_where = f"while '{peak.layer}' runs" if peak.layer else ""

    # Memory fit.
    if p.is_mcu:
        if p.sram_bytes is not None:
            ok = peak_act <= p.sram_bytes
            why = (
                f"peak activations {peak_act:,} B ({_bytes(peak_act)}, {at}) {peak_where} "
                f"{'fit in' if ok else 'exceed'} SRAM {p.sram_bytes:,} B "
                f"({_bytes(p.sram_bytes)})"
            )
            if not ok:
                scale = DTYPE_BYTES[dtype] * batch
                top = ", ".join(f"{n} {e * scale:,} B" for n, e in peak.alive[:3])
                more = f" and {len(peak.alive) - 3} more" if len(peak.alive) > 3 else ""
                why += (
                    f": {_over(peak_act, p.sram_bytes)}. Alive at once there: {top}{more}; "
                    "lower the resolution or the early widths"
                )
            out.append(Verdict("sram_bytes", p.sram_bytes, peak_act, ok, reason=why))
        if p.flash_bytes is not None:
            ok = param_bytes <= p.flash_bytes
            why = (
                f"weights {param_bytes:,} B ({_bytes(param_bytes)}, {dtype}) "
                f"{'fit in' if ok else 'exceed'} flash {p.flash_bytes:,} B "
                f"({_bytes(p.flash_bytes)})"
            )
            if not ok:
                why += f": {_over(param_bytes, p.flash_bytes)}; fewer or narrower layers needed"
            out.append(Verdict("flash_bytes", p.flash_bytes, param_bytes, ok, reason=why))
    elif p.memory_bytes is not None and train is not None:
        ok = train_need is not None and train_need <= p.memory_bytes
        what = f"training, {train.optimizer}, {train.precision}, batch {batch}"
        why = (
            f"{what}: peak {_bytes(train_need or 0)} of {_bytes(p.memory_bytes)} "
            f"({'fits' if ok else 'does not fit'}; weights, gradients and optimizer state "
            f"{_bytes(train.state_bytes)}, the rest activations and what backward keeps)"
        )
        if not ok and train_need is not None:
            why += f": {_over(train_need, p.memory_bytes)}"
        out.append(Verdict("memory_bytes", p.memory_bytes, train_need or 0, ok, reason=why))
    elif p.memory_bytes is not None:
        need = param_bytes + peak_act
        ok = need <= p.memory_bytes
        why = (
            f"inference, {at}: weights {_bytes(param_bytes)} + peak activations "
            f"{_bytes(peak_act)} = {_bytes(need)} {'within' if ok else 'exceed'} memory "
            f"{_bytes(p.memory_bytes)}"
        )
        if not ok:
            why += f": {_over(need, p.memory_bytes)}"
        out.append(Verdict("memory_bytes", p.memory_bytes, need, ok, reason=why))

    values: dict[str, float | None] = {
        "params": _concrete(t.params, "params"),
        "macs": _concrete(t.macs // per, "macs"),
        "flops": _concrete(t.flops // per, "flops"),
        "param_bytes": param_bytes,
        "peak_activation_bytes": peak_act,
        "latency_s": latency,
        "throughput_per_s": (batch / latency) if latency else None,
    }
    for b in p.budgets:
        value = values[b.name]
        if value is None:
            warnings.append(f"budget {b.name} not checked: {p.name} has no hardware figures")
            continue
        v, hi, lo = _fmt(value, b.name), b.max, b.min
        if hi is not None:
            ok = value <= hi and (lo is None or value >= lo)
            if lo is not None and value < lo:
                why = f"{b.name} {v} is below the range's lower end {_fmt(lo, b.name)}"
            else:
                why = f"{b.name} {v} {'<=' if ok else '>'} {_fmt(hi, b.name)}" + (
                    "" if ok else f" ({value / hi:.3g}x the budget)"
                )
            out.append(Verdict(b.name, hi, value, ok, "max", why, minimum=lo))
        else:
            assert lo is not None
            ok = value >= lo
            why = f"{b.name} {v} {'>=' if ok else '<'} {_fmt(lo, b.name)}"
            out.append(Verdict(b.name, lo, value, ok, "min", why))
    return out


def estimate_on(
    report: Report,
    device: str | None = None,
    device_file: str | Path | None = None,
    dtype: str | None = None,
    batch: int | None = None,
    budgets: Sequence[tuple[str, Any]] = (),
    max_batch: bool = False,
) -> DeviceEstimate:
    """Roofline latency, memory fit and budget verdicts of a report on a device profile
    (a bundled or user profile by name, or a file), with ``budgets`` (from
    :func:`convcalc.values.parse_budget`) added to the profile's, or on their own when no
    profile is named."""
    from convcalc.devices.search import load_profile

    if device is None and device_file is None:
        profile = command_line_profile()
    else:
        profile = load_profile(device, path=device_file)
    profile = with_budgets(profile, budgets)
    return estimate(report, profile, dtype=dtype, batch=batch, max_batch=max_batch)
