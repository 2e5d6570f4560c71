"""Ultralytics' CSP, ELAN and pooling blocks (ultralytics/nn/modules/block.py, read for
their structure), one function per module. Hidden widths are ``int(c2 * e)`` as the
modules compute them, in floating point, from the YAML's own numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from convcalc.frontends.ultralytics.convs import arg, ghost_conv, rep_conv
from convcalc.frontends.ultralytics.emit import Emitter, kind
from convcalc.layers.merge import Add, Concat
from convcalc.layers.pool import AvgPool, MaxPool
from convcalc.layers.shape import Chunk

#: A block inside a block: (emitter, name, input, c2) -> output.
Inner = Callable[[Emitter, str, str, int], str]


def split(em: Emitter, name: str, x: str, parts: int = 2) -> list[str]:
    """``chunk(parts, 1)`` (or ``split`` into equal parts) of the channels."""
    return [
        em.add(f"{name}.{i}", kind(Chunk), {"chunks": parts, "index": i}, (x,))
        for i in range(parts)
    ]


def cat(em: Emitter, name: str, xs: Sequence[str]) -> str:
    return em.add(name, kind(Concat), {}, xs)


def bottleneck(
    em: Emitter,
    name: str,
    x: str,
    c2: int,
    shortcut: bool = True,
    g: int = 1,
    k: tuple[Any, Any] = (3, 3),
    e: float = 0.5,
) -> str:
    """Bottleneck(c1, c2, shortcut=True, g=1, k=(3, 3), e=0.5): two Convs, added to the
    input when ``shortcut`` and c1 == c2."""
    c1 = em.channels(x)
    c_ = int(c2 * e)
    y = em.conv(f"{name}.cv1", x, c_, k[0], 1)
    y = em.conv(f"{name}.cv2", y, c2, k[1], 1, None, g)
    return em.add(f"{name}.add", kind(Add), {}, (x, y)) if shortcut and c1 == c2 else y


def rep_bottleneck(em: Emitter, name: str, x: str, c2: int, shortcut: bool, g: int) -> str:
    """RepBottleneck: a Bottleneck (e=1) whose first Conv is a RepConv."""
    c1 = em.channels(x)
    y = rep_conv(em, f"{name}.cv1", x, c2, 3, 1)
    y = em.conv(f"{name}.cv2", y, c2, 3, 1, None, g)
    return em.add(f"{name}.add", kind(Add), {}, (x, y)) if shortcut and c1 == c2 else y


def csp3(em: Emitter, name: str, x: str, c2: int, n: int, e: float, inner: Inner) -> str:
    """The C3 pattern: two 1x1 Convs to c_ = int(c2 e); ``n`` inner blocks on the first;
    a 1x1 Conv of both concatenated."""
    c_ = int(c2 * e)
    y = em.conv(f"{name}.cv1", x, c_)
    z = em.conv(f"{name}.cv2", x, c_)
    for i in range(n):
        y = inner(em, f"{name}.m.{i}", y, c_)
    return em.conv(f"{name}.cv3", cat(em, f"{name}.cat", (y, z)), c2)


def c2f_pattern(em: Emitter, name: str, x: str, c2: int, n: int, e: float, inner: Inner) -> str:
    """The C2f pattern: a 1x1 Conv to 2c (c = int(c2 e)) split in two; ``n`` inner blocks
    chained on the last part; a 1x1 Conv of every part concatenated."""
    c = int(c2 * e)
    ys = split(em, f"{name}.split", em.conv(f"{name}.cv1", x, 2 * c))
    for i in range(n):
        ys.append(inner(em, f"{name}.m.{i}", ys[-1], c))
    return em.conv(f"{name}.cv2", cat(em, f"{name}.cat", ys), c2)


def _flags(em: Emitter, a: Sequence[Any], shortcut_default: bool) -> tuple[int, int, bool, int]:
    return (
        arg(em, a, 1, 0),
        arg(em, a, 2, 1),
        bool(arg(em, a, 3, shortcut_default, "bool")),
        arg(em, a, 4, 1),
    )


def c1_row(em: Emitter, name: str, x: str, a: Sequence[Any]) -> str:
    """C1(c1, c2, n=1): a 1x1 Conv, n 3x3 Convs, the two added."""
    c2, n = arg(em, a, 1, 0), arg(em, a, 2, 1)
    y = em.conv(f"{name}.cv1", x, c2)
    z = y
    for i in range(n):
        z = em.conv(f"{name}.m.{i}", z, c2, 3)
    return em.add(f"{name}.add", kind(Add), {}, (z, y))


def c2_row(em: Emitter, name: str, x: str, a: Sequence[Any]) -> str:
    """C2(c1, c2, n=1, shortcut=True, g=1, e=0.5): a 1x1 Conv to 2c split in two, n
    Bottlenecks (e=1) on the first, a 1x1 Conv of both."""
    c2, n, sc, g = _flags(em, a, True)
    c = int(c2 * arg(em, a, 5, 0.5, "num"))
    y0, y1 = split(em, f"{name}.split", em.conv(f"{name}.cv1", x, 2 * c))
    for i in range(n):
        y0 = bottleneck(em, f"{name}.m.{i}", y0, c, sc, g, (3, 3), 1.0)
    return em.conv(f"{name}.cv2", cat(em, f"{name}.cat", (y0, y1)), c2)


def c2f_row(em: Emitter, name: str, x: str, a: Sequence[Any]) -> str:
    """C2f(c1, c2, n=1, shortcut=False, g=1, e=0.5): the C2f pattern of Bottlenecks (e=1)."""
    c2, n, sc, g = _flags(em, a, False)
    return c2f_pattern(
        em,
        name,
        x,
        c2,
        n,
        arg(em, a, 5, 0.5, "num"),
        lambda em, nm, y, c: bottleneck(em, nm, y, c, sc, g, (3, 3), 1.0),
    )


def c3k(
    em: Emitter, name: str, x: str, c2: int, n: int, sc: bool, g: int, e: float = 0.5, k: int = 3
) -> str:
    """C3k(c1, c2, n=1, shortcut=True, g=1, e=0.5, k=3): the C3 pattern of k x k
    Bottlenecks (e=1)."""
    return csp3(
        em, name, x, c2, n, e, lambda em, nm, y, c: bottleneck(em, nm, y, c, sc, g, (k, k), 1.0)
    )


def c3_row(em: Emitter, name: str, x: str, a: Sequence[Any]) -> str:
    """C3(c1, c2, n=1, shortcut=True, g=1, e=0.5): the C3 pattern of Bottlenecks with a
    1x1 and a 3x3 Conv (e=1)."""
    c2, n, sc, g = _flags(em, a, True)
    return csp3(
        em,
        name,
        x,
        c2,
        n,
        arg(em, a, 5, 0.5, "num"),
        lambda em, nm, y, c: bottleneck(em, nm, y, c, sc, g, (1, 3), 1.0),
    )


def c3k_row(em: Emitter, name: str, x: str, a: Sequence[Any]) -> str:
    c2, n, sc, g = _flags(em, a, True)
    return c3k(em, name, x, c2, n, sc, g, arg(em, a, 5, 0.5, "num"), arg(em, a, 6, 3))


def c3x_row(em: Emitter, name: str, x: str, a: Sequence[Any]) -> str:
    """C3x: the C3 pattern of Bottlenecks with 1x3 and 3x1 Convs (e=1)."""
    c2, n, sc, g = _flags(em, a, True)
    return csp3(
        em,
        name,
        x,
        c2,
        n,
        arg(em, a, 5, 0.5, "num"),
        lambda em, nm, y, c: bottleneck(em, nm, y, c, sc, g, ((1, 3), (3, 1)), 1.0),
    )


def ghost_bottleneck(em: Emitter, name: str, x: str, c2: int, k: int = 3, s: int = 1) -> str:
    """GhostBottleneck(c1, c2, k=3, s=1): GhostConv to c2 // 2, (a strided depthwise Conv),
    GhostConv without activation; added to the input (through a depthwise and a 1x1 Conv
    when strided)."""
    c_ = c2 // 2
    y = ghost_conv(em, f"{name}.conv.0", x, c_, 1, 1)
    if s == 2:
        y = em.conv(f"{name}.conv.1", y, c_, k, s, None, c_, 1, False)
    y = ghost_conv(em, f"{name}.conv.2", y, c2, 1, 1, 1, False)
    short = x
    if s == 2:
        c1 = em.channels(x)
        short = em.conv(f"{name}.shortcut.0", x, c1, k, s, None, c1, 1, False)
        short = em.conv(f"{name}.shortcut.1", short, c2, 1, 1, None, 1, 1, False)
    return em.add(f"{name}.add", kind(Add), {}, (y, short))


def c3ghost_row(em: Emitter, name: str, x: str, a: Sequence[Any]) -> str:
    """C3Ghost: the C3 pattern of GhostBottlenecks."""
    c2, n, _, _ = _flags(em, a, True)
    return csp3(
        em,
        name,
        x,
        c2,
        n,
        arg(em, a, 5, 0.5, "num"),
        lambda em, nm, y, c: ghost_bottleneck(em, nm, y, c),
    )


def ghost_bottleneck_row(em: Emitter, name: str, x: str, a: Sequence[Any]) -> str:
    return ghost_bottleneck(em, name, x, arg(em, a, 1, 0), arg(em, a, 2, 3), arg(em, a, 3, 1))


def bottleneck_row(em: Emitter, name: str, x: str, a: Sequence[Any]) -> str:
    k = arg(em, a, 4, (3, 3), "any")
    if not (isinstance(k, list | tuple) and len(k) == 2):
        raise em.error(f"Bottleneck kernels {k!r}: expected two kernel sizes")
    return bottleneck(
        em,
        name,
        x,
        arg(em, a, 1, 0),
        bool(arg(em, a, 2, True, "bool")),
        arg(em, a, 3, 1),
        (k[0], k[1]),
        arg(em, a, 5, 0.5, "num"),
    )


def _pool(em: Emitter, name: str, x: str, k: int) -> str:
    return em.add(name, kind(MaxPool), {"k": k, "stride": 1, "padding": k // 2}, (x,))


def spp_row(em: Emitter, name: str, x: str, a: Sequence[Any]) -> str:
    """SPP(c1, c2, k=(5, 9, 13)): a 1x1 Conv to c1 // 2, max pools of each k in parallel
    (stride 1, 'same'), a 1x1 Conv of all concatenated."""
    ks = arg(em, a, 2, [5, 9, 13], "any")
    if not (isinstance(ks, list | tuple) and all(isinstance(k, int) for k in ks)):
        raise em.error(f"SPP kernels {ks!r}: expected a list of sizes")
    y = em.conv(f"{name}.cv1", x, em.channels(x) // 2)
    ys = [y] + [_pool(em, f"{name}.m.{i}", y, k) for i, k in enumerate(ks)]
    return em.conv(f"{name}.cv2", cat(em, f"{name}.cat", ys), arg(em, a, 1, 0))


def sppf_row(em: Emitter, name: str, x: str, a: Sequence[Any]) -> str:
    """SPPF(c1, c2, k=5, n=3, shortcut=False): a 1x1 Conv to c1 // 2 (activated only in
    rows of three arguments or fewer, the rule parse_model keeps for files older than
    YOLO26), ``n`` chained k x k max pools, a 1x1 Conv of all concatenated; added to the
    input when ``shortcut`` and c1 == c2."""
    c1, c2 = em.channels(x), arg(em, a, 1, 0)
    k, n = arg(em, a, 2, 5), arg(em, a, 3, 3)
    shortcut = bool(arg(em, a, 4, False, "bool"))
    ys = [em.conv(f"{name}.cv1", x, c1 // 2, 1, 1, None, 1, 1, len(a) <= 3)]
    for i in range(n):
        ys.append(_pool(em, f"{name}.m.{i}", ys[-1], k))
    y = em.conv(f"{name}.cv2", cat(em, f"{name}.cat", ys), c2)
    return em.add(f"{name}.add", kind(Add), {}, (y, x)) if shortcut and c1 == c2 else y


def sppelan_row(em: Emitter, name: str, x: str, a: Sequence[Any]) -> str:
    """SPPELAN(c1, c2, c3, k=5): a 1x1 Conv to c3, three chained max pools, a 1x1 Conv of
    the four concatenated."""
    c2, c3, k = arg(em, a, 1, 0), arg(em, a, 2, 0), arg(em, a, 3, 5)
    ys = [em.conv(f"{name}.cv1", x, c3)]
    for i in (2, 3, 4):
        ys.append(_pool(em, f"{name}.cv{i}", ys[-1], k))
    return em.conv(f"{name}.cv5", cat(em, f"{name}.cat", ys), c2)


def rep_csp(em: Emitter, name: str, x: str, c2: int, n: int) -> str:
    """RepCSP(c1, c2, n=1): the C3 pattern of RepBottlenecks."""
    return csp3(em, name, x, c2, n, 0.5, lambda em, nm, y, c: rep_bottleneck(em, nm, y, c, True, 1))


def rep_ncsp_elan4_row(em: Emitter, name: str, x: str, a: Sequence[Any]) -> str:
    """RepNCSPELAN4(c1, c2, c3, c4, n=1): a 1x1 Conv to c3 split in two; on the last part
    RepCSP then a 3x3 Conv to c4, twice, chained; a 1x1 Conv of all four parts."""
    c2, c3, c4, n = arg(em, a, 1, 0), arg(em, a, 2, 0), arg(em, a, 3, 0), arg(em, a, 4, 1)
    ys = split(em, f"{name}.split", em.conv(f"{name}.cv1", x, c3))
    for cv in ("cv2", "cv3"):
        y = rep_csp(em, f"{name}.{cv}.0", ys[-1], c4, n)
        ys.append(em.conv(f"{name}.{cv}.1", y, c4, 3))
    return em.conv(f"{name}.cv4", cat(em, f"{name}.cat", ys), c2)


def elan1_row(em: Emitter, name: str, x: str, a: Sequence[Any]) -> str:
    """ELAN1(c1, c2, c3, c4): RepNCSPELAN4 with single 3x3 Convs for its two branches."""
    c2, c3, c4 = arg(em, a, 1, 0), arg(em, a, 2, 0), arg(em, a, 3, 0)
    ys = split(em, f"{name}.split", em.conv(f"{name}.cv1", x, c3))
    ys.append(em.conv(f"{name}.cv2", ys[-1], c4, 3))
    ys.append(em.conv(f"{name}.cv3", ys[-1], c4, 3))
    return em.conv(f"{name}.cv4", cat(em, f"{name}.cat", ys), c2)


def _avg2(em: Emitter, name: str, x: str) -> str:
    # avg_pool2d(x, 2, 1, 0, False, True): 2x2 windows at stride 1, no padding.
    return em.add(name, kind(AvgPool), {"k": 2, "stride": 1}, (x,))


def aconv_row(em: Emitter, name: str, x: str, a: Sequence[Any]) -> str:
    """AConv(c1, c2): a 2x2 average pool at stride 1, then a 3x3 Conv at stride 2 (pad 1)."""
    return em.conv(f"{name}.cv1", _avg2(em, f"{name}.pool", x), arg(em, a, 1, 0), 3, 2, 1)


def adown_row(em: Emitter, name: str, x: str, a: Sequence[Any]) -> str:
    """ADown(c1, c2): a 2x2 average pool at stride 1, split in two: a 3x3 Conv at stride 2
    on one half, a 3x3 max pool at stride 2 then a 1x1 Conv on the other, each to
    c2 // 2, concatenated."""
    c = arg(em, a, 1, 0) // 2
    x1, x2 = split(em, f"{name}.split", _avg2(em, f"{name}.pool", x))
    y1 = em.conv(f"{name}.cv1", x1, c, 3, 2, 1)
    p = em.add(f"{name}.maxpool", kind(MaxPool), {"k": 3, "stride": 2, "padding": 1}, (x2,))
    y2 = em.conv(f"{name}.cv2", p, c, 1, 1, 0)
    return cat(em, f"{name}.cat", (y1, y2))


def scdown_row(em: Emitter, name: str, x: str, a: Sequence[Any]) -> str:
    """SCDown(c1, c2, k, s): a 1x1 Conv, then a k x k depthwise Conv at stride s without
    activation."""
    c2, k, s = arg(em, a, 1, 0), arg(em, a, 2, 3), arg(em, a, 3, 2)
    y = em.conv(f"{name}.cv1", x, c2)
    return em.conv(f"{name}.cv2", y, c2, k, s, None, c2, 1, False)


def rep_vgg_dw(em: Emitter, name: str, x: str) -> str:
    """RepVGGDW(ed): 7x7 and 3x3 depthwise Convs without activation, added, then SiLU."""
    c = em.channels(x)
    y1 = em.conv(f"{name}.conv", x, c, 7, 1, 3, c, 1, False)
    y2 = em.conv(f"{name}.conv1", x, c, 3, 1, 1, c, 1, False)
    from convcalc.frontends.ultralytics.emit import DEFAULT_ACT, activation_kind

    out = em.add(f"{name}.add", kind(Add), {}, (y1, y2))
    return em.add(f"{name}.act", activation_kind(DEFAULT_ACT), {}, (out,))


def cib(em: Emitter, name: str, x: str, c2: int, shortcut: bool, e: float, lk: bool) -> str:
    """CIB(c1, c2, shortcut=True, e=0.5, lk=False): 3x3 depthwise, 1x1 to 2c_, a 3x3
    depthwise (RepVGGDW when ``lk``), 1x1 to c2, 3x3 depthwise; added to the input when
    ``shortcut`` and c1 == c2."""
    c1 = em.channels(x)
    c_ = int(c2 * e)
    y = em.conv(f"{name}.cv1.0", x, c1, 3, 1, None, c1)
    y = em.conv(f"{name}.cv1.1", y, 2 * c_)
    if lk:
        y = rep_vgg_dw(em, f"{name}.cv1.2", y)
    else:
        y = em.conv(f"{name}.cv1.2", y, 2 * c_, 3, 1, None, 2 * c_)
    y = em.conv(f"{name}.cv1.3", y, c2)
    y = em.conv(f"{name}.cv1.4", y, c2, 3, 1, None, c2)
    return em.add(f"{name}.add", kind(Add), {}, (x, y)) if shortcut and c1 == c2 else y


def c2fcib_row(em: Emitter, name: str, x: str, a: Sequence[Any]) -> str:
    """C2fCIB(c1, c2, n=1, shortcut=False, lk=False, g=1, e=0.5): the C2f pattern of CIBs
    (e=1)."""
    c2, n = arg(em, a, 1, 0), arg(em, a, 2, 1)
    sc = bool(arg(em, a, 3, False, "bool"))
    lk = bool(arg(em, a, 4, False, "bool"))
    return c2f_pattern(
        em,
        name,
        x,
        c2,
        n,
        arg(em, a, 6, 0.5, "num"),
        lambda em, nm, y, c: cib(em, nm, y, c, sc, 1.0, lk),
    )
