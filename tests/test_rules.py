"""Output sizes, receptive fields, shortcuts and memory: the rules of the seed documents,
each checked against the formula written beside it."""

from __future__ import annotations

import pytest


def one_conv(run_yaml, size: int, spec: str, channels: int = 1):
    report = run_yaml(f"input: [{channels}, {size}, {size}]\nlayers:\n  - {spec}\n")
    return report.layers[0]


@pytest.mark.parametrize(("n", "m"), [(10, 3), (32, 5), (7, 7), (224, 11)])
def test_narrow_wide_and_same_convolutions(run_yaml, n: int, m: int) -> None:
    # Seed 002: narrow (s=1, p=0) gives n - m + 1; wide (p = m - 1) gives n + m - 1;
    # same (p = (m - 1)/2) gives n.
    narrow = one_conv(run_yaml, n, f"{{op: conv, out: 1, k: {m}, padding: valid}}")
    wide = one_conv(run_yaml, n, f"{{op: conv, out: 1, k: {m}, padding: full}}")
    same = one_conv(run_yaml, n, f"{{op: conv, out: 1, k: {m}, padding: same}}")
    explicit = one_conv(run_yaml, n, f"{{op: conv, out: 1, k: {m}, padding: {(m - 1) // 2}}}")
    assert narrow.output_shape[1] == n - m + 1
    assert wide.output_shape[1] == n + m - 1
    assert same.output_shape[1] == n
    if m % 2:
        assert explicit.output_shape[1] == n


@pytest.mark.parametrize(("depth", "k"), [(1, 3), (3, 3), (4, 5)])
def test_stacked_valid_and_full(run_yaml, depth: int, k: int) -> None:
    # Seed 002: after d layers, valid gives m - (k-1) d and full gives m + (k-1) d.
    m = 40
    for padding, sign in (("valid", -1), ("full", 1)):
        report = run_yaml(
            f"input: [1, {m}, {m}]\nlayers:\n"
            f"  - {{op: conv, out: 1, k: {k}, padding: {padding}, repeat: {depth}}}\n"
        )
        assert report.layers[-1].output_shape[1] == m + sign * (k - 1) * depth


def test_output_size_with_stride_and_floor(run_yaml) -> None:
    # AlexNet conv1: floor((227 - 11) / 4) + 1 = 55; (224 - 11 + 2*2) / 4 + 1 = 55.25 -> 55.
    assert one_conv(run_yaml, 227, "{op: conv, out: 96, k: 11, stride: 4}", 3).output_shape == (
        96,
        55,
        55,
    )
    row = one_conv(run_yaml, 224, "{op: conv, out: 64, k: 11, stride: 4, padding: 2}", 3)
    assert row.output_shape == (64, 55, 55)


def test_ceil_mode_pooling(run_yaml) -> None:
    # 112 -> 3x3 s2: floor((112-3)/2)+1 = 55; ceil mode: ceil(109/2)+1 = 56.
    floor_row = one_conv(run_yaml, 112, "{op: maxpool, k: 3, stride: 2}")
    ceil_row = one_conv(run_yaml, 112, "{op: maxpool, k: 3, stride: 2, ceil_mode: true}")
    assert floor_row.output_shape[1] == 55
    assert ceil_row.output_shape[1] == 56


def test_dilation_cover_and_padding(run_yaml) -> None:
    # Seed 001/002: a k kernel at rate r covers k + (k-1)(r-1): 3 + 2*15 = 33 at rate 16,
    # and padding 16 keeps the size: 64 + 32 - 33 + 1 = 64.
    row = one_conv(run_yaml, 64, "{op: conv, out: 1, k: 3, dilation: 16, padding: 16}")
    assert row.output_shape[1] == 64
    assert row.rf.size == (33, 33)


def test_transposed_conv_size(run_yaml) -> None:
    # Seed 001: (i - 1) s - 2p + k: (3 - 1) * 2 - 2 + 3 = 5 and (4 - 1) * 2 - 0 + 2 = 8.
    row = one_conv(run_yaml, 3, "{op: deconv, out: 1, k: 3, stride: 2, padding: 1}")
    assert row.output_shape[1] == 5
    row = one_conv(run_yaml, 4, "{op: deconv, out: 1, k: 2, stride: 2}")
    assert row.output_shape[1] == 8


@pytest.mark.parametrize(("n", "k_small", "k_big"), [(2, 3, 5), (3, 3, 7)])
def test_small_kernels_keep_the_field(run_yaml, n: int, k_small: int, k_big: int) -> None:
    # Seed 002/004: n stacked k' kernels see one k kernel's field when k - 1 = n (k' - 1):
    # two 3x3 = 5x5, three 3x3 = 7x7, with 9n < k^2 weights per channel pair (18 < 25,
    # 27 < 49).
    stack = run_yaml(
        f"input: [1, 32, 32]\nlayers:\n"
        f"  - {{op: conv, out: 1, k: {k_small}, bias: false, repeat: {n}}}\n"
    )
    big = run_yaml(
        f"input: [1, 32, 32]\nlayers:\n  - {{op: conv, out: 1, k: {k_big}, bias: false}}\n"
    )
    assert stack.totals.receptive_field == big.totals.receptive_field == (k_big, k_big)
    assert stack.totals.params == n * k_small**2
    assert big.totals.params == k_big**2


def test_receptive_field_jump_and_start(run_yaml) -> None:
    # Araujo et al.: r += (k-1) j, start -= p j, j *= s.
    # conv 3x3 s2 p1: r = 3, j = 2, start = -1; then conv 3x3 s1 p1: r = 3 + 2*2 = 7,
    # j = 2, start = -1 - 1*2 = -3; then maxpool 2x2 s2: r = 7 + 1*2 = 9, j = 4, start -3.
    report = run_yaml(
        """
        input: [1, 32, 32]
        layers:
          - {op: conv, out: 1, k: 3, stride: 2, padding: 1, name: a}
          - {op: conv, out: 1, k: 3, padding: 1, name: b}
          - {op: maxpool, k: 2, name: c}
        """
    )
    assert report.layer("a").rf.size == (3, 3) and report.layer("a").rf.start == (-1, -1)
    b = report.layer("b").rf
    assert (b.size, b.jump, b.start) == ((7, 7), (2, 2), (-3, -3))
    c = report.layer("c").rf
    assert (c.size, c.jump, c.start) == ((9, 9), (4, 4), (-3, -3))


def test_branch_union_and_off_centre_warning(run_yaml) -> None:
    # Branch a: 3x3 pad 1 (r 3, start -1); branch b: 5x5 pad 2 (r 5, start -2). Both are
    # centred on pixel 0, the union is r 5 and there is no warning.
    centred = run_yaml(
        """
        input: [1, 16, 16]
        layers:
          - {op: conv, out: 1, k: 3, padding: 1, name: a}
          - {op: conv, out: 1, k: 5, padding: 2, from: input, name: b}
          - {op: concat, from: [a, b], name: m}
        """
    )
    assert centred.layer("m").rf.size == (5, 5)
    assert centred.warnings == []
    # Asymmetric padding [0, 2, 0, 2] starts the 3x3 field at 0 (centre 1, not 0).
    shifted = run_yaml(
        """
        input: [1, 16, 16]
        layers:
          - {op: conv, out: 1, k: 3, padding: 1, name: a}
          - {op: conv, out: 1, k: 3, padding: [0, 2, 0, 2], from: input, name: b}
          - {op: add, from: [a, b], name: m}
        """
    )
    # Union of [-1, 1] and [0, 2]: start -1, size 4.
    assert shifted.layer("m").rf.size == (4, 4)
    assert any("centred differently" in w for w in shifted.warnings)


def test_identity_and_projection_shortcuts(run_yaml) -> None:
    # Seed 004 §5.2: identity shortcuts add no params and no MACs; a projection (1x1 conv,
    # 64 -> 128, stride 2, no bias, on 8x8 -> 4x4) adds 64*128 = 8,192 params and
    # 16 * 8,192 = 131,072 MACs.
    body = """
        input: [64, 8, 8]
        layers:
          - {op: conv, out: 64, k: 3, padding: 1, bias: false, name: c}
          - {op: add, from: [input, c], name: join}
    """
    identity = run_yaml(body)
    projected = run_yaml(
        """
        input: [64, 8, 8]
        layers:
          - {op: conv, out: 128, k: 3, stride: 2, padding: 1, bias: false, name: c}
          - {op: conv, out: 128, k: 1, stride: 2, bias: false, from: input, name: proj}
          - {op: add, from: [proj, c], name: join}
        """
    )
    assert identity.totals.params == identity.layer("c").params == 64 * 64 * 9
    assert identity.totals.macs == identity.layer("c").macs
    assert projected.layer("proj").params == 8192
    assert projected.layer("proj").macs == 131072


def test_peak_memory_is_a_liveness_scan(run_yaml) -> None:
    # Input 1x4x4 = 16 values. a (conv 2ch, 32) and b (conv 2ch, 32) both read the input,
    # add reads a and b (32). Alive while running: a: 16 + 32 = 48; b: 16 + 32 + 32 = 80
    # (the input is freed after b); add: 32 + 32 + 32 = 96. Peak 96 values = 384 bytes fp32,
    # 96 bytes int8.
    text = """
        input: [1, 4, 4]
        layers:
          - {op: conv, out: 2, k: 1, name: a}
          - {op: conv, out: 2, k: 1, from: input, name: b}
          - {op: add, from: [a, b], name: s}
    """
    assert run_yaml(text).totals.peak_activation_bytes == 384
    assert run_yaml(text, dtype="int8").totals.peak_activation_bytes == 96
    assert run_yaml(text).totals.peak_layer == "s"


def test_traffic_is_input_weights_output(run_yaml) -> None:
    # conv 3 -> 8, 3x3, pad 1 on 3x8x8: input 192, weights 224, output 512 values:
    # (192 + 224 + 512) * 2 bytes at fp16 = 1,856.
    report = run_yaml(
        "input: [3, 8, 8]\nlayers:\n  - {op: conv, out: 8, k: 3, padding: 1}\n", dtype="fp16"
    )
    assert report.layers[0].traffic_bytes == 1856
    assert report.layers[0].activation_bytes == 1024


def test_runaway_receptive_field_stops_being_tracked(run_yaml) -> None:
    # 3x3 stride-3 pools multiply the jump by 3 each time: after 41 of them the jump is
    # 3**41 > 2**64. The map is 1x1 from the 5th pool on (224 -> 75 -> 25 -> 9 -> 3 -> 1),
    # where the field is 3**5 = 243; later fields are dropped with a warning, not an error.
    report = run_yaml(
        "input: [1, 224, 224]\nlayers:\n  - {op: maxpool, k: 3, padding: 1, repeat: 60}\n"
    )
    assert report.totals.receptive_field == (243, 243)
    assert report.layers[-1].rf is None
    assert any("not tracked" in w for w in report.warnings)
