"""Check convcalc's Ultralytics reader against the model YAMLs of the ultralytics wheel.

Run by hand (not in CI); it needs the files of the wheel, never ultralytics itself:

    pip download ultralytics --no-deps -d /tmp/ultra && cd /tmp/ultra && unzip -q *.whl
    python benchmarks/ultralytics_check.py /tmp/ultra/ultralytics [--measured FILE] [--write]

For every file of the families below and every scale it analyses the file at 640 x 640
under the ``ultralytics`` counting preset and compares the parameters and GFLOPs with the
file's own summary comment (``n: [...] # ... summary: L layers, P parameters, ...,
G GFLOPs``). Files that print no summary (v3, v5, v6, v9, v10 and some task files) are
compared with ``--measured``: a JSON file of ``{"file scale": [params, gflops]}`` measured
with ultralytics in a throwaway environment (``DetectionModel(cfg).info()``; see
docs/import.md for the command). ``--write`` puts the table into docs/import.md between its
markers. Exit status 1 if any parameter count differs.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from convcalc import api  # noqa: E402
from convcalc.frontends.ultralytics import counting  # noqa: E402

#: The families and their files, as the wheel lays them out under cfg/models.
FILES = {
    "v3": ["yolov3.yaml", "yolov3-spp.yaml", "yolov3-tiny.yaml"],
    "v5": ["yolov5.yaml", "yolov5-p6.yaml"],
    "v6": ["yolov6.yaml"],
    "v8": [
        "yolov8.yaml",
        "yolov8-p2.yaml",
        "yolov8-p6.yaml",
        "yolov8-ghost.yaml",
        "yolov8-ghost-p2.yaml",
        "yolov8-ghost-p6.yaml",
        "yolov8-seg.yaml",
        "yolov8-seg-p6.yaml",
        "yolov8-pose.yaml",
        "yolov8-pose-p6.yaml",
        "yolov8-obb.yaml",
        "yolov8-cls.yaml",
    ],
    "v9": ["yolov9t.yaml", "yolov9s.yaml", "yolov9m.yaml", "yolov9c.yaml", "yolov9e.yaml"],
    "v10": [f"yolov10{s}.yaml" for s in "nsmblx"],
    "11": [
        "yolo11.yaml",
        "yolo11-seg.yaml",
        "yolo11-pose.yaml",
        "yolo11-obb.yaml",
        "yolo11-cls.yaml",
    ],
    "12": [
        "yolo12.yaml",
        "yolo12-seg.yaml",
        "yolo12-pose.yaml",
        "yolo12-obb.yaml",
        "yolo12-cls.yaml",
    ],
}

_SCALE_LINE = re.compile(r"^\s+([a-z]):\s*\[[^\]]*\]\s*#.*?summary:\s*(.*)$", re.M)
_PARAMS = re.compile(r"([\d,]+) parameters")
_GFLOPS = re.compile(r"([\d.]+) GFLOPs", re.I)
_MARK_BEGIN = "<!-- ultralytics-check: begin -->"
_MARK_END = "<!-- ultralytics-check: end -->"


def comments(text: str) -> dict[str, tuple[int, str]]:
    """Each scale's summary comment: scale -> (params, GFLOPs text)."""
    out = {}
    for scale, summary in _SCALE_LINE.findall(text):
        p, g = _PARAMS.search(summary), _GFLOPS.search(summary)
        if p and g:
            out[scale] = (int(p.group(1).replace(",", "")), g.group(1))
    return out


def scales_of(text: str) -> list[str]:
    block = re.search(r"^scales:.*?\n((?:[ \t]+.*\n|\s*\n)+)", text, re.M)
    if not block:
        return [""]
    return re.findall(r"^\s+([a-z]):\s*\[", block.group(1), re.M) or [""]


#: Files whose comment prints GFLOPs of another setting than its parameters: yolo11-cls's
#: comments give the parameters of nc=80 but the GFLOPs of nc=1000 at 224 x 224 (found by
#: trying both; every scale agrees).
GFLOPS_AT = {"yolo11-cls.yaml": ({"nc": 1000}, (3, 224, 224))}


def ours(path: Path, scale: str) -> tuple[int, str]:
    """convcalc's params and GFLOPs (the preset, to one decimal) of one file and scale.
    Classification files are counted with 80 classes: their comments were printed so (the
    files say 1000; the comments' parameter counts are those of nc=80)."""
    params: dict[str, object] = {"scale": scale} if scale else {}
    if "-cls" in path.name:
        params["nc"] = 80
    report = api.analyze(path, params or None)
    flops_params, shape = GFLOPS_AT.get(path.name, ({}, None))
    if flops_params or shape:
        flops = api.analyze(path, {**params, **flops_params}, shape)
    else:
        flops = report
    gflops = counting.ultralytics(flops).totals.flops / 1e9
    return report.totals.params, f"{gflops:.1f}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("package", type=Path, help="the ultralytics folder of the unzipped wheel")
    p.add_argument("--measured", type=Path, help="JSON of measured counts for files without")
    p.add_argument("--write", action="store_true", help="write the table into docs/import.md")
    args = p.parse_args(argv)
    measured = json.loads(args.measured.read_text()) if args.measured else {}
    models = args.package / "cfg" / "models"
    rows = [
        "| file | scale | params (convcalc) | params (theirs) | GFLOPs (convcalc) | GFLOPs "
        "(theirs) | source |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    bad = 0
    with tempfile.TemporaryDirectory() as tmp:
        for family, names in FILES.items():
            for name in names:
                src = models / family / name
                if not src.is_file():
                    print(f"missing: {src}", file=sys.stderr)
                    continue
                text = src.read_text(encoding="utf-8")
                said = comments(text)
                for scale in scales_of(text):
                    # A copy under the name a user would give it, so the scale comes from
                    # the file name as it does for them.
                    copy = Path(tmp) / name
                    shutil.copyfile(src, copy)
                    try:
                        got = ours(copy, scale)
                    except Exception as e:
                        got = (None, f"error: {str(e).splitlines()[0][:60]}")
                    key = f"{name} {scale}".strip()
                    theirs, source = said.get(scale), "comment"
                    if theirs is None and key in measured:
                        theirs, source = tuple(measured[key]), "measured"
                    if theirs is None:
                        theirs, source = ("", ""), "none"
                    same = got[0] == theirs[0]
                    bad += theirs[0] != "" and not same
                    mark = "" if same or theirs[0] == "" else " ✗"
                    gmark = "" if got[1] == str(theirs[1]) or theirs[1] == "" else " ✗"
                    rows.append(
                        f"| {name} | {scale or '-'} | {got[0]:,}{mark} | "
                        f"{theirs[0]:,} | {got[1]}{gmark} | {theirs[1]} | {source} |"
                        if isinstance(got[0], int) and isinstance(theirs[0], int)
                        else f"| {name} | {scale or '-'} | {got[0]} | {theirs[0]} | {got[1]} | "
                        f"{theirs[1]} | {source} |"
                    )
    table = "\n".join(rows)
    print(table)
    if args.write:
        doc = ROOT / "docs" / "import.md"
        text = doc.read_text(encoding="utf-8")
        start, end = text.index(_MARK_BEGIN), text.index(_MARK_END)
        doc.write_text(
            text[: start + len(_MARK_BEGIN)] + "\n" + table + "\n" + text[end:], encoding="utf-8"
        )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
