"""``kg network``: the actor networks on the command line (metrics, camps, paths, export).

Only click is imported here; networkx, rdflib and the engine are imported inside the commands,
so ``kg --help`` stays fast.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from kg.errors import InputError

if TYPE_CHECKING:
    import networkx as nx

    from kg.network.extract import Evidence

_NETWORKS = ("attribution", "stance", "interaction")
_SORT_KEYS = ("pagerank", "betweenness", "degree", "in_degree", "out_degree", "reciprocity")
_HEADERS = {"in_degree": "in", "out_degree": "out"}
_SUFFIXES = {
    ".graphml": "graphml",
    ".gexf": "gexf",
    ".dot": "dot",
    ".gv": "dot",
    ".svg": "svg",
    ".png": "png",
}


def _network_option(default: str) -> Any:
    return click.option(
        "--network",
        "kind",
        type=click.Choice(_NETWORKS),
        default=default,
        show_default=True,
        help="attribution (directed: who attributes positions and actions to whom), stance "
        "(signed: who agrees with or opposes whom), interaction (who meets or addresses whom).",
    )


def _format_option(*choices: str) -> Any:
    """``--format`` with ``choices``, the first the default."""
    return click.option(
        "--format", "fmt", type=click.Choice(choices), default=choices[0], show_default=True
    )


def _load(ctx: click.Context, kind: str):  # type: ignore[no-untyped-def]
    from kg.cli import _project
    from kg.network import build, load_corpus

    corpus = load_corpus(_project(ctx))
    return corpus, build(corpus, kind)


@click.group()
def network() -> None:
    """The actor networks read from the graph: who attributes positions to whom (attribution),
    who agrees with or opposes whom (stance), who meets or addresses whom (interaction).

    Nodes are actors; every edge keeps the statements, positions and events behind it, with
    their quotes and offsets in the source texts.
    """


# ---------------------------------------------------------------------------
# metrics
# ---------------------------------------------------------------------------


def _round(value: Any, digits: int) -> Any:
    return round(value, digits) if isinstance(value, float) else value


@network.command()
@_network_option("attribution")
@click.option(
    "--top",
    "limit",
    type=click.IntRange(min=0),
    default=10,
    show_default=True,
    help="Show the first N actors (0: all).",
)
@click.option(
    "--sort",
    "sort_key",
    type=click.Choice(_SORT_KEYS),
    default="pagerank",
    show_default=True,
    help="The measure to rank by (highest first).",
)
@_format_option("table", "csv", "json")
@click.pass_context
def metrics(ctx: click.Context, kind: str, limit: int, sort_key: str, fmt: str) -> None:
    """Degree, betweenness, PageRank and (attribution network) reciprocity of each actor.

    The table starts with the network's size, density and, where directed, its reciprocity
    (the share of attributions returned); on the stance network, its agreeing, opposing and
    mixed edges.
    """
    from kg.network.analysis import measure, top

    _, graph = _load(ctx, kind)
    result = measure(graph)
    if sort_key not in result.measures:
        raise InputError(
            f"the {kind} network has no measure {sort_key!r}; "
            f"sort by one of {', '.join(m for m in _SORT_KEYS if m in result.measures)}"
        )
    rows = top(result, sort_key, limit or None)
    columns = ["actor", "label", *result.measures]
    if fmt == "json":
        doc: dict[str, Any] = {
            "network": kind,
            "directed": result.directed,
            "actors": result.nodes,
            "edges": result.edges,
            "density": round(result.density, 6),
        }
        if result.directed:
            doc["reciprocity"] = _round(result.reciprocity, 6)
        if result.signs:
            doc["signs"] = result.signs
        doc["sort"] = sort_key
        doc["rows"] = [{c: _round(r[c], 6) for c in columns} for r in rows]
        click.echo(json.dumps(doc, indent=2, ensure_ascii=False))
        return
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([[_round(r[c], 6) for c in columns] for r in rows])
        click.echo(buffer.getvalue(), nl=False)
        return
    summary = (
        f"{kind} network: {result.nodes} actors, {result.edges} edges, density {result.density:.3f}"
    )
    if result.directed:
        summary += f", reciprocity {result.reciprocity or 0:.3f}"
    if result.signs:
        summary += ", " + ", ".join(f"{n} {k}" for k, n in result.signs.items())
    click.echo(summary)
    headers = ["#", "actor", "CURIE", *(_HEADERS.get(m, m) for m in result.measures)]
    cells = [
        [
            str(i),
            r["label"],
            r["actor"],
            *(f"{r[m]:.4f}" if isinstance(r[m], float) else str(r[m]) for m in result.measures),
        ]
        for i, r in enumerate(rows, 1)
    ]
    click.echo(_table(headers, cells, numeric_from=3))
    if limit and result.nodes > limit:
        click.echo(f"(top {limit} of {result.nodes} by {sort_key}; --top 0 lists all)")


def _table(headers: list[str], cells: list[list[str]], *, numeric_from: int) -> str:
    def clip(text: str, width: int = 48) -> str:
        return text if len(text) <= width else text[: width - 1] + "…"

    cells = [[clip(c) for c in row] for row in cells]
    widths = [max(len(r[i]) for r in [headers, *cells]) for i in range(len(headers))]

    def line(row: list[str]) -> str:
        return "  ".join(
            c.rjust(w) if i >= numeric_from or i == 0 else c.ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()

    out = [line(headers), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in cells]
    return "\n".join(out)


# ---------------------------------------------------------------------------
# camps
# ---------------------------------------------------------------------------


def _sign(sign: int) -> str:
    return {1: "+", -1: "−", 0: "0"}[sign]


@network.command()
@_format_option("text", "json")
@click.pass_context
def camps(ctx: click.Context, fmt: str) -> None:
    """Camps of the stance network and its structural balance.

    Camps are Louvain communities of the agreeing edges (fixed seed: the same data give the same
    camps). Balance lists every triangle of actors pairwise joined by agreeing (+) or opposing
    (−) edges: balanced when the product of its signs is positive. Mixed edges (as much
    agreement as opposition) are left out of both.
    """
    from kg.network.analysis import SEED, balance
    from kg.network.analysis import camps as find_camps

    _, graph = _load(ctx, "stance")
    reading = find_camps(graph)
    judged = balance(graph)

    def label(node: str) -> str:
        return str(graph.nodes[node].get("label", node))

    if fmt == "json":
        doc = {
            "network": "stance",
            "seed": SEED,
            "camps": [[{"actor": n, "label": label(n)} for n in camp] for camp in reading.camps],
            "edges": {
                "agree_inside": reading.positive_inside,
                "agree_between": reading.positive_between,
                "oppose_inside": reading.negative_inside,
                "oppose_between": reading.negative_between,
                "mixed": reading.mixed,
            },
            "triangles": [
                {
                    "actors": list(t.nodes),
                    "balanced": t.balanced,
                    "edges": [
                        {
                            "actors": [u, v],
                            "sign": s,
                            "relation": graph[u][v].get("relation", ""),
                        }
                        for u, v, s in t.edges
                    ],
                }
                for t in judged.triangles
            ],
            "balanced": judged.balanced,
            "unbalanced": judged.unbalanced,
            "unjudged": judged.unjudged,
        }
        click.echo(json.dumps(doc, indent=2, ensure_ascii=False))
        return
    n = len(reading.camps)
    click.echo(
        f"Camps of the stance network (Louvain communities of agreeing edges, seed {SEED}): "
        f"{n} camp{'s' if n != 1 else ''}"
    )
    for i, camp in enumerate(reading.camps, 1):
        click.echo(f"  camp {i} ({len(camp)}): " + "; ".join(label(m) for m in camp))
    click.echo(
        f"Agreeing edges: {reading.positive_inside} inside camps, {reading.positive_between} "
        f"between; opposing edges: {reading.negative_inside} inside camps, "
        f"{reading.negative_between} between; mixed edges (left out): {reading.mixed}"
    )
    t = len(judged.triangles)
    click.echo(
        f"Structural balance: {t} triangle{'s' if t != 1 else ''} of signed edges, "
        f"{judged.balanced} balanced, {judged.unbalanced} unbalanced"
        + (f" ({judged.unjudged} more have a mixed edge)" if judged.unjudged else "")
    )
    for tri in sorted(judged.triangles, key=lambda t: t.balanced):
        parts = [f"[{_sign(s)}] {label(u)} – {label(v)}" for u, v, s in tri.edges]
        click.echo(f"  {'balanced  ' if tri.balanced else 'unbalanced'}  " + "  ".join(parts))


# ---------------------------------------------------------------------------
# path
# ---------------------------------------------------------------------------


def _evidence_json(item: Evidence) -> dict[str, Any]:
    return {
        "kind": item.kind,
        "node": item.node,
        "label": item.label,
        "detail": item.detail,
        "spans": [
            {"file": s.file, "start": s.start, "end": s.end, "quote": s.quote} for s in item.spans
        ],
    }


def _edge_summary(graph: nx.Graph, data: dict[str, Any]) -> str:
    kind = graph.graph.get("network")
    if kind == "stance":
        targets = "; ".join(data.get("target_labels", []))
        return f"{data['relation']} ({data['agree']} agree, {data['oppose']} oppose)" + (
            f" on {targets}" if targets else ""
        )
    return str(data.get("label", ""))


@network.command()
@click.argument("source_actor", metavar="A")
@click.argument("target_actor", metavar="B")
@_network_option("interaction")
@click.option(
    "--undirected",
    is_flag=True,
    help="In the attribution network, follow attributions either way.",
)
@_format_option("text", "json")
@click.pass_context
def path(
    ctx: click.Context,
    source_actor: str,
    target_actor: str,
    kind: str,
    undirected: bool,
    fmt: str,
) -> None:
    """The shortest path from actor A to actor B, with the evidence along each edge.

    Name an actor by CURIE (actor:vladimir-putin), IRI, or label or alternative label
    (case-insensitive). Each edge lists its statements, positions or events with their quotes,
    source files and offsets. Exit 0 a path, 1 no path (or an actor takes no part in the
    network), 2 an unknown actor.
    """
    from kg.network import resolve_actor
    from kg.network.analysis import shortest_path

    corpus, graph = _load(ctx, kind)
    a = resolve_actor(corpus, source_actor)
    b = resolve_actor(corpus, target_actor)

    def label(node: str) -> str:
        return f"{corpus.label(node)} ({node})"

    absent = [n for n in (a, b) if n not in graph]
    if absent:
        for node in absent:
            click.echo(f"kg: no path: {label(node)} takes no part in the {kind} network", err=True)
        sys.exit(1)
    steps = shortest_path(graph, a, b, undirected=undirected)
    if steps is None:
        how = " following the direction of attribution" if graph.is_directed() else ""
        hint = " (try --undirected)" if graph.is_directed() and not undirected else ""
        click.echo(
            f"kg: no path from {label(a)} to {label(b)} in the {kind} network{how}{hint}",
            err=True,
        )
        sys.exit(1)
    arrow = "→" if graph.is_directed() else "–"
    if fmt == "json":
        doc = {
            "network": kind,
            "from": {"actor": a, "label": corpus.label(a)},
            "to": {"actor": b, "label": corpus.label(b)},
            "length": len(steps),
            "steps": [
                {
                    "from": step.source,
                    "to": step.target,
                    "edges": [
                        {
                            "tail": u,
                            "head": v,
                            "summary": _edge_summary(graph, data),
                            "weight": data.get("weight", 1),
                            **({"sign": data["sign"]} if "sign" in data else {}),
                            **({"ties": data["ties"]} if "ties" in data else {}),
                            "evidence": [_evidence_json(e) for e in data.get("evidence", ())],
                        }
                        for u, v, data in step.edges
                    ],
                }
                for step in steps
            ],
        }
        click.echo(json.dumps(doc, indent=2, ensure_ascii=False))
        return
    n = len(steps)
    click.echo(f"{label(a)} to {label(b)} in the {kind} network: {n} step{'s' if n != 1 else ''}")
    for i, step in enumerate(steps, 1):
        for u, v, data in step.edges:
            click.echo(
                f"{i}. {corpus.label(u)} {arrow} {corpus.label(v)}: {_edge_summary(graph, data)}"
            )
            for tie in data.get("ties", ()):
                click.echo(f"   {tie}")
            for item in data.get("evidence", ()):
                detail = f" ({item.detail})" if item.detail else ""
                click.echo(f"   {item.kind} {item.node}: {item.label}{detail}")
                for span in item.spans:
                    click.echo(f"     {span.file} {span.start}-{span.end}: “{span.quote}”")


# ---------------------------------------------------------------------------
# export
# ---------------------------------------------------------------------------


@network.command()
@_network_option("attribution")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["graphml", "gexf", "dot", "svg", "png"]),
    default=None,
    help="File format (default: from the file's suffix).",
)
@click.option(
    "--metric",
    type=click.Choice(["degree", "in_degree", "out_degree", "betweenness", "pagerank"]),
    default="degree",
    show_default=True,
    help="The measure that sizes and colours the nodes of a picture (dot, svg, png).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="The file to write (atomically).",
)
@click.pass_context
def export(ctx: click.Context, kind: str, fmt: str | None, metric: str, output: Path) -> None:
    """Write a network as GraphML or GEXF (every attribute a plain string, number or boolean;
    each actor with its measures), as Graphviz DOT, or drawn as SVG or PNG (needs Graphviz).
    """
    from kg.export import write_atomic
    from kg.network.render import render

    if fmt is None:
        fmt = _SUFFIXES.get(output.suffix.lower())
        if fmt is None:
            raise click.UsageError(
                f"cannot tell the format from {output.name!r}; give --format "
                "graphml, gexf, dot, svg or png"
            )
    _, graph = _load(ctx, kind)
    payload = render(graph, fmt, metric)
    try:
        write_atomic(output, payload)
    except OSError as exc:
        raise InputError(f"cannot write: {exc.strerror or exc}", path=str(output)) from None
    click.echo(
        f"wrote {output} ({kind} network, {graph.number_of_nodes()} actors, "
        f"{graph.number_of_edges()} edges)",
        err=True,
    )
