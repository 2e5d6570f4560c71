"""Compile symbolic totals once into plain-Python functions that evaluate exactly.

The printer here writes each formula as Python source that stays exact: rationals become
``Fraction``, rounding functions call :mod:`convcalc.num`'s exact implementations, so a
compiled formula evaluated at ``alpha = 1/2`` gives the same integers as a concrete run (no
floats, no numpy).

The source is hygienic: no name from the architecture appears in it. Parameters are
``p0, p1, ...`` and shared sub-formulas ``t0, t1, ...`` (sympy ``Dummy`` symbols, which no
parameter can equal), stages ``g0, g1, ...``, and every helper (``Fraction``, ``floor``,
``max``, ...) is bound explicitly in the namespace the source runs in, which has no
builtins; a formula that names anything else is refused before it is run. So a parameter
named ``t0``, ``floor`` or ``max`` is just ``p0``.

Sweeps vary a few parameters over a grid, and most sub-formulas depend on only some of
them (channel counts on ``alpha``, sizes on ``rho``). Sub-formulas are grouped by the
parameters they depend on; each group but the last is a stage function whose results are
cached by its parameters' values, so a million-point grid of two parameters computes the
rounding of each value of each once and only the products per point.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from fractions import Fraction
from functools import lru_cache
from typing import Any

import sympy
from sympy.printing.lambdarepr import LambdaPrinter

from convcalc import num
from convcalc.context import check_time
from convcalc.errors import ConvcalcError
from convcalc.symbolic.ops import to_sympy

_STAGE_CACHE = 1 << 16  # values kept per stage


class _ExactPrinter(LambdaPrinter):
    """Python source in which every number and rounding rule stays exact, and every symbol
    is printed by its generated name (``names``), never its own."""

    def __init__(self, names: dict[Any, str]) -> None:
        super().__init__()
        self.names = names

    def _print_Symbol(self, expr: Any) -> str:
        if expr not in self.names:
            raise ConvcalcError(f"cannot compile a formula of {expr.name!r}")
        return self.names[expr]

    _print_Dummy = _print_Symbol

    def _print_Rational(self, expr: Any) -> str:
        return f"Fraction({expr.p}, {expr.q})"

    def _print_Half(self, expr: Any) -> str:
        return "Fraction(1, 2)"

    def _print_Integer(self, expr: Any) -> str:
        return str(int(expr))

    def _print_Pow(self, expr: Any, rational: bool = False) -> str:
        base, exp = self._print(expr.base), self._print(expr.exp)
        if expr.exp.is_Integer and expr.exp >= 0:
            return f"({base})**{exp}"  # exact for ints and Fractions
        return f"power({base}, {exp})"

    def _print_floor(self, expr: Any) -> str:
        return f"floor({self._print(expr.args[0])})"

    def _print_ceiling(self, expr: Any) -> str:
        return f"ceil({self._print(expr.args[0])})"

    def _print_MakeDivisible(self, expr: Any) -> str:
        return "make_divisible(" + ", ".join(self._print(a) for a in expr.args) + ")"

    def _print_RoundHalfEven(self, expr: Any) -> str:
        return f"round_half_even({self._print(expr.args[0])})"

    def _print_Max(self, expr: Any) -> str:
        return "max(" + ", ".join(self._print(a) for a in expr.args) + ")"

    def _print_Min(self, expr: Any) -> str:
        return "min(" + ", ".join(self._print(a) for a in expr.args) + ")"

    def _print_Abs(self, expr: Any) -> str:
        return f"abs({self._print(expr.args[0])})"

    def _print_Mod(self, expr: Any) -> str:
        return f"mod({self._print(expr.args[0])}, {self._print(expr.args[1])})"


_UNEVALUATED = (sympy.Add, sympy.Mul, sympy.Pow, sympy.Max, sympy.Min)

# Rounding functions are pure and see the same few arguments again and again across a
# sweep (one stage's channels for every resolution), so their results are cached.
_NAMESPACE = {
    "Fraction": Fraction,
    "power": num.power,
    "floor": lru_cache(maxsize=8192)(num.floor),
    "ceil": lru_cache(maxsize=8192)(num.ceil),
    "make_divisible": lru_cache(maxsize=8192)(num.make_divisible),
    "round_half_even": lru_cache(maxsize=8192)(num.round_half_even),
    "mod": num.mod,
    "max": max,
    "min": min,
    "abs": abs,
}


def _shared(exprs: Sequence[Any]) -> tuple[list[tuple[Any, Any]], list[Any]]:
    """Common-subexpression elimination in one linear pass (sympy's ``cse`` optimises
    harder but takes seconds on a network's totals): every non-trivial sub-formula used
    more than once becomes a temporary."""
    counts: dict[Any, int] = {}
    order: list[Any] = []

    def visit(e: Any) -> None:
        if e.is_Atom:
            return
        seen = counts.get(e, 0)
        counts[e] = seen + 1
        if not seen:
            for arg in e.args:
                visit(arg)
            order.append(e)  # post-order: parts before the whole

    for e in exprs:
        visit(e)
    mapping: dict[Any, Any] = {}
    rebuilt: dict[Any, Any] = {}

    def rebuild(e: Any) -> Any:
        """e with its shared parts replaced, without re-simplifying (Max would compare
        every pair of its arguments again)."""
        if e in mapping:
            return mapping[e]
        if e.is_Atom or not e.args:
            return e
        if e not in rebuilt:
            args = [rebuild(a) for a in e.args]
            if all(x is y for x, y in zip(args, e.args, strict=True)):
                rebuilt[e] = e
            elif isinstance(e, _UNEVALUATED):
                rebuilt[e] = e.func(*args, evaluate=False)
            else:
                rebuilt[e] = e.func(*args)
        return rebuilt[e]

    replacements: list[tuple[Any, Any]] = []
    for e in order:
        if counts[e] > 1 and isinstance(e, sympy.Expr):
            check_time()
            temp = sympy.Dummy(f"t{len(replacements)}")
            replacements.append((temp, rebuild(e)))
            mapping[e] = temp
    return replacements, [rebuild(e) for e in exprs]


def compile_exprs(exprs: Sequence[Any], names: Sequence[str]) -> Callable[..., tuple[Any, ...]]:
    """One function of ``names`` returning every expression's exact value, as a tuple. A
    :class:`ConvcalcError` where a formula cannot be compiled (it depends on a parameter
    not in ``names``, or uses a function without an exact helper)."""
    formulas = [to_sympy(e) for e in exprs]
    free = {s for f in formulas for s in getattr(f, "free_symbols", ())}
    stray = sorted(s.name for s in free if s.name not in names)
    if stray:
        raise ConvcalcError(f"the totals depend on parameters not swept: {', '.join(stray)}")
    position = {n: i for i, n in enumerate(names)}
    arg_of = {s: position[s.name] for s in free}
    replacements, finals = _shared(formulas)
    source = _source(replacements, finals, arg_of, len(names))
    try:
        code = compile(source, "<convcalc sweep>", "exec")
    except (SyntaxError, RecursionError, MemoryError, ValueError) as e:
        raise ConvcalcError(f"the totals are too deeply nested to compile ({e})") from None
    namespace: dict[str, Any] = {"__builtins__": {}, **_NAMESPACE, "lru_cache": lru_cache}
    unknown = _names(code) - set(namespace) - _defined(source)
    if unknown:
        raise ConvcalcError(f"cannot compile the totals: no exact helper for {sorted(unknown)}")
    exec(code, namespace)  # generated source: no text from the architecture is in it
    fn = namespace["f"]

    def call(*values: Any) -> tuple[Any, ...]:
        return tuple(v if type(v) is int else num.normalize(v) for v in fn(*values))

    return call


def _source(
    replacements: list[tuple[Any, Any]], finals: list[Any], arg_of: dict[Any, int], n: int
) -> str:
    """The module text: one cached stage function per group of shared sub-formulas that
    depend on the same proper subset of the parameters, then ``f`` of all of them."""
    names: dict[Any, str] = {s: f"p{i}" for s, i in arg_of.items()}
    deps: dict[Any, frozenset[int]] = {}
    groups: dict[frozenset[int], list[Any]] = {}
    for index, (temp, e) in enumerate(replacements):
        names[temp] = f"t{index}"
        d: set[int] = set()
        for s in e.free_symbols:
            d |= {arg_of[s]} if s in arg_of else deps[s]
        deps[temp] = frozenset(d)
        groups.setdefault(deps[temp], []).append((temp, e))
    everything = frozenset(range(n))
    stage = {key: f"g{k}" for k, key in enumerate(k for k in groups if k != everything)}
    printer = _ExactPrinter(names)
    lines: list[str] = []

    def body(items: list[tuple[Any, Any]], own: frozenset[int], indent: str) -> list[str]:
        """Calls of the stages ``items`` read (other than their own), then the items."""
        used = {deps[s] for _, e in items for s in e.free_symbols if s in deps} - {own}
        out = []
        for key in sorted(used, key=sorted):
            temps = [names[t] for t, _ in groups[key]]
            params = ", ".join(f"p{i}" for i in sorted(key))
            out.append(f"{indent}({', '.join(temps)},) = {stage[key]}({params})")
        out += [f"{indent}{names[t]} = {printer.doprint(e)}" for t, e in items]
        return out

    for key, name in stage.items():
        params = ", ".join(f"p{i}" for i in sorted(key))
        lines.append(f"@lru_cache(maxsize={_STAGE_CACHE})")
        lines.append(f"def {name}({params}):")
        lines += body(groups[key], key, "    ")
        lines.append(f"    return ({', '.join(names[t] for t, _ in groups[key])},)")
    last = groups.get(everything, [])
    results = [(sympy.Dummy("r"), e) for e in finals]
    for r, _ in results:
        names[r] = f"r{len(names)}"
    lines.append(f"def f({', '.join(f'p{i}' for i in range(n))}):")
    for r, e in results:
        d: set[int] = set()
        for s in getattr(e, "free_symbols", ()):
            d |= {arg_of[s]} if s in arg_of else deps[s]
        deps[r] = frozenset(d)
    lines += body([*last, *results], everything, "    ")
    lines.append(f"    return ({', '.join(names[r] for r, _ in results)},)")
    return "\n".join(lines) + "\n"


def _names(code: Any) -> set[str]:
    """Every global name the compiled module and its functions read."""
    out = set(code.co_names)
    for const in code.co_consts:
        if hasattr(const, "co_names"):
            out |= _names(const)
    return out


def _defined(source: str) -> set[str]:
    """The names the module defines itself (its stage functions and ``f``)."""
    return {line[4:].split("(")[0] for line in source.splitlines() if line.startswith("def ")}
