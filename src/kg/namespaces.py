"""Namespaces of the DIP ontology, its vocabularies, its instance data and its named graphs."""

from __future__ import annotations

from rdflib import Namespace

BASE = "https://w3id.org/dip/"

DIP = Namespace(BASE + "ontology#")
DV = Namespace(BASE + "vocab/")
ID = Namespace(BASE + "id/")
GRAPH = Namespace(BASE + "graph/")

OA = Namespace("http://www.w3.org/ns/oa#")
PROV = Namespace("http://www.w3.org/ns/prov#")
SEM = Namespace("http://semanticweb.cs.vu.nl/2009/11/sem/")
GAF = Namespace("http://groundedannotationframework.org/gaf#")
GRASP = Namespace("http://groundedannotationframework.org/grasp#")
SCHEMA = Namespace("https://schema.org/")
VANN = Namespace("http://purl.org/vocab/vann/")

ONTOLOGY_IRI = "https://w3id.org/dip/ontology"

#: The IRI JSON-LD documents use for the project's context; it is never fetched: the loader and
#: the exporter use the copy shipped with the project.
CONTEXT_IRI = BASE + "context.jsonld"

#: dip:Actor and its subclasses, by local name.
ACTOR_CLASSES: tuple[str, ...] = (
    "Actor",
    "Person",
    "Organization",
    "State",
    "Group",
    "Delegation",
    "NewsOutlet",
    "UnnamedSource",
)

#: Prefixes bound in every graph the project writes, so exports read the same everywhere.
PREFIXES: dict[str, str] = {
    "dip": str(DIP),
    "dv": str(DV),
    "actor": BASE + "id/actor/",
    "src": BASE + "id/source/",
    "st": BASE + "id/statement/",
    "pos": BASE + "id/position/",
    "prop": BASE + "id/proposal/",
    "pt": BASE + "id/point/",
    "ev": BASE + "id/event/",
    "place": BASE + "id/place/",
    "graph": str(GRAPH),
    "oa": str(OA),
    "prov": str(PROV),
    "sem": str(SEM),
    "gaf": str(GAF),
    "schema": str(SCHEMA),
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "sh": "http://www.w3.org/ns/shacl#",
}


def sparql_prefixes(*names: str) -> str:
    """SPARQL ``PREFIX`` lines for ``names``, from :data:`PREFIXES`."""
    return "".join(f"PREFIX {name}: <{PREFIXES[name]}>\n" for name in names)


def bind_prefixes(graph) -> None:  # type: ignore[no-untyped-def]
    for prefix, ns in PREFIXES.items():
        graph.bind(prefix, ns, override=True, replace=True)
