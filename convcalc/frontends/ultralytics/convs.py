"""Ultralytics' convolution modules and the rows that only route tensors, each written as
the layers its PyTorch module holds (ultralytics/nn/modules/conv.py, read for their
structure): one function per module, taking the module's constructor arguments as
``parse_model`` passes them ([c1, c2, ...] for the channel-scaled modules).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from convcalc.frontends.ultralytics.emit import Emitter, activation_kind, kind
from convcalc.layers.base import LayerKind
from convcalc.layers.conv import Conv, TransposedConv
from convcalc.layers.dense import Identity, PixelUnshuffle, Slice
from convcalc.layers.merge import Add, Concat
from convcalc.layers.norm import BatchNorm
from convcalc.layers.pool import MaxPool, Upsample
from convcalc.layers.shape import Pad


def arg(em: Emitter, args: Sequence[Any], i: int, default: Any, what: str = "int") -> Any:
    """The ``i``-th constructor argument, or its default; checked to be of the type the
    module's constructor uses it as (``int``, ``bool``, ``num``, ``kernel``, ``any``)."""
    value = args[i] if len(args) > i else default
    ok = {
        "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "bool": lambda v: isinstance(v, bool) or v in (0, 1),
        "num": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
        "kernel": lambda v: (
            (isinstance(v, int) and not isinstance(v, bool))
            or (
                isinstance(v, list | tuple)
                and len(v) == 2
                and all(isinstance(u, int) and not isinstance(u, bool) for u in v)
            )
        ),
        "padding": lambda v: (
            v is None
            or (isinstance(v, int) and not isinstance(v, bool))
            or (isinstance(v, list | tuple) and all(isinstance(u, int) for u in v))
        ),
        "any": lambda v: True,
    }[what]
    if not ok(value):
        raise em.error(f"argument {i + 1} is {value!r}; expected {what}")
    return value


def act_arg(em: Emitter, value: Any) -> bool | LayerKind:
    """A Conv's ``act`` argument: True (the model's activation), False (none) or an
    activation written as text (``nn.ReLU()``)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        found = activation_kind(value)
        if found is not None:
            return found
    raise em.error(f"activation {value!r} is not supported (write True, False or nn.SiLU())")


def conv(em: Emitter, name: str, x: str, a: Sequence[Any]) -> str:
    """Conv(c1, c2, k=1, s=1, p=None, g=1, d=1, act=True): conv (no bias), BN, act."""
    return em.conv(
        name,
        x,
        arg(em, a, 1, 0),
        arg(em, a, 2, 1, "kernel"),
        arg(em, a, 3, 1),
        arg(em, a, 4, None, "padding"),
        arg(em, a, 5, 1),
        arg(em, a, 6, 1),
        act_arg(em, arg(em, a, 7, True, "any")),
    )


def dwconv(em: Emitter, name: str, x: str, a: Sequence[Any]) -> str:
    """DWConv(c1, c2, k=1, s=1, d=1, act=True): a Conv with gcd(c1, c2) groups."""
    c1, c2 = arg(em, a, 0, 0), arg(em, a, 1, 0)
    return em.conv(
        name,
        x,
        c2,
        arg(em, a, 2, 1, "kernel"),
        arg(em, a, 3, 1),
        None,
        math.gcd(c1, c2),
        arg(em, a, 4, 1),
        act_arg(em, arg(em, a, 5, True, "any")),
    )


def conv_transpose(em: Emitter, name: str, x: str, a: Sequence[Any]) -> str:
    """ConvTranspose(c1, c2, k=2, s=2, p=0, bn=True, act=True): a transposed conv with a
    bias only without BN, then BN and the activation."""
    bn = bool(arg(em, a, 5, True, "bool"))
    out = em.add(
        f"{name}.conv_transpose",
        kind(TransposedConv),
        {
            "out": arg(em, a, 1, 0),
            "k": arg(em, a, 2, 2, "kernel"),
            "stride": arg(em, a, 3, 2),
            "padding": arg(em, a, 4, 0),
            "bias": not bn,
        },
        (x,),
    )
    if bn:
        out = em.add(f"{name}.bn", kind(BatchNorm), {}, (out,))
    act = act_arg(em, arg(em, a, 6, True, "any"))
    chosen = em.act if act is True else act if not isinstance(act, bool) else None
    return em.add(f"{name}.act", chosen, {}, (out,)) if chosen is not None else out


def focus(em: Emitter, name: str, x: str, a: Sequence[Any]) -> str:
    """Focus(c1, c2, k=1, s=1, p=None, g=1, act=True): the four pixel phases stacked as
    channels (a 2x space-to-depth, which is what its slicing and concat compute, in
    another channel order), then a Conv of 4 c1 inputs."""
    y = em.add(f"{name}.contract", kind(PixelUnshuffle), {"factor": 2}, (x,))
    return em.conv(
        f"{name}.conv",
        y,
        arg(em, a, 1, 0),
        arg(em, a, 2, 1, "kernel"),
        arg(em, a, 3, 1),
        arg(em, a, 4, None, "padding"),
        arg(em, a, 5, 1),
        1,
        act_arg(em, arg(em, a, 6, True, "any")),
    )


def ghost_conv(
    em: Emitter, name: str, x: str, c2: int, k: int = 1, s: int = 1, g: int = 1, act: Any = True
) -> str:
    """GhostConv(c1, c2, k=1, s=1, g=1, act=True): a Conv to c2 // 2 and a 5x5 depthwise
    Conv of it, concatenated."""
    c_ = c2 // 2
    y = em.conv(f"{name}.cv1", x, c_, k, s, None, g, 1, act)
    z = em.conv(f"{name}.cv2", y, c_, 5, 1, None, c_, 1, act)
    return em.add(f"{name}.cat", kind(Concat), {}, (y, z))


def ghost_conv_row(em: Emitter, name: str, x: str, a: Sequence[Any]) -> str:
    return ghost_conv(
        em,
        name,
        x,
        arg(em, a, 1, 0),
        arg(em, a, 2, 1),
        arg(em, a, 3, 1),
        arg(em, a, 4, 1),
        act_arg(em, arg(em, a, 5, True, "any")),
    )


def rep_conv(
    em: Emitter,
    name: str,
    x: str,
    c2: int,
    k: int = 3,
    s: int = 1,
    p: int = 1,
    g: int = 1,
    act: Any = True,
    bn: bool = False,
) -> str:
    """RepConv(c1, c2, k=3, s=1, p=1, g=1, d=1, act=True, bn=False), as trained: a k x k
    and a 1x1 Conv without activation (and a BN of the input when ``bn``, c1 == c2 and
    s == 1), added, then the activation."""
    c1 = em.channels(x)
    y1 = em.conv(f"{name}.conv1", x, c2, k, s, p, g, 1, False)
    y2 = em.conv(f"{name}.conv2", x, c2, 1, s, p - k // 2, g, 1, False)
    parts = [y1, y2]
    if bn and c1 == c2 and s == 1:
        parts.append(em.add(f"{name}.bn", kind(BatchNorm), {}, (x,)))
    out = em.add(f"{name}.add", kind(Add), {}, parts)
    chosen = em.act if act is True else act if not isinstance(act, bool) else None
    return em.add(f"{name}.act", chosen, {}, (out,)) if chosen is not None else out


def rep_conv_row(em: Emitter, name: str, x: str, a: Sequence[Any]) -> str:
    """A RepConv row: parse_model passes its arguments as written, c1 first."""
    if arg(em, a, 0, 0) != em.channels(x):
        raise em.error(
            f"its first argument (the input channels, written unscaled) is {a[0]}, but the "
            f"row it reads has {em.channels(x)}"
        )
    return rep_conv(
        em,
        name,
        x,
        arg(em, a, 1, 0),
        arg(em, a, 2, 3),
        arg(em, a, 3, 1),
        arg(em, a, 4, 1),
        arg(em, a, 5, 1),
        act_arg(em, arg(em, a, 7, True, "any")),
        bool(arg(em, a, 8, False, "bool")),
    )


def concat(em: Emitter, name: str, xs: Sequence[str], a: Sequence[Any]) -> str:
    """Concat(dimension=1): the inputs side by side along the channels."""
    if arg(em, a, 0, 1) != 1:
        raise em.error("only Concat along dimension 1 (the channels) is supported")
    return em.add(name, kind(Concat), {}, xs)


def upsample(em: Emitter, name: str, x: str, a: Sequence[Any]) -> str:
    """nn.Upsample(size=None, scale_factor=None, mode='nearest')."""
    size, scale, mode = (list(a) + [None, None, "nearest"][len(a) :])[:3]
    if mode not in ("nearest", "bilinear"):
        raise em.error(f"upsampling mode {mode!r} is not supported (nearest or bilinear)")
    if size is not None:
        raw: dict[str, Any] = dict(mode=mode, size=size)
    elif isinstance(scale, int | float) and not isinstance(scale, bool) and scale == int(scale):
        raw = dict(mode=mode, scale=int(scale))
    else:
        raise em.error(f"upsampling needs a size or a whole scale factor, got {scale!r}")
    return em.add(name, kind(Upsample), raw, (x,))


def conv_transpose2d(em: Emitter, name: str, x: str, a: Sequence[Any]) -> str:
    """nn.ConvTranspose2d(c1, c2, k, s=1, p=0, output_padding=0, groups=1, bias=True)."""
    return em.add(
        name,
        kind(TransposedConv),
        {
            "out": arg(em, a, 1, 0),
            "k": arg(em, a, 2, 1, "kernel"),
            "stride": arg(em, a, 3, 1),
            "padding": arg(em, a, 4, 0),
            "output_padding": arg(em, a, 5, 0),
            "groups": arg(em, a, 6, 1),
            "bias": bool(arg(em, a, 7, True, "bool")),
        },
        (x,),
    )


def maxpool(em: Emitter, name: str, x: str, a: Sequence[Any]) -> str:
    """nn.MaxPool2d(kernel_size, stride=kernel_size, padding=0)."""
    k = arg(em, a, 0, 0, "kernel")
    stride = arg(em, a, 1, None, "padding")  # an int, a pair or None (the kernel)
    raw: dict[str, Any] = {"k": k, "padding": arg(em, a, 2, 0, "padding")}
    if stride is not None:
        raw["stride"] = stride
    return em.add(name, kind(MaxPool), raw, (x,))


def zero_pad(em: Emitter, name: str, x: str, a: Sequence[Any]) -> str:
    """nn.ZeroPad2d(padding): p, or [left, right, top, bottom] as PyTorch orders them."""
    p = arg(em, a, 0, 0, "padding")
    if isinstance(p, list | tuple):
        if len(p) != 4:
            raise em.error(f"ZeroPad2d padding {p!r}: expected p or [left, right, top, bottom]")
        left, right, top, bottom = p
        p = [top, bottom, left, right]
    return em.add(name, kind(Pad), {"padding": p}, (x,))


def identity(em: Emitter, name: str, x: str, a: Sequence[Any]) -> str:
    """nn.Identity(): the input, unchanged."""
    return em.add(name, kind(Identity), {}, (x,))


def cblinear(em: Emitter, name: str, x: str, a: Sequence[Any]) -> str:
    """CBLinear(c1, c2s, k=1, s=1, p=None, g=1): one convolution with a bias to sum(c2s)
    channels, which CBFuse rows read as the parts c2s (kept in the emitter's facts)."""
    c2s = arg(em, a, 1, [], "any")
    if not (isinstance(c2s, list) and c2s and all(isinstance(c, int) and c > 0 for c in c2s)):
        raise em.error(f"CBLinear widths {c2s!r}: expected a list of channel counts")
    k = arg(em, a, 2, 1, "kernel")
    ks = tuple(k) if isinstance(k, list | tuple) else (k, k)
    p = arg(em, a, 4, None, "padding")
    raw = {
        "out": sum(c2s),
        "k": list(ks),
        "stride": arg(em, a, 3, 1),
        "padding": [v // 2 for v in ks] if p is None else p,
        "groups": arg(em, a, 5, 1),
        "bias": True,
    }
    out = em.add(f"{name}.conv", kind(Conv), raw, (x,))
    em.facts.setdefault("cblinear", {})[out] = list(c2s)
    return out


#: The name part of a resize that CBFuse computes with F.interpolate (a function, which the
#: ultralytics counting preset does not count, unlike the module nn.Upsample).
INTERPOLATE = "interpolate"


def cbfuse(em: Emitter, name: str, xs: Sequence[str], a: Sequence[Any]) -> str:
    """CBFuse(idx): part idx[i] of each CBLinear row read, resized (nearest) to the last
    input's size, and all of them summed with the last input."""
    idx = arg(em, a, 0, [], "any")
    parts = em.facts.get("cblinear", {})
    if not isinstance(idx, list) or len(idx) != len(xs) - 1:
        raise em.error(f"CBFuse indices {idx!r}: one per CBLinear row read")
    _, h, w = em.shape(xs[-1])
    terms = []
    for i, (x, j) in enumerate(zip(xs[:-1], idx, strict=True)):
        widths = parts.get(x)
        if widths is None or not isinstance(j, int) or not 0 <= j < len(widths):
            raise em.error(f"CBFuse input {i} is not a CBLinear row with a part {j!r}")
        lo = sum(widths[:j])
        y = em.add(f"{name}.part.{i}", kind(Slice), {"start": lo, "stop": lo + widths[j]}, (x,))
        if em.shape(y)[1:] != (h, w):
            y = em.add(f"{name}.{INTERPOLATE}.{i}", kind(Upsample), dict(size=[h, w]), (y,))
        terms.append(y)
    return em.add(f"{name}.sum", kind(Add), {}, (*terms, xs[-1]))
