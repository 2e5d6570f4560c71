"""Side-by-side comparison of architectures, with ratios against the first.

Concrete ratios are exact fractions (shown as decimals); symbolic ones are simplified
formulas, so comparing the bundled standard and depthwise-separable blocks yields
``1/N + 1/D_K**2`` by computation.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from convcalc import num
from convcalc.errors import UsageError
from convcalc.pipeline import BATCH, analyze, declared_params
from convcalc.report import COMPARISON_SCHEMA, Report, jsonable
from convcalc.values import parse_assignment

RATIO_METRICS = ("params", "macs", "flops", "param_bytes", "peak_activation_bytes")


@dataclass(frozen=True)
class Item:
    """One thing to compare: an architecture and its own parameter values."""

    label: str
    arch: str
    params: dict[str, str]


def parse_item(text: str) -> Item:
    """``mobilenet:alpha=0.5,rho=0.714`` -> Item (the part after ':' is per-item params)."""
    arch, sep, rest = text.partition(":")
    params: dict[str, str] = {}
    if sep:
        for part in rest.split(","):
            name, value = parse_assignment(part)
            params[name] = value
    if not arch:
        raise UsageError(f"compare item {text!r} names no architecture")
    return Item(text, arch, params)


def ratio(a: Any, b: Any) -> Any:
    """a / b exactly (or simplified, when symbolic); None when b is zero."""
    if num.is_concrete(a) and num.is_concrete(b):
        return None if b == 0 else num.normalize(Fraction(a) / Fraction(b))
    from convcalc.symbolic import ops

    return ops.simplify_ratio(a, b)


@dataclass
class Comparison:
    items: list[Item]
    reports: list[Report]

    @property
    def ratios(self) -> list[dict[str, Any]]:
        """Per item, each metric's total divided by the first item's."""
        first = self.reports[0].totals
        return [
            {m: ratio(getattr(r.totals, m), getattr(first, m)) for m in RATIO_METRICS}
            for r in self.reports
        ]

    def breakdown(self, by: str) -> tuple[list[str], list[dict[str, tuple[Any, Any]]]]:
        """(keys, per item {key: (params, macs)}) grouped by layer type or by stage (the
        first part of layer names)."""
        keys: dict[str, None] = {}
        tables = []
        for report in self.reports:
            sums: dict[str, tuple[Any, Any]] = {}
            for row in report.layers:
                key = row.type if by == "type" else row.name.split(".")[0]
                p, m = sums.get(key, (0, 0))
                sums[key] = (p + row.params, m + row.macs)
                keys.setdefault(key)
            tables.append(sums)
        return list(keys), tables

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": COMPARISON_SCHEMA,
            "items": [r.to_json() for r in self.reports],
            "ratios": [
                {m: (None if v is None else jsonable(v)) for m, v in row.items()}
                for row in self.ratios
            ],
        }


def compare(
    items: Iterable[str | Item],
    params: Mapping[str, str] | None = None,
    input_shape: Any = None,
    dtype: str = "fp32",
    free: Iterable[str] = (),
    symbolic: bool = False,
    smooth: bool = False,
    batch: int = 1,
) -> Comparison:
    """Analyse every item (``name`` or ``name:k=v,...``), each at ``batch`` samples. Shared
    ``params`` (``--alpha``, ``--set``) apply to the items that declare them; an item's own
    ``name:k=v`` values win."""
    items = [i if isinstance(i, Item) else parse_item(i) for i in items]
    shared = dict(params or {})
    free = tuple(free)
    if len(items) < 2:
        raise UsageError("compare needs at least two architectures")
    declared = [set(declared_params(item.arch)) for item in items]
    for name in shared:
        if not any(name in d for d in declared):
            raise UsageError(f"no compared architecture has a parameter {name!r}")
    for name in free:
        if name != BATCH and not any(name in d for d in declared):
            raise UsageError(f"no compared architecture has a parameter {name!r} to free")
    reports = []
    for item, names in zip(items, declared, strict=True):
        values = {k: v for k, v in shared.items() if k in names}
        values.update(item.params)
        reports.append(
            analyze(
                item.arch,
                values,
                input_shape,
                dtype,
                free=[f for f in free if f in names or f == BATCH],
                symbolic=symbolic,
                smooth=smooth,
                batch=batch,
            )
        )
    return Comparison(items, reports)
