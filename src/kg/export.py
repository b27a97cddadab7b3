"""Serialising graphs and datasets, deterministically and atomically, and the JSON-LD context.

Every export goes through one canonical form first: blank nodes are relabelled by RDF Dataset
Canonicalization (RDFC-1.0, Oxigraph's implementation), so the same graph gives the same bytes
however its triples were inserted and whatever its blank nodes were called; literals are
RDF 1.1 terms (``"x"^^xsd:string`` is ``"x"``, language tags in lower case). Each canonical
blank node is then named after what is said about it (a hash of the quads it takes part in), so a
change to one mention renames that mention only and exports stay diff-friendly.

The JSON-LD context (:func:`jsonld_context`) is generated from the ontology
(:func:`build_context`) and shipped beside it as ``ontology/dip-context.jsonld``; exports carry
it inline, so a consumer never fetches anything. ``kg context`` rewrites the file and
``kg context --check`` tells whether it is up to date.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import tempfile
from collections import defaultdict
from glob import escape as glob_escape
from pathlib import Path
from typing import Any

import pyoxigraph as ox
from rdflib import OWL, RDF, RDFS, XSD, BNode, Dataset, Graph, Literal, URIRef
from rdflib.graph import DATASET_DEFAULT_GRAPH_ID
from rdflib.plugins.serializers.longturtle import LongTurtleSerializer
from rdflib.plugins.serializers.trig import TrigSerializer
from rdflib.term import Node

from kg.errors import InputError
from kg.namespaces import DIP, PREFIXES, bind_prefixes

#: Format names the command line accepts, and the name rdflib reads each back by.
FORMATS: dict[str, str] = {
    "turtle": "turtle",
    "ntriples": "nt",
    "nquads": "nquads",
    "trig": "trig",
    "jsonld": "json-ld",
}
#: Formats that keep named graphs: a dataset is exported with one named graph per source.
DATASET_FORMATS = {"nquads", "trig", "jsonld"}
SUFFIX = {
    "turtle": ".ttl",
    "ntriples": ".nt",
    "nquads": ".nq",
    "trig": ".trig",
    "jsonld": ".jsonld",
}

#: The file, in a project's ``ontology/`` folder, that holds the JSON-LD context.
CONTEXT_FILE = "dip-context.jsonld"
_CHECKOUT = Path(__file__).resolve().parents[2]

_OX_DEFAULT = ox.DefaultGraph()
_XSD_STRING = str(XSD.string)


# --- canonical form -------------------------------------------------------------------------


def _quads(data: Graph | Dataset) -> list[tuple[Node, Node, Node, Node | None]]:
    """Every quad of ``data``; ``None`` names the default graph."""
    if isinstance(data, Dataset):
        return [
            (s, p, o, None if g == DATASET_DEFAULT_GRAPH_ID else g)
            for s, p, o, g in data.quads((None, None, None, None))
        ]
    return [(s, p, o, None) for s, p, o in data]


def _to_ox(node: Node, memo: dict[Node, Any]) -> Any:
    """``node`` as an Oxigraph term (each blank node a fresh one), converted once."""
    found = memo.get(node)
    if found is not None:
        return found
    memo[node] = term = _ox_term(node)
    return term


def _ox_term(node: Node) -> Any:
    try:
        if isinstance(node, URIRef):
            return ox.NamedNode(str(node))
        if isinstance(node, BNode):
            return ox.BlankNode()
        if isinstance(node, Literal):
            if node.language:
                return ox.Literal(str(node), language=node.language)
            if node.datatype is not None:
                return ox.Literal(str(node), datatype=ox.NamedNode(str(node.datatype)))
            return ox.Literal(str(node))
    except ValueError as exc:
        shown = repr(str(node))
        shown = shown if len(shown) <= 120 else shown[:119] + "…"
        raise InputError(f"cannot export {type(node).__name__} {shown}: {exc}") from None
    raise InputError(f"cannot export {type(node).__name__}: not an RDF term")


def _from_ox(term: Any) -> Node:
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if term.language:
        return Literal(term.value, lang=term.language)
    if term.datatype.value == _XSD_STRING:  # a simple literal, as RDF 1.1 has it
        return Literal(term.value)
    return Literal(term.value, datatype=URIRef(term.datatype.value))


def _blank_labels(quads: list[ox.Quad]) -> dict[str, str]:
    """Readable, stable labels for canonically labelled blank nodes.

    A blank node is named after the quads it takes part in (itself written ``_:self``, other
    blank nodes ``_:``); blank nodes that say the same thing are told apart by their canonical
    labels, which RDFC-1.0 assigns the same way for every isomorphic input.
    """
    said: dict[str, list[str]] = defaultdict(list)
    for quad in quads:
        terms = (quad.subject, quad.predicate, quad.object, quad.graph_name)
        for node in {t.value for t in terms if isinstance(t, ox.BlankNode)}:
            said[node].append(
                " ".join(
                    ("_:self" if t.value == node else "_:")
                    if isinstance(t, ox.BlankNode)
                    else str(t)
                    for t in terms
                )
            )
    groups: dict[str, list[str]] = defaultdict(list)
    for node, lines in said.items():
        digest = hashlib.sha256("\n".join(sorted(lines)).encode("utf-8")).hexdigest()
        groups[digest].append(node)
    labels: dict[str, str] = {}
    used: set[str] = set()
    for digest in sorted(groups):
        for n, node in enumerate(sorted(groups[digest])):
            label = f"b{digest[:16]}" if n == 0 else f"b{digest[:16]}x{n}"
            while label in used:  # two digests that share their first 16 digits
                label += "y"
            used.add(label)
            labels[node] = label
    return labels


def canonical_quads(data: Graph | Dataset) -> list[ox.Quad]:
    """The quads of ``data`` in canonical form and order: RDFC-1.0 blank-node labels replaced
    by stable readable ones, sorted by graph, subject, predicate and object."""
    memo: dict[Node, Any] = {}
    quads = []
    for s, p, o, g in _quads(data):
        try:
            quads.append(
                ox.Quad(
                    _to_ox(s, memo),
                    _to_ox(p, memo),
                    _to_ox(o, memo),
                    _OX_DEFAULT if g is None else _to_ox(g, memo),
                )
            )
        except TypeError:  # a literal subject, say, which rdflib holds and RDF has not
            raise InputError(
                f"cannot export a triple with a {type(s).__name__} subject, a "
                f"{type(p).__name__} predicate and a {type(g).__name__} graph name: not RDF"
            ) from None
    dataset = ox.Dataset(quads)
    dataset.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    canon = list(dataset)
    labels = _blank_labels(canon)

    def relabel(term: Any) -> Any:
        return ox.BlankNode(labels[term.value]) if isinstance(term, ox.BlankNode) else term

    out = [
        ox.Quad(relabel(q.subject), q.predicate, relabel(q.object), relabel(q.graph_name))
        for q in canon
    ]
    out.sort(key=lambda q: (str(q.graph_name), str(q.subject), str(q.predicate), str(q.object)))
    return out


#: Turtle's numeric and boolean shorthands, by the datatype each is read as.
_SHORTHAND = {
    str(XSD.integer): re.compile(r"[+-]?[0-9]+"),
    str(XSD.decimal): re.compile(r"[+-]?[0-9]*\.[0-9]+"),
    str(XSD.double): re.compile(r"[+-]?([0-9]+\.[0-9]*|\.[0-9]+|[0-9]+)[eE][+-]?[0-9]+"),
    str(XSD.boolean): re.compile(r"true|false"),
}


class _ExactLiteral(Literal):
    """A literal that Turtle and TriG write with its own lexical form.

    rdflib writes numbers and booleans in Turtle's shorthand after reformatting them (a double
    with six digits, ``"5"^^xsd:decimal`` as ``5.0``), which changes the RDF term and loses
    precision; this literal takes the shorthand only when it spells exactly its lexical form
    and reads back as its datatype, and is written ``"…"^^xsd:…`` otherwise.
    """

    def _literal_n3(self, use_plain: bool = False, qname_callback: Any = None) -> str:
        if use_plain:
            grammar = _SHORTHAND.get(str(self.datatype))
            if grammar is not None and grammar.fullmatch(str(self)):
                plain = super()._literal_n3(True, qname_callback)
                if plain == str(self):
                    return plain
        datatype = qname_callback(self.datatype) if qname_callback else None
        return f"{self._quote_encode()}^^{datatype or f'<{self.datatype}>'}"


def _exact(term: Any) -> Node:
    """``term`` as an rdflib node that keeps its exact lexical form."""
    if isinstance(term, ox.Literal) and not term.language and term.datatype.value != _XSD_STRING:
        return _ExactLiteral(term.value, datatype=URIRef(term.datatype.value), normalize=False)
    return _from_ox(term)


def _to_rdflib(quads: list[ox.Quad], *, dataset: bool) -> Graph | Dataset:
    """Canonical quads as an rdflib graph or dataset for rdflib's Turtle and TriG writers,
    inserted in canonical order, every literal keeping its exact lexical form."""
    out: Graph | Dataset = Dataset() if dataset else Graph()
    bind_prefixes(out)
    nodes: dict[Any, Node] = {}
    graphs: dict[Any, Graph] = {}

    def node(term: Any) -> Node:
        found = nodes.get(term)
        if found is None:
            nodes[term] = found = _exact(term)
        return found

    for q in quads:
        target = graphs.get(q.graph_name)
        if target is None:
            if not isinstance(out, Dataset):
                target = out
            elif isinstance(q.graph_name, ox.DefaultGraph):
                target = out.graph(DATASET_DEFAULT_GRAPH_ID)
            else:
                target = out.graph(node(q.graph_name))
            graphs[q.graph_name] = target
        target.add((node(q.subject), node(q.predicate), node(q.object)))
    return out


# Turtle's PN_LOCAL, without backslash escapes: a local name written as it stands.
_PN_BASE = (
    "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u02ff\u0370-\u037d\u037f-\u1fff\u200c\u200d"
    "\u2070-\u218f\u2c00-\u2fef\u3001-\ud7ff\uf900-\ufdcf\ufdf0-\ufffd\U00010000-\U000effff"
)
_PN_CHARS = _PN_BASE + "_\\-0-9\u00b7\u0300-\u036f\u203f\u2040"
_PLX = "%[0-9A-Fa-f]{2}"
_PN_LOCAL = re.compile(
    f"(?:(?:[{_PN_BASE}_:0-9]|{_PLX})(?:(?:[{_PN_CHARS}.:]|{_PLX})*(?:[{_PN_CHARS}:]|{_PLX}))?)?"
)


class _Writer:
    """What the project's Turtle and TriG writers change in rdflib's: prefixed names only from
    the bound prefixes and only where the local name needs no escape (rdflib invents prefixes,
    in the order it meets the predicates, and can split an IRI into an invalid namespace), and
    the ``( … )`` list shorthand only for a true list (rdflib takes any blank node with two
    properties ending its chain for one)."""

    store: Graph
    occurrences: dict[Node, int]

    def bound(self) -> list[tuple[str, str]]:
        found = getattr(self, "_bound", None)
        if found is None:
            found = sorted(
                ((p, str(ns)) for p, ns in self.store.namespaces() if p),
                key=lambda t: (-len(t[1]), t[0]),
            )
            self._bound = found
        return found

    def get_pname(self, uri: Node, gen_prefix: bool = True) -> str | None:
        if not isinstance(uri, URIRef):
            return None
        names: dict[str, str | None] = self.__dict__.setdefault("_pnames", {})
        iri = str(uri)
        if iri not in names:
            names[iri] = None
            for prefix, ns in self.bound():
                if iri.startswith(ns) and _PN_LOCAL.fullmatch(iri[len(ns) :]):
                    name = self.addNamespace(prefix, URIRef(ns))  # type: ignore[attr-defined]
                    names[iri] = f"{name or prefix}:{iri[len(ns) :]}"
                    break
        return names[iri]

    def isValidList(self, l_: Node) -> bool:
        seen: set[Node] = set()
        node = l_
        while node != RDF.nil:
            if not isinstance(node, BNode) or node in seen or self.occurrences.get(node) != 3:
                return False
            seen.add(node)
            said = list(self.store.predicate_objects(node))
            if sorted(str(p) for p, _ in said) != [str(RDF.first), str(RDF.rest)]:
                return False
            node = next(o for p, o in said if p == RDF.rest)
        return True


class _LongTurtle(_Writer, LongTurtleSerializer):
    pass


class _TriG(_Writer, TrigSerializer):
    def __init__(self, store: Graph) -> None:
        super().__init__(store)
        # rdflib keeps a dataset's graphs in a set, so their order follows the hash seed
        self.contexts.sort(
            key=lambda g: (
                g.identifier != DATASET_DEFAULT_GRAPH_ID,
                isinstance(g.identifier, BNode),
                str(g.identifier),
            )
        )


def _write_rdflib(data: Graph | Dataset, quads: list[ox.Quad], fmt: str) -> bytes:
    """Turtle or TriG by rdflib's writers, with the project's changes (:class:`_Writer`)."""
    counts: dict[Node, int] = defaultdict(int)
    for q in quads:
        for t in (q.subject, q.object, q.graph_name):
            if isinstance(t, ox.BlankNode):
                counts[BNode(t.value)] += 1
    writer = _LongTurtle(data) if fmt == "turtle" else _TriG(data)
    writer.occurrences = counts
    stream = io.BytesIO()
    writer.serialize(stream, encoding="utf-8")
    return stream.getvalue()


# White space beyond ASCII: valid, unescaped, in N-Triples strings and IRIs, but rdflib's
# N-Triples reader takes it for a separator or a line end, so it is written as \uXXXX.
_READER_SPACES = re.compile("[\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]")


def _sorted_lines(data: bytes) -> bytes:
    """N-Triples or N-Quads with one statement a line, sorted, unicode white space escaped."""
    text = _READER_SPACES.sub(lambda m: f"\\u{ord(m.group(0)):04X}", data.decode("utf-8"))
    lines = sorted({line for line in text.split("\n") if line.strip()})
    return ("\n".join(lines) + ("\n" if lines else "")).encode("utf-8")


def _union(data: Dataset) -> Graph:
    union = Graph()
    for s, p, o, _g in data.quads((None, None, None, None)):
        union.add((s, p, o))
    return union


def serialize(data: Graph | Dataset, fmt: str, *, context: dict[str, Any] | None = None) -> bytes:
    """Serialise ``data`` in ``fmt`` (a key of :data:`FORMATS`); the same RDF gives the same bytes.

    A :class:`Dataset` keeps its named graphs in N-Quads, TriG and JSON-LD; Turtle and N-Triples
    write the union of its graphs. JSON-LD carries ``context`` (by default
    :func:`jsonld_context`) inline, so reading it back fetches nothing.
    """
    if fmt not in FORMATS:
        raise InputError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if isinstance(data, Dataset) and fmt not in DATASET_FORMATS:
        data = _union(data)
    quads = canonical_quads(data)
    if fmt == "ntriples":
        triples = [q.triple for q in quads]
        return _sorted_lines(ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES))
    if fmt == "nquads":
        return _sorted_lines(ox.serialize(quads, format=ox.RdfFormat.N_QUADS))
    if fmt == "jsonld":
        ctx = jsonld_context() if context is None else context
        doc = JsonLdWriter(ctx).document(quads)
        return (json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode(
            "utf-8"
        )
    return _write_rdflib(_to_rdflib(quads, dataset=fmt == "trig"), quads, fmt)


# --- JSON-LD --------------------------------------------------------------------------------

_RDF_TYPE = str(RDF.type)
_XSD_INTEGER = str(XSD.integer)
_XSD_BOOLEAN = str(XSD.boolean)
_CANONICAL_INTEGER = re.compile(r"0|-?[1-9][0-9]{0,15}")
_GEN_DELIMS = (":", "/", "?", "#", "[", "]", "@")


def _json_key(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


class JsonLdWriter:
    """Compacted JSON-LD, flattened (one node object per subject and graph), written from
    canonical quads with a context of prefixes and terms (``"@id"`` and an optional ``"@type"``
    coercion to ``"@id"`` or a datatype), as the JSON-LD 1.1 compaction algorithm would.

    A value goes under a term whose coercion fits it, else under a term without coercion, else
    under the property's compact IRI; booleans and integers in canonical form are JSON booleans
    and numbers (integers up to 2^53, which every JSON reader keeps exact), other literals
    strings; every array is sorted, so the same quads give the same document.
    """

    def __init__(self, context: dict[str, Any]) -> None:
        self.context = context
        self.prefixes: list[tuple[str, str]] = []
        self.terms: dict[str, list[tuple[str, str | None]]] = defaultdict(list)
        plain = {k: v for k, v in context.items() if isinstance(v, str) and v.endswith(_GEN_DELIMS)}
        for name, value in context.items():
            if name.startswith("@") or ":" in name:
                raise InputError(f"the JSON-LD context defines {name!r}, which exports do not use")
            if isinstance(value, str):
                iri, coercion = self._expand(value, plain), None
                if iri.endswith(_GEN_DELIMS):
                    self.prefixes.append((name, iri))
            elif (
                isinstance(value, dict)
                and isinstance(value.get("@id"), str)
                and set(value) <= {"@id", "@type"}
            ):
                iri = self._expand(value["@id"], plain)
                coercion = value.get("@type")
                if coercion is not None and coercion != "@id":
                    coercion = self._expand(str(coercion), plain)
            else:
                raise InputError(f"the JSON-LD context term {name!r} is not a plain definition")
            self.terms[iri].append((name, coercion))
        for entries in self.terms.values():
            entries.sort(key=lambda t: (len(t[0]), t[0]))

    @staticmethod
    def _expand(value: str, plain: dict[str, str]) -> str:
        prefix, sep, suffix = value.partition(":")
        if sep and not suffix.startswith("//") and prefix in plain:
            return plain[prefix] + suffix
        return value

    def iri(self, term: Any, *, vocab: bool = False) -> str:
        """``term`` (a named or blank node) as JSON-LD writes it: a term (``vocab``), a compact
        IRI, the full IRI or a blank-node identifier."""
        if isinstance(term, ox.BlankNode):
            return f"_:{term.value}"
        iri = term.value
        if vocab:
            for name, coercion in self.terms.get(iri, ()):
                if coercion is None:
                    return name
        candidates = [
            f"{name}:{iri[len(ns) :]}"
            for name, ns in self.prefixes
            if iri.startswith(ns) and len(iri) > len(ns) and not iri[len(ns) :].startswith("//")
        ]
        if candidates:
            return min(candidates, key=lambda c: (len(c), c))
        scheme = iri.partition(":")[0]
        if scheme in self.context:
            raise InputError(
                f"cannot write <{iri}> in JSON-LD: its scheme {scheme!r} is a term of the context"
            )
        return iri

    def _key_and_value(self, predicate: Any, obj: Any) -> tuple[str, Any]:
        is_node = isinstance(obj, ox.NamedNode | ox.BlankNode)
        datatype = None if is_node or obj.language else obj.datatype.value
        for name, coercion in self.terms.get(predicate.value, ()):
            if coercion == "@id" and is_node:
                return name, self.iri(obj)
            if coercion is not None and coercion == datatype and coercion != _XSD_STRING:
                return name, obj.value
        key = next(
            (name for name, coercion in self.terms.get(predicate.value, ()) if coercion is None),
            None,
        ) or self.iri(predicate, vocab=True)
        if is_node:
            return key, {"@id": self.iri(obj)}
        if obj.language:
            return key, {"@value": obj.value, "@language": obj.language}
        if datatype == _XSD_STRING:
            return key, obj.value
        if datatype == _XSD_BOOLEAN and obj.value in ("true", "false"):
            return key, obj.value == "true"
        if (
            datatype == _XSD_INTEGER
            and _CANONICAL_INTEGER.fullmatch(obj.value)
            and abs(int(obj.value)) <= 2**53
        ):
            return key, int(obj.value)
        return key, {"@value": obj.value, "@type": self.iri(obj.datatype, vocab=True)}

    def document(self, quads: list[ox.Quad]) -> dict[str, Any]:
        """The JSON-LD document for ``quads``: the context inline, the default graph's nodes
        and one ``{"@id": graph, "@graph": […]}`` object per named graph."""
        graphs: dict[str, dict[str, dict[str, list[Any]]]] = defaultdict(dict)
        for q in quads:
            graph = "" if isinstance(q.graph_name, ox.DefaultGraph) else self.iri(q.graph_name)
            node = graphs[graph].setdefault(self.iri(q.subject), defaultdict(list))
            if q.predicate.value == _RDF_TYPE and not isinstance(q.object, ox.Literal):
                node["@type"].append(self.iri(q.object, vocab=True))
            else:
                key, value = self._key_and_value(q.predicate, q.object)
                node[key].append(value)

        def node_objects(nodes: dict[str, dict[str, list[Any]]]) -> list[dict[str, Any]]:
            out = []
            for node_id, properties in nodes.items():
                obj: dict[str, Any] = {"@id": node_id}
                for key, values in properties.items():
                    values = sorted(values, key=_json_key)
                    obj[key] = values[0] if len(values) == 1 else values
                out.append(obj)
            return out

        top = {node["@id"]: node for node in node_objects(graphs.pop("", {}))}
        for name, nodes in graphs.items():
            top.setdefault(name, {"@id": name})["@graph"] = sorted(
                node_objects(nodes), key=lambda n: n["@id"]
            )
        return {"@context": self.context, "@graph": sorted(top.values(), key=lambda n: n["@id"])}


# --- the JSON-LD context --------------------------------------------------------------------

_PLAIN_RANGES = {XSD.string, RDF.langString, RDFS.Literal}
_TERM_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


def _compact(iri: URIRef) -> str:
    """``iri`` as a compact IRI with the project's prefixes, or in full."""
    best = ""
    for prefix, ns in PREFIXES.items():
        if str(iri).startswith(ns) and len(ns) > len(PREFIXES.get(best, "")):
            best = prefix
    return f"{best}:{str(iri)[len(PREFIXES[best]) :]}" if best else str(iri)


def build_context(ontology_files: list[Path]) -> dict[str, Any]:
    """The JSON-LD context generated from the ontology: the project's prefixes, and a term for
    every class and property of the DIP namespace, named by its local name.

    Object properties take IRIs (``"@type": "@id"``); a datatype property whose range is an XSD
    datatype other than ``xsd:string`` coerces its values to that type; strings stay plain, so a
    language-tagged string compacts as well. A local name that is already a prefix (``place``)
    gets no term: the property stays a compact IRI (``dip:place``).
    """
    from kg.load import parse_turtle

    onto = Graph()
    for path in ontology_files:
        parse_turtle(path, into=onto)
    terms: dict[str, Any] = {}

    def define(iri: URIRef, definition: Any) -> None:
        name = str(iri)[len(str(DIP)) :]
        if _TERM_NAME.fullmatch(name) and name not in PREFIXES and name not in terms:
            terms[name] = definition

    def declared(kind: URIRef) -> list[URIRef]:
        found = {s for s in onto.subjects(RDF.type, kind) if isinstance(s, URIRef)}
        return sorted(s for s in found if str(s).startswith(str(DIP)))

    for cls in declared(OWL.Class) + declared(RDFS.Class):
        define(cls, _compact(cls))
    for prop in declared(OWL.ObjectProperty):
        define(prop, {"@id": _compact(prop), "@type": "@id"})
    for prop in declared(OWL.DatatypeProperty):
        ranges = sorted(r for r in onto.objects(prop, RDFS.range) if isinstance(r, URIRef))
        if len(ranges) == 1 and ranges[0] not in _PLAIN_RANGES:
            define(prop, {"@id": _compact(prop), "@type": _compact(ranges[0])})
        else:
            define(prop, _compact(prop))
    for prop in declared(OWL.AnnotationProperty) + declared(RDF.Property):
        define(prop, _compact(prop))
    return {**PREFIXES, **terms}


def context_document(ontology_files: list[Path]) -> bytes:
    """The bytes of ``dip-context.jsonld`` for ``ontology_files``: ``{"@context": …}``."""
    doc = {"@context": build_context(ontology_files)}
    return (json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def context_path(ontology_dir: Path | None = None) -> Path:
    """Where the JSON-LD context lives: ``ontology_dir`` (by default the ``ontology/`` folder
    of the project this package belongs to) / ``dip-context.jsonld``."""
    return (ontology_dir or _CHECKOUT / "ontology") / CONTEXT_FILE


def jsonld_context(ontology_dir: Path | None = None) -> dict[str, Any]:
    """The JSON-LD context shipped with the project (the value of ``"@context"``), read from
    :func:`context_path`; it names :data:`kg.namespaces.CONTEXT_IRI` and is never fetched."""
    path = context_path(ontology_dir)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(
            "JSON-LD context not found; `kg context` writes it", path=str(path)
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"cannot read the JSON-LD context: {exc}", path=str(path)) from None
    ctx = doc.get("@context") if isinstance(doc, dict) else None
    if not isinstance(ctx, dict):
        raise InputError('the JSON-LD context has no "@context" object', path=str(path))
    return ctx


# --- writing --------------------------------------------------------------------------------


def _remove_stale_temporaries(path: Path) -> None:
    """Remove the temporary files of earlier writes of ``path`` whose writer no longer runs
    (a process killed outright cannot remove its own); they are named ``.NAME.PID.XXXX.tmp``."""
    if os.name != "posix":  # os.kill(pid, 0) only probes on POSIX
        return
    for stale in path.parent.glob(f".{glob_escape(path.name)}.*.tmp"):
        pid = stale.name[len(path.name) + 2 :].split(".", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            with contextlib.suppress(OSError):
                stale.unlink()
        except OSError:
            pass  # alive, under another user


def write_atomic(path: Path, payload: bytes) -> None:
    """Write ``payload`` to a temporary file beside ``path`` and rename it into place, so an
    interrupted write never leaves a half-written file where a good one stood. Temporary files
    that killed writers left behind are removed first."""
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(path)
    try:
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    prefix = f".{path.name}.{os.getpid()}."
    try:
        fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), mode)
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        # also when Ctrl-C comes between the file's creation and mkstemp's return: every
        # temporary file of this write carries this process's id
        for own in path.parent.glob(f"{glob_escape(prefix)}*.tmp"):
            with contextlib.suppress(OSError):
                own.unlink()
        raise
