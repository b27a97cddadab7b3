"""A fast SHACL engine: the project's shapes compiled into SPARQL queries run by pyoxigraph.

pyshacl stays the reference (and the fallback): :func:`compile_shapes` returns ``None`` for a
shapes graph that uses anything this compiler does not cover, and the compiled engine gives, for
the shapes it covers, exactly the results ``kg.validate.shacl_results`` builds from pyshacl's
report (pyshacl run with ``inference="none"``, ``allow_warnings=True``, ``advanced=True``).

How it stays exact:

* Terms. Oxigraph canonicalises typed literals (``"01"^^xsd:integer`` becomes ``"1"``, and
  ``"1.50"`` and ``"1.5"`` become one decimal) and merges ``"x"`` with ``"x"^^xsd:string``;
  rdflib keeps them apart. :func:`load_store` therefore stores every literal under a surrogate
  datatype that carries the real datatype or language tag (``"01"^^<urn:x-kg:dt:...integer>``),
  which Oxigraph keeps as written, and the results are decoded back into rdflib terms. Shape
  constants (``sh:in``, ``sh:hasValue``) are encoded the same way and compared with
  ``sameTerm``, as pyshacl compares rdflib terms.
* Literal tests. Constraints that look at one value node by itself (``sh:datatype``,
  ``sh:minInclusive``, ``sh:pattern``, ``sh:minLength``, ...) and the property pair comparisons
  (``sh:lessThan``, ``sh:lessThanOrEquals``) are run by pyshacl's own constraint components on
  the decoded rdflib term, as a SPARQL custom function (cached per distinct term), so ill-typed
  literals, language tags, numeric promotion and regex flags behave exactly as in pyshacl.
* Nesting. ``sh:not``, ``sh:or``, ``sh:and``, ``sh:node`` and nested ``sh:property`` compile into
  ``EXISTS`` filters. pyshacl's notion of conformance is followed to the letter: with
  ``allow_warnings`` a nested shape of severity ``sh:Warning`` or ``sh:Info`` always conforms for
  ``sh:not``/``sh:or``/``sh:and``/``sh:property``, while ``sh:node`` fails on any nested result.
* Whole runs. Over every focus node, ``sh:class``, ``sh:minCount`` and ``sh:maxCount`` are
  joined with a table computed once (the typed nodes, the nodes with enough values) instead of
  tested node by node: Oxigraph finds a node's triples by walking all of them, and an actor
  that every source mentions has thousands. A run restricted to some focus nodes tests node by
  node. Both give the same results: whole runs are compared with pyshacl, restricted runs with
  whole runs.
* Reports. Only the report's own results (not ``sh:detail``) are produced: for each shape with
  targets, its constraints' results and those of its ``sh:property`` shapes (recursively, with
  the value nodes as focus nodes), one per focus and value node as pyshacl gives them. A shape
  that would report without exactly one ``sh:message`` is not covered (pyshacl would write a
  generic message that names nodes with the data graph's prefixes).

Anything else (SPARQL constraints, ``sh:closed``, ``sh:xone``, qualified shapes, paths other
than a predicate IRI, unknown ``sh:`` parameters, implicit class targets, recursion) makes
:func:`compile_shapes` return ``None``.
"""

from __future__ import annotations

import functools
import itertools
import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import quote, unquote

import pyoxigraph as ox
from rdflib import BNode, ConjunctiveGraph, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import OWL, RDF, RDFS, SH, XSD
from rdflib.term import Node

from kg.forked import shared_map
from kg.report import Result

__all__ = [
    "BNODE_PREFIX",
    "Compiled",
    "FastShaclError",
    "compile_shapes",
    "from_ox",
    "load_store",
    "surrogate",
    "to_ox",
]


class FastShaclError(RuntimeError):
    """The compiled engine met data it cannot judge like pyshacl (pyshacl would stop, or might):
    the caller should run pyshacl instead."""


# ---------------------------------------------------------------------------
# Terms: rdflib <-> Oxigraph without Oxigraph's literal canonicalisation
# ---------------------------------------------------------------------------

_PLAIN = "urn:x-kg:plain"
_LANG = "urn:x-kg:lang:"
_DT = "urn:x-kg:dt:"
#: what an rdflib blank node's label is prefixed with in the store (from_ox takes it off again)
BNODE_PREFIX = "k"

_plain_dt = ox.NamedNode(_PLAIN)
_dt_cache: dict[tuple[str | None, str | None], ox.NamedNode] = {}


def surrogate(datatype: str | None, lang: str | None) -> ox.NamedNode:
    """The datatype a literal is stored under in the store the shapes run on: one per
    datatype and one per language tag (lower-cased), so literals compare as rdflib has them."""
    key = (datatype, lang)
    node = _dt_cache.get(key)
    if node is None:
        if lang is not None:
            # rdflib compares language tags without case: so does the store
            node = ox.NamedNode(_LANG + quote(lang.lower(), safe=""))
        elif datatype is not None:
            node = ox.NamedNode(_DT + quote(datatype, safe=""))
        else:
            node = _plain_dt
        _dt_cache[key] = node
    return node


def to_ox(term: Node) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    """The store's form of an rdflib term (raises ValueError for what Oxigraph refuses)."""
    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, BNode):
        return ox.BlankNode(BNODE_PREFIX + str(term))
    if isinstance(term, Literal):
        dt = str(term.datatype) if term.datatype is not None else None
        return ox.Literal(str(term), datatype=surrogate(dt, term.language))
    raise ValueError(f"cannot store {term!r}")


def from_ox(term: ox.NamedNode | ox.BlankNode | ox.Literal) -> Node:
    """The rdflib term an encoded store term stands for."""
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        value = term.value
        return BNode(value[1:] if value.startswith(BNODE_PREFIX) else value)
    if isinstance(term, ox.Literal):
        dt = term.datatype.value
        if dt == _PLAIN:
            return Literal(term.value)
        if dt.startswith(_LANG):
            return Literal(term.value, lang=unquote(dt[len(_LANG) :]))
        if dt.startswith(_DT):
            return Literal(term.value, datatype=URIRef(unquote(dt[len(_DT) :])))
        # a literal stored without the surrogate (a store not filled by load_store)
        if term.language:
            return Literal(term.value, lang=term.language)
        return Literal(term.value, datatype=URIRef(dt))
    raise FastShaclError(f"unexpected term in the store: {term!r}")


#: Decoding builds rdflib literals (parsing their values): shared by the checks and the results.
_decode = functools.lru_cache(maxsize=1 << 16)(from_ox)


def load_store(data: Graph, store: ox.Store | None = None) -> ox.Store:
    """An in-memory Oxigraph store holding ``data``'s triples, literals encoded for
    :meth:`Compiled.results`."""
    if isinstance(data, ConjunctiveGraph):
        # pyshacl validates each named graph of a dataset on its own: not covered
        raise FastShaclError("a dataset, not a graph")
    store = store if store is not None else ox.Store()
    # keyed by plain strings: hashing an rdflib term builds a string each time
    iris: dict[str, ox.NamedNode] = {}
    blanks: dict[str, ox.BlankNode] = {}
    named, blank, literal = ox.NamedNode, ox.BlankNode, ox.Literal

    def enc(term: Node) -> object:
        kind = type(term)
        if kind is URIRef:
            key = str(term)
            got = iris.get(key)
            if got is None:
                got = iris[key] = named(key)
            return got
        if kind is BNode:
            key = str(term)
            got = blanks.get(key)
            if got is None:
                got = blanks[key] = blank(BNODE_PREFIX + key)
            return got
        if kind is Literal:
            dt = term.datatype  # type: ignore[attr-defined]
            return literal(
                str(term),
                datatype=surrogate(str(dt) if dt is not None else None, term.language),  # type: ignore[attr-defined]
            )
        return to_ox(term)

    quad = ox.Quad
    store.extend([quad(enc(s), enc(p), enc(o)) for s, p, o in data])  # type: ignore[arg-type]
    return store


def _sparql(term: Node) -> str:
    """A shapes-graph constant in query syntax, encoded as the store encodes it."""
    return str(to_ox(term))


# ---------------------------------------------------------------------------
# The shapes, as the compiler sees them
# ---------------------------------------------------------------------------

#: Parameters checked on each value node alone by pyshacl's own components.
_VALUE_LOCAL = {
    SH.datatype,
    SH.nodeKind,
    SH.minInclusive,
    SH.maxInclusive,
    SH.minExclusive,
    SH.maxExclusive,
    SH.minLength,
    SH.maxLength,
    SH.pattern,
    SH.languageIn,
}
_PAIR = {SH.lessThan, SH.lessThanOrEquals}
_TARGETS = {SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf}
#: Parameters that are read along with others, or only describe the shape.
_PASSIVE = {
    SH.flags,
    SH.message,
    SH.severity,
    SH.path,
    SH.name,
    SH.description,
    SH.order,
    SH.group,
    SH.defaultValue,
}
_COVERED = (
    _VALUE_LOCAL
    | _PAIR
    | _TARGETS
    | _PASSIVE
    | {
        SH.property,
        SH.minCount,
        SH.maxCount,
        SH["class"],
        SH["in"],
        SH.hasValue,
        SH["not"],
        SH["or"],
        SH["and"],
        SH.node,
    }
)
#: Largest sh:minCount / sh:maxCount compiled (each needs that many distinct variables).
_MAX_COUNT = 4
_ALLOWED = {SH.Warning, SH.Info}


class _Unsupported(Exception):
    pass


@dataclass
class _Constraint:
    kind: str  # class in hasValue minCount maxCount not or and node property local pair
    arg: object
    fn: str | None = None  # custom function IRI for local and pair checks
    param: URIRef | None = None  # the sh: parameter it comes from
    test: str | None = None  # a local check in SPARQL (``{w}``: the value), instead of fn

    def named(self, names: set[str]) -> bool:
        return self.kind in names or (
            self.param is not None and str(self.param).rsplit("#", 1)[-1] in names
        )


@dataclass
class _Shape:
    node: Node
    path: URIRef | None
    severity: URIRef
    message: str | None
    constraints: list[_Constraint] = field(default_factory=list)
    targets: dict[URIRef, list[Node]] = field(default_factory=dict)

    @property
    def lenient(self) -> bool:
        """pyshacl (allow_warnings) counts this shape as conforming whatever it finds."""
        return self.severity in _ALLOWED


class _Compiler:
    def __init__(self, shapes: Graph) -> None:
        from pyshacl.shapes_graph import ShapesGraph

        self.g = shapes
        self.sg = ShapesGraph(shapes)
        self.sg.shapes  # noqa: B018  (builds pyshacl's shape cache)
        self.shapes: dict[Node, _Shape] = {}
        self.functions: dict[str, Callable[..., object]] = {}
        self._building: set[Node] = set()

    def one(self, node: Node, param: URIRef) -> Node:
        values = list(self.g.objects(node, param))
        if len(values) != 1:
            raise _Unsupported(f"{node} has {len(values)} {param}")
        return values[0]

    def items(self, node: Node) -> list[Node]:
        if node != RDF.nil and not isinstance(node, BNode):
            raise _Unsupported("a list that is not a well-formed RDF list")
        return list(Collection(self.g, node))

    def shape(self, node: Node) -> _Shape:
        if node in self.shapes:
            return self.shapes[node]
        if node in self._building:
            raise _Unsupported(f"recursive shape {node}")
        self._building.add(node)
        g = self.g
        for p in set(g.predicates(node)):
            if str(p).startswith(str(SH)) and p not in _COVERED:
                raise _Unsupported(f"{p} on {node}")
        if (node, SH.deactivated, None) in g:
            raise _Unsupported("sh:deactivated")
        types = set(g.objects(node, RDF.type))
        class_types = set(g.subjects(RDFS.subClassOf, RDFS.Class)) | {RDFS.Class, OWL.Class}
        if types & class_types:
            raise _Unsupported("a shape that is also a class (implicit class target)")
        paths = list(g.objects(node, SH.path))
        if len(paths) > 1:
            raise _Unsupported("several sh:path")
        path = paths[0] if paths else None
        if path is not None and not isinstance(path, URIRef):
            # pyshacl copies a complex path into its report as fresh blank nodes: no match
            raise _Unsupported("a path other than a predicate IRI")
        severities = list(g.objects(node, SH.severity))
        if len(severities) > 1 or (severities and not isinstance(severities[0], URIRef)):
            raise _Unsupported("sh:severity")
        messages = list(g.objects(node, SH.message))
        if len(messages) > 1:
            raise _Unsupported("several sh:message (pyshacl reports one of them at random)")
        shape = _Shape(
            node=node,
            path=path,
            severity=severities[0] if severities else SH.Violation,  # type: ignore[arg-type]
            message=str(messages[0]) if messages else None,
        )
        for t in _TARGETS:
            values = list(g.objects(node, t))
            if values:
                if any(isinstance(v, BNode) for v in values) or (
                    t != SH.targetNode and not all(isinstance(v, URIRef) for v in values)
                ):
                    raise _Unsupported(f"{t} that is not an IRI")
                shape.targets[t] = values
        is_property = path is not None
        seen: set[URIRef] = set()
        for p in list(g.predicates(node)):
            if p in seen:
                continue
            seen.add(p)
            values = list(g.objects(node, p))
            if p == SH["class"]:
                for v in values:
                    if not isinstance(v, URIRef):
                        raise _Unsupported("sh:class that is not an IRI")
                    shape.constraints.append(_Constraint("class", v))
            elif p == SH["in"]:
                members = self.items(self.one(node, p))
                if any(isinstance(m, BNode) for m in members):
                    raise _Unsupported("sh:in with a blank node")
                shape.constraints.append(_Constraint("in", members))
            elif p == SH.hasValue:
                for v in values:
                    if isinstance(v, BNode):
                        raise _Unsupported("sh:hasValue with a blank node")
                    shape.constraints.append(_Constraint("hasValue", v))
            elif p in (SH.minCount, SH.maxCount):
                n = self.one(node, p)
                if not is_property:
                    raise _Unsupported(f"{p} on a node shape")
                if not (isinstance(n, Literal) and n.datatype == XSD.integer) or not (
                    0 <= int(n) <= _MAX_COUNT  # type: ignore[call-overload]
                ):
                    raise _Unsupported(f"{p} {n}")
                kind = "minCount" if p == SH.minCount else "maxCount"
                shape.constraints.append(_Constraint(kind, int(n)))
            elif p == SH["not"]:
                for v in values:
                    shape.constraints.append(_Constraint("not", self.shape(v)))
            elif p in (SH["or"], SH["and"]):
                kind = "or" if p == SH["or"] else "and"
                for v in values:
                    members = [self.shape(m) for m in self.items(v)]
                    if not members:
                        raise _Unsupported(f"empty {p}")
                    shape.constraints.append(_Constraint(kind, members))
            elif p == SH.node:
                for v in values:
                    target = self.shape(v)
                    if target.path is not None:
                        raise _Unsupported("sh:node pointing to a property shape")
                    shape.constraints.append(_Constraint("node", target))
            elif p == SH.property:
                for v in values:
                    target = self.shape(v)
                    if target.path is None:
                        raise _Unsupported("sh:property pointing to a node shape")
                    shape.constraints.append(_Constraint("property", target))
            elif p in _VALUE_LOCAL:
                # several values of one parameter: pyshacl reports once per value broken
                self.one(node, p)
                shape.constraints.append(self.local(node, p))
            elif p in _PAIR:
                if not is_property:
                    raise _Unsupported(f"{p} on a node shape")
                for v in values:
                    if not isinstance(v, URIRef):
                        raise _Unsupported(f"{p} that is not an IRI")
                    shape.constraints.append(self.pair(node, p, v))
        self._building.discard(node)
        self.shapes[node] = shape
        return shape

    def _component(self, node: Node, param: URIRef) -> object:
        from pyshacl.constraints import CONSTRAINT_PARAMETERS_MAP

        try:
            return CONSTRAINT_PARAMETERS_MAP[param](self.sg.lookup_shape_from_node(node))
        except Exception as exc:  # pyshacl would refuse the shape
            raise _Unsupported(f"pyshacl cannot load {param} on {node}: {exc}") from None

    def local(self, node: Node, param: URIRef) -> _Constraint:
        """A check of one value node by pyshacl's own component, as a SPARQL function."""
        from pyshacl.pytypes import SHACLExecutor

        component = self._component(node, param)
        if param == SH.datatype and self.one(node, param) == XSD.string:
            # rdflib never finds an xsd:string literal ill-typed, so pyshacl accepts exactly the
            # plain literals and those typed xsd:string: no need to call back into Python
            plain, string = _PLAIN, str(surrogate(str(XSD.string), None).value)
            kinds = f"datatype({{w}}) = <{plain}> || datatype({{w}}) = <{string}>"
            test = f"(isLiteral({{w}}) && ({kinds}))"
            return _Constraint("local", param, None, param, test)
        executor = SHACLExecutor(allow_warnings=True, advanced_mode=True)
        empty = Graph()
        dummy = URIRef("urn:x-kg:focus")
        cache: dict[object, ox.Literal] = {}
        iri = f"urn:x-kg:fn:{len(self.functions)}"

        def check(term: object) -> ox.Literal:
            got = cache.get(term)
            if got is None:
                ok, _reports = component.evaluate(  # type: ignore[attr-defined]
                    executor,
                    empty,
                    {dummy: {_decode(term)}},
                    [],  # type: ignore[arg-type]
                )
                got = cache[term] = ox.Literal("true" if ok else "false", datatype=_XSD_BOOLEAN)
            return got

        self.functions[iri] = check
        return _Constraint("local", param, iri, param)

    def pair(self, node: Node, param: URIRef, other: URIRef) -> _Constraint:
        """sh:lessThan / sh:lessThanOrEquals on one (value, other value) pair, by pyshacl."""
        component = self._component(node, param)
        compare = (
            component._compare_lt  # type: ignore[attr-defined]
            if param == SH.lessThan
            else component._compare_ltoe  # type: ignore[attr-defined]
        )
        empty = Graph()
        dummy = URIRef("urn:x-kg:focus")
        cache: dict[tuple[object, object], ox.Literal] = {}
        iri = f"urn:x-kg:fn:{len(self.functions)}"

        def check(value: object, other_value: object) -> ox.Literal:
            key = (value, other_value)
            got = cache.get(key)
            if got is None:
                bad, _reports = compare({_decode(value)}, [_decode(other_value)], empty, dummy)
                got = cache[key] = ox.Literal("false" if bad else "true", datatype=_XSD_BOOLEAN)
            return got

        self.functions[iri] = check
        return _Constraint("pair", other, iri, param)


_FOCUS = "urn:x-kg:focus"
_FOCUS_MEMBER = "urn:x-kg:focus-member"
_XSD_BOOLEAN = ox.NamedNode("http://www.w3.org/2001/XMLSchema#boolean")
_TYPE_PATH = f"<{RDF.type}>/<{RDFS.subClassOf}>*"
#: A pattern of the nodes of a class and its subclasses, ``{TYPED ?x <class>}``, that
#: :class:`_Classes` writes out for the store a query runs on.
_TYPED = re.compile(r"\{TYPED (\?\w+) <([^<>\s]*)>\}")
#: A class whose nodes are fewer than the store's quads divided by this is named with its
#: subclasses in ``VALUES`` (:class:`_Classes`); in the synthetic corpora, every class but the
#: mentions (a 15th of the quads).
_SMALL = 32


def _typed(x: str, cls: object) -> str:
    return f"{{TYPED {x} <{cls}>}}"


def _by_path(x: str, cls: str) -> str:
    """The nodes ``x`` of ``cls`` and its subclasses, by the path rdf:type/rdfs:subClassOf*."""
    return f"{x} {_TYPE_PATH} <{cls}> ."


def _untyped(text: str) -> str:
    """``text`` with each ``{TYPED ?x <C>}`` written by the path (:func:`_by_path`)."""
    return _TYPED.sub(lambda m: _by_path(m.group(1), m.group(2)), text)


class _Classes:
    """Writes out ``{TYPED ?x <C>}`` (:func:`_typed`) for a run over every focus node: as
    ``?x rdf:type ?k`` with ``?k`` bound in ``VALUES`` to ``C`` and its subclasses in the store
    (``?k rdfs:subClassOf* <C>``) where they are all IRIs and the class is small, else as the
    path ``?x rdf:type/rdfs:subClassOf* <C>``: the same nodes either way. Oxigraph evaluates
    the path by joining every ``rdf:type`` triple of the store (about a second on 4 million
    quads, for a class of 33 nodes as for one of 41 000), and the ``VALUES`` form from the
    class's own nodes, which costs more than the path where these are a large part of the
    store (the 268 000 mentions there). A class is small where its nodes, counted up to a
    bound, are fewer than the store's quads divided by :data:`_SMALL`."""

    def __init__(self, store: ox.Store, union: bool) -> None:
        self.store, self.union = store, union
        self.found: dict[str, str | None] = {}
        self.bound: int | None = None

    def write(self, text: str) -> str:
        return _TYPED.sub(self._one, text)

    def _one(self, m: re.Match[str]) -> str:
        x, cls = m.group(1), m.group(2)
        if cls not in self.found:
            self.found[cls] = self._values(cls)
        values = self.found[cls]
        if values is None:
            return _by_path(x, cls)
        k = f"{x}_class"
        return f"VALUES {k} {{ {values} }} {x} <{RDF.type}> {k} ."

    def _values(self, cls: str) -> str | None:
        """``cls`` and its subclasses, written for ``VALUES``, where that form is the one."""
        query = f"SELECT DISTINCT ?k WHERE {{ ?k <{RDFS.subClassOf}>* <{cls}> }}"
        found = [row[0] for row in self._query(query)]
        if not all(isinstance(k, ox.NamedNode) for k in found):
            return None  # a blank node cannot be named in VALUES
        values = " ".join(sorted(str(k) for k in found))
        if self.bound is None:
            self.bound = len(self.store) // _SMALL + 1
        nodes = f"SELECT ?x WHERE {{ VALUES ?k {{ {values} }} ?x <{RDF.type}> ?k }}"
        if sum(1 for _row in self._query(f"{nodes} LIMIT {self.bound}")) >= self.bound:
            return None
        return values

    def _query(self, text: str) -> ox.QuerySolutions:
        return self.store.query(text, use_default_graph_as_union=self.union)  # type: ignore[return-value]


# ---------------------------------------------------------------------------
# SPARQL generation
# ---------------------------------------------------------------------------


class _Sparql:
    def __init__(self) -> None:
        self._n = itertools.count()

    def var(self, stem: str = "v") -> str:
        return f"?{stem}{next(self._n)}"

    # -- value nodes -------------------------------------------------------

    @staticmethod
    def step(shape: _Shape, x: str, w: str) -> str:
        return f"{x} <{shape.path}> {w} ."

    def distinct_values(self, shape: _Shape, x: str, n: int) -> tuple[list[str], str]:
        """``n`` pairwise distinct value nodes of ``x``."""
        ws = [self.var("w") for _ in range(n)]
        pattern = " ".join(self.step(shape, x, w) for w in ws)
        conds = [f"!sameTerm({a}, {b})" for a, b in itertools.combinations(ws, 2)]
        if conds:
            pattern += f" FILTER({' && '.join(conds)})"
        return ws, pattern

    # -- conformance -------------------------------------------------------

    def conforms(self, shape: _Shape, x: str) -> str:
        """True when ``x`` conforms to ``shape`` as pyshacl decides it for a nested shape."""
        if shape.lenient:
            return "true"
        fails = [self.focus_fails(shape, c, x, "conform") for c in shape.constraints]
        return f"!({' || '.join(fails)})" if fails else "true"

    def violated(self, shape: _Shape, x: str) -> str:
        """True when validating ``x`` against ``shape`` gives at least one result."""
        fails = [self.focus_fails(shape, c, x, "report") for c in shape.constraints]
        return f"({' || '.join(fails)})" if fails else "false"

    def value_fails(self, c: _Constraint, mode: str, w: str) -> str:
        """True when value node ``w`` breaks a constraint checked value by value."""
        if c.kind == "class":
            return f"NOT EXISTS {{ {w} {_TYPE_PATH} <{c.arg}> }}"
        if c.kind == "in":
            items = [f"sameTerm({w}, {_sparql(t)})" for t in c.arg]  # type: ignore[attr-defined]
            return f"!({' || '.join(items)})" if items else "true"
        if c.kind == "local":
            if c.test is not None:
                return "!" + c.test.replace("{w}", w)
            return f"!<{c.fn}>({w})"
        if c.kind == "not":
            return f"({self.conforms(c.arg, w)})"  # type: ignore[arg-type]
        if c.kind == "or":
            return f"!({' || '.join(self.conforms(s, w) for s in c.arg)})"  # type: ignore[attr-defined]
        if c.kind == "and":
            return f"!({' && '.join(self.conforms(s, w) for s in c.arg)})"  # type: ignore[attr-defined]
        if c.kind == "node":
            return self.violated(c.arg, w)  # type: ignore[arg-type]
        if c.kind == "property":
            target: _Shape = c.arg  # type: ignore[assignment]
            return (
                self.violated(target, w) if mode == "report" else f"!({self.conforms(target, w)})"
            )
        raise _Unsupported(c.kind)

    def focus_fails(self, shape: _Shape, c: _Constraint, x: str, mode: str) -> str:
        """True when focus node ``x`` has a result for ``c`` (``mode``: see :meth:`value_fails`)."""
        if c.kind == "minCount":
            n: int = c.arg  # type: ignore[assignment]
            if n == 0:
                return "false"
            _ws, pattern = self.distinct_values(shape, x, n)
            return f"NOT EXISTS {{ {pattern} }}"
        if c.kind == "maxCount":
            _ws, pattern = self.distinct_values(shape, x, c.arg + 1)  # type: ignore[operator]
            return f"EXISTS {{ {pattern} }}"
        if c.kind == "hasValue":
            if shape.path is None:
                return f"!sameTerm({x}, {_sparql(c.arg)})"  # type: ignore[arg-type]
            return f"NOT EXISTS {{ {x} <{shape.path}> {_sparql(c.arg)} . }}"  # type: ignore[arg-type]
        if c.kind == "pair":
            raise _Unsupported("sh:lessThan or sh:lessThanOrEquals in a nested shape")
        if shape.path is None:
            return self.value_fails(c, mode, x)
        w = self.var("w")
        return f"EXISTS {{ {self.step(shape, x, w)} FILTER({self.value_fails(c, mode, w)}) }}"


@dataclass
class _Query:
    shape: _Shape
    named: Node | None
    sparql: str
    chain: list[str]  # variables of the focus chain; the last is the result's focus
    value: str | None  # variable of the result's value
    other: str | None = None  # sh:lessThan: the compared value (one result per pair)
    blank_probe: str | None = None  # sh:lessThan: ASK for blank value nodes (pyshacl stops)
    whole: str | None = None  # the same results, for a run over every focus node (see _whole)


def _targets_pattern(shape: _Shape, f: str) -> str:
    parts = []
    for t, values in shape.targets.items():
        for v in values:
            if t == SH.targetClass:
                parts.append(f"{{ {_typed(f, v)} }}")
            elif t == SH.targetNode:
                parts.append(f"{{ VALUES {f} {{ {_sparql(v)} }} }}")
            elif t == SH.targetSubjectsOf:
                parts.append(f"{{ {f} <{v}> [] }}")
            else:
                parts.append(f"{{ [] <{v}> {f} }}")
    union = " UNION ".join(parts)
    return f"{{ SELECT DISTINCT {f} WHERE {{ {{RESTRICT_ROOT}}{{ {union} }} }} }}"


# ---------------------------------------------------------------------------
# The compiled engine
# ---------------------------------------------------------------------------


@dataclass
class Compiled:
    """The shapes as SPARQL queries; :meth:`results` runs them on an encoded store."""

    queries: list[_Query]
    functions: dict[str, Callable[..., object]]

    def results(
        self,
        store: ox.Store,
        *,
        focus: Iterable[Node] | None = None,
        origin: dict[Node, str] | None = None,
        union: bool = False,
        share: bool = False,
    ) -> list[Result]:
        """The results pyshacl would report on the store's default graph (with ``union``: on
        the union of its graphs) (filled by
        :func:`load_store`), sorted, with ``source_file`` from ``origin``.

        With ``share``, the queries of a run over every focus node are shared with a forked
        copy of this process (:func:`kg.forked.shared_map`) on Linux: the same results on two
        cores.

        With ``focus``, only the results whose focus node is one of them (as if the full list
        were filtered), for incremental validation: the focus nodes are held in a named graph
        of their own while the queries run, and removed after.

        Raises :class:`FastShaclError` where pyshacl would stop (or might: the caller should
        then run pyshacl)."""
        origin = origin or {}
        if focus is None:
            return self._run(store, None, origin, union, share)
        # the focus nodes go into a named graph of their own for the time of the queries: a
        # VALUES block cannot name blank nodes
        graph = ox.NamedNode(f"urn:x-kg:focus:{uuid.uuid4().hex}")
        holder, member = ox.NamedNode(_FOCUS), ox.NamedNode(_FOCUS_MEMBER)
        quads = [ox.Quad(holder, member, to_ox(n), graph) for n in dict.fromkeys(focus)]
        if not quads:
            return []
        store.extend(quads)
        try:
            return self._run(store, graph, origin, union)
        finally:
            store.remove_graph(graph)

    def _run(
        self,
        store: ox.Store,
        focus_graph: ox.NamedNode | None,
        origin: dict[Node, str],
        union: bool = False,
        share: bool = False,
    ) -> list[Result]:
        errors: list[BaseException] = []

        def guard(fn: Callable[..., object]) -> Callable[..., object]:
            def call(*args: object) -> object:
                try:
                    return fn(*args)
                except Exception as exc:  # pyshacl would raise on this value
                    errors.append(exc)
                    return None

            return call

        functions = {ox.NamedNode(k): guard(v) for k, v in self.functions.items()}
        decoded: dict[object, Node] = {}

        def dec(term: object) -> Node:
            got = decoded.get(term)
            if got is None:
                got = decoded[term] = from_ox(term)  # type: ignore[arg-type]
            return got

        # the focus nodes of a restricted run are few: their type is tested node by node
        classes = _Classes(store, union) if focus_graph is None else None

        def one(i: int) -> list[Result]:
            q = self.queries[i]
            errors.clear()
            restrict = (
                f"GRAPH {focus_graph} {{ <{_FOCUS}> <{_FOCUS_MEMBER}> {q.chain[-1]} }} "
                if focus_graph is not None
                else ""
            )
            # the root focus is restricted inside the target subquery too, so that it is not
            # computed in full only to be joined away
            root = restrict if len(q.chain) == 1 else ""
            if q.blank_probe is not None:
                probe = q.blank_probe.replace("{RESTRICT}", restrict)
                probe = probe.replace("{RESTRICT_ROOT}", root)
                probe = _untyped(probe) if classes is None else classes.write(probe)
                if store.query(probe, use_default_graph_as_union=union):
                    raise FastShaclError("a blank value node for sh:lessThan(OrEquals)")
            text = q.whole if q.whole is not None and focus_graph is None else q.sparql
            sparql = text.replace("{RESTRICT}", restrict).replace("{RESTRICT_ROOT}", root)
            sparql = _untyped(sparql) if classes is None else classes.write(sparql)
            rows = store.query(sparql, custom_functions=functions, use_default_graph_as_union=union)
            fvar, vvar = q.chain[-1][1:], (q.value[1:] if q.value else None)
            found = []
            for row in rows:
                node = dec(row[fvar])
                found.append(
                    Result(
                        focus=node,
                        shape=q.named,
                        path=q.shape.path,
                        message=q.shape.message or "",
                        severity=str(q.shape.severity).rsplit("#", 1)[-1],
                        value=dec(row[vvar]) if vvar else None,
                        source_file=origin.get(node),
                    )
                )
            if errors:
                raise FastShaclError(f"pyshacl would stop here: {errors[0]}")
            return found

        out = list(itertools.chain.from_iterable(shared_map(one, len(self.queries), fork=share)))
        out.sort(key=lambda r: (*r.sort_key(), r.severity, repr(r.value)))
        return out

    def results_for_graph(
        self,
        data: Graph,
        *,
        focus: Iterable[Node] | None = None,
        origin: dict[Node, str] | None = None,
    ) -> list[Result]:
        """:meth:`results` on an rdflib graph, loaded into a fresh in-memory store."""
        return self.results(load_store(data), focus=focus, origin=origin)


def compile_shapes(shapes: Graph, *, drop: Iterable[str] = ()) -> Compiled | None:
    """The shapes compiled into SPARQL, or ``None`` when they use anything not covered.

    ``drop`` leaves out the constraints of the given kinds or parameters (``"class"``,
    ``"minCount"``, ``"local"`` or ``"datatype"``, ...): for testing that a comparison with
    pyshacl catches a missing constraint."""
    from kg.validate import _named_shape

    dropped = set(drop)
    try:
        custom = (None, RDF.type, SH.ConstraintComponent) in shapes
        if custom or (None, SH.parameter, None) in shapes:
            raise _Unsupported("custom constraint components")
        compiler = _Compiler(shapes)
        roots = sorted(
            {s for t in _TARGETS for s in shapes.subjects(t, None)}, key=lambda n: (str(n),)
        )
        # every shape is checked, referenced or not, so an unsupported feature is never missed
        everything = set(roots)
        for p in (SH.property, SH.node, SH["not"], SH.qualifiedValueShape):
            everything |= set(shapes.objects(None, p))
        for p in (SH["or"], SH["and"], SH.xone):
            for lst in shapes.objects(None, p):
                everything |= set(compiler.items(lst))
        everything |= set(shapes.subjects(RDF.type, SH.NodeShape))
        everything |= set(shapes.subjects(RDF.type, SH.PropertyShape))
        everything |= set(shapes.subjects(SH.path, None))
        for node in sorted(everything, key=str):
            compiler.shape(node)
        if dropped:
            for shape in compiler.shapes.values():
                shape.constraints = [c for c in shape.constraints if not c.named(dropped)]
        gen = _Sparql()
        queries: list[_Query] = []
        for root in roots:
            shape = compiler.shapes[root]
            f = gen.var("f")
            _report(gen, shapes, shape, [f], _targets_pattern(shape, f), queries, _named_shape)
        return Compiled(queries, compiler.functions)
    except _Unsupported:
        return None


def _report(
    gen: _Sparql,
    shapes: Graph,
    shape: _Shape,
    chain: list[str],
    context: str,
    queries: list[_Query],
    named_shape: Callable[[Graph, Node | None], Node | None],
) -> None:
    """Queries for the results ``shape`` reports with focus node ``chain[-1]`` (bound by
    ``context``), and for those of its ``sh:property`` shapes."""
    x = chain[-1]
    named = named_shape(shapes, shape.node)
    for c in shape.constraints:
        if c.kind == "property":
            target: _Shape = c.arg  # type: ignore[assignment]
            if shape.path is None:
                _report(gen, shapes, target, chain, context, queries, named_shape)
            else:
                g = gen.var("f")
                step = f"{context} {gen.step(shape, x, g)}"
                _report(gen, shapes, target, [*chain, g], step, queries, named_shape)
            continue
        if shape.message is None:
            raise _Unsupported(f"{shape.node} reports without sh:message")
        select = " ".join(chain)
        value: str | None = None
        other: str | None = None
        probe: str | None = None
        if c.kind in ("minCount", "maxCount", "hasValue"):
            body = f"{context} FILTER({gen.focus_fails(shape, c, x, 'report')})"
        elif c.kind == "pair":
            value, other = gen.var("v"), gen.var("o")
            step = gen.step(shape, x, value)
            body = f"{context} {step} {x} <{c.arg}> {other} . FILTER(!<{c.fn}>({value}, {other}))"
            select += f" {value} {other}"
            probe = f"ASK {{ {{RESTRICT}}{context} {step} FILTER(isBlank({value})) }}"
        else:
            if shape.path is None:
                value = x
                body = f"{context} FILTER({gen.value_fails(c, 'report', x)})"
            else:
                value = gen.var("v")
                body = (
                    f"{context} {gen.step(shape, x, value)} "
                    f"FILTER({gen.value_fails(c, 'report', value)})"
                )
                select += f" {value}"
        sparql = f"SELECT DISTINCT {select} WHERE {{ {{RESTRICT}}{body} }}"
        whole = _whole(gen, shape, c, x, value, context)
        if whole is not None:
            whole = f"SELECT DISTINCT {select} WHERE {{ {whole} }}"
        queries.append(_Query(shape, named, sparql, list(chain), value, other, probe, whole))


def _whole(
    gen: _Sparql, shape: _Shape, c: _Constraint, x: str, value: str | None, context: str
) -> str | None:
    """For a run over every focus node, ``c``'s results as a join with a table computed once,
    where the query of :func:`_report` tests each focus or value node in turn: the type test of
    ``sh:class`` and the counts of ``sh:minCount`` and ``sh:maxCount``. Oxigraph's in-memory
    store finds a node's triples by walking all the triples of that node, so a test per node
    costs as much as the node has triples, and the actors and places that every source mentions
    have thousands. A run restricted to a few focus nodes keeps the test per node, which then
    costs less than the table. None for the other constraints."""
    if c.kind == "class":
        tested = value if value is not None else x
        step = gen.step(shape, x, tested) if shape.path is not None else ""
        table = f"SELECT {tested} WHERE {{ {_typed(tested, c.arg)} }}"
        return f"{context} {step} MINUS {{ {table} }}"
    if c.kind in ("minCount", "maxCount") and shape.path is not None:
        n: int = c.arg  # type: ignore[assignment]
        if c.kind == "minCount" and n == 0:
            return None
        w = gen.var("w")
        over = ">=" if c.kind == "minCount" else ">"
        counted = (
            f"SELECT {x} WHERE {{ {gen.step(shape, x, w)} }} "
            f"GROUP BY {x} HAVING (COUNT(DISTINCT {w}) {over} {n})"
        )
        if c.kind == "minCount":
            return f"{context} MINUS {{ {counted} }}"
        return f"{context} {{ {counted} }}"
    return None
