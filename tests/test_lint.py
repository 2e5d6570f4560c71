"""validate() and the design warnings, against the papers' examples and brute force.

The dilation rules are checked against the set of input pixels a stack really reaches
(propagated here, pixel by pixel), the group rule against the set of input channels each
output channel really depends on, and the receptive-field rule against pixel sets too.
"""

from __future__ import annotations

import json
import math
import re
import textwrap
from pathlib import Path

import hypothesis.strategies as st
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from typer.testing import CliRunner

from convcalc import api, diagnostics, rules
from convcalc.analysis import analyze
from convcalc.cli import app
from convcalc.errors import ExitCode
from convcalc.render import table
from convcalc.schema import loader
from convcalc.schema.expand import expand
from convcalc.validate import validate

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "bad_inputs"
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def warnings_of(text: str) -> list[diagnostics.Diagnostic]:
    graph = expand(loader.load_yaml(textwrap.dedent(text), "net.yaml"), "net.yaml", "net.yaml")
    return rules.lint(graph, analyze(graph))


def codes(diagnostics: list[diagnostics.Diagnostic]) -> list[tuple[str, str | None]]:
    return [(d.code, d.layer) for d in diagnostics]


# --- the bundled HDC blocks ---------------------------------------------------------------


def test_hdc_2_2_2_grids_and_hdc_1_2_5_does_not() -> None:
    grid = validate("blocks/hdc_2_2_2")
    assert codes(grid) == [("gridding", "rate2.2.conv")]
    (d,) = grid
    assert d.severity == "warning" and d.exit_code == 0
    assert "'rate2.0.conv', 'rate2.1.conv', 'rate2.2.conv'" in d.message
    assert "common factor 2" in d.message
    assert "Wang et al." in d.reference and "WACV 2018" in d.reference
    assert d.file == "blocks/hdc_2_2_2" and d.line == 15  # the repeated layer's line
    assert validate("blocks/hdc_1_2_5") == []


# --- dilation rules against brute force ---------------------------------------------------


def reached(stack: list[tuple[int, int]]) -> set[int]:
    """Offsets of the input pixels one output of a stride-1 stack reads, propagated layer by
    layer from the output back to the input."""
    offsets = {0}
    for k, d in reversed(stack):
        offsets = {x + t * d for x in offsets for t in range(k)}
    return offsets


def test_reached_by_hand() -> None:
    # 3x3 at rates 1, 2, 5: 0..2, then +0/2/4 -> 0..6, then +0/5/10 -> 0..16: no hole.
    assert reached([(3, 1), (3, 2), (3, 5)]) == set(range(17))
    # Rates 2, 2, 2: even offsets 0..12 only.
    assert reached([(3, 2)] * 3) == set(range(0, 13, 2))
    # Rates 1, 5: 0..2 and 5..7 and 10..12: offsets 3, 4, 8, 9 are never read.
    assert set(range(13)) - reached([(3, 1), (3, 5)]) == {3, 4, 8, 9}


@st.composite
def dilated_stacks(draw):
    return draw(st.lists(st.tuples(st.integers(1, 4), st.integers(1, 6)), min_size=1, max_size=4))


@SETTINGS
@given(dilated_stacks(), st.sampled_from(["relu", "bn", "conv1x1", None]))
def test_dilation_warnings_match_the_pixels_really_reached(stack, between) -> None:
    layers = []
    for index, (k, d) in enumerate(stack):
        pad = d * (k - 1) // 2  # keeps the 64x64 map from shrinking too fast
        layers.append(
            {"op": "conv", "out": 4, "k": k, "dilation": d, "padding": pad, "name": f"c{index}"}
        )
        if between == "conv1x1":
            layers.append({"op": "conv", "out": 4, "k": 1, "name": f"p{index}"})
        elif between:
            layers.append({"op": between, "name": f"x{index}"})
    found = warnings_of(yaml.safe_dump({"input": [4, 64, 64], "layers": layers}))
    kinds = {d.code for d in found}
    wide = [(k, d) for k, d in stack if k > 1]
    holes = set(range(max(reached(wide)) + 1)) - reached(wide) if wide else set()
    common = math.gcd(*(d for _, d in wide)) if len(wide) >= 2 else 1
    # The rules' definitions: a common factor is gridding, other holes are a gap.
    assert ("gridding" in kinds) == (common > 1)
    assert ("dilation-gap" in kinds) == (common == 1 and len(wide) >= 2 and bool(holes))
    # And what they claim: a warned stack really leaves pixels unread, an unwarned one not
    # (a single layer is not a stack: its own dilation is intended).
    if len(wide) >= 2:
        assert bool(kinds & {"gridding", "dilation-gap"}) == bool(holes)
    last = max((i for i, (k, _) in enumerate(stack) if k > 1), default=None)
    for d in found:
        assert d.layer == f"c{last}"  # named at the last layer of the stack


def test_a_merge_or_stride_breaks_the_stack() -> None:
    # Two rate-2 convs on separate branches joined by add (ASPP-like): no stack.
    branches = warnings_of(
        """
        input: [4, 32, 32]
        layers:
          - {op: conv, out: 4, k: 3, dilation: 2, padding: 2, name: a}
          - {op: conv, out: 4, k: 3, dilation: 2, padding: 2, from: input, name: b}
          - {op: add, from: [a, b], name: s}
          - {op: conv, out: 4, k: 3, dilation: 2, padding: 2, name: c}
        """
    )
    assert branches == []
    # A strided layer between them ends the stack too.
    strided = warnings_of(
        """
        input: [4, 32, 32]
        layers:
          - {op: conv, out: 4, k: 3, dilation: 2, padding: 2, name: a}
          - {op: conv, out: 4, k: 3, stride: 2, padding: 1, name: down}
          - {op: conv, out: 4, k: 3, dilation: 2, padding: 2, name: c}
        """
    )
    assert strided == []


def test_dilation_gap_names_the_first_hole() -> None:
    # 3x3 at rates 1 then 5 (padding keeps the size): offsets 0..2, 5..7, 10..12 are read,
    # so 4 of the 13 pixels (3, 4, 8, 9) are not, the first at offset 3.
    (d,) = warnings_of(
        """
        input: [4, 32, 32]
        layers:
          - {op: conv, out: 4, k: 3, padding: 1, name: a}
          - {op: conv, out: 4, k: 3, dilation: 5, padding: 5, name: b}
        """
    )
    assert d.code == "dilation-gap" and d.layer == "b"
    assert "leave 4 of the 13 pixels" in d.message and "offset 3" in d.message
    assert "M_2 <= K" in d.hint


# --- MobileNetV2's linear bottleneck ------------------------------------------------------

INVERTED = """
input: [24, 16, 16]
defaults:
  conv: {{bias: false, norm: bn, act: relu6}}
  dwconv: {{bias: false, norm: bn, act: relu6}}
layers:
  - {{op: conv, out: 144, k: 1, name: expand}}
  - {{op: dwconv, k: 3, padding: 1, name: dw}}
  - {{op: conv, out: {out}, k: 1, act: {act}, name: project}}
"""


def test_relu_after_the_narrow_projection_is_flagged() -> None:
    (d,) = warnings_of(INVERTED.format(out=24, act="relu6"))
    assert (d.code, d.layer) == ("relu-after-linear-bottleneck", "project.relu6")
    assert "'project.conv' (144 -> 24 channels after the depthwise conv 'dw.dwconv')" in d.message
    assert "Sandler et al." in d.reference
    assert d.line == 9  # the project entry (the template's first line is empty)
    # MobileNetV2's own block: a linear projection.
    assert warnings_of(INVERTED.format(out=24, act="none")) == []
    # A pointwise conv that widens after the depthwise one (MobileNet v1) is not a bottleneck.
    assert warnings_of(INVERTED.format(out=288, act="relu6")) == []
    assert validate("blocks/inverted_residual") == []
    assert validate("mobilenet_v2") == []


def test_a_resnet_bottleneck_is_not_a_linear_bottleneck() -> None:
    # 1x1 256 -> 64 + relu reads the block input, not a depthwise conv: no warning.
    assert validate("blocks/bottleneck_1x1") == []


# --- ShuffleNet's cross-group flow --------------------------------------------------------

GROUPS = """
input: [24, 8, 8]
layers:
  - {{op: conv, out: 24, k: 1, groups: {g1}, name: g1}}
  - {{op: relu, name: r}}
{middle}  - {{op: conv, out: {out2}, k: 1, groups: {g2}, name: g2}}
"""


def test_stacked_group_convs_without_a_shuffle_are_flagged() -> None:
    (d,) = warnings_of(GROUPS.format(g1=3, g2=3, out2=24, middle=""))
    assert (d.code, d.layer) == ("no-cross-group-flow", "g2")
    assert "sees 1 of the 3 input groups" in d.message
    assert "Zhang et al." in d.reference and "ShuffleNet" in d.reference
    shuffled = "  - {op: channel_shuffle, groups: 3, name: s}\n"
    assert warnings_of(GROUPS.format(g1=3, g2=3, out2=24, middle=shuffled)) == []
    dense = "  - {op: conv, out: 24, k: 1, name: mix}\n"
    assert warnings_of(GROUPS.format(g1=3, g2=3, out2=24, middle=dense)) == []
    assert validate("blocks/shufflenet_unit_s1") == []
    assert validate("blocks/igc") == []
    # AlexNet's towers: conv4 and conv5 both split in 2 with nothing between.
    assert codes(validate("alexnet")) == [("no-cross-group-flow", "conv5.conv")]


def depends(c: int, g1: int, g2: int, shuffle: int | None, multiplier: int) -> list[set[int]]:
    """For each output channel of the second conv, the input channels of the first it reads,
    by enumerating every connection."""
    mid = c * multiplier

    def first(o: int) -> set[int]:  # grouped conv c -> c
        group = o // (c // g1)
        return set(range(group * (c // g1), (group + 1) * (c // g1)))

    def shuffled(j: int) -> int:  # which channel before the shuffle lands at j
        return (j % shuffle) * (c // shuffle) + j // shuffle if shuffle else j

    out = []
    for o in range(mid):
        group = o // (mid // g2)
        reads = range(group * (mid // g2), (group + 1) * (mid // g2))
        seen: set[int] = set()
        for j in reads:  # depthwise (multiplier) then shuffle, walked back
            seen |= first(shuffled(j // multiplier))
        out.append(seen)
    return out


@SETTINGS
@given(
    st.sampled_from([1, 2, 3, 4, 6]),
    st.sampled_from([1, 2, 3, 4, 6]),
    st.sampled_from([None, 2, 3, 4, 6]),
    st.sampled_from([1, 2]),
)
def test_group_warning_matches_channel_dependencies(g1, g2, shuffle, multiplier) -> None:
    c = 24
    middle = ""
    if shuffle:
        middle += f"  - {{op: channel_shuffle, groups: {shuffle}, name: s}}\n"
    middle += f"  - {{op: dwconv, k: 3, padding: 1, multiplier: {multiplier}, name: dw}}\n"
    text = GROUPS.format(g1=g1, g2=g2, out2=c * multiplier, middle=middle)
    found = codes(warnings_of(text))
    full = all(s == set(range(c)) for s in depends(c, g1, g2, shuffle, multiplier))
    both_grouped = g1 > 1 and 1 < g2 < c * multiplier
    assert (("no-cross-group-flow", "g2") in found) == (both_grouped and not full)


# --- receptive field outgrowing the input -------------------------------------------------


def test_field_outgrowing_the_input_by_hand() -> None:
    # 5x5 convs with padding 2 on 16x16: after L of them the field of unit u spans
    # [u - 2L, u + 2L]. Unit 15 starts at or before 0 when 15 - 2L <= 0 and unit 0 reaches
    # 15 when 2L >= 15: from L = 8 (conv c7) every unit sees the whole input; c8 and c9
    # follow.
    convs = "".join(f"  - {{op: conv, out: 2, k: 5, padding: 2, name: c{i}}}\n" for i in range(10))
    (d,) = warnings_of("input: [2, 16, 16]\nlayers:\n" + convs)
    assert (d.code, d.layer) == ("rf-outgrows-input", "c7")
    assert "whole 16x16 input (receptive field 33x33)" in d.message
    assert "the 2 later layers with spatial kernels (from 'c8')" in d.message
    # Nine convs: c8 is the only one after c7 and it still counts; eight: nothing follows.
    eight = "".join(convs.splitlines(keepends=True)[:8])
    assert warnings_of("input: [2, 16, 16]\nlayers:\n" + eight) == []


@st.composite
def plain_stacks(draw):
    size = draw(st.integers(4, 12))
    layers = []
    for index in range(draw(st.integers(1, 6))):
        k = draw(st.integers(1, 4))
        stride = draw(st.integers(1, min(2, k)))  # no stride past the kernel: no skipped pixels
        layers.append((k, stride, draw(st.integers(0, k // 2)), f"c{index}"))
    return size, layers


def covering_layer(size: int, layers) -> str | None:
    """By brute force: the first layer each of whose units' fields spans every input pixel
    (fields as in Araujo et al.: a unit's taps extend over padding and past the border as if
    the map went on), when a later layer with a kernel wider than 1 exists; else None."""
    rules: list[tuple[int, int, int]] = []  # (k, s, p) per layer so far
    memo: dict[tuple[int, int], tuple[int, int]] = {}

    def span(depth: int, unit: int) -> tuple[int, int]:
        """(first, last) input pixel the unit at this depth reads."""
        if depth == 0:
            return unit, unit
        key = (depth, unit)
        if key not in memo:
            k, s, p = rules[depth - 1]
            ends = [span(depth - 1, unit * s - p + t) for t in range(k)]
            memo[key] = min(e[0] for e in ends), max(e[1] for e in ends)
        return memo[key]

    length = size
    for index, (k, s, p, name) in enumerate(layers):
        length = (length + 2 * p - k) // s + 1
        if length < 1:
            return None
        rules.append((k, s, p))
        spans = [span(index + 1, u) for u in range(length)]
        if all(first <= 0 and last >= size - 1 for first, last in spans):
            later = any(kk > 1 for kk, *_ in layers[index + 1 :])
            return name if later else None
    return None


@SETTINGS
@given(plain_stacks())
def test_field_rule_matches_pixel_dependencies(case) -> None:
    size, layers = case
    specs = [
        {"op": "conv", "out": 1, "k": k, "stride": s, "padding": p, "name": n}
        for k, s, p, n in layers
    ]
    text = yaml.safe_dump({"input": [1, size, size], "layers": specs})
    try:
        found = [d for d in warnings_of(text) if d.code == "rf-outgrows-input"]
    except Exception as e:  # a map that shrank below one kernel: nothing to check
        assert type(e).__name__ == "ShapeError"
        return
    expected = covering_layer(size, layers)
    assert [d.layer for d in found] == ([expected] if expected else [])


# --- validate: errors as diagnostics ------------------------------------------------------

EXPECTED = yaml.safe_load((CORPUS / "expected.yaml").read_text())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_validate_reports_each_bad_input_as_one_error(name: str) -> None:
    expected = EXPECTED[name]
    found = validate(CORPUS / name)
    assert len(found) == 1
    (d,) = found
    assert d.severity == "error"
    assert d.exit_code == expected["exit"] == diagnostics.exit_code(found)
    assert d.line == expected["line"]
    assert d.layer == expected["layer"]
    assert expected["message"] in d.message or expected["message"] in (d.hint or "")
    shown = str(CORPUS / expected.get("file", name))
    assert d.file == shown


def test_every_bundled_architecture_validates() -> None:
    for name in loader.bundled_names():
        found = validate(name)
        assert [d for d in found if d.severity == "error"] == [], name
        assert diagnostics.exit_code(found) == ExitCode.OK


def test_json_document_and_text_form(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("input: [3, 8, 8]\nlayers:\n  - {op: conv, out: 4, k: 9, name: big}\n")
    found = validate(bad)
    doc = diagnostics.to_json(found, str(bad))
    assert json.loads(json.dumps(doc)) == doc  # plain JSON
    assert doc["schema"] == "convcalc.validation/1"
    assert (doc["valid"], doc["errors"], doc["warnings"]) == (False, 1, 0)
    (entry,) = doc["diagnostics"]
    assert set(entry) == {
        "code",
        "severity",
        "file",
        "line",
        "layer",
        "message",
        "hint",
        "reference",
    }
    assert (entry["code"], entry["file"], entry["line"], entry["layer"]) == (
        "shape",
        str(bad),
        3,
        "big",
    )
    assert table.diagnostics(found, str(bad)).startswith(
        f"{bad}:3: layer 'big': error[shape]: kernel 9 is larger"
    )
    good = diagnostics.to_json(validate("blocks/hdc_2_2_2"), "blocks/hdc_2_2_2")
    assert (good["valid"], good["errors"], good["warnings"]) == (True, 0, 1)
    assert diagnostics.exit_code([]) == 0


def test_warnings_in_an_imported_block_name_the_library(tmp_path: Path) -> None:
    lib = tmp_path / "lib.yaml"
    lib.write_text(
        "blocks:\n  grid:\n    body:\n"
        "      - {op: conv, out: 4, k: 3, dilation: 2, padding: 2, name: a}\n"
        "      - {op: conv, out: 4, k: 3, dilation: 4, padding: 4, name: b}\n"
    )
    net = tmp_path / "net.yaml"
    net.write_text("imports: [lib.yaml]\ninput: [4, 32, 32]\nlayers:\n  - {block: grid, name: g}\n")
    (d,) = validate(net)
    assert (d.code, d.layer, d.file, d.line) == ("gridding", "g.b", str(lib.resolve()), 5)


def test_validate_takes_parameters_and_bundled_names() -> None:
    assert validate("mobilenet_v2", {"alpha": "0.5"}) == []
    (d,) = validate("mobilenet_v2", {"width": "2"})
    assert (d.code, d.exit_code) == ("usage", ExitCode.USAGE)
    graph = api.load("vgg16")
    assert rules.lint(graph) == []  # no report: the field rule is skipped, nothing else fires


# --- docs/validate.md stays true ----------------------------------------------------------

VALIDATE_DOC = HERE.parent / "docs" / "validate.md"


@pytest.mark.skipif(not VALIDATE_DOC.is_file(), reason="docs are not beside the tests")
def test_validate_page_shows_what_the_library_prints(monkeypatch) -> None:
    monkeypatch.chdir(HERE.parent)  # the examples use paths from the repository root
    text = VALIDATE_DOC.read_text()
    examples = re.findall(r"^\$ convcalc validate (\S+)\n((?:(?!\$ |```).*\n)+)", text, re.M)
    assert len(examples) >= 2
    for source, shown in examples:
        assert table.diagnostics(validate(source), source) == shown, source
        result = CliRunner().invoke(app, ["validate", source])
        assert result.stdout == shown, source
        assert result.exit_code == diagnostics.exit_code(validate(source))
    (document,) = re.findall(r"```json\n(.*?)```", text, re.S)
    source = json.loads(document)["source"]
    assert json.loads(document) == diagnostics.to_json(validate(source), source)


@pytest.mark.skipif(not VALIDATE_DOC.is_file(), reason="docs are not beside the tests")
def test_validate_page_documents_every_rule() -> None:
    text = VALIDATE_DOC.read_text()
    codes = {
        "gridding",
        "dilation-gap",
        "rf-outgrows-input",
        "relu-after-linear-bottleneck",
        "no-cross-group-flow",
    }
    assert set(re.findall(r"^### `([a-z-]+)`", text, re.M)) == codes
    assert codes <= set(re.findall(r"``([a-z-]+)``", rules.__doc__ or ""))


def test_text_summary_counts() -> None:
    assert table.diagnostics([], "net.yaml") == "net.yaml: valid\n"
    two = validate("blocks/hdc_2_2_2") * 2
    assert table.diagnostics(two, "x").endswith("x: valid, 2 warnings\n")
