"""What a hostile architecture file (or option) can do to a terminal, a CI job and a
spreadsheet: nothing (docs/security.md).

Each class of attack is a table of generated cases:

- **terminal**: escape sequences (CSI, OSC 52 clipboard writes, OSC 8 hyperlinks), carriage
  returns, bidirectional overrides, C1 controls and rich markup in every place untrusted
  text reaches the output (a file's name, a missing path, an import, a device profile's
  title and sources, compare labels), rendered through a pseudo-terminal so rich draws
  exactly what a user's terminal would receive;
- **CSV and markdown**: formula and table injection in the same places, checked by parsing
  the output;
- **imports**: absolute paths, ``..`` out of the tree, links out, link loops, pipes,
  devices, directories, paths too long, NUL, files that are not block libraries, with no
  error quoting an imported file's content;
- **budgets**: sweep grids refused from their size before anything is built, merge fan-in,
  YAML bytes across imports, conditions on free parameters and the symbolic time bound;
- **pipes**: a closed stdout ends quietly.

No command here may print a traceback or exit 70.
"""

from __future__ import annotations

import csv
import io
import json
import os
import pty
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from convcalc import api, context
from convcalc.cli import app
from convcalc.errors import ExitCode, LimitError
from convcalc.render.sanitize import csv_cell, markdown_cell, visible
from convcalc.schema import loader

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
runner = CliRunner()

NET = "input: [1, 8, 8]\nlayers:\n  - {op: conv, out: 2, k: 3, padding: 1, name: c}\n"

# Text that acts on a terminal, each as YAML can carry it in a double-quoted string.
PAYLOADS = {
    "csi_clear_screen": "\x1b[2J\x1b[H",
    "osc52_clipboard": "\x1b]52;c;ZWNobyBwd25lZA==\x07",
    "osc8_hyperlink": "\x1b]8;;http://evil.example/\x1b\\click\x1b]8;;\x1b\\",
    "carriage_return": "safe\roverwritten",
    "bidi_override": "\u202eexe.gnp",
    "bidi_isolate": "\u2066hidden\u2069",
    "c1_csi": "\x9b31mred",
    "bell_backspace": "a\x07\x08\x08b",
    "rich_link": "[link=http://evil.example/]click[/link]",
    "rich_closing_tag": "x[/]y[/bold]",
}
# The only escape sequences convcalc itself sends to a terminal: colours and styles.
_SGR = re.compile(r"\x1b\[[0-9;]*m")
_ACTING = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _yaml_string(text: str) -> str:
    """``text`` as a YAML double-quoted scalar (every non-printable as an escape)."""
    return json.dumps(text, ensure_ascii=True)


def _file_name(text: str) -> str:
    """A file name carrying ``text`` ('/' cannot be in one; ':' would split a compare item
    into name and parameters)."""
    return text.replace("/", "_").replace("\x00", "_").replace(":", ";") + ".yaml"


def _terminal_cases(tmp: Path) -> list[tuple[str, list[str]]]:
    """(case id, argv) for every payload in every place it can reach the terminal."""
    cases = []
    for name, payload in PAYLOADS.items():
        evil = tmp / _file_name(payload)
        evil.write_text(NET)
        device = tmp / f"device_{name}.yaml"
        device.write_text(
            "convcalc_device: 1\nname: evil\n"
            f"title: {_yaml_string(payload)}\nclass: budget\nextends: pixel1-bigcore\n"
            "budgets:\n  latency_s: 0.000001\n"
            f"sources:\n  budgets.latency_s: {_yaml_string(payload)}\n"
        )
        importer = tmp / f"import_{name}.yaml"
        importer.write_text(f"imports: [{_yaml_string(payload)}]\n" + NET)
        cases += [
            (f"{name}-file-name", ["analyze", str(evil)]),
            (f"{name}-missing-path", ["analyze", str(tmp / ("nope" + payload))]),
            (f"{name}-import-path", ["analyze", str(importer)]),
            (f"{name}-device-profile", ["analyze", str(tmp / "plain.yaml"), "--device-file",
                                        str(device)]),
            (f"{name}-compare-labels", ["compare", str(evil), str(tmp / "plain.yaml")]),
        ]  # fmt: skip
    (tmp / "plain.yaml").write_text(NET)
    return cases


_CHILD = """
import json, sys
from convcalc import cli
cases = json.load(open(sys.argv[1]))
for i, argv in enumerate(cases):
    sys.stdout.write(f"\\n<<<case {i}>>>\\n"); sys.stdout.flush()
    sys.argv = ["convcalc", *argv]
    try:
        cli.main()
    except SystemExit as e:
        code = e.code
    sys.stdout.flush(); sys.stderr.flush()
    sys.stdout.write(f"\\n<<<exit {i} {code}>>>\\n"); sys.stdout.flush()
"""


def _through_a_terminal(argvs: list[list[str]], tmp: Path) -> str:
    """Run every command line in one child whose stdin, stdout and stderr are a
    pseudo-terminal 400 columns wide, and return what the terminal received."""
    import fcntl
    import struct
    import termios

    listing = tmp / "cases.json"
    listing.write_text(json.dumps(argvs))
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 60, 400, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    env.update(TERM="xterm-256color", COLUMNS="400", LINES="60", PYTHONIOENCODING="utf-8")
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(listing)],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        cwd=tmp,
        close_fds=True,
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 1 << 16)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    child.wait(timeout=120)
    os.close(master)
    return b"".join(chunks).decode("utf-8", errors="replace")


@pytest.fixture(scope="module")
def terminal(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[str, int]]:
    """Each terminal case's output (stdout and stderr as the terminal got them) and exit
    code."""
    tmp = tmp_path_factory.mktemp("terminal")
    cases = _terminal_cases(tmp)
    text = _through_a_terminal([argv for _, argv in cases], tmp)
    out = {}
    for i, (name, _) in enumerate(cases):
        body = text.split(f"<<<case {i}>>>", 1)[1].split(f"<<<exit {i} ", 1)
        out[name] = (body[0], int(body[1].split(">>>", 1)[0]))
    return out


TERMINAL_CASES = [
    f"{name}-{place}"
    for name in PAYLOADS
    for place in ("file-name", "missing-path", "import-path", "device-profile", "compare-labels")
]


@pytest.mark.parametrize("case", TERMINAL_CASES)
def test_nothing_from_a_file_acts_on_the_terminal(terminal: dict, case: str) -> None:
    shown, code = terminal[case]
    assert code != int(ExitCode.INTERNAL), shown
    assert "Traceback" not in shown and "internal error" not in shown, shown
    received = _SGR.sub("", shown).replace("\r\n", "\n")
    assert "\x1b" not in received, repr(received)
    assert not _ACTING.search(received), repr(received)
    payload = PAYLOADS[case.split("-", 1)[0]]
    if "[" in payload:  # markup shows as the text it is (rich would have eaten the tags)
        assert "[" in received.split("\n", 1)[0] + received, received


def test_the_terminal_cases_really_reach_the_output(terminal: dict) -> None:
    """The cases would fail without the sanitiser: the payload's visible form is there."""
    for case in ("csi_clear_screen-missing-path", "osc52_clipboard-import-path"):
        assert "\\x1b" in terminal[case][0], terminal[case][0]
    shown, code = terminal["bidi_override-device-profile"]
    assert "\\u202e" in shown and code == 0, shown
    assert "click[/link]" in terminal["rich_link-device-profile"][0]


# --- CSV and markdown ----------------------------------------------------------------------

FORMULAS = {
    "equals": '=HYPERLINK("http://evil.example/","x")',
    "plus": "+cmd|' /C calc'!A0",
    "minus": "-2+3+cmd|' /C calc'!A0",
    "at": "@SUM(A1:A9)",
    "tab": "\t=1+1",
    "cr": "\r=1+1",
}
MARKUP = {
    "pipe": "a|b|c",
    "escaped_pipe": "a\\|b",
    "html": "<img src=x onerror=alert(1)>",
    "closing_tag": "</td></tr><script>x</script>",
    "newline": "first\nsecond",
    "image": "![t](http://evil.example/t.png)",
    "entity": "&lt;b&gt;",
}


def _compare(tmp: Path, label: str, fmt: str) -> str:
    """``convcalc compare`` of a file named ``label`` with a plain one, run in ``tmp`` so
    the label is the name itself."""
    (tmp / _file_name(label)).write_text(NET)
    (tmp / "plain.yaml").write_text(NET)
    old = Path.cwd()
    os.chdir(tmp)
    try:
        result = runner.invoke(app, ["compare", "-f", fmt, "--", _file_name(label), "plain.yaml"])
    finally:
        os.chdir(old)
    assert result.exit_code == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize("name", sorted(FORMULAS))
def test_no_csv_cell_runs_in_a_spreadsheet(tmp_path: Path, name: str) -> None:
    text = _compare(tmp_path, FORMULAS[name], "csv")
    cells = [c for row in csv.reader(io.StringIO(text)) for c in row]
    assert any(_file_name(FORMULAS[name]).replace("\t", "\\t").replace("\r", "\\r") in c
               for c in cells), cells  # fmt: skip
    for cell in cells:
        if cell[:1] in ("=", "+", "-", "@", "\t", "\r"):
            assert re.fullmatch(r"-?\d+(\.\d+)?(/\d+)?", cell), cell


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("-3", "-3"),  # numbers stay numbers
        ("-0.25", "-0.25"),
        ("-1/3", "-1/3"),
        ("1e-05", "1e-05"),
        ("+7", "+7"),
        ("-alpha + 2", "'-alpha + 2"),  # a formula of free parameters: readable, not run
        ("=1+1", "'=1+1"),
        ("@A1", "'@A1"),
        ("\t=1", "\\t=1"),  # a tab or CR is shown as its escape, so it never leads
        ("\r=1", "\\r=1"),
        ("plain", "plain"),
        (17, 17),
    ],
)
def test_the_csv_rule(cell: object, expected: object) -> None:
    assert csv_cell(cell) == expected


def _markdown_rows(text: str) -> list[list[str]]:
    """The cells of every table row, split on unescaped pipes as GitHub does."""
    rows = []
    for line in text.splitlines():
        if not line.startswith("|"):
            continue
        cells, cell, escaped = [], "", False
        for char in line[1:]:
            if escaped:
                cell, escaped = cell + char, False
            elif char == "\\":
                cell, escaped = cell + char, True
            elif char == "|":
                cells.append(cell)
                cell = ""
            else:
                cell += char
        rows.append(cells)
    return rows


@pytest.mark.parametrize("name", sorted(MARKUP) + sorted(FORMULAS))
def test_every_markdown_cell_stays_one_cell_of_text(tmp_path: Path, name: str) -> None:
    label = {**MARKUP, **FORMULAS}[name]
    text = _compare(tmp_path, label, "markdown")
    rows = _markdown_rows(text)
    assert rows and len({len(r) for r in rows}) == 1, rows  # every row as wide as the header
    assert not re.search(r"<(?!br>)[A-Za-z/!?]", text), text  # no HTML but convcalc's <br>
    assert "![" not in text
    assert not _ACTING.search(text.replace("\n", "")), repr(text)
    assert len([line for line in text.splitlines() if line.startswith("|")]) == len(rows)


@pytest.mark.parametrize("text", [*PAYLOADS.values(), *MARKUP.values(), *FORMULAS.values()])
def test_the_sanitiser_is_idempotent_and_never_emits_controls(text: str) -> None:
    once = visible(text)
    assert visible(once) == once
    assert not _ACTING.search(once) and "\n" not in once
    assert "\n" not in markdown_cell(text) and "|" not in markdown_cell(text).replace("\\|", "")


# --- imports -------------------------------------------------------------------------------

SECRET = "aws_secret_access_key = AKIAEXAMPLESECRET"


def _imports(tmp: Path, ref: str) -> tuple[int, str]:
    """Analyse a file in ``tmp/arch`` that imports ``ref``; (exit code, stderr)."""
    arch = tmp / "arch"
    arch.mkdir(exist_ok=True)
    net = arch / "net.yaml"
    net.write_text(f"imports: [{_yaml_string(ref)}]\n" + NET)
    result = runner.invoke(app, ["analyze", str(net)])
    assert result.stdout == "" or result.exit_code == 0
    return result.exit_code, result.stderr


def _world(tmp: Path) -> None:
    """A secret outside the architecture's folder, and links, a pipe and files inside."""
    arch = tmp / "arch"
    (arch / "sub").mkdir(parents=True, exist_ok=True)
    (tmp / "secret.txt").write_text(SECRET + "\n")
    (arch / "secret_beside.txt").write_text(SECRET + "\n")
    (arch / "broken.yaml").write_text(f"{SECRET}: [unclosed\n")
    (arch / "dupes.yaml").write_text(f"k: {SECRET}\nk: {SECRET}\n")
    (arch / "notlib.yaml").write_text(f"layers: [{SECRET}]\n")
    (arch / "lib.yaml").write_text("blocks:\n  b:\n    body:\n      - {op: relu}\n")
    (arch / "sub" / "up.yaml").write_text("imports: [../lib.yaml]\nblocks: {}\n")
    for name, target in (
        ("out_link.yaml", tmp / "secret.txt"),
        ("etc_link.yaml", Path("/etc/passwd")),
        ("loop.yaml", arch / "loop.yaml"),
        ("zero.yaml", Path("/dev/zero")),
    ):
        link = arch / name
        if not link.is_symlink():
            link.symlink_to(target)
    if not (arch / "pipe.yaml").exists():
        os.mkfifo(arch / "pipe.yaml")


IMPORT_CASES = {
    # ref: (exit code, fragment of the message)
    "/etc/passwd": (1, "is an absolute path"),
    "/dev/zero": (1, "is an absolute path"),
    "../secret.txt": (1, "leads outside the architecture's folder"),
    "sub/../../secret.txt": (1, "leads outside the architecture's folder"),
    "../../../../../../../../etc/passwd": (1, "leads outside"),
    "../nonexistent.yaml": (1, "leads outside"),  # refused before the file system is asked
    "out_link.yaml": (1, "is a link that leads outside"),
    "etc_link.yaml": (1, "is a link that leads outside"),
    "loop.yaml": (4, "Too many levels of symbolic links"),
    "zero.yaml": (1, "is a link that leads outside"),
    "pipe.yaml": (4, "is not a regular file"),
    "sub": (4, "is not a regular file"),
    "a" * 5000: (4, "File name too long"),
    "x\x00y": (4, "NUL"),
    "secret_beside.txt": (1, "must be a block library"),
    "notlib.yaml": (1, "must be a block library"),
    "broken.yaml": (1, "YAML syntax error"),
    "dupes.yaml": (1, "duplicate key"),
    "missing.yaml": (4, "no such file or bundled architecture"),
}


@pytest.mark.parametrize("ref", sorted(IMPORT_CASES), ids=lambda r: r[:40])
def test_imports_stay_inside_the_architecture(tmp_path: Path, ref: str) -> None:
    _world(tmp_path)
    start = time.perf_counter()
    code, err = _imports(tmp_path, ref)
    assert time.perf_counter() - start < 5
    exit_code, fragment = IMPORT_CASES[ref]
    assert code == exit_code, err
    assert fragment in err, err
    assert err.startswith("error: ") and "Traceback" not in err
    assert "AKIAEXAMPLESECRET" not in err and "aws_secret" not in err, err
    assert len(err) < 500, err  # a path thousands long is cut


@pytest.mark.parametrize(
    "content",
    [
        f"{SECRET}\n",  # one string
        f"password: {SECRET}\n",  # a mapping of keys convcalc does not know
        f"k: {SECRET}\nk: {SECRET}\n",  # a duplicate key
        f"{SECRET}: 2001-13-45\n",  # a value YAML cannot build
        f"[default]\n{SECRET}\n",  # INI syntax
        f"- {SECRET}\n- {{{SECRET}: 1}}\n",  # a list
    ],
)
def test_a_file_that_is_not_convcalcs_is_never_quoted(tmp_path: Path, content: str) -> None:
    """Named on the command line by mistake (a credentials file), a file that has none of
    convcalc's top-level keys is refused by line only."""
    path = tmp_path / "credentials"
    path.write_text(content)
    result = runner.invoke(app, ["analyze", str(path)])
    assert result.exit_code == int(ExitCode.SPEC), result.stderr
    assert "AKIAEXAMPLESECRET" not in result.stderr and "aws_secret" not in result.stderr
    assert "password" not in result.stderr, result.stderr


def test_imports_may_go_up_inside_the_tree_and_into_the_library(tmp_path: Path) -> None:
    _world(tmp_path)
    for ref in ("lib.yaml", "sub/up.yaml", "lib/resnet.yaml", "lib/densenet"):
        code, err = _imports(tmp_path, ref)
        assert code == 0, (ref, err)
    # Bundled block files import '../lib/...' inside the bundled library.
    assert runner.invoke(app, ["analyze", "blocks/shufflenet_unit_s1"]).exit_code == 0


def test_a_file_named_on_the_command_line_is_read_only_if_regular(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.yaml")
    for arch in (str(tmp_path / "pipe.yaml"), "/dev/zero", str(tmp_path), "a" * 300 + "/x"):
        result = runner.invoke(app, ["analyze", arch])
        assert result.exit_code == int(ExitCode.FILE), result.stderr
        assert "Traceback" not in result.stderr and len(result.stderr) < 400


@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="needs /proc")
def test_size_is_bounded_by_what_is_read_not_by_stat(monkeypatch) -> None:
    # /proc files are regular files whose stat size is 0, whatever they hold.
    status = Path("/proc/self/status")
    assert status.stat().st_size == 0
    assert len(loader._read_at_most(status, "status", 10)) == 11  # the limit and one more
    monkeypatch.setattr(loader, "MAX_FILE_BYTES", 10)
    with pytest.raises(LimitError, match="more than 10 bytes"):
        loader.read_text(status, "status")


# --- budgets -------------------------------------------------------------------------------

SWEEP_CASES = {
    "one range over the limit": (["--alpha", "0:1:0.0000001"], "more than 1000000 points"),
    "many parts over the limit": (["--alpha", ",".join(["0:1:0.00001"] * 11)], "more than"),
    "two ranges within the limit": (
        ["--alpha", "0.001:1:0.001", "--rho", "0.0001:1:0.0001"],
        "the grid has 10000000 points; the limit is 1000000",
    ),
    "three axes": (
        ["--alpha", "0.01:1:0.01", "--rho", "0.01:1:0.01", "--vary", "x=1:200:1"],
        "the grid has 2000000 points",
    ),
    "a device analyses each point": (
        ["--alpha", "0.001:1:0.001", "--rho", "0.5,1", "--device", "pixel1-bigcore"],
        "each must be analysed",
    ),
}


@pytest.mark.parametrize("case", sorted(SWEEP_CASES))
def test_sweep_grids_are_refused_from_their_size(case: str) -> None:
    argv, fragment = SWEEP_CASES[case]
    start = time.perf_counter()
    result = runner.invoke(app, ["sweep", "mobilenet", *argv])
    assert time.perf_counter() - start < 5  # refused before anything is built
    assert result.exit_code == int(ExitCode.LIMIT), result.stderr
    assert fragment in result.stderr


def test_a_compiled_sweep_streams_its_rows() -> None:
    result = api.sweep("mobilenet", {"alpha": api.parse_values("0.25:1:0.25")})
    assert type(result.rows).__name__ == "Rows" and len(result.rows) == 4
    assert result.rows[-1] == list(result.rows)[-1] == result.rows[3]
    # The rows are computed as they are read: none is kept.
    kept = [v for v in vars(result.rows).values() if isinstance(v, list)]
    assert not any(isinstance(x, dict) for v in kept for x in v)


def test_merge_fan_in_is_charged(tmp_path: Path, monkeypatch) -> None:
    # A block whose add reads one layer 2,000 times, used 1,000 times: 2,000,000 inputs.
    # With a budget of 100,000 (the real one is 1,000,000) each use charges 2,001 (its
    # relu reads the one before it), so use 49 (u.49, the 50th) is the first over.
    monkeypatch.setattr(context, "MAX_LAYER_INPUTS", 100_000)
    body = (
        "input: [1, 2, 2]\nblocks:\n  b:\n    body:\n      - {op: relu, name: x}\n"
        "      - {op: add, name: c, from: [" + ", ".join(["x"] * 2_000) + "]}\n"
        "layers:\n  - {block: b, name: u, repeat: 1000}\n"
    )
    path = tmp_path / "fanin.yaml"
    path.write_text(body)
    result = runner.invoke(app, ["analyze", str(path)])
    assert result.exit_code == int(ExitCode.LIMIT), result.stderr
    assert "budget of 100000 layer inputs" in result.stderr and "u.49.c" in result.stderr


def test_yaml_bytes_are_charged_across_imports(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(context, "MAX_RUN_YAML_BYTES", 3000)
    for i in range(3):  # three libraries of about 1,100 bytes, each under the file limit
        (tmp_path / f"lib{i}.yaml").write_text(
            f"blocks:\n  b{i}:\n    body:\n      - {{op: relu}}\n" + "#" * 1000 + "\n"
        )
    net = tmp_path / "net.yaml"
    net.write_text("imports: [lib0.yaml, lib1.yaml, lib2.yaml]\n" + NET)
    result = runner.invoke(app, ["analyze", str(net)])
    assert result.exit_code == int(ExitCode.LIMIT), result.stderr
    assert "lib2.yaml" in result.stderr and "budget of 3000 bytes of YAML" in result.stderr


def test_conditions_on_free_parameters_are_charged(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(context, "MAX_UNDECIDED", 50)
    net = tmp_path / "net.yaml"
    net.write_text(
        "params: {a: 1}\ninput: [1, 8, 8]\nlayers:\n"
        + "".join(f"  - {{op: relu, name: r{i}, when: 'a > {i}'}}\n" for i in range(60))
    )
    result = runner.invoke(app, ["analyze", str(net), "--free", "a"])
    assert result.exit_code == int(ExitCode.LIMIT), result.stderr
    assert "budget of 50 conditions that depend on free parameters" in result.stderr


def test_symbolic_work_has_a_time_bound(monkeypatch) -> None:
    monkeypatch.setattr(context, "SYMBOLIC_SECONDS", 0.0)
    result = runner.invoke(app, ["analyze", "mobilenet_v2", "--symbolic"])
    assert result.exit_code == int(ExitCode.LIMIT), result.stderr
    assert "symbolic work took longer than 0 s" in result.stderr


@pytest.mark.parametrize("name", ["mobilenet", "mobilenet_v2", "efficientnet_b0", "xception"])
def test_symbolic_totals_of_bundled_networks_take_seconds(name: str) -> None:
    start = time.process_time()  # this process's CPU time: what others running do not change
    result = runner.invoke(app, ["analyze", name, "--symbolic", "-f", "json"])
    assert result.exit_code == 0, result.stderr
    assert time.process_time() - start < 8  # mobilenet took 15 s before; about 1.5 s now


# --- pipes ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["analyze", "resnet50"],  # found by a write in the command
        ["analyze", "resnet50", "-f", "json"],
        ["sweep", "lenet5", "--vary", "classes=1:400:1", "-f", "csv"],  # written in pieces
        ["--version"],  # found only by the final flush
        ["layers", "relu"],
    ],
)
def test_a_closed_pipe_ends_quietly(argv: list[str]) -> None:
    """Like ``convcalc ... | head -1`` once head has gone: the reader's end is closed
    before convcalc writes anything."""
    read, write = os.pipe()
    os.close(read)
    try:
        child = subprocess.run(
            [sys.executable, "-m", "convcalc", *argv],
            stdout=write,
            stderr=subprocess.PIPE,
            cwd=ROOT,
            timeout=60,
        )
    finally:
        os.close(write)
    err = child.stderr.decode()
    assert "BrokenPipe" not in err and "internal error" not in err and "Traceback" not in err
    assert "Exception ignored" not in err, err
    assert child.returncode == 141, err  # as a process killed by SIGPIPE, like Unix tools


# --- the documents stay true ---------------------------------------------------------------


def test_limits_page_states_the_run_budgets() -> None:
    from convcalc import values

    text = (ROOT / "docs" / "limits.md").read_text()
    for module, name in (
        (values, "MAX_POINTS"),
        (values, "MAX_ANALYSED_POINTS"),
        (context, "MAX_RUN_YAML_BYTES"),
        (context, "MAX_LAYER_INPUTS"),
        (context, "MAX_UNDECIDED"),
        (context, "SYMBOLIC_SECONDS"),
    ):
        rows = [line for line in text.splitlines() if f"`{name}`" in line]
        assert rows, name
        value = getattr(module, name)
        assert f"{int(value):,}" in rows[0] or f"{int(value)}" in rows[0], (name, rows[0])


def test_security_page_names_its_tests() -> None:
    text = (ROOT / "docs" / "security.md").read_text()
    for heading in ("## Read", "## Write", "## Execute", "## Print", "## How it is tested"):
        assert heading in text, heading
    for test in re.findall(r"`(tests/[\w/]+\.py)`", text):
        assert (ROOT / test).is_file(), test
    assert "tests/test_trust.py" in text


def test_text_that_spells_minus_infinity_is_not_a_number_in_csv() -> None:
    from convcalc.render.sanitize import csv_cell

    # A spreadsheet reads "-inf" as a formula naming inf; numbers stay as they are.
    assert csv_cell("-inf") == "'-inf"
    assert csv_cell("+nan") == "'+nan"
    assert csv_cell("-3") == "-3" and csv_cell("-1/3") == "-1/3" and csv_cell("1e-05") == "1e-05"
