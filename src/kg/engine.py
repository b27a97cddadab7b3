"""The query engine: Oxigraph (pyoxigraph) over the built dataset.

rdflib's SPARQL engine evaluates unions and optional patterns naively and cannot be stopped;
Oxigraph answers the same SPARQL 1.1 in milliseconds. The dataset is loaded as N-Quads, one
named graph per source plus the ontology and the inferences; the default graph of every query is
the union of all of them, and parameters are passed as substitutions (bindings), never spliced
into the query text.

Every query is vetted before it is evaluated (:func:`vet_query`): Oxigraph, like rdflib, calls
any endpoint a ``SERVICE`` clause names, and rdflib loads any graph a ``FROM`` clause names. Only
read queries over graphs the dataset holds run here.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import pyoxigraph as ox
from rdflib import BNode, Dataset, Graph, Literal, URIRef
from rdflib.term import Node

from kg.errors import InputError
from kg.namespaces import GRAPH

_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


def _clip(text: str, limit: int = 60) -> str:
    text = repr(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def to_ox(node: Node) -> Any:
    """An rdflib term as a pyoxigraph term; a term Oxigraph cannot hold (an invalid IRI or
    language tag, text that is not Unicode) is an :class:`InputError`."""
    try:
        if isinstance(node, URIRef):
            return ox.NamedNode(str(node))
        if isinstance(node, BNode):
            return ox.BlankNode(str(node))
        if isinstance(node, Literal):
            str(node).encode("utf-8")  # lone surrogates from undecodable bytes
            if node.language:
                return ox.Literal(str(node), language=node.language)
            if node.datatype:
                return ox.Literal(str(node), datatype=ox.NamedNode(str(node.datatype)))
            return ox.Literal(str(node))
    except (ValueError, UnicodeError) as exc:
        raise InputError(f"cannot bind {_clip(str(node))}: {exc}") from None
    raise InputError(f"cannot bind {node!r}")


# ---------------------------------------------------------------------------
# Vetting queries before they run
# ---------------------------------------------------------------------------

#: SPARQL Update operations, by the names rdflib's parser gives them.
_UPDATE_OPERATIONS = {
    "InsertData": "INSERT DATA",
    "DeleteData": "DELETE DATA",
    "DeleteWhere": "DELETE WHERE",
    "Modify": "DELETE/INSERT",
    "Load": "LOAD",
    "Clear": "CLEAR",
    "Drop": "DROP",
    "Create": "CREATE",
    "Add": "ADD",
    "Move": "MOVE",
    "Copy": "COPY",
}
_UPDATE_KEYWORDS = frozenset(
    ("INSERT", "DELETE", "LOAD", "CLEAR", "DROP", "CREATE", "ADD", "MOVE", "COPY", "WITH")
)


@dataclass(frozen=True)
class _Parsed:
    """What rdflib's SPARQL parser made of a text: a query, an update, or a syntax error."""

    query: Any = None  # the parse tree of a query
    updates: tuple[str, ...] = ()  # the operations of an update
    error: tuple[int, int, str] | None = None  # line, column, message


@lru_cache(maxsize=128)
def _parse(text: str) -> _Parsed:
    from pyparsing import ParseException
    from rdflib.plugins.sparql.parser import parseQuery, parseUpdate

    try:
        return _Parsed(query=parseQuery(text))
    except ParseException as exc:
        message = str(exc).split("  (at char", 1)[0]
        error = (exc.lineno, exc.col, message)
    try:
        update = parseUpdate(text)
    except ParseException:
        return _Parsed(error=error)
    ops = tuple(
        _UPDATE_OPERATIONS.get(op.name, op.name) for op in dict.get(update, "request") or []
    )
    return _Parsed(updates=ops) if ops else _Parsed(error=error)


def _find(tree: Any, name: str) -> Iterator[Any]:
    """The parts of a parse tree called ``name``, depth first, in the order of the text."""
    from pyparsing import ParseResults
    from rdflib.plugins.sparql.parserutils import CompValue

    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, CompValue):
            if node.name == name:
                yield node
            stack.extend(reversed(list(dict.values(node))))
        elif isinstance(node, (ParseResults, list, tuple)):
            stack.extend(reversed(list(node)))


def names_a_dataset(text: str) -> bool:
    """Whether a query has FROM or FROM NAMED clauses, which set its dataset: then the default
    graph is what they say, not the union of every graph."""
    parsed = _parse(text)
    return parsed.query is not None and next(_find(parsed.query, "DatasetClause"), None) is not None


def _keyword_lines(text: str, keywords: Collection[str]) -> list[int]:
    """The lines on which ``keywords`` occur as SPARQL keywords, in order: words inside
    comments, strings, IRIs, variables, prefixed names and language tags do not count. Used
    only to say where a refused part is; what is refused is decided on the parse tree."""
    import pyparsing as pp
    from rdflib.plugins.sparql import parser as sp

    tokens = (
        sp.String
        | sp.IRIREF
        | sp.Var
        | sp.PrefixedName
        | sp.LANGTAG
        | pp.Regex(r"#[^\n]*")
        | pp.Regex(r"[A-Za-z_][A-Za-z0-9_]*")
    )
    return [
        text.count("\n", 0, start) + 1
        for _toks, start, end in tokens.scan_string(text)
        if text[start:end].upper() in keywords
    ]


def _nth_line(text: str, keywords: Collection[str], n: int = 0) -> int | None:
    lines = _keyword_lines(text, keywords)
    return lines[n] if n < len(lines) else None


def _short_graph(iri: str) -> str:
    return "graph:" + iri[len(str(GRAPH)) :] if iri.startswith(str(GRAPH)) else f"<{iri}>"


def vet_query(text: str, known_graphs: Collection[str] | None, *, path: str | None = None) -> None:
    """Refuse, before anything is evaluated, what a read-only query service must not run:
    updates (INSERT, DELETE, LOAD, CLEAR, DROP, CREATE, ADD, MOVE, COPY), ``SERVICE`` (a call
    to another endpoint) and ``FROM`` / ``FROM NAMED`` of a graph not in ``known_graphs`` (which
    rdflib would load from the web or from a file). ``known_graphs`` ``None`` leaves ``FROM``
    to be judged when the dataset is known.

    The text is parsed with rdflib's SPARQL parser, so words in comments and strings are never
    mistaken for clauses. Raises :class:`InputError` naming ``path`` and, where it can tell,
    the line; a text that is not SPARQL is a syntax error.
    """
    try:
        parsed = _parse(text)
    except RecursionError:
        raise InputError(
            "the query nests its groups too deeply to be read", path=path
        ) from None
    if parsed.error is not None:
        line, col, message = parsed.error
        message = message if len(message) <= 160 else message[:159] + "…"
        raise InputError(f"SPARQL syntax error at column {col}: {message}", path=path, line=line)
    if parsed.updates:
        raise InputError(
            f"{', '.join(dict.fromkeys(parsed.updates))} is a SPARQL update; only read queries "
            "(SELECT, ASK, CONSTRUCT, DESCRIBE) run here, and they change nothing",
            path=path,
            line=_nth_line(text, _UPDATE_KEYWORDS),
        )
    services = list(_find(parsed.query, "ServiceGraphPattern"))
    if services:
        term = dict.get(services[0], "term")
        name = f"<{term}>" if isinstance(term, URIRef) else str(getattr(term, "n3", lambda: term)())
        raise InputError(
            f"SERVICE {name} is refused: queries run on the local dataset only and never call "
            "another endpoint",
            path=path,
            line=_nth_line(text, {"SERVICE"}),
        )
    if known_graphs is None:
        return
    clauses = list(_find(parsed.query, "DatasetClause"))
    if not clauses:
        return
    from rdflib.plugins.sparql.algebra import translatePrologue

    known = {str(g) for g in known_graphs}
    try:
        prologue = translatePrologue(parsed.query[0], None)
    except Exception as exc:  # an undeclared prefix, a malformed BASE
        raise InputError(f"SPARQL prologue: {exc}", path=path) from None
    for i, clause in enumerate(clauses):
        named = dict.get(clause, "named") is not None
        try:
            iri = str(prologue.absolutize(dict.get(clause, "named" if named else "default")))
        except Exception as exc:
            raise InputError(
                f"FROM clause: {exc}", path=path, line=_nth_line(text, {"FROM"}, i)
            ) from None
        if iri not in known:
            names = sorted(_short_graph(g) for g in known)
            held = ", ".join(names[:8]) + (f", … ({len(names)} in all)" if len(names) > 8 else "")
            raise InputError(
                f"FROM{' NAMED' if named else ''} <{iri}> names a graph the dataset does not "
                f"hold (it holds {held or 'none'}); graphs are never loaded from elsewhere",
                path=path,
                line=_nth_line(text, {"FROM"}, i),
            )


def from_ox(term: Any) -> Node | None:
    if term is None:
        return None
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if isinstance(term, ox.Literal):
        if term.language:
            return Literal(term.value, lang=term.language)
        if term.datatype.value == _XSD_STRING:  # a simple literal, as RDF 1.1 has it
            return Literal(term.value)
        return Literal(term.value, datatype=URIRef(term.datatype.value))
    return Literal(str(term))


@dataclass
class Answer:
    """A query's answer: rows for SELECT, a boolean for ASK, a graph for CONSTRUCT/DESCRIBE."""

    kind: str
    variables: list[str] = field(default_factory=list)
    rows: list[list[Node | None]] = field(default_factory=list)
    boolean: bool | None = None
    graph: Graph | None = None
    raw: bytes | None = None  # SPARQL results JSON, as Oxigraph writes it


def dataset_graph_names(dataset: Dataset) -> set[str]:
    """The names of the graphs ``dataset`` holds (empty ones too), its default graph aside."""
    default = dataset.default_graph.identifier
    return {str(g.identifier) for g in dataset.graphs() if g.identifier != default}


class Engine:
    """An in-memory Oxigraph store holding a dataset."""

    def __init__(self, dataset: Dataset) -> None:
        self.store = ox.Store()
        data = dataset.serialize(format="nquads").encode("utf-8")
        self.store.bulk_load(data, format=ox.RdfFormat.N_QUADS)
        #: the graphs a query may name in FROM and FROM NAMED
        self.graph_names = frozenset(dataset_graph_names(dataset))

    def query(
        self,
        text: str,
        bindings: dict[str, Node] | None = None,
        *,
        results_format: str | None = None,
        source: str | None = None,
    ) -> Answer:
        """Run ``text`` with ``bindings``, once :func:`vet_query` has let it through. With
        ``results_format`` (json, csv, tsv, xml) a SELECT or ASK answer also carries the standard
        serialisation Oxigraph writes, in ``raw``. ``source`` names the query's file in errors."""
        vet_query(text, self.graph_names, path=source)
        subs = {ox.Variable(k): to_ox(v) for k, v in (bindings or {}).items()}
        try:  # Oxigraph computes answers as they are read: errors may come from either step
            result = self.store.query(
                text, use_default_graph_as_union=not names_a_dataset(text), substitutions=subs
            )
            return _answer(result, results_format)
        except SyntaxError as exc:
            raise InputError(
                f"SPARQL syntax error: {str(exc).splitlines()[0]}", path=source
            ) from None
        except (RuntimeError, OSError, ValueError) as exc:
            raise InputError(f"query failed: {str(exc).splitlines()[0]}", path=source) from None


def _answer(result: Any, results_format: str | None) -> Answer:
    raw = None
    if results_format and not isinstance(result, ox.QueryTriples):
        fmt = _RESULTS_FORMATS[results_format]
        raw = result.serialize(format=fmt)
        if results_format not in ("json", "xml"):  # CSV and TSV are lossy: no rows back
            return Answer("SELECT", raw=raw)
        result = ox.parse_query_results(raw, format=fmt)
    if isinstance(result, ox.QueryBoolean):
        return Answer("ASK", boolean=bool(result), raw=raw)
    # An answer repeats its terms (names, labels, dates) across rows: each distinct term is
    # made into an rdflib term once; building a Literal (which parses its value) is the cost.
    made: dict[Any, Node | None] = {}

    def term(t: Any) -> Node | None:
        try:
            return made[t]
        except KeyError:
            node = made[t] = from_ox(t)
            return node

    if isinstance(result, ox.QueryTriples):
        g = Graph()
        for t in result:
            g.add((term(t.subject), term(t.predicate), term(t.object)))  # type: ignore[arg-type]
        return Answer("CONSTRUCT", graph=g)
    variables = [v.value for v in result.variables]
    # a solution unpacks into its values in the order of the variables (None where unbound),
    # which is quicker than looking each up by name
    rows = [[term(value) for value in sol] for sol in result]
    return Answer("SELECT", variables=variables, rows=rows, raw=raw)


_RESULTS_FORMATS = {
    "json": ox.QueryResultsFormat.JSON,
    "csv": ox.QueryResultsFormat.CSV,
    "tsv": ox.QueryResultsFormat.TSV,
    "xml": ox.QueryResultsFormat.XML,
}
