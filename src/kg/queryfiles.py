"""Canned query files and their headers: the question each answers, its parameters and
columns. Reading them needs no RDF library, so ``kg queries`` starts as fast as ``kg --help``."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from kg.errors import InputError
from kg.spans import read_utf8

KINDS = ("actor", "proposal", "event", "place", "issue", "iri", "string", "integer", "date")
_PARAM_RE = re.compile(r"^#\s+\?(\w+)\s+\(([\w ,]+)\)\s*(?:--|—|-)?\s*(.*)$")


@dataclass(frozen=True)
class Param:
    name: str
    kind: str
    optional: bool
    description: str


@dataclass
class CannedQuery:
    name: str
    path: Path
    question: str
    params: list[Param] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return self.path.read_text(encoding="utf-8")


def parse_header(path: Path) -> CannedQuery:
    """Read a query file's header. Raises :class:`InputError` when it has no question."""
    lines = read_utf8(path, "query file")[1].splitlines()
    question = ""
    params: list[Param] = []
    columns: list[str] = []
    section = None
    for lineno, line in enumerate(lines, 1):
        if not line.startswith("#"):
            break
        body = line[1:].strip()
        if body.lower().startswith("question:"):
            question = body.split(":", 1)[1].strip()
            section = "question"
        elif body.lower().startswith("parameters:"):
            section = "params"
            rest = body.split(":", 1)[1].strip()
            if rest and rest.lower() not in ("none", "none."):
                raise InputError("list parameters on their own lines", path=str(path), line=lineno)
        elif body.lower().startswith("columns:"):
            spec = body.split(":", 1)[1].strip()
            columns = (
                [] if spec.lower().startswith("none") else [c.lstrip("?") for c in spec.split()]
            )
            section = "columns"
        elif section == "params" and body.startswith("?"):
            m = _PARAM_RE.match(line)
            if not m:
                raise InputError(
                    "parameter line must read '#   ?name (kind[, optional]) -- description'",
                    path=str(path),
                    line=lineno,
                )
            name, spec, desc = m.group(1), m.group(2), m.group(3)
            bits = [b.strip() for b in spec.split(",")]
            kind = bits[0]
            if kind not in KINDS:
                raise InputError(
                    f"unknown parameter kind {kind!r} (one of {', '.join(KINDS)})",
                    path=str(path),
                    line=lineno,
                )
            params.append(Param(name, kind, "optional" in bits[1:], desc.strip()))
        elif section == "question" and body:
            question += " " + body
    if not question:
        raise InputError("query has no '# Question:' header line", path=str(path), line=1)
    return CannedQuery(path.stem, path, question.strip(), params, columns)


def list_queries(queries_dir: Path) -> list[CannedQuery]:
    return [parse_header(p) for p in sorted(queries_dir.glob("*.rq"))]


def find_query(queries_dir: Path, name_or_file: str) -> CannedQuery:
    """A canned query by name (file stem, or its leading number), or a ``.rq`` file path."""
    candidate = Path(name_or_file)
    if candidate.suffix == ".rq" or candidate.exists():
        if not candidate.is_file():
            raise InputError("query file not found", path=name_or_file)
        return parse_header(candidate)
    matches = [
        p
        for p in sorted(queries_dir.glob("*.rq"))
        if p.stem == name_or_file
        or p.stem.split("-", 1)[0] == name_or_file
        or (p.stem.split("-", 1)[-1] == name_or_file)
    ]
    if not matches:
        known = ", ".join(p.stem for p in sorted(queries_dir.glob("*.rq"))) or "none"
        raise InputError(f"unknown query {name_or_file!r}; known queries: {known}")
    if len(matches) > 1:
        raise InputError(
            f"query name {name_or_file!r} is ambiguous: {', '.join(m.stem for m in matches)}"
        )
    return parse_header(matches[0])
