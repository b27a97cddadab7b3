"""The pipeline: load, reason, validate, export."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from rdflib import BNode, Dataset, Graph, URIRef

from kg.export import serialize, write_atomic
from kg.load import INFERRED_GRAPH, ONTOLOGY_GRAPH, Loaded, load_project
from kg.namespaces import ACTOR_CLASSES, DIP, bind_prefixes
from kg.project import Project
from kg.reason import infer
from kg.report import Report
from kg.validate import load_shapes, node_origins, validate_union


@dataclass
class Built:
    """Everything a build produces, kept in memory for queries and exports."""

    project: Project
    loaded: Loaded
    inferred: Graph
    timings: dict[str, float] = field(default_factory=dict)
    report: Report | None = None
    summary: dict | None = None  # type: ignore[type-arg]
    engine: str = "reference"

    def label_graph(self, nodes: object = None) -> Graph:
        """The graph that names nodes in a report (prefixes, and the paths to blank nodes)."""
        return self.union()

    @property
    def dataset(self) -> Dataset:
        return self.loaded.dataset

    def union(self, *, inferred: bool = True, ontology: bool = True) -> Graph:
        g = self.loaded.union(include_ontology=ontology)
        if inferred:
            for triple in self.inferred:
                g.add(triple)
        return g

    def query_graph(self) -> Dataset:
        """The dataset queries run on: the default graph is the union of every named graph
        (sources, ontology, inferences), and each source stays addressable with GRAPH."""
        ds = Dataset(default_union=True)
        bind_prefixes(ds)
        for gid in self.loaded.sources:
            target = ds.graph(gid)
            for triple in self.loaded.dataset.graph(gid):
                target.add(triple)
        target = ds.graph(INFERRED_GRAPH)
        for triple in self.inferred:
            target.add(triple)
        return ds

    def export_dataset(self, *, inferred: bool = True) -> Dataset:
        """One named graph per source, the ontology, and (optionally) the inferences."""
        ds = Dataset()
        bind_prefixes(ds)
        for gid in self.loaded.sources:
            target = ds.graph(gid)
            for triple in self.loaded.dataset.graph(gid):
                target.add(triple)
        if inferred:
            target = ds.graph(INFERRED_GRAPH)
            for triple in self.inferred:
                target.add(triple)
        return ds


_SKOLEM_AUTHORITY = "https://w3id.org"
_SKOLEM_PATH = "/dip/.well-known/genid/"
_SKOLEM = URIRef(_SKOLEM_AUTHORITY + _SKOLEM_PATH)


def inputs_digest(project: Project) -> str:
    """A digest of everything reasoning depends on: the ontology and the mapping files (and,
    when a mapping file is JSON-LD, the project's JSON-LD context, which gives its terms)."""
    h = hashlib.sha256()
    mappings = project.mapping_files()
    for path in [*project.ontology_files(), *mappings]:
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    if any(path.suffix == ".jsonld" for path in mappings):
        from kg.export import jsonld_context

        context = jsonld_context(project.ontology_dir)
        h.update(json.dumps(context, sort_keys=True).encode() + b"\0")
    return h.hexdigest()


def cached_infer(project: Project, loaded: Loaded) -> Graph:
    """The inferences, reused from ``build/.cache`` when the inputs have not changed.

    The cache key is a digest of the input files; blank-node labels are stable across loads,
    so cached inferences about blank nodes stay true.
    """
    cache = project.build_dir / ".cache" / f"inferred-{inputs_digest(project)}.nt"
    if cache.is_file():
        g = Graph()
        g.parse(cache, format="nt")
        prefix = str(_SKOLEM)

        def back(node):  # type: ignore[no-untyped-def]
            if isinstance(node, URIRef) and str(node).startswith(prefix):
                return BNode(str(node)[len(prefix) :])
            return node

        out = Graph()
        for s, p, o in g:
            out.add((back(s), p, back(o)))
        return out
    inferred = infer(loaded.union())
    try:
        for old in cache.parent.glob("inferred-*.nt"):
            old.unlink()
        skolem = inferred.skolemize(authority=_SKOLEM_AUTHORITY, basepath=_SKOLEM_PATH)
        write_atomic(cache, serialize(skolem, "ntriples"))
    except OSError:
        pass  # a read-only project still builds; it only reasons again next time
    return inferred


def assemble(project: Project, *, reason: bool = True, cache: bool = True) -> Built:
    """Load and reason (no validation)."""
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    loaded = load_project(project)
    timings["load"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    if not reason:
        inferred = Graph()
    elif cache:
        inferred = cached_infer(project, loaded)
    else:
        inferred = infer(loaded.union())
    timings["reason"] = time.perf_counter() - t0
    loaded.dataset.graph(INFERRED_GRAPH)  # present, even when empty
    for triple in inferred:
        loaded.dataset.graph(INFERRED_GRAPH).add(triple)
    return Built(project, loaded, inferred, timings)


def validate_built(built: Built, shapes: Graph | None = None) -> Report:
    t0 = time.perf_counter()
    shapes = shapes if shapes is not None else load_shapes(built.project)
    origin = node_origins(built.loaded, built.project.root)
    report = validate_union(built.union(), shapes, built.project.seeds_dir, origin=origin)
    built.timings["validate"] = time.perf_counter() - t0
    built.report = report
    return report


TOP_CLASSES = (
    *ACTOR_CLASSES,
    "Role",
    "Statement",
    "Attribution",
    "Position",
    "Demand",
    "Proposal",
    "ProposalPoint",
    "Event",
    "ReportedFigure",
    "Place",
    "SourceDocument",
    "Mention",
    "TimeExpression",
)


def class_counts(graph: Graph) -> dict[str, int]:
    from rdflib.namespace import RDF

    return {name: len(set(graph.subjects(RDF.type, DIP[name]))) for name in TOP_CLASSES}


def per_source_counts(built: Built) -> dict[str, dict[str, int]]:
    """Class counts per named graph; types come from the asserted graph plus inference."""
    from rdflib.namespace import RDF

    types = built.union()
    out: dict[str, dict[str, int]] = {}
    for gid in built.loaded.asserted_graph_ids():
        graph = built.loaded.dataset.graph(gid)
        subjects = set(graph.subjects())
        counts = {}
        for name in TOP_CLASSES:
            cls = DIP[name]
            counts[name] = sum(1 for s in subjects if (s, RDF.type, cls) in types)
        counts["triples"] = len(graph)
        out[_short(gid)] = counts
    return out


def _short(gid: URIRef) -> str:
    return str(gid).rsplit("/", 1)[-1]


OUTPUTS = {"dataset": "dip.trig", "turtle": "dip.ttl", "summary": "summary.json"}


def build(project: Project, out_dir: Path | None = None, *, fail_on: str | None = None):  # type: ignore[no-untyped-def]
    """The whole pipeline; writes the dataset (TriG), a Turtle file and a JSON summary.

    The build works per source and reuses what it cached (:mod:`kg.fastbuild`) wherever that
    gives the reference's results; otherwise, or with ``KG_ENGINE=reference``, it is
    :func:`build_reference`. Either way the result has ``report``, ``timings``, ``summary`` and
    ``label_graph(nodes)``.

    With ``fail_on`` (a severity), data that fails at that level writes nothing: the outputs of
    the last good build stay as they were."""
    from kg.fastbuild import try_fast_build

    shapes = load_shapes(project)  # a broken shapes file fails before reasoning
    fast = try_fast_build(project, out_dir or project.build_dir, fail_on, shapes)
    if fast is not None:
        return fast
    return build_reference(project, out_dir, fail_on=fail_on, shapes=shapes)


def build_reference(
    project: Project,
    out_dir: Path | None = None,
    *,
    fail_on: str | None = None,
    shapes: Graph | None = None,
) -> Built:
    """The reference pipeline: every file loaded with rdflib, the union closed by owlrl
    (:func:`kg.reason.infer`), validated by pyshacl, written by :func:`kg.export.serialize`."""
    started = time.perf_counter()
    shapes = shapes if shapes is not None else load_shapes(project)
    built = assemble(project)
    report = validate_built(built, shapes)
    if fail_on is not None and report.failing(fail_on):
        built.timings["export"] = 0.0
        built.timings["total"] = time.perf_counter() - started
        built.summary = reference_summary(built, report)
        return built
    out_dir = out_dir or project.build_dir
    t0 = time.perf_counter()
    trig = serialize(built.export_dataset(inferred=True), "trig")
    ttl = serialize(built.union(inferred=False), "turtle")
    write_atomic(out_dir / OUTPUTS["dataset"], trig)
    write_atomic(out_dir / OUTPUTS["turtle"], ttl)
    built.timings["export"] = time.perf_counter() - t0
    built.timings["total"] = time.perf_counter() - started
    built.summary = reference_summary(built, report)
    write_atomic(
        out_dir / OUTPUTS["summary"],
        (json.dumps(built.summary, indent=2, sort_keys=True) + "\n").encode("utf-8"),
    )
    return built


def reference_summary(built: Built, report: Report) -> dict:  # type: ignore[type-arg]
    """``summary.json``: conformance, result counts, class and triple counts, per-source counts
    and the seconds of each step."""
    union = built.union()
    return {
        "conforms": report.conforms,
        "results": report.counts(),
        "classes": class_counts(union),
        "triples": {
            "asserted": len(built.union(inferred=False, ontology=False)),
            "ontology": len(built.loaded.dataset.graph(ONTOLOGY_GRAPH)),
            "inferred": len(built.inferred),
        },
        "sources": per_source_counts(built),
        "seconds": {k: round(v, 3) for k, v in built.timings.items()},
    }
