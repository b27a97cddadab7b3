"""Quotation passages in source texts, and which of them no statement covers."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from rdflib import Graph
from rdflib.namespace import RDF

from kg.errors import InputError
from kg.namespaces import DIP, OA
from kg.spancheck import text_path
from kg.spans import read_text, read_utf8

DOUBLE_QUOTES = '“”"„‟'
UNMAPPED_FILE = "unmapped-quotes.tsv"


@dataclass(frozen=True)
class Passage:
    file: str
    start: int  # offset of the opening mark
    end: int  # offset just after the closing mark
    text: str


def quotations(text: str, file: str = "") -> list[Passage]:
    """Every passage between two double quotation marks (curly or straight), paired in order
    within a line; a mark left without a partner is not a passage."""
    out: list[Passage] = []
    offset = 0
    for line in text.split("\n"):
        marks = [i for i, ch in enumerate(line) if ch in DOUBLE_QUOTES]
        for a, b in zip(marks[0::2], marks[1::2], strict=False):
            out.append(Passage(file, offset + a, offset + b + 1, line[a : b + 1]))
        offset += len(line) + 1
    return out


def statement_spans(graph: Graph) -> dict[str, list[tuple[int, int]]]:
    """Spans of the mentions of statements, per text file."""
    files = {doc: str(f) for doc, f in graph.subject_objects(DIP.textFile)}
    spans: dict[str, list[tuple[int, int]]] = {}
    for st in set(graph.subjects(RDF.type, DIP.Statement)) | set(
        graph.subjects(RDF.type, DIP.Attribution)
    ):
        for m in graph.objects(st, DIP.denotedBy):
            doc = graph.value(m, DIP.inSource)
            start, end = graph.value(m, OA.start), graph.value(m, OA.end)
            if doc in files and start is not None and end is not None:
                spans.setdefault(files[doc], []).append((int(start), int(end)))
    return spans


def read_unmapped(seeds_dir: Path) -> dict[tuple[str, int, int], str]:
    """The passages deliberately left unmapped, with their reasons."""
    path = seeds_dir / UNMAPPED_FILE
    if not path.exists():
        return {}
    out: dict[tuple[str, int, int], str] = {}
    _, text = read_utf8(path, "list of unmapped passages")
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter="\t")
    for lineno, row in enumerate(reader, 2):
        try:
            key = (row["file"], int(row["start"]), int(row["end"]))
        except (KeyError, TypeError, ValueError):
            raise InputError(
                "expected columns file, start, end, passage, reason",
                path=str(path),
                line=lineno,
            ) from None
        if not (row.get("reason") or "").strip():
            raise InputError(
                "a passage left unmapped needs a reason", path=str(path), line=lineno
            )
        out[key] = row["reason"].strip()
    return out


def uncovered(graph: Graph, seeds_dir: Path) -> list[Passage]:
    """Quotation passages that no statement's span covers and that are not listed as unmapped.

    A passage is covered when a statement mention contains the words between its marks.
    """
    spans = statement_spans(graph)
    listed = read_unmapped(seeds_dir)
    missing: list[Passage] = []
    for doc, name in sorted(
        ((d, str(f)) for d, f in graph.subject_objects(DIP.textFile)), key=str
    ):
        text = read_text(text_path(seeds_dir, name, doc))
        for p in quotations(text, name):
            inner = (p.start + 1, p.end - 1)
            if any(s <= inner[0] and inner[1] <= e for s, e in spans.get(name, [])):
                continue
            if (name, p.start, p.end) in listed:
                continue
            missing.append(p)
    return missing
