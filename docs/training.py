#!/usr/bin/env python3
"""Write the generated parts of docs/training.md: what each layer kind keeps for its
backward pass (from the kinds themselves), and convcalc's training memory beside PyTorch's.

    python docs/training.py           # rewrite those parts of docs/training.md
    python docs/training.py --check   # exit 1 if docs/training.md is out of date

The PyTorch figures are benchmarks/training_reference.json, measured by
benchmarks/training_reference.py in a throwaway environment with torch and torchvision
(never in CI); convcalc's are computed here from the bundled networks of the same names.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from convcalc import api
from convcalc.layers import registry

DOC = Path(__file__).resolve().with_name("training.md")
REFERENCE = Path(__file__).resolve().parent.parent / "benchmarks" / "training_reference.json"
OPTIMIZERS = ("sgd", "adam")


EXAMPLE = ["resnet50", "--batch", "64", "--train", "--optimizer", "adam", "--device", "gpu-v100"]


def example() -> str:
    """What the page's first command prints, folded to its stages, as markdown."""
    from typer.testing import CliRunner

    from convcalc.cli import app

    result = CliRunner().invoke(app, ["analyze", *EXAMPLE, "--depth", "1", "-f", "markdown"])
    if result.exit_code != 0:
        raise SystemExit(f"the example failed: {result.output}")
    return result.stdout.rstrip("\n")


def kinds_table() -> str:
    """One row per layer kind: what it keeps for backward."""
    rows = ["| kind | keeps for backward |", "|---|---|"]
    for op, kind in sorted(registry.KINDS.items()):
        rows.append(f"| `{op}` | {kind.saves_rule} |")
    return "\n".join(rows)


def _mib(n: float) -> str:
    return f"{n / 2**20:,.1f}"


def _diff(ours: float, theirs: float) -> str:
    return f"{(ours - theirs) / theirs:+.1%}"


def reference_table() -> str:
    """convcalc's saved bytes and step peaks beside the measured ones."""
    data = json.loads(REFERENCE.read_text())
    head = (
        f"Measured with torch {data['torch']}, torchvision {data['torchvision']} on the CPU "
        f"({data['machine']}, {data['threads']} threads), {data['measured']}: the bytes "
        "autograd keeps after one forward pass in train mode (each storage once; weights, "
        "the input and the running statistics apart), and the peak of the CPU allocator "
        "over a second training step (cross-entropy loss, `zero_grad(set_to_none=True)` "
        "first), with the weights, buffers, input and optimizer state alive before it. "
        "MiB = 2^20 bytes."
    )
    rows = [
        "| network | batch | kept, PyTorch (B) | kept, convcalc (B) | diff (B) "
        + "".join(f"| peak {o}, PyTorch (MiB) | convcalc | diff " for o in OPTIMIZERS)
        + "|",
        "|---|---:|---:|---:|---:" + "|---:|---:|---:" * len(OPTIMIZERS) + "|",
    ]
    for case in data["cases"]:
        name, batch = case["network"], case["batch"]
        theirs = case["saved"]["split_bytes"]["other"]
        report = api.analyze(name, batch=batch, train=True, optimizer="sgd")
        ours = report.training.saved_bytes
        cells = [name, str(batch), f"{theirs:,}", f"{ours:,}", f"{ours - theirs:+,}"]
        for opt in OPTIMIZERS:
            steady = case["step"].get(opt, {}).get("steady")
            if not isinstance(steady, dict):  # skipped: a step past the case's time budget
                cells += ["not measured", "", ""]
                continue
            measured = steady["peak_absolute"]
            peak = api.analyze(name, batch=batch, train=True, optimizer=opt).training.peak_bytes
            cells += [_mib(measured), _mib(peak), _diff(peak, measured)]
        rows.append("| " + " | ".join(cells) + " |")
    return head + "\n\n" + "\n".join(rows)


def _replace(text: str, marker: str, body: str) -> str:
    start, end = f"<!-- {marker} -->", f"<!-- /{marker} -->"
    before, rest = text.split(start, 1)
    _, after = rest.split(end, 1)
    return f"{before}{start}\n{body}\n{end}{after}"


def render(text: str) -> str:
    """docs/training.md with its generated parts written afresh."""
    text = _replace(text, "example", example())
    text = _replace(text, "kinds", kinds_table())
    return _replace(text, "reference", reference_table())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="fail if the page is out of date")
    args = ap.parse_args(argv)
    old = DOC.read_text()
    new = render(old)
    if args.check:
        if new != old:
            print("docs/training.md is out of date: run python docs/training.py", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(new)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
