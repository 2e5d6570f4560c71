"""A receptive field larger than the input: spatial kernels after the first layer whose
every unit sees the whole input can only widen the field into the padding."""

from __future__ import annotations

from typing import Any

from convcalc.graph import Layer
from convcalc.report import Report
from convcalc.rules.walk import Found, Walk, concrete

DISTILL = (
    'Araujo, Norris and Sim, "Computing Receptive Fields of Convolutional Neural Networks", '
    "Distill 2019; Luo et al., NIPS 2016, on the smaller effective field"
)


def _sees_whole_input(rf: Any, shape: tuple[Any, ...], size: tuple[Any, ...]) -> bool:
    """Whether every unit of a (C, H, W) output's field contains the whole H x W input."""
    for axis in (0, 1):
        r, j, s, n = rf.size[axis], rf.jump[axis], rf.start[axis], shape[1 + axis]
        if not concrete(r, j, s, n, size[axis]):
            return False
        if s + (n - 1) * j > 0 or s + r - 1 < size[axis] - 1:
            return False
    return True


def rule(g: Walk, report: Report | None) -> list[Found]:
    shape = g.graph.input_shape
    if report is None or len(shape) != 3:
        return []
    rows = {row.name: row for row in report.layers}
    first: Layer | None = None
    later = []
    for layer in g.layers:
        row = rows.get(layer.name)
        if row is None or row.rf is None or len(layer.shape) != 3:
            continue
        if layer.kind.reduces(layer.args, [g.input_shape(layer)], layer.shape):
            break  # a global summary: nothing spatial after it
        if first is None:
            if _sees_whole_input(row.rf, layer.shape, shape[1:]):
                first = layer
        elif (w := g.windows[layer.name]) is not None and w.kernel != (1, 1):
            later.append(layer)
    if first is None or not later:
        return []
    row = rows[first.name]
    size = "x".join(str(v) for v in row.rf.size)
    return [
        g.diagnostic(
            first,
            "rf-outgrows-input",
            f"every unit of this layer already sees the whole {shape[1]}x{shape[2]} input "
            f"(receptive field {size}); the {len(later)} later layers with spatial kernels "
            f"(from '{later[0].name}') widen the field only into the padding",
            DISTILL,
            hint="a larger input, or fewer downsampling or wide-kernel layers, keeps the "
            "later layers useful; the effective field is smaller than the theoretical one, "
            "so treat this as a hint",
        )
    ]
