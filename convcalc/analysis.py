"""The one analysis pass: per-layer costs, memory and receptive fields, then totals.

The graph is in file order, which is topological, so a single walk suffices; peak
activation memory is a liveness scan of that same order (DESIGN.md section 2).
"""

from __future__ import annotations

from typing import Any

from convcalc import num
from convcalc.layers.base import AxisRF
from convcalc.report import DTYPE_BYTES, RF, LayerRow, Report, Totals
from convcalc.schema.expand import INPUT, Graph

_INPUT_RF = RF((1, 1), (1, 1), (0, 0))
RF_BITS = 64  # beyond this a field (or its jump) no longer describes any real input


def _unbounded(field: RF) -> bool:
    return any(
        num.is_concrete(v) and abs(v) >= 2**RF_BITS
        for v in (*field.size, *field.jump, *field.start)
    )


def _union(fields: list[RF], layer: str, warnings: list[str]) -> RF:
    """The field of a merge: the union of its inputs' fields."""
    if len(fields) == 1:
        return fields[0]
    first = fields[0]
    if not all(num.is_concrete(v) for f in fields for v in (*f.size, *f.start, *f.jump)):
        return first
    size, jump, start = [], [], []
    for axis in (0, 1):
        lo = min(f.start[axis] for f in fields)
        hi = max(f.start[axis] + f.size[axis] - 1 for f in fields)
        size.append(hi - lo + 1)
        start.append(lo)
        jumps = {f.jump[axis] for f in fields}
        if len(jumps) > 1:
            warnings.append(f"{layer}: branches have different jumps {sorted(jumps)}")
        jump.append(max(jumps))
    centres = {f.centre for f in fields}
    if len(centres) > 1:
        shown = ", ".join(
            "(" + ", ".join(f"{float(v):g}" for v in c) + ")" for c in sorted(centres)
        )
        warnings.append(
            f"{layer}: branches meet with receptive fields centred differently "
            f"(centres of unit 0 at {shown}); the union is reported"
        )
    return RF(tuple(size), tuple(jump), tuple(start))


def _compose(field: RF, t: tuple[AxisRF, AxisRF]) -> RF:
    size, jump, start = [], [], []
    for axis in (0, 1):
        a = t[axis]
        j = field.jump[axis]
        size.append(field.size[axis] + (a.kernel - 1) * j)
        start.append(field.start[axis] - a.pad * j)
        jump.append(j * a.stride)
    return RF(tuple(size), tuple(jump), tuple(start))


def analyze(graph: Graph, dtype: str = "fp32") -> Report:
    """Compute every per-layer metric and the totals of an expanded graph."""
    width = DTYPE_BYTES[dtype]
    layers = graph.layers
    warnings: list[str] = []

    # Liveness: the index of the last layer reading each tensor.
    last_use: dict[str, int] = {INPUT: -1}
    for index, layer in enumerate(layers):
        last_use[layer.name] = index
        for src in layer.inputs:
            last_use[src] = index
    frees: dict[int, list[str]] = {}
    for name, index in last_use.items():
        frees.setdefault(index, []).append(name)

    sizes: dict[str, Any] = {INPUT: num.prod(graph.input_shape)}
    fields: dict[str, RF | None] = {INPUT: _INPUT_RF if len(graph.input_shape) == 3 else None}
    reduced: dict[str, bool] = {INPUT: False}

    live = sizes[INPUT]
    peak, peak_layer = live, INPUT
    for name in frees.get(-1, ()):
        live -= sizes[name]

    rows: list[LayerRow] = []
    total_params: Any = 0
    total_macs: Any = 0
    total_flops: Any = 0
    total_act: Any = 0
    last_spatial: RF | None = None
    symbolic_peaks: list[Any] = []  # live sums that depend on free parameters
    for index, layer in enumerate(layers):
        kind, args = layer.kind, layer.args
        xs = [graph.shapes[s] for s in layer.inputs]
        costs = kind.costs(args, xs, layer.shape)
        out_elems = num.prod(layer.shape)
        if layer.weight != 1:  # a layer that exists only where a symbolic condition holds
            w = layer.weight
            costs.params, costs.macs, costs.flops = (
                costs.params * w,
                costs.macs * w,
                costs.flops * w,
            )
            out_elems = out_elems * w
        sizes[layer.name] = out_elems
        in_elems = sum((sizes[s] for s in layer.inputs), 0)

        # Receptive field: unreduced spatial inputs carry the per-position field; inputs
        # already reduced to a global summary (SE gates) broadcast and do not widen it.
        is_reduced = kind.reduces(args, xs, layer.shape) or all(reduced[s] for s in layer.inputs)
        field: RF | None = None
        if len(layer.shape) == 3:
            live_fields = [
                fields[s] for s in layer.inputs if fields[s] is not None and not reduced[s]
            ] or [fields[s] for s in layer.inputs if fields[s] is not None]
            if live_fields:
                field = _compose(
                    _union(live_fields, layer.name, warnings),  # type: ignore[arg-type]
                    kind.rf(args, xs),
                )
                if _unbounded(field):
                    warnings.append(
                        f"{layer.name}: the receptive field grows past 2**{RF_BITS} pixels; "
                        "it is not tracked from here on"
                    )
                    field = None
        fields[layer.name] = field
        reduced[layer.name] = is_reduced
        if field is not None and not is_reduced:
            last_spatial = field

        live += out_elems
        if num.is_concrete(live) and num.is_concrete(peak):
            if live > peak:
                peak, peak_layer = live, layer.name
        else:
            symbolic_peaks.append(live)
        for name in frees.get(index, ()):
            live -= sizes[name]

        rows.append(
            LayerRow(
                name=layer.name,
                type=kind.op,
                inputs=layer.inputs,
                output_shape=layer.shape,
                params=costs.params,
                macs=costs.macs,
                flops=costs.flops,
                activation_bytes=out_elems * width,
                traffic_bytes=(in_elems + costs.params + out_elems) * width,
                rf=field,
                summary=kind.summary(args),
                line=layer.line,
            )
        )
        total_params += costs.params
        total_macs += costs.macs
        total_flops += costs.flops
        total_act += out_elems

    if symbolic_peaks:
        # A maximum of formulas: sympy's Max would compare every pair of terms (slow and
        # rarely decidable), so the candidates are kept and decided once values are bound.
        from convcalc.symbolic import ops

        peak, peak_layer = ops.lazy_max([peak, *symbolic_peaks]), "(depends on parameters)"
    totals = Totals(
        params=total_params,
        macs=total_macs,
        flops=total_flops,
        param_bytes=total_params * width,
        activation_bytes=total_act * width,
        peak_activation_bytes=peak * width,
        peak_layer=peak_layer,
        receptive_field=None if last_spatial is None else last_spatial.size,
    )
    return Report(
        architecture=graph.name,
        source=graph.source,
        bindings=graph.bindings,
        input=graph.input_shape,
        dtype=dtype,
        layers=rows,
        totals=totals,
        citation=graph.citation,
        description=graph.description,
        warnings=warnings,
    )
