"""The actor networks as files: GraphML, GEXF, Graphviz DOT, and pictures (SVG, PNG).

GraphML and GEXF are written by networkx from a copy of the network whose attributes are all
plain (str, int, float, bool): lists are joined with "; ", the evidence becomes the CURIEs and
spans behind an edge (``evidence``) and their quotes (``quotes``), and each actor carries its
measures. The DOT source is made by pydot (through ``networkx.drawing.nx_pydot``); Graphviz lays
it out (``neato``, with a fixed start) and draws it. Same data, same bytes: nodes and edges are
added in sorted order and nothing depends on the clock.
"""

from __future__ import annotations

import io
import textwrap
from typing import Any

import networkx as nx

from kg.errors import InputError
from kg.network.analysis import SEED, measure

#: The file formats of ``kg network export``.
FORMATS = ("graphml", "gexf", "dot", "svg", "png")
PICTURES = ("svg", "png")

#: The measures a picture can size and colour its nodes by.
PICTURE_METRICS = ("degree", "in_degree", "out_degree", "betweenness", "pagerank")

#: Decimal places of the measures written into GraphML and GEXF.
DIGITS = 6

_FONT = "DejaVu Sans"
#: Graphviz's Brewer scheme for node fills (1 lightest ... 9 darkest).
_SCHEME = "blues9"
_SIGN_STYLE = {
    1: {"color": "#1a9850", "style": "solid"},
    -1: {"color": "#d73027", "style": "dashed"},
    0: {"color": "#888888", "style": "dotted"},
}
_LEGEND = {
    "attribution": "Arrow: the speaker attributes a position or an action to the actor it "
    "points at; width: number of statements.",
    "stance": "Green: agree (or mostly); red dashed: oppose (or mostly); grey dotted: as much "
    "agreement as opposition; width: pieces of evidence.",
    "interaction": "Line: the two actors take part in the same event or one addresses the "
    "other; width: events and statements.",
}


# ---------------------------------------------------------------------------
# Plain attributes: GraphML and GEXF
# ---------------------------------------------------------------------------


def plain_value(value: Any) -> str | int | float | bool:
    """``value`` as a type GraphML and GEXF hold: lists and sets joined with "; ", ``None`` as
    the empty string, anything else not str, int, float or bool as its string."""
    if isinstance(value, bool | int | float | str):
        return value
    if value is None:
        return ""
    if isinstance(value, list | tuple | set | frozenset):
        items = [str(plain_value(v)) for v in value]
        return "; ".join(sorted(items) if isinstance(value, set | frozenset) else items)
    return str(value)


def _evidence_attributes(evidence: tuple) -> dict[str, str]:  # type: ignore[type-arg]
    spans = [f"{e.node} {s.file}:{s.start}-{s.end}" for e in evidence for s in e.spans]
    quotes = list(dict.fromkeys(s.quote for e in evidence for s in e.spans))
    return {"evidence": "; ".join(spans), "quotes": " | ".join(quotes)}


def plain(graph: nx.Graph) -> nx.Graph:
    """A copy of ``graph`` with plain attributes only and each actor's measures."""
    out = graph.__class__()
    out.graph.update({k: plain_value(v) for k, v in graph.graph.items()})
    metrics = measure(graph)
    rows = {row["actor"]: row for row in metrics.rows}
    for node, data in graph.nodes(data=True):
        attrs = {k: plain_value(v) for k, v in data.items()}
        for key in metrics.measures:
            value = rows[node][key]
            attrs[key] = round(value, DIGITS) if isinstance(value, float) else value
        out.add_node(node, **attrs)
    for u, v, data in graph.edges(data=True):
        attrs = {k: plain_value(val) for k, val in data.items() if k != "evidence"}
        attrs.update(_evidence_attributes(data.get("evidence", ())))
        out.add_edge(u, v, **attrs)
    return out


def graphml(graph: nx.Graph) -> bytes:
    """The network as GraphML (networkx's writer)."""
    buffer = io.BytesIO()
    nx.write_graphml(plain(graph), buffer, encoding="utf-8")
    return buffer.getvalue()


def gexf(graph: nx.Graph) -> bytes:
    """The network as GEXF 1.2 (networkx's writer, without its last-modified date, so that the
    same data give the same bytes)."""
    from networkx.readwrite.gexf import GEXFWriter

    writer = GEXFWriter(encoding="utf-8", prettyprint=True, version="1.2draft")
    writer.add_graph(plain(graph))
    meta = writer.xml.find("meta")
    if meta is not None:
        meta.attrib.pop("lastmodifieddate", None)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


# ---------------------------------------------------------------------------
# DOT and pictures
# ---------------------------------------------------------------------------


def _escaped(text: str) -> str:
    """``text`` for a DOT string: pydot escapes quotes and line breaks, not backslashes, which
    Graphviz would read as escapes (``\\l``, ``\\N``)."""
    return text.replace("\\", "\\\\")


def _wrap(text: str, width: int = 24) -> str:
    return "\n".join(textwrap.wrap(_escaped(text), width)) or _escaped(text)


def _number(value: float) -> str:
    return str(value) if isinstance(value, int) else f"{value:.3f}"


def dot(graph: nx.Graph, metric: str = "degree") -> str:
    """Graphviz source of the network: nodes sized and coloured by ``metric`` (one of
    :data:`PICTURE_METRICS`), edges by evidence count (and, on the stance network, by sign)."""
    try:
        from networkx.drawing.nx_pydot import to_pydot
    except ImportError:  # pragma: no cover - networkx always has the module
        raise InputError("networkx cannot write DOT here") from None
    try:
        import pydot  # noqa: F401
    except ImportError:
        raise InputError(
            "pydot is not installed; it writes the DOT source (pip install pydot)"
        ) from None
    metrics = measure(graph)
    if metric not in metrics.measures or metric not in PICTURE_METRICS:
        allowed = ", ".join(m for m in PICTURE_METRICS if m in metrics.measures)
        raise InputError(
            f"the {metrics.network} network has no measure {metric!r} to draw; "
            f"choose one of {allowed}"
        )
    values = {row["actor"]: row[metric] for row in metrics.rows}
    high = max(values.values(), default=0) or 1
    kind = metrics.network
    name = metric.replace("_", "-")
    display: nx.Graph = nx.DiGraph() if graph.is_directed() else nx.Graph()
    display.graph["graph"] = {
        "layout": "neato",
        "start": str(SEED),
        "overlap": "false",
        "sep": '"+6"',
        "splines": "true",
        "outputorder": "edgesfirst",
        "pad": "0.3",
        "fontname": f'"{_FONT}"',
        "fontsize": "14",
        "labelloc": "t",
        "label": f"{kind.capitalize()} network of actors. {_LEGEND.get(kind, '')} "
        f"Node colour and size: {name}; dashed box: an unnamed source.",
    }
    display.graph["node"] = {
        "shape": "box",
        "style": '"rounded,filled"',
        "colorscheme": _SCHEME,
        "color": "9",
        "fontname": f'"{_FONT}"',
        "margin": '"0.08,0.04"',
    }
    display.graph["edge"] = {"fontname": f'"{_FONT}"', "fontsize": "9", "color": '"#777777"'}
    ids = {node: f'"{node}"' for node in graph.nodes}
    for node, data in graph.nodes(data=True):
        ratio = values[node] / high
        shade = 1 + round(ratio * 8)
        display.add_node(
            ids[node],
            label=_wrap(str(data.get("label", node))),
            fillcolor=str(shade),
            fontcolor="white" if shade >= 6 else "black",
            fontsize=f"{10 + 10 * ratio:.1f}",
            tooltip=_escaped(f"{data.get('label', node)} ({node}), {name} {_number(values[node])}"),
            **({"style": '"rounded,filled,dashed"'} if data.get("type") == "UnnamedSource" else {}),
        )
    for u, v, data in graph.edges(data=True):
        weight = int(data.get("weight", 1))
        attrs = {
            "penwidth": f"{min(1 + 0.6 * (weight - 1), 6):.1f}",
            "tooltip": _escaped(
                f"{graph.nodes[u].get('label', u)} – {graph.nodes[v].get('label', v)}: "
                f"{data.get('label', '')}"
            ),
        }
        if "sign" in data:
            attrs.update(_SIGN_STYLE[int(data["sign"])])
        if graph.is_directed():
            attrs["arrowsize"] = "0.7"
        display.add_edge(ids[u], ids[v], **attrs)
    source = to_pydot(display).to_string()
    return f"// {kind} network, drawn by `kg network export --metric {metric}`.\n{source}"


def picture(graph: nx.Graph, fmt: str, metric: str = "degree") -> bytes:
    """The network drawn by Graphviz as ``svg`` or ``png``."""
    from kg.docs import dot_program, render_dot

    if fmt not in PICTURES:
        raise InputError(f"unknown picture format {fmt!r}; choose one of {', '.join(PICTURES)}")
    source = dot(graph, metric)
    program = dot_program()
    if program is None:
        raise InputError(
            "Graphviz `dot` not found; it draws the network (Debian: apt-get install graphviz)"
        )
    return render_dot(program, source, fmt)


def render(graph: nx.Graph, fmt: str, metric: str = "degree") -> bytes:
    """The network in ``fmt`` (one of :data:`FORMATS`)."""
    if fmt == "graphml":
        return graphml(graph)
    if fmt == "gexf":
        return gexf(graph)
    if fmt == "dot":
        return dot(graph, metric).encode("utf-8")
    if fmt in PICTURES:
        return picture(graph, fmt, metric)
    raise InputError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
