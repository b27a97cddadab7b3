"""Nothing is fetched, nothing is opened that was not given, and user values reach queries only as
bindings.

Two detectors watch every hostile input (``tests/fixtures/safety/``):

* a local server (:class:`Listener`) that records every connection made to it: Oxigraph is Rust
  and makes its HTTP requests out of sight of Python, so only a real socket sees them;
* a runtime audit hook (``sys.addaudithook``) in a child process running the real ``kg`` entry
  point, which sees every file Python opens and every socket, name lookup and URL request.

Each detector is shown to fire on an unguarded call, so that its silence means something.
"""

from __future__ import annotations

import json
import os
import shutil
import site
import socket
import subprocess
import sys
import sysconfig
import threading
import time
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import Dataset, Graph, Literal, URIRef

import kg
from kg.engine import Engine, vet_query
from kg.errors import InputError
from kg.export import serialize
from kg.jsonld import parse_jsonld
from kg.load import graph_iri_for, parse_mapping, parse_turtle
from kg.namespaces import CONTEXT_IRI, GRAPH
from kg.pipeline import Built, assemble
from kg.project import Project, find_project
from kg.query import (
    CannedQuery,
    bind_params,
    graph_names,
    list_queries,
    parse_header,
    run,
    run_rdflib,
)
from kg.stable import relabel
from tests.conftest import ROOT
from tests.conftest import kg as run_kg

FIXTURES = ROOT / "tests" / "fixtures" / "safety"
SEED_004 = "004_18049fbfc02a5049"
SEED_003 = "003_12791c6c8d2a98dd"
#: A mapping of one statement of source 003 in compact JSON-LD, naming the project's context.
GOOD_JSONLD = FIXTURES / "seeds" / f"{SEED_003}.jsonld"
HOST = "canary.invalid"


# ---------------------------------------------------------------------------
# The detectors
# ---------------------------------------------------------------------------


class Listener:
    """A TCP server on 127.0.0.1 that accepts every connection, records its first bytes and
    closes it at once (so a client that does connect fails fast instead of waiting)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.hits: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(1)
                try:
                    self.hits.append(conn.recv(120) or b"(connected)")
                except OSError:
                    self.hits.append(b"(connected)")

    def wait_for(self, count: int, timeout: float = 5.0) -> int:
        """The number of connections seen, once it reaches ``count`` or ``timeout`` passes."""
        deadline = time.monotonic() + timeout
        while len(self.hits) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return len(self.hits)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()


@pytest.fixture(scope="module")
def server():
    listener = Listener()
    yield listener
    listener.close()


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder of this module's projects (``projects/``), the commands' temporary folder
    (``tmp/``) and the canary (``canary/``, beside them, so ``../../../canary`` from a project's
    ``seeds/`` reaches it)."""
    return tmp_path_factory.mktemp("safety")


@pytest.fixture(scope="module")
def canary(base: Path) -> Path:
    """A folder outside every project, holding a Turtle file and a JSON-LD context."""
    folder = base / "canary"
    folder.mkdir()
    shutil.copy(FIXTURES / "canary-secret.ttl", folder / "secret.ttl")
    shutil.copy(FIXTURES / "canary-context.jsonld", folder / "context.jsonld")
    return folder


def fill(text: str, server: Listener, canary: Path) -> str:
    """A fixture with its placeholders replaced (see tests/fixtures/safety/README.md)."""
    return (
        text.replace("@SERVER@", server.url)
        .replace("@CANARY@", canary.resolve().as_uri())
        .replace("@HOST@", HOST)
    )


def place(fixture: Path, target: Path, server: Listener, canary: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(fill(fixture.read_text(encoding="utf-8"), server, canary), encoding="utf-8")
    return target


def test_the_listener_sees_oxigraph_call_a_service(server: Listener):
    """Unvetted, Oxigraph calls the endpoint a SERVICE clause names: the guard below is needed,
    and the listener would see a breach."""
    before = len(server.hits)
    with pytest.raises(OSError):  # the connection is made at once; its failure shows when read
        list(ox.Store().query(f"SELECT * {{ SERVICE <{server.url}/sparql> {{ ?s ?p ?o }} }}"))
    assert server.wait_for(before + 1) == before + 1
    assert server.hits[-1].startswith(b"POST /sparql")


def test_the_listener_sees_rdflib_load_a_from_graph(server: Listener):
    """Unvetted and left at its default, rdflib loads the graph a FROM clause names."""
    import rdflib.plugins.sparql

    before = len(server.hits)
    saved = rdflib.plugins.sparql.SPARQL_LOAD_GRAPHS
    rdflib.plugins.sparql.SPARQL_LOAD_GRAPHS = True
    try:
        with pytest.raises(Exception, match="Could not load"):
            Dataset().query(f"SELECT * FROM <{server.url}/graph.ttl> WHERE {{ ?s ?p ?o }}")
    finally:
        rdflib.plugins.sparql.SPARQL_LOAD_GRAPHS = saved
    assert server.wait_for(before + 1) > before


# ---------------------------------------------------------------------------
# JSON-LD mapping files
# ---------------------------------------------------------------------------


def jsonld_of(turtle: Path) -> str:
    """A mapping file as a web tool would write it: compact JSON-LD naming the project's
    context by its IRI."""
    doc = json.loads(serialize(parse_turtle(turtle), "jsonld"))
    assert isinstance(doc.get("@context"), dict)
    doc["@context"] = CONTEXT_IRI
    return json.dumps(doc, indent=1, ensure_ascii=False)


def test_jsonld_mapping_file_loads_the_triples_of_its_turtle(project: Project, tmp_path: Path):
    ttl = project.seeds_dir / f"{SEED_004}.ttl"
    path = tmp_path / f"{SEED_004}.jsonld"
    path.write_text(jsonld_of(ttl), encoding="utf-8")
    graph = parse_mapping(path, project)
    assert set(relabel(graph)) == set(relabel(parse_turtle(ttl)))
    assert graph_iri_for(path) == GRAPH["004"] == graph_iri_for(ttl)
    # the shipped context gives the compact terms their meaning: without it, most are lost
    assert len(parse_jsonld(path, dict)) < len(graph) / 2


def test_jsonld_mapping_files_are_listed_and_kg_fmt_leaves_them(project_copy: Project):
    ttl = project_copy.seeds_dir / f"{SEED_004}.ttl"
    jsonld = project_copy.seeds_dir / f"{SEED_004}.jsonld"
    jsonld.write_text(jsonld_of(ttl), encoding="utf-8")
    ttl.unlink()
    assert jsonld in project_copy.mapping_files()
    assert len(project_copy.mapping_files()) == 6
    proc = run_kg("fmt", "--check", str(jsonld), root=project_copy.root)
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        f"kg: error: {jsonld}: kg fmt lays out Turtle files only, not JSON-LD"
    )


#: Hostile JSON-LD fixtures: the JSON path the error names, and what it says is wrong.
HOSTILE_JSONLD = [
    ("remote-context", '$["@context"]', "a remote context"),
    ("file-context", '$["@context"]', "a file: context"),
    ("relative-context", '$["@context"]', "a relative context path"),
    ("import", '$["@context"]["@import"]', "@import of"),
    ("scoped-context", '$["@context"][1]["knows"]["@context"]', "a file: context"),
    ("node-context", '$["@graph"][1]["@context"]', "a remote context"),
    ("base-relative", '$["@context"][1]', "a relative context path"),
    ("host-context", '$["@context"]', "a remote context"),
]


@pytest.mark.parametrize(
    ("name", "where", "why"), HOSTILE_JSONLD, ids=[h[0] for h in HOSTILE_JSONLD]
)
def test_jsonld_context_that_would_be_fetched_is_refused(
    project: Project,
    tmp_path: Path,
    server: Listener,
    canary: Path,
    name: str,
    where: str,
    why: str,
):
    path = place(
        FIXTURES / "jsonld" / f"{name}.jsonld", tmp_path / "seeds" / "x.jsonld", server, canary
    )
    before = len(server.hits)
    with pytest.raises(InputError) as caught:
        parse_mapping(path, project)
    message = str(caught.value)
    assert message.startswith(f"{path}: {where}: the context ") or message.startswith(
        f"{path}: {where}: @import"
    ), message
    assert why in message
    assert "\n" not in message
    assert len(server.hits) == before


def test_malformed_jsonld_is_one_line_with_file_line_and_column(project: Project, tmp_path: Path):
    path = tmp_path / "malformed.jsonld"
    shutil.copy(FIXTURES / "jsonld" / "malformed.jsonld", path)
    with pytest.raises(InputError) as caught:
        parse_mapping(path, project)
    assert str(caught.value) == (
        f"{path}:4: JSON syntax error at column 27: "
        "Expecting property name enclosed in double quotes"
    )


def test_named_graph_in_a_jsonld_mapping_file_is_refused(project: Project, tmp_path: Path):
    path = tmp_path / "named.jsonld"
    shutil.copy(FIXTURES / "jsonld" / "named-graph.jsonld", path)
    with pytest.raises(InputError, match=r"holds the named graph <https://w3id.org/dip/graph/000>"):
        parse_mapping(path, project)


def test_malformed_iri_in_a_jsonld_mapping_file_is_refused(project: Project, tmp_path: Path):
    path = tmp_path / "iri.jsonld"
    doc = {
        "@context": CONTEXT_IRI,
        "@id": "https://w3id.org/dip/id/actor/a",
        "rdfs:label": "A",
        "rdfs:seeAlso": {"@id": "http://x/{y}"},
    }
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(InputError, match=r"^\S+iri\.jsonld: the IRI <http://x/\{y}> holds"):
        parse_mapping(path, project)


def test_build_cache_and_new_source_ids_see_jsonld_mapping_files(project_copy: Project):
    from kg.authoring import next_free_id
    from kg.pipeline import inputs_digest

    turtle_only = inputs_digest(project_copy)
    shutil.copy(GOOD_JSONLD, project_copy.seeds_dir / "005_feedfacefeedface.jsonld")
    with_jsonld = inputs_digest(project_copy)
    assert with_jsonld != turtle_only
    assert next_free_id(project_copy.seeds_dir) == "006"
    # the terms of a JSON-LD mapping come from the project's context: a change to it is a change
    context = project_copy.ontology_dir / "dip-context.jsonld"
    doc = json.loads(context.read_text(encoding="utf-8"))
    doc["@context"]["someNewTerm"] = "dip:someNewTerm"
    context.write_text(json.dumps(doc), encoding="utf-8")
    assert inputs_digest(project_copy) != with_jsonld


# ---------------------------------------------------------------------------
# Vetting queries
# ---------------------------------------------------------------------------

KNOWN = {str(GRAPH["000"]), str(GRAPH["ontology"])}

#: Query texts that must be refused: what the message says, and the line it names.
REFUSED = [
    (
        "service",
        "SELECT * {\n  ?s ?p ?o .\n  SERVICE <http://x/sparql> { ?s ?p ?o }\n}",
        "SERVICE <http://x/sparql> is refused",
        3,
    ),
    (
        "service-variable",
        "SELECT * {\n  OPTIONAL { SERVICE SILENT ?where { ?s ?p ?o } }\n}",
        "SERVICE ?where is refused",
        2,
    ),
    (
        "service-in-exists",
        "SELECT * { ?s ?p ?o FILTER EXISTS { SERVICE <http://x> { ?s ?p ?o } } }",
        "SERVICE <http://x>",
        1,
    ),
    (
        "service-in-subquery",
        "SELECT * {\n { SELECT * { SERVICE <http://x> { ?s ?p ?o } } }\n}",
        "SERVICE <http://x>",
        2,
    ),
    (
        "service-after-comment",
        "# SERVICE <http://decoy>\nSELECT * {\n  SERVICE <http://x> { ?s ?p ?o }\n}",
        "SERVICE <http://x>",
        3,
    ),
    (
        "from-http",
        "SELECT *\nFROM <http://x/g.ttl>\nWHERE { ?s ?p ?o }",
        "FROM <http://x/g.ttl> names a graph the dataset does not hold",
        2,
    ),
    (
        "from-file",
        "PREFIX graph: <https://w3id.org/dip/graph/>\nSELECT *\nFROM graph:000\n"
        "FROM <file:///etc/passwd>\n{ ?s ?p ?o }",
        "FROM <file:///etc/passwd>",
        4,
    ),
    (
        "from-relative",
        "BASE <file:///tmp/>\nSELECT * FROM <canary.ttl> { ?s ?p ?o }",
        "FROM <file:///tmp/canary.ttl>",
        2,
    ),
    (
        "from-named",
        "SELECT * FROM NAMED <http://x/n> { GRAPH ?g { ?s ?p ?o } }",
        "FROM NAMED <http://x/n>",
        1,
    ),
    ("describe-from", "DESCRIBE <http://a>\nFROM <http://x>", "FROM <http://x>", 2),
    (
        "insert",
        "PREFIX ex: <http://e/>\n\nINSERT DATA { ex:a ex:b ex:c }",
        "INSERT DATA is a SPARQL update",
        3,
    ),
    (
        "delete-insert",
        "DELETE { ?s ?p ?o } INSERT { ?s ?p 1 } WHERE { ?s ?p ?o }",
        "DELETE/INSERT is a SPARQL update",
        1,
    ),
    ("delete-where", "DELETE WHERE { ?s ?p ?o }", "DELETE WHERE is a SPARQL update", 1),
    ("load", "# load it\nLOAD <http://x/y>", "LOAD is a SPARQL update", 2),
    ("clear", "CLEAR ALL", "CLEAR is a SPARQL update", 1),
    ("drop", "DROP ALL", "DROP is a SPARQL update", 1),
    ("create", "CREATE GRAPH <http://x/g>", "CREATE is a SPARQL update", 1),
    (
        "add-move-copy",
        "ADD DEFAULT TO <http://a> ;\nMOVE <http://a> TO <http://b> ;\nCOPY <http://b> TO <http://c>",
        "ADD, MOVE, COPY is a SPARQL update",
        1,
    ),
    ("query-then-update", 'SELECT * { ?s ?p "x" } ; DROP ALL', "SPARQL syntax error at column", 1),
    ("syntax", "SELECT * WHERE {\n  ?s ?p\n}", "SPARQL syntax error at column", 2),
    ("empty", "", "SPARQL syntax error at column 1", 1),
]


@pytest.mark.parametrize(("name", "text", "needle", "line"), REFUSED, ids=[r[0] for r in REFUSED])
def test_vet_query_refuses_before_evaluation(name: str, text: str, needle: str, line: int):
    with pytest.raises(InputError) as caught:
        vet_query(text, KNOWN, path="q.rq")
    message = str(caught.value)
    assert message.startswith(f"q.rq:{line}: "), message
    assert needle in message
    assert "\n" not in message


def test_vet_query_reads_the_query_not_its_words():
    """Words in comments, strings, IRIs, variables and prefixed names are not clauses (a
    regular expression over the text would refuse this query)."""
    text = (
        "PREFIX ex: <http://e/#SERVICE>\n"
        "PREFIX graph: <https://w3id.org/dip/graph/>\n"
        "# SERVICE <http://x> { } FROM <http://y> INSERT DATA { } DROP ALL\n"
        "SELECT ?FROM ?note FROM graph:000 FROM NAMED graph:ontology WHERE {\n"
        '  ?FROM ex:SERVICE ?x . BIND("SERVICE <http://x> { } ; DROP ALL" AS ?note)\n'
        '  FILTER(?x != "FROM <http://z>"@en)\n'
        "}"
    )
    vet_query(text, KNOWN)
    vet_query(text.replace("FROM graph:000 FROM NAMED graph:ontology", ""), None)


def test_vet_query_lets_canned_queries_and_checks_through(project: Project):
    known = graph_names(project)
    assert str(GRAPH["shared"]) in known and str(GRAPH["inferred"]) in known
    files = [
        *sorted(project.queries_dir.glob("*.rq")),
        *sorted((project.root / "checks").glob("*.rq")),
    ]
    assert len(files) > 15
    for path in files:
        vet_query(path.read_text(encoding="utf-8"), known, path=str(path))


def small_dataset() -> Dataset:
    ds = Dataset(default_union=True)
    ds.graph(GRAPH["000"]).parse(
        data='<https://w3id.org/dip/id/actor/a> <http://www.w3.org/2000/01/rdf-schema#label> "A" .',
        format="turtle",
    )
    return ds


def test_engine_vets_before_oxigraph_evaluates(server: Listener, tmp_path: Path):
    engine = Engine(small_dataset())
    before = len(server.hits)
    for text in (
        f"SELECT * {{ SERVICE <{server.url}/sparql> {{ ?s ?p ?o }} }}",
        f"ASK {{ SERVICE <{server.url}/sparql> {{ ?s ?p ?o }} }}",
        f"SELECT * FROM <{server.url}/g.ttl> {{ ?s ?p ?o }}",
        "DROP ALL",
    ):
        with pytest.raises(InputError, match=r"^x\.rq:1: "):
            engine.query(text, source="x.rq")
    assert len(server.hits) == before
    assert len(engine.store) == 1
    rows = engine.query(f"SELECT ?s FROM <{GRAPH['000']}> {{ ?s ?p ?o }}").rows
    assert len(rows) == 1, "a graph the dataset holds may be named in FROM"


def test_rdflib_path_vets_and_never_loads(server: Listener, tmp_path: Path):
    import rdflib.plugins.sparql

    path = tmp_path / "remote.rq"
    path.write_text(
        f"# Question: What is there?\nSELECT * FROM <{server.url}/g.ttl> {{ ?s ?p ?o }}\n",
        encoding="utf-8",
    )
    before = len(server.hits)
    with pytest.raises(InputError, match=rf"^{path}:2: FROM <{server.url}/g.ttl> names a graph"):
        run_rdflib(small_dataset(), parse_header(path), {})
    assert rdflib.plugins.sparql.SPARQL_LOAD_GRAPHS is False
    assert len(server.hits) == before


def test_check_with_service_is_refused_before_it_runs(
    tmp_path: Path, server: Listener, canary: Path
):
    from kg.checks import list_checks

    path = place(
        FIXTURES / "checks" / "service-check.rq", tmp_path / "checks" / "s.rq", server, canary
    )
    before = len(server.hits)
    with pytest.raises(InputError, match=rf"^{path}:10: SERVICE <{server.url}/sparql> is refused"):
        list_checks(path.parent)
    assert len(server.hits) == before


# ---------------------------------------------------------------------------
# The real command under an audit hook
# ---------------------------------------------------------------------------


def _copy_project(target: Path, *, seeds: bool = False, extra: tuple[str, ...] = ()) -> Path:
    target.mkdir(parents=True)
    for name in ("ontology", *extra):
        shutil.copytree(ROOT / name, target / name)
    if seeds:
        shutil.copytree(ROOT / "seeds", target / "seeds")
        for path in (target / "seeds").iterdir():
            path.chmod(0o644)
    else:
        (target / "seeds").mkdir()
    return target


class Audit:
    """One child process running a plan of ``kg`` commands under an audit hook."""

    def __init__(self, base: Path, server: Listener, canary: Path) -> None:
        self.base = base
        self.projects = base / "projects"
        self.tmp = base / "tmp"
        self.tmp.mkdir(parents=True)
        self.server = server
        self.canary = canary
        self.steps: list[dict[str, object]] = []
        self.names: list[str] = []

    def kg(self, name: str, root: Path, *args: str) -> None:
        self.names.append(name)
        self.steps.append({"kg": ["--root", str(root), *args]})

    def snapshot(self, name: str, root: Path) -> None:
        self.names.append(name)
        self.steps.append({"snapshot": str(root)})

    def run(self) -> dict[str, dict[str, object]]:
        plan = self.base / "plan.json"
        plan.write_text(json.dumps({"steps": self.steps}), encoding="utf-8")
        env = {**os.environ, "TMPDIR": str(self.tmp), "TEMP": str(self.tmp), "TMP": str(self.tmp)}
        env.pop("KG_ROOT", None)
        proc = subprocess.run(
            [sys.executable, str(FIXTURES / "audit_child.py"), str(plan)],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
            cwd=self.projects,
            env=env,
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        return dict(zip(self.names, json.loads(proc.stdout), strict=True))

    def allowed(self) -> list[Path]:
        """Where a command may open files: the projects, its temporary folder, and the Python
        installation (the interpreter's prefixes, the standard library, site-packages and the
        folder the kg package is installed from)."""
        paths = sysconfig.get_paths()
        roots = {
            self.projects,
            self.tmp,
            Path(sys.prefix),
            Path(sys.base_prefix),
            Path(sys.exec_prefix),
            Path(paths["stdlib"]),
            Path(paths["platstdlib"]),
            Path(paths["purelib"]),
            Path(paths["platlib"]),
            *(Path(p) for p in site.getsitepackages()),
            Path(kg.__file__).resolve().parents[1],
        }
        return [r.resolve() for r in roots]

    def outside(self, opened: list[str]) -> list[str]:
        allowed = self.allowed()
        bad = []
        for name in opened:
            path = Path(name) if os.path.isabs(name) else self.projects / name
            resolved = path.resolve()
            if not any(resolved.is_relative_to(root) for root in allowed):
                bad.append(name)
        return bad


HOSTILE_QUERIES = {
    "from-remote": 7,
    "from-file": 8,
    "from-named": 5,
    "service": 10,
    "insert": 6,
    "drop": 4,
    "load": 5,
}

#: Hostile --param values given on the command line, and what each must give.
CLI_PARAMS = {
    "inject": (
        "02-actor-statements",
        'speaker=x" } ; DROP ALL ; SELECT * {',
        "no actor is labelled",
    ),
    "iri-junk": ("13-reported-figures", 'measure=dv:x"} ; DROP ALL ; {', "is not an IRI"),
    "iri-quote": ("13-reported-figures", 'measure=dv:x"}', "not a well-formed absolute IRI"),
    "undecodable": ("02-actor-statements", "speaker=\udcff\udcfe", "not valid UTF-8"),
    "unknown-iri": ("06-timeline", "type=<http://x>", ""),
}


@pytest.fixture(scope="module")
def audit(base: Path, server: Listener, canary: Path):
    run = Audit(base, server, canary)
    fx = FIXTURES

    for name, _where, _why in [*HOSTILE_JSONLD, ("named-graph", "", ""), ("malformed", "", "")]:
        root = _copy_project(run.projects / f"jsonld-{name}", extra=("shapes",))
        place(fx / "jsonld" / f"{name}.jsonld", root / "seeds" / f"{name}.jsonld", server, canary)
        run.kg(f"jsonld-{name}", root, "build")

    imports = _copy_project(run.projects / "imports", extra=("shapes",))
    place(fx / "ontology" / "imports.ttl", imports / "ontology" / "imports.ttl", server, canary)
    place(fx / "seeds-imports.ttl", imports / "seeds" / "imports.ttl", server, canary)
    place(fx / "jsonld" / "owl-imports.jsonld", imports / "seeds" / "json.jsonld", server, canary)
    run.kg("imports-build", imports, "build")

    checks = _copy_project(run.projects / "checks")
    check = checks / "checks" / "service-check.rq"
    place(fx / "checks" / "service-check.rq", check, server, canary)
    run.kg("check-service", checks, "check")

    # the normal case: a small project whose mapping file is JSON-LD naming the project's context
    good = _copy_project(run.projects / "good", extra=("shapes", "queries", "checks"))
    shutil.copy(ROOT / "seeds" / f"{SEED_003}.txt", good / "seeds")
    shutil.copy(ROOT / "seeds" / "unmapped-quotes.tsv", good / "seeds")
    shutil.copy(GOOD_JSONLD, good / "seeds")
    run.kg("good-build", good, "build")
    run.snapshot("good-before", good)
    run.kg("good-query", good, "query", "02-actor-statements", "--param", "speaker=Peskov")
    for name in [*HOSTILE_QUERIES, "keywords-in-comments"]:
        given = run.projects / "given" / f"{name}.rq"
        path = place(fx / "queries" / f"{name}.rq", given, server, canary)
        run.kg(f"query-{name}", good, "query", str(path))
    for name, (query, param, _needle) in CLI_PARAMS.items():
        run.kg(f"param-{name}", good, "query", query, "--param", param)
    run.kg("good-stats", good, "stats")
    run.kg("good-spans", good, "spans", str(good / "seeds" / GOOD_JSONLD.name))
    run.kg("good-check", good, "check")
    run.snapshot("good-after", good)

    hits = len(server.hits)
    results = run.run()
    results["_audit"] = {"run": run, "hits": server.hits[hits:]}  # type: ignore[dict-item]
    return results


def _commands(audit: dict, prefix: str = "") -> dict[str, dict]:
    return {k: v for k, v in audit.items() if "args" in v and k.startswith(prefix)}


def assert_one_line_error(result: dict, *needles: str) -> str:
    assert result["code"] == 2, result
    lines = [line for line in result["stderr"].splitlines() if line.strip()]
    assert len(lines) == 1, result["stderr"]
    assert lines[0].startswith("kg: error: ")
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def test_no_command_reaches_the_network_or_opens_files_it_was_not_given(
    audit: dict, server: Listener, canary: Path
):
    run: Audit = audit["_audit"]["run"]
    commands = _commands(audit)
    assert len(commands) > 25
    opened_everywhere = [p for r in commands.values() for p in r["opened"]]
    assert any(p.endswith(".jsonld") for p in opened_everywhere), "the hook sees files opened"
    for name, result in commands.items():
        assert "Traceback" not in result["stderr"], (name, result["stderr"])
        assert result["network"] == [], (name, result["network"])
        assert run.outside(result["opened"]) == [], (name, run.outside(result["opened"]))
        assert not any(
            (run.projects / p).resolve().is_relative_to(canary.resolve()) for p in result["opened"]
        )
    assert audit["_audit"]["hits"] == []


def test_hostile_jsonld_mapping_files_are_refused(audit: dict):
    for name, where, why in HOSTILE_JSONLD:
        line = assert_one_line_error(audit[f"jsonld-{name}"], f"{name}.jsonld: {where}: ", why)
        assert "never fetched" in line or "refused" in line
    assert_one_line_error(audit["jsonld-named-graph"], "named-graph.jsonld: holds the named graph")
    assert_one_line_error(
        audit["jsonld-malformed"], "malformed.jsonld:4: JSON syntax error at column 27"
    )


def test_owl_imports_are_never_followed(audit: dict):
    result = audit["imports-build"]
    assert result["code"] == 0, result["stderr"]
    assert "sources: 2 mapping files" in result["stdout"]
    text = (Path(result["args"][1]) / "build" / "dip.trig").read_text(encoding="utf-8")
    assert "imports-in-json-ld" in text and "imports-in-turtle" in text and "imports-test" in text
    assert "owl:imports" in text
    assert "dip-canary" not in text


def test_hostile_queries_and_checks_are_refused_naming_file_and_line(audit: dict):
    for name, line in HOSTILE_QUERIES.items():
        assert_one_line_error(audit[f"query-{name}"], f"{name}.rq:{line}: ")
    assert_one_line_error(audit["query-service"], "SERVICE <http://127.0.0.1:", "is refused")
    assert_one_line_error(audit["query-drop"], "DROP is a SPARQL update")
    assert_one_line_error(audit["query-from-file"], "FROM <file://", "does not hold")
    assert_one_line_error(audit["check-service"], "service-check.rq:10: SERVICE")
    ok = audit["query-keywords-in-comments"]
    assert ok["code"] == 0, ok["stderr"]
    assert "(3 rows)" in ok["stdout"]


def test_normal_build_query_stats_spans_and_check_with_a_jsonld_mapping(
    audit: dict, project: Project
):
    build = audit["good-build"]
    assert build["code"] == 0, build["stderr"]
    assert "sources: 1 mapping files" in build["stdout"]
    assert "validation: conforms" in build["stdout"]
    root = Path(build["args"][1])
    summary = json.loads((root / "build" / "summary.json").read_text())
    assert summary["triples"]["asserted"] == len(parse_mapping(GOOD_JSONLD, project)) > 50
    assert summary["sources"]["003"]["Statement"] == 1
    assert any(p.endswith(GOOD_JSONLD.name) for p in build["opened"])
    assert any(p.endswith("dip-context.jsonld") for p in build["opened"])
    query = audit["good-query"]
    assert query["code"] == 0, query["stderr"]
    assert "st:003-peskov-no-consultations" in query["stdout"]
    assert "(1 row)" in query["stdout"]
    assert audit["good-stats"]["code"] == 0
    assert audit["good-spans"]["code"] == 0, audit["good-spans"]["stdout"]
    check = audit["good-check"]
    assert check["code"] in (0, 1), check["stderr"]
    assert "uncovered-quotation" in check["stdout"]


def test_hostile_parameters_on_the_command_line_change_nothing(audit: dict):
    for name, (_query, _param, needle) in CLI_PARAMS.items():
        result = audit[f"param-{name}"]
        if needle:
            assert_one_line_error(result, needle)
        else:
            assert result["code"] == 0, result["stderr"]
            assert "(0 rows)" in result["stdout"]
    before, after = audit["good-before"]["snapshot"], audit["good-after"]["snapshot"]
    assert "build/dip.trig" in before
    assert before == after


# ---------------------------------------------------------------------------
# User values reach queries only as bindings
# ---------------------------------------------------------------------------

HOSTILE_VALUES = {
    "inject": 'x" } ; DROP ALL ; SELECT * {',
    "inject-iri": "http://x/> } ; DROP ALL ; SELECT * { <http://y",
    "inject-curie": 'dv:Attack"} ; DROP ALL ; {',
    "quotes": "'\"'''\"\"\"",
    "braces": "} } { {",
    "newlines": "Russia\n} DROP ALL {\n",
    "one-megabyte": "Zelenskyy " * 104_858,
    "unicode": "Зеленський 🕊 ‮evil",
    "nul": "Russia\x00",
    "surrogate": "\udcff",
    "iri": "<http://x>",
    "iri-with-space": "<http://x y>",
    "relative-iri": "<canary.ttl>",
    "unknown-prefix": "nope:Russia",
    "empty": "",
}

VALID = {"actor": "Russia", "proposal": "28-point plan", "issue": "territory", "iri": "dv:Attack"}


def parameterised(project: Project) -> list[tuple[CannedQuery, str]]:
    out = [(q, p.name) for q in list_queries(project.queries_dir) for p in q.params]
    out.append((parse_header(FIXTURES / "queries" / "label.rq"), "label"))
    return out


@pytest.fixture(scope="module")
def assembled(project: Project) -> Built:
    return assemble(project)


def test_hostile_values_give_no_rows_or_one_line_error_and_change_nothing(
    project: Project, assembled: Built
):
    graph = assembled.query_graph()
    engine = Engine(graph)
    size, quads = len(graph), len(engine.store)
    cases = parameterised(project)
    assert len(cases) >= 15 and any(p == "label" for _q, p in cases)
    outcomes: dict[str, int] = {"rows": 0, "error": 0}
    for query, name in cases:
        others = {p.name: VALID[p.kind] for p in query.params if not p.optional and p.name != name}
        for label, value in HOSTILE_VALUES.items():
            try:
                bindings = bind_params(query, graph, {**others, name: value})
                answer = run(engine, query, bindings)
            except InputError as exc:
                message = str(exc)
                assert "\n" not in message and len(message) < 300, (query.name, label, message)
                assert message.startswith(f"parameter {name}: "), (query.name, label, message)
                outcomes["error"] += 1
                continue
            found = answer.rows if answer.kind == "SELECT" else list(answer.graph or [])
            assert found == [], (query.name, name, label)
            outcomes["rows"] += 1
    assert outcomes["rows"] > 10 and outcomes["error"] > 100, outcomes
    assert (len(graph), len(engine.store)) == (size, quads)


def test_a_string_parameter_is_a_literal_on_both_engines(project: Project, assembled: Built):
    graph = assembled.query_graph()
    engine = Engine(graph)
    query = parse_header(FIXTURES / "queries" / "label.rq")
    good = bind_params(query, graph, {"label": "Volodymyr Zelenskyy"})
    assert good == {"label": Literal("Volodymyr Zelenskyy")}
    assert len(run(engine, query, good).rows) == 1
    assert len(list(run_rdflib(graph, query, good))) == 1
    size = len(graph)
    for label, value in HOSTILE_VALUES.items():
        if label == "surrogate":
            continue  # refused by bind_params, above
        bindings = bind_params(query, graph, {"label": value})
        assert bindings == {"label": Literal(value)}
        assert run(engine, query, bindings).rows == [], label
        assert list(run_rdflib(graph, query, bindings)) == [], label
    assert len(graph) == size


def test_iri_parameters_must_be_well_formed(project: Project, assembled: Built):
    graph: Graph = assembled.query_graph()
    query = next(q for q in list_queries(project.queries_dir) if q.name == "06-timeline")
    assert bind_params(query, graph, {"type": "dv:Attack"})["type"].endswith("vocab/Attack")
    for value in ('dv:x"y', "<http://x y>", "<relative>", "http://x/{y}"):
        with pytest.raises(
            InputError, match=r"^parameter type: .* is not a well-formed absolute IRI$"
        ):
            bind_params(query, graph, {"type": value})


def test_graph_names_follow_the_mapping_files(project_copy: Project):
    names = graph_names(project_copy)
    assert names == {
        str(GRAPH[k]) for k in ("000", "001", "002", "003", "004", "shared", "ontology", "inferred")
    }
    assert find_project(project_copy.root).mapping_files() == project_copy.mapping_files()


def test_from_sets_the_default_graph_of_a_local_query(built: Built):
    """FROM of a graph the dataset holds makes that graph the default graph; without FROM the
    default graph is the union of every graph."""
    engine = Engine(built.query_graph())
    count = "SELECT (COUNT(*) AS ?n) {} WHERE {{ ?s ?p ?o }}"
    one = engine.query(count.format(f"FROM <{GRAPH}000>")).rows[0][0]
    every = engine.query(count.format("")).rows[0][0]
    assert int(one) == len(built.dataset.graph(URIRef(f"{GRAPH}000")))
    assert int(every) > int(one)


def test_a_query_nested_too_deeply_is_an_input_error():
    text = "SELECT * WHERE " + "{" * 300 + " ?s ?p ?o " + "}" * 300
    with pytest.raises(InputError, match="nests its groups too deeply"):
        vet_query(text, set(), path="deep.rq")
