"""The sweep compiler's generated code cannot be reached by a parameter's name.

The compiled source names parameters ``p0, p1, ...``, shared parts ``t0, t1, ...``, stages
``g0, g1, ...`` and results ``r...``, and calls helpers (``Fraction``, ``floor``, ``max``,
...) bound in a namespace without builtins. Before that, a parameter named like a
temporary gave wrong totals with exit 0 and one named like a helper crashed. Here one
network has a parameter named like every name the generated code uses, every Python
builtin and every keyword the loader accepts as a parameter; its totals are compiled once
with all of them free and, at random values of all of them, must equal a point-by-point
concrete analysis. The sweep is checked end to end on a few of the names.
"""

from __future__ import annotations

import builtins
import keyword
from fractions import Fraction
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, given, settings

from convcalc import api
from convcalc.errors import ConvcalcError
from convcalc.names import IDENTIFIER
from convcalc.sweep import METRICS
from convcalc.symbolic.compile import _NAMESPACE, compile_exprs

# Every name the generated code uses or could use, and every builtin and keyword.
GENERATED = ["p0", "p1", "p2", "t0", "t1", "t2", "r0", "r5", "g0", "g1", "f", "lru_cache"]
HELPERS = sorted(_NAMESPACE)
PYTHON = [n for n in dir(builtins) if IDENTIFIER.match(n)] + keyword.kwlist
OTHERS = ["_t0", "_t1", "_Dummy_1", "Dummy", "sympy", "num", "call", "fn", "x"]
CANDIDATES = list(dict.fromkeys(GENERATED + HELPERS + OTHERS + PYTHON))
VALUES = [Fraction(1, 4), Fraction(1, 2), Fraction(3, 4), 1, Fraction(5, 4), 2]


def _layer(i: int, a: str, b: str) -> str:
    # Channels from two parameters, rounded two ways; consecutive layers multiply their
    # channels in their MACs, and the size comes from the first parameter.
    return (
        f'  - {{op: conv, out: "make_divisible(8*{a}, 4) + floor(3*{b})", k: 3, '
        f"padding: same, name: l{i}}}\n"
    )


def _network(names: list[str], path: Path) -> Path:
    params = ", ".join(f"{n!r}: 0.5" for n in names)  # real-valued: a fraction default
    size = f"round(16*{names[0]})"
    pairs = [(names[i], names[(i + 1) % len(names)]) for i in range(0, len(names), 2)]
    path.write_text(
        f"params: {{{params}}}\n"
        f'input: [3, "{size}", "{size}"]\n'
        "layers:\n" + "".join(_layer(i, a, b) for i, (a, b) in enumerate(pairs))
    )
    return path


def _accepted(tmp: Path) -> list[str]:
    """The candidates the loader accepts as parameter names (keywords such as 'and' and
    reserved names such as '__import__' are refused there, with a message)."""
    out = []
    for name in CANDIDATES:
        one = tmp / "one.yaml"
        one.write_text(
            f"params: {{{name!r}: 1}}\ninput: [3, 8, 8]\n"
            f'layers:\n  - {{op: conv, out: "floor(2*{name}) + 1", k: 1}}\n'
        )
        try:
            api.analyze(one)
        except ConvcalcError:
            continue
        out.append(name)
    return out


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str], Any]:
    tmp = tmp_path_factory.mktemp("hygiene")
    names = _accepted(tmp)
    # Every name the code generator uses and every helper is a parameter here.
    assert set(GENERATED + HELPERS) - {"__builtins__"} <= set(names), set(GENERATED) - set(names)
    assert len(names) > 150
    path = _network(names, tmp / "net.yaml")
    report = api.analyze(path, free=names)
    fn = compile_exprs([getattr(report.totals, m) for m in METRICS], names)
    return path, names, fn


@settings(max_examples=10, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_compiled_totals_equal_point_by_point_analysis(compiled: tuple, data: Any) -> None:
    path, names, fn = compiled
    point = {n: data.draw(st.sampled_from(VALUES), label=n) for n in names}
    totals = api.analyze(path, point).totals
    assert fn(*(point[n] for n in names)) == tuple(getattr(totals, m) for m in METRICS)


@pytest.mark.parametrize(
    "pair", [("t0", "p0"), ("floor", "max"), ("Fraction", "lru_cache"), ("g0", "exec")]
)
def test_the_sweep_command_compiles_names_like_its_own(tmp_path: Path, pair: tuple) -> None:
    path = _network([*pair, "x"], tmp_path / "net.yaml")
    result = api.sweep(path, {pair[0]: VALUES[:3], pair[1]: VALUES[2:5]})
    assert result.compiled, result.note
    for row in result.rows:
        point = {n: row[n] for n in pair}
        totals = api.analyze(path, point).totals
        assert tuple(row[m] for m in METRICS) == tuple(getattr(totals, m) for m in METRICS)


def test_a_formula_naming_anything_else_is_refused() -> None:
    import sympy

    from convcalc.symbolic.ops import symbol

    with pytest.raises(ConvcalcError, match="not swept"):
        compile_exprs([symbol("a", "real") + symbol("b", "real")], ["a"])
    with pytest.raises(ConvcalcError, match="no exact helper"):
        compile_exprs([sympy.sin(symbol("a", "real"))], ["a"])
