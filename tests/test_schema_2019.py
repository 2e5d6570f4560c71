"""Schema features for networks after 2019: ``from: [a, m.*]`` over the copies of a repeat,
defaults that read the layer's own arguments, ``c_in`` at the top level and ``extends``;
each with the bad input it must refuse in one message naming file, line and layer."""

from __future__ import annotations

from pathlib import Path

import pytest

from convcalc import api
from convcalc.analysis import analyze
from convcalc.errors import ConvcalcError
from convcalc.graph import Graph
from convcalc.report import Report
from convcalc.schema import loader
from convcalc.schema.expand import expand


def load(text: str) -> Graph:
    return expand(loader.load_yaml(text, "net.yaml"), "net.yaml", "net.yaml")


def run(text: str) -> Report:
    return analyze(load(text))


def refused(text: str) -> ConvcalcError:
    with pytest.raises(ConvcalcError) as info:
        load(text)
    return info.value


# --- from: [a, m.*] ---------------------------------------------------------------------------

C2F = """
input: [8, 16, 16]
blocks:
  unit:
    body:
      - {op: conv, out: c_in, k: 3, padding: 1, name: cv}
  c2f:
    args: [n]
    body:
      - {op: conv, out: 8, k: 1, name: cv1}
      - {op: slice, start: 4, stop: 8, name: half}
      - {block: unit, repeat: n, name: m}
      - {op: concat, from: [cv1, m.*], name: cat}
layers:
  - {block: c2f, args: {n: N}, name: c2f}
"""


@pytest.mark.parametrize(("n", "width"), [(1, 12), (2, 16), (3, 20)])
def test_a_concat_reads_every_copy_of_a_repeat(n: int, width: int) -> None:
    # cv1's 8 channels and n copies of the 4-channel half: 8 + 4 n.
    graph = load(C2F.replace("N}", f"{n}}}"))
    cat = next(layer for layer in graph.layers if layer.name == "c2f.cat")
    assert cat.inputs == ("c2f.cv1", *(f"c2f.m.{i}.cv" for i in range(n)))
    assert cat.shape == (width, 16, 16)


def test_the_copies_of_a_repeated_layer_and_the_rows_of_a_table() -> None:
    graph = load(
        "input: [2, 8, 8]\n"
        "blocks:\n"
        "  b: {args: [c], body: [{op: conv, out: c, k: 1, name: pw}]}\n"
        "layers:\n"
        "  - {op: conv, out: 3, k: 1, repeat: 2, act: relu, name: r}\n"
        "  - {block: b, table: {cols: [c], rows: [[4], [5]]}, name: t}\n"
        "  - {op: concat, from: [r.*, t.*], name: cat}\n"
    )
    cat = graph.layers[-1]
    # r.0 and r.1 are groups (conv and relu), so they read as their relu; t.0, t.1 the rows.
    assert cat.inputs == ("r.0.relu", "r.1.relu", "t.0.pw", "t.1.pw")
    assert cat.shape == (3 + 3 + 4 + 5, 8, 8)


def test_a_repeat_of_zero_copies_gives_none() -> None:
    error = refused(C2F.replace("N}", "0}"))
    assert "takes at least 2 input(s), got 1" in error.message
    assert (error.file, error.line, error.layer) == ("net.yaml", 13, "c2f.cat")


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("k.*", "'from' names 'k.*', but no repeated layer or block named 'k' is defined"),
        ("cv1.*", "'from' names 'cv1.*', but 'cv1' is not repeated"),
    ],
)
def test_a_copies_reference_without_a_repeat_is_refused(ref: str, message: str) -> None:
    error = refused(C2F.replace("N}", "1}").replace("m.*]", f"{ref}]"))
    assert message in error.message
    assert (error.file, error.line, error.layer) == ("net.yaml", 13, "c2f.cat")
    assert "every copy" in (error.hint or "")


# --- defaults that read the layer's own arguments ------------------------------------------


def test_a_default_reads_the_layers_kernel() -> None:
    # padding k // 2 keeps 16 x 16 for k = 1, 3, 5, 7 at stride 1, and at stride 2 gives
    # floor((16 + 2 * 3 - 7) / 2) + 1 = 8; a layer's own padding wins over the default.
    graph = load(
        "params: {kk: 5}\n"
        "input: [3, 16, 16]\n"
        "defaults:\n"
        '  conv: {k: 3, padding: "k // 2", out: 4}\n'
        "layers:\n"
        "  - {op: conv, name: a}\n"
        "  - {op: conv, k: 1, name: b}\n"
        "  - {op: conv, k: kk, name: c}\n"
        "  - {op: conv, k: 7, stride: 2, name: d}\n"
        "  - {op: conv, k: 3, padding: 0, name: e}\n"
    )
    shapes = {layer.name: layer.shape for layer in graph.layers}
    assert shapes == {
        "a": (4, 16, 16),
        "b": (4, 16, 16),
        "c": (4, 16, 16),
        "d": (4, 8, 8),
        "e": (4, 6, 6),
    }
    assert [layer.args["padding"] for layer in graph.layers] == [
        (1, 1, 1, 1),
        (0, 0, 0, 0),
        (2, 2, 2, 2),
        (3, 3, 3, 3),
        (0, 0, 0, 0),
    ]


def test_a_default_chain_and_its_own_name() -> None:
    # dilation 2 from the default; padding d (k - 1) / 2 = 2 (3 - 1) / 2 = 2 keeps 9 x 9.
    # bias reads the param `bias` (its own name means the outer one), so it has none.
    graph = load(
        "params: {bias: 0}\n"
        "input: [1, 9, 9]\n"
        "defaults:\n"
        '  conv: {dilation: 2, padding: "dilation * (k - 1) // 2", bias: "bias == 1"}\n'
        "layers:\n"
        "  - {op: conv, out: 2, k: 3, name: a}\n"
    )
    (layer,) = graph.layers
    assert layer.shape == (2, 9, 9)
    assert layer.args["bias"] is False


def test_a_default_loop_is_refused_at_the_defaults_line() -> None:
    error = refused(
        "input: [1, 9, 9]\n"
        "defaults:\n"
        "  conv:\n"
        '    k: "2 * padding + 1"\n'
        '    padding: "k // 2"\n'
        "layers:\n"
        "  - {op: conv, out: 2, name: a}\n"
    )
    assert "the defaults of 'conv' refer to each other in a loop: k -> padding -> k" in (
        error.message
    )
    assert (error.file, error.line, error.layer) == ("net.yaml", 4, "a")


# --- c_in at the top level --------------------------------------------------------------------


def test_top_level_c_in_is_the_network_input() -> None:
    # The first layer reads the network input, so c_in = 3 is also its own input's width.
    graph = load("input: [3, 8, 8]\nlayers:\n  - {op: conv, out: 'c_in * 2', k: 1, name: a}\n")
    assert graph.layers[0].shape == (6, 8, 8)


def test_top_level_c_in_on_a_layer_of_other_width_is_refused() -> None:
    error = refused(
        "input: [3, 8, 8]\n"
        "layers:\n"
        "  - {op: conv, out: 16, k: 1, name: a}\n"
        "  - {op: conv, out: c_in, k: 1, name: b}\n"
    )
    assert "at the top level 'c_in' is the network input's 3 channels" in error.message
    assert "reads 'a' of 16" in error.message
    assert (error.file, error.line, error.layer) == ("net.yaml", 4, "b")


# --- extends ----------------------------------------------------------------------------------

BASE = """
params: {width: 1, res: 8}
input: [3, res, res]
layers:
  - {op: conv, out: "4 * width", k: 3, padding: 1, name: a}
"""


def thin(tmp_path, text: str, base: str = BASE) -> str:
    (tmp_path / "base.yaml").write_text(base)
    (tmp_path / "thin.yaml").write_text(text)
    return str(tmp_path / "thin.yaml")


def test_a_thin_file_is_its_base_with_other_defaults(tmp_path) -> None:
    path = thin(tmp_path, "extends: base.yaml\nname: wide\nparams: {width: 2, res: 16}\n")
    report = api.analyze(path)
    # conv 3 -> 8 channels, 3x3: 8 * 27 + 8 = 224 params; 8 * 27 * 16 * 16 = 55,296 MACs.
    assert report.architecture == "wide"
    assert report.layer("a").output_shape == (8, 16, 16)
    assert (report.totals.params, report.totals.macs) == (224, 55_296)
    # --set on the thin file still wins: width 3 gives 12 * 27 + 12 = 336 params.
    assert api.analyze(path, {"width": "3"}).totals.params == 336
    assert api.declared_params(path) == ["width", "res"]


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        ("extends: base.yaml\nparams: {depth: 2}\n", "has no parameter 'depth' to set", 2),
        ("extends: base.yaml\nlayers: []\n", "a file that 'extends' another has no key", 2),
        ("extends: thin.yaml\n", "'extends' cycle", 1),
        ("extends: nowhere.yaml\n", "no such file", 1),
        ("extends: base.yaml\nparams: {width: w}\n", "unknown name 'w'", 2),
    ],
)
def test_bad_extends_are_refused_in_the_thin_file(
    tmp_path, text: str, message: str, line: int
) -> None:
    path = thin(tmp_path, text)
    with pytest.raises(ConvcalcError) as info:
        api.analyze(path)
    assert message in info.value.message
    assert (Path(info.value.file).name, info.value.line) == ("thin.yaml", line)


def test_errors_in_the_base_name_the_base(tmp_path) -> None:
    path = thin(tmp_path, "extends: base.yaml\n", BASE.replace('"4 * width"', '"4 * wdth"'))
    with pytest.raises(ConvcalcError) as info:
        api.analyze(path)
    assert "unknown name 'wdth'" in info.value.message
    assert (Path(info.value.file).name, info.value.line, info.value.layer) == ("base.yaml", 5, "a")


# --- bad input through the command line: one message, file, line and layer, exit 1 ----------


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        (
            "input: [3, 8, 8]\n"
            "layers:\n"
            "  - {op: conv, out: 4, k: 1, name: a}\n"
            "  - {op: concat, from: [a, m.*], name: cat}\n",
            "bad.yaml:4: layer 'cat'",
            "'from' names 'm.*', but no repeated layer or block named 'm' is defined",
        ),
        (
            "params: {w: 0}\n"
            "input: [3, 8, 8]\n"
            "layers:\n"
            "  - {op: conv, out: 'round(log2(w))', k: 1, name: a}\n",
            "bad.yaml:4: layer 'a'",
            "log() of 0: the argument must be positive",
        ),
        (
            "input: [3, 8, 8]\n"
            "defaults:\n"
            "  conv: {k: 'dilation + 2', dilation: 'k - 2', out: 4}\n"
            "layers:\n"
            "  - {op: conv, name: a}\n",
            "bad.yaml:3: layer 'a'",
            "the defaults of 'conv' refer to each other in a loop: k -> dilation -> k",
        ),
    ],
)
def test_bad_schema_input_is_one_message(tmp_path, text: str, where: str, message: str) -> None:
    from typer.testing import CliRunner

    from convcalc.cli import app

    (tmp_path / "bad.yaml").write_text(text)
    result = CliRunner().invoke(app, ["analyze", str(tmp_path / "bad.yaml")])
    assert result.exit_code == 1
    assert "Traceback" not in result.stderr
    assert where in result.stderr and message in result.stderr, result.stderr
