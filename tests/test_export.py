"""Exports of the seed build, and the JSON-LD context generated from the ontology.

TriG, N-Quads and JSON-LD keep one named graph per source, each equal to what its mapping file
says; JSON-LD uses the context shipped in ``ontology/dip-context.jsonld``, inline, with readable
terms; the same data gives the same bytes. (Round trips of every kind of term are in
``test_roundtrip.py``.)
"""

from __future__ import annotations

import io
import json
import random
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import OWL, RDF, BNode, Dataset, Graph, URIRef

from kg.export import (
    context_document,
    context_path,
    jsonld_context,
    serialize,
)
from kg.load import INFERRED_GRAPH, ONTOLOGY_GRAPH
from kg.namespaces import DIP, GRAPH, PREFIXES
from kg.pipeline import Built
from kg.project import Project
from tests.conftest import kg

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:rdflib")

SOURCE_GRAPHS = {GRAPH[name] for name in ("000", "001", "002", "003", "004", "shared")}
OX_FORMAT = {"trig": ox.RdfFormat.TRIG, "nquads": ox.RdfFormat.N_QUADS}
OX_FORMAT["jsonld"] = ox.RdfFormat.JSON_LD


def canonical_graphs(quads: list[ox.Quad]) -> dict[str, set[str]]:
    """Each named graph's triples, in canonical form (RDFC-1.0), by graph name."""
    by_graph: dict[str, list[ox.Triple]] = {}
    for q in quads:
        by_graph.setdefault(str(q.graph_name), []).append(q.triple)
    out = {}
    for name, triples in by_graph.items():
        ds = ox.Dataset(ox.Quad(t.subject, t.predicate, t.object) for t in triples)
        ds.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
        out[name] = {str(q) for q in ds}
    return out


def oxigraph_quads(graph: Graph, name: URIRef) -> list[ox.Quad]:
    data = graph.serialize(format="nt").encode("utf-8")
    graph_name = ox.NamedNode(str(name))
    return [
        ox.Quad(t.subject, t.predicate, t.object, graph_name)
        for t in ox.parse(data, format=ox.RdfFormat.N_TRIPLES)
    ]


@pytest.fixture(scope="module")
def exported(built: Built) -> dict[str, bytes]:
    dataset = built.export_dataset(inferred=True)
    return {fmt: serialize(dataset, fmt) for fmt in ("trig", "nquads", "jsonld")}


@pytest.fixture(scope="module")
def expected_graphs(built: Built) -> dict[str, set[str]]:
    """What each named graph must hold: its mapping file (or the ontology, or the inferences)."""
    quads: list[ox.Quad] = []
    for gid in built.loaded.sources:
        quads += oxigraph_quads(built.loaded.dataset.graph(gid), gid)
    quads += oxigraph_quads(built.inferred, INFERRED_GRAPH)
    return canonical_graphs(quads)


@pytest.mark.parametrize("fmt", ["trig", "nquads", "jsonld"])
def test_dataset_exports_keep_one_named_graph_per_source(
    fmt: str, exported: dict[str, bytes], expected_graphs: dict[str, set[str]]
) -> None:
    quads = list(ox.parse(io.BytesIO(exported[fmt]), format=OX_FORMAT[fmt]))
    got = canonical_graphs(quads)
    names = {f"<{g}>" for g in (*SOURCE_GRAPHS, ONTOLOGY_GRAPH, INFERRED_GRAPH)}
    assert set(got) == names  # nothing in the default graph, no other graph
    for name in sorted(names):
        assert got[name] == expected_graphs[name], name


def test_without_inferences_there_is_no_inferred_graph(built: Built) -> None:
    payload = serialize(built.export_dataset(inferred=False), "nquads")
    names = {str(q.graph_name) for q in ox.parse(payload, format=ox.RdfFormat.N_QUADS)}
    assert names == {f"<{g}>" for g in (*SOURCE_GRAPHS, ONTOLOGY_GRAPH)}


def test_jsonld_export_reads_back_in_rdflib_graph_by_graph(
    exported: dict[str, bytes], expected_graphs: dict[str, set[str]]
) -> None:
    """rdflib (what a JSON-LD mapping is loaded with) reads the same named graphs back."""
    back = Dataset()
    back.parse(data=exported["jsonld"].decode("utf-8"), format="json-ld")
    quads: list[ox.Quad] = []
    for graph in back.graphs():
        if len(graph):
            quads += oxigraph_quads(graph, graph.identifier)
    assert canonical_graphs(quads) == expected_graphs


def test_jsonld_export_is_compact_with_the_shipped_context_inline(
    exported: dict[str, bytes],
) -> None:
    doc = json.loads(exported["jsonld"])
    assert doc["@context"] == jsonld_context()  # inline: a reader fetches nothing
    graphs = {g["@id"]: g["@graph"] for g in doc["@graph"]}
    assert set(graphs) == {"graph:000", "graph:001", "graph:002", "graph:003", "graph:004"} | {
        "graph:shared",
        "graph:ontology",
        "graph:inferred",
    }
    nodes = {n["@id"]: n for n in graphs["graph:002"]}
    statement = nodes["st:002-cgtn-us-pressing-donbas"]
    assert statement["@type"] == "Attribution"
    assert statement["speaker"] == "actor:cgtn"  # "@type": "@id" gives a bare compact IRI
    assert statement["actType"] == "dv:Report"
    mention = nodes[statement["denotedBy"]]
    assert mention["@type"] == "Mention" and mention["inSource"] == "src:002"
    assert isinstance(mention["oa:start"], int) and isinstance(mention["oa:end"], int)
    dated = [n for n in graphs["graph:000"] if "earliest" in n]
    assert dated and all(isinstance(n["earliest"], str) for n in dated)  # coerced xsd:date
    keys = {k for nodes_ in graphs.values() for n in nodes_ for k in n}
    assert not [k for k in keys if k.startswith(str(DIP))]  # no property in full
    # dip:place has no term (its name is a prefix); dip:value's term is for xsd:decimal, and
    # the seeds also give integers, which go under the compact IRI
    assert {k for k in keys if k.startswith("dip:")} == {"dip:place", "dip:value"}
    assert "value" in keys


def _shuffled(dataset: Dataset, seed: int) -> Dataset:
    """The same dataset, its quads inserted in another order, its blank nodes renamed."""
    quads = list(dataset.quads((None, None, None, None)))
    random.Random(seed).shuffle(quads)
    rename: dict[BNode, BNode] = {}
    out = Dataset()
    for s, p, o, g in quads:
        s = rename.setdefault(s, BNode()) if isinstance(s, BNode) else s
        o = rename.setdefault(o, BNode()) if isinstance(o, BNode) else o
        out.graph(g).add((s, p, o))
    return out


def test_seed_export_is_the_same_bytes_whatever_the_order(
    built: Built, exported: dict[str, bytes]
) -> None:
    """TriG: canonical blank-node labels and rdflib's writer (every format, on generated data,
    in ``test_roundtrip.py``)."""
    again = serialize(_shuffled(built.export_dataset(inferred=True), seed=7), "trig")
    assert again == exported["trig"]


# --- the JSON-LD context --------------------------------------------------------------------


def test_shipped_context_is_what_the_ontology_gives(project: Project) -> None:
    shipped = context_path(project.ontology_dir).read_bytes()
    assert shipped == context_document(project.ontology_files()), "run `kg context`"


def test_context_defines_readable_terms_from_the_ontology(project: Project) -> None:
    ctx = jsonld_context()
    assert ctx == jsonld_context(project.ontology_dir)
    assert ctx["speaker"] == {"@id": "dip:speaker", "@type": "@id"}
    assert ctx["earliest"] == {"@id": "dip:earliest", "@type": "xsd:date"}
    assert ctx["pointNumber"] == {"@id": "dip:pointNumber", "@type": "xsd:integer"}
    assert ctx["headline"] == "dip:headline"  # xsd:string: plain, so @en strings fit too
    assert ctx["Statement"] == "dip:Statement"
    for prefix, ns in PREFIXES.items():
        assert ctx[prefix] == ns  # prefixes kept; "place" stays one (dip:place has no term)
    onto = Graph()
    for path in project.ontology_files():
        onto.parse(path)
    for kind in (OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty):
        for term in onto.subjects(RDF.type, kind):
            name = str(term).removeprefix(str(DIP))
            if name != str(term) and name not in PREFIXES:
                assert name in ctx, name


def test_context_check_fails_until_the_file_is_rewritten(project_copy: Project) -> None:
    onto = project_copy.ontology_dir / "dip.ttl"
    onto.write_text(
        onto.read_text(encoding="utf-8")
        + "\ndip:mediatedBy a owl:ObjectProperty ; rdfs:range dip:Actor .\n",
        encoding="utf-8",
    )
    stale = kg("context", "--check", root=project_copy.root)
    assert stale.returncode == 1 and "would change" in stale.stdout
    wrote = kg("context", root=project_copy.root)
    assert wrote.returncode == 0, wrote.stderr
    assert kg("context", "--check", root=project_copy.root).returncode == 0
    ctx = jsonld_context(project_copy.ontology_dir)
    assert ctx["mediatedBy"] == {"@id": "dip:mediatedBy", "@type": "@id"}


def test_missing_context_is_one_line_exit_2(project_copy: Project) -> None:
    path: Path = context_path(project_copy.ontology_dir)
    path.unlink()
    proc = kg("export", "--format", "jsonld", root=project_copy.root)
    assert proc.returncode == 2 and proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and str(path) in lines[0] and "kg context" in lines[0], proc.stderr
