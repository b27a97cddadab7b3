"""``kg push`` and ``kg query --endpoint`` against a real Oxigraph server on a loopback port.

One server (``oxigraph serve --union-default-graph``) serves the whole module; ``kg push`` loads
it once, through the real command, and every entry of ``queries/manifest.ttl`` must then give its
expected answer there, as it does on the embedded store. A second server, without the union
default graph, shows the warning; plain sockets and a small HTTP server stand for stores that
are not there, never answer, or fail.
"""

from __future__ import annotations

import http.server
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import Graph, Literal, URIRef

from kg.errors import InputError
from kg.load import INFERRED_GRAPH
from kg.manifest import Entry, concat_columns, load_manifest, render
from kg.pipeline import Built, assemble
from kg.project import find_project
from kg.query import parse_header
from kg.remote import Endpoint, RemoteError, bind_values, derive_graph_store, run_canned
from tests.conftest import ROOT, kg, sigint_as_in_a_terminal

OXIGRAPH = shutil.which("oxigraph")

ENTRIES = load_manifest(ROOT / "queries")
_LOCAL = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def oxigraph(location: Path, *, union: bool = True) -> Iterator[str]:
    """A real Oxigraph server on a free loopback port, answering; its base URL."""
    assert OXIGRAPH is not None, "needs the oxigraph server (the test extra installs it)"
    for _attempt in range(3):  # another process may take the port between probe and bind
        port = _free_port()
        args = [OXIGRAPH, "serve", "--location", str(location), "--bind", f"127.0.0.1:{port}"]
        if union:
            args.append("--union-default-graph")
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        try:
            while proc.poll() is None and time.monotonic() < deadline:
                try:
                    with _LOCAL.open(base + "/query?query=ASK%7B%7D", timeout=2):
                        break
                except OSError:
                    time.sleep(0.05)
            if proc.poll() is None:
                yield base
                return
        finally:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=10)
    raise RuntimeError("the oxigraph server did not start")


def _count_graphs(endpoint: str) -> dict[str, int]:
    """Triples per named graph, asked with SPARQLWrapper (another client than kg's), straight
    to the loopback server whatever proxies the environment names."""
    from SPARQLWrapper import JSON, SPARQLWrapper

    sw = SPARQLWrapper(endpoint)
    sw.setQuery("SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g")
    sw.setReturnFormat(JSON)
    saved = {k: os.environ.get(k) for k in ("no_proxy", "NO_PROXY")}
    os.environ["no_proxy"] = os.environ["NO_PROXY"] = "*"
    try:
        rows = sw.queryAndConvert()["results"]["bindings"]  # type: ignore[index]
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return {r["g"]["value"]: int(r["n"]["value"]) for r in rows}


def _local_counts(built: Built, *, inferred: bool = True) -> dict[str, int]:
    counts = {str(g): len(built.loaded.dataset.graph(g)) for g in built.loaded.sources}
    if inferred:
        counts[str(INFERRED_GRAPH)] = len(built.inferred)
    return counts


def _put(store: str, graph: str, turtle: str) -> None:
    url = store + "?" + urllib.parse.urlencode({"graph": graph})
    req = urllib.request.Request(
        url, data=turtle.encode("utf-8"), method="PUT", headers={"Content-Type": "text/turtle"}
    )
    with _LOCAL.open(req, timeout=10):
        pass


def _one_line_error(out: subprocess.CompletedProcess[str]) -> str:
    assert out.returncode == 2, (out.stdout, out.stderr)
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("kg: error: ") and "Traceback" not in out.stderr
    return lines[0]


@pytest.fixture(scope="module")
def built() -> Built:
    """The seed corpus loaded and reasoned over (inferences from the build cache): no need to
    validate it here."""
    return assemble(find_project(ROOT))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with oxigraph(tmp_path_factory.mktemp("oxigraph")) as base:
        yield base


@pytest.fixture(scope="module")
def pushed(server: str) -> subprocess.CompletedProcess[str]:
    return kg("push", "--endpoint", server + "/query")


# --- the push ---------------------------------------------------------------------------------


def test_push_sends_each_named_graph_with_all_its_triples(pushed, server: str, built: Built):
    assert pushed.returncode == 0, pushed.stderr
    assert pushed.stderr == ""  # no warning: the default graph is the union
    local = _local_counts(built)
    assert len(local) == 8  # ontology, 000-004, shared, inferred
    assert _count_graphs(server + "/query") == local
    lines = pushed.stdout.splitlines()
    assert lines[0].startswith(f"pushing to {server}/store (graph store)")
    for iri, n in local.items():
        short = "graph:" + iri.rsplit("/", 1)[-1]
        assert any(line.split()[:3] == [short, str(n), "triples"] for line in lines), short
    assert f"pushed 8 graphs, {sum(local.values())} triples in " in lines[-1]


def test_blank_nodes_keep_their_identity_across_graphs(pushed, server: str):
    """The inferences speak of the sources' blank nodes (mentions): one node in the store."""
    assert pushed.returncode == 0, pushed.stderr
    endpoint = Endpoint(server + "/query")
    rows = endpoint.select(
        "SELECT (COUNT(*) AS ?n) WHERE { GRAPH <https://w3id.org/dip/graph/inferred> "
        "{ ?m a ?c } GRAPH ?g { ?m <http://www.w3.org/ns/oa#exact> ?x } "
        'FILTER (STRSTARTS(STR(?m), "https://w3id.org/dip/.well-known/genid/")) }'
    )
    assert int(rows[0]["n"]) > 0


# --- every canned query, on the store ---------------------------------------------------------


def _canonical(turtle: str) -> list[str]:
    ds = ox.Dataset(ox.parse(turtle.encode("utf-8"), format=ox.RdfFormat.TURTLE))
    ds.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    return sorted(str(q) for q in ds)


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.name)
def test_every_canned_query_gives_its_expected_answer_on_the_store(entry: Entry, pushed, server):
    """As `kg queries --check` on the embedded store: the same rows in the same order, the values
    of GROUP_CONCAT cells compared sorted (SPARQL leaves their order open)."""
    assert pushed.returncode == 0, pushed.stderr
    canned = parse_header(entry.query)
    answer = run_canned(Endpoint(server + "/query"), canned, entry.params)
    actual = render(answer, concat_columns(canned.text))
    expected = entry.result.read_text(encoding="utf-8")
    if answer.kind == "CONSTRUCT":
        assert _canonical(actual) == _canonical(expected)
    else:
        assert actual == expected


@pytest.fixture(scope="module")
def local(built: Built):  # type: ignore[no-untyped-def]
    """What `kg query` prints locally, computed in this process (as the command does)."""
    from kg.engine import Engine
    from kg.query import bind_params, find_query, format_result, run, select_columns

    graph = built.query_graph()
    engine = Engine(graph)

    def answer(name: str, params: dict[str, str], fmt: str, columns: str | None = None) -> str:
        canned = find_query(ROOT / "queries", name)
        result = run(engine, canned, bind_params(canned, graph, params), fmt)
        if columns:
            result = select_columns(result, columns.split(","))
        return format_result(result, fmt)

    return answer


def _sorted_json(text: str, canned_name: str) -> str:
    """A JSON answer rendered as the expected files are, GROUP_CONCAT values sorted."""
    from kg.engine import Answer, from_ox

    canned = parse_header(ROOT / "queries" / f"{canned_name}.rq")
    result = ox.parse_query_results(text.encode("utf-8"), ox.QueryResultsFormat.JSON)
    names = [v.value for v in result.variables]
    rows = [[from_ox(s[n]) for n in names] for s in result]
    return render(Answer("SELECT", names, rows), concat_columns(canned.text))


def test_kg_query_on_the_store_prints_what_it_prints_locally(pushed, server: str, local):
    assert pushed.returncode == 0, pushed.stderr
    endpoint = ("--endpoint", server + "/query")
    columns = "attributorName,act,holderName,stance,certainty,hedge"
    remote = kg(
        "query", "01-attributions", "--param", "attributor=wadephul", "--format", "markdown",
        "--columns", columns, *endpoint,
    )  # fmt: skip
    assert remote.returncode == 0, remote.stderr
    table = local("01-attributions", {"attributor": "wadephul"}, "markdown", columns)
    assert remote.stdout == table and table.count("\n") == 5
    # JSON: the same rows once the values of GROUP_CONCAT cells are sorted
    name, params = "11-position-over-time", {"holder": "Russia", "issue": "dv:Territory"}
    args = [f"--param={k}={v}" for k, v in params.items()]
    remote = kg("query", name, *args, "--format", "json", *endpoint)
    assert remote.returncode == 0, remote.stderr
    expected = _sorted_json(local(name, params, "json"), name)
    assert _sorted_json(remote.stdout, name) == expected and expected.count("\n") == 13
    # CONSTRUCT: the same graph, blank nodes (mentions) included
    remote = kg("query", "14-evidence-graph", "--param", "actor=Dmitry Peskov", *endpoint)
    assert remote.returncode == 0, remote.stderr
    local_ttl = local("14-evidence-graph", {"actor": "Dmitry Peskov"}, "table")
    assert _canonical(remote.stdout) == _canonical(local_ttl)
    assert len(Graph().parse(data=remote.stdout, format="turtle")) > 50


def test_hostile_parameter_values_are_bound_never_pasted(pushed, server: str):
    assert pushed.returncode == 0, pushed.stderr
    before = _count_graphs(server + "/query")
    endpoint = ("--endpoint", server + "/query")
    for value in ['x" } } DROP ALL ; SELECT * { { "', "Russia'>} #", "\n}\nCLEAR ALL"]:
        out = kg("query", "07-disputes", "--param", f"disputer={value}", *endpoint)
        assert "no actor is labelled" in _one_line_error(out)
    out = kg("query", "06-timeline", "--param", "type=http://x>}DROP", *endpoint)
    assert "not a well-formed absolute IRI" in _one_line_error(out)
    # a string parameter travels as one literal, quotes, braces and newlines included
    canned_text = "SELECT ?v WHERE { BIND (STRLEN(?v) AS ?n) }"
    value = Literal('"}\n DROP ALL { <x> ?p """ \\')
    rows = Endpoint(server + "/query").select(canned_text, {"v": value})
    assert rows == [{"v": value}]
    assert _count_graphs(server + "/query") == before


def test_labels_are_resolved_on_the_store(pushed, server: str):
    assert pushed.returncode == 0, pushed.stderr
    endpoint = ("--endpoint", server + "/query")
    by_label = kg("query", "02", "--param", "speaker=dmitry peskov", "--format", "tsv", *endpoint)
    assert by_label.returncode == 0, by_label.stderr
    expected = ROOT / "queries" / "expected" / "02-actor-statements--peskov.tsv"
    assert by_label.stdout.count("\n") == expected.read_text("utf-8").count("\n") == 8
    out = kg("query", "02", "--param", "speaker=actor:no-such-actor", *endpoint)
    assert "not a known actor" in _one_line_error(out)


# --- binding by VALUES --------------------------------------------------------------------------


def test_values_block_opens_the_top_level_where_group():
    text = (
        "# a comment with { braces }\nPREFIX ex: <http://example.org/#x>\n"
        'SELECT ?a (COUNT(*) AS ?n) WHERE { ?a ex:p "{" . { SELECT ?a { ?a ?q ?r } } }\n'
        "GROUP BY ?a"
    )
    bound = bind_values(text, {"a": URIRef("http://example.org/a")})
    assert 'WHERE { VALUES (?a) { (<http://example.org/a>) }\n ?a ex:p "{"' in bound
    construct = "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }"
    assert bind_values(construct, {"s": URIRef("http://x/s")}).startswith(
        "CONSTRUCT { ?s ?p ?o } WHERE { VALUES (?s) { (<http://x/s>) }"
    )
    assert bind_values(construct, {}) == construct
    with pytest.raises(InputError, match="WHERE"):
        bind_values("SELECT * WHERE { SELECT ?s { ?s ?p ?o } }", {"s": URIRef("http://x/s")})


def test_the_graph_store_is_derived_from_known_endpoint_layouts():
    assert derive_graph_store("http://h:7878/query") == "http://h:7878/store"
    assert derive_graph_store("http://h:3030/ds/query") == "http://h:3030/ds/data"
    assert derive_graph_store("http://h:3030/ds/sparql") == "http://h:3030/ds/data"
    assert (
        derive_graph_store("http://h:7200/repositories/dip")
        == "http://h:7200/repositories/dip/rdf-graphs/service"
    )
    assert derive_graph_store("http://h:8890/sparql") is None
    out = kg("push", "--endpoint", "http://127.0.0.1:9/sparql")
    assert "--graph-store is needed" in _one_line_error(out)


# --- errors -------------------------------------------------------------------------------------


def test_nothing_listening_is_one_line_naming_the_url():
    port = _free_port()
    url = f"http://127.0.0.1:{port}/query"
    line = _one_line_error(kg("push", "--endpoint", url))
    assert url in line and "cannot connect" in line
    line = _one_line_error(kg("query", "12", "--endpoint", url))
    assert url in line and "cannot connect" in line


def test_http_404_names_the_status(pushed, server: str):
    assert pushed.returncode == 0, pushed.stderr
    out = kg("push", "--endpoint", server + "/query", "--graph-store", server + "/nothing")
    line = _one_line_error(out)
    assert "HTTP 404" in line and f"{server}/nothing?graph=" in line
    line = _one_line_error(kg("query", "12", "--endpoint", server + "/nothing"))
    assert "HTTP 404" in line


@contextmanager
def _failing_server(status: int, location: str | None = None) -> Iterator[str]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def _fail(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            if location:
                self.send_header("Location", location)
            self.end_headers()
            self.wfile.write(b"something broke\nin two lines")

        do_GET = do_POST = do_PUT = do_DELETE = _fail

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_http_500_names_the_status():
    with _failing_server(500) as base:
        line = _one_line_error(kg("push", "--endpoint", base + "/query"))
        assert f"{base}/query: HTTP 500" in line and "something broke in two lines" in line
        line = _one_line_error(kg("query", "12", "--endpoint", base + "/query"))
        assert "HTTP 500" in line


def test_redirects_are_reported_not_followed(pushed, server: str):
    """A redirect could lead anywhere: requests go to the URL given only."""
    assert pushed.returncode == 0, pushed.stderr
    with (
        _failing_server(307, location=server + "/query") as base,
        pytest.raises(RemoteError, match=r"HTTP 307 .*redirects to http://127\.0\.0\.1:\d+/query"),
    ):
        Endpoint(base + "/query").ask("ASK {}")


def test_a_store_that_never_answers_times_out():
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/query"
        started = time.monotonic()
        line = _one_line_error(kg("push", "--endpoint", url, "--timeout", "0.5"))
        assert url in line and "no answer within 0.5 s" in line
        assert time.monotonic() - started < 30


def test_ctrl_c_during_a_push_says_what_was_replaced():
    """A store that answers queries but never finishes a PUT; Ctrl-C: exit 130, one line."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body = b'{"head": {}, "boolean": true}'
            self.send_response(200)
            self.send_header("Content-Type", "application/sparql-results+json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_PUT(self) -> None:
            time.sleep(10)

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}/query"
    args = [sys.executable, "-m", "kg.cli", "--root", str(ROOT), "push", "--endpoint", url]
    proc = subprocess.Popen(
        args,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=sigint_as_in_a_terminal,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().startswith("pushing to")
        time.sleep(0.5)  # inside the first PUT
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        httpd.shutdown()
        httpd.server_close()
    assert proc.returncode == 130, err
    assert err.strip().splitlines() == [
        "kg: interrupted: the graphs listed above were replaced in the store, the others "
        "were not; push again"
    ]


def test_only_http_urls_are_accepted():
    for url in ("file:///etc/passwd", "localhost:7878/query", "http://u:p@127.0.0.1:9/query"):
        assert "--endpoint" in _one_line_error(kg("push", "--endpoint", url))


# --- the default graph, and what --replace deletes ---------------------------------------------


def test_a_store_without_the_union_default_graph_is_warned_of(tmp_path: Path, built: Built):
    with oxigraph(tmp_path, union=False) as base:
        endpoint = base + "/query"
        out = kg("query", "12", "--endpoint", endpoint)
        assert out.returncode == 0, out.stderr
        assert "holds no data" in out.stderr
        stale = "https://w3id.org/dip/graph/999"
        for graph in (stale, "http://example.org/other"):
            _put(base + "/store", graph, "<http://x/s> <http://x/p> 1 .")
        out = kg("push", "--endpoint", endpoint)
        assert out.returncode == 0, out.stderr
        assert "--union-default-graph" in out.stderr and "shows none" in out.stderr
        assert "graph:999        kept" in out.stdout  # not the build's, left without --replace
        out = kg("query", "12", "--endpoint", endpoint)
        assert out.returncode == 0 and "(0 rows)" in out.stdout
        assert "default graph" in out.stderr and "--union-default-graph" in out.stderr
        # --replace deletes the project's graphs the build does not hold (graph:inferred too,
        # when the inferences are left out) and nothing outside the project's namespace
        out = kg("push", "--endpoint", endpoint, "--no-inferred", "--replace")
        assert out.returncode == 0, out.stderr
        assert "graph:999        deleted" in out.stdout
        assert "graph:inferred   deleted" in out.stdout
        assert "pushed 7 graphs" in out.stdout
        counts = _count_graphs(endpoint)
        assert counts.pop("http://example.org/other") == 1
        assert counts == _local_counts(built, inferred=False)
