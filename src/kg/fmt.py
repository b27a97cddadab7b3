"""Canonical layout of mapping files, by turtlefmt (which keeps comments and passage order)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

from kg.errors import InputError


def _turtlefmt() -> str:
    scripts = Path(sysconfig.get_path("scripts")) / "turtlefmt"
    for candidate in (
        str(scripts),
        shutil.which("turtlefmt"),
        str(Path(sys.executable).parent / "turtlefmt"),
    ):
        if candidate and Path(candidate).is_file():
            return candidate
    raise InputError("turtlefmt is not installed (pip install turtlefmt)")


def formatted(path: Path) -> bytes:
    """The canonical form of a Turtle file, without touching the file."""
    try:
        original = path.read_bytes()
    except FileNotFoundError:
        raise InputError("file not found", path=str(path)) from None
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / path.name
        copy.write_bytes(original)
        proc = subprocess.run(
            [_turtlefmt(), str(copy)], capture_output=True, text=True, timeout=120
        )
        if proc.returncode != 0:
            detail = next(
                (line for line in proc.stderr.splitlines() if line.startswith("Error")),
                proc.stderr.strip().splitlines()[0] if proc.stderr.strip() else "failed",
            )
            raise InputError(f"cannot format: {detail}", path=str(path))
        return copy.read_bytes()


def needs_format(path: Path) -> bool:
    return formatted(path) != path.read_bytes()


def format_in_place(path: Path) -> bool:
    """Rewrite ``path`` in canonical layout (atomically); True if it changed."""
    from kg.export import write_atomic

    new = formatted(path)
    if new == path.read_bytes():
        return False
    write_atomic(path, new)
    return True
