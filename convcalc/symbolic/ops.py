"""The symbolic side of :mod:`convcalc.num`: the same operations on sympy values.

``make_divisible`` and ``round`` are sympy functions that fold to numbers once their
arguments are numbers and otherwise stay unevaluated, so rounding stays exact until a value
is bound; ``floor``/``ceiling`` are sympy's own. In smooth mode (``--no-round``) every
rounding is the identity and floor division is true division, which gives the formulas
papers write (alpha * C instead of make_divisible(alpha * C, 8)).
"""

from __future__ import annotations

import sys
from fractions import Fraction
from functools import lru_cache
from typing import Any

import sympy

from convcalc import num
from convcalc.context import current
from convcalc.errors import ExprError
from convcalc.names import IDENTIFIER


def symbol(name: str, kind: str) -> sympy.Symbol:
    """A positive symbol for a free parameter: ``int`` (counts, sizes), ``even`` (a size
    that halves exactly) or ``real`` (multipliers)."""
    if not IDENTIFIER.match(name):  # names are validated by the loader; never trust text here
        raise ExprError(f"{name!r} is not a valid parameter name")
    if kind == "real":
        return sympy.Symbol(name, positive=True)
    if kind == "even":
        return sympy.Symbol(name, integer=True, positive=True, even=True)
    return sympy.Symbol(name, integer=True, positive=True)


def to_sympy(x: Any) -> Any:
    if isinstance(x, bool):
        return sympy.true if x else sympy.false
    if isinstance(x, int):
        return sympy.Integer(x)
    if isinstance(x, Fraction):
        return sympy.Rational(x.numerator, x.denominator)
    if isinstance(x, float):
        return sympy.Float(x)
    return x


def to_python(x: Any) -> Any:
    """Numbers back to exact Python values, so later steps take the concrete path."""
    if isinstance(x, sympy.Basic):
        if x.is_Integer:
            return int(x)
        if x.is_Rational:
            return Fraction(int(x.p), int(x.q))
        if x is sympy.true:
            return True
        if x is sympy.false:
            return False
    return x


class MakeDivisible(sympy.Function):
    """torchvision's ``_make_divisible``; evaluates once every argument is a number."""

    @classmethod
    def eval(cls, v: Any, divisor: Any, min_value: Any) -> Any:
        if all(a.is_Number for a in (v, divisor, min_value)):
            return to_sympy(
                num.make_divisible(to_python(v), to_python(divisor), to_python(min_value))
            )
        return None

    def _eval_is_integer(self) -> bool:
        return True

    def _eval_is_positive(self) -> bool:
        return True


class RoundHalfEven(sympy.Function):
    """Python's ``round`` (ties to even); evaluates once its argument is a number."""

    @classmethod
    def eval(cls, x: Any) -> Any:
        if x.is_Number:
            return to_sympy(num.round_half_even(to_python(x)))
        if x.is_integer:
            return x
        return None

    def _eval_is_integer(self) -> bool:
        return True


def _wrap(fn: Any) -> Any:
    def apply(*args: Any) -> Any:
        return to_python(fn(*(to_sympy(a) for a in args)))

    return apply


def div(a: Any, b: Any) -> Any:
    return to_python(to_sympy(a) / to_sympy(b))


def floordiv(a: Any, b: Any) -> Any:
    return to_python(sympy.floor(to_sympy(a) / to_sympy(b)))


def ceildiv(a: Any, b: Any) -> Any:
    return to_python(sympy.ceiling(to_sympy(a) / to_sympy(b)))


def mod(a: Any, b: Any) -> Any:
    return to_python(sympy.Mod(to_sympy(a), to_sympy(b)))


def power(a: Any, b: Any) -> Any:
    exponent = to_sympy(b)
    if exponent.is_Number and abs(exponent) > num.MAX_EXPONENT:
        from convcalc.errors import LimitError

        raise LimitError(f"exponent {b} is too large; the limit is {num.MAX_EXPONENT}")
    return to_python(sympy.Pow(to_sympy(a), exponent))


def floor(a: Any) -> Any:
    return to_python(sympy.floor(to_sympy(a)))


def ceil(a: Any) -> Any:
    return to_python(sympy.ceiling(to_sympy(a)))


def round_half_even(a: Any) -> Any:
    return to_python(RoundHalfEven(to_sympy(a)))


def make_divisible(v: Any, divisor: Any, min_value: Any) -> Any:
    return to_python(MakeDivisible(to_sympy(v), to_sympy(divisor), to_sympy(min_value)))


vabs = _wrap(sympy.Abs)
vmin = _wrap(sympy.Min)
vmax = _wrap(sympy.Max)

_RELATIONS = {
    "==": sympy.Eq,
    "!=": sympy.Ne,
    "<": sympy.Lt,
    "<=": sympy.Le,
    ">": sympy.Gt,
    ">=": sympy.Ge,
}


def compare(a: Any, b: Any, op: str) -> Any:
    sa, sb = to_sympy(a), to_sympy(b)
    if op in ("==", "!=") and sa == sb:  # structurally identical: decided without simplify
        return op == "=="
    return to_python(_RELATIONS[op](sa, sb))


def truth(x: Any, context: str) -> bool:
    value = to_python(x)
    if isinstance(value, bool):
        return value
    if num.is_concrete(value):
        return bool(value)
    free = ", ".join(sorted(str(s) for s in getattr(x, "free_symbols", ())))
    raise ExprError(
        f"the condition of '{context}' depends on free parameters ({free}) and cannot be decided",
        hint="give those parameters values (--set name=value) instead of leaving them free",
    )


def as_int(x: Any, what: str) -> Any:
    if current().smooth:
        return x
    if getattr(x, "is_integer", None) is False and getattr(x, "is_number", False):
        raise ExprError(f"{what} must be a whole number, got {x}")
    return x


def logic(op: str, a: Any, b: Any = None) -> Any:
    if op == "not":
        return to_python(sympy.Not(to_sympy(a)))
    fn = sympy.And if op == "and" else sympy.Or
    return to_python(fn(to_sympy(a), to_sympy(b)))


def indicator(cond: Any) -> Any:
    return to_python(sympy.Piecewise((1, to_sympy(cond)), (0, True)))


def lazy_max(values: list[Any]) -> Any:
    """Max of many formulas without pairwise comparisons (evaluated once bound)."""
    unique = list(dict.fromkeys(to_sympy(v) for v in values))
    return unique[0] if len(unique) == 1 else sympy.Max(*unique, evaluate=False)


class _Printer(sympy.printing.str.StrPrinter):
    """sympy's str form, with negative powers written as divisions (1/D_K**2)."""

    def _print_Pow(self, expr: Any, rational: bool = False) -> str:
        exp = expr.exp
        if exp.is_Rational and exp.is_negative:
            inner = sympy.Pow(expr.base, -exp)
            return "1/" + self.parenthesize(inner, sympy.printing.precedence.PRECEDENCE["Mul"])
        return super()._print_Pow(expr, rational)


class _ValuePrinter(_Printer):
    """Prints a formula with its symbols replaced by their values, keeping its shape."""

    def __init__(self, values: dict[Any, str]) -> None:
        super().__init__()
        self.values = values

    def _print_Symbol(self, expr: Any) -> str:
        return self.values.get(expr, expr.name)


def show(x: Any, expand: bool = True) -> str:
    """A formula as text; ``expand`` multiplies polynomials out for reading totals."""
    return _show(to_sympy(x), expand)


@lru_cache(maxsize=4096)
def _show(e: Any, expand: bool) -> str:
    """The text of one formula, cached: a report prints the same shape, count and field
    formulas for many layers (mobilenet_v2 --symbolic: 1,590 cells, 234 formulas), and
    printing one costs about a millisecond."""
    if (
        expand
        and isinstance(e, sympy.Basic)
        and not e.atoms(sympy.Function)
        and not e.has(sympy.Max)
    ):
        e = sympy.expand(e)
    return _Printer().doprint(e)


def show_with(x: Any, values: dict[Any, str]) -> str:
    """The formula ``show(x, expand=False)`` prints, with values in place of symbols."""
    return _ValuePrinter(values).doprint(to_sympy(x))


def simplify_ratio(a: Any, b: Any) -> Any:
    """a / b simplified as a design review writes it (1/N + 1/D_K**2, 2/n)."""
    return to_python(sympy.expand(sympy.cancel(to_sympy(a) / to_sympy(b))))


# Symbolic values reach this module through the arithmetic; see num.set_symbolic.
num.set_symbolic(sys.modules[__name__])
