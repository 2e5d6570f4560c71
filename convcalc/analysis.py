"""The one analysis pass: per-layer costs, memory and receptive fields, then totals.

The graph is in a topological order, so a single walk suffices; peak activation memory is
the liveness scan of :mod:`convcalc.graph` over that same order (DESIGN.md section 2).

Two things are kept between analyses, for loops that analyse the same network again with
other params or a search space point by point: what each kind said of a layer (by its Args
object, which expansion shares, and its shapes), and for the last few concrete graphs the
rows and running totals at every layer, so a graph that starts with the same layers as the
one before takes those instead of walking them again. Both give what a fresh walk gives
(tests/test_reuse.py).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from convcalc import context, num
from convcalc.graph import INPUT, Graph, Layer, Step, live_totals, peak_of
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

# What a kind says of a layer, by (kind, Args id, shapes, rounding) -> (the Args object the
# key names, the facts, the receptive-field transform). A repeated block's layers share one
# Args object (see convcalc.schema.expand), and so do the layers of every analysis of a
# document already expanded (convcalc.schema.templates): with the same concrete shapes the
# kind's answers are the same, so it is asked once. The Args object is kept beside its
# answers, so the identity in the key cannot be that of another object; the store starts
# afresh when full.
_KNOWN: dict[tuple, tuple[Any, _Facts, tuple[Any, Any, Any]]] = {}
_MAX_KNOWN = 100_000


def _concrete(xs: list[Any], y: Any) -> bool:
    """Whether a layer's input and output sizes are all integers: only then are its facts
    kept (a symbolic layer's are cheap to recompute, so a lookup of them always misses)."""
    for shape in (*xs, y):
        for d in shape:
            if type(d) is not int:
                return False
    return True


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


@dataclasses.dataclass(slots=True)
class _Walked:
    """What one analysis found at each layer of a concrete graph, in order: kept (for the
    last few graphs, by :func:`_walk_key`) so that the next analysis of a graph that starts
    with the same layers (the same network with another class count, a search space
    point that changes only later stages) takes those layers' rows and running totals
    instead of computing them again."""

    layers: list[Layer] = dataclasses.field(default_factory=list)
    rows: list[LayerRow] = dataclasses.field(default_factory=list)
    sizes: list[Any] = dataclasses.field(default_factory=list)
    fields: list[RF | None] = dataclasses.field(default_factory=list)
    reduced: list[bool] = dataclasses.field(default_factory=list)
    # after each layer: params, MACs, FLOPs, activations, last spatial field, warnings
    running: list[tuple[Any, Any, Any, Any, RF | None, int]] = dataclasses.field(
        default_factory=list
    )
    warnings: list[str] = dataclasses.field(default_factory=list)


_WALKED: dict[tuple, _Walked] = {}
_MAX_WALKED = 4  # graphs kept
_MAX_WALKED_LAYERS = 20_000  # larger graphs are not kept (their records would be large)


def _walk_key(graph: Graph, dtype: str, batch: Any, smooth: bool) -> tuple | None:
    """The key of a graph's kept walk (what its rows depend on besides its layers), or None
    when it is not kept (a symbolic batch, too many layers)."""
    if type(batch) is not int or len(graph.layers) > _MAX_WALKED_LAYERS:
        return None
    return (graph.name, graph.source, graph.file, graph.input_shape, dtype, batch, smooth)


def _same(a: Layer, b: Layer) -> bool:
    """Whether two layers are the same for the analysis: the same name, kind, Args object,
    inputs, shape and place in a file, and unconditional."""
    return (
        a.args is b.args
        and a.name == b.name
        and a.kind is b.kind
        and a.inputs == b.inputs
        and a.shape == b.shape
        and a.weight == 1
        and b.weight == 1
        and a.line == b.line
        and a.file == b.file
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
    smooth = context.current().smooth
    known = _KNOWN
    if len(known) > _MAX_KNOWN:
        known.clear()

    walk_key = _walk_key(graph, dtype, batch, smooth)
    before = _WALKED.get(walk_key) if walk_key is not None else None
    done = 0
    if before is not None:
        limit = min(len(layers), len(before.layers))
        while done < limit and _same(layers[done], before.layers[done]):
            done += 1
    walked: _Walked | None = None if walk_key is None else _Walked()
    if done:
        assert before is not None and walked is not None
        names = [layer.name for layer in layers[:done]]
        sizes.update(zip(names, before.sizes[:done], strict=True))
        fields.update(zip(names, before.fields[:done], strict=True))
        reduced.update(zip(names, before.reduced[:done], strict=True))
        rows = before.rows[:done]
        total_params, total_macs, total_flops, total_act, last_spatial, said = before.running[
            done - 1
        ]
        warnings = before.warnings[:said]
        walked.layers = layers[:done]
        walked.rows = list(rows)
        walked.sizes = before.sizes[:done]
        walked.fields = before.fields[:done]
        walked.reduced = before.reduced[:done]
        walked.running = before.running[:done]
    for layer in layers[done:] if done else layers:
        kind, args = layer.kind, layer.args
        xs = [graph.shapes[s] for s in layer.inputs]
        # a layer's facts are kept by its kind, Args object, shapes and rounding
        key: tuple | None = (kind, id(args), tuple(xs), layer.shape, smooth)
        hit = known.get(key)
        if hit is not None and hit[0] is args:  # only concrete keys are kept
            fact, transform = hit[1], hit[2]
        else:
            if not _concrete(xs, layer.shape):
                key = None
            fact = _facts(kind, args, xs, layer)
            mode = kind.positions(args, xs, layer.shape)
            if mode == base.MAP:  # positions, rf, phases
                transform = (mode, kind.rf(args, xs), kind.rf_phases(args, xs))
            else:
                transform = (mode, None, None)
            if key is not None:
                known[key] = (args, fact, transform)
        params, macs, flops, out_elems, field_inputs, reduces, summary, klass = fact
        if layer.weight != 1:  # a layer that exists only where a symbolic condition holds
            w = layer.weight
            params, macs, flops = params * w, macs * w, flops * w
            out_elems = out_elems * w
        inputs = layer.inputs
        sizes[layer.name] = out_elems
        in_elems = sizes[inputs[0]] if len(inputs) == 1 else sum((sizes[s] for s in inputs), 0)

        # Receptive field: unreduced spatial inputs carry the per-position field; inputs
        # already reduced to a global summary (SE gates) broadcast and do not widen it.
        # An input that only lends its size (a crop's second) does not widen it either.
        if len(field_inputs) == 1:
            only = inputs[field_inputs[0]]
            sources = [only]
            is_reduced = reduces or reduced[only]
        else:
            sources = [inputs[i] for i in field_inputs]
            is_reduced = reduces or all(reduced[s] for s in sources)
        field: RF | None = None
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
                # a new field is checked; an input's field as it was, when it was made
                if field is not None and field is not live_fields[0]:
                    if any(field.bound) and not any(
                        any(f.bound)
                        for f in live_fields  # type: ignore[union-attr]
                    ):
                        warnings.append(
                            f"{layer.name}: its units repeat with a period over "
                            f"{base.PHASE_LIMIT}; the receptive field shown from here on is "
                            "an upper bound"
                        )
                    if unbounded(field):
                        warnings.append(
                            f"{layer.name}: the receptive field grows past 2**{RF_BITS} "
                            "pixels; it is not tracked from here on"
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
        if walked is not None:
            if key is None or layer.weight != 1:  # symbolic: not kept
                walked = None
                continue
            walked.layers.append(layer)
            walked.rows.append(rows[-1])
            walked.sizes.append(out_elems)
            walked.fields.append(field)
            walked.reduced.append(is_reduced)
            walked.running.append(
                (total_params, total_macs, total_flops, total_act, last_spatial, len(warnings))
            )
    if walk_key is not None:
        _WALKED.pop(walk_key, None)
        if walked is not None:
            walked.warnings = list(warnings)
            if len(_WALKED) >= _MAX_WALKED:
                _WALKED.pop(next(iter(_WALKED)), None)
            _WALKED[walk_key] = walked

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
