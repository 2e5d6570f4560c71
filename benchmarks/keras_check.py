"""Check the Keras JSON reader against Keras itself, by hand (not in CI).

Builds five Keras Applications models (weights=None) in a throwaway environment that has
Keras 3 on the torch backend, writes each ``model.to_json()`` into a temporary folder, and
records Keras' own counts: ``count_params()`` split into trainable and non-trainable
weights (what ``summary()`` prints) and the multiply-accumulates of one 224x224 image as
``torch.utils.flop_counter.FlopCounterMode`` measures them (its FLOPs / 2). Then convcalc
reads each JSON file and the table of both goes into the "Keras JSON" section of
docs/import.md. The JSON files are deleted afterwards; none is kept in the repository.

    python3 -m venv /tmp/keras && /tmp/keras/bin/pip install torch==2.13.0 keras
    python benchmarks/keras_check.py --keras-python /tmp/keras/bin/python --write
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "import.md"
START, END = "<!-- keras-check:start -->", "<!-- keras-check:end -->"
MODELS = ("MobileNet", "MobileNetV2", "MobileNetV3Small", "EfficientNetB0", "ResNet50")

# Run by the Keras environment's Python: argv[1] the folder, then the model names.
KERAS_SIDE = r"""
import json, math, os, sys
os.environ["KERAS_BACKEND"] = "torch"
import keras, numpy, torch
from torch.utils.flop_counter import FlopCounterMode
folder = sys.argv[1]
for name in sys.argv[2:]:
    model = getattr(keras.applications, name)(weights=None)
    with open(os.path.join(folder, name + ".json"), "w") as f:
        f.write(model.to_json())
    with FlopCounterMode(display=False) as counter:
        model(numpy.zeros((1, 224, 224, 3), dtype="float32"), training=False)
    size = lambda ws: sum(math.prod(w.shape) for w in ws)
    print(json.dumps({
        "name": name,
        "keras": keras.__version__,
        "torch": torch.__version__,
        "total": model.count_params(),
        "trainable": size(model.trainable_weights),
        "non_trainable": size(model.non_trainable_weights),
        "macs": counter.get_total_flops() // 2,
    }))
"""


def measure(python: str, folder: Path) -> list[dict]:
    """Keras' counts of every model, its JSON written into ``folder``."""
    out = subprocess.run(
        [python, "-c", KERAS_SIDE, str(folder), *MODELS],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def table(rows: list[dict], folder: Path) -> str:
    from convcalc import api
    from convcalc.frontends.keras_json import keras_counts

    lines = [
        "| model | Keras summary(): total | trainable | non-trainable | convcalc params "
        "| convcalc non-trainable | MACs, FlopCounterMode / 2 | convcalc MACs | equal |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        path = folder / f"{row['name']}.json"
        report = api.analyze(path, input_shape=(3, 224, 224))
        trainable, frozen = keras_counts(path, (3, 224, 224))
        same = (
            report.totals.params == row["trainable"] == trainable
            and frozen == row["non_trainable"]
            and report.totals.macs == row["macs"]
        )
        lines.append(
            f"| {row['name']} | {row['total']:,} | {row['trainable']:,} "
            f"| {row['non_trainable']:,} | {report.totals.params:,} | {frozen:,} "
            f"| {row['macs']:,} | {report.totals.macs:,} | {'yes' if same else 'NO'} |"
        )
    versions = f"Keras {rows[0]['keras']}, torch {rows[0]['torch']}" if rows else ""
    return "\n".join(
        [
            f"Measured with `python benchmarks/keras_check.py` ({versions}; 224x224 inputs, "
            "`weights=None`):",
            "",
            *lines,
        ]
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keras-python", default="/tmp/keras/bin/python")
    parser.add_argument("--write", action="store_true", help="update docs/import.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        text = table(measure(args.keras_python, folder), folder)
    print(text)
    if args.write:
        page = PAGE.read_text(encoding="utf-8")
        head, _, rest = page.partition(START)
        _, _, tail = rest.partition(END)
        PAGE.write_text(f"{head}{START}\n{text}\n{END}{tail}", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
