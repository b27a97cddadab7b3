"""Pushing the built dataset into an external store with the SPARQL 1.1 Graph Store Protocol.

Each named graph of the build (one per mapping file, the ontology and, unless left out, the
inferences) is sent in one ``PUT`` to ``STORE?graph=IRI``, which replaces that graph in the
store and leaves every other graph alone. With ``replace``, the graphs of the project's graph
namespace (``https://w3id.org/dip/graph/``) that the build does not hold (a source since removed,
the inferences when they are left out) are then deleted, so the store holds this build exactly;
graphs outside the namespace are never touched.

The payload is N-Triples, sent as ``text/turtle`` (N-Triples is a subset of Turtle, which every
Graph Store Protocol implementation reads); blank nodes go as skolem IRIs
(:data:`kg.remote.GENID`), so that a node the inferences speak of is the node of its source.

Afterwards the store is asked, through its SPARQL endpoint, how many triples each graph holds:
a count that differs from what was sent is an error. It is also asked whether its default graph
shows every pushed graph (the canned queries need the union of the named graphs as their default
graph); when it does not, a warning says how to configure the store.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pyoxigraph as ox
from rdflib import Graph, URIRef
from rdflib.term import Node

from kg.load import INFERRED_GRAPH
from kg.namespaces import GRAPH
from kg.pipeline import Built
from kg.remote import (
    UNION_ADVICE,
    Endpoint,
    RemoteError,
    graph_url,
    literal_count,
    request,
    term_text,
    to_ox_triple,
)


def short_graph(iri: str) -> str:
    """``graph:000`` for a graph of the project's namespace, ``<iri>`` for any other."""
    return "graph:" + iri[len(str(GRAPH)) :] if iri.startswith(str(GRAPH)) else f"<{iri}>"


@dataclass
class GraphPush:
    """One graph sent: its IRI, its triples and the seconds it took (serialising and PUT)."""

    iri: str
    triples: int
    seconds: float


@dataclass
class PushResult:
    store: str
    endpoint: str
    pushed: list[GraphPush] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)  # with replace: stale graphs deleted
    kept: list[str] = field(default_factory=list)  # without: stale graphs left in the store
    seconds: float = 0.0
    warning: str | None = None

    @property
    def triples(self) -> int:
        return sum(p.triples for p in self.pushed)


def graphs_to_push(built: Built, *, inferred: bool = True) -> list[tuple[URIRef, Graph]]:
    """The named graphs of the build, in order: the ontology, one per mapping file, and (with
    ``inferred``) the inferences."""
    graphs = [(gid, built.loaded.dataset.graph(gid)) for gid in built.loaded.sources]
    if inferred:
        graphs.append((INFERRED_GRAPH, built.inferred))
    return graphs


def payload(graph: Graph) -> bytes:
    """The graph as N-Triples, blank nodes as skolem IRIs, lines sorted (the same graph, the
    same bytes)."""
    text = ox.serialize([to_ox_triple(t) for t in graph], format=ox.RdfFormat.N_TRIPLES)
    assert text is not None
    lines = sorted(text.splitlines(keepends=True))
    return b"".join(lines)


def _values_rows(rows: list[tuple[Node, ...]]) -> str:
    return " ".join("(" + " ".join(term_text(t) for t in row) + ")" for row in rows)


def push(
    built: Built,
    *,
    store: str,
    endpoint: Endpoint,
    inferred: bool = True,
    replace: bool = False,
    on_graph: Callable[[GraphPush], None] | None = None,
) -> PushResult:
    """Send the build's named graphs to ``store`` (one PUT each), delete stale graphs of the
    project's namespace with ``replace``, and check the store's counts through ``endpoint``.
    Raises :class:`~kg.remote.RemoteError` on the first failure."""
    started = time.perf_counter()
    result = PushResult(store=store, endpoint=endpoint.url)
    endpoint.ask("ASK {}")  # the endpoint answers, before anything is sent
    graphs = graphs_to_push(built, inferred=inferred)
    for iri, graph in graphs:
        t0 = time.perf_counter()
        data = payload(graph)
        request(
            "PUT",
            graph_url(store, str(iri)),
            data=data,
            headers={"Content-Type": "text/turtle; charset=utf-8"},
            timeout=endpoint.timeout,
        )
        done = GraphPush(str(iri), len(graph), time.perf_counter() - t0)
        result.pushed.append(done)
        if on_graph is not None:
            on_graph(done)

    sent = {str(iri) for iri, _ in graphs}
    held = endpoint.select("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }")
    stale = sorted(
        str(row["g"])
        for row in held
        if str(row.get("g", "")).startswith(str(GRAPH)) and str(row["g"]) not in sent
    )
    for iri in stale:
        if replace:
            request("DELETE", graph_url(store, iri), timeout=endpoint.timeout)
            result.deleted.append(iri)
        else:
            result.kept.append(iri)

    _check_counts(endpoint, graphs)
    result.warning = _check_default_graph(endpoint, graphs)
    result.seconds = time.perf_counter() - started
    return result


def _check_counts(endpoint: Endpoint, graphs: list[tuple[URIRef, Graph]]) -> None:
    """Every pushed graph holds, in the store, as many triples as were sent."""
    rows = endpoint.select(
        "SELECT ?g (COUNT(*) AS ?n) WHERE { VALUES (?g) { "
        + _values_rows([(iri,) for iri, _ in graphs])
        + " } GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"
    )
    counts = {str(row["g"]): literal_count(row.get("n")) for row in rows if "g" in row}
    for iri, graph in graphs:
        held = counts.get(str(iri), 0)
        if held != len(graph):
            raise RemoteError(
                endpoint.url,
                f"after the push {short_graph(str(iri))} holds {held} triples; "
                f"{len(graph)} were sent",
            )


def _check_default_graph(endpoint: Endpoint, graphs: list[tuple[URIRef, Graph]]) -> str | None:
    """A warning when the default graph does not show a triple of every pushed graph."""
    samples = [(iri, next(iter(graph))) for iri, graph in graphs if len(graph)]
    if not samples:
        return None
    found = endpoint.select(
        "SELECT ?s ?p ?o WHERE { VALUES (?s ?p ?o) { "
        + _values_rows([triple for _, triple in samples])
        + " } ?s ?p ?o }"
    )
    seen = {(row.get("s"), row.get("p"), row.get("o")) for row in found}
    missing = [short_graph(str(iri)) for iri, triple in samples if tuple(triple) not in seen]
    if not missing:
        return None
    if len(missing) == len(samples):
        return f"the default graph at {endpoint.url} shows none of the pushed graphs: " + (
            UNION_ADVICE
        )
    shown = ", ".join(missing)
    return f"the default graph at {endpoint.url} does not show {shown}: " + UNION_ADVICE
