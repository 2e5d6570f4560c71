"""Refusing expansions that would be too large before they are made.

A block used twice by a block used twice by ... makes 2^30 layers from thirty lines, so
before a block use is expanded, :class:`Bounds` estimates a lower bound of the layers and
block instances it will make and refuses the use at once when that is over
``limits.MAX_LAYERS``; it also counts the block instances actually expanded, for the
counts the estimate cannot foresee. It owns its state (the memo of estimates, the work
spent on them, the instance count) and reads the blocks and the file's params and vars,
which are fixed once the walk begins.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from typing import Any

from convcalc import num
from convcalc.errors import ConvcalcError
from convcalc.layers.base import evaluate_value
from convcalc.schema import limits
from convcalc.schema.blocks import Block
from convcalc.schema.loader import YMap
from convcalc.schema.where import Where

_SATURATED = 10**15  # lower bounds stop growing here (deep nests of large repeats)


def _plus(total: tuple[int, int], times: int, one: tuple[int, int]) -> tuple[int, int]:
    """(layers, instances) ``total`` plus ``times`` block instances that each make ``one``."""
    return (
        min(total[0] + times * one[0], _SATURATED),
        min(total[1] + times * (1 + one[1]), _SATURATED),
    )


class Bounds:
    """Lower bounds of block uses, and the count of block instances, of one expansion."""

    def __init__(
        self, where: Where, blocks: Mapping[str, Block], globals_: Mapping[str, Any]
    ) -> None:
        self.where = where
        self.blocks = blocks
        self.globals = globals_
        self.instances = 0  # block instances expanded, bounded like layers
        self._memo: dict[tuple, tuple[int, int]] = {}
        self._visits = 0

    def count_instance(self, entry: YMap | None, use: str, n: int = 1) -> None:
        """Count ``n`` more expanded block instances (of the use ``entry``, named ``use``)."""
        self.instances += n
        if self.instances > limits.MAX_LAYERS:
            raise self.where.limit(
                f"the network expands more than {limits.MAX_LAYERS} block instances",
                entry,
                layer=use,
            )

    def check_use(
        self,
        block: Block,
        plan: Sequence[tuple[Mapping[str, Any], int | None]],
        stack: tuple[str, ...],
        layers: int,
        entry: YMap,
        use: str,
    ) -> None:
        """Refuse the use ``entry`` (named ``use``, inside the blocks ``stack``) of ``block``
        if its ``plan`` (arguments and repeat count of each table row) would take the
        ``layers`` made so far or the instances over the limit."""
        total = (0, 0)
        for args, count in plan:
            one = self._at_least(block, args, (*stack, block.name))
            total = _plus(total, 1 if count is None else count, one)
        for what, done, more in (
            ("layers", layers, total[0]),
            ("block instances", self.instances, total[1]),
        ):
            if done + more > limits.MAX_LAYERS:
                raise self.where.limit(
                    f"the network would expand to more than {limits.MAX_LAYERS} {what}: this "
                    f"use of block {block.name!r} alone makes at least {more}",
                    entry,
                    layer=use,
                    hint="blocks that use blocks multiply their repeat counts",
                )

    def _at_least(
        self, block: Block, args: Mapping[str, Any], stack: tuple[str, ...]
    ) -> tuple[int, int]:
        """Lower bounds on the (layers, block instances) one instance of ``block`` expands
        to, from what is decidable before expanding it: entries whose ``when`` holds (or
        that have none) and repeat counts computed from params, vars and block arguments.
        Anything that needs ``i`` or an input shape counts as zero, so the bound never
        overestimates; results are memoised by block and arguments, and the work is capped
        by MAX_BOUND_VISITS (after which the remaining entries count as zero)."""
        try:
            key = (block.name, tuple(sorted(args.items())))
            hash(key)
        except TypeError:  # pragma: no cover - argument values are numbers
            return 0, 0
        if key in self._memo:
            return self._memo[key]
        env = {**self.globals, **args}
        total = (0, 0)
        for entry in block.body:
            self._visits += 1
            if self._visits > limits.MAX_BOUND_VISITS:
                break
            if not isinstance(entry, YMap):
                continue
            try:
                if (
                    "when" in entry
                    and num.decided(evaluate_value(entry["when"], env, "when")) is not True
                ):
                    continue
                count = evaluate_value(entry.get("repeat", 1), env, "repeat")
                if not isinstance(count, int) or count < 0:
                    continue
                if "op" in entry:
                    total = (min(total[0] + count, _SATURATED), total[1])
                    continue
                inner = entry.get("block")
                sub = self.blocks.get(inner) if isinstance(inner, str) else None
                if sub is None or inner in stack or len(stack) >= limits.MAX_BLOCK_DEPTH:
                    continue
                rows = 1
                if "table" in entry:
                    table = entry["table"]
                    if not isinstance(table, YMap) or not isinstance(table.get("rows"), list):
                        continue
                    rows = len(table["rows"])
                given = entry.get("args")
                sub_args: dict[str, Any] = {}
                for name, raw in given.items() if isinstance(given, YMap) else ():
                    # Unknown here: expressions that need it count as zero.
                    with contextlib.suppress(ConvcalcError):
                        sub_args[name] = evaluate_value(raw, env, "argument")
                one = self._at_least(sub, sub_args, (*stack, sub.name))
                total = _plus(total, rows * count, one)
            except ConvcalcError:
                continue
        self._memo[key] = total
        return total
