"""Subject blocks of the Turtle and TriG Oxigraph's writer makes, and how to patch them.

The writer, given triples sorted by their N-Triples lines, writes each subject's triples as one
block: a line that starts with the subject (after a tab, inside a TriG graph) and the lines
that go on with its triples (one more tab). It escapes the line ends in literals, so every line
end in its output is one of its own. A file's blocks are therefore in the order of their
subjects' N-Triples terms (a line starts with its subject and a space, which no term holds),
and a subject's block depends on that subject's triples alone: a file in which some subjects'
triples changed is the old file with those subjects' blocks written afresh, put in their
places.

An :class:`Index` keeps the subjects of a file's blocks in order, so a later build can find
them without reading the terms back from the writer's prefixed names.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_left
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: Where a block starts: a line end, then (in Turtle) anything but a prefix line's "@" or a
#: tab, or (in a TriG graph) one tab and then anything but a tab. The line end is a literal the
#: search skips ahead to.
TURTLE_BLOCK = re.compile(rb"\n[^\t@\n]")
TRIG_BLOCK = re.compile(rb"\n\t[^\t\n]")


def starts(text: bytes, pattern: re.Pattern[bytes], begin: int, end: int) -> list[int]:
    """Where the blocks of ``text[begin:end]`` start (``text[begin - 1]`` is the line end
    before the first)."""
    return [m.start() + 1 for m in pattern.finditer(text, begin - 1, end)]


def subjects_of(lines: list[str]) -> list[str]:
    """The subjects of sorted N-Triples lines, each once, in order."""
    out: list[str] = []
    last = None
    for line in lines:
        subject = line.partition(" ")[0]
        if subject != last:
            out.append(subject)
            last = subject
    return out


def splice(
    text: bytes,
    at: list[int],
    end: int,
    subjects: list[str],
    fresh: dict[str, bytes],
) -> tuple[bytes, list[str]]:
    """``text[at[0]:end]``, blocks starting at ``at`` with ``subjects`` (sorted, one for each),
    with the blocks of ``fresh``'s subjects in their places: a block written afresh where the
    subject had one, put in order where it had none, and taken out where the new block is
    empty. Gives the new region and its subjects."""
    assert len(at) == len(subjects)
    bounds = [*at, end]
    pieces: list[bytes] = []
    order: list[str] = []
    pos = 0
    for subject in sorted(fresh):
        i = bisect_left(subjects, subject, pos)
        pieces.append(text[bounds[pos] : bounds[i]])
        order.extend(subjects[pos:i])
        if fresh[subject]:
            pieces.append(fresh[subject])
            order.append(subject)
        pos = i + 1 if i < len(subjects) and subjects[i] == subject else i
    pieces.append(text[bounds[pos] : end])
    order.extend(subjects[pos:])
    return b"".join(pieces), order


def cut(text: bytes, at: list[int], end: int, subjects: list[str]) -> dict[str, bytes]:
    """The blocks of ``text`` starting at ``at`` (up to ``end``), by their ``subjects``."""
    bounds = [*at, end]
    return {s: text[bounds[i] : bounds[i + 1]] for i, s in enumerate(subjects)}


@dataclass
class Index:
    """What a build keeps of one of its export files for the next to patch it: the file's
    digest and what it was made of (``header``), and the subjects of its blocks in order."""

    header: dict[str, Any]
    subjects: list[str]

    def dump(self) -> bytes:
        head = json.dumps(self.header, sort_keys=True, ensure_ascii=False)
        return (head + "\n" + "\n".join(self.subjects)).encode("utf-8")

    @classmethod
    def read(cls, path: Path) -> Index | None:
        """The index at ``path``; None where there is none or it cannot be read (the build
        then writes the file whole)."""
        try:
            data = path.read_bytes()
            head, _, rest = data.partition(b"\n")
            header = json.loads(head)
            subjects = rest.decode("utf-8").split("\n") if rest else []
        except (OSError, ValueError):
            return None
        if not isinstance(header, dict):
            return None
        return cls(header, subjects)
