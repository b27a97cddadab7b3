"""Measures of the actor networks: centrality, reciprocity, camps, structural balance, paths.

* Degree counts neighbours (in the attribution network also in- and out-degree, the actors who
  attribute to it and those it attributes to).
* Betweenness is networkx's normalised shortest-path betweenness on hop counts: how often an
  actor lies on the shortest ways between two others, a broker's measure.
* PageRank (damping 0.85) follows edges weighted by their evidence count; on the undirected
  networks every edge leads both ways. The stance network is measured as unsigned: who shares
  targets with whom; its signs are read by :func:`camps` and :func:`balance`.
* Reciprocity (attribution network only): the share of attributions returned, for the graph and
  for each actor (``networkx.reciprocity``).
* Camps: Louvain communities of the stance network's positive edges, weighted by agreement, with
  a fixed seed so the same data give the same camps.
* Balance: every triangle of signed (non-mixed) stance edges; a triangle is balanced when the
  product of its signs is positive (a friend's friend is a friend, an enemy's enemy a friend).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

#: The seed of the community detection.
SEED = 42

#: The per-actor measures: of a directed network, of an undirected one, and the counts of
#: agreeing, opposing and mixed edges a signed network adds.
DIRECTED_MEASURES = ("in_degree", "out_degree", "degree", "betweenness", "pagerank", "reciprocity")
UNDIRECTED_MEASURES = ("degree", "betweenness", "pagerank")
SIGNED_MEASURES = ("agree", "oppose", "mixed")


@dataclass
class Metrics:
    """Graph-level figures and one row of measures per actor."""

    network: str
    directed: bool
    nodes: int
    edges: int
    density: float
    reciprocity: float | None = None
    signs: dict[str, int] = field(default_factory=dict)
    measures: tuple[str, ...] = ()
    rows: list[dict[str, Any]] = field(default_factory=list)


def measure(graph: nx.Graph) -> Metrics:
    """Degree, betweenness, PageRank (and reciprocity where directed) of every actor."""
    directed = graph.is_directed()
    n = graph.number_of_nodes()
    result = Metrics(
        network=str(graph.graph.get("network", "")),
        directed=directed,
        nodes=n,
        edges=graph.number_of_edges(),
        density=nx.density(graph) if n > 1 else 0.0,
        measures=DIRECTED_MEASURES if directed else UNDIRECTED_MEASURES,
    )
    signed = graph.graph.get("signed", False)
    if signed:
        result.measures += SIGNED_MEASURES
        signs = [s for *_, s in graph.edges(data="sign", default=0)]
        result.signs = {
            "agree": sum(1 for s in signs if s > 0),
            "oppose": sum(1 for s in signs if s < 0),
            "mixed": sum(1 for s in signs if s == 0),
        }
    if n == 0:
        return result
    betweenness = nx.betweenness_centrality(graph, normalized=True)
    pagerank = nx.pagerank(graph, alpha=0.85, weight="weight")
    if directed:
        result.reciprocity = nx.overall_reciprocity(graph) if graph.number_of_edges() else 0.0
    for node, data in graph.nodes(data=True):
        row: dict[str, Any] = {"actor": node, "label": data.get("label", node)}
        if directed:
            row["in_degree"] = graph.in_degree(node)
            row["out_degree"] = graph.out_degree(node)
        row["degree"] = graph.degree(node)
        row["betweenness"] = betweenness[node]
        row["pagerank"] = pagerank[node]
        if directed:
            row["reciprocity"] = _node_reciprocity(graph, node)
        if signed:
            signs = [s for *_, s in graph.edges(node, data="sign", default=0)]
            row["agree"] = sum(1 for s in signs if s > 0)
            row["oppose"] = sum(1 for s in signs if s < 0)
            row["mixed"] = sum(1 for s in signs if s == 0)
        result.rows.append(row)
    return result


def _node_reciprocity(graph: nx.DiGraph, node: str) -> float:
    """The share of an actor's in- and out-edges that are returned (0 for an isolated actor)."""
    if graph.degree(node) == 0:
        return 0.0
    return float(nx.reciprocity(graph, node))


def top(metrics: Metrics, key: str, n: int | None) -> list[dict[str, Any]]:
    """The rows sorted by ``key`` (highest first; ties by label, then CURIE), the first ``n``."""
    rows = sorted(metrics.rows, key=lambda r: (-r[key], r["label"].casefold(), r["actor"]))
    return rows if n is None else rows[:n]


# ---------------------------------------------------------------------------
# Camps and structural balance on the stance network
# ---------------------------------------------------------------------------


@dataclass
class CampReading:
    """Camps of the stance network and how its signed edges fall within and between them."""

    camps: list[list[str]]
    positive_inside: int = 0
    positive_between: int = 0
    negative_inside: int = 0
    negative_between: int = 0
    mixed: int = 0

    def camp_of(self) -> dict[str, int]:
        """Actor -> number of its camp (1 for the largest)."""
        return {node: i for i, camp in enumerate(self.camps, 1) for node in camp}


def camps(graph: nx.Graph, *, seed: int = SEED) -> CampReading:
    """Louvain communities of the positive edges (every actor of the network is in one camp;
    an actor without positive edges is a camp of its own). Camps are numbered from the
    largest; members and ties are sorted by label."""
    positive = nx.Graph()
    positive.add_nodes_from(graph.nodes)
    positive.add_edges_from(
        (u, v, {"weight": d.get("agree", 1)})
        for u, v, d in graph.edges(data=True)
        if d.get("sign", 0) > 0
    )
    found = nx.community.louvain_communities(positive, weight="weight", seed=seed)

    def name(node: str) -> tuple[str, str]:
        return (str(graph.nodes[node].get("label", node)).casefold(), node)

    ordered = sorted((sorted(c, key=name) for c in found), key=lambda c: (-len(c), name(c[0])))
    reading = CampReading(ordered)
    where = reading.camp_of()
    for u, v, sign in graph.edges(data="sign", default=0):
        inside = where[u] == where[v]
        if sign > 0:
            if inside:
                reading.positive_inside += 1
            else:
                reading.positive_between += 1
        elif sign < 0:
            if inside:
                reading.negative_inside += 1
            else:
                reading.negative_between += 1
        else:
            reading.mixed += 1
    return reading


@dataclass(frozen=True)
class Triangle:
    """Three actors pairwise joined by signed edges: ``edges`` is ((u, v, sign), ...)."""

    nodes: tuple[str, str, str]
    edges: tuple[tuple[str, str, int], ...]

    @property
    def balanced(self) -> bool:
        product = 1
        for *_, sign in self.edges:
            product *= sign
        return product > 0


@dataclass
class Balance:
    """Every triangle of signed edges, and how many triangles a mixed edge leaves unjudged."""

    triangles: list[Triangle]
    unjudged: int = 0

    @property
    def balanced(self) -> int:
        return sum(1 for t in self.triangles if t.balanced)

    @property
    def unbalanced(self) -> int:
        return len(self.triangles) - self.balanced


def balance(graph: nx.Graph) -> Balance:
    """The structural-balance reading of the signed stance network: its triangles of signed
    edges, ordered by their actors' CURIEs, each balanced or not."""
    order = sorted(graph.nodes)
    triangles: list[Triangle] = []
    unjudged = 0
    for a, b, c in _triangles(graph, order):
        signs = (graph[a][b].get("sign", 0), graph[b][c].get("sign", 0), graph[a][c].get("sign", 0))
        if 0 in signs:
            unjudged += 1
            continue
        triangles.append(
            Triangle((a, b, c), ((a, b, signs[0]), (b, c, signs[1]), (a, c, signs[2])))
        )
    return Balance(triangles, unjudged)


def _triangles(graph: nx.Graph, order: list[str]):  # type: ignore[no-untyped-def]
    rank = {node: i for i, node in enumerate(order)}
    for a in order:
        later = sorted((n for n in graph[a] if rank[n] > rank[a]), key=rank.__getitem__)
        for b, c in itertools.combinations(later, 2):
            if graph.has_edge(b, c):
                yield a, b, c


# ---------------------------------------------------------------------------
# Paths
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One edge of a path: from ``source`` to ``target``, and the edge data behind it, as
    (tail, head, data) for each direction the network holds (a directed network may hold both)."""

    source: str
    target: str
    edges: tuple[tuple[str, str, dict[str, Any]], ...]


def shortest_path(
    graph: nx.Graph, source: str, target: str, *, undirected: bool = False
) -> list[Step] | None:
    """The shortest path (fewest edges) from ``source`` to ``target``, following edge direction
    in a directed network unless ``undirected``; ``None`` when there is none. Both actors must
    be nodes of ``graph``."""
    view = graph.to_undirected(as_view=True) if undirected and graph.is_directed() else graph
    try:
        nodes = nx.shortest_path(view, source, target)
    except nx.NetworkXNoPath:
        return None
    steps = []
    for u, v in itertools.pairwise(nodes):
        found = []
        if graph.has_edge(u, v):
            found.append((u, v, graph[u][v]))
        if graph.is_directed() and undirected and graph.has_edge(v, u):
            found.append((v, u, graph[v][u]))
        steps.append(Step(u, v, tuple(found)))
    return steps
