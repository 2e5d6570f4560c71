"""Check the ONNX reader against PyTorch's own counts, by hand (not in CI).

A throwaway environment with torch, torchvision and onnx exports seven models (weights=None,
eval mode, one 3x224x224 image, ``torch.onnx.export(..., dynamo=False)``, whose
constant folding folds every batch norm into the convolution before it) into a temporary
folder, and records two references per model: the elements of the exported file's float
initializers (each stored tensor once: the exporter has already merged identical tensors,
such as the zero biases of a freshly initialised network, into one) and the
multiply-accumulates of one image as ``torch.utils.flop_counter.FlopCounterMode`` measures
them on the PyTorch model (its FLOPs / 2; it counts convolutions and matrix products only,
so batch norm folded or not makes no difference to it), with attention on the math backend
of ``scaled_dot_product_attention`` (on the CPU's fused kernel the counter counts nothing).
Then convcalc reads each file, whole processes are timed on resnet50 (and onnx-tool's
profiler, when it is installed there), and the table goes into the "ONNX" section of
docs/import.md. The ONNX files are deleted afterwards; none is kept in the repository.

    python3 -m venv /tmp/ref-onnx && /tmp/ref-onnx/bin/pip install torch==2.13.0 onnx
    (torchvision 0.28.0 installed with --no-deps; onnx-tool optional)
    /tmp/venv/bin/pip install onnx      # convcalc's side: the convcalc[onnx] extra
    python benchmarks/onnx_check.py --torch-python /tmp/ref-onnx/bin/python --write

The YOLOv8n-like model is written here in plain PyTorch from the layer list of YOLOv8n
(Conv-BN-SiLU units, C2f blocks with their channel split, SPPF, nearest upsampling and
concatenation, and per level a box branch and a class branch): the layout and widths of the
n scale, without the box decoding of the Detect head (the DFL softmax and the anchor
arithmetic), so its count is not Ultralytics' 3,157,200.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "import.md"
START, END = "<!-- onnx-check:start -->", "<!-- onnx-check:end -->"
MODELS = (
    "resnet50",
    "mobilenet_v2",
    "mobilenet_v3_large",
    "efficientnet_b0",
    "convnext_tiny",
    "vit_b_16",
    "yolov8n_like",
)

# Run by the torch environment's Python: argv[1] the folder, then the model names.
TORCH_SIDE = r"""
import json, math, os, sys, warnings
import onnx, torch, torchvision
from torch import nn
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode
warnings.filterwarnings("ignore")

class Unit(nn.Module):  # conv, batch norm, SiLU
    def __init__(self, c1, c2, k=1, s=1):
        super().__init__()
        self.conv = nn.Conv2d(c1, c2, k, s, k // 2, bias=False)
        self.bn = nn.BatchNorm2d(c2)
        self.act = nn.SiLU()
    def forward(self, x):
        return self.act(self.bn(self.conv(x)))

class Bottleneck(nn.Module):
    def __init__(self, c, shortcut):
        super().__init__()
        self.a, self.b, self.add = Unit(c, c, 3), Unit(c, c, 3), shortcut
    def forward(self, x):
        y = self.b(self.a(x))
        return x + y if self.add else y

class C2f(nn.Module):  # split in two halves, n bottlenecks on the second, concat all
    def __init__(self, c1, c2, n, shortcut=True):
        super().__init__()
        self.h = c2 // 2
        self.cv1 = Unit(c1, 2 * self.h)
        self.cv2 = Unit((2 + n) * self.h, c2)
        self.m = nn.ModuleList(Bottleneck(self.h, shortcut) for _ in range(n))
    def forward(self, x):
        ys = list(self.cv1(x).split((self.h, self.h), 1))
        for m in self.m:
            ys.append(m(ys[-1]))
        return self.cv2(torch.cat(ys, 1))

class SPPF(nn.Module):
    def __init__(self, c1, c2):
        super().__init__()
        self.cv1, self.cv2 = Unit(c1, c1 // 2), Unit(c1 * 2, c2)
        self.pool = nn.MaxPool2d(5, 1, 2)
    def forward(self, x):
        y = [self.cv1(x)]
        for _ in range(3):
            y.append(self.pool(y[-1]))
        return self.cv2(torch.cat(y, 1))

class YOLOv8nLike(nn.Module):
    def __init__(self, nc=80, reg=16):
        super().__init__()
        self.b0, self.b1 = Unit(3, 16, 3, 2), Unit(16, 32, 3, 2)
        self.b2, self.b3 = C2f(32, 32, 1), Unit(32, 64, 3, 2)
        self.b4, self.b5 = C2f(64, 64, 2), Unit(64, 128, 3, 2)
        self.b6, self.b7 = C2f(128, 128, 2), Unit(128, 256, 3, 2)
        self.b8, self.b9 = C2f(256, 256, 1), SPPF(256, 256)
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.h12, self.h15 = C2f(384, 128, 1, False), C2f(192, 64, 1, False)
        self.d16, self.h18 = Unit(64, 64, 3, 2), C2f(192, 128, 1, False)
        self.d19, self.h21 = Unit(128, 128, 3, 2), C2f(384, 256, 1, False)
        c2, c3 = max(16, 64 // 4, reg * 4), max(64, min(nc, 100))
        self.box = nn.ModuleList(
            nn.Sequential(Unit(c, c2, 3), Unit(c2, c2, 3), nn.Conv2d(c2, 4 * reg, 1))
            for c in (64, 128, 256))
        self.cls = nn.ModuleList(
            nn.Sequential(Unit(c, c3, 3), Unit(c3, c3, 3), nn.Conv2d(c3, nc, 1))
            for c in (64, 128, 256))
    def forward(self, x):
        p3 = self.b4(self.b3(self.b2(self.b1(self.b0(x)))))
        p4 = self.b6(self.b5(p3))
        p5 = self.b9(self.b8(self.b7(p4)))
        n4 = self.h12(torch.cat([self.up(p5), p4], 1))
        n3 = self.h15(torch.cat([self.up(n4), p3], 1))
        m4 = self.h18(torch.cat([self.d16(n3), n4], 1))
        m5 = self.h21(torch.cat([self.d19(m4), p5], 1))
        outs = [torch.cat([b(f), c(f)], 1).flatten(2)
                for f, b, c in zip((n3, m4, m5), self.box, self.cls)]
        return torch.cat(outs, 2)

folder = sys.argv[1]
for name in sys.argv[2:]:
    if name == "yolov8n_like":
        model = YOLOv8nLike().eval()
    else:
        model = getattr(torchvision.models, name)(weights=None).eval()
    x = torch.zeros(1, 3, 224, 224)
    path = os.path.join(folder, name + ".onnx")
    # With gradients on: without them attention takes PyTorch's fused fast path, which
    # neither the exporter nor the counter knows.
    torch.onnx.export(model, (x,), path, dynamo=False, input_names=["image"])
    # The math backend of scaled_dot_product_attention: its products are bmm calls the
    # counter counts (it has no formula for the CPU's fused flash-attention kernel).
    with sdpa_kernel([SDPBackend.MATH]), FlopCounterMode(display=False) as counter:
        model(x)
    graph = onnx.load(path).graph
    floats = (1, 10, 11, 16)  # float, float16, double, bfloat16
    print(json.dumps({
        "name": name,
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "onnx": onnx.__version__,
        "nodes": len(graph.node),
        "initializer_elements": sum(
            math.prod(t.dims) for t in graph.initializer if t.data_type in floats),
        "module_params": sum(p.numel() for p in model.parameters()),
        "macs": counter.get_total_flops() // 2,
    }), flush=True)
"""

ONNX_TOOL = r"""
import sys, onnx_tool
onnx_tool.model_profile(sys.argv[1])  # its per-node table and totals, to stdout
"""


def measure(python: str, folder: Path, models: list[str]) -> list[dict]:
    """The references of every model, its ONNX file written into ``folder``."""
    out = subprocess.run(
        [python, "-c", TORCH_SIDE, str(folder), *models], capture_output=True, text=True
    )
    if out.returncode:
        sys.exit(f"the torch side failed:\n{out.stderr[-4000:]}")
    return [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]


def timed(argv: list[str], runs: int = 5) -> tuple[float, float]:
    """The fastest whole-process wall time and its CPU time (user + system), in seconds."""
    best = (float("inf"), 0.0)
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        best = min(best, (wall, cpu))
    return best


def analysed(path: Path) -> dict:
    """convcalc's totals for one file, from a whole process (its JSON output)."""
    out = subprocess.run(
        [sys.executable, "-m", "convcalc", "analyze", str(path), "-f", "json"],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout)


def table(refs: list[dict], ours: dict[str, dict]) -> list[str]:
    rows = [
        "| model | nodes | initializer elements | convcalc params | MACs (FlopCounterMode / 2) "
        "| convcalc MACs | equal |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for ref in refs:
        got = ours[ref["name"]]["totals"]
        same = got["params"] == ref["initializer_elements"] and got["macs"] == ref["macs"]
        rows.append(
            f"| {ref['name']} | {ref['nodes']} | {ref['initializer_elements']:,} "
            f"| {got['params']:,} | {ref['macs']:,} | {got['macs']:,} "
            f"| {'yes' if same else 'NO'} |"
        )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--torch-python", required=True, help="a Python with torch and onnx")
    parser.add_argument("--only", help="comma-separated models (default: all)")
    parser.add_argument("--write", action="store_true", help="rewrite docs/import.md's table")
    args = parser.parse_args()
    models = args.only.split(",") if args.only else list(MODELS)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        refs = measure(args.torch_python, folder, models)
        ours = {r["name"]: analysed(folder / f"{r['name']}.onnx") for r in refs}
        lines = table(refs, ours)
        speed = []
        resnet = folder / "resnet50.onnx"
        if resnet.exists():
            wall, cpu = timed([sys.executable, "-m", "convcalc", "analyze", str(resnet)])
            speed.append(
                f"`convcalc analyze resnet50.onnx`, whole process, fastest of 5: "
                f"{wall:.2f} s wall, {cpu:.2f} s CPU."
            )
            probe = subprocess.run(
                [args.torch_python, "-c", "import onnx_tool"], capture_output=True
            )
            if probe.returncode == 0:
                argv = [args.torch_python, "-c", ONNX_TOOL, str(resnet)]
                wall, cpu = timed(argv, 3)
                speed.append(
                    f"onnx-tool's `model_profile` on the same file, whole process, fastest "
                    f"of 3: {wall:.2f} s wall, {cpu:.2f} s CPU."
                )
            else:
                speed.append("onnx-tool is not installed in the torch environment: not timed.")
    ref = refs[0]
    versions = f"torch {ref['torch']}, torchvision {ref['torchvision']}, onnx {ref['onnx']}"
    block = [
        START,
        f"Made by `python benchmarks/onnx_check.py --write` ({versions}).",
        "",
        *lines,
        "",
        *speed,
        END,
    ]
    print("\n".join(block))
    ok = all("| NO |" not in line for line in lines)
    if args.write:
        text = PAGE.read_text(encoding="utf-8")
        if START not in text or END not in text:
            print(f"{PAGE}: no {START} ... {END} markers", file=sys.stderr)
            return 1
        head, rest = text.split(START, 1)
        tail = rest.split(END, 1)[1]
        PAGE.write_text(head + "\n".join(block) + tail, encoding="utf-8")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
