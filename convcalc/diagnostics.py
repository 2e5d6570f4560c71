"""Findings about a file: an error that stops it, or a warning about its design, and the
``convcalc.validation/1`` document they make (docs/validate.md)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from convcalc.errors import ConvcalcError, ExitCode

if TYPE_CHECKING:
    from convcalc.graph import Graph

SCHEMA = "convcalc.validation/1"
#: The fields of a diagnostic in the JSON document and the CSV columns, in order.
FIELDS = ("code", "severity", "file", "line", "layer", "message", "hint", "reference")


@dataclass(frozen=True)
class Diagnostic:
    """One finding: an error that stops the file, or a warning about its design.

    ``code`` is the error kind (``spec``, ``expression``, ``shape``, ``limit``, ``file``,
    ``usage``) or the rule name of a warning; ``reference`` cites the argument a warning
    rests on."""

    code: str
    severity: str  # "error" or "warning"
    file: str | None
    line: int | None
    layer: str | None
    message: str
    hint: str | None = None
    reference: str | None = None
    exit_code: int = 0  # what an error makes the command exit with (0 for warnings)

    @classmethod
    def from_error(cls, err: ConvcalcError, file: str | None = None) -> Diagnostic:
        return cls(
            code=err.kind,
            severity="error",
            file=err.file or file,
            line=err.line,
            layer=err.layer,
            message=err.message,
            hint=err.hint,
            exit_code=int(err.code),
        )

    def to_dict(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in FIELDS}


#: Codes of the analysis pass's own warnings, by a phrase of their message (the pass
#: writes them as 'layer: message'; docs/validate.md lists the codes).
_ANALYSIS_CODES = (
    ("centred differently", "rf-centring"),
    ("different jumps", "rf-jumps"),
    ("upper bound", "rf-bound"),
    ("not tracked", "rf-untracked"),
    ("needs concrete sizes", "rf-untracked"),
    ("reads an input pixel", "rf-untracked"),
)


def from_warnings(warnings: Iterable[str], graph: Graph) -> list[Diagnostic]:
    """The analysis pass's own warnings ('layer: message', about receptive fields where
    branches meet) as diagnostics with a code, the layer and its line, like the design
    rules' findings, so ``analyze`` and ``validate`` report the same objects."""
    layers = {layer.name: layer for layer in graph.layers}
    out = []
    for text in warnings:
        name, sep, message = text.partition(": ")
        layer = layers.get(name) if sep else None
        if layer is None:
            name, message = None, text
        code = next((c for phrase, c in _ANALYSIS_CODES if phrase in message), "analysis")
        out.append(
            Diagnostic(
                code=code,
                severity="warning",
                file=(layer.file if layer is not None else None) or graph.file,
                line=layer.line if layer is not None else None,
                layer=name,
                message=message,
            )
        )
    return out


def exit_code(diagnostics: Iterable[Diagnostic]) -> int:
    """0 when there is no error (warnings never fail), else the first error's exit code."""
    for d in diagnostics:
        if d.severity == "error":
            return d.exit_code or int(ExitCode.SPEC)
    return int(ExitCode.OK)


def to_json(diagnostics: Sequence[Diagnostic], source: str) -> dict[str, Any]:
    """The ``convcalc.validation/1`` document for ``convcalc validate --format json``."""
    errors = sum(d.severity == "error" for d in diagnostics)
    return {
        "schema": SCHEMA,
        "source": source,
        "valid": errors == 0,
        "errors": errors,
        "warnings": len(diagnostics) - errors,
        "diagnostics": [d.to_dict() for d in diagnostics],
    }
