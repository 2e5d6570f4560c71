"""Error types and exit codes.

Every failure a user can cause is a :class:`ConvcalcError` carrying where it happened (file,
line, layer) and what to do about it, so the CLI can print one clear line and exit with a
documented code instead of a traceback.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes; documented in docs/cli.md (section "Exit codes")."""

    OK = 0
    SPEC = 1  # the architecture, an expression or a value is wrong
    USAGE = 2  # bad command-line usage (unknown option, missing argument)
    OVER_BUDGET = 3  # a device budget failed and --fail-over-budget was given
    FILE = 4  # a file is missing, unreadable or not text
    LIMIT = 5  # a size limit was exceeded (dimension, repeat, layer count, expression)
    INTERNAL = 70  # a bug in convcalc
    INTERRUPTED = 130


class ConvcalcError(Exception):
    """Base of all user-facing errors.

    ``file``, ``line`` and ``layer`` are filled in by whoever knows them; a lower level that
    lacks the context raises without it and the caller adds it with :meth:`locate`.
    """

    code = ExitCode.SPEC
    kind = "error"

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        layer: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line
        self.layer = layer
        self.hint = hint

    def locate(
        self, *, file: str | None = None, line: int | None = None, layer: str | None = None
    ) -> ConvcalcError:
        """Fill in location fields that are still empty; returns self for ``raise e.locate()``."""
        if self.file is None:
            self.file = file
        if self.line is None:
            self.line = line
        if self.layer is None:
            self.layer = layer
        return self

    def where(self) -> str:
        """``file:line: layer 'x'`` prefix (parts that are unknown are left out)."""
        parts = []
        if self.file:
            parts.append(self.file + (f":{self.line}" if self.line else ""))
        elif self.line:
            parts.append(f"line {self.line}")
        if self.layer:
            parts.append(f"layer '{self.layer}'")
        return ": ".join(parts)

    def __str__(self) -> str:
        where = self.where()
        text = f"{where}: {self.message}" if where else self.message
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text

    def to_dict(self) -> dict[str, object]:
        return {
            "code": self.kind,
            "exit_code": int(self.code),
            "file": self.file,
            "line": self.line,
            "layer": self.layer,
            "message": self.message,
            "hint": self.hint,
        }


class SpecError(ConvcalcError):
    """The architecture file is malformed: schema, names, references, arguments."""

    kind = "spec"


class ExprError(ConvcalcError):
    """An expression is not in the safe language, or cannot be evaluated."""

    kind = "expression"


class ShapeError(ConvcalcError):
    """Layers whose shapes cannot meet: add of different shapes, kernel larger than input."""

    kind = "shape"


class LimitError(ConvcalcError):
    """A size limit was exceeded; see docs/limits.md."""

    code = ExitCode.LIMIT
    kind = "limit"


class InputFileError(ConvcalcError):
    """A file is missing, unreadable, not UTF-8, or too large."""

    code = ExitCode.FILE
    kind = "file"


class UsageError(ConvcalcError):
    """A command-line value is wrong (unknown parameter in --set, bad --input)."""

    code = ExitCode.USAGE
    kind = "usage"
