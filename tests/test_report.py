"""The design-review page and the charts: ``convcalc report`` and ``convcalc plot``.

Tests that draw need matplotlib (the ``convcalc[report]`` extra) and skip without it; the
series the charts are drawn from, the missing-extra message and the start-up imports are
checked either way. The 100,000-layer timing (CPU time of the process) runs only with
CONVCALC_SLOW=1 (.ci/run sets it in the step of the optional extras).
"""

from __future__ import annotations

import importlib.util
import os
import re
import resource
import subprocess
import sys
import time
from fractions import Fraction
from html.parser import HTMLParser
from pathlib import Path

import pytest
from typer.testing import CliRunner

from convcalc import api
from convcalc.cli import Chart, app
from convcalc.errors import ExitCode
from convcalc.render import charts

HAVE_MPL = importlib.util.find_spec("matplotlib") is not None
needs_mpl = pytest.mark.skipif(not HAVE_MPL, reason="needs the report extra (matplotlib)")
RUN_PY = Path(__file__).resolve().parent.parent / "benchmarks" / "run.py"

VOID = {"meta", "br", "hr", "img", "input", "link", "wbr", "col", "area", "base", "source"}
# torchvision's documented parameter counts (DESIGN.md, section 5).
MOBILENET_V2_PARAMS = 3_504_872
RESNET50_PARAMS = 25_557_032


class Structure(HTMLParser):
    """Checks that every element is closed in order, and collects what the tests look at."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.counts: dict[str, int] = {}
        self.sections: list[str] = []
        self.figures: list[dict[str, str]] = []
        self.urls: list[str] = []
        self.doctype = ""

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl

    def _attrs(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.counts[tag] = self.counts.get(tag, 0) + 1
        a = {k: v or "" for k, v in attrs}
        for key in ("src", "href", "xlink:href", "action", "data", "poster"):
            if key in a:
                self.urls.append(a[key])
        if tag == "section":
            self.sections.append(a.get("id", ""))
        if tag == "figure":
            self.figures.append(a)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._attrs(tag, attrs)
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._attrs(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else None}>")
            return
        self.stack.pop()


def parse(text: str) -> Structure:
    s = Structure()
    s.feed(text)
    s.close()
    return s


def invoke(*argv: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(argv))
    return result.exit_code, result.stderr


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> str:
    """mobilenet_v2 vs resnet50 on a GPU and on a pure budget, swept over alpha x rho."""
    pytest.importorskip("matplotlib")
    out = tmp_path_factory.mktemp("report") / "review.html"
    code, err = invoke(
        "report", "mobilenet_v2", "resnet50", "--device", "gpu-t4,mobile-600m",
        "--alpha", "0.5,1", "--rho", "0.714,1", "-o", str(out),
    )  # fmt: skip
    assert code == 0, err
    return out.read_text(encoding="utf-8")


@needs_mpl
def test_the_page_is_well_formed_html_with_every_section(page: str) -> None:
    from convcalc.render.html import SECTIONS

    s = parse(page)
    assert s.doctype.lower() == "doctype html"
    assert not s.errors, s.errors[:5]
    assert s.stack == []
    assert (s.counts["html"], s.counts["head"], s.counts["body"], s.counts["title"]) == (1, 1, 1, 1)
    assert s.sections == [ident for ident, _ in SECTIONS]


@needs_mpl
def test_the_page_refers_to_nothing_outside_itself(page: str) -> None:
    s = parse(page)
    assert not re.search(r"(?i)\b(?:https?|ftp|file|wss?):", page)
    assert all(u.startswith("#") for u in s.urls), [u for u in s.urls if not u.startswith("#")]
    assert not re.search(r"(?i)<(?:link|img|iframe|object|embed|image)\b|@import|src=", page)
    assert re.findall(r"url\(([^)]*)\)", page) and all(
        u.startswith("#") for u in re.findall(r"url\(([^)]*)\)", page)
    )
    assert "default-src 'none'" in page  # the browser refuses anything that slipped in


@needs_mpl
def test_every_chart_has_data(page: str) -> None:
    s = parse(page)
    kinds = [(f["data-chart"], f["data-network"]) for f in s.figures]
    nets = ("mobilenet_v2", "resnet50")
    for chart in ("stages", "memory", "rf"):
        assert [k for k in kinds if k[0] == chart] == [(chart, n) for n in nets]
    # gpu-t4 has hardware figures; mobile-600m is a pure budget, so it has no roofline.
    assert [k for k in kinds if k[0] == "roofline"] == [("roofline", n) for n in nets]
    assert [k for k in kinds if k[0] == "sweep"] == [("sweep", "mobilenet_v2")]
    assert all(int(f["data-points"]) > 0 for f in s.figures)
    mnv2 = api.analyze("mobilenet_v2")
    bars = len(charts.stages(mnv2).labels)
    for col in range(3):  # params, MACs and activation memory: one bar per stage each
        assert len(re.findall(rf'id="c\d+-series-stages-{col}-\d+"', page)) == bars + len(
            charts.stages(api.analyze("resnet50")).labels
        )
    # The memory line of mobilenet_v2 has one vertex per layer.
    line = re.search(r'id="c\d+-series-memory">\s*<path d="([^"]*)"', page)
    assert line is not None
    assert len(re.findall(r"[ML] ", line.group(1))) == len(mnv2.layers)
    assert re.search(r'id="c\d+-series-roofline-conv1x1"', page)
    assert re.search(r'id="c\d+-series-rf-size-0"', page)
    assert len(re.findall(r'id="c\d+-series-sweep-\d"', page)) == 3  # params, MACs, latency


@needs_mpl
def test_the_page_shows_the_exact_counts_and_ratios(page: str) -> None:
    assert f"{MOBILENET_V2_PARAMS:,}" in page
    assert f"{RESNET50_PARAMS:,}" in page
    ratio = Fraction(RESNET50_PARAMS, MOBILENET_V2_PARAMS)  # from the two documented counts
    assert f"{ratio.numerator:,}/{ratio.denominator:,}" in page
    assert "PASS" in page or "FAIL" in page  # the device verdicts


@needs_mpl
def test_the_per_layer_table_holds_the_json_numbers(page: str) -> None:
    """The page and ``--format json`` show the same report: every layer row's exact values
    are the JSON document's."""
    import json

    result = CliRunner().invoke(app, ["compare", "mobilenet_v2", "resnet50", "-f", "json"])
    items = json.loads(result.stdout)["items"]
    layers = page[page.index('<section id="layers">') :]
    rows = re.findall(
        r'<tr><td class="n" data-v="(\d+)">\d+</td><td>([^<]*)</td>(.*?)</tr>', layers
    )
    assert len(rows) == sum(len(item["layers"]) for item in items)
    expected = [
        (str(i), row["name"], [row[k] for k in ("params", "macs", "flops")])
        for item in items
        for i, row in enumerate(item["layers"])
    ]
    for (index, name, rest), (want_index, want_name, want) in zip(rows, expected, strict=True):
        values = [int(v) for v in re.findall(r'data-v="(\d+)"', rest)[:3]]
        assert (index, name, values) == (want_index, want_name, want)


def test_memory_timeline_is_the_liveness_scan(tmp_path: Path) -> None:
    path = tmp_path / "tiny.yaml"
    path.write_text(
        "input: [1, 4, 4]\nlayers:\n  - {op: conv, out: 2, k: 1, bias: false, name: c}\n"
        "  - {op: relu, name: r}\n"
    )
    report = api.analyze(path)
    # fp32: after c, input 16 + c 32 values alive = 48 x 4 B; after r, c 32 + r 32 = 64 x 4 B
    # (the input was freed after c, its last reader).
    assert charts.live_bytes(report) == [192, 256]
    t = charts.timeline(report)
    assert (t.peak, t.peak_layer, t.peak_at) == (256, "r", 1)


def test_the_timeline_peak_is_the_totals_peak() -> None:
    for arch in ("mobilenet_v2", "resnet50", "densenet121"):
        report = api.analyze(arch)
        t = charts.timeline(report)
        assert t.peak == report.totals.peak_activation_bytes
        assert t.peak_layer == report.totals.peak_layer


def test_stages_split_a_stage_that_holds_most_of_the_network() -> None:
    names = ["stem.conv", "ir.0.0.dw", "ir.0.1.dw", "ir.1.0.pw", "ir.1.1.pw", "head"]
    # ir holds 4 of 6 layers (more than half): it splits into ir.0 and ir.1 (2 each).
    assert charts.stage_keys(names) == ["stem", "ir.0", "ir.0", "ir.1", "ir.1", "head"]
    assert charts.stage_keys(names, depth=1) == ["stem", "ir", "ir", "ir", "ir", "head"]


def test_stage_bars_add_up_to_the_totals() -> None:
    report = api.analyze("mobilenet_v2")
    s = charts.stages(report)
    assert sum(s.params) == MOBILENET_V2_PARAMS
    assert sum(s.macs) == report.totals.macs
    assert [lab for lab in s.labels if lab.startswith("ir.")] == [f"ir.{i}" for i in range(7)]


def test_long_networks_are_folded_and_sampled(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("benchmarks_run_report", RUN_PY)
    assert spec is not None and spec.loader is not None
    run = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = run
    try:
        spec.loader.exec_module(run)
        text = run.CHAIN.format(n=5000, r=500)
    finally:
        del sys.modules[spec.name]
    path = tmp_path / "chain.yaml"
    path.write_text(text)
    report = api.analyze(path)
    s = charts.stages(report)
    assert len(s.labels) <= charts.MAX_BARS and s.merged > 1
    assert sum(s.params) == report.totals.params
    t = charts.timeline(report)
    assert t.sampled and len(t.index) <= charts.MAX_POINTS
    assert t.peak in t.live  # the largest of each run is kept, so the peak is drawn
    rf = charts.receptive_fields(report)
    assert rf.sampled and len(rf.index) <= charts.MAX_POINTS and rf.index[-1] == 4999
    from convcalc.devices import estimate, load_profile

    profile = load_profile("gpu-t4")
    r = charts.roofline(estimate(report, profile), profile)
    spots = sum(len(p) for p in r.points.values())
    held = sum(n for p in r.points.values() for _, _, n in p)
    assert spots < 50 and held + r.left_out == 5000  # 500 copies of each spot are one point


def test_roofline_places_layers_by_the_estimate() -> None:
    from convcalc.devices import estimate, load_profile

    report = api.analyze("resnet50")
    profile = load_profile("gpu-t4")
    est = estimate(report, profile)
    r = charts.roofline(est, profile)
    assert r.ridge == profile.peak(est.dtype) / profile.bandwidth_Bps
    first = next(t for t in est.layers if t.name == "conv1.conv")
    conv = [(x, y) for x, y, _ in r.points["conv"]]
    assert (first.flops / first.traffic_bytes, first.flops / first.time_s) in conv


def test_architecture_text_is_escaped(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    path = tmp_path / "net.yaml"
    path.write_text(
        'name: odd\ndescription: "<script>alert(1)</script> & <b>"\ninput: [3, 8, 8]\n'
        "layers:\n  - {op: conv, out: 4, k: 3}\n"
    )
    out = tmp_path / "odd.html"
    code, err = invoke("report", str(path), "-o", str(out))
    assert code == 0, err
    text = out.read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;" in text
    assert "<script>alert" not in text and "<b>" not in text


def test_without_the_extra_the_command_says_how_to_install_it(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "sys.modules['matplotlib'] = None\n"  # what an install without the extra sees
        "from convcalc.cli import main\n"
        f"sys.argv = ['convcalc', 'report', 'resnet18', '-o', {str(tmp_path / 'r.html')!r}]\n"
        "main()\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == ExitCode.USAGE, out.stderr
    assert "pip install 'convcalc[report]'" in out.stderr
    assert "Traceback" not in out.stderr
    assert not (tmp_path / "r.html").exists()


def test_help_does_not_load_matplotlib() -> None:
    for args in (["--help"], ["report", "--help"], ["plot", "--help"]):
        code = (
            "import sys\n"
            f"sys.argv = ['convcalc', *{args!r}]\n"
            "from convcalc.cli import main\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "assert 'matplotlib' not in sys.modules, args\n"
        )
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert out.returncode == 0, out.stderr


def test_the_command_line_offers_every_chart() -> None:
    assert [c.value for c in Chart] == list(charts.CHARTS)


REPORT_DOC = Path(__file__).resolve().parent.parent / "docs" / "report.md"


def doc_commands() -> list[list[str]]:
    """The ``convcalc plot`` commands written in docs/report.md, as argv lists."""
    if not REPORT_DOC.is_file():
        return []
    lines = REPORT_DOC.read_text().splitlines()
    return [line.split()[1:] for line in lines if line.startswith("convcalc plot ")]


@pytest.mark.skipif(not REPORT_DOC.is_file(), reason="docs are not beside the tests")
def test_the_report_page_documents_every_chart_with_small_pictures() -> None:
    charted = [argv[argv.index("--chart") + 1] for argv in doc_commands()]
    assert charted == list(charts.CHARTS)
    pictures = re.findall(r"\]\((report/[\w.-]+\.png)\)", REPORT_DOC.read_text())
    assert {f"report/{c}.png" for c in ("page", *charts.CHARTS)} <= set(pictures)
    for picture in pictures:
        data = (REPORT_DOC.parent / picture).read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) < 300_000, picture


@needs_mpl
@pytest.mark.parametrize(
    "argv", doc_commands(), ids=[a[a.index("--chart") + 1] for a in doc_commands()]
)
def test_the_documented_plot_commands_write_png_and_svg(argv: list[str], tmp_path: Path) -> None:
    import xml.etree.ElementTree as ET

    at = argv.index("-o") + 1
    for suffix in ("png", "svg"):
        out = tmp_path / f"chart.{suffix}"
        code, err = invoke(*argv[:at], str(out), *argv[at + 1 :])
        assert code == 0, err
        data = out.read_bytes()
        if suffix == "png":
            assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 5000
        else:
            assert ET.fromstring(data).tag.endswith("svg")


@needs_mpl
def test_plot_refuses_what_it_cannot_draw(tmp_path: Path) -> None:
    out = str(tmp_path / "x.svg")
    assert invoke("plot", "resnet18", "--chart", "roofline", "-o", out)[0] == ExitCode.USAGE
    assert invoke("plot", "resnet18", "--chart", "sweep", "-o", out)[0] == ExitCode.USAGE
    code, err = invoke("plot", "resnet18", "--chart", "memory", "-o", str(tmp_path / "x.jpg"))
    assert code == ExitCode.USAGE and ".svg or .png" in err
    code, err = invoke("report", "resnet18", "--vary", "g=1,2", "-o", str(tmp_path / "r.html"))
    assert code == ExitCode.USAGE and "'g'" in err
    net = tmp_path / "net.yaml"
    net.write_text("input: [1, 4, 4]\nlayers:\n  - {op: conv, out: 2, k: 1}\n")
    code, err = invoke("report", str(net), "-o", str(tmp_path / "no" / "such" / "dir.html"))
    assert code == ExitCode.FILE and "cannot write" in err


@needs_mpl
@pytest.mark.skipif(not os.environ.get("CONVCALC_SLOW"), reason="timing: set CONVCALC_SLOW=1")
def test_a_100000_layer_report_in_under_30_seconds(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("benchmarks_run_slow", RUN_PY)
    assert spec is not None and spec.loader is not None
    run = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = run
    try:
        spec.loader.exec_module(run)
        text = run.CHAIN.format(n=100_000, r=10_000)
    finally:
        del sys.modules[spec.name]
    path = tmp_path / "chain.yaml"
    path.write_text(text)
    out = tmp_path / "chain.html"
    argv = ["report", str(path), "--device", "gpu-t4", "-o", str(out)]
    # The process's CPU time (user + system) is what it takes on an idle machine; the wall
    # time is printed beside it, as it grows with whatever else shares the machine.
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "convcalc", *argv], capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    assert proc.returncode == 0, proc.stderr
    assert cpu < 30, f"{cpu:.1f} s of CPU ({elapsed:.1f} s wall)"
    text = out.read_text()
    assert len(text) < 20 * 2**20  # small enough for a browser
    from convcalc.render.html import MAX_TABLE_ROWS

    assert text.count('<tr><td class="n" data-v=') <= MAX_TABLE_ROWS
    print(f"100,000-layer report: {cpu:.1f} s CPU, {elapsed:.1f} s wall, {len(text) >> 20} MiB")
