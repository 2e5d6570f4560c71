"""The header and cells of every table the formats print, as text.

A terminal table, its markdown and its CSV show the same cells, so the cells are built once
here and each format module only lays them out (CSV swaps in raw numbers where a
spreadsheet needs them). Nothing here imports rich or sympy unless a value is symbolic.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, overload

from convcalc import num
from convcalc.render.sanitize import visible
from convcalc.render.text import (
    count,
    exact,
    formula,
    human,
    human_bytes,
    rate,
    ratio_text,
    rf_text,
    seconds,
    shape,
)
from convcalc.units import plain

if TYPE_CHECKING:
    from convcalc.api import ArchInfo
    from convcalc.compare import Comparison
    from convcalc.devices import DeviceEstimate, DeviceProfile, LayerTime
    from convcalc.diagnostics import Diagnostic
    from convcalc.explain import Explanation, Step
    from convcalc.layers.base import LayerKind
    from convcalc.report import LayerRow, Report
    from convcalc.sweep import Sweep
    from convcalc.training import Training

Table = tuple[list[str], list[list[str]]]  # a header and its rows

# ---------------------------------------------------------------------------------------
# Analysis reports

LAYER_KEYS = (
    "name",
    "type",
    "output_shape",
    "params",
    "macs",
    "flops",
    "activation_bytes",
    "traffic_bytes",
    "rf",
)


def layer_cells(row: LayerRow) -> list[str]:
    """One layer's cells in :data:`LAYER_KEYS` order, counts with thousands separators."""
    return [
        row.name,
        row.type,
        shape(row.output_shape),
        exact(row.params),
        exact(row.macs),
        exact(row.flops),
        exact(row.activation_bytes),
        exact(row.traffic_bytes),
        rf_text(row),
    ]


def totals_rows(report: Report) -> list[tuple[str, str, str]]:
    """(metric, exact, approximation) for each total of a report."""
    t = report.totals
    rows = [
        ("params", exact(t.params), human(t.params)),
        *(
            [("buffers (not trained)", exact(report.buffers), human(report.buffers))]
            if not num.is_concrete(report.buffers) or report.buffers
            else []
        ),
        ("MACs", exact(t.macs), human(t.macs)),
        ("FLOPs", exact(t.flops), human(t.flops)),
        ("param memory", exact(t.param_bytes), human_bytes(t.param_bytes)),
        (
            "activation memory (all outputs)",
            exact(t.activation_bytes),
            human_bytes(t.activation_bytes),
        ),
        (
            "peak activation memory",
            exact(t.peak_activation_bytes),
            human_bytes(t.peak_activation_bytes) + f" at {t.peak_layer}",
        ),
    ]
    if t.receptive_field is not None:
        h, w = t.receptive_field
        rows.append(("receptive field", f"{plain(h)}x{plain(w)}", ""))
    if report.batch != 1:
        rows.insert(0, ("batch", plain(report.batch), "every count but params is per batch"))
    if report.training is not None:
        rows += training_rows(report.training)
    return rows


def training_rows(tr: Training) -> list[tuple[str, str, str]]:
    """(metric, exact, approximation) for a training step's memory and FLOPs."""
    step = f"{tr.optimizer}, {tr.precision}, batch {plain(tr.batch)}" + (
        f", blocks of {tr.checkpoint} name parts checkpointed" if tr.checkpoint else ""
    )
    where = f"in {tr.peak_phase}" + (f" at {tr.peak_layer}" if tr.peak_layer else "")

    def b(label: str, value: Any, note: str = "") -> tuple[str, str, str]:
        return (label, exact(value), human_bytes(value) + (f" {note}" if note else ""))

    return [
        ("training step", step, "docs/training.md"),
        b("  weights (fp32)", tr.weight_bytes),
        b("  buffers (running statistics)", tr.buffer_bytes),
        b("  weight gradients", tr.grad_bytes),
        b(f"  optimizer state ({tr.optimizer})", tr.optimizer_bytes),
        b("  input batch", tr.input_bytes),
        b("  kept for backward", tr.saved_bytes),
        b("  peak memory", tr.peak_bytes, where),
        (
            "  FLOPs per step",
            exact(tr.step_flops),
            f"{human(tr.step_flops)} (forward {human(tr.forward_flops)}, backward "
            f"{human(tr.backward_flops)}"
            + (f" with {human(tr.recompute_flops)} run again" if tr.recompute_flops else "")
            + f", optimizer {human(tr.optimizer_flops)})",
        ),
    ]


def bindings_text(report: Report) -> str:
    """The report's parameter values, 'alpha=0.5, rho=0.714'."""
    return ", ".join(f"{k}={plain(v)}" for k, v in report.bindings.items())


# ---------------------------------------------------------------------------------------
# Comparisons, sweeps and explanations

#: The totals a comparison sets side by side: (title, field, approximate form).
COMPARED = (
    ("params", "params", human),
    ("MACs", "macs", human),
    ("FLOPs", "flops", human),
    ("param memory", "param_bytes", human_bytes),
    ("peak activation memory", "peak_activation_bytes", human_bytes),
)


def comparison_table(result: Comparison) -> Table:
    """Metric rows with each item's total and its ratio to the first item."""
    labels = [item.label for item in result.items]
    header = ["metric", *labels, *(f"{b} / {labels[0]}" for b in labels[1:])]
    rows = []
    ratios = result.ratios
    for title, key, approx in COMPARED:
        values = [getattr(r.totals, key) for r in result.reports]
        cells = [f"{exact(v)} ({approx(v)})" if num.is_concrete(v) else formula(v) for v in values]
        rows.append([title, *cells, *(ratio_text(r[key]) for r in ratios[1:])])
    rfs = [r.totals.receptive_field for r in result.reports]
    rows.append(
        [
            "receptive field",
            *("-" if f is None else f"{plain(f[0])}x{plain(f[1])}" for f in rfs),
            *("" for _ in labels[1:]),
        ]
    )
    return header, rows


def breakdown_table(result: Comparison, by: str) -> Table:
    """Params and MACs of each item per layer type or per stage (``by``)."""
    keys, tables = result.breakdown(by)
    labels = [item.label for item in result.items]
    header = [by, *(f"{lab} params" for lab in labels), *(f"{lab} MACs" for lab in labels)]
    rows = []
    for key in keys:
        params = [exact(t[key][0]) if key in t else "" for t in tables]
        macs = [exact(t[key][1]) if key in t else "" for t in tables]
        rows.append([key, *params, *macs])
    return header, rows


@overload
def sweep_table(result: Sweep) -> Table: ...


@overload
def sweep_table(result: Sweep, lazy: bool) -> tuple[list[str], Iterable[list[str]]]: ...


def sweep_table(result: Sweep, lazy: bool = False) -> Any:
    """One row per grid point: the varied values, the totals and, with a device, the
    latency and verdict; ``lazy`` gives the rows as an iterator, each made when read."""
    device = bool(result.rows) and "verdict" in result.rows[0]
    header = [*result.names, "params", "MACs", "FLOPs", "peak activation bytes"]
    if device:
        header += ["latency", "verdict"]

    def cells(row: dict[str, Any]) -> list[str]:
        out = [
            *(plain(row[n]) for n in result.names),
            exact(row["params"]),
            exact(row["macs"]),
            exact(row["flops"]),
            exact(row["peak_activation_bytes"]),
        ]
        if device:
            out += [f"{row['latency_s'] * 1000:.3g} ms", row["verdict"]]
        return out

    rows = (cells(row) for row in result.rows)
    return header, rows if lazy else list(rows)


STEP_HEADER = ("metric", "formula", "substituted", "value")


def explanation_title(item: Explanation) -> str:
    """'ir.1.1.dw.dwconv (dwconv 3x3)'."""
    return f"{item.name} ({item.op}{' ' + item.summary if item.summary else ''})"


def step_cells(step: Step) -> list[str]:
    """One derivation line in :data:`STEP_HEADER` order."""
    return [step.metric, step.formula, step.substituted, exact(step.value)]


# ---------------------------------------------------------------------------------------
# Device profiles


DEVICE_HEADER = (
    "name",
    "class",
    "default",
    "peak",
    "bandwidth",
    "memory",
    "budgets",
    "basis",
    "source",
)


def peaks_text(p: DeviceProfile, sep: str = "\n") -> str:
    """'fp32 8.1 TFLOP/s' for each dtype the profile has a peak for."""
    parts = [
        f"{k} {rate(v, 'FLOP/s' if k != 'int8' else 'op/s')}"
        for k, v in p.peak_flops.items()
        if v is not None
    ]
    return sep.join(parts) or "-"


def memory_text(p: DeviceProfile) -> str:
    """SRAM and flash of a microcontroller, or the memory of anything else."""
    if p.is_mcu:
        return f"SRAM {human_bytes(p.sram_bytes)}, flash {human_bytes(p.flash_bytes)}"
    return "-" if p.memory_bytes is None else human_bytes(p.memory_bytes)


def budgets_text(p: DeviceProfile, sep: str = "\n") -> str:
    """The profile's limits, 'latency <= 75 ms', and the input they apply at."""
    out = []
    for b in p.budgets:
        if b.name == "latency_s":
            out.append(f"latency <= {b.max * 1e3:g} ms" if b.max else "")
        elif b.min is not None and b.max is not None:
            out.append(f"{b.name} {human(int(b.min))}-{human(int(b.max))}")
        elif b.max is not None:
            out.append(f"{b.name} <= {human(int(b.max)) if b.max >= 1 else b.max}")
        else:
            out.append(f"{b.name} >= {b.min:g}")
    if p.budget_input:
        out.append("at " + "x".join(str(v) for v in p.budget_input[1:]))
    return sep.join(x for x in out if x) or "-"


def class_text(p: DeviceProfile) -> str:
    """'cpu, 4 threads'."""
    text = p.device_class
    if p.threads:
        text += f", {p.threads} thread{'s' if p.threads > 1 else ''}"
    return text


def source_text(p: DeviceProfile, limit: int | None = 72) -> str:
    """The source of the profile's main figure (its peak, or its first budget), cut to
    ``limit`` characters for a table cell."""
    key = next((k for k in p.sources if k.startswith("peak_flops")), None)
    key = key or next(iter(p.sources), None)
    text = p.sources[key] if key else p.source
    if limit and len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def basis_text(p: DeviceProfile) -> str:
    """What a profile's estimates rest on: 'calibrated on 31 rows (31 networks), typically
    0.85-1.2x', 'class defaults, not calibrated, ...', or '-' for a pure budget."""
    if not p.has_hardware:
        return "-"
    u = p.uncertainty
    if u is None:
        return "no band stated"
    return f"{u.text()}; typically {u.low:.2g}-{u.high:.2g}x the estimate"


def band_text(est: DeviceEstimate) -> str:
    """'typically 9.1-15 ms on this device', or '' without a band."""
    band = est.latency_band_s
    if band is None:
        return ""
    lo, hi = seconds(band[0]), seconds(band[1])
    lo_num, _, lo_unit = lo.partition(" ")
    if lo_unit and hi.endswith(" " + lo_unit):
        lo = lo_num  # '9.1-15 ms', not '9.1 ms-15 ms'
    return f"typically {lo}-{hi} on this device"


def default_text(p: DeviceProfile) -> str:
    """'fp16, batch 1024' and, for a profile of one software stack, 'pytorch on gpu,
    throughput' on the next line."""
    if not p.has_hardware:
        return "-"
    text = f"{p.dtype}, batch {p.batch}"
    if p.runtime is not None:
        r = p.runtime
        text += f"\n{r.framework} on {r.unit}" + (", throughput" if r.mode == "throughput" else "")
    return text


def devices_rows(profiles: Sequence[DeviceProfile]) -> list[tuple[str, ...]]:
    """One row per profile in :data:`DEVICE_HEADER` order (peaks and budgets one a line)."""
    return [
        (
            p.name,
            class_text(p),
            default_text(p),
            peaks_text(p),
            rate(p.bandwidth_Bps, "B/s"),
            memory_text(p) if p.has_hardware else "-",
            budgets_text(p),
            basis_text(p),
            source_text(p),
        )
        for p in profiles
    ]


# ---------------------------------------------------------------------------------------
# Device estimates


@dataclass(frozen=True)
class DeviceRow:
    """A report row and its device time, possibly folded over several layers."""

    name: str
    type: str
    output: str
    macs: Any
    flops: Any
    time_s: float
    bound: str
    share: float


def device_rows(report: Report, est: DeviceEstimate, depth: int | None = None) -> list[DeviceRow]:
    """Rows aligned with the report's layers; ``depth`` folds them by name prefix like the
    plain table (time summed; the bound is the one that took most of the folded time)."""
    total = est.latency_s or 0.0
    times: dict[str, LayerTime] = {t.name: t for t in est.layers}
    groups: list[tuple[str, list[tuple[LayerRow, LayerTime | None]]]] = []
    for row in report.layers:
        key = ".".join(row.name.split(".")[:depth]) if depth else row.name
        item = (row, times.get(row.name))
        if groups and groups[-1][0] == key:
            groups[-1][1].append(item)
        else:
            groups.append((key, [item]))
    out = []
    for key, items in groups:
        rows = [r for r, _ in items]
        ts = [t for _, t in items if t is not None]
        time_s = sum(t.time_s for t in ts)
        by_bound = {"compute": 0.0, "memory": 0.0}
        for t in ts:
            if not t.fused_into:
                by_bound[t.bound] += t.time_s - t.overhead_s
        if len(items) == 1 and ts and ts[0].fused_into:
            bound = f"fused into {ts[0].fused_into}"
        elif len(items) == 1 and ts and ts[0].op_class == "view":
            bound = "view (no time)"
        elif not ts:
            bound = "-"
        else:
            bound = max(by_bound, key=lambda b: by_bound[b])
        first = rows[0]
        out.append(
            DeviceRow(
                name=key,
                type=first.type if len(rows) == 1 else "block",
                output=shape(rows[-1].output_shape),
                macs=sum(r.macs for r in rows),
                flops=sum(r.flops for r in rows),
                time_s=time_s,
                bound=bound,
                share=time_s / total if total else 0.0,
            )
        )
    return out


def device_title(report: Report, est: DeviceEstimate) -> str:
    """'resnet50  input 3x224x224  on gpu-t4 (fp16, batch 1)'."""
    return (
        f"{report.architecture}  input {shape(report.input)}  on {est.device} "
        f"({est.dtype}, batch {est.batch})"
    )


def summary_rows(est: DeviceEstimate) -> list[tuple[str, str]]:
    """(metric, value) for the estimate as a whole: latency, throughput, memory, bounds."""
    shares = est.bound_shares()
    rows = [
        ("device", f"{est.device} ({est.title})"),
        ("dtype, batch", f"{est.dtype}, {est.batch}"),
        (
            "latency",
            seconds(est.latency_s)
            + (f" per batch of {est.batch}" if est.batch > 1 else "")
            + (f" ({band_text(est)})" if est.latency_band_s else ""),
        ),
        *([("basis", est.basis)] if est.latency_s is not None else []),
        (
            "throughput",
            "-" if est.throughput_per_s is None else f"{count(est.throughput_per_s)} images/s",
        ),
        (
            "arithmetic intensity",
            "-"
            if est.arithmetic_intensity is None
            else f"{est.arithmetic_intensity:.3g} FLOP/byte",
        ),
        ("weights", f"{est.param_bytes:,} B ({human_bytes(est.param_bytes)})"),
        (
            "peak activations on device",
            f"{est.peak_activation_bytes:,} B "
            f"({human_bytes(est.peak_activation_bytes)}) at {est.peak_layer}",
        ),
    ]
    if est.latency_s:
        rows.append(
            (
                "time in",
                f"compute-bound layers {shares['compute']:.0%}, "
                f"memory-bound {shares['memory']:.0%}, per-layer overhead "
                f"{shares['overhead']:.0%}",
            )
        )
    if est.step_time_s:
        rows.append(
            (
                "training step",
                f"{seconds(est.step_time_s)}, {count(est.batch / est.step_time_s)} images/s "
                "(an estimate from the inference calibration: docs/training.md)",
            )
        )
    if est.max_batch is not None:
        rows.append(("largest batch that fits", f"{est.max_batch:,}"))
    return rows


def verdict_lines(est: DeviceEstimate) -> list[tuple[bool, str]]:
    """(passed, 'PASS budget: reason') for each limit the estimate was checked against."""
    return [
        (v.passed, f"{'PASS' if v.passed else 'FAIL'} {v.budget}: {v.reason}") for v in est.verdicts
    ]


def overall_verdict(est: DeviceEstimate) -> str:
    """'all limits pass', or how many fail and whether the network fits at all."""
    overall = "all limits pass" if est.passed else f"{len(est.failed)} limit(s) fail"
    if est.verdicts and not est.fits:
        overall += "; does not fit in memory"
    return overall


DEVICE_COMPARISON_HEADER = (
    "network",
    "params",
    "MACs",
    "latency",
    "x first",
    "throughput",
    "peak act.",
    "fits",
    "verdict",
)


def latency_ratio(est: DeviceEstimate, first: DeviceEstimate) -> float | None:
    """An estimate's latency over the first network's, or None when either has none."""
    if not (first.latency_s and est.latency_s):
        return None
    return est.latency_s / first.latency_s


def verdict_word(est: DeviceEstimate) -> str:
    """'pass', or the failed budgets: 'sram_bytes, flash_bytes fail'."""
    return "pass" if est.passed else ", ".join(v.budget for v in est.failed) + " fail"


def device_comparison_rows(
    items: Sequence[tuple[Report, DeviceEstimate]],
) -> list[tuple[str, ...]]:
    """One row per network in :data:`DEVICE_COMPARISON_HEADER` order."""
    rows = []
    for report, est in items:
        ratio = latency_ratio(est, items[0][1])
        rows.append(
            (
                report.architecture,
                exact(report.totals.params),
                exact(report.totals.macs),
                seconds(est.latency_s),
                "-" if ratio is None else f"{ratio:.3g}",
                "-" if est.throughput_per_s is None else f"{count(est.throughput_per_s)}/s",
                human_bytes(est.peak_activation_bytes),
                "yes" if est.fits else "no",
                verdict_word(est),
            )
        )
    return rows


def device_comparison_title(items: Sequence[tuple[Report, DeviceEstimate]]) -> str:
    """'on cortex-a76-sd855 (fp32, batch 1)', from the first estimate."""
    if not items:
        return ""
    est = items[0][1]
    return f"on {est.device} ({est.dtype}, batch {est.batch})"


# ---------------------------------------------------------------------------------------
# Bundled architectures and layer kinds

ARCHITECTURE_HEADER = ("name", "description", "source")


def architecture_rows(items: Sequence[ArchInfo]) -> list[tuple[str, str, str]]:
    """One row per bundled architecture in :data:`ARCHITECTURE_HEADER` order."""
    return [(a.name, a.description, a.citation) for a in items]


KIND_HEADER = ("op", "what it is", "arguments")


def kind_rows(kinds: Sequence[LayerKind]) -> list[tuple[str, str, str]]:
    """One row per layer kind, its arguments one a line."""
    rows = []
    for kind in kinds:
        args = "\n".join(f"{n}: {a.describe()} - {a.doc}" for n, a in kind.args.items())
        rows.append((kind.op, kind.doc, args or "(none)"))
    return rows


ARGUMENT_HEADER = ("argument", "type and default", "meaning")


def argument_rows(kind: LayerKind) -> list[tuple[str, str, str]]:
    """(name, type and default, meaning) for each argument of a layer kind."""
    return [(n, a.describe(), a.doc) for n, a in kind.args.items()]


# ---------------------------------------------------------------------------------------
# Validation diagnostics


def diagnostic_where(d: Diagnostic) -> str:
    """'net.yaml:15: layer 'conv2'', or '' when the diagnostic has no place."""
    parts = []
    if d.file:
        parts.append(d.file + (f":{d.line}" if d.line else ""))
    if d.layer:
        parts.append(f"layer '{d.layer}'")
    return ": ".join(parts)


def diagnostic_text(d: Diagnostic) -> str:
    """A diagnostic as the compiler-style line, with its hint and reference below it (for
    a terminal: each part shown by :func:`~convcalc.render.sanitize.visible`)."""
    where = visible(diagnostic_where(d))
    text = f"{where}: " if where else ""
    text += f"{d.severity}[{d.code}]: {visible(d.message)}"
    if d.hint:
        text += f"\n  hint: {visible(d.hint)}"
    if d.reference:
        text += f"\n  see: {visible(d.reference)}"
    return text


def diagnostic_counts(diagnostics: Sequence[Diagnostic]) -> tuple[int, int]:
    """(errors, warnings)."""
    errors = sum(d.severity == "error" for d in diagnostics)
    return errors, len(diagnostics) - errors


def validation_summary(diagnostics: Sequence[Diagnostic], source: str) -> str:
    """'net.yaml: valid, 1 warning'."""
    errors, warnings = diagnostic_counts(diagnostics)
    counts = [
        f"{n} {word}{'' if n == 1 else 's'}"
        for n, word in ((errors, "error"), (warnings, "warning"))
        if n
    ]
    verdict = f"{source}: {'invalid' if errors else 'valid'}"
    return ", ".join([verdict, *counts])
