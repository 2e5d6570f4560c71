"""Exact arithmetic shared by the expression evaluator and every layer rule.

Concrete values are Python ``int`` and ``Fraction`` (``--rho 0.714`` is exactly 714/1000,
so rounding rules such as ``make_divisible`` and the floor in output sizes land exactly where
the reference implementations put them). Any other value is symbolic: the same operations
are then delegated to :mod:`convcalc.symbolic.ops`, which is imported only when a free
parameter is actually present, so a concrete run never imports sympy.

Whether rounding applies is a setting of the run (:mod:`convcalc.context`).

Every result is normalised (a Fraction with denominator 1 becomes an int) and bounded: an
integer beyond :data:`MAX_BITS` bits is refused, so ``9**9**9`` stops at once.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

from convcalc.context import current
from convcalc.errors import ExprError, LimitError

MAX_BITS = 4096  # largest magnitude of any exact intermediate value
MAX_EXPONENT = 4096

_CONCRETE = (int, Fraction, float)


_backend: Any = None  # convcalc.symbolic.ops, once imported (see set_symbolic)


def set_symbolic(backend: Any) -> None:
    """Hand symbolic values to ``backend`` (:mod:`convcalc.symbolic.ops`). It registers
    itself when imported; a symbolic value can only exist after that, since it is what
    makes the symbols, so a concrete run never imports sympy."""
    global _backend
    _backend = backend


def is_concrete(x: Any) -> bool:
    """True for exact numbers (and bools and floats); False for symbolic values."""
    return isinstance(x, _CONCRETE)


def _sym() -> Any:
    if _backend is None:  # pragma: no cover - a programming error
        raise RuntimeError("a symbolic value reached the arithmetic before its backend")
    return _backend


def _check(x: Any) -> Any:
    if isinstance(x, int):
        if x.bit_length() > MAX_BITS:
            raise LimitError(
                f"a value grew beyond {MAX_BITS} bits (about 10**{int(MAX_BITS * 0.30103)})",
                hint="check the expression for runaway powers or products",
            )
        return x
    if isinstance(x, Fraction):
        if x.denominator == 1:
            return _check(x.numerator)
        if x.numerator.bit_length() > MAX_BITS or x.denominator.bit_length() > MAX_BITS:
            raise LimitError(f"a fraction grew beyond {MAX_BITS} bits")
        return x
    if isinstance(x, float) and not math.isfinite(x):
        raise LimitError("a value is not finite")
    if getattr(x, "is_Number", False):
        return _sym().to_python(x)
    return x


def normalize(x: Any) -> Any:
    """Fractions with denominator 1 become ints; bools become ints."""
    if isinstance(x, bool):
        return int(x)
    return _check(x)


def add(a: Any, b: Any) -> Any:
    return _check(a + b)


def sub(a: Any, b: Any) -> Any:
    return _check(a - b)


def mul(a: Any, b: Any) -> Any:
    return _check(a * b)


def neg(a: Any) -> Any:
    return -a


def div(a: Any, b: Any) -> Any:
    """True division, exact: 3/2 is Fraction(3, 2)."""
    if is_concrete(a) and is_concrete(b):
        if b == 0:
            raise ExprError("division by zero")
        if isinstance(a, float) or isinstance(b, float):
            return _check(a / b)
        return _check(Fraction(a) / Fraction(b))
    return _sym().div(a, b)


def floordiv(a: Any, b: Any) -> Any:
    if current().smooth:
        return div(a, b)
    if is_concrete(a) and is_concrete(b):
        if b == 0:
            raise ExprError("division by zero")
        return _check(math.floor(Fraction(a) / Fraction(b)))
    return _sym().floordiv(a, b)


def ceildiv(a: Any, b: Any) -> Any:
    """ceil(a / b), used by output-size rules with ceil mode."""
    if current().smooth:
        return div(a, b)
    if is_concrete(a) and is_concrete(b):
        if b == 0:
            raise ExprError("division by zero")
        return _check(math.ceil(Fraction(a) / Fraction(b)))
    return _sym().ceildiv(a, b)


def mod(a: Any, b: Any) -> Any:
    if is_concrete(a) and is_concrete(b):
        if b == 0:
            raise ExprError("modulo by zero")
        return _check(Fraction(a) % Fraction(b))
    return _sym().mod(a, b)


def _iroot(n: int, q: int) -> int:
    """floor(n ** (1/q)) for n >= 0, exactly, by Newton's method on integers."""
    if n < 2:
        return n
    x = 1 << -(-n.bit_length() // q)  # a power of two at or above the root
    while True:
        y = ((q - 1) * x + n // x ** (q - 1)) // q
        if y >= x:
            return x
        x = y


def _exact_root(x: Fraction, q: int) -> Fraction | None:
    """The q-th root of x when it is rational (both parts perfect powers), else None."""
    if x < 0:
        return None
    roots = [_iroot(part, q) for part in (x.numerator, x.denominator)]
    if roots[0] ** q != x.numerator or roots[1] ** q != x.denominator:
        return None
    return Fraction(roots[0], roots[1])


def power(a: Any, b: Any) -> Any:
    """a ** b, exact where possible; refuses results beyond MAX_BITS."""
    if not (is_concrete(a) and is_concrete(b)):
        return _sym().power(a, b)
    if isinstance(a, float) or isinstance(b, float):
        try:
            return _check(float(a) ** float(b))
        except (OverflowError, ZeroDivisionError) as e:
            raise LimitError(f"{a} ** {b} cannot be computed: {e}") from None
    fb = Fraction(b)
    if abs(fb.numerator) > MAX_EXPONENT or fb.denominator > 64:
        raise LimitError(f"exponent {b} is too large; the limit is {MAX_EXPONENT}")
    fa = Fraction(a)
    if fa == 0 and fb < 0:
        raise ExprError("zero raised to a negative power")
    # |a| has at least bit_length - 1 bits of magnitude, so the result has at least
    # (bit_length - 1) * |b| of them: refuse only what must exceed the limit.
    bits = max(fa.numerator.bit_length(), fa.denominator.bit_length()) - 1
    if bits * abs(fb.numerator) / fb.denominator > MAX_BITS:
        raise LimitError(f"{a} ** {b} would exceed {MAX_BITS} bits")
    if fb.denominator == 1:
        return _check(fa**fb.numerator)
    root = _exact_root(fa, fb.denominator)
    if root is not None:
        return _check(root**fb.numerator)
    if fa < 0:
        raise ExprError(f"{a} ** {b} is not a real number")
    return _check(float(fa) ** float(fb))


def sqrt(a: Any) -> Any:
    return power(a, Fraction(1, 2))


def floor(a: Any) -> Any:
    if current().smooth:
        return a
    if is_concrete(a):
        return _check(math.floor(a))
    return _sym().floor(a)


def ceil(a: Any) -> Any:
    if current().smooth:
        return a
    if is_concrete(a):
        return _check(math.ceil(a))
    return _sym().ceil(a)


def round_half_even(a: Any) -> Any:
    """Python's round(): ties go to the even neighbour (round(2.5) == 2)."""
    if current().smooth:
        return a
    if is_concrete(a):
        return _check(round(a if isinstance(a, float) else Fraction(a)))
    return _sym().round_half_even(a)


def vabs(a: Any) -> Any:
    return abs(a) if is_concrete(a) else _sym().vabs(a)


def vmin(*xs: Any) -> Any:
    if all(is_concrete(x) for x in xs):
        return min(xs)
    return _sym().vmin(*xs)


def vmax(*xs: Any) -> Any:
    if all(is_concrete(x) for x in xs):
        return max(xs)
    return _sym().vmax(*xs)


def make_divisible(v: Any, divisor: Any = 8, min_value: Any = None) -> Any:
    """torchvision's ``_make_divisible``: round ``v`` to the nearest multiple of ``divisor``
    (ties up), never below ``min_value`` (default ``divisor``) and never more than 10% below
    ``v``."""
    if current().smooth:
        return v
    if min_value is None:
        min_value = divisor
    if not all(is_concrete(x) for x in (v, divisor, min_value)):
        return _sym().make_divisible(v, divisor, min_value)
    if divisor <= 0:
        raise ExprError(f"make_divisible: divisor must be positive, got {divisor}")
    fv = Fraction(v) if not isinstance(v, float) else Fraction(str(v))
    new_v = max(min_value, math.floor(fv + Fraction(divisor) / 2) // divisor * divisor)
    if new_v < Fraction(9, 10) * fv:
        new_v += divisor
    return _check(new_v)


def _compare(a: Any, b: Any, op: str) -> Any:
    if is_concrete(a) and is_concrete(b):
        return {
            "==": a == b,
            "!=": a != b,
            "<": a < b,
            "<=": a <= b,
            ">": a > b,
            ">=": a >= b,
        }[op]
    return _sym().compare(a, b, op)


def eq(a: Any, b: Any) -> Any:
    return _compare(a, b, "==")


def ne(a: Any, b: Any) -> Any:
    return _compare(a, b, "!=")


def lt(a: Any, b: Any) -> Any:
    return _compare(a, b, "<")


def le(a: Any, b: Any) -> Any:
    return _compare(a, b, "<=")


def gt(a: Any, b: Any) -> Any:
    return _compare(a, b, ">")


def ge(a: Any, b: Any) -> Any:
    return _compare(a, b, ">=")


def decided(x: Any) -> bool | None:
    """The truth of a condition, or None when it depends on free parameters."""
    if is_concrete(x) or isinstance(x, bool):
        return bool(x)
    return None


def logic(op: str, a: Any, b: Any = None) -> Any:
    """and/or/not where a side may be undecided (symbolic)."""
    da = decided(a)
    if op == "not":
        return (not da) if da is not None else _sym().logic("not", a)
    absorbing = op == "or"  # True decides an "or", False decides an "and"
    if da is absorbing:
        return da
    db = decided(b)
    if db is absorbing:
        return db
    if da is not None:  # a is the neutral element: the result is b
        return b
    if db is not None:
        return a
    return _sym().logic(op, a, b)


def indicator(cond: Any) -> Any:
    """1 where a symbolic condition holds, else 0 (weights a conditional layer)."""
    return _sym().indicator(cond)


def truth(x: Any, context: str) -> bool:
    """A condition's value; symbolic conditions must be decidable."""
    if is_concrete(x) or isinstance(x, bool):
        return bool(x)
    return _sym().truth(x, context)


def as_int(x: Any, what: str) -> Any:
    """An integer count (channels, kernel size...): exact ints pass, symbolic values pass,
    anything fractional is an error that says how to round it."""
    if isinstance(x, bool):
        return int(x)
    if isinstance(x, int):
        return x
    if isinstance(x, Fraction) and x.denominator == 1:
        return x.numerator
    if current().smooth and isinstance(x, Fraction):
        return x
    if isinstance(x, Fraction | float):
        shown = float(x)
        raise ExprError(
            f"{what} must be a whole number, got {x} (= {shown:g})",
            hint="wrap the expression in round(), floor(), ceil() or make_divisible()",
        )
    return _sym().as_int(x, what)


def prod(xs: Any) -> Any:
    out: Any = 1
    for x in xs:
        out = out * x
    return _check(out) if is_concrete(out) else out
