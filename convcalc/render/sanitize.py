"""Text that came from a file or the command line, made safe to print.

Names, descriptions, sources, labels, paths and messages quoting them are untrusted: a
string may hold escape sequences that clear a terminal, write its clipboard (OSC 52) or
draw hyperlinks (OSC 8), a carriage return that overwrites what was printed, bidirectional
overrides that show text in another order than it is, rich markup, formulas a spreadsheet
runs, or HTML and table syntax in markdown. Every renderer passes such text through one
function here before it lays it out:

- :func:`visible` for a terminal (the table format, stderr): every control character,
  C1 control, bidirectional or invisible format character and lone surrogate is replaced
  by its escape (``\\x1b``, ``\\u202e``), so it is shown and never acts. The rich path
  of the table format also wraps every cell in ``rich.text.Text``, so no data is read as
  markup; markup appears only in convcalc's own strings.
- :func:`csv_cell` for CSV: :func:`visible`, then a cell that a spreadsheet would read as
  a formula (a leading ``=``, ``+``, ``-``, ``@``, tab or carriage return) is prefixed with
  an apostrophe, unless the whole cell is a number (``-3``, ``0.25``, ``-1/3``, ``1e-05``).
  A tab or carriage return is already shown as ``\\t`` or ``\\r`` by then, so it never
  leads a cell; the check keeps them for text that skips :func:`visible`.
- :func:`markdown_cell` for markdown: :func:`visible`, then HTML (a ``<`` that opens a tag,
  an ``&`` that opens an entity), images, backslash escapes, ``|`` and line breaks are
  escaped, so a cell stays one cell of text.
- HTML output escapes with :func:`html.escape` after :func:`visible`
  (:func:`html_text`).

JSON needs nothing: ``json.dumps`` escapes every non-ASCII and control character.
"""

from __future__ import annotations

import re
from typing import Any

# C0 and C1 controls and DEL; the Arabic letter mark, zero-width and directional marks,
# line and paragraph separators, directional embeddings, overrides and isolates, invisible
# operators, the byte-order mark, interlinear annotations, lone surrogates (from bytes that
# are not UTF-8 in argv) and the invisible tag characters.
_UNSAFE = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f"
    "\ufeff\ufff9-\ufffb\ud800-\udfff\U000e0000-\U000e007f]"
)
_UNSAFE_OR_NEWLINE = re.compile(_UNSAFE.pattern[:-1] + "\n]")
_SHORT = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}

# A whole cell that is a number: an integer, a decimal, a fraction or a float's repr.
# Not "-inf" or "-nan": a spreadsheet reads those as a formula naming inf (text from a
# file can spell them), so they keep the apostrophe.
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?(/\d+)?")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# What starts HTML in markdown: a tag, a comment or declaration, an entity ('<=' and a
# lone '&' are text and stay as they are).
_MD_HTML = re.compile(r"<(?=[A-Za-z/!?])|&(?=#?\w+;)")
# A backslash before ASCII punctuation is a markdown escape; doubled, it is a backslash.
_MD_BACKSLASH = re.compile(r"\\(?=[!-/:-@\[-`{-~])")


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _SHORT:
        return _SHORT[char]
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def visible(text: Any, newlines: bool = False) -> str:
    """``text`` with every character that would act on a terminal shown as its escape.

    With ``newlines`` a line break stays a line break (cells convcalc itself splits into
    lines); without, it is shown as ``\\n`` too. Printable text, including every letter of
    every script, is unchanged, and the function is idempotent."""
    text = str(text)
    if text.isprintable():  # no control, format or separator character: the common case
        return text
    return (_UNSAFE if newlines else _UNSAFE_OR_NEWLINE).sub(_escape, text)


def csv_cell(value: Any) -> Any:
    """A CSV cell that no spreadsheet runs: numbers as they are, text shown by
    :func:`visible` and prefixed with ``'`` where it would start a formula."""
    if not isinstance(value, str):
        return value
    text = visible(value, newlines=True)
    if text.startswith(_FORMULA_START) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


def markdown_cell(value: Any) -> str:
    """A markdown table cell that stays one cell of text: no HTML, no image, no escape
    that eats the column separator; ``|`` escaped and line breaks as ``<br>``."""
    text = _MD_BACKSLASH.sub(r"\\\\", visible(value, newlines=True))
    text = _MD_HTML.sub(lambda m: "&amp;" if m.group() == "&" else "&lt;", text)
    text = text.replace("![", "!\\[")
    return text.replace("|", "\\|").replace("\n", "<br>")


def markdown_text(value: Any) -> str:
    """A line of markdown outside a table (a heading, a quoted warning): as a cell, but a
    line break is shown rather than kept."""
    return markdown_cell(visible(value))


def html_text(value: Any) -> str:
    """Text for an HTML document: shown by :func:`visible`, then HTML-escaped (quotes
    too, so it is safe inside an attribute). The html module is imported here: loading it
    builds its table of entities, a tenth of a concrete run's start-up."""
    import html

    return html.escape(visible(value, newlines=True), quote=True)


def error_text(where: str, message: str, hint: str | None) -> str:
    """An error as the command line prints it (``file:line: message`` and its hint on the
    next line), every part shown by :func:`visible`, so one error stays one message."""
    text = visible(f"{where}: {message}" if where else message)
    if hint:
        text += "\n  hint: " + visible(hint)
    return text
