"""Design rules: warnings about designs the literature argues against (docs/validate.md).

Each rule is one module with one function from a :class:`~convcalc.rules.walk.Walk` of the
graph (and the report, for receptive fields) to warnings naming the layer and the paper
whose argument they apply; :data:`RULES` lists them. Warnings never fail a file. The codes:

- ``gridding``: stacked dilated convolutions whose rates share a factor greater than 1 see
  only every n-th input pixel (Wang et al., HDC, WACV 2018, section 3.2).
- ``dilation-gap``: stacked dilated convolutions whose rates have no common factor but still
  leave input pixels no path reaches, because a later rate is larger than the span the earlier
  kernels fill (HDC's condition M_2 <= K on the largest rates).
- ``rf-outgrows-input``: every unit of a layer already sees the whole input, and spatial
  kernels follow that can only add padding (Araujo et al., Distill 2019).
- ``relu-after-linear-bottleneck``: a non-linearity after the narrow 1x1 projection that
  follows a depthwise conv (Sandler et al., MobileNetV2, CVPR 2018, section 3.2).
- ``no-cross-group-flow``: a grouped conv reading another grouped conv with no channel shuffle
  or dense conv between, so some output groups never see some input groups (Zhang et al.,
  ShuffleNet, CVPR 2018, section 3.1).
"""

from __future__ import annotations

from collections.abc import Callable

from convcalc.diagnostics import Diagnostic
from convcalc.graph import Graph
from convcalc.report import Report
from convcalc.rules import bottleneck, dilation, groups, receptive_field
from convcalc.rules.walk import Found, Walk

Rule = Callable[[Walk, Report | None], list[Found]]

#: Every design rule, each a function of the walked graph and (when there is one) the report.
RULES: tuple[Rule, ...] = (
    dilation.rule,
    bottleneck.rule,
    groups.rule,
    receptive_field.rule,
)


def lint(graph: Graph, report: Report | None = None) -> list[Diagnostic]:
    """Design warnings for a graph, in file order of the layer each one names.

    ``report`` (from :func:`convcalc.analysis.analyze`) supplies receptive fields; without
    it the receptive-field rule finds nothing. Layers whose sizes are symbolic are skipped
    by the rules that need numbers."""
    walk = Walk(graph)
    found: list[Found] = []
    for rule in RULES:
        found.extend(rule(walk, report))
    found.sort(key=lambda item: item[0])
    return [d for _, d in found]
