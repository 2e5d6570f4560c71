#!/usr/bin/env python3
"""Whole-process wall time and peak memory of convcalc, beside a PyTorch-based count.

    python benchmarks/run.py                                  # this interpreter's convcalc
    python benchmarks/run.py --python /tmp/bench-venv/bin/python \\
        --torch-python /work/ref/venv/bin/python              # the figures in README.md
    python benchmarks/run.py --quick                          # about a minute

Every case is a fresh process (what a user waits for: interpreter start, imports, reading
YAML, analysis, output), run ``--warmup`` times untimed to warm the file cache and then
``--runs`` times, in rounds that run each case once; the median is reported with the
spread and the peak resident memory of the process (from ``os.wait4``). Output goes to
/dev/null, so tables take the plain (pipe or file) path. The console script installed
beside ``--python`` is what runs, when there is one (else ``python -m convcalc``); a bare
interpreter start and an import of typer, rich and yaml are timed too, to show how fast the
machine was.

The synthetic networks are written to a temporary directory as a ten-layer block repeated
n/10 times: a chain (conv, bn, relu, dwconv, pool...) and a DAG (three branches, a concat
and a residual add per block). The growth exponent is the slope of log(time) against
log(layers), fitted over every size and also taken between the two largest sizes, where
interpreter start-up no longer flattens it.

With ``--torch-python`` (or when this interpreter can import torch and torchvision) the same
networks are counted the way the PyTorch tools do it: import torch and torchvision, build the
model, count its parameters and run ``torch.utils.flop_counter.FlopCounterMode`` on one
forward pass. Both counts are checked against convcalc's (parameters, and FLOPs / 2 against
multiply-accumulates) so the comparison is of equal work.

Only the standard library is used (Python 3.11 or newer); ``os.wait4`` makes it POSIX only.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

NETWORKS = ("resnet50", "mobilenet_v2", "vgg16", "densenet201")
SIZES = (1_000, 10_000, 100_000)
QUICK_SIZES = (1_000, 10_000)
SWEEP = ("--alpha", "0.35:1.34:0.01", "--rho", "0.5:1.49:0.01")  # 100 x 100 points
MILLION = ("--alpha", "0.001:1:0.001", "--rho", "0.001:1:0.001", "-f", "csv")  # 1000 x 1000
FORMATS = ("table", "json", "csv", "markdown")
# 3 x 3 x 3 x 3 x 3 = 243 structures of the search space below, one point each
STRUCTURAL = ("--vary", "d1=1,2,3", "--vary", "d2=2,3,4", "--vary", "k3=3,5,7")
STRUCTURAL += ("--vary", "e4=3,4,6", "--vary", "k4=3,5,7", "-f", "csv")

# Targets from the issue that made speed a measured property (seconds; ratios are "at least").
TARGET_HELP = 0.15
TARGET_ANALYZE = 0.25  # resnet50, table and JSON
TARGET_RATIO = 15.0  # fastest torch-based count of resnet50 / convcalc's
TARGET_10K = 2.0
TARGET_100K = 3.0  # issue 17 (20 s before it)
TARGET_EXPONENT = 1.1
TARGET_SWEEP = 2.0
TARGET_SYMBOLIC = 3.0  # every bundled network --symbolic, every format
TARGET_MILLION = 20.0
TARGET_API = 0.005  # in-process api.analyze("resnet50") per call, params changing

IMPORTS_FOR_SCALE = "import typer, rich, yaml"
BUNDLED = "from convcalc.schema import loader; print(*loader.bundled_names())"
FREE_IN_QUICK = ("mobilenet", "mobilenet_v1", "mobilenet_v2")  # alpha x rho: the longest
ERROR_PREFIX = re.compile(r"^error: \S+:\d+: (layer '[^']*': )?")  # file, line and layer
FIND_CONVCALC = "import convcalc; print(convcalc.__version__, 'from', convcalc.__file__)"
TORCH_VERSIONS = "import torch, torchvision; print(torch.__version__, torchvision.__version__)"
TORCH_COUNT = """\
import sys
import torch
import torchvision.models as models
from torch.utils.flop_counter import FlopCounterMode

model = getattr(models, sys.argv[1])(weights=None).eval()
params = sum(p.numel() for p in model.parameters())
with torch.no_grad(), FlopCounterMode(display=False) as counter:
    model(torch.zeros(1, 3, 224, 224))
print(params, counter.get_total_flops())
"""

# Seconds per in-process api.analyze of resnet50, the class count changing every call (so
# nothing is answered from a memo of the same call): the best of 5 rounds of 50 calls.
API_LOOP = """\
import time
from convcalc import api
api.analyze("resnet50")
best = float("inf")
for r in range(5):
    start = time.perf_counter()
    for i in range(50):
        api.analyze("resnet50", {"classes": 10 + 50 * r + i})
    best = min(best, (time.perf_counter() - start) / 50)
print(best)
"""

# Seconds of a structural sweep on a local Dask cluster of two single-threaded workers,
# rows consumed as they stream (the cluster's start is not counted); argv: the file.
DASK_SWEEP = """\
import sys, time
from distributed import LocalCluster
from convcalc import api
grid = {"d1": [1, 2, 3], "d2": [2, 3, 4], "k3": [3, 5, 7], "e4": [3, 4, 6], "k4": [3, 5, 7]}
with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster:
    start = time.perf_counter()
    rows = api.sweep(sys.argv[1], grid, scheduler=cluster.scheduler_address).rows
    assert sum(1 for _ in rows) == 243
    print(time.perf_counter() - start)
"""

# A MobileNetV2-like search space: per stage, its depth d, kernel k and expansion ratio e
# are params, so each point is another graph (the structural sweep).
SPACE = """\
name: mbconv_space
description: MobileNetV2-like search space (benchmarks/run.py)
params: {d1: 2, d2: 3, d3: 4, d4: 3, k1: 3, k2: 3, k3: 3, k4: 3, e1: 6, e2: 6, e3: 6, e4: 6,
         alpha: 1.0, classes: 1000}
input: [3, 224, 224]
defaults:
  conv: {bias: false, norm: bn, act: relu6}
  dwconv: {bias: false, norm: bn, act: relu6}
blocks:
  mb:
    args: [t, c, s, kk]
    body:
      - {op: conv, out: "c_in*t", k: 1, name: expand}
      - {op: dwconv, k: kk, padding: "kk // 2", stride: "s if i == 0 else 1", name: dw}
      - {op: conv, out: "make_divisible(c*alpha, 8)", k: 1, act: none, name: project}
      - {op: add, from: [$in, project], name: add, when: "i > 0"}
layers:
  - {op: conv, out: "make_divisible(32*alpha, 8)", k: 3, stride: 2, padding: 1, name: stem}
  - block: mb
    name: stage
    repeat: n
    table:
      cols: [t, c, n, s, kk]
      rows:
        - [e1, 24, d1, 2, k1]
        - [e2, 40, d2, 2, k2]
        - [e3, 80, d3, 2, k3]
        - [e4, 160, d4, 2, k4]
  - {op: conv, out: 1280, k: 1, name: head}
  - {op: global_avgpool, name: pool}
  - {op: flatten}
  - {op: linear, out: classes, name: classifier}
"""

CHAIN = """\
name: chain_{n}
description: synthetic chain of {n} layers (benchmarks/run.py)
input: [16, 32, 32]
blocks:
  unit:
    body:
      - {{op: conv, out: 16, k: 3, padding: 1}}
      - {{op: bn}}
      - {{op: relu}}
      - {{op: dwconv, k: 3, padding: 1}}
      - {{op: bn}}
      - {{op: relu}}
      - {{op: conv, out: 16, k: 1}}
      - {{op: bn}}
      - {{op: relu}}
      - {{op: maxpool, k: 3, stride: 1, padding: 1}}
layers:
  - {{block: unit, repeat: {r}}}
"""

DAG = """\
name: dag_{n}
description: synthetic DAG of {n} layers, branches and residual merges (benchmarks/run.py)
input: [16, 32, 32]
blocks:
  unit:
    body:
      - {{op: conv, out: 16, k: 1, name: a, from: $in}}
      - {{op: relu, name: ar}}
      - {{op: conv, out: 16, k: 3, padding: 1, name: b, from: $in}}
      - {{op: relu, name: br}}
      - {{op: maxpool, k: 3, stride: 1, padding: 1, name: c, from: $in}}
      - {{op: concat, from: [ar, br, c], name: cat}}
      - {{op: conv, out: 16, k: 1, name: proj}}
      - {{op: bn, name: pbn}}
      - {{op: add, from: [$in, pbn], name: res}}
      - {{op: relu, name: out}}
layers:
  - {{block: unit, repeat: {r}}}
"""


@dataclass
class Result:
    """One case: its command, timings (seconds) and peak resident memory (MiB)."""

    key: str
    label: str
    argv: list[str]
    target: float | None = None
    times: list[float] = field(default_factory=list)
    rss_mib: float = 0.0
    keep_stdout: bool = False  # kept from the first run, to check the counts
    once: bool = False  # timed in the first timed round only (long, or one of many)
    reports: bool = False  # the process prints the figure itself (seconds), not its wall time
    error: str = ""
    stdout: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.times) if self.times else math.nan

    @property
    def met(self) -> bool | None:
        if self.error:
            return False
        return None if self.target is None else self.median < self.target


def run_once(
    argv: Sequence[str], cwd: Path, keep_stdout: bool = False
) -> tuple[float, float, str, str]:
    """Wall time, peak RSS (MiB), stdout (if kept) and an error line of one process."""
    with tempfile.TemporaryFile() as err, tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        proc = subprocess.Popen(
            list(argv),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=out if keep_stdout else subprocess.DEVNULL,
            stderr=err,
        )
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        # ru_maxrss is KiB on Linux, bytes on macOS.
        rss = usage.ru_maxrss / (2**20 if sys.platform == "darwin" else 2**10)
        error = ""
        if proc.returncode != 0:
            err.seek(0)
            lines = err.read().decode(errors="replace").strip().splitlines()
            first = next((x for x in lines if "error:" in x), lines[-1] if lines else "")
            error = f"exit {proc.returncode}: {ERROR_PREFIX.sub('', first)}"[:200]
        text = ""
        if keep_stdout:
            out.seek(0)
            text = out.read().decode(errors="replace")
        return elapsed, rss, text, error


def measure(results: Sequence[Result], runs: int, warmup: int, cwd: Path) -> None:
    """Time every case ``runs`` times after ``warmup`` untimed rounds, in rounds (each case
    once per round), so a slow spell of a shared machine falls on every case alike rather
    than on one. A case that fails once is not run again."""
    for round_ in range(warmup + runs):
        timed = round_ >= warmup
        sys.stderr.write(f"round {round_ + 1} of {warmup + runs}{'' if timed else ' (warm-up)'}\n")
        for r in results:
            if r.error:
                continue
            if r.once and (r.times or not timed):
                continue
            keep = (r.keep_stdout and round_ == 0) or r.reports
            elapsed, rss, text, error = run_once(r.argv, cwd, keep)
            if r.reports and not error:
                try:
                    elapsed = float(text.split()[-1])
                except (ValueError, IndexError):
                    error = f"no figure printed: {text[-120:]!r}"
            if error:
                r.error = error
                sys.stderr.write(f"  {r.label}: {error}\n")
                continue
            if round_ == 0:
                r.stdout = text
            if timed:
                r.times.append(elapsed)
                r.rss_mib = max(r.rss_mib, rss)


def slope(points: Sequence[tuple[int, float]]) -> float:
    """Least-squares slope of log(time) against log(size)."""
    xs = [math.log(n) for n, _ in points]
    ys = [math.log(t) for _, t in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum(
        (x - mx) ** 2 for x in xs
    )


def interpreter_of(executable: str) -> str | None:
    """The interpreter named on a console script's #! line."""
    try:
        with open(executable, "rb") as f:
            first = f.readline().decode(errors="replace").strip()
    except OSError:
        return None
    return first[2:].split()[0] if first.startswith("#!") else None


def probe(python: str, code: str, cwd: Path) -> str | None:
    """What ``python -c code`` prints, or None when it fails. Run away from the source
    checkout, which would otherwise shadow the installed package."""
    out = subprocess.run([python, "-c", code], capture_output=True, text=True, cwd=cwd)
    return out.stdout.strip() if out.returncode == 0 else None


def machine() -> dict[str, str]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "platform": platform.platform(),
        "cpu": f"{cpu}, {os.cpu_count()} logical cores",
        "load": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def fmt_time(r: Result) -> list[str]:
    if r.error:
        return ["-", "-", "-", "-"]
    d = 4 if r.median < 0.1 else 3  # milliseconds show
    times = [f"{t:.{d}f}" for t in (r.median, min(r.times), max(r.times))]
    return [*times, f"{r.rss_mib:.0f}"]


def verdict(met: bool | None) -> str:
    return {True: "met", False: "MISSED", None: ""}[met]


def md_table(header: Sequence[str], rows: Sequence[Sequence[str]], right: set[int]) -> str:
    """A markdown table with aligned columns (readable as text, pasteable as markdown)."""
    widths = [max(len(c) for c in col) for col in zip(header, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        parts = [
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "| " + " | ".join(parts) + " |"

    rule = "|".join("-" * (w + 1) + (":" if i in right else "-") for i, w in enumerate(widths))
    return "\n".join([line(header), f"|{rule}|", *(line(r) for r in rows)])


def build_cases(
    cmd: list[str],
    python: str,
    torch_python: str | None,
    sizes: Sequence[int],
    quick: bool,
    bundled: Sequence[str] = (),
    dask: bool = False,
) -> tuple[list[Result], list[Result]]:
    """Every convcalc case (with its target) and every torch case. ``bundled``: the
    networks whose symbolic totals are timed in every format (once each); ``dask``: whether
    the interpreter has Dask distributed, for the cluster sweep."""
    cases = [
        Result("python", "python -c pass (for scale)", [python, "-c", "pass"]),
        Result(
            "imports", "import typer, rich, yaml (for scale)", [python, "-c", IMPORTS_FOR_SCALE]
        ),
        Result("help", "convcalc --help", [*cmd, "--help"], TARGET_HELP),
    ]
    for net in NETWORKS:
        target = TARGET_ANALYZE if net == "resnet50" else None
        run = [*cmd, "analyze", net]
        cases.append(Result(f"analyze-{net}", f"analyze {net}", run, target))
        json_run = [*run, "-f", "json"]
        label = f"analyze {net} -f json"
        cases.append(Result(f"analyze-{net}-json", label, json_run, target, keep_stdout=True))
    for kind in ("chain", "dag"):
        for n in sizes:
            target = {10_000: TARGET_10K, 100_000: TARGET_100K}.get(n)
            run = [*cmd, "analyze", f"{kind}_{n}.yaml"]
            cases.append(Result(f"{kind}-{n}", f"analyze {kind} of {n:,} layers", run, target))
    sweep = [*cmd, "sweep", "mobilenet_v2", *SWEEP]
    cases.append(Result("sweep", "sweep mobilenet_v2, 100 x 100 alpha x rho", sweep, TARGET_SWEEP))
    symbolic = [*cmd, "analyze", "mobilenet_v2", "--symbolic"]
    cases.append(Result("symbolic", "analyze mobilenet_v2 --symbolic", symbolic, TARGET_SYMBOLIC))
    cases.append(
        Result(
            "symbolic-json",
            "analyze mobilenet_v2 --symbolic -f json",
            [*symbolic, "-f", "json"],
            TARGET_SYMBOLIC,
        )
    )
    for net in bundled:
        for fmt in FORMATS:
            run = [*cmd, "analyze", net, "--symbolic", "-f", fmt]
            label = f"analyze {net} --symbolic -f {fmt}"
            cases.append(Result(f"symall-{net}-{fmt}", label, run, TARGET_SYMBOLIC, once=True))
    if not quick:
        run = [*cmd, "sweep", "mobilenet_v2", *MILLION]
        label = "sweep mobilenet_v2, 1000 x 1000 alpha x rho, -f csv"
        cases.append(Result("million", label, run, TARGET_MILLION, once=True))
    for jobs in (1, 2):
        run = [*cmd, "sweep", "space.yaml", *STRUCTURAL, "--jobs", str(jobs)]
        label = f"structural sweep, 243 graphs, --jobs {jobs}"
        cases.append(Result(f"structural-{jobs}", label, run, once=True))
    if dask:
        run = [python, "-c", DASK_SWEEP, "space.yaml"]
        label = "structural sweep, 243 graphs, Dask, 2 workers (sweep only)"
        cases.append(Result("structural-dask", label, run, once=True, reports=True))
    label = "in-process api.analyze resnet50, per call"
    cases.append(Result("api", label, [python, "-c", API_LOOP], TARGET_API, reports=True))
    torch_cases = []
    if torch_python:
        for net in NETWORKS[:1] if quick else NETWORKS:
            run = [torch_python, "-c", TORCH_COUNT, net]
            torch_cases.append(Result(f"torch-{net}", f"torch count {net}", run, keep_stdout=True))
    return cases, torch_cases


@dataclass
class Growth:
    """Growth exponents of one graph kind over the sizes that ran."""

    sizes: list[int]
    fit: float  # least squares over every size
    top: float  # between the two largest sizes

    @property
    def met(self) -> bool:
        return max(self.fit, self.top) <= TARGET_EXPONENT


def growth(by_key: dict[str, Result], sizes: Sequence[int]) -> dict[str, Growth]:
    """Per graph kind, over the sizes that ran (a size refused by a limit is left out)."""
    out = {}
    for kind in ("chain", "dag"):
        done = [by_key.get(f"{kind}-{n}") for n in sizes]
        points = [(n, r.median) for n, r in zip(sizes, done, strict=True) if r and not r.error]
        if len(points) >= 2:
            out[kind] = Growth([n for n, _ in points], slope(points), slope(points[-2:]))
    return out


def same_counts(torch_case: Result, json_case: Result | None) -> str:
    """Whether the torch count and convcalc's JSON agree (FLOPs / 2 against MACs)."""
    if json_case is None or not json_case.stdout or not torch_case.stdout:
        return ""
    params, flops = (int(x) for x in torch_case.stdout.split())
    totals = json.loads(json_case.stdout)["totals"]
    if (params, flops) == (totals["params"], 2 * totals["macs"]):
        return "yes"
    return f"no: torch {params:,} params, {flops // 2:,} MACs"


def compare_torch(
    torch_cases: Sequence[Result], by_key: dict[str, Result]
) -> tuple[list[list[str]], dict[str, float]]:
    """Rows of the torch comparison, and torch time / convcalc time per network (convcalc's
    slower output format, table or JSON)."""
    rows, ratios = [], {}
    for t in torch_cases:
        net = t.key.removeprefix("torch-")
        ours = [by_key.get(f"analyze-{net}"), by_key.get(f"analyze-{net}-json")]
        slowest = max((c.median for c in ours if c and not c.error), default=math.nan)
        ratios[net] = math.nan if t.error else t.median / slowest
        same = same_counts(t, by_key.get(f"analyze-{net}-json"))
        rows.append(
            [
                net,
                f"{slowest:.3f}",
                fmt_time(t)[0],
                fmt_time(t)[3],
                f"{ratios[net]:.1f}x",
                t.error or same,
            ]
        )
    return rows, ratios


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=(__doc__ or "").split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--python",
        default=sys.executable,
        help="interpreter with convcalc installed (default: this one); times `PYTHON -m convcalc`",
    )
    p.add_argument("--convcalc", help="a convcalc executable to time instead")
    p.add_argument("--torch-python", help="interpreter with torch and torchvision")
    p.add_argument("--runs", type=int, help="timed runs per case (default 5; 3 with --quick)")
    p.add_argument("--warmup", type=int, help="untimed runs first (default 1; 0 with --quick)")
    p.add_argument(
        "--quick",
        action="store_true",
        help="3 runs, no warm-up, no 100,000-layer graphs, torch on resnet50 only",
    )
    p.add_argument("--only", help="only the cases whose key contains one of these words: dag,chain")
    p.add_argument("--json", type=Path, help="also write every measurement to this file")
    p.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="convcalc-bench-") as tmp:
        return bench(args, Path(tmp))


def bench(args: argparse.Namespace, work: Path) -> int:
    """Measure, print the tables and the verdicts; synthetic files go to ``work``."""
    runs = args.runs or (3 if args.quick else 5)
    warmup = args.warmup if args.warmup is not None else (0 if args.quick else 1)
    python = args.python
    script = Path(python).parent / "convcalc"  # the console script installed beside it
    if args.convcalc:
        cmd = [args.convcalc]
        python = interpreter_of(args.convcalc) or python
    elif script.is_file() and Path(interpreter_of(str(script)) or "").parent == script.parent:
        cmd = [str(script)]
    else:
        cmd = [python, "-m", "convcalc"]
    found = probe(python, FIND_CONVCALC, work)
    if found is None:
        sys.stderr.write(
            f"error: {python} cannot import convcalc; install it in a fresh virtualenv:\n"
            "  python3 -m venv /tmp/bench-venv && /tmp/bench-venv/bin/pip install .\n"
            "  python benchmarks/run.py --python /tmp/bench-venv/bin/python\n"
        )
        return 2
    torch_python = args.torch_python
    if torch_python is None and probe(python, "import torch, torchvision", work) is not None:
        torch_python = python
    torch_versions = None
    if torch_python is not None:
        torch_versions = probe(torch_python, TORCH_VERSIONS, work)
        if torch_versions is None:
            sys.stderr.write(f"error: {torch_python} cannot import torch and torchvision\n")
            return 2

    info = machine()
    version = probe(python, "import sys; print(sys.version.split()[0])", work)
    print(f"convcalc: {' '.join(cmd)}  ({found})")
    print(f"python:   {version} ({python})")
    if torch_python:
        print(f"torch:    torch {torch_versions} ({torch_python})")
    else:
        print("torch:    not importable here; --torch-python PYTHON adds a torch-based count")
    print(f"machine:  {info['cpu']}; {info['platform']}")
    print(f"date:     {info['date']}; load average before: {info['load']}")
    print(f"runs:     median of {runs} after {warmup} warm-up run(s)\n", flush=True)

    sizes = QUICK_SIZES if args.quick else SIZES
    for n in sizes:
        (work / f"chain_{n}.yaml").write_text(CHAIN.format(n=n, r=n // 10))
        (work / f"dag_{n}.yaml").write_text(DAG.format(n=n, r=n // 10))
    (work / "space.yaml").write_text(SPACE)
    names = (probe(python, BUNDLED, work) or "").split()
    bundled = [n for n in names if n in FREE_IN_QUICK] if args.quick else names
    dask = not args.quick and probe(python, "import distributed", work) is not None
    cases, torch_cases = build_cases(cmd, python, torch_python, sizes, args.quick, bundled, dask)
    if args.only:
        words = args.only.split(",")
        cases = [c for c in cases if any(w in c.key for w in words)]
        torch_cases = [c for c in torch_cases if any(w in c.key for w in words)]
    measure([*cases, *torch_cases], runs, warmup, work)
    by_key = {c.key: c for c in [*cases, *torch_cases]}

    symall = [c for c in cases if c.key.startswith("symall-")]
    shown = [c for c in cases if c not in symall or any(n in c.key for n in FREE_IN_QUICK)]
    rows = [
        [c.label, *fmt_time(c), f"< {c.target:g} s" if c.target else "", c.error or verdict(c.met)]
        for c in shown
    ]
    header = ["case", "median s", "min s", "max s", "peak MiB", "target", "result"]
    print(md_table(header, rows, {1, 2, 3, 4}))
    if symall:
        timed = [c for c in symall if not c.error]
        slow = sorted(timed, key=lambda c: c.median, reverse=True)[:3]
        missed_sym = [c.label for c in symall if c.met is False]
        print(
            f"\nsymbolic totals, {len(symall) // len(FORMATS)} bundled networks x "
            f"{len(FORMATS)} formats ({len(symall)} processes, one run each): slowest "
            + ", ".join(f"{c.label} {c.median:.2f} s" for c in slow)
            + f" (target < {TARGET_SYMBOLIC:g} s each: "
            + (verdict(True) if not missed_sym else f"MISSED by {len(missed_sym)}")
            + ")"
        )
    per_core = {
        k: by_key[k] for k in ("structural-1", "structural-2") if k in by_key and by_key[k].times
    }
    for key, c in per_core.items():
        jobs = int(key.rsplit("-", 1)[1])
        rate = 243 / c.median
        print(f"{c.label}: {rate:.0f} points/s, {rate / jobs:.0f} points/s per process")
    if "structural-dask" in by_key and by_key["structural-dask"].times:
        rate = 243 / by_key["structural-dask"].median
        print(f"structural sweep on Dask: {rate:.0f} points/s, {rate / 2:.0f} per worker")

    exponents = growth(by_key, sizes)
    if exponents:
        print()
    for kind, g in exponents.items():
        print(
            f"growth exponent, {kind}: {g.fit:.2f} fitted over {g.sizes[0]:,} to "
            f"{g.sizes[-1]:,} layers, {g.top:.2f} from {g.sizes[-2]:,} to {g.sizes[-1]:,} "
            f"(target <= {TARGET_EXPONENT}: {verdict(g.met)})"
        )

    ratios: dict[str, float] = {}
    if torch_cases:
        trows, ratios = compare_torch(torch_cases, by_key)
        header = [
            "network",
            "convcalc s (slower of table, JSON)",
            "torch count s",
            "torch peak MiB",
            "torch / convcalc",
            "same params and MACs",
        ]
        print()
        print(md_table(header, trows, {1, 2, 3, 4}))
    if "resnet50" in ratios:
        ratio = ratios["resnet50"]
        print(
            f"\nresnet50: the torch-based count takes {ratio:.1f}x as long as convcalc "
            f"(target >= {TARGET_RATIO:g}x: {verdict(ratio >= TARGET_RATIO)})"
        )

    missed = [c.label for c in cases if c.met is False]
    missed += [f"growth exponent, {k}" for k, g in exponents.items() if not g.met]
    if not ratios.get("resnet50", math.inf) >= TARGET_RATIO:
        missed.append("resnet50 against the torch-based count")
    print(f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("targets: " + ("all met" if not missed else "missed: " + "; ".join(missed)))
    if args.json:
        doc = {
            "machine": info,
            "convcalc": found,
            "command": cmd,
            "torch": torch_versions,
            "runs": runs,
            "cases": [{**asdict(c), "median": c.median, "stdout": ""} for c in by_key.values()],
            "exponents": {k: asdict(g) for k, g in exponents.items()},
            "ratios": ratios,
            "missed": missed,
        }
        args.json.write_text(json.dumps(doc, indent=2) + "\n")
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
