"""Canned SPARQL queries: discovery from their headers, parameters as bindings, result formats.

A canned query is one ``.rq`` file in ``queries/`` with a header of comment lines::

    # Question: Who attributed which position to whom?
    # Parameters:
    #   ?attributor (actor, optional) -- only attributions made by this actor
    # Columns: ?attributor ?position ?holder ...

Parameters reach the query only as variable bindings (never by editing the text). A parameter of
kind ``actor``, ``proposal``, ``event`` or ``place`` may be given as an IRI, a CURIE or a label,
which is resolved to the one node it names.

Every query, canned or given as a file, is vetted before it runs (:func:`vet_query`): updates,
``SERVICE`` and ``FROM`` of graphs the dataset does not hold are refused.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, RDFS, SKOS
from rdflib.term import Node

from kg.engine import Answer, Engine, dataset_graph_names, vet_query
from kg.errors import InputError
from kg.namespaces import DIP, PREFIXES
from kg.project import Project
from kg.queryfiles import (  # noqa: F401  (their home, kept importable from here)
    KINDS,
    CannedQuery,
    Param,
    find_query,
    list_queries,
    parse_header,
)

_KIND_CLASS = {
    "actor": DIP.Actor,
    "proposal": DIP.Proposal,
    "event": DIP.Event,
    "place": DIP.Place,
    "issue": DIP.Issue,
}


def graph_names(project: Project) -> set[str]:
    """The graphs a build of ``project`` holds: one per mapping file, the ontology and the
    inferences. Queries may name these, and only these, in ``FROM`` and ``FROM NAMED``."""
    from kg.load import INFERRED_GRAPH, ONTOLOGY_GRAPH, graph_iri_for

    names = {str(ONTOLOGY_GRAPH), str(INFERRED_GRAPH)}
    return names | {str(graph_iri_for(p)) for p in project.mapping_files()}


def _show(value: str, limit: int = 60) -> str:
    """A parameter value as error messages quote it: on one line, clipped."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _valid_iri(text: str) -> bool:
    import pyoxigraph as ox

    try:
        ox.NamedNode(text)
    except ValueError:
        return False
    return True


def _expand_curie(value: str) -> URIRef | None:
    """An IRI given as ``<…>``, as an absolute IRI or as a CURIE of a project prefix; None when
    the value is none of these (it may be a label). An IRI must be absolute and well-formed."""
    if value.startswith("<") and value.endswith(">"):
        iri = value[1:-1]
    elif re.match(r"^[a-z][a-z0-9+.-]*://\S+$", value, re.I):
        iri = value
    else:
        m = re.match(r"^([A-Za-z][\w-]*):([^\s]+)$", value)
        if not (m and m.group(1) in PREFIXES):
            return None
        iri = PREFIXES[m.group(1)] + m.group(2)
    if not _valid_iri(iri):
        raise InputError(f"{_show(value)} is not a well-formed absolute IRI")
    return URIRef(iri)


def resolve_label(graph: Graph, kind: str, value: str) -> URIRef:
    """The one node of the kind's class whose label or alternative label is ``value``
    (case-insensitive). Raises :class:`InputError` when none or several match."""
    cls = _KIND_CLASS[kind]
    wanted = value.strip().casefold()
    found: set[URIRef] = set()
    for node in graph.subjects(RDF.type, cls):
        if not isinstance(node, URIRef):
            continue
        for prop in (RDFS.label, SKOS.altLabel, SKOS.prefLabel):
            if any(str(lbl).casefold() == wanted for lbl in graph.objects(node, prop)):
                found.add(node)
                break
    if not found:
        raise InputError(f"no {kind} is labelled {_show(value)}")
    if len(found) > 1:
        names = ", ".join(sorted(str(n) for n in found))
        raise InputError(f"{kind} label {_show(value)} is ambiguous: it names {names}")
    return next(iter(found))


def bind_params(query: CannedQuery, graph: Graph, raw: dict[str, str]) -> dict[str, Node]:
    """Turn ``--param KEY=VALUE`` strings into typed bindings for the query's variables.

    A value only ever becomes one RDF term (a node of the graph, an IRI or a literal) that the
    engine binds to the variable; it is never put into the query text. A value that cannot be
    such a term is an :class:`InputError` on one line."""
    declared = {p.name: p for p in query.params}
    bindings: dict[str, Node] = {}
    for key, value in raw.items():
        if key not in declared:
            allowed = ", ".join(declared) or "none"
            raise InputError(f"query {query.name} has no parameter {key!r} (parameters: {allowed})")
        try:
            value.encode("utf-8")
        except UnicodeError:
            raise InputError(f"parameter {key}: {_show(value)} is not valid UTF-8 text") from None
        bindings[key] = _bind_one(declared[key], graph, value)
    missing = [p.name for p in query.params if not p.optional and p.name not in bindings]
    if missing:
        raise InputError(f"query {query.name} needs parameter(s): {', '.join(missing)}")
    return bindings


def _bind_one(param: Param, graph: Graph, value: str) -> Node:
    """One parameter value as the RDF term its kind calls for."""
    key = param.name
    try:
        if param.kind in _KIND_CLASS:
            iri = _expand_curie(value)
            if iri is None:
                return resolve_label(graph, param.kind, value)
            if (iri, RDF.type, _KIND_CLASS[param.kind]) not in graph:
                raise InputError(f"{_show(value)} is not a known {param.kind}")
            return iri
        if param.kind == "iri":
            iri = _expand_curie(value)
            if iri is None:
                raise InputError(f"{_show(value)} is not an IRI or a CURIE of a known prefix")
            return iri
    except InputError as exc:
        raise InputError(f"parameter {key}: {exc}") from None
    if param.kind == "integer":
        if not re.fullmatch(r"[+-]?[0-9]{1,18}", value.strip()):
            raise InputError(
                f"parameter {key}: {_show(value)} is not an integer (at most 18 digits)"
            )
        return Literal(int(value.strip()))
    if param.kind == "date":
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value.strip()):
            raise InputError(f"parameter {key}: {_show(value)} is not a date (YYYY-MM-DD)")
        from datetime import date

        try:
            return Literal(date.fromisoformat(value.strip()))
        except ValueError:
            raise InputError(f"parameter {key}: {_show(value)} is not a valid date") from None
    return Literal(value)


def parse_param_args(values: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in values:
        if "=" not in item:
            raise InputError(f"--param {item!r}: expected KEY=VALUE")
        key, value = item.split("=", 1)
        key = key.strip().lstrip("?")
        if not re.fullmatch(r"\w+", key):
            raise InputError(f"--param {item!r}: the key must be a variable name")
        out[key] = value
    return out


def run(
    engine: Engine, query: CannedQuery, bindings: dict[str, Node], fmt: str = "table"
) -> Answer:
    """Run a canned query on the engine (which vets it first); parameters go in as bindings."""
    results_format = fmt if fmt in ("json", "csv", "tsv", "xml") else None
    return engine.query(query.text, bindings, results_format=results_format, source=str(query.path))


def run_rdflib(graph: Graph, query: CannedQuery, bindings: dict[str, Node]):  # type: ignore[no-untyped-def]
    """The same query on rdflib's own engine, the reference implementation.

    The query is vetted first, against the graphs ``graph`` holds, and rdflib is told never to
    load a graph a ``FROM`` clause names (it would fetch it from the web or read it from a
    file)."""
    import rdflib.plugins.sparql
    from rdflib import Dataset
    from rdflib.plugins.sparql import prepareQuery

    rdflib.plugins.sparql.SPARQL_LOAD_GRAPHS = False
    known: Collection[str] = dataset_graph_names(graph) if isinstance(graph, Dataset) else ()
    vet_query(query.text, known, path=str(query.path))
    return graph.query(prepareQuery(query.text), initBindings=bindings)


def _cell(node: Node | None) -> str:
    if node is None:
        return ""
    return str(node)


def short_name(node: Node | None) -> str:
    """A cell as people read it: an IRI as a prefixed name where a project prefix fits (and what
    follows is a plain local name), a literal as its lexical form, nothing for unbound."""
    if node is None:
        return ""
    text = str(node)
    if isinstance(node, URIRef):
        for prefix, ns in PREFIXES.items():
            rest = text[len(ns) :]
            if (
                text.startswith(ns)
                and prefix not in ("rdf", "xsd")
                and rest
                and all(c.isalnum() or c in "-_." for c in rest)
            ):
                return f"{prefix}:{rest}"
    return text


def format_result(answer: Answer, fmt: str, *, max_width: int = 60) -> str:
    if answer.kind == "CONSTRUCT":
        g = answer.graph
        assert g is not None
        for prefix, ns in PREFIXES.items():
            g.bind(prefix, ns, override=True)
        return g.serialize(format="turtle")
    if answer.raw is not None:
        return answer.raw.decode("utf-8").rstrip("\n") + "\n"
    if answer.kind == "ASK":
        return ("true" if answer.boolean else "false") + "\n"
    if fmt == "markdown":
        return _markdown(answer)
    if fmt != "table":
        raise InputError(f"unknown format {fmt!r}; choose table, markdown, csv, tsv or json")
    variables = answer.variables
    cells = [[short_name(v) for v in row] for row in answer.rows]

    def clip(text: str) -> str:
        text = text.replace("\n", " ")
        return text if len(text) <= max_width else text[: max_width - 1] + "…"

    cells = [[clip(c) for c in r] for r in cells]
    widths = [len(v) for v in variables]
    for r in cells:
        widths = [max(w, len(c)) for w, c in zip(widths, r, strict=True)]
    line = "  ".join(v.ljust(w) for v, w in zip(variables, widths, strict=True)).rstrip()
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    n = len(answer.rows)
    out.append(f"({n} row{'s' if n != 1 else ''})")
    return "\n".join(out) + "\n"


def _markdown(answer: Answer) -> str:
    """A GitHub-flavoured Markdown table, cells unclipped, for pasting into notes and reports."""

    def esc(node: Node | None) -> str:
        return short_name(node).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")

    out = ["| " + " | ".join(answer.variables) + " |"]
    out.append("|" + "---|" * len(answer.variables))
    out += ["| " + " | ".join(esc(c) for c in row) + " |" for row in answer.rows]
    return "\n".join(out) + "\n"


def select_columns(answer: Answer, columns: list[str]) -> Answer:
    """The answer with only ``columns``, in that order; an unknown column is an input error."""
    if answer.kind != "SELECT":
        raise InputError("--columns needs a SELECT query")
    unknown = [c for c in columns if c not in answer.variables]
    if unknown:
        raise InputError(
            f"unknown column(s) {', '.join(unknown)}; the query has {' '.join(answer.variables)}"
        )
    idx = [answer.variables.index(c) for c in columns]
    rows = [[row[i] for i in idx] for row in answer.rows]
    return Answer("SELECT", variables=list(columns), rows=rows)
