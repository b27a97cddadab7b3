"""The ontology documents every term, has a full header, and keeps labels and names in step."""

from __future__ import annotations

import re

import pytest
from rdflib import Graph, URIRef
from rdflib.namespace import DCTERMS, OWL, RDF, RDFS, SKOS

from kg.load import parse_turtle
from kg.namespaces import DIP, DV, ONTOLOGY_IRI, VANN
from kg.project import Project


@pytest.fixture(scope="module")
def onto(project: Project) -> Graph:
    g = Graph()
    for path in project.ontology_files():
        parse_turtle(path, g)
    return g


def _terms(g: Graph, ns: str) -> list[URIRef]:
    out = set()
    for s in g.subjects(RDF.type, None):
        if isinstance(s, URIRef) and str(s).startswith(ns):
            out.add(s)
    return sorted(out)


def test_header_is_complete(onto: Graph):
    o = URIRef(ONTOLOGY_IRI)
    assert (o, RDF.type, OWL.Ontology) in onto
    for prop in (
        DCTERMS.title,
        DCTERMS.description,
        DCTERMS.license,
        DCTERMS.creator,
        OWL.versionIRI,
        OWL.versionInfo,
        VANN.preferredNamespacePrefix,
        VANN.preferredNamespaceUri,
    ):
        assert onto.value(o, prop) is not None, f"ontology header lacks {prop}"
    assert str(onto.value(o, VANN.preferredNamespaceUri)) == str(DIP)


def test_required_classes_exist(onto: Graph):
    for name in (
        "Actor",
        "Person",
        "Organization",
        "State",
        "Group",
        "Delegation",
        "NewsOutlet",
        "UnnamedSource",
        "Role",
        "Statement",
        "Attribution",
        "Position",
        "Demand",
        "Proposal",
        "ProposalPoint",
        "Event",
        "Place",
        "Issue",
        "SourceDocument",
        "Mention",
        "TimeExpression",
        "ReportedFigure",
    ):
        assert (DIP[name], RDF.type, OWL.Class) in onto, name


def test_every_term_has_label_definition_and_is_defined_by(onto: Graph):
    problems = []
    for term in _terms(onto, str(DIP)):
        if onto.value(term, RDFS.label) is None:
            problems.append(f"{term} has no rdfs:label")
        if onto.value(term, SKOS.definition) is None:
            problems.append(f"{term} has no skos:definition")
        if onto.value(term, RDFS.isDefinedBy) != URIRef(ONTOLOGY_IRI):
            problems.append(f"{term} has no rdfs:isDefinedBy <{ONTOLOGY_IRI}>")
    assert not problems, "\n".join(problems)


def test_every_vocabulary_concept_is_documented(onto: Graph):
    problems = []
    for term in _terms(onto, str(DV)):
        for prop in (SKOS.prefLabel, SKOS.definition, RDFS.isDefinedBy):
            if onto.value(term, prop) is None:
                problems.append(f"{term} lacks {prop}")
    assert not problems, "\n".join(problems)


def _words(local: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", " ", local).lower()


def test_label_and_local_name_agree(onto: Graph):
    problems = []
    for term in _terms(onto, str(DIP)):
        local = str(term)[len(str(DIP)) :]
        label = str(onto.value(term, RDFS.label)).lower().replace("-", " ")
        if _words(local).replace("-", " ") != label and local.lower() != label.replace(" ", ""):
            problems.append(f"{local!r} vs label {label!r}")
    assert not problems, "\n".join(problems)


def test_classes_align_to_a_reference_vocabulary(onto: Graph):
    external = (
        "http://www.w3.org/ns/prov#",
        "http://semanticweb.cs.vu.nl/2009/11/sem/",
        "https://schema.org/",
        "http://www.w3.org/ns/oa#",
        "http://groundedannotationframework.org/",
    )
    core = (
        "Actor",
        "Person",
        "Organization",
        "Statement",
        "Attribution",
        "Proposal",
        "Event",
        "Place",
        "SourceDocument",
        "Mention",
        "Role",
    )
    for name in core:
        links = [
            o
            for p in (RDFS.subClassOf, SKOS.closeMatch, SKOS.exactMatch)
            for o in onto.objects(DIP[name], p)
        ]
        assert any(str(o).startswith(external) for o in links), f"dip:{name} has no alignment"


def test_no_functional_properties(onto: Graph):
    """As in SEM: conflicting reports coexist, so reasoning never merges nodes."""
    assert not list(onto.subjects(RDF.type, OWL.FunctionalProperty))
    assert not list(onto.subjects(RDF.type, OWL.InverseFunctionalProperty))
