"""Compile symbolic totals once into plain-Python functions that evaluate exactly.

sympy's ``lambdify`` writes Python source for an expression; the printer here makes that
source exact: rationals become ``Fraction``, rounding functions call
:mod:`convcalc.num`'s exact implementations, so a compiled formula evaluated at
``alpha = 1/2`` gives the same integers as a concrete run (no floats, no numpy).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from fractions import Fraction
from functools import lru_cache
from typing import Any

import sympy
from sympy.printing.lambdarepr import LambdaPrinter

from convcalc import num
from convcalc.symbolic.ops import to_sympy


class _ExactPrinter(LambdaPrinter):
    """Python source in which every number and rounding rule stays exact."""

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
            temp = sympy.Symbol(f"_t{len(replacements)}")
            replacements.append((temp, rebuild(e)))
            mapping[e] = temp
    return replacements, [rebuild(e) for e in exprs]


def compile_exprs(exprs: Sequence[Any], names: Sequence[str]) -> Callable[..., tuple[Any, ...]]:
    """One function of ``names`` returning every expression's exact value, as a tuple."""
    symbols = {s.name: s for e in exprs for s in to_sympy(e).free_symbols}
    args = [symbols.get(n, sympy.Symbol(n)) for n in names]
    fn = sympy.lambdify(
        args,
        [to_sympy(e) for e in exprs],
        modules=[_NAMESPACE],
        printer=_ExactPrinter,
        cse=_shared,  # shared sub-formulas (a stage's channel count) are computed once
    )

    def call(*values: Any) -> tuple[Any, ...]:
        return tuple(num.normalize(v) for v in fn(*values))

    return call
