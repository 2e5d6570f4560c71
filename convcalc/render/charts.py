"""Charts of analysis results: stage bars, the memory timeline, the roofline, receptive
field against depth and sweep heat maps.

Each chart has two halves. A *series* function reads the report objects the JSON output is
made of (:class:`~convcalc.report.Report`, :class:`~convcalc.devices.DeviceEstimate`,
:class:`~convcalc.sweep.Sweep`) and returns plain numbers, already folded or sampled to a
size a picture can show; it imports nothing heavy, so tests and the page read the same data.
A *draw* function turns a series into a matplotlib figure. matplotlib is the optional extra
``convcalc[report]``: it is imported only when a chart is drawn (:func:`require`), so the
core install and ``convcalc --help`` never load it, and its settings (:data:`RC`) are in
force only while a chart is drawn or saved.

Nothing here computes a metric a second time. The memory timeline is
:func:`convcalc.graph.live_totals`, the scan the analysis takes its peak from, over the
report's own rows; the roofline places each layer by the FLOPs, traffic and time of the
device estimate (:mod:`convcalc.devices.estimate`), and draws the profile's peak and
bandwidth as its roof.

How large networks stay readable (docs/report.md): stage bars fold layers by name prefix
and, past :data:`MAX_BARS` stages, merge neighbouring stages into equal runs; line charts
keep at most :data:`MAX_POINTS` points (the memory timeline keeps the largest value of each
run of layers, so the peak is never sampled away; receptive fields keep each run's last
value); the roofline draws layers that land on the same spot (to 1/100 of a decade) as one
point.
"""

from __future__ import annotations

import functools
import io
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from convcalc import num
from convcalc.errors import UsageError
from convcalc.graph import INPUT, Step, live_totals
from convcalc.layers.base import COST_CLASSES, VIEW
from convcalc.render.text import human, human_bytes, seconds
from convcalc.report import DTYPE_BYTES

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from convcalc.devices import DeviceEstimate, DeviceProfile
    from convcalc.report import Report
    from convcalc.review import Network
    from convcalc.sweep import Sweep

MAX_BARS = 40  # stages drawn as bars; more are merged into runs of neighbours
MAX_POINTS = 2000  # points of a line chart
ROOF_BINS = 100  # roofline spots per decade on each axis
INSTALL = "pip install 'convcalc[report]'"
CHARTS = ("stages", "memory", "roofline", "rf", "sweep")
T = TypeVar("T")

# One colour per device cost class (matplotlib's default cycle, in COST_CLASSES order).
CLASS_COLOURS = dict(
    zip(
        COST_CLASSES,
        ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"),
        strict=True,
    )
)


class MissingExtraError(UsageError):
    """A chart was asked for but matplotlib (the ``convcalc[report]`` extra) is absent."""

    kind = "extra"


def _float(value: Any, what: str) -> float:
    """A concrete value as a float (an int or Fraction converts; a formula cannot)."""
    try:
        return float(value)
    except TypeError:
        raise UsageError(
            f"charts need concrete numbers, but {what} is symbolic",
            hint="give every parameter a value (charts do not draw formulas)",
        ) from None


# --- series -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stages:
    """Params, MACs and activation bytes per stage, in file order. ``depth`` is the number
    of name parts the layers were folded by (0: as many as each stage needed); ``merged``
    how many stages each bar holds when neighbours were merged (1: none)."""

    labels: list[str]
    params: list[float]
    macs: list[float]
    activation_bytes: list[float]
    depth: int
    merged: int = 1


def stage_keys(names: Sequence[str], depth: int | None = None) -> list[str]:
    """Each layer's stage: the first ``depth`` parts of its name, or by default the first
    part, with every stage that holds more than half of the layers split by one part more,
    and so on (``ir`` of MobileNetV2 holds nearly all its layers, so it splits into ``ir.0``
    to ``ir.6``; ``stem`` and ResNet's ``layer3`` stay whole)."""
    parts = [n.split(".") for n in names]
    if depth:
        return [".".join(p[:depth]) for p in parts]
    cut = [1] * len(parts)
    while True:
        keys = [".".join(p[:c]) for p, c in zip(parts, cut, strict=True)]
        sizes: dict[str, int] = {}
        for k in keys:
            sizes[k] = sizes.get(k, 0) + 1
        big = {k for k, n in sizes.items() if n * 2 > len(parts)}
        grow = [i for i, k in enumerate(keys) if k in big and cut[i] < len(parts[i])]
        if not grow:
            return keys
        for i in grow:
            cut[i] += 1


def stages(report: Report, depth: int | None = None) -> Stages:
    """The report's layers summed by stage (:func:`stage_keys`); consecutive layers of one
    stage make one bar, as ``analyze --depth`` folds rows."""
    keys = stage_keys([r.name for r in report.layers], depth)
    labels: list[str] = []
    params: list[float] = []
    macs: list[float] = []
    acts: list[float] = []
    for key, row in zip(keys, report.layers, strict=True):
        p = _float(row.params, f"params of {row.name}")
        m = _float(row.macs, f"MACs of {row.name}")
        a = _float(row.activation_bytes, f"activations of {row.name}")
        if labels and labels[-1] == key:
            params[-1] += p
            macs[-1] += m
            acts[-1] += a
        else:
            labels.append(key)
            params.append(p)
            macs.append(m)
            acts.append(a)
    merged = 1
    if len(labels) > MAX_BARS:
        merged = math.ceil(len(labels) / MAX_BARS)
        runs = range(0, len(labels), merged)
        ends = [min(i + merged, len(labels)) - 1 for i in runs]
        labels = [
            labels[i] if end == i else f"{labels[i]} … {labels[end]}"
            for i, end in zip(runs, ends, strict=True)
        ]
        params, macs, acts = (
            [sum(values[i : i + merged]) for i in runs] for values in (params, macs, acts)
        )
    return Stages(labels, params, macs, acts, depth or 0, merged)


@dataclass(frozen=True)
class Timeline:
    """Live activation bytes after each layer runs (file order). ``index``/``live`` are the
    points drawn (a sample when the network is long); ``peak`` and ``peak_layer`` are the
    largest value and the layer that allocates it, as in the totals."""

    index: list[int]
    live: list[float]
    layers: int
    peak: float
    peak_at: int
    peak_layer: str
    sampled: bool


def live_bytes(report: Report) -> list[Any]:
    """Bytes alive after each layer: :func:`convcalc.graph.live_totals` over the report's
    rows, with the sizes the analysis gave them (the network input is alive at the start)."""
    width = DTYPE_BYTES[report.dtype]
    return [v * width for v in _live_elements(report)]


def _live_elements(report: Report) -> list[Any]:
    size: dict[str, Any] = {INPUT: num.prod(report.input)}
    for row in report.layers:
        size[row.name] = row.output_elements
    steps = [Step(row.name, row.inputs) for row in report.layers]
    return live_totals(steps, size, (INPUT,))


def timeline(report: Report) -> Timeline:
    """The memory timeline of a report, at most :data:`MAX_POINTS` points: each point of a
    sample is the largest value of its run of layers, at that layer."""
    width = DTYPE_BYTES[report.dtype]
    live = [_float(v, "live activation memory") * width for v in _live_elements(report)]
    if not live:
        raise UsageError(f"{report.architecture} has no layers to chart")
    at = max(range(len(live)), key=lambda i: (live[i], -i))
    index = list(range(len(live)))
    sampled = len(live) > MAX_POINTS
    if sampled:
        run = math.ceil(len(live) / MAX_POINTS)
        index = [
            max(range(i, min(i + run, len(live))), key=live.__getitem__)
            for i in range(0, len(live), run)
        ]
    return Timeline(
        index, [live[i] for i in index], len(live), live[at], at, report.layers[at].name, sampled
    )


@dataclass(frozen=True)
class RFSeries:
    """Receptive-field size and jump (height and width) against layer index, for the layers
    that still have spatial extent, and the input's height and width."""

    index: list[int]
    size: list[tuple[float, float]]
    jump: list[tuple[float, float]]
    input_hw: tuple[float, float] | None
    layers: int
    sampled: bool
    total: tuple[float, float] | None = None  # the network's field (totals.receptive_field)


def receptive_fields(report: Report) -> RFSeries:
    """Each layer's receptive field from the report (sampled to :data:`MAX_POINTS`, each
    kept point the last of its run, so the last layer's field is always drawn)."""
    points = [(i, r.rf) for i, r in enumerate(report.layers) if r.rf is not None]
    sampled = len(points) > MAX_POINTS
    if sampled:
        run = math.ceil(len(points) / MAX_POINTS)
        points = [points[min(i + run, len(points)) - 1] for i in range(0, len(points), run)]
    hw = None
    if len(report.input) == 3:
        hw = (_float(report.input[1], "input height"), _float(report.input[2], "input width"))
    total = report.totals.receptive_field
    return RFSeries(
        [i for i, _ in points],
        [(_float(f.size[0], "rf"), _float(f.size[1], "rf")) for _, f in points],
        [(_float(f.jump[0], "jump"), _float(f.jump[1], "jump")) for _, f in points],
        hw,
        len(report.layers),
        sampled,
        None if total is None else (_float(total[0], "rf"), _float(total[1], "rf")),
    )


@dataclass(frozen=True)
class Roofline:
    """Layers on a device's roofline: per cost class, (FLOP per byte, FLOP/s) spots and how
    many layers each spot holds; the device's peak FLOP/s and bandwidth (the roof) and the
    ridge point peak / bandwidth. Fused layers and views (no traffic or time of their own)
    are counted in ``left_out``."""

    device: str
    dtype: str
    points: dict[str, list[tuple[float, float, int]]]
    peak: float
    bandwidth: float
    ridge: float
    layers: int
    left_out: int


def roofline(est: DeviceEstimate, profile: DeviceProfile) -> Roofline:
    """Each layer of the estimate at x = its FLOPs / its memory traffic and y = its FLOPs /
    its estimated time (overhead included), as the estimate computed them."""
    if not profile.has_hardware or not profile.bandwidth_Bps:
        raise UsageError(
            f"device {profile.name!r} has no peak compute and bandwidth to draw a roofline",
            hint="it is a pure budget; pick a device with hardware figures (`convcalc devices`)",
        )
    peak = profile.peak(est.dtype)
    # Layers with the same class, FLOPs, traffic and time first (repeated blocks), then
    # their spots: a long network of few distinct layers costs few logarithms.
    same: dict[tuple[str, float, float, float], int] = {}
    left_out = 0
    for t in est.layers:
        if t.fused_into or t.op_class == VIEW or min(t.traffic_bytes, t.time_s, t.flops) <= 0:
            left_out += 1
            continue
        key = (t.op_class, t.flops, t.traffic_bytes, t.time_s)
        same[key] = same.get(key, 0) + 1
    spots: dict[str, dict[tuple[int, int], list[float]]] = {}
    for (cls, flops, traffic, time_s), n in same.items():
        x, y = flops / traffic, flops / time_s
        key = (round(math.log10(x) * ROOF_BINS), round(math.log10(y) * ROOF_BINS))
        spot = spots.setdefault(cls, {}).setdefault(key, [x, y, 0])
        spot[2] += n
    points = {cls: [(x, y, int(n)) for x, y, n in found.values()] for cls, found in spots.items()}
    bw = profile.bandwidth_Bps
    return Roofline(est.device, est.dtype, points, peak, bw, peak / bw, len(est.layers), left_out)


@dataclass(frozen=True)
class SweepGrid:
    """A sweep as axes and one grid per metric (``values[metric][j][i]`` at ``xs[i]`` and,
    for two varied parameters, ``ys[j]``); metrics are params, MACs and, with a device,
    latency in seconds."""

    arch: str
    x_name: str
    xs: list[float]
    y_name: str | None
    ys: list[float]
    values: dict[str, list[list[float | None]]] = field(default_factory=dict)


SWEEP_METRICS = (("params", "params"), ("MACs", "macs"), ("latency", "latency_s"))


def sweep_grid(result: Sweep) -> SweepGrid:
    """The rows of a sweep laid out on its one or two varied parameters."""
    if not result.rows:
        raise UsageError(f"the sweep of {result.arch} has no points")
    if len(result.names) > 2:
        raise UsageError("a sweep chart shows one or two varied parameters, not more")
    x_name = result.names[0]
    y_name = result.names[1] if len(result.names) == 2 else None
    xs = list(dict.fromkeys(row[x_name] for row in result.rows))
    ys = list(dict.fromkeys(row[y_name] for row in result.rows)) if y_name else [0]
    where = {(row[x_name], row[y_name] if y_name else 0): row for row in result.rows}
    values: dict[str, list[list[float | None]]] = {}
    for title, key in SWEEP_METRICS:
        if key not in result.rows[0]:
            continue
        grid = [
            [
                None
                if (x, y) not in where or where[x, y][key] is None
                else _float(where[x, y][key], key)
                for x in xs
            ]
            for y in ys
        ]
        values[title] = grid
    return SweepGrid(
        result.arch, x_name, [float(x) for x in xs], y_name, [float(y) for y in ys], values
    )


# --- drawing ------------------------------------------------------------------------------


# matplotlib settings for drawing and saving, applied around each (the caller's own
# settings are left as they were).
RC = {
    "svg.fonttype": "none",  # text stays text: small, selectable, escaped
    "svg.hashsalt": "convcalc",  # the same ids on every run
    "path.simplify": False,  # every sampled point drawn (at most MAX_POINTS)
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


def _styled(fn: Callable[..., T]) -> Callable[..., T]:
    """Run ``fn`` with :data:`RC` in force."""

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> T:
        require()
        import matplotlib

        with matplotlib.rc_context(RC):
            return fn(*args, **kwargs)

    return run


def require() -> None:
    """Import matplotlib, or say how to install it (called before any work is done)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise MissingExtraError(
            "charts need matplotlib, which is not installed",
            hint=f"install the report extra: {INSTALL}",
        ) from None


def figure(width: float, height: float, rows: int = 1, cols: int = 1) -> tuple[Figure, Any]:
    """A new figure and its axes, importing matplotlib on first use (without pyplot, so no
    global state and no display)."""
    require()
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    return fig, fig.subplots(rows, cols, squeeze=False)


def _ticks(axis: Any, text: Any, top: float | None = None) -> None:
    """Tick labels in ``text``'s words; for bytes (``top`` given, the largest value) ticks at
    round multiples of a binary unit, 1, 2 or 5 MiB apart rather than 9.54 MiB."""
    from matplotlib.ticker import FuncFormatter, MultipleLocator

    if top:
        unit = next((u for u in (2**30, 2**20, 2**10) if top >= u), 1)
        step = next(m for m in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000) if top / (m * unit) <= 6)
        axis.set_major_locator(MultipleLocator(step * unit))
    axis.set_major_formatter(FuncFormatter(lambda v, _pos: text(int(v)) if v >= 1 else "0"))


@_styled
def draw_stages(s: Stages, title: str) -> Figure:
    """Three horizontal bar panels (params, MACs, activation memory) sharing the stages."""
    fig, axes = figure(9.0, 1.3 + 0.2 * len(s.labels), 1, 3)
    ys = list(range(len(s.labels)))
    panels = (
        ("params", s.params, human, "#1f77b4"),
        ("MACs", s.macs, human, "#ff7f0e"),
        ("activation memory", s.activation_bytes, human_bytes, "#2ca02c"),
    )
    for col, (name, values, text, colour) in enumerate(panels):
        ax = axes[0][col]
        top = max(values, default=0) if text is human_bytes else None
        bars = ax.barh(ys, values, color=colour)
        for k, bar in enumerate(bars):
            bar.set_gid(f"series-stages-{col}-{k}")
        ax.set_yticks(ys, s.labels if col == 0 else [""] * len(ys))
        ax.invert_yaxis()
        ax.set_title(name)
        _ticks(ax.xaxis, text, top)
        ax.tick_params(axis="x", labelrotation=30)
    how = f"the first {s.depth} name parts" if s.depth else "name prefix"
    note = f", {s.merged} stages a bar" if s.merged > 1 else ""
    fig.suptitle(f"{title}: per stage (layers folded by {how}{note})")
    return fig


@_styled
def draw_timeline(t: Timeline, title: str) -> Figure:
    """Live activation bytes after each layer, the peak marked with its layer."""
    fig, axes = figure(9.0, 3.2)
    ax = axes[0][0]
    (line,) = ax.plot(t.index, t.live, color="#1f77b4", linewidth=1)
    line.set_gid("series-memory")
    ax.fill_between(t.index, t.live, color="#1f77b4", alpha=0.15)
    peak = ax.plot([t.peak_at], [t.peak], "o", color="#d62728")[0]
    peak.set_gid("series-memory-peak")
    ax.annotate(
        f"peak {human_bytes(int(t.peak))} at {t.peak_layer}",
        (t.peak_at, t.peak),
        xytext=(0.5, 0.93),
        textcoords="axes fraction",
        ha="center",
        arrowprops={"arrowstyle": "->", "color": "#d62728"},
    )
    ax.set_ylim(0, t.peak * 1.25)
    ax.set_xlabel("layer (file order)")
    ax.set_ylabel("live activations")
    _ticks(ax.yaxis, human_bytes, t.peak * 1.25)
    run = math.ceil(t.layers / len(t.index))
    note = f" (largest of each run of {run} layers)" if t.sampled else ""
    ax.set_title(f"{title}: activation memory alive after each layer{note}")
    return fig


@_styled
def draw_roofline(r: Roofline, title: str) -> Figure:
    """Layers on the device roofline, coloured by cost class, the ridge point marked."""
    fig, axes = figure(8.5, 4.2)
    ax = axes[0][0]
    xs = [x for pts in r.points.values() for x, _, _ in pts] or [r.ridge]
    lo, hi = min(min(xs), r.ridge) / 4, max(max(xs), r.ridge) * 4
    roof_x = [lo, r.ridge, hi]
    ax.plot(
        roof_x,
        [lo * r.bandwidth, r.peak, r.peak],
        color="black",
        linewidth=1.2,
        label="roof: bandwidth x intensity, then peak",
    )
    ax.axvline(r.ridge, color="grey", linestyle=":", linewidth=1)
    ax.plot([r.ridge], [r.peak], "D", color="black", markersize=5)
    # The label on the side of the ridge with more room, so it stays inside the axes.
    left = math.log(r.ridge / lo) > math.log(hi / r.ridge)
    ax.annotate(
        f"ridge {r.ridge:.3g} FLOP/B",
        (r.ridge, r.peak),
        xytext=(-6 if left else 6, -14),
        textcoords="offset points",
        ha="right" if left else "left",
        bbox=dict(facecolor="white", edgecolor="none", alpha=0.8, pad=1),
    )
    for cls in COST_CLASSES:
        pts = r.points.get(cls)
        if not pts:
            continue
        n = sum(c for _, _, c in pts)
        dots = ax.scatter(
            [p[0] for p in pts],
            [p[1] for p in pts],
            s=14,
            color=CLASS_COLOURS[cls],
            alpha=0.8,
            label=f"{cls} ({n})",
        )
        dots.set_gid(f"series-roofline-{cls}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(lo, hi)
    ax.set_xlabel("arithmetic intensity (FLOP per byte of traffic)")
    ax.set_ylabel("estimated FLOP/s")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=7)  # beside: no dot hidden
    ax.set_title(f"{title} on {r.device} ({r.dtype})")
    return fig


@_styled
def draw_rf(s: RFSeries, title: str) -> Figure:
    """Receptive-field size and jump against layer index, the input size drawn."""
    fig, axes = figure(9.0, 3.2, 1, 2)
    size_ax, jump_ax = axes[0]
    square = all(h == w for h, w in s.size) and all(h == w for h, w in s.jump)
    for k, axis in enumerate(("height", "width")[: 1 if square else 2]):
        label = "" if square else f" ({axis})"
        line = size_ax.plot(s.index, [v[k] for v in s.size], label=f"size{label}")[0]
        line.set_gid(f"series-rf-size-{k}")
        line = jump_ax.plot(s.index, [v[k] for v in s.jump], label=f"jump{label}")[0]
        line.set_gid(f"series-rf-jump-{k}")
    if s.input_hw:
        h, w = s.input_hw
        size_ax.axhline(h, color="#d62728", linestyle="--", linewidth=1, label=f"input {h:g}")
        if w != h:
            size_ax.axhline(w, color="#9467bd", linestyle="--", linewidth=1, label=f"input w {w:g}")
    if s.total:
        size_ax.axhline(
            s.total[0],
            color="grey",
            linestyle=":",
            linewidth=1,
            label=f"network {s.total[0]:g} (last layer with spatial extent)",
        )
    size_ax.set_title("receptive field size (input pixels)")
    jump_ax.set_title("jump (input pixels between units)")
    jump_ax.set_yscale("log", base=2)
    for ax in (size_ax, jump_ax):
        ax.set_xlabel("layer (file order)")
        ax.legend(fontsize=7)
    fig.suptitle(f"{title}: receptive field against depth")
    return fig


@_styled
def draw_sweep(g: SweepGrid, title: str) -> Figure:
    """A heat map per metric over two varied parameters, or curves over one."""
    metrics = list(g.values)
    fig, axes = figure(3.4 * len(metrics), 3.2, 1, len(metrics))
    for col, name in enumerate(metrics):
        ax = axes[0][col]
        grid = g.values[name]
        text = seconds if name == "latency" else human
        if g.y_name is None:
            line = ax.plot(g.xs, [math.nan if v is None else v for v in grid[0]], marker="o")[0]
            line.set_gid(f"series-sweep-{col}")
            ax.set_xlabel(g.x_name)
            ax.yaxis.set_major_formatter(_formatter(text))
        else:
            # Cells as vector quads (an image would be a raster the page's policy refuses).
            data = [[math.nan if v is None else v for v in row] for row in grid]
            mesh = ax.pcolormesh(data, cmap="viridis", edgecolors="white", linewidth=0.5)
            mesh.set_gid(f"series-sweep-{col}")
            ax.set_xticks(
                [i + 0.5 for i in range(len(g.xs))], [f"{x:g}" for x in g.xs], rotation=45
            )
            ax.set_yticks([j + 0.5 for j in range(len(g.ys))], [f"{y:g}" for y in g.ys])
            ax.set_xlabel(g.x_name)
            ax.set_ylabel(g.y_name)
            bar = fig.colorbar(mesh, ax=ax)
            bar.solids.set_rasterized(False)
            bar.solids.set_edgecolor("face")
            bar.formatter = _formatter(text)
            bar.update_ticks()
            ax.spines[["top", "right"]].set_visible(True)
        ax.set_title(name)
    fig.suptitle(f"{title}: sweep")
    return fig


def _formatter(text: Any) -> Any:
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda v, _pos: text(v if text is seconds else int(v)))


def draw(net: Network, chart: str, depth: int | None = None) -> Figure:
    """One chart of a reviewed network by name (one of :data:`CHARTS`), for ``convcalc
    plot``: the roofline is drawn on the network's first device."""
    r = net.report
    if chart == "stages":
        return draw_stages(stages(r, depth), net.label)
    if chart == "memory":
        return draw_timeline(timeline(r), net.label)
    if chart == "rf":
        return draw_rf(receptive_fields(r), net.label)
    if chart == "roofline":
        if not net.devices:
            raise UsageError("a roofline needs a device", hint="add --device NAME")
        on = net.devices[0]
        return draw_roofline(roofline(on.estimate, on.profile), net.label)
    if chart == "sweep":
        if net.sweep is None:
            raise UsageError(
                net.note or "a sweep chart needs a range",
                hint="give e.g. --alpha 0.25:1:0.25 or --vary name=values",
            )
        return draw_sweep(sweep_grid(net.sweep), net.label)
    raise UsageError(f"unknown chart {chart!r}; one of {', '.join(CHARTS)}")


# --- output -------------------------------------------------------------------------------

_PROLOG = re.compile(r"\A.*?(?=<svg\b)", re.S)
_NAMESPACES = re.compile(r'\s+xmlns(?::xlink)?="[^"]*"')
_SIZE = re.compile(r'\s+(?:width|height)="[\d.]+pt"')
_IDS = re.compile(r'(\bid="|href="#|url\(#)([^")]+)')


@_styled
def svg(fig: Figure, prefix: str = "") -> str:
    """The figure as an ``<svg>`` element for an HTML page: no XML prolog, no namespace
    URLs (HTML puts ``<svg>`` in its namespace by itself), plain ``href`` for ``xlink:href``,
    sized by the page, every id prefixed so several charts can share one page."""
    buf = io.StringIO()
    fig.savefig(
        buf, format="svg", metadata={"Date": None, "Creator": None, "Format": None, "Type": None}
    )
    text = _PROLOG.sub("", buf.getvalue(), count=1)
    head, _, body = text.partition(">")
    head = _SIZE.sub("", _NAMESPACES.sub("", head))
    text = f'{head} class="chart">{body}'.replace("xlink:href=", "href=")
    if prefix:
        text = _IDS.sub(lambda m: f"{m.group(1)}{prefix}-{m.group(2)}", text)
    return text


@_styled
def save(fig: Figure, path: str) -> None:
    """Write a figure to ``path``: SVG or PNG by its suffix."""
    lower = path.lower()
    if lower.endswith(".svg"):
        fig.savefig(path, format="svg", metadata={"Date": None})
    elif lower.endswith(".png"):
        fig.savefig(path, format="png", dpi=110, metadata={"Software": None})
    else:
        raise UsageError(f"cannot tell the image format of {path!r}", hint="end it in .svg or .png")
