"""OWL RL reasoning: kept apart, free of trivial noise, useful, and bounded."""

from __future__ import annotations

import itertools

import pytest
from rdflib import Graph, URIRef
from rdflib.namespace import OWL, RDF, RDFS

from kg.namespaces import DIP, PROV
from kg.pipeline import Built
from kg.reason import Limits, ReasoningLimit, infer, is_trivial

EX = "https://w3id.org/dip/id/test/"


def test_inferred_graph_is_separate_from_asserted(built: Built):
    asserted = built.union(inferred=False)
    assert len(built.inferred) > 0
    assert not any(t in asserted for t in built.inferred)


def test_no_trivial_inferences(built: Built):
    noise = [t for t in built.inferred if is_trivial(t)]
    assert noise == []
    assert not any(s == o for s, p, o in built.inferred.triples((None, OWL.sameAs, None)))


def test_subclass_reasoning_types_people_as_actors_and_agents(built: Built):
    person = next(iter(built.union(inferred=False).subjects(RDF.type, DIP.Person)))
    assert (person, RDF.type, DIP.Actor) in built.inferred
    assert (person, RDF.type, PROV.Agent) in built.inferred


def test_prp_inv_reported_by_gives_reports():
    """prp-inv1: p owl:inverseOf q, x p y => y q x."""
    g = Graph()
    g.add((DIP.reportedBy, OWL.inverseOf, DIP.reports))
    a, b = URIRef(EX + "a"), URIRef(EX + "b")
    g.add((a, DIP.reportedBy, b))
    assert (b, DIP.reports, a) in infer(g)


def test_prp_trp_part_of_is_transitive():
    """prp-trp: p a owl:TransitiveProperty, x p y, y p z => x p z."""
    g = Graph()
    g.add((DIP.partOf, RDF.type, OWL.TransitiveProperty))
    a, b, c = (URIRef(EX + n) for n in "abc")
    g.add((a, DIP.partOf, b))
    g.add((b, DIP.partOf, c))
    assert (a, DIP.partOf, c) in infer(g)


def test_closure_is_bounded():
    """A long subclass chain needs many cycles; a tight bound stops it with a clear error."""
    g = Graph()
    chain = [URIRef(f"{EX}C{i}") for i in range(40)]
    for sub, sup in itertools.pairwise(chain):
        g.add((sub, RDFS.subClassOf, sup))
    g.add((URIRef(EX + "x"), RDF.type, chain[0]))
    with pytest.raises(ReasoningLimit, match="cycles"):
        infer(g, limits=Limits(max_cycles=2))


def test_cached_inferences_equal_a_fresh_closure(project):
    """The inference cache (keyed by the inputs' digest) gives exactly the fresh result."""
    from kg.pipeline import assemble

    cached = assemble(project)
    again = assemble(project)
    fresh = assemble(project, cache=False)
    assert set(cached.inferred) == set(fresh.inferred) == set(again.inferred)
