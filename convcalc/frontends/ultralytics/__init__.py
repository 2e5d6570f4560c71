"""The Ultralytics model YAML reader: ``backbone`` and ``head`` lists of
``[from, repeats, module, args]`` rows with ``scales``, read as Ultralytics' own
``parse_model`` reads them (the rules here were written from its source, in
ultralytics/nn/tasks.py, and from the module definitions), with neither ultralytics nor
torch needed.

- The scale is the letter after the version in the file name (``yolov8s.yaml``: s;
  ``yolo11n-seg.yaml``: n), or ``--set scale=s``; a file naming none takes the first of
  its ``scales``. Its ``[depth, width, max_channels]`` scale the rows.
- Repeats: ``max(round(n * depth), 1)`` for n > 1 (Python's round, half to even).
- Channels of the channel-scaled modules: only their first argument, as
  ``make_divisible(min(c, max_channels) * width, 8)`` (the next multiple of 8 at or
  above), computed in floating point from the file's numbers as parse_model does.
- Each module is one rule (:data:`MODULES`), building the layers its PyTorch module holds,
  named ``model.<row>.<submodule>`` after it.

docs/import.md lists every module with its rule, and the ``ultralytics`` counting preset
(:mod:`convcalc.frontends.ultralytics.counting`) that gives the GFLOPs Ultralytics prints.
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from convcalc.errors import SpecError, UsageError
from convcalc.frontends.ultralytics import attention, blocks, convs, heads
from convcalc.frontends.ultralytics.emit import DEFAULT_ACT, Emitter, activation_kind
from convcalc.graph import INPUT, Graph, GraphBuilder
from convcalc.layers.base import Shape
from convcalc.schema import limits
from convcalc.schema.loader import YList, YMap, display_name, load_yaml, read_text

#: The names ``--set`` accepts: the scale letter and the number of classes (split from
#: text: the first is also an op's name, which only convcalc/layers/ spells).
PARAMS = tuple("scale nc".split())  # noqa: SIM905
SCALE = PARAMS[0]
#: Parameters whose ``--set`` value is a name, not a number.
TEXT_PARAMS = frozenset({SCALE})
#: The image size Ultralytics reports GFLOPs at.
IMAGE_SIZE = 640

One = Callable[[Emitter, str, str, Sequence[Any]], str]
Many = Callable[[Emitter, str, Sequence[str], Sequence[Any]], str]


@dataclass(frozen=True)
class Module:
    """How parse_model treats a module name, and the rule that builds it.

    ``scaled``: its first argument is an output width, scaled by the width rule, and
    [c1, c2, ...] are passed; ``repeats``: the row's repeat count becomes its third
    argument (else the module is repeated ``n`` times in sequence); ``head``: it reads
    several rows (``many`` is its rule) and parse_model appends reg_max, end2end and the
    input widths (``appends`` of them); ``c1``: the input width is passed first, unscaled
    (CBLinear)."""

    rule: One | None = None
    many: Many | None = None
    scaled: bool = False
    c1: bool = False
    repeats: bool = False
    appends: int = 0


_S = {"scaled": True}
_R = {"scaled": True, "repeats": True}

#: Every module this reader knows, by the name a row writes.
MODULES: dict[str, Module] = {
    "Conv": Module(convs.conv, **_S),
    "DWConv": Module(convs.dwconv, **_S),
    "ConvTranspose": Module(convs.conv_transpose, **_S),
    "Focus": Module(convs.focus, **_S),
    "GhostConv": Module(convs.ghost_conv_row, **_S),
    "RepConv": Module(convs.rep_conv_row),
    "Bottleneck": Module(blocks.bottleneck_row, **_S),
    "GhostBottleneck": Module(blocks.ghost_bottleneck_row, **_S),
    "C1": Module(blocks.c1_row, **_R),
    "C2": Module(blocks.c2_row, **_R),
    "C2f": Module(blocks.c2f_row, **_R),
    "C3": Module(blocks.c3_row, **_R),
    "C3k2": Module(attention.c3k2_row, **_R),
    "C3x": Module(blocks.c3x_row, **_R),
    "C3Ghost": Module(blocks.c3ghost_row, **_R),
    "C3TR": Module(attention.c3tr_row, **_R),
    "C2fCIB": Module(blocks.c2fcib_row, **_R),
    "C2PSA": Module(attention.c2psa_row, **_R),
    "A2C2f": Module(attention.a2c2f_row, **_R),
    "PSA": Module(attention.psa_row, **_S),
    "SPP": Module(blocks.spp_row, **_S),
    "SPPF": Module(blocks.sppf_row, **_S),
    "SPPELAN": Module(blocks.sppelan_row, **_S),
    "RepNCSPELAN4": Module(blocks.rep_ncsp_elan4_row, **_S),
    "ELAN1": Module(blocks.elan1_row, **_S),
    "ADown": Module(blocks.adown_row, **_S),
    "AConv": Module(blocks.aconv_row, **_S),
    "SCDown": Module(blocks.scdown_row, **_S),
    "Concat": Module(many=convs.concat),
    "nn.Upsample": Module(convs.upsample),
    "nn.ConvTranspose2d": Module(convs.conv_transpose2d, **_S),
    "nn.MaxPool2d": Module(convs.maxpool),
    "nn.ZeroPad2d": Module(convs.zero_pad),
    "nn.Identity": Module(convs.identity),
    "CBLinear": Module(convs.cblinear, c1=True),
    "CBFuse": Module(many=convs.cbfuse),
    "Detect": Module(many=heads.detect_row, appends=3),
    "Segment": Module(many=heads.segment_row, appends=3),
    "Pose": Module(many=heads.pose_row, appends=3),
    "OBB": Module(many=heads.obb_row, appends=3),
    "v10Detect": Module(many=heads.v10detect_row, appends=1),
    "Classify": Module(many=heads.classify_row, scaled=True),
}

#: Modules whose presence makes parse_model build the newer (non-legacy) Detect heads.
_NOT_LEGACY = frozenset({"C3k2", "A2C2f", "C2fCIB"})

_SCALE_IN_NAME = re.compile(r"yolo(e-)?v?\d+([nslmx])")


def make_divisible(x: float, divisor: int = 8) -> int:
    """The smallest multiple of ``divisor`` at or above ``x`` (Ultralytics' rule)."""
    return math.ceil(x / divisor) * divisor


def scale_from_name(path: Path) -> str:
    """The scale letter of a file name (``yolov8s`` -> s, ``yolo11x-seg`` -> x), or ''."""
    m = _SCALE_IN_NAME.search(path.stem)
    return m.group(2) if m else ""


@dataclass
class Document:
    """The checked top-level keys of one file."""

    shown: str
    doc: YMap
    rows: list[tuple[Any, int | None]]  # (row, line) of backbone then head
    nc: int
    scale: str
    depth: float
    width: float
    max_channels: float
    channels: int


def _number(shown: str, doc: YMap, key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise SpecError(
            f"{key} must be a positive number, got {value!r}",
            file=shown,
            line=doc.line_of(key) if key in doc else None,
        )
    return value


def _read(path: Path, overrides: Mapping[str, Any]) -> Document:
    shown = display_name(path)
    doc = load_yaml(read_text(path, shown), shown, quote=False)
    if not isinstance(doc, YMap):
        raise SpecError("an Ultralytics model YAML is a mapping", file=shown)
    rows: list[tuple[Any, int | None]] = []
    for part in ("backbone", "head"):
        value = doc.get(part)
        if not isinstance(value, YList):
            raise SpecError(
                f"'{part}' must be a list of [from, repeats, module, args] rows",
                file=shown,
                line=doc.line_of(part) if part in doc else None,
            )
        rows.extend((row, value.line_of(i)) for i, row in enumerate(value))
    nc = overrides.get("nc", doc.get("nc", 80))
    if isinstance(nc, Fraction) and nc.denominator == 1:
        nc = int(nc)
    if isinstance(nc, bool) or not isinstance(nc, int) or nc < 1:
        raise SpecError(
            f"nc must be a whole number of classes, got {nc!r}",
            file=shown,
            line=doc.line_of("nc") if "nc" in doc else None,
        )
    scales = doc.get("scales")
    scale = str(overrides.get(SCALE, "")) or scale_from_name(path)
    depth = _number(shown, doc, "depth_multiple", doc.get("depth_multiple", 1.0))
    width = _number(shown, doc, "width_multiple", doc.get("width_multiple", 1.0))
    max_channels: float = math.inf
    if scales is not None:
        if not isinstance(scales, YMap) or not scales:
            raise SpecError(
                "scales must map a letter to [depth, width, max_channels]",
                file=shown,
                line=doc.line_of("scales"),
            )
        if not scale:
            scale = next(iter(scales))
        if scale not in scales:
            raise SpecError(
                f"scale {scale!r} is not one of this file's scales ({', '.join(scales)})",
                file=shown,
                line=doc.line_of("scales"),
                hint="name the file yolov8s.yaml or give --set scale=s",
            )
        entry = scales[scale]
        if not (isinstance(entry, list) and len(entry) == 3):
            raise SpecError(
                f"scale {scale!r} must be [depth, width, max_channels], got {entry!r}",
                file=shown,
                line=scales.line_of(scale),
            )
        depth, width, max_channels = (_number(shown, scales, scale, v) for v in entry)
    elif SCALE in overrides:
        raise UsageError(f"{shown} has no scales, so --set scale does not apply")
    channels = doc.get("ch", doc.get("channels", 3))
    if isinstance(channels, bool) or not isinstance(channels, int) or channels < 1:
        raise SpecError(
            f"ch must be a whole number of input channels, got {channels!r}", file=shown
        )
    return Document(shown, doc, rows, nc, scale, depth, width, max_channels, channels)


def _value(text: str, names: Mapping[str, Any]) -> Any:
    """A string argument as parse_model reads it: a name it has (nc, kpt_shape, ...) or a
    Python literal (None, True, 0.5); anything else stays text (``"nearest"``)."""
    if text in names:
        return names[text]
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text


def _sources(em: Emitter, f: Any, i: int, outputs: list[str]) -> list[str]:
    """The layers a row's ``from`` names: -1 the previous row, other negatives count back
    from this row, others are row indices; each must be an earlier row."""
    fs = [f] if isinstance(f, int) and not isinstance(f, bool) else f
    if not isinstance(fs, list) or not fs:
        raise em.error(f"'from' must be an index or a list of indices, got {f!r}")
    out = []
    for j in fs:
        if isinstance(j, bool) or not isinstance(j, int):
            raise em.error(f"'from' index {j!r} is not an integer")
        at = i + j if j < 0 else j
        if j == -1:
            out.append(outputs[-1])
        elif 0 <= at < i:
            out.append(outputs[at + 1])
        else:
            raise em.error(f"'from' index {j} does not name an earlier row")
    return out


def _build(path: Path, overrides: Mapping[str, Any], input_shape: Shape | None) -> Graph:
    d = _read(path, overrides)
    act_text = d.doc.get("activation", DEFAULT_ACT)
    act = activation_kind(act_text) if isinstance(act_text, str) else None
    if act is None:
        raise SpecError(
            f"activation {act_text!r} is not supported",
            file=d.shown,
            line=d.doc.line_of("activation") if "activation" in d.doc else None,
            hint="nn.SiLU(), nn.ReLU(), nn.ReLU6(), nn.Hardswish(), nn.Sigmoid(), nn.GELU()",
        )
    shape = tuple(input_shape) if input_shape else (d.channels, IMAGE_SIZE, IMAGE_SIZE)
    stem = path.stem if not d.scale else f"{path.stem} (scale {d.scale})"
    graph = Graph(
        name=stem,
        source=f"Ultralytics model YAML: {d.shown}",
        file=str(path),
        citation="",
        description=f"scale {d.scale or '-'}: depth {d.depth}, width {d.width}, "
        f"max_channels {d.max_channels}",
        bindings={"nc": d.nc, **({SCALE: d.scale} if d.scale else {})},
        input_shape=shape,
    )
    em = Emitter(GraphBuilder(graph, limits.MAX_LAYERS), d.shown, act)
    reg_max = d.doc.get("reg_max", 16)
    end2end = bool(d.doc.get("end2end", False))
    names = {
        "nc": d.nc,
        "reg_max": reg_max,
        "end2end": end2end,
        "kpt_shape": d.doc.get("kpt_shape", 1.0),
        SCALE: d.scale,
        "depth": d.depth,
        "width": d.width,
        "max_channels": d.max_channels,
    }
    em.facts["legacy"] = True
    outputs = [INPUT]
    for i, (row, line) in enumerate(d.rows):
        em.row, em.line, em.module = i, line, "?"
        if not (isinstance(row, list) and len(row) == 4):
            raise em.error("a row must be [from, repeats, module, args]")
        f, n, m, args = row
        em.module = str(m)[:60]
        module = MODULES.get(m) if isinstance(m, str) else None
        if module is None:
            raise em.error(
                f"module {str(m)[:60]!r} is not supported",
                hint="docs/import.md lists the Ultralytics modules convcalc reads",
            )
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise em.error(f"repeats must be a positive integer, got {n!r}")
        if not isinstance(args, list):
            raise em.error(f"args must be a list, got {args!r}")
        args = [_value(a, names) if isinstance(a, str) else a for a in args]
        if m in _NOT_LEGACY:
            em.facts["legacy"] = False
        n = max(round(n * d.depth), 1) if n > 1 else n
        xs = _sources(em, f, i, outputs)
        name = f"model.{i}"
        if module.scaled:
            if not args or isinstance(args[0], bool) or not isinstance(args[0], int):
                raise em.error(f"the first argument must be the output channels, got {args!r}")
            c2 = args[0]
            if m != "Classify":
                c2 = make_divisible(min(c2, d.max_channels) * d.width, 8)
            args = [em.channels(xs[0]), c2, *args[1:]]
            if module.repeats:
                args.insert(2, n)
                n = 1
            if m == "C3k2" and d.scale in ("m", "l", "x"):
                args[3:4] = [True]
            if m == "A2C2f" and d.scale in ("l", "x"):
                args.extend((True, 1.2))
        elif module.c1:
            args = [em.channels(xs[0]), *args]
        if module.appends == 3:
            args.extend([reg_max, end2end, [em.channels(x) for x in xs]])
            if m == "Segment" and len(args) > 2 and isinstance(args[2], int):
                args[2] = make_divisible(min(args[2], d.max_channels) * d.width, 8)
        elif module.appends == 1:
            args.append([em.channels(x) for x in xs])
        if module.many is not None:
            if n != 1:
                raise em.error(f"a {m} row cannot be repeated")
            out = module.many(em, name, xs, args)
        else:
            if len(xs) != 1:
                raise em.error(f"{m} reads one row, 'from' names {len(xs)}")
            out = xs[0]
            for j in range(n):
                out = module.rule(em, f"{name}.{j}" if n > 1 else name, out, args)
                if module.scaled:
                    args[0] = em.channels(out)
        outputs.append(out)
    return graph


def load(
    path: Path,
    overrides: Mapping[str, Any],
    input_shape: Shape | None,
    free: Sequence[str],
    symbolic: bool,
) -> Graph:
    """The graph of an Ultralytics model YAML (see the module docstring)."""
    if free or symbolic:
        raise UsageError(
            "an Ultralytics model YAML is read with concrete sizes: --free and --symbolic "
            "do not apply",
            hint="convert it to convcalc's YAML (convcalc convert) to make it symbolic",
        )
    unknown = [k for k in overrides if k not in PARAMS]
    if unknown:
        raise UsageError(
            f"unknown parameter {unknown[0]!r} for {display_name(path)}",
            hint="an Ultralytics model YAML takes --set "
            + " and --set ".join(f"{p}=..." for p in PARAMS),
        )
    return _build(path, overrides, input_shape)


def declared_params(path: Path) -> list[str]:
    """The names ``--set`` accepts: scale and nc."""
    return list(PARAMS)
