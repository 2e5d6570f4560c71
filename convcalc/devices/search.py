"""Where device profiles are found, and loading them by name or path.

A profile name is a file stem on the search path: every directory in ``$CONVCALC_DEVICES``,
then ``~/.config/convcalc/devices`` (or ``$XDG_CONFIG_HOME``), then the profiles bundled in
the package. The first file found wins, so a user's file shadows a bundled one of the same
name. ``extends`` is looked up the same way.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from convcalc.devices.profile import DeviceProfile
from convcalc.devices.schema import CLASSES, NAME_RE, build, read_doc
from convcalc.errors import InputFileError, UsageError


def bundled_dir() -> Path:
    """Profiles shipped inside the package (so they are in every wheel)."""
    return Path(__file__).resolve().parent / "profiles"


def user_dirs() -> list[Path]:
    """User profile directories, searched before the bundled ones: every directory in
    ``$CONVCALC_DEVICES`` (path-separator separated), then the XDG config directory."""
    dirs = [Path(p) for p in os.environ.get("CONVCALC_DEVICES", "").split(os.pathsep) if p]
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    dirs.append(Path(config) / "convcalc" / "devices")
    return dirs


def search_path() -> list[Path]:
    return [*user_dirs(), bundled_dir()]


def profile_names() -> list[str]:
    """Every profile name on the search path (user files shadow bundled ones), sorted."""
    names: set[str] = set()
    for directory in search_path():
        if directory.is_dir():
            names.update(p.stem for p in directory.glob("*.yaml") if NAME_RE.match(p.stem))
    return sorted(names)


def load_profile(name: str | None = None, *, path: str | Path | None = None) -> DeviceProfile:
    """A validated profile: from ``path`` when given (``--device-file``), else by name from
    the user directories and then the bundled profiles."""
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise InputFileError(f"no such device profile file: {path}")
        return build(*_read(p), (), _open)
    if not name:
        raise UsageError("no device given", hint="`convcalc devices` lists the profiles")
    found = _find(name[:-5] if name.endswith(".yaml") else name)
    if found is None:
        raise UsageError(
            f"unknown device {name!r}",
            hint="`convcalc devices` lists the profiles; or pass --device-file PATH",
        )
    return build(*_read(found), (), _open)


def list_profiles() -> list[DeviceProfile]:
    """Every profile on the search path, validated, sorted by class then name."""
    order = {c: i for i, c in enumerate(CLASSES)}
    profiles = [load_profile(n) for n in profile_names()]
    return sorted(profiles, key=lambda p: (order.get(p.device_class, 99), p.name))


def parse_profile(text: str, shown: str) -> DeviceProfile:
    """Validate profile text (used by the calibration script on text it is about to write);
    its ``extends`` is found on the search path."""
    return build(read_doc(text, shown), shown, (), _open)


def _find(name: str) -> Path | None:
    if not NAME_RE.match(name):
        return None
    for directory in search_path():
        candidate = directory / f"{name}.yaml"
        if candidate.is_file():
            return candidate
    return None


def _shown(path: Path) -> str:
    """How a profile file is named in messages and in ``source``: bundled ones by their
    place in the package, others by the path as given."""
    try:
        rel = path.resolve().relative_to(bundled_dir())
        return f"devices/profiles/{rel.as_posix()}"
    except ValueError:
        return str(path)


def _read(path: Path) -> tuple[Any, str]:
    """A profile file's document and the name it is shown by."""
    from convcalc.schema import loader

    shown = _shown(path)
    return read_doc(loader.read_text(path, shown), shown), shown


def _open(name: str) -> tuple[Any, str] | None:
    """The profile called ``name`` on the search path, read (for ``extends``), or None."""
    path = _find(name)
    return None if path is None else _read(path)
