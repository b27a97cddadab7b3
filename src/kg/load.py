"""Loading the ontology and the mapping files into a dataset, one named graph per file."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox
from rdflib import BNode, Dataset, Graph, Literal, URIRef
from rdflib.plugins.parsers.notation3 import BadSyntax
from rdflib.plugins.stores.memory import SimpleMemory
from rdflib.term import Node

from kg.errors import InputError
from kg.namespaces import GRAPH, bind_prefixes
from kg.project import Project
from kg.spans import read_utf8
from kg.stable import relabel, stable_bnode_map_of

ONTOLOGY_GRAPH = GRAPH["ontology"]
INFERRED_GRAPH = GRAPH["inferred"]


def graph_iri_for(path: Path) -> URIRef:
    """The named graph of a mapping file: ``graph:000`` for ``000_64d5….ttl``,
    ``graph:shared`` for ``shared.ttl``."""
    stem = path.stem
    key = stem.split("_", 1)[0] if re.match(r"^\d+_", stem) else stem
    return GRAPH[key]


_LINE_RE = re.compile(r"line (\d+)")
#: Characters an IRI cannot hold (Turtle's IRIREF); rdflib accepts them and fails later.
_BAD_IRI_CHAR = re.compile(r'[\x00-\x20<>"{}|^`\\]')
_IRIREF_TOKEN = re.compile(r"<([^<>\n]*)>")
_PREFIX_DECL = re.compile(r"^\s*(?:@prefix|PREFIX)\s+([^\s:]*):\s*<([^>\n]*)>", re.I | re.M)


def _one_line(message: str, limit: int = 200) -> str:
    text = " ".join(message.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def parse_turtle(path: Path, into: Graph | None = None) -> Graph:
    """Parse one Turtle file; a syntax error becomes an :class:`InputError` naming file and line."""
    graph = into if into is not None else Graph()
    before = len(graph)
    earlier = set(graph) if before else set()
    data, text = read_utf8(path)
    if not data.strip():
        raise InputError("file is empty", path=str(path))
    try:
        graph.parse(data=text, format="turtle", publicID=path.resolve().as_uri())
    except BadSyntax as exc:
        line = getattr(exc, "lines", None)
        text_msg = str(exc)
        m = re.search(r"Bad syntax \((.*?)\) at \^", text_msg, re.S)
        msg = m.group(1) if m else (getattr(exc, "message", None) or text_msg)
        raise InputError(
            f"Turtle syntax error: {_one_line(msg)}",
            path=str(path),
            line=(line + 1) if line is not None else None,
        ) from None
    except Exception as exc:  # rdflib raises assorted errors for bad prefixes, IRIs and literals
        located = _locate_syntax_error(data, path)
        if located is not None:
            raise InputError(
                f"Turtle syntax error: {located[1]}", path=str(path), line=located[0]
            ) from None
        msg = str(exc) or exc.__class__.__name__
        m = _LINE_RE.search(msg)
        raise InputError(
            f"cannot parse Turtle: {_one_line(msg)}",
            path=str(path),
            line=int(m.group(1)) if m else None,
        ) from None
    _check_prefixes(text, path)
    _check_iris((t for t in graph if t not in earlier), text, path)
    if len(graph) == before:
        if into is None:
            raise InputError(
                "holds no triples (only comments or prefix declarations)", path=str(path)
            )
        parse_turtle(path)  # nothing new: either only duplicates or no triples at all
    return graph


#: What makes a file go to rdflib's parser even when Oxigraph's reads it: an explicit
#: ``xsd:string`` (Oxigraph cannot tell it from a plain literal; rdflib can) and language tags
#: with capitals (the two libraries write them differently).
_RDFLIB_ONLY = re.compile(rb"XMLSchema#string|xsd:string|@[a-z]*[A-Z]")


def load_turtle_fast(path: Path) -> Graph:
    """The graph :func:`parse_turtle` gives with its blank nodes labelled (:func:`_relabel`),
    read by Oxigraph's parser where it can; for a file it cannot read (and for every error, so
    messages stay the same) by :func:`parse_turtle`. The labels are worked out on the parsed
    triples, so the graph is filled once."""
    triples = _fast_triples(path)
    if triples is None:
        return _relabel(parse_turtle(path), path)
    _check_blank_trees(triples, path)
    mapping = stable_bnode_map_of(triples)
    graph = Graph(store=SimpleMemory())  # one graph: no index of graphs to keep up
    add = graph.add
    if not mapping:
        for t in triples:
            add(t)
        return graph
    get = mapping.get
    for s, p, o in triples:
        add((get(s, s), p, get(o, o)))  # type: ignore[arg-type]
    return graph


def _fast_triples(path: Path) -> list[tuple[Node, Node, Node]] | None:
    """The distinct triples of a Turtle file as rdflib terms, read by Oxigraph's parser, or
    None where :func:`parse_turtle` must read it."""
    data, text = read_utf8(path)
    if not data.strip() or _RDFLIB_ONLY.search(data):
        return None
    try:
        parsed = [
            q.triple
            for q in ox.parse(data, format=ox.RdfFormat.TURTLE, base_iri=path.resolve().as_uri())
        ]
    except (SyntaxError, ValueError):
        return None
    if not parsed:
        return None
    memo: dict[object, Node] = {}

    def term(t: object) -> Node:
        found = memo.get(t)
        if found is None:
            if isinstance(t, ox.NamedNode):
                found = URIRef(t.value)
            elif isinstance(t, ox.BlankNode):
                found = BNode(t.value)
            elif t.language:  # type: ignore[attr-defined]
                found = Literal(t.value, lang=t.language)  # type: ignore[attr-defined]
            elif t.datatype.value == _XSD_STRING:  # type: ignore[attr-defined]
                found = Literal(t.value)  # type: ignore[attr-defined]
            else:
                found = Literal(t.value, datatype=URIRef(t.datatype.value))  # type: ignore[attr-defined]
            memo[t] = found
        return found

    triples = list(
        dict.fromkeys((term(t.subject), term(t.predicate), term(t.object)) for t in parsed)
    )
    _check_prefixes(text, path)
    _check_iris(triples, text, path)
    return triples


_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


_OX_ERROR = re.compile(
    r"^Parser error at line \d+ (?:column (\d+)|between columns (\d+) and \d+): (.*?)"
    r"(?: \(line \d+\))?$",
    re.S,
)


def _locate_syntax_error(data: bytes, path: Path) -> tuple[int, str] | None:
    """Line and description of the first syntax error in a Turtle document, from Oxigraph's
    strict parser, for the malformed input on which rdflib's parser fails without saying where
    (it runs off the end of an unfinished statement, or trips an internal assertion)."""
    import pyoxigraph as ox

    try:
        for _ in ox.parse(data, format=ox.RdfFormat.TURTLE, base_iri=path.resolve().as_uri()):
            pass
    except SyntaxError as exc:
        m = _OX_ERROR.match(str(exc))
        if exc.lineno is None or m is None:
            return None
        column = m.group(1) or m.group(2)
        return exc.lineno, f"{_one_line(m.group(3))} (column {column})"
    return None


def _check_prefixes(text: str, path: Path) -> None:
    """A prefix declared twice with different IRIs silently changes what later names mean."""
    seen: dict[str, tuple[str, int]] = {}
    for m in _PREFIX_DECL.finditer(text):
        prefix, iri = m.group(1), m.group(2)
        line = text.count("\n", 0, m.start(1)) + 1
        if prefix in seen and seen[prefix][0] != iri:
            first_iri, first_line = seen[prefix]
            raise InputError(
                f"prefix {prefix}: declared again as <{iri}>; line {first_line} declares it as "
                f"<{first_iri}> (declare each prefix once)",
                path=str(path),
                line=line,
            )
        seen.setdefault(prefix, (iri, line))


def _check_iris(triples: Iterable[tuple[Node, Node, Node]], text: str, path: Path) -> None:
    """Every IRI of the file is well-formed: no spaces, quotes, braces or control characters."""
    checked: set[object] = set()
    for triple in triples:
        if not isinstance(triple[0], URIRef | BNode) or not isinstance(triple[1], URIRef):
            # rdflib's Turtle parser takes N3's literal subjects and blank-node predicates
            subject = not isinstance(triple[0], URIRef | BNode)
            term = triple[0] if subject else triple[1]
            what = "a blank node" if isinstance(term, BNode) else f"the literal {_shown(term)!r}"
            at = text.find(str(term)) if isinstance(term, Literal) and str(term) else -1
            raise InputError(
                f"{what} cannot be a {'subject' if subject else 'predicate'}; only an IRI "
                + ("or a blank node can" if subject else "can"),
                path=str(path),
                line=None if at < 0 else text.count("\n", 0, at) + 1,
            )
        if (lang := getattr(triple[2], "language", None)) and lang not in checked:
            checked.add(lang)
            _check_with_oxigraph(lang, text, path)
        for term in (*triple, getattr(triple[2], "datatype", None)):
            if not isinstance(term, URIRef) or term in checked:
                continue
            bad = _BAD_IRI_CHAR.search(term)
            if bad is None:
                checked.add(term)
                _check_with_oxigraph(term, text, path)
                continue
            char = bad.group(0)
            what = (
                "a space"
                if char == " "
                else f"the character {char!r}"
                if ord(char) > 0x20
                else "a control character"
            )
            line = next(
                (
                    text.count("\n", 0, t.start()) + 1
                    for t in _IRIREF_TOKEN.finditer(text)
                    if _BAD_IRI_CHAR.search(t.group(1)) and (t.group(1) in term)
                ),
                None,
            )
            raise InputError(
                f"the IRI <{_shown(term)}> holds {what}, which an IRI cannot hold "
                "(percent-encode it, e.g. %20 for a space)",
                path=str(path),
                line=line,
            )


def _shown(term: str, limit: int = 120) -> str:
    """``term`` for a one-line message: control and other unprintable characters escaped."""
    text = "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in term)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _check_with_oxigraph(term: str, text: str, path: Path) -> None:
    """An IRI (RFC 3987) or a language tag (BCP 47) that Oxigraph, which runs the queries and
    writes the exports, accepts; rdflib's Turtle parser lets ``<http://h:x/>`` and ``@en-00``
    through."""
    try:
        if isinstance(term, URIRef):
            ox.NamedNode(str(term))
        else:
            ox.Literal("", language=term)
    except ValueError as exc:
        if isinstance(term, URIRef):
            what = f"the IRI <{_shown(term)}>"
            tokens = (t for t in _IRIREF_TOKEN.finditer(text) if t.group(1) and t.group(1) in term)
            at = next((t.start() for t in tokens), None)
        else:
            what = f"the language tag @{_shown(term)}"
            at = text.find("@" + term) if "@" + term in text else None
        raise InputError(
            f"{what} is not valid: {_one_line(str(exc))}",
            path=str(path),
            line=None if at is None else text.count("\n", 0, at) + 1,
        ) from None


def parse_mapping(path: Path, project: Project) -> Graph:
    """Parse one mapping file: JSON-LD (``*.jsonld``, whose contexts are checked and never
    fetched, see :mod:`kg.jsonld`) or Turtle."""
    if path.suffix.lower() == ".jsonld":
        from kg.export import jsonld_context
        from kg.jsonld import parse_jsonld

        graph = parse_jsonld(path, lambda: jsonld_context(project.ontology_dir))
        _check_iris(graph, "", path)  # as for Turtle; JSON has no IRI tokens to find lines by
        return graph
    return parse_turtle(path)


@dataclass
class Loaded:
    """A dataset and where each named graph came from."""

    dataset: Dataset
    sources: dict[URIRef, Path] = field(default_factory=dict)

    def asserted_graph_ids(self) -> list[URIRef]:
        return [g for g in self.sources if g != ONTOLOGY_GRAPH]

    def union(self, *, include_ontology: bool = True) -> Graph:
        """All triples of the asserted graphs (and the ontology) in one plain graph."""
        out = Graph()
        bind_prefixes(out)
        for gid in self.sources:
            if gid == ONTOLOGY_GRAPH and not include_ontology:
                continue
            for triple in self.dataset.graph(gid):
                out.add(triple)
        return out


#: How deep blank nodes may nest: ``[ … [ … ] ]``, or the items of a list ``( … )``.
MAX_BLANK_DEPTH = 100


def _relabel(graph: Graph, path: Path) -> Graph:
    """:func:`kg.stable.relabel`, which names each blank node after the blank nodes above it.

    That costs, for each blank node, every path up to a named node: the blank nodes must form
    trees (none inside two blank nodes) no deeper than :data:`MAX_BLANK_DEPTH` (a cycle is
    endlessly deep), or labelling takes time exponential in the sharing and quadratic in the
    depth; others are refused, naming the file."""
    _check_blank_trees(graph, path)
    return relabel(graph)


def _check_blank_trees(triples: Iterable[tuple[Node, Node, Node]], path: Path) -> None:
    """The blank nodes form trees no deeper than :data:`MAX_BLANK_DEPTH` (see :func:`_relabel`)."""
    parent: dict[Node, Node] = {}
    for s, _p, o in triples:
        if isinstance(s, BNode) and isinstance(o, BNode):
            if o in parent:
                raise InputError(
                    "a blank node is inside two blank nodes (a shared _:label); give it an IRI",
                    path=str(path),
                )
            parent[o] = s
    depth: dict[Node, int] = {}
    deep = (
        f"blank nodes nested more than {MAX_BLANK_DEPTH} deep (a list of more than "
        f"{MAX_BLANK_DEPTH} items?); split it"
    )
    for node in parent:
        chain: list[Node] = []
        while node in parent and node not in depth:
            chain.append(node)
            if len(chain) > MAX_BLANK_DEPTH:
                cycle = len(set(chain)) < len(chain)
                raise InputError(
                    "blank nodes form a cycle; give one of them an IRI" if cycle else deep,
                    path=str(path),
                )
            node = parent[node]
        base = depth.get(node, 0)
        if base + len(chain) > MAX_BLANK_DEPTH:
            raise InputError(deep, path=str(path))
        for n, below in enumerate(reversed(chain), start=1):
            depth[below] = base + n


def _add(target: Graph, source: Graph) -> None:
    for triple in source:
        target.add(triple)


def load_project(project: Project, *, mapping_files: list[Path] | None = None) -> Loaded:
    """Load the ontology into ``graph:ontology`` and each mapping file into its own graph."""
    ds = Dataset()
    bind_prefixes(ds)
    loaded = Loaded(ds)
    onto_files = project.ontology_files()
    if not onto_files:
        raise InputError("no ontology files (*.ttl)", path=str(project.ontology_dir))
    onto = ds.graph(ONTOLOGY_GRAPH)
    for path in onto_files:
        _add(onto, _relabel(parse_turtle(path), path))
    loaded.sources[ONTOLOGY_GRAPH] = project.ontology_dir
    files = mapping_files if mapping_files is not None else project.mapping_files()
    for path in files:
        gid = graph_iri_for(path)
        if gid in loaded.sources:
            raise InputError(
                f"two mapping files map to the same graph {gid} ({loaded.sources[gid].name})",
                path=str(path),
            )
        _add(ds.graph(gid), _relabel(parse_mapping(path, project), path))
        loaded.sources[gid] = path
    return loaded
