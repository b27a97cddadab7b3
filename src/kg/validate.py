"""Validation: SHACL shapes with pyshacl, plus the literal and span checks, on the union of the
graphs."""

from __future__ import annotations

import os
from pathlib import Path

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF, RDFS, SH, XSD
from rdflib.term import Node

from kg.errors import InputError
from kg.load import Loaded, parse_turtle
from kg.namespaces import DIP, OA
from kg.project import Project
from kg.report import Report, Result
from kg.spancheck import check_spans

#: The literal check reports under this name (ill-typed literals, unknown XSD datatypes).
LITERAL_CHECK = DIP["LiteralCheck"]

#: What a well-formed value of a datatype looks like, for the literal check's message.
_FORMS = {
    XSD.date: "a calendar date written YYYY-MM-DD",
    XSD.dateTime: "a date and time written YYYY-MM-DDThh:mm:ss",
    XSD.gYear: "a year written YYYY",
    XSD.integer: "an integer",
    XSD.nonNegativeInteger: "an integer of 0 or more",
    XSD.positiveInteger: "an integer of 1 or more",
    XSD.decimal: "a decimal number",
    XSD.boolean: "true or false",
}


def load_shapes(project: Project) -> Graph:
    shapes = Graph()
    for path in project.shape_files():
        parse_turtle(path, shapes)
    return shapes


def _named_shape(shapes: Graph, shape: Node | None) -> Node | None:
    """The named NodeShape a (possibly blank) property shape belongs to."""
    seen = 0
    while isinstance(shape, BNode) and seen < 10:
        parents = list(shapes.subjects(SH.property, shape)) or list(shapes.subjects(None, shape))
        if not parents:
            break
        shape = parents[0]
        seen += 1
    return shape


#: Chooses the SHACL engine when ``shacl_results`` is left to ``engine="auto"``.
SHACL_ENGINE_ENV = "KG_SHACL"
SHACL_ENGINES = ("auto", "sparql", "pyshacl")


def shacl_results(
    data: Graph,
    shapes: Graph,
    *,
    origin: dict[Node, str] | None = None,
    engine: str = "auto",
) -> list[Result]:
    """The SHACL results on ``data`` (no inference: the data graph already holds what reasoning
    adds).

    ``engine``: ``"pyshacl"`` runs pyshacl; ``"sparql"`` runs the shapes compiled into SPARQL
    by :mod:`kg.fastshacl` (same results, much faster), and fails if they cannot be compiled;
    ``"auto"`` (the default) takes the engine from ``$KG_SHACL`` (default ``auto``) and runs the
    compiled engine where it can, pyshacl where it cannot."""
    if engine == "auto":
        engine = os.environ.get(SHACL_ENGINE_ENV, "").strip().lower() or "auto"
    if engine not in SHACL_ENGINES:
        raise InputError(
            f"unknown SHACL engine {engine!r}: choose one of {', '.join(SHACL_ENGINES)}"
        )
    if engine != "pyshacl":
        from kg.fastshacl import compile_shapes

        compiled = compile_shapes(shapes)
        if compiled is None:
            if engine == "sparql":
                raise InputError("the shapes use SHACL features the SPARQL engine does not cover")
        else:
            try:
                return compiled.results_for_graph(data, origin=origin)
            except Exception as exc:  # data it cannot judge like pyshacl: pyshacl decides
                if engine == "sparql":
                    message = " ".join(str(exc).split())[:200] or exc.__class__.__name__
                    raise InputError(f"the SHACL engine stopped: {message}") from None
    return _pyshacl_results(data, shapes, origin=origin)


def _pyshacl_results(
    data: Graph, shapes: Graph, *, origin: dict[Node, str] | None = None
) -> list[Result]:
    """Run pyshacl and read its report's own results."""
    from pyshacl import validate

    try:
        _conforms, report_graph, _text = validate(
            data,
            shacl_graph=shapes,
            inference="none",
            abort_on_first=False,
            allow_warnings=True,
            advanced=True,
        )
    except Exception as exc:  # pyshacl stops on data or shapes it cannot evaluate
        message = " ".join(str(exc).split())[:200] or exc.__class__.__name__
        raise InputError(f"the SHACL engine stopped: {message}") from None
    origin = origin or {}
    results: list[Result] = []
    # only the report's own results: nested sh:detail results explain them, they are not more
    top = [
        r
        for rep in report_graph.subjects(RDF.type, SH.ValidationReport)
        for r in report_graph.objects(rep, SH.result)
    ]
    for res in top:
        focus = report_graph.value(res, SH.focusNode)
        shape = _named_shape(shapes, report_graph.value(res, SH.sourceShape))
        severity = report_graph.value(res, SH.resultSeverity)
        message = report_graph.value(res, SH.resultMessage)
        results.append(
            Result(
                focus=focus,  # type: ignore[arg-type]
                shape=shape,
                path=report_graph.value(res, SH.resultPath),
                message=str(message) if message is not None else "constraint not met",
                severity=str(severity).rsplit("#", 1)[-1] if severity is not None else "Violation",
                value=report_graph.value(res, SH.value),
                source_file=origin.get(focus),  # type: ignore[arg-type]
            )
        )
    return results


def node_origins(loaded: Loaded, root: Path) -> dict[Node, str]:
    """For each subject, the mapping file that types it (or, failing that, first mentions it)."""
    typed: dict[Node, str] = {}
    seen: dict[Node, str] = {}
    for gid in loaded.asserted_graph_ids():
        path = loaded.sources[gid]
        try:
            name = str(path.relative_to(root))
        except ValueError:
            name = str(path)
        graph = loaded.dataset.graph(gid)
        for s, p, _o in graph:
            seen.setdefault(s, name)
            if p == RDF.type and isinstance(s, URIRef):
                typed.setdefault(s, name)
    # blank nodes report the file of the named node that holds them
    for s, name in seen.items():
        typed.setdefault(s, name)
    return typed


def check_literals(
    data: Graph, *, origin: dict[Node, str] | None = None
) -> tuple[list[Result], set[tuple[Node, Node, Node]]]:
    """Literals whose text is not of their datatype (``"2025-13-45"^^xsd:date``), and datatypes
    in the XSD namespace that XSD does not define (``xsd:integr``): one violation each, and the
    triples that hold them."""
    origin = origin or {}
    results: list[Result] = []
    bad: set[tuple[Node, Node, Node]] = set()
    for s, p, o in data:
        if not isinstance(o, Literal) or o.datatype is None:
            continue
        if o.ill_typed:
            datatype = data.namespace_manager.normalizeUri(o.datatype)
            form = _FORMS.get(o.datatype)
            message = f"{str(o)!r} is not a valid {datatype}" + (f" ({form})" if form else "")
        elif str(o.datatype).startswith(str(XSD)) and o.datatype not in XSD:
            datatype = data.namespace_manager.normalizeUri(o.datatype)
            message = f"{datatype} is not an XSD datatype (a misspelt name?)"
        else:
            continue
        bad.add((s, p, o))
        if any((q, RDFS.subPropertyOf, p) in data for q in data.predicates(s, o) if q != p):
            continue  # inferred from a narrower property, under which it is reported
        results.append(
            Result(
                focus=s,
                shape=LITERAL_CHECK,
                path=p,
                message=message,
                value=o,
                source_file=origin.get(s),
            )
        )
    return results, bad


def validate_union(
    data: Graph,
    shapes: Graph,
    seeds_dir: Path,
    *,
    origin: dict[Node, str] | None = None,
) -> Report:
    """SHACL, the literal check and the span check on ``data``.

    A triple with an ill-typed literal is reported once, by the literal check, and kept away from
    pyshacl (whose comparisons fail on such values). Results that would only echo it are left
    out: SHACL results on its node for its property or for the node as a whole, and the span
    check of a mention whose offsets it is."""
    results, bad = check_literals(data, origin=origin)
    shacl_data = data
    if bad:
        shacl_data = Graph()
        for triple in data:
            if triple not in bad:
                shacl_data.add(triple)
    echoed = {(s, p) for s, p, _o in bad} | {(s, None) for s, _p, _o in bad}
    results += [
        r
        for r in shacl_results(shacl_data, shapes, origin=origin)
        if (r.focus, r.path) not in echoed
    ]
    unchecked = {s for s, p, _o in bad if p in (OA.start, OA.end)}
    unchecked |= {o for m in unchecked for o in data.subjects(DIP.denotedBy, m)}
    results += [r for r in check_spans(data, seeds_dir, origin=origin) if r.focus not in unchecked]
    return Report(list(dict.fromkeys(results)))  # distinct constraints can say the same


def validate_graph(
    data: Graph,
    project: Project,
    *,
    inference: bool = True,
    shapes: Graph | None = None,
) -> Report:
    """Validate a stand-alone graph (a fixture, a new mapping) against the project's shapes.

    The ontology is added to the data; with ``inference`` the OWL RL inferences are added too,
    exactly as a build does, so a shape is tested against what the build validates.
    """
    from kg.reason import infer

    union = Graph()
    for triple in data:
        union.add(triple)
    for path in project.ontology_files():
        parse_turtle(path, union)
    if inference:
        for triple in infer(union):
            union.add(triple)
    return validate_union(union, shapes or load_shapes(project), project.seeds_dir)
