"""Outputs are written atomically: an interrupted ``kg export`` or ``kg build`` never leaves a
half-written file where a good one stood, and the temporary files a killed writer leaves behind
are hidden, named for their writer, and removed by the next write.

The interruptions are real: the command runs in a subprocess that is killed with SIGKILL (or
interrupted with SIGINT) at the moment under test, found by watching its files: while the
temporary file of an output exists, or once its first output is in place. On a fast disk or a
tmpfs an output is written in a millisecond, too briefly to be seen reliably, so the subprocess
runs the real command with ``os.fsync`` made to wait half a second first: every write then has a
moment when its temporary file is complete but not yet renamed into place.
"""

from __future__ import annotations

import ast
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pyoxigraph as ox
import pytest

from kg.export import write_atomic
from kg.project import Project
from tests.conftest import ROOT, kg, sigint_as_in_a_terminal
from tests.test_malformed import OLD_OUTPUTS, make_small, plant_outputs

SRC = ROOT / "src" / "kg"
#: The last good export, in N-Triples.
OLD_EXPORT = (
    b"<https://w3id.org/dip/id/test/export> <http://www.w3.org/2000/01/rdf-schema#label> "
    b'"the last good export" .\n'
)
#: The ``kg`` command, with each fsync held back (a slow disk), in a fresh interpreter.
SLOW_DISK_KG = (
    "import os, runpy, time\n"
    "_fsync = os.fsync\n"
    "def fsync(fd):\n"
    "    time.sleep({delay})\n"
    "    _fsync(fd)\n"
    "os.fsync = fsync\n"
    "runpy.run_module('kg.cli', run_name='__main__')\n"
)


def start_kg(*args: str, root: Path = ROOT, fsync_delay: float = 0.5) -> subprocess.Popen[str]:
    """:func:`tests.conftest.kg`, started rather than waited for, on a slow disk."""
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            SLOW_DISK_KG.format(delay=fsync_delay),
            "--root",
            str(root),
            *args,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=sigint_as_in_a_terminal,
    )


def wait_for(proc: subprocess.Popen[str], moment: Callable[[], bool]) -> bool:
    """Watch until ``moment()`` holds (True) or the command exits first (False)."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if moment():
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.001)
    raise AssertionError("the command neither finished nor reached the moment in 300 s")


def kill(proc: subprocess.Popen[str]) -> None:
    proc.kill()
    proc.communicate(timeout=60)


def temporaries(path: Path) -> list[Path]:
    """The temporary files of writes of ``path``: ``.NAME.PID.XXXX.tmp`` beside it."""
    return sorted(path.parent.glob(f".{path.name}.*.tmp"))


def ntriples(data: bytes) -> list[ox.Triple]:
    """Every triple of an N-Triples document; a truncated one does not parse."""
    return list(ox.parse(data, format=ox.RdfFormat.N_TRIPLES))


# ---------------------------------------------------------------------------
# kg export, killed and interrupted at different moments
# ---------------------------------------------------------------------------


@pytest.fixture
def small(project_copy: Project) -> Path:
    """The root of the small project of the malformed-input tests (one short mapping)."""
    make_small(project_copy.root)
    return project_copy.root


def test_export_killed_while_loading_leaves_the_old_file(tmp_path: Path, small: Path):
    out = tmp_path / "out" / "dip.nt"
    out.parent.mkdir()
    out.write_bytes(OLD_EXPORT)
    proc = start_kg("export", "--format", "ntriples", "-o", str(out), root=small)
    time.sleep(0.1)  # the interpreter is still starting and loading: nothing is written yet
    assert proc.poll() is None
    kill(proc)
    assert out.read_bytes() == OLD_EXPORT
    assert sorted(out.parent.iterdir()) == [out]


def test_export_killed_mid_write_keeps_the_old_file_and_the_next_run_cleans_up(
    tmp_path: Path, small: Path
):
    out = tmp_path / "out" / "dip.nt"
    out.parent.mkdir()
    out.write_bytes(OLD_EXPORT)
    proc = start_kg("export", "--format", "ntriples", "-o", str(out), root=small)
    assert wait_for(proc, lambda: bool(temporaries(out))), proc.communicate()
    kill(proc)
    assert out.read_bytes() == OLD_EXPORT  # the good file stood throughout
    [stale] = temporaries(out)  # SIGKILL cannot be caught: the temporary file stays, hidden
    assert stale.name.startswith(f".dip.nt.{proc.pid}.")
    assert sorted(out.parent.iterdir()) == sorted([out, stale])

    done = kg("export", "--format", "ntriples", "-o", str(out), root=small)
    assert done.returncode == 0, done.stderr
    new = out.read_bytes()
    assert new != OLD_EXPORT
    assert len(ntriples(new)) > 1_000  # complete: every line parses
    assert temporaries(out) == []  # its writer is dead: the next write removed it
    assert sorted(out.parent.iterdir()) == [out]


def test_export_interrupted_mid_write_exits_130_and_keeps_the_old_file(tmp_path: Path, small: Path):
    """Ctrl-C while the temporary file is being written: it is removed, the old file stays,
    one line says so, exit 130."""
    out = tmp_path / "out" / "dip.nt"
    out.parent.mkdir()
    out.write_bytes(OLD_EXPORT)
    proc = start_kg("export", "--format", "ntriples", "-o", str(out), root=small)
    assert wait_for(proc, lambda: bool(temporaries(out))), proc.communicate()
    os.kill(proc.pid, signal.SIGINT)
    _stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert stderr.strip() == "kg: interrupted; no file was left half-written"
    assert out.read_bytes() == OLD_EXPORT
    assert sorted(out.parent.iterdir()) == [out]


# ---------------------------------------------------------------------------
# kg build, killed between its outputs
# ---------------------------------------------------------------------------


def test_build_killed_while_writing_its_outputs_leaves_each_old(
    small: Path, monkeypatch: pytest.MonkeyPatch
):
    """Killed while its outputs are being written beside their places (each is complete before
    any is renamed into place): every output is the last good one, byte for byte, and the only
    other files are hidden temporary ones, named for the killed build. The process that writes
    them ends with the build: none appears afterwards. The next build puts complete new outputs
    in place and removes the temporary files."""
    root = small
    plant_outputs(root)
    build = root / "build"
    trig, ttl = build / "dip.trig", build / "dip.ttl"
    monkeypatch.setenv("KG_WORKERS", "2")  # the export in a process of its own
    proc = start_kg("build", root=root)
    assert wait_for(proc, lambda: bool(temporaries(trig))), proc.communicate()
    kill(proc)

    def others() -> list[tuple[str, int]]:
        return sorted(
            (p.name, p.stat().st_size)
            for p in build.iterdir()
            if p.name not in {*OLD_OUTPUTS, ".cache"}
        )

    left = others()
    time.sleep(2.0)  # a writer still alive would have written to, or renamed, a file by now
    assert others() == left
    for name, data in OLD_OUTPUTS.items():
        assert (build / name).read_bytes() == data, name
    assert left and all(
        o.startswith((f".dip.trig.{proc.pid}.", f".dip.ttl.{proc.pid}.")) for o, _size in left
    ), left

    done = kg("build", root=root)
    assert done.returncode == 0, done.stderr
    assert len(list(ox.parse(trig.read_bytes(), format=ox.RdfFormat.TRIG))) > 1_000
    assert len(list(ox.parse(ttl.read_bytes(), format=ox.RdfFormat.TURTLE))) > 1_000
    assert temporaries(trig) == [] and temporaries(ttl) == []


# ---------------------------------------------------------------------------
# write_atomic in process: interrupted inside the write, and stale temporaries
# ---------------------------------------------------------------------------


def test_keyboard_interrupt_after_the_data_is_written_keeps_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    path = tmp_path / "dip.ttl"
    path.write_bytes(b"old\n")
    real_fsync = os.fsync

    def fsync_then_interrupt(fd: int) -> None:
        real_fsync(fd)
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", fsync_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(path, b"new\n" * 100_000)
    assert path.read_bytes() == b"old\n"
    assert sorted(tmp_path.iterdir()) == [path]


def test_keyboard_interrupt_halfway_through_the_write_keeps_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    path = tmp_path / "dip.ttl"
    path.write_bytes(b"old\n")
    real_fdopen = os.fdopen
    seen: list[int] = []

    class HalfThenInterrupt:
        def __init__(self, handle):  # type: ignore[no-untyped-def]
            self.handle = handle

        def __enter__(self):  # type: ignore[no-untyped-def]
            return self

        def __exit__(self, *exc):  # type: ignore[no-untyped-def]
            self.handle.close()

        def fileno(self) -> int:
            return self.handle.fileno()

        def write(self, data: bytes) -> int:
            self.handle.write(data[: len(data) // 2])
            self.handle.flush()
            seen.append(os.fstat(self.handle.fileno()).st_size)
            raise KeyboardInterrupt

    monkeypatch.setattr(os, "fdopen", lambda fd, mode: HalfThenInterrupt(real_fdopen(fd, mode)))
    with pytest.raises(KeyboardInterrupt):
        write_atomic(path, b"new\n" * 100_000)
    assert seen == [200_000]  # half the payload had reached the temporary file
    assert path.read_bytes() == b"old\n"
    assert sorted(tmp_path.iterdir()) == [path]


def test_a_write_removes_the_temporaries_of_dead_writers_only(tmp_path: Path):
    dead_pid = subprocess.Popen(["true"])  # a process that has exited: its pid is free
    dead_pid.wait()
    path = tmp_path / "dip.trig"
    path.write_bytes(b"old\n")
    stale = tmp_path / f".dip.trig.{dead_pid.pid}.abc123.tmp"
    live = tmp_path / f".dip.trig.{os.getppid()}.def456.tmp"  # a running writer's
    unnamed = tmp_path / ".dip.trig.x1y2z3.tmp"  # no writer's pid: not ours to judge
    other = tmp_path / f".dip.ttl.{dead_pid.pid}.abc123.tmp"  # another output's
    for p in (stale, live, unnamed, other):
        p.write_bytes(b"half")
    write_atomic(path, b"new\n")
    assert path.read_bytes() == b"new\n"
    assert not stale.exists()
    assert live.exists() and unnamed.exists() and other.exists()


# ---------------------------------------------------------------------------
# Every writer writes atomically
# ---------------------------------------------------------------------------

#: Functions that may write a file directly: write_atomic itself and its two halves (the
#: temporary file, and the build's renaming of the outputs it staged), and drafts written into a
#: temporary folder of their own (turtlefmt formats a copy there).
DIRECT_WRITERS = {
    ("export.py", "write_atomic"),
    ("export.py", "stage_atomic"),
    ("fastbuild.py", "commit"),
    ("fmt.py", "formatted"),
    ("authoring.py", "_canonical"),
}
_WRITE_METHODS = {"write_text", "write_bytes", "mkstemp", "NamedTemporaryFile"}
_MOVES = {"replace", "rename", "copy", "copy2", "copyfile", "move"}
_MODE = re.compile(r"^[rwxabt+]+$")


def _writes(call: ast.Call) -> bool:
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    if name in _WRITE_METHODS:
        return True
    if name in _MOVES and isinstance(func, ast.Attribute):
        owner = getattr(func.value, "id", "")
        return owner in ("os", "shutil")
    if name in ("open", "fdopen"):  # open(file, mode), Path.open(mode), os.fdopen(fd, mode)
        modes = [*call.args[:2], *(k.value for k in call.keywords if k.arg == "mode")]
        return any(
            isinstance(m, ast.Constant)
            and isinstance(m.value, str)
            and _MODE.match(m.value) is not None
            and bool(set(m.value) & set("wax+"))
            for m in modes
        )
    return False


def test_every_file_writer_goes_through_write_atomic():
    found: set[tuple[str, str]] = set()
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for func in ast.walk(tree):
            if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(func):
                if isinstance(node, ast.Call) and _writes(node):
                    found.add((str(path.relative_to(SRC)), func.name))
    assert found - DIRECT_WRITERS == set(), "files written without write_atomic"
    assert found >= DIRECT_WRITERS  # the guard sees the writers it lets through
