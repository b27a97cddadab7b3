"""The build at scale: work per source, cached and reused; the union in an Oxigraph store.

:func:`kg.pipeline.build_reference` loads every file with rdflib, closes the union with owlrl
and validates it with pyshacl: the reference, and the way every result here is checked (the
tests build both ways and compare the outputs byte for byte). This module gives the same
outputs with less work:

* **Per source, cached.** Each mapping file is parsed and its blank nodes labelled
  (:mod:`kg.load`), reasoned over with the ontology's rule set
  (:meth:`kg.rules.RuleSet.infer_local`) and checked for ill-typed literals and spans
  (:mod:`kg.validate`, :mod:`kg.spancheck`) on its own. The result is kept in
  ``build/.cache/units/`` under a digest of the file, the text files it names, the ontology,
  the shapes and this code; an unchanged file is read back from there.
* **Across sources.** What needs more than one source is done on the union, in an Oxigraph
  store: the inferences that chain triples of several sources
  (:meth:`kg.rules.RuleSet.infer_joint`) and the SHACL shapes, compiled to SPARQL
  (:mod:`kg.fastshacl`).
* **Incremental validation.** The SHACL results of the last build are kept with the digests
  it was made from. When sources change, only the nodes whose results can change are
  validated again: nodes whose own triples changed in the union, and the nodes that point to
  them (a node's results depend on its own triples and on the types and own triples of its
  values; :func:`local_shapes` checks that the shapes look no further). Everything else keeps
  its results. Each source keeps a :class:`Census` of the nodes its triples are about and
  point to, so a rebuild finds those nodes, their values and the sources that hold them
  without a store of the whole union, and validates them on a store of just their triples and
  the ontology's graphs (:func:`_neighbourhood`). The whole union goes into a store only for
  a full validation, or when a report names a blank node (:meth:`FastBuilt.label_graph`).
* **The export beside the validation.** Once the union's inferences are known, ``dip.trig``
  and the saved inferences are made in a forked process (:class:`ExportJob`), and ``dip.ttl``
  in another, while this one validates. Each is written to a temporary file and renamed into
  place (:func:`commit`) once all are written and the data has passed ``fail_on``; a build
  whose data fails stops both processes and removes what they wrote. A full validation's
  queries are shared with a forked copy of this process (:func:`kg.forked.shared_map`).
* **Exports patched.** Each export keeps an index (:class:`kg.blocks.Index`) of what it was
  made from and of its subjects' blocks; a rebuild writes afresh the blocks of the subjects
  whose triples changed and copies the rest from the last build's file (:func:`_base`,
  :func:`_turtle_patch`, :func:`_inferred_patch`, :func:`_inferences_patch`).

When the ontology uses a construct the rule set does not cover, the data holds schema triples,
or the shapes use a feature the compiler does not cover, the build falls back to the
reference pipeline (``KG_ENGINE=reference`` asks for it).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import gc
import hashlib
import json
import os
import re
import time
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from importlib import metadata
from itertools import chain, compress, groupby, repeat
from pathlib import Path
from typing import Any, NamedTuple

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF, RDFS, SH
from rdflib.term import Node

from kg.blocks import TRIG_BLOCK, TURTLE_BLOCK, Index, cut, splice, starts, subjects_of
from kg.errors import InputError, KGError
from kg.export import (
    _OX_DEFAULT,
    canonical_quads,
    remove_temporaries,
    serialize_quads,
    stage_atomic,
    trig_of,
    turtle_of,
    write_atomic,
)
from kg.export import _from_ox as from_ox
from kg.forked import Child
from kg.load import (
    INFERRED_GRAPH,
    ONTOLOGY_GRAPH,
    _relabel,
    graph_iri_for,
    load_turtle_fast,
    parse_mapping,
)
from kg.load import parse_turtle as _parse_turtle
from kg.namespaces import bind_prefixes
from kg.project import Project
from kg.report import Report, Result
from kg.rules import LiteralFacts, Unsupported

ENGINE_ENV = "KG_ENGINE"

#: The steps a build's time is split into (``summary.json``'s ``seconds``).
_STEPS = ("load", "reason", "validate", "export")

#: Modules whose code decides what a cached unit holds; a change to one empties the cache.
_CODE = (
    "blocks.py",
    "errors.py",
    "export.py",
    "fastbuild.py",
    "fastshacl.py",
    "forked.py",
    "jsonld.py",
    "load.py",
    "namespaces.py",
    "reason.py",
    "rules.py",
    "spancheck.py",
    "spans.py",
    "stable.py",
    "validate.py",
)
_PACKAGES = ("rdflib", "pyoxigraph", "owlrl", "pyshacl")
_FORMAT = 5

#: Internal graphs of the store; graph:inferred is their union less what is asserted.
_LOCAL = "urn:kg:inferred-local:"
_JOINT = ox.NamedNode("urn:kg:inferred-joint")
_TBOX = ox.NamedNode("urn:kg:inferred-tbox")

#: A character that a file name in a literal can hold.
_NAME_CHAR = rb"[^\s\"'<>/\\]"
#: A whole run of such characters that ends in ``.txt``, read backwards: ``txt.`` with no name
#: character before it (after it, in the file), then the rest of the run. Searched in the
#: reversed bytes, the literal ``txt.`` lets the search skip ahead, where finding every run and
#: keeping those that end in ``.txt`` would look at each of them.
_TEXT_NAME_REVERSED = re.compile(rb"txt\.(?<!" + _NAME_CHAR + rb"txt\.)" + _NAME_CHAR + rb"*")


def text_names(data: bytes) -> set[bytes]:
    """The ``*.txt`` names in a mapping file's bytes: every whole run of characters a file name
    can hold (no white space, quote, angle bracket or slash) that ends in ``.txt``."""
    return {match[::-1] for match in _TEXT_NAME_REVERSED.findall(data[::-1])}


# --- terms ------------------------------------------------------------------------------------


def to_ox(node: Node) -> Any:
    """An rdflib term as an Oxigraph one, blank nodes keeping their labels."""
    if isinstance(node, URIRef):
        return ox.NamedNode(str(node))
    if isinstance(node, BNode):
        return ox.BlankNode(str(node))
    if isinstance(node, Literal):
        if node.language:
            return ox.Literal(str(node), language=node.language)
        if node.datatype is not None:
            return ox.Literal(str(node), datatype=ox.NamedNode(str(node.datatype)))
        return ox.Literal(str(node))
    raise InputError(f"not an RDF term: {node!r}")


def _ox_triples(graph: Graph) -> list[ox.Triple]:
    return [ox.Triple(*t) for t in _ox_terms(graph)]


def _ox_terms(graph: Graph) -> list[tuple[Any, Any, Any]]:
    """The terms of each triple of ``graph`` as Oxigraph's, each distinct term made once (a
    term read from an Oxigraph triple is made anew each time it is read)."""
    memo: dict[Node, Any] = {}

    def term(node: Node) -> Any:
        found = memo.get(node)
        if found is None:
            memo[node] = found = to_ox(node)
        return found

    return [(term(s), term(p), term(o)) for s, p, o in graph]


def _rdflib_triples(triples: Iterable[ox.Triple]) -> Iterator[tuple[Node, Node, Node]]:
    """Oxigraph triples as rdflib ones, each distinct term made once."""
    memo: dict[Any, Node] = {}

    def term(t: Any) -> Node:
        found = memo.get(t)
        if found is None:
            memo[t] = found = from_ox(t)
        return found

    for t in triples:
        yield term(t.subject), term(t.predicate), term(t.object)


def _rdflib_graph(triples: Iterable[ox.Triple]) -> Graph:
    g = Graph()
    bind_prefixes(g)
    for t in _rdflib_triples(triples):
        g.add(t)
    return g


def _nt(triples: Iterable[ox.Triple]) -> bytes:
    return ox.serialize(list(triples), format=ox.RdfFormat.N_TRIPLES)


def _parse_nt(data: bytes) -> list[ox.Triple]:
    """The triples of N-Triples text (the parser gives them as quads in the default graph)."""
    return [q.triple for q in ox.parse(data, format=ox.RdfFormat.N_TRIPLES)]


class _Encoder:
    """Terms as the SHACL engine's store holds them (:func:`kg.fastshacl.to_ox`): literals under
    surrogate datatypes, so the store compares them as rdflib does, and blank nodes prefixed."""

    def __init__(self) -> None:
        from kg.fastshacl import BNODE_PREFIX, surrogate

        self._prefix = BNODE_PREFIX
        self._surrogate = surrogate
        self._memo: dict[Any, Any] = {}

    def __call__(self, term: Any) -> Any:
        found = self._memo.get(term)
        if found is not None:
            return found
        if isinstance(term, ox.Literal):
            if term.language:
                found = ox.Literal(term.value, datatype=self._surrogate(None, term.language))
            elif term.datatype.value == _XSD_STRING:
                found = ox.Literal(term.value, datatype=self._surrogate(None, None))
            else:
                found = ox.Literal(term.value, datatype=self._surrogate(term.datatype.value, None))
        elif isinstance(term, ox.BlankNode):
            found = ox.BlankNode(self._prefix + term.value)
        else:
            found = term
        self._memo[term] = found
        return found

    def quads(self, triples: Iterable[ox.Triple], graph: Any) -> list[ox.Quad]:
        return [ox.Quad(self(t.subject), t.predicate, self(t.object), graph) for t in triples]

    def node(self, node: Node) -> Any:
        from kg.fastshacl import to_ox as shacl_to_ox

        return shacl_to_ox(node)


_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


def _decode(term: Any) -> Node:
    from kg.fastshacl import from_ox as shacl_from_ox

    return shacl_from_ox(term)


def _result_json(r: Result) -> dict[str, Any]:
    return {
        "focus": None if r.focus is None else r.focus.n3(),
        "shape": None if r.shape is None else r.shape.n3(),
        "path": None if r.path is None else r.path.n3(),
        "message": r.message,
        "severity": r.severity,
        "value": None if r.value is None else r.value.n3(),
    }


def _from_n3(text: str | None) -> Node | None:
    if text is None:
        return None
    terms = list(ox.parse(f"<urn:s> <urn:p> {text} .".encode(), format=ox.RdfFormat.N_TRIPLES))
    return from_ox(terms[0].object)


def _result_from_json(d: dict[str, Any]) -> Result:
    return Result(
        focus=_from_n3(d["focus"]),  # type: ignore[arg-type]
        shape=_from_n3(d["shape"]),
        path=_from_n3(d["path"]),
        message=d["message"],
        severity=d["severity"],
        value=_from_n3(d["value"]),
    )


# --- digests ----------------------------------------------------------------------------------


def _code_digest() -> str:
    h = hashlib.sha256(f"format {_FORMAT}\n".encode())
    here = Path(__file__).parent
    for name in _CODE:
        path = here / name
        if path.is_file():
            h.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    for package in _PACKAGES:
        with contextlib.suppress(metadata.PackageNotFoundError):
            h.update(f"{package} {metadata.version(package)}\n".encode())
    return h.hexdigest()


def _files_digest(paths: Iterable[Path]) -> str:
    h = hashlib.sha256()
    for path in paths:
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def _readable(path: Path) -> bytes | None:
    """A regular file's bytes, or None for anything :func:`kg.spans.read_utf8` would refuse
    before reading (a folder, a pipe, a file over the input limit) or cannot open."""
    import stat

    from kg.spans import max_input_bytes

    try:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode):
            return None
        cap = max_input_bytes()
        if cap is not None and st.st_size > cap:
            return None
        return path.read_bytes()
    except (OSError, ValueError):
        return None


def unit_key(path: Path, seeds_dir: Path, context: str) -> str:
    """What a source's cached unit depends on: its bytes, the bytes of each text file it names,
    and ``context`` (the ontology, the shapes, the code)."""
    data = _readable(path)
    if data is None:  # not a regular file, or too large: making the unit reports it
        return hashlib.sha256(f"{context}\0{path.name}\0unreadable".encode()).hexdigest()
    h = hashlib.sha256(context.encode() + b"\0" + path.name.encode() + b"\0" + data + b"\0")
    names = text_names(data)
    for name in sorted(names):
        text = seeds_dir / name.decode("utf-8", "replace")
        h.update(name + b"\0" + (_readable(text) or b"\0missing") + b"\0")
    return h.hexdigest()


# --- units ------------------------------------------------------------------------------------


@dataclass
class Unit:
    """One mapping file, parsed, reasoned over and checked on its own.

    Its asserted triples and its local inferences are kept as N-Triples lines (:attr:`nt`),
    which is what the union's sets and files are made of, and parsed into triples
    (:attr:`asserted`, :attr:`local`) only where triples are needed."""

    gid: URIRef
    path: Path
    key: str
    #: The N-Triples lines (without their line ends) of its asserted triples and of its local
    #: inferences, a line per triple, in order. A line names one triple: the writer has one
    #: form for each term.
    nt: tuple[list[str], list[str]]
    #: What the union's reasoning reads of each triple of ``asserted`` and of ``local``, a byte
    #: per triple (:func:`joint_codes`).
    reads: tuple[bytes, bytes]
    bad: list[ox.Triple]
    literal_results: list[Result]
    span_results: list[Result]
    cached: bool = False
    #: Export names of its blank nodes: in the dataset (its graph and its inferences) and in
    #: the union of the asserted graphs; None where they do not form trees.
    labels: tuple[dict[str, str], dict[str, str]] | None = None
    #: Seconds making it took, by step (load, reason, validate, export).
    seconds: dict[str, float] = field(default_factory=dict)
    #: Its triples as the exports write them, N-Triples lines with the export names of its
    #: blank nodes (:func:`_unit_lines`), as made; a cached unit's are read from
    #: ``lines_path`` when first asked for (:attr:`lines`).
    made_lines: UnitLines | None = None
    lines_path: Path | None = None
    #: What the summary counts of it (:func:`census`); None for a unit made before it was kept.
    census: Census | None = None
    #: What the union's inconsistency checks read of its asserted literal values
    #: (:meth:`kg.rules.RuleSet.literal_facts`).
    facts: LiteralFacts | None = None
    #: :attr:`nt` parsed, once asked for.
    triples: tuple[list[ox.Triple], list[ox.Triple]] | None = field(default=None, repr=False)

    @property
    def lines(self) -> UnitLines | None:
        """Its triples as the exports write them; None where ``labels`` is. A rebuild that
        patches the last build's exports reads only the changed sources' and those of the
        sources that hold a subject whose triples changed."""
        if self.made_lines is None and self.lines_path is not None:
            read = _read_lines(self.lines_path)
            if read is None:
                raise _Fallback(f"the cached export lines of {self.path.name} are cut short")
            self.made_lines = read
        return self.made_lines

    def _parsed(self) -> tuple[list[ox.Triple], list[ox.Triple]]:
        if self.triples is None:
            self.triples = (_parse_lines(self.nt[0]), _parse_lines(self.nt[1]))
        return self.triples

    @property
    def asserted(self) -> list[ox.Triple]:
        return self._parsed()[0]

    @property
    def local(self) -> list[ox.Triple]:
        return self._parsed()[1]


@dataclass
class Census:
    """What a build looks up of a source without reading its triples, kept with it: the
    subjects of its asserted triples and the nodes its graphs (asserted and local inferences)
    type with each of the top classes (:data:`kg.pipeline.TOP_CLASSES`), which
    ``summary.json`` counts, with its number of distinct asserted triples; and the subjects and
    the values (IRIs and blank nodes) of all its triples, which tell the validation of a
    rebuild which sources to read. Nodes are N-Triples terms."""

    subjects: list[str]
    typed: dict[str, list[str]]
    distinct: int
    all_subjects: list[str]
    objects: list[str]


def _type_lines() -> dict[str, str]:
    """What follows the subject of a line that types it with a top class, by class name."""
    from kg.namespaces import DIP
    from kg.pipeline import TOP_CLASSES

    return {f"<{RDF.type}> <{DIP[name]}> .": name for name in TOP_CLASSES}


def census(asserted: list[str], local: list[str]) -> Census:
    """The :class:`Census` of a source's N-Triples lines (a line's subject is what comes before
    its first space)."""
    types = _type_lines()
    typed: dict[str, set[str]] = {}
    for line in chain(asserted, local):
        subject, _, rest = line.partition(" ")
        name = types.get(rest)
        if name is not None:
            typed.setdefault(name, set()).add(subject)
    subjects = {line.partition(" ")[0] for line in asserted}
    return Census(
        subjects=sorted(subjects),
        typed={name: sorted(nodes) for name, nodes in sorted(typed.items())},
        distinct=len(set(asserted)),
        all_subjects=sorted(subjects.union(line.partition(" ")[0] for line in local)),
        objects=sorted({node for node in map(_node_object, chain(asserted, local)) if node}),
    )


def _node_object(line: str) -> str | None:
    """The value of an N-Triples line where it is an IRI or a blank node, else None. The last
    term of a line whose value is a literal ends in the literal's quote, its language tag or
    its datatype, and holds a quote."""
    last = line[:-2].rpartition(" ")[2]
    return None if '"' in last else last


@dataclass
class UnitLines:
    """A source's part of the exports: its graph as ``dip.trig`` writes it (:func:`_trig_block`),
    and as N-Triples lines (a line sorts as its triple's string, ``str(ox.Triple)``, does) its
    asserted triples in the union (sorted, each once) and its local inferences, one line per
    triple of :attr:`Unit.local`, in that order (which of them the dataset keeps depends on the
    other sources)."""

    trig: str
    union: list[str]
    local: list[str]


class Engines:
    """The rule set and the compiled shapes for one ontology and one shapes graph, or the
    reason the fast build cannot use them."""

    def __init__(self, ontology: Graph, shapes: Graph, closure_cache: Path | None = None) -> None:
        from kg.fastshacl import compile_shapes
        from kg.rules import RuleSet

        self.ontology = ontology
        self.closure_cache = closure_cache
        self.rules = RuleSet.from_ontology(ontology, closure=_closure(ontology, closure_cache))
        self.shapes = compile_shapes(shapes)
        self.local_shapes = local_shapes(shapes)
        self.sub_properties = Graph()
        if self.rules is not None:
            closed = Graph()
            for t in ontology:
                closed.add(t)
            for t in self.rules.tbox_inferences():
                closed.add(t)
            for t in closed.triples((None, RDFS.subPropertyOf, None)):
                self.sub_properties.add(t)
            self.tbox = self.rules.tbox_inferences()

    def why_not(self) -> str | None:
        if self.rules is None:
            return "the ontology uses a construct the rule set does not cover"
        if self.shapes is None:
            return "the shapes use a feature the SHACL compiler does not cover"
        return None


def _closure(ontology: Graph, path: Path | None) -> Any:
    """The ontology's owlrl closure (:func:`kg.rules.close`), read from ``path`` when an earlier
    build wrote it there, else computed (and written there); None when the rule set will not
    take the ontology (:meth:`kg.rules.RuleSet.from_ontology` says why)."""
    from kg.rules import Closure, RuleSet, close

    if path is not None:
        with contextlib.suppress(OSError):
            found = Closure.from_bytes(path.read_bytes())
            if found is not None:
                return found
    if not RuleSet.covers(ontology):
        return None
    closure = close(ontology)
    if path is not None:
        with contextlib.suppress(OSError):
            for old in path.parent.glob("closure-*.json"):
                if old != path:
                    old.unlink()
            write_atomic(path, closure.to_bytes())
    return closure


def closure_path(project: Project, context: str) -> Path:
    """Where the ontology's closure is kept: under the digest of the code, the ontology and
    the reasoning bounds (a lower bound must be able to stop the closure again)."""
    from kg.reason import Limits

    key = hashlib.sha256((context + repr(Limits.from_env())).encode()).hexdigest()[:32]
    return project.build_dir / ".cache" / f"closure-{key}.json"


def make_unit(project: Project, path: Path, key: str, engines: Engines) -> Unit:
    """Parse, reason over and check one mapping file."""
    from kg.spancheck import check_spans
    from kg.validate import check_literals

    clock = time.perf_counter()
    seconds: dict[str, float] = {}

    def lap(step: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        seconds[step] = seconds.get(step, 0.0) + now - clock
        clock = now

    gid = graph_iri_for(path)
    if path.suffix.lower() == ".jsonld":
        graph = _relabel(parse_mapping(path, project), path)
    else:
        graph = load_turtle_fast(path)
    asserted_terms = _ox_terms(graph)
    asserted = [ox.Triple(*t) for t in asserted_terms]
    lap("load")
    assert engines.rules is not None
    try:
        local = engines.rules.infer_local(graph)
    except Unsupported:
        raise _Fallback(f"{path.name} holds schema triples the rule set leaves to owlrl") from None
    local_terms = _ox_terms(local)
    local_triples = [ox.Triple(*t) for t in local_terms]
    reads = (joint_codes(engines.rules, asserted_terms), joint_codes(engines.rules, local_terms))
    pairs = _rdflib_triples(compress(asserted, reads[0].translate(_SELECT_PAIR)))
    facts = engines.rules.literal_facts((p, o) for _s, p, o in pairs)
    lap("reason")
    data = graph  # the project's prefixes replace the file's where they bind the same names
    bind_prefixes(data)
    for t in local:
        data.add(t)
    for t in engines.sub_properties:
        data.add(t)
    literal_results, bad = check_literals(data)
    spans = echo_filter(check_spans(data, project.seeds_dir), data, bad)
    bad_triples = _ox_triples(_graph_of(bad))
    lap("validate")
    labels = _unit_labels(gid, asserted_terms, local_terms)
    nt = (_nt_lines(asserted), _nt_lines(local_triples))
    lines = None if labels is None else _unit_lines(gid, nt, labels)
    counted = census(*nt)
    lap("export")
    return Unit(
        gid=gid,
        path=path,
        key=key,
        nt=nt,
        census=counted,
        triples=(asserted, local_triples),
        bad=bad_triples,
        literal_results=literal_results,
        span_results=spans,
        labels=labels,
        seconds=seconds,
        made_lines=lines,
        reads=reads,
        facts=facts,
    )


def _nt_lines(triples: list[ox.Triple]) -> list[str]:
    """One N-Triples line (without its end of line) per triple, in order."""
    if not triples:
        return []
    text = ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES).decode("utf-8")
    out = text.split("\n")
    if out[-1] == "":
        out.pop()
    if len(out) != len(triples):  # the writer escapes line ends inside terms; this is a guard
        raise _Fallback("a triple did not serialise to one N-Triples line")
    return out


def _parse_lines(lines: list[str]) -> list[ox.Triple]:
    """The triples of N-Triples lines, in order."""
    return _parse_nt("\n".join(lines).encode("utf-8"))


def _lines_of(data: bytes) -> list[str]:
    """The lines of N-Triples text that ends each line with a line end."""
    lines = data.decode("utf-8").split("\n")
    lines.pop()  # after the last line end
    return lines


def _renamed(triples: list[ox.Triple], labels: dict[str, str]) -> list[ox.Triple]:
    blank = ox.BlankNode
    return [
        t
        if not (isinstance(t.subject, blank) or isinstance(t.object, blank))
        else ox.Triple(
            blank(labels[t.subject.value]) if isinstance(t.subject, blank) else t.subject,
            t.predicate,
            blank(labels[t.object.value]) if isinstance(t.object, blank) else t.object,
        )
        for t in triples
    ]


def _renamed_lines(lines: list[str], labels: dict[str, str]) -> list[str]:
    """N-Triples lines (:func:`_nt_lines`) with their blank nodes renamed by ``labels``: the
    lines :func:`_renamed` triples give. A blank node is a line's first term, or its last where
    that starts with ``_:`` and holds no quote (a literal's last word holds its closing one)."""
    out = []
    for line in lines:
        if "_:" in line:
            subject, _, rest = line.partition(" ")
            if subject.startswith("_:"):
                subject = "_:" + labels[subject[2:]]
            head, _, last = rest[:-2].rpartition(" ")
            if last.startswith("_:") and '"' not in last:
                rest = f"{head} _:{labels[last[2:]]} ."
            line = f"{subject} {rest}"
        out.append(line)
    return out


def _unit_lines(
    gid: URIRef,
    nt: tuple[list[str], list[str]],
    labels: tuple[dict[str, str], dict[str, str]],
) -> UnitLines:
    in_dataset, in_union = labels
    asserted, local = nt
    return UnitLines(
        trig=_trig_block(sorted(set(_renamed_lines(asserted, in_dataset))), to_ox(gid)),
        union=sorted(set(_renamed_lines(asserted, in_union))),
        local=_renamed_lines(local, in_dataset),
    )


@functools.cache
def _trig_head() -> str:
    """The prefix lines Oxigraph's TriG writer opens a file with (all the project's prefixes,
    whatever the quads use; nothing at all for no quads)."""
    node = ox.NamedNode("urn:kg:head")
    lines = trig_of([ox.Quad(node, node, node, node)]).decode("utf-8").splitlines(keepends=True)
    n = 0
    while n < len(lines) and lines[n].startswith("@prefix "):
        n += 1
    return "".join(lines[:n])


def _trig_block(lines: list[str], graph: Any) -> str:
    """One graph of ``dip.trig``: ``lines`` (N-Triples, sorted, each once) as that graph's
    quads, written by :func:`kg.export.trig_of` (as ``serialize_quads`` writes TriG) less the
    prefix lines. The writer starts each graph afresh (``<g> {`` to ``}``), so the file is
    those prefix lines and the blocks of its graphs in the order of their names."""
    if not lines:
        return ""
    name = str(graph) + " ."
    nquads = "\n".join(line[:-1] + name for line in lines).encode("utf-8")
    text = trig_of(ox.parse(nquads, format=ox.RdfFormat.N_QUADS)).decode("utf-8")
    head = _trig_head()
    if not text.startswith(head) or text[len(head) :].startswith("@"):
        raise _Fallback("the TriG writer opened a graph with other lines than its prefixes")
    return text[len(head) :]


class _Quad(NamedTuple):
    """A quad's terms, as :func:`kg.export.tree_labels` reads them, with no Oxigraph quad made
    (making one costs several times as much)."""

    subject: Any
    predicate: Any
    object: Any
    graph_name: Any


def _unit_labels(
    gid: URIRef, asserted: list[tuple[Any, Any, Any]], local: list[tuple[Any, Any, Any]]
) -> tuple[dict[str, str], dict[str, str]] | None:
    """The export names of a source's blank nodes (:func:`kg.export.tree_labels`): they depend
    only on the quads that reach each node, all of which this source holds. ``asserted`` and
    ``local`` are its triples' terms (:func:`_ox_terms`)."""
    from kg.export import tree_labels

    own = set(asserted)
    g, inferred = to_ox(gid), to_ox(INFERRED_GRAPH)
    blank = ox.BlankNode
    dataset = [_Quad(s, p, o, g) for s, p, o in asserted]
    dataset += [
        _Quad(s, p, o, inferred)
        for s, p, o in dict.fromkeys(local)
        if (s, p, o) not in own and (isinstance(s, blank) or isinstance(o, blank))
    ]
    union = [_Quad(s, p, o, _OX_DEFAULT) for s, p, o in asserted]
    in_dataset, in_union = tree_labels(dataset), tree_labels(union)
    if in_dataset is None or in_union is None:
        return None
    return in_dataset, in_union


def _graph_of(triples: Iterable[tuple[Node, Node, Node]]) -> Graph:
    g = Graph()
    for t in triples:
        g.add(t)
    return g


class _Fallback(Exception):
    """The fast build cannot give the reference's results for this input."""


def _unit_paths(cache: Path, key: str) -> tuple[Path, Path, Path, Path]:
    return (
        cache / f"{key}.triples",
        cache / f"{key}.json",
        cache / f"{key}.lines",
        cache / f"{key}.store.nq",
    )


def _encoded(unit: Unit, enc: _Encoder) -> list[ox.Quad]:
    """A source's quads as the store holds them: its triples in its graph, its local
    inferences in its graph of them."""
    return enc.quads(unit.asserted, to_ox(unit.gid)) + enc.quads(
        unit.local, ox.NamedNode(_LOCAL + str(unit.gid))
    )


def _store_text(unit: Unit, enc: _Encoder) -> bytes:
    """:func:`_encoded` as N-Quads, the lines Oxigraph's writer gives, written from each distinct
    term's string (making each quad would cost several times as much)."""
    memo: dict[Any, str] = {}

    def term(t: Any) -> str:
        found = memo.get(t)
        if found is None:
            memo[t] = found = str(enc(t))
        return found

    out: list[str] = []
    for triples, graph in (
        (unit.asserted, to_ox(unit.gid)),
        (unit.local, ox.NamedNode(_LOCAL + str(unit.gid))),
    ):
        end = f" {graph} .\n"
        out += [f"{term(t.subject)} {term(t.predicate)} {term(t.object)}{end}" for t in triples]
    return "".join(out).encode("utf-8")


def _add_to_store(store: ox.Store, unit: Unit, enc: _Encoder, cache: Path) -> None:
    """Adds :func:`_encoded` to ``store``, read from the cache where the unit was saved with
    them (from the file into the store, with no list of them in between; ``Store.load`` would
    give the blank nodes new names)."""
    path = _unit_paths(cache, unit.key)[3]
    try:
        store.bulk_extend(ox.parse(path=str(path), format=ox.RdfFormat.N_QUADS))
        return
    except (OSError, SyntaxError, ValueError):
        for graph in (to_ox(unit.gid), ox.NamedNode(_LOCAL + str(unit.gid))):
            store.clear_graph(graph)  # anything a file cut short added
    store.bulk_extend(_encoded(unit, enc))


def save_unit(cache: Path, unit: Unit) -> None:
    parts = ["".join(line + "\n" for line in lines).encode("utf-8") for lines in unit.nt]
    parts.append(ox.serialize(unit.bad, format=ox.RdfFormat.N_TRIPLES) if unit.bad else b"")
    parts += unit.reads
    nt, js, ln, st = _unit_paths(cache, unit.key)
    write_atomic(st, _store_text(unit, _Encoder()))
    if unit.lines is not None:
        trig = unit.lines.trig.encode("utf-8")
        lists = (unit.lines.union, unit.lines.local)
        body = "\n".join(line for part in lists for line in part).encode("utf-8")
        head = " ".join([str(len(trig)), *(str(len(part)) for part in lists), str(len(body))])
        write_atomic(ln, head.encode() + b"\n" + trig + body)
    head = " ".join(str(len(part)) for part in parts).encode()
    write_atomic(nt, head + b"\n" + b"".join(parts))
    meta = {
        "file": unit.path.name,
        "labels": None if unit.labels is None else list(unit.labels),
        "census": None if unit.census is None else dataclasses.asdict(unit.census),
        "facts": None if unit.facts is None else dataclasses.asdict(unit.facts),
        "seconds": unit.seconds,
        "literal": [_result_json(r) for r in unit.literal_results],
        "spans": [_result_json(r) for r in unit.span_results],
    }
    write_atomic(js, json.dumps(meta, ensure_ascii=False).encode("utf-8"))


def _read_triples(
    path: Path,
) -> tuple[tuple[list[str], list[str]], list[ox.Triple], tuple[bytes, bytes]] | None:
    """What :func:`save_unit` wrote of a unit's triples: a line with the sizes in bytes of
    its parts, then the N-Triples of its asserted triples, its local inferences and its bad
    triples, then the codes of :attr:`Unit.reads`; None where the file is cut short."""
    head, _, rest = path.read_bytes().partition(b"\n")
    sizes = [int(n) for n in head.split()]
    if len(sizes) != 5 or sum(sizes) != len(rest):
        return None
    parts, at = [], 0
    for size in sizes:
        parts.append(rest[at : at + size])
        at += size
    nt = (_lines_of(parts[0]), _lines_of(parts[1]))
    reads = (parts[3], parts[4])
    if len(reads[0]) != len(nt[0]) or len(reads[1]) != len(nt[1]):
        return None
    return nt, _parse_lines(_lines_of(parts[2])), reads


def load_unit(cache: Path, path: Path, key: str) -> Unit | None:
    nt, js, ln, _st = _unit_paths(cache, key)
    try:
        meta = json.loads(js.read_text(encoding="utf-8"))
        read = _read_triples(nt)
        if read is None:
            return None
        if meta.get("labels") is not None and not _lines_intact(ln):
            return None
    except (OSError, ValueError, SyntaxError):
        return None
    nt, bad, reads = read
    return Unit(
        gid=graph_iri_for(path),
        path=path,
        key=key,
        nt=nt,
        bad=bad,
        literal_results=[_result_from_json(d) for d in meta["literal"]],
        span_results=[_result_from_json(d) for d in meta["spans"]],
        cached=True,
        labels=None if meta.get("labels") is None else tuple(meta["labels"]),  # type: ignore[arg-type]
        census=None if meta.get("census") is None else Census(**meta["census"]),
        facts=None if meta.get("facts") is None else LiteralFacts(**meta["facts"]),
        seconds=meta.get("seconds") or {},
        lines_path=None if meta.get("labels") is None else ln,
        reads=reads,
    )


def _lines_intact(path: Path) -> bool:
    """Whether a unit's lines file is as long as its first line says (read later, as
    :attr:`Unit.lines` is asked for)."""
    try:
        with path.open("rb") as f:
            head = f.readline(200)
            size = os.fstat(f.fileno()).st_size
        sizes = [int(n) for n in head.split()]
    except (OSError, ValueError):
        return False
    return len(sizes) == 4 and len(head) + sizes[0] + sizes[3] == size


def _read_lines(path: Path) -> UnitLines | None:
    """What :func:`save_unit` wrote: a line with the TriG block's length in bytes, the
    numbers of union and local lines and the lines' length in bytes, the TriG block, then the
    lines."""
    try:
        head, _, rest = path.read_bytes().partition(b"\n")
        sizes = [int(n) for n in head.split()]
    except (OSError, ValueError):
        return None
    if len(sizes) != 4 or len(rest) != sizes[0] + sizes[3]:
        return None  # cut short
    trig = rest[: sizes[0]].decode("utf-8")
    body = rest[sizes[0] :].decode("utf-8")
    lines = body.split("\n") if body else []
    if sizes[1] + sizes[2] != len(lines):
        return None
    return UnitLines(trig=trig, union=lines[: sizes[1]], local=lines[sizes[1] :])


# --- making units in parallel -------------------------------------------------------------------

WORKERS_ENV = "KG_WORKERS"

_WORKER_ENGINES: Engines | None = None


def workers_for(jobs: int) -> int:
    """Processes that make units: ``KG_WORKERS`` (default: one per core), at most one a job."""
    from kg.errors import env_number

    wanted = int(env_number(WORKERS_ENV, os.cpu_count() or 1, what="a number of processes"))
    return max(1, min(wanted or 1, jobs))


_WORKER_ERROR: str | None = None


def _worker_start(
    onto_files: list[Path], shape_files: list[Path], closure_cache: Path | None
) -> None:
    global _WORKER_ENGINES, _WORKER_ERROR
    try:
        ontology, shapes = Graph(), Graph()
        for path in onto_files:
            for t in _relabel(_parse_turtle(path), path):
                ontology.add(t)
        for path in shape_files:
            _parse_turtle(path, shapes)
        _WORKER_ENGINES = Engines(ontology, shapes, closure_cache)
    except KGError as exc:  # a reasoning bound passed while compiling, say: told per unit
        _WORKER_ERROR = str(exc)


def _worker_make(root: Path, path: Path, key: str, units_dir: Path) -> tuple[str, Any]:
    """Make and save one unit; errors come back as values (they name the file)."""
    if _WORKER_ENGINES is None:
        return ("kg", ("KGError", _WORKER_ERROR or "the worker could not start"))
    try:
        save_unit(units_dir, make_unit(Project(root), path, key, _WORKER_ENGINES))
    except InputError as exc:
        return ("input", (str(exc),))
    except _Fallback as exc:
        return ("fallback", (str(exc),))
    except KGError as exc:
        return ("kg", (type(exc).__name__, str(exc)))
    return ("ok", None)


def _make_units(
    project: Project, todo: list[tuple[int, Path, str]], engines: Engines, units_dir: Path
) -> list[tuple[int, Unit]]:
    """Make the units of ``todo``: in this process for one, else in ``KG_WORKERS`` processes
    that save them to the cache, from where they are read back."""
    workers = workers_for(len(todo))
    if workers <= 1:
        out = []
        for index, path, key in todo:
            unit = make_unit(project, path, key, engines)
            with contextlib.suppress(OSError):  # a read-only project still builds
                save_unit(units_dir, unit)
            out.append((index, unit))
        return out
    from concurrent.futures import ProcessPoolExecutor

    units_dir.mkdir(parents=True, exist_ok=True)
    with ProcessPoolExecutor(
        max_workers=workers,
        initializer=_worker_start,
        initargs=(project.ontology_files(), project.shape_files(), engines.closure_cache),
    ) as pool:
        futures = [
            pool.submit(_worker_make, project.root, path, key, units_dir)
            for _index, path, key in todo
        ]
        answers = [f.result() for f in futures]
    out = []
    for (index, path, key), (kind, detail) in zip(todo, answers, strict=True):
        if kind == "input":
            raise _Relayed(detail[0])
        if kind == "fallback":
            raise _Fallback(detail[0])
        if kind == "kg":
            raise _RelayedKG(detail[1])
        unit = load_unit(units_dir, path, key)
        if unit is None:
            raise InputError("a unit made in a worker could not be read back", path=str(path))
        unit.cached = False
        out.append((index, unit))
    return out


class _Relayed(InputError):
    """An input error raised in a worker process, with its message as the worker wrote it."""

    def __init__(self, message: str) -> None:
        KGError.__init__(self, message)
        self.path = None
        self.line = None


class _RelayedKG(KGError):
    """Another one-line error raised in a worker process (a reasoning limit, say)."""


# --- shapes -----------------------------------------------------------------------------------

#: Parameters under which the results of a node depend only on its own triples and on the types
#: and own triples of its values.
_LOCAL_PARAMS = {
    SH.path,
    SH.property,
    SH.targetClass,
    SH.message,
    SH.severity,
    SH.name,
    SH.description,
    SH.deactivated,
    SH.minCount,
    SH.maxCount,
    SH.datatype,
    SH.nodeKind,
    SH.minInclusive,
    SH.maxInclusive,
    SH.minExclusive,
    SH.maxExclusive,
    SH.minLength,
    SH.maxLength,
    SH.pattern,
    SH.flags,
    SH.languageIn,
    SH.uniqueLang,
    SH.equals,
    SH.disjoint,
    SH.lessThan,
    SH.lessThanOrEquals,
    SH["in"],
    SH.hasValue,
    SH["not"],
    SH["and"],
    SH["or"],
    SH.xone,
    SH["class"],
    SH.node,
}


def local_shapes(shapes: Graph) -> bool:
    """Whether a node's results depend on no more than its own triples (predicate paths only),
    and its values' types and own triples: every shape parameter is a local one, and a shape
    reached through ``sh:node`` from a value checks that value's own triples without looking at
    the types or shapes of their values in turn."""
    for _s, p, o in shapes:
        if str(p).startswith(str(SH)) and p not in _LOCAL_PARAMS:
            return False
        if p == SH.path and not isinstance(o, URIRef):
            return False
    for _s, _p, nested in shapes.triples((None, SH.node, None)):
        for prop in shapes.objects(nested, SH.property):
            if (prop, SH["class"], None) in shapes or (prop, SH.node, None) in shapes:
                return False
        if (nested, SH["class"], None) in shapes or (nested, SH.node, None) in shapes:
            return False
    return True


# --- the build --------------------------------------------------------------------------------


@dataclass
class FastBuilt:
    """What a build gives besides its files."""

    report: Report
    summary: dict[str, Any]
    timings: dict[str, float] = field(default_factory=dict)
    engine: str = "fast"
    #: Makes the union's store (or gives the one the validation made).
    fill: Callable[[], Any] | None = field(default=None, repr=False)
    reused: int = 0
    revalidated: int | None = None
    export_forked: bool = False  # the exports ran in processes of their own
    #: The exports made from the last build's files (``inferences``, ``dataset``, ``turtle``).
    patched: frozenset[str] = frozenset()

    def label_graph(self, nodes: Iterable[Node]) -> Graph:
        """A small graph that names ``nodes`` in a report: prefixes, and for a blank node the
        triples that lead to it from a named node."""
        from kg.fastshacl import to_ox as enc

        g = Graph()
        bind_prefixes(g)
        todo = [n for n in nodes if isinstance(n, BNode)]
        if not todo or self.fill is None:
            return g
        store = self.fill()
        seen: set[Node] = set()
        for _depth in range(5):
            nxt = []
            for node in todo:
                if node in seen:
                    continue
                seen.add(node)
                quads = list(store.quads_for_pattern(None, None, enc(node), None))
                asserted = [q for q in quads if not str(q.graph_name).startswith("<urn:kg:")]
                for q in asserted or quads:  # the words of the mapping file, where it has any
                    s, p = _decode(q.subject), _decode(q.predicate)
                    g.add((s, p, node))
                    if isinstance(s, BNode):
                        nxt.append(s)
            todo = nxt
        return g


def engine_choice() -> str:
    value = os.environ.get(ENGINE_ENV, "auto").strip().lower() or "auto"
    if value not in ("auto", "fast", "reference"):
        raise InputError(f"{ENGINE_ENV} must be auto, fast or reference, not {value!r}")
    return value


def try_fast_build(
    project: Project, out_dir: Path, fail_on: str | None, shapes: Graph
) -> FastBuilt | None:
    """The fast build, or None when it cannot give the reference's results for this project
    (see the module's notes); ``KG_ENGINE=fast`` makes that an error instead."""
    choice = engine_choice()
    if choice == "reference":
        return None
    if choice == "auto" and (
        os.environ.get("KG_REASONER", "").strip().lower() == "owlrl"
        or os.environ.get("KG_SHACL", "").strip().lower() == "pyshacl"
    ):
        return None  # the reference engines were asked for by name
    try:
        with _rare_collections():
            return _fast_build(project, out_dir, fail_on, shapes)
    except _Fallback as why:
        if choice == "fast":
            raise InputError(f"the fast build cannot run: {why}") from None
        return None


#: The collector's thresholds during a build (Python's are 700, 10, 10).
_THRESHOLDS = (50_000, 20, 100)


@contextlib.contextmanager
def _rare_collections() -> Iterator[None]:
    """Python's cycle collector run less often, as :data:`_THRESHOLDS` say. A build holds the
    union as millions of N-Triples lines in lists and sets, none of which can be part of a
    cycle, and each full collection visits every one of them. Cold builds of 50 articles took
    a tenth less time with these thresholds; at 350 articles, and in a rebuild of 1,000, the
    difference was within the machine's noise."""
    before = gc.get_threshold()
    gc.set_threshold(*_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*before)


def _fast_build(project: Project, out_dir: Path, fail_on: str | None, shapes: Graph) -> FastBuilt:
    started = time.perf_counter()
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    onto_files = project.ontology_files()
    if not onto_files:
        raise InputError("no ontology files (*.ttl)", path=str(project.ontology_dir))
    ontology = Graph()
    for path in onto_files:
        for t in _relabel(_parse_turtle(path), path):
            ontology.add(t)
    cache_root = project.build_dir / ".cache"
    units_dir = cache_root / "units"
    code_and_ontology = _code_digest() + _files_digest(onto_files)
    context = hashlib.sha256(
        (
            code_and_ontology + _files_digest(project.shape_files()) + _context_digest(project)
        ).encode()
    ).hexdigest()
    engines = Engines(ontology, shapes, closure_path(project, code_and_ontology))
    why = engines.why_not()
    if why:
        raise _Fallback(why)
    assert engines.rules is not None and engines.shapes is not None

    # --- load and reason, per source ---------------------------------------------------------
    units: list[Unit] = []
    seen: dict[URIRef, Path] = {}
    made = 0
    todo: list[tuple[int, Path, str]] = []
    for path in project.mapping_files():
        gid = graph_iri_for(path)
        if gid in seen:
            raise InputError(
                f"two mapping files map to the same graph {gid} ({seen[gid].name})",
                path=str(path),
            )
        seen[gid] = path
        key = unit_key(path, project.seeds_dir, context)
        unit = load_unit(units_dir, path, key)
        if unit is None:
            todo.append((len(units), path, key))
        units.append(unit)  # type: ignore[arg-type]
    made = len(todo)
    read = time.perf_counter() - t0
    t1 = time.perf_counter()
    for index, unit in _make_units(project, todo, engines, units_dir):
        units[index] = unit
    # making units took this long in all; each step gets its share of the work it took
    making = time.perf_counter() - t1
    steps = {k: sum(units[i].seconds.get(k, 0.0) for i, _p, _k in todo) for k in _STEPS}
    work = sum(steps.values()) or 1.0
    timings.update({k: making * v / work for k, v in steps.items()})
    timings["load"] += read

    t0 = time.perf_counter()
    onto_triples = _ox_triples(ontology)
    tbox = _ox_triples(engines.tbox)
    joint = _joint(engines, ontology, units)
    # the union's sets as sets of N-Triples lines, a line for each triple
    asserted_set: set[str] = set()
    for unit in units:
        asserted_set.update(unit.nt[0])
    asserted_count = len(asserted_set)  # the sources' own, before the ontology's join them
    asserted_set.update(_nt_lines(onto_triples))
    joint_lines = set(_nt_lines(joint))
    inferred = set(_nt_lines(tbox))  # less the asserted ones below, as sets (no loop in Python)
    for unit in units:
        inferred.update(unit.nt[1])
    inferred.update(joint_lines)
    inferred.difference_update(asserted_set)
    del asserted_set
    timings["reason"] += time.perf_counter() - t0

    # --- export, beside the store's filling and the validation ---------------------------------
    from kg.pipeline import OUTPUTS

    places = Places(
        inferences=_inferences_path(project),
        dataset=out_dir / OUTPUTS["dataset"],
        turtle=out_dir / OUTPUTS["turtle"],
    )
    stage = functools.partial(
        _stage_outputs, places, units, onto_triples, inferred, joint_lines, context, units_dir
    )
    job = ExportJob(functools.partial(stage, _BESIDE), places, _BESIDE)
    turtle_job = ExportJob(functools.partial(stage, _BESIDE_TURTLE), places, _BESIDE_TURTLE)
    try:
        enc = _Encoder()
        filled: dict[str, Any] = {}

        def fill() -> ox.Store:
            """The union in a store: every graph whole."""
            if "store" not in filled:
                t0 = time.perf_counter()
                store = ox.Store()
                store.bulk_extend(enc.quads(onto_triples, to_ox(ONTOLOGY_GRAPH)))
                store.bulk_extend(enc.quads(tbox, _TBOX))
                for unit in units:
                    _add_to_store(store, unit, enc, units_dir)
                store.bulk_extend(enc.quads(joint, _JOINT))
                filled["store"], filled["seconds"] = store, time.perf_counter() - t0
            return filled["store"]

        # --- validate -------------------------------------------------------------------------
        t0 = time.perf_counter()
        union = _Union(units, onto_triples, tbox, joint)
        report, revalidated = _validate(project, union, engines, context, joint, enc, fill)
        filling = filled.get("seconds", 0.0)  # the store's filling, as before the validation
        timings["reason"] += filling
        timings["validate"] += time.perf_counter() - t0 - filling
        union_graphs = [onto_triples, tbox, joint]

        built = FastBuilt(
            report=report,
            summary={},
            timings=timings,
            fill=fill,
            reused=len(units) - made,
            revalidated=revalidated,
            export_forked=job.forked and turtle_job.forked,
        )
        if fail_on is not None and report.failing(fail_on):
            job.cancel()  # at once, so as not to write on while the summary is made
            turtle_job.cancel()
            timings["export"] = 0.0
            timings["total"] = time.perf_counter() - started
            built.summary = _summary(
                units, report, onto_triples, union_graphs, inferred, timings, asserted_count
            )
            return built

        # the summary's counts while the export goes on; its seconds once it is done
        built.summary = _summary(
            units, report, onto_triples, union_graphs, inferred, timings, asserted_count
        )
        mine, seconds_turtle = turtle_job.result()
        staged, seconds = job.result()
        t0 = time.perf_counter()
        commit(staged + mine)
        timings["export"] += seconds + seconds_turtle + time.perf_counter() - t0
        built.patched = frozenset(
            part
            for part in ("inferences", "dataset", "turtle")
            if any(item.patched and item.place == getattr(places, part) for item in staged + mine)
        )
    finally:
        job.cancel()
        turtle_job.cancel()
    timings["total"] = time.perf_counter() - started
    built.summary["seconds"] = _seconds(timings)
    write_atomic(
        out_dir / OUTPUTS["summary"],
        (json.dumps(built.summary, indent=2, sort_keys=True) + "\n").encode("utf-8"),
    )
    _prune(units_dir, {unit.key for unit in units})
    return built


def _prune(units_dir: Path, keep: set[str]) -> None:
    """Remove the cached work of sources that no longer exist or have changed."""
    with contextlib.suppress(OSError):
        for path in units_dir.iterdir():
            if path.name.split(".", 1)[0] not in keep:
                with contextlib.suppress(OSError):
                    path.unlink()


@dataclass
class _Made:
    """One of the exports: its bytes, the subjects of its blocks (what its index keeps; None
    where the next build cannot patch it), and whether it was patched."""

    data: bytes
    subjects: list[str] | None
    patched: bool = False
    graphs: list[str] | None = None  # dip.trig's graphs, in order


@dataclass
class _Base:
    """The last build's file of an export, as its index says it was made: its bytes, the
    subjects of its blocks, the sources that changed since (as they are and as they were) and
    the last build's joint inferences (N-Triples lines)."""

    text: bytes
    subjects: list[str]
    changed: list[Unit]
    old: list[Unit]
    joint: set[str]
    graphs: list[str] | None = None  # dip.trig's graphs, in order


#: The format of the exports' indexes; another makes a build write its files whole.
_INDEX_FORMAT = 1


def _base(
    part: str, places: Places, units: list[Unit], context: str, units_dir: Path
) -> _Base | None:
    """What the last build left of ``part`` to patch, where its index is there and true: the
    same context (code, ontology, shapes), the same sources (by graph), its file unchanged
    since (by digest), and the changed sources' old work still cached. None where the file is
    to be made whole."""
    index = Index.read(places.index(part))
    if index is None:
        return None
    head = index.header
    keys = head.get("units")
    file = Path(str(head.get("file")))
    place = getattr(places, part)
    if (
        head.get("format") != _INDEX_FORMAT
        or head.get("context") != context
        or not isinstance(keys, dict)
        or set(keys) != {str(u.gid) for u in units}
        or (file.parent != place.parent if part == "inferences" else file != place)
    ):
        return None
    try:
        text = file.read_bytes()
    except OSError:
        return None
    if hashlib.sha256(text).hexdigest() != head.get("sha256"):
        return None
    changed = [u for u in units if keys[str(u.gid)] != u.key]
    old = []
    for unit in changed:
        was = load_unit(units_dir, unit.path, keys[str(unit.gid)])
        if was is None or was.labels is None or was.lines is None:
            return None
        old.append(was)
    graphs = head.get("graphs")
    return _Base(
        text,
        index.subjects,
        changed,
        old,
        set(head.get("joint", ())),
        graphs if isinstance(graphs, list) else None,
    )


def _export(
    units: list[Unit],
    onto_triples: list[ox.Triple],
    inferred: set[str],
    joint: set[str],
    parts: frozenset[str] = frozenset({"dataset", "turtle"}),
    bases: dict[str, _Base | None] | None = None,
) -> dict[str, _Made]:
    """``dip.trig`` and ``dip.ttl`` (those of them ``parts`` names), as
    :func:`kg.export.serialize` writes them from the whole dataset: each source's blank nodes
    named by the names cached with it. ``inferred`` and ``joint`` are the N-Triples lines of
    the inferences and of those made on the union. Where ``bases`` has the last build's file
    of a part, the blocks of the subjects whose triples changed are written afresh into it."""
    from kg.export import tree_labels

    bases = bases or {}
    onto_g, inferred_g = to_ox(ONTOLOGY_GRAPH), to_ox(INFERRED_GRAPH)
    per_unit = all(u.labels is not None for u in units)
    owners: dict[str, int] = {}
    for n, unit in enumerate(units):
        if not per_unit:
            break
        for label in unit.labels[0]:  # type: ignore[index]
            if owners.setdefault(label, n) != n:
                per_unit = False  # one blank node in two sources: name them all together
                break
    blank = ox.BlankNode
    # inferences that do not come from one source: the ontology's, joint ones
    rest = _parse_lines(sorted(inferred.difference(*(u.nt[1] for u in units)) | (inferred & joint)))
    if per_unit and any(
        (isinstance(t.subject, blank) and t.subject.value in owners)
        or (isinstance(t.object, blank) and t.object.value in owners)
        for t in rest
    ):
        per_unit = False
    dataset_quads = [ox.Quad(t.subject, t.predicate, t.object, onto_g) for t in onto_triples]
    union_quads = [ox.Quad(t.subject, t.predicate, t.object, _OX_DEFAULT) for t in onto_triples]
    made: dict[str, _Made] = {}
    if not per_unit:
        if "dataset" in parts:
            for unit in units:
                g = to_ox(unit.gid)
                dataset_quads += [
                    ox.Quad(t.subject, t.predicate, t.object, g) for t in unit.asserted
                ]
            dataset_quads += [
                ox.Quad(t.subject, t.predicate, t.object, inferred_g)
                for t in _parse_lines(sorted(inferred))
            ]
            made["dataset"] = _Made(serialize_quads(canonical_quads(dataset_quads), "trig"), None)
        if "turtle" in parts:
            for unit in units:
                union_quads += [
                    ox.Quad(t.subject, t.predicate, t.object, _OX_DEFAULT) for t in unit.asserted
                ]
            made["turtle"] = _Made(serialize_quads(canonical_quads(union_quads), "turtle"), None)
        return made

    # the ontology's blank nodes, and those of inferences made on the union, named on their own
    rest_quads = [ox.Quad(t.subject, t.predicate, t.object, inferred_g) for t in rest]
    shared = tree_labels(dataset_quads + rest_quads)
    shared_union = tree_labels(union_quads)
    if shared is None or shared_union is None:
        raise _Fallback("the ontology's blank nodes do not form trees")
    if "dataset" in parts:
        made["dataset"] = _dataset_text(
            units, onto_triples, rest, inferred, joint, shared, bases.get("dataset")
        )
    if "turtle" in parts:
        made["turtle"] = _turtle_text(units, onto_triples, shared_union, bases.get("turtle"))
    return made


def _dataset_text(
    units: list[Unit],
    onto_triples: list[ox.Triple],
    rest: list[ox.Triple],
    inferred: set[str],
    joint: set[str],
    shared: dict[str, str],
    base: _Base | None = None,
) -> _Made:
    """``dip.trig`` from each source's cached block: each graph's block, in the order
    kg.export.canonical_quads sorts quads: by graph name, then by the triple's string (which
    its N-Triples line starts with; the " ." after it sorts before anything a longer triple
    could go on with). ``rest`` are the inferences that do not come from one source, and
    ``shared`` the export names of their blank nodes and the ontology's. Where there is
    ``base``, the inferences' graph is patched into its (:func:`_inferred_patch`), and the
    other graphs' blocks but the changed sources' are copied from it."""
    onto_g, inferred_g = to_ox(ONTOLOGY_GRAPH), to_ox(INFERRED_GRAPH)
    blocks: dict[str, str | memoryview] = {
        str(onto_g): _trig_block(sorted(set(_nt_lines(_renamed(onto_triples, shared)))), onto_g)
    }
    rest_lines = sorted(set(_nt_lines(_renamed(rest, shared))))
    found = None if base is None else _inferred_patch(units, base, rest_lines, inferred, joint)
    kept = None if found is None or base is None else _graph_blocks(base)
    if kept is not None:
        assert base is not None
        blocks = {**kept, **blocks}
        for unit in base.changed:
            assert unit.lines is not None
            blocks[str(to_ox(unit.gid))] = unit.lines.trig
    else:
        for unit in units:
            assert unit.lines is not None
            blocks[str(to_ox(unit.gid))] = unit.lines.trig
    if found is not None:
        block, subjects = found
    else:
        own: set[str] = set(rest_lines)
        for unit in units:
            assert unit.lines is not None
            own.update(
                line
                for mine, line in zip(unit.nt[1], unit.lines.local, strict=True)
                if mine in inferred and mine not in joint
            )
        lines = sorted(own)
        del own
        block, subjects = _trig_block(lines, inferred_g), subjects_of(lines)
        del lines
    blocks[str(inferred_g)] = block
    graphs = sorted(name for name, block in blocks.items() if block)
    if not graphs:
        return _Made(b"", subjects, found is not None, [])
    body = b"".join(
        block.encode("utf-8") if isinstance(block, str) else block
        for block in (blocks[name] for name in graphs)
    )
    del blocks
    return _Made(_trig_head().encode("utf-8") + body, subjects, found is not None, graphs)


#: Where a graph's block of ``dip.trig`` starts: a line end, then anything but a tab (a
#: triple), a prefix line's "@" or the "}" that closes a graph.
_GRAPH_BLOCK = re.compile(rb"\n[^\t@}\n]")


def _graph_blocks(base: _Base) -> dict[str, memoryview] | None:
    """The blocks of the last build's ``dip.trig`` by graph name (its index lists the graphs
    in order); None where the file does not have as many."""
    if base.graphs is None:
        return None
    text = memoryview(base.text)
    at = [m.start() + 1 for m in _GRAPH_BLOCK.finditer(base.text)]
    if len(at) != len(base.graphs) or not at:
        return None
    bounds = [*at, len(base.text)]
    return {name: text[bounds[i] : bounds[i + 1]] for i, name in enumerate(base.graphs)}


def _rendered_subject(line: str, unit: Unit) -> str | None:
    """The subject of one of a source's N-Triples lines as the dataset writes it (a blank node
    by its export name); None where the source names no such blank node."""
    subject = line.partition(" ")[0]
    if not subject.startswith("_:"):
        return subject
    assert unit.labels is not None
    label = unit.labels[0].get(subject[2:])
    return None if label is None else "_:" + label


def _changed_lines(base: _Base, side: int) -> set[str]:
    """The lines of the changed sources' asserted (``side`` 0) or local inferences' (1)
    triples that one of their two versions has and the other has not."""
    out: set[str] = set()
    for old, new in zip(base.old, base.changed, strict=True):
        out |= set(old.nt[side]).symmetric_difference(new.nt[side])
    return out


def _inferred_patch(
    units: list[Unit],
    base: _Base,
    rest_lines: list[str],
    inferred: set[str],
    joint: set[str],
) -> tuple[str, list[str]] | None:
    """The inferences' graph of ``dip.trig``, the last build's with the blocks of the subjects
    whose inferences can have changed written afresh, and its subjects; None where it is to be
    made whole (a blank node among the changed joint inferences, a graph not found as the
    index says). Which inferences the graph holds changes only with a triple that a changed
    source asserts or infers in one of its versions and not in the other, or a joint inference
    made in one build only; the names of a changed source's blank nodes, with its local
    inferences as the dataset writes them."""
    inferred_g = to_ox(INFERRED_GRAPH)
    delta = base.joint.symmetric_difference(joint)
    if any("_:" in line for line in delta):
        return None
    affected = {line.partition(" ")[0] for line in delta}
    for old, new in zip(base.old, base.changed, strict=True):
        assert old.lines is not None and new.lines is not None
        changed = set(old.lines.local).symmetric_difference(new.lines.local)
        affected.update(line.partition(" ")[0] for line in changed)
    for side in (0, 1):
        for line in _changed_lines(base, side):
            for unit in (*base.old, *base.changed):
                subject = _rendered_subject(line, unit)
                if subject is not None:
                    affected.add(subject)
                elif not any(_rendered_subject(line, u) for u in (*base.old, *base.changed)):
                    return None
    # the graph in the last build's file
    text = base.text
    opening = _trig_block(["<urn:kg:x> <urn:kg:x> <urn:kg:x> ."], inferred_g)
    opening_line = opening[: opening.index("\n") + 1].encode("utf-8")
    where = text.find(b"\n" + opening_line)
    if where < 0 or text.find(b"\n" + opening_line, where + 1) >= 0:
        return None
    begin = where + 1 + len(opening_line)
    end = text.find(b"\n}\n", begin - 1) + 1
    if end <= 0:
        return None
    at = starts(text, TRIG_BLOCK, begin, end)
    if len(at) != len(base.subjects) or (at and at[0] != begin):
        return None
    # the affected subjects' inferences now
    lines = _lines_about(affected, units, rest_lines, inferred, joint)
    fresh = _trig_block(lines, inferred_g).encode("utf-8")
    fresh_begin = len(opening_line)
    fresh_at = starts(fresh, TRIG_BLOCK, fresh_begin, len(fresh) - 2) if fresh else []
    subjects = subjects_of(lines)
    if len(fresh_at) != len(subjects):
        return None
    blocks = cut(fresh, fresh_at, len(fresh) - 2, subjects)
    body, order = splice(text, at, end, base.subjects, {s: blocks.get(s, b"") for s in affected})
    if not order:
        return "", []
    return opening_line.decode("utf-8") + body.decode("utf-8") + "}\n", order


def _lines_about(
    subjects: set[str],
    units: list[Unit],
    rest_lines: list[str],
    inferred: set[str],
    joint: set[str],
) -> list[str]:
    """The lines of the inferences' graph (as the dataset writes them) whose subject is one of
    ``subjects``, sorted: the sources' local inferences that are inferences of the union and
    not joint ones, and ``rest_lines`` (sorted), the others."""
    iris = {s for s in subjects if not s.startswith("_:")}
    blanks = subjects - iris
    out: set[str] = set()
    for unit in units:
        assert unit.labels is not None
        seen = unit.census or census(*unit.nt)
        hits = iris.intersection(seen.all_subjects)
        if blanks:
            hits.update(blanks.intersection("_:" + label for label in unit.labels[0].values()))
        if hits:
            made = unit.lines  # read only for a source that holds one of them
            assert made is not None
            out.update(
                line
                for raw, line in zip(unit.nt[1], made.local, strict=True)
                if line.partition(" ")[0] in hits and raw in inferred and raw not in joint
            )
    out.update(_starting(rest_lines, subjects))
    return sorted(out)


def _starting(lines: list[str], subjects: Iterable[str]) -> Iterator[str]:
    """The lines of sorted ``lines`` whose subject is one of ``subjects``."""
    for subject in subjects:
        key = subject + " "
        i = bisect_left(lines, key)
        while i < len(lines) and lines[i].startswith(key):
            yield lines[i]
            i += 1


def _turtle_text(
    units: list[Unit],
    onto_triples: list[ox.Triple],
    shared_union: dict[str, str],
    base: _Base | None = None,
) -> _Made:
    """``dip.ttl`` from each source's cached union lines and the ontology's triples (their
    blank nodes named by ``shared_union``): ``base``'s file with the blocks of the subjects
    whose triples changed written afresh where there is one (:func:`_turtle_patch`), else
    whole."""
    onto_lines = sorted(set(_nt_lines(_renamed(onto_triples, shared_union))))
    if base is not None:
        found = _turtle_patch(units, onto_lines, base)
        if found is not None:
            return _Made(found[0], found[1], True)
    union: list[list[str]] = [onto_lines]
    for unit in units:
        assert unit.lines is not None
        union.append(unit.lines.union)
    # each source's union lines are sorted already: the sort merges those runs, and groupby
    # keeps each line once
    merged = sorted(chain.from_iterable(union))
    del union
    lines = [line for line, _same in groupby(merged)]
    del merged
    subjects = subjects_of(lines)
    ntriples = "\n".join(lines).encode("utf-8")
    del lines
    return _Made(turtle_of(ox.parse(ntriples, format=ox.RdfFormat.N_TRIPLES)), subjects)


def _turtle_patch(
    units: list[Unit], onto_lines: list[str], base: _Base
) -> tuple[bytes, list[str]] | None:
    """``dip.ttl``: the last build's, with the blocks of the subjects of the union lines a
    changed source has in one version and not in the other written afresh from every source
    that has triples about them, and its subjects; None where the file is not as its index
    says."""
    affected: set[str] = set()
    for old, new in zip(base.old, base.changed, strict=True):
        assert old.lines is not None and new.lines is not None
        changed = set(old.lines.union).symmetric_difference(new.lines.union)
        affected.update(line.partition(" ")[0] for line in changed)
    text = base.text
    first = TURTLE_BLOCK.search(text)
    if first is None:
        return None
    begin = first.start() + 1
    at = starts(text, TURTLE_BLOCK, begin, len(text))
    if len(at) != len(base.subjects):
        return None
    iris = {s for s in affected if not s.startswith("_:")}
    blanks = sorted(affected - iris)
    found: set[str] = set(_starting(onto_lines, affected))
    for unit in units:
        seen = unit.census or census(*unit.nt)
        keys = [*iris.intersection(seen.subjects)]
        if blanks:
            # a blank node's name in the union depends on its triples alone: two sources can
            # share it, and their census knows it by another name
            assert unit.labels is not None
            names = set(unit.labels[1].values())
            keys += [blank for blank in blanks if blank[2:] in names]
        if keys:
            assert unit.lines is not None
            found.update(_starting(unit.lines.union, keys))
    lines = sorted(found)
    fresh = (
        turtle_of(ox.parse("\n".join(lines).encode("utf-8"), format=ox.RdfFormat.N_TRIPLES))
        if lines
        else b""
    )
    subjects = subjects_of(lines)
    head = TURTLE_BLOCK.search(fresh)
    fresh_at = starts(fresh, TURTLE_BLOCK, head.start() + 1, len(fresh)) if head else []
    if len(fresh_at) != len(subjects):
        return None
    blocks = cut(fresh, fresh_at, len(fresh), subjects)
    body, order = splice(
        text, at, len(text), base.subjects, {s: blocks.get(s, b"") for s in affected}
    )
    if not order:
        return b"", []
    return text[:begin] + body, order


#: A blank node as an N-Triples line's subject (after the line end before it), and as its
#: object: a label has no white space or quote, where the last term of a line with a literal
#: object holds the literal's quote. The subject's pattern starts with the line end, a literal
#: the search can skip ahead to, where ``^`` would be tried at every character.
_BLANK_SUBJECT = re.compile(r"\n_:([^\s\"]+) ")
_BLANK_OBJECT = re.compile(r" _:([^\s\"]+) \.$", re.MULTILINE)


def skolemized(ntriples: str, prefix: str) -> str:
    """N-Triples with each blank node ``_:b`` written as the IRI ``<{prefix}b>``, as the
    writer writes a triple with that IRI in its place."""
    iri = "<" + prefix.replace("\\", "\\\\") + r"\1>"
    subjects = _BLANK_SUBJECT.sub("\n" + iri + " ", "\n" + ntriples)[1:]
    return _BLANK_OBJECT.sub(" " + iri + " .", subjects)


def _inferences_path(project: Project) -> Path:
    """Where :func:`kg.pipeline.cached_infer` looks for the inferences of the inputs as they
    are, so the commands that load the dataset after a build (query, serve, network) do not
    reason again."""
    from kg.pipeline import inputs_digest

    return project.build_dir / ".cache" / f"inferred-{inputs_digest(project)}.nt"


def _inferences_text(inferred: set[str]) -> bytes:
    """The inferences as :func:`kg.pipeline.cached_infer` reads them: N-Triples, blank nodes
    skolemised, sorted as their strings sort (a line is its triple's string and " .")."""
    from kg.pipeline import _SKOLEM

    lines = skolemized("\n".join(inferred), str(_SKOLEM)).split("\n")
    return "".join(line + "\n" for line in sorted(lines) if line).encode("utf-8")


# --- the export, beside the validation ----------------------------------------------------------


@dataclass(frozen=True)
class Places:
    """Where a build's exports go: the saved inferences (in the cache), ``dip.trig`` and
    ``dip.ttl``."""

    inferences: Path
    dataset: Path
    turtle: Path

    def index(self, part: str) -> Path:
        """Where the index of ``part`` goes (:class:`kg.blocks.Index`), in the cache."""
        return self.inferences.parent / f"export-{part}.idx"

    def all(self) -> tuple[Path, ...]:
        return self.of(frozenset({"inferences", "dataset", "turtle"}))

    def of(self, parts: frozenset[str]) -> tuple[Path, ...]:
        """The places of ``parts`` (``inferences``, ``dataset``, ``turtle``) and of their
        indexes."""
        ordered = sorted(parts)
        return tuple(getattr(self, part) for part in ordered) + tuple(map(self.index, ordered))


class Staged(NamedTuple):
    """An output written to a temporary file beside its place."""

    tmp: Path
    place: Path
    cache: bool = False  # a cache file: the build goes on where it cannot be put in place
    older: tuple[Path, ...] = ()  # the cache's files it replaces
    patched: bool = False  # made from the last build's file, with what changed written afresh


#: What the export's two processes make while the build validates: the first ``dip.trig``
#: and the saved inferences, the second ``dip.ttl``. With the build's own process that is
#: three at work on two cores until the validation ends, which keeps both cores busy where
#: the first process is done before the validation is (a full build of a few hundred
#: sources), and where the validation is done first (a rebuild, whose validation is
#: incremental).
_BESIDE = frozenset({"inferences", "dataset"})
_BESIDE_TURTLE = frozenset({"turtle"})


def _stage_outputs(
    places: Places,
    units: list[Unit],
    onto_triples: list[ox.Triple],
    inferred: set[str],
    joint: set[str],
    context: str,
    units_dir: Path,
    parts: frozenset[str],
    owner: int,
) -> list[Staged]:
    """Those of the exports (:func:`_export`) and the saved inferences that ``parts`` names
    (``inferences``, ``dataset``, ``turtle``), each written to a temporary file of ``owner``'s
    beside its place, with its index, for :func:`commit` to rename into place (what a failure
    leaves, :meth:`ExportJob.cancel` removes). Each is patched from the last build's file where
    its index allows (:func:`_base`)."""
    bases = {part: _base(part, places, units, context, units_dir) for part in parts}
    made = _export(units, onto_triples, inferred, joint, parts, bases)
    header = {
        "format": _INDEX_FORMAT,
        "context": context,
        "units": {str(u.gid): u.key for u in units},
        "joint": sorted(joint),
    }
    staged: list[Staged] = []
    cache = places.inferences
    if "inferences" in parts:
        with contextlib.suppress(OSError):  # a read-only cache: the build goes on without it
            older = tuple(old for old in cache.parent.glob("inferred-*.nt") if old != cache)
            base = bases["inferences"]
            data = None if base is None else _inferences_patch(base, inferred, joint)
            patched = data is not None
            if data is None:
                data = _inferences_text(inferred)
            tmp = stage_atomic(cache, data, owner)
            staged.append(Staged(tmp, cache, cache=True, older=older, patched=patched))
            made["inferences"] = _Made(data, [], patched)
    for part in ("inferences", "dataset", "turtle"):
        if part not in made:
            continue
        item = made[part]
        place = getattr(places, part)
        if part != "inferences":
            staged.append(
                Staged(stage_atomic(place, item.data, owner), place, patched=item.patched)
            )
        if item.subjects is not None:
            about = {"file": str(place), "sha256": hashlib.sha256(item.data).hexdigest()}
            if item.graphs is not None:
                about["graphs"] = item.graphs  # type: ignore[assignment]
            index = Index({**header, **about}, item.subjects)
            with contextlib.suppress(OSError):
                tmp = stage_atomic(places.index(part), index.dump(), owner)
                staged.append(Staged(tmp, places.index(part), cache=True))
    return staged


def _inferences_patch(base: _Base, inferred: set[str], joint: set[str]) -> bytes | None:
    """The saved inferences: the last build's lines less those of the triples that left the
    inferences, with those that joined them. Only a triple that a changed source asserts or
    infers in one of its versions and not in the other, or a joint inference made in one build
    only, can have left or joined (:func:`_inferred_patch`). None where a line of the
    inferences names an IRI the skolemised blank nodes are named with: its line and a blank
    node's could be one."""
    from kg.pipeline import _SKOLEM

    prefix = str(_SKOLEM)
    if any(map(str.__contains__, inferred, repeat(prefix))):  # prefix in a line
        return None
    if base.text and not base.text.endswith(b"\n"):
        return None
    candidates = sorted(_changed_lines(base, 0) | _changed_lines(base, 1) | (base.joint ^ joint))
    named = skolemized("\n".join(candidates), prefix).split("\n") if candidates else []
    gone = {
        sk.encode("utf-8")
        for line, sk in zip(candidates, named, strict=True)
        if line not in inferred
    }
    come = {
        sk.encode("utf-8") for line, sk in zip(candidates, named, strict=True) if line in inferred
    }
    return _edit_sorted(base.text, gone, come)


def _edit_sorted(text: bytes, gone: set[bytes], come: set[bytes]) -> bytes:
    """Sorted lines (each ended by a line end, none twice) less the lines ``gone``, with the
    lines ``come``, still sorted: each line found by a binary search of the text
    (:func:`_seek`), the text between copied once."""
    edits: list[tuple[int, int, bytes]] = []  # (from, to, what goes there)
    for line in gone:
        at, held = _seek(text, line)
        if held:
            edits.append((at, at + len(line) + 1, b""))
    for line in come:
        at, held = _seek(text, line)
        if not held:
            edits.append((at, at, line + b"\n"))
    if not edits:
        return text
    edits.sort()  # where one goes and one comes at a place, the one that comes sorts first
    view = memoryview(text)
    pieces: list[bytes | memoryview] = []
    done = 0
    for start, end, insert in edits:
        pieces += (view[done:start], insert)
        done = max(done, end)
    pieces.append(view[done:])
    return b"".join(pieces)


def _seek(text: bytes, line: bytes) -> tuple[int, bool]:
    """Where ``line`` is or would go in sorted lines each ended by a line end: the offset of
    the first line that does not sort before it, and whether that line is ``line``."""
    lo, hi = 0, len(text)  # lines that start before lo sort before line; from hi, not
    while lo < hi:
        start = text.rfind(b"\n", 0, (lo + hi) // 2) + 1  # the line around the middle
        end = text.index(b"\n", start)
        if text[start:end] < line:
            lo = end + 1
        else:
            hi = start
    return lo, text.startswith(line + b"\n", lo)


def commit(staged: list[Staged]) -> None:
    """Rename staged outputs into their places, in order (the saved inferences first, whose
    older files go)."""
    for item in staged:
        if item.cache:
            with contextlib.suppress(OSError):
                for old in item.older:
                    old.unlink(missing_ok=True)
                os.replace(item.tmp, item.place)
        else:
            os.replace(item.tmp, item.place)


class ExportJob:
    """:func:`_stage_outputs` of ``parts``, made while the data is validated: in a forked
    process where the platform is Linux and ``KG_WORKERS`` allows a second process, else in
    this process when :meth:`result` asks for it. A build whose data does not conform
    :meth:`cancel` s it, and nothing staged for the build (by it, or by the build itself) is
    left."""

    def __init__(
        self, stage: Callable[[int], list[Staged]], places: Places, parts: frozenset[str]
    ) -> None:
        self._stage = stage
        self._places = places
        self._parts = parts
        self.owner = os.getpid()  # the temporary files carry the build's id, not the child's
        self._child: Child | None = None
        if workers_for(2) > 1:  # else, or where no process can be forked: here, later
            self._child = Child.start(self._staged)
        self.forked = self._child is not None

    def _staged(self) -> tuple[str, Any, float]:
        """The forked process's task: what it staged and the seconds it took, or the reason the
        fast build cannot go on (any other error is met again by the build's own process)."""
        started = time.perf_counter()
        try:
            staged = self._stage(self.owner)
        except _Fallback as why:
            return "fallback", str(why), 0.0
        return "staged", staged, time.perf_counter() - started

    def result(self) -> tuple[list[Staged], float]:
        """What was staged, and the seconds it took. Where the process failed, the work is
        done again here, so its error is raised here with its own type and message."""
        if self._child is not None:
            done, message = self._child.result()
            self._child = None
            if done and message[0] == "fallback":
                raise _Fallback(message[1])
            if done:
                return message[1], message[2]
            self._discard(self._places.of(self._parts))  # what the process left, not the rest
        started = time.perf_counter()
        staged = self._stage(self.owner)
        return staged, time.perf_counter() - started

    def cancel(self) -> None:
        """End the process if it still runs, and remove the temporary files nothing renamed."""
        if self._child is not None:
            self._child.stop()
            self._child = None
        self._discard(self._places.all())

    def _discard(self, places: tuple[Path, ...]) -> None:
        for place in places:
            remove_temporaries(place, self.owner)


#: :attr:`Unit.reads` codes: the joint step reads the triple, or only its (property, literal)
#: pair, of which it needs one triple (the first of the source that has it), or its subject
#: and class (a type triple of a class with a disjointness); else 0.
_READS_TRIPLE, _READS_PAIR, _READS_TYPE = 1, 2, 3
_SELECT_TRIPLE = bytes(int(code == _READS_TRIPLE) for code in range(256))
_SELECT_PAIR = bytes(int(code == _READS_PAIR) for code in range(256))
_SELECT_TYPE = bytes(int(code == _READS_TYPE) for code in range(256))


def joint_codes(rules: Any, triples: list[tuple[Any, Any, Any]]) -> bytes:
    """What :meth:`kg.rules.RuleSet.infer_joint` reads of each triple (a byte per triple):
    the transitive properties' triples and the triples with a built-in value whole; of the
    type triples of disjoint classes, the node and the class; of the other triples with a
    literal value, one triple for each (property, literal) pair (the literal checks look at the
    values and the properties that lead to them, whatever holds them). ``triples`` are the
    triples' terms (:func:`_ox_terms`)."""
    from kg.rules import BUILTIN_NAMESPACES

    preds, classes = rules.joint_read_terms()
    wanted = {ox.NamedNode(str(p)) for p in preds}
    disjoint = {ox.NamedNode(str(c)) for c in classes}
    rdf_type, literal, named = _RDF_TYPE, ox.Literal, ox.NamedNode
    seen: set[tuple[Any, Any]] = set()
    codes = bytearray(len(triples))
    for i, (_s, p, o) in enumerate(triples):
        if isinstance(o, literal) and p not in wanted:
            if (p, o) not in seen:
                seen.add((p, o))
                codes[i] = _READS_PAIR
        elif (
            p == rdf_type
            and o in disjoint
            and p not in wanted
            and not o.value.startswith(BUILTIN_NAMESPACES)
        ):
            codes[i] = _READS_TYPE
        elif (
            p in wanted
            or (p == rdf_type and o in disjoint)
            or isinstance(o, literal)
            or (isinstance(o, named) and o.value.startswith(BUILTIN_NAMESPACES))
        ):
            codes[i] = _READS_TRIPLE
    return bytes(codes)


def _joint(engines: Engines, ontology: Graph, units: list[Unit]) -> list[ox.Triple]:
    """:meth:`kg.rules.RuleSet.infer_joint` on what it reads of the union (the sources' triples
    and their local inferences that :attr:`Unit.reads` marks), with one triple for each
    (property, literal) pair of the union, and the nodes typed with a class with a
    disjointness as N-Triples terms (no rdflib terms made for them). Where every source keeps
    the facts of its asserted literal values, and they suffice, those facts stand for the
    sources' (property, literal) pairs."""
    from kg.rules import Triples

    rules = engines.rules
    assert rules is not None
    facts = None
    if all(unit.facts is not None for unit in units):
        facts = LiteralFacts.union(unit.facts for unit in units)  # type: ignore[misc]
        if not rules.facts_suffice(facts):
            facts = None
    read: list[tuple[list[ox.Triple], list[ox.Triple]]] = []
    typed: dict[str, set[str]] = {}
    asserted_types: set[str] = set()
    for side in (0, 1):
        whole: list[str] = []
        pairs: list[str] = []
        for unit in units:
            lines, codes = unit.nt[side], unit.reads[side]
            whole.extend(compress(lines, codes.translate(_SELECT_TRIPLE)))
            if side == 1 or facts is None:
                pairs.extend(compress(lines, codes.translate(_SELECT_PAIR)))
            types = list(compress(lines, codes.translate(_SELECT_TYPE)))
            for line in types:
                node, _type, cls, _end = line.split(" ")
                typed.setdefault(cls, set()).add(node)
            if side == 0:
                asserted_types.update(types)
        # one line for each (property, literal) pair: what follows a line's subject
        chosen: dict[str, str] = {}
        for line in pairs:
            chosen.setdefault(line.partition(" ")[2], line)
        read.append((_parse_lines(whole), _parse_lines(list(chosen.values()))))
    (union_whole, union_pairs), (local_whole, local_pairs) = read
    union_data = Triples([*_rdflib_triples([*union_whole, *union_pairs]), *ontology])
    local = Triples(_rdflib_triples([*local_whole, *local_pairs]))
    # the growth bound counts the union's asserted triples it reads, these type triples too
    size = len(asserted_types.difference(_nt_lines(_ox_triples(ontology))))
    if facts is not None:  # the pairs left out: the growth bound counts each source's
        size += sum(unit.reads[0].count(_READS_PAIR) for unit in units)
    joint = rules.infer_joint(union_data, local, typed=typed, typed_size=size, facts=facts)
    return _ox_triples(joint)


def _context_digest(project: Project) -> str:
    mappings = project.mapping_files()
    if not any(path.suffix == ".jsonld" for path in mappings):
        return ""
    from kg.export import jsonld_context

    context = jsonld_context(project.ontology_dir)
    return hashlib.sha256(json.dumps(context, sort_keys=True).encode()).hexdigest()


# --- validation -------------------------------------------------------------------------------

_RDF_TYPE = ox.NamedNode(str(RDF.type))


def _source_names(project: Project, units: list[Unit]) -> list[tuple[Any, str]]:
    out = []
    for unit in units:
        try:
            name = str(unit.path.relative_to(project.root))
        except ValueError:
            name = str(unit.path)
        out.append((to_ox(unit.gid), name))
    return out


def echoed_pairs(bad: Iterable[tuple[Node, Node, Node]]) -> set[tuple[Node, Node | None]]:
    """The (node, property) pairs, and (node, None), whose SHACL results only echo an ill-typed
    literal that the literal check reports (as :func:`kg.validate.validate_union` leaves out)."""
    out: set[tuple[Node, Node | None]] = set()
    for s, p, _o in bad:
        out.add((s, p))
        out.add((s, None))
    return out


def echo_filter(
    spans: list[Result], data: Graph, bad: set[tuple[Node, Node, Node]]
) -> list[Result]:
    """Span results less those of a mention whose offsets are ill-typed (and of the nodes it
    denotes), as :func:`kg.validate.validate_union` leaves them out."""
    from kg.namespaces import DIP, OA

    unchecked = {s for s, p, _o in bad if p in (OA.start, OA.end)}
    unchecked |= {o for m in unchecked for o in data.subjects(DIP.denotedBy, m)}
    return [r for r in spans if r.focus not in unchecked]


def _state_path(project: Project) -> Path:
    return project.build_dir / ".cache" / "validation.json"


class _Union:
    """The union's graphs as N-Triples lines: each source's asserted and locally inferred
    triples, and the ontology's, its inferences' and the joint inferences' triples. What the
    validation looks up in them it finds through each source's :class:`Census`, reading the
    lines of the sources that hold a node it looks for."""

    def __init__(
        self,
        units: list[Unit],
        onto_triples: list[ox.Triple],
        tbox: list[ox.Triple],
        joint: list[ox.Triple],
    ) -> None:
        self.units = units
        self.census = [unit.census or census(*unit.nt) for unit in units]
        self.shared: list[tuple[Any, list[str]]] = [
            (to_ox(ONTOLOGY_GRAPH), _nt_lines(onto_triples)),
            (_TBOX, _nt_lines(tbox)),
            (_JOINT, _nt_lines(joint)),
        ]
        self._sets: dict[tuple[int, str], set[str]] = {}

    def _set(self, n: int, what: str) -> set[str]:
        found = self._sets.get((n, what))
        if found is None:
            found = self._sets[(n, what)] = set(getattr(self.census[n], what))
        return found

    def subjects_of(self, n: int) -> set[str]:
        """The subjects of a source's triples, asserted and inferred."""
        return self._set(n, "all_subjects")

    def graphs(self, n: int) -> list[tuple[Any, list[str]]]:
        """A source's graphs as the store names them, with their lines."""
        unit = self.units[n]
        return [
            (to_ox(unit.gid), unit.nt[0]),
            (ox.NamedNode(_LOCAL + str(unit.gid)), unit.nt[1]),
        ]

    def holding(self, nodes: set[str], what: str) -> Iterator[tuple[Any, list[str]]]:
        """The graphs of the sources whose census has one of ``nodes`` among ``what``
        (``all_subjects`` or ``objects``), then the shared graphs."""
        for n in range(len(self.units)):
            if not self._set(n, what).isdisjoint(nodes):
                yield from self.graphs(n)
        yield from self.shared

    def about(self, nodes: set[str]) -> dict[Any, list[str]]:
        """The lines of every graph whose subject is one of ``nodes``, by graph."""
        out: dict[Any, list[str]] = {}
        for graph, lines in self.holding(nodes, "all_subjects"):
            mine = [line for line in lines if line.partition(" ")[0] in nodes]
            if mine:
                out.setdefault(graph, []).extend(mine)
        return out

    def pointing(self, nodes: set[str]) -> set[str]:
        """The subjects of every triple whose value is one of ``nodes``."""
        return {
            line.partition(" ")[0]
            for _graph, lines in self.holding(nodes, "objects")
            for line in lines
            if _node_object(line) in nodes
        }

    def origin(self, node: str) -> int | None:
        """The index of the source a node comes from, as :func:`kg.validate.node_origins`
        gives it: the first (in file order) whose asserted triples type it, for a named node,
        else the first whose asserted triples say anything about it."""
        holders = [n for n in range(len(self.units)) if node in self._set(n, "subjects")]
        if node.startswith("<"):
            for n in holders:
                if node in self._typed(n):
                    return n
        return holders[0] if holders else None

    def _typed(self, n: int) -> set[str]:
        """The nodes a source's asserted triples type."""
        found = self._sets.get((n, "typed"))
        if found is None:
            typing = f"<{RDF.type}> "
            found = self._sets[(n, "typed")] = {
                subject
                for subject, _, rest in (line.partition(" ") for line in self.units[n].nt[0])
                if rest.startswith(typing)
            }
        return found


def _term(node: Node) -> str:
    """An rdflib node as an N-Triples term."""
    return str(to_ox(node))


def _node_of(term: str) -> Node:
    """An N-Triples term (an IRI or a blank node) as an rdflib node."""
    if term.startswith("_:"):
        return BNode(term[2:])
    return URIRef(term[1:-1])


def _plan(
    project: Project, units: list[Unit], engines: Engines, context: str
) -> tuple[dict[str, Any], list[Unit], list[Unit]] | None:
    """Where the last build's SHACL results can be kept: the state it left, the sources that
    changed since, and those sources as they were; None where everything is validated again
    (no state, other shapes or code, other sources, shapes that look further than a node's
    values, a changed source's old work gone)."""
    state = _load_state(project)
    keys = {str(u.gid): u.key for u in units}
    if (
        state is None
        or state.get("context") != context
        or not engines.local_shapes
        or set(state["units"]) != set(keys)
    ):
        return None
    changed = [u for u in units if state["units"][str(u.gid)] != u.key]
    old_units = []
    for u in changed:
        old = load_unit(project.build_dir / ".cache" / "units", u.path, state["units"][str(u.gid)])
        if old is None:
            return None
        old_units.append(old)
    return state, changed, old_units


def _validate(
    project: Project,
    union: _Union,
    engines: Engines,
    context: str,
    joint: list[ox.Triple],
    enc: _Encoder,
    fill: Callable[[], ox.Store],
) -> tuple[Report, int | None]:
    """The report: the cached literal and span results of every source, and the SHACL results,
    kept from the last build where they cannot have changed. A full validation runs on the
    store ``fill`` makes; one of a rebuild on a store of the nodes it validates again, their
    values and the shared graphs."""
    from kg.fastshacl import FastShaclError

    assert engines.shapes is not None
    units = union.units
    bad: set[ox.Triple] = set()
    for unit in units:
        bad.update(unit.bad)

    plan = _plan(project, units, engines, context)
    focus: set[Node] | None = None
    kept: list[Result] = []
    if plan is None:
        store = fill()
        removed: list[ox.Quad] = []
        for t in bad:
            pattern = store.quads_for_pattern(enc(t.subject), t.predicate, enc(t.object), None)
            for q in list(pattern):
                removed.append(q)
                store.remove(q)
    else:
        state, changed, old_units = plan
        old_joint = set(_nt_lines(_parse_nt(state["joint"].encode("utf-8"))))
        nodes = _affected(union, changed, old_units, old_joint, set(union.shared[2][1]))
        focus = {_node_of(node) for node in nodes}
        kept = [r for r in (_result_from_json(d) for d in state["shacl"]) if r.focus not in focus]
        store = _neighbourhood(union, nodes, bad, enc)
        removed = []
    echoed = echoed_pairs(_rdflib_graph(bad))
    try:
        found = engines.shapes.results(store, focus=focus, union=True, share=workers_for(2) > 1)
    except FastShaclError as exc:
        raise _Fallback(str(exc)) from None
    fresh = [r for r in found if (r.focus, r.path) not in echoed]
    shacl = kept + fresh
    for q in removed:
        store.add(q)
    with contextlib.suppress(OSError):
        write_atomic(
            _state_path(project),
            json.dumps(
                {
                    "context": context,
                    "units": {str(u.gid): u.key for u in units},
                    "joint": _nt(joint).decode("utf-8"),
                    "shacl": [_result_json(r) for r in shacl],
                },
                ensure_ascii=False,
            ).encode("utf-8"),
        )
    results: list[Result] = []
    for unit in units:
        results += unit.literal_results
    results += shacl
    for unit in units:
        results += unit.span_results
    origins: dict[Node, str | None] = {}
    names = _source_names(project, units)
    placed = []
    for r in dict.fromkeys(results):
        if r.focus not in origins:
            n = None if isinstance(r.focus, Literal) else union.origin(_term(r.focus))
            origins[r.focus] = None if n is None else names[n][1]
        placed.append(
            Result(
                focus=r.focus,
                shape=r.shape,
                path=r.path,
                message=r.message,
                severity=r.severity,
                value=r.value,
                source_file=origins[r.focus],
            )
        )
    return Report(list(dict.fromkeys(placed))), None if focus is None else len(focus)


def _load_state(project: Project) -> dict[str, Any] | None:
    try:
        return json.loads(_state_path(project).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _affected(
    union: _Union,
    changed: list[Unit],
    old_units: list[Unit],
    old_joint: set[str],
    new_joint: set[str],
) -> set[str]:
    """The nodes whose SHACL results a change of ``changed`` (from ``old_units``) can change:
    the subjects and values of every triple the union gained or lost, and the nodes that point
    to a node whose own triples changed. N-Triples lines and terms."""
    candidates: set[str] = set()
    for old, new in zip(old_units, changed, strict=True):
        candidates |= set(chain(*old.nt)) ^ set(chain(*new.nt))
    candidates |= old_joint ^ new_joint
    # a triple still held by a graph that did not change is neither gained nor lost
    mine = {id(unit) for unit in changed}
    held = {line.partition(" ")[0] for line in candidates}
    for n, unit in enumerate(union.units):
        if id(unit) not in mine and not union.subjects_of(n).isdisjoint(held):
            for _graph, lines in union.graphs(n):
                candidates.difference_update(candidates.intersection(lines))
    for _graph, lines in union.shared[:2]:
        candidates.difference_update(candidates.intersection(lines))
    subjects = {line.partition(" ")[0] for line in candidates}
    values = {node for node in map(_node_object, candidates) if node}
    return subjects | values | union.pointing(subjects)


def _neighbourhood(union: _Union, nodes: set[str], bad: set[ox.Triple], enc: _Encoder) -> ox.Store:
    """A store with what the shapes read to validate ``nodes`` when they look no further than
    a node's values (:func:`local_shapes`): the triples of the nodes and of their values, in
    every graph, and the ontology's and its inferences' graphs whole; the ill-typed triples
    left out, as the full validation removes them."""
    about = union.about(nodes)
    values = {node for lines in about.values() for node in map(_node_object, lines) if node}
    for graph, lines in union.about(values - nodes).items():
        about.setdefault(graph, []).extend(lines)
    for graph, lines in union.shared[:2]:
        about[graph] = lines  # whole, in place of the lines of the nodes
    store = ox.Store()
    for graph, lines in about.items():
        triples = [t for t in _parse_lines(sorted(set(lines))) if t not in bad]
        store.bulk_extend(enc.quads(triples, graph))
    return store


# --- summary ----------------------------------------------------------------------------------


def _seconds(timings: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 3) for k, v in timings.items()}


def _summary(
    units: list[Unit],
    report: Report,
    onto_triples: list[ox.Triple],
    union_graphs: list[list[ox.Triple]],
    inferred: set[str],
    timings: dict[str, float],
    asserted: int,
) -> dict[str, Any]:
    """``summary.json``, as :func:`kg.pipeline.build_reference` writes it; ``asserted`` is the
    number of distinct triples the sources assert, ``union_graphs`` the triples of the graphs
    the union holds besides the sources' (the ontology, its inferences, the joint ones). The
    counts come from each source's :class:`Census`: a node is typed with a class where any
    graph types it."""
    from kg.pipeline import TOP_CLASSES

    counted = [unit.census or census(*unit.nt) for unit in units]
    typed: dict[str, set[str]] = {name: set() for name in TOP_CLASSES}
    for c in counted:
        for name, nodes in c.typed.items():
            typed[name].update(nodes)
    types = _type_lines()
    for triples in union_graphs:
        for line in _nt_lines(triples):
            subject, _, rest = line.partition(" ")
            name = types.get(rest)
            if name is not None:
                typed[name].add(subject)
    sources: dict[str, dict[str, int]] = {}
    for unit, c in zip(units, counted, strict=True):
        subjects = set(c.subjects)
        counts = {name: len(subjects & typed[name]) for name in TOP_CLASSES}
        counts["triples"] = c.distinct
        sources[str(unit.gid).rsplit("/", 1)[-1]] = counts
    return {
        "conforms": report.conforms,
        "results": report.counts(),
        "classes": {name: len(typed[name]) for name in TOP_CLASSES},
        "triples": {
            "asserted": asserted,
            "ontology": len(set(onto_triples)),
            "inferred": len(inferred),
        },
        "sources": sources,
        "seconds": _seconds(timings),
    }
