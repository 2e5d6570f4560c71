"""Work kept between analyses: block instances replayed from templates
(convcalc.schema.templates), literal layers bound once (convcalc.schema.expand), a kind's
facts asked once per Args object and shapes, and the rows of a graph's unchanged first
layers taken from the previous analysis (convcalc.analysis). Each must give what a cold
analysis gives, and must notice every change to what it depends on."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from convcalc import analysis, api
from convcalc.errors import SpecError
from convcalc.render import json as json_out
from convcalc.schema import expand, loader, templates


def _cold() -> None:
    """Forget every document, template and kept analysis."""
    loader._PARSED.clear()
    expand._BOUND.clear()
    analysis._KNOWN.clear()
    analysis._WALKED.clear()


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "net.yaml"
    path.write_text(textwrap.dedent(text))
    return path


@pytest.mark.parametrize(
    ("name", "sequence"),
    [
        ("resnet50", [{"classes": 10}, {"classes": 1000}, {"classes": 11}]),
        ("mobilenet_v2", [{"alpha": 0.5}, {"alpha": 1.0}, {"alpha": 0.5}]),
        ("densenet121", [{}, {}]),
        ("swin_t", [{}, {}]),
    ],
)
def test_warm_analyses_equal_cold_ones(name: str, sequence: list[dict]) -> None:
    for params in sequence:
        _cold()
        cold = json_out.report(api.analyze(name, params))
        api.analyze(name, params)  # now every kept thing is warm
        api.analyze("resnet18")  # and another network has been analysed in between
        assert json_out.report(api.analyze(name, params)) == cold


def test_resnet50_class_count_changes_only_the_classifier() -> None:
    _cold()
    first = api.analyze("resnet50", {"classes": 1000})
    second = api.analyze("resnet50", {"classes": 10})
    # torchvision's resnet50 has 25,557,032 params; its fc is 2048 * classes + classes,
    # so 10 classes have 990 * 2049 = 2,028,510 fewer
    assert first.totals.params == 25_557_032
    assert second.totals.params == 25_557_032 - 2_028_510
    assert second.layers[-1].name == "fc" and second.layers[-1].params == 2048 * 10 + 10
    # the rows before the classifier were taken from the first analysis, not recomputed
    assert all(a is b for a, b in zip(first.layers[:-1], second.layers[:-1], strict=True))
    assert first.layers[-1] is not second.layers[-1]


def test_templates_are_replayed_and_keyed_on_what_they_read() -> None:
    _cold()
    one = api.load("mobilenet_v2", {"alpha": 1.0})
    two = api.load("mobilenet_v2", {"alpha": 1.0})
    other = api.load("mobilenet_v2", {"alpha": 0.5})
    by_name = [{layer.name: layer for layer in g.layers} for g in (one, two, other)]
    name = next(n for n in by_name[0] if n.endswith("project.conv"))
    assert by_name[0][name].args is by_name[1][name].args  # replayed
    assert by_name[0][name].args is not by_name[2][name].args  # alpha is read: expanded
    assert by_name[0][name].args["out"] != by_name[2][name].args["out"]


def test_a_used_block_reads_the_file_params_not_the_users_arguments(tmp_path: Path) -> None:
    # 'outer' has an argument c, and the file a param c; 'inner' (used by outer) starts
    # from the file's params, so its c is the param: a change of the param must reach it
    # even though outer's own c (2) stays the same.
    path = _write(
        tmp_path,
        """
        name: shadow
        params: {c: 4}
        input: [3, 8, 8]
        blocks:
          inner:
            body:
              - {op: conv, out: c, k: 1, bias: false, name: b}
          outer:
            args: [c]
            body:
              - {op: conv, out: c, k: 1, bias: false, name: a}
              - {block: inner, name: in}
        layers:
          - {block: outer, args: {c: 2}, name: u, repeat: 2}
        """,
    )
    _cold()
    for c in (4, 5, 4):
        report = api.analyze(path, {"c": c})
        params = {row.name: row.params for row in report.layers}
        # a: 2 filters of 3 channels; in.b: c filters of 2; then a: 2 of c, in.b: c of 2
        assert params == {"u.0.a": 6, "u.0.in.b": 2 * c, "u.1.a": 2 * c, "u.1.in.b": 2 * c}


def test_a_duplicate_name_is_refused_when_an_instance_is_replayed(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """
        name: twice
        input: [3, 8, 8]
        blocks:
          unit:
            body:
              - {op: conv, out: 4, k: 1, name: c}
        layers:
          - {block: unit, name: u}
          - {block: unit, name: u}
        """,
    )
    _cold()
    with pytest.raises(SpecError) as caught:
        api.analyze(path)
    # the second use replays the first's template: the same message a walk gives, at the
    # line of the body's layer (line 7 of the file above)
    assert "duplicate layer name 'u.c'" in caught.value.message
    assert caught.value.line == 7
    assert caught.value.file is not None and caught.value.file.endswith("net.yaml")


def test_key_parts_are_typed_and_only_exact_values_have_one() -> None:
    assert templates._frozen(1) != templates._frozen(True)
    assert templates._frozen(1) != templates._frozen(1.0)
    assert templates._frozen([1, 2]) == templates._frozen([1, 2])
    assert templates._frozen([1, 2]) != templates._frozen((1, 2))
    assert templates._frozen(object()) is templates._MISSING
    assert templates._frozen([1, object()]) is templates._MISSING


def test_the_collector_is_paused_inside_and_restored_after() -> None:
    import gc

    from convcalc import context

    assert gc.isenabled()
    with context.collector_paused():
        assert not gc.isenabled()
        with context.collector_paused():  # nested: still paused, and not resumed early
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(ValueError), context.collector_paused():
        raise ValueError
    assert gc.isenabled()  # restored after an error too
    gc.disable()
    try:
        with context.collector_paused():
            pass
        assert not gc.isenabled()  # a caller's own choice is left as it was
    finally:
        gc.enable()
    api.analyze("lenet5")
    assert gc.isenabled()
