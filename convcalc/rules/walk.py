"""What the design rules share: the graph with its lookups, and the kinds' facts in the
form the rules ask them (sliding windows, channel sources)."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from convcalc import num
from convcalc.diagnostics import Diagnostic
from convcalc.graph import Graph, Layer
from convcalc.layers.base import Window

Found = tuple[int, Diagnostic]  # (index of the layer named, the warning)


def concrete(*values: Any) -> bool:
    """Whether every value is an exact number (rules that need numbers skip the rest)."""
    return all(num.is_concrete(v) and not isinstance(v, float) for v in values)


class Walk:
    """The graph with lookups the rules share."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.layers = graph.layers
        self.by_name = {layer.name: layer for layer in graph.layers}

    @cached_property
    def index(self) -> dict[str, int]:
        """Each layer's position in the file, made when the first warning is."""
        return {layer.name: i for i, layer in enumerate(self.layers)}

    @cached_property
    def readers(self) -> dict[str, list[Layer]]:
        """The layers that read each tensor, made when a rule first asks (most never do)."""
        readers: dict[str, list[Layer]] = {}
        for layer in self.layers:
            for src in layer.inputs:
                readers.setdefault(src, []).append(layer)
        return readers

    def source(self, layer: Layer) -> Layer | None:
        """The layer a single-input layer reads (None for the network input)."""
        return self.by_name.get(layer.inputs[0]) if len(layer.inputs) == 1 else None

    def input_shape(self, layer: Layer) -> tuple[Any, ...]:
        return self.graph.shapes[layer.inputs[0]]

    def in_shapes(self, layer: Layer) -> list[tuple[Any, ...]]:
        return [self.graph.shapes[s] for s in layer.inputs]

    @cached_property
    def windows(self) -> dict[str, Window | None]:
        """Every layer's concrete sliding window on a feature map, or None, by name (every
        rule asks of most layers). The layers of a repeated block share one Args object,
        so each is looked up once."""
        by_args: dict[tuple, Window | None] = {}  # the graph holds each Args alive
        windows = {}
        for layer in self.layers:
            key = (layer.kind, id(layer.args), len(layer.shape) == 3)
            if key not in by_args:
                w = layer.kind.window(layer.args) if key[2] else None
                if w is not None and not concrete(*w.kernel, *w.stride, *w.dilation):
                    w = None
                by_args[key] = w
            windows[layer.name] = by_args[key]
        return windows

    def window(self, layer: Layer) -> Window | None:
        """The concrete sliding window of a layer on a feature map, or None."""
        return self.windows[layer.name]

    def channel_source(self, layer: Layer, channel: int) -> int | None:
        """The input channel a channel-local layer's output ``channel`` comes from (None
        when the layer mixes channels)."""
        return layer.kind.channel_source(layer.args, self.in_shapes(layer), layer.shape, channel)

    def depthwise(self, layer: Layer) -> bool:
        if len(layer.inputs) != 1:
            return False
        return layer.kind.depthwise(layer.args, [self.graph.shapes[layer.inputs[0]]])

    def grouped(self, layer: Layer) -> int:
        """The group count of a single-input grouped conv, else 0 (asked of every layer)."""
        if len(layer.inputs) != 1:
            return 0
        return layer.kind.grouped(layer.args, [self.graph.shapes[layer.inputs[0]]])

    def diagnostic(
        self, layer: Layer, code: str, message: str, reference: str, hint: str | None = None
    ) -> Found:
        file = layer.file or self.graph.file
        return self.index[layer.name], Diagnostic(
            code, "warning", file, layer.line, layer.name, message, hint, reference
        )
