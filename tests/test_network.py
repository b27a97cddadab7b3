"""The actor networks, on a hand-made corpus whose answers are worked out by hand, and on the seeds.

``tests/fixtures/network/seeds/001_network.{txt,ttl}`` is a small project's mapping (seven
invented actors) that runs through the same loading and extraction as the command line. Its
networks, by construction:

* attribution: Alba → Bruno, Bruno → Alba, Carla → Alba (two statements), Alba → Dario (an
  attributed action);
* stance: Alba + Bruno (both back the Harbour Plan, and hold one position together), Alba −
  Carla and Bruno − Carla (Carla rejects the plan), Dario − Alba (a stance towards her), Dario +
  Bruno (supports Bruno's acceptance), Bruno − the harbour official (rejects the official's
  demand), Carla / Elena mixed (Elena both supports and rejects the Bridge Plan); Fabio is only
  ambivalent and the official's demand about the plan neither agrees nor opposes, so neither
  makes an edge;
* interaction: Alba, Bruno and Carla at the summit, Alba and Fabio at the fair, Alba writes to
  Dario.
"""

from __future__ import annotations

import json
import re
import shutil
from fractions import Fraction
from pathlib import Path

import networkx as nx
import pytest

from kg.engine import Engine
from kg.errors import InputError
from kg.network import build, extract, load_corpus, resolve_actor
from kg.network.analysis import balance, camps, measure, shortest_path, top
from kg.network.extract import Corpus
from kg.network.render import dot, gexf, graphml, picture, plain_value
from kg.pipeline import Built
from kg.project import find_project
from tests.conftest import ROOT, kg

FIXTURE = ROOT / "tests" / "fixtures" / "network"
DOCS = ROOT / "docs" / "network"
ALPHA = Fraction(17, 20)  # networkx's default damping

A, B, C, D = "actor:alba", "actor:bruno", "actor:carla", "actor:dario"
E, F, G = "actor:elena", "actor:fabio", "actor:001-harbour-official"


@pytest.fixture(scope="module")
def fixture_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project holding the real ontology and the hand-made mapping."""
    root = tmp_path_factory.mktemp("network-project")
    shutil.copytree(ROOT / "ontology", root / "ontology")
    shutil.copytree(FIXTURE / "seeds", root / "seeds")
    return root


@pytest.fixture(scope="module")
def small(fixture_root: Path) -> Corpus:
    return load_corpus(find_project(fixture_root))


@pytest.fixture(scope="module")
def seeds(built: Built) -> Corpus:
    return extract(Engine(built.query_graph()))


def approx(value: Fraction | float) -> object:
    return pytest.approx(float(value), abs=1e-6)


# ---------------------------------------------------------------------------
# The hand-made corpus: attribution network
# ---------------------------------------------------------------------------


def test_attribution_edges_carry_acts_polarity_and_statements(small: Corpus) -> None:
    graph = build(small, "attribution")
    assert graph.is_directed()
    assert sorted(graph.edges) == [(A, B), (A, D), (B, A), (C, A)]
    assert graph.nodes[A]["label"] == "Alba" and graph.nodes[A]["type"] == "Person"
    carla = graph[C][A]
    assert carla["weight"] == 2
    assert carla["acts"] == ["accuse", "deny"]
    assert carla["polarity"] == ["negative", "positive"]
    assert carla["label"] == "accuse, deny; negative, positive (2)"
    assert carla["statements"] == [
        "st:001-carla-accuses-alba-delay",
        "st:001-carla-denies-alba-peace",
    ]
    assert carla["positions"] == ["pos:001-alba-wants-delay", "pos:001-alba-wants-peace"]
    assert graph[A][D]["events"] == ["ev:001-raid"]  # an attributed action
    assert graph[A][D]["statements"] == ["st:001-alba-dario-raid"]


def test_attribution_degree_reciprocity_and_betweenness(small: Corpus) -> None:
    metrics = measure(build(small, "attribution"))
    rows = {r["actor"]: r for r in metrics.rows}
    assert {n: (r["in_degree"], r["out_degree"]) for n, r in rows.items()} == {
        A: (2, 2),
        B: (1, 1),
        C: (0, 1),
        D: (1, 0),
    }
    # Alba <-> Bruno is the one returned pair: 2 of the 4 edges.
    assert metrics.reciprocity == approx(Fraction(1, 2))
    # Alba: 1 of her 2 successors (Bruno, Dario) is among her 2 predecessors (Bruno, Carla).
    assert {n: r["reciprocity"] for n, r in rows.items()} == {A: 0.5, B: 1.0, C: 0.0, D: 0.0}
    # Alba lies on Bruno->Dario, Carla->Bruno, Carla->Dario: 3 of (n-1)(n-2) = 6 ordered pairs.
    assert {n: r["betweenness"] for n, r in rows.items()} == {A: 0.5, B: 0.0, C: 0.0, D: 0.0}


def test_attribution_pagerank_solves_its_equations(small: Corpus) -> None:
    """PageRank written out for this graph: t = (1-α)/4; Dario has no out-edge, so his rank is
    spread evenly; Bruno and Dario are each reached only by half of Alba's rank (plus Dario's
    share), so they are equal (d). Then c = t + αd/4, d(1-α/4) = t + αa/2 and
    a = t + α(d + c + d/4); eliminating c and d gives a."""
    t = (1 - ALPHA) / 4
    k = ALPHA * (5 + ALPHA) / 4 / (1 - ALPHA / 4)
    a = t * (1 + ALPHA + k) / (1 - k * ALPHA / 2)
    d = (t + ALPHA * a / 2) / (1 - ALPHA / 4)
    c = t + ALPHA * d / 4
    assert a + 2 * d + c == 1
    rows = {r["actor"]: r["pagerank"] for r in measure(build(small, "attribution")).rows}
    assert rows == {A: approx(a), B: approx(d), C: approx(c), D: approx(d)}


# ---------------------------------------------------------------------------
# The hand-made corpus: interaction network
# ---------------------------------------------------------------------------


def test_interaction_edges_are_shared_events_and_addressees(small: Corpus) -> None:
    graph = build(small, "interaction")
    assert not graph.is_directed()
    edges = {tuple(sorted(e)): d for *e, d in graph.edges(data=True)}
    assert sorted(edges) == sorted(
        [(A, B), (A, C), (B, C), (A, F), (A, D)]
    )  # Dario's lone raid makes no edge
    assert edges[(A, B)]["events"] == ["ev:001-summit"]
    assert edges[(A, F)]["events"] == ["ev:001-fair"]
    assert edges[(A, D)]["statements"] == ["st:001-alba-writes-dario"]
    assert edges[(A, D)]["events"] == []


def test_interaction_degree_betweenness_and_pagerank(small: Corpus) -> None:
    """Alba is the hub: she lies on the 5 shortest paths between Bruno or Carla and Dario or
    Fabio and between Dario and Fabio, of 6 pairs of the others (5/6). PageRank on the
    undirected graph: a = t + αb + 2αd, b = t + α(a/4 + b/2), d = t + αa/4 (Bruno and Carla are
    alike (b), and so are Dario and Fabio (d))."""
    metrics = measure(build(small, "interaction"))
    rows = {r["actor"]: r for r in metrics.rows}
    assert metrics.reciprocity is None
    assert {n: r["degree"] for n, r in rows.items()} == {A: 4, B: 2, C: 2, D: 1, F: 1}
    assert rows[A]["betweenness"] == approx(Fraction(5, 6))
    assert all(rows[n]["betweenness"] == 0 for n in (B, C, D, F))
    t = (1 - ALPHA) / 5
    a = (t + ALPHA * t / (1 - ALPHA / 2) + 2 * ALPHA * t) / (
        1 - ALPHA**2 / (4 * (1 - ALPHA / 2)) - ALPHA**2 / 2
    )
    b = (t + ALPHA * a / 4) / (1 - ALPHA / 2)
    d = t + ALPHA * a / 4
    assert a + 2 * b + 2 * d == 1
    assert {n: r["pagerank"] for n, r in rows.items()} == {
        A: approx(a),
        B: approx(b),
        C: approx(b),
        D: approx(d),
        F: approx(d),
    }
    assert [r["actor"] for r in top(metrics, "pagerank", 2)] == [A, B]  # ties by label


# ---------------------------------------------------------------------------
# The hand-made corpus: stance network, camps, balance
# ---------------------------------------------------------------------------


def test_stance_edges_follow_the_documented_rules(small: Corpus) -> None:
    graph = build(small, "stance")
    found = {
        tuple(sorted((u, v))): (d["sign"], d["agree"], d["oppose"], d["reasons"])
        for u, v, d in graph.edges(data=True)
    }
    assert found == {
        (A, B): (1, 2, 0, ["hold together", "same target"]),
        (A, C): (-1, 0, 1, ["same target"]),
        (B, C): (-1, 0, 1, ["same target"]),
        (A, D): (-1, 0, 1, ["stance towards"]),
        (B, D): (1, 1, 0, ["same target"]),  # Dario supports Bruno's position
        (G, B): (-1, 0, 1, ["same target"]),  # Bruno rejects the official's demand
        (C, E): (0, 1, 1, ["same target"]),  # Elena both supports and rejects
    }
    assert F not in graph  # ambivalent only
    assert graph[C][E]["relation"] == "mixed"
    assert graph[A][B]["targets"] == ["prop:001-harbour-plan"]
    assert graph[A][B]["ties"] == [
        "agree (hold together): pos:001-alba-bruno-ceasefire",
        "agree (same target): pos:001-alba-supports-harbour + pos:001-bruno-accepts-harbour"
        " on prop:001-harbour-plan",
    ]
    assert graph[B][G]["targets"] == ["pos:001-official-demands-cede"]
    # the evidence of a position voiced by a statement is that statement; else the position
    kinds = {(e.kind, e.node) for e in graph[A][C]["evidence"]}
    assert kinds == {
        ("statement", "st:001-alba-supports-harbour"),
        ("statement", "st:001-carla-rejects-harbour"),
    }
    assert {e.node for e in graph[A][B]["evidence"]} == {
        "st:001-alba-supports-harbour",
        "pos:001-bruno-accepts-harbour",
        "pos:001-alba-bruno-ceasefire",
    }


def test_camps_are_communities_of_agreement(small: Corpus) -> None:
    graph = build(small, "stance")
    reading = camps(graph)
    assert reading.camps == [[A, B, D], [G], [C], [E]]  # singletons by label
    assert (reading.positive_inside, reading.positive_between) == (2, 0)
    assert (reading.negative_inside, reading.negative_between) == (1, 3)  # Dario - Alba inside
    assert reading.mixed == 1
    assert camps(build(small, "stance")).camps == reading.camps


def test_balance_judges_every_signed_triangle(small: Corpus) -> None:
    judged = balance(build(small, "stance"))
    by_nodes = {t.nodes: t for t in judged.triangles}
    assert sorted(by_nodes) == [(A, B, C), (A, B, D)]
    assert by_nodes[(A, B, C)].balanced  # + - -: the friends share an opponent
    assert by_nodes[(A, B, C)].edges == ((A, B, 1), (B, C, -1), (A, C, -1))
    assert not by_nodes[(A, B, D)].balanced  # + + -: Dario backs Bruno but opposes Alba
    assert (judged.balanced, judged.unbalanced, judged.unjudged) == (1, 1, 0)


def test_balance_leaves_a_triangle_with_a_mixed_edge_unjudged() -> None:
    graph = nx.Graph()
    graph.add_edge("x", "y", sign=1)
    graph.add_edge("y", "z", sign=-1)
    graph.add_edge("x", "z", sign=0)
    judged = balance(graph)
    assert (judged.triangles, judged.unjudged) == ([], 1)
    graph["x"]["z"]["sign"] = -1
    assert balance(graph).balanced == 1


# ---------------------------------------------------------------------------
# The hand-made corpus: evidence, paths, the command line
# ---------------------------------------------------------------------------


def test_every_evidence_span_selects_its_quote(small: Corpus, fixture_root: Path) -> None:
    text = (fixture_root / "seeds" / "001_network.txt").read_text(encoding="utf-8")
    spans = [
        s
        for kind in ("attribution", "stance", "interaction")
        for *_, evidence in build(small, kind).edges(data="evidence")
        for item in evidence
        for s in item.spans
    ]
    assert len(spans) > 20
    for span in spans:
        assert span.file == "seeds/001_network.txt"
        assert text[span.start : span.end] == span.quote


def test_shortest_path_follows_direction_unless_told(small: Corpus) -> None:
    graph = build(small, "attribution")
    steps = shortest_path(graph, C, B)
    assert steps is not None and [(s.source, s.target) for s in steps] == [(C, A), (A, B)]
    assert shortest_path(graph, B, C) is None
    back = shortest_path(graph, B, C, undirected=True)
    assert back is not None
    assert [[(u, v) for u, v, _ in s.edges] for s in back] == [[(B, A), (A, B)], [(C, A)]]


def test_path_prints_the_evidence_of_each_edge(fixture_root: Path) -> None:
    result = kg("network", "path", "Dario", "carla", "--format", "json", root=fixture_root)
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert (doc["from"]["actor"], doc["to"]["actor"], doc["length"]) == (D, C, 2)
    first, second = (step["edges"][0]["evidence"] for step in doc["steps"])
    assert [(e["kind"], e["node"]) for e in first] == [("statement", "st:001-alba-writes-dario")]
    assert first[0]["spans"] == [
        {"file": "seeds/001_network.txt", "start": 817, "end": 837, "quote": "Alba wrote to Dario."}
    ]
    assert [(e["kind"], e["node"]) for e in second] == [("event", "ev:001-summit")]
    text = kg("network", "path", D, C, root=fixture_root).stdout
    assert "seeds/001_network.txt 776-816: “Alba, Bruno and Carla met at the summit.”" in text


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("actor:nobody", "Alba"), 2, "unknown actor 'actor:nobody'"),
        (("Dario", "Carla", "--network", "attribution"), 1, "following the direction"),
        (("Dario", "Carla", "--network", "attribution", "--undirected"), 0, ""),
        (("Fabio", "Alba", "--network", "stance"), 1, "takes no part in the stance network"),
    ],
)
def test_path_exit_codes(fixture_root: Path, args: tuple[str, ...], code: int, message: str):
    result = kg("network", "path", *args, root=fixture_root)
    assert result.returncode == code, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    if code:
        assert len(result.stderr.strip().splitlines()) == 1


def test_failed_export_leaves_the_old_file(fixture_root: Path, tmp_path: Path) -> None:
    target = tmp_path / "stance.dot"
    target.write_text("kept\n")
    result = kg(
        "network", "export", "--network", "stance", "--metric", "in_degree", "-o", str(target),
        root=fixture_root,
    )  # fmt: skip
    assert result.returncode == 2
    assert "no measure 'in_degree'" in result.stderr
    assert target.read_text() == "kept\n"
    assert [p.name for p in tmp_path.iterdir()] == ["stance.dot"]


def test_picture_labels_every_actor(small: Corpus) -> None:
    graph = build(small, "interaction")
    svg = picture(graph, "svg", "betweenness").decode("utf-8")
    labels = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    assert {"Alba", "Bruno", "Carla", "Dario", "Fabio"} <= set(labels)
    source = dot(graph, "betweenness")
    assert source.count("fillcolor=9") == 1  # the highest value gets the darkest fill
    assert 'fontsize="20.0"' in source or "fontsize=20.0" in source


def test_picture_keeps_quotes_and_backslashes_of_labels_as_written() -> None:
    graph = nx.Graph(network="interaction")
    graph.add_node("actor:x", label='back\\slash \\N "quoted"', type="Person")
    graph.add_node("actor:y", label="Y", type="UnnamedSource")
    graph.add_edge("actor:x", "actor:y", weight=1, label="1 event")
    svg = picture(graph, "svg").decode("utf-8")
    labels = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    assert "back\\slash \\N &quot;quoted&quot;" in labels  # not a line break, not the node id
    assert 'style="rounded,filled,dashed"' in dot(graph)  # the unnamed source


# ---------------------------------------------------------------------------
# Naming actors
# ---------------------------------------------------------------------------


def test_actors_are_named_by_curie_iri_label_or_alternative_label(seeds: Corpus) -> None:
    putin = "actor:vladimir-putin"
    assert resolve_actor(seeds, putin) == putin
    assert resolve_actor(seeds, "<https://w3id.org/dip/id/actor/vladimir-putin>") == putin
    assert resolve_actor(seeds, "Vladimir Putin") == putin
    assert resolve_actor(seeds, "putin") == putin  # an alternative label, any case
    with pytest.raises(InputError, match=r"unknown actor 'actor:putin'.*actor:vladimir-putin"):
        resolve_actor(seeds, "actor:putin")
    with pytest.raises(InputError, match="unknown actor 'Nobody at all'"):
        resolve_actor(seeds, "Nobody at all")


# ---------------------------------------------------------------------------
# The seed corpus: exports
# ---------------------------------------------------------------------------


def test_plain_values_are_what_graphml_and_gexf_hold() -> None:
    assert plain_value(None) == ""
    assert plain_value(["b", "a"]) == "b; a"
    assert plain_value({"b", "a"}) == "a; b"
    assert plain_value((1, None)) == "1; "
    assert plain_value(Path("x")) == "x"
    assert plain_value(True) is True and plain_value(2) == 2 and plain_value(0.5) == 0.5


@pytest.mark.parametrize("kind", ["attribution", "stance", "interaction"])
@pytest.mark.parametrize("fmt", ["graphml", "gexf"])
def test_exports_load_back_with_plain_attributes(
    seeds: Corpus, tmp_path: Path, kind: str, fmt: str
) -> None:
    graph = build(seeds, kind)
    assert graph.number_of_edges() > 20
    path = tmp_path / f"net.{fmt}"
    path.write_bytes(graphml(graph) if fmt == "graphml" else gexf(graph))
    back = nx.read_graphml(path) if fmt == "graphml" else nx.read_gexf(path)
    assert back.is_directed() == graph.is_directed()
    assert (back.number_of_nodes(), back.number_of_edges()) == (
        graph.number_of_nodes(),
        graph.number_of_edges(),
    )
    assert {n: back.nodes[n]["label"] for n in back} == {
        n: d["label"] for n, d in graph.nodes(data=True)
    }
    plain = (str, int, float, bool)
    for _, data in back.nodes(data=True):
        assert {"pagerank", "betweenness", "degree"} <= set(data)
        assert all(isinstance(v, plain) for v in data.values()), data
    for *_, data in back.edges(data=True):
        assert all(isinstance(v, plain) for v in data.values()), data
        assert re.match(r"\S+ seeds/\S+\.txt:\d+-\d+", data["evidence"])


def test_exports_are_the_same_bytes_from_a_second_extraction(seeds: Corpus, built: Built) -> None:
    again = extract(Engine(built.query_graph()))
    for kind in ("attribution", "stance", "interaction"):
        first, second = build(seeds, kind), build(again, kind)
        assert graphml(first) == graphml(second)
        assert gexf(first) == gexf(second)
        assert dot(first) == dot(second)
    assert b"lastmodifieddate" not in gexf(first)


def test_committed_picture_is_what_the_code_draws_now(seeds: Corpus) -> None:
    """docs/network/stance.{dot,svg,png}: the DOT source must match; the pictures are
    compared too when this machine's Graphviz drew the committed SVG."""
    from kg.docs import dot_program, graphviz_version

    graph = build(seeds, "stance")
    regenerate = (
        "regenerate with: for f in dot svg png; do "
        "kg network export --network stance -o docs/network/stance.$f; done"
    )
    source = dot(graph, "degree")
    assert (DOCS / "stance.dot").read_text(encoding="utf-8") == source, regenerate
    committed = (DOCS / "stance.svg").read_bytes()
    drawn_with = re.search(rb"Generated by graphviz version ([^>]*?) -->", committed)
    assert drawn_with is not None
    program = dot_program()
    assert program is not None, "Graphviz `dot` draws the pictures (apt-get install graphviz)"
    if drawn_with.group(1).decode().strip() == graphviz_version(program):
        assert picture(graph, "svg") == committed, regenerate
        assert picture(graph, "png") == (DOCS / "stance.png").read_bytes(), regenerate


# ---------------------------------------------------------------------------
# The seed corpus: the command line
# ---------------------------------------------------------------------------


def test_metrics_command_ranks_actors(tmp_path: Path) -> None:
    result = kg("network", "metrics", "--network", "attribution", "--format", "json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["network"] == "attribution" and doc["directed"] is True
    assert 0 <= doc["reciprocity"] <= 1
    ranks = [row["pagerank"] for row in doc["rows"]]
    assert len(ranks) == 10 and ranks == sorted(ranks, reverse=True)
    assert {"in_degree", "out_degree", "betweenness", "reciprocity"} <= set(doc["rows"][0])


def test_camps_command_reads_camps_and_balance() -> None:
    result = kg("network", "camps")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Camps of the stance network")
    assert any(line.startswith("  camp 1 (") for line in lines)
    summary = next(line for line in lines if line.startswith("Structural balance:"))
    total, good, bad = map(int, re.findall(r"(\d+) (?:triangles?|balanced|unbalanced)", summary))
    assert total == good + bad > 0
    assert sum(1 for line in lines if re.match(r"  (un)?balanced ", line)) == total


def test_path_command_on_the_seeds() -> None:
    unknown = kg("network", "path", "actor:putin", "Zelenskyy")
    assert unknown.returncode == 2
    assert unknown.stderr.startswith("kg: error: unknown actor 'actor:putin'")
    assert "actor:vladimir-putin" in unknown.stderr and "Traceback" not in unknown.stderr
    found = kg("network", "path", "Putin", "Zelenskyy")
    assert found.returncode == 0, found.stderr
    assert found.stdout.startswith("Vladimir Putin (actor:vladimir-putin) to Volodymyr Zelenskyy")
    assert re.search(r"seeds/\d{3}_\w+\.txt \d+-\d+: “", found.stdout)


def test_export_command_writes_a_picture(tmp_path: Path) -> None:
    out = tmp_path / "pictures" / "attribution.png"
    result = kg("network", "export", "--network", "attribution", "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert out.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    unknown = kg("network", "export", "-o", str(tmp_path / "net.txt"))
    assert unknown.returncode == 2 and "cannot tell the format" in unknown.stderr
