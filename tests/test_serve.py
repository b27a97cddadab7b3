"""``kg serve``: the SPARQL 1.1 Protocol endpoint, started for real (``python -m kg.cli serve``)
and queried over HTTP with SPARQLWrapper (and urllib where the status code itself is tested).

Two servers run for the whole module, started side by side: ``plain`` (defaults but a 2 s
deadline) and ``open`` (``--cors --max-rows 7 --workers 1``).
"""

from __future__ import annotations

import concurrent.futures
import csv
import io
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import Any
from xml.dom.minidom import Document

import pytest
from rdflib import Graph, Namespace, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import RDF
from SPARQLWrapper import (
    CSV,
    JSON,
    JSONLD,
    N3,
    POST,
    POSTDIRECTLY,
    TSV,
    TURTLE,
    URLENCODED,
    XML,
    SPARQLWrapper,
)
from SPARQLWrapper.SPARQLExceptions import QueryBadFormed

from tests.conftest import ROOT, kg, sigint_as_in_a_terminal

pytestmark = [
    # SPARQLWrapper's own remarks on the queries it is asked to send, and rdflib's
    pytest.mark.filterwarnings("ignore::RuntimeWarning:SPARQLWrapper"),
    pytest.mark.filterwarnings("ignore:update operations MUST be done by POST:UserWarning"),
    pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:Dataset.contexts is deprecated:DeprecationWarning"),
]

DEADLINE = 2.0
SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
GRAPH = "https://w3id.org/dip/graph/"
PREFIXES = """PREFIX dip: <https://w3id.org/dip/ontology#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX actor: <https://w3id.org/dip/id/actor/>
"""
SELECT_ACTORS = (
    PREFIXES
    + """SELECT ?actor ?label WHERE {
  ?actor a dip:State ; rdfs:label ?label .
} ORDER BY ?actor ?label"""
)
CONSTRUCT_LABELS = (
    PREFIXES
    + """CONSTRUCT { ?actor rdfs:label ?label ; a dip:State }
WHERE { ?actor a dip:State ; rdfs:label ?label }"""
)
DESCRIBE_RUSSIA = PREFIXES + "DESCRIBE actor:russia"
COUNT_ALL = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"
#: four copies of every triple joined with each other: about 10^17 rows to count
EXPLOSIVE = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"


@dataclass
class Server:
    proc: subprocess.Popen[str]
    url: str
    port: int


def _start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "kg.cli", "--root", str(ROOT), "serve", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=sigint_as_in_a_terminal,
    )


def _ready(proc: subprocess.Popen[str]) -> Server:
    assert proc.stdout is not None
    line = proc.stdout.readline()  # the first line names the URL, once queries are answered
    m = re.search(r"(http://127\.0\.0\.1:(\d+)/sparql)", line)
    if not m:
        proc.kill()
        _out, err = proc.communicate(timeout=30)
        raise AssertionError(f"kg serve did not start: {line!r} {err}")
    return Server(proc, m.group(1), int(m.group(2)))


def _stop(server: Server) -> tuple[int, str]:
    server.proc.send_signal(signal.SIGINT)
    _out, err = server.proc.communicate(timeout=30)
    return server.proc.returncode, err


def _children(pid: int) -> set[int]:
    """The query workers of the server ``pid`` (its children started by multiprocessing)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid and b"spawn_main" in cmdline:
            found.add(int(entry.name))
    return found


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, Server]]:
    procs = {
        "plain": _start("--timeout", str(DEADLINE)),
        "open": _start("--cors", "--max-rows", "7", "--workers", "1"),
    }
    started: dict[str, Server] = {}
    workers: dict[str, set[int]] = {}
    stopped: dict[str, tuple[int, str]] = {}
    try:
        for name, proc in procs.items():
            started[name] = _ready(proc)
        workers = {name: _children(s.proc.pid) for name, s in started.items()}
        yield started
        for name, server in started.items():  # every server is stopped before any check
            stopped[name] = _stop(server)
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.communicate(timeout=30)
    time.sleep(0.2)
    for name, (code, err) in stopped.items():
        assert code == 130, err
        assert "Traceback" not in err, err
        assert "kg: stopped" in err
        alive = {pid for pid in workers[name] if Path(f"/proc/{pid}").exists()}
        assert not alive, f"{name}: workers left running: {alive}"


@pytest.fixture(scope="module")
def plain(servers: dict[str, Server]) -> Server:
    return servers["plain"]


@pytest.fixture(scope="module")
def open_server(servers: dict[str, Server]) -> Server:
    return servers["open"]


def sparql(server: Server, query: str, fmt: str = JSON, method: str = "GET", how: str = "") -> Any:
    sw = SPARQLWrapper(server.url)
    sw.setQuery(query)
    sw.setReturnFormat(fmt)
    if method == POST:
        sw.setMethod(POST)
        sw.setRequestMethod(how or URLENCODED)
    return sw.query()


def http(
    server: Server,
    params: dict[str, str] | list[tuple[str, str]] | None = None,
    *,
    accept: str | None = None,
    data: bytes | None = None,
    content_type: str | None = None,
    method: str | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Message, bytes]:
    url = server.url + ("?" + urllib.parse.urlencode(params) if params else "")
    req = urllib.request.Request(url, data=data, method=method)
    if accept:
        req.add_header("Accept", accept)
    if content_type:
        req.add_header("Content-Type", content_type)
    for key, value in (headers or {}).items():
        req.add_header(key, value)
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


def count_quads(server: Server) -> int:
    result = sparql(server, COUNT_ALL).convert()
    return int(result["results"]["bindings"][0]["n"]["value"])


# --- formats --------------------------------------------------------------------------------


def test_select_in_json_xml_csv_tsv_agree(plain: Server) -> None:
    doc = sparql(plain, SELECT_ACTORS, JSON).convert()
    assert doc["head"]["vars"] == ["actor", "label"]
    rows = [(b["actor"]["value"], b["label"]["value"]) for b in doc["results"]["bindings"]]
    assert len(rows) >= 10
    assert ("https://w3id.org/dip/id/actor/russia", "Russia") in rows

    xml = sparql(plain, SELECT_ACTORS, XML).convert()
    assert isinstance(xml, Document)
    xml_rows = []
    for result in xml.getElementsByTagName("result"):
        cells = {
            b.getAttribute("name"): b.firstChild.firstChild.data
            for b in result.getElementsByTagName("binding")
        }
        xml_rows.append((cells["actor"], cells["label"]))
    assert xml_rows == rows

    text = sparql(plain, SELECT_ACTORS, CSV).convert().decode("utf-8")
    table = list(csv.reader(io.StringIO(text)))
    assert table[0] == ["actor", "label"]
    assert [tuple(r) for r in table[1:]] == rows

    text = sparql(plain, SELECT_ACTORS, TSV).convert().decode("utf-8")
    lines = text.rstrip("\n").split("\n")
    assert lines[0] == "?actor\t?label"
    assert [tuple(line.split("\t")) for line in lines[1:]] == [
        (f"<{a}>", json.dumps(label, ensure_ascii=False)) for a, label in rows
    ]


def test_ask_in_json_and_xml(plain: Server) -> None:
    assert sparql(plain, PREFIXES + "ASK { actor:russia a dip:State }", JSON).convert() == {
        "head": {},
        "boolean": True,
    }
    xml = sparql(plain, PREFIXES + "ASK { actor:russia a dip:Person }", XML).convert()
    assert xml.getElementsByTagName("boolean")[0].firstChild.data == "false"
    res = sparql(plain, "ASK { ?s ?p ?o }", CSV)
    assert res.convert().decode().strip() == "true"


def _ntriples(server: Server, query: str) -> Graph:
    sw = SPARQLWrapper(server.url)
    sw.setQuery(query)
    sw.setReturnFormat(N3)
    sw.setOnlyConneg(True)
    sw.addCustomHttpHeader("Accept", "application/n-triples")
    res = sw.query()
    assert res.info()["content-type"].startswith("application/n-triples")
    return Graph().parse(data=res.convert(), format="nt")


@pytest.mark.parametrize(
    "query", [CONSTRUCT_LABELS, DESCRIBE_RUSSIA], ids=["construct", "describe"]
)
def test_graph_answers_in_turtle_ntriples_jsonld_agree(plain: Server, query: str) -> None:
    res = sparql(plain, query, TURTLE)
    assert res.info()["content-type"].startswith("text/turtle")
    turtle = Graph().parse(data=res.convert(), format="turtle")
    assert len(turtle) > 5
    nt = _ntriples(plain, query)
    res = sparql(plain, query, JSONLD)
    assert res.info()["content-type"].startswith("application/ld+json")
    jsonld = res.convert()  # SPARQLWrapper parses JSON-LD into an rdflib graph
    jsonld_graph = Graph()
    for triple in jsonld.triples((None, None, None)):
        jsonld_graph.add(triple)
    assert isomorphic(turtle, nt)
    assert isomorphic(turtle, jsonld_graph)
    if query is DESCRIBE_RUSSIA:
        russia = URIRef("https://w3id.org/dip/id/actor/russia")
        assert (russia, RDF.type, URIRef("https://w3id.org/dip/ontology#State")) in turtle


def test_jsonld_carries_the_project_context(plain: Server) -> None:
    status, _headers, body = http(plain, {"query": DESCRIBE_RUSSIA}, accept="application/ld+json")
    assert status == 200
    doc = json.loads(body)
    assert doc["@context"]["dip"] == "https://w3id.org/dip/ontology#"


def test_format_parameter_overrides_accept(plain: Server) -> None:
    status, headers, body = http(
        plain, {"query": SELECT_ACTORS, "format": "csv"}, accept="application/sparql-results+xml"
    )
    assert status == 200
    assert headers["Content-Type"].startswith("text/csv")
    assert body.decode().startswith("actor,label\r\n")


# --- the three ways of sending a query ------------------------------------------------------


def test_get_and_both_posts_give_the_same_answer(plain: Server) -> None:
    by_get = sparql(plain, SELECT_ACTORS).convert()
    by_form = sparql(plain, SELECT_ACTORS, JSON, POST, URLENCODED).convert()
    by_body = sparql(plain, SELECT_ACTORS, JSON, POST, POSTDIRECTLY).convert()
    assert by_get == by_form == by_body
    status, _headers, body = http(
        plain, data=SELECT_ACTORS.encode(), content_type="application/sparql-query"
    )
    assert status == 200 and json.loads(body) == by_get


def test_protocol_dataset_and_from_clauses(plain: Server) -> None:
    query = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    count = f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{GRAPH}000> {{ ?s ?p ?o }} }}"
    expected = json.loads(http(plain, {"query": count})[2])
    status, _h, body = http(plain, [("query", query), ("default-graph-uri", GRAPH + "000")])
    assert status == 200
    assert json.loads(body)["results"] == expected["results"]
    # FROM of a graph the dataset holds sets the default graph, as the protocol's parameter does
    status, _h, body = http(plain, {"query": query.replace("WHERE", f"FROM <{GRAPH}000> WHERE")})
    assert json.loads(body)["results"] == expected["results"]
    named = "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"
    status, _h, body = http(plain, [("query", named), ("named-graph-uri", GRAPH + "000")])
    rows = json.loads(body)["results"]["bindings"]
    assert [r["g"]["value"] for r in rows] == [GRAPH + "000"]
    assert rows[0]["n"] == expected["results"]["bindings"][0]["n"]
    status, _h, body = http(
        plain, [("query", query), ("default-graph-uri", "http://example.org/x")]
    )
    assert status == 400
    assert b"http://example.org/x" in body


# --- errors ---------------------------------------------------------------------------------


def test_malformed_query_is_400_with_a_message(plain: Server) -> None:
    with pytest.raises(QueryBadFormed, match="syntax"):
        sparql(plain, "SELEC ?x WHERE { ?x ?y ?z }")
    status, headers, body = http(plain, {"query": "SELECT ?x WHERE { ?x ?y "})
    assert status == 400
    assert headers["Content-Type"].startswith("text/plain")
    assert b"SPARQL syntax error" in body
    deep = "SELECT * WHERE " + "{" * 2000 + " ?s ?p ?o " + "}" * 2000
    status, _h, body = http(plain, {"query": deep})
    assert status == 400 and b"too deeply" in body


def test_unsupported_accept_is_406(plain: Server) -> None:
    status, _h, body = http(plain, {"query": SELECT_ACTORS}, accept="image/png")
    assert status == 406
    assert b"available" in body
    status, _h, body = http(plain, {"query": CONSTRUCT_LABELS}, accept="text/csv")
    assert status == 406
    assert b"text/turtle" in body


REFUSED = {
    "insert-data": (
        'INSERT DATA { <http://example.org/a> <http://example.org/b> "c" }',
        "INSERT DATA is a SPARQL update",
    ),
    "drop-all": ("DROP ALL", "DROP is a SPARQL update"),
    "load": ("LOAD <http://example.org/data.ttl>", "LOAD is a SPARQL update"),
    "service": (
        "SELECT * WHERE { SERVICE <http://example.org/sparql> { ?s ?p ?o } }",
        "SERVICE <http://example.org/sparql> is refused",
    ),
    "from": (
        "SELECT * FROM <http://example.org/x> WHERE { ?s ?p ?o }",
        "FROM <http://example.org/x> names a graph the dataset does not hold",
    ),
}


@pytest.mark.parametrize("name", list(REFUSED))
def test_refused_before_evaluation_and_nothing_changes(plain: Server, name: str) -> None:
    query, message = REFUSED[name]
    before = count_quads(plain)
    # as a query, by GET and by POST
    for kwargs in ({}, {"data": query.encode(), "content_type": "application/sparql-query"}):
        params = {} if kwargs else {"query": query}
        status, _h, body = http(plain, params, **kwargs)
        assert status == 400, body
        assert message in body.decode()
    # the way SPARQLWrapper sends it (updates as update=, which a read-only service refuses)
    with pytest.raises(QueryBadFormed):
        sparql(plain, query)
    status, _h, body = http(
        plain,
        data=urllib.parse.urlencode({"update": query}).encode(),
        content_type="application/x-www-form-urlencoded",
    )
    assert status == 400 and b"read-only" in body
    status, _h, body = http(plain, data=query.encode(), content_type="application/sparql-update")
    assert status == 400 and b"read-only" in body
    assert count_quads(plain) == before
    ask = "ASK { <http://example.org/a> ?p ?o }"
    assert sparql(plain, ask).convert()["boolean"] is False


def test_a_query_past_the_deadline_is_stopped_and_the_server_goes_on(plain: Server) -> None:
    workers = _children(plain.proc.pid)
    assert len(workers) == 2
    started = time.monotonic()
    status, _headers, body = http(plain, {"query": EXPLOSIVE})
    elapsed = time.monotonic() - started
    assert status == 503, body
    assert b"deadline" in body
    assert DEADLINE - 0.1 <= elapsed <= DEADLINE + 1.5, elapsed
    # the other worker answers at once
    started = time.monotonic()
    assert sparql(plain, "ASK { ?s ?p ?o }").convert()["boolean"] is True
    assert time.monotonic() - started < 1.0
    # the stopped worker was killed for real, and a new one took its place
    for _ in range(100):
        now = _children(plain.proc.pid)
        if len(now) == 2 and now != workers:
            break
        time.sleep(0.1)
    assert len(now) == 2 and len(now & workers) == 1, (workers, now)
    # two queries at once: both workers answer
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda _: sparql(plain, SELECT_ACTORS).convert(), range(4)))
    assert all(a == answers[0] for a in answers)


def test_the_row_cap_is_signalled(open_server: Server, plain: Server) -> None:
    query = "SELECT ?s ?p ?o WHERE { ?s ?p ?o }"
    status, headers, body = http(open_server, {"query": query})
    assert status == 200
    assert headers["X-KG-Truncated"] == "true"
    assert headers["X-KG-Max-Rows"] == "7"
    doc = json.loads(body)
    assert len(doc["results"]["bindings"]) == 7
    assert doc["head"]["link"] == ["urn:kg:truncated"]
    status, headers, body = http(open_server, {"query": query}, accept="text/csv")
    assert headers["X-KG-Truncated"] == "true"
    assert len(body.decode().splitlines()) == 8
    status, headers, body = http(
        open_server, {"query": query + " LIMIT 7"}, accept="application/sparql-results+xml"
    )
    assert "X-KG-Truncated" not in headers
    assert b"urn:kg:truncated" not in body
    status, headers, body = http(open_server, {"query": CONSTRUCT_LABELS}, accept="text/turtle")
    assert headers["X-KG-Truncated"] == "true"
    assert len(Graph().parse(data=body, format="turtle")) == 7
    # the default cap: 10000 rows
    res = sparql(plain, query)
    assert res.info()["x-kg-truncated"] == "true"
    assert len(res.convert()["results"]["bindings"]) == 10000


# --- safety defaults ------------------------------------------------------------------------


def _listening_addresses(port: int) -> set[str]:
    """The local addresses of the sockets listening on ``port`` (IPv4, from /proc/net/tcp)."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        address, hexport = fields[1].split(":")
        if int(hexport, 16) == port and fields[3] == "0A":  # LISTEN
            raw = bytes.fromhex(address)[::-1]
            found.add(".".join(str(b) for b in raw))
    return found


def test_binds_to_loopback_by_default(plain: Server) -> None:
    assert _listening_addresses(plain.port) == {"127.0.0.1"}


def test_a_public_host_is_warned_about_and_a_taken_port_refused(plain: Server) -> None:
    result = kg("serve", "--host", "0.0.0.0", "--port", str(plain.port))
    assert result.returncode == 2
    assert "warning: --host 0.0.0.0 makes the service reachable from other machines" in (
        result.stderr
    )
    assert f"kg: error: cannot listen on 0.0.0.0 port {plain.port}" in result.stderr
    assert "Traceback" not in result.stderr


def test_cors_off_by_default_and_on_with_the_flag(plain: Server, open_server: Server) -> None:
    origin = {"Origin": "http://example.org"}
    _s, headers, _b = http(plain, {"query": "ASK {}"}, headers=origin)
    assert not any(k.lower().startswith("access-control-") for k in headers)
    _s, headers, _b = http(open_server, {"query": "ASK {}"}, headers=origin)
    assert headers["Access-Control-Allow-Origin"] == "*"
    status, headers, _b = http(
        open_server,
        method="OPTIONS",
        headers={**origin, "Access-Control-Request-Method": "POST"},
    )
    assert status == 200
    assert "POST" in headers["Access-Control-Allow-Methods"]


def test_request_body_is_capped(plain: Server) -> None:
    big = b"# " + b"x" * (2 << 20) + b"\nASK {}"
    status, _h, body = http(plain, data=big, content_type="application/sparql-query")
    assert status == 413
    assert b"bytes" in body


# --- the service description and the canned queries ----------------------------------------


def test_service_description_names_the_endpoint_and_the_graphs(plain: Server) -> None:
    status, headers, body = http(plain)
    assert status == 200
    assert headers["Content-Type"].startswith("text/turtle")
    g = Graph().parse(data=body, format="turtle")
    endpoint = URIRef(plain.url)
    assert (endpoint, RDF.type, SD.Service) in g
    assert (endpoint, SD.endpoint, endpoint) in g
    assert (endpoint, SD.supportedLanguage, SD.SPARQL11Query) in g
    names = {str(n) for n in g.objects(None, SD.name)}
    assert {GRAPH + "000", GRAPH + "ontology", GRAPH + "inferred"} <= names
    formats = {str(f) for f in g.objects(endpoint, SD.resultFormat)}
    assert "http://www.w3.org/ns/formats/SPARQL_Results_JSON" in formats
    assert "http://www.w3.org/ns/formats/JSON-LD" in formats


def _without_blank_labels(doc: dict[str, Any]) -> list[dict[str, Any]]:
    rows = doc["results"]["bindings"]
    for row in rows:
        for cell in row.values():
            if cell["type"] == "bnode":
                cell["value"] = "_"
    return rows


def test_a_canned_query_gives_the_same_answer_as_kg_query(plain: Server) -> None:
    text = (ROOT / "queries" / "07-disputes.rq").read_text(encoding="utf-8")
    over_http = sparql(plain, text).convert()
    local = kg("query", "07-disputes", "--format", "json")
    assert local.returncode == 0, local.stderr
    expected = json.loads(local.stdout)
    assert over_http["head"]["vars"] == expected["head"]["vars"]
    assert len(over_http["results"]["bindings"]) >= 4
    assert _without_blank_labels(over_http) == _without_blank_labels(expected)


def test_query_workers_run_apart_from_the_server(plain: Server) -> None:
    assert os.getpid() != plain.proc.pid
    assert _children(plain.proc.pid)


# --- the state the application serves, in this process --------------------------------------


@pytest.fixture(scope="module")
def state(project: Any) -> Iterator[Any]:
    """A service state in this process; closing it stops its workers (checked at the end)."""
    from kg.serve.state import ServeState

    st = ServeState.from_project(project, workers=1, memory_mb=400, max_rows=3)
    yield st
    pids = st.pool.pids()
    st.close()
    st.close()  # idempotent
    assert pids and not any(Path(f"/proc/{pid}").exists() for pid in pids)
    assert st.run_query("ASK {}").status == 503


def test_run_query_binds_variables_as_substitutions(state: Any) -> None:
    from rdflib import Literal

    russia = URIRef("https://w3id.org/dip/id/actor/russia")
    query = "SELECT ?x ?l WHERE { ?x <http://www.w3.org/2000/01/rdf-schema#label> ?l }"
    result = state.run_query(query, "text/csv", bindings={"x": russia})
    assert (result.status, result.message) == (200, None)
    assert result.body.decode() == f"x,l\r\n{russia},Russia\r\n"
    assert not result.truncated
    result = state.run_query(query, "text/csv", bindings={"l": Literal("Russia", lang="en")})
    assert result.status == 200 and result.body.decode() == "x,l\r\n"
    result = state.run_query(query, "text/csv")
    assert result.truncated and len(result.body.decode().splitlines()) == 4


def test_a_query_past_the_memory_limit_is_stopped(state: Any) -> None:
    (before,) = state.pool.pids()
    started = time.monotonic()
    result = state.run_query("SELECT * WHERE { ?a ?b ?c . ?d ?e ?f } ORDER BY ?c ?f")
    assert result.status == 503, result.message
    assert "memory" in result.message
    assert time.monotonic() - started < 5
    for _ in range(100):
        if state.pool.pids() and state.pool.pids() != [before]:
            break
        time.sleep(0.1)
    assert state.run_query("ASK {}").status == 200
    assert not Path(f"/proc/{before}").exists()


def test_the_in_process_engine_answers_trusted_queries(state: Any) -> None:
    assert state.engine.query("ASK { ?s ?p ?o }").boolean is True
    assert GRAPH + "000" in state.graph_names
