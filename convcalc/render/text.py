"""Plain-text forms shared by every renderer: numbers, shapes, folded rows, CSV, markdown."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import replace
from fractions import Fraction
from typing import Any

from convcalc import num
from convcalc.report import LayerRow, Report

_UNITS = ((10**12, "T"), (10**9, "G"), (10**6, "M"), (10**3, "K"))


def formula(value: Any) -> str:
    """A symbolic value as a readable formula (sympy is loaded only for these)."""
    from convcalc.symbolic.ops import show

    return show(value)


def human(value: Any) -> str:
    """4,231,976 -> '4.23M'; symbolic values as formulas."""
    if not num.is_concrete(value):
        return formula(value)
    for scale, unit in _UNITS:
        if abs(value) >= scale:
            return f"{float(value) / scale:.3g}{unit}"
    return plain(value)


def human_bytes(value: Any) -> str:
    if not num.is_concrete(value):
        return formula(value)
    for scale, unit in ((2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")):
        if abs(value) >= scale:
            return f"{float(value) / scale:.3g} {unit}"
    return f"{value} B"


def plain(value: Any) -> str:
    if isinstance(value, Fraction) and value.denominator != 1:
        return f"{float(value):g}"
    return str(value)


def exact(value: Any) -> str:
    """4231976 -> '4,231,976'."""
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return plain(value) if num.is_concrete(value) else formula(value)


def shape(values: Sequence[Any]) -> str:
    return "x".join(plain(v) for v in values)


def rf_text(row: LayerRow) -> str:
    if row.rf is None:
        return ""
    h, w = row.rf.size
    return plain(h) if h == w else f"{plain(h)}x{plain(w)}"


def fold(rows: Sequence[LayerRow], depth: int | None) -> list[LayerRow]:
    """Fold consecutive rows that share the first ``depth`` name parts into one row."""
    if not depth:
        return list(rows)
    out: list[LayerRow] = []
    keys: list[str] = []
    for row in rows:
        key = ".".join(row.name.split(".")[:depth])
        if keys and keys[-1] == key:
            last = out[-1]
            out[-1] = replace(
                last,
                name=key,
                type="block" if last.type != row.type or last.name != key else row.type,
                output_shape=row.output_shape,
                params=last.params + row.params,
                macs=last.macs + row.macs,
                flops=last.flops + row.flops,
                activation_bytes=last.activation_bytes + row.activation_bytes,
                traffic_bytes=last.traffic_bytes + row.traffic_bytes,
                rf=row.rf,
                summary="",
            )
        else:
            out.append(replace(row, name=key) if key != row.name else row)
            keys.append(key)
    return out


COLUMNS = (
    "name",
    "type",
    "output_shape",
    "params",
    "macs",
    "flops",
    "activation_bytes",
    "traffic_bytes",
    "rf",
)


def _cells(row: LayerRow) -> list[str]:
    return [
        row.name,
        row.type,
        shape(row.output_shape),
        exact(row.params),
        exact(row.macs),
        exact(row.flops),
        exact(row.activation_bytes),
        exact(row.traffic_bytes),
        rf_text(row),
    ]


def to_json(report: Report) -> str:
    return json.dumps(report.to_json(), indent=2)


def to_csv(report: Report, depth: int | None = None) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in fold(report.layers, depth):
        cells = _cells(row)
        # CSV keeps raw numbers (no thousands separators) for spreadsheets.
        cells[3:8] = [
            plain(v)
            for v in (row.params, row.macs, row.flops, row.activation_bytes, row.traffic_bytes)
        ]
        writer.writerow(cells)
    return buf.getvalue()


def _md_table(header: Iterable[str], rows: Iterable[Sequence[str]]) -> list[str]:
    header = list(header)
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in rows]
    return lines


def to_markdown(report: Report, depth: int | None = None) -> str:
    lines = [f"### {report.architecture}", ""]
    lines.append(
        f"Input {shape(report.input)}, {report.dtype}"
        + (
            "; " + ", ".join(f"{k}={plain(v)}" for k, v in report.bindings.items())
            if report.bindings
            else ""
        )
    )
    lines.append("")
    lines += _md_table(
        (
            "layer",
            "type",
            "output",
            "params",
            "MACs",
            "FLOPs",
            "activation bytes",
            "traffic bytes",
            "RF",
        ),
        (_cells(r) for r in fold(report.layers, depth)),
    )
    lines.append("")
    lines += _md_table(("total", "exact", "approx."), totals_rows(report))
    lines.append("")
    for w in report.warnings:
        lines.append(f"> warning: {w}")
    return "\n".join(lines).rstrip() + "\n"


def totals_rows(report: Report) -> list[tuple[str, str, str]]:
    t = report.totals
    rows = [
        ("params", exact(t.params), human(t.params)),
        ("MACs", exact(t.macs), human(t.macs)),
        ("FLOPs", exact(t.flops), human(t.flops)),
        ("param memory", exact(t.param_bytes), human_bytes(t.param_bytes)),
        (
            "activation memory (all outputs)",
            exact(t.activation_bytes),
            human_bytes(t.activation_bytes),
        ),
        (
            "peak activation memory",
            exact(t.peak_activation_bytes),
            human_bytes(t.peak_activation_bytes) + f" at {t.peak_layer}",
        ),
    ]
    if t.receptive_field is not None:
        h, w = t.receptive_field
        rows.append(("receptive field", f"{plain(h)}x{plain(w)}", ""))
    return rows


def layers_markdown(kinds: Iterable[Any]) -> str:
    """docs/layers.md: every layer kind with its rule and arguments, from the registry."""
    lines = [
        "# Layer kinds",
        "",
        "Generated by `convcalc layers --format markdown`; every YAML `op` and its arguments.",
        "Counting rules are in [conventions.md](conventions.md). Every layer also takes the",
        "reserved keys `name`, `from`, `repeat`, `when`, `norm` and `act`",
        "([schema.md](schema.md)).",
        "",
    ]
    for kind in kinds:
        lines += [f"## `{kind.op}`", "", kind.doc[0].upper() + kind.doc[1:] + ".", ""]
        if kind.args:
            rows = [(f"`{n}`", a.describe(), a.doc) for n, a in kind.args.items()]
            lines += _md_table(("argument", "type and default", "meaning"), rows)
        else:
            lines.append("No arguments.")
        lo, hi = kind.inputs
        if (lo, hi) != (1, 1):
            lines += ["", f"Inputs: {lo} or more, named in `from`."]
        lines.append("")
    return "\n".join(lines)
