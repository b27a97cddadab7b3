"""Work shared with a forked copy of this process, on Linux.

A forked copy shares this process's memory (an Oxigraph store, say) until one of them writes to
it, so a read-only task over a large structure can be split between two cores with nothing
copied or sent but the answers. Each item of the work is taken, in turn, by whichever of the
two processes is free (their numbers read from one pipe), so items of very different costs are
shared out evenly. The answers come back to this process through a pipe, pickled (the copy is
this program, so nothing untrusted is unpickled). Whatever the copy did not finish (it failed,
or could not be forked) is done in this process, and the items are done and their errors met
in the order a single process would meet them.
"""

from __future__ import annotations

import contextlib
import gc
import os
import pickle
import signal
import struct
import sys
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

T = TypeVar("T")


def _die_with_parent(parent: int) -> None:
    """Have the kernel end this process when its parent ends (Linux's PR_SET_PDEATHSIG), so a
    build killed outright leaves no process of it behind."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)
    if os.getppid() != parent:  # it ended before that took hold
        os._exit(1)


def shared_map(work: Callable[[int], T], n: int, *, fork: bool = True) -> list[T]:
    """``[work(i) for i in range(n)]``, the items shared with a forked copy of this process
    where ``fork`` is true and the platform is Linux. ``work`` must only read what it shares
    (the copy's writes are its own) and return what pickles.

    The result is the list a single process would make, and an error is the first one a
    single process would meet: the items the copy did not answer, and those that failed here,
    are done again here in order, where the first to fail raises."""
    if n <= 1 or n > _MOST or not fork:
        return [work(i) for i in range(n)]
    # the items' numbers, in order, in a pipe both processes read: a read of four bytes takes
    # one item, whichever process makes it (the kernel serialises a pipe's reads), and all are
    # written before either reads, in one write the pipe's buffer holds
    items, fill = os.pipe()
    try:
        os.write(fill, struct.pack(f"<{n}I", *range(n)))
    finally:
        os.close(fill)

    def take() -> int:
        data = os.read(items, 4)
        return struct.unpack("<I", data)[0] if len(data) == 4 else n

    try:
        return _shared(work, n, take)
    finally:
        os.close(items)


#: The most items :func:`shared_map` shares: their numbers fit in one page, the least a pipe's
#: buffer holds, so that writing them never waits for a reader; more are done in this process
#: alone.
_MOST = 4096 // 4


def _shared(work: Callable[[int], T], n: int, take: Callable[[], int]) -> list[T]:
    """:func:`shared_map` with the items' numbers from ``take`` (``n`` when none is left)."""

    def theirs() -> dict[int, T]:
        """The copy's part: items until there are none left or one fails."""
        answers: dict[int, T] = {}
        with contextlib.suppress(Exception):
            while (i := take()) < n:
                answers[i] = work(i)
        return answers

    child = Child.start(theirs)
    answers: dict[int, Any] = {}
    if child is not None:
        try:
            with contextlib.suppress(Exception):
                while (i := take()) < n:
                    answers[i] = work(i)
            done, got = child.result()
        finally:
            child.stop()
        if done and isinstance(got, dict):
            answers.update(got)
    return [answers[i] if i in answers else work(i) for i in range(n)]


class Child:
    """A forked copy of this process that runs a task and sends back what it returns, pickled,
    through a pipe. It ends with this process (:func:`_die_with_parent`)."""

    def __init__(self, pid: int, pipe: int) -> None:
        self.pid = pid  # the copy's process id, also once it has ended
        self._pid: int | None = pid  # until it is waited for
        self._pipe: int | None = pipe

    @classmethod
    def start(cls, task: Callable[[], Any]) -> Child | None:
        """The copy at work on ``task``, or None where no process could be forked (or the
        platform is not Linux)."""
        if not sys.platform.startswith("linux"):
            return None
        owner = os.getpid()
        read, write = os.pipe()
        gc.freeze()  # the copy's collector leaves the shared objects (and their pages) alone
        try:
            pid = os.fork()
        except OSError:
            gc.unfreeze()
            os.close(read)
            os.close(write)
            return None
        if pid == 0:
            os.close(read)
            _run(task, owner, write)
        gc.unfreeze()
        os.close(write)
        return cls(pid, read)

    def result(self) -> tuple[bool, Any]:
        """Waits for the copy: ``(True, what the task returned)``, or ``(False, None)`` where
        it sent nothing whole (the task raised, or the process died)."""
        if self._pid is None or self._pipe is None:
            return False, None
        chunks = []
        while chunk := os.read(self._pipe, 1 << 20):
            chunks.append(chunk)
        os.close(self._pipe)
        os.waitpid(self._pid, 0)
        self._pid = self._pipe = None
        try:
            return True, pickle.loads(b"".join(chunks))
        except Exception:
            return False, None

    def stop(self) -> None:
        """Ends the copy if it still runs; nothing once :meth:`result` has answered."""
        if self._pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._pid, signal.SIGKILL)
            os.waitpid(self._pid, 0)
            self._pid = None
        if self._pipe is not None:
            os.close(self._pipe)
            self._pipe = None


def _run(task: Callable[[], Any], owner: int, pipe: int) -> NoReturn:
    """The forked copy: the task's value, pickled, down the pipe; exit status 1 where the
    task raised."""
    code = 1
    try:
        _die_with_parent(owner)
        data = pickle.dumps(task(), protocol=pickle.HIGHEST_PROTOCOL)
        while data:
            data = data[os.write(pipe, data) :]
        code = 0
    finally:
        os._exit(code)
