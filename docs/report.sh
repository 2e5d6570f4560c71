#!/usr/bin/env bash
# Makes the pictures of docs/report.md again, from the repository root: bash docs/report.sh
# Needs the report extra (pip install '.[report]') and Debian's chromium for the screenshots.
set -euo pipefail
cd "$(dirname "$0")/.."
# Every chart command written in docs/report.md, as written there.
grep '^convcalc plot ' docs/report.md | while read -r cmd; do
  echo "\$ $cmd"
  bash -c "$cmd"
done
# The page itself: the top of it and the comparison section, at 3/4 scale.
shots=$(mktemp -d)
trap 'rm -rf "$shots"' EXIT
python benchmarks/report_check.py --out "$shots" --scale 0.75 --height 1000
cp "$shots/page.png" "$shots/comparison.png" docs/report/
