"""Measure the Ultralytics model YAMLs that print no summary comment, with ultralytics.

Run by hand in a throwaway environment, never in convcalc's (it needs torch, ultralytics
and the ultralytics-thop release that printed the comments, 2.0.0):

    python -m venv /tmp/ultra-venv && /tmp/ultra-venv/bin/pip install torch ultralytics
    /tmp/ultra-venv/bin/pip install ultralytics-thop==2.0.0
    /tmp/ultra-venv/bin/python benchmarks/ultralytics_measure.py /tmp/ultra/ultralytics \\
        benchmarks/ultralytics_measured.json

For each file and scale that benchmarks/ultralytics_check.py finds without a comment it
builds the model as ``yolo`` does (the file copied under the name of its scale), and writes
``{"file scale": [params, "GFLOPs"]}``: params are every parameter's elements; GFLOPs are
computed as the comments were (``2 x thop.profile`` of a stride x stride image, times the
640 x 640 image's area in strides, to one decimal), which reproduces each comment of the
wheel's files (docs/import.md).
"""

from __future__ import annotations

import json
import re
import shutil
import sys
import tempfile
from copy import deepcopy
from pathlib import Path

import thop  # type: ignore[import-not-found]
import torch  # type: ignore[import-not-found]
from ultralytics.nn.tasks import (  # type: ignore[import-not-found]
    ClassificationModel,
    DetectionModel,
    OBBModel,
    PoseModel,
    SegmentationModel,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
import ultralytics_check as check


def model_class(name: str) -> type:
    for task, cls in (
        ("-seg", SegmentationModel),
        ("-pose", PoseModel),
        ("-obb", OBBModel),
        ("-cls", ClassificationModel),
    ):
        if task in name:
            return cls
    return DetectionModel


def measure(src: Path, scale: str) -> tuple[int, str]:
    name = src.name
    if scale and not re.search(r"yolo(e-)?v?\d+[nslmx]", src.stem):
        name = re.sub(r"(yolo(?:v)?\d+)", r"\g<1>" + scale, name, count=1)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        shutil.copyfile(src, path)
        cls = model_class(name)
        model = cls(str(path), verbose=False, **({"nc": 80} if cls is ClassificationModel else {}))
    params = sum(p.numel() for p in model.parameters())
    stride = max(int(model.stride.max()), 32)
    image = torch.empty((1, 3, stride, stride))
    ops = thop.profile(deepcopy(model), inputs=[image], verbose=False)[0]
    return params, f"{ops * 2 / 1e9 * (640 / stride) ** 2:.1f}"


def main() -> int:
    models = Path(sys.argv[1]) / "cfg" / "models"
    out = {}
    for family, names in check.FILES.items():
        for name in names:
            src = models / family / name
            text = src.read_text(encoding="utf-8")
            said = check.comments(text)
            for scale in check.scales_of(text):
                if scale not in said:
                    out[f"{name} {scale}".strip()] = list(measure(src, scale))
    # A file of its own: ultralytics logs to stdout.
    Path(sys.argv[2]).write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
