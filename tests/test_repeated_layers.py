"""Repeated layers with the same literal arguments: each copy is bound and analysed once per
distinct input shape (convcalc.schema.expand, convcalc.analysis), so copies that read
different shapes must still get their own shapes and counts."""

from __future__ import annotations


def test_same_literal_arguments_on_shrinking_inputs(run_yaml) -> None:
    report = run_yaml(
        """
        name: shrink
        input: [3, 32, 32]
        blocks:
          down:
            body:
              - {op: conv, out: 8, k: 3, stride: 2, padding: 1, bias: false}
        layers:
          - {block: down, repeat: 3}
          - {op: conv, out: 8, k: 3, stride: 2, padding: 1, bias: false, repeat: 2}
        """
    )
    convs = [row for row in report.layers if row.type == "conv"]
    # (H + 2*1 - 3) // 2 + 1 halves 32 -> 16 -> 8 -> 4 -> 2 -> 1
    assert [row.output_shape for row in convs] == [
        (8, 16, 16),
        (8, 8, 8),
        (8, 4, 4),
        (8, 2, 2),
        (8, 1, 1),
    ]
    # params = out * in * k * k: 8*3*9 = 216 for the first, 8*8*9 = 576 for the others
    assert [row.params for row in convs] == [216, 576, 576, 576, 576]
    # MACs = output elements * in * k * k: 2048*27, 512*72, 128*72, 32*72, 8*72
    assert [row.macs for row in convs] == [55296, 36864, 9216, 2304, 576]


def test_same_text_in_different_environments(run_yaml) -> None:
    # an expression argument is bound in each copy's environment: out = 4 * (i + 1)
    report = run_yaml(
        """
        name: widen
        input: [3, 8, 8]
        layers:
          - {op: conv, out: "4 * (i + 1)", k: 1, bias: false, repeat: 3}
        """
    )
    convs = [row for row in report.layers if row.type == "conv"]
    assert [row.output_shape[0] for row in convs] == [4, 8, 12]
    # params = out * in: 4*3, 8*4, 12*8
    assert [row.params for row in convs] == [12, 32, 96]
