"""Compile symbolic totals once into plain-Python functions that evaluate exactly.

sympy's ``lambdify`` writes Python source for an expression; the printer here makes that
source exact: rationals become ``Fraction``, rounding functions call
:mod:`convcalc.num`'s exact implementations, so a compiled formula evaluated at
``alpha = 1/2`` gives the same integers as a concrete run (no floats, no numpy).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from fractions import Fraction
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
        return f"power({self._print(expr.base)}, {self._print(expr.exp)})"

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


_NAMESPACE = {
    "Fraction": Fraction,
    "power": num.power,
    "floor": num.floor,
    "ceil": num.ceil,
    "make_divisible": num.make_divisible,
    "round_half_even": num.round_half_even,
    "mod": num.mod,
}


def compile_exprs(exprs: Sequence[Any], names: Sequence[str]) -> Callable[..., tuple[Any, ...]]:
    """One function of ``names`` returning every expression's exact value, as a tuple."""
    symbols = {s.name: s for e in exprs for s in to_sympy(e).free_symbols}
    args = [symbols.get(n, sympy.Symbol(n)) for n in names]
    fn = sympy.lambdify(
        args,
        [to_sympy(e) for e in exprs],
        modules=[_NAMESPACE],
        printer=_ExactPrinter,
        cse=True,  # shared sub-formulas (a stage's channel count) are computed once
    )

    def call(*values: Any) -> tuple[Any, ...]:
        return tuple(num.normalize(v) for v in fn(*values))

    return call
