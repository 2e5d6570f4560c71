"""The device renderers under the names they had before the renderers were split by format,
for code that prints on a console of its own or builds docs/devices.md
(``benchmarks/calibrate.py``, ``tests/test_devices.py``). The command line uses the format
modules; new code should too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from convcalc.render.text import rate, seconds

if TYPE_CHECKING:
    from rich.console import Console

    from convcalc.devices import DeviceEstimate, DeviceProfile
    from convcalc.report import Report

__all__ = [
    "device_csv",
    "device_markdown",
    "devices_markdown",
    "print_device_comparison",
    "print_device_report",
    "print_devices",
    "rate",
    "seconds",
]


def print_device_report(
    console: Console, report: Report, est: DeviceEstimate, depth: int | None = None
) -> None:
    """`analyze --device` on ``console``: see :func:`convcalc.render.table.report_pieces`."""
    from convcalc.render import table

    table.show(console, table.report_pieces(report, depth, est))


def print_devices(console: Console, profiles: Sequence[DeviceProfile]) -> None:
    """`convcalc devices` on ``console``."""
    from convcalc.render import table

    table.show(console, table.devices_pieces(profiles))


def print_device_comparison(
    console: Console, items: Sequence[tuple[Report, DeviceEstimate]]
) -> None:
    """The device part of `compare --device` on ``console``."""
    from convcalc.render import table

    table.show(console, table.device_comparison_pieces(items))


def device_markdown(report: Report, est: DeviceEstimate, depth: int | None = None) -> str:
    """`analyze --device --format markdown`."""
    from convcalc.render import markdown

    return markdown.report(report, depth, est)


def devices_markdown(profiles: Sequence[DeviceProfile]) -> str:
    """`convcalc devices --format markdown`."""
    from convcalc.render import markdown

    return markdown.devices(profiles)


def device_csv(report: Report, est: DeviceEstimate, depth: int | None = None) -> str:
    """`analyze --device --format csv`."""
    from convcalc.render import csv

    return csv.report(report, depth, est)
