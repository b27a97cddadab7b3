"""Text spans: reading source texts exactly, finding words in them, checking mentions.

Offsets are Unicode code points of the UTF-8 decoded text, with no newline translation,
so ``text[start:end] == exact`` in Python.
"""

from __future__ import annotations

import hashlib
import re
import stat
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from kg.errors import InputError, env_number

# Quotation marks that people type interchangeably.
_DOUBLE_QUOTES = '"“”„‟″«»'
_SINGLE_QUOTES = "'‘’‚‛′"
_DASHES = "-‐‑‒–—―"


#: The environment variable that caps the size of one input file, in MiB (0: no limit).
MAX_INPUT_ENV = "KG_MAX_INPUT_MB"
#: The default cap: a hundred times the largest mapping file of the seed corpus.
MAX_INPUT_MB = 16.0


def max_input_bytes() -> int | None:
    """The largest input file :func:`read_utf8` reads, from ``$KG_MAX_INPUT_MB`` (None: no cap)."""
    mib = env_number(MAX_INPUT_ENV, MAX_INPUT_MB, what="a file size in MiB")
    return None if mib == 0 else int(mib * 1024 * 1024)


def read_utf8(path: Path, what: str = "file", *, hint: str = "") -> tuple[bytes, str]:
    """A file's bytes and their UTF-8 decoding; a missing, unreadable or undecodable file is an
    :class:`InputError` naming ``what`` it is, the file and, for bad bytes, the line.

    Only regular files are read (a pipe would block), none larger than :func:`max_input_bytes`
    (refused before reading), and none that starts with a byte-order mark (which would count as
    a character in every offset, and which Turtle and SPARQL parsers reject)."""
    try:
        st = path.stat()
        if stat.S_ISDIR(st.st_mode):
            raise IsADirectoryError
        if not stat.S_ISREG(st.st_mode):
            raise InputError(f"is a pipe, socket or device, not a regular {what}", path=str(path))
        cap = max_input_bytes()
        if cap is not None and st.st_size > cap:
            raise InputError(
                f"{what} is {st.st_size / 1048576:.1f} MiB, over the {cap / 1048576:.3g} MiB limit "
                f"on input files; refused before reading (set {MAX_INPUT_ENV} to change it)",
                path=str(path),
            )
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{what} not found", path=str(path)) from None
    except IsADirectoryError:
        raise InputError(f"is a folder, not a {what}", path=str(path)) from None
    except OSError as exc:
        raise InputError(f"cannot read {what}: {exc.strerror}", path=str(path)) from None
    if data.startswith(b"\xef\xbb\xbf"):
        raise InputError(
            "starts with a UTF-8 byte-order mark (U+FEFF); save it as UTF-8 without one",
            path=str(path),
            line=1,
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            hint = " (it starts like UTF-16; save it as UTF-8)" + hint
        raise InputError(
            f"not valid UTF-8 at byte {exc.start} ({exc.reason}){hint}", path=str(path), line=line
        ) from None
    nul = data.find(b"\x00")
    if nul >= 0:
        raise InputError(
            f"holds a NUL byte at byte {nul}: not a UTF-8 text (UTF-16, or a binary file?){hint}",
            path=str(path),
            line=data[:nul].count(b"\n") + 1,
        )
    return data, text


def read_text(path: Path) -> str:
    """Read a source text byte for byte and decode it as UTF-8, keeping every character."""
    return read_utf8(path, "source text file")[1]


@lru_cache(maxsize=256)
def _read_cached(path: str, mtime_ns: int, size: int) -> str:
    return read_text(Path(path))


def read_text_cached(path: Path) -> str:
    """:func:`read_text`, cached while the file's modification time and size stay the same."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise InputError("source text file not found", path=str(path)) from None
    return _read_cached(str(path), st.st_mtime_ns, st.st_size)


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def line_col(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of a code-point offset."""
    line = text.count("\n", 0, offset) + 1
    col = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, col


def _pattern(words: str) -> re.Pattern[str]:
    parts: list[str] = []
    for ch in words.strip():
        if ch.isspace():
            if not parts or parts[-1] != r"\s+":
                parts.append(r"\s+")
        elif ch in _DOUBLE_QUOTES:
            parts.append("[" + re.escape(_DOUBLE_QUOTES) + "]")
        elif ch in _SINGLE_QUOTES:
            parts.append("[" + re.escape(_SINGLE_QUOTES) + "]")
        elif ch in _DASHES:
            parts.append("[" + re.escape(_DASHES) + "]")
        else:
            parts.append(re.escape(ch))
    return re.compile("".join(parts))


@dataclass(frozen=True)
class Match:
    start: int
    end: int
    exact: str


def locate(text: str, words: str) -> list[Match]:
    """Every place ``words`` occur in ``text``, tolerating curly versus straight quotes,
    dash variants and runs of white space."""
    if not words.strip():
        raise InputError("nothing to look for: the words are empty")
    return [Match(m.start(), m.end(), m.group(0)) for m in _pattern(words).finditer(text)]


def turtle_string(value: str) -> str:
    """A Turtle string literal for ``value`` (escapes backslash, quote and control characters)."""
    out = []
    for ch in value:
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def span_block(source_curie: str, match: Match) -> str:
    """A ready-to-paste mention in the project's vocabulary, in the canonical one-line layout."""
    return (
        f"dip:denotedBy [ a dip:Mention ; dip:inSource {source_curie} ; "
        f"oa:start {match.start} ; oa:end {match.end} ; oa:exact {turtle_string(match.exact)} ] ;"
    )
