"""The pipeline under the API: load (a front end reads a file into a graph), then analyze
(the graph into a report, with the design rules' warnings).

Every command goes through here: :mod:`convcalc.compare`, :mod:`convcalc.sweep`,
:mod:`convcalc.explain` and :mod:`convcalc.validate` call these functions, and
:mod:`convcalc.api` re-exports them. The YAML schema (:mod:`convcalc.schema`) is the front
end today; a reader of another format returns a :class:`~convcalc.graph.Graph` built with
:class:`~convcalc.graph.GraphBuilder`, and :func:`load` is where it is chosen.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from convcalc import context, schema
from convcalc.errors import UsageError
from convcalc.graph import Graph
from convcalc.layers.base import Shape
from convcalc.report import DTYPE_BYTES, Report
from convcalc.values import Value, param_value


def load(
    arch: str | Path,
    params: Mapping[str, Value] | None = None,
    input_shape: Shape | None = None,
    free: Iterable[str] = (),
    symbolic: bool = False,
) -> Graph:
    """Read, validate and expand an architecture (a path or a bundled name).

    ``free`` params stay symbols even if they have defaults; ``symbolic`` also frees every
    param that has no default."""
    overrides = {k: param_value(k, v) for k, v in (params or {}).items()}
    return schema.load(arch, overrides, input_shape, tuple(free), symbolic)


def declared_params(arch: str | Path) -> list[str]:
    """The names an architecture accepts in ``--set`` (its ``params``)."""
    return schema.declared_params(arch)


def analyze(
    arch: str | Path,
    params: Mapping[str, Value] | None = None,
    input_shape: Shape | None = None,
    dtype: str = "fp32",
    free: Iterable[str] = (),
    symbolic: bool = False,
    smooth: bool = False,
    design_warnings: bool = True,
) -> Report:
    """Shapes, params, MACs, FLOPs, memory and receptive fields of an architecture.

    ``design_warnings`` adds the design-rule warnings of :mod:`convcalc.rules` (gridding
    dilations, ReLU after a linear bottleneck, ...) to the report's warnings.

    With ``free``/``symbolic`` the counts are sympy expressions in the free params;
    ``smooth`` (``--no-round``) drops every rounding rule, giving the formulas papers write.
    """
    from convcalc.analysis import analyze as run

    if dtype not in DTYPE_BYTES:
        raise UsageError(f"unknown dtype {dtype!r}; use one of {', '.join(DTYPE_BYTES)}")
    with context.run(smooth=smooth):
        graph = load(arch, params, input_shape, free, symbolic)
        report = run(graph, dtype)
    if design_warnings:
        from convcalc.rules import lint

        for d in lint(graph, report):
            where = f"{d.layer}: " if d.layer else ""
            cite = f" [{d.reference}]" if d.reference else ""
            report.warnings.append(f"{where}{d.message}{cite}")
    return report


@dataclass(frozen=True)
class ArchInfo:
    name: str
    description: str
    citation: str


def list_architectures() -> list[ArchInfo]:
    """Bundled architectures with their one-line description and source."""
    return [ArchInfo(name, *schema.described(name)) for name in schema.loader.bundled_names()]
