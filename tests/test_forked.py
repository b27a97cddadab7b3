"""Work shared with a forked copy of the process (kg.forked.shared_map): the answers a single
process gives, in its order, with its first error, whatever the copy does."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from kg.forked import shared_map

LINUX = sys.platform.startswith("linux")


def _slow(i: int) -> tuple[int, int, int]:
    time.sleep(0.02)  # long enough that both processes take items
    return i, i * i, os.getpid()


def test_the_items_come_back_in_order_from_both_processes() -> None:
    """Each item is taken once, by whichever process is free: the copy does a fair share, and
    this process does its own in order, with none left over for the end."""
    parent, here = os.getpid(), []

    def work(i: int) -> tuple[int, int, int]:
        if os.getpid() == parent:
            here.append(i)
        return _slow(i)

    got = shared_map(work, 40)
    assert [(i, sq) for i, sq, _pid in got] == [(i, i * i) for i in range(40)]
    theirs = [i for i, _sq, pid in got if pid != parent]
    assert here == sorted(here) and len(here) + len(theirs) == 40
    if LINUX:  # about half each: the items mostly wait, so neither process waits for a core
        assert len(theirs) >= 14


@pytest.mark.parametrize("n", [0, 1])
def test_no_copy_for_one_item_or_none(n: int) -> None:
    got = shared_map(_slow, n)
    assert [(i, sq) for i, sq, _pid in got] == [(i, i * i) for i in range(n)]
    assert {pid for *_rest, pid in got} <= {os.getpid()}


def test_without_fork_every_item_is_done_here() -> None:
    got = shared_map(_slow, 10, fork=False)
    assert [i for i, _sq, _pid in got] == list(range(10))
    assert {pid for *_rest, pid in got} == {os.getpid()}


@pytest.mark.parametrize("fork", [True, False])
def test_the_first_error_in_order_is_raised(fork: bool) -> None:
    """Items 5 and 30 fail; whichever process meets which first, item 5's error is raised, as
    a single process would raise it."""

    def work(i: int) -> int:
        time.sleep(0.01)
        if i in (5, 30):
            raise ValueError(f"item {i} failed")
        return i

    with pytest.raises(ValueError, match=r"^item 5 failed$"):
        shared_map(work, 40, fork=fork)


def test_items_the_copy_fails_are_done_here() -> None:
    """Every item fails in the copy (a memory error, say): this process does them all, and
    the answers are the same."""
    parent = os.getpid()

    def work(i: int) -> int:
        time.sleep(0.01)
        if os.getpid() != parent:
            raise MemoryError("out of memory in the copy")
        return i * 3

    assert shared_map(work, 30) == [i * 3 for i in range(30)]


def test_a_copy_that_dies_leaves_its_items_to_this_process() -> None:
    """The copy is killed in the middle of an item: it sends nothing, and this process does
    what the copy took."""
    parent = os.getpid()

    def work(i: int) -> int:
        time.sleep(0.01)
        if os.getpid() != parent and i > 3:
            os._exit(3)
        return -i

    assert shared_map(work, 30) == [-i for i in range(30)]


def test_an_interruption_here_ends_the_copy(tmp_path: Path) -> None:
    """An interruption in this process (not an error of an item) is raised at once, and the
    copy is ended and reaped: no process is left behind."""
    parent = os.getpid()
    seen = tmp_path / "copy.pid"

    def work(i: int) -> int:
        if os.getpid() != parent:
            seen.write_text(str(os.getpid()))
        elif i > 2:
            raise KeyboardInterrupt
        time.sleep(0.05)
        return i

    started = time.perf_counter()
    with pytest.raises(KeyboardInterrupt):
        shared_map(work, 200)
    assert time.perf_counter() - started < 5  # the copy had 10 s of items left
    if LINUX:
        with pytest.raises(ProcessLookupError):
            os.kill(int(seen.read_text()), 0)


_KILLED_PARENT = """
import os, sys, time
from pathlib import Path
from kg.forked import shared_map
parent, seen = os.getpid(), Path(sys.argv[1])

def work(i):
    if os.getpid() != parent:
        seen.write_text(str(os.getpid()))
    time.sleep(0.5)
    return i

shared_map(work, 1000)
"""


def _gone(pid: int) -> bool:
    """No such process, or only its exit status left (a zombie no one reaps)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "State:\tZ" in status


def test_a_copy_ends_with_a_parent_killed_outright(tmp_path: Path) -> None:
    import signal
    import subprocess

    seen = tmp_path / "copy.pid"
    parent = subprocess.Popen([sys.executable, "-c", _KILLED_PARENT, str(seen)])
    try:
        deadline = time.monotonic() + 30
        while not seen.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        copy = int(seen.read_text())
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + 10
        while not _gone(copy) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _gone(copy)
    finally:
        parent.kill()


def test_more_items_than_a_pipe_page_holds_are_done_here() -> None:
    """The items' numbers go through a pipe in one write that must not wait for a reader: past
    what one page holds, this process does every item itself."""
    from kg import forked

    got = shared_map(lambda i: (i, os.getpid()), forked._MOST + 1)
    assert [i for i, _pid in got] == list(range(forked._MOST + 1))
    assert {pid for _i, pid in got} == {os.getpid()}
    shared = shared_map(lambda i: (i, os.getpid()), forked._MOST)
    assert [i for i, _pid in shared] == list(range(forked._MOST))
