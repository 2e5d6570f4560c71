"""Derivations: each metric's formula in a layer's own symbols, then with the values
substituted, then the number, the way a design review or a study note writes it.

The formulas are not written out per kind: the kind's own rules (the same code that
computes the numbers) are run on symbols standing for its inputs and arguments, so the
derivation cannot drift from the count.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sympy

from convcalc import context, num
from convcalc.errors import UsageError
from convcalc.graph import Graph, Layer
from convcalc.layers.base import PHASE_LIMIT, Args, AxisRF, Shape
from convcalc.pipeline import load
from convcalc.receptive import RF, compose_axis
from convcalc.report import DTYPE_BYTES, Report
from convcalc.symbolic.ops import show, show_with, to_python, to_sympy
from convcalc.units import plain
from convcalc.values import Value


@dataclass
class Step:
    """One line of a derivation: ``metric = formula = substituted = value``."""

    metric: str
    formula: str
    substituted: str
    value: Any


@dataclass
class Explanation:
    name: str
    op: str
    summary: str
    line: int | None
    steps: list[Step] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        from convcalc.report import jsonable

        return {
            "name": self.name,
            "type": self.op,
            "line": self.line,
            "steps": [
                {
                    "metric": s.metric,
                    "formula": s.formula,
                    "substituted": s.substituted,
                    "value": jsonable(s.value),
                }
                for s in self.steps
            ],
        }


def _sym(name: str, nonneg: bool = False) -> sympy.Symbol:
    if nonneg:
        return sympy.Symbol(name, integer=True, nonnegative=True)
    return sympy.Symbol(name, integer=True, positive=True)


def _stand_ins(layer: Layer, graph: Graph) -> tuple[Args, list[tuple], dict[Any, Any]]:
    """Symbolic args and input shapes for a layer, and the symbol -> actual value map."""
    values: dict[Any, Any] = {}

    def stand(name: str, actual: Any, nonneg: bool = False) -> Any:
        if not num.is_concrete(actual) or isinstance(actual, bool):
            return actual  # already symbolic (a free parameter) or not a number
        s = _sym(name, nonneg)
        values[s] = actual
        return s

    args = Args()
    for key, value in layer.args.items():
        spec = layer.kind.args[key]
        names, nonneg = spec.symbols, spec.type == "padding" or spec.min == 0
        if names and spec.type == "int":
            args[key] = stand(names[0], value, nonneg)
        elif names and isinstance(value, tuple) and len(value) == len(names):
            args[key] = tuple(stand(n, v, nonneg) for n, v in zip(names, value, strict=True))
        else:
            args[key] = value
    xs = []
    channel_names = layer.kind.input_symbols(len(layer.inputs))
    for src, c_name in zip(layer.inputs, channel_names, strict=True):
        shape = graph.shapes[src]
        if len(shape) != 3:
            names = _axis_names(len(shape), "in")
            xs.append(tuple(stand(n, v) for n, v in zip(names, shape, strict=True)))
            continue
        c, h, w = shape
        out = layer.shape if len(layer.shape) == 3 else (None, None, None)
        xs.append(
            (
                stand(c_name, c),
                h if h == 1 and out[1] != 1 else stand("H_in", h),
                w if w == 1 and out[2] != 1 else stand("W_in", w),
            )
        )
    return args, xs, values


def _axis_names(rank: int, end: str) -> tuple[str, ...]:
    """Names of the sizes of a shape that is not a map: N for a vector, N and C for tokens
    (N, C), D1, D2, ... for any other rank."""
    if rank <= 2:
        return tuple(f"{n}_{end}" for n in ("N", "C")[:rank])
    return tuple(f"D{i + 1}_{end}" for i in range(rank))


def _step(metric: str, formula: Any, values: dict[Any, Any], value: Any) -> Step:
    texts = {s: plain(v) for s, v in values.items()}
    return Step(metric, show(formula, expand=False), show_with(formula, texts), value)


def explain_layer(layer: Layer, graph: Graph, report: Report) -> Explanation:
    """Formula, substitution and value of every metric of one layer."""
    row = report.layer(layer.name)
    kind = layer.kind
    out = Explanation(layer.name, kind.op, kind.summary(layer.args), layer.line)
    args, xs, values = _stand_ins(layer, graph)
    shape = [to_python(v) for v in kind.shape(args, xs)]
    names = ("C_out", "H_out", "W_out") if len(shape) == 3 else _axis_names(len(shape), "out")
    y: list[Any] = []
    for name, formula, actual in zip(names, shape, layer.shape, strict=True):
        out.steps.append(_step(name, formula, values, actual))
        f = to_sympy(formula)
        if isinstance(f, sympy.Basic) and not f.is_Atom:
            # Later formulas read the output size by name (H_out), not its whole formula.
            f = _sym(name)
            values[f] = actual
        y.append(f)
    costs = kind.costs(args, xs, tuple(y))
    width = DTYPE_BYTES[report.dtype]
    out.steps.append(_step("params", costs.params, values, row.params))
    out.steps.append(_step("MACs", costs.macs, values, row.macs))
    out.steps.append(_step("FLOPs", costs.flops, values, row.flops))
    out.steps.append(
        _step(
            f"activation bytes ({report.dtype})", num.prod(y) * width, values, row.activation_bytes
        )
    )
    if row.rf is not None and len(shape) == 3 and not _uniform(layer, graph, report):
        out.steps += _phase_steps(row.rf)
    elif row.rf is not None and len(shape) == 3:
        rf_in = [sympy.Symbol(n) for n in ("r_in", "j_in", "start_in")]
        t: AxisRF = kind.rf(args, xs)[0]
        source = [report.layer(s).rf for s in layer.inputs if s in _names(report)]
        if source and source[0] is not None:
            prev = source[0]
            values.update({rf_in[0]: prev.size[0], rf_in[1]: prev.jump[0], rf_in[2]: prev.start[0]})
        else:  # the network input: one pixel, jump 1, start 0
            values.update({rf_in[0]: 1, rf_in[1]: 1, rf_in[2]: 0})
        size, jump, start = compose_axis(*rf_in, t)
        out.steps.append(_step("RF size (height)", size, values, row.rf.size[0]))
        out.steps.append(_step("RF jump (height)", jump, values, row.rf.jump[0]))
        out.steps.append(_step("RF start (height)", start, values, row.rf.start[0]))
    return out


def _uniform(layer: Layer, graph: Graph, report: Report) -> bool:
    """Whether the Distill rule explains the layer's field: its input's field and its own
    transform are the same for every unit."""
    xs = [graph.shapes[s] for s in layer.inputs]
    sources = [report.layer(s).rf for s in layer.inputs if s in _names(report)]
    return layer.kind.rf_phases(layer.args, xs) is None and all(
        f is None or f.uniform for f in sources
    )


def _phase_steps(rf: RF) -> list[Step]:
    """The field of a layer whose units do not all see alike (after upsampling or a
    transposed conv), height axis: why, each phase's size, the largest and the smallest."""
    if rf.bound[0]:
        return [
            Step(
                "RF size (height), bound",
                f"units repeat with a period over {PHASE_LIMIT}: an upper bound "
                "from the envelope of the fields",
                f"every unit sees at most {plain(rf.size[0])} pixels",
                rf.size[0],
            ),
            Step("RF jump (height)", "mean input pixels per unit", plain(rf.jump[0]), rf.jump[0]),
        ]
    period = rf.period[0]
    sizes = [size for size, _ in rf.phases[0]]
    runs: list[list[int]] = []
    for size in sizes:
        if runs and runs[-1][0] == size:
            runs[-1][1] += 1
        else:
            runs.append([size, 1])
    shown = ", ".join(f"{size}" + (f" x{n}" if n > 1 else "") for size, n in runs)
    step = plain(rf.jump[0] * period)
    why = f"uneven after upsampling: units repeat every {period}, {step} pixels on"
    return [
        Step("RF period (height)", why, f"phase sizes {shown}", period),
        Step("RF size (height), largest", "max over the phases", shown, rf.size[0]),
        Step("RF size (height), smallest", "min over the phases", shown, rf.min_size[0]),
        Step(
            "RF jump (height)",
            "pixels per period / period",
            f"{plain(rf.jump[0] * period)} / {period}",
            rf.jump[0],
        ),
        Step(
            "RF start (height)",
            "first pixel of the first unit that reads any",
            plain(rf.start[0]),
            rf.start[0],
        ),
    ]


def _names(report: Report) -> set[str]:
    return {r.name for r in report.layers}


def explain_group(prefix: str, report: Report) -> Explanation:
    """A block (or the whole network when ``prefix`` is empty): its parts and total."""
    rows = [
        r
        for r in report.layers
        if not prefix or r.name == prefix or r.name.startswith(prefix + ".")
    ]
    if not rows:
        raise UsageError(f"no layer or block named {prefix!r} in {report.architecture}")
    out = Explanation(
        prefix or report.architecture, "block" if prefix else "network", "", rows[0].line
    )
    for metric in ("params", "macs", "flops"):
        parts = [getattr(r, metric) for r in rows]
        total = sum(parts, 0)
        concrete = all(num.is_concrete(p) for p in parts)
        nonzero = [plain(p) for p in parts if p != 0] if concrete else []
        formula = show(total) if not concrete else f"sum over {len(rows)} layers"
        substituted = (
            " + ".join(nonzero)
            if concrete and len(nonzero) <= 12
            else (f"{len(nonzero)} non-zero terms" if concrete else formula)
        )
        out.steps.append(
            Step(
                "MACs" if metric == "macs" else metric.replace("flops", "FLOPs"),
                formula,
                substituted,
                total,
            )
        )
    return out


def derive(graph: Graph, report: Report, targets: Sequence[str]) -> list[Explanation]:
    """Explain each target: a layer name, a block prefix, or (none given) the totals."""
    if not targets:
        return [explain_group("", report)]
    by_name = {layer.name: layer for layer in graph.layers}
    out = []
    for target in targets:
        if target in by_name:
            out.append(explain_layer(by_name[target], graph, report))
        else:
            out.append(explain_group(target, report))
    return out


def explain(
    arch: str | Path,
    targets: Iterable[str] = (),
    params: Mapping[str, Value] | None = None,
    input_shape: Shape | None = None,
    dtype: str = "fp32",
    free: Iterable[str] = (),
) -> list[Explanation]:
    """Derivations (formula, substitution, value) for layers, blocks or the totals of an
    architecture."""
    from convcalc.analysis import analyze

    with context.run():
        graph = load(arch, params, input_shape, free)
        return derive(graph, analyze(graph, dtype), list(targets))
