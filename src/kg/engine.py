"""The query engine: Oxigraph (pyoxigraph) over the built dataset.

rdflib's SPARQL engine evaluates unions and optional patterns naively and cannot be stopped;
Oxigraph answers the same SPARQL 1.1 in milliseconds. The dataset is loaded as N-Quads, one
named graph per source plus the ontology and the inferences; the default graph of every query is
the union of all of them, and parameters are passed as substitutions (bindings), never spliced
into the query text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pyoxigraph as ox
from rdflib import BNode, Dataset, Graph, Literal, URIRef
from rdflib.term import Node

from kg.errors import InputError

_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


def to_ox(node: Node) -> Any:
    if isinstance(node, URIRef):
        return ox.NamedNode(str(node))
    if isinstance(node, BNode):
        return ox.BlankNode(str(node))
    if isinstance(node, Literal):
        if node.language:
            return ox.Literal(str(node), language=node.language)
        if node.datatype:
            return ox.Literal(str(node), datatype=ox.NamedNode(str(node.datatype)))
        return ox.Literal(str(node))
    raise InputError(f"cannot bind {node!r}")


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


class Engine:
    """An in-memory Oxigraph store holding a dataset."""

    def __init__(self, dataset: Dataset) -> None:
        self.store = ox.Store()
        data = dataset.serialize(format="nquads").encode("utf-8")
        self.store.bulk_load(data, format=ox.RdfFormat.N_QUADS)

    def query(
        self,
        text: str,
        bindings: dict[str, Node] | None = None,
        *,
        results_format: str | None = None,
    ) -> Answer:
        """Run ``text`` with ``bindings``. With ``results_format`` (json, csv, tsv, xml) a SELECT or
        ASK answer also carries the standard serialisation Oxigraph writes, in ``raw``."""
        subs = {ox.Variable(k): to_ox(v) for k, v in (bindings or {}).items()}
        try:
            result = self.store.query(text, use_default_graph_as_union=True, substitutions=subs)
        except SyntaxError as exc:
            raise InputError(f"SPARQL syntax error: {str(exc).splitlines()[0]}") from None
        except (RuntimeError, OSError, ValueError) as exc:
            raise InputError(f"query failed: {str(exc).splitlines()[0]}") from None
        raw = None
        if results_format and not isinstance(result, ox.QueryTriples):
            fmt = _RESULTS_FORMATS[results_format]
            raw = result.serialize(format=fmt)
            if results_format not in ("json", "xml"):  # CSV and TSV are lossy: no rows back
                return Answer("SELECT", raw=raw)
            result = ox.parse_query_results(raw, format=fmt)
        if isinstance(result, ox.QueryBoolean):
            return Answer("ASK", boolean=bool(result), raw=raw)
        if isinstance(result, ox.QueryTriples):
            g = Graph()
            for t in result:
                g.add((from_ox(t.subject), from_ox(t.predicate), from_ox(t.object)))  # type: ignore[arg-type]
            return Answer("CONSTRUCT", graph=g)
        variables = [v.value for v in result.variables]
        rows = [[from_ox(sol[v]) for v in variables] for sol in result]
        return Answer("SELECT", variables=variables, rows=rows, raw=raw)


_RESULTS_FORMATS = {
    "json": ox.QueryResultsFormat.JSON,
    "csv": ox.QueryResultsFormat.CSV,
    "tsv": ox.QueryResultsFormat.TSV,
    "xml": ox.QueryResultsFormat.XML,
}
