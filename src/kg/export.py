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
import json
import os
import re
import tempfile
from collections import defaultdict
from collections.abc import Iterable
from glob import escape as glob_escape
from pathlib import Path
from typing import Any

import pyoxigraph as ox
from rdflib import OWL, RDF, RDFS, XSD, BNode, Dataset, Graph, Literal, URIRef
from rdflib.graph import DATASET_DEFAULT_GRAPH_ID
from rdflib.term import Node

from kg.errors import InputError
from kg.namespaces import DIP, PREFIXES

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


def _signatures(quads: list[ox.Quad]) -> dict[str, str]:
    """For each blank node, a digest of the quads it takes part in (itself written ``_:self``,
    other blank nodes ``_:``): the same whatever the blank nodes are called."""
    said: dict[str, list[str]] = defaultdict(list)
    for quad in quads:
        terms = (quad.subject, quad.predicate, quad.object, quad.graph_name)
        blanks = {t.value for t in terms if isinstance(t, ox.BlankNode)}
        if not blanks:
            continue
        for node in blanks:
            said[node].append(
                " ".join(
                    ("_:self" if t.value == node else "_:")
                    if isinstance(t, ox.BlankNode)
                    else str(t)
                    for t in terms
                )
            )
    return {
        node: hashlib.sha256("\n".join(sorted(lines)).encode("utf-8")).hexdigest()
        for node, lines in said.items()
    }


def _blank_labels(signatures: dict[str, str]) -> dict[str, str]:
    """Readable, stable labels for blank nodes, from their :func:`_signatures`.

    Blank nodes that say the same thing are told apart by their labels, which must then be the
    canonical (RDFC-1.0) ones: RDFC-1.0 assigns them the same way for every isomorphic input.
    """
    groups: dict[str, list[str]] = defaultdict(list)
    for node, digest in signatures.items():
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


def tree_labels(quads: list[Any]) -> dict[str, str] | None:
    """Canonical labels for blank nodes that form trees (each inside at most one other blank
    node, none a graph name, no cycle), or None when they do not. ``quads`` are Oxigraph quads,
    or anything with their four fields.

    A blank node is named after what is said about it, the blank nodes inside it included (a
    digest of its quads, each inner blank node written as its own digest), and after the name
    of the blank node it is inside: so two roles of one actor that differ only in their mention
    get different names, and a name depends only on the quads that reach the node, not on the
    rest of the data (a source's blank nodes can be named from that source alone). Blank nodes
    that still share a name are identical siblings; swapping them changes nothing, so the order
    in which they are numbered does not show in the output."""
    blank = ox.BlankNode
    said: dict[str, list[Any]] = defaultdict(list)
    parent: dict[str, str] = {}
    children: dict[str, list[str]] = defaultdict(list)
    for q in quads:
        if isinstance(q.graph_name, blank):
            return None
        s, o = q.subject, q.object
        s_blank, o_blank = isinstance(s, blank), isinstance(o, blank)
        if s_blank:
            said[s.value].append(q)
        if o_blank:
            if s_blank:
                if s.value == o.value:
                    return None
                if parent.setdefault(o.value, s.value) != s.value:
                    return None
                if s.value not in children or o.value not in children[s.value]:
                    children[s.value].append(o.value)
            said[o.value].append(q)
    for node in parent:  # no cycle: every chain of parents ends
        seen = {node}
        up = parent.get(node)
        while up is not None:
            if up in seen:
                return None
            seen.add(up)
            up = parent.get(up)
    down: dict[str, str] = {}

    def digest(node: str) -> str:
        found = down.get(node)
        if found is not None:
            return found
        lines = []
        for q in said[node]:
            parts = []
            for i, t in enumerate((q.subject, q.predicate, q.object, q.graph_name)):
                if not isinstance(t, blank):
                    parts.append(str(t))
                elif t.value == node:
                    parts.append("_:self")
                elif i == 2 and parent.get(t.value) == node:
                    parts.append("_:" + digest(t.value))
                else:
                    parts.append("_:")
            lines.append(" ".join(parts))
        down[node] = found = hashlib.sha256("\n".join(sorted(lines)).encode()).hexdigest()
        return found

    labels: dict[str, str] = {}
    used: set[str] = set()

    def name(nodes: list[str], salt: str) -> list[str]:
        groups: dict[str, list[str]] = defaultdict(list)
        for node in nodes:
            h = digest(node)
            if salt:
                h = hashlib.sha256((h + "^" + salt).encode()).hexdigest()
            groups[h].append(node)
        for h in sorted(groups):
            for n, node in enumerate(sorted(groups[h])):
                label = f"b{h[:16]}" if n == 0 else f"b{h[:16]}x{n}"
                while label in used:  # two digests that share their first 16 digits
                    label += "y"
                used.add(label)
                labels[node] = label
        return nodes

    todo = name([n for n in said if n not in parent], "")
    while todo:
        nxt: list[str] = []
        for node in todo:
            kids = children.get(node)
            if kids:
                nxt += name(kids, labels[node])
        todo = nxt
    return labels


def _ox_quads(data: Graph | Dataset) -> list[ox.Quad]:
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
    return quads


def canonical_quads(data: Graph | Dataset | list[ox.Quad]) -> list[ox.Quad]:
    """The quads of ``data`` (an rdflib graph or dataset, or Oxigraph quads whose blank nodes
    are not shared with anything else) in canonical form and order: blank nodes named after
    what is said about them, sorted by graph, subject, predicate and object.

    Blank nodes that form trees, as a mapping file's do, are named by :func:`tree_labels`.
    Others are named after the quads each takes part in (:func:`_blank_labels`); where two of
    those say the same thing, RDF Dataset Canonicalization (RDFC-1.0, Oxigraph's
    implementation) first gives them their canonical labels."""
    quads = list(dict.fromkeys(_ox_quads(data) if isinstance(data, Graph) else data))
    labels = tree_labels(quads)
    if labels is None:
        signatures = _signatures(quads)
        if len(set(signatures.values())) < len(signatures):
            dataset = ox.Dataset(quads)
            dataset.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
            quads = list(dataset)
            signatures = _signatures(quads)
        labels = _blank_labels(signatures)
    return relabel_sorted(quads, labels)


def relabel_sorted(quads: list[ox.Quad], labels: dict[str, str]) -> list[ox.Quad]:
    """``quads`` with their blank nodes renamed by ``labels``, sorted by graph, subject,
    predicate and object (the text of a triple sorts as its terms do: each term ends in a
    character that sorts before any character inside one)."""
    blank = ox.BlankNode

    def relabel(term: Any) -> Any:
        return blank(labels[term.value]) if isinstance(term, blank) else term

    out = [
        q
        if not (
            isinstance(q.subject, blank)
            or isinstance(q.object, blank)
            or isinstance(q.graph_name, blank)
        )
        else ox.Quad(relabel(q.subject), q.predicate, relabel(q.object), relabel(q.graph_name))
        for q in quads
    ]
    out.sort(key=lambda q: (str(q.graph_name), str(q.triple)))
    return out


def _prefixes() -> dict[str, str]:
    """The project's prefixes, in a fixed order: every Turtle and TriG export declares them."""
    return {p: str(PREFIXES[p]) for p in sorted(PREFIXES) if p}


def _write_ox(quads: list[ox.Quad], fmt: str) -> bytes:
    """Turtle or TriG by Oxigraph's writer, from quads in canonical order: subjects grouped,
    the project's prefixes, literals exactly as they are (no reformatted numbers)."""
    if fmt == "turtle":
        return turtle_of([q.triple for q in quads])
    return trig_of(quads)


def turtle_of(triples: Iterable[ox.Triple] | Iterable[ox.Quad]) -> bytes:
    """Turtle by Oxigraph's writer, with the project's prefixes, of triples (or quads, their
    graphs left out) already in canonical form and order; an iterator of them is written as
    it goes, with no list of them held."""
    return ox.serialize(triples, format=ox.RdfFormat.TURTLE, prefixes=_prefixes())


def trig_of(quads: Iterable[ox.Quad]) -> bytes:
    """TriG by Oxigraph's writer, with the project's prefixes, of quads already in canonical
    form and order (as :func:`turtle_of` writes Turtle)."""
    return ox.serialize(quads, format=ox.RdfFormat.TRIG, prefixes=_prefixes())


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
    return serialize_quads(canonical_quads(data), fmt, context=context)


def serialize_quads(
    quads: list[ox.Quad], fmt: str, *, context: dict[str, Any] | None = None
) -> bytes:
    """Serialise quads already in canonical form and order (:func:`canonical_quads`)."""
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
    return _write_ox(quads, fmt)


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


def stage_atomic(path: Path, payload: bytes, owner: int | None = None) -> Path:
    """Write ``payload`` to a temporary file beside ``path`` (flushed to disk) and give its
    name, for :func:`os.replace` to put in place later. It is named ``.NAME.PID.XXXX.tmp``
    for its ``owner`` (default: this process), whose end makes it stale; temporary files that
    killed writers left behind are removed first."""
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(path)
    try:
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    prefix = f".{path.name}.{os.getpid() if owner is None else owner}."
    try:
        fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), mode)
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        # also when Ctrl-C comes between the file's creation and mkstemp's return: every
        # temporary file of this write carries its owner's id
        remove_temporaries(path, owner)
        raise
    return Path(tmp)


def remove_temporaries(path: Path, owner: int | None = None) -> None:
    """Remove the temporary files of writes of ``path`` by ``owner`` (default: this process)."""
    prefix = f".{path.name}.{os.getpid() if owner is None else owner}."
    for own in path.parent.glob(f"{glob_escape(prefix)}*.tmp"):
        with contextlib.suppress(OSError):
            own.unlink()


def write_atomic(path: Path, payload: bytes) -> None:
    """Write ``payload`` to a temporary file beside ``path`` and rename it into place, so an
    interrupted write never leaves a half-written file where a good one stood. Temporary files
    that killed writers left behind are removed first."""
    tmp = stage_atomic(path, payload)
    try:
        os.replace(tmp, path)
    except BaseException:
        remove_temporaries(path)
        raise
