"""The browser: HTML pages over the built graph, for people who do not write SPARQL.

Every page is a few fixed SPARQL queries on the service's in-process engine (the node a page
shows is passed as a binding, never written into the query text) and a Jinja2 template
(autoescaped). Pages live at stable addresses derived from the node IRIs: the node
``https://w3id.org/dip/id/actor/vladimir-putin`` is ``/actor/vladimir-putin``, a concept of the
vocabulary ``https://w3id.org/dip/vocab/Territory`` is ``/concept/Territory``, and any other IRI
is ``/node?iri=…``. The query page runs the canned queries (or an edited text) through the
service's guarded runner, so its deadline, row cap and refusals apply.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from rdflib import BNode, Literal, URIRef
from rdflib.term import Node

from kg.errors import InputError
from kg.namespaces import BASE, DIP, DV, ID, PREFIXES, sparql_prefixes
from kg.query import CannedQuery, bind_params, list_queries, short_name
from kg.spans import read_text_cached

bp = Blueprint(
    "browser",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/assets",
)

#: the kinds of node with a page of their own: /<kind>/<local name>
NODE_KINDS = ("actor", "statement", "position", "proposal", "point", "event", "place", "source")

_PREFIX = sparql_prefixes("dip", "oa", "rdfs", "skos")

_RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
_RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
_SKOS_PREF = "http://www.w3.org/2004/02/skos/core#prefLabel"
_SKOS_ALT = "http://www.w3.org/2004/02/skos/core#altLabel"
_SKOS_DEF = "http://www.w3.org/2004/02/skos/core#definition"
_RDFS_COMMENT = "http://www.w3.org/2000/01/rdf-schema#comment"

#: the classes a node is shown as, most specific first
_CLASS_ORDER = (
    "Attribution",
    "Statement",
    "Demand",
    "Position",
    "ProposalPoint",
    "Proposal",
    "Event",
    "Place",
    "SourceDocument",
    "Person",
    "Delegation",
    "NewsOutlet",
    "UnnamedSource",
    "State",
    "Organization",
    "Group",
    "Actor",
)
_CLASS_NAMES = {
    "UnnamedSource": "unnamed source",
    "NewsOutlet": "news outlet",
    "SourceDocument": "source document",
    "ProposalPoint": "proposal point",
}

# ---------------------------------------------------------------------------
# The queries (the node of a page is always the binding ?node)
# ---------------------------------------------------------------------------

Q_INDEX_LABELS = (
    _PREFIX
    + """SELECT ?n ?label ?alt WHERE {
  { ?n rdfs:label ?label } UNION { ?n skos:prefLabel ?label } UNION { ?n skos:altLabel ?alt }
  FILTER (isIRI(?n))
}"""
)

Q_INDEX_TYPES = (
    _PREFIX
    + """SELECT ?n ?c WHERE {
  ?n a ?c .
  FILTER (isIRI(?n) && STRSTARTS(STR(?n), "https://w3id.org/dip/id/")
          && STRSTARTS(STR(?c), "https://w3id.org/dip/ontology#"))
}"""
)

Q_INDEX_COUNTS = (
    _PREFIX
    + """SELECT ?n (COUNT(DISTINCT ?s) AS ?said) (COUNT(DISTINCT ?doc) AS ?sources) WHERE {
  ?n a dip:Actor .
  OPTIONAL { ?s dip:speaker ?n }
  OPTIONAL { ?n dip:denotedBy/dip:inSource ?doc }
  FILTER (isIRI(?n))
} GROUP BY ?n"""
)

Q_SOURCES = (
    _PREFIX
    + """SELECT ?doc ?headline ?outlet ?from ?to ?prec ?file WHERE {
  ?doc a dip:SourceDocument .
  OPTIONAL { ?doc dip:headline ?headline }
  OPTIONAL { ?doc dip:outlet ?outlet }
  OPTIONAL { ?doc dip:textFile ?file }
  OPTIONAL {
    ?doc dip:published ?t .
    OPTIONAL { ?t dip:earliest ?from } OPTIONAL { ?t dip:latest ?to }
    OPTIONAL { ?t dip:precision ?prec }
  }
} ORDER BY ?doc"""
)

Q_OUT = _PREFIX + "SELECT ?node ?p ?o WHERE { ?node ?p ?o }"

Q_IN = _PREFIX + "SELECT DISTINCT ?node ?s ?p WHERE { ?s ?p ?node . FILTER (isIRI(?s)) }"

Q_EXISTS = "ASK { { ?node ?p ?o } UNION { ?s ?p ?node } }"

Q_TIME = (
    _PREFIX
    + """SELECT ?node ?rel ?from ?to ?prec ?text ?basis WHERE {
  VALUES ?rel { dip:saidAt dip:happenedAt dip:published }
  ?node ?rel ?t .
  OPTIONAL { ?t dip:earliest ?from }
  OPTIONAL { ?t dip:latest ?to }
  OPTIONAL { ?t dip:precision ?prec }
  OPTIONAL { ?t dip:timeText ?text }
  OPTIONAL { ?t dip:timeBasis ?basis }
} ORDER BY ?rel ?from ?to"""
)

Q_MENTIONS = (
    _PREFIX
    + """SELECT DISTINCT ?node ?doc ?file ?start ?end ?exact WHERE {
  ?node dip:denotedBy ?m .
  ?m dip:inSource ?doc ; oa:start ?start ; oa:end ?end ; oa:exact ?exact .
  OPTIONAL { ?doc dip:textFile ?file }
} ORDER BY ?doc ?start ?end"""
)

#: statements that point at the node, by any property (target, disputes, expresses …)
Q_SAID_ABOUT = (
    _PREFIX
    + """SELECT ?node ?st ?rel ?speaker ?act ?from ?to ?prec WHERE {
  ?st a dip:Statement ; ?rel ?node ; dip:speaker ?speaker ; dip:actType ?act .
  FILTER (?rel != dip:speaker && ?rel != dip:addressee)
  OPTIONAL {
    ?st dip:saidAt ?t .
    OPTIONAL { ?t dip:earliest ?from } OPTIONAL { ?t dip:latest ?to }
    OPTIONAL { ?t dip:precision ?prec }
  }
}"""
)

Q_ACTOR_ROLES = (
    _PREFIX
    + """SELECT DISTINCT ?node ?title ?type ?in WHERE {
  ?node dip:holdsRole ?r .
  ?r dip:roleTitle ?title .
  OPTIONAL { ?r dip:roleType ?type }
  OPTIONAL { ?r dip:roleIn ?in }
} ORDER BY ?title"""
)

Q_ACTOR_TIES = (
    _PREFIX
    + """SELECT DISTINCT ?node ?dir ?rel ?other WHERE {
  VALUES ?rel { dip:memberOf dip:actsOnBehalfOf dip:affiliatedWith dip:basedIn }
  { ?node ?rel ?other . BIND ("out" AS ?dir) } UNION { ?other ?rel ?node . BIND ("in" AS ?dir) }
  FILTER (isIRI(?other))
}"""
)

Q_ACTOR_STATEMENTS = (
    _PREFIX
    + """SELECT ?node ?st ?act ?from ?to ?prec ?doc ?start ?end ?exact WHERE {
  ?st a dip:Statement ; dip:speaker ?node ; dip:actType ?act .
  OPTIONAL {
    ?st dip:saidAt ?t .
    OPTIONAL { ?t dip:earliest ?from } OPTIONAL { ?t dip:latest ?to }
    OPTIONAL { ?t dip:precision ?prec }
  }
  OPTIONAL {
    ?st dip:denotedBy ?m .
    ?m dip:inSource ?doc ; oa:start ?start ; oa:end ?end ; oa:exact ?exact .
  }
}"""
)

Q_ACTOR_POSITIONS = (
    _PREFIX
    + """SELECT ?node ?pos ?demand ?stance ?on ?about ?of ?cert ?st ?by WHERE {
  ?pos dip:holder ?node ; dip:stance ?stance .
  BIND (EXISTS { ?pos a dip:Demand } AS ?demand)
  OPTIONAL { ?pos dip:on ?on }
  OPTIONAL { ?pos dip:about ?about }
  OPTIONAL { ?pos dip:demandedOf ?of }
  OPTIONAL { ?pos dip:certainty ?cert }
  OPTIONAL { ?st dip:expressesPosition|dip:attributesPosition ?pos ; dip:speaker ?by }
}"""
)

Q_ACTOR_DEMANDED_OF = (
    _PREFIX
    + """SELECT ?node ?pos ?holder ?stance ?about WHERE {
  ?pos a dip:Demand ; dip:demandedOf ?node ; dip:holder ?holder .
  OPTIONAL { ?pos dip:stance ?stance }
  OPTIONAL { ?pos dip:about ?about }
}"""
)

Q_ACTOR_ATTRIBUTIONS = (
    _PREFIX
    + """SELECT ?node ?dir ?st ?act ?speaker ?what ?holder ?stance WHERE {
  {
    ?st dip:speaker ?node ; dip:attributesPosition ?what .
    ?what dip:holder ?holder .
    FILTER (?holder != ?node)
    OPTIONAL { ?what dip:stance ?stance }
    BIND (?node AS ?speaker)
    BIND ("made" AS ?dir)
  } UNION {
    ?st dip:speaker ?node ; dip:attributesAction ?what .
    OPTIONAL { ?what dip:participant ?holder . FILTER (?holder != ?node) }
    BIND (?node AS ?speaker)
    BIND ("made" AS ?dir)
  } UNION {
    ?what dip:holder ?node .
    ?st dip:attributesPosition ?what ; dip:speaker ?speaker .
    FILTER (?speaker != ?node)
    OPTIONAL { ?what dip:stance ?stance }
    BIND (?node AS ?holder)
    BIND ("received" AS ?dir)
  } UNION {
    ?what dip:participant ?node .
    ?st dip:attributesAction ?what ; dip:speaker ?speaker .
    FILTER (?speaker != ?node)
    BIND (?node AS ?holder)
    BIND ("received" AS ?dir)
  }
  ?st dip:actType ?act .
}"""
)

Q_ACTOR_EVENTS = (
    _PREFIX
    + """SELECT DISTINCT ?node ?e ?rel ?from ?to ?prec WHERE {
  VALUES ?rel { dip:participant dip:affects }
  ?e a dip:Event ; ?rel ?node .
  OPTIONAL {
    ?e dip:happenedAt ?t .
    OPTIONAL { ?t dip:earliest ?from } OPTIONAL { ?t dip:latest ?to }
    OPTIONAL { ?t dip:precision ?prec }
  }
}"""
)

Q_STATEMENT_POSITIONS = (
    _PREFIX
    + """SELECT ?node ?rel ?pos ?holder ?stance ?on WHERE {
  VALUES ?rel { dip:expressesPosition dip:attributesPosition }
  ?node ?rel ?pos .
  OPTIONAL { ?pos dip:holder ?holder }
  OPTIONAL { ?pos dip:stance ?stance }
  OPTIONAL { ?pos dip:on ?on }
}"""
)

Q_PROPOSAL_VERSIONS = (
    _PREFIX
    + """SELECT DISTINCT ?node ?v ?dir WHERE {
  { ?node dip:revisionOf+ ?v . BIND ("earlier" AS ?dir) }
  UNION { ?v dip:revisionOf+ ?node . BIND ("later" AS ?dir) }
}"""
)

Q_PROPOSAL_POINTS = (
    _PREFIX
    + """SELECT DISTINCT ?node ?pt ?num ?about WHERE {
  { ?pt dip:pointOf ?node } UNION { ?node dip:hasPoint ?pt }
  OPTIONAL { ?pt dip:pointNumber ?num }
  OPTIONAL { ?pt dip:about ?about }
}"""
)

#: stances on the node and on its points, and who says so
Q_STANCES = (
    _PREFIX
    + """SELECT ?node ?target ?pos ?holder ?stance ?cert ?hedge ?st ?by WHERE {
  { ?pos dip:on ?node . BIND (?node AS ?target) }
  UNION { ?target dip:pointOf ?node . ?pos dip:on ?target }
  UNION { ?node dip:hasPoint ?target . ?pos dip:on ?target }
  ?pos dip:holder ?holder ; dip:stance ?stance .
  OPTIONAL { ?pos dip:certainty ?cert }
  OPTIONAL { ?pos dip:hedgeCue ?hedge }
  OPTIONAL { ?st dip:expressesPosition|dip:attributesPosition ?pos ; dip:speaker ?by }
}"""
)

Q_FIGURES = (
    _PREFIX
    + """SELECT DISTINCT ?node ?measure ?qualifier ?value ?unit ?doc WHERE {
  ?node dip:reportsFigure ?f .
  ?f dip:measure ?measure ; dip:value ?value .
  OPTIONAL { ?f dip:qualifier ?qualifier }
  OPTIONAL { ?f dip:unit ?unit }
  OPTIONAL { ?f dip:denotedBy/dip:inSource ?doc }
} ORDER BY ?measure ?value"""
)

Q_SOURCE_STATEMENTS = (
    _PREFIX
    + """SELECT ?node ?st ?speaker ?act (MIN(?start) AS ?first) WHERE {
  ?st a dip:Statement ; dip:speaker ?speaker ; dip:actType ?act ; dip:denotedBy ?m .
  ?m dip:inSource ?node ; oa:start ?start .
} GROUP BY ?node ?st ?speaker ?act ORDER BY ?first ?st"""
)

Q_TIMELINE_EVENTS = (
    _PREFIX
    + """SELECT ?e ?from ?to ?prec ?text ?participant WHERE {
  ?e a dip:Event .
  OPTIONAL {
    ?e dip:happenedAt ?t .
    OPTIONAL { ?t dip:earliest ?from } OPTIONAL { ?t dip:latest ?to }
    OPTIONAL { ?t dip:precision ?prec } OPTIONAL { ?t dip:timeText ?text }
  }
  OPTIONAL { ?e dip:participant ?participant }
}"""
)

Q_TIMELINE_STATEMENTS = (
    _PREFIX
    + """SELECT ?st ?from ?to ?prec ?text ?speaker ?act WHERE {
  ?st a dip:Statement ; dip:speaker ?speaker ; dip:actType ?act .
  OPTIONAL {
    ?st dip:saidAt ?t .
    OPTIONAL { ?t dip:earliest ?from } OPTIONAL { ?t dip:latest ?to }
    OPTIONAL { ?t dip:precision ?prec } OPTIONAL { ?t dip:timeText ?text }
  }
}"""
)

Q_CONCEPT_USES = (
    _PREFIX
    + """SELECT DISTINCT ?node ?s ?p WHERE {
  ?s ?p ?node .
  FILTER (isIRI(?s) && STRSTARTS(STR(?s), "https://w3id.org/dip/id/"))
} ORDER BY ?p ?s LIMIT 1000"""
)


# ---------------------------------------------------------------------------
# The index: labels and kinds of every node, read once per service
# ---------------------------------------------------------------------------


@dataclass
class Ref:
    """A node as a page shows it: a label, and where its page is (None: no page)."""

    iri: str
    label: str
    href: str | None
    kind: str = ""


@dataclass
class Index:
    labels: dict[str, str] = field(default_factory=dict)
    alt: dict[str, list[str]] = field(default_factory=dict)
    classes: dict[str, set[str]] = field(default_factory=dict)
    actors: list[dict[str, Any]] = field(default_factory=list)
    sources: list[dict[str, Any]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


_index_lock = threading.Lock()


def _state() -> Any:
    return current_app.extensions["kg"]


def _rows(text: str, node: Node | None = None) -> list[dict[str, Node | None]]:
    answer = _state().engine.query(text, {"node": node} if node is not None else None)
    return [dict(zip(answer.variables, row, strict=True)) for row in answer.rows]


def _index() -> Index:
    state = _state()
    cached = current_app.extensions.get("kg.browser")
    if cached is not None and cached[0] is state:
        return cached[1]
    with _index_lock:
        cached = current_app.extensions.get("kg.browser")
        if cached is not None and cached[0] is state:
            return cached[1]
        index = _build_index()
        current_app.extensions["kg.browser"] = (state, index)
        return index


def _build_index() -> Index:
    index = Index()
    labels: dict[str, list[str]] = {}
    for row in _rows(Q_INDEX_LABELS):
        iri = str(row["n"])
        if row["label"] is not None:
            labels.setdefault(iri, []).append(str(row["label"]))
        if row["alt"] is not None:
            index.alt.setdefault(iri, []).append(str(row["alt"]))
    index.labels = {iri: sorted(set(names))[0] for iri, names in labels.items()}
    index.alt = {iri: sorted(set(names)) for iri, names in index.alt.items()}
    for row in _rows(Q_INDEX_TYPES):
        index.classes.setdefault(str(row["n"]), set()).add(str(row["c"])[len(str(DIP)) :])
    counts = {str(r["n"]): (int(r["said"]), int(r["sources"])) for r in _rows(Q_INDEX_COUNTS)}
    for iri, (said, sources) in counts.items():
        index.actors.append(
            {
                "ref": ref(URIRef(iri), index),
                "class": class_name(iri, index),
                "said": said,
                "sources": sources,
            }
        )
    index.actors.sort(key=lambda a: a["ref"].label.casefold())
    for row in _rows(Q_SOURCES):
        index.sources.append(
            {
                "ref": ref(row["doc"], index),
                "headline": _text(row["headline"]),
                "outlet": ref(row["outlet"], index) if row["outlet"] is not None else None,
                "published": when(row["from"], row["to"], row["prec"]),
                "file": _text(row["file"]),
            }
        )
    for classes in index.classes.values():
        for cls in classes:
            index.counts[cls] = index.counts.get(cls, 0) + 1
    return index


def _text(term: Node | None) -> str:
    return "" if term is None else str(term)


def page_of(iri: str) -> tuple[str, str] | None:
    """The kind and local name of a node with a page of its own, or None."""
    if iri.startswith(str(ID)):
        kind, _, local = iri[len(str(ID)) :].partition("/")
        if kind in NODE_KINDS and local and "/" not in local:
            return kind, local
    return None


def href_of(iri: str) -> str:
    page = page_of(iri)
    if page is not None:
        return url_for(f"browser.{page[0]}", name=page[1])
    if iri.startswith(str(DV)) and "/" not in iri[len(str(DV)) :]:
        return url_for("browser.concept", name=iri[len(str(DV)) :])
    return url_for("browser.node", iri=iri)


def ref(term: Node | None, index: Index | None = None) -> Ref:
    index = index or _index()
    iri = str(term)
    if not isinstance(term, URIRef):
        return Ref(iri, iri, None)
    label = index.labels.get(iri) or _curie(iri)
    page = page_of(iri)
    kind = page[0] if page else ("concept" if iri.startswith(str(DV)) else "")
    if iri.startswith(BASE) or iri in index.labels:
        return Ref(iri, label, href_of(iri), kind)
    return Ref(iri, label, None, kind)


def class_name(iri: str, index: Index | None = None) -> str:
    classes = (index or _index()).classes.get(iri, set())
    for cls in _CLASS_ORDER:
        if cls in classes:
            return _CLASS_NAMES.get(cls, cls.lower())
    return ""


# ---------------------------------------------------------------------------
# Dates, only as exact as the data says
# ---------------------------------------------------------------------------


def _day(term: Node | None) -> str | None:
    return None if term is None else str(term)


def when(earliest: Node | None, latest: Node | None, precision: Node | None) -> dict[str, str]:
    """A time as the data gives it: ``text`` to show, ``precision`` (the concept's label) and
    ``sort`` (the first known bound, or empty)."""
    lo, hi = _day(earliest), _day(latest)
    prec = str(precision)[len(str(DV)) :] if precision is not None else ""
    if prec == "DayPrecision" and lo:
        text = lo
    elif prec == "MonthPrecision" and lo and re.match(r"\d{4}-\d{2}", lo):
        text = _month_name(lo[:7])
    elif prec == "YearPrecision" and lo:
        text = lo[:4]
    elif lo is None and hi is None:
        text = "date unknown"
    elif lo is not None and lo == hi:
        text = lo
    else:
        text = f"{lo or '…'} – {hi or '…'}"
    names = {
        "DayPrecision": "day",
        "DayRangePrecision": "days",
        "MonthPrecision": "month",
        "YearPrecision": "year",
        "BoundedPrecision": "bounds only",
        "UnknownPrecision": "unknown",
    }
    return {"text": text, "precision": names.get(prec, prec), "sort": lo or hi or ""}


# ---------------------------------------------------------------------------
# Helpers shared by the node pages
# ---------------------------------------------------------------------------


def _facts(node: URIRef) -> tuple[dict[str, list[Node]], list[tuple[Ref, Ref]]]:
    """The node's own triples, by property IRI, and the (predicate, subject) pairs pointing at
    it, for the "all facts" table."""
    out: dict[str, list[Node]] = {}
    for row in _rows(Q_OUT, node):
        values = out.setdefault(str(row["p"]), [])
        if row["o"] not in values:
            values.append(row["o"])  # type: ignore[arg-type]
    incoming = [(ref(r["p"]), ref(r["s"])) for r in _rows(Q_IN, node)]
    incoming.sort(key=lambda pair: (pair[0].label, pair[1].label))
    return out, incoming


def _fact_rows(out: dict[str, list[Node]]) -> list[tuple[Ref, list[Any]]]:
    rows = []
    for prop, values in out.items():
        shown = [ref(v) if isinstance(v, URIRef) else str(v) for v in values if not _blank(v)]
        if shown:
            rows.append((ref(URIRef(prop)), sorted(shown, key=_sort_key)))
    rows.sort(key=lambda r: r[0].label)
    return rows


def _blank(term: Node | None) -> bool:
    return isinstance(term, BNode)


def _sort_key(value: Any) -> str:
    return value.label.casefold() if isinstance(value, Ref) else str(value).casefold()


def _one(out: dict[str, list[Node]], prop: URIRef | str) -> Node | None:
    values = out.get(str(prop)) or []
    return values[0] if values else None


def _refs(out: dict[str, list[Node]], prop: URIRef | str) -> list[Ref]:
    return sorted(
        (ref(v) for v in out.get(str(prop), []) if isinstance(v, URIRef)),
        key=lambda r: r.label.casefold(),
    )


def _literals(out: dict[str, list[Node]], prop: URIRef | str) -> list[str]:
    return sorted(str(v) for v in out.get(str(prop), []) if isinstance(v, Literal))


def _times(node: URIRef) -> list[dict[str, Any]]:
    times = []
    for row in _rows(Q_TIME, node):
        item = when(row["from"], row["to"], row["prec"])
        item.update(
            rel=str(row["rel"])[len(str(DIP)) :],
            text_in_source=_text(row["text"]),
            basis=_text(row["basis"]),
        )
        if item not in times:
            times.append(item)
    return times


_CONTEXT_CHARS = 320


def _source_file(name: str) -> Path | None:
    seeds = _state().project.seeds_dir.resolve()
    path = (seeds / name).resolve()
    if path.parent != seeds or not path.is_file():
        return None
    return path


def _excerpt(text: str, start: int, end: int) -> dict[str, str]:
    """The paragraph around a span (clipped to a few hundred characters each side)."""
    para_start = text.rfind("\n", 0, start) + 1
    para_end = text.find("\n", end)
    para_end = len(text) if para_end < 0 else para_end
    lo = max(para_start, start - _CONTEXT_CHARS)
    hi = min(para_end, end + _CONTEXT_CHARS)
    return {
        "before": ("…" if lo > para_start else "") + text[lo:start],
        "span": text[start:end],
        "after": text[end:hi] + ("…" if hi < para_end else ""),
    }


def _mentions(node: URIRef, *, context: bool = False) -> list[dict[str, Any]]:
    """The node's mentions: source, offsets, exact words and (with ``context``) the paragraph
    around them, read from the seed text file the source document names."""
    found = []
    for row in _rows(Q_MENTIONS, node):
        start, end = int(row["start"]), int(row["end"])  # type: ignore[arg-type]
        item: dict[str, Any] = {
            "source": ref(row["doc"]),
            "file": _text(row["file"]),
            "start": start,
            "end": end,
            "exact": _text(row["exact"]),
            "excerpt": None,
            "matches": None,
        }
        page = page_of(str(row["doc"]))
        if page is not None:
            item["href"] = (
                url_for("browser.source", name=page[1], start=start, end=end) + "#highlight"
            )
        if context and item["file"]:
            path = _source_file(item["file"])
            if path is not None:
                try:
                    text = read_text_cached(path)
                except InputError:
                    text = None
                if text is not None and 0 <= start < end <= len(text):
                    item["excerpt"] = _excerpt(text, start, end)
                    item["matches"] = text[start:end] == item["exact"]
        found.append(item)
    return found


def _evidence_href(row: dict[str, Node | None]) -> str | None:
    """The source page with a mention's span highlighted (``doc``, ``start``, ``end``)."""
    page = page_of(str(row.get("doc")))
    if page is None or row.get("start") is None or row.get("end") is None:
        return None
    start, end = int(row["start"]), int(row["end"])  # type: ignore[arg-type]
    return url_for("browser.source", name=page[1], start=start, end=end) + "#highlight"


def _said_about(node: URIRef, *, skip: Iterable[str] = ()) -> list[dict[str, Any]]:
    """Statements that point at the node, newest knowledge first: by date, with the property."""
    skipped = set(skip)
    items: dict[str, dict[str, Any]] = {}
    for row in _rows(Q_SAID_ABOUT, node):
        rel = str(row["rel"])
        if rel in skipped or rel == _RDF_TYPE:
            continue
        key = str(row["st"])
        item = items.setdefault(
            key,
            {
                "statement": ref(row["st"]),
                "speaker": ref(row["speaker"]),
                "act": ref(row["act"]),
                "when": when(row["from"], row["to"], row["prec"]),
                "rels": [],
            },
        )
        label = ref(row["rel"]).label
        if label not in item["rels"]:
            item["rels"].append(label)
    return sorted(items.values(), key=lambda i: (i["when"]["sort"] or "9999", i["statement"].label))


def _group(rows: list[dict[str, Node | None]], key: str) -> dict[str, list[dict[str, Node | None]]]:
    groups: dict[str, list[dict[str, Node | None]]] = {}
    for row in rows:
        groups.setdefault(str(row[key]), []).append(row)
    return groups


def _distinct_refs(rows: list[dict[str, Node | None]], key: str) -> list[Ref]:
    seen: dict[str, Ref] = {}
    for row in rows:
        term = row.get(key)
        if isinstance(term, URIRef) and str(term) not in seen:
            seen[str(term)] = ref(term)
    return sorted(seen.values(), key=lambda r: r.label.casefold())


def _node_or_404(kind: str, name: str) -> URIRef:
    iri = f"{ID}{kind}/{name}"
    index = _index()
    if iri not in index.labels and iri not in index.classes:
        abort(404)
    return URIRef(iri)


def _base(node: URIRef, out: dict[str, list[Node]], incoming: list[tuple[Ref, Ref]]) -> dict:
    """What every node page shows: title, class, other names, comments, all facts."""
    iri = str(node)
    index = _index()
    return {
        "node": ref(node),
        "iri": iri,
        "curie": short_name(node),
        "cls": class_name(iri),
        "alt": index.alt.get(iri, []),
        "comments": _literals(out, _RDFS_COMMENT),
        "facts": _fact_rows(out),
        "incoming": incoming,
    }


# ---------------------------------------------------------------------------
# Pages
# ---------------------------------------------------------------------------


@bp.app_template_global()
def link_to(value: Any) -> Any:
    """A template helper: a Ref or an RDF term as a Ref (literals stay text)."""
    if isinstance(value, Ref) or value is None:
        return value
    if isinstance(value, URIRef):
        return ref(value)
    return str(value)


@bp.route("/")
def home() -> str:
    index = _index()
    groups: dict[str, list[dict[str, Any]]] = {}
    for actor in index.actors:
        groups.setdefault(actor["class"] or "actor", []).append(actor)
    order = ["person", "state", "organization", "group", "delegation", "news outlet"]
    grouped = sorted(groups.items(), key=lambda g: order.index(g[0]) if g[0] in order else 99)
    proposals = sorted(
        (ref(URIRef(iri)) for iri, cls in index.classes.items() if "Proposal" in cls),
        key=lambda r: r.label.casefold(),
    )
    return render_template(
        "home.html",
        groups=grouped,
        sources=index.sources,
        proposals=proposals,
        counts=index.counts,
        title="Overview",
    )


@bp.route("/search")
def search() -> str:
    q = request.args.get("q", "").strip()
    index = _index()
    hits: list[dict[str, Any]] = []
    if q:
        needle = q.casefold()
        for iri, label in index.labels.items():
            if not iri.startswith(str(ID)):
                continue
            names = [label, *index.alt.get(iri, [])]
            if any(needle in n.casefold() for n in names):
                hits.append({"ref": ref(URIRef(iri)), "cls": class_name(iri)})
        rank = {c: i for i, c in enumerate(("person", "state", "organization", "group"))}
        hits.sort(key=lambda h: (rank.get(h["cls"], 9), h["cls"], h["ref"].label.casefold()))
    return render_template("search.html", q=q, hits=hits[:500], total=len(hits), title="Search")


def actor(name: str) -> str:
    node = _node_or_404("actor", name)
    out, incoming = _facts(node)
    roles = [
        {"title": str(r["title"]), "type": link_to(r["type"]), "in": link_to(r["in"])}
        for r in _rows(Q_ACTOR_ROLES, node)
    ]
    ties = [
        {"dir": str(r["dir"]), "rel": ref(r["rel"]), "other": ref(r["other"])}
        for r in _rows(Q_ACTOR_TIES, node)
    ]
    statements = []
    for key, rows in _group(_rows(Q_ACTOR_STATEMENTS, node), "st").items():
        first = min(
            (r for r in rows if r["start"] is not None),
            key=lambda r: (str(r["doc"]), int(r["start"])),  # type: ignore[arg-type]
            default=rows[0],
        )
        statements.append(
            {
                "statement": ref(URIRef(key)),
                "act": ref(rows[0]["act"]),
                "when": when(rows[0]["from"], rows[0]["to"], rows[0]["prec"]),
                "quote": _text(first["exact"]),
                "source": ref(first["doc"]) if first["doc"] is not None else None,
                "evidence": _evidence_href(first),
                "offsets": f"{first['start']}–{first['end']}" if first["start"] is not None else "",
            }
        )
    statements.sort(key=lambda s: (s["when"]["sort"] or "9999", s["statement"].label))
    positions = []
    for key, rows in _group(_rows(Q_ACTOR_POSITIONS, node), "pos").items():
        positions.append(
            {
                "position": ref(URIRef(key)),
                "demand": str(rows[0]["demand"]) == "true",
                "stance": ref(rows[0]["stance"]),
                "on": _distinct_refs(rows, "on"),
                "about": _distinct_refs(rows, "about"),
                "of": _distinct_refs(rows, "of"),
                "cert": link_to(rows[0]["cert"]),
                "by": _distinct_refs(rows, "by"),
            }
        )
    positions.sort(key=lambda p: (p["stance"].label, p["position"].label))
    demanded = []
    for key, rows in _group(_rows(Q_ACTOR_DEMANDED_OF, node), "pos").items():
        demanded.append(
            {
                "position": ref(URIRef(key)),
                "holders": _distinct_refs(rows, "holder"),
                "about": _distinct_refs(rows, "about"),
            }
        )
    demanded.sort(key=lambda d: d["position"].label)
    attributions: dict[str, list[dict[str, Any]]] = {"made": [], "received": []}
    for r in _rows(Q_ACTOR_ATTRIBUTIONS, node):
        item = {
            "statement": ref(r["st"]),
            "act": ref(r["act"]),
            "speaker": ref(r["speaker"]),
            "what": ref(r["what"]),
            "holder": ref(r["holder"]) if r["holder"] is not None else None,
            "stance": link_to(r["stance"]),
        }
        bucket = attributions[str(r["dir"])]
        if item not in bucket:
            bucket.append(item)
    for bucket in attributions.values():
        bucket.sort(key=lambda a: (a["statement"].label, a["what"].label))
    events = []
    for key, rows in _group(_rows(Q_ACTOR_EVENTS, node), "e").items():
        events.append(
            {
                "event": ref(URIRef(key)),
                "rels": sorted({ref(r["rel"]).label for r in rows}),
                "when": when(rows[0]["from"], rows[0]["to"], rows[0]["prec"]),
            }
        )
    events.sort(key=lambda e: (e["when"]["sort"] or "9999", e["event"].label))
    return render_template(
        "actor.html",
        **_base(node, out, incoming),
        described=_literals(out, DIP.describedAs),
        roles=roles,
        ties=ties,
        statements=statements,
        positions=positions,
        demanded=demanded,
        attributions=attributions,
        events=events,
        mentions=_mentions(node),
        title=ref(node).label,
    )


def statement(name: str) -> str:
    node = _node_or_404("statement", name)
    out, incoming = _facts(node)
    positions = [
        {
            "rel": ref(r["rel"]),
            "position": ref(r["pos"]),
            "holder": link_to(r["holder"]),
            "stance": link_to(r["stance"]),
            "on": link_to(r["on"]),
        }
        for r in _rows(Q_STATEMENT_POSITIONS, node)
    ]
    about = _said_about(node)
    disputed_by = [s for s in about if {"disputes", "retracts"} & set(s["rels"])]
    reported_by = _refs(out, DIP.reportedBy)
    mentions = _mentions(node, context=True)
    return render_template(
        "statement.html",
        **_base(node, out, incoming),
        speaker=_refs(out, DIP.speaker),
        addressee=_refs(out, DIP.addressee),
        act=_refs(out, DIP.actType),
        mode=_refs(out, DIP.mode),
        certainty=_refs(out, DIP.certainty),
        polarity=_refs(out, DIP.polarity),
        hedge=_literals(out, DIP.hedgeCue),
        cue=_literals(out, DIP.reportingCue),
        channel=_literals(out, DIP.channel),
        targets=_refs(out, DIP.target),
        disputes=_refs(out, DIP.disputes),
        retracts=_refs(out, DIP.retracts),
        actions=_refs(out, DIP.attributesAction),
        reported_by=reported_by,
        reports=_refs(out, DIP.reports),
        positions=positions,
        disputed_by=disputed_by,
        said_about=[s for s in about if s not in disputed_by],
        times=_times(node),
        mentions=mentions,
        title=ref(node).label,
    )


def _stances(node: URIRef) -> dict[str, list[dict[str, Any]]]:
    """Stances on the node (and its points), by target IRI, one row per position."""
    by_target: dict[str, list[dict[str, Any]]] = {}
    for key, rows in _group(_rows(Q_STANCES, node), "pos").items():
        first = rows[0]
        by_target.setdefault(str(first["target"]), []).append(
            {
                "position": ref(URIRef(key)),
                "holder": ref(first["holder"]),
                "stance": ref(first["stance"]),
                "cert": link_to(first["cert"]),
                "hedge": _text(first["hedge"]),
                "by": _distinct_refs(rows, "by"),
                "statements": _distinct_refs(rows, "st"),
            }
        )
    for items in by_target.values():
        items.sort(key=lambda s: (s["stance"].label, s["holder"].label))
    return by_target


def proposal(name: str) -> str:
    node = _node_or_404("proposal", name)
    out, incoming = _facts(node)
    versions = {"earlier": [], "later": []}  # type: dict[str, list[Ref]]
    for r in _rows(Q_PROPOSAL_VERSIONS, node):
        versions[str(r["dir"])].append(ref(r["v"]))
    stances = _stances(node)
    points = []
    for key, rows in _group(_rows(Q_PROPOSAL_POINTS, node), "pt").items():
        num = rows[0]["num"]
        points.append(
            {
                "point": ref(URIRef(key)),
                "number": int(num) if num is not None else None,  # type: ignore[arg-type]
                "about": _distinct_refs(rows, "about"),
                "stances": stances.get(key, []),
            }
        )
    points.sort(key=lambda p: (p["number"] is None, p["number"] or 0, p["point"].label))
    backers = [
        (label, _refs(out, prop))
        for label, prop in (
            ("authored by", DIP.authoredBy),
            ("backed by", DIP.backedBy),
            ("presented by", DIP.presentedBy),
        )
    ]
    return render_template(
        "proposal.html",
        **_base(node, out, incoming),
        versions=versions,
        revision_of=_refs(out, DIP.revisionOf),
        backers=[b for b in backers if b[1]],
        point_count=_literals(out, DIP.pointCount),
        points=points,
        stances=stances.get(str(node), []),
        said_about=_said_about(node, skip=[str(DIP.expressesPosition)]),
        mentions=_mentions(node),
        title=ref(node).label,
    )


def point(name: str) -> str:
    node = _node_or_404("point", name)
    out, incoming = _facts(node)
    return render_template(
        "point.html",
        **_base(node, out, incoming),
        point_of=_refs(out, DIP.pointOf),
        number=_literals(out, DIP.pointNumber),
        about=_refs(out, DIP.about),
        stances=_stances(node).get(str(node), []),
        said_about=_said_about(node),
        figures=_figures(node),
        mentions=_mentions(node),
        title=ref(node).label,
    )


def position(name: str) -> str:
    node = _node_or_404("position", name)
    out, incoming = _facts(node)
    return render_template(
        "position.html",
        **_base(node, out, incoming),
        holder=_refs(out, DIP.holder),
        stance=_refs(out, DIP.stance),
        on=_refs(out, DIP.on),
        about=_refs(out, DIP.about),
        demanded_of=_refs(out, DIP.demandedOf),
        places=_refs(out, DIP.concernsPlace),
        certainty=_refs(out, DIP.certainty),
        hedge=_literals(out, DIP.hedgeCue),
        conflicts=_refs(out, DIP.conflictsWith),
        said_about=_said_about(node),
        figures=_figures(node),
        mentions=_mentions(node),
        title=ref(node).label,
    )


def _figures(node: URIRef) -> list[dict[str, Any]]:
    return [
        {
            "measure": ref(r["measure"]),
            "qualifier": link_to(r["qualifier"]),
            "value": _text(r["value"]),
            "unit": _text(r["unit"]),
            "source": link_to(r["doc"]),
        }
        for r in _rows(Q_FIGURES, node)
    ]


def event(name: str) -> str:
    node = _node_or_404("event", name)
    out, incoming = _facts(node)
    return render_template(
        "event.html",
        **_base(node, out, incoming),
        types=_refs(out, DIP.eventType),
        participants=_refs(out, DIP.participant),
        affects=_refs(out, DIP.affects),
        places=_refs(out, DIP.place),
        proposals=_refs(out, DIP.concernsProposal),
        parent=_refs(out, DIP.subEventOf),
        certainty=_refs(out, DIP.certainty),
        hedge=_literals(out, DIP.hedgeCue),
        times=_times(node),
        figures=_figures(node),
        said_about=_said_about(node),
        mentions=_mentions(node),
        title=ref(node).label,
    )


def place(name: str) -> str:
    node = _node_or_404("place", name)
    out, incoming = _facts(node)
    return render_template(
        "place.html",
        **_base(node, out, incoming),
        part_of=_refs(out, DIP.partOf),
        said_about=_said_about(node),
        mentions=_mentions(node),
        title=ref(node).label,
    )


def source(name: str) -> str:
    node = _node_or_404("source", name)
    out, incoming = _facts(node)
    text = None
    file_name = _text(_one(out, DIP.textFile))
    path = _source_file(file_name) if file_name else None
    if path is not None:
        try:
            text = read_text_cached(path)
        except InputError:
            text = None
    highlight = None
    start, end = request.args.get("start", ""), request.args.get("end", "")
    if text is not None and start.isdigit() and end.isdigit():
        lo, hi = int(start), int(end)
        if 0 <= lo < hi <= len(text):
            highlight = (lo, hi)
    parts = None
    if text is not None:
        if highlight:
            parts = {
                "before": text[: highlight[0]],
                "span": text[highlight[0] : highlight[1]],
                "after": text[highlight[1] :],
            }
        else:
            parts = {"before": text, "span": "", "after": ""}
    statements = [
        {
            "statement": ref(r["st"]),
            "speaker": ref(r["speaker"]),
            "act": ref(r["act"]),
            "offset": int(r["first"]),  # type: ignore[arg-type]
        }
        for r in _rows(Q_SOURCE_STATEMENTS, node)
    ]
    return render_template(
        "source.html",
        **_base(node, out, incoming),
        headline=_literals(out, DIP.headline),
        outlet=_refs(out, DIP.outlet),
        author=_refs(out, DIP.author),
        times=_times(node),
        file_name=file_name,
        parts=parts,
        highlight=highlight,
        statements=statements,
        title=ref(node).label,
    )


for _kind in NODE_KINDS:
    bp.add_url_rule(f"/{_kind}/<name>", endpoint=_kind, view_func=globals()[_kind])


@bp.route("/concept/<name>")
def concept(name: str) -> str:
    node = URIRef(f"{DV}{name}")
    if str(node) not in _index().labels:
        abort(404)
    out, _incoming = _facts(node)
    uses: dict[str, list[Ref]] = {}
    for r in _rows(Q_CONCEPT_USES, node):
        uses.setdefault(ref(r["p"]).label, []).append(ref(r["s"]))
    return render_template(
        "concept.html",
        node=ref(node),
        iri=str(node),
        curie=short_name(node),
        definition=_literals(out, _SKOS_DEF),
        comments=_literals(out, _RDFS_COMMENT),
        facts=_fact_rows(out),
        uses=sorted(uses.items()),
        title=ref(node).label,
    )


@bp.route("/node")
def node() -> Any:
    """Any IRI: redirects to its page, or lists its facts; 404 when the graph does not hold it."""
    iri = request.args.get("iri", "").strip()
    if not iri or not re.match(r"^[a-z][a-z0-9+.-]*:\S+$", iri, re.I):
        abort(404)
    page = page_of(iri)
    if page is not None or (iri.startswith(str(DV)) and "/" not in iri[len(str(DV)) :]):
        return redirect(href_of(iri))
    try:
        term = URIRef(iri)
        exists = _state().engine.query(Q_EXISTS, {"node": term}).boolean
    except InputError:
        abort(404)
    if not exists:
        abort(404)
    out, incoming = _facts(term)
    return render_template(
        "generic.html",
        node=ref(term),
        iri=iri,
        curie=short_name(term),
        facts=_fact_rows(out),
        incoming=incoming[:500],
        title=ref(term).label,
    )


@bp.route("/timeline")
def timeline() -> str:
    show = request.args.get("show", "all")
    if show not in ("all", "events", "statements"):
        show = "all"
    items: list[dict[str, Any]] = []
    if show in ("all", "events"):
        for key, rows in _group(_rows(Q_TIMELINE_EVENTS), "e").items():
            first = rows[0]
            items.append(
                {
                    "kind": "event",
                    "item": ref(URIRef(key)),
                    "when": when(first["from"], first["to"], first["prec"]),
                    "text": _text(first["text"]),
                    "who": _distinct_refs(rows, "participant"),
                    "act": None,
                }
            )
    if show in ("all", "statements"):
        for key, rows in _group(_rows(Q_TIMELINE_STATEMENTS), "st").items():
            first = rows[0]
            items.append(
                {
                    "kind": "statement",
                    "item": ref(URIRef(key)),
                    "when": when(first["from"], first["to"], first["prec"]),
                    "text": _text(first["text"]),
                    "who": _distinct_refs(rows, "speaker"),
                    "act": ref(first["act"]),
                }
            )
    dated = [i for i in items if i["when"]["sort"]]
    undated = [i for i in items if not i["when"]["sort"]]
    dated.sort(key=lambda i: (i["when"]["sort"], i["when"]["text"], i["kind"], i["item"].label))
    undated.sort(key=lambda i: (i["kind"], i["item"].label))
    # one section per year: a month heading would claim more than a year or bounds tell
    years: list[tuple[str, list[dict[str, Any]]]] = []
    for item in dated:
        year = item["when"]["sort"][:4]
        if not years or years[-1][0] != year:
            years.append((year, []))
        years[-1][1].append(item)
    return render_template(
        "timeline.html", years=years, undated=undated, show=show, title="Timeline"
    )


def _month_name(month: str) -> str:
    try:
        return date.fromisoformat(month + "-01").strftime("%B %Y")
    except ValueError:
        return month


# ---------------------------------------------------------------------------
# The query page
# ---------------------------------------------------------------------------


def _canned() -> list[CannedQuery]:
    return list_queries(_state().project.queries_dir)


@bp.route("/queries")
def queries() -> str:
    return render_template("queries.html", queries=_canned(), title="Queries")


@bp.route("/queries/<name>", methods=["GET", "POST"])
def query_page(name: str) -> str:
    canned = {q.name: q for q in _canned()}
    query = canned.get(name)
    if query is None:
        abort(404)
    form = request.form if request.method == "POST" else request.args
    text = form.get("query") or query.text
    values = {p.name: form.get(f"param-{p.name}", "").strip() for p in query.params}
    result = None
    if request.method == "POST" or form.get("run"):
        result = _run(query, text, {k: v for k, v in values.items() if v})
    return render_template(
        "query.html",
        query=query,
        text=text,
        values=values,
        edited=text != query.text,
        result=result,
        title=query.name,
    )


#: what the query page asks the service for: results as JSON, graphs as Turtle
_ACCEPT = "application/sparql-results+json, text/turtle;q=0.9"


def _run(query: CannedQuery, text: str, raw: dict[str, str]) -> dict[str, Any]:
    """Run ``text`` through the service's guarded runner (deadline, row cap, refusals), the
    parameters resolved to RDF terms and passed as bindings, never written into the text."""
    state = _state()
    try:
        bindings = bind_params(_params_only(query, text), _label_graph(), raw)
    except InputError as exc:
        return {"status": 400, "message": str(exc)}
    return _from_result(state.run_query(text, _ACCEPT, bindings=bindings))


def _from_result(result: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "status": result.status,
        "message": result.message or "",
        "truncated": bool(result.truncated),
    }
    if result.status != 200:
        return out
    body = result.body if isinstance(result.body, str) else bytes(result.body).decode("utf-8")
    if "json" in (result.media_type or "") and "ld+json" not in result.media_type:
        data = json.loads(body)
        if "boolean" in data:
            out["boolean"] = bool(data["boolean"])
        else:
            out["variables"] = data["head"].get("vars", [])
            out["rows"] = [
                [_cell(b.get(v)) for v in out["variables"]] for b in data["results"]["bindings"]
            ]
    else:
        out["text"] = body
    return out


def _params_only(query: CannedQuery, text: str) -> CannedQuery:
    """The canned query's parameters, kept only where the (maybe edited) text still uses them."""
    kept = [p for p in query.params if re.search(rf"[?$]{re.escape(p.name)}\b", text)]
    return CannedQuery(query.name, query.path, query.question, kept, query.columns)


def _label_graph() -> Any:
    """The graph labels are resolved in (built once per service)."""
    state = _state()
    cached = current_app.extensions.get("kg.browser.labels")
    if cached is not None and cached[0] is state:
        return cached[1]
    graph = state.built.union()
    current_app.extensions["kg.browser.labels"] = (state, graph)
    return graph


def _cell(binding: dict[str, Any] | None) -> Any:
    if binding is None:
        return ""
    if binding.get("type") == "uri":
        return ref(URIRef(binding["value"]))
    return str(binding.get("value", ""))


@bp.app_template_filter("curie")
def _curie(iri: str) -> str:
    for prefix, ns in PREFIXES.items():
        if iri.startswith(ns) and prefix not in ("rdf", "xsd"):
            return f"{prefix}:{iri[len(ns) :]}"
    return iri


@bp.app_errorhandler(404)
def not_found(_error: Any) -> tuple[str, int]:
    return render_template("404.html", path=request.path, title="Not found"), 404
