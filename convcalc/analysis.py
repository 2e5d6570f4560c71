"""The one analysis pass: per-layer costs, memory and receptive fields, then totals.

The graph is in a topological order, so a single walk suffices; peak activation memory is
the liveness scan of :mod:`convcalc.graph` over that same order (DESIGN.md section 2).
"""

from __future__ import annotations

from typing import Any

from convcalc import num
from convcalc.graph import INPUT, Graph, Step, live_totals, peak_of
from convcalc.layers import base
from convcalc.receptive import (
    INPUT_RF,
    RF,
    RF_BITS,
    Untracked,
    compose,
    unbounded,
    union,
    whole,
)
from convcalc.report import DTYPE_BYTES, LayerRow, Report, Totals

_Facts = tuple  # params, macs, flops, output elements, field inputs, reduces, summary, class


def _facts_key(kind: Any, args: Any, xs: list[Any], y: Any) -> tuple | None:
    """The key of a layer's facts: its kind, its Args object and its concrete shapes (None
    when a size is symbolic: formulas are cheap to recompute and costly to hash)."""
    for shape in (*xs, y):
        for d in shape:
            if type(d) is not int:
                return None
    return (kind, id(args), tuple(xs), y)


def _facts(kind: Any, args: Any, xs: list[Any], layer: Any) -> _Facts:
    """What a layer's kind says of it, apart from the weight of a condition."""
    costs = kind.costs(args, xs, layer.shape)
    return (
        costs.params,
        costs.macs,
        costs.flops,
        num.prod(layer.shape),
        kind.field_inputs(len(layer.inputs)),
        kind.reduces(args, xs, layer.shape),
        kind.summary(args),
        kind.cost_class(args, xs),
    )


def analyze(graph: Graph, dtype: str = "fp32", batch: Any = 1) -> Report:
    """Compute every per-layer metric and the totals of a graph, for ``batch`` samples at
    once: every count but the parameters scales with it (a symbol gives formulas linear in
    it). Element counts (``input_elements``, ``output_elements``) stay per sample."""
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
    # A repeated block's layers share one Args object (see convcalc.schema.expand); with
    # the same concrete input shapes, the kind's facts are the same, so they are asked once.
    facts: dict[tuple, _Facts] = {}
    transforms: dict[tuple, tuple[Any, Any, Any]] = {}  # the same key: positions, rf, phases
    for layer in layers:
        kind, args = layer.kind, layer.args
        xs = [graph.shapes[s] for s in layer.inputs]
        key = _facts_key(kind, args, xs, layer.shape)
        fact = facts.get(key) if key is not None else None
        if fact is None:
            fact = _facts(kind, args, xs, layer)
            if key is not None:
                facts[key] = fact
        params, macs, flops, out_elems, field_inputs, reduces, summary, klass = fact
        if layer.weight != 1:  # a layer that exists only where a symbolic condition holds
            w = layer.weight
            params, macs, flops = params * w, macs * w, flops * w
            out_elems = out_elems * w
        sizes[layer.name] = out_elems
        in_elems = sum((sizes[s] for s in layer.inputs), 0)

        # Receptive field: unreduced spatial inputs carry the per-position field; inputs
        # already reduced to a global summary (SE gates) broadcast and do not widen it.
        # An input that only lends its size (a crop's second) does not widen it either.
        sources = [layer.inputs[i] for i in field_inputs]
        is_reduced = reduces or all(reduced[s] for s in sources)
        field: RF | None = None
        transform = transforms.get(key) if key is not None else None
        if transform is None:
            mode = kind.positions(args, xs, layer.shape)
            if mode == base.MAP:
                transform = (mode, kind.rf(args, xs), kind.rf_phases(args, xs))
            else:
                transform = (mode, None, None)
            if key is not None:
                transforms[key] = transform
        mode = transform[0]
        if mode != base.LOST:
            live_fields = [
                fields[s] for s in sources if fields[s] is not None and not reduced[s]
            ] or [fields[s] for s in sources if fields[s] is not None]
            if live_fields:
                try:
                    if mode == base.ALL:  # every output reads every position
                        field = whole(graph.input_shape[1:])
                    else:
                        merged = union(live_fields, layer.name, warnings)  # type: ignore[arg-type]
                        field = (
                            compose(merged, transform[1], transform[2], layer.shape[1:])
                            if mode == base.MAP
                            else merged
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
                params=params,
                macs=macs * batch,
                flops=flops * batch,
                activation_bytes=out_elems * batch * width,
                traffic_bytes=((in_elems + out_elems) * batch + params) * width,
                rf=field,
                summary=summary,
                line=layer.line,
                cost_class=klass,
                input_elements=in_elems,
                output_elements=out_elems,
            )
        )
        total_params += params
        total_macs += macs
        total_flops += flops
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
        macs=total_macs * batch,
        flops=total_flops * batch,
        param_bytes=total_params * width,
        activation_bytes=total_act * batch * width,
        peak_activation_bytes=peak * batch * width,
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
        batch=batch,
    )
