"""The manifest of expected query results: each canned query, with its parameters, and the answer
it must give on the seed corpus, checked by hand against the texts.

``queries/manifest.ttl`` follows the W3C SPARQL test-manifest vocabulary (``mf:``, ``qt:``), as
the SPARQL 1.1 test suite does: one ``mf:QueryEvaluationTest`` per entry, whose ``mf:action``
names the query (``qt:query``) and its parameters (``dipt:param``), and whose ``mf:result`` names
the expected answer in ``queries/expected/``.

Expected SELECT answers are tab-separated text meant to be read and checked by people: a header
line of variable names, then one line per row, in the query's order. A cell holds an IRI as a
prefixed name where a project prefix fits, a literal as its lexical form, an unbound variable as
nothing; tabs, newlines and backslashes in a value are written ``\\t``, ``\\n`` and ``\\\\``.
Expected CONSTRUCT answers are Turtle, compared as graphs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from rdflib import Graph, Namespace
from rdflib.collection import Collection
from rdflib.namespace import RDF, RDFS
from rdflib.term import Node

from kg.engine import Answer, Engine
from kg.errors import InputError
from kg.query import CannedQuery, bind_params, parse_header, run, short_name

MF = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
QT = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-query#")
DIPT = Namespace("https://w3id.org/dip/test#")

MANIFEST_FILE = "manifest.ttl"


@dataclass
class Entry:
    """One expected answer: a query, its parameters, the result file and what was checked."""

    name: str
    query: Path
    params: dict[str, str]
    result: Path
    checked: str


def load_manifest(queries_dir: Path) -> list[Entry]:
    path = queries_dir / MANIFEST_FILE
    if not path.is_file():
        raise InputError("no manifest of expected results", path=str(path))
    from kg.load import parse_turtle

    graph = parse_turtle(path)
    manifests = list(graph.subjects(RDF.type, MF.Manifest))
    if len(manifests) != 1:
        raise InputError("the manifest must describe exactly one mf:Manifest", path=str(path))
    head = graph.value(manifests[0], MF.entries)
    if head is None:
        raise InputError("the manifest has no mf:entries list", path=str(path))
    entries = []
    for node in Collection(graph, head):
        name = str(graph.value(node, MF.name) or "")
        action = graph.value(node, MF.action)
        query = graph.value(action, QT.query) if action is not None else None
        result = graph.value(node, MF.result)
        if not name or query is None or result is None:
            raise InputError(
                f"entry {node} needs mf:name, mf:action [ qt:query ] and mf:result", path=str(path)
            )
        params = {}
        for p in graph.objects(action, DIPT.param):
            params[str(graph.value(p, DIPT.name))] = str(graph.value(p, DIPT.value))
        entries.append(
            Entry(
                name=name,
                query=_local(query, path),
                params=params,
                result=_local(result, path),
                checked=str(graph.value(node, RDFS.comment) or ""),
            )
        )
    return entries


def _local(node: Node, manifest: Path) -> Path:
    text = str(node)
    if not text.startswith("file://"):
        raise InputError(f"{text} is not a file beside the manifest", path=str(manifest))
    from urllib.parse import unquote, urlparse

    return Path(unquote(urlparse(text).path))


#: The separators the canned queries give GROUP_CONCAT. SPARQL leaves the order of a group's
#: values unspecified, so an expected cell of a GROUP_CONCAT column lists them sorted.
SEPARATORS = (" […] ", "; ")
_CONCAT_RE = re.compile(r"GROUP_CONCAT\s*\(.*?\)\s+AS\s+\?(\w+)", re.S | re.I)


def concat_columns(query_text: str) -> set[str]:
    """The variables a query aggregates with GROUP_CONCAT."""
    return set(_CONCAT_RE.findall(query_text))


def _sorted_parts(text: str) -> str:
    for sep in SEPARATORS:
        if sep in text:
            return sep.join(sorted(_sorted_parts(p) for p in text.split(sep)))
    return text


def cell(node: Node | None, *, concat: bool = False) -> str:
    """A result cell as the expected files write it (``concat``: a GROUP_CONCAT column)."""
    text = short_name(node)
    if concat:
        text = _sorted_parts(text)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def render(answer: Answer, concat: frozenset[str] | set[str] = frozenset()) -> str:
    """The answer as an expected-result file: TSV for SELECT, Turtle for CONSTRUCT; the values of
    the ``concat`` columns are sorted."""
    if answer.kind == "CONSTRUCT":
        from kg.query import format_result

        return format_result(answer, "table")
    if answer.kind == "ASK":
        return ("true" if answer.boolean else "false") + "\n"
    lines = ["\t".join(answer.variables)]
    flags = [v in concat for v in answer.variables]
    lines += [
        "\t".join(cell(v, concat=f) for v, f in zip(row, flags, strict=True))
        for row in answer.rows
    ]
    return "\n".join(lines) + "\n"


@dataclass
class Outcome:
    entry: Entry
    actual: str
    expected: str | None
    ok: bool
    detail: str = ""


def run_entry(entry: Entry, engine: Engine, graph: Graph) -> tuple[CannedQuery, Answer]:
    canned = parse_header(entry.query)
    answer = run(engine, canned, bind_params(canned, graph, entry.params))
    return canned, answer


def check_entry(entry: Entry, engine: Engine, graph: Graph) -> Outcome:
    """Run one entry and compare its answer with the expected file."""
    canned, answer = run_entry(entry, engine, graph)
    actual = render(answer, concat_columns(canned.text))
    if not entry.result.is_file():
        return Outcome(entry, actual, None, False, "no expected result file")
    expected = entry.result.read_text(encoding="utf-8")
    if answer.kind == "CONSTRUCT":
        ok = _canonical(actual) == _canonical(expected)
        return Outcome(entry, actual, expected, ok, "" if ok else "the graphs differ")
    ok = actual == expected  # every canned query orders its rows totally
    return Outcome(entry, actual, expected, ok, "" if ok else _diff(expected, actual))


def _canonical(turtle: str) -> list[str]:
    """The quads of a Turtle text in RDFC-1.0 canonical form (blank nodes relabelled)."""
    import pyoxigraph as ox

    ds = ox.Dataset(ox.parse(turtle.encode("utf-8"), format=ox.RdfFormat.TURTLE))
    ds.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    return sorted(str(q) for q in ds)


def _diff(expected: str, actual: str) -> str:
    import difflib

    lines = difflib.unified_diff(
        expected.splitlines(), actual.splitlines(), "expected", "actual", lineterm="", n=0
    )
    return "\n".join(list(lines)[:40])
