"""The golden set: command lines whose whole output (stdout, stderr, exit code) is kept.

Every bundled network and block is analysed in every format, and every other command runs
in the formats it had when the set was made. The outputs were generated once, before the
code was restructured, by ``python tests/golden/cases.py --write``; they are regenerated
only when a change of output is intended, and the commit that does so says why.
``tests/test_golden.py`` runs every case in-process and compares byte for byte.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "outputs"

FORMATS = ("table", "json", "csv", "markdown")


def _bundled() -> list[str]:
    from convcalc import api

    return [a.name for a in api.list_architectures()]


def cases() -> list[list[str]]:
    """Every golden command line (the words after ``convcalc``)."""
    out: list[list[str]] = []
    for name in _bundled():
        for fmt in FORMATS:
            out.append(["analyze", name, "-f", fmt])
    for fmt in FORMATS:
        out += [
            ["analyze", "resnet50", "--depth", "2", "-f", fmt],
            ["analyze", "mobilenet_v2", "--alpha", "0.5", "--rho", "0.714", "-f", fmt],
            ["analyze", "resnet50", "--device", "gpu-t4", "-f", fmt],
            ["analyze", "mobilenet_v2", "--device", "mcu-stm32h743", "--depth", "1", "-f", fmt],
            ["analyze", "blocks/conv_depthwise_separable", "--symbolic", "-f", fmt],
            ["compare", "vgg16", "mobilenet", "-f", fmt],
            ["compare", "resnet18", "resnet34", "--by", "stage", "-f", fmt],
            ["compare", "blocks/conv_standard", "blocks/conv_depthwise_separable", "-f", fmt],
            ["compare", "mobilenet_v2", "mobilenet", "--device", "cortex-a76-sd855", "-f", fmt],
            ["sweep", "mobilenet", "--alpha", "0.25:1:0.25", "--rho", "1,0.714", "-f", fmt],
            ["sweep", "mobilenet_v2", "--alpha", "0.5,1", "--device", "pixel1-bigcore", "-f", fmt],
            ["explain", "resnet18", "-f", fmt],
            ["explain", "resnet18", "layer1.0.conv1", "layer2", "-f", fmt],
            ["explain", "mobilenet", "--free", "alpha", "-f", fmt],
            ["devices", "-f", fmt],
        ]
    for fmt in ("table", "json"):
        for name in ("resnet50", "blocks/hdc_2_2_2", "shufflenet", "blocks/grid_reduction_pool"):
            out.append(["validate", name, "-f", fmt])
    out += [["list"], ["layers"], ["layers", "conv"], ["layers", "-f", "markdown"]]
    return out


def key(argv: list[str]) -> str:
    """The file name of a case: readable words and a short hash of the exact line."""
    words = "_".join(a.strip("-").replace("/", "-").replace(":", "-") for a in argv)[:80]
    digest = hashlib.sha1("\0".join(argv).encode()).hexdigest()[:8]
    return f"{words}.{digest}.txt"


def run(argv: list[str]) -> str:
    """The case's output as one text: stdout, then stderr, then the exit code."""
    from typer.testing import CliRunner

    from convcalc.cli import app

    result = CliRunner().invoke(app, argv, catch_exceptions=False)
    return f"{result.stdout}--- stderr ---\n{result.stderr}--- exit {result.exit_code}\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", action="store_true", help="regenerate every output")
    ns = parser.parse_args()
    if not ns.write:
        parser.print_help()
        return 2
    OUT.mkdir(exist_ok=True)
    keep = set()
    for argv in cases():
        name = key(argv)
        keep.add(name)
        (OUT / name).write_text(run(argv), encoding="utf-8")
    for stale in OUT.glob("*.txt"):
        if stale.name not in keep:
            stale.unlink()
    print(f"{len(keep)} golden outputs in {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
