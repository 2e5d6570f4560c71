"""Batch and training memory (docs/training.md): hand-computed steps of small graphs, what
each kind keeps, batch scaling, a free batch, --max-batch at its boundary, bad values.

Every expected byte count below is worked out by hand in the comment beside it from the
rules of docs/training.md (which were read off PyTorch's saved-tensor hooks: see
benchmarks/training_reference.py)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from convcalc import api
from convcalc.cli import app
from convcalc.errors import UsageError

runner = CliRunner()

# input 3x8x8; conv 3->4 k3 p1 (no bias), bn, relu, 2x2 max pool, flatten, linear 64->10
SMALL = """
convcalc: 1
name: small
input: [3, 8, 8]
layers:
  - {op: conv, out: 4, k: 3, padding: 1, bias: false, name: conv}
  - {op: bn, name: bn}
  - {op: relu, name: relu}
  - {op: maxpool, k: 2, name: pool}
  - {op: flatten, name: flat}
  - {op: linear, out: 10, name: fc}
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "net.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def _train(path: Path, batch: int = 1, optimizer: str = "sgd", precision: str = "fp32"):
    return api.analyze(
        path, batch=batch, train=True, optimizer=optimizer, precision=precision
    ).training


def test_small_network_by_hand(tmp_path: Path) -> None:
    t = _train(_write(tmp_path, SMALL))
    # Kept for backward (per sample, fp32): bn its input, the conv output 4*8*8 = 256 values
    # (1,024 B) and 2 * 4 statistics (32 B, whatever the batch); relu its output (1,024 B);
    # the pool its input (relu's output: counted) and int64 indices 4*4*4 = 64 (512 B); fc
    # its input, the pool output through the flatten view, 64 values (256 B). The conv
    # keeps the network input, counted apart (3*8*8*4 = 768 B).
    assert t.saved_bytes == 1024 + 32 + 1024 + 512 + 256
    assert t.input_bytes == 768
    # params: conv 3*4*9 = 108, bn 2*4 = 8, fc 64*10 + 10 = 650 -> 766; fp32.
    assert t.weight_bytes == t.grad_bytes == 766 * 4
    assert t.buffer_bytes == 8 * 4  # running mean and variance of 4 channels
    assert t.optimizer_bytes == 0  # plain SGD keeps no state
    # The peak: during relu's backward, with the conv output (kept by bn, 1,024), relu's
    # output (1,024), bn's statistics (32), the gradients of relu's output and of its input
    # (1,024 each) and fc's weight gradients (2,600) alive, beside the weights (3,064),
    # buffers (32) and input (768): 10,592 B (the timeline is worked out in full in
    # docs/training.md's example).
    assert t.peak_bytes == 10_592
    assert (t.peak_phase, t.peak_layer) == ("backward", "relu")
    # Backward FLOPs: the conv reads only the network input, so only its weight gradient:
    # 2 * 6,912 MACs; bn 512, relu 256 and the pool 192 cost their forward FLOPs again; fc
    # both gradients, 2 * 2 * 640, and its bias 10: 17,354. SGD: 2 FLOPs per parameter.
    assert t.backward_flops == 13_824 + 512 + 256 + 192 + 2 * 2 * 640 + 10
    assert t.optimizer_flops == 766 * 2


def test_small_network_at_batch_two_and_its_largest_batch(tmp_path: Path) -> None:
    path = _write(tmp_path, SMALL)
    t = _train(path, batch=2)
    # At relu's backward 4,864 B grow with each sample (1,024 * 4 + 768) and 5,728 do not
    # (32 + 2,600 + 3,064 + 32): 5,728 + 2 * 4,864 = 15,456.
    assert t.peak_bytes == 15_456
    assert t.saved_bytes == 2 * (1024 + 1024 + 512 + 256) + 32
    # 20,000 B hold 2 samples (15,456) but not 3 (5,728 + 3 * 4,864 = 20,320).
    assert t.max_batch(20_000) == 2
    assert t.peak_at(3) == 20_320
    assert _train(path, batch=3).peak_bytes == 20_320  # the closed form equals the scan


@pytest.mark.parametrize(
    ("activation", "kept"),
    [
        # conv 2->3 k1 (keeps the network input), bn (its input, the conv output: 3*4*4 =
        # 48 values = 192 B, and 2 * 3 statistics = 24 B), the activation, a second conv
        # keeping the activation's output (192 B).
        ("relu", 192 + 24 + 192),  # relu keeps its output: the second conv's input
        ("relu6", 192 + 24 + 192 + 192),  # keeps its input, the bn output (PyTorch: a copy)
        ("swish", 192 + 24 + 192 + 192),  # SiLU likewise
        ("sigmoid", 192 + 24 + 192),  # its output
        ("gelu", 192 + 24 + 192 + 192),  # its input
    ],
)
def test_what_an_activation_keeps(tmp_path: Path, activation: str, kept: int) -> None:
    path = _write(
        tmp_path,
        f"""
        convcalc: 1
        name: act
        input: [2, 4, 4]
        layers:
          - {{op: conv, out: 3, k: 1, bias: false}}
          - {{op: bn}}
          - {{op: {activation}}}
          - {{op: conv, out: 3, k: 1, bias: false}}
        """,
    )
    assert _train(path).saved_bytes == kept


def test_what_merges_pools_and_dropout_keep(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """
        convcalc: 1
        name: parts
        input: [4, 4, 4]
        layers:
          - {op: conv, out: 4, k: 1, bias: false, name: a}
          - {op: conv, out: 4, k: 1, bias: false, from: input, name: b}
          - {op: add, from: [a, b], name: sum}
          - {op: concat, from: [sum, a], name: cat}
          - {op: global_avgpool, name: gap}
          - {op: sigmoid, name: gate}
          - {op: multiply, from: [cat, gate], name: scaled}
          - {op: avgpool, k: 2, name: pool}
          - {op: flatten, name: flat}
          - {op: dropout, p: 0.5, name: drop}
          - {op: linear, out: 2, name: fc}
        """,
    )
    t = _train(path)
    # a, b keep the network input (apart); add and concat keep nothing; the global average
    # keeps nothing (a mean); sigmoid its output (8 values, 32 B); multiply both inputs, the
    # concat output 8*4*4 = 128 values (512 B) and the gate (counted); avgpool its input, the
    # product (512 B); dropout its mask, one value per element of the 8*2*2 = 32 pooled
    # values (128 B); fc its input, dropout's output (32 values, 128 B).
    assert t.saved_bytes == 32 + 512 + 512 + 128 + 128


def test_groupnorm_and_layernorm_keep_statistics_per_sample(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """
        convcalc: 1
        name: norms
        input: [4, 2, 2]
        layers:
          - {op: conv, out: 4, k: 1, bias: false}
          - {op: groupnorm, groups: 2}
          - {op: conv, out: 4, k: 1, bias: false}
          - {op: layernorm}
        """,
    )
    # groupnorm: its input (16 values, 64 B) and mean and 1/std per group (2 * 2, 16 B);
    # the second conv its input (groupnorm's output, 64 B); layernorm its input (64 B)
    # and mean and 1/std at each of the 4 positions (2 * 4, 32 B).
    assert _train(path).saved_bytes == 64 + 16 + 64 + 64 + 32
    assert _train(path, batch=3).saved_bytes == 3 * (64 + 16 + 64 + 64 + 32)


def test_optimizer_state_and_precision(tmp_path: Path) -> None:
    path = _write(tmp_path, SMALL)
    params = 766
    assert _train(path, optimizer="momentum").optimizer_bytes == params * 4  # one buffer
    adam = _train(path, optimizer="adam")
    assert adam.optimizer_bytes == 2 * params * 4  # two moments
    assert adam.optimizer_flops == 13 * params
    assert _train(path, optimizer="adamw").optimizer_flops == 15 * params
    half = _train(path, precision="amp-bf16")
    # Activations at 2 bytes: bn 512 + 32 (statistics stay fp32), relu 512, indices 512
    # (int64 whatever the precision), fc 128; the first conv casts the fp32 network input
    # to bf16 and keeps that copy (192 values, 384 B).
    assert half.saved_bytes == 512 + 32 + 512 + 512 + 128 + 384
    assert half.weight_bytes == params * 4  # fp32 master weights


def test_everything_but_params_grows_linearly_with_the_batch() -> None:
    for name in ("resnet18", "mobilenet_v2", "densenet121", "vgg16"):
        one = api.analyze(name, train=True)
        three = api.analyze(name, batch=3, train=True)
        assert three.totals.params == one.totals.params
        for key in ("macs", "flops", "activation_bytes", "peak_activation_bytes"):
            assert getattr(three.totals, key) == 3 * getattr(one.totals, key), (name, key)
        for a, b in zip(one.layers, three.layers, strict=True):
            assert b.macs == 3 * a.macs and b.output_shape == a.output_shape
            # traffic: inputs and outputs grow, the weights are read once per batch
            assert b.traffic_bytes - 3 * a.traffic_bytes == -2 * a.params * 4
        t1, t3 = one.training, three.training
        assert t3.state_bytes == t1.state_bytes
        # What grows is per sample; batch norm's statistics (2C fp32 per norm, as many
        # bytes as its running mean and variance: the buffers) do not.
        assert t3.saved_bytes == 3 * t1.saved_bytes - 2 * t1.buffer_bytes
        assert t3.backward_flops == 3 * t1.backward_flops


def test_a_free_batch_gives_formulas_linear_in_it() -> None:
    one = api.analyze("resnet18")
    free = api.analyze("resnet18", free=["batch"])
    import sympy

    b = sympy.Symbol("batch", integer=True, positive=True)
    assert sympy.expand(free.totals.macs - one.totals.macs * b) == 0
    assert (
        sympy.expand(free.totals.peak_activation_bytes - one.totals.peak_activation_bytes * b) == 0
    )
    assert free.totals.params == one.totals.params


def test_max_batch_on_resnet50_at_a_16_gib_boundary() -> None:
    limit = 16 * 2**30
    report = api.analyze("resnet50", train=True, optimizer="adam")
    est = api.estimate(report, budgets=[("memory", limit)], max_batch=True)
    n = est.max_batch
    assert n is not None and n > 1
    # Computed again by a full analysis at n and at n + 1: n fits, n + 1 does not.
    at_n = api.analyze("resnet50", batch=n, train=True, optimizer="adam").training
    over = api.analyze("resnet50", batch=n + 1, train=True, optimizer="adam").training
    assert at_n.peak_bytes <= limit < over.peak_bytes


def test_inference_max_batch_is_weights_plus_batches_of_the_peak() -> None:
    report = api.analyze("resnet50")
    est = api.estimate(report, budgets=[("memory", 2**30)], max_batch=True)
    weights = report.totals.param_bytes
    peak = est.peak_activation_bytes  # one sample's peak on this budget (nothing fused)
    assert est.max_batch == (2**30 - weights) // peak


def test_cli_training_breakdown_and_verdict() -> None:
    argv = ["analyze", "resnet50", "--batch", "64", "--train", "--optimizer", "adam"]
    result = runner.invoke(app, [*argv, "--device", "gpu-v100", "-f", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    t = doc["training"]
    assert doc["batch"] == 64 and t["batch"] == 64 and t["optimizer"] == "adam"
    # resnet50's 25,557,032 params (torchvision): weights, gradients 4 bytes each, Adam 8
    assert t["weight_bytes"] == t["grad_bytes"] == 25_557_032 * 4
    assert t["optimizer_bytes"] == 25_557_032 * 8
    (verdict,) = [v for v in doc["device"]["verdicts"] if v["budget"] == "memory_bytes"]
    assert verdict["value"] == t["peak_bytes"]
    assert verdict["reason"].startswith("training, adam, fp32, batch 64: peak ")
    table = runner.invoke(app, [*argv, "--device", "gpu-v100"])
    assert table.exit_code == 0, table.output
    assert "kept for backward" in table.stdout and "peak memory" in table.stdout


def test_command_line_budgets_without_a_device() -> None:
    ok = runner.invoke(app, ["analyze", "mobilenet_v2", "--budget", "params=5M", "-f", "json"])
    assert ok.exit_code == 0, ok.output
    (v,) = json.loads(ok.stdout)["device"]["verdicts"]
    assert (v["budget"], v["limit"], v["value"], v["pass"]) == (
        "params",
        5_000_000,
        3_504_872,
        True,
    )
    over = runner.invoke(
        app,
        ["analyze", "resnet50", "--budget", "params=5M", "--fail-over-budget", "-f", "json"],
    )
    assert over.exit_code == 3


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("memory=16GiB", ("memory_bytes", 16 * 2**30)),
        ("memory=1.5GB", ("memory_bytes", 1_500_000_000)),
        ("latency=10ms", ("latency_s", pytest.approx(0.01))),
        ("params=5M", ("params", 5_000_000)),
        ("macs=300m", ("macs", 300_000_000)),
        ("throughput=200/s", ("throughput_per_s", 200)),
    ],
)
def test_budget_values(text: str, expected: tuple) -> None:
    name, value = api.parse_budget(text)
    assert (name, float(value)) == (expected[0], expected[1])


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--batch", "0"], "0"),
        (["--budget", "memory=-1GiB"], "positive"),
        (["--budget", "speed=3"], "unknown budget"),
        (["--budget", "memory=16"], ""),  # bytes without a unit are bytes: fine
        (["--train", "--optimizer", "lion"], "unknown optimizer 'lion'"),
        (["--train", "--precision", "fp8"], "unknown precision 'fp8'"),
        (["--train", "--dtype", "fp16"], "--precision"),
        (["--max-batch"], "states no memory"),
        (["--checkpoint", "2"], "--checkpoint applies to a training step"),
        (["--input", "2x3x224x224", "--batch", "4"], "batch 2 but --batch is 4"),
    ],
)
def test_bad_values_get_one_clear_message(argv: list[str], message: str) -> None:
    result = runner.invoke(app, ["analyze", "resnet18", *argv])
    if not message:
        assert result.exit_code == 0, result.output
        return
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output


def test_a_batched_input_shape_sets_the_batch() -> None:
    result = runner.invoke(app, ["analyze", "resnet18", "--input", "8x3x224x224", "-f", "json"])
    doc = json.loads(result.stdout)
    assert doc["batch"] == 8 and doc["input"] == [3, 224, 224]


def test_the_api_refuses_bad_training_arguments() -> None:
    with pytest.raises(UsageError):
        api.analyze("resnet18", train=True, optimizer=3)
    with pytest.raises(UsageError):
        api.analyze("resnet18", batch=0)


def test_checkpointing_a_block_by_hand(tmp_path: Path) -> None:
    # SMALL with its conv, bn and relu in a block b (names b.conv, b.bn, b.relu)
    path = _write(
        tmp_path,
        """
        convcalc: 1
        name: small
        input: [3, 8, 8]
        blocks:
          b:
            body:
              - {op: conv, out: 4, k: 3, padding: 1, bias: false, name: conv}
              - {op: bn, name: bn}
              - {op: relu, name: relu}
        layers:
          - {block: b, name: b}
          - {op: maxpool, k: 2, name: pool}
          - {op: flatten, name: flat}
          - {op: linear, out: 10, name: fc}
        """,
    )
    t = api.analyze(path, train=True, optimizer="sgd", checkpoint=1).training
    # The block b (conv, bn, relu) keeps only what it reads from outside (the network
    # input) through the forward pass; what pool and fc keep stays: the relu output (1,024 B,
    # kept by the pool), the indices (512) and fc's input (256).
    assert t.saved_bytes == 1024 + 512 + 256
    # The block runs forward again in backward: conv 13,824, bn 512, relu 256 FLOPs.
    assert t.recompute_flops == 13_824 + 512 + 256
    assert t.backward_flops == 17_354 + 14_592
    # The peak is still during relu's backward: the rerun conv and relu outputs (1,024
    # each), bn's statistics (32), the two gradients (1,024 each), fc's weight gradients
    # (2,600), weights, buffers and input (3,864): the same 10,592 B as without.
    assert t.peak_bytes == 10_592
    plain = api.analyze(path, batch=32, train=True, optimizer="sgd").training
    ckpt = api.analyze(path, batch=32, train=True, optimizer="sgd", checkpoint=1).training
    assert ckpt.saved_bytes < plain.saved_bytes


def test_what_attention_keeps(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """
        convcalc: 1
        name: attn
        input: [8, 2, 2]
        layers:
          - {op: to_tokens}
          - {op: linear, out: 8}
          - {op: attention, heads: 2}
          - {op: matmul, from: [linear1, attention1], transpose: true}
        """,
    )
    t = _train(path)
    # 4 tokens of width 8, 2 heads of width 4 (inner width I = 8), 2 x 4 x 4 = 32 scores.
    # The linear keeps the tokens (a view of the network input: counted apart). Attention
    # keeps its input (the linear's output, 32 values), the q, k, v projection (3 x 4 x 8
    # = 96), the weights (32), the weighted sum (32) and, without windows, q and k scaled
    # (64): 256 values. The matmul keeps both inputs: the linear's output (counted) and
    # the attention's (32 values). fp32: (256 + 32) x 4.
    assert t.saved_bytes == (256 + 32) * 4
    # Backward FLOPs of the matmul: both inputs' gradients, each 4 x 4 x 8 MACs = 128,
    # at 2 FLOPs: 512.
    row = next(r for r in t.layers if r.name == "matmul1")
    assert row.backward_flops == 512


def test_adam_peaks_in_its_step_on_a_small_network(tmp_path: Path) -> None:
    t = _train(_write(tmp_path, SMALL), optimizer="adam")
    # In the step: weights 3,064, buffers 32, two moments 6,128, the input 768, all weight
    # gradients 3,064 and two temporaries the size of the largest layer's parameters (fc,
    # 650 values: 2 x 2,600): 18,256 B, above relu's backward (10,592 + 6,128 = 16,720).
    assert t.peak_bytes == 18_256
    assert t.peak_phase == "optimizer step"


@pytest.mark.parametrize(
    ("layer", "kept"),
    [
        # Each after a conv 2->4 k1 on 4x4 (its output: 64 values, 256 B fp32) that nothing
        # else keeps; the layer's output is the network's output.
        ("{op: upsample, scale: 2}", 0),  # nearest: only sizes
        ("{op: adaptive_avgpool, size: 1}", 0),  # a mean
        ("{op: adaptive_avgpool, size: 2}", 256),  # its input
        ("{op: global_avgpool}", 0),
        ("{op: global_maxpool}", 256 + 4 * 8),  # its input and 4 int64 indices
        ("{op: avgpool, k: 2}", 256),
        ("{op: maxpool, k: 2}", 256 + 16 * 8),  # its input and 4 x 2 x 2 int64 indices
        ("{op: softmax}", 256),  # its output, 64 values
        ("{op: lrn, size: 3}", 256 + 3 * 256),  # its input and three tensors its size
        ("{op: instancenorm}", 256 + 2 * 4 * 4),  # its input, mean and 1/std per channel
        ("{op: dwconv, k: 3, padding: 1}", 256),
        ("{op: deconv, out: 2, k: 2, stride: 2}", 256),
        ("{op: prelu}", 256),
        ("{op: scale, factor: 0.5}", 0),  # a constant factor: its gradient needs nothing
        ("{op: drop_path, p: 0.1}", 4),  # one keep factor per sample
        ("{op: dropout, p: 0.1}", 256),  # a mask the size of its input
        ("{op: crop, size: 2}", 0),
        ("{op: pad, padding: 1}", 0),
        ("{op: channel_shuffle, groups: 2}", 0),
        ("{op: identity}", 0),
    ],
)
def test_what_each_kind_keeps(tmp_path: Path, layer: str, kept: int) -> None:
    path = _write(
        tmp_path,
        f"""
        convcalc: 1
        name: one
        input: [2, 4, 4]
        layers:
          - {{op: conv, out: 4, k: 1, bias: false}}
          - {layer}
        """,
    )
    assert _train(path).saved_bytes == kept


DOCS = Path(__file__).resolve().parent.parent / "docs"


@pytest.mark.skipif(not (DOCS / "training.py").is_file(), reason="docs are not beside the tests")
def test_the_training_page_is_up_to_date() -> None:
    # docs/training.py writes the example's output, the table of what each kind keeps and
    # the comparison with PyTorch's measured bytes (benchmarks/training_reference.json).
    import importlib.util

    spec = importlib.util.spec_from_file_location("training_page", DOCS / "training.py")
    assert spec is not None and spec.loader is not None
    page = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(page)
    text = (DOCS / "training.md").read_text()
    assert page.render(text) == text, "run: python docs/training.py"


def test_kept_bytes_are_within_5_percent_of_pytorch() -> None:
    # benchmarks/training_reference.json: bytes saved-tensor hooks counted on torchvision's
    # networks in train mode (each storage once, weights, input and buffers apart).
    data = json.loads((DOCS.parent / "benchmarks" / "training_reference.json").read_text())
    for case in data["cases"]:
        theirs = case["saved"]["split_bytes"]["other"]
        ours = api.analyze(case["network"], batch=case["batch"], train=True).training
        assert abs(ours.saved_bytes - theirs) <= 0.05 * theirs, case["network"]
