#!/usr/bin/env python3
"""What PyTorch keeps for one training step of six torchvision CNNs: the measured reference.

convcalc's training-memory rules (what each layer kind saves for the backward pass, the
liveness scan of forward and backward, the optimizer states) are checked against these
figures. The script needs torch and torchvision, which are never dependencies of convcalc or
its CI, so it runs by hand in a throwaway virtualenv outside the checkout:

    python3 -m venv /tmp/ref && /tmp/ref/bin/pip install torch==2.13.0   # CPU build
    /tmp/ref/bin/pip download torchvision==0.28.0 --no-deps -d /tmp/wheels
    /tmp/ref/bin/pip install --no-deps /tmp/wheels/torchvision-0.28.0-*.whl
    /tmp/ref/bin/pip install numpy pillow        # what importing torchvision needs
    # if `import torchvision.models` fails on the CPU build, empty the meta registrations:
    : > /tmp/ref/lib/python3.11/site-packages/torchvision/_meta_registrations.py
    /tmp/ref/bin/python benchmarks/training_reference.py          # writes the JSON below
    /tmp/ref/bin/python benchmarks/training_reference.py --only resnet18 --batch 1 --json -
    # measure some cases again (a longer budget) and replace only them in the JSON:
    /tmp/ref/bin/python benchmarks/training_reference.py --only vgg16 --batch 32 \
        --case-seconds 900 --update

It writes benchmarks/training_reference.json. Every case is a torchvision model with its
default arguments (random weights: the values do not change what is saved), in
``model.train()``, fp32, input N x 3 x 224 x 224, on the CPU with ``torch.set_num_threads(2)``.

For each network and batch it records:

* ``params``: elements and bytes of the parameters; ``buffers``: elements of the running
  means and variances of batch normalisation, with the ``num_batches_tracked`` counters (one
  int64 each) counted apart.
* ``saved``: the tensors autograd keeps for the backward pass of one forward, caught with
  ``torch.autograd.graph.saved_tensors_hooks`` (the pack hook keeps each tensor alive, so an
  address is never reused). Each distinct storage (its data pointer and byte size) is counted
  once, in full, split into parameters, the network input, buffers (BN running statistics,
  saved by ``NativeBatchNormBackward0``) and the rest (activations, pooling indices, dropout
  masks, per-channel mean and inverse std). The rest is broken down by the autograd node
  that saved each storage first: the graph from the output's ``grad_fn`` is walked in forward
  order (``_sequence_nr``) and each node's ``_saved_*`` tensors are read. A storage caught by
  the hook but reachable from no node's ``_saved_*`` attributes (the node inside a
  ``CopySlices``, as an in-place dropout on a view makes) is counted under
  ``"CopySlices (inner node)"``. The same bytes are broken down by the kind of the innermost
  ``nn.Module`` running when the hook fired (``"(functional) in Parent"`` when no leaf module
  was running, e.g. ``torch.cat`` in a DenseNet layer). ``shared_between_nodes`` counts the
  storages that more than one node saved (a ReLU's output that the next convolution saves
  too), counted once in the totals.
* ``step``: the allocator's running total over one training step (forward, cross-entropy
  loss against fixed labels, backward, ``optimizer.step()``), for SGD without momentum, SGD
  with momentum 0.9 and Adam, each with a fresh optimizer on the same model. The step runs
  under ``torch.profiler.profile(profile_memory=True)``; every ``[memory]`` event (bytes
  allocated, or freed as a negative number, by the CPU allocator) is taken in time order and
  summed. ``peak_above_start`` is the maximum of that running sum, counted from just before
  the forward: what was allocated before the profile started (parameters, buffers, the
  input and labels, optimizer state from an earlier step) is not in the events and is
  reported beside it (``start_live``), so the absolute peak is ``start_live.total +
  peak_above_start``. ``steady`` is a step as every later one runs: the optimizer state
  already exists (made by one ``optimizer.step()`` on zero gradients, which allocates the same
  state as a real step and leaves the weights as they are) and
  ``optimizer.zero_grad(set_to_none=True)`` ran before the profile (so the gradients it frees
  are not in the events, and are allocated again in the backward). ``first`` is the first
  step of a fresh optimizer, which allocates its state during ``step()``; for SGD without
  momentum it is the same as ``steady`` (no state) and not measured twice. The running sum
  is also reported at the end of the forward (``after_forward_above_start``), with the peak
  within each of forward, backward and the optimizer step (each including the level the phase
  starts at), and at the end (``end_above_start``). What the profiler cannot see: memory a
  kernel takes outside the c10 allocator (oneDNN or OpenMP scratch, allocator caching and
  fragmentation, the process's own RSS); resident set size would include those but moves in
  pages and arenas that are not returned, too coarse to compare layer rules against
  (``process_max_rss_bytes``, the high-water mark of each case's process, is given for
  scale).

Each case runs in its own interpreter. The steady steps are measured first (SGD, Adam,
momentum), then the first steps; a step is skipped, and the JSON says so, when it would take
the case past ``--case-seconds`` (estimated from the step before it).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch
import torchvision
from torch.profiler import ProfilerActivity, profile, record_function

NETWORKS = ("resnet18", "resnet50", "mobilenet_v2", "efficientnet_b0", "vgg16", "densenet121")
BATCHES = (1, 32)
OPTIMIZERS = ("sgd", "adam", "momentum")  # the order they are measured in
DEFAULT_JSON = Path(__file__).with_name("training_reference.json")
PHASES = ("forward", "backward", "optimizer")


def _storage_key(t: torch.Tensor) -> tuple[int, int]:
    s = t.untyped_storage()
    return (s.data_ptr(), s.nbytes())


def _graph_nodes(root: Any) -> list[Any]:
    """Every autograd node reachable from ``root``, in the order the forward made them."""
    seen: set[Any] = set()
    stack = [root]
    nodes = []
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        nodes.append(node)
        stack.extend(nxt for nxt, _ in node.next_functions)
    nodes.sort(key=lambda n: n._sequence_nr())
    return nodes


def _saved_of(node: Any) -> list[tuple[str, torch.Tensor]]:
    """The tensors a node saved for backward, by attribute name."""
    out = []
    for name in dir(node):
        if not name.startswith("_saved_"):
            continue
        value = getattr(node, name)
        if isinstance(value, torch.Tensor):
            out.append((name, value))
        elif isinstance(value, (tuple, list)):
            out.extend((name, v) for v in value if isinstance(v, torch.Tensor))
    return out


def count_params(model: torch.nn.Module) -> dict[str, int]:
    """Parameter and buffer elements; BN's step counters apart from the running statistics."""
    params = sum(p.numel() for p in model.parameters())
    stats = counters = counter_bytes = stat_bytes = 0
    for name, b in model.named_buffers():
        if name.endswith("num_batches_tracked"):
            counters += 1
            counter_bytes += b.numel() * b.element_size()
        else:
            stats += b.numel()
            stat_bytes += b.numel() * b.element_size()
    return {
        "params": params,
        "param_bytes": sum(p.numel() * p.element_size() for p in model.parameters()),
        "buffers_running_stats": stats,
        "buffers_running_stats_bytes": stat_bytes,
        "num_batches_tracked": counters,
        "num_batches_tracked_bytes": counter_bytes,
    }


def saved_tensors(model: torch.nn.Module, x: torch.Tensor) -> dict[str, Any]:
    """Bytes autograd saves in one training forward, each storage once, split and attributed."""
    param_keys = {_storage_key(p) for p in model.parameters()}
    buffer_keys = {_storage_key(b) for b in model.buffers()}
    input_key = _storage_key(x)

    running: list[torch.nn.Module] = []

    def enter(mod: torch.nn.Module, _inputs: Any) -> None:
        running.append(mod)

    def leave(_mod: torch.nn.Module, _inputs: Any, _output: Any) -> None:
        running.pop()

    hooks = []
    for mod in model.modules():
        hooks.append(mod.register_forward_pre_hook(enter))
        hooks.append(mod.register_forward_hook(leave))

    packed: dict[tuple[int, int], dict[str, Any]] = {}

    def module_kind() -> str:
        if not running:
            return "(functional) at top level"
        inner = running[-1]
        if any(True for _ in inner.children()):
            return f"(functional) in {type(inner).__name__}"
        return type(inner).__name__

    def pack(t: torch.Tensor) -> torch.Tensor:
        key = _storage_key(t)
        if key[1] and key not in packed:
            packed[key] = {"tensor": t, "module": module_kind(), "dtype": str(t.dtype)[6:]}
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = model(x)
    for h in hooks:
        h.remove()

    first_node: dict[tuple[int, int], str] = {}
    savers: dict[tuple[int, int], int] = defaultdict(int)
    nodes = _graph_nodes(out.grad_fn)
    node_counts: dict[str, int] = defaultdict(int)
    for node in nodes:
        kind = type(node).__name__
        node_counts[kind] += 1
        for key in {_storage_key(t) for _, t in _saved_of(node)}:
            savers[key] += 1
            first_node.setdefault(key, kind)

    split = {"parameters": 0, "input": 0, "buffers": 0, "other": 0}
    by_node: dict[str, dict[str, Any]] = {}
    by_module: dict[str, dict[str, Any]] = {}
    shared = {"storages": 0, "bytes": 0}
    for key, rec in packed.items():
        nbytes = key[1]
        if key in param_keys:
            split["parameters"] += nbytes
            continue
        if key == input_key:
            split["input"] += nbytes
            continue
        if key in buffer_keys:
            split["buffers"] += nbytes
            continue
        split["other"] += nbytes
        if savers.get(key, 0) > 1:
            shared["storages"] += 1
            shared["bytes"] += nbytes
        for table, label in (
            (by_node, first_node.get(key, "CopySlices (inner node)")),
            (by_module, rec["module"]),
        ):
            row = table.setdefault(label, {"bytes": 0, "storages": 0, "by_dtype": {}})
            row["bytes"] += nbytes
            row["storages"] += 1
            row["by_dtype"][rec["dtype"]] = row["by_dtype"].get(rec["dtype"], 0) + nbytes
    packed.clear()
    del out
    return {
        "total_bytes": sum(split.values()),
        "split_bytes": split,
        "other_by_node": dict(sorted(by_node.items(), key=lambda kv: -kv[1]["bytes"])),
        "other_by_module": dict(sorted(by_module.items(), key=lambda kv: -kv[1]["bytes"])),
        "shared_between_nodes": shared,
        "graph_nodes": dict(sorted(node_counts.items())),
    }


def _make_optimizer(name: str, model: torch.nn.Module) -> torch.optim.Optimizer:
    if name == "sgd":
        return torch.optim.SGD(model.parameters(), lr=1e-3)
    if name == "momentum":
        return torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    return torch.optim.Adam(model.parameters(), lr=1e-3)


def _state_bytes(opt: torch.optim.Optimizer) -> int:
    keys = set()
    for state in opt.state.values():
        for v in state.values():
            if isinstance(v, torch.Tensor):
                keys.add(_storage_key(v))
    return sum(k[1] for k in keys)


def _live_bytes(model: torch.nn.Module, opt: torch.optim.Optimizer, *extra: torch.Tensor) -> dict:
    grads = {_storage_key(p.grad) for p in model.parameters() if p.grad is not None}
    return {
        "params_and_buffers": sum(
            k[1] for k in {_storage_key(t) for t in model.state_dict().values()}
        ),
        "grads": sum(k[1] for k in grads),
        "optimizer_state": _state_bytes(opt),
        "input_and_labels": sum(t.numel() * t.element_size() for t in extra),
    }


def profiled_step(
    model: torch.nn.Module, opt: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor
) -> dict[str, Any]:
    """One training step under the profiler; the allocator's running total from its start."""
    opt.zero_grad(set_to_none=True)
    start = _live_bytes(model, opt, x, y)
    start["total"] = sum(start.values())
    t0 = time.perf_counter()
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True, record_shapes=False) as p:
        with record_function("phase_forward"):
            loss = torch.nn.functional.cross_entropy(model(x), y)
        with record_function("phase_backward"):
            loss.backward()
        with record_function("phase_optimizer"):
            opt.step()
    seconds = time.perf_counter() - t0
    del loss
    events = p.profiler.kineto_results.events()
    mem = sorted(
        ((e.start_ns(), e.nbytes()) for e in events if e.name() == "[memory]"),
        key=lambda se: se[0],
    )
    spans = {
        e.name()[len("phase_") :]: (e.start_ns(), e.end_ns())
        for e in events
        if e.name().startswith("phase_")
    }
    levels = []  # (time, running total just after the event)
    level = 0
    for ns, nbytes in mem:
        level += nbytes
        levels.append((ns, level))
    peak = max((lv for _, lv in levels), default=0)
    phase_peak = {}
    for ph in PHASES:  # a phase's peak includes the level it starts at
        lo, hi = spans[ph]
        before = [lv for ns, lv in levels if ns < lo]
        inside = [lv for ns, lv in levels if lo <= ns <= hi]
        phase_peak[ph] = max([before[-1] if before else 0, *inside])
    in_forward = [lv for ns, lv in levels if ns <= spans["forward"][1]]
    after_forward = in_forward[-1] if in_forward else 0
    end = _live_bytes(model, opt, x, y)
    end["total"] = sum(end.values())
    return {
        "seconds": round(seconds, 2),
        "memory_events": len(mem),
        "start_live": start,
        "peak_above_start": peak,
        "peak_absolute": start["total"] + peak,
        "after_forward_above_start": after_forward,
        "phase_peak_above_start": phase_peak,
        "end_above_start": level,
        "end_live": end,
    }


def _warm_state(model: torch.nn.Module, opt: torch.optim.Optimizer) -> None:
    """Create the optimizer's state as a step would, without a forward and backward.

    A step on zero gradients allocates exactly the state a real step does (momentum buffers,
    Adam's moments and step counters) and, with no weight decay, leaves the weights unchanged.
    """
    for p in model.parameters():
        p.grad = torch.zeros_like(p)
    opt.step()
    opt.zero_grad(set_to_none=True)


def run_case(name: str, batch: int, case_seconds: float) -> dict[str, Any]:
    """Counts, saved tensors and step peaks of one network at one batch."""
    torch.manual_seed(0)
    model = getattr(torchvision.models, name)().train()
    x = torch.randn(batch, 3, 224, 224)
    y = torch.randint(0, 1000, (batch,))
    t0 = time.perf_counter()
    case: dict[str, Any] = {"network": name, "batch": batch, **count_params(model)}
    case["saved"] = saved_tensors(model, x)
    case["saved"]["seconds"] = round(time.perf_counter() - t0, 2)
    case["case_seconds"] = case_seconds
    case["step"] = {o: {} for o in OPTIMIZERS}
    # SGD without momentum keeps no state, and zero_grad(set_to_none=True) runs before the
    # profile, so its first step starts from the same memory as every later one.
    case["step"]["sgd"]["first"] = "the same as steady: SGD without momentum keeps no state"
    step_seconds = 3 * case["saved"]["seconds"]  # a guess until a step has been timed
    plan = [(o, "steady") for o in OPTIMIZERS] + [(o, "first") for o in OPTIMIZERS if o != "sgd"]
    for opt_name, which in plan:  # most wanted first, so a skipped step is the least wanted
        elapsed = time.perf_counter() - t0
        if elapsed + step_seconds > case_seconds:
            case["step"][opt_name][which] = (
                f"skipped: one more step (about {step_seconds:.0f} s) would pass the "
                f"{case_seconds:.0f} s budget of a case ({elapsed:.0f} s used)"
            )
            continue
        opt = _make_optimizer(opt_name, model)
        if which == "steady":
            _warm_state(model, opt)
        measured = profiled_step(model, opt, x, y)
        step_seconds = measured["seconds"]
        case["step"][opt_name][which] = measured
        del opt
        for p in model.parameters():
            p.grad = None
    case["seconds"] = round(time.perf_counter() - t0, 2)
    return case


def _run_child(name: str, batch: int, args: argparse.Namespace) -> dict[str, Any]:
    """One case in a fresh interpreter, so no case inherits another's heap."""
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_=str(1 << 20))  # large blocks go back at free
    cmd = [sys.executable, __file__, "--case", f"{name}:{batch}", "--threads", str(args.threads)]
    cmd += ["--case-seconds", str(args.case_seconds)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {"network": name, "batch": batch, "failed": f"exit {proc.returncode}: {tail}"}
    return json.loads(proc.stdout)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default=",".join(NETWORKS), help="comma-separated networks")
    ap.add_argument("--batch", default=",".join(map(str, BATCHES)), help="comma-separated")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--case-seconds", type=float, default=300.0)
    ap.add_argument("--json", default=str(DEFAULT_JSON), help="output file, '-' for stdout")
    ap.add_argument(
        "--update",
        action="store_true",
        help="replace only the cases measured now in --json, keeping the others",
    )
    ap.add_argument("--case", help=argparse.SUPPRESS)  # NAME:BATCH, run here, JSON to stdout
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.case:
        name, batch = args.case.split(":")
        case = run_case(name, int(batch), args.case_seconds)
        # The process's high-water resident set (ru_maxrss is in KiB on Linux): torch itself,
        # the model, and whatever the C allocator kept; a coarse upper bound, for scale only.
        case["process_max_rss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        sys.stdout.write(json.dumps(case))
        return 0
    result: dict[str, Any] = {
        "measured": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "machine": f"{platform.machine()}, {platform.system()} {platform.release()}",
        "threads": args.threads,
        "dtype": "float32",
        "input": "N x 3 x 224 x 224",
        "loss": "cross_entropy against fixed random labels",
        "cases": [],
    }
    if args.update:  # the header keeps the first run's time; a re-measured case has its own
        result = json.loads(Path(args.json).read_text())
    for name in args.only.split(","):
        for batch in (int(b) for b in args.batch.split(",")):
            case = _run_child(name, batch, args)
            if args.update:
                case["measured"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
            cases = [c for c in result["cases"] if (c["network"], c["batch"]) != (name, batch)]
            cases.append(case)
            order = {n: i for i, n in enumerate(NETWORKS)}
            cases.sort(key=lambda c: (order.get(c["network"], len(order)), c["batch"]))
            result["cases"] = cases
            status = case.get("failed") or f"{case['seconds']} s"
            print(f"{name} batch {batch}: {status}", file=sys.stderr, flush=True)
            if args.json != "-":  # written after every case, so a stopped run keeps its cases
                Path(args.json).write_text(json.dumps(result, indent=1) + "\n")
    if args.json == "-":
        sys.stdout.write(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
