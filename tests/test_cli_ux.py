"""The command line as a user meets it: tables that fit the terminal without cutting a
digit, a review-sized default, one unit policy, the same options everywhere, and help
where users get stuck (docs/cli.md)."""

from __future__ import annotations

import io
import json
import re
from fractions import Fraction
from pathlib import Path

import pytest
from rich.cells import cell_len
from rich.console import Console
from typer.testing import CliRunner

from convcalc import api
from convcalc.cli import app
from convcalc.render import table
from convcalc.render.text import elide_middle, fraction_text, ratio_text, review_depth

WIDTHS = (80, 120, 200)

# Totals published by torchvision's model cards (params) and DESIGN.md's anchors.
RESNET50_PARAMS = 25_557_032
VGG16_PARAMS = 138_357_544
MOBILENET_V2_PARAMS = 3_504_872
# MobileNet v1 (alpha 1, 224): 4,231,976 params, the count torchvision-style
# implementations print (paper: "4.2 million"); ResNet-50 MACs 4,089,184,256, the
# "4.09 GFLOPS" of torchvision's card.
MOBILENET_PARAMS = 4_231_976
RESNET50_MACS = 4_089_184_256


def render(pieces: list[table.Piece], width: int) -> str:
    console = Console(file=io.StringIO(), width=width, color_system=None)
    table.show(console, pieces)
    return console.file.getvalue()  # type: ignore[attr-defined]


def cells_of(text: str) -> list[list[str]]:
    """The cells of every body row of the box-drawn tables in ``text``."""
    return [
        [c.strip() for c in line.strip()[1:-1].split("│")]
        for line in text.splitlines()
        if line.startswith("│")
    ]


NUMBER = re.compile(r"^[\d,]+$")


def assert_fits(text: str, width: int) -> None:
    for line in text.splitlines():
        assert cell_len(line) <= width, f"wider than {width}: {line!r}"
    assert "…" not in "".join(c for row in cells_of(text) for c in row[1:]), "a cell was cut"


@pytest.mark.parametrize("width", WIDTHS)
def test_analyze_fits_every_width_and_keeps_exact_totals(width: int) -> None:
    report = api.analyze("resnet50")
    text = render(table.report_pieces(report), width)
    assert_fits(text, width)
    totals = {row[0]: row[1] for row in cells_of(text) if len(row) == 3}
    assert totals["params"] == f"{RESNET50_PARAMS:,}"
    assert totals["MACs"] == f"{RESNET50_MACS:,}"


@pytest.mark.parametrize("width", WIDTHS)
def test_every_count_cell_is_whole_exact_or_its_human_form(width: int) -> None:
    """No digit is lost: each params cell of the per-layer table is the full count, or its
    suffixed form (4.23M), never a prefix of either."""
    report = api.analyze("mobilenet_v2")
    text = render(table.report_pieces(report, 0), width)
    assert_fits(text, width)
    rows = [r for r in cells_of(text) if len(r) > 3]
    assert len(rows) == len(report.layers)
    from convcalc.render.text import exact, human

    for row, layer in zip(rows, report.layers, strict=True):
        assert row[0] == layer.name or "…" in row[0]
        assert exact(layer.params) in row or human(layer.params) in row, row


def test_narrow_layout_drops_columns_in_the_documented_order() -> None:
    report = api.analyze("mobilenet_v2")
    headers = {}
    for width in WIDTHS:
        grid = table.report_pieces(report, 2)[0].fit(width)  # type: ignore[union-attr]
        headers[width] = [h for h, _ in grid.columns]
    assert headers[200] == [
        "layer", "type", "args", "output", "params", "% params", "MACs", "% MACs", "FLOPs",
        "act. bytes", "RF",
    ]  # fmt: skip
    # 120: args merged into type first; 80: FLOPs, then activation bytes go.
    assert "args" not in headers[120] and "FLOPs" in headers[120]
    assert headers[80][:3] == ["layer", "type", "output"]
    assert "FLOPs" not in headers[80]


def test_long_names_elide_in_the_middle() -> None:
    assert elide_middle("layer3.5.conv3.bn", 12) == "layer3…v3.bn"
    assert len(elide_middle("x" * 40, 12)) == 12
    assert elide_middle("short", 12) == "short"


@pytest.mark.parametrize("width", WIDTHS)
def test_compare_fits_and_ratios_keep_four_digits(width: int) -> None:
    result = api.compare(["vgg16", "mobilenet", "resnet50"])
    text = render(table.comparison_pieces(result), width)
    assert_fits(text, width)
    # 4,231,976 / 138,357,544 = 0.030587... -> 4 significant digits.
    assert "x0.03059" in text
    assert "4 significant digits" in text


def test_ratio_text_states_four_digits_never_x4_for_3_998() -> None:
    assert ratio_text(Fraction(3998, 1000)) == "x3.998"
    assert ratio_text(Fraction(1, 4)) == "x0.25 (1/4)"
    assert ratio_text(Fraction(1)) == "x1"
    assert fraction_text(Fraction(3997, 1000)) == "3997/1000"


def test_compare_json_has_exact_fraction_ratios() -> None:
    result = CliRunner().invoke(app, ["compare", "vgg16", "mobilenet", "-f", "json"])
    doc = json.loads(result.stdout)
    exact = doc["exact_ratios"][1]["params"]
    assert Fraction(exact) == Fraction(MOBILENET_PARAMS, VGG16_PARAMS)
    assert doc["exact_ratios"][0]["params"] == "1"


def test_compare_csv_is_raw_numbers_and_fractions() -> None:
    result = CliRunner().invoke(app, ["compare", "vgg16", "mobilenet", "-f", "csv"])
    params = next(line for line in result.stdout.splitlines() if line.startswith("params,"))
    _, a, b, r = params.split(",")
    assert (int(a), int(b)) == (VGG16_PARAMS, MOBILENET_PARAMS)
    assert Fraction(r) == Fraction(MOBILENET_PARAMS, VGG16_PARAMS)


# --- a review-sized default --------------------------------------------------------------


def test_long_networks_fold_to_at_most_40_rows_with_a_hint() -> None:
    result = CliRunner().invoke(app, ["analyze", "resnet50"])
    assert result.exit_code == 0
    text = result.stdout
    rows = [r for r in cells_of(text) if len(r) > 3]
    assert 0 < len(rows) <= 40
    assert "--full shows every layer" in text
    assert f"{RESNET50_PARAMS:,}" in text


def test_full_shows_every_layer_and_depth_wins() -> None:
    report = api.analyze("resnet50")
    full = CliRunner().invoke(app, ["analyze", "resnet50", "--full"]).stdout
    assert len([r for r in cells_of(full) if len(r) > 3]) == len(report.layers)
    assert "--full shows" not in full
    depth1 = CliRunner().invoke(app, ["analyze", "resnet50", "--depth", "1"]).stdout
    names = [r[0] for r in cells_of(depth1) if len(r) > 3]
    assert "layer1" in names and "--full shows" not in depth1


def test_review_depth_is_the_deepest_fold_within_the_limit() -> None:
    from convcalc.report import LayerRow

    def rows(names: list[str]) -> list[LayerRow]:
        return [LayerRow(n, "conv", (), (1,), 0, 0, 0, 0, 0, None) for n in names]

    # 3 stages x 4 blocks x 5 layers = 60 rows; depth 1: 3 rows, depth 2: 12, depth 3: 60.
    names = [f"s{s}.b{b}.l{i}" for s in range(3) for b in range(4) for i in range(5)]
    assert review_depth(rows(names), 40) == 2
    assert review_depth(rows(names), 11) == 1
    assert review_depth(rows(names[:30]), 40) is None  # short enough already
    assert review_depth(rows([f"l{i}" for i in range(60)]), 40) is None  # nothing folds


def test_markdown_csv_and_json_keep_every_layer() -> None:
    report = api.analyze("resnet50")
    csv_text = CliRunner().invoke(app, ["analyze", "resnet50", "-f", "csv"]).stdout
    assert len(csv_text.strip().splitlines()) == 1 + len(report.layers)


# --- one unit policy ---------------------------------------------------------------------


def test_activation_bytes_are_binary_in_the_layer_table_like_the_totals() -> None:
    text = render(table.report_pieces(api.analyze("vgg16"), 1), 200)
    block1 = next(r for r in cells_of(text) if r[0] == "block1")
    # block1's outputs: four 64x224x224 maps (two convs, two ReLUs) and the 64x112x112
    # pool: (4 * 3,211,264 + 802,816) values x 4 bytes = 54,591,488 B = 52.06 MiB.
    assert "52.1 MiB" in block1


def test_sweep_table_has_human_suffixes() -> None:
    # LeNet-5's trainable parameters per layer in LeCun et al. 1998, Section II.B: C1 156,
    # S2 12, C3 1,516, S4 32, C5 48,120, F6 10,164, output 84 x 10 = 840: 60,840.
    from convcalc.sweep import Sweep

    # The layout alone (the sweep engine has tests of its own): one point of LeNet-5.
    row = {"classes": 10, "params": 60_840, "macs": 1, "flops": 2, "peak_activation_bytes": 3}
    result = Sweep("lenet5", ["classes"], [row])
    text = render(table.sweep_pieces(result), 200)
    assert "60,840 (60.8K)" in text
    narrow = render(table.sweep_pieces(result), 40)
    assert "60.8K" in narrow and "60,840" not in narrow


# --- options that mean the same everywhere -----------------------------------------------

#: The commands that read an architecture, and the options each must take.
ARCH_COMMANDS = ("analyze", "compare", "sweep", "explain", "validate", "report", "plot")
PARAM_OPTIONS = ("--alpha", "--rho", "--set", "--input", "--dtype")
#: Known gaps, each failing the test strictly until it is closed.
GAPS: set[tuple[str, str]] = set()  # options a command lacks (none now)


def _options(command: str) -> set[str]:
    import typer.main

    click_command = typer.main.get_command(app).commands[command]  # type: ignore[attr-defined]
    return {o for p in click_command.params for o in getattr(p, "opts", [])}


@pytest.mark.parametrize(
    ("command", "option"),
    [
        pytest.param(
            c,
            o,
            marks=pytest.mark.xfail(strict=True, reason="known gap") if (c, o) in GAPS else (),
        )
        for c in ARCH_COMMANDS
        for o in PARAM_OPTIONS
    ],
)
def test_every_architecture_command_takes_the_parameter_options(command: str, option: str) -> None:
    assert option in _options(command)


@pytest.mark.parametrize(
    ("command", "option"),
    [(c, "--batch") for c in ("analyze", "compare", "sweep")]
    + [(c, "--budget") for c in ("analyze", "compare")],
)
def test_batch_and_budget_where_they_exist(command: str, option: str) -> None:
    assert option in _options(command)


@pytest.mark.parametrize("command", ["analyze", "compare"])
def test_quiet_and_no_warnings_on_analyze_and_compare(command: str) -> None:
    assert {"--no-warnings", "--quiet", "-q"} <= _options(command)


def test_validate_takes_the_options_of_analyze() -> None:
    # mobilenet_v2 declares alpha and rho; 3x64x64 is a valid input.
    argv = ["mobilenet_v2", "--alpha", "0.5", "--rho", "0.714", "--input", "3x64x64"]
    result = CliRunner().invoke(app, ["validate", *argv, "--dtype", "int8"])
    assert result.exit_code == 0, result.output
    bad = CliRunner().invoke(app, ["validate", "unet", "--alpha", "0.5"])
    assert bad.exit_code == 2  # unet declares no alpha: a usage error, as for analyze
    assert CliRunner().invoke(app, ["analyze", "unet", "--alpha", "0.5"]).exit_code == 2


@pytest.mark.parametrize(
    "argv", [["layers", "-f", "json"], ["layers", "conv", "-f", "json"], ["list", "-f", "json"]]
)
def test_listed_json_format_prints_json(argv: list[str]) -> None:
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 0
    assert isinstance(json.loads(result.stdout), list)


@pytest.mark.parametrize("name", ["xception", "blocks/hdc_2_2_2"])
def test_analyze_and_validate_report_the_same_diagnostic_objects(name: str) -> None:
    analysed = json.loads(CliRunner().invoke(app, ["analyze", name, "-f", "json"]).stdout)
    validated = json.loads(CliRunner().invoke(app, ["validate", name, "-f", "json"]).stdout)
    assert analysed["diagnostics"] == validated["diagnostics"]
    assert analysed["diagnostics"], "both files have warnings (see docs/validate.md)"
    for d in analysed["diagnostics"]:
        assert {"code", "severity", "layer", "message", "hint"} <= set(d)
    assert len(analysed["warnings"]) == len(analysed["diagnostics"])


def test_xception_branch_centring_is_a_coded_warning_on_its_layer() -> None:
    # Xception's block3: the shortcut is a strided 1x1 conv, the main path two separable
    # 3x3 convs and a 3x3 pool: the branches' fields are centred at different pixels.
    doc = json.loads(CliRunner().invoke(app, ["validate", "xception", "-f", "json"]).stdout)
    centring = [d for d in doc["diagnostics"] if d["code"] == "rf-centring"]
    assert centring and centring[0]["layer"] == "block3.add"


def test_no_warnings_silences_analyze_in_every_format() -> None:
    loud = CliRunner().invoke(app, ["analyze", "xception"])
    assert "warning:" in loud.stderr
    quiet = CliRunner().invoke(app, ["analyze", "xception", "--no-warnings"])
    assert quiet.stderr == "" and quiet.exit_code == 0
    doc = json.loads(CliRunner().invoke(app, ["analyze", "xception", "-q", "-f", "json"]).stdout)
    assert doc["warnings"] == [] and doc["diagnostics"] == []


# --- help where users get stuck ----------------------------------------------------------


def _error(argv: list[str]) -> tuple[int, str]:
    result = CliRunner().invoke(app, argv)
    return result.exit_code, result.stderr


def test_a_mistyped_bundled_name_gets_a_suggestion() -> None:
    code, err = _error(["analyze", "resnet5O"])  # a letter O for the zero
    assert code == 4
    assert "did you mean 'resnet50'" in err


def test_a_path_with_the_other_extension_gets_the_real_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    nets = tmp_path / "nets"
    nets.mkdir()
    (nets / "unet.yaml").write_text("input: [3, 8, 8]\nlayers:\n  - {op: relu}\n")
    monkeypatch.chdir(tmp_path)
    code, err = _error(["analyze", "nets/unet.yml"])
    assert code == 4
    assert "did you mean 'nets/unet.yaml'?" in err


def test_a_name_like_nothing_gets_no_suggestion() -> None:
    code, err = _error(["analyze", "zzzzqqqq"])
    assert code == 4 and "did you mean" not in err


INDENT_CASES = {
    # a key indented one space more than its item's keys
    "input: [3, 8, 8]\nlayers:\n  - op: conv\n    out: 4\n     k: 3\n": (
        5,
        "line 5 is indented 5 spaces, which matches no line above it",
    ),
    # a key back at the column of the list's dashes
    "input: [3, 8, 8]\nlayers:\n  - op: conv\n    out: 4\n  k: 3\n": (
        5,
        "indent it 4 spaces to line up with the keys of the item above",
    ),
}


@pytest.mark.parametrize("text", list(INDENT_CASES))
def test_yaml_indentation_errors_get_a_hint(text: str, tmp_path: Path) -> None:
    line, hint = INDENT_CASES[text]
    path = tmp_path / "net.yaml"
    path.write_text(text)
    code, err = _error(["analyze", str(path)])
    assert code == 1
    assert f"net.yaml:{line}: YAML syntax error" in err
    assert hint in err


def test_a_merge_with_one_input_says_to_write_from(tmp_path: Path) -> None:
    path = tmp_path / "net.yaml"
    path.write_text(
        "input: [3, 8, 8]\nlayers:\n  - {op: conv, out: 4, k: 3, padding: 1, name: a}\n"
        "  - {op: add, name: s}\n"
    )
    code, err = _error(["analyze", str(path)])
    assert code == 1
    assert "net.yaml:4: layer 's'" in err
    assert "write from: [a, b]" in err


# --- what the anchors' users expect ------------------------------------------------------


def _complete(words: str) -> list[str]:
    env = {
        "_CONVCALC_COMPLETE": "complete_bash",
        "COMP_WORDS": words,
        "COMP_CWORD": str(len(words.split()) - 1),
    }
    result = CliRunner().invoke(app, [], env=env, prog_name="convcalc")
    assert result.exit_code == 0
    return result.stdout.split()


def test_shell_completion_of_commands_options_and_bundled_names() -> None:
    assert _complete("convcalc ana") == ["analyze"]
    assert "--full" in _complete("convcalc analyze --fu")
    assert _complete("convcalc analyze resnet5") == ["resnet50"]


def test_version_and_completion_options() -> None:
    import typer.main

    root = typer.main.get_command(app)
    options = {o for p in root.params for o in getattr(p, "opts", [])}
    assert {"--version", "--install-completion", "--show-completion"} <= options
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout.startswith("convcalc ")


def test_tree_nests_layers_under_block_subtotals() -> None:
    from convcalc.render.text import tree

    report = api.analyze("resnet18")
    nested = tree(report.layers)
    rows = {row.name: (level, label, row) for level, label, row in nested}
    # torchvision's resnet18 layer1: two basic blocks, each two 3x3 convs 64->64 without
    # bias (64 * 64 * 9 = 36,864) and two batch norms (2 * 64 = 128 params each).
    assert rows["layer1"][2].params == 2 * (2 * 36_864 + 2 * 128) == 147_968
    assert rows["layer1.0"][:2] == (1, "0")
    assert rows["layer1.0.conv1.conv"][:2] == (3, "conv")
    # layer4.0: 3x3 256->512 (1,179,648), 3x3 512->512 (2,359,296), the 1x1 256->512
    # shortcut (131,072) and three batch norms of 512 channels (3 * 1,024).
    assert rows["layer4.0"][2].params == 1_179_648 + 2_359_296 + 131_072 + 3 * 1_024
    # every block row is the sum of the rows one level under it
    for i, (level, _, row) in enumerate(nested):
        children = []
        for deeper, _, child in nested[i + 1 :]:
            if deeper <= level:
                break
            if deeper == level + 1:
                children.append(child)
        if children:
            assert row.params == sum(c.params for c in children), row.name
            assert row.macs == sum(c.macs for c in children), row.name
    assert sum(r.params for lvl, _, r in nested if lvl == 0) == report.totals.params


def test_tree_depth_stops_the_nesting() -> None:
    from convcalc.render.text import tree

    nested = tree(api.analyze("resnet18").layers, 2)
    assert max(level for level, _, _ in nested) == 1
    assert [label for level, label, _ in nested if level == 1][:2] == ["conv", "bn"]


@pytest.mark.parametrize("width", WIDTHS)
def test_tree_on_the_command_line_fits(width: int) -> None:
    text = render(table.report_pieces(api.analyze("resnet18"), 2, tree=True), width)
    assert_fits(text, width)
    names = [r[0] for r in cells_of(text) if len(r) > 3]
    assert "layer1" in names and "0" in names


def test_tree_in_markdown_marks_levels() -> None:
    result = CliRunner().invoke(app, ["analyze", "resnet18", "--tree", "-f", "markdown"])
    assert "| · · · conv | conv |" in result.stdout  # layer1.0.conv1.conv, three levels in


def test_analysis_warnings_get_codes_layers_and_lines() -> None:
    from convcalc.diagnostics import from_warnings
    from convcalc.pipeline import load

    graph = load("lenet5")
    first = graph.layers[0]
    found = from_warnings(
        [
            f"{first.name}: branches meet with receptive fields centred differently (...)",
            f"{first.name}: branches have different jumps [1, 2]",
            f"{first.name}: the receptive field after this layer needs concrete sizes",
            "not a layer: something else",
        ],
        graph,
    )
    assert [d.code for d in found] == ["rf-centring", "rf-jumps", "rf-untracked", "analysis"]
    assert (found[0].layer, found[0].line) == (first.name, first.line)
    assert found[3].layer is None and found[3].message == "not a layer: something else"
    assert all(d.severity == "warning" for d in found)


# Running mean and variance per network, measured with torchvision 0.28:
# sum(b.numel() for n, b in model.named_buffers() if "running" in n). PyTorch's one
# num_batches_tracked counter per batch norm (53 in resnet50) is not counted.
TORCHVISION_RUNNING_STATS = {"resnet50": 53_120, "mobilenet_v2": 34_112, "resnet18": 9_600}


@pytest.mark.parametrize("name", list(TORCHVISION_RUNNING_STATS))
def test_buffers_are_shown_apart_from_the_trainable_params(name: str) -> None:
    doc = json.loads(CliRunner().invoke(app, ["analyze", name, "-f", "json"]).stdout)
    assert doc["totals"]["buffers"] == TORCHVISION_RUNNING_STATS[name]
    text = CliRunner().invoke(app, ["analyze", name]).stdout
    row = next(r for r in cells_of(text) if r[0] == "buffers (not trained)")
    assert row[1] == f"{TORCHVISION_RUNNING_STATS[name]:,}"


def test_a_network_without_batch_norm_has_no_buffer_row() -> None:
    text = CliRunner().invoke(app, ["analyze", "vgg16"]).stdout  # torchvision's vgg16: no BN
    assert "buffers" not in text
    doc = json.loads(CliRunner().invoke(app, ["analyze", "vgg16", "-f", "json"]).stdout)
    assert doc["totals"]["buffers"] == 0


def test_a_merge_that_fails_names_where_sizes_stopped_dividing(tmp_path) -> None:
    path = tmp_path / "uneven.yaml"
    path.write_text(
        "convcalc: 1\nname: uneven\ninput: [3, 15, 15]\nlayers:\n"
        "  - {op: conv, out: 4, k: 3, padding: 1, name: stem}\n"
        "  - {op: conv, out: 8, k: 3, stride: 2, padding: 1, name: down}\n"
        "  - {op: upsample, scale: 2, name: up}\n"
        "  - {op: concat, from: [stem, up], name: cat}\n"
    )
    result = CliRunner().invoke(app, ["analyze", str(path)])
    assert result.exit_code == 1
    # 15 rows through a stride-2 conv give ceil(15 / 2) = 8, upsampled to 16: the concat
    # with the 15-row stem fails, and the cause is the conv named down.
    assert "layer 'cat'" in result.output
    assert (
        "sizes stop dividing evenly at down: its input height 15 is not a multiple of its stride 2"
        in result.output
    )


def test_sweep_input_is_the_analysis_input() -> None:
    result = CliRunner().invoke(
        app, ["sweep", "mobilenet", "--alpha", "1", "--input", "3x160x160", "-f", "json"]
    )
    assert result.exit_code == 0, result.output
    (row,) = json.loads(result.stdout)["rows"]
    # MobileNet 1.0 at 160 x 160: 290 million mult-adds (Howard et al. 2017, Table 7)
    assert round(row["macs"], -7) == 290_000_000
    doc = json.loads(
        CliRunner()
        .invoke(app, ["analyze", "mobilenet", "--input", "3x160x160", "-f", "json"])
        .stdout
    )
    assert row["macs"] == doc["totals"]["macs"]
