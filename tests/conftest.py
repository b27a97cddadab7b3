"""Shared fixtures: the real project and one build of it per test session."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from kg.pipeline import Built, assemble, validate_built
from kg.project import Project, find_project

ROOT = Path(__file__).resolve().parents[1]


def sigint_as_in_a_terminal() -> None:
    """For ``preexec_fn``: Ctrl-C reaches the child even when the tests run in a background
    job, whose shell starts every command with SIGINT ignored (a child inherits that)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def kg(
    *args: str, root: Path = ROOT, preexec_fn: Callable[[], None] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the real console command in a fresh interpreter (``preexec_fn`` runs in the child
    before it starts)."""
    return subprocess.run(
        [sys.executable, "-m", "kg.cli", "--root", str(root), *args],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        preexec_fn=preexec_fn,
    )


@pytest.fixture(scope="session")
def project() -> Project:
    return find_project(ROOT)


@pytest.fixture(scope="session")
def built(project: Project) -> Built:
    """The seed corpus loaded, reasoned over and validated, once."""
    result = assemble(project)
    validate_built(result)
    return result


@pytest.fixture
def project_copy(tmp_path: Path) -> Project:
    """A throw-away copy of the project's data folders, to break on purpose."""
    for name in ("ontology", "shapes", "seeds", "queries", "checks"):
        shutil.copytree(ROOT / name, tmp_path / name)
    for path in (tmp_path / "seeds").iterdir():
        path.chmod(0o644)
    return find_project(tmp_path)


@pytest.fixture
def shared_map_forks(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether each run of the compiled shapes asked to share its queries with a forked copy
    (``kg.fastshacl.shared_map``'s ``fork``), in order; the runs themselves are unchanged."""
    from kg import fastshacl

    forks: list[bool] = []
    real = fastshacl.shared_map

    def spy(work, n, *, fork=True):  # type: ignore[no-untyped-def]
        forks.append(fork)
        return real(work, n, fork=fork)

    monkeypatch.setattr(fastshacl, "shared_map", spy)
    return forks
