"""docs/validation.md is what docs/validation.py writes, so a change to a network that moves
a count, or an edit to the page, fails the suite as well as CI."""

from __future__ import annotations

import importlib.util
import sys
from functools import cache
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "docs" / "validation.py"


@cache
def load() -> ModuleType:
    """The script as a module (it lives under docs/, outside the package), loaded once."""
    spec = importlib.util.spec_from_file_location("convcalc_docs_validation", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


pytestmark = pytest.mark.skipif(not SCRIPT.is_file(), reason="docs are not beside the tests")


def test_validation_page_is_current() -> None:
    problem = load().check()
    assert problem is None, problem


def test_rounding_intervals() -> None:
    # "4.2" printed in millions allows 4.15M to 4.25M; cut short, 4.2M up to 4.3M; exact only
    # itself.
    v = load()
    near = v.Figure("params", "4.2", "M", "Howard 2017", "Table 6")
    assert v.agrees(4_150_000, near) and v.agrees(4_250_000, near)
    assert not v.agrees(4_250_001, near)
    cut = v.Figure("params", "3.4", "M", "Sandler 2018", "Table 4", rounding="truncated")
    assert v.agrees(3_499_999, cut) and not v.agrees(3_500_000, cut)
    assert not v.agrees(3_399_999, cut)
    exact = v.Figure("params", "61,100,840", "", "torchvision", "num_params", rounding="exact")
    assert v.agrees(61_100_840, exact) and not v.agrees(61_100_841, exact)
    wide = v.Figure("macs", "15300", "M", "Howard 2017", "Table 8", step="100")
    assert v.rounding_text(wide) == "to 100M" and v.agrees(15_349_999_999, wide)


def test_a_disagreement_needs_its_reason() -> None:
    # A figure outside its rounding without a reason, or inside it with one, stops the page.
    v = load()
    report = v.analyse("vgg11", ())
    typo = v.Figure("params", "113", "M", "notes", "004 section 3.2")
    with pytest.raises(ValueError, match="gives no reason"):
        v.judge(report, typo, "vgg11")
    stale = v.Figure("params", "133", "M", "Simonyan 2015", "Table 2 (A)", wrong="a typo")
    with pytest.raises(ValueError, match="now agrees"):
        v.judge(report, stale, "vgg11")
