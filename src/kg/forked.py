"""Work shared with a forked copy of this process, on Linux.

A forked copy shares this process's memory (an Oxigraph store, say) until one of them writes to
it, so a read-only task over a large structure can be split between two cores with nothing
copied or sent but the answers. Each item of the work is taken, in turn, by whichever of the
two processes is free (a counter in shared memory), so items of very different costs are
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
    if n <= 1 or not fork or not sys.platform.startswith("linux"):
        return [work(i) for i in range(n)]
    import multiprocessing

    try:
        counter = multiprocessing.RawValue("l", 0)
        lock = multiprocessing.Lock()
    except (OSError, ImportError):  # no shared memory or semaphores here
        return [work(i) for i in range(n)]

    def take() -> int:
        with lock:
            i = counter.value
            counter.value = i + 1
        return i

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
