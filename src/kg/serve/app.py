"""The web application: the SPARQL 1.1 Protocol endpoint at ``/sparql`` and its service
description; the HTML pages come from the blueprint ``bp`` of :mod:`kg.serve.browser` when
that module is present.

``/sparql`` answers queries by GET (``?query=``) and POST (a form with ``query=``, or an
``application/sparql-query`` body); ``default-graph-uri`` and ``named-graph-uri`` set the
dataset as the protocol says (graphs the dataset holds only). GET without a query gives the
SPARQL 1.1 Service Description in Turtle. It is read-only: an update (``update=``, an
``application/sparql-update`` body, or an update sent as a query) is refused with status 400.
"""

from __future__ import annotations

import importlib.util
from typing import Any

from flask import Flask, Response, current_app, request
from werkzeug.exceptions import HTTPException

from kg.serve.state import MAX_QUERY_BYTES, QueryResult, ServeState

_TEXT = "text/plain; charset=utf-8"
_READ_ONLY = (
    "this service is read-only: SPARQL Update is not accepted (send SELECT, ASK, CONSTRUCT "
    "or DESCRIBE as query=)"
)


def _state() -> ServeState:
    return current_app.extensions["kg"]


def _plain(status: int, message: str, **headers: str) -> Response:
    return Response(message + "\n", status=status, content_type=_TEXT, headers=headers)


def _as_response(result: QueryResult, max_rows: int) -> Response:
    resp = Response(result.body, status=result.status, content_type=result.media_type)
    resp.headers["Vary"] = "Accept"
    if result.truncated:
        resp.headers["X-KG-Truncated"] = "true"
        resp.headers["X-KG-Max-Rows"] = str(max_rows)
    return resp


def service_description(state: ServeState, endpoint: str) -> bytes:
    """The SPARQL 1.1 Service Description of the endpoint at ``endpoint``, in Turtle."""
    from rdflib import BNode, Graph, Literal, Namespace, URIRef
    from rdflib.namespace import DCTERMS, RDF, XSD

    sd = Namespace("http://www.w3.org/ns/sparql-service-description#")
    fmt = Namespace("http://www.w3.org/ns/formats/")
    void = Namespace("http://rdfs.org/ns/void#")
    g = Graph()
    g.bind("sd", sd)
    g.bind("formats", fmt)
    g.bind("void", void)
    g.bind("dcterms", DCTERMS)
    service = URIRef(endpoint)
    g.add((service, RDF.type, sd.Service))
    g.add((service, sd.endpoint, service))
    g.add((service, sd.supportedLanguage, sd.SPARQL11Query))
    g.add((service, sd.feature, sd.UnionDefaultGraph))
    g.add(
        (
            service,
            DCTERMS.description,
            Literal(
                "DIP knowledge graph of actors and claims: a read-only SPARQL 1.1 endpoint. "
                f"Each query has a deadline of {state.deadline:g} s"
                + (f" and at most {state.max_rows} rows" if state.max_rows else "")
                + "; a cut answer carries the header X-KG-Truncated: true."
            ),
        )
    )
    for name in (
        "SPARQL_Results_JSON",
        "SPARQL_Results_XML",
        "SPARQL_Results_CSV",
        "SPARQL_Results_TSV",
        "Turtle",
        "N-Triples",
        "JSON-LD",
    ):
        g.add((service, sd.resultFormat, fmt[name]))
    dataset = BNode()
    default = BNode()
    g.add((service, sd.defaultDataset, dataset))
    g.add((dataset, RDF.type, sd.Dataset))
    g.add((dataset, sd.defaultGraph, default))
    g.add((default, RDF.type, sd.Graph))
    g.add(
        (
            default,
            DCTERMS.description,
            Literal("the union of every named graph (sources, ontology, inferences)"),
        )
    )
    for name, count in sorted(_graph_sizes(state).items()):
        named, graph = BNode(), BNode()
        g.add((dataset, sd.namedGraph, named))
        g.add((named, RDF.type, sd.NamedGraph))
        g.add((named, sd.name, URIRef(name)))
        g.add((named, sd.graph, graph))
        g.add((graph, RDF.type, sd.Graph))
        g.add((graph, void.triples, Literal(count, datatype=XSD.integer)))
    return g.serialize(format="turtle").encode("utf-8")


def _graph_sizes(state: ServeState) -> dict[str, int]:
    import pyoxigraph as ox

    sizes: dict[str, int] = {}
    for name in state.graph_names:
        node = ox.NamedNode(name)
        sizes[name] = sum(1 for _ in state.engine.store.quads_for_pattern(None, None, None, node))
    return sizes


def _params() -> tuple[Any, str | None] | Response:
    """The request's parameters (a multidict) and query text, or an error response."""
    if request.method == "GET":
        params = request.args
        return params, params.get("query")
    ctype = request.mimetype
    if ctype == "application/x-www-form-urlencoded":
        params = request.form
        return params, params.get("query")
    if ctype == "application/sparql-query":
        try:
            text = request.get_data(cache=False).decode("utf-8")
        except UnicodeDecodeError:
            return _plain(400, "the query body is not UTF-8 text")
        return request.args, text
    if ctype == "application/sparql-update":
        return _plain(400, _READ_ONLY)
    return _plain(
        415,
        f"POST a form (application/x-www-form-urlencoded) with query=, or the query itself "
        f"as application/sparql-query, not {ctype or 'a body without a Content-Type'}",
    )


def sparql() -> Response:
    state = _state()
    got = _params()
    if isinstance(got, Response):
        return got
    params, text = got
    if "update" in params:
        return _plain(400, _READ_ONLY)
    if (
        request.method == "POST"
        and request.mimetype != "application/sparql-query"
        and ("query" in request.args)
    ):
        return _plain(400, "send query= in the form body or in the URL, not in both")
    if len(params.getlist("query")) > 1:
        return _plain(400, "more than one query= parameter; send exactly one query")
    if text is None:
        if request.method == "GET":
            body = service_description(state, request.base_url)
            return Response(body, content_type="text/turtle; charset=utf-8")
        return _plain(400, "no query: send query= (or an application/sparql-query body)")
    result = state.run_query(
        text,
        request.headers.get("Accept"),
        format=params.getlist("format"),
        default_graph_uris=params.getlist("default-graph-uri"),
        named_graph_uris=params.getlist("named-graph-uri"),
    )
    return _as_response(result, state.max_rows)


def _fallback_index() -> Response:
    return _plain(200, "DIP knowledge graph: the SPARQL endpoint is at /sparql")


def create_app(state: ServeState, *, cors: bool = False) -> Flask:
    """The application over ``state`` (kept at ``app.extensions["kg"]``). With ``cors``, every
    response allows any origin (the data is public and the service read-only)."""
    app = Flask("kg.serve", static_folder=None)  # the pages serve their own assets
    app.extensions["kg"] = state
    app.config["MAX_CONTENT_LENGTH"] = MAX_QUERY_BYTES + 64 * 1024
    app.config["MAX_FORM_MEMORY_SIZE"] = MAX_QUERY_BYTES + 64 * 1024
    app.add_url_rule("/sparql", "sparql", sparql, methods=["GET", "POST"])

    if importlib.util.find_spec("kg.serve.browser") is not None:
        from kg.serve.browser import bp

        app.register_blueprint(bp)
    if not any(rule.rule == "/" for rule in app.url_map.iter_rules()):
        app.add_url_rule("/", "index", _fallback_index)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Any:
        if request.path != "/sparql":
            return exc  # the pages render their own errors
        if exc.code == 413:
            return _plain(413, f"the request body is over {MAX_QUERY_BYTES} bytes")
        return _plain(exc.code or 500, exc.description or exc.name)

    if cors:

        @app.after_request
        def _cors(resp: Response) -> Response:
            resp.headers["Access-Control-Allow-Origin"] = "*"
            resp.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
            resp.headers["Access-Control-Allow-Headers"] = "Accept, Content-Type"
            resp.headers["Access-Control-Expose-Headers"] = "X-KG-Truncated, X-KG-Max-Rows"
            resp.headers["Access-Control-Max-Age"] = "600"
            return resp

    return app
