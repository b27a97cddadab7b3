"""``kg push``: the built dataset into an external store (SPARQL 1.1 Graph Store Protocol).

Only click is imported here; rdflib, the pipeline and the HTTP client are imported inside the
command, so ``kg --help`` stays fast.
"""

from __future__ import annotations

import sys
from typing import Any

import click


def store_timeout_option(help_text: str) -> Any:
    """``--timeout SECONDS`` (default 60) for the requests made to an external store."""
    return click.option(
        "--timeout",
        type=click.FloatRange(min=0, min_open=True),
        default=60.0,
        show_default=True,
        metavar="SECONDS",
        help=help_text,
    )


@click.command()
@click.option(
    "--endpoint",
    required=True,
    metavar="URL",
    help="The store's SPARQL query endpoint (Oxigraph: http://HOST:7878/query; Fuseki: "
    "http://HOST:3030/DATASET/query; GraphDB: http://HOST:7200/repositories/REPO), asked "
    "before and after the push.",
)
@click.option(
    "--graph-store",
    metavar="URL",
    default=None,
    help="The store's Graph Store Protocol URL. Default: derived from --endpoint for Oxigraph "
    "(…/query → …/store), Fuseki (…/DATASET/query → …/DATASET/data) and GraphDB "
    "(…/repositories/REPO → …/rdf-graphs/service); needed for any other layout (Virtuoso: "
    "http://HOST:8890/sparql-graph-crud).",
)
@click.option(
    "--inferred/--no-inferred",
    default=True,
    show_default=True,
    help="Push the inferences as graph:inferred (the canned queries need them).",
)
@click.option(
    "--replace",
    is_flag=True,
    help="Also delete the store's graphs under https://w3id.org/dip/graph/ that this build "
    "does not hold (a removed source; graph:inferred with --no-inferred). Without it each "
    "pushed graph is replaced and every other graph is left as it was.",
)
@store_timeout_option("How long each request may wait for the store.")
@click.pass_context
def push(
    ctx: click.Context,
    endpoint: str,
    graph_store: str | None,
    inferred: bool,
    replace: bool,
    timeout: float,
) -> None:
    """Load the dataset into an external store: one HTTP PUT per named graph (each source, the
    ontology, the inferences), which replaces that graph there.

    Data goes to the URLs given and nowhere else (no proxies, no redirects followed); the
    endpoint is asked before the push whether it answers, and after it how many triples each
    graph holds (a count that differs from what was sent is an error). The store's default
    graph must be the union of its named graphs for the canned queries (`oxigraph serve
    --union-default-graph`; Fuseki: tdb2:unionDefaultGraph); kg push warns when it is not.

    Exit 0 pushed and checked; 2 an input error, an unreachable store, a timeout or an HTTP
    error (one line naming the URL and the status).
    """
    import time

    from kg.cli import _load_built, _project
    from kg.errors import EXIT_INTERRUPTED, InputError
    from kg.push import push as run_push
    from kg.push import short_graph
    from kg.remote import Endpoint, check_url, derive_graph_store

    check_url(endpoint, "--endpoint")
    if graph_store is None:
        graph_store = derive_graph_store(endpoint)
        if graph_store is None:
            raise InputError(
                f"--graph-store is needed: the Graph Store Protocol URL cannot be told from "
                f"--endpoint {endpoint} (Oxigraph: …/store; Fuseki: …/DATASET/data; Virtuoso: "
                "…/sparql-graph-crud)"
            )
    check_url(graph_store, "--graph-store")
    project = _project(ctx)
    remote = Endpoint(endpoint, timeout=timeout)
    remote.ask("ASK {}")  # the store answers, before seconds go into loading and reasoning
    t0 = time.perf_counter()
    built = _load_built(project)
    loading = time.perf_counter() - t0
    click.echo(f"pushing to {graph_store} (graph store), {endpoint} (SPARQL endpoint)")

    def shown(done):  # type: ignore[no-untyped-def]
        click.echo(f"  {short_graph(done.iri):<16} {done.triples:>7} triples  {done.seconds:.2f}s")

    try:
        result = run_push(
            built,
            store=graph_store,
            endpoint=remote,
            inferred=inferred,
            replace=replace,
            on_graph=shown,
        )
    except KeyboardInterrupt:
        click.echo(
            "kg: interrupted: the graphs listed above were replaced in the store, the others "
            "were not; push again",
            err=True,
        )
        sys.exit(EXIT_INTERRUPTED)
    for iri in result.deleted:
        click.echo(f"  {short_graph(iri):<16} deleted (not pushed)")
    for iri in result.kept:
        click.echo(f"  {short_graph(iri):<16} kept (not pushed; --replace deletes it)")
    n = len(result.pushed)
    click.echo(
        f"pushed {n} graph{'' if n == 1 else 's'}, {result.triples} triples in "
        f"{result.seconds:.2f}s (loading and reasoning {loading:.2f}s); the store's counts match"
    )
    if result.warning:
        click.echo(f"kg: warning: {result.warning}", err=True)
