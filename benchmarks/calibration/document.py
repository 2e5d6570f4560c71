"""What the calibration writes: docs/devices.md, the calibrated block of each profile file,
and the summary printed to the console.

docs/devices.md is generated rather than written by hand so that its tables (every profile
and its sources, the fitted factors, every row's estimate and error, the rows left out and
why) can never disagree with the profiles and the fit; CI regenerates it and fails on any
difference. The profile files are hand-written except for one marked block, which this
module replaces and nothing else touches.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from calibration.data import BUNDLED_SOURCE, MACS_TOLERANCE, Row
from calibration.fit import RIDGE, Fit, sig3
from calibration.stats import (
    BAND_QUANTILES,
    MIN_BAND_ROWS,
    GroupStats,
    abs_errors,
    group_stats,
    median,
    quantile,
)
from convcalc.devices import DeviceProfile, list_profiles
from convcalc.devices.profile import UNITS
from convcalc.devices.schema import (
    BUDGET_KEYS,
    DEFAULT_EFFICIENCY,
    DEFAULT_OVERHEAD_S,
    EFFICIENCY_KEYS,
    FIELDS,
    OP_CLASSES,
    figure_paths,
)
from convcalc.render.markdown import devices as devices_markdown
from convcalc.render.text import rate

DOC = Path(__file__).resolve().parents[2] / "docs" / "devices.md"
BEGIN = "# calibrated: begin (written by benchmarks/calibrate.py)"
END = "# calibrated: end"


# ---------------------------------------------------------------------------------------
# Profile files


def calibrated_block(theta: dict[str, float], note: str, uncertainty: dict[str, Any]) -> str:
    """The marked block of a profile file that holds its fitted factors, a note on how
    they were obtained, and the error band and basis of its estimates."""
    eff = ", ".join(f"{k}: {sig3(theta[k]):g}" for k in EFFICIENCY_KEYS)
    unc = ", ".join(f"{k}: {json.dumps(v)}" for k, v in uncertainty.items())
    return "\n".join(
        [
            BEGIN,
            f"efficiency: {{{eff}}}",
            f"overhead_s: {sig3(theta['overhead_s']):g}",
            f"calibration: {json.dumps(note)}",
            f"uncertainty: {{{unc}}}",
            END,
        ]
    )


def replace_block(text: str, block: str, name: str) -> str:
    """``text`` with its calibrated block replaced by ``block``; exits naming the file
    ``name`` when it has no block (a profile is opted in by writing the markers)."""
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        raise SystemExit(f"{name}: no '{BEGIN}' ... '{END}' block to write")
    return text[:start] + block + text[end + len(END) :]


# ---------------------------------------------------------------------------------------
# Console


#: The issue's targets, judged leave-one-network-out: the median and 90th percentile of
#: |error| over every calibrated profile's rows, and Spearman's rho within each group of at
#: least :data:`RHO_MIN_ROWS` rows.
TARGET_MEDIAN = 0.20
TARGET_P90 = 0.50
TARGET_RHO = 0.9
RHO_MIN_ROWS = 5


def overall(rows: Sequence[Row]) -> tuple[float | None, float | None, int]:
    """Median and 90th percentile of |leave-one-network-out error| over all rows that have
    one, and their number."""
    errors = [abs(r.loo_error) for r in rows if r.loo_error is not None]
    return median(errors), (quantile(errors, 0.9) if errors else None), len(errors)


def summary_lines(rows: Sequence[Row], fits: Sequence[Fit]) -> list[str]:
    """The headline figures of the calibration, for the console."""
    used = [r for r in rows if r.error is not None]
    med, p90, n = overall(rows)
    out = [
        f"rows used: {len(used)} of {len(rows)}; leave-one-network-out |error| over {n} rows: "
        f"median {_abs(med)}, 90th percentile {_abs(p90)} (targets {TARGET_MEDIAN:.0%}, "
        f"{TARGET_P90:.0%})"
    ]
    for f in fits:
        g = group_stats(f.profile, f.rows)
        if g.rows >= RHO_MIN_ROWS:
            out.append(
                f"{f.profile} (n={g.rows}): median {_abs(g.median)}, p90 {_abs(g.p90)}, "
                f"Spearman rho leave-one-network-out {num(g.rho_loo)}, by MACs {num(g.rho_macs)}"
            )
    return out


def pct(x: float | None) -> str:
    """A relative error as a signed whole percentage ('-' for none)."""
    return "-" if x is None else f"{x:+.0%}"


def num(x: float | None, digits: int = 2) -> str:
    """A correlation to ``digits`` decimals ('-' for none)."""
    return "-" if x is None else f"{x:.{digits}f}"


def ms(x: float | None) -> str:
    """Seconds as milliseconds to three figures ('-' for none)."""
    return "-" if x is None else f"{x * 1e3:.3g}"


# ---------------------------------------------------------------------------------------
# docs/devices.md


def render_doc(rows: Sequence[Row], fits: Sequence[Fit]) -> str:
    """docs/devices.md for the calibrated ``rows`` and ``fits``, with every bundled profile
    as it is on disk (so the profiles must be written first)."""
    ordered = [p for p in list_profiles() if p.source.startswith(BUNDLED_SOURCE)]
    lines = [
        *_INTRO.replace("{example}", _example()).splitlines(),
        *_profile_files(),
        *_profiles(ordered),
        *_calibration(fits),
        *_targets(rows, fits),
        *_bands(ordered),
        *_estimates(rows),
        *_not_used(rows),
        *_LIMITS.splitlines(),
    ]
    return "\n".join(lines).rstrip() + "\n"


_INTRO = """\
# Device profiles and latency estimates

<!-- Generated by benchmarks/calibrate.py; edit that script or the profiles, then
     run it again. CI runs `python benchmarks/calibrate.py --check`. -->

convcalc can place a network on a device: `convcalc devices` lists the profiles,
`convcalc analyze ARCH --device NAME` adds per-layer time, bound and share columns
and a verdict panel, `convcalc compare A B --device NAME` compares estimated
latencies, and `--fail-over-budget` exits with code 3 when any verdict fails (a CI
gate). `--device-file PATH` reads your own profile; profiles in `$CONVCALC_DEVICES`
(a path list) and `~/.config/convcalc/devices/` are found by name and shadow the
bundled ones. With `--format json` the analysis gains a `device` section.

Every estimate says how far to trust it: a band from the calibration and its basis
(calibrated on N published latencies, or class defaults where none was found), as in
{example}.
`convcalc devices` lists each profile's basis. In JSON the `device` section gains
`runtime` (the profile's framework, unit and mode, or `null`), `latency_band_s` (`[low,
high]` in seconds, `null` without a band) and `basis` (the profile's `uncertainty`:
`basis`, `rows`, `networks`, `low`, `high`, `band`, `band_rows` and `text`, or `null`);
every field it had before is unchanged.

## The model

Per layer, at the profile's dtype and batch:

    time = max(flops / (peak[dtype] x eff[op kind]),
               traffic / (bandwidth x eff[bandwidth])) + overhead

The larger of the two terms is the layer's **bound** (compute or memory). `flops` and
`traffic` are convcalc's own per-layer counts (docs/conventions.md): FLOPs scale with
the batch; traffic is the input and output activations (times the batch) plus the
weights (once), in bytes of the device dtype. The op kinds, each with its own
efficiency factor, are:

- `conv`: a dense k x k convolution (also transposed, dilated, deformable ones);
- `conv1x1`: a 1x1 convolution with one group;
- `grouped`: a depthwise convolution, or any convolution with more than one group;
- `linear`: a fully connected layer;
- `elementwise`: everything else that touches memory (batch norm, activations, add,
  concat, channel shuffle, pooling);
- views (flatten, reshape, identity, dropout, slice) take no time.

A profile's `fused` ops (batch norm, and activations where the runtime fuses them)
run inside the layer just before them when it is their only input: their FLOPs join
that layer, their traffic and overhead vanish. Latency is the sum over layers (one
layer at a time, as single-stream inference runs); throughput is batch / latency;
arithmetic intensity is total FLOPs over total traffic.

**Memory fit**: weights plus peak activations (times the batch) against the device
memory; on a microcontroller, peak activations against SRAM and weights against
flash, at the profile's dtype (int8). The peak is convcalc's liveness scan (file
order; a tensor lives until its last reader has run) replayed as the device runs the
graph: fused ops work in place in their host's output and views alias their input,
so it can be lower than the analysis's own peak. A failing SRAM verdict names the
tensors alive at the peak. **Budgets** (params,
macs, flops, param_bytes, peak_activation_bytes, latency_s, throughput_per_s) each
pass or fail with their margin; `fits` is the memory verdicts, `pass` all of them.

Why not MACs alone: ShuffleNet V2 (Ma et al., 2018) showed networks of equal
multiply-adds running at different speeds, because of memory access cost, many small
operators (per-layer overhead) and element-wise ops. Those are the terms above; the
calibration below checks whether they order networks better than MACs do.

"""


def _profile_files() -> list[str]:
    fields = _md(("field", "meaning"), [(f"`{k}`", v) for k, v in FIELDS.items()])
    return [
        "## Profile files",
        "",
        "One YAML file per device in `convcalc/devices/profiles/` (shipped in the wheel).",
        'Numbers may be written `19.5e12` or `"19.5*10**12"`. Fields:',
        "",
        *fields,
        "",
        *f"""\
Every field is validated on load; an error names the file, the line and the field
(a missing figure, a negative bandwidth, an unknown dtype, an efficiency above 1, an
unknown op in `fused`, an unknown runtime unit, a band with low above high...).
`extends: NAME` starts from another profile (that is how `mobile-75ms` times networks
on `pixel1-bigcore`). Budgets: {", ".join(BUDGET_KEYS)}
(each a maximum, or `{{min: ..., max: ...}}`; `throughput_per_s` is a minimum), plus
`input` for the resolution a budget is defined at.

### Framework and precision

The same chip runs a network an order of magnitude apart under two software stacks
(TensorFlow fp32 against TensorRT int8), so a profile is one device with one framework
and one precision, named `<device>-<framework>-<unit>-<precision>` when it is more than
one stack's (`gpu-rtx4090-pytorch-fp16`, `pixel4-tflite-cpu4-int8`). What the stack
decides is spread over fields the estimate already reads:

- `runtime`: `framework` (a name: tflite, tensorrt, coreml, onnxruntime, pytorch...),
  `unit` ({", ".join(UNITS)}) and `mode` (`latency`, one request at a time, the default; or
  `throughput`, a batch timed for images per second, with `batch` its size);
- `dtype`: the precision, whose peak the roofline uses (`peak_flops[dtype]`);
- `efficiency`: the fraction of peak per cost class ({", ".join(OP_CLASSES)}; the classes
  are the layer kinds' own, `convcalc/layers/base.py`, so a depthwise convolution is
  `grouped`, its own class) and of bandwidth;
- `overhead_s`: the launch or dispatch time of every layer that runs;
- `fused`: the ops folded into the layer before them (conv + batch norm + activation as
  one kernel under TensorRT or TF-Lite; nothing under PyTorch eager);
- `threads`: the CPU threads the peak assumes.

Another stack on the same chip is a file that `extends` the first and sets its own
`runtime`, `dtype` and calibrated block (`pixel4-tflite-cpu4-int8` extends
`cortex-a76-sd855`). `uncertainty` is written by the calibration: `basis` (calibrated or
class defaults), `rows` and `networks` it was fitted on, `low` and `high` (the band, as
multiples of the estimate), `band` (own, class or all: whose rows the band comes from)
and `band_rows`. All of these are optional, so every older profile file still reads.

""".splitlines(),
        "",
    ]


def _profiles(ordered: Sequence[DeviceProfile]) -> list[str]:
    lines = ["## Profiles", "", devices_markdown(ordered).rstrip(), ""]
    for p in ordered:
        threads = f" ({p.threads} thread{'s' if p.threads != 1 else ''})" if p.threads else ""
        extends = f"; extends `{p.extends}`" if p.extends else ""
        lines += [f"### {p.name}", "", f"{p.title}{threads}{extends}.", ""]
        items = [
            (f"`{key}`", _figure(p, key), p.sources.get(key, "(from the base)"))
            for key in figure_paths(p)
        ]
        if p.fused:
            items.append(("`fused`", ", ".join(p.fused), p.sources.get("fused", "")))
        lines += _md(("figure", "value", "source"), items)
        if p.has_hardware:
            eff = ", ".join(f"{k} {p.efficiency[k]:g}" for k in EFFICIENCY_KEYS)
            lines += [
                "",
                f"Efficiency: {eff}; overhead {p.overhead_s * 1e6:g} us per layer. "
                f"Calibration: {p.calibration}.",
            ]
            if p.runtime is not None:
                r = p.runtime
                lines += ["", f"Runtime: {r.framework} on the {r.unit}, {r.mode} mode."]
            if p.uncertainty is not None:
                u = p.uncertainty
                lines += [
                    "",
                    f"Band: typically {u.low:g}-{u.high:g} x the estimate; {u.text()}.",
                ]
        if p.notes:
            lines += ["", f"Note: {p.notes}"]
        lines.append("")
    return lines


def _figure(p: DeviceProfile, key: str) -> str:
    """A profile's figure (a field path of :func:`figure_paths`) as the tables show it."""
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


def _calibration(fits: Sequence[Fit]) -> list[str]:
    priors = [
        (
            family,
            *(f"{eff[k]:g}" for k in EFFICIENCY_KEYS),
            f"{DEFAULT_OVERHEAD_S[family] * 1e6:g} us",
        )
        for family, eff in DEFAULT_EFFICIENCY.items()
    ]
    fitted = [
        (
            f.profile,
            str(sum(1 for r in f.rows if r.fitted)),
            str(len({r.network_key for r in f.rows if r.fitted})),
            str(sum(1 for r in f.rows if not r.fitted)),
            *(f"{f.theta[k]:g}" for k in EFFICIENCY_KEYS),
            f"{f.theta['overhead_s'] * 1e6:g}",
        )
        for f in fits
    ]
    return [
        *f"""\
## Calibration

`benchmarks/calibrate.py` fits, per profile (one device with one framework and
precision), the five efficiency factors, the bandwidth efficiency and the per-layer
overhead on published latencies, minimising the mean squared log error plus {RIDGE:g} x
the squared log distance from the class priors (the defaults below; they keep factors
that the rows cannot tell apart where they started). The search is a deterministic
coordinate search (a log grid, then golden-section refinement), so the results are
reproducible and CI regenerates this page and the profiles' calibrated blocks
(`python benchmarks/calibrate.py --check`).

The published latencies come from two files. `benchmarks/devices.json` is the project's
copy of the sourced device data the first profiles were built from (papers' tables,
NVIDIA's and MCUNet's published results); `benchmarks/latencies.json` is the project's
own collection, where each row names the profile it calibrates, the bundled
architecture, its parameters and input side, and its source (repository, path and
commit, or paper and table). Rows of the profile's own framework and dtype are
**fitted**; the device's other rows are **held out**. Every fitted row is also predicted
**leave-one-network-out**: the factors are refitted without every row of its network (the
architecture and its parameters, at any resolution or batch), so no held-out network is
ever seen, and the targets below are judged on those predictions only. A profile with
one network has no such prediction.

Class priors:
""".splitlines(),
        "",
        *_md(("class", *EFFICIENCY_KEYS, "overhead"), priors),
        "",
        "Fitted values:",
        "",
        *_md(
            (
                "profile",
                "fitted rows",
                "networks",
                "held out",
                *EFFICIENCY_KEYS,
                "overhead (us)",
            ),
            fitted,
        ),
        "",
    ]


def _estimates(rows: Sequence[Row]) -> list[str]:
    used = [r for r in rows if r.estimated_s is not None]
    table = [
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
        for r in sorted(used, key=lambda r: (r.profile or "", not r.fitted, r.index))
    ]
    header = (
        "profile",
        "network",
        "source MACs",
        "convcalc network",
        "MACs",
        "batch",
        "dtype",
        "framework",
        "measured",
        "estimate",
        "error",
        "leave-one-network-out",
        "use",
    )
    return [
        *f"""\
### Estimate vs measured

Times are per batch, in ms (throughput rows: batch / images per second). Error is
estimate / measured - 1. A row is used when convcalc's multiply-adds for the bundled
network are within {MACS_TOLERANCE:.0%} of the source's figure (sources round, and some
count slightly different variants); the two MAC columns show how close each is.
""".splitlines(),
        "",
        *_md(header, table),
        "",
    ]


def _targets(rows: Sequence[Row], fits: Sequence[Fit]) -> list[str]:
    med, p90, n = overall(rows)
    groups = [group_stats(f.profile, f.rows) for f in fits]
    table = [_group_row(g) for g in groups if g.rows]
    ranked = [g for g in groups if g.rows >= RHO_MIN_ROWS]
    missed = [g for g in ranked if g.rho_loo is None or g.rho_loo < TARGET_RHO]
    e = abs_errors(rows)
    lines = [
        "### Against the targets",
        "",
        f"Targets, leave-one-network-out: median |error| at most {TARGET_MEDIAN:.0%} and 90th",
        f"percentile at most {TARGET_P90:.0%} over all calibrated profiles, and Spearman's rank",
        f"correlation with the measured times at least {TARGET_RHO:g} within each",
        f"device/framework group of at least {RHO_MIN_ROWS} rows.",
        "",
        f"- Over all {n} leave-one-network-out rows: median |error| {_abs(med)}"
        f" ({_met(med, TARGET_MEDIAN)}), 90th percentile {_abs(p90)}"
        f" ({_met(p90, TARGET_P90)}).",
        f"- In-sample (fitted on every row, {len(e.fitted)} rows): median |error| "
        f"{_abs(median(e.fitted))}; held out (other framework or dtype of a calibrated "
        f"device, {len(e.held_out)} rows): median |error| {_abs(median(e.held_out))}.",
    ]
    loose = [
        g
        for g in groups
        if g.rows and ((g.median or 0) > TARGET_MEDIAN or (g.p90 or 0) > TARGET_P90)
    ]
    if loose:
        lines.append(
            "- The error targets hold over all rows, not in every group: "
            + ", ".join(f"{g.profile} (median {_abs(g.median)}, 90th {_abs(g.p90)})" for g in loose)
            + " miss them on their own."
        )
    split = [g for g in ranked if any(r is not None and r < TARGET_RHO for _, r in g.rho_by_batch)]
    if split:
        lines.append(
            "- Ranked within one batch size, the networks of "
            + ", ".join(
                f"{g.profile} ({', '.join(f'batch {b}: {num(r)}' for b, r in g.rho_by_batch)})"
                for g in split
            )
            + " rank below the target: rows of mixed batches are easier to order."
        )
    if missed:
        lines.append(
            "- Spearman target missed in: "
            + ", ".join(f"{g.profile} ({num(g.rho_loo)})" for g in missed)
            + "."
        )
    else:
        lines.append(
            f"- Spearman target met in all {len(ranked)} groups of {RHO_MIN_ROWS} or more rows."
        )
    lines += [
        "",
        "Per group (a profile is one device with one framework and precision); the",
        "ranking columns rank the group's networks by the leave-one-network-out estimate, by",
        "the in-sample estimate and by multiply-adds (1.0 is a perfect ranking; '-' marks",
        "fewer than three rows):",
        "",
        *_md(
            (
                "profile",
                "rows",
                "networks",
                "median",
                "90th pct",
                "rho (leave-one-network-out)",
                "rho (in-sample)",
                "rho (MACs)",
                "Spearman target",
            ),
            table,
        ),
        "",
    ]
    return lines


def _group_row(g: GroupStats) -> tuple[str, ...]:
    if g.rows < RHO_MIN_ROWS:
        verdict = "too few rows"
    elif g.rho_loo is not None and g.rho_loo >= TARGET_RHO:
        verdict = "met"
    else:
        verdict = "missed"
    return (
        g.profile,
        str(g.rows),
        str(g.networks),
        _abs(g.median),
        _abs(g.p90),
        num(g.rho_loo),
        num(g.rho_fit),
        num(g.rho_macs),
        verdict,
    )


def _abs(x: float | None) -> str:
    return "-" if x is None else f"{x:.0%}"


def _met(x: float | None, target: float) -> str:
    if x is None:
        return "no rows"
    return "target met" if x <= target else "target missed"


def _example() -> str:
    """A real estimate with its band, for the text: resnet50 on gpu-t4."""
    from convcalc import api
    from convcalc.devices import estimate, load_profile
    from convcalc.render.rows import band_text, seconds

    est = estimate(api.analyze("resnet50"), load_profile("gpu-t4"))
    return f'`resnet50` on `gpu-t4`: "{seconds(est.latency_s)}, {band_text(est)}"'


def _bands(ordered: Sequence[DeviceProfile]) -> list[str]:
    lo, hi = (f"{q:.0%}" for q in BAND_QUANTILES)
    example = _example()
    table = [
        (
            p.name,
            p.uncertainty.basis,
            str(p.uncertainty.rows),
            p.uncertainty.band,
            str(p.uncertainty.band_rows),
            f"{p.uncertainty.low:g}",
            f"{p.uncertainty.high:g}",
        )
        for p in ordered
        if p.has_hardware and p.uncertainty is not None
    ]
    return [
        "### Error bands",
        "",
        *f"""\
Every estimate carries a band: the measured latency is typically (8 rows in 10)
between `low` and `high` times the estimate, the {lo} and {hi} percentiles of measured /
estimated. A calibrated profile with at least {MIN_BAND_ROWS} leave-one-network-out rows
uses its own. Every other profile (fitted on too few networks to be tested on one it has
not seen, or not calibrated at all: "class defaults") uses how far the class priors'
own estimates land on the fitted rows of its class (gpu and edge-gpu, cpu and
phone-cpu, mcu), or of every class where its class has fewer than {MIN_BAND_ROWS}: what
an estimate is off by when the device's own rows have not shaped it. The band and its
basis are written into the profile's `uncertainty` field, and every estimate shows them
({example}; in JSON `latency_band_s` and `basis`).
""".splitlines(),
        "",
        *_md(("profile", "basis", "fitted rows", "band from", "band rows", "low", "high"), table),
        "",
    ]


#: Devices the calibration has latencies or a place for, but no profile yet, and why: a
#: profile needs a sourced peak, bandwidth and memory, and none is invented.
NO_PROFILE = (
    (
        "Pixel 2 and Pixel 3 CPUs (TF-Lite, big core and 4 threads)",
        "no sourced FP32 FLOP/cycle of the Cortex-A73 and A75 cores; their published "
        "latencies are kept in benchmarks/latencies.json and listed below",
    ),
    (
        "Pixel 3 GPU delegate, Pixel 4 NNAPI",
        "no sourced peak of the Adreno 630, nor of the NNAPI path (DSP, GPU or CPU)",
    ),
    ("Pixel 4 Edge TPU", "no sourced peak or published latency of a bundled network"),
    (
        "iPhone XS and iPhone 11 Pro (CPU, GPU, ANE, Core ML)",
        "no sourced memory bandwidth, nor CPU and GPU peaks (the A12 Neural Engine's "
        "5 trillion operations per second is sourced, but a profile needs the rest); "
        "their TF-Lite and Core ML latencies are kept and listed below",
    ),
    ("Jetson AGX Xavier, NVIDIA A10", "no sourced figures collected yet"),
)


def _not_used(rows: Sequence[Row]) -> list[str]:
    skipped = [(r.device, r.network, r.skip) for r in rows if r.skip]
    return [
        "### Devices without a profile",
        "",
        *_md(("device", "why"), NO_PROFILE),
        "",
        "### Rows not used",
        "",
        *_md(("device", "network", "why"), skipped),
        "",
    ]


_LIMITS = """\
## Limits of the model

- A roofline with fitted factors, not a simulator: no caches, tiling, kernel
  selection, or overlap between layers; errors of tens of percent are normal, and a
  profile with few calibration rows is mostly its priors.
- Peak figures marked *derived* or *assumed* in the sources are arithmetic on
  sourced figures (cores x clock x FLOP/cycle); the efficiency factors absorb their
  errors for calibrated profiles only.
- One profile is one software stack: PyTorch eager, TensorRT, TF-Lite and TinyEngine
  differ by several times on the same chip (see the held-out rows, a median 31% off).
- The groups that meet the targets are large and regular (timm's batch-1024 GPU
  throughputs, TF-Lite's MobileNet grid on one Pixel 1 core); a profile fitted on one or
  two networks cannot be judged leave-one-network-out at all, which is why its band is
  the class priors' error, not its own.
- A class-defaults band is only as wide as the class's data: the cpu band comes from
  single-core phone CPUs (Pixel 1, Snapdragon 810) and a Pixel 4 row, so it may be too
  narrow for multi-threaded board and desktop CPUs (Raspberry Pi, Apple M2 Max).
- Multi-threaded CPU profiles use the peak of all their threads; a network with
  little parallel work per layer will not reach it.
"""


def _md(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """A markdown table, with any '|' in a cell escaped."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for r in rows:
        lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in r) + " |")
    return lines


def _short(framework: str) -> str:
    """A framework without the papers' parenthetical asides, for the table's width."""
    return framework.replace(" (highly optimized in-house library)", "").replace(
        " (paper: single-thread big core)", ""
    )
