"""The safe expression language: exact arithmetic, rounding rules, and refusals."""

import re
from fractions import Fraction

import pytest

from convcalc import expr, num
from convcalc.errors import ExprError, LimitError


def ev(text: str, **env: object) -> object:
    return expr.evaluate_text(text, env)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("2 ** 3 ** 2", 512),  # right-associative: 2 ** 9
        ("-2 ** 2", -4),  # unary minus binds looser than **, as in Python
        ("7 // 2", 3),
        ("-7 // 2", -4),  # floor, not truncation
        ("7 % 3", 1),
        ("7 / 2", Fraction(7, 2)),  # exact, not 3.5 as a float
        ("0.714", Fraction(714, 1000)),  # a decimal literal is exactly that decimal
        ("1e3", 1000),
        ("224 * 0.714", Fraction(159936, 1000)),
        ("round(224 * 0.714)", 160),  # 159.936 -> 160
        ("round(2.5)", 2),  # ties to even, like Python's round()
        ("round(3.5)", 4),
        ("floor(7 / 2)", 3),
        ("ceil(7 / 2)", 4),
        ("min(3, 1, 2)", 1),
        ("max(3, 1, 2)", 3),
        ("sqrt(256)", 16),
        ("sqrt(9 / 4)", Fraction(3, 2)),
        ("abs(-3)", 3),
        ("1 if 2 > 1 else 0", 1),
        ("1 if 2 < 1 else 0", 0),
        ("3 == 3 and 2 != 1", True),
        ("not 0", True),
    ],
)
def test_arithmetic_is_exact(text: str, expected: object) -> None:
    assert ev(text) == expected


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        # torchvision _make_divisible(v, 8): int(v + 4) // 8 * 8, bumped by 8 if < 0.9 v.
        ((32 * Fraction(1, 2),), 16),  # 16 + 4 = 20 -> 16
        # 18 + 4 = 22 -> 16, which is below 0.9 * 18 = 16.2, so it is bumped to 24.
        ((24 * Fraction(3, 4),), 24),
        ((1280 * Fraction(1, 2),), 640),
        ((12,), 16),  # 12 + 4 = 16 -> 16 (ties go up)
        ((3,), 8),  # never below the divisor
        ((100, 8, 64), 104),  # 104 // 8 * 8 = 104
        ((13 * Fraction(1, 4), 8, 8), 8),  # 3.25 + 4 -> 0, raised to min_value 8
    ],
)
def test_make_divisible_matches_torchvision_rule(args: tuple, expected: int) -> None:
    assert num.make_divisible(*args) == expected


def test_names_come_from_the_environment() -> None:
    assert ev("c_in * t", c_in=32, t=6) == 192
    with pytest.raises(ExprError, match="unknown name 'alpha'"):
        ev("alpha * 2")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("__import__('os').system('true')", "unknown function '__import__'"),
        ("x.real", "attribute access"),
        ("a[0]", "subscripts"),
        ("lambda: 1", "not allowed"),
        ("[i for i in x]", "subscripts and lists"),
        ("'a' * 3", "strings"),
        ("f'{1}'", "strings"),
        ("(y := 3)", "':'"),
        ("open('f')", "unknown function 'open'"),
        ("eval('1')", "unknown function 'eval'"),
        ("__builtins__", "may not start with '__'"),
        ("1 +", "expected a number"),
        ("1 < 2 < 3", "chained comparisons"),
        ("max()", "takes 1 to 64 arguments"),
        ("1 2", "unexpected token"),
    ],
)
def test_forbidden_expressions_are_refused(text: str, fragment: str) -> None:
    with pytest.raises(ExprError) as info:
        ev(text, x=1, a=1)
    assert fragment in str(info.value)


@pytest.mark.parametrize(
    "text",
    ["9**9**9", "10**100000", "2**5000", "(" * 60 + "1" + ")" * 60, "1+" * 600 + "1"],
)
def test_resource_attacks_stop_quickly(text: str) -> None:
    with pytest.raises((LimitError, ExprError)):
        ev(text)


def test_big_but_bounded_values_are_exact() -> None:
    # 10**100 is a legal value of an expression; limits on dimensions refuse it later.
    assert ev("10**100") == 10**100


def test_division_by_zero() -> None:
    with pytest.raises(ExprError, match="division by zero"):
        ev("1 // 0")


def test_non_integral_counts_are_refused_with_advice() -> None:
    with pytest.raises(ExprError, match="whole number") as info:
        num.as_int(ev("10 * 0.75"), "output channels")
    assert "round()" in (info.value.hint or "")


def test_powers_and_roots_near_the_limit_are_exact() -> None:
    # 2**2081 has 2,082 bits (under the 4,096-bit limit); 10**1000 is (10**500)**2.
    assert ev("2**2081") == 2**2081
    assert ev("sqrt(10**1000)") == 10**500
    assert ev("(2**100)**40") == 2**4000
    assert ev("27**(1/3)") == 3
    with pytest.raises(LimitError):
        ev("2**4097")  # 4,098 bits


# --- logarithms and exponentials --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("log2(8)", 3),  # 2 ** 3 = 8
        ("log2(1)", 0),
        ("log2(1 / 4)", -2),  # 2 ** -2 = 1/4
        ("log2(2 ** 40)", 40),
        ("log(8, 2)", 3),
        ("log(27, 9)", Fraction(3, 2)),  # 9 ** (3/2) = 27
        ("log(0.5, 0.25)", Fraction(1, 2)),  # 0.25 ** (1/2) = 0.5
        ("log(1)", 0),
        ("exp(0)", 1),
    ],
)
def test_logarithms_are_exact_where_the_result_is_rational(text: str, expected: object) -> None:
    value = ev(text)
    assert value == expected and type(value) in (int, Fraction)


def test_irrational_logarithms_are_50_digit_decimals() -> None:
    # ln 10 = 2.302585092994045684017991454684364207601101488628772976033327900967572609...
    # (the constant to 72 digits); at 50 significant digits it ends ...4886288 (ties to even).
    assert ev("log(10)") == Fraction("2.3025850929940456840179914546843642076011014886288")
    # e = 2.718281828459045235360287471352662497757247093699959574966967627724...
    assert ev("exp(1)") == Fraction("2.7182818284590452353602874713526624977572470937000")
    # log2(3) = 1.584962500721156181453738943947816508759814407692481060455...
    assert ev("log2(3)") == Fraction("1.5849625007211561814537389439478165087598144076925")
    # RegNet's width rule (torchvision BlockParams.from_init_params): with w_0 = 24,
    # w_a = 24.48, w_m = 2.54 (regnet_x_400mf), block 21 has a capacity of
    # round(ln((21 * 24.48 + 24) / 24) / ln 2.54) = round(3.0877...) = 3.
    assert ev("round(log((21 * 24.48 + 24) / 24) / log(2.54))") == 3


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("log(0)", "log() of 0: the argument must be positive"),
        ("log2(-8)", "log() of -8: the argument must be positive"),
        ("log(8, 1)", "the base must be positive and not 1"),
        ("log(8, -2)", "the base must be positive and not 1"),
    ],
)
def test_logarithms_of_non_positive_numbers_are_refused(text: str, message: str) -> None:
    with pytest.raises(ExprError, match=re.escape(message)):
        ev(text)


def test_exp_of_a_huge_argument_is_a_limit() -> None:
    with pytest.raises(LimitError, match="exp"):
        ev("exp(3000)")
    with pytest.raises(LimitError, match="exp"):
        ev("exp(-3000)")


def test_log_of_a_free_parameter_is_refused() -> None:
    from convcalc.symbolic import ops

    with pytest.raises(ExprError, match="depends on a free parameter"):
        ev("log2(w)", w=ops.symbol("w", "int"))


def test_names_lists_what_an_expression_reads() -> None:
    assert expr.names("k // 2 + max(d, 1) if s else 0") == {"k", "d", "s"}
    assert expr.names("3") == frozenset()
