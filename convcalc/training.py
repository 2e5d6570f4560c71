"""Training memory and cost: what one training step keeps alive, and what it computes.

Every rule is docs/training.md's. Each layer kind says what it keeps for its backward pass
(:meth:`convcalc.layers.base.LayerKind.saved`); this module resolves those into storages
(a view or an input kept by two layers is one tensor, counted once), lays forward and
backward out on one timeline, and finds the peak of everything alive: weights, buffers,
optimizer state, the network input, activations (until their last reader, or until the
backward pass of the first layer that keeps them), the tensors layers keep of their own
(pooling indices, dropout masks, statistics), activation gradients (from the backward pass
of their first reader to that of their producer) and weight gradients (from their layer's
backward pass to the end of the optimizer step).

Every size is a constant plus a multiple of the batch, so the peak over the step is the
largest of a few linear functions of the batch: the largest batch that fits a memory is
found exactly from them (:meth:`Training.max_batch`), not by trial.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from convcalc import num
from convcalc.errors import UsageError
from convcalc.graph import INPUT, Graph
from convcalc.layers.base import ACT, MATMUL_CLASSES, SAVED_WIDTH
from convcalc.report import Report, jsonable

#: fp32 values of optimizer state per parameter (PyTorch's: a momentum buffer; Adam's two
#: moment estimates), and the temporaries its step allocates, in tensors the size of the
#: largest layer's parameters: PyTorch's per-tensor Adam makes sqrt(v) and its quotient
#: before adding eps in place (measured: twice the largest weight above the gradients).
OPTIMIZERS: dict[str, tuple[int, int]] = {
    "sgd": (0, 0),
    "momentum": (1, 0),
    "adam": (2, 2),
    "adamw": (2, 2),
}
#: FLOPs per parameter of one optimizer step: SGD p -= lr g (2); momentum b = m b + g,
#: p -= lr b (4); Adam m = b1 m + (1 - b1) g (3), v = b2 v + (1 - b2) g^2 (4),
#: d = sqrt(v) / c2 + eps (3), p -= s m / d (3); AdamW adds p *= 1 - lr wd (2).
OPTIMIZER_FLOPS = {"sgd": 2, "momentum": 4, "adam": 13, "adamw": 15}

#: Bytes of an activation, and of the half-precision copy of every weight autocast keeps
#: (0: none), per precision. Weights, their gradients and optimizer state stay fp32.
PRECISIONS: dict[str, tuple[int, int]] = {
    "fp32": (4, 0),
    "amp-fp16": (2, 2),
    "amp-bf16": (2, 2),
}

PHASES = ("forward", "backward", "optimizer step")


@dataclass(frozen=True)
class TrainingLayer:
    """One layer's share of a training step, for the whole batch: the bytes of what it
    keeps for backward (a tensor kept by several layers counts at the first),
    its weight gradients and its backward FLOPs."""

    name: str
    saved_bytes: Any
    grad_bytes: Any
    backward_flops: Any


@dataclass
class Training:
    """Memory and FLOPs of one training step at ``batch`` (docs/training.md)."""

    optimizer: str
    precision: str
    batch: Any
    weight_bytes: int
    buffer_bytes: int
    grad_bytes: int
    optimizer_bytes: int
    input_bytes: Any
    saved_bytes: Any  # everything kept for backward but weights and the network input
    peak_bytes: Any
    peak_phase: str
    peak_layer: str
    forward_flops: Any
    backward_flops: Any
    optimizer_flops: int
    recompute_flops: Any = 0  # forward FLOPs run again by checkpointed segments
    checkpoint: int | None = None  # the name depth of the checkpointed segments
    layers: list[TrainingLayer] = field(default_factory=list)
    # The peak as candidate lines (bytes = const + per_sample * batch), one per moment of
    # the step that could be the largest: the upper envelope, steepest last.
    lines: tuple[tuple[int, int], ...] = ()

    @property
    def step_flops(self) -> Any:
        return self.forward_flops + self.backward_flops + self.optimizer_flops

    @property
    def state_bytes(self) -> int:
        """What lives whatever the batch: weights, buffers, gradients, optimizer state."""
        return self.weight_bytes + self.buffer_bytes + self.grad_bytes + self.optimizer_bytes

    def peak_at(self, batch: int) -> int:
        """The step's peak memory at another batch size."""
        return max(c + p * batch for c, p in self.lines)

    def max_batch(self, memory: int) -> int:
        """The largest batch whose peak fits in ``memory`` bytes (0: not even one)."""
        best: int | None = None
        for const, per in self.lines:
            if const > memory:
                return 0
            if per:
                room = (memory - const) // per
                best = room if best is None else min(best, room)
        if best is None:
            raise UsageError("the peak does not grow with the batch: every batch fits")
        return best

    def to_json(self) -> dict[str, Any]:
        return {
            "optimizer": self.optimizer,
            "precision": self.precision,
            "batch": jsonable(self.batch),
            "weight_bytes": self.weight_bytes,
            "buffer_bytes": self.buffer_bytes,
            "grad_bytes": self.grad_bytes,
            "optimizer_bytes": self.optimizer_bytes,
            "input_bytes": jsonable(self.input_bytes),
            "saved_bytes": jsonable(self.saved_bytes),
            "peak_bytes": jsonable(self.peak_bytes),
            "peak_phase": self.peak_phase,
            "peak_layer": self.peak_layer,
            "forward_flops": jsonable(self.forward_flops),
            "backward_flops": jsonable(self.backward_flops),
            "optimizer_flops": self.optimizer_flops,
            "step_flops": jsonable(self.step_flops),
            "checkpoint": self.checkpoint,
            "recompute_flops": jsonable(self.recompute_flops),
            "layers": [
                {
                    "name": t.name,
                    "saved_bytes": jsonable(t.saved_bytes),
                    "grad_bytes": jsonable(t.grad_bytes),
                    "backward_flops": jsonable(t.backward_flops),
                }
                for t in self.layers
            ],
        }


class _Timeline:
    """Tensors alive over the step: forward of layer i at time i, the loss at L, backward
    of layer i at 2L - i, the optimizer step at 2L + 1. A tensor's size is a pair
    (constant bytes, bytes per sample)."""

    def __init__(self, count: int) -> None:
        self.end = 2 * count + 1
        self.events: list[tuple[int, int, int]] = []  # (time, +-const, +-per sample)

    def add(self, start: int, stop: int, const: Any, per: Any) -> None:
        """A tensor alive from ``start`` through ``stop``."""
        if const or per:
            self.events.append((start, const, per))
            self.events.append((stop + 1, -const, -per))

    def totals(self) -> list[tuple[Any, Any]]:
        """(constant, per sample) alive at each time."""
        delta: dict[int, list[Any]] = {}
        for t, c, p in self.events:
            d = delta.setdefault(t, [0, 0])
            d[0] += c
            d[1] += p
        out = []
        const: Any = 0
        per: Any = 0
        for t in range(self.end + 1):
            if t in delta:
                const += delta[t][0]
                per += delta[t][1]
            out.append((const, per))
        return out


def _envelope(points: Sequence[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    """The lines c + p b that are the largest for some batch b >= 1 (the upper envelope,
    by increasing slope)."""
    hull: list[tuple[int, int]] = []
    for c, p in sorted(set(points), key=lambda x: (x[1], x[0])):
        while hull and hull[-1][1] == p:
            hull.pop()  # same slope, smaller constant
        while len(hull) >= 2:
            (c1, p1), (c2, p2) = hull[-2], hull[-1]
            # the middle line is never the largest when the outer two cross before it does
            if (c1 - c) * (p2 - p1) <= (c1 - c2) * (p - p1):
                hull.pop()
            else:
                break
        hull.append((c, p))
    while len(hull) >= 2 and hull[0][0] + hull[0][1] <= hull[1][0] + hull[1][1]:
        hull.pop(0)  # largest only for batches under one
    return tuple(hull)


def _segments(layers: Sequence[Any], depth: int | None) -> list[tuple[int, int] | None]:
    """For each layer, the (first, last) layer of the checkpointed segment it belongs to:
    the run of consecutive layers whose names share their first ``depth`` parts (a layer
    with no more parts than that is not checkpointed)."""
    out: list[tuple[int, int] | None] = [None] * len(layers)
    if depth is None:
        return out
    keys = [
        ".".join(parts[:depth]) if len(parts := layer.name.split(".")) > depth else None
        for layer in layers
    ]
    i = 0
    while i < len(keys):
        j = i
        while j + 1 < len(keys) and keys[i] is not None and keys[j + 1] == keys[i]:
            j += 1
        if keys[i] is not None:
            for k in range(i, j + 1):
                out[k] = (i, j)
        i = j + 1
    return out


def training(
    graph: Graph, report: Report, optimizer: str, precision: str, checkpoint: int | None = None
) -> Training:
    """The training step of ``graph`` at ``report``'s batch (see the module docstring).

    ``checkpoint`` N checkpoints every segment of layers sharing their first N name parts
    (``torch.utils.checkpoint`` around each block): its forward pass keeps only what it
    reads from outside; its backward pass first runs it forward again, and what its layers
    keep lives from then until their own backward pass."""
    if optimizer not in OPTIMIZERS:
        raise UsageError(f"unknown optimizer {optimizer!r}; use one of {', '.join(OPTIMIZERS)}")
    if precision not in PRECISIONS:
        raise UsageError(f"unknown precision {precision!r}; use one of {', '.join(PRECISIONS)}")
    if not all(num.is_concrete(v) for shape in graph.shapes.values() for v in shape):
        raise UsageError(
            "training memory needs concrete sizes; bind the free parameters (a free batch is fine)"
        )
    act, weight_copy = PRECISIONS[precision]
    amp = weight_copy > 0
    states, temporaries = OPTIMIZERS[optimizer]
    batch = report.batch
    layers = graph.layers
    count = len(layers)
    shapes = graph.shapes
    line = _Timeline(count)

    def back(i: int) -> int:
        return 2 * count - i

    # Storages: a view (in training) shares its input's; each storage's element count and
    # width, its producer, and its readers (of the storage or any view of it).
    storage: dict[str, str] = {INPUT: INPUT}
    elements: dict[str, Any] = {INPUT: num.prod(graph.input_shape)}
    width: dict[str, int] = {INPUT: 4}
    producer: dict[str, int] = {}
    readers: dict[str, list[int]] = {INPUT: []}
    for i, layer in enumerate(layers):
        for s in layer.inputs:
            readers[storage[s]].append(i)
        if layer.kind.training_view() and len(layer.inputs) == 1:
            storage[layer.name] = storage[layer.inputs[0]]
            continue
        storage[layer.name] = layer.name
        elements[layer.name] = num.prod(layer.shape) * layer.weight
        width[layer.name] = 4 if amp and layer.kind.amp_fp32 else act
        producer[layer.name] = i
        readers[layer.name] = []

    # What each layer keeps: storages (freed after the backward pass of the first layer,
    # in forward order, that keeps them) and tensors of its own.
    kept_by: dict[str, int] = {}
    again: dict[str, tuple[int, int]] = {}  # recomputed storage -> (its segment's end, saver)
    segment = _segments(layers, checkpoint)
    recompute: Any = 0
    rows: list[TrainingLayer] = []
    params_total = 0
    largest = 0  # the most parameters one layer has
    buffers_total: Any = 0
    backward_total: Any = 0
    owned_saved: list[Any] = [0] * count  # per-sample bytes each layer is charged with
    owned_fixed: list[Any] = [0] * count
    for i, layer in enumerate(layers):
        kind, args = layer.kind, layer.args
        xs = [shapes[s] for s in layer.inputs]
        kept = kind.saved(args, xs, layer.shape)
        keep = [storage[layer.inputs[k]] for k in kept.inputs]
        if kept.output:
            keep.append(storage[layer.name])
        seg = segment[i]
        born = back(seg[1]) if seg else i  # when what the layer keeps is made
        for s in keep:
            if seg and seg[0] <= producer.get(s, -1) <= seg[1]:
                end, first = again.get(s, (seg[1], i))
                again[s] = (end, min(first, i))  # made again when the segment reruns
            elif s not in kept_by:
                kept_by[s] = i
                if s != INPUT:
                    owned_saved[i] += elements[s] * width[s]
            copy = 0
            if amp and kind.amp_fp32 and width[s] != 4 and s != storage[layer.name]:
                copy = 4  # autocast runs the kind in fp32: it keeps an fp32 copy
            elif amp and width[s] == 4 and kind.cost_class(args, xs) in MATMUL_CLASSES:
                copy = act  # autocast casts an fp32 input to the half type and keeps that
            if copy:
                owned_saved[i] += 0 if seg else elements[s] * copy
                line.add(born, back(i), 0, elements[s] * copy * layer.weight)
        for _, n, dtype in kept.extras:
            size = n * (act if dtype == ACT else SAVED_WIDTH[dtype]) * layer.weight
            owned_saved[i] += 0 if seg else size
            line.add(born, back(i), 0, size)
        for _, n, dtype in kept.fixed:
            size = n * (act if dtype == ACT else SAVED_WIDTH[dtype]) * layer.weight
            owned_fixed[i] += 0 if seg else size
            line.add(born, back(i), size, 0)
        costs = kind.costs(args, xs, layer.shape)
        if seg:
            recompute += costs.flops * layer.weight
        grad_in = any(storage[s] != INPUT for s in layer.inputs)
        backward = kind.backward_flops(args, xs, layer.shape, costs, grad_in) * layer.weight
        backward_total += backward
        p = num.as_int(costs.params * layer.weight, "params")
        params_total += p
        largest = max(largest, p)
        buffers_total += kind.buffers(args, xs, layer.shape) * layer.weight
        line.add(back(i), line.end, p * 4, 0)  # weight gradients, fp32, to the step's end
        rows.append(TrainingLayer(layer.name, 0, p * 4, backward * batch))
    if not num.is_concrete(params_total) or not num.is_concrete(buffers_total):
        raise UsageError("training memory needs concrete parameters; bind every parameter")

    # Activations: alive from their producer's forward until their last forward reader,
    # or until the backward pass of the first layer that keeps them; the network output
    # until the loss. Their gradients: from the backward pass of their last reader (the
    # first to run backward) to their producer's.
    last = count - 1
    for s, n in elements.items():
        size = n * width[s]
        start = producer.get(s, 0)
        stop = max([start, *readers[s]])
        if s == storage[layers[last].name]:
            stop = count
        if s in kept_by:
            stop = max(stop, back(kept_by[s]))
        if s == INPUT:
            line.add(0, line.end, 0, size)  # held by the caller for the whole step
            continue
        line.add(start, stop, 0, size)
        first_back = count if not readers[s] else back(max(readers[s]))
        line.add(min(first_back, back(start)), back(start), 0, size)
    for s, (end, first) in again.items():
        line.add(back(end), back(first), 0, elements[s] * width[s])

    # State: weights (and autocast's half copies), buffers, optimizer state, and the
    # optimizer step's temporaries.
    weight_bytes = params_total * 4
    buffer_bytes = num.as_int(buffers_total, "buffers") * 4
    line.add(0, line.end, weight_bytes + params_total * weight_copy + buffer_bytes, 0)
    line.add(0, line.end, params_total * 4 * states, 0)
    line.add(line.end, line.end, largest * 4 * temporaries, 0)

    totals = line.totals()
    lines = _envelope(totals)
    at = _peak_time(totals, batch)
    peak = totals[at][0] + totals[at][1] * batch
    phase, where = _moment(at, count, layers)
    saved_per = sum(owned_saved, 0)
    saved_fixed = sum(owned_fixed, 0)
    for i, row in enumerate(rows):
        rows[i] = TrainingLayer(
            row.name, owned_saved[i] * batch + owned_fixed[i], row.grad_bytes, row.backward_flops
        )
    return Training(
        optimizer=optimizer,
        precision=precision,
        batch=batch,
        weight_bytes=weight_bytes,
        buffer_bytes=buffer_bytes,
        grad_bytes=params_total * 4,
        optimizer_bytes=params_total * 4 * states,
        input_bytes=elements[INPUT] * 4 * batch,
        saved_bytes=saved_per * batch + saved_fixed,
        peak_bytes=peak,
        peak_phase=phase,
        peak_layer=where,
        forward_flops=report.totals.flops,
        backward_flops=(backward_total + recompute) * batch,
        recompute_flops=recompute * batch,
        checkpoint=checkpoint,
        optimizer_flops=params_total * OPTIMIZER_FLOPS[optimizer],
        layers=rows,
        lines=lines if num.is_concrete(batch) else (),
    )


def _peak_time(totals: Sequence[tuple[Any, Any]], batch: Any) -> int:
    """The moment of the largest total (the first, on ties); with a free batch, the one
    that is largest for large batches (steepest, then largest constant)."""
    if num.is_concrete(batch):
        values = [c + p * batch for c, p in totals]
        return max(range(len(values)), key=lambda t: (values[t], -t))
    return max(range(len(totals)), key=lambda t: (totals[t][1], totals[t][0], -t))


def _moment(at: int, count: int, layers: Sequence[Any]) -> tuple[str, str]:
    """The phase and layer at a time of the step's timeline."""
    if at < count:
        return PHASES[0], layers[at].name
    if at == count:
        return PHASES[1], "(loss)"
    if at <= 2 * count:
        return PHASES[1], layers[2 * count - at].name
    return PHASES[2], ""
