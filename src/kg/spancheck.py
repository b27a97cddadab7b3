"""The span check: every mention's offsets select exactly its recorded text.

This is part of validation (``kg validate`` and ``kg build``), not only a test. It also checks
that each source document's text file exists, is UTF-8 and matches its recorded SHA-256.
"""

from __future__ import annotations

import re
from pathlib import Path

from rdflib import Graph, Literal, URIRef
from rdflib.term import Node

from kg.errors import InputError
from kg.namespaces import DIP, OA
from kg.report import Result
from kg.spans import read_text_cached, sha256_file

SHAPE = DIP["SpanCheck"]


# An xsd:integer as XSD spells it; Python's int() also reads "1_0" and digits of other scripts.
_INTEGER = re.compile(r"[ \t\n\r]*[+-]?[0-9]+[ \t\n\r]*")



def _shown(name: str) -> str:
    """A text-file name as an error message shows it: printable and at most 80 characters."""
    name = name if name.isprintable() else repr(name)
    return name if len(name) <= 80 else name[:79] + "…"


def text_path(seeds_dir: Path, name: str, doc: object, origin: str | None = None) -> Path:
    """The file ``seeds_dir/name`` that source document ``doc`` names as its text; a name that
    leads outside ``seeds_dir`` (absolute, or with ``..``) is an :class:`InputError` naming
    ``origin``, the mapping file, so no other file is ever opened."""
    if Path(name).is_absolute() or ".." in Path(name).parts:
        raise InputError(
            f"{doc} names the source text {_shown(name)}, which is outside {seeds_dir}; "
            "name a file in that folder",
            path=origin,
        )
    return seeds_dir / name

def _int(node: Node | None) -> int | None:
    if isinstance(node, Literal) and _INTEGER.fullmatch(str(node)):
        try:
            value = node.toPython()
        except Exception:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def _preview(text: str, limit: int = 60) -> str:
    text = text.replace("\n", "\\n")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def check_spans(
    union: Graph, seeds_dir: Path, *, origin: dict[Node, str] | None = None
) -> list[Result]:
    """Check every ``dip:Mention`` in ``union`` against its source text.

    ``origin`` maps a node to the mapping file it was written in, for the report.
    """
    results: list[Result] = []
    origin = origin or {}
    texts: dict[Node, str | None] = {}

    def fail(focus: Node, path: URIRef | None, message: str, value: Node | None = None) -> None:
        results.append(
            Result(
                focus=focus,
                shape=SHAPE,
                path=path,
                message=message,
                severity="Violation",
                value=value,
                source_file=origin.get(focus),
            )
        )

    for doc in sorted(set(union.subjects(DIP.textFile, None)), key=str):
        files = list(union.objects(doc, DIP.textFile))
        if len(files) != 1:
            fail(
                doc,
                DIP.textFile,
                f"a source document needs exactly one text file, has {len(files)}",
            )
            texts[doc] = None
            continue
        path = text_path(seeds_dir, str(files[0]), doc, origin.get(doc))
        name = _shown(str(files[0]))
        try:
            found = path.is_file()
        except OSError:  # a name too long for the file system, say
            found = False
        if not found:
            raise InputError(
                f"{doc} names the source text {name}, which is not in {seeds_dir}",
                path=origin.get(doc),
            )
        texts[doc] = read_text_cached(path)
        for digest in union.objects(doc, DIP.sha256):
            actual = sha256_file(path)
            if str(digest) != actual:
                fail(
                    doc,
                    DIP.sha256,
                    f"{path.name} has SHA-256 {actual}, not the recorded one",
                    digest,
                )

    owners: dict[Node, list[Node]] = {}
    for owner, mention in union.subject_objects(DIP.denotedBy):
        owners.setdefault(mention, []).append(owner)

    for mention in sorted(set(union.subjects(DIP.inSource, None)), key=str):
        focus = (owners.get(mention) or [mention])[0]
        docs = list(union.objects(mention, DIP.inSource))
        if len(docs) != 1:
            fail(
                focus, DIP.inSource, f"a mention needs exactly one source document, has {len(docs)}"
            )
            continue
        doc = docs[0]
        if doc not in texts:
            fail(focus, DIP.inSource, f"mention points to {doc}, which has no dip:textFile", doc)
            continue
        text = texts[doc]
        if text is None:
            continue
        starts = [_int(o) for o in union.objects(mention, OA.start)]
        ends = [_int(o) for o in union.objects(mention, OA.end)]
        exacts = [str(o) for o in union.objects(mention, OA.exact)]
        if len(starts) != 1 or len(ends) != 1 or len(exacts) != 1:
            fail(focus, OA.start, "a mention needs exactly one oa:start, oa:end and oa:exact")
            continue
        start, end, exact = starts[0], ends[0], exacts[0]
        if start is None or end is None:
            fail(focus, OA.start, "oa:start and oa:end must be integers")
            continue
        if not (0 <= start < end <= len(text)):
            fail(
                focus,
                OA.end,
                f"span {start}-{end} lies outside the text of {doc} (length {len(text)})",
            )
            continue
        actual = text[start:end]
        if actual != exact:
            fail(
                focus,
                OA.exact,
                f"span {start}-{end} of {doc} reads {_preview(actual)!r}, "
                f"but oa:exact is {_preview(exact)!r}",
                Literal(exact),
            )
    return results
