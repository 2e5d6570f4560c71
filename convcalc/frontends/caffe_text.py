"""The protobuf text format, as Caffe's prototxt files write it, read into plain messages.

convcalc reads deploy files without the protobuf package: this is a small parser of the
text format's grammar (fields ``name: value``, nested messages ``name { ... }`` or
``name: < ... >``, short repeated lists ``name: [1, 2]``, ``#`` comments, quoted strings
with C escapes, numbers and enum identifiers). It builds no objects from the file but
:class:`Message` and :class:`Field`, evaluates nothing, and refuses what would cost more
than a deploy file needs (nesting, literal sizes: :data:`MAX_DEPTH`, :data:`MAX_LITERAL`),
each refusal naming the file and the line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from convcalc.errors import LimitError, SpecError

#: Deepest nesting of messages (a deploy file nests three or four levels).
MAX_DEPTH = 100
#: Longest number, identifier or string literal, in characters.
MAX_LITERAL = 4096
#: Largest decimal exponent of a number literal (the exact value is built from it).
MAX_EXPONENT = 400

_TOKEN = re.compile(
    r"""
    (?P<space>[ \t\r\f\v]+)
  | (?P<newline>\n)
  | (?P<comment>\#[^\n]*)
  | (?P<string>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
  | (?P<number>[-+]?(?:0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)[fF]?)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<punct>[{}<>\[\]:,;])
    """,
    re.VERBOSE,
)

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "'": "'", "\\": "\\", "0": "\0"}


@dataclass(frozen=True)
class Field:
    """One field as written: its name, its value (a number, a string, an enum identifier
    as :class:`Enum`, or a :class:`Message`) and the line it is on."""

    name: str
    value: Any
    line: int


class Enum(str):
    """An identifier value (``MAX``, ``true``, ``CONVOLUTION``): an enum constant or a bool."""


@dataclass
class Message:
    """A message: its fields in file order and the line it starts on."""

    line: int
    fields: list[Field] = field(default_factory=list)

    def all(self, name: str) -> list[Field]:
        """Every field called ``name``, in order (a repeated field)."""
        return [f for f in self.fields if f.name == name]

    def last(self, name: str) -> Field | None:
        """The field called ``name`` (the last one, as protobuf keeps for a singular
        field written twice), or None."""
        found = self.all(name)
        return found[-1] if found else None


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    line: int


def _tokens(text: str, shown: str) -> list[_Token]:
    out: list[_Token] = []
    line, pos, end = 1, 0, len(text)
    while pos < end:
        m = _TOKEN.match(text, pos)
        if m is None:
            raise SpecError(f"unexpected character {text[pos]!r}", file=shown, line=line)
        kind = m.lastgroup or ""
        value = m.group()
        pos = m.end()
        if kind == "newline":
            line += 1
            continue
        if kind in ("space", "comment"):
            continue
        if len(value) > MAX_LITERAL:
            raise LimitError(
                f"a literal of {len(value)} characters; the limit is {MAX_LITERAL}",
                file=shown,
                line=line,
            )
        out.append(_Token(kind, value, line))
    return out


def _string(token: _Token, shown: str) -> str:
    body, out, i = token.text[1:-1], [], 0
    while i < len(body):
        ch = body[i]
        if ch == "\\":
            nxt = body[i + 1]
            if nxt not in _ESCAPES:
                raise SpecError(
                    f"unsupported escape '\\{nxt}' in a string", file=shown, line=token.line
                )
            out.append(_ESCAPES[nxt])
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _number(token: _Token, shown: str) -> int | Fraction:
    text = token.text
    if re.fullmatch(r"[-+]?0[xX][0-9a-fA-F]+", text):
        return int(text, 16)
    text = text.rstrip("fF")  # a float's C suffix
    if re.fullmatch(r"[-+]?\d+", text):
        return int(text)
    exponent = re.search(r"[eE]([-+]?\d+)$", text)
    if exponent and abs(int(exponent.group(1))) > MAX_EXPONENT:
        raise LimitError(
            f"exponent of the number literal {token.text!r} is too large; "
            f"the limit is {MAX_EXPONENT}",
            file=shown,
            line=token.line,
        )
    return Fraction(text)


class _Parser:
    def __init__(self, tokens: list[_Token], shown: str) -> None:
        self.tokens = tokens
        self.at = 0
        self.shown = shown

    def error(self, message: str, line: int | None = None) -> SpecError:
        if line is None:
            line = self.peek().line if self.at < len(self.tokens) else self.last_line()
        return SpecError(message, file=self.shown, line=line)

    def last_line(self) -> int:
        return self.tokens[-1].line if self.tokens else 1

    def peek(self) -> _Token:
        return self.tokens[self.at]

    def more(self) -> bool:
        return self.at < len(self.tokens)

    def take(self) -> _Token:
        token = self.tokens[self.at]
        self.at += 1
        return token

    def accept(self, text: str) -> bool:
        if self.more() and self.peek().kind == "punct" and self.peek().text == text:
            self.at += 1
            return True
        return False

    def message(self, line: int, close: str | None, depth: int) -> Message:
        if depth > MAX_DEPTH:
            raise LimitError(
                f"messages nest deeper than {MAX_DEPTH} levels", file=self.shown, line=line
            )
        msg = Message(line)
        while True:
            if not self.more():
                if close is not None:
                    raise self.error(f"the message opened on line {line} is never closed")
                return msg
            token = self.peek()
            if close is not None and token.kind == "punct" and token.text == close:
                self.at += 1
                return msg
            if token.kind != "ident":
                raise self.error(f"expected a field name, got {token.text!r}")
            self.at += 1
            msg.fields.extend(self.field(token, depth))
            if not self.accept(","):
                self.accept(";")

    def field(self, name: _Token, depth: int) -> list[Field]:
        colon = self.accept(":")
        if not self.more():
            raise self.error(f"field {name.text!r} has no value", name.line)
        token = self.peek()
        if token.kind == "punct" and token.text in "{<":
            self.at += 1
            close = "}" if token.text == "{" else ">"
            return [Field(name.text, self.message(token.line, close, depth + 1), name.line)]
        if not colon:
            raise self.error(f"expected ':' or '{{' after field {name.text!r}", name.line)
        if token.kind == "punct" and token.text == "[":
            self.at += 1
            values: list[Field] = []
            while not self.accept("]"):
                if values and not self.accept(","):
                    raise self.error(f"expected ',' or ']' in the list of {name.text!r}")
                if not self.more():
                    raise self.error(f"the list of {name.text!r} is never closed", name.line)
                values.append(Field(name.text, self.value(name.text, depth), self.peek().line))
            return values
        return [Field(name.text, self.value(name.text, depth), name.line)]

    def value(self, name: str, depth: int) -> Any:
        token = self.take()
        if token.kind == "punct" and token.text in "{<":
            return self.message(token.line, "}" if token.text == "{" else ">", depth + 1)
        if token.kind == "number":
            return _number(token, self.shown)
        if token.kind == "ident":
            return Enum(token.text)
        if token.kind == "string":
            parts = [_string(token, self.shown)]
            while self.more() and self.peek().kind == "string":  # "a" "b" is "ab"
                parts.append(_string(self.take(), self.shown))
            return "".join(parts)
        raise self.error(f"field {name!r} has no value before {token.text!r}", token.line)


def parse(text: str, shown: str) -> Message:
    """The top-level message of a text-format file; ``shown`` names it in errors."""
    parser = _Parser(_tokens(text, shown), shown)
    return parser.message(1, None, 0)
