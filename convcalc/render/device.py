"""Device estimates as rich tables and markdown: the profile list, the per-layer table with
time, bound and share columns, the verdict panel, and a comparison across networks.

Kept apart from :mod:`convcalc.render.table` so the device feature is one module to read;
it reuses the shared number and shape formatting of :mod:`convcalc.render.text`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from convcalc.devices.estimate import DeviceEstimate, LayerTime
from convcalc.devices.profile import DeviceProfile
from convcalc.render.text import exact, human, human_bytes, shape, totals_rows
from convcalc.report import LayerRow, Report

if TYPE_CHECKING:
    from rich.console import Console


def seconds(value: float | None) -> str:
    """0.0000935 -> '93.5 us'; None -> '-'."""
    if value is None:
        return "-"
    if value == 0:
        return "0"
    for scale, unit in ((1.0, "s"), (1e-3, "ms"), (1e-6, "us")):
        if abs(value) >= scale:
            return f"{value / scale:.3g} {unit}"
    return f"{value / 1e-9:.3g} ns"


def _count(value: float) -> str:
    """1234.5 -> '1,234.5'; 0.0185 -> '0.0185' (small rates keep three digits)."""
    return f"{value:,.1f}" if value >= 10 else f"{value:.3g}"


def rate(value: float | None, unit: str) -> str:
    """11.34e12 -> '11.3 T' + unit."""
    if value is None:
        return "-"
    for scale, prefix in ((1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K")):
        if value >= scale:
            return f"{value / scale:.3g} {prefix}{unit}"
    return f"{value:.3g} {unit}"


def peaks_text(p: DeviceProfile, sep: str = "\n") -> str:
    parts = [
        f"{k} {rate(v, 'FLOP/s' if k != 'int8' else 'op/s')}"
        for k, v in p.peak_flops.items()
        if v is not None
    ]
    return sep.join(parts) or "-"


def memory_text(p: DeviceProfile) -> str:
    if p.is_mcu:
        return f"SRAM {human_bytes(p.sram_bytes)}, flash {human_bytes(p.flash_bytes)}"
    return "-" if p.memory_bytes is None else f"{p.memory_bytes / 1e9:.3g} GB"


def budgets_text(p: DeviceProfile, sep: str = "\n") -> str:
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


def _class_text(p: DeviceProfile) -> str:
    text = p.device_class
    if p.threads:
        text += f", {p.threads} thread{'s' if p.threads > 1 else ''}"
    return text


def _source_text(p: DeviceProfile, limit: int | None = 72) -> str:
    """The source of the profile's main figure (its peak, or its first budget)."""
    key = next((k for k in p.sources if k.startswith("peak_flops")), None)
    key = key or next(iter(p.sources), None)
    text = p.sources[key] if key else p.source
    if limit and len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def devices_rows(profiles: Sequence[DeviceProfile]) -> list[tuple[str, ...]]:
    return [
        (
            p.name,
            _class_text(p),
            f"{p.dtype}, batch {p.batch}" if p.has_hardware else "-",
            peaks_text(p),
            rate(p.bandwidth_Bps, "B/s"),
            memory_text(p) if p.has_hardware else "-",
            budgets_text(p),
            _source_text(p),
        )
        for p in profiles
    ]


DEVICE_HEADER = ("name", "class", "default", "peak", "bandwidth", "memory", "budgets", "source")


def print_devices(console: Console, profiles: Sequence[DeviceProfile]) -> None:
    """`convcalc devices`: one row per profile."""
    from rich.table import Table

    table = Table(title="device profiles", header_style="bold", show_lines=True)
    for h in DEVICE_HEADER:
        table.add_column(h, overflow="fold")
    for row in devices_rows(profiles):
        table.add_row(*row)
    console.print(table)


# ---------------------------------------------------------------------------------------
# Per-layer rows


@dataclass(frozen=True)
class DeviceRow:
    """A report row and its device time, possibly folded over several layers."""

    name: str
    type: str
    output: str
    macs: object
    flops: object
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


def summary_rows(est: DeviceEstimate) -> list[tuple[str, str]]:
    shares = est.bound_shares()
    rows = [
        ("device", f"{est.device} ({est.title})"),
        ("dtype, batch", f"{est.dtype}, {est.batch}"),
        (
            "latency",
            seconds(est.latency_s) + (f" per batch of {est.batch}" if est.batch > 1 else ""),
        ),
        (
            "throughput",
            "-" if est.throughput_per_s is None else f"{_count(est.throughput_per_s)} images/s",
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
    return rows


def verdict_lines(est: DeviceEstimate) -> list[tuple[bool, str]]:
    return [
        (v.passed, f"{'PASS' if v.passed else 'FAIL'} {v.budget}: {v.reason}") for v in est.verdicts
    ]


def print_verdicts(console: Console, est: DeviceEstimate) -> None:
    """The verdict panel: one line per limit, green or red, and an overall line."""
    from rich.panel import Panel
    from rich.text import Text

    text = Text()
    for ok, line in verdict_lines(est):
        text.append(line + "\n", style="green" if ok else "bold red")
    if not est.verdicts:
        text.append("no limits to check\n", style="dim")
    for w in est.warnings:
        text.append(f"note: {w}\n", style="yellow")
    overall = "all limits pass" if est.passed else f"{len(est.failed)} limit(s) fail"
    if est.verdicts and not est.fits:
        overall += "; does not fit in memory"
    text.rstrip()
    console.print(
        Panel(
            text,
            title=f"verdict on {est.device}: {overall}",
            border_style="green" if est.passed else "red",
        )
    )


def print_device_report(
    console: Console, report: Report, est: DeviceEstimate, depth: int | None = None
) -> None:
    """`analyze --device`: the per-layer table with time/bound/share, totals, summary and
    verdicts."""
    from rich.table import Table

    title = (
        f"{report.architecture}  input {shape(report.input)}  on {est.device} "
        f"({est.dtype}, batch {est.batch})"
    )
    bindings = ", ".join(f"{k}={v}" for k, v in report.bindings.items())
    table = Table(title=title, caption=bindings or None, header_style="bold")
    for col, justify in (
        ("layer", "left"),
        ("type", "left"),
        ("output", "right"),
        ("MACs", "right"),
        ("FLOPs", "right"),
        ("time", "right"),
        ("bound", "left"),
        ("share", "right"),
    ):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    timed = est.latency_s is not None
    for r in device_rows(report, est, depth):
        table.add_row(
            r.name,
            r.type,
            r.output,
            exact(r.macs),
            human(r.flops),
            seconds(r.time_s) if timed else "-",
            r.bound if timed else "-",
            f"{r.share:.1%}" if timed else "-",
        )
    console.print(table)
    totals = Table(title="totals", show_header=False)
    totals.add_column("metric")
    totals.add_column("exact", justify="right")
    totals.add_column("approx.", justify="right")
    for row in totals_rows(report):
        totals.add_row(*row)
    console.print(totals)
    summary = Table(title=f"on {est.device}", show_header=False)
    summary.add_column("metric")
    summary.add_column("value")
    for row in summary_rows(est):
        summary.add_row(*row)
    console.print(summary)
    print_verdicts(console, est)


def comparison_rows(items: Sequence[tuple[Report, DeviceEstimate]]) -> list[tuple[str, ...]]:
    first = items[0][1].latency_s if items else None
    rows = []
    for report, est in items:
        ratio = "-" if not (first and est.latency_s) else f"{est.latency_s / first:.3g}"
        rows.append(
            (
                report.architecture,
                exact(report.totals.params),
                exact(report.totals.macs),
                seconds(est.latency_s),
                ratio,
                "-" if est.throughput_per_s is None else f"{_count(est.throughput_per_s)}/s",
                human_bytes(est.peak_activation_bytes),
                "yes" if est.fits else "no",
                "pass" if est.passed else ", ".join(v.budget for v in est.failed) + " fail",
            )
        )
    return rows


COMPARISON_HEADER = (
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


def print_device_comparison(
    console: Console, items: Sequence[tuple[Report, DeviceEstimate]]
) -> None:
    """`compare --device`: one row per network, latency relative to the first."""
    from rich.table import Table

    device = items[0][1] if items else None
    title = f"on {device.device} ({device.dtype}, batch {device.batch})" if device else ""
    table = Table(title=title, header_style="bold")
    for i, h in enumerate(COMPARISON_HEADER):
        table.add_column(h, justify="left" if i == 0 else "right")
    for row in comparison_rows(items):
        table.add_row(*row)
    console.print(table)
    for _, est in items:
        if not est.passed:
            print_verdicts(console, est)


# ---------------------------------------------------------------------------------------
# Markdown and CSV


def _md(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for r in rows:
        lines.append(
            "| " + " | ".join(str(c).replace("|", "\\|").replace("\n", "<br>") for c in r) + " |"
        )
    return lines


def devices_markdown(profiles: Sequence[DeviceProfile]) -> str:
    return "\n".join(_md(DEVICE_HEADER, devices_rows(profiles))) + "\n"


def device_markdown(report: Report, est: DeviceEstimate, depth: int | None = None) -> str:
    """The device part of `analyze --device --format markdown` (append it to the plain
    markdown report)."""
    lines = [f"### {report.architecture} on {est.device}", ""]
    rows = [
        (r.name, r.type, r.output, exact(r.macs), seconds(r.time_s), r.bound, f"{r.share:.1%}")
        for r in device_rows(report, est, depth)
    ]
    lines += _md(("layer", "type", "output", "MACs", "time", "bound", "share"), rows)
    lines += ["", *_md(("metric", "value"), summary_rows(est)), ""]
    for ok, line in verdict_lines(est):
        lines.append(f"- {'✅' if ok else '❌'} {line}")
    for w in est.warnings:
        lines.append(f"> note: {w}")
    return "\n".join(lines).rstrip() + "\n"


def comparison_markdown(items: Sequence[tuple[Report, DeviceEstimate]]) -> str:
    return "\n".join(_md(COMPARISON_HEADER, comparison_rows(items))) + "\n"


def device_csv(report: Report, est: DeviceEstimate, depth: int | None = None) -> str:
    """Per-layer device columns as CSV (raw seconds, for spreadsheets)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(("name", "type", "output_shape", "macs", "flops", "time_s", "bound", "share"))
    for r in device_rows(report, est, depth):
        writer.writerow(
            (r.name, r.type, r.output, r.macs, r.flops, repr(r.time_s), r.bound, f"{r.share:.6f}")
        )
    return buf.getvalue()
