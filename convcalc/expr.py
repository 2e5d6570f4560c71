"""The safe expression language used by every numeric field.

User text is tokenised and parsed here into convcalc's own small tree; nothing is ever
passed to ``eval``, ``exec``, ``sympify`` or ``parse_expr``. The grammar (lowest binding
first)::

    expr    := or_expr ["if" or_expr "else" expr]
    or_expr := and_expr {"or" and_expr}
    and_expr:= not_expr {"and" not_expr}
    not_expr:= "not" not_expr | compare
    compare := arith [("==" | "!=" | "<" | "<=" | ">" | ">=") arith]
    arith   := term {("+" | "-") term}
    term    := unary {("*" | "/" | "//" | "%") unary}
    unary   := ("-" | "+") unary | power
    power   := atom ["**" unary]
    atom    := NUMBER | NAME | NAME "(" [expr {"," expr}] ")" | "(" expr ")"

Names must be declared parameters, block arguments or built-ins; functions come from a
fixed table (:data:`FUNCTIONS`). Evaluation (:func:`evaluate`) works on exact values
(``int`` and ``Fraction``) and, for free parameters, on symbolic values handled by
:mod:`convcalc.num`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from fractions import Fraction
from functools import lru_cache
from typing import Any

from convcalc import num
from convcalc.context import current
from convcalc.errors import ExprError, LimitError

MAX_LENGTH = 1000  # characters in one expression
MAX_DEPTH = 50  # nesting of parentheses, operators and calls
MAX_NAME = 64  # characters in one name
MAX_STEPS = 200_000  # expression nodes evaluated per expansion, plus some per layer
DIGITS = 50  # significant digits of a logarithm or exponential that is not rational
MAX_EXP_ARG = 2800  # exp(2800) is about 2**4040, just inside num.MAX_BITS

_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<num>(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>\*\*|//|==|!=|<=|>=|[-+*/%<>(),])
    """,
    re.VERBOSE,
)
_KEYWORDS = {"if", "else", "and", "or", "not"}
_FORBIDDEN_WORDS = {"lambda", "for", "in", "is", "import", "yield", "await", "def", "class"}


# --- tree ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Num:
    value: int | Fraction


@dataclass(frozen=True, slots=True)
class Name:
    id: str


@dataclass(frozen=True, slots=True)
class Unary:
    op: str  # "-", "+", "not"
    operand: Node


@dataclass(frozen=True, slots=True)
class BinOp:
    op: str  # + - * / // % ** == != < <= > >= and or
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Call:
    func: str
    args: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class IfElse:
    test: Node
    body: Node
    orelse: Node


Node = Num | Name | Unary | BinOp | Call | IfElse


# --- functions ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Function:
    impl: Callable[..., Any]
    min_args: int
    max_args: int
    doc: str


def _transcendental_arg(value: Any, func: str) -> Fraction:
    """The exact rational argument of log, log2 or exp; a free parameter is refused (the
    symbolic engine does not carry logarithms: their rounding is only decided on a number)."""
    if not num.is_concrete(value):
        raise ExprError(
            f"{func}() needs a number, but its argument depends on a free parameter ({value})",
            hint="give the parameters it uses values (--set), or keep them out of "
            "log, log2 and exp",
        )
    return Fraction(value)


def _rounded(value: Decimal) -> Fraction:
    """The exact fraction of a decimal already rounded to DIGITS significant digits."""
    return num.normalize(Fraction(value))


def _exact_log(x: Fraction, base: Fraction, estimate: Decimal) -> Fraction | None:
    """log_base(x) as a fraction p/q (q <= 64) when x ** q == base ** p exactly, else None.

    The estimate picks the only candidate worth checking; the check is exact integer
    arithmetic, kept within num.MAX_BITS so a huge candidate power is never built."""
    guess = Fraction(estimate).limit_denominator(64)
    p, q = guess.numerator, guess.denominator
    bits = max(x.numerator.bit_length(), x.denominator.bit_length()) * q
    if bits > 4 * num.MAX_BITS:
        return None
    return guess if x**q == base**p else None


def _log(value: Any, base: Any = None) -> Any:
    """Natural logarithm (or to ``base``): exact where the result is rational (log(1) = 0,
    log(8, 2) = 3), else the DIGITS-digit decimal nearest the true value."""
    x = _transcendental_arg(value, "log")
    if x <= 0:
        raise ExprError(f"log() of {value}: the argument must be positive")
    b = None if base is None else _transcendental_arg(base, "log")
    if b is not None and (b <= 0 or b == 1):
        raise ExprError(f"log() to base {base}: the base must be positive and not 1")
    with localcontext() as ctx:
        ctx.prec, ctx.rounding = DIGITS + 10, ROUND_HALF_EVEN
        ln_x = Decimal(x.numerator).ln() - Decimal(x.denominator).ln()
        if b is None:
            if x == 1:
                return 0
            ctx.prec = DIGITS
            return _rounded(+ln_x)
        ln_b = Decimal(b.numerator).ln() - Decimal(b.denominator).ln()
        estimate = ln_x / ln_b
        exact = _exact_log(x, b, estimate)
        if exact is not None:
            return num.normalize(exact)
        ctx.prec = DIGITS
        return _rounded(+estimate)


def _log2(value: Any) -> Any:
    """Base-2 logarithm: exact for powers of two (log2(8) = 3, log2(1/4) = -2)."""
    return _log(value, 2)


def _exp(value: Any) -> Any:
    """e ** x: exp(0) = 1 exactly, else the DIGITS-digit decimal nearest the true value."""
    x = _transcendental_arg(value, "exp")
    if x == 0:
        return 1
    if abs(x) > MAX_EXP_ARG:
        raise LimitError(f"exp({value}) is too large; the argument must be within +-{MAX_EXP_ARG}")
    with localcontext() as ctx:
        ctx.prec, ctx.rounding = DIGITS + 10, ROUND_HALF_EVEN
        result = (Decimal(x.numerator) / Decimal(x.denominator)).exp()
        ctx.prec = DIGITS
        return _rounded(+result)


FUNCTIONS: dict[str, Function] = {
    "min": Function(num.vmin, 1, 64, "smallest argument"),
    "max": Function(num.vmax, 1, 64, "largest argument"),
    "floor": Function(num.floor, 1, 1, "round down to an integer"),
    "ceil": Function(num.ceil, 1, 1, "round up to an integer"),
    "round": Function(num.round_half_even, 1, 1, "round to nearest integer, ties to even"),
    "abs": Function(num.vabs, 1, 1, "absolute value"),
    "sqrt": Function(num.sqrt, 1, 1, "square root (exact for perfect squares)"),
    "log": Function(_log, 1, 2, "log(x, base=e): logarithm, exact where rational, else 50 digits"),
    "log2": Function(_log2, 1, 1, "base-2 logarithm, exact for powers of two"),
    "exp": Function(_exp, 1, 1, "e ** x: exact for exp(0), else 50 significant digits"),
    "make_divisible": Function(
        num.make_divisible,
        1,
        3,
        "make_divisible(v, divisor=8, min_value=divisor): torchvision's channel rounding",
    ),
}


# --- parser -------------------------------------------------------------------------------


def _tokenize(text: str) -> Iterator[tuple[str, str, int]]:
    """Tokens one at a time, so the parser reports the first problem from the left."""
    pos = 0
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if m is None:
            ch = text[pos]
            why = {
                ".": "attribute access is not allowed",
                "[": "subscripts and lists are not allowed",
                "'": "strings are not allowed",
                '"': "strings are not allowed",
                ":": "':' (slices, walrus, lambdas) is not allowed",
                "=": "assignment is not allowed; compare with '=='",
            }.get(ch, "it is not part of the expression language")
            raise ExprError(
                f"unexpected character {ch!r} at column {pos + 1} in {text!r}: {why}",
                hint="expressions use numbers, parameter names, + - * / // % ** and "
                + ", ".join(sorted(FUNCTIONS)),
            )
        kind = m.lastgroup
        assert kind is not None
        if kind != "ws":
            yield kind, m.group(), pos
        pos = m.end()
    yield "end", "", len(text)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self._source = _tokenize(text)
        self.tokens: list[tuple[str, str, int]] = []
        self.i = 0
        self.depth = 0

    def peek(self) -> tuple[str, str, int]:
        while len(self.tokens) <= self.i:
            self.tokens.append(next(self._source))
        return self.tokens[self.i]

    def take(self) -> tuple[str, str, int]:
        tok = self.peek()
        self.i += 1
        return tok

    def at(self, value: str) -> bool:
        kind, val, _ = self.peek()
        return val == value and kind in ("op", "name")

    def expect(self, value: str) -> None:
        if not self.at(value):
            self.fail(f"expected {value!r}")
        self.i += 1

    def fail(self, what: str) -> None:
        kind, val, pos = self.peek()
        found = "the end" if kind == "end" else repr(val)
        raise ExprError(f"{what} at column {pos + 1} in {self.text!r}, found {found}")

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise LimitError(
                f"expression nests deeper than {MAX_DEPTH} levels: {self.text[:60]!r}...",
                hint="split it into named vars",
            )

    def parse(self) -> Node:
        node = self.expr()
        if self.peek()[0] != "end":
            val = self.peek()[1]
            if val in _FORBIDDEN_WORDS:
                self.fail(f"{val!r} is not allowed")
            self.fail("unexpected token")
        return node

    def expr(self) -> Node:
        self.enter()
        node = self.or_expr()
        if self.at("if"):
            self.take()
            test = self.or_expr()
            self.expect("else")
            node = IfElse(test, node, self.expr())
        self.depth -= 1
        return node

    def or_expr(self) -> Node:
        node = self.and_expr()
        while self.at("or"):
            self.take()
            node = BinOp("or", node, self.and_expr())
        return node

    def and_expr(self) -> Node:
        node = self.not_expr()
        while self.at("and"):
            self.take()
            node = BinOp("and", node, self.not_expr())
        return node

    def not_expr(self) -> Node:
        if self.at("not"):
            self.take()
            self.enter()
            node = Unary("not", self.not_expr())
            self.depth -= 1
            return node
        return self.compare()

    def compare(self) -> Node:
        node = self.arith()
        if self.peek()[1] in ("==", "!=", "<", "<=", ">", ">=") and self.peek()[0] == "op":
            op = self.take()[1]
            node = BinOp(op, node, self.arith())
            if self.peek()[1] in ("==", "!=", "<", "<=", ">", ">="):
                self.fail("chained comparisons are not allowed; use 'and'")
        return node

    def arith(self) -> Node:
        node = self.term()
        while self.peek()[0] == "op" and self.peek()[1] in ("+", "-"):
            op = self.take()[1]
            node = BinOp(op, node, self.term())
        return node

    def term(self) -> Node:
        node = self.unary()
        while self.peek()[0] == "op" and self.peek()[1] in ("*", "/", "//", "%"):
            op = self.take()[1]
            node = BinOp(op, node, self.unary())
        return node

    def unary(self) -> Node:
        if self.peek()[0] == "op" and self.peek()[1] in ("-", "+"):
            op = self.take()[1]
            self.enter()
            node = Unary(op, self.unary())
            self.depth -= 1
            return node
        return self.power()

    def power(self) -> Node:
        node = self.atom()
        if self.peek()[0] == "op" and self.peek()[1] == "**":
            self.take()
            self.enter()
            node = BinOp("**", node, self.unary())
            self.depth -= 1
        return node

    def atom(self) -> Node:
        kind, val, pos = self.take()
        if kind == "num":
            if len(val) > 40:
                raise LimitError(f"number literal {val[:20]!r}... is longer than 40 characters")
            exponent = val.lower().partition("e")[2]
            if exponent and abs(int(exponent)) > num.MAX_EXPONENT:
                # Fraction("1e999999999") would build a billion-digit integer first.
                raise LimitError(
                    f"exponent of the number literal {val!r} is too large; "
                    f"the limit is {num.MAX_EXPONENT}"
                )
            return Num(num.normalize(Fraction(val)))
        if kind == "name":
            if val in _KEYWORDS or val in _FORBIDDEN_WORDS:
                self.i -= 1
                self.fail(f"{val!r} is not allowed here")
            if len(val) > MAX_NAME:
                raise LimitError(f"name {val[:20]!r}... is longer than {MAX_NAME} characters")
            if self.at("("):
                return self.call(val, pos)
            if val.startswith("__"):
                raise ExprError(f"name {val!r} is not allowed: names may not start with '__'")
            return Name(val)
        if kind == "op" and val == "(":
            self.enter()
            node = self.expr()
            self.depth -= 1
            self.expect(")")
            return node
        self.i -= 1
        self.fail("expected a number, a name or '('")
        raise AssertionError  # pragma: no cover - fail() always raises

    def call(self, func: str, pos: int) -> Node:
        spec = FUNCTIONS.get(func)
        if spec is None:
            raise ExprError(
                f"unknown function {func!r} at column {pos + 1} in {self.text!r}",
                hint="allowed functions: " + ", ".join(sorted(FUNCTIONS)),
            )
        self.expect("(")
        self.enter()
        args: list[Node] = []
        if not self.at(")"):
            args.append(self.expr())
            while self.at(","):
                self.take()
                args.append(self.expr())
        self.expect(")")
        self.depth -= 1
        if not spec.min_args <= len(args) <= spec.max_args:
            raise ExprError(
                f"{func}() takes {spec.min_args}"
                + (f" to {spec.max_args}" if spec.max_args != spec.min_args else "")
                + f" arguments, got {len(args)} in {self.text!r}"
            )
        return Call(func, tuple(args))


@lru_cache(maxsize=4096)
def parse(text: str) -> Node:
    """Parse ``text`` into a tree; raises :class:`ExprError` or :class:`LimitError`."""
    if len(text) > MAX_LENGTH:
        raise LimitError(
            f"expression is {len(text)} characters long; the limit is {MAX_LENGTH}",
            hint="split it into named vars",
        )
    return _Parser(text).parse()


# --- evaluation ---------------------------------------------------------------------------

_BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "+": num.add,
    "-": num.sub,
    "*": num.mul,
    "/": num.div,
    "//": num.floordiv,
    "%": num.mod,
    "**": num.power,
    "==": num.eq,
    "!=": num.ne,
    "<": num.lt,
    "<=": num.le,
    ">": num.gt,
    ">=": num.ge,
}


def evaluate(node: Node, env: Mapping[str, Any]) -> Any:
    """Evaluate a tree with the values in ``env`` (exact numbers or symbolic values).

    Exact arithmetic cannot overflow, but a non-exact root falls back to floating point,
    and a float meeting an integer beyond 10**308 raises OverflowError; that is reported
    as a limit, never as a crash."""
    try:
        return _evaluate(node, env)
    except OverflowError as e:
        raise LimitError(
            f"a value is too large for floating-point arithmetic ({e})",
            hint="only non-exact roots (sqrt, fractional powers) use floating point; "
            "keep their arguments below 10**308",
        ) from None
    except ZeroDivisionError:
        raise ExprError("division by zero") from None


def _evaluate(node: Node, env: Mapping[str, Any]) -> Any:
    if isinstance(node, Num):
        return node.value
    if isinstance(node, Name):
        try:
            return env[node.id]
        except KeyError:
            known = ", ".join(sorted(k for k in env if not k.startswith("$"))) or "none"
            raise ExprError(
                f"unknown name {node.id!r}",
                hint=f"names defined here: {known}",
            ) from None
    if isinstance(node, BinOp):
        if node.op in ("and", "or"):
            left = _evaluate(node.left, env)
            known = num.decided(left)
            if known is (node.op == "or"):  # short-circuit as Python does
                return known
            return num.logic(node.op, left, _evaluate(node.right, env))
        return _BINARY[node.op](_evaluate(node.left, env), _evaluate(node.right, env))
    if isinstance(node, Unary):
        value = _evaluate(node.operand, env)
        if node.op == "-":
            return num.neg(value)
        if node.op == "not":
            return num.logic("not", value)
        return value
    if isinstance(node, Call):
        return FUNCTIONS[node.func].impl(*(_evaluate(a, env) for a in node.args))
    if isinstance(node, IfElse):
        if num.truth(_evaluate(node.test, env), "if"):
            return _evaluate(node.body, env)
        return _evaluate(node.orelse, env)
    raise TypeError(node)  # pragma: no cover


def allow(steps: int) -> None:
    """Add ``steps`` to the run's budget (each emitted layer earns its expressions some).

    Each expression is short (MAX_LENGTH), but a 1,000-character expression on every
    argument of 100,000 repeated layers would still take many minutes; the expansion of
    one architecture runs inside :func:`convcalc.context.budget` (MAX_STEPS), raised here as
    layers are emitted, so such a file is refused at once."""
    run = current()
    if run.steps_left is not None:
        run.steps_left += steps


def size(node: Node) -> int:
    """Number of nodes in a tree (the evaluation cost charged against the budget)."""
    if isinstance(node, Unary):
        return 1 + size(node.operand)
    if isinstance(node, BinOp):
        return 1 + size(node.left) + size(node.right)
    if isinstance(node, Call):
        return 1 + sum(size(a) for a in node.args)
    if isinstance(node, IfElse):
        return 1 + size(node.test) + size(node.body) + size(node.orelse)
    return 1


@lru_cache(maxsize=4096)
def names(text: str) -> frozenset[str]:
    """The names an expression reads (parsed, never evaluated): how the schema finds the
    defaults that refer to a layer's own arguments."""
    found: set[str] = set()
    stack = [parse(text)]
    while stack:
        node = stack.pop()
        if isinstance(node, Name):
            found.add(node.id)
        elif isinstance(node, Unary):
            stack.append(node.operand)
        elif isinstance(node, BinOp):
            stack += (node.left, node.right)
        elif isinstance(node, Call):
            stack += node.args
        elif isinstance(node, IfElse):
            stack += (node.test, node.body, node.orelse)
    return frozenset(found)


@lru_cache(maxsize=4096)
def _parsed(text: str) -> tuple[Node, int]:
    node = parse(text)
    return node, size(node)


def evaluate_text(text: str, env: Mapping[str, Any]) -> Any:
    """Parse (cached) and evaluate one expression, charging the current budget."""
    node, cost = _parsed(text)
    run = current()
    if run.steps_left is not None:
        run.steps_left -= cost
        if run.steps_left < 0:
            raise LimitError(
                "expanding this architecture evaluates too many expression steps "
                f"({MAX_STEPS} plus a few per layer)",
                hint="long expressions on many repeated layers: move them into vars",
            )
    return evaluate(node, env)


def constant(text: str) -> int | Fraction:
    """A value given on the command line (``--alpha 0.5``): an expression without names."""
    value = evaluate_text(text.strip(), {})
    if not num.is_concrete(value):  # pragma: no cover - no names, so always concrete
        raise ExprError(f"{text!r} is not a number")
    return value
