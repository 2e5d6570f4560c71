"""Fuzzing the YAML loader, the expansion and the expression parser.

A crash is any exception that is not a :class:`ConvcalcError` (the CLI would print "internal
error" and exit 70) or a run that does not end within a few seconds. Hypothesis generates
arbitrary text, random edits of the bundled architectures, random documents that mix every
schema key with values of every type, and random expression trees; the normal suite runs a
few hundred examples of each (a few seconds), CONVCALC_FUZZ_EXAMPLES runs more. Every crash
ever found is kept under ``tests/fuzz_regressions/`` and replayed here, in a separate
process (some crashed the interpreter outright).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from fractions import Fraction
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
import yaml
from hypothesis import HealthCheck, given, settings

from convcalc import context, expr
from convcalc.analysis import analyze
from convcalc.errors import ConvcalcError
from convcalc.layers import REGISTRY
from convcalc.schema import loader
from convcalc.schema.expand import expand

HERE = Path(__file__).resolve().parent
REGRESSIONS = HERE / "fuzz_regressions"
ARCHITECTURES = loader.architectures_dir()
EXAMPLES = int(os.environ.get("CONVCALC_FUZZ_EXAMPLES", "200"))
SECONDS = 5.0  # longer than this is a hang

SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,  # reproducible in CI: crashes found are kept as regression files instead
    suppress_health_check=list(HealthCheck),
)


class Hang(Exception):
    """Raised by the alarm when one input runs longer than SECONDS."""


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Interrupt Python code that runs past ``seconds`` (POSIX main thread only; elsewhere
    only the elapsed time is checked afterwards)."""
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if usable:

        def ring(signum: int, frame: Any) -> None:
            raise Hang(f"still running after {seconds} s")

        previous = signal.signal(signal.SIGALRM, ring)
        signal.setitimer(signal.ITIMER_REAL, seconds)
    start = time.perf_counter()
    try:
        yield
    finally:
        if usable:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
    elapsed = time.perf_counter() - start
    if elapsed > seconds:
        raise Hang(f"took {elapsed:.1f} s")


def no_crash(target: Callable[[], object]) -> None:
    """Run ``target``: it may succeed or raise a ConvcalcError, nothing else, and must end."""
    with time_limit(SECONDS), suppress(ConvcalcError):
        target()


def pipeline(text: str) -> None:
    """Everything a file goes through: YAML, expansion, analysis."""
    doc = loader.load_yaml(text, "fuzz.yaml")
    analyze(expand(doc, "fuzz.yaml", "fuzz.yaml"))


def evaluate(text: str) -> None:
    env = {"a": 3, "b": Fraction(1, 2), "c_in": 16, "i": 0, "big": 2**4000, "tiny": 2**-4000}
    expr.evaluate_text(text, env)


# --- YAML and documents -------------------------------------------------------------------

YAML_CHARS = "{}[],:-?&*!|>'\"#%@` \n\t.0123456789abcdefxyz_<=+/()e"
FRAGMENTS = [
    "op: ",
    "conv",
    "relu",
    "add",
    "concat",
    "block: ",
    "name: ",
    "from: ",
    "repeat: ",
    "when: ",
    "args: ",
    "table: ",
    "cols: ",
    "rows: ",
    "body: ",
    "input: ",
    "layers:",
    "blocks:",
    "params:",
    "vars:",
    "defaults:",
    "imports: ",
    "norm: bn",
    "act: relu",
    "out: ",
    "k: ",
    "stride: ",
    "padding: ",
    "dilation: ",
    "groups: ",
    "[3, 8, 8]",
    "$in",
    "&a ",
    "*a",
    "<<: *a",
    "!!python/object:os.system",
    "!!binary ",
    "2001-13-45",
    "~",
    "- ",
    "  ",
    "\n",
    "{",
    "}",
    "[",
    "]",
    ", ",
    "9" * 120,
    "1e999",
    "0x1f",
    "1:2:3",
    ".inf",
    ".nan",
    "yes",
    "on",
    "null",
    "'",
    '"',
    "#",
    "\t",
    "\x07",
    "c_in",
    "i",
    "2**64",
]


@SETTINGS
@given(st.text(alphabet=YAML_CHARS, max_size=300))
def test_fuzz_yaml_characters(text: str) -> None:
    no_crash(lambda: pipeline(text))


@SETTINGS
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=40).map("".join))
def test_fuzz_yaml_fragments(text: str) -> None:
    no_crash(lambda: pipeline(text))


BUNDLED = sorted(
    p for p in ARCHITECTURES.rglob("*.yaml") if "lib" not in p.relative_to(ARCHITECTURES).parts
)


@st.composite
def mutated_architecture(draw) -> str:
    """A bundled file with a few random edits: delete, duplicate or replace a span, insert a
    fragment."""
    text = draw(st.sampled_from(BUNDLED)).read_text()
    for _ in range(draw(st.integers(1, 4))):
        if not text:
            break
        a = draw(st.integers(0, len(text) - 1))
        b = draw(st.integers(a, min(len(text), a + 40)))
        edit = draw(st.sampled_from(["delete", "duplicate", "replace", "insert"]))
        if edit == "delete":
            text = text[:a] + text[b:]
        elif edit == "duplicate":
            text = text[:b] + text[a:b] + text[b:]
        elif edit == "replace":
            text = text[:a] + draw(st.sampled_from(FRAGMENTS)) + text[b:]
        else:
            text = text[:a] + draw(st.sampled_from(FRAGMENTS)) + text[a:]
    return text


@SETTINGS
@given(mutated_architecture())
def test_fuzz_mutated_architectures(text: str) -> None:
    no_crash(lambda: pipeline(text))


OPS = sorted(REGISTRY)
KEYS = [
    "op",
    "name",
    "from",
    "repeat",
    "when",
    "norm",
    "act",
    "out",
    "k",
    "stride",
    "padding",
    "dilation",
    "groups",
    "bias",
    "block",
    "args",
    "table",
    "cols",
    "rows",
    "body",
    "size",
    "scale",
    "mode",
    "multiplier",
    "tiles",
    "shape",
    "start",
    "stop",
    "p",
    "default",
    "type",
    "doc",
    "ceil_mode",
    "output_padding",
    "offset_groups",
    "modulated",
    "per_channel",
    "trainable",
    "c",
]
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 40),
    st.sampled_from([2**70, -(2**70), 10**30]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(
        [
            "3",
            "c_in",
            "h_in",
            "i",
            "same",
            "valid",
            "full",
            "x",
            "$in",
            "input",
            "a",
            "b",
            "relu",
            "bn",
            "none",
            "1/2",
            "2**70",
            "-1",
            "0",
            "b0",
            "l0",
            "l1",
            "nearest",
            "bilinear",
            "int",
            "real",
            "even",
            "c_in//2",
            "i == 0",
            "sqrt(2)",
            "1e9",
            "3 if i else 1",
        ]
    ),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(KEYS), inner, max_size=4)
    ),
    max_leaves=6,
)
LAYER = st.one_of(
    st.tuples(
        st.sampled_from([*OPS, "nope", 3]),
        st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=5),
    ).map(lambda t: {**t[1], "op": t[0]}),
    st.tuples(
        st.sampled_from(["b0", "b1", "zz", 1]),
        st.dictionaries(
            st.sampled_from(["name", "from", "repeat", "when", "args", "table"]), VALUES, max_size=3
        ),
    ).map(lambda t: {**t[1], "block": t[0]}),
    VALUES,
)
BLOCK = st.one_of(
    st.fixed_dictionaries(
        {"body": st.lists(LAYER, max_size=3)},
        optional={
            "args": st.one_of(st.lists(st.sampled_from(["c", "s", "t"])), VALUES),
            "doc": VALUES,
        },
    ),
    VALUES,
)
DOCUMENT = st.fixed_dictionaries(
    {
        "input": st.one_of(st.just([3, 16, 16]), st.just([8]), VALUES),
        "layers": st.one_of(st.lists(LAYER, min_size=1, max_size=6), VALUES),
    },
    optional={
        "params": st.one_of(
            st.dictionaries(
                st.sampled_from(["a", "b", "x", "c", "i", "__x", "alpha"]), VALUES, max_size=3
            ),
            VALUES,
        ),
        "vars": st.one_of(
            st.dictionaries(st.sampled_from(["v", "w", "a", "i"]), VALUES, max_size=3), VALUES
        ),
        "defaults": st.one_of(
            st.dictionaries(st.sampled_from([*OPS[:8], "zz"]), VALUES, max_size=2), VALUES
        ),
        "blocks": st.one_of(
            st.dictionaries(st.sampled_from(["b0", "b1"]), BLOCK, max_size=2), VALUES
        ),
        "imports": VALUES,
        "convcalc": VALUES,
        "name": VALUES,
        "source": VALUES,
        "description": VALUES,
    },
)


@SETTINGS
@given(DOCUMENT)
def test_fuzz_documents_of_every_key_and_type(document: dict) -> None:
    text = yaml.safe_dump(document)
    no_crash(lambda: pipeline(text))


def _op_entry(draw: Any, index: int, values: st.SearchStrategy) -> dict[str, Any]:
    """One layer of a random op named ``l<index>``, each argument drawn from ``values``."""
    op = draw(st.sampled_from(OPS))
    entry: dict[str, Any] = {"op": op, "name": f"l{index}"}
    for name, arg in REGISTRY[op].args.items():
        if arg.required or draw(st.booleans()):
            entry[name] = draw(values)
    return entry


@st.composite
def small_networks(draw, fractions: bool = False) -> str:
    """Mostly valid networks (so the rules, not only the schema checks, are reached): layers
    of every op with arguments drawn near their valid ranges."""
    values = st.one_of(
        st.integers(0, 5),
        st.sampled_from(["3/2", "1/2", "7/3"] if fractions else [1]),
        st.lists(st.integers(0, 5), min_size=2, max_size=2),
        st.lists(st.integers(0, 3), min_size=4, max_size=4),
        st.sampled_from(
            [
                "same",
                "valid",
                "full",
                "nearest",
                "bilinear",
                True,
                False,
                [[1, 0], [0, 1]],
                [2, 4, 4],
            ]
        ),
    )
    layers = []
    for index in range(draw(st.integers(1, 6))):
        entry = _op_entry(draw, index, values)
        if index and draw(st.booleans()):
            count = draw(st.integers(1, min(3, index + 1)))
            entry["from"] = [f"l{draw(st.integers(0, index - 1))}" for _ in range(count)]
        layers.append(entry)
    shape = draw(st.sampled_from([[3, 8, 8], [4, 5, 7], [2, 1, 1], [6]]))
    return yaml.safe_dump({"input": shape, "layers": layers})


@SETTINGS
@given(small_networks())
def test_fuzz_small_networks_of_every_op(text: str) -> None:
    no_crash(lambda: pipeline(text))


@SETTINGS
@given(small_networks(fractions=True))
def test_fuzz_small_networks_without_rounding(text: str) -> None:
    """``--no-round`` lets fractional sizes flow through the rules (the smooth formulas);
    structural counts must still be refused cleanly."""

    def smooth() -> None:
        with context.smooth(True):
            pipeline(text)

    no_crash(smooth)


@st.composite
def free_networks(draw) -> str:
    """Networks whose sizes depend on a free parameter ``a`` (``--symbolic``), in arguments,
    conditions and the input shape."""
    values = st.one_of(
        st.integers(0, 5),
        st.sampled_from(["a", "a+1", "2*a", "a//2", "a-1", "max(a, 2)", "same"]),
        st.lists(st.sampled_from([1, 2, "a"]), min_size=2, max_size=2),
    )
    layers = []
    for index in range(draw(st.integers(1, 4))):
        entry = _op_entry(draw, index, values)
        if draw(st.booleans()):
            entry["when"] = draw(st.sampled_from(["a > 2", "a == 1", "true"]))
        if index and draw(st.booleans()):
            entry["from"] = [f"l{draw(st.integers(0, index - 1))}" for _ in range(2)]
        layers.append(entry)
    shape = draw(st.sampled_from([[3, 16, 16], ["a", 8, 8], [8]]))
    return yaml.safe_dump({"params": {"a": None}, "input": shape, "layers": layers})


@settings(SETTINGS, max_examples=max(EXAMPLES // 4, 10))  # sympy makes each one slower
@given(free_networks())
def test_fuzz_networks_with_a_free_parameter(text: str) -> None:
    def symbolic() -> None:
        doc = loader.load_yaml(text, "fuzz.yaml")
        analyze(expand(doc, "fuzz.yaml", "fuzz.yaml", symbolic=True))

    no_crash(symbolic)


# --- expressions --------------------------------------------------------------------------

EXPR_CHARS = "0123456789.eE+-*/%()<>=!, abcinx_ifelsendortq[]'\":;{}\\@$^&|~`#"
NUMBERS = st.one_of(
    st.integers(0, 10**6).map(str),
    st.sampled_from(
        [
            "0.714",
            ".5",
            "1e3",
            "1e-3",
            "1e4096",
            "1e4097",
            "1e999999999",
            "2.",
            "9" * 41,
            "0",
            "00",
            "1e+5",
            "3.0e-2",
        ]
    ),
)
NAMES = st.sampled_from(["a", "b", "c_in", "i", "big", "tiny", "unknown", "__import__", "x1"])
FUNCS = st.sampled_from([*expr.FUNCTIONS, "eval", "exec", "open", "__import__", "getattr"])


def _tree(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    binary = st.sampled_from(
        ["+", "-", "*", "/", "//", "%", "**", "==", "!=", "<", "<=", ">", ">=", " and ", " or "]
    )
    return st.one_of(
        st.tuples(st.sampled_from(["-", "+", "not "]), children).map("".join),
        st.tuples(children, binary, children).map(lambda t: f"{t[0]}{t[1]}{t[2]}"),
        st.tuples(children).map(lambda t: f"({t[0]})"),
        st.tuples(FUNCS, st.lists(children, max_size=4)).map(
            lambda t: f"{t[0]}({', '.join(t[1])})"
        ),
        st.tuples(children, children, children).map(lambda t: f"{t[0]} if {t[1]} else {t[2]}"),
    )


EXPRESSIONS = st.recursive(st.one_of(NUMBERS, NAMES), _tree, max_leaves=25)


@SETTINGS
@given(EXPRESSIONS)
def test_fuzz_expression_trees(text: str) -> None:
    no_crash(lambda: evaluate(text))


@SETTINGS
@given(st.text(alphabet=EXPR_CHARS, max_size=80))
def test_fuzz_expression_characters(text: str) -> None:
    no_crash(lambda: evaluate(text))


@SETTINGS
@given(st.text(max_size=60))
def test_fuzz_expression_unicode(text: str) -> None:
    no_crash(lambda: evaluate(text))


# --- regressions --------------------------------------------------------------------------

# Replays every kept crash in a fresh interpreter (one crash was a segmentation fault of the
# C YAML composer) and prints the outcome of each as JSON.
_REPLAY = r"""
import json, sys, time
from pathlib import Path
from convcalc import context, expr, num
from convcalc.analysis import analyze
from convcalc.errors import ConvcalcError
from convcalc.schema import loader
from convcalc.schema.expand import expand
from fractions import Fraction

ENV = {"a": 3, "b": Fraction(1, 2), "c_in": 16, "i": 0, "big": 2**4000, "tiny": 2**-4000}
out = {}
for name in sys.argv[1:]:
    path = Path(name)
    start = time.perf_counter()
    try:
        if path.parent.name == "expr":
            expr.evaluate_text(path.read_text().rstrip("\n"), ENV)
        else:  # yaml/ as analyze reads it, smooth/ with --no-round, symbolic/ --symbolic
            with context.smooth(path.parent.name == "smooth"):
                shown = path.name
                doc = loader.load_yaml(loader.read_text(path, shown), shown)
                symbolic = path.parent.name == "symbolic"
                analyze(expand(doc, shown, shown, path=path, symbolic=symbolic))
        outcome = "ok"
    except ConvcalcError as e:
        outcome = type(e).__name__
    except BaseException as e:
        outcome = f"crash: {type(e).__name__}: {e}"[:300]
    out[name] = [outcome, time.perf_counter() - start]
    print(json.dumps({name: out[name]}), flush=True)
"""

REGRESSION_FILES = sorted(
    p for p in REGRESSIONS.rglob("*") if p.is_file() and p.name != "README.md"
)


def test_regression_files_exist_for_each_target() -> None:
    kinds = {p.parent.name for p in REGRESSION_FILES}
    assert kinds == {"expr", "yaml", "smooth", "symbolic"}
    assert len(REGRESSION_FILES) >= 10


def test_every_crash_ever_found_stays_fixed() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", _REPLAY, *map(str, REGRESSION_FILES)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    seen = {}
    for line in proc.stdout.splitlines():
        seen.update(json.loads(line))
    assert proc.returncode == 0, (proc.returncode, proc.stderr[-2000:], sorted(seen))
    for path in REGRESSION_FILES:
        outcome, elapsed = seen[str(path)]
        assert not outcome.startswith("crash"), (path.name, outcome)
        assert elapsed < SECONDS, (path.name, elapsed)
