"""A fast OWL RL engine for the DIP ontology: a bounded rule set compiled from the TBox and run
by Oxigraph as SPARQL, giving exactly the inferences of :func:`kg.reason.infer`'s owlrl closure.

Compiling
---------
:meth:`RuleSet.from_ontology` closes the ontology once with owlrl itself (it is small) and reads
rule tables off the closed TBox ``C(O)``: (property, super-property) from ``rdfs:subPropertyOf``
(which also carries ``owl:equivalentProperty``, scm-eqp), (property, domain), (property, range),
(class, super-class) from ``rdfs:subClassOf`` (which also carries ``owl:equivalentClass``), the
``owl:inverseOf`` pairs both ways, the symmetric and the transitive properties, and the
disjointness pairs (``owl:disjointWith``, ``owl:AllDisjointClasses``). An ontology using anything
else owlrl acts on (restrictions, ``owl:intersectionOf``/``unionOf``/``oneOf``, property chains,
functional, inverse-functional, irreflexive or asymmetric properties, ``owl:hasKey``,
``owl:sameAs``, property disjointness, an explicit datatype typing, a table holding a blank node,
a schema property or a meta-class owlrl would act on) gives ``None``: callers use owlrl.

The rules, for data with no schema triple (:meth:`RuleSet.supports`)
--------------------------------------------------------------------
With the TBox fixed, each owlrl rule that can fire on instance data has ONE data premise, the
other premises being TBox triples turned into the tables: prp-spo1/prp-eqp (x p y => x q y),
prp-dom, prp-rng, prp-inv1/2, prp-symp and cax-sco/cax-eqc. The exceptions are prp-trp
(x p y, y p z => x p z, two data premises) and the inconsistency checks cax-dw/cax-adc (two type
triples of one node) and dt-not-type (one literal). Every other rule owlrl runs on such data
yields only trivial triples (eq-ref, scm-cls/scm-op on a node typed by a range, dt-type1/2 and
prp-ap about built-in terms or literals), which ``is_trivial`` drops, and which no rule uses to
derive anything else. Literals and blank nodes are nodes like any other here (each is stored
under a surrogate IRI, so a literal may be a subject, as in owlrl's generalised triples: an
inverse or symmetric property over a literal value derives ``"v" q x``, whose consequences, say
a range type of ``x``, are kept; triples with a literal subject are then dropped as trivial).

Why the per-source decomposition is exact
-----------------------------------------
Let ``O`` be the ontology and ``S1 … Sn`` the sources (no schema triple in any). A derivation
tree of the closure of ``O ∪ S1 ∪ … ∪ Sn`` whose rules all have one data premise has all its
data leaves in one ``Si`` (or in ``O``), so it is found by :meth:`RuleSet.infer_local` on that
source (which also loads the transitive-property triples of ``C(O)``, so chains through ontology
terms are found) or is in ``C(O)``, :meth:`RuleSet.tbox_inferences`. The only rules with two
data premises are prp-trp and the inconsistency checks, and :meth:`RuleSet.infer_joint` does
both on the union. For prp-trp it loads only the transitive properties' triples (of the union,
of the local inferences and of ``C(O)``, plus those with a literal subject that the locals
derived and dropped as trivial, rebuilt from a probe table), closes over the ones no prp-trp
step derived (asserted, or the image of another triple by prp-spo1, prp-inv or prp-symp: their
closure is the closure of all) and runs every rule on what that adds. It then checks
disjointness on the type triples of the disjoint classes (index lookups) and on the literals
(one pass over the union's literal values: their types come from their datatype and from a
probe table of what each property types its literal values as). Inconsistencies are found only
there, each once, as owlrl adds them: a blank node typed ``err:ErrorMessage`` with an
``err:error`` message; its label is derived from the message (owlrl's is random), so equal
errors from different runs are the same triples. Hence::

    tbox_inferences() ∪ ⋃ infer_local(Si) ∪ infer_joint(O ∪ ⋃ Si, [infer_local(Si)…])
        - (O ∪ ⋃ Si)  ==  kg.reason.infer(O ∪ ⋃ Si)

with equal blank-node labels everywhere (every node of a result is a node of the input, error
messages aside). :func:`kg.reason.infer` with the rule set is this with one source: it splits
its input into the schema triples (:func:`split_tbox`, compiled and cached) and the rest.

Bounds (:class:`kg.reason.Limits`) are checked between rule queries and every few thousand
results of one; the growth bound counts the triples the rules add (and, for a whole closure,
those owlrl added closing the schema), the cycle bound counts rounds of rules (and owlrl's
cycles closing the schema). :meth:`RuleSet.infer_local` bounds each source on its own (its
growth bound is for the source with the ontology).
"""

from __future__ import annotations

import contextlib
import functools
import gc
import hashlib
import json
import secrets
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import OWL, RDF, RDFS, XSD

from kg.namespaces import bind_prefixes

ERRNS = Namespace("http://www.daml.org/2002/03/agents/agent-ont#")

_META = (str(RDF), str(RDFS), str(OWL))
BUILTIN_NAMESPACES = (str(RDF), str(RDFS), str(OWL), str(XSD), "http://www.w3.org/ns/shacl#")

#: Schema-namespace predicates owlrl never acts on (annotations, lists, rdf:type itself).
INERT_PREDICATES = frozenset(
    {
        RDF.type,
        RDF.first,
        RDF.rest,
        RDF.value,
        RDFS.label,
        RDFS.comment,
        RDFS.seeAlso,
        RDFS.isDefinedBy,
        OWL.versionInfo,
        OWL.versionIRI,
        OWL.imports,
        OWL.deprecated,
        OWL.priorVersion,
        OWL.backwardCompatibleWith,
        OWL.incompatibleWith,
    }
)
#: Schema-namespace classes that instance data may be typed with: owlrl acts on none of them
#: (or only derives trivial, reflexive triples that have no consequence, scm-op).
DATA_TYPES = frozenset(
    {
        OWL.NamedIndividual,
        OWL.Thing,
        RDFS.Resource,
        OWL.Ontology,
        RDF.List,
        RDF.Statement,
        RDF.Property,
        OWL.ObjectProperty,
        OWL.DatatypeProperty,
        OWL.AnnotationProperty,
    }
)
#: What a domain, range or super-class may be besides ordinary classes and datatypes.
_TABLE_CLASSES = DATA_TYPES | {RDFS.Literal, RDFS.Datatype}
#: Predicates an ontology the rule set covers may use from the schema namespaces.
_ONTOLOGY_PREDICATES = INERT_PREDICATES | {
    RDFS.subClassOf,
    RDFS.subPropertyOf,
    RDFS.domain,
    RDFS.range,
    OWL.inverseOf,
    OWL.equivalentProperty,
    OWL.equivalentClass,
    OWL.disjointWith,
    OWL.members,
}
_ONTOLOGY_TYPES = DATA_TYPES | {
    OWL.Class,
    RDFS.Class,
    RDFS.Datatype,
    OWL.SymmetricProperty,
    OWL.TransitiveProperty,
    OWL.AllDisjointClasses,
    OWL.DeprecatedClass,
    OWL.DeprecatedProperty,
}


class Unsupported(Exception):
    """The data or the ontology uses something the rule set does not cover (use owlrl)."""


@contextlib.contextmanager
def _no_gc() -> Any:
    """Without the cyclic garbage collector: the engine makes millions of small acyclic
    objects (terms, tuples), and full collections over a large heap would cost more than the
    rules (superlinearly: 115 s instead of about 60 s at 1.45 million triples)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _is_meta(term: Any) -> bool:
    return isinstance(term, URIRef) and str(term).startswith(_META)


def _is_container_member(p: URIRef) -> bool:
    s = str(p)
    return s.startswith(str(RDF) + "_") and s[len(str(RDF)) + 1 :].isdigit()


def schema_triple(triple: tuple[Any, Any, Any]) -> bool:
    """A triple owlrl would treat as schema (TBox): a schema predicate other than the inert ones,
    an ``rdf:type`` to a schema class other than :data:`DATA_TYPES`, or a built-in subject."""
    s, p, o = triple
    if isinstance(s, URIRef) and str(s).startswith(BUILTIN_NAMESPACES):
        return True
    if p == RDF.type:
        return (
            isinstance(o, URIRef)
            and str(o).startswith((*_META, str(XSD)))
            and (o not in DATA_TYPES)
        )
    return _is_meta(p) and p not in INERT_PREDICATES and not _is_container_member(p)


def split_tbox(asserted: Graph) -> tuple[Graph, list[tuple[Any, Any, Any]]]:
    """``(schema, data)``: the schema triples of ``asserted`` with the RDF lists they point to
    (a graph), and the other triples (a list)."""
    tbox = Graph()
    data = []
    for t in asserted:
        if schema_triple(t):
            tbox.add(t)
        else:
            data.append(t)
    todo = [o for _s, _p, o in tbox if isinstance(o, BNode)]
    seen: set[BNode] = set()
    while todo:
        node = todo.pop()
        if node in seen:
            continue
        seen.add(node)
        for p in (RDF.first, RDF.rest):
            for o in asserted.objects(node, p):
                tbox.add((node, p, o))
                if isinstance(o, BNode):
                    todo.append(o)
    if seen:
        data = [t for t in data if t not in tbox]
    return tbox, data


def _unsupported(triple: tuple[Any, Any, Any]) -> bool:
    """A triple of instance data owlrl would treat as schema, or a generalised triple."""
    s, p, o = triple
    if isinstance(s, Literal) or not isinstance(p, URIRef):
        return True
    if isinstance(s, URIRef) and str(s).startswith(BUILTIN_NAMESPACES):
        return True
    if p == _TYPE:
        meta = isinstance(o, URIRef) and str(o).startswith(_META_TYPES)
        return meta and o not in DATA_TYPES
    return _schema_predicate(p)


_TYPE = RDF.type
_META_TYPES = (*_META, str(XSD))


@functools.lru_cache(maxsize=4096)
def _schema_predicate(p: URIRef) -> bool:
    """A predicate other than ``rdf:type`` that makes a triple schema."""
    return _is_meta(p) and p not in INERT_PREDICATES and not _is_container_member(p)


# ---------------------------------------------------------------------------
# Terms: rdflib <-> Oxigraph, every node kept exactly
# ---------------------------------------------------------------------------


class _Codec:
    """Stores IRIs as themselves and blank nodes, literals (and IRIs Oxigraph refuses) as
    surrogate IRIs, so that decoding gives back the very rdflib terms (labels, lexical forms,
    datatypes and language tags unchanged) and a literal can be a subject, as in owlrl."""

    def __init__(self) -> None:
        self.prefix = f"urn:x-kg-rules:{secrets.token_hex(8)}:"
        self.enc: dict[Any, ox.NamedNode] = {}
        self.dec: dict[str, Any] = {}

    def encode(self, term: Any) -> ox.NamedNode:
        node = self.enc.get(term)
        if node is None:
            node = None
            if isinstance(term, URIRef) and not str(term).startswith(self.prefix):
                try:
                    node = ox.NamedNode(str(term))
                except ValueError:
                    node = None
                if node is not None and (node.value != str(term) or "\\" in node.value):
                    node = None
            if node is None:
                node = ox.NamedNode(f"{self.prefix}{len(self.dec)}")
            self.enc[term] = node
            self.dec[node.value] = term
        return node

    def rows(self, triples: Iterable[tuple[Any, Any, Any]]) -> list[tuple[str, str, str]]:
        """The IRIs of the encoded terms of each triple."""
        enc = self.encode
        return [(enc(s).value, enc(p).value, enc(o).value) for s, p, o in triples]

    def decode(self, node: ox.NamedNode) -> Any:
        value = node.value
        term = self.dec.get(value)
        if term is None:
            term = URIRef(value)
            self.dec[value] = term
        return term


def _load(store: ox.Store, rows: list[tuple[str, str, str]], graph: Any) -> None:
    """Adds the triples of encoded terms' IRIs (:meth:`_Codec.rows`) to ``graph``."""
    if rows:
        text = "".join(f"<{s}> <{p}> <{o}> .\n" for s, p, o in rows)
        store.load(text, format=ox.RdfFormat.N_TRIPLES, to_graph=graph)


# ---------------------------------------------------------------------------
# Bounds
# ---------------------------------------------------------------------------


@dataclass
class _Budget:
    """The bounds of one reasoning run (:class:`kg.reason.Limits`), shared by its phases."""

    max_cycles: int
    max_new: int
    deadline: float | None
    timeout: float | None
    input_size: int
    added: int = 0

    @classmethod
    def of(cls, limits: Any, input_size: int, started: float | None = None) -> _Budget:
        from kg.reason import Limits

        limits = limits or Limits.from_env()
        started = time.monotonic() if started is None else started
        return cls(
            max_cycles=limits.max_cycles,
            max_new=limits.new_triples_for(input_size),
            deadline=None if limits.timeout is None else started + limits.timeout,
            timeout=limits.timeout,
            input_size=input_size,
        )

    def stop(self, why: str, setting: str, cycle: int, last: Iterable[Any] = ()) -> Exception:
        from kg.reason import _HINT, ReasoningLimit

        top = Counter(last).most_common(1)
        most = ""
        if top:
            names = Graph()
            bind_prefixes(names)
            name = names.namespace_manager.normalizeUri(top[0][0])
            most = f"; most of the last cycle's are {name} ({top[0][1]})"
        return ReasoningLimit(
            f"OWL RL reasoning stopped: {why} (cycle {cycle}, {self.added} triples "
            f"inferred from {self.input_size}{most}); {_HINT}, or set {setting}"
        )

    def check(self, cycle: int, pending: int, last: Any = ()) -> None:
        from kg.reason import MAX_TRIPLES_ENV, TIMEOUT_ENV

        if self.deadline is not None and time.monotonic() > self.deadline:
            self.added += pending
            raise self.stop(
                f"it ran past its {self.timeout:g} s deadline", TIMEOUT_ENV, cycle, last
            )
        if self.added + pending > self.max_new:
            self.added += pending
            raise self.stop(
                f"it inferred more than {self.max_new} triples", MAX_TRIPLES_ENV, cycle, last
            )


# ---------------------------------------------------------------------------
# The rule set
# ---------------------------------------------------------------------------

_DELTA = ox.NamedNode("urn:x-kg-rules:delta")
_BASE = ox.NamedNode("urn:x-kg-rules:base")
#: Results of one rule query between two checks of the bounds.
_CHECK_EVERY = 4096
#: Start nodes of one transitive-closure query.
_TRP_BATCH = 256
_RDF_TYPE = ox.NamedNode(str(RDF.type))


def _hidden(term: Any) -> bool:
    """A node whose triples as a subject are trivial (a literal, a built-in term)."""
    return isinstance(term, Literal) or (
        isinstance(term, URIRef) and str(term).startswith(BUILTIN_NAMESPACES)
    )


def _iri(term: URIRef) -> str:
    return f"<{term}>"


def _node_term(node: Any) -> str:
    """A node as its N-Triples term (an IRI or a blank node), a literal by its key
    (:func:`_literal_key`): how :meth:`RuleSet._inconsistencies` compares class members."""
    if isinstance(node, URIRef):
        return f"<{node}>"
    if isinstance(node, BNode):
        return f"_:{node}"
    return _literal_key(node)


def _literal_key(literal: Literal) -> str:
    """A literal's N-Triples term (its language tag in lower case, as rdflib compares them):
    equal for equal literals."""
    if literal.language and literal.language != literal.language.lower():
        literal = Literal(str(literal), lang=literal.language.lower())
    return literal.n3()


def _shown(member: str) -> str:
    """A class member as an error message shows it: an IRI or blank node by its string (not
    its N-Triples term), a literal by its lexical form."""
    if member.startswith("<"):
        return member[1:-1]
    if member.startswith("_:"):
        return member[2:]
    from rdflib.util import from_n3

    return str(from_n3(member))


@dataclass
class LiteralFacts:
    """What the inconsistency checks read of some triples' literal values
    (:meth:`RuleSet.literal_facts`): the messages of the literals that do not match their
    datatype, the datatypes used (with those they are kinds of), the pairs of classes a
    disjointness can name that a literal's own datatype is a kind of both of, and, for each
    literal that its properties give a type with a disjointness beyond its own datatype's, its
    types with one (by its N-Triples term). Of a union, the union of its parts' facts."""

    lexical: list[str] = field(default_factory=list)
    used: list[str] = field(default_factory=list)
    owned: list[str] = field(default_factory=list)
    types: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def union(cls, parts: Iterable[LiteralFacts]) -> LiteralFacts:
        lexical: set[str] = set()
        used: set[str] = set()
        owned: set[str] = set()
        types: dict[str, set[str]] = {}
        for part in parts:
            lexical.update(part.lexical)
            used.update(part.used)
            owned.update(part.owned)
            for key, names in part.types.items():
                types.setdefault(key, set()).update(names)
        return cls(
            sorted(lexical),
            sorted(used),
            sorted(owned),
            {key: sorted(names) for key, names in types.items()},
        )


class Triples:
    """A fixed set of triples, indexed by predicate, with the part of rdflib's ``Graph`` that
    :meth:`RuleSet.infer_joint` reads (``triples``, ``subject_objects`` and ``subjects`` with a
    predicate given, membership, iteration, length). A caller that holds the union's triples
    already (the fast build, a few hundred thousand of them) hands them over without filling an
    rdflib store, whose ``add`` costs several times the reasoning itself."""

    def __init__(self, triples: Iterable[tuple[Any, Any, Any]]) -> None:
        self._all: dict[tuple[Any, Any, Any], None] = dict.fromkeys(triples)
        by_p: dict[Any, list[tuple[Any, Any, Any]]] = defaultdict(list)
        for t in self._all:
            by_p[t[1]].append(t)
        self._by_p = dict(by_p)
        self._by_po: dict[Any, dict[Any, list[Any]]] = {}

    def __len__(self) -> int:
        return len(self._all)

    def __iter__(self) -> Any:
        return iter(self._all)

    def __contains__(self, triple: object) -> bool:
        return triple in self._all

    def triples(self, pattern: tuple[Any, Any, Any]) -> Any:
        s, p, o = pattern
        if p is None or s is not None or o is not None:
            raise ValueError("Triples answers only (None, predicate, None)")
        return iter(self._by_p.get(p, ()))

    def subject_objects(self, predicate: Any) -> Any:
        return ((s, o) for s, _p, o in self._by_p.get(predicate, ()))

    def subjects(self, predicate: Any, obj: Any) -> Any:
        by_o = self._by_po.get(predicate)
        if by_o is None:
            by_o = defaultdict(list)
            for s, _p, o in self._by_p.get(predicate, ()):
                by_o[o].append(s)
            self._by_po[predicate] = by_o = dict(by_o)
        return iter(by_o.get(obj, ()))


@dataclass(frozen=True)
class Closure:
    """The owlrl closure of an ontology (its error messages left out), the triples it added
    and the cycles it took: what :meth:`RuleSet.from_ontology` compiles."""

    closed: Graph
    added: int
    cycles: int

    def to_bytes(self) -> bytes:
        """JSON, every term with its kind (blank nodes keep their labels); read back by
        :meth:`from_bytes`."""

        def term(t: Any) -> list[Any]:
            if isinstance(t, Literal):
                dt = None if t.datatype is None else str(t.datatype)
                return ["l", str(t), t.language, dt]
            return ["b" if isinstance(t, BNode) else "u", str(t)]

        triples = sorted(([term(x) for x in t] for t in self.closed), key=json.dumps)
        doc = {"added": self.added, "cycles": self.cycles, "triples": triples}
        return json.dumps(doc, ensure_ascii=False).encode("utf-8")

    @classmethod
    def from_bytes(cls, data: bytes) -> Closure | None:
        """The closure :meth:`to_bytes` wrote, or None for anything else."""

        def term(t: list[Any]) -> Any:
            if t[0] == "l":
                return Literal(t[1], lang=t[2], datatype=None if t[3] is None else URIRef(t[3]))
            return BNode(t[1]) if t[0] == "b" else URIRef(t[1])

        try:
            doc = json.loads(data.decode("utf-8"))
            closed = Graph()
            for s, p, o in doc["triples"]:
                closed.add((term(s), term(p), term(o)))
            return cls(closed=closed, added=int(doc["added"]), cycles=int(doc["cycles"]))
        except (ValueError, KeyError, TypeError, IndexError):
            return None


def close(ontology: Graph, limits: Any = None) -> Closure:
    """The bounded owlrl closure of ``ontology`` (:func:`kg.reason.owlrl_closure`)."""
    from kg.reason import owlrl_closure

    stats: dict[str, int] = {}
    closed = owlrl_closure(ontology, limits, stats)
    added = len(closed) - len(ontology)
    for b in set(closed.subjects(RDF.type, ERRNS.ErrorMessage)):
        for t in list(closed.triples((b, None, None))):
            closed.remove(t)
    return Closure(closed=closed, added=added, cycles=stats.get("cycles", 0))


@dataclass(frozen=True)
class RuleSet:
    """Rule tables read off the closed TBox, and the closed TBox itself.

    Build with :meth:`from_ontology`; the tables are plain tuples of IRIs, so a copy with one
    table changed (``dataclasses.replace``) is a different, still runnable rule set."""

    subproperty: tuple[tuple[URIRef, URIRef], ...] = ()
    domain: tuple[tuple[URIRef, URIRef], ...] = ()
    range: tuple[tuple[URIRef, URIRef], ...] = ()
    subclass: tuple[tuple[URIRef, URIRef], ...] = ()
    inverse: tuple[tuple[URIRef, URIRef], ...] = ()
    symmetric: tuple[URIRef, ...] = ()
    transitive: tuple[URIRef, ...] = ()
    #: (c1, c2) whose common members are an inconsistency (disjointWith, AllDisjointClasses).
    disjoint: tuple[tuple[URIRef, URIRef], ...] = ()
    #: The ontology and its closure (trivial triples included, error messages left out).
    closed: Graph = field(default_factory=Graph, compare=False, repr=False)
    ontology: Graph = field(default_factory=Graph, compare=False, repr=False)
    #: Triples owlrl added closing the ontology, and the cycles it took (they count against the
    #: bounds of a whole closure, :meth:`infer`, as they do in owlrl's).
    tbox_added: int = 0
    tbox_cycles: int = 0
    _cache: dict[str, Any] = field(default_factory=dict, init=False, compare=False, repr=False)

    # -- compiling ----------------------------------------------------------

    @staticmethod
    def covers(ontology: Graph) -> bool:
        """False when ``ontology`` holds a construct the rule set does not cover (checked
        before its closure is computed)."""
        for s, p, o in ontology:
            if isinstance(s, Literal) or not isinstance(p, URIRef):
                return False
            if _is_meta(p) and p not in _ONTOLOGY_PREDICATES and not _is_container_member(p):
                return False
            if p == RDF.type and isinstance(o, URIRef):
                if str(o).startswith(_META) and o not in _ONTOLOGY_TYPES:
                    return False
                if str(o).startswith(str(XSD)) or o == RDF.PlainLiteral:
                    return False  # explicit datatype typing changes owlrl's datatype rules
            if p == OWL.members and (s, RDF.type, OWL.AllDisjointClasses) not in ontology:
                return False
        return True

    @classmethod
    def from_ontology(
        cls, ontology: Graph, *, limits: Any = None, closure: Closure | None = None
    ) -> RuleSet | None:
        """Compile ``ontology`` (closed once with owlrl, within ``limits``), or None when it uses
        a construct the rule set does not cover. ``closure``: the ontology's closure as
        :func:`close` gave it before (the owlrl run is skipped)."""
        if not cls.covers(ontology):
            return None
        if closure is None:
            closure = close(ontology, limits)
        closed, tbox_added, tbox_cycles = closure.closed, closure.added, closure.cycles

        def pairs(p: URIRef, *, reflexive: bool = True) -> set[tuple[Any, Any]]:
            return {(s, o) for s, o in closed.subject_objects(p) if reflexive or s != o}

        sub_p = pairs(RDFS.subPropertyOf, reflexive=False)
        inv = pairs(OWL.inverseOf)
        inv |= {(b, a) for a, b in inv}
        sym = set(closed.subjects(RDF.type, OWL.SymmetricProperty))
        trp = set(closed.subjects(RDF.type, OWL.TransitiveProperty))
        dom, rng = pairs(RDFS.domain), pairs(RDFS.range)
        # owl:Nothing has no members in supported data (typing a node owl:Nothing is schema)
        sub_c = {(c, d) for c, d in pairs(RDFS.subClassOf, reflexive=False) if c != OWL.Nothing}
        if any(c == OWL.Nothing for _p, c in dom | rng):
            return None
        disjoint = pairs(OWL.disjointWith)
        for x in closed.subjects(RDF.type, OWL.AllDisjointClasses):
            for head in closed.objects(x, OWL.members):
                classes = list(closed.items(head))
                for i in range(len(classes) - 1):
                    for cl2 in classes[i + 1 :]:
                        disjoint.add((classes[i], cl2))
        props = {t for pair in sub_p | inv for t in pair} | sym | trp
        props |= {p for p, _c in dom | rng}
        classes_ = {c for _p, c in dom | rng} | {t for pair in sub_c | disjoint for t in pair}
        for term in props | classes_:
            if not isinstance(term, URIRef):
                return None
            try:
                if ox.NamedNode(str(term)).value != str(term):
                    return None
            except ValueError:
                return None
        for p in props:
            if _is_meta(p) and p not in INERT_PREDICATES - {RDF.type, RDF.first, RDF.rest}:
                return None
        for c in classes_:
            if _is_meta(c) and c not in _TABLE_CLASSES:
                return None
        # a type owl:Thing or rdfs:Resource is trivial and, with no super-class and no
        # disjointness, derives nothing: such rows are left out (their triples would be dropped)
        for top in (OWL.Thing, RDFS.Resource):
            if not any(c == top for c, _d in sub_c) and not any(top in pair for pair in disjoint):
                dom = {(p, c) for p, c in dom if c != top}
                rng = {(p, c) for p, c in rng if c != top}
                sub_c = {(c, d) for c, d in sub_c if d != top}
        rs = cls(
            subproperty=tuple(sorted(sub_p)),
            domain=tuple(sorted(dom)),
            range=tuple(sorted(rng)),
            subclass=tuple(sorted(sub_c)),
            inverse=tuple(sorted(inv)),
            symmetric=tuple(sorted(sym)),
            transitive=tuple(sorted(trp)),
            disjoint=tuple(sorted(disjoint)),
            closed=closed,
            ontology=ontology,
            tbox_added=tbox_added,
            tbox_cycles=tbox_cycles,
        )
        return rs

    # -- what the data may hold ---------------------------------------------

    def supports(self, data: Graph | Iterable[tuple[Any, Any, Any]]) -> bool:
        """False when ``data`` (a graph or triples) holds a triple owlrl would treat as schema:
        a schema predicate, a type that is a schema class, a built-in or literal subject. Such
        data must be reasoned over by owlrl."""
        return not any(map(_unsupported, data))

    # -- derived tables -----------------------------------------------------

    def tbox_inferences(self) -> Graph:
        """The non-trivial inferences of the ontology alone (about its terms and individuals);
        computed once."""
        from kg.reason import is_trivial

        if "tbox" not in self._cache:
            g = Graph()
            bind_prefixes(g)
            for t in self.closed:
                if t not in self.ontology and not is_trivial(t):
                    g.add(t)
            self._cache["tbox"] = g
        return self._cache["tbox"]

    def _superclasses(self) -> dict[Any, set[Any]]:
        if "sup" not in self._cache:
            sup: dict[Any, set[Any]] = defaultdict(set)
            for c, d in self.subclass:
                sup[c].add(d)
            self._cache["sup"] = sup
        return self._cache["sup"]

    def _queries(self) -> list[tuple[str, str]]:
        """One SPARQL CONSTRUCT per rule, over the new triples of the last round (graph
        ``delta``) joined with a VALUES table; only triples not in the store yet."""
        if "queries" in self._cache:
            return self._cache["queries"]
        d = f"<{_DELTA.value}>"
        b = f"<{_BASE.value}>"
        rdf_type = _iri(RDF.type)

        def values2(rows: Iterable[tuple[URIRef, URIRef]]) -> str:
            return " ".join(f"({_iri(a)} {_iri(b)})" for a, b in rows)

        def values1(rows: Iterable[URIRef]) -> str:
            return " ".join(_iri(a) for a in rows)

        def rule(name: str, head: str, rows: str, premise: str, conclusion: str) -> None:
            out.append(
                (
                    name,
                    f"CONSTRUCT {{ {conclusion} }} WHERE {{ VALUES {head} {{ {rows} }} "
                    f"GRAPH {d} {{ {premise} }} FILTER NOT EXISTS {{ {conclusion} }} }}",
                )
            )

        out: list[tuple[str, str]] = []
        if self.subproperty:
            rule("prp-spo1", "(?p ?q)", values2(self.subproperty), "?x ?p ?y", "?x ?q ?y")
        if self.domain:
            rule("prp-dom", "(?p ?c)", values2(self.domain), "?x ?p ?y", f"?x {rdf_type} ?c")
        if self.range:
            rule("prp-rng", "(?p ?c)", values2(self.range), "?x ?p ?y", f"?y {rdf_type} ?c")
        if self.inverse:
            rule("prp-inv", "(?p ?q)", values2(self.inverse), "?x ?p ?y", "?y ?q ?x")
        if self.symmetric:
            rule("prp-symp", "?p", values1(self.symmetric), "?x ?p ?y", "?y ?p ?x")
        if self.subclass:
            rule(
                "cax-sco",
                "(?c ?e)",
                values2(self.subclass),
                f"?x {rdf_type} ?c",
                f"?x {rdf_type} ?e",
            )
        for p in self.transitive:
            # prp-trp by a property path over the triples not derived by prp-trp (graph
            # ``base``: their closure is that of all), from each node that reaches the subject
            # of a new one: about the output's size, where joining new triples with all
            # (x p y, y p z => x p z) derives each pair of a chain once per midpoint. The
            # subjects are found first (the query is skipped when there are none), then bound.
            t = _iri(p)
            starts = (
                f"SELECT DISTINCT ?a WHERE {{ GRAPH {d} {{ ?a {t} ?b }} "
                f"GRAPH {b} {{ ?a {t} ?b }} }}"
            )
            reaching = (
                f"SELECT DISTINCT ?x WHERE {{ VALUES ?a {{ %s }} GRAPH {b} {{ ?x {t}* ?a }} }}"
            )
            subjects = f"SELECT DISTINCT ?x WHERE {{ GRAPH {b} {{ ?x {t} ?y }} }}"
            closure = (
                f"CONSTRUCT {{ ?x {t} ?z }} WHERE {{ VALUES ?x {{ %s }} "
                f"GRAPH {b} {{ ?x {t}+ ?z }} FILTER NOT EXISTS {{ ?x {t} ?z }} }}"
            )
            out.append(("prp-trp", "\n".join((starts, reaching, subjects, closure))))
        self._cache["queries"] = out
        return out

    # -- evaluation ---------------------------------------------------------

    def _run(
        self,
        codec: _Codec,
        base: Iterable[tuple[Any, Any, Any]],
        delta: Iterable[tuple[Any, Any, Any]],
        budget: _Budget,
        trp_base: Iterable[tuple[Any, Any, Any]] | None = None,
    ) -> set[ox.Triple]:
        """Load ``base`` and ``delta`` (triples, the latter the starting new triples), apply the
        rules to a fixpoint (semi-naive: each round only on the last round's new triples) and
        return the triples added."""
        store = ox.Store()
        dg = ox.DefaultGraph()
        trp = {codec.encode(p) for p in self.transitive}
        # every term is encoded as an IRI, so a triple is ``<s> <p> <o> .`` in N-Triples, which
        # the store reads faster than it takes triples made one by one
        rows = codec.rows
        base_rows, start = rows(base), rows(delta)
        _load(store, base_rows + start, dg)
        _load(store, start, _DELTA)
        # the transitive properties' triples not derived by prp-trp, whose closure is that of all
        if trp_base is None:
            values = {p.value for p in trp}
            trp_start = [r for r in (*base_rows, *start) if r[1] in values]
        else:
            trp_start = rows(trp_base)
        _load(store, trp_start, _BASE)
        queries = self._queries()
        dec = codec.decode
        added: set[ox.Triple] = set()
        cycle = 0
        last: list[Any] = []
        while True:
            cycle += 1
            if cycle > budget.max_cycles:
                from kg.reason import MAX_CYCLES_ENV

                raise budget.stop(
                    f"no fixpoint within {budget.max_cycles} cycles", MAX_CYCLES_ENV, cycle, last
                )
            found: set[ox.Triple] = set()
            base_found: set[ox.Triple] = set()
            for name, query in queries:
                for text in self._concrete(name, query, store):
                    for i, t in enumerate(store.query(text), 1):
                        found.add(t)
                        if name != "prp-trp" and t.predicate in trp:
                            base_found.add(t)
                        if i % _CHECK_EVERY == 0:
                            budget.check(cycle, len(found), (dec(t.predicate) for t in found))
                    budget.check(cycle, len(found), (dec(t.predicate) for t in found))
            store.clear_graph(_DELTA)
            if not found:
                return added
            budget.added += len(found)
            added |= found
            last = [codec.decode(t.predicate) for t in found]
            text = "".join(f"{t} .\n" for t in found)
            for graph in (dg, _DELTA):
                store.load(text, format=ox.RdfFormat.N_TRIPLES, to_graph=graph)
            if base_found:
                text = "".join(f"{t} .\n" for t in base_found)
                store.load(text, format=ox.RdfFormat.N_TRIPLES, to_graph=_BASE)

    @staticmethod
    def _concrete(name: str, query: str, store: ox.Store) -> Iterable[str]:
        """The query texts of one rule for this round: itself, or for prp-trp, none when no
        new triple is in ``base``, else the closure from the nodes that reach a new triple's
        subject (from every node when they are many, as in a first round: finding them would
        cost as much), in batches, so the bounds are checked between them."""
        if name != "prp-trp":
            yield query
            return
        starts, reaching, subjects, closure = query.split("\n")
        nodes = [f"<{row[0].value}>" for row in store.query(starts)]
        if not nodes:
            return
        every = [f"<{row[0].value}>" for row in store.query(subjects)]
        if 4 * len(nodes) < len(every):
            every = [f"<{row[0].value}>" for row in store.query(reaching % " ".join(nodes))]
        for i in range(0, len(every), _TRP_BATCH):
            yield closure % " ".join(every[i : i + _TRP_BATCH])

    def _decoded(
        self, codec: _Codec, triples: Iterable[ox.Triple], exclude: set[Any] | frozenset[Any]
    ) -> Graph:
        from rdflib.plugins.stores.memory import SimpleMemory

        from kg.reason import is_trivial

        out = Graph(store=SimpleMemory())  # one graph: no index of graphs to keep up
        bind_prefixes(out)
        dec = codec.decode
        for t in triples:
            triple = (dec(t.subject), dec(t.predicate), dec(t.object))
            if triple in exclude or is_trivial(triple):
                continue
            out.add(triple)
        return out

    def _onto_transitive(self) -> list[tuple[Any, Any, Any]]:
        if "onto_trp" not in self._cache:
            self._cache["onto_trp"] = [
                t for p in self.transitive for t in self.closed.triples((None, p, None))
            ]
        return self._cache["onto_trp"]

    def infer_local(
        self,
        data: Graph | Iterable[tuple[Any, Any, Any]],
        *,
        limits: Any = None,
        _budget: _Budget | None = None,
    ) -> Graph:
        """The inferences of one source ``data`` (a graph or triples) with the ontology: new,
        non-trivial, not in ``data`` nor among the ontology's own inferences
        (:meth:`tbox_inferences`), no inconsistency (:meth:`infer_joint` finds those). Raises
        :class:`Unsupported` when :meth:`supports` is False, ``ReasoningLimit`` past ``limits``
        (their growth bound is for ``data`` with the ontology)."""
        if not isinstance(data, Graph | list | tuple | set | frozenset):
            data = list(data)
        if not self.supports(data):
            raise Unsupported("the data holds schema triples; reason with owlrl")
        budget = _budget or _Budget.of(limits, len(data) + len(self.ontology))
        with _no_gc():
            codec = _Codec()
            added = self._run(codec, self._onto_transitive(), data, budget)
            # what the rules add is in no loaded triple (FILTER NOT EXISTS), so not in ``data``
            return self._decoded(codec, added, self._closed_set())

    def _closed_set(self) -> frozenset[Any]:
        if "closed_set" not in self._cache:
            self._cache["closed_set"] = frozenset(self.closed)
        return self._cache["closed_set"]

    def _probes(self) -> dict[str, dict[Any, set[Any]]]:
        """What each property derives about a literal value ``v`` of it, from the closure of
        one triple ``x p v``: the types of ``v`` and the predicates of triples ``v q x``."""
        if "probes" in self._cache:
            return self._cache["probes"]
        props = {p for pair in self.subproperty + self.inverse for p in pair}
        props |= set(self.symmetric) | set(self.transitive)
        props |= {p for p, _c in self.domain + self.range}
        codec = _Codec()
        probe = {}
        for i, p in enumerate(sorted(props)):
            x, v = URIRef(f"{codec.prefix}x{i}"), Literal(f"{codec.prefix}v{i}")
            probe[codec.encode(v).value] = p
            codec.encode(x)
        seed = [
            (URIRef(f"{codec.prefix}x{i}"), p, Literal(f"{codec.prefix}v{i}"))
            for i, p in enumerate(sorted(props))
        ]
        from kg.reason import Limits

        budget = _Budget.of(
            Limits(max_cycles=sys.maxsize, max_new_triples=sys.maxsize, timeout=None), 0
        )
        added = self._run(codec, [], seed, budget)
        types: dict[Any, set[Any]] = defaultdict(set)
        flips: dict[Any, set[Any]] = defaultdict(set)
        for t in added:
            p = probe.get(t.subject.value)
            if p is None:
                continue
            if t.predicate == _RDF_TYPE:
                types[p].add(codec.decode(t.object))
            else:
                flips[p].add(codec.decode(t.predicate))
        self._cache["probes"] = {"types": types, "flips": flips}
        return self._cache["probes"]

    def joint_reads(self, triple: tuple[Any, Any, Any]) -> bool:
        """Whether :meth:`infer_joint` reads ``triple`` (of the union or of a local result):
        a caller may pass it only these (and the ontology), and get the same result. They are
        the triples of the transitive properties and of the properties that derive them, of
        the properties an inverse or symmetric one turns a literal value into a subject by,
        the types to a class with a disjointness, and those with a literal (or built-in)
        value."""
        preds, classes = self.joint_read_terms()
        _s, p, o = triple
        return p in preds or _hidden(o) or (p == RDF.type and o in classes)

    def joint_read_terms(self) -> tuple[frozenset[Any], frozenset[Any]]:
        """The properties whose triples :meth:`joint_reads` keeps whatever their value, and
        the classes whose type triples it keeps (those with a disjointness)."""
        if "joint_reads" not in self._cache:
            trp = set(self.transitive)
            preds = set(trp)
            preds |= {q for q, p in self.subproperty + self.inverse if p in trp}
            preds |= {p for p, qs in self._probes()["flips"].items() if qs & trp}
            classes = {c for pair in self.disjoint for c in pair}
            self._cache["joint_reads"] = (frozenset(preds), frozenset(classes))
        return self._cache["joint_reads"]  # type: ignore[no-any-return]

    def infer_joint(
        self,
        union_data: Graph | Triples,
        local: Graph | Triples | Iterable[Graph | Triples],
        *,
        limits: Any = None,
        typed: dict[str, set[str]] | None = None,
        typed_size: int = 0,
        facts: LiteralFacts | None = None,
        _budget: _Budget | None = None,
    ) -> Graph:
        """What needs triples of more than one source: the closure of the transitive
        properties over the union and its consequences, and the inconsistencies.

        ``union_data`` is the asserted union of the sources AND the ontology (as
        ``Loaded.union()``); ``local`` the union of the sources' :meth:`infer_local` results
        (one graph, or an iterable of them). Reads only the transitive properties' triples, the
        type triples of the disjoint classes and the literal values of ``union_data``.

        A caller may give type triples of the disjoint classes as ``typed`` instead: the
        N-Triples terms of the nodes typed with each class, by the class's term (as the
        sources' N-Triples lines have them, which it need not make into rdflib terms), with
        ``typed_size`` the number of those of ``union_data`` it left out (what the growth bound
        counts), and the literal values of triples it left out as ``facts`` (where
        :meth:`facts_suffice`)."""
        with _no_gc():
            return self._infer_joint(
                union_data,
                local,
                _budget or _Budget.of(limits, len(union_data) + typed_size),
                typed or {},
                facts,
            )

    def _infer_joint(
        self,
        union_data: Graph | Triples,
        local: Graph | Triples | Iterable[Graph | Triples],
        budget: _Budget,
        typed: dict[str, set[str]],
        facts: LiteralFacts | None = None,
    ) -> Graph:
        from kg.reason import is_trivial

        locals_ = [local] if isinstance(local, Graph | Triples) else list(local)
        known = [union_data, *locals_, self.closed]
        trp = set(self.transitive)
        # every transitive-property triple known, and those of them no prp-trp step derives
        # (asserted, or derived from another triple by prp-spo1, prp-inv or prp-symp): the
        # closure of the latter is the closure of all, and costs the output's size
        seed: set[tuple[Any, Any, Any]] = set()
        base: set[tuple[Any, Any, Any]] = set()
        for p in trp:
            for g in known:
                for t in g.triples((None, p, None)):
                    seed.add(t)
                    if g is union_data or g is self.closed or _hidden(t[2]):
                        base.add(t)
        for q, p in self.subproperty:
            if p in trp:
                base.update((x, p, y) for g in known for x, y in g.subject_objects(q))
        for q, p in self.inverse:
            if p in trp:
                base.update((y, p, x) for g in known for x, y in g.subject_objects(q))
        for p in trp & set(self.symmetric):
            base.update((y, p, x) for g in known for x, y in g.subject_objects(p))
        # triples with a literal (or built-in) subject, which no result holds (trivial), but
        # which an inverse or symmetric property derives from a literal value
        flips = self._probes()["flips"]
        flipping = {p: qs & trp for p, qs in flips.items() if qs & trp}
        for p, qs in flipping.items():
            for g in known:
                for x, v in g.subject_objects(p):
                    if _hidden(v):
                        for q in qs:
                            seed.add((v, q, x))
                            base.add((v, q, x))
        base = {t for t in base if t in seed}
        out = Graph()
        bind_prefixes(out)
        new = Graph()
        if trp and seed:
            codec = _Codec()
            added = self._run(codec, seed - base, base, budget, trp_base=base)
            dec = codec.decode
            for t in added:
                triple = (dec(t.subject), dec(t.predicate), dec(t.object))
                if (
                    triple in seed
                    or any(triple in g for g in known)
                    or (
                        triple[1] == RDF.type
                        and _node_term(triple[0]) in typed.get(_iri(triple[2]), ())
                    )
                ):
                    continue
                new.add(triple)
                if not is_trivial(triple):
                    out.add(triple)
        for message in self._inconsistencies(union_data, [*known, new], typed, facts):
            node = BNode("kgerr" + hashlib.sha256(message.encode()).hexdigest()[:32])
            out.add((node, RDF.type, ERRNS.ErrorMessage))
            out.add((node, ERRNS.error, Literal(message)))
        return out

    def _literal_types(
        self, pairs: Iterable[tuple[Any, Any]]
    ) -> tuple[dict[Literal, set[Any]], dict[Literal, set[Any]], set[Any], list[str]]:
        """Of the literal values of (property, value) ``pairs``: each literal's types (those its
        properties give it and those of its own datatype), its own datatype's types, the
        datatypes used (with those they are kinds of), and the messages of the literals that do
        not match their datatype (dt-not-type)."""
        from owlrl.DatatypeHandling import AltXSDToPYTHON
        from owlrl.XsdDatatypes import OWL_Datatype_Subsumptions, OWL_RL_Datatypes

        rl_datatypes = set(OWL_RL_Datatypes)
        messages: list[str] = []
        literals: set[Literal] = set()
        lit_types: dict[Literal, set[Any]] = defaultdict(set)
        own_types: dict[Literal, set[Any]] = {}
        probe_types = self._probes()["types"]
        for p, o in pairs:
            if isinstance(o, Literal):
                literals.add(o)
                types = probe_types.get(p)
                if types:
                    lit_types[o] |= types
        used: set[Any] = set()
        sup = self._superclasses()
        of_datatype: dict[Any, set[Any]] = {}
        for lt in literals:
            dt = lt.datatype
            if dt not in rl_datatypes:
                continue
            own = of_datatype.get(dt)
            if own is None:
                own = {dt, *OWL_Datatype_Subsumptions.get(dt, ())}
                used |= own
                for c in list(own):
                    own |= sup.get(c, set())
                of_datatype[dt] = own
            lit_types[lt] |= own
            own_types[lt] = own
            try:
                AltXSDToPYTHON.get(dt, lambda v: v)(str(lt))
            except ValueError:
                messages.append(
                    f"Lexical value of the literal '{lt}' does not match its datatype ({dt})"
                )
        return lit_types, own_types, used, messages

    def _disjoint_pairs(self) -> list[tuple[Any, Any]]:
        """Every pair of classes a disjointness can name: the ontology's, and the datatypes
        owlrl holds disjoint."""
        from owlrl.AxiomaticTriples import OWLRL_Datatypes_Disjointness

        return [*self.disjoint, *((a, b) for a, _p, b in OWLRL_Datatypes_Disjointness)]

    def _disjoint_classes(self) -> set[Any]:
        """Every class that a disjointness can name."""
        return {c for pair in self._disjoint_pairs() for c in pair}

    def literal_facts(self, pairs: Iterable[tuple[Any, Any]]) -> LiteralFacts:
        """What the union's inconsistency checks need of the literal values of (property,
        value) ``pairs`` (:class:`LiteralFacts`), which a source can keep with its work so
        that the union's reasoning makes no rdflib literals of it."""
        lit_types, own_types, used, messages = self._literal_types(pairs)
        disjoint = self._disjoint_classes()
        types: dict[str, list[str]] = {}
        for lt, found in lit_types.items():
            if (found - own_types.get(lt, set())) & disjoint:
                types[_literal_key(lt)] = sorted(str(c) for c in found & disjoint)
        owns = set(map(frozenset, own_types.values()))
        return LiteralFacts(
            lexical=sorted(set(messages)),
            used=sorted(str(u) for u in used),
            owned=sorted(
                f"{a} {b}"
                for a, b in self._disjoint_pairs()
                if any(a in own and b in own for own in owns)
            ),
            types=types,
        )

    def facts_suffice(self, facts: LiteralFacts) -> bool:
        """Whether :class:`LiteralFacts` give the inconsistencies the literals give: no
        literal's own datatype is a kind of two classes a disjointness names (every literal of
        it would be a common individual, which the facts do not list)."""
        return not facts.owned

    def _inconsistencies(
        self,
        union_data: Graph | Triples,
        graphs: list[Graph | Triples],
        typed: dict[str, set[str]] | None = None,
        facts: LiteralFacts | None = None,
    ) -> list[str]:
        """owlrl's error messages for this closure: dt-not-type, cax-dw and cax-adc (datatype
        disjointness included, for the datatypes the input uses). ``typed`` adds nodes typed
        with classes, as N-Triples terms by the class's term, and ``facts`` literal values
        (:meth:`infer_joint`)."""
        from owlrl.AxiomaticTriples import OWLRL_Datatypes_Disjointness

        lit_types, _own, used, messages = self._literal_types(
            (p, o) for _s, p, o in union_data if isinstance(o, Literal)
        )
        if facts is not None:
            used |= {URIRef(u) for u in facts.used}
            messages += facts.lexical
        pairs = list(self.disjoint)
        pairs += [(a, b) for a, _p, b in OWLRL_Datatypes_Disjointness if a in used and b in used]
        classes = {c for pair in pairs for c in pair}
        # a class's members: nodes as N-Triples terms, literals by their keys (a literal's
        # N-Triples term, which no node's equals)
        members: dict[Any, set[Any]] = {}
        for c in classes:
            m: set[Any] = set((typed or {}).get(_iri(c), ()))
            for g in graphs:
                m.update(map(_node_term, g.subjects(RDF.type, c)))
            members[c] = m
        for lt, types in lit_types.items():
            for c in types & classes:
                members[c].add(_literal_key(lt))
        if facts is not None:
            by_name = {str(c): c for c in classes}
            for key, names in facts.types.items():
                for name in names:
                    if name in by_name:
                        members[by_name[name]].add(key)
        for c1, c2 in pairs:
            for x in members[c1] & members[c2]:
                messages.append(
                    f"Disjoint classes {c1} and {c2} have a common individual {_shown(x)}"
                )
        return sorted(set(messages))

    def infer(
        self,
        asserted: Graph,
        *,
        limits: Any = None,
        data: Graph | Iterable[tuple[Any, Any, Any]] | None = None,
    ) -> Graph:
        """The whole closure of ``asserted`` (the ontology's triples and ``data``, the others;
        default: all of ``asserted``): :meth:`tbox_inferences`, :meth:`infer_local` and
        :meth:`infer_joint`, less ``asserted``; equal to owlrl's (:func:`kg.reason.infer`)."""
        from kg.reason import MAX_CYCLES_ENV

        data = asserted if data is None else data
        budget = _Budget.of(limits, len(asserted))
        if self.tbox_cycles > budget.max_cycles:
            raise budget.stop(
                f"no fixpoint within {budget.max_cycles} cycles",
                MAX_CYCLES_ENV,
                budget.max_cycles + 1,
            )
        budget.check(0, self.tbox_added)
        budget.added = self.tbox_added
        out = self.infer_local(data, _budget=budget)  # nothing of it is asserted
        joint = self.infer_joint(asserted, out, _budget=budget)
        for g in (self.tbox_inferences(), joint):
            for t in g:
                if t not in asserted:
                    out.add(t)
        return out


_COMPILED: dict[frozenset[Any], RuleSet | None] = {}


def compiled(tbox: Graph, *, limits: Any = None) -> RuleSet | None:
    """:meth:`RuleSet.from_ontology`, cached by the TBox's triples (a few per process)."""
    key = frozenset(tbox)
    if key not in _COMPILED:
        if len(_COMPILED) > 8:
            _COMPILED.clear()
        _COMPILED[key] = RuleSet.from_ontology(tbox, limits=limits)
    return _COMPILED[key]


__all__ = [
    "Closure",
    "RuleSet",
    "Triples",
    "Unsupported",
    "close",
    "compiled",
    "replace",
    "schema_triple",
    "split_tbox",
]
