"""OWL RL reasoning with owlrl, kept apart from the asserted triples and free of trivial noise."""

from __future__ import annotations

from dataclasses import dataclass

import owlrl
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS, XSD

from kg.errors import KGError

#: Namespaces whose own terms are never the subject of an exported inference.
_BUILTIN = (str(RDF), str(RDFS), str(OWL), str(XSD), "http://www.w3.org/ns/shacl#")

#: Defaults that bound the closure; a corpus that hits them stops with a clear message.
MAX_CYCLES = 50
MAX_RATIO = 20.0


class ReasoningLimit(KGError):
    """The closure grew past its bound (exit code 2: the input is not reasonable to reason over)."""


@dataclass(frozen=True)
class Limits:
    max_cycles: int = MAX_CYCLES
    max_new_triples: int | None = None  # default: MAX_RATIO times the input size


def _bounded_closure_class(limit_cycles: int, limit_new: int) -> type:
    class Bounded(owlrl.OWLRL_Semantics):  # type: ignore[misc, name-defined]
        def rules(self, t, cycle_num):  # type: ignore[no-untyped-def]
            if cycle_num > limit_cycles:
                raise ReasoningLimit(
                    f"OWL RL closure did not reach a fixpoint within {limit_cycles} cycles"
                )
            if len(self.added_triples) > limit_new:
                raise ReasoningLimit(
                    f"OWL RL closure added more than {limit_new} triples in one cycle; "
                    "look for owl:sameAs chains or runaway transitive properties"
                )
            return super().rules(t, cycle_num)

    return Bounded


def is_trivial(triple: tuple) -> bool:  # type: ignore[type-arg]
    """Inferences that carry no information for users of the graph."""
    s, p, o = triple
    if isinstance(s, Literal):
        return True
    if p in (OWL.sameAs, OWL.equivalentClass, OWL.equivalentProperty) and s == o:
        return True
    if p in (RDFS.subClassOf, RDFS.subPropertyOf) and (s == o or o in (OWL.Thing, RDFS.Resource)):
        return True
    if p == RDFS.subClassOf and s == OWL.Nothing:
        return True
    if p == RDF.type and o in (
        OWL.Thing,
        RDFS.Resource,
        RDF.Property,
        RDFS.Class,
        OWL.Class,
        RDFS.Datatype,
        OWL.NamedIndividual,
    ):
        return True
    if isinstance(s, URIRef) and str(s).startswith(_BUILTIN):
        return True
    return isinstance(o, URIRef) and p == RDF.type and str(o).startswith(_BUILTIN)


def infer(asserted: Graph, *, limits: Limits | None = None) -> Graph:
    """Return only the new, non-trivial triples of the OWL RL closure of ``asserted``.

    ``asserted`` is not modified. The closure runs on a copy and is bounded in cycles and growth.
    """
    limits = limits or Limits()
    work = Graph()
    for triple in asserted:
        work.add(triple)
    limit_new = limits.max_new_triples or max(10_000, int(MAX_RATIO * len(asserted)))
    closure = owlrl.DeductiveClosure(
        _bounded_closure_class(limits.max_cycles, limit_new),
        rdfs_closure=False,
        axiomatic_triples=False,
        datatype_axioms=False,
    )
    closure.expand(work)
    inferred = Graph()
    for triple in work:
        if triple not in asserted and not is_trivial(triple):
            inferred.add(triple)
    return inferred
