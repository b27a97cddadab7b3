"""Query workers: long-lived processes that each hold the dataset in their own Oxigraph store.

Oxigraph cannot stop a query once it runs, and a thread cannot be killed, so every query from
outside runs in a worker process. A worker loads the dataset once (N-Quads), then answers one
query at a time: it vets the text (:func:`kg.engine.vet_query`), evaluates it, caps the rows
and writes the answer in the negotiated format. When a query runs past its deadline the worker
is killed (SIGKILL) and a replacement is started in the background; the other workers keep
answering meanwhile.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import signal
import sys
import threading
import time
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

_TEXT = "text/plain; charset=utf-8"
_OUT_OF_MEMORY = "query stopped: it needed more memory than a query may use (--max-memory)"


@dataclass(frozen=True)
class QueryResult:
    """What the service answers to one query: an HTTP status, the Content-Type and the body.

    ``truncated`` is true when the answer was cut at the row cap; ``message`` is the one-line
    reason of an error (status 400, 406, 413, 500 or 503), None on success."""

    status: int
    media_type: str
    body: bytes
    truncated: bool = False
    message: str | None = None

    @classmethod
    def error(cls, status: int, message: str) -> QueryResult:
        return cls(status, _TEXT, (message + "\n").encode("utf-8"), False, message)


# --- inside a worker ------------------------------------------------------------------------


def _watch_parent(parent: int) -> None:
    """Exit when the serving process is gone (a worker is never left running alone)."""
    while True:
        time.sleep(1.0)
        if os.getppid() != parent:
            os._exit(0)


def _worker_main(conn: Any, parent: int, memory_limit: int) -> None:
    """A worker: start (imports, the SPARQL parser), receive the dataset, answer jobs."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the serving process stops its workers
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    try:
        import pyoxigraph as ox

        from kg.engine import vet_query

        vet_query("ASK {}", ())  # loads the SPARQL parser now, not at the first query
        if memory_limit:  # a query that needs more fails (the worker is then replaced)
            import resource

            resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))
        nquads, graph_names, context, prefixes = conn.recv()
        store = ox.Store()
        # parse keeps the blank-node labels (bulk_load would rename them): every worker and the
        # serving process's engine give a blank node the same label
        store.extend(ox.parse(nquads, format=ox.RdfFormat.N_QUADS))
        del nquads
        known = frozenset(graph_names)
        conn.send(("ready", os.getpid()))
        # from now on every failure is answered to the client; what the runtime itself prints
        # when an allocation fails past the memory limit would only clutter the server's log
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)
    except (EOFError, OSError):
        return
    except Exception as exc:  # reported to the serving process, which gives up starting
        conn.send(("failed", f"{type(exc).__name__}: {exc}"))
        return
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError, KeyboardInterrupt):
            return
        if job is None:
            return
        try:
            reply = execute(store, job, known, context, prefixes)
        except MemoryError:
            reply = QueryResult.error(503, _OUT_OF_MEMORY)
        except Exception as exc:  # never leave the serving process waiting
            reply = QueryResult.error(500, f"internal error: {type(exc).__name__}: {exc}")
        try:
            conn.send(reply)
        except (OSError, ValueError):
            return


def _first_line(exc: BaseException, limit: int = 300) -> str:
    text = (str(exc).splitlines() or [type(exc).__name__])[0]
    return text if len(text) <= limit else text[: limit - 1] + "…"


def execute(
    store: Any,
    job: dict[str, Any],
    known: Collection[str],
    context: dict[str, Any] | None,
    prefixes: dict[str, str],
) -> QueryResult:
    """Vet, evaluate and write one query's answer (in a worker; also usable in-process)."""
    import pyoxigraph as ox

    from kg.engine import names_a_dataset, vet_query
    from kg.errors import InputError
    from kg.serve import formats

    text: str = job["text"]
    try:
        vet_query(text, known)
    except InputError as exc:
        return QueryResult.error(400, str(exc))
    except RecursionError:
        return QueryResult.error(400, "the query nests its groups too deeply to be parsed")
    # the default graph is the union of every graph, unless the query names its own dataset
    # (FROM, FROM NAMED): Oxigraph's union flag would override that dataset
    kwargs: dict[str, Any] = {"use_default_graph_as_union": not names_a_dataset(text)}
    default_graphs = job.get("default_graphs")
    named_graphs = job.get("named_graphs")
    if default_graphs or named_graphs:  # the protocol's dataset replaces the query's
        kwargs = {
            "default_graph": [ox.NamedNode(g) for g in default_graphs or ()],
            "named_graphs": [ox.NamedNode(g) for g in named_graphs or ()],
        }
    bindings = job.get("bindings") or {}
    if bindings:  # values for variables, as Oxigraph substitutes them: never spliced into text
        from kg.engine import to_ox

        try:
            kwargs["substitutions"] = {ox.Variable(k): to_ox(v) for k, v in bindings.items()}
        except (InputError, ValueError) as exc:
            return QueryResult.error(400, f"bindings: {exc}")
    try:
        result = store.query(text, **kwargs)
    except SyntaxError as exc:
        return QueryResult.error(400, f"SPARQL syntax error: {_first_line(exc)}")
    except (RuntimeError, OSError, ValueError) as exc:
        return QueryResult.error(400, f"query failed: {_first_line(exc)}")
    kind = "graph" if isinstance(result, ox.QueryTriples) else "results"
    fmt = None
    for wanted in job.get("formats") or ():  # format= names a format the answer can take
        fmt = formats.format_override(wanted, kind)
        if fmt is not None:
            break
    if fmt is None:
        fmt = formats.negotiate(job.get("accept"), kind)
    if fmt is None:
        names = formats.RESULT_FORMATS if kind == "results" else formats.GRAPH_FORMATS
        form = "SELECT and ASK" if kind == "results" else "CONSTRUCT and DESCRIBE"
        return QueryResult.error(
            406,
            f"cannot answer {form} in any type the Accept header names "
            f"({job.get('accept')!r}); available: {', '.join(names.values())}",
        )
    max_rows: int = job.get("max_rows") or 0
    try:
        if isinstance(result, ox.QueryBoolean):
            body = formats.write_ask(fmt, bool(result))
            return QueryResult(200, formats.media_type(fmt), body)
        rows: list[Any] = []
        truncated = False
        if isinstance(result, ox.QuerySolutions):
            variables = [v.value for v in result.variables]
            idx = range(len(variables))
            for solution in result:
                if max_rows and len(rows) >= max_rows:
                    truncated = True
                    break
                rows.append([solution[i] for i in idx])
            body = formats.write_select(fmt, variables, rows, truncated=truncated)
            return QueryResult(200, formats.media_type(fmt), body, truncated)
        for triple in result:
            if max_rows and len(rows) >= max_rows:
                truncated = True
                break
            rows.append(triple)
        body = _write_graph(fmt, rows, context, prefixes)
        return QueryResult(200, formats.media_type(fmt), body, truncated)
    except (RuntimeError, OSError, ValueError) as exc:
        return QueryResult.error(400, f"query failed: {_first_line(exc)}")


def _write_graph(
    fmt: str, triples: list[Any], context: dict[str, Any] | None, prefixes: dict[str, str]
) -> bytes:
    import pyoxigraph as ox

    if fmt == "ntriples":
        return ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES)
    if fmt == "turtle":
        return ox.serialize(triples, format=ox.RdfFormat.TURTLE, prefixes=prefixes)
    from rdflib import Graph

    from kg.engine import from_ox
    from kg.export import serialize

    g = Graph()
    for t in triples:
        g.add((from_ox(t.subject), from_ox(t.predicate), from_ox(t.object)))  # type: ignore[arg-type]
    return serialize(g, "jsonld", context=context)


# --- in the serving process -----------------------------------------------------------------


class _Worker:
    def __init__(self, process: Any, conn: Any) -> None:
        self.process = process
        self.conn = conn

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(5)
        self.conn.close()


class WorkerPool:
    """A fixed number of query workers; a worker that overruns its deadline or dies is replaced.

    The workers start (and import what they need) at once; :meth:`start` hands them the
    dataset: (N-Quads of the dataset, graph names, JSON-LD context, prefixes)."""

    def __init__(self, size: int, *, memory_mb: int = 0, start_timeout: float = 120.0):
        self._ctx = mp.get_context("spawn")  # the serving process has threads: never fork it
        self._memory_limit = memory_mb * (1 << 20)
        self._start_timeout = start_timeout
        self._payload: tuple[Any, ...] | None = None
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._lock = threading.Lock()
        self._live: set[_Worker] = set()
        self._closed = False
        self.replaced = 0  # workers killed at a deadline or found dead, and started again
        self._starting = [self._spawn() for _ in range(size)]

    def start(self, payload: tuple[Any, ...]) -> None:
        """Give every worker the dataset and wait until each is ready to answer."""
        self._payload = payload
        try:
            for w in self._starting:
                self._load(w)
                self._idle.put(w)
        except BaseException:
            self.close()
            raise
        self._starting = []

    def _spawn(self) -> _Worker:
        parent_conn, child_conn = self._ctx.Pipe(duplex=True)
        process = self._ctx.Process(
            target=_worker_main,
            args=(child_conn, os.getpid(), self._memory_limit),
            name="kg-query-worker",
            daemon=True,
        )
        process.start()
        child_conn.close()
        w = _Worker(process, parent_conn)
        with self._lock:
            self._live.add(w)
        return w

    def _load(self, w: _Worker) -> None:
        try:
            w.conn.send(self._payload)
            ready = w.conn.poll(self._start_timeout)
            message = w.conn.recv() if ready else ("failed", "did not start in time")
        except (EOFError, OSError):
            message = ("failed", "exited while starting")
        if message[0] != "ready":
            self._retire(w)
            raise RuntimeError(f"a query worker failed to start: {message[1]}")

    def _retire(self, w: _Worker) -> None:
        with self._lock:
            self._live.discard(w)
        w.kill()

    def _replace(self) -> None:
        def start() -> None:
            if self._closed:
                return
            try:
                w = self._spawn()
                self._load(w)
            except Exception as exc:
                print(f"kg: serve: {exc}", file=sys.stderr, flush=True)
                return
            if self._closed:
                self._retire(w)
            else:
                self._idle.put(w)

        self.replaced += 1
        threading.Thread(target=start, name="kg-worker-replacement", daemon=True).start()

    @property
    def size(self) -> int:
        with self._lock:
            return len(self._live)

    def pids(self) -> list[int]:
        with self._lock:
            return sorted(w.process.pid for w in self._live)

    def run(
        self, job: dict[str, Any], deadline: float, *, wait: float | None = None
    ) -> QueryResult:
        """Run ``job`` on a free worker, waiting at most ``wait`` seconds (default: the
        deadline) for one; a job running past ``deadline`` seconds kills its worker."""
        if self._closed:
            return QueryResult.error(503, "the service is stopping")
        try:
            w = self._idle.get(timeout=deadline if wait is None else wait)
        except queue.Empty:
            return QueryResult.error(
                503, "every query worker is busy (or restarting); try again shortly"
            )
        try:
            w.conn.send(job)
            if w.conn.poll(deadline):
                reply = w.conn.recv()
                self._idle.put(w)
                return reply
        except (EOFError, OSError):
            w.process.join(1)
            code = w.process.exitcode
            self._retire(w)
            self._replace()
            if self._memory_limit and code == -signal.SIGABRT:  # an allocation failed
                return QueryResult.error(503, _OUT_OF_MEMORY)
            return QueryResult.error(500, "the query worker stopped unexpectedly; it is restarted")
        self._retire(w)
        self._replace()
        return QueryResult.error(
            503, f"query stopped: it ran past the {deadline:g} s deadline (--timeout)"
        )

    def close(self) -> None:
        """Stop every worker (idempotent)."""
        self._closed = True
        with self._lock:
            live = list(self._live)
            self._live.clear()
        for w in live:
            w.kill()
