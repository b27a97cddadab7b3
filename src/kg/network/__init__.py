"""The actor networks: who attributes positions to whom, who stands with whom, who meets whom.

Three networks are read from the graph with SPARQL (:mod:`kg.network.extract`) and built with
networkx; nodes are actors (their CURIE as node id, their ``rdfs:label`` as label), and every
edge keeps the evidence behind it: the statements, positions and events, each with its quote and
its offsets in the source text.

* **attribution** (directed): from the speaker of an attribution to the actor whose position
  (``dip:attributesPosition`` → ``dip:holder``) or action (``dip:attributesAction`` →
  ``dip:participant``) it ascribes;
* **stance** (undirected, signed): two actors agree (+1) or oppose each other (-1) through their
  positions on the same proposal, point, demand or other target, through a stance one takes
  towards the other, and through holding one position together (see :mod:`kg.network.extract`
  for the rules);
* **interaction** (undirected): actors who take part in the same event (``dip:participant``) or
  of whom one addresses the other (``dip:addressee``).

:mod:`kg.network.analysis` measures them (degree, betweenness, PageRank, reciprocity), finds
camps and reads structural balance on the stance network, and finds shortest paths with their
evidence; :mod:`kg.network.render` writes GraphML, GEXF, Graphviz DOT and pictures.
"""

from __future__ import annotations

from kg.network.extract import (
    KINDS,
    Actor,
    Corpus,
    Evidence,
    Span,
    build,
    extract,
    load_corpus,
    resolve_actor,
)

__all__ = [
    "KINDS",
    "Actor",
    "Corpus",
    "Evidence",
    "Span",
    "build",
    "extract",
    "load_corpus",
    "resolve_actor",
]
