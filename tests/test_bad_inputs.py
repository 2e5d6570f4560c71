"""Bad input ends at once with one clear message, the documented exit code and no side effect.

``tests/bad_inputs/`` holds one file per way an architecture can be wrong (YAML syntax,
schema types, names, cycles, shapes, limits, expression attacks); ``expected.yaml`` beside
them gives, for each, the error class, the exit code, the line, the layer and a fragment of
the message. Inputs too big to commit (files over the size limit, very long lines, deep
nesting) are generated here at run time. The side-effect test runs the whole corpus in a
separate interpreter, in an empty working directory, with an audit hook that records any
process start, file write, network use, dynamic code execution or new import.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from convcalc import api
from convcalc.cli import app
from convcalc.errors import (
    ConvcalcError,
    ExitCode,
    ExprError,
    InputFileError,
    LimitError,
    ShapeError,
    SpecError,
    UsageError,
)
from convcalc.schema import limits, loader

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "bad_inputs"
EXPECTED: dict[str, dict] = yaml.safe_load((CORPUS / "expected.yaml").read_text())
CLI_DOC = HERE.parent / "docs" / "cli.md"
ERRORS = {c.__name__: c for c in (SpecError, ExprError, ShapeError, LimitError, InputFileError)}
SECONDS = 1.0  # every bad input must be refused within this

runner = CliRunner()


def documented_exit_codes() -> set[int]:
    """The codes in docs/cli.md's "Exit codes" table."""
    text = CLI_DOC.read_text()
    table = text.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    return {int(m) for m in re.findall(r"^\| (\d+) \|", table, re.M)}


def check_message(err: str, path: Path, line: int | None, layer: str | None, fragment: str):
    """One ``error:`` message naming the file, the line and the layer, and no traceback."""
    assert err.startswith("error: "), err
    assert "Traceback" not in err, err
    assert len(err.splitlines()) <= 3, err  # the message and at most a hint
    if line is None:
        assert f"{path}: " in err, err
        assert not re.search(re.escape(str(path)) + r":\d", err), err
    else:
        assert f"{path}:{line}: " in err, err
    if layer is None:
        assert "layer '" not in err.split("\n")[0], err
    else:
        assert f"layer '{layer}'" in err, err
    assert fragment in err, err


def test_the_corpus_lists_every_file_and_covers_the_attacks() -> None:
    on_disk = {p.name for p in CORPUS.glob("*.yaml")} - {"expected.yaml"}
    assert on_disk == set(EXPECTED)
    assert len(EXPECTED) >= 60
    for group in ("yaml_", "top_", "layer_", "ref_", "shape_", "repeat_", "block_", "expr_"):
        assert sum(name.startswith(group) for name in EXPECTED) >= 3, group
    for name, expected in EXPECTED.items():
        assert set(expected) <= {"error", "exit", "line", "layer", "message", "file"}, name
        assert expected["error"] in ERRORS, name
        # The exit code is the class's, and the class's code is in the documented table.
        assert expected["exit"] == ERRORS[expected["error"]].code, name
        assert (CORPUS / name).read_bytes().startswith(b"# "), name  # says what it tries


@pytest.mark.skipif(not CLI_DOC.is_file(), reason="docs are not beside the tests")
def test_exit_codes_are_the_documented_ones() -> None:
    documented = documented_exit_codes()
    assert {e["exit"] for e in EXPECTED.values()} <= documented
    assert {int(c) for c in ExitCode} <= documented


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bad_input_is_refused_with_one_clear_message(name: str) -> None:
    expected = EXPECTED[name]
    path = CORPUS / name
    shown = CORPUS / expected["file"] if "file" in expected else path
    start = time.perf_counter()
    result = runner.invoke(app, ["analyze", str(path)])
    elapsed = time.perf_counter() - start
    assert result.exit_code == expected["exit"], result.stderr
    assert result.stdout == ""
    check_message(result.stderr, shown, expected["line"], expected["layer"], expected["message"])
    assert elapsed < SECONDS, f"{name} took {elapsed:.2f} s"
    # The library raises exactly the documented class.
    with pytest.raises(ConvcalcError) as info:
        api.analyze(path)
    assert type(info.value) is ERRORS[expected["error"]]


# --- docs/limits.md stays true ------------------------------------------------------------

LIMITS_DOC = HERE.parent / "docs" / "limits.md"


@pytest.mark.skipif(not LIMITS_DOC.is_file(), reason="docs are not beside the tests")
def test_limits_page_states_the_constants() -> None:
    import importlib

    table = LIMITS_DOC.read_text().split("## The limits", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| ") and "---" not in line]
    checked = set()
    for row in rows[1:]:
        cells = [c.strip() for c in row.strip("|").split("|")]
        numbers = {int(n.replace(",", "")) for n in re.findall(r"\d[\d,]*", cells[1])}
        for name, module in re.findall(r"`([A-Z_]+)`(?:,| of) `(convcalc/[\w/]+)\.py`", cells[2]):
            value = getattr(importlib.import_module(module.replace("/", ".")), name)
            assert value in numbers, (name, value, cells[1])
            checked.add(name)
        assert cells[3] == "5", row
    assert checked >= {
        "MAX_FILE_BYTES", "MAX_YAML_NODES", "MAX_NESTING", "MAX_INT_DIGITS", "MAX_DIM",
        "MAX_REPEAT", "MAX_LAYERS", "MAX_BLOCK_DEPTH", "MAX_PARAMS", "MAX_NAME_LENGTH",
        "MAX_LENGTH", "MAX_DEPTH", "MAX_NAME", "MAX_STEPS", "STEPS_PER_LAYER", "MAX_EXPONENT",
        "MAX_BITS",
    }  # fmt: skip


@pytest.mark.skipif(not LIMITS_DOC.is_file(), reason="docs are not beside the tests")
def test_limits_page_shows_real_output(monkeypatch) -> None:
    monkeypatch.chdir(HERE.parent)  # the examples use paths from the repository root
    text = LIMITS_DOC.read_text()
    examples = re.findall(r"^\$ convcalc (.+)\n((?:(?!\$ |```).*\n)+)", text, re.M)
    assert len(examples) >= 10
    for command, shown in examples:
        result = runner.invoke(app, command.split())
        assert result.stderr == shown, command
        assert result.exit_code != 0


# --- inputs generated at run time ---------------------------------------------------------

HEAD = "input: [3, 8, 8]\nlayers:\n"


def _file_over_the_size_limit() -> tuple[bytes, dict]:
    size = loader.MAX_FILE_BYTES + 1
    text = HEAD + "  - {op: relu}\n" + "#" * (size - len(HEAD) - 16) + "\n"
    assert len(text) == size
    message = f"file is {size} bytes; the limit is {loader.MAX_FILE_BYTES}"
    return text.encode(), {"error": LimitError, "line": None, "layer": None, "message": message}


def _very_long_line() -> tuple[bytes, dict]:
    # One flow list of 60,000 numbers on line 4: the scan stops at node 50,001 on that line.
    text = HEAD + "  - {op: relu}\ndescription: [" + "1, " * 60_000 + "1]\n"
    message = f"more than {loader.MAX_YAML_NODES} YAML nodes"
    return text.encode(), {"error": LimitError, "line": 4, "layer": None, "message": message}


def _very_long_file() -> tuple[bytes, dict]:
    # The nodes before the first layer: the root mapping, 'input', its list and 3 sizes,
    # 'layers' and its list = 8; each '{op: relu}' line is 3 (mapping, key, value). Node
    # 50,001 is the first of layer line k with 8 + 3 (k - 1) + 1 = 50,001, so k = 16,665,
    # and the layers start on line 3: the error is on line 3 + 16,664 = 16,667.
    text = HEAD + "  - {op: relu}\n" * 20_000
    message = f"more than {loader.MAX_YAML_NODES} YAML nodes"
    return text.encode(), {"error": LimitError, "line": 16_667, "layer": None, "message": message}


def _megabyte_expression() -> tuple[bytes, dict]:
    expression = "1+" * 500_000 + "1"  # 1,000,001 characters on one line
    text = HEAD + f'  - {{op: conv, k: 1, out: "{expression}", name: c}}\n'
    message = "expression is 1000001 characters long; the limit is 1000"
    return text.encode(), {"error": LimitError, "line": 3, "layer": "c", "message": message}


def _megabyte_name() -> tuple[bytes, dict]:
    text = HEAD + "  - {op: relu, name: " + "a" * 1_000_000 + "}\n"
    message = f"is 1000000 characters long; the limit is {limits.MAX_NAME_LENGTH}"
    return text.encode(), {"error": LimitError, "line": 3, "layer": None, "message": message}


GENERATED = {
    "file_over_the_size_limit": _file_over_the_size_limit,
    "very_long_line": _very_long_line,
    "very_long_file": _very_long_file,
    "megabyte_expression": _megabyte_expression,
    "megabyte_name": _megabyte_name,
}


@pytest.mark.parametrize("case", sorted(GENERATED))
def test_generated_big_input_is_refused_quickly(tmp_path: Path, case: str) -> None:
    data, expected = GENERATED[case]()
    path = tmp_path / f"{case}.yaml"
    path.write_bytes(data)
    start = time.perf_counter()
    result = runner.invoke(app, ["analyze", str(path)])
    elapsed = time.perf_counter() - start
    assert result.exit_code == expected["error"].code, result.stderr
    check_message(result.stderr, path, expected["line"], expected["layer"], expected["message"])
    assert elapsed < SECONDS, f"{case} took {elapsed:.2f} s"


def test_running_counts_stop_expansions_no_bound_foresees(monkeypatch, tmp_path: Path) -> None:
    """Repeat counts that depend on a tensor's shape (``c_in``) are known only while
    expanding, so the running counts of layers and block instances stop them. The limit is
    lowered to 1,000 so the test is quick; docs/limits.md gives the real ones."""
    monkeypatch.setattr(limits, "MAX_LAYERS", 1000)
    path = tmp_path / "net.yaml"
    # Each instance of b repeats relu c_in = 3 times: instance k (from 0) makes layers
    # 3k + 1 .. 3k + 3, so layer 1,001 = 3 * 333 + 2 is the second relu of instance 333.
    path.write_text(
        "input: [3, 8, 8]\nblocks:\n  b:\n    body: [{op: relu, repeat: c_in}]\n"
        "layers:\n  - {block: b, repeat: 400, name: u}\n"
    )
    result = runner.invoke(app, ["analyze", str(path)])
    assert result.exit_code == ExitCode.LIMIT
    check_message(
        result.stderr, path, 4, "u.333.relu1.1", "the network expands to more than 1000 layers"
    )
    # Each instance of m holds c_in = 3 instances of an empty block (its only layer is
    # switched off): instance k of m is instance 4k + 1, so instance 1,001 is m's 251st.
    path.write_text(
        "input: [3, 8, 8]\nblocks:\n  empty:\n    body: [{op: relu, when: false}]\n"
        "  many:\n    body: [{block: empty, repeat: c_in}]\n"
        "layers:\n  - {block: many, repeat: 400, name: m}\n"
    )
    result = runner.invoke(app, ["analyze", str(path)])
    assert result.exit_code == ExitCode.LIMIT
    check_message(result.stderr, path, 8, "m", "the network expands more than 1000 block instances")


# --- side effects and whole processes -----------------------------------------------------

# Runs in a fresh interpreter: warm up on a good file (so the modules a normal run needs are
# loaded), then watch every bad input through an audit hook.
_WATCH = r"""
import io, json, os, sys, time
from convcalc.cli import app

def run(path):
    err, saved = io.StringIO(), (sys.stdout, sys.stderr)
    sys.stdout, sys.stderr = io.StringIO(), err
    start = time.perf_counter()
    try:
        app(["analyze", path], prog_name="convcalc")
        code = 0
    except SystemExit as e:
        code = e.code
    finally:
        sys.stdout, sys.stderr = saved
    return code, time.perf_counter() - start, err.getvalue()

# Typer evaluates the command's string annotations (compile + exec of names such as 'Arch')
# on every call: those seen while warming up are the baseline, anything else is flagged.
baseline = {"compile": set(), "exec": set()}
events = []
watching = False
WATCHED = ("os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty",
           "subprocess.", "pty.", "socket.", "ctypes.", "import",
           "os.remove", "os.rename", "os.mkdir", "os.rmdir", "os.symlink", "os.link",
           "os.chmod", "os.truncate", "os.putenv", "os.unsetenv", "shutil.", "webbrowser.",
           "urllib.", "http.", "builtins.input", "code.")

def hook(event, args):
    if event in ("compile", "exec"):
        key = repr(args[0]) if event == "compile" else repr(args[0].co_names)
        if not watching:
            baseline[event].add(key)
        elif key not in baseline[event]:
            events.append([event, key[:200]])
    elif not watching:
        return
    elif event == "open":
        mode, flags = args[1], args[2]
        if (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
            isinstance(flags, int) and flags & 0o3
        ):
            events.append(["open for writing", str(args[0])])
    elif event.startswith(WATCHED):
        events.append([event, repr(args)[:200]])

sys.addaudithook(hook)
run(sys.argv[1])  # warm-up: a valid architecture
run(sys.argv[2])  # warm-up: an error message
before = set(sys.modules)
watching = True
results = {}
for path in sys.argv[3:]:
    code, elapsed, err = run(path)
    results[path] = [code, elapsed, err]
new = sorted(set(sys.modules) - before)
# The hook must see what it watches for: a compile, a new import and a write, done here on
# purpose after the corpus (and kept apart from its events).
start = len(events)
compile("1 + 1", "<probe>", "eval")
__import__(next(m for m in ("netrc", "tabnanny", "fileinput") if m not in sys.modules))
open(os.devnull, "w").close()
probe = [e[0] for e in events[start:]]
del events[start:]
sys.stdout.write(json.dumps({"results": results, "events": events, "new_modules": new,
                             "probe": probe}))
"""


def _listing(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_corpus_in_a_fresh_process_has_no_side_effect(tmp_path: Path) -> None:
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    good = tmp_path / "good.yaml"
    good.write_text(HEAD + "  - {op: conv, out: 4, k: 3, padding: 1}\n")
    warm_error = tmp_path / "warm_error.yaml"
    warm_error.write_text(HEAD + "  - {op: conv, out: 4, k: 3, stride: 1/2}\n")
    deep = tmp_path / "deep_nesting.yaml"  # crashed the C composer before the depth scan
    deep.write_text("# 10,000 nested lists\n" + "- " * 10_000 + "x\n")
    corpus_before = _listing(CORPUS)
    paths = [str(CORPUS / name) for name in sorted(EXPECTED)] + [str(deep)]
    proc = subprocess.run(
        [sys.executable, "-c", _WATCH, str(good), str(warm_error), *paths],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout)
    assert {"compile", "import", "open for writing"} <= set(report["probe"])  # the hook works
    assert report["events"] == []  # nothing started, written, executed, imported or sent
    assert report["new_modules"] == []
    assert _listing(cwd) == []  # nothing created where it ran
    assert _listing(CORPUS) == corpus_before
    for name in sorted(EXPECTED):
        code, elapsed, err = report["results"][str(CORPUS / name)]
        assert code == EXPECTED[name]["exit"], (name, err)
        assert elapsed < SECONDS, f"{name} took {elapsed:.2f} s"
        assert "Traceback" not in err
    code, elapsed, err = report["results"][str(deep)]
    assert code == ExitCode.LIMIT, err
    assert f"{deep}:2: the document nests deeper than {loader.MAX_NESTING} levels" in err


@pytest.mark.parametrize(
    "name", ["expr_import_os_system", "yaml_python_tag", "yaml_billion_laughs", "not_utf8"]
)
def test_the_installed_command_refuses_within_a_second(tmp_path: Path, name: str) -> None:
    """The whole process (interpreter start included) for the classic attacks."""
    path = CORPUS / f"{name}.yaml"
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "convcalc", "analyze", str(path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
    )
    elapsed = time.perf_counter() - start
    assert proc.returncode == EXPECTED[f"{name}.yaml"]["exit"], proc.stderr
    assert proc.stdout == ""
    assert proc.stderr.startswith("error: ") and "Traceback" not in proc.stderr
    assert list(tmp_path.iterdir()) == []
    assert elapsed < SECONDS + 1.0, f"{name} took {elapsed:.2f} s"  # + interpreter start
    assert not (tmp_path / "PWNED").exists()


def test_imports_do_not_depend_on_the_working_directory(monkeypatch, tmp_path: Path) -> None:
    """An import is found beside the importing file (or among the bundled files), never in
    the directory convcalc happens to run from."""
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "blocks.yaml").write_text("blocks:\n  b:\n    body: [{op: relu}]\n")
    (tmp_path / "net").mkdir()
    net = tmp_path / "net" / "net.yaml"
    net.write_text("imports: [lib/blocks.yaml]\n" + HEAD + "  - {block: b}\n")
    monkeypatch.chdir(tmp_path)  # lib/blocks.yaml exists here, but not beside net.yaml
    result = runner.invoke(app, ["analyze", str(net)])
    assert result.exit_code == ExitCode.FILE
    check_message(result.stderr, net, 1, None, "no such file or bundled architecture: lib/")
    (tmp_path / "net" / "lib").mkdir()
    (tmp_path / "net" / "lib" / "blocks.yaml").write_text("blocks:\n  b:\n    body: [{op: bn}]\n")
    assert runner.invoke(app, ["analyze", str(net)]).exit_code == 0


def test_usage_errors_use_their_own_code(tmp_path: Path) -> None:
    """A --set of an undeclared name is usage (2), not a spec error (1)."""
    path = tmp_path / "net.yaml"
    path.write_text("params: {width: 8}\n" + HEAD + "  - {op: conv, out: width, k: 1}\n")
    result = runner.invoke(app, ["analyze", str(path), "--set", "depth=2"])
    assert result.exit_code == UsageError.code == ExitCode.USAGE
    assert "has no parameter 'depth'; its parameters are: width" in result.stderr
    assert "Traceback" not in result.stderr
