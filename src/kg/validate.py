"""Validation: SHACL shapes with pyshacl, plus the span check, on the union of the graphs."""

from __future__ import annotations

from pathlib import Path

from rdflib import BNode, Graph, URIRef
from rdflib.namespace import RDF, SH
from rdflib.term import Node

from kg.load import Loaded, parse_turtle
from kg.project import Project
from kg.report import Report, Result
from kg.spancheck import check_spans


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


def shacl_results(
    data: Graph, shapes: Graph, *, origin: dict[Node, str] | None = None
) -> list[Result]:
    """Run pyshacl (no inference: the data graph already holds what reasoning adds)."""
    from pyshacl import validate

    _conforms, report_graph, _text = validate(
        data,
        shacl_graph=shapes,
        inference="none",
        abort_on_first=False,
        allow_warnings=True,
        advanced=True,
    )
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


def validate_union(
    data: Graph,
    shapes: Graph,
    seeds_dir: Path,
    *,
    origin: dict[Node, str] | None = None,
) -> Report:
    results = shacl_results(data, shapes, origin=origin)
    results += check_spans(data, seeds_dir, origin=origin)
    return Report(results)


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
