"""The size limits of an architecture file once it is read: the values docs/limits.md lists.

They are in one module, apart from most of the code that checks them, so that the table
there points at one file and a test can lower one (``monkeypatch.setattr(limits, ...)``):
the other modules read them as ``limits.NAME`` when they check, never a copy imported by
name. The name-length check is here because block names and layer names share it. Limits
of the YAML itself are in :mod:`convcalc.schema.loader`, those of expressions in
:mod:`convcalc.expr`.
"""

from __future__ import annotations

from typing import Any

from convcalc.schema.where import Where

# The largest bundled network has about 700 layers; synthetic ones of 100,000 are analysed
# in seconds. Nested blocks that multiply are caught before they are expanded (see
# convcalc.schema.bounds), so reaching these limits takes expansion time only in files
# whose repeat counts depend on tensor shapes.
MAX_LAYERS = 200_000  # layers after expansion; also the limit on block instances
MAX_REPEAT = 100_000
MAX_BOUND_VISITS = 20_000  # block-body entries examined for lower bounds, per expansion
STEPS_PER_LAYER = 100  # expression steps each emitted layer adds to the budget
MAX_BLOCK_DEPTH = 32
MAX_PARAMS = 1_000
MAX_NAME_LENGTH = 100  # characters of one layer, block or use name (before nesting)


def check_name_length(where: Where, name: str, node: Any, key: Any) -> None:
    """Refuse a layer, block or use name longer than MAX_NAME_LENGTH."""
    if len(name) > MAX_NAME_LENGTH:
        raise where.limit(
            f"name {name[:20]!r}... is {len(name)} characters long; the limit is {MAX_NAME_LENGTH}",
            node,
            key,
        )
