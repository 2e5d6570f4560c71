"""Ultralytics' heads (ultralytics/nn/modules/head.py and Proto in block.py, read for
their structure): Detect with its DFL, Segment, Pose, OBB, v10Detect and Classify, one
function per module, taking the arguments ``parse_model`` gives them.

A detection head has one branch per level it reads (P3, P4, P5, ...), named
``model.<row>.cv2.<level>`` (boxes) and ``model.<row>.cv3.<level>`` (classes), so each
level's receptive field shows in the table. What the head computes after its
convolutions, besides the DFL (anchor points, box decoding, the sigmoid of the scores), is
arithmetic on the 8400 outputs that no counting in this module includes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from convcalc.frontends.ultralytics.blocks import cat
from convcalc.frontends.ultralytics.convs import arg
from convcalc.frontends.ultralytics.emit import Emitter, kind
from convcalc.layers.activation import Softmax
from convcalc.layers.conv import Conv, TransposedConv
from convcalc.layers.dense import Dropout, Flatten, Linear, Reshape
from convcalc.layers.merge import Concat
from convcalc.layers.pool import AdaptiveAvgPool
from convcalc.layers.shape import Permute


def conv2d(em: Emitter, name: str, x: str, c2: int) -> str:
    """nn.Conv2d(c, c2, 1): a 1x1 convolution with a bias, the last layer of a branch."""
    return em.add(name, kind(Conv), {"out": c2, "k": 1, "bias": True}, (x,))


def branch(em: Emitter, name: str, x: str, c: int, out: int) -> str:
    """Conv(x, c, 3), Conv(c, c, 3), nn.Conv2d(c, out, 1): one level of a box, mask,
    keypoint or angle branch (and of the classes in legacy heads)."""
    y = em.conv(f"{name}.0", x, c, 3)
    y = em.conv(f"{name}.1", y, c, 3)
    return conv2d(em, f"{name}.2", y, out)


def light_branch(em: Emitter, name: str, x: str, c: int, out: int, dw: bool) -> str:
    """The classes of YOLO11 and later: (DWConv(x, x, 3), Conv(x, c, 1)),
    (DWConv(c, c, 3), Conv(c, c, 1)), nn.Conv2d(c, out, 1); v10Detect writes its depthwise
    Convs as Conv(x, x, 3, g=x), the same layers (``dw`` only names them alike)."""
    del dw
    cx = em.channels(x)
    y = em.conv(f"{name}.0.0", x, cx, 3, 1, None, cx)
    y = em.conv(f"{name}.0.1", y, c, 1)
    y = em.conv(f"{name}.1.0", y, c, 3, 1, None, c)
    y = em.conv(f"{name}.1.1", y, c, 1)
    return conv2d(em, f"{name}.2", y, out)


def dfl(em: Emitter, name: str, boxes: Sequence[str], reg_max: int) -> str:
    """DFL(reg_max): the box outputs of every level joined (4 reg_max x A anchors), seen as
    4 x reg_max x A, softmax over the reg_max bins, and a fixed 1x1 conv of reg_max
    weights (0 ... reg_max - 1, counted as parameters as PyTorch does) to 4 x A."""
    flat = []
    for i, b in enumerate(boxes):
        c, h, w = em.shape(b)
        flat.append(em.add(f"{name}.view.{i}", kind(Reshape), {"shape": [c, h * w]}, (b,)))
    joined = em.add(f"{name}.boxes", kind(Concat), {"axis": 1}, flat) if len(flat) > 1 else flat[0]
    anchors = em.shape(joined)[1]
    y = em.add(f"{name}.bins", kind(Reshape), {"shape": [4, reg_max, anchors]}, (joined,))
    y = em.add(f"{name}.bins_first", kind(Permute), {"order": [1, 0, 2]}, (y,))
    y = em.add(f"{name}.softmax", kind(Softmax), {"axis": 0}, (y,))
    return em.add(f"{name}.conv", kind(Conv), {"out": 1, "k": 1, "bias": False}, (y,))


def _levels(em: Emitter, a: Sequence[Any], at: int) -> list[int]:
    ch = arg(em, a, at, [], "any")
    if not isinstance(ch, list) or not ch:
        raise em.error("a head needs the list of levels it reads in 'from'")
    return ch


def detect(
    em: Emitter,
    name: str,
    xs: Sequence[str],
    nc: int,
    reg_max: int,
    end2end: bool,
    extra: tuple[str, int] | None = None,
    v10: bool = False,
) -> str:
    """Detect(nc=80, reg_max=16, end2end=False, ch): per level a box branch to 4 reg_max
    (c2 = max(16, ch[0] // 4, 4 reg_max) wide) and a class branch to nc
    (c3 = max(ch[0], min(nc, 100)) wide; legacy Conv branches before YOLO11, the light ones
    after); ``extra`` (name, width, outputs) adds the task branch ``cv4``; ``end2end`` a
    second copy of every branch (one2one_*); then the DFL when reg_max > 1."""
    ch0 = em.channels(xs[0])
    c2 = max(16, ch0 // 4, reg_max * 4)
    c3 = max(ch0, min(nc, 100))
    legacy = em.facts.get("legacy", True) and not v10
    boxes = []
    for prefix in ("", "one2one_") if end2end else ("",):
        # As forward_head runs them: every level's boxes, then classes, then the task's.
        for i, x in enumerate(xs):
            b = branch(em, f"{name}.{prefix}cv2.{i}", x, c2, 4 * reg_max)
            if not prefix:
                boxes.append(b)
        for i, x in enumerate(xs):
            if legacy:
                branch(em, f"{name}.{prefix}cv3.{i}", x, c3, nc)
            else:
                light_branch(em, f"{name}.{prefix}cv3.{i}", x, c3, nc, v10)
        if extra is not None:
            c4, outs = extra[1], int(extra[0])
            for i, x in enumerate(xs):
                branch(em, f"{name}.{prefix}cv4.{i}", x, c4, outs)
    last = boxes[-1]
    if reg_max > 1:
        last = dfl(em, f"{name}.dfl", boxes, reg_max)
    return last


def _common(em: Emitter, a: Sequence[Any], at: int) -> tuple[int, int, bool]:
    """nc, reg_max and end2end of a Detect-family row (parse_model appends the last two)."""
    nc = arg(em, a, 0, 80)
    reg_max = arg(em, a, at, 16)
    end2end = bool(arg(em, a, at + 1, False, "any"))
    if nc < 1 or reg_max < 1:
        raise em.error(f"nc {nc} and reg_max {reg_max} must be at least 1")
    return nc, reg_max, end2end


def detect_row(em: Emitter, name: str, xs: Sequence[str], a: Sequence[Any]) -> str:
    _levels(em, a, 3)
    nc, reg_max, end2end = _common(em, a, 1)
    return detect(em, name, xs, nc, reg_max, end2end)


def proto(em: Emitter, name: str, x: str, c_: int, c2: int) -> str:
    """Proto(c1, c_=256, c2=32): a 3x3 Conv to c_, a 2x2 transposed conv at stride 2 (with
    bias), a 3x3 Conv, a 1x1 Conv to the c2 masks."""
    y = em.conv(f"{name}.cv1", x, c_, 3)
    y = em.add(
        f"{name}.upsample",
        kind(TransposedConv),
        {"out": c_, "k": 2, "stride": 2, "bias": True},
        (y,),
    )
    y = em.conv(f"{name}.cv2", y, c_, 3)
    return em.conv(f"{name}.cv3", y, c2)


def segment_row(em: Emitter, name: str, xs: Sequence[str], a: Sequence[Any]) -> str:
    """Segment(nc=80, nm=32, npr=256, ...): Detect, a mask-coefficient branch
    (c4 = max(ch[0] // 4, nm) wide, to nm) per level, and Proto(ch[0], npr, nm) on the
    first level (npr scaled by the width rule)."""
    _levels(em, a, 5)
    nc, reg_max, end2end = _common(em, a, 3)
    nm, npr = arg(em, a, 1, 32), arg(em, a, 2, 256)
    c4 = max(em.channels(xs[0]) // 4, nm)
    out = detect(em, name, xs, nc, reg_max, end2end, (str(nm), c4))
    proto(em, f"{name}.proto", xs[0], npr, nm)
    return out


def pose_row(em: Emitter, name: str, xs: Sequence[str], a: Sequence[Any]) -> str:
    """Pose(nc=80, kpt_shape=(17, 3), ...): Detect and a keypoint branch
    (c4 = max(ch[0] // 4, nk) wide, to nk = kpt_shape[0] kpt_shape[1]) per level."""
    _levels(em, a, 4)
    nc, reg_max, end2end = _common(em, a, 2)
    kpt = arg(em, a, 1, [17, 3], "any")
    if not (
        isinstance(kpt, list | tuple)
        and len(kpt) == 2
        and all(isinstance(v, int) and v > 0 for v in kpt)
    ):
        raise em.error(f"kpt_shape {kpt!r}: expected [keypoints, values per keypoint]")
    nk = kpt[0] * kpt[1]
    return detect(em, name, xs, nc, reg_max, end2end, (str(nk), max(em.channels(xs[0]) // 4, nk)))


def obb_row(em: Emitter, name: str, xs: Sequence[str], a: Sequence[Any]) -> str:
    """OBB(nc=80, ne=1, ...): Detect and an angle branch (c4 = max(ch[0] // 4, ne) wide,
    to ne) per level."""
    _levels(em, a, 4)
    nc, reg_max, end2end = _common(em, a, 2)
    ne = arg(em, a, 1, 1)
    return detect(em, name, xs, nc, reg_max, end2end, (str(ne), max(em.channels(xs[0]) // 4, ne)))


def v10detect_row(em: Emitter, name: str, xs: Sequence[str], a: Sequence[Any]) -> str:
    """v10Detect(nc=80, ch): Detect with end2end (both branch sets), reg_max 16, and light
    class branches whose depthwise Convs are Conv(x, x, 3, g=x)."""
    _levels(em, a, 1)
    nc = arg(em, a, 0, 80)
    return detect(em, name, xs, nc, 16, True, None, v10=True)


def classify_row(em: Emitter, name: str, xs: Sequence[str], a: Sequence[Any]) -> str:
    """Classify(c1, c2, k=1, s=1, p=None, g=1): a Conv to 1280, global average pooling,
    dropout, a linear layer to c2 (nc, never width-scaled) and, at inference, softmax."""
    x = xs[0] if len(xs) == 1 else cat(em, f"{name}.cat", xs)
    y = em.conv(
        f"{name}.conv",
        x,
        1280,
        arg(em, a, 2, 1, "kernel"),
        arg(em, a, 3, 1),
        arg(em, a, 4, None, "padding"),
        arg(em, a, 5, 1),
    )
    y = em.add(f"{name}.pool", kind(AdaptiveAvgPool), {"size": 1}, (y,))
    y = em.add(f"{name}.flatten", kind(Flatten), {}, (y,))
    y = em.add(f"{name}.drop", kind(Dropout), {"p": 0}, (y,))
    y = em.add(f"{name}.linear", kind(Linear), {"out": arg(em, a, 1, 0)}, (y,))
    return em.add(f"{name}.softmax", kind(Softmax), {}, (y,))
