"""The one analysis pass: per-layer costs, memory and receptive fields, then totals.

The graph is in a topological order, so a single walk suffices; peak activation memory is
the liveness scan of :mod:`convcalc.graph` over that same order (DESIGN.md section 2).
"""

from __future__ import annotations

from typing import Any

from convcalc import num
from convcalc.graph import INPUT, Graph, Step, live_totals, peak_of
from convcalc.layers import base
from convcalc.receptive import INPUT_RF, RF, RF_BITS, Untracked, compose, unbounded, union
from convcalc.report import DTYPE_BYTES, LayerRow, Report, Totals


def analyze(graph: Graph, dtype: str = "fp32") -> Report:
    """Compute every per-layer metric and the totals of a graph."""
    width = DTYPE_BYTES[dtype]
    layers = graph.layers
    warnings: list[str] = []

    sizes: dict[str, Any] = {INPUT: num.prod(graph.input_shape)}
    fields: dict[str, RF | None] = {INPUT: INPUT_RF if len(graph.input_shape) == 3 else None}
    reduced: dict[str, bool] = {INPUT: False}

    rows: list[LayerRow] = []
    total_params: Any = 0
    total_macs: Any = 0
    total_flops: Any = 0
    total_act: Any = 0
    last_spatial: RF | None = None
    for layer in layers:
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
        # An input that only lends its size (a crop's second) does not widen it either.
        sources = [layer.inputs[i] for i in kind.field_inputs(len(layer.inputs))]
        is_reduced = kind.reduces(args, xs, layer.shape) or all(reduced[s] for s in sources)
        field: RF | None = None
        if len(layer.shape) == 3:
            live_fields = [
                fields[s] for s in sources if fields[s] is not None and not reduced[s]
            ] or [fields[s] for s in sources if fields[s] is not None]
            if live_fields:
                try:
                    field = compose(
                        union(live_fields, layer.name, warnings),  # type: ignore[arg-type]
                        kind.rf(args, xs),
                        kind.rf_phases(args, xs),
                        layer.shape[1:],
                    )
                except Untracked as e:
                    warnings.append(f"{layer.name}: {e}")
                if (
                    field is not None
                    and any(field.bound)
                    and not any(
                        any(f.bound)
                        for f in live_fields  # type: ignore[union-attr]
                    )
                ):
                    warnings.append(
                        f"{layer.name}: its units repeat with a period over {base.PHASE_LIMIT}; "
                        "the receptive field shown from here on is an upper bound"
                    )
                if field is not None and unbounded(field):
                    warnings.append(
                        f"{layer.name}: the receptive field grows past 2**{RF_BITS} pixels; "
                        "it is not tracked from here on"
                    )
                    field = None
        fields[layer.name] = field
        reduced[layer.name] = is_reduced
        if field is not None and not is_reduced:
            last_spatial = field

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
                cost_class=kind.cost_class(args, xs),
                input_elements=in_elems,
                output_elements=out_elems,
            )
        )
        total_params += costs.params
        total_macs += costs.macs
        total_flops += costs.flops
        total_act += out_elems

    steps = [Step(layer.name, layer.inputs) for layer in layers]
    peak, at, symbolic_peaks = peak_of(live_totals(steps, sizes, (INPUT,)), sizes[INPUT])
    peak_layer = INPUT if at is None else layers[at].name
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
