"""Ultralytics' attention blocks (ultralytics/nn/modules/block.py: Attention, PSABlock,
PSA, C2PSA, AAttn, ABlock, A2C2f), one function per module, with the attention itself
written as the matrix products, softmax and layout changes its forward runs.

The views between them (``view``, ``split``, ``permute`` of the qkv map) are free layout
ops in convcalc: they are written here as a reshape to the shape each product reads and a
slice of it, which costs what the permutes cost (nothing) and gives every product its
real operand shapes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from convcalc.frontends.ultralytics.blocks import bottleneck, c2f_pattern, c3k, cat, split
from convcalc.frontends.ultralytics.convs import arg
from convcalc.frontends.ultralytics.emit import Emitter, kind
from convcalc.layers.activation import Scale, Softmax
from convcalc.layers.attention import Attention as AttentionKind
from convcalc.layers.attention import MatMul
from convcalc.layers.dense import Linear, Reshape, Slice
from convcalc.layers.merge import Add, Multiply
from convcalc.layers.shape import Transpose
from convcalc.layers.tokens import Parameter, ToMap, ToTokens


def _scaled(em: Emitter, name: str, x: str) -> str:
    # q * scale: one multiply per value.
    return em.add(name, kind(Scale), {}, (x,))


def _products(em: Emitter, name: str, q: str, k: str, v: str) -> str:
    """softmax(q^T k) applied to v: (B, heads, d, N) operands, (B, heads, d_v, N) out."""
    qt = em.add(f"{name}.q_t", kind(Transpose), {}, (_scaled(em, f"{name}.q_scale", q),))
    attn = em.add(f"{name}.qk", kind(MatMul), {}, (qt, k))
    attn = em.add(f"{name}.softmax", kind(Softmax), {"axis": -1}, (attn,))
    return em.add(f"{name}.av", kind(MatMul), dict(transpose=True), (v, attn))


def attention(em: Emitter, name: str, x: str, num_heads: int, attn_ratio: float) -> str:
    """Attention(dim, num_heads=8, attn_ratio=0.5): a 1x1 Conv (no activation) to
    dim + 2 heads key_dim channels, per head q and k of key_dim = int(head_dim attn_ratio)
    and v of head_dim = dim // heads over the N = H W positions; softmax(q^T k / sqrt)
    weights v; plus a 3x3 depthwise Conv of v (the positional encoding); a 1x1 Conv."""
    c, h, w = em.shape(x)
    head_dim = c // num_heads
    key_dim = int(head_dim * attn_ratio)
    qkv = em.conv(f"{name}.qkv", x, c + 2 * key_dim * num_heads, 1, 1, None, 1, 1, False)
    per = 2 * key_dim + head_dim
    heads = em.add(f"{name}.heads", kind(Reshape), {"shape": [num_heads, per, h * w]}, (qkv,))
    q, k, v = (
        em.add(f"{name}.{part}", kind(Slice), {"start": lo, "stop": hi, "axis": 1}, (heads,))
        for part, lo, hi in (
            ("q", 0, key_dim),
            ("k", key_dim, 2 * key_dim),
            ("v", 2 * key_dim, per),
        )
    )
    y = _products(em, name, q, k, v)
    y = em.add(f"{name}.out", kind(Reshape), {"shape": [c, h, w]}, (y,))
    vm = em.add(f"{name}.v_map", kind(Reshape), {"shape": [c, h, w]}, (v,))
    pe = em.conv(f"{name}.pe", vm, c, 3, 1, None, c, 1, False)
    y = em.add(f"{name}.add_pe", kind(Add), {}, (y, pe))
    return em.conv(f"{name}.proj", y, c, 1, 1, None, 1, 1, False)


def psa_block(
    em: Emitter, name: str, x: str, attn_ratio: float, num_heads: int, shortcut: bool = True
) -> str:
    """PSABlock(c, attn_ratio=0.5, num_heads=4, shortcut=True): x + Attention(x), then
    x + FFN(x) with the FFN a 1x1 Conv to 2c and a 1x1 Conv back (no activation)."""
    c = em.channels(x)
    y = attention(em, f"{name}.attn", x, num_heads, attn_ratio)
    x = em.add(f"{name}.add1", kind(Add), {}, (x, y)) if shortcut else y
    y = em.conv(f"{name}.ffn.0", x, 2 * c)
    y = em.conv(f"{name}.ffn.1", y, c, 1, 1, None, 1, 1, False)
    return em.add(f"{name}.add2", kind(Add), {}, (x, y)) if shortcut else y


def _c2_psa(em: Emitter, name: str, x: str, a: Sequence[Any], n: int, e: float) -> str:
    c1, c2 = arg(em, a, 0, 0), arg(em, a, 1, 0)
    if c1 != c2:
        raise em.error(f"needs as many output channels as input channels ({c2} != {c1})")
    c = int(c1 * e)
    a_, b = split(em, f"{name}.split", em.conv(f"{name}.cv1", x, 2 * c))
    for i in range(n):
        b = psa_block(em, f"{name}.m.{i}", b, 0.5, max(c // 64, 1))
    return em.conv(f"{name}.cv2", cat(em, f"{name}.cat", (a_, b)), c1)


def c2psa_row(em: Emitter, name: str, x: str, a: Sequence[Any]) -> str:
    """C2PSA(c1, c2, n=1, e=0.5): a 1x1 Conv to 2c (c = int(c1 e)) split in two; n
    PSABlocks (max(c // 64, 1) heads) on the second part; a 1x1 Conv of both."""
    return _c2_psa(em, name, x, a, arg(em, a, 2, 1), arg(em, a, 3, 0.5, "num"))


def psa_row(em: Emitter, name: str, x: str, a: Sequence[Any]) -> str:
    """PSA(c1, c2, e=0.5): C2PSA with one PSABlock."""
    return _c2_psa(em, name, x, a, 1, arg(em, a, 2, 0.5, "num"))


def area_attention(em: Emitter, name: str, x: str, num_heads: int, area: int) -> str:
    """AAttn(dim, num_heads, area=1): a 1x1 Conv (no activation) to 3 dim channels; the
    N = H W positions cut into ``area`` areas of N / area, attended within each (heads of
    dim // heads, softmax(q^T k / sqrt)); a 7x7 depthwise Conv of v added; a 1x1 Conv."""
    c, h, w = em.shape(x)
    head_dim = c // num_heads
    n = h * w
    if n % area:
        raise em.error(f"{h}x{w} positions do not split into {area} areas")
    qkv = em.conv(f"{name}.qkv", x, 3 * head_dim * num_heads, 1, 1, None, 1, 1, False)
    shape = [area, num_heads, 3 * head_dim, n // area]
    heads = em.add(f"{name}.heads", kind(Reshape), {"shape": shape}, (qkv,))
    q, k, v = (
        em.add(
            f"{name}.{part}",
            kind(Slice),
            {"start": i * head_dim, "stop": (i + 1) * head_dim, "axis": 2},
            (heads,),
        )
        for i, part in enumerate(("q", "k", "v"))
    )
    y = _products(em, name, q, k, v)
    y = em.add(f"{name}.out", kind(Reshape), {"shape": [c, h, w]}, (y,))
    vm = em.add(f"{name}.v_map", kind(Reshape), {"shape": [c, h, w]}, (v,))
    pe = em.conv(f"{name}.pe", vm, c, 7, 1, 3, c, 1, False)
    y = em.add(f"{name}.add_pe", kind(Add), {}, (y, pe))
    return em.conv(f"{name}.proj", y, c, 1, 1, None, 1, 1, False)


def a_block(em: Emitter, name: str, x: str, num_heads: int, mlp_ratio: float, area: int) -> str:
    """ABlock(dim, num_heads, mlp_ratio=1.2, area=1): x + AAttn(x), then x + MLP(x) with
    the MLP a 1x1 Conv to int(dim mlp_ratio) and a 1x1 Conv back (no activation)."""
    c = em.channels(x)
    y = area_attention(em, f"{name}.attn", x, num_heads, area)
    x = em.add(f"{name}.add1", kind(Add), {}, (x, y))
    y = em.conv(f"{name}.mlp.0", x, int(c * mlp_ratio))
    y = em.conv(f"{name}.mlp.1", y, c, 1, 1, None, 1, 1, False)
    return em.add(f"{name}.add2", kind(Add), {}, (x, y))


def a2c2f_row(em: Emitter, name: str, x: str, a: Sequence[Any]) -> str:
    """A2C2f(c1, c2, n=1, a2=True, area=1, residual=False, mlp_ratio=2.0, e=0.5, g=1,
    shortcut=True): a 1x1 Conv to c_ = int(c2 e); n blocks chained, each two ABlocks
    (c_ // 32 heads) when ``a2``, else a C3k (n=2); a 1x1 Conv of all concatenated; with
    ``a2`` and ``residual`` (parse_model adds both, and mlp_ratio 1.2, for scales l and
    x) the input plus a learned per-channel scale (c2 params) times that."""
    c2, n = arg(em, a, 1, 0), arg(em, a, 2, 1)
    a2 = bool(arg(em, a, 3, True, "bool"))
    area = arg(em, a, 4, 1)
    residual = bool(arg(em, a, 5, False, "bool"))
    mlp_ratio = arg(em, a, 6, 2.0, "num")
    e = arg(em, a, 7, 0.5, "num")
    g = arg(em, a, 8, 1)
    sc = bool(arg(em, a, 9, True, "bool"))
    c_ = int(c2 * e)
    if a2 and c_ % 32:
        raise em.error(f"ABlock width {c_} is not a multiple of 32")
    ys = [em.conv(f"{name}.cv1", x, c_)]
    for i in range(n):
        y = ys[-1]
        if a2:
            for j in range(2):
                y = a_block(em, f"{name}.m.{i}.{j}", y, c_ // 32, mlp_ratio, area)
        else:
            y = c3k(em, f"{name}.m.{i}", y, c_, 2, sc, g)
        ys.append(y)
    y = em.conv(f"{name}.cv2", cat(em, f"{name}.cat", ys), c2)
    if a2 and residual:
        gamma = em.add(
            f"{name}.gamma", kind(Parameter), {"shape": [c2, 1, 1], "mode": Multiply.op}, (y,)
        )
        return em.add(f"{name}.add", kind(Add), {}, (x, gamma))
    return y


def c3k2_row(em: Emitter, name: str, x: str, a: Sequence[Any]) -> str:
    """C3k2(c1, c2, n=1, c3k=False, e=0.5, attn=False, g=1, shortcut=True): the C2f
    pattern of C3k blocks (n=2) when ``c3k`` (parse_model sets it for scales m, l, x),
    else of Bottlenecks (e=0.5); with ``attn``, a Bottleneck then a PSABlock."""
    c2, n = arg(em, a, 1, 0), arg(em, a, 2, 1)
    use_c3k = bool(arg(em, a, 3, False, "bool"))
    e = arg(em, a, 4, 0.5, "num")
    attn = bool(arg(em, a, 5, False, "bool"))
    g = arg(em, a, 6, 1)
    sc = bool(arg(em, a, 7, True, "bool"))

    def inner(em: Emitter, nm: str, y: str, c: int) -> str:
        if attn:
            y = bottleneck(em, f"{nm}.0", y, c, sc, g)
            return psa_block(em, f"{nm}.1", y, 0.5, max(c // 64, 1))
        if use_c3k:
            return c3k(em, nm, y, c, 2, sc, g)
        return bottleneck(em, nm, y, c, sc, g)

    return c2f_pattern(em, name, x, c2, n, e, inner)


def transformer_layer(em: Emitter, name: str, x: str, num_heads: int) -> str:
    """TransformerLayer(c, num_heads) on (N, c) tokens: q, k, v linear maps (no bias),
    nn.MultiheadAttention of them (its own in and out projections, with biases), plus the
    input; two linear maps (no bias), plus that. convcalc's attention kind reads one
    tensor: it reads q(x), with k(x) and v(x) beside it, which costs what the three-input
    module costs (each projection has the same shape)."""
    c = em.shape(x)[1]
    q = em.add(f"{name}.q", kind(Linear), {"out": c, "bias": False}, (x,))
    for part in ("k", "v"):
        em.add(f"{name}.{part}", kind(Linear), {"out": c, "bias": False}, (x,))
    y = em.add(f"{name}.ma", kind(AttentionKind), {"heads": num_heads}, (q,))
    x = em.add(f"{name}.add1", kind(Add), {}, (y, x))
    y = em.add(f"{name}.fc1", kind(Linear), {"out": c, "bias": False}, (x,))
    y = em.add(f"{name}.fc2", kind(Linear), {"out": c, "bias": False}, (y,))
    return em.add(f"{name}.add2", kind(Add), {}, (y, x))


def transformer_block(em: Emitter, name: str, x: str, c2: int, heads: int, n: int) -> str:
    """TransformerBlock(c1, c2, num_heads, num_layers): a Conv to c2 when c1 != c2; the
    positions as tokens plus a linear map of them (a learned position embedding, with
    bias); ``n`` TransformerLayers; back to a map."""
    if em.channels(x) != c2:
        x = em.conv(f"{name}.conv", x, c2)
    _, h, w = em.shape(x)
    p = em.add(f"{name}.tokens", kind(ToTokens), {}, (x,))
    e = em.add(f"{name}.linear", kind(Linear), {"out": c2}, (p,))
    y = em.add(f"{name}.add", kind(Add), {}, (p, e))
    for i in range(n):
        y = transformer_layer(em, f"{name}.tr.{i}", y, heads)
    return em.add(f"{name}.map", kind(ToMap), {"size": [h, w]}, (y,))


def c3tr_row(em: Emitter, name: str, x: str, a: Sequence[Any]) -> str:
    """C3TR(c1, c2, n=1, shortcut=True, g=1, e=0.5): the C3 pattern whose inner part is
    one TransformerBlock of 4 heads and n layers."""
    c2, n = arg(em, a, 1, 0), arg(em, a, 2, 1)
    e = arg(em, a, 5, 0.5, "num")
    c_ = int(c2 * e)
    y = em.conv(f"{name}.cv1", x, c_)
    z = em.conv(f"{name}.cv2", x, c_)
    y = transformer_block(em, f"{name}.m", y, c_, 4, n)
    return em.conv(f"{name}.cv3", cat(em, f"{name}.cat", (y, z)), c2)
