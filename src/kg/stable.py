"""Stable blank-node labels, so the same input always serialises to the same bytes.

Mapping files use blank nodes for mentions, roles, time expressions and figures. rdflib gives
them random labels on every parse; here each blank node is relabelled from a hash of what it
says (its outgoing triples, recursively) and where it hangs (the subject and predicate that point
to it). The blank nodes of a mapping are trees, so the labels are unique; any tie is broken by
a counter in a deterministic order.
"""

from __future__ import annotations

import hashlib

from rdflib import BNode, Graph
from rdflib.term import Node


def _key(node: Node, labels: dict[BNode, str]) -> str:
    if isinstance(node, BNode):
        return "_:" + labels.get(node, "?")
    return node.n3()


def stable_bnode_map(graph: Graph) -> dict[BNode, BNode]:
    return stable_bnode_map_of(list(graph))


def stable_bnode_map_of(triples: list[tuple[Node, Node, Node]]) -> dict[BNode, BNode]:
    """Stable labels for the blank nodes of distinct triples (a graph's)."""
    said: dict[Node, list[tuple[Node, Node]]] = {}
    held: dict[Node, list[tuple[Node, Node]]] = {}
    for s, p, o in triples:
        if isinstance(s, BNode):
            said.setdefault(s, []).append((p, o))
        if isinstance(o, BNode):
            held.setdefault(o, []).append((s, p))
    bnodes = said.keys() | held.keys()
    if not bnodes:
        return {}
    content: dict[BNode, str] = {}
    visiting: set[BNode] = set()

    def digest(b: BNode) -> str:
        if b in content:
            return content[b]
        if b in visiting:  # a cycle of blank nodes: fall back on the predicate only
            return "cycle"
        visiting.add(b)
        parts = []
        for p, o in said.get(b, ()):
            parts.append(p.n3() + " " + (digest(o) if isinstance(o, BNode) else o.n3()))
        visiting.discard(b)
        content[b] = hashlib.sha1("\n".join(sorted(parts)).encode()).hexdigest()
        return content[b]

    for b in bnodes:
        digest(b)

    final: dict[BNode, str] = {}
    depth_sorted = sorted(bnodes, key=lambda b: content[b])

    def anchor(b: BNode, seen: frozenset[BNode] = frozenset()) -> str:
        incoming = []
        for s, p in held.get(b, ()):
            if isinstance(s, BNode):
                if s in seen:
                    continue
                incoming.append(anchor(s, seen | {b}) + " " + p.n3())
            else:
                incoming.append(s.n3() + " " + p.n3())
        return "|".join(sorted(incoming))

    used: dict[str, int] = {}
    for b in depth_sorted:
        h = hashlib.sha1((anchor(b) + "#" + content[b]).encode()).hexdigest()[:16]
        n = used.get(h, 0)
        used[h] = n + 1
        final[b] = f"b{h}" if n == 0 else f"b{h}x{n}"
    return {b: BNode(label) for b, label in final.items()}


def relabel(graph: Graph) -> Graph:
    """A copy of ``graph`` with stable blank-node labels."""
    mapping = stable_bnode_map(graph)
    out = Graph()
    for prefix, ns in graph.namespaces():
        out.bind(prefix, ns, override=True)
    for s, p, o in graph:
        out.add(
            (
                mapping.get(s, s) if isinstance(s, BNode) else s,
                p,
                mapping.get(o, o) if isinstance(o, BNode) else o,
            )
        )
    return out
