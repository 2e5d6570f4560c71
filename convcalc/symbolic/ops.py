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
from convcalc.context import charge, check_time, current
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
    """Numbers back to exact Python values, so later steps take the concrete path. Every
    symbolic operation ends here, so this is where the run's time bound is checked."""
    check_time()
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


def _lower_bound(e: Any, signs: tuple[int, ...]) -> Any:
    """A lower bound of ``e`` without some of its outermost roundings: in each term c*ceiling(u)
    or c*floor(u) of a sum whose coefficient's sign is in ``signs``, the rounding is replaced
    by the end of [u - 1, u + 1] that bounds the term from below (ceiling(u) >= u,
    floor(u) >= u - 1); other terms stay as they are."""
    total = sympy.Integer(0)
    for term in sympy.Add.make_args(e):
        c, rest = term.as_coeff_Mul()
        sign = 1 if c > 0 else -1
        if sign in signs and isinstance(rest, sympy.ceiling):
            u = rest.args[0]
            term = c * u if c > 0 else c * (u + 1)
        elif sign in signs and isinstance(rest, sympy.floor):
            u = rest.args[0]
            term = c * (u - 1) if c > 0 else c * u
        total += term
    return total


def vmax(*xs: Any) -> Any:
    """The largest of ``xs``. ``max(total padding, 0)`` of a 'same' convolution on a free
    size is ``2*ceiling(x/2) - x + 1``, never negative, which sympy cannot prove and takes
    seconds failing to; a bound without the outer roundings decides it at once (and the
    formula then has no max), anything else goes to sympy's Max."""
    args = [to_sympy(x) for x in xs]
    if len(args) == 2:
        for a, b in (args, args[::-1]):
            if b.is_Number and not a.is_Number:
                # Rounding up only the terms that add keeps a size that also appears
                # subtracted (2*ceiling(x/2) - x + 1, x itself rounded) as it is, so it
                # cancels; rounding every term covers sums of different roundings.
                for signs in ((1,), (1, -1)):
                    gap = _lower_bound(a, signs) - b
                    if gap.is_Number and gap >= 0:
                        return to_python(a)
    return to_python(sympy.Max(*args))


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
    """1 where ``cond`` holds, else 0: a condition on free parameters, charged to the
    run's budget of such conditions (each multiplies the formulas after it)."""
    charge("undecided", 1)
    return to_python(sympy.Piecewise((1, to_sympy(cond)), (0, True)))


def lazy_max(values: list[Any]) -> Any:
    """Max of many formulas without pairwise comparisons (evaluated once bound)."""
    unique = list(dict.fromkeys(to_sympy(v) for v in values))
    return unique[0] if len(unique) == 1 else sympy.Max(*unique, evaluate=False)


class _Printer(sympy.printing.str.StrPrinter):
    """sympy's str form, with negative powers written as divisions (1/D_K**2).

    Formulas of free parameters share sub-formulas many times over (the rounded size of an
    early stage appears in every later size, the peak in a max over every layer), and a
    tree printer prints each shared part again wherever it occurs: mobilenet's symbolic
    totals took seconds of printing for a few distinct parts. The text of each part is
    kept the first time it is printed (the text of an expression does not depend on where
    it occurs), so printing costs the size of the text, not the size of the tree."""

    _MEMO_LIMIT = 200_000  # parts kept at most; the memo starts over beyond

    def __init__(self, settings: dict[str, Any] | None = None) -> None:
        super().__init__(settings)
        self._memo: dict[Any, str] = {}

    def _print(self, expr: Any, **kwargs: Any) -> str:
        if kwargs or not isinstance(expr, sympy.Basic):
            return super()._print(expr, **kwargs)
        text = self._memo.get(expr)
        if text is None:
            check_time()
            text = super()._print(expr)
            if len(self._memo) >= self._MEMO_LIMIT:
                self._memo.clear()
            self._memo[expr] = text
        return text

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
    return _PRINTER.doprint(e)


_PRINTER = _Printer()


def show_with(x: Any, values: dict[Any, str]) -> str:
    """The formula ``show(x, expand=False)`` prints, with values in place of symbols."""
    return _ValuePrinter(values).doprint(to_sympy(x))


def simplify_ratio(a: Any, b: Any) -> Any:
    """a / b simplified as a design review writes it (1/N + 1/D_K**2, 2/n)."""
    return to_python(sympy.expand(sympy.cancel(to_sympy(a) / to_sympy(b))))


# Symbolic values reach this module through the arithmetic; see num.set_symbolic.
num.set_symbolic(sys.modules[__name__])
