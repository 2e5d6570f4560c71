"""Checking untrusted architecture files, and warnings about known design smells.

:func:`validate` reads, expands and shape-checks a file the way ``analyze`` does, but returns
every problem as a :class:`Diagnostic` instead of raising, so a CI gate can accept or refuse a
file and print why. :func:`lint` looks at an expanded graph and its report for designs the
literature argues against; each warning names the layer and the paper whose argument it
applies. Warnings never fail a file. The rules (docs/validate.md):

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

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from convcalc import num
from convcalc.errors import ConvcalcError, ExitCode
from convcalc.graph import Graph, Layer
from convcalc.report import Report

SCHEMA = "convcalc.validation/1"

HDC = (
    'Wang et al., "Understanding Convolution for Semantic Segmentation" (hybrid dilated '
    "convolution), WACV 2018, section 3.2; seed notes 001 and 002"
)
DISTILL = (
    'Araujo, Norris and Sim, "Computing Receptive Fields of Convolutional Neural Networks", '
    "Distill 2019; Luo et al., NIPS 2016, on the smaller effective field"
)
MOBILENET_V2 = (
    'Sandler et al., "MobileNetV2: Inverted Residuals and Linear Bottlenecks", CVPR 2018, '
    "section 3.2 and Fig. 1; seed notes 004 section 8.2.1"
)
SHUFFLENET = (
    'Zhang et al., "ShuffleNet: An Extremely Efficient Convolutional Neural Network for Mobile '
    'Devices", CVPR 2018, section 3.1 and Fig. 1; seed notes 004 section 8.3.1'
)

# Ops that act on each channel and each position alone (no mixing, no spatial extent).
POINTWISE = {"bn", "identity", "dropout"}
SLIDING = {"conv", "dwconv", "local_conv", "tiled_conv", "table_conv", "maxpool", "avgpool"}
MAX_SPAN = 1 << 20  # fields wider than this are not checked for holes
MAX_CHANNELS = 1 << 16  # channel maps larger than this are not traced


@dataclass(frozen=True)
class Diagnostic:
    """One finding: an error that stops the file, or a warning about its design.

    ``code`` is the error kind (``spec``, ``expression``, ``shape``, ``limit``, ``file``,
    ``usage``) or the rule name of a warning; ``reference`` cites the argument a warning
    rests on."""

    code: str
    severity: str  # "error" or "warning"
    file: str | None
    line: int | None
    layer: str | None
    message: str
    hint: str | None = None
    reference: str | None = None
    exit_code: int = 0  # what an error makes the command exit with (0 for warnings)

    @classmethod
    def from_error(cls, err: ConvcalcError, file: str | None = None) -> Diagnostic:
        return cls(
            code=err.kind,
            severity="error",
            file=err.file or file,
            line=err.line,
            layer=err.layer,
            message=err.message,
            hint=err.hint,
            exit_code=int(err.code),
        )

    def where(self) -> str:
        parts = []
        if self.file:
            parts.append(self.file + (f":{self.line}" if self.line else ""))
        if self.layer:
            parts.append(f"layer '{self.layer}'")
        return ": ".join(parts)

    def __str__(self) -> str:
        where = self.where()
        text = f"{where}: " if where else ""
        text += f"{self.severity}[{self.code}]: {self.message}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        if self.reference:
            text += f"\n  see: {self.reference}"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity,
            "file": self.file,
            "line": self.line,
            "layer": self.layer,
            "message": self.message,
            "hint": self.hint,
            "reference": self.reference,
        }


def validate(
    arch: str | Path,
    params: Mapping[str, Any] | None = None,
    *,
    warnings: bool = True,
) -> list[Diagnostic]:
    """Every problem with an architecture (a path or a bundled name), without raising.

    The file is read, expanded and shape-checked as ``analyze`` would; the first error is
    returned as the only diagnostic (later errors could be consequences of it). When the file
    is valid and ``warnings`` is on, the design rules of :func:`lint` run on it (they need
    the receptive fields, so the analysis pass runs too; nothing is printed)."""
    from convcalc import api
    from convcalc.analysis import analyze

    try:
        graph = api.load(arch, params)
        report = analyze(graph) if warnings else None
    except ConvcalcError as err:
        return [Diagnostic.from_error(err, str(arch))]
    return lint(graph, report) if warnings and report is not None else []


def exit_code(diagnostics: Iterable[Diagnostic]) -> int:
    """0 when there is no error (warnings never fail), else the first error's exit code."""
    for d in diagnostics:
        if d.severity == "error":
            return d.exit_code or int(ExitCode.SPEC)
    return int(ExitCode.OK)


def to_json(diagnostics: Sequence[Diagnostic], source: str) -> dict[str, Any]:
    """The ``convcalc.validation/1`` document for ``convcalc validate --format json``."""
    errors = sum(d.severity == "error" for d in diagnostics)
    return {
        "schema": SCHEMA,
        "source": source,
        "valid": errors == 0,
        "errors": errors,
        "warnings": len(diagnostics) - errors,
        "diagnostics": [d.to_dict() for d in diagnostics],
    }


def to_text(diagnostics: Sequence[Diagnostic], source: str) -> str:
    """What ``convcalc validate`` prints: each diagnostic, then a summary line
    (``net.yaml: valid, 1 warning``)."""
    errors = sum(d.severity == "error" for d in diagnostics)
    warnings = len(diagnostics) - errors
    counts = [
        f"{n} {word}{'' if n == 1 else 's'}"
        for n, word in ((errors, "error"), (warnings, "warning"))
        if n
    ]
    verdict = f"{source}: {'invalid' if errors else 'valid'}"
    lines = [str(d) for d in diagnostics] + [", ".join([verdict, *counts])]
    return "\n".join(lines) + "\n"


# --- the design rules ---------------------------------------------------------------------


def lint(graph: Graph, report: Report | None = None) -> list[Diagnostic]:
    """Design warnings for an expanded graph, in file order of the layer each one names.

    ``report`` (from :func:`convcalc.analysis.analyze`) supplies receptive fields; without
    it the receptive-field rule is skipped. Layers whose sizes are symbolic are skipped by
    the rules that need numbers."""
    g = _Walk(graph)
    found: list[tuple[int, Diagnostic]] = []
    for rule in (_dilation_rules, _bottleneck_rule, _group_flow_rule):
        found.extend(rule(g))
    if report is not None:
        found.extend(_rf_rule(g, report))
    found.sort(key=lambda item: item[0])
    return [d for _, d in found]


class _Walk:
    """The graph with lookups the rules share."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.layers = graph.layers
        self.index = {layer.name: i for i, layer in enumerate(graph.layers)}
        self.by_name = {layer.name: layer for layer in graph.layers}
        self.readers: dict[str, list[Layer]] = {}
        for layer in graph.layers:
            for src in layer.inputs:
                self.readers.setdefault(src, []).append(layer)

    def source(self, layer: Layer) -> Layer | None:
        """The layer a single-input layer reads (None for the network input)."""
        return self.by_name.get(layer.inputs[0]) if len(layer.inputs) == 1 else None

    def input_shape(self, layer: Layer) -> tuple[Any, ...]:
        return self.graph.shapes[layer.inputs[0]]

    def diagnostic(
        self, layer: Layer, code: str, message: str, reference: str, hint: str | None = None
    ) -> tuple[int, Diagnostic]:
        file = layer.file or self.graph.file
        return self.index[layer.name], Diagnostic(
            code, "warning", file, layer.line, layer.name, message, hint, reference
        )


def _concrete(*values: Any) -> bool:
    return all(num.is_concrete(v) and not isinstance(v, float) for v in values)


def _is_activation(layer: Layer) -> bool:
    return layer.kind.category == "activation" and layer.kind.op != "softmax"


# --- dilation: gridding (HDC rule 1) and gaps (HDC rule 2) --------------------------------


def _window(layer: Layer) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]] | None:
    """(kernel, stride, dilation) of a sliding-window layer, or None."""
    if layer.kind.op not in SLIDING or len(layer.shape) != 3:
        return None
    a = layer.args
    k = a.get("k")
    stride = a.get("stride") or k
    dil = a.get("dilation", (1, 1))
    if k is None or not _concrete(*k, *stride, *dil):
        return None
    return k, stride, dil


def _stack_member(layer: Layer) -> bool:
    """A stride-1 sliding window with a kernel wider than 1 on some axis."""
    w = _window(layer)
    return w is not None and w[1] == (1, 1) and w[0] != (1, 1)


def _transparent_for_space(layer: Layer) -> bool:
    """Layers that map each position to the same position: norms, activations, 1x1 stride-1
    convs, identities."""
    if layer.kind.op in POINTWISE or _is_activation(layer) or layer.kind.op == "channel_shuffle":
        return True
    w = _window(layer)
    return w is not None and w[0] == (1, 1) and w[1] == (1, 1)  # any dilation of a 1x1


def _previous_member(g: _Walk, layer: Layer) -> Layer | None:
    node = g.source(layer)
    while node is not None and not _stack_member(node):
        if not _transparent_for_space(node):
            return None
        node = g.source(node)
    return node


def _offsets(taps: Sequence[tuple[int, int]]) -> int | None:
    """The input offsets one output reaches through stacked (kernel, rate) taps, as a bit set
    (bit x set when offset x is reached); None when the field is too wide to check."""
    span = sum((k - 1) * d for k, d in taps)
    if span > MAX_SPAN:
        return None
    bits = 1
    for k, d in taps:
        spread = 0
        for t in range(k):
            spread |= bits << (t * d)
        bits = spread
    return bits


def _dilation_rules(g: _Walk) -> list[tuple[int, Diagnostic]]:
    members = [layer for layer in g.layers if _stack_member(layer)]
    previous = {m.name: _previous_member(g, m) for m in members}
    has_next = {p.name for p in previous.values() if p is not None}
    found = []
    for tail in members:
        if tail.name in has_next:
            continue  # not the end of its stack: the stack is checked at its last layer
        stack = [tail]
        while (p := previous[stack[-1].name]) is not None:
            stack.append(p)
        stack.reverse()
        if len(stack) < 2:
            continue
        names = ", ".join(f"'{m.name}'" for m in stack)
        per_axis = []
        for axis in (0, 1):
            taps = [
                (w[0][axis], w[2][axis])
                for w in (_window(m) for m in stack)
                if w is not None and w[0][axis] > 1
            ]
            per_axis.append(taps)
        rates_shown = " x ".join(
            "(" + ", ".join(str(d) for _, d in taps) + ")" for taps in _unique(per_axis)
        )
        common = [math.gcd(*(d for _, d in taps)) if len(taps) >= 2 else 1 for taps in per_axis]
        if max(common) > 1:
            factor = max(common)
            found.append(
                g.diagnostic(
                    tail,
                    "gridding",
                    f"the stacked dilated layers {names} have rates {rates_shown} with the "
                    f"common factor {factor}: each output reads only pixels at offsets that "
                    f"are multiples of {factor}, and neighbouring outputs read disjoint grids "
                    "(the gridding effect)",
                    HDC,
                    hint="use rates without a common factor, rising in a sawtooth such as "
                    "1, 2, 5 (hybrid dilated convolution)",
                )
            )
            continue
        for taps in per_axis:
            if len(taps) < 2 or all(d == 1 for _, d in taps):
                continue
            bits = _offsets(taps)
            if bits is None or bits == (1 << bits.bit_length()) - 1:
                continue
            span = bits.bit_length()
            first_hole = next(x for x in range(span) if not bits >> x & 1)
            holes = span - bin(bits).count("1")
            last = taps[-1]
            found.append(
                g.diagnostic(
                    tail,
                    "dilation-gap",
                    f"the stacked dilated layers {names} (kernels and rates "
                    + ", ".join(f"{k}@{d}" for k, d in taps)
                    + f") leave {holes} of the {span} pixels of their field unseen (the "
                    f"first at offset {first_hole}): the rate {last[1]} of the last dilated "
                    "layer is larger than the span the kernels before it fill",
                    HDC,
                    hint="HDC's rule: choose rates so the largest gap is at most the kernel "
                    "size (M_2 <= K), e.g. 1, 2, 5 for 3x3 kernels",
                )
            )
            break
    return found


def _unique(items: list[list[tuple[int, int]]]) -> list[list[tuple[int, int]]]:
    return [items[0]] if items[0] == items[1] else items


# --- receptive field larger than the input ------------------------------------------------


def _sees_whole_input(rf: Any, shape: tuple[Any, ...], size: tuple[Any, ...]) -> bool:
    """Whether every unit of a (C, H, W) output's field contains the whole H x W input."""
    for axis in (0, 1):
        r, j, s, n = rf.size[axis], rf.jump[axis], rf.start[axis], shape[1 + axis]
        if not _concrete(r, j, s, n, size[axis]):
            return False
        if s + (n - 1) * j > 0 or s + r - 1 < size[axis] - 1:
            return False
    return True


def _rf_rule(g: _Walk, report: Report) -> list[tuple[int, Diagnostic]]:
    shape = g.graph.input_shape
    if len(shape) != 3:
        return []
    rows = {row.name: row for row in report.layers}
    first: Layer | None = None
    later = []
    for layer in g.layers:
        row = rows.get(layer.name)
        if row is None or row.rf is None or len(layer.shape) != 3:
            continue
        if layer.kind.reduces(layer.args, [g.input_shape(layer)], layer.shape):
            break  # a global summary: nothing spatial after it
        if first is None:
            if _sees_whole_input(row.rf, layer.shape, shape[1:]):
                first = layer
        elif (w := _window(layer)) is not None and w[0] != (1, 1):
            later.append(layer)
    if first is None or not later:
        return []
    row = rows[first.name]
    size = "x".join(str(v) for v in row.rf.size)
    return [
        g.diagnostic(
            first,
            "rf-outgrows-input",
            f"every unit of this layer already sees the whole {shape[1]}x{shape[2]} input "
            f"(receptive field {size}); the {len(later)} later layers with spatial kernels "
            f"(from '{later[0].name}') widen the field only into the padding",
            DISTILL,
            hint="a larger input, or fewer downsampling or wide-kernel layers, keeps the "
            "later layers useful; the effective field is smaller than the theoretical one, "
            "so treat this as a hint",
        )
    ]


# --- MobileNetV2: keep the narrow projection linear ---------------------------------------


def _depthwise(layer: Layer, g: _Walk) -> bool:
    op = layer.kind.op
    if op == "dwconv":
        return True
    if op == "conv" and len(layer.inputs) == 1:
        c_in = g.input_shape(layer)[0]
        groups = layer.args.get("groups", 1)
        return _concrete(c_in, groups) and groups > 1 and groups == c_in
    return False


def _bottleneck_rule(g: _Walk) -> list[tuple[int, Diagnostic]]:
    found = []
    for layer in g.layers:
        w = _window(layer)
        if layer.kind.op != "conv" or w is None or w[0] != (1, 1):
            continue
        c_in, c_out = g.input_shape(layer)[0], layer.shape[0]
        if not _concrete(c_in, c_out) or c_out >= c_in:
            continue  # not a narrowing projection
        node = g.source(layer)
        while node is not None and (node.kind.op in POINTWISE or _is_activation(node)):
            node = g.source(node)
        if node is None or not _depthwise(node, g):
            continue
        after = layer
        while len(readers := g.readers.get(after.name, [])) == 1 and readers[0].kind.op in (
            POINTWISE | {"lrn"}
        ):
            after = readers[0]
        readers = g.readers.get(after.name, [])
        if len(readers) == 1 and _is_activation(readers[0]):
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


# --- ShuffleNet: information must flow between groups -------------------------------------


def _grouped(layer: Layer, g: _Walk) -> int:
    """The group count of a grouped (not depthwise) conv, else 0."""
    if layer.kind.op not in ("conv", "deconv") or len(layer.inputs) != 1:
        return 0
    groups = layer.args.get("groups", 1)
    c_in = g.input_shape(layer)[0]
    if not _concrete(groups, c_in) or groups <= 1 or groups >= c_in:
        return 0
    return groups


def _channel_source(layer: Layer, g: _Walk, channel: int) -> int | None:
    """Which input channel a channel-local layer's output channel comes from (None when the
    layer mixes channels)."""
    op = layer.kind.op
    c_in = g.input_shape(layer)[0]
    if op == "channel_shuffle":
        groups = layer.args.groups
        return (channel % groups) * (c_in // groups) + channel // groups
    if _depthwise(layer, g):
        return channel // (layer.shape[0] // c_in)
    if (
        op in POINTWISE
        or _is_activation(layer)
        or op in ("maxpool", "avgpool", "global_avgpool", "global_maxpool", "upsample", "shift")
    ):
        return channel
    return None


def _group_flow_rule(g: _Walk) -> list[tuple[int, Diagnostic]]:
    found = []
    for layer in g.layers:
        groups = _grouped(layer, g)
        if not groups:
            continue
        path = []  # channel-local layers between this conv and the grouped conv it reads
        node = g.source(layer)
        while node is not None and not _grouped(node, g):
            if _channel_source(node, g, 0) is None or len(node.inputs) != 1:
                node = None
                break
            path.append(node)
            node = g.source(node)
        if node is None:
            continue
        c_mid, c_before = g.input_shape(layer)[0], g.input_shape(node)[0]
        if not _concrete(c_mid, c_before, *node.shape) or c_mid > MAX_CHANNELS:
            continue
        other = _grouped(node, g)
        per_group = c_mid // groups
        per_other = node.shape[0] // other
        reach = []
        for group in range(groups):
            seen = set()
            for channel in range(group * per_group, (group + 1) * per_group):
                for step in path:
                    channel = _channel_source(step, g, channel)
                seen.add(channel // per_other)
            reach.append(len(seen))
        if min(reach) < other:
            found.append(
                g.diagnostic(
                    layer,
                    "no-cross-group-flow",
                    f"this conv's {groups} groups read the {other} groups of '{node.name}' "
                    "with no channel shuffle or dense conv between: each of its output groups "
                    f"sees {min(reach)} of the {other} input groups, so information does not "
                    "flow between groups",
                    SHUFFLENET,
                    hint="add a channel_shuffle (groups = the first conv's groups) or a dense "
                    "1x1 conv between the grouped convs",
                )
            )
    return found


__all__ = ["SCHEMA", "Diagnostic", "exit_code", "lint", "to_json", "to_text", "validate"]
