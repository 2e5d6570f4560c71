"""The API boundary: every public function of :mod:`convcalc.api` raises only documented
:class:`~convcalc.errors.ConvcalcError` subclasses, whatever it is given.

Hypothesis feeds each function wrong types, None, NaN, infinities, huge integers, huge and
deeply nested values, in every argument position; anything else escaping (TypeError,
ValueError, AttributeError, RecursionError, OverflowError, ...) is a failure. The first
argument is often a real architecture, so the check reaches past the first test.
"""

from __future__ import annotations

import contextlib
import inspect
import math
import os
from fractions import Fraction
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, given, settings

from convcalc import api
from convcalc.errors import ConvcalcError

FUNCTIONS = [n for n in api.__all__ if inspect.isfunction(getattr(api, n))]


def _nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


def _deep_dict(depth: int) -> Any:
    value: Any = {"a": 1}
    for _ in range(depth):
        value = {"a": value}
    return value


WEIRD = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.just(10**5000),
    st.just(-(10**400)),
    st.floats(allow_nan=True, allow_infinity=True),
    st.just(math.nan),
    st.just(math.inf),
    st.just(-math.inf),
    st.fractions(),
    st.just(Fraction(10**3000, 3)),
    st.text(max_size=30),
    st.just("x" * 20_000),
    st.just("\x00"),
    st.just("\x1b]52;c;aGk=\x07"),
    st.binary(max_size=10),
    st.just(Path("/dev/null")),
    st.just(object()),
    st.just(_nested(2000)),
    st.just(_deep_dict(2000)),
    st.lists(st.integers(), max_size=5),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.floats(), max_size=3),
    st.just({"alpha": math.nan}),
    st.just({"alpha": [1, 2]}),
    st.just({1: 2}),
    st.just(range(10**12)),
    st.just(iter(())),
    st.just(("resnet18",)),
    st.just(["lenet5", "lenet5"]),
    st.just({"alpha": [0.5, 1]}),
    st.just((3, 32, 32)),
    st.just((3, 0, -1)),
    st.just((True, 2, 2)),
)
REAL_FIRST = st.one_of(st.just("lenet5"), st.just(["lenet5", "lenet5"]), WEIRD)


@pytest.mark.parametrize("name", FUNCTIONS)
@settings(
    max_examples=int(os.environ.get("CONVCALC_FUZZ_EXAMPLES", "60")),
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@given(data=st.data())
def test_only_convcalc_errors_escape(name: str, data: st.DataObject) -> None:
    fn = getattr(api, name)
    count = len(inspect.signature(fn).parameters)
    n = data.draw(st.integers(0, count + 1), label="arguments")
    args = [data.draw(REAL_FIRST if i == 0 else WEIRD, label=f"arg{i}") for i in range(n)]
    kwargs = {}
    if data.draw(st.booleans(), label="keyword"):
        keys = [*list(inspect.signature(fn).parameters)[n:], "bogus"]
        key = data.draw(st.sampled_from(keys), label="key")
        kwargs[key] = data.draw(WEIRD, label="value")
    with contextlib.suppress(ConvcalcError):
        fn(*args, **kwargs)


def test_every_public_function_is_checked() -> None:
    """The facade wraps each function (a function added to it is checked too)."""
    for name in FUNCTIONS:
        assert getattr(api, name).__wrapped__ is not None, name


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: api.analyze(None), "arch must be a path"),
        (lambda: api.analyze("lenet5", {"alpha": math.nan}), "must be finite"),
        (lambda: api.analyze("lenet5", {"alpha": True}), "must be a number or text"),
        (lambda: api.analyze("lenet5", {"alpha": 10**5000}), "beyond 4096 bits"),
        (lambda: api.analyze("lenet5", input_shape=[3, 32.5, 32]), "must be an integer"),
        (lambda: api.analyze("lenet5", symbolic="yes"), "must be True or False"),
        (lambda: api.analyze("lenet5", free="alpha"), "must be a list of names"),
        (lambda: api.compare("lenet5"), "must be a list of architectures"),
        (lambda: api.sweep("lenet5", {"alpha": "0.5"}), "must be a list of numbers"),
        (lambda: api.estimate("lenet5"), "must be a Report"),
        (lambda: api.parse_values(None), "must be text"),
        (lambda: api.analyze("lenet5", nope=1), "unexpected keyword argument"),
    ],
)
def test_wrong_arguments_name_the_argument(call: Any, message: str) -> None:
    with pytest.raises(ConvcalcError, match=message):
        call()
