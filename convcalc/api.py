"""The library surface: everything the command line does is a call here.

Functions return data (graphs, reports); they never print or exit. Errors are
:class:`convcalc.errors.ConvcalcError` subclasses carrying file, line and layer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from convcalc import context, expr
from convcalc.errors import ConvcalcError, UsageError
from convcalc.graph import Graph
from convcalc.layers.base import Shape, check_dim
from convcalc.report import DTYPE_BYTES, Report
from convcalc.schema import loader
from convcalc.schema.expand import NAME_RE, expand

Value = int | Fraction | float | str


def _param_value(name: str, value: Value) -> Any:
    if isinstance(value, str):
        try:
            return expr.constant(value)
        except ConvcalcError as e:
            raise UsageError(f"value of {name!r}: {e.message}", hint=e.hint) from None
    if isinstance(value, float):
        return Fraction(repr(value))
    return value


def parse_assignment(text: str) -> tuple[str, str]:
    """``name=value`` from ``--set``; the value is parsed later as a constant expression."""
    name, sep, value = text.partition("=")
    name = name.strip()
    if not sep or not NAME_RE.match(name) or not value.strip():
        raise UsageError(f"--set expects name=value, got {text!r}")
    return name, value.strip()


def parse_shape(text: str) -> Shape:
    """``3x224x224`` (or ``224`` for a vector input) from ``--input``."""
    parts = text.lower().replace("*", "x").split("x")
    try:
        values = tuple(check_dim(expr.constant(p), "input size") for p in parts)
    except ConvcalcError as e:
        raise UsageError(f"--input {text!r}: {e.message}", hint="write it as CxHxW") from None
    if len(values) not in (1, 3):
        raise UsageError(f"--input {text!r} must be CxHxW (or N)")
    return values


def load(
    arch: str | Path,
    params: Mapping[str, Value] | None = None,
    input_shape: Shape | None = None,
    free: Iterable[str] = (),
    symbolic: bool = False,
) -> Graph:
    """Read, validate and expand an architecture (a path or a bundled name).

    ``free`` params stay symbols even if they have defaults; ``symbolic`` also frees every
    param that has no default."""
    path, shown, doc = _read(arch)
    overrides = {k: _param_value(k, v) for k, v in (params or {}).items()}
    return expand(doc, shown, shown, overrides, input_shape, path, tuple(free), symbolic)


def _read(arch: str | Path) -> tuple[Path, str, Any]:
    path = loader.resolve(str(arch))
    shown = loader.display_name(path)
    return path, shown, loader.load_yaml(loader.read_text(path, shown), shown)


def declared_params(arch: str | Path) -> list[str]:
    """The names an architecture accepts in ``--set`` (its ``params``)."""
    _, _, doc = _read(arch)
    params = doc.get("params") if isinstance(doc, dict) else None
    return list(params) if isinstance(params, dict) else []


def analyze(
    arch: str | Path,
    params: Mapping[str, Value] | None = None,
    input_shape: Shape | None = None,
    dtype: str = "fp32",
    free: Iterable[str] = (),
    symbolic: bool = False,
    smooth: bool = False,
    design_warnings: bool = True,
) -> Report:
    """Shapes, params, MACs, FLOPs, memory and receptive fields of an architecture.

    ``design_warnings`` adds the design-rule warnings of :mod:`convcalc.lint` (gridding
    dilations, ReLU after a linear bottleneck, ...) to the report's warnings.

    With ``free``/``symbolic`` the counts are sympy expressions in the free params;
    ``smooth`` (``--no-round``) drops every rounding rule, giving the formulas papers write.
    """
    from convcalc.analysis import analyze as run

    if dtype not in DTYPE_BYTES:
        raise UsageError(f"unknown dtype {dtype!r}; use one of {', '.join(DTYPE_BYTES)}")
    with context.smooth(smooth):
        graph = load(arch, params, input_shape, free, symbolic)
        report = run(graph, dtype)
    if design_warnings:
        from convcalc.lint import lint

        for d in lint(graph, report):
            where = f"{d.layer}: " if d.layer else ""
            cite = f" [{d.reference}]" if d.reference else ""
            report.warnings.append(f"{where}{d.message}{cite}")
    return report


@dataclass(frozen=True)
class ArchInfo:
    name: str
    description: str
    citation: str


def list_architectures() -> list[ArchInfo]:
    """Bundled architectures with their one-line description and source."""
    out = []
    root = loader.architectures_dir()
    for name in loader.bundled_names():
        path = root / f"{name}.yaml"
        doc = loader.load_yaml(loader.read_text(path, name), name)
        out.append(ArchInfo(name, str(doc.get("description", "")), str(doc.get("source", ""))))
    return out


def compare(
    items: Iterable[str],
    params: Mapping[str, str] | None = None,
    input_shape: Shape | None = None,
    dtype: str = "fp32",
    free: Iterable[str] = (),
    symbolic: bool = False,
    smooth: bool = False,
) -> Any:
    """Compare architectures (``name`` or ``name:k=v,...``); see :mod:`convcalc.compare`."""
    from convcalc import compare as cmp

    return cmp.compare(
        [cmp.parse_item(i) for i in items],
        dict(params or {}),
        input_shape=input_shape,
        dtype=dtype,
        free=tuple(free),
        symbolic=symbolic,
        smooth=smooth,
    )


def sweep(
    arch: str | Path,
    grid: Mapping[str, Iterable[Value]],
    params: Mapping[str, str] | None = None,
    dtype: str = "fp32",
    progress: Any = None,
    device: str | None = None,
    device_file: str | Path | None = None,
) -> Any:
    """Totals at every point of a parameter grid (with a device: latency and verdict per
    point); see :mod:`convcalc.sweep`."""
    from convcalc import sweep as sw

    profile = None
    if device or device_file:
        from convcalc.devices import load_profile

        profile = load_profile(device, path=device_file)
    exact = {k: [_param_value(k, v) for v in vs] for k, vs in grid.items()}
    return sw.sweep(str(arch), exact, params, dtype, progress, profile)


def explain(
    arch: str | Path,
    targets: Iterable[str] = (),
    params: Mapping[str, Value] | None = None,
    input_shape: Shape | None = None,
    dtype: str = "fp32",
    free: Iterable[str] = (),
) -> Any:
    """Derivations (formula, substitution, value) for layers, blocks or the totals."""
    from convcalc.analysis import analyze as run
    from convcalc.explain import explain as derive

    graph = load(arch, params, input_shape, free)
    return derive(graph, run(graph, dtype), list(targets))


def estimate(
    report: Report,
    device: str | None = None,
    device_file: str | Path | None = None,
    dtype: str | None = None,
    batch: int | None = None,
) -> Any:
    """Roofline latency, memory fit and budget verdicts of a report on a device profile
    (a bundled or user profile by name, or a file); see :mod:`convcalc.devices`."""
    from convcalc.devices import estimate as run
    from convcalc.devices import load_profile

    return run(report, load_profile(device, path=device_file), dtype=dtype, batch=batch)
