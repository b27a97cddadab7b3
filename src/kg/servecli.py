"""``kg serve``: the SPARQL 1.1 Protocol endpoint on the command line.

Only click is imported here; the engine, Flask and waitress are imported inside the command, so
``kg --help`` stays fast.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from kg.errors import EXIT_INTERRUPTED, InputError

_LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address) only accepts connections from this machine."""
    import ipaddress

    name = host.strip("[]").lower()
    if name in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _listening(server: Any) -> list[tuple[str, int]]:
    """The addresses and ports a waitress server listens on (several when a name resolves to
    several addresses)."""
    if hasattr(server, "effective_listen"):
        return [(str(h), int(p)) for h, p in server.effective_listen]
    return [(str(server.effective_host), int(server.effective_port))]


class _Stop(Exception):
    """SIGTERM: stop serving and exit 0."""


@click.command()
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on; anything but a loopback address makes the service reachable "
    "from other machines (a warning is printed).",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=3030,
    show_default=True,
    help="Port to listen on; 0 picks a free one (the URL printed says which).",
)
@click.option(
    "--timeout",
    type=float,
    default=5.0,
    show_default=True,
    help="Seconds a query may run; past it the query is stopped and the client gets 503.",
)
@click.option(
    "--max-rows",
    type=click.IntRange(0),
    default=10000,
    show_default=True,
    help="The most rows (or triples) an answer holds; a cut answer says so (0: no cap).",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=2,
    show_default=True,
    help="Query worker processes (queries that run at the same time).",
)
@click.option(
    "--max-memory",
    type=click.IntRange(0),
    default=1024,
    show_default=True,
    metavar="MIB",
    help="Memory a query worker may use, in MiB; a query that needs more is stopped (0: no limit).",
)
@click.option(
    "--threads",
    type=click.IntRange(1, 256),
    default=8,
    show_default=True,
    help="HTTP threads.",
)
@click.option("--cors", is_flag=True, help="Allow requests from web pages of any origin (CORS).")
@click.pass_context
def serve(
    ctx: click.Context,
    host: str,
    port: int,
    timeout: float,
    max_rows: int,
    workers: int,
    max_memory: int,
    threads: int,
    cors: bool,
) -> None:
    """Serve the built dataset as a read-only SPARQL 1.1 endpoint at /sparql.

    Queries by GET or POST; answers in SPARQL JSON, XML, CSV or TSV (SELECT, ASK) and Turtle,
    N-Triples or JSON-LD (CONSTRUCT, DESCRIBE), as the Accept header asks. Updates, SERVICE,
    LOAD and FROM of graphs the dataset does not hold are refused; each query runs in a worker
    process that is stopped at the deadline. GET /sparql without a query describes the service.

    Exit 0 stopped by SIGTERM, 2 usage or input error (or the port is taken), 130 Ctrl-C.
    """
    import math
    import signal

    from kg.cli import _project

    if not (math.isfinite(timeout) and timeout > 0):
        raise click.BadParameter("must be a number of seconds above 0", param_hint="--timeout")
    project = _project(ctx)
    if not is_loopback(host):
        click.echo(
            f"kg: warning: --host {host} makes the service reachable from other machines; it "
            "is read-only, but anyone who can reach it can run queries",
            err=True,
        )

    from waitress.server import create_server

    from kg.serve.app import create_app
    from kg.serve.state import ServeState

    app: list[Any] = []  # the application, once the dataset is loaded

    def wsgi(environ: dict[str, Any], start_response: Any) -> Any:
        return app[0](environ, start_response)

    try:  # listen first: a port in use fails at once, before seconds of loading
        server = create_server(wsgi, host=host, port=port, threads=threads, ident="kg")
    except OSError as exc:
        raise InputError(f"cannot listen on {host} port {port}: {exc.strerror or exc}") from None
    try:
        state = ServeState.from_project(
            project, deadline=timeout, max_rows=max_rows, workers=workers, memory_mb=max_memory
        )
    except BaseException:
        server.close()
        raise
    try:
        app.append(create_app(state, cors=cors))

        def _terminate(signum: int, frame: object) -> None:
            raise _Stop

        signal.signal(signal.SIGTERM, _terminate)
        for listen_host, listen_port in _listening(server):
            shown = f"[{listen_host}]" if ":" in listen_host else listen_host
            click.echo(f"kg: SPARQL endpoint at http://{shown}:{listen_port}/sparql (Ctrl-C stops)")
        sys.stdout.flush()
        interrupted = True
        try:
            server.run()  # returns (rather than raises) when Ctrl-C stops it
        except KeyboardInterrupt:
            pass
        except _Stop:
            interrupted = False
        server.close()
        click.echo("kg: stopped", err=True)
        if interrupted:
            sys.exit(EXIT_INTERRUPTED)
    finally:
        state.close()
