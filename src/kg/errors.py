"""Errors with documented exit codes.

Exit codes used by the ``kg`` command:

* 0 -- success (and, for validation, the data conforms);
* 1 -- the data does not conform (validation or check failures);
* 2 -- a usage or input error (bad file, unknown name, bad parameter).
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_INPUT = 2


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
