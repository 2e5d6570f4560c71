"""MobileNetV2: keep the narrow projection linear. A non-linearity after the 1x1 conv that
narrows the channels after a depthwise conv destroys information in the low-dimensional
bottleneck that later layers cannot recover."""

from __future__ import annotations

from convcalc.graph import Layer
from convcalc.report import Report
from convcalc.rules.walk import Found, Walk, concrete

MOBILENET_V2 = (
    'Sandler et al., "MobileNetV2: Inverted Residuals and Linear Bottlenecks", CVPR 2018, '
    "section 3.2 and Fig. 1; seed notes 004 section 8.2.1"
)


def _projection(g: Walk, layer: Layer) -> bool:
    """A 1x1 window that mixes channels (a dense or grouped 1x1 conv)."""
    w = g.window(layer)
    return w is not None and w.kernel == (1, 1) and g.channel_source(layer, 0) is None


def rule(g: Walk, report: Report | None) -> list[Found]:
    found = []
    for layer in g.layers:
        if not _projection(g, layer):
            continue
        c_in, c_out = g.input_shape(layer)[0], layer.shape[0]
        if not concrete(c_in, c_out) or c_out >= c_in:
            continue  # not a narrowing projection
        node = g.source(layer)
        while node is not None and node.kind.per_value:
            node = g.source(node)
        if node is None or not g.depthwise(node):
            continue
        after = layer  # through linear position-local layers (norms, identities, shuffles)
        while len(readers := g.readers.get(after.name, [])) == 1 and (
            readers[0].kind.position_local and not readers[0].kind.nonlinearity
        ):
            after = readers[0]
        readers = g.readers.get(after.name, [])
        if len(readers) == 1 and readers[0].kind.nonlinearity:
            act = readers[0]
            found.append(
                g.diagnostic(
                    act,
                    "relu-after-linear-bottleneck",
                    f"{act.kind.op} after the narrow projection '{layer.name}' ({c_in} -> "
                    f"{c_out} channels after the depthwise conv '{node.name}'): a "
                    "non-linearity on the low-dimensional bottleneck destroys information "
                    "that the later layers cannot recover",
                    MOBILENET_V2,
                    hint="make the projection linear (act: none), as MobileNetV2's inverted "
                    "residual does",
                )
            )
    return found
