"""Check the Caffe prototxt reader against the bundled YAML of the same networks, by hand
(not in CI).

Reads public deploy files from a folder (none is kept in the repository) and compares each
with convcalc's own YAML of the network, analysed at the deploy file's input size: params,
MACs, and the output shapes of every layer with MACs or a pooling window (as a multiset, so
that the order in which the two files list parallel branches does not matter). The table
goes into the "Caffe prototxt" section of docs/import.md.

The deploy files, named ``<network>.prototxt`` in the folder:

- ``alexnet``, ``caffenet``, ``googlenet``: ``models/bvlc_alexnet``,
  ``models/bvlc_reference_caffenet`` and ``models/bvlc_googlenet`` ``/deploy.prototxt`` of
  the ``brocolli-caffe`` 9.0.2 source package (``pip download brocolli-caffe==9.0.2
  --no-deps``; ``--brocolli`` does this and extracts them);
- ``vgg16``: ``model/VGG_ILSVRC_16_layers_deploy.prototxt`` of
  github.com/davidgengenbach/vgg-caffe;
- ``resnet50``: ``prototxt/ResNet-50-deploy.prototxt`` of github.com/bchu/resnet-visualizations
  (the original ResNet-50 deploy network, ``name: "ResNet-50"``);
- ``squeezenet1_0``, ``squeezenet1_1``: ``SqueezeNet_v1.0/deploy.prototxt`` and
  ``SqueezeNet_v1.1/deploy.prototxt`` of github.com/forresti/SqueezeNet.

    python benchmarks/caffe_check.py --deploy /tmp/caffe --brocolli --write
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tarfile
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "import.md"
START, END = "<!-- caffe-check:start -->", "<!-- caffe-check:end -->"

# (deploy file, bundled YAML, why they differ where they do).
NETWORKS = (
    ("alexnet", "alexnet", ""),
    ("caffenet", "alexnet", "CaffeNet pools before it normalises: the same counts"),
    ("googlenet", "googlenet", ""),
    ("vgg16", "vgg16", ""),
    (
        "resnet50",
        "resnet50",
        "the original ResNet-50 (v1): each stage's stride in its first 1x1 convolution, "
        "where torchvision's v1.5 (the YAML) strides in the 3x3 (its MACs are those of "
        "Keras' ResNet50, also v1, in the Keras table), a bias on conv1 (+64 params), and "
        "a 7x7 average pool where the YAML pools globally (the same output)",
    ),
    (
        "squeezenet1_0",
        "squeezenet1_0",
        "the deploy file pads conv10 (a 1x1 convolution) by 1: 15x15 outputs where "
        "torchvision's are 13x13 (+56 positions x 512 x 1000 MACs)",
    ),
    ("squeezenet1_1", "squeezenet1_1", ""),
)
BROCOLLI = {
    "alexnet": "models/bvlc_alexnet/deploy.prototxt",
    "caffenet": "models/bvlc_reference_caffenet/deploy.prototxt",
    "googlenet": "models/bvlc_googlenet/deploy.prototxt",
}


def brocolli(folder: Path) -> None:
    """Download the brocolli-caffe source package and extract its three deploy files."""
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "brocolli-caffe==9.0.2", "--no-deps",
             "--no-binary", ":all:", "-d", tmp],
            check=True,
        )  # fmt: skip
        archive = next(Path(tmp).glob("brocolli-caffe-*.tar.gz"))
        with tarfile.open(archive) as tar:
            for name, inner in BROCOLLI.items():
                member = tar.extractfile(f"{archive.name[: -len('.tar.gz')]}/{inner}")
                assert member is not None
                (folder / f"{name}.prototxt").write_bytes(member.read())


def shapes(report) -> Counter:
    windows = ("maxpool", "avgpool", "global_avgpool", "global_maxpool")
    return Counter((r.type, r.output_shape) for r in report.layers if r.macs or r.type in windows)


def table(folder: Path) -> str:
    from convcalc import api

    lines = [
        "| deploy file | YAML | input | params (prototxt) | params (YAML) | MACs (prototxt) "
        "| MACs (YAML) | shapes | why they differ |",
        "|---|---|---|---:|---:|---:|---:|---|---|",
    ]
    for name, yaml, why in NETWORKS:
        path = folder / f"{name}.prototxt"
        if not path.is_file():
            lines.append(f"| {name} | {yaml} | | | | | | | (file not given) |")
            continue
        caffe = api.analyze(path)
        ours = api.analyze(yaml, input_shape=caffe.input)
        a, b = shapes(caffe), shapes(ours)
        differ = sum((a - b).values())
        same = "equal" if not differ else f"{differ} differ"
        lines.append(
            f"| {name} | `{yaml}` | {'x'.join(map(str, caffe.input))} "
            f"| {caffe.totals.params:,} | {ours.totals.params:,} | {caffe.totals.macs:,} "
            f"| {ours.totals.macs:,} | {same} | {why} |"
        )
    return "\n".join(
        ["Measured with `python benchmarks/caffe_check.py`; the YAML at the deploy file's input:",
         "", *lines]
    )  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deploy", type=Path, required=True, help="folder of deploy files")
    parser.add_argument("--brocolli", action="store_true", help="fetch the three BVLC files")
    parser.add_argument("--write", action="store_true", help="update docs/import.md")
    args = parser.parse_args()
    args.deploy.mkdir(parents=True, exist_ok=True)
    if args.brocolli:
        brocolli(args.deploy)
    text = table(args.deploy)
    print(text)
    if args.write:
        page = PAGE.read_text(encoding="utf-8")
        head, _, rest = page.partition(START)
        _, _, tail = rest.partition(END)
        PAGE.write_text(f"{head}{START}\n{text}\n{END}{tail}", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
