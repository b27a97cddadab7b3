"""A client for an external SPARQL 1.1 store: the Graph Store Protocol (push) and the SPARQL
Protocol (queries), over the standard library's ``urllib``.

Nothing here runs unless a command is given a URL (``kg push``, ``kg query --endpoint``), and
requests go to that URL only: environment proxies are not used, redirects are not followed (a
redirect is reported, with where it leads), and only ``http:`` and ``https:`` URLs are accepted.
Every request has a timeout. Any failure (nothing listening, a timeout, an HTTP status other than
2xx, an answer that is not what was asked for) is a :class:`RemoteError`: one line naming the URL
and the status, exit code 2.

Blank nodes travel as skolem IRIs (RDF 1.1 Concepts, section 3.5) under :data:`GENID`, the
prefix the build cache uses too: the graphs are sent one request per graph, and a blank node
that several graphs speak of (the inferences are about the sources' nodes) must stay one node in
the store. Answers read back turn them into blank nodes again, with the labels of the local
build, so a remote answer equals the local one.

Parameters reach a remote query as a ``VALUES`` block, the first element of the query's
top-level ``WHERE`` group (:func:`bind_values`): each value is one RDF term, written by
Oxigraph's N-Triples serialiser and checked by parsing it back; the query text is parsed before
and after, and the block must be where it was meant to be. Joined first, such a block binds the
variables for the whole group as a substitution does (the local engine's way), and every canned
query gives the same answers with it; unlike a trailing ``VALUES`` clause, which SPARQL joins
after grouping, it also restricts variables that are not grouped on.
"""

from __future__ import annotations

import contextlib
import json
import socket
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF, RDFS, SKOS
from rdflib.term import Node

from kg.engine import Answer, from_ox, to_ox
from kg.errors import InputError, KGError

#: Skolem IRIs of blank nodes: this prefix and the blank node's label (as in the build cache).
GENID = "https://w3id.org/dip/.well-known/genid/"
#: Seconds a request may wait for the store, by default.
DEFAULT_TIMEOUT = 60.0
#: The largest answer read from a store.
MAX_ANSWER_BYTES = 256 * 1024 * 1024

_RESULTS_JSON = "application/sparql-results+json"
_RDF_ACCEPT = "application/n-triples, text/turtle;q=0.9, application/rdf+xml;q=0.5"
_RDF_FORMATS = {
    "application/n-triples": ox.RdfFormat.N_TRIPLES,
    "text/plain": ox.RdfFormat.N_TRIPLES,  # N-Triples as SPARQL 1.0 stores label it
    "text/turtle": ox.RdfFormat.TURTLE,
    "application/x-turtle": ox.RdfFormat.TURTLE,
    "application/rdf+xml": ox.RdfFormat.RDF_XML,
}


class RemoteError(KGError):
    """A store could not be reached or refused a request (exit code 2): one line naming the URL
    and what happened."""

    def __init__(self, url: str, problem: str) -> None:
        self.url = url
        super().__init__(f"{url}: {problem}")


# ---------------------------------------------------------------------------
# URLs
# ---------------------------------------------------------------------------


def check_url(url: str, option: str) -> str:
    """``url`` when it is an absolute ``http:`` or ``https:`` URL with a host and no user name
    or password; else a :class:`~kg.errors.InputError` naming ``option``."""
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port  # a malformed port raises here
    except ValueError as exc:
        raise InputError(f"{option} {url!r}: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"{option} {url!r}: give an absolute http:// or https:// URL")
    if parts.username is not None or parts.password is not None:
        raise InputError(f"{option} {url!r}: user names and passwords in URLs are not supported")
    if parts.fragment:
        raise InputError(f"{option} {url!r}: a URL with a #fragment names no endpoint")
    del port
    return url


def derive_graph_store(endpoint: str) -> str | None:
    """The Graph Store Protocol URL of the stores whose layout tells it from the query endpoint,
    or None:

    * Oxigraph: ``…/query`` → ``…/store``;
    * Fuseki: ``…/DATASET/query`` or ``…/DATASET/sparql`` → ``…/DATASET/data``;
    * GraphDB and RDF4J: ``…/repositories/REPO`` → ``…/repositories/REPO/rdf-graphs/service``.
    """
    parts = urllib.parse.urlsplit(endpoint)
    segments = parts.path.rstrip("/").split("/")[1:]
    if segments == ["query"]:
        path = "/store"
    elif len(segments) >= 2 and segments[-1] in ("query", "sparql") and segments[-2]:
        path = "/" + "/".join([*segments[:-1], "data"])
    elif len(segments) >= 2 and segments[-2] == "repositories" and segments[-1]:
        path = "/" + "/".join([*segments, "rdf-graphs", "service"])
    else:
        return None
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def graph_url(store: str, graph: str) -> str:
    """The Graph Store Protocol URL of one named graph (indirect identification, ``?graph=``)."""
    joiner = "&" if urllib.parse.urlsplit(store).query else "?"
    return store + joiner + urllib.parse.urlencode({"graph": graph})


# ---------------------------------------------------------------------------
# HTTP
# ---------------------------------------------------------------------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Redirects are reported, not followed: a request goes to the URL given, and nowhere else."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        return None


_OPENER = urllib.request.OpenerDirector()
for _handler in (
    urllib.request.ProxyHandler({}),  # no proxies from the environment
    urllib.request.UnknownHandler(),
    urllib.request.HTTPHandler(),
    urllib.request.HTTPSHandler(),
    urllib.request.HTTPDefaultErrorHandler(),
    _NoRedirect(),
    urllib.request.HTTPErrorProcessor(),
):
    _OPENER.add_handler(_handler)


@dataclass
class Response:
    status: int
    content_type: str
    body: bytes


def _clip(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _read(handle: Any, url: str) -> bytes:
    body = handle.read(MAX_ANSWER_BYTES + 1)
    if len(body) > MAX_ANSWER_BYTES:
        raise RemoteError(url, f"the answer is larger than {MAX_ANSWER_BYTES // 2**20} MiB")
    return body


def request(
    method: str,
    url: str,
    *,
    data: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> Response:
    """One HTTP request; a 2xx answer, or a :class:`RemoteError` naming ``url`` and the status
    (or why there was none)."""
    req = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
    seconds = f"{timeout:g} s"
    try:
        with _OPENER.open(req, timeout=timeout) as handle:
            body = _read(handle, url)
            status = handle.status
            content_type = handle.headers.get("Content-Type", "")
    except urllib.error.HTTPError as exc:
        detail = ""
        with contextlib.suppress(OSError, ValueError):
            detail = exc.read(2000).decode("utf-8", "replace")
        problem = f"HTTP {exc.code} {exc.reason}".rstrip()
        if 300 <= exc.code < 400:
            target = exc.headers.get("Location") if exc.headers else None
            where = f" to {target}" if target else ""
            problem += f" (redirects{where}; give that URL instead: redirects are not followed)"
        elif detail.strip():
            problem += f": {_clip(detail)}"
        raise RemoteError(url, problem) from None
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, TimeoutError):
            raise RemoteError(url, f"no answer within {seconds} (timeout)") from None
        if isinstance(reason, socket.gaierror):
            raise RemoteError(url, f"unknown host ({reason.strerror or reason})") from None
        if isinstance(reason, OSError):
            raise RemoteError(url, f"cannot connect ({reason.strerror or reason})") from None
        raise RemoteError(url, f"cannot connect ({reason})") from None
    except TimeoutError:
        raise RemoteError(url, f"no answer within {seconds} (timeout)") from None
    except (OSError, ValueError) as exc:  # a connection dropped mid-answer, a bad status line
        problem = f"the connection failed: {_clip(str(exc) or type(exc).__name__)}"
        raise RemoteError(url, problem) from None
    return Response(status, content_type, body)


def _media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


# ---------------------------------------------------------------------------
# Skolem IRIs
# ---------------------------------------------------------------------------


def skolem(node: Node) -> Node:
    """A blank node as its skolem IRI; any other term as it is."""
    return URIRef(GENID + str(node)) if isinstance(node, BNode) else node


def _unskolem_ox(term: Any) -> Any:
    if isinstance(term, ox.NamedNode) and term.value.startswith(GENID):
        label = term.value[len(GENID) :]
        try:
            return ox.BlankNode(label)
        except ValueError:
            return term
    return term


def to_ox_triple(triple: tuple[Node, Node, Node]) -> ox.Triple:
    s, p, o = (to_ox(skolem(t)) for t in triple)
    return ox.Triple(s, p, o)


# ---------------------------------------------------------------------------
# Binding parameters: a VALUES block at the top of the WHERE group
# ---------------------------------------------------------------------------


def term_text(node: Node) -> str:
    """One RDF term in N-Triples syntax, written by Oxigraph (quotes, backslashes, newlines and
    every other special character escaped); blank nodes as their skolem IRIs."""
    return str(to_ox(skolem(node)))


def _values_block(bindings: Mapping[str, Node]) -> str:
    names = " ".join(f"?{name}" for name in bindings)
    terms = " ".join(term_text(node) for node in bindings.values())
    return f"VALUES ({names}) {{ ({terms}) }}"


def _check_block(block: str, bindings: Mapping[str, Node]) -> None:
    """The block, evaluated alone, binds exactly the intended terms."""
    try:
        result = ox.Store().query(f"SELECT * WHERE {{ {block} }}")
        rows = [{v.value: sol[v] for v in result.variables} for sol in result]
    except (SyntaxError, ValueError) as exc:
        raise InputError(f"cannot bind the parameters: {_clip(str(exc))}") from None
    wanted = {name: to_ox(skolem(node)) for name, node in bindings.items()}
    if rows != [wanted]:
        raise InputError("cannot bind the parameters: a value did not survive its encoding")


def _top_level_braces(text: str) -> list[int]:
    """Offsets of the ``{`` that open a group at nesting depth 0 (outside brackets and
    parentheses), with comments, strings and IRIs skipped."""
    import pyparsing as pp
    from rdflib.plugins.sparql import parser as sp

    tokens = (
        sp.String
        | sp.IRIREF
        | pp.Regex(r"#[^\n]*")
        | pp.Regex(r"[^\s\"'<#{}()\[\]]+")
        | pp.Regex(r"[{}()\[\]<]")
    )
    found = []
    depth = 0
    for _toks, start, end in tokens.scan_string(text):
        token = text[start:end]
        if token in ("{", "(", "["):
            if token == "{" and depth == 0:
                found.append(start)
            depth += 1
        elif token in ("}", ")", "]"):
            depth = max(depth - 1, 0)
    return found


def _where_parts(text: str) -> list[Any] | None:
    """The elements of the query's top-level WHERE group (None when it has no such group)."""
    from pyparsing import ParseException
    from rdflib.plugins.sparql.parser import parseQuery
    from rdflib.plugins.sparql.parserutils import CompValue

    try:
        tree = parseQuery(text)
    except ParseException:
        return None
    where = dict.get(tree[1], "where")
    if not isinstance(where, CompValue) or where.name != "GroupGraphPatternSub":
        return None
    return list(dict.get(where, "part") or [])


def bind_values(text: str, bindings: Mapping[str, Node]) -> str:
    """``text`` with ``bindings`` given as a ``VALUES`` block, the first element of its
    top-level ``WHERE`` group. The rewritten text is parsed: the block must be that group's first
    element, binding exactly these variables, with every other element as it was. A query
    where that cannot be done (no WHERE group, a sub-select as the whole WHERE clause) is an
    :class:`~kg.errors.InputError`."""
    if not bindings:
        return text
    block = _values_block(bindings)
    _check_block(block, bindings)
    before = _where_parts(text)
    if before is not None:
        for brace in _top_level_braces(text):
            candidate = f"{text[: brace + 1]} {block}\n{text[brace + 1 :]}"
            after = _where_parts(candidate)
            if after is None or len(after) != len(before) + 1:
                continue
            first = after[0]
            if getattr(first, "name", None) != "InlineData":
                continue
            if [str(v) for v in dict.get(first, "var") or []] != list(bindings):
                continue
            return candidate
    raise InputError(
        "cannot bind parameters for a remote store: the query needs a WHERE { … } group "
        "(not a sub-select alone) to hold them"
    )


# ---------------------------------------------------------------------------
# The SPARQL Protocol
# ---------------------------------------------------------------------------


def _query_form(text: str) -> str:
    from rdflib.plugins.sparql.parser import parseQuery

    name = parseQuery(text)[1].name  # SelectQuery, ConstructQuery, AskQuery, DescribeQuery
    return name[: -len("Query")].upper()


def _normalise_results(data: Any, url: str) -> bytes:
    """SPARQL results JSON as Oxigraph reads it: SPARQL 1.0 ``typed-literal`` cells made
    ``literal``, skolem IRIs made blank nodes again."""
    if not isinstance(data, dict) or not isinstance(data.get("head"), dict):
        raise RemoteError(url, "the answer is not SPARQL results JSON")
    if "boolean" in data:
        return json.dumps({"head": {}, "boolean": bool(data["boolean"])}).encode("utf-8")
    try:
        variables = list(data["head"].get("vars", []))
        bindings = data["results"]["bindings"]
        rows = []
        for row in bindings:
            out = {}
            for name, cell in row.items():
                cell = dict(cell)
                if cell.get("type") == "typed-literal":
                    cell["type"] = "literal"
                if cell.get("type") == "uri" and str(cell.get("value", "")).startswith(GENID):
                    cell = {"type": "bnode", "value": cell["value"][len(GENID) :]}
                out[name] = cell
            rows.append(out)
    except (KeyError, TypeError, AttributeError):
        raise RemoteError(url, "the answer is not SPARQL results JSON") from None
    doc = {"head": {"vars": variables}, "results": {"bindings": rows}}
    return json.dumps(doc).encode("utf-8")


_RESULTS_FORMATS = {
    "json": ox.QueryResultsFormat.JSON,
    "csv": ox.QueryResultsFormat.CSV,
    "tsv": ox.QueryResultsFormat.TSV,
}


class Endpoint:
    """A SPARQL 1.1 Protocol query endpoint. Queries are sent by POST, URL-encoded."""

    def __init__(self, url: str, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.url = url
        self.timeout = timeout

    def _post(self, text: str, accept: str) -> Response:
        return request(
            "POST",
            self.url,
            data=urllib.parse.urlencode({"query": text}).encode("utf-8"),
            headers={
                "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
                "Accept": accept,
            },
            timeout=self.timeout,
        )

    def _results(self, text: str) -> Any:
        """The answer to a SELECT or ASK query, as Oxigraph query results."""
        response = self._post(text, f"{_RESULTS_JSON}, application/json;q=0.9")
        kind = _media_type(response.content_type)
        if kind not in (_RESULTS_JSON, "application/json"):
            raise RemoteError(
                self.url,
                f"HTTP {response.status}: the answer is {kind or 'untyped'}, not SPARQL results "
                "JSON (is this the SPARQL query endpoint?)",
            )
        try:
            data = json.loads(response.body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise RemoteError(self.url, "the answer is not SPARQL results JSON") from None
        normal = _normalise_results(data, self.url)
        try:
            return ox.parse_query_results(normal, format=ox.QueryResultsFormat.JSON)
        except (SyntaxError, ValueError) as exc:
            raise RemoteError(self.url, f"unreadable SPARQL results: {_clip(str(exc))}") from None

    def select(self, text: str, bindings: Mapping[str, Node] | None = None) -> list[dict]:
        """The rows of a SELECT query, each a dict of rdflib terms (unbound cells left out)."""
        result = self._results(bind_values(text, bindings or {}))
        names = [v.value for v in result.variables]
        return [
            {n: from_ox(sol[n]) for n in names if sol[n] is not None}
            for sol in result  # type: ignore[union-attr]
        ]

    def ask(self, text: str, bindings: Mapping[str, Node] | None = None) -> bool:
        result = self._results(bind_values(text, bindings or {}))
        if not isinstance(result, ox.QueryBoolean):
            raise RemoteError(self.url, "an ASK query got no boolean answer")
        return bool(result)

    def answer(self, text: str, results_format: str | None = None) -> Answer:
        """The answer to a query, as the local engine gives it: with ``results_format`` (json,
        csv, tsv) a SELECT or ASK answer carries the standard serialisation, written by Oxigraph
        as locally."""
        form = _query_form(text)
        if form in ("CONSTRUCT", "DESCRIBE"):
            return Answer("CONSTRUCT", graph=self._graph(text))
        result = self._results(text)
        raw = None
        if results_format in _RESULTS_FORMATS:
            fmt = _RESULTS_FORMATS[results_format]
            raw = result.serialize(format=fmt)
            if results_format != "json":
                return Answer("SELECT", raw=raw)
            result = ox.parse_query_results(raw, format=fmt)
        if isinstance(result, ox.QueryBoolean):
            return Answer("ASK", boolean=bool(result), raw=raw)
        variables = [v.value for v in result.variables]
        rows = [[from_ox(sol[v]) for v in variables] for sol in result]
        return Answer("SELECT", variables=variables, rows=rows, raw=raw)

    def _graph(self, text: str) -> Graph:
        response = self._post(text, _RDF_ACCEPT)
        kind = _media_type(response.content_type)
        fmt = _RDF_FORMATS.get(kind)
        if fmt is None:
            raise RemoteError(
                self.url, f"HTTP {response.status}: the answer is {kind or 'untyped'}, not RDF"
            )
        g = Graph()
        try:
            for quad in ox.parse(response.body, format=fmt):
                s, p, o = (
                    from_ox(_unskolem_ox(t)) for t in (quad.subject, quad.predicate, quad.object)
                )
                g.add((s, p, o))  # type: ignore[arg-type]
        except (SyntaxError, ValueError) as exc:
            raise RemoteError(self.url, f"unreadable {kind} answer: {_clip(str(exc))}") from None
        return g

    def default_graph_state(self) -> str:
        """``"data"`` when the default graph holds triples, ``"named-only"`` when it is empty
        but named graphs hold some, ``"empty"`` when the store holds nothing."""
        if self.ask("ASK { ?s ?p ?o }"):
            return "data"
        if self.ask("ASK { GRAPH ?g { ?s ?p ?o } }"):
            return "named-only"
        return "empty"


UNION_ADVICE = (
    "the canned queries need the union of the named graphs as the default graph "
    "(Oxigraph: oxigraph serve --union-default-graph; Fuseki: tdb2:unionDefaultGraph true; "
    "GraphDB and Virtuoso do so by default)"
)


def default_graph_warning(endpoint: Endpoint) -> str | None:
    """A warning when the store's default graph is empty, or None."""
    state = endpoint.default_graph_state()
    if state == "named-only":
        return f"the default graph at {endpoint.url} is empty though named graphs hold data: " + (
            UNION_ADVICE
        )
    if state == "empty":
        return f"the store at {endpoint.url} holds no data (kg push loads it)"
    return None


# ---------------------------------------------------------------------------
# Labels resolved on the store
# ---------------------------------------------------------------------------

_LABEL_PROPS = (RDFS.label, SKOS.altLabel, SKOS.prefLabel)


class RemoteLabels:
    """The look-ups :func:`kg.query.bind_params` makes of a graph (the nodes of a class, their
    labels, whether a node has a type), answered by the store, so that a parameter names a node
    exactly as it would locally: by IRI, CURIE or any of its labels, case-insensitively.

    A value given by the user reaches the store only as a bound term, never in query text."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self._labels: dict[tuple[Node, Node], list[Node]] = {}

    def subjects(self, predicate: Node, obj: Node) -> Iterator[Node]:
        if predicate != RDF.type:
            raise NotImplementedError(f"subjects of {predicate}")
        rows = self.endpoint.select(
            "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
            "PREFIX skos: <http://www.w3.org/2004/02/skos/core#>\n"
            "SELECT DISTINCT ?node ?p ?label WHERE {\n"
            "  ?node a ?class . FILTER (isIRI(?node))\n"
            "  OPTIONAL { VALUES ?p { rdfs:label skos:altLabel skos:prefLabel } ?node ?p ?label }\n"
            "}",
            {"class": obj},
        )
        nodes: dict[Node, None] = {}
        for row in rows:
            node = row["node"]
            if not isinstance(node, URIRef):
                continue  # a blank node (sent as a skolem IRI), which labels never name
            nodes[node] = None
            for prop in _LABEL_PROPS:
                self._labels.setdefault((node, prop), [])
            if "p" in row and "label" in row:
                self._labels[(node, row["p"])].append(row["label"])
        yield from nodes

    def objects(self, subject: Node, predicate: Node) -> Iterator[Node]:
        known = self._labels.get((subject, predicate))
        if known is not None:
            yield from known
            return
        rows = self.endpoint.select("SELECT ?o WHERE { ?s ?p ?o }", {"s": subject, "p": predicate})
        yield from (row["o"] for row in rows)

    def __contains__(self, triple: tuple[Node, Node, Node]) -> bool:
        s, p, o = triple
        return self.endpoint.ask("ASK { ?s ?p ?o }", {"s": s, "p": p, "o": o})


def literal_count(node: Node | None) -> int:
    """A count from an answer (``COUNT(*)``), 0 when unbound."""
    if isinstance(node, Literal):
        try:
            return int(node.toPython())
        except (TypeError, ValueError):
            return 0
    return 0


def run_canned(
    endpoint: Endpoint, canned: Any, raw: Mapping[str, str], fmt: str = "table"
) -> Answer:
    """Run a canned query on the store: its parameters resolved there (labels too) and bound by
    :func:`bind_values`; the answer as the local engine gives it for ``fmt``."""
    from kg.query import bind_params

    labels: Any = RemoteLabels(endpoint)
    bindings = bind_params(canned, labels, dict(raw))
    text = bind_values(canned.text, bindings)
    return endpoint.answer(text, fmt if fmt in _RESULTS_FORMATS else None)
