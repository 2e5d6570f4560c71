"""The ``ultralytics`` counting preset: the FLOPs Ultralytics prints ("... GFLOPs" in
``model.info()`` and in the summary comments of its model YAMLs).

Ultralytics' ``get_flops`` (ultralytics/utils/torch_utils.py) runs ``thop.profile`` on
the model in eval mode and prints ``2 x`` the operations thop counts, divided by 1e9, to
one decimal. thop (the ultralytics-thop package, thop/vision/basic_hooks.py) counts only
what a leaf ``nn.Module``'s hook sees:

- a convolution or transposed convolution: its multiply-adds, without the bias;
- ``nn.Linear``: in_features per output value (the multiply-adds, without the bias);
- a batch norm: 2 per value, doubled when affine (4 for Ultralytics' BNs): so an unfused
  model's figure includes 8 FLOPs per BN value, and the fused one (BN folded into the
  conv) does not;
- adaptive average pooling: one per input value and one per output value;
- nearest upsampling, max pooling, activations, dropout: nothing;
- everything a forward computes functionally: the additions of residuals, the
  concatenations, ``F.avg_pool2d``, the softmax and the ``@`` products of attention. Only
  thop releases that count functional matrix products (``torch.matmul``, ``@``) include
  the latter; the summary comments of the model YAMLs were printed without them
  (docs/import.md, validation table), so the preset leaves them out.

The preset is applied to a finished report (per-layer FLOPs and the total), so every other
number stays convcalc's own.
"""

from __future__ import annotations

import dataclasses
from fractions import Fraction
from typing import Any

from convcalc.errors import UsageError
from convcalc.frontends.ultralytics.convs import INTERPOLATE
from convcalc.graph import INPUT
from convcalc.layers.conv import Conv, DepthwiseConv, TransposedConv
from convcalc.layers.dense import Linear
from convcalc.layers.norm import BatchNorm
from convcalc.layers.pool import AdaptiveAvgPool, GlobalAvgPool, Upsample
from convcalc.report import LayerRow, Report

#: The counting conventions ``analyze --convention`` offers; the first is the default.
CONVENTIONS = ("convcalc", "ultralytics")

_MACS = frozenset({Conv.op, DepthwiseConv.op, Linear.op})
#: The side of Ultralytics' proxy image: its largest stride (32 for every model read here).
PROXY = 32
_POOLS = frozenset({AdaptiveAvgPool.op, GlobalAvgPool.op})
#: The cost per output value of each upsampling mode (thop's calculate_upsample).
_UPSAMPLE = {"nearest": 1, "bilinear": 11}


def thop_ops(row: LayerRow, shapes: dict[str, Any], batch: Any = 1) -> Any:
    """What thop counts for one report row (for the report's whole batch); ``shapes``
    holds the output shape of every layer and of the input."""
    if row.type in _MACS:
        return row.macs
    if row.type == TransposedConv.op:
        # Output values x C_in / groups x k_h k_w: the products of a convolution that
        # gathers over the output, which is k_h k_w / (s_h s_w) times a transposed one's.
        c_in = shapes[row.inputs[0]][0]
        spread = row.output_elements * c_in
        return row.macs * spread // (row.input_elements * row.output_shape[0])
    if row.type == BatchNorm.op:
        return 4 * row.input_elements * batch
    if row.type in _POOLS:
        return (row.input_elements + row.output_elements) * batch
    if row.type == Upsample.op:
        if row.name.rsplit(".", 2)[-2:-1] == [INTERPOLATE]:
            return 0  # CBFuse's F.interpolate: a function, not a module
        mode = "bilinear" if "bilinear" in row.summary else "nearest"
        return _UPSAMPLE[mode] * row.output_elements * batch
    return 0


def ultralytics(report: Report) -> Report:
    """The report with each layer's FLOPs, and the total, counted as Ultralytics prints
    them: 2 x thop's operations, on a proxy image of one stride square extrapolated to the
    image's area (the layers after a global pool, whose cost does not grow with the image,
    are counted once per :data:`PROXY` x :data:`PROXY` cell of it, as that extrapolation
    counts them)."""
    shapes: dict[str, Any] = {INPUT: report.input}
    shapes.update((r.name, r.output_shape) for r in report.layers)
    _, h, w = report.input[-3:] if len(report.input) >= 3 else (1, 1, 1)
    cells = h * w
    pooled: set[str] = set()  # layers at or after a global pool
    rows = []
    for r in report.layers:
        ops = thop_ops(r, shapes, report.batch)
        if r.type in _POOLS:
            pooled.add(r.name)
            # Proxy: C x (h_in w_in / cells) inputs and C outputs, times the cells.
            ops = (r.input_elements + r.output_elements * cells // PROXY**2) * report.batch
        elif any(i in pooled for i in r.inputs):
            pooled.add(r.name)
            ops = ops * cells // PROXY**2
        rows.append(dataclasses.replace(r, flops=2 * ops))
    totals = dataclasses.replace(report.totals, flops=sum(r.flops for r in rows))
    return dataclasses.replace(report, layers=rows, totals=totals)


def apply(report: Report, convention: str) -> Report:
    """The report under a counting convention of :data:`CONVENTIONS` (``convcalc``: as it
    is; ``ultralytics``: :func:`ultralytics`)."""
    if convention == CONVENTIONS[0]:
        return report
    if convention == CONVENTIONS[1]:
        return ultralytics(report)
    raise UsageError(
        f"unknown counting convention {str(convention)[:40]!r}",
        hint="use one of " + ", ".join(CONVENTIONS),
    )


def note(report: Report, convention: str) -> str:
    """The line the command line adds on stderr under a convention other than convcalc's:
    the total as that convention prints it (Ultralytics: GFLOPs to one decimal, Python's
    rounding of the exact total)."""
    if convention == CONVENTIONS[0]:
        return ""
    gflops = Fraction(report.totals.flops, 10**9)
    return f"{convention}: {float(gflops):.1f} GFLOPs (2 x thop's operations; docs/import.md)\n"
