"""The state of a running SPARQL service: the built dataset, an in-process engine for trusted
queries, and the pool of worker processes that run untrusted ones under a deadline."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from kg.engine import Engine
from kg.errors import InputError
from kg.pipeline import Built
from kg.project import Project
from kg.serve.workers import QueryResult, WorkerPool

__all__ = ["MAX_QUERY_BYTES", "QueryResult", "ServeState"]

#: the longest query text accepted, in bytes of UTF-8 (also the cap on a request body)
MAX_QUERY_BYTES = 1 << 20


class ServeState:
    """What the web application serves.

    * ``project`` -- the :class:`kg.project.Project`;
    * ``built`` -- the dataset loaded and reasoned over (:func:`kg.pipeline.assemble`, with the
      inference cache);
    * ``dataset`` -- ``built.query_graph()``: every source, the ontology and the inferences as
      named graphs;
    * ``engine`` -- an :class:`kg.engine.Engine` over ``dataset``, in this process, for the
      application's own fixed queries (it cannot be stopped: never give it a query from outside);
    * :meth:`run_query` -- a query from outside: vetted, run in a worker process under
      ``deadline`` seconds, at most ``max_rows`` rows (0: no cap).
    """

    def __init__(
        self,
        project: Project,
        built: Built,
        dataset: Any,
        engine: Engine,
        pool: WorkerPool,
        *,
        deadline: float,
        max_rows: int,
    ) -> None:
        self.project = project
        self.built = built
        self.dataset = dataset
        self.engine = engine
        self.pool = pool
        self.deadline = deadline
        self.max_rows = max_rows

    @classmethod
    def from_project(
        cls,
        project: Project,
        *,
        deadline: float = 5.0,
        max_rows: int = 10000,
        workers: int = 2,
        memory_mb: int = 1024,
    ) -> ServeState:
        """Load and reason over ``project`` (inferences from the build cache when fresh) and
        start ``workers`` query workers, each limited to ``memory_mb`` MiB of address space
        (0: no limit). Raises :class:`InputError` on a bad setting."""
        if not deadline > 0:
            raise InputError(f"--timeout {deadline:g}: the deadline must be more than 0 seconds")
        if max_rows < 0:
            raise InputError(f"--max-rows {max_rows}: must be 0 (no cap) or more")
        if memory_mb and memory_mb < 256:
            raise InputError(f"--max-memory {memory_mb}: at least 256 MiB (or 0, no limit)")
        if workers < 1:
            raise InputError(f"--workers {workers}: at least one worker is needed")
        import pyoxigraph as ox

        from kg.export import jsonld_context
        from kg.namespaces import PREFIXES
        from kg.pipeline import assemble

        context = jsonld_context(project.ontology_dir)
        pool = WorkerPool(workers, memory_mb=memory_mb)  # they start while the dataset is assembled
        try:
            built = assemble(project)
            dataset = built.query_graph()
            engine = Engine(dataset)
            nquads = engine.store.dump(format=ox.RdfFormat.N_QUADS)
            pool.start((nquads, sorted(engine.graph_names), context, dict(PREFIXES)))
        except BaseException:
            pool.close()
            raise
        return cls(project, built, dataset, engine, pool, deadline=deadline, max_rows=max_rows)

    @property
    def graph_names(self) -> frozenset[str]:
        """The named graphs of the dataset (the sources, the ontology, the inferences)."""
        return self.engine.graph_names

    def run_query(
        self,
        text: str,
        accept: str | None = None,
        *,
        format: str | Sequence[str] | None = None,
        default_graph_uris: Iterable[str] = (),
        named_graph_uris: Iterable[str] = (),
        bindings: Mapping[str, Any] | None = None,
    ) -> QueryResult:
        """Answer an untrusted query ``text`` as the HTTP Accept header ``accept`` asks (or as
        ``format`` names: json, xml, csv, tsv, turtle, ntriples, jsonld, or a media type; the
        first that can hold the answer wins, and Accept decides when none can).
        ``bindings`` (variable name -> rdflib term) are substituted for the variables, as
        :meth:`kg.engine.Engine.query` does; ``default_graph_uris`` and ``named_graph_uris`` set
        the dataset as the SPARQL protocol does (graphs the dataset holds only).

        Status 200 with the answer; 400 a malformed or refused query (updates, SERVICE, FROM of
        a graph the dataset does not hold), with the reason in ``message``; 406 no acceptable
        format; 413 a query text over :data:`MAX_QUERY_BYTES`; 503 the query ran past the
        deadline and was stopped (or every worker stayed busy for a whole deadline)."""
        from kg.serve import formats

        if not text.strip():
            return QueryResult.error(400, "the query is empty")
        try:
            size = len(text.encode("utf-8"))
        except UnicodeError:
            return QueryResult.error(400, "the query is not valid UTF-8 text")
        if size > MAX_QUERY_BYTES:
            return QueryResult.error(
                413, f"the query is {size} bytes long; at most {MAX_QUERY_BYTES} are accepted"
            )
        wanted = [format] if isinstance(format, str) else list(format or ())
        if not formats.acceptable_at_all(accept, wanted):
            media = [*formats.RESULT_FORMATS.values(), *formats.GRAPH_FORMATS.values()]
            return QueryResult.error(
                406,
                f"no answer can be written in a type the Accept header names ({accept!r}); "
                f"available: {', '.join(media)}",
            )
        default_graphs = list(default_graph_uris)
        named_graphs = list(named_graph_uris)
        for name, iris in (
            ("default-graph-uri", default_graphs),
            ("named-graph-uri", named_graphs),
        ):
            unknown = [g for g in iris if g not in self.graph_names]
            if unknown:
                held = ", ".join(sorted(self.graph_names))
                return QueryResult.error(
                    400,
                    f"{name} <{unknown[0]}> names a graph the dataset does not hold "
                    f"(it holds {held}); graphs are never loaded from elsewhere",
                )
        job = {
            "text": text,
            "accept": accept,
            "formats": wanted,
            "bindings": dict(bindings or {}),
            "max_rows": self.max_rows,
            "default_graphs": default_graphs,
            "named_graphs": named_graphs,
        }
        return self.pool.run(job, self.deadline)

    def close(self) -> None:
        """Stop the query workers (idempotent)."""
        self.pool.close()

    def __enter__(self) -> ServeState:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
