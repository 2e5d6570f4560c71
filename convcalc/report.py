"""Analysis results as plain data, and their versioned JSON form (DESIGN.md section 3).

Nothing here prints; renderers in :mod:`convcalc.render` turn reports into tables, CSV,
markdown or JSON text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from convcalc import num
from convcalc.receptive import RF

SCHEMA = "convcalc.analysis/1"
COMPARISON_SCHEMA = "convcalc.comparison/1"

DTYPE_BYTES = {"fp32": 4, "fp16": 2, "bf16": 2, "int8": 1}


@dataclass(slots=True)
class LayerRow:
    """One layer's numbers, for the report's whole batch. ``input_elements`` and
    ``output_elements`` are the values it reads and writes per sample, so nothing needs to
    recover them from bytes; ``cost_class`` is its kind's device efficiency class."""

    name: str
    type: str
    inputs: tuple[str, ...]
    output_shape: tuple[Any, ...]
    params: Any
    macs: Any
    flops: Any
    activation_bytes: Any
    traffic_bytes: Any
    rf: RF | None
    summary: str = ""
    line: int | None = None
    cost_class: str = ""
    input_elements: Any = 0
    output_elements: Any = 0


@dataclass
class Totals:
    params: Any
    macs: Any
    flops: Any
    param_bytes: Any
    activation_bytes: Any
    peak_activation_bytes: Any
    peak_layer: str
    receptive_field: tuple[Any, Any] | None


@dataclass
class Report:
    architecture: str
    source: str
    bindings: dict[str, Any]
    input: tuple[Any, ...]
    dtype: str
    layers: list[LayerRow]
    totals: Totals
    citation: str = ""
    description: str = ""
    warnings: list[str] = field(default_factory=list)
    # The warnings as convcalc.diagnostics.Diagnostic objects (code, layer, line, hint),
    # in the same order; the JSON formats list them under "diagnostics".
    diagnostics: list[Any] = field(default_factory=list)
    batch: Any = 1  # samples per run: every count but the parameters is for all of them
    training: Any = None  # a convcalc.training.Training when a training step was asked for
    # Values kept that are not trained (batch norm's running mean and variance), whatever
    # the batch: Keras' non-trainable params; every param above is trainable.
    buffers: Any = 0

    def layer(self, name: str) -> LayerRow:
        """The row of the layer called ``name``."""
        for row in self.layers:
            if row.name == name:
                return row
        raise KeyError(name)

    def to_json(self) -> dict[str, Any]:
        """The ``convcalc.analysis/1`` document; integers stay exact integers."""
        t = self.totals
        return {
            "schema": SCHEMA,
            "architecture": self.architecture,
            "source": self.source,
            "bindings": {k: jsonable(v) for k, v in self.bindings.items()},
            "input": [jsonable(v) for v in self.input],
            "dtype": self.dtype,
            "batch": jsonable(self.batch),
            "layers": [
                {
                    "name": row.name,
                    "type": row.type,
                    "inputs": list(row.inputs),
                    "output_shape": [jsonable(v) for v in row.output_shape],
                    "params": jsonable(row.params),
                    "macs": jsonable(row.macs),
                    "flops": jsonable(row.flops),
                    "activation_bytes": jsonable(row.activation_bytes),
                    "traffic_bytes": jsonable(row.traffic_bytes),
                    "rf": None if row.rf is None else rf_json(row.rf),
                }
                for row in self.layers
            ],
            "totals": {
                "params": jsonable(t.params),
                "macs": jsonable(t.macs),
                "flops": jsonable(t.flops),
                "param_bytes": jsonable(t.param_bytes),
                "activation_bytes": jsonable(t.activation_bytes),
                "peak_activation_bytes": jsonable(t.peak_activation_bytes),
                "receptive_field": None
                if t.receptive_field is None
                else [jsonable(v) for v in t.receptive_field],
            },
            "warnings": list(self.warnings),
            **self._symbolic(),
            **({} if self.training is None else {"training": self.training.to_json()}),
        }

    def _symbolic(self) -> dict[str, Any]:
        """Formulas of the totals, when some parameter was left free."""
        t = self.totals
        metrics = {
            "params": t.params,
            "macs": t.macs,
            "flops": t.flops,
            "param_bytes": t.param_bytes,
            "peak_activation_bytes": t.peak_activation_bytes,
        }
        if all(num.is_concrete(v) for v in metrics.values()):
            return {}
        from convcalc.symbolic.ops import show

        return {"symbolic": {k: show(v) for k, v in metrics.items()}}


def rf_json(rf: RF) -> dict[str, Any]:
    """A receptive field's JSON: ``size``, ``jump`` and ``start`` per axis, and where units
    differ or a field is bounded also ``min_size``, ``period``, ``phases`` (per axis, each
    phase's ``size`` and ``start``) and ``bound`` (docs/conventions.md)."""
    out: dict[str, Any] = {
        "size": [jsonable(v) for v in rf.size],
        "jump": [jsonable(v) for v in rf.jump],
        "start": [_maybe(v) for v in rf.start],
    }
    if not rf.uniform:
        out["min_size"] = [_maybe(v) for v in rf.min_size or (None, None)]
        out["period"] = list(rf.period)
        out["phases"] = [
            [{"size": size, "start": start} for size, start in axis] for axis in rf.phases
        ]
        out["bound"] = list(rf.bound)
    return out


def _maybe(value: Any) -> Any:
    return None if value is None else jsonable(value)


def jsonable(value: Any) -> Any:
    """Exact ints stay ints; a non-integral Fraction becomes a float (it only occurs in
    receptive-field jumps and parameter values); symbolic values become strings."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, Fraction):
        return value.numerator if value.denominator == 1 else float(value)
    if isinstance(value, float):
        return value
    from convcalc.symbolic.ops import show

    return show(value)
