"""Child programs of the benchmark, each run in a fresh interpreter by ``bench/run.py``.

    python bench/steps.py naive ROOT
    python bench/steps.py queries ROOT REPS

Each writes one JSON object per line on stdout: ``{"ready": true}`` once its libraries are
imported, ``{"start": NAME}`` before a step and ``{"done": NAME, "seconds": S, ...}`` after it.
The parent reads these as they come, so it can stop a step that runs past its deadline (it kills
the child) and still keep every step that finished. Nothing is written to disk.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any


def emit(**obj: Any) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def timed(name: str, fn: Any) -> Any:
    emit(start=name)
    t0 = time.perf_counter()
    value = fn()
    emit(done=name, seconds=time.perf_counter() - t0)
    return value


# ---------------------------------------------------------------------------
# The naive pipeline: rdflib parse, owlrl closure, pyshacl validate, rdflib Turtle serialize
# ---------------------------------------------------------------------------


def naive(root: Path) -> None:
    import owlrl
    import pyshacl
    from rdflib import Graph

    files = sorted((root / "ontology").glob("*.ttl")) + sorted((root / "seeds").glob("*.ttl"))
    shape_files = sorted((root / "shapes").glob("*.ttl"))
    emit(ready=True, files=len(files))
    graph = Graph()

    def parse() -> None:
        for path in files:
            graph.parse(path, format="turtle")

    def reason() -> None:
        owlrl.DeductiveClosure(owlrl.OWLRL_Semantics).expand(graph)

    def validate() -> bool:
        shapes = Graph()
        for path in shape_files:
            shapes.parse(path, format="turtle")
        conforms, _, _ = pyshacl.validate(graph, shacl_graph=shapes, inference="none")
        return bool(conforms)

    def serialize() -> int:
        return len(graph.serialize(format="turtle", encoding="utf-8"))

    timed("parse", parse)
    emit(info="parsed", triples=len(graph))
    timed("reason", reason)
    emit(info="closure", triples=len(graph))
    emit(info="conforms", value=timed("validate", validate))
    emit(info="serialized", bytes=timed("serialize", serialize))


# ---------------------------------------------------------------------------
# Canned queries, in process, on kg's own engine over the built dataset (build/dip.trig)
# ---------------------------------------------------------------------------

_LABEL_PROPS = (
    "http://www.w3.org/2000/01/rdf-schema#label",
    "http://www.w3.org/2004/02/skos/core#altLabel",
    "http://www.w3.org/2004/02/skos/core#prefLabel",
)


def _engine(trig: Path) -> Any:
    """kg's :class:`~kg.engine.Engine` (its vetting, evaluation and answers as rdflib terms)
    over an Oxigraph store loaded straight from the built TriG, the dataset ``kg query`` runs
    on: one named graph per source, the ontology and the inferences."""
    import pyoxigraph as ox

    from kg.engine import Engine

    class TrigEngine(Engine):
        def __init__(self, path: Path) -> None:
            self.store = ox.Store()
            self.store.bulk_load(path=str(path), format=ox.RdfFormat.TRIG)
            self.graph_names = frozenset(g.value for g in self.store.named_graphs())

    return TrigEngine(trig)


DIP = "https://w3id.org/dip/ontology#"
KIND_CLASS = {k: DIP + k.capitalize() for k in ("actor", "proposal", "event", "place", "issue")}


def _expand(value: str) -> str | None:
    """An IRI given as ``<…>``, as an absolute IRI or as a CURIE of a project prefix."""
    import re

    from kg.namespaces import PREFIXES

    if value.startswith("<") and value.endswith(">"):
        return value[1:-1]
    if re.match(r"^[a-z][a-z0-9+.-]*://\S+$", value, re.I):
        return value
    m = re.match(r"^([A-Za-z][\w-]*):(\S+)$", value)
    if m and m.group(1) in PREFIXES:
        return str(PREFIXES[m.group(1)]) + m.group(2)
    return None


def _resolve(engine: Any, kind: str, value: str) -> tuple[Any, str]:
    """The term a manifest parameter names, as ``kg query --param`` would bind it, and how it
    was found. A label this corpus does not have (the manifest's are the seed corpus's) is
    replaced by the node of the same class that the most triples point to."""
    import pyoxigraph as ox
    from rdflib import Literal, URIRef

    if kind == "integer":
        return Literal(int(value.strip())), "as given"
    if kind == "date":
        import datetime as dt

        return Literal(dt.date.fromisoformat(value.strip())), "as given"
    cls = KIND_CLASS.get(kind)
    iri = _expand(value)
    if cls is None:
        return (URIRef(iri) if iri is not None else Literal(value)), "as given"
    if iri is not None:
        found = engine.store.query(
            f"ASK {{ {ox.NamedNode(iri)} a {ox.NamedNode(cls)} }}",
            use_default_graph_as_union=True,
        )
        if bool(found):
            return URIRef(iri), "as given"
    else:
        labels = " ".join(f"<{p}>" for p in _LABEL_PROPS)
        rows = list(
            engine.store.query(
                f"SELECT DISTINCT ?n WHERE {{ ?n a {ox.NamedNode(cls)} . "
                f"VALUES ?p {{ {labels} }} ?n ?p ?l . FILTER(isIRI(?n) && "
                f"LCASE(STR(?l)) = LCASE({ox.Literal(value.strip())})) }}",
                use_default_graph_as_union=True,
            )
        )
        if len(rows) == 1:
            return URIRef(rows[0]["n"].value), "label"
    rows = list(
        engine.store.query(
            f"SELECT ?n (COUNT(*) AS ?k) WHERE {{ ?n a {ox.NamedNode(cls)} . FILTER(isIRI(?n)) "
            "?x ?p ?n } GROUP BY ?n ORDER BY DESC(?k) STR(?n) LIMIT 1",
            use_default_graph_as_union=True,
        )
    )
    if not rows:
        raise SystemExit(f"bench: no {kind} in the dataset to stand in for {value!r}")
    return URIRef(rows[0]["n"].value), "stand-in"


def queries(root: Path, reps: int) -> None:
    from kg.manifest import load_manifest
    from kg.query import list_queries, parse_header, run

    entries = load_manifest(root / "queries")
    covered = {e.query.resolve() for e in entries}
    extra = [q for q in list_queries(root / "queries") if q.path.resolve() not in covered]
    emit(ready=True, entries=[e.name for e in entries] + [q.name for q in extra])
    engine = timed("engine-load", lambda: _engine(root / "build" / "dip.trig"))
    jobs = [(e.name, parse_header(e.query), e.params) for e in entries]
    jobs += [(q.name, q, {}) for q in extra]
    for name, canned, raw in jobs:
        declared = {p.name: p for p in canned.params}
        bindings = {}
        used = {}
        for key, value in raw.items():
            term, how = _resolve(engine, declared[key].kind, value)
            bindings[key] = term
            used[key] = {"value": value, "bound": str(term), "how": how}
        missing = [p.name for p in canned.params if not p.optional and p.name not in bindings]
        for key in missing:  # a query run outside the manifest that needs a node
            term, how = _resolve(engine, declared[key].kind, "")
            bindings[key] = term
            used[key] = {"value": "", "bound": str(term), "how": how}
        emit(start=name)
        samples = []
        size = 0
        for _ in range(reps):
            t0 = time.perf_counter()
            answer = run(engine, canned, bindings)
            samples.append(time.perf_counter() - t0)
            size = len(answer.graph) if answer.graph is not None else len(answer.rows)
        emit(done=name, seconds=samples, results=size, params=used)


def main(argv: list[str]) -> None:
    if len(argv) >= 2 and argv[0] == "naive":
        naive(Path(argv[1]))
    elif len(argv) >= 3 and argv[0] == "queries":
        queries(Path(argv[1]), int(argv[2]))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
