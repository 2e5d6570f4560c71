#!/usr/bin/env python3
"""Fit the device profiles' efficiency factors and overheads on published latencies, and
write docs/devices.md with an honest account of how far the estimates land.

    python benchmarks/calibrate.py           # refit, rewrite the profiles' calibrated
                                             # blocks and docs/devices.md
    python benchmarks/calibrate.py --check   # exit 1 if either would change (for CI)

The measured latencies are the calibration rows of benchmarks/devices.json (a copy of the
sourced data the profiles were built from): ShuffleNet V2's Table 8 (GTX 1080 Ti, batch 8;
Snapdragon 810, one thread), MobileNetV2's and MnasNet's Pixel 1 latencies, NVIDIA's
ResNet-50 rows and MCUNet's microcontroller rows; and the rows of
benchmarks/latencies.json, the project's own collection (timm's GPU benchmarks,
PaddleClas' T4 and V100 tables, TF-Lite's Pixel figures), each naming its profile, its
bundled architecture and its source. A row is used only when its network is a bundled
architecture whose multiply-adds agree with the source's figure; every other row is
listed as skipped, with the reason. Every fitted row is also predicted by a fit that
leaves its whole network out, and each profile's error band comes from those
predictions (see docs/devices.md, "Error bands").

The fit is deterministic (a fixed coordinate search, no randomness, no clock), so CI can
regenerate the files and check there is no diff. Only the standard library and convcalc
are used. The work is done by the ``calibration`` package beside this script (rows, fit,
statistics, document); this file runs it.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
# The checkout's convcalc, and the calibration package beside this script, however the
# script is started (from any directory, or loaded by path).
sys.path[:0] = [str(REPO), str(HERE)]

from calibration.data import bundled_profiles, load_rows, parse_bundled  # noqa: E402
from calibration.document import (  # noqa: E402
    BEGIN,
    DOC,
    calibrated_block,
    render_doc,
    replace_block,
    summary_lines,
)
from calibration.fit import Fit, calibrate_profile  # noqa: E402
from calibration.stats import bands  # noqa: E402

from convcalc.devices import estimate  # noqa: E402
from convcalc.devices.schema import efficiency_family  # noqa: E402


def run(write: bool) -> int:
    """Refit every profile with a calibrated block and regenerate docs/devices.md; write
    them when ``write``, else only report whether they are current (1 when not)."""
    files = bundled_profiles()
    profiles = {name: parse_bundled(name, text) for name, (_, text) in files.items()}
    rows = load_rows(profiles)

    new_texts: dict[str, str] = {}
    fits: list[Fit] = [
        calibrate_profile(name, profiles[name], rows)
        for name, (_, text) in files.items()
        if BEGIN in text  # budgets and profiles that only extend another: nothing to fit
    ]
    families = {f.profile: efficiency_family(profiles[f.profile].device_class) for f in fits}
    uncertainty = bands(fits, families)
    for result in fits:
        name = result.profile
        path, text = files[name]
        block = calibrated_block(result.theta, result.note, uncertainty[name])
        new_texts[name] = replace_block(text, block, path.name)
        profiles[name] = parse_bundled(name, new_texts[name])

    # Estimates with the profiles exactly as written.
    for r in rows:
        if r.report is not None and r.profile and r.dtype:
            est = estimate(r.report, profiles[r.profile], dtype=r.dtype, batch=r.batch)
            r.estimated_s = est.latency_s

    changed = [name for name, t in new_texts.items() if t != files[name][1]]
    if write:
        # Profiles first: the doc lists every profile as loaded from disk, and a profile
        # that extends a calibrated one must see its new factors.
        for name in changed:
            files[name][0].write_text(new_texts[name], "utf-8")
    doc = render_doc(rows, fits)
    old_doc = DOC.read_text("utf-8") if DOC.exists() else ""
    if doc != old_doc:
        changed.append("docs/devices.md")
    for r in rows:
        if r.skip:
            print(f"skipped: {r.device} / {r.network}: {r.skip}")
    for line in summary_lines(rows, fits):
        print(line)
    if not write:
        if changed:
            print("out of date: " + ", ".join(changed) + " (run benchmarks/calibrate.py)")
            return 1
        print("profiles and docs/devices.md are up to date")
        return 0
    DOC.parent.mkdir(exist_ok=True)
    DOC.write_text(doc, "utf-8")
    print("wrote: " + (", ".join(changed) if changed else "nothing changed"))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """The command line: ``--check`` for CI, else refit and write."""
    # Only the bundled profiles: a developer's own profile directories must not leak in.
    os.environ.pop("CONVCALC_DEVICES", None)
    os.environ["XDG_CONFIG_HOME"] = str(REPO / ".calibrate-no-user-profiles")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check",
        action="store_true",
        help="exit 1 if the profiles or docs/devices.md are out of date",
    )
    args = parser.parse_args(argv)
    return run(write=not args.check)


if __name__ == "__main__":
    raise SystemExit(main())
