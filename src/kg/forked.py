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


def die_with_parent(parent: int) -> None:
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
    if n <= 1 or n > _MOST or not fork or not sys.platform.startswith("linux"):
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
    owner = os.getpid()
    read, write = os.pipe()
    gc.freeze()  # the copy's collector leaves the shared objects (and their pages) alone
    try:
        pid = os.fork()
    except OSError:
        pid = -1
    if pid == 0:
        os.close(read)
        _copy(work, take, n, owner, write)
    gc.unfreeze()
    os.close(write)
    answers: dict[int, Any] = {}
    try:
        if pid < 0:
            os.close(read)
            read = -1
        else:
            with contextlib.suppress(Exception):
                while (i := take()) < n:
                    answers[i] = work(i)
            answers.update(_collect(read, pid))
            read = pid = -1
    finally:
        if pid > 0:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        if read >= 0:
            os.close(read)
    return [answers[i] if i in answers else work(i) for i in range(n)]


def _copy(
    work: Callable[[int], Any], take: Callable[[], int], n: int, owner: int, pipe: int
) -> NoReturn:
    """The forked copy: items until there are none left or one fails, then its answers."""
    code = 1
    answers: dict[int, Any] = {}
    try:
        die_with_parent(owner)
        with contextlib.suppress(Exception):
            while (i := take()) < n:
                answers[i] = work(i)
        data = pickle.dumps(answers, protocol=pickle.HIGHEST_PROTOCOL)
        while data:
            data = data[os.write(pipe, data) :]
        code = 0
    finally:
        os._exit(code)


def _collect(read: int, pid: int) -> dict[int, Any]:
    """The copy's answers: none where it sent nothing whole (it died, say)."""
    chunks = []
    while chunk := os.read(read, 1 << 20):
        chunks.append(chunk)
    os.close(read)
    os.waitpid(pid, 0)
    try:
        got = pickle.loads(b"".join(chunks))
    except Exception:
        return {}
    return got if isinstance(got, dict) else {}
