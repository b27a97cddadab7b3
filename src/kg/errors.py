"""Errors with documented exit codes, and the environment settings that bound the work.

Exit codes used by the ``kg`` command:

* 0 -- success (and, for validation, the data conforms);
* 1 -- the data does not conform (validation or check failures);
* 2 -- a usage or input error (bad file, unknown name, bad parameter, a setting out of range, or
  reasoning that outgrew its bounds);
* 130 -- interrupted (Ctrl-C); outputs are written atomically, so none is half-written.

Settings read from the environment (a bad value is an input error naming the variable):

* ``KG_MAX_INPUT_MB`` -- the largest input file read, in MiB (default 16; 0: no limit);
* ``KG_REASON_TIMEOUT`` -- seconds the OWL RL closure may run (default 300; 0: no limit);
* ``KG_REASON_MAX_TRIPLES`` -- the most triples the closure may add (default: 5 times the input,
  at least 5 000; 0: no limit);
* ``KG_REASON_MAX_CYCLES`` -- the most rounds of rules the closure may run (default 50; 0: no
  limit).
"""

from __future__ import annotations

import math
import os

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_INPUT = 2
EXIT_INTERRUPTED = 130


class KGError(Exception):
    """Base class for errors the command line reports in one line, without a traceback."""

    exit_code = EXIT_INPUT


class InputError(KGError):
    """A file, argument or parameter is malformed or missing (exit code 2)."""

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None):
        self.path = path
        self.line = line
        where = ""
        if path is not None:
            where = f"{path}:{line}: " if line is not None else f"{path}: "
        super().__init__(f"{where}{message}")


def env_number(name: str, default: float, *, what: str) -> float:
    """The non-negative number in environment variable ``name``, or ``default`` when it is unset
    or empty. A value that is not a non-negative number is an :class:`InputError` naming the
    variable and ``what`` it sets."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not math.isfinite(value) or value < 0:
        raise InputError(f"{name}={raw!r} is not {what} (a non-negative number)")
    return value
