"""The actor networks, read from the graph with SPARQL and built with networkx.

The queries run on the project's engine (Oxigraph over the built dataset, as ``kg query`` has
it) and ask only for asserted facts, so they give the same answer with or without the OWL RL
inferences. Their rows are gathered into a :class:`Corpus`, from which :func:`build` makes one
of the three networks. Node ids are the actors' CURIEs (``actor:russia``); nodes carry the
actor's ``rdfs:label`` and its most specific actor class. Every edge carries plain attributes
(counts, act types, the CURIEs behind it) and, under ``evidence``, the :class:`Evidence` items
with their quotes and offsets.

How the stance network reads positions:

* A stance is positive (supports, accepts, would accept, authored, demands, aligned with),
  negative (opposes, rejects, would reject) or neutral (ambivalent, or a stance the project's
  vocabulary does not list). Neutral stances neither agree nor oppose, so they make no edge.
* Two positions on the same target (a proposal, a point of it, a demand or other position, an
  event) agree when their stances have the same sign and oppose each other when the signs
  differ; each such pair of positions is one piece of evidence between their holders.
* A position on a position counts its target's holders as standing for the target: Ukraine
  opposing Russia's demand is Ukraine against Russia.
* A demand's ``dip:on`` names the plan or point the demand is about, and a demand may ask for a
  plan to be accepted or to be changed, so a demand neither agrees nor opposes through it; the
  demand itself is a target that its holder stands for.
* A position on an actor (supports Ukraine, aligned with Moscow) is a direct tie of its sign.
* Two holders of one position agree.
* An edge counts its pieces of evidence that agree and that oppose, and takes the sign of the
  majority: +1 ("agree", or "mostly agree" when some evidence opposes), -1 ("oppose", "mostly
  oppose"). An edge with as much agreement as opposition is "mixed", sign 0: it stays in the
  network with its counts, but camps and structural balance leave it out.
"""

from __future__ import annotations

import difflib
import itertools
from collections import defaultdict
from dataclasses import dataclass, field

import networkx as nx
from rdflib import Literal, URIRef

from kg.engine import Engine
from kg.errors import InputError
from kg.namespaces import ACTOR_CLASSES, PREFIXES, sparql_prefixes
from kg.project import Project
from kg.query import short_name

#: The networks, in the order the command line lists them.
KINDS = ("attribution", "stance", "interaction")

#: The sign of each stance of ``dv:Stances``; a stance not listed here is neutral (0).
STANCE_SIGN: dict[str, int] = {
    "dv:Supports": 1,
    "dv:Accepts": 1,
    "dv:WouldAccept": 1,
    "dv:Authored": 1,
    "dv:Demands": 1,
    "dv:AlignedWith": 1,
    "dv:Opposes": -1,
    "dv:Rejects": -1,
    "dv:WouldReject": -1,
    "dv:Ambivalent": 0,
}

#: The actor classes from the most to the least specific: a node's ``type`` is the first found.
_TYPE_ORDER = (
    "UnnamedSource",
    "NewsOutlet",
    "Delegation",
    "Person",
    "State",
    "Organization",
    "Group",
    "Actor",
)
assert set(_TYPE_ORDER) == set(ACTOR_CLASSES)

_PREFIXES = sparql_prefixes("dip", "oa", "rdfs", "skos")
_ACTOR_VALUES = " ".join(f"dip:{name}" for name in ACTOR_CLASSES)

#: Every actor, with each of its classes and names.
Q_ACTORS = (
    _PREFIXES
    + f"""SELECT DISTINCT ?actor ?class ?property ?name WHERE {{
  VALUES ?class {{ {_ACTOR_VALUES} }}
  ?actor a ?class .
  OPTIONAL {{
    VALUES ?property {{ rdfs:label skos:altLabel skos:prefLabel }}
    ?actor ?property ?name .
  }}
  FILTER (isIRI(?actor))
}}"""
)

#: The label of every labelled node (statements, positions, events, concepts ...).
Q_LABELS = (
    _PREFIXES
    + """SELECT DISTINCT ?node ?label WHERE {
  ?node rdfs:label ?label .
  FILTER (isIRI(?node))
}"""
)

#: Every mention: the words that ground a node, with its source file and offsets.
Q_SPANS = (
    _PREFIXES
    + """SELECT DISTINCT ?node ?doc ?file ?start ?end ?exact WHERE {
  ?node dip:denotedBy ?mention .
  ?mention dip:inSource ?doc ;
           oa:start ?start ;
           oa:end ?end ;
           oa:exact ?exact .
  OPTIONAL { ?doc dip:textFile ?file }
  FILTER (isIRI(?node))
}"""
)

#: Every statement with its speaker, act type and polarity.
Q_STATEMENTS = (
    _PREFIXES
    + """SELECT DISTINCT ?statement ?speaker ?act ?polarity WHERE {
  ?statement dip:speaker ?speaker .
  OPTIONAL { ?statement dip:actType ?act }
  OPTIONAL { ?statement dip:polarity ?polarity }
}"""
)

#: What each attribution ascribes, and to whom: a position's holder or an event's participant.
Q_ATTRIBUTIONS = (
    _PREFIXES
    + """SELECT DISTINCT ?statement ?object ?kind ?holder WHERE {
  {
    ?statement dip:attributesPosition ?object .
    ?object dip:holder ?holder .
    BIND ("position" AS ?kind)
  } UNION {
    ?statement dip:attributesAction ?object .
    ?object dip:participant ?holder .
    BIND ("action" AS ?kind)
  }
}"""
)

#: Every position (and demand) with its holder and stance.
Q_POSITIONS = (
    _PREFIXES
    + """SELECT DISTINCT ?position ?holder ?stance ?demand WHERE {
  ?position dip:holder ?holder .
  OPTIONAL { ?position dip:stance ?stance }
  BIND (EXISTS { ?position a dip:Demand } AS ?demand)
}"""
)

#: What each position is a stance on.
Q_TARGETS = (
    _PREFIXES
    + """SELECT DISTINCT ?position ?target WHERE {
  ?position dip:holder ?holder ;
            dip:on ?target .
}"""
)

#: The statements that voice each position: the holder's own, or someone else's attribution.
Q_VOICES = (
    _PREFIXES
    + """SELECT DISTINCT ?position ?statement ?relation WHERE {
  {
    ?statement dip:expressesPosition ?position .
    BIND ("expresses" AS ?relation)
  } UNION {
    ?statement dip:attributesPosition ?position .
    BIND ("attributes" AS ?relation)
  }
}"""
)

#: Who takes part in which event.
Q_PARTICIPANTS = (
    _PREFIXES
    + """SELECT DISTINCT ?event ?actor WHERE {
  ?event dip:participant ?actor .
}"""
)

#: Whom each statement is addressed to.
Q_ADDRESSEES = (
    _PREFIXES
    + """SELECT DISTINCT ?statement ?addressee WHERE {
  ?statement dip:addressee ?addressee .
}"""
)


@dataclass(frozen=True, order=True)
class Span:
    """Words of a source text: the file (relative to the project root), the code-point offsets
    of the words in it, and the words themselves."""

    file: str
    start: int
    end: int
    quote: str


@dataclass(frozen=True, order=True)
class Evidence:
    """A statement, position or event behind an edge, with the words that ground it.

    ``detail`` says what it is in a few words (the speaker and act of a statement, the stance
    of a position)."""

    kind: str
    node: str
    label: str
    detail: str
    spans: tuple[Span, ...]


@dataclass(frozen=True)
class Actor:
    """An actor: CURIE, IRI, label, most specific class and every name it goes by."""

    curie: str
    iri: str
    label: str
    type: str
    names: tuple[str, ...]


@dataclass
class Position:
    """A position or demand: its holders, stance and targets."""

    node: str
    holders: set[str] = field(default_factory=set)
    stances: set[str] = field(default_factory=set)
    demand: bool = False
    targets: set[str] = field(default_factory=set)

    @property
    def sign(self) -> int:
        """+1, -1 or 0; a position with stances of both signs (a mapping error) is neutral."""
        signs = {STANCE_SIGN.get(s, 0) for s in self.stances}
        return signs.pop() if len(signs) == 1 else 0


@dataclass
class Statement:
    """A statement: its speakers, act types and polarities."""

    node: str
    speakers: set[str] = field(default_factory=set)
    acts: set[str] = field(default_factory=set)
    polarities: set[str] = field(default_factory=set)


@dataclass
class Corpus:
    """The facts the networks are made of, as the queries return them (nodes as CURIEs)."""

    actors: dict[str, Actor] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    spans: dict[str, tuple[Span, ...]] = field(default_factory=dict)
    statements: dict[str, Statement] = field(default_factory=dict)
    #: (statement, position or event, "position" or "action", holder or participant)
    attributions: set[tuple[str, str, str, str]] = field(default_factory=set)
    positions: dict[str, Position] = field(default_factory=dict)
    #: position -> {(statement, "expresses" or "attributes")}
    voices: dict[str, set[tuple[str, str]]] = field(default_factory=dict)
    #: event -> participants
    participants: dict[str, set[str]] = field(default_factory=dict)
    #: (statement, addressee)
    addressees: set[tuple[str, str]] = field(default_factory=set)

    def label(self, node: str) -> str:
        """The label of an actor or any other node; its CURIE when it has none."""
        if node in self.actors:
            return self.actors[node].label
        return self.labels.get(node, node)


def _text(node) -> str | None:  # type: ignore[no-untyped-def]
    if node is None:
        return None
    if isinstance(node, URIRef):
        return short_name(node)
    return str(node)


def _rows(engine: Engine, text: str) -> list[list[str | None]]:
    return [[_text(cell) for cell in row] for row in engine.query(text).rows]


def _int(node) -> int:  # type: ignore[no-untyped-def]
    try:
        return int(node.toPython() if isinstance(node, Literal) else node)
    except (TypeError, ValueError):
        return -1


def extract(engine: Engine) -> Corpus:
    """Run the network queries on ``engine`` and gather their rows."""
    corpus = Corpus()
    classes: dict[str, set[str]] = defaultdict(set)
    names: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    iris: dict[str, str] = {}
    for row in engine.query(Q_ACTORS).rows:
        actor, cls, prop, name = row
        curie = short_name(actor)
        iris[curie] = str(actor)
        classes[curie].add(str(cls).rsplit("#", 1)[-1])
        if prop is not None and name is not None:
            names[curie][short_name(prop)].add(str(name))
    for curie in sorted(classes):
        own = names[curie]
        labels = sorted(own.get("rdfs:label", set())) or sorted(own.get("skos:prefLabel", set()))
        every = sorted(set().union(*own.values())) if own else []
        kind = next(t for t in _TYPE_ORDER if t in classes[curie])
        corpus.actors[curie] = Actor(
            curie, iris[curie], labels[0] if labels else curie, kind, tuple(every)
        )

    for node, label in _rows(engine, Q_LABELS):
        assert node is not None and label is not None
        if node not in corpus.labels or label < corpus.labels[node]:
            corpus.labels[node] = label

    spans: dict[str, set[Span]] = defaultdict(set)
    for row in engine.query(Q_SPANS).rows:
        node, doc, file, start, end, exact = row
        where = f"seeds/{file}" if file is not None else short_name(doc)
        spans[short_name(node)].add(Span(where, _int(start), _int(end), str(exact)))
    corpus.spans = {node: tuple(sorted(found)) for node, found in spans.items()}

    for statement, speaker, act, polarity in _rows(engine, Q_STATEMENTS):
        assert statement is not None and speaker is not None
        record = corpus.statements.setdefault(statement, Statement(statement))
        record.speakers.add(speaker)
        if act is not None:
            record.acts.add(act)
        if polarity is not None:
            record.polarities.add(polarity)

    for statement, obj, kind, holder in _rows(engine, Q_ATTRIBUTIONS):
        assert statement and obj and kind and holder
        corpus.attributions.add((statement, obj, kind, holder))

    for position, holder, stance, demand in engine.query(Q_POSITIONS).rows:
        record = corpus.positions.setdefault(short_name(position), Position(short_name(position)))
        record.holders.add(short_name(holder))
        if stance is not None:
            record.stances.add(short_name(stance))
        record.demand = record.demand or bool(demand is not None and demand.toPython())
    for position, target in _rows(engine, Q_TARGETS):
        assert position is not None and target is not None
        corpus.positions[position].targets.add(target)
    for position, statement, relation in _rows(engine, Q_VOICES):
        assert position is not None and statement is not None and relation is not None
        corpus.voices.setdefault(position, set()).add((statement, relation))

    for event, actor in _rows(engine, Q_PARTICIPANTS):
        assert event is not None and actor is not None
        corpus.participants.setdefault(event, set()).add(actor)
    for statement, addressee in _rows(engine, Q_ADDRESSEES):
        assert statement is not None and addressee is not None
        corpus.addressees.add((statement, addressee))
    return corpus


def load_corpus(project: Project) -> Corpus:
    """The corpus of a project: its dataset assembled (inferences from the build cache when
    fresh, as ``kg query`` has it) and queried on the engine."""
    from kg.pipeline import assemble

    built = assemble(project)
    return extract(Engine(built.query_graph()))


# ---------------------------------------------------------------------------
# Evidence
# ---------------------------------------------------------------------------


def _concept(corpus: Corpus, node: str) -> str:
    return corpus.labels.get(node, node.split(":", 1)[-1])


def statement_evidence(corpus: Corpus, statement: str) -> Evidence:
    """A statement as evidence: who said it, with which act and polarity, in which words."""
    record = corpus.statements.get(statement, Statement(statement))
    speakers = ", ".join(sorted(corpus.label(s) for s in record.speakers))
    acts = ", ".join(sorted(_concept(corpus, a) for a in record.acts))
    polarity = ", ".join(sorted(_concept(corpus, p) for p in record.polarities))
    detail = "; ".join(part for part in (speakers, acts, polarity) if part)
    return Evidence(
        "statement", statement, corpus.label(statement), detail, corpus.spans.get(statement, ())
    )


def _position_evidence(corpus: Corpus, position: str) -> list[Evidence]:
    """The statements that voice a position, or the position's own words when none does."""
    voiced = sorted(corpus.voices.get(position, ()))
    if voiced:
        return [statement_evidence(corpus, statement) for statement, _ in voiced]
    record = corpus.positions.get(position, Position(position))
    holders = ", ".join(sorted(corpus.label(h) for h in record.holders))
    stances = ", ".join(sorted(_concept(corpus, s) for s in record.stances))
    return [
        Evidence(
            "position",
            position,
            corpus.label(position),
            "; ".join(p for p in (holders, stances) if p),
            corpus.spans.get(position, ()),
        )
    ]


def _event_evidence(corpus: Corpus, event: str) -> Evidence:
    who = ", ".join(sorted(corpus.label(a) for a in corpus.participants.get(event, ())))
    return Evidence(
        "event",
        event,
        corpus.label(event),
        who and f"participants: {who}",
        corpus.spans.get(event, ()),
    )


# ---------------------------------------------------------------------------
# The three networks
# ---------------------------------------------------------------------------


def _new_graph(corpus: Corpus, kind: str, nodes: set[str], directed: bool) -> nx.Graph:
    graph: nx.Graph = nx.DiGraph() if directed else nx.Graph()
    graph.graph["name"] = f"{kind} network"
    graph.graph["network"] = kind
    graph.graph["signed"] = kind == "stance"
    for node in sorted(nodes):
        actor = corpus.actors.get(node)
        graph.add_node(
            node,
            label=corpus.label(node),
            type=actor.type if actor else "",
            iri=actor.iri if actor else node,
        )
    return graph


def _joined(values) -> str:  # type: ignore[no-untyped-def]
    return ", ".join(sorted(set(values)))


def attribution_network(corpus: Corpus) -> nx.DiGraph:
    """From the speaker of each attribution to the holder of the position, or the participant
    of the event, that it ascribes (an actor attributing to itself is left out)."""
    edges: dict[tuple[str, str], dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for statement, obj, kind, holder in corpus.attributions:
        record = corpus.statements.get(statement)
        for speaker in sorted(record.speakers if record else ()):
            if speaker == holder:
                continue
            data = edges[(speaker, holder)]
            data["statements"].add(statement)
            data["positions" if kind == "position" else "events"].add(obj)
            assert record is not None
            data["acts"] |= {_concept(corpus, a) for a in record.acts}
            data["polarity"] |= {_concept(corpus, p) for p in record.polarities}
    graph = _new_graph(corpus, "attribution", {n for pair in edges for n in pair}, True)
    for (speaker, holder), data in sorted(edges.items()):
        count = len(data["statements"])
        acts = "; ".join(p for p in (_joined(data["acts"]), _joined(data["polarity"])) if p)
        graph.add_edge(
            speaker,
            holder,
            weight=count,
            acts=sorted(data["acts"]),
            polarity=sorted(data["polarity"]),
            statements=sorted(data["statements"]),
            positions=sorted(data["positions"]),
            events=sorted(data["events"]),
            label=f"{acts} ({count})" if acts else f"({count})",
            evidence=tuple(sorted(statement_evidence(corpus, s) for s in data["statements"])),
        )
    return graph


@dataclass(frozen=True)
class _Tie:
    """One piece of stance evidence between two actors."""

    sign: int
    positions: frozenset[str]
    reason: str


def _stance_ties(corpus: Corpus) -> dict[tuple[str, str], dict[_Tie, set[str]]]:
    """(actor, actor) sorted -> tie -> the targets it was found on."""
    ties: dict[tuple[str, str], dict[_Tie, set[str]]] = defaultdict(lambda: defaultdict(set))

    def tie(a: str, b: str, sign: int, positions: set[str], reason: str, on: str | None) -> None:
        if a == b or sign == 0:
            return
        key = (a, b) if a < b else (b, a)
        found = ties[key][_Tie(sign, frozenset(positions), reason)]
        if on is not None:
            found.add(on)

    # target -> [(position, sign, holders)]
    entries: dict[str, list[tuple[str, int, frozenset[str]]]] = defaultdict(list)
    for node, position in sorted(corpus.positions.items()):
        sign = 0 if position.demand else position.sign
        for target in sorted(position.targets):
            if target in corpus.actors and target not in corpus.positions:
                for holder in sorted(position.holders):
                    tie(holder, target, sign, {node}, "stance towards", target)
            elif sign:
                entries[target].append((node, sign, frozenset(position.holders)))
        for a, b in itertools.combinations(sorted(position.holders), 2):
            tie(a, b, 1, {node}, "hold together", None)
    for target, found in entries.items():
        held = corpus.positions.get(target)
        if held is not None:  # a position's holders stand for it
            found.append((target, 1, frozenset(held.holders)))
        for (p1, s1, h1), (p2, s2, h2) in itertools.combinations(sorted(set(found)), 2):
            if p1 == p2:
                continue
            for a in sorted(h1):
                for b in sorted(h2):
                    tie(a, b, s1 * s2, {p1, p2}, "same target", target)
    return ties


def _relation(agree: int, oppose: int) -> str:
    if agree and oppose:
        return "mostly agree" if agree > oppose else "mostly oppose" if oppose > agree else "mixed"
    return "agree" if agree else "oppose"


def stance_network(corpus: Corpus) -> nx.Graph:
    """The signed network of agreement and opposition (rules in the module's docstring)."""
    ties = _stance_ties(corpus)
    graph = _new_graph(corpus, "stance", {n for pair in ties for n in pair}, False)
    for (a, b), found in sorted(ties.items()):
        agree = sum(1 for t in found if t.sign > 0)
        oppose = sum(1 for t in found if t.sign < 0)
        sign = (agree > oppose) - (agree < oppose)
        relation = _relation(agree, oppose)
        positions = sorted({p for t in found for p in t.positions})
        targets = sorted({on for on_set in found.values() for on in on_set})
        evidence = sorted({e for p in positions for e in _position_evidence(corpus, p)})
        pieces = sorted(
            f"{'agree' if t.sign > 0 else 'oppose'} ({t.reason}): {' + '.join(sorted(t.positions))}"
            + (f" on {', '.join(sorted(on))}" if on else "")
            for t, on in found.items()
        )
        graph.add_edge(
            a,
            b,
            sign=sign,
            relation=relation,
            agree=agree,
            oppose=oppose,
            weight=agree + oppose,
            positions=positions,
            targets=targets,
            target_labels=[corpus.label(t) for t in targets],
            reasons=sorted({t.reason for t in found}),
            ties=pieces,
            statements=sorted({e.node for e in evidence if e.kind == "statement"}),
            label=f"{relation} {agree}:{oppose}",
            evidence=tuple(evidence),
        )
    return graph


def interaction_network(corpus: Corpus) -> nx.Graph:
    """Actors who take part in the same event, or of whom one addresses the other."""
    edges: dict[tuple[str, str], dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for event, actors in corpus.participants.items():
        for a, b in itertools.combinations(sorted(actors), 2):
            edges[(a, b)]["events"].add(event)
    for statement, addressee in corpus.addressees:
        record = corpus.statements.get(statement)
        for speaker in sorted(record.speakers if record else ()):
            if speaker != addressee:
                key = (speaker, addressee) if speaker < addressee else (addressee, speaker)
                edges[key]["statements"].add(statement)
    graph = _new_graph(corpus, "interaction", {n for pair in edges for n in pair}, False)
    for (a, b), data in sorted(edges.items()):
        events, statements = sorted(data["events"]), sorted(data["statements"])
        parts = []
        if events:
            parts.append(f"{len(events)} event{'s' if len(events) != 1 else ''}")
        if statements:
            parts.append(f"{len(statements)} addressed")
        graph.add_edge(
            a,
            b,
            weight=len(events) + len(statements),
            events=events,
            statements=statements,
            label=", ".join(parts),
            evidence=tuple(
                [_event_evidence(corpus, e) for e in events]
                + [statement_evidence(corpus, s) for s in statements]
            ),
        )
    return graph


_BUILDERS = {
    "attribution": attribution_network,
    "stance": stance_network,
    "interaction": interaction_network,
}


def build(corpus: Corpus, kind: str) -> nx.Graph:
    """The network ``kind`` (one of :data:`KINDS`) of ``corpus``."""
    if kind not in _BUILDERS:
        raise InputError(f"unknown network {kind!r}; choose one of {', '.join(KINDS)}")
    return _BUILDERS[kind](corpus)


# ---------------------------------------------------------------------------
# Naming an actor
# ---------------------------------------------------------------------------


def resolve_actor(corpus: Corpus, name: str) -> str:
    """The CURIE of the actor ``name`` names: a CURIE (``actor:russia``), an IRI (bare or in
    angle brackets), or a label or alternative label (case-insensitive). Raises
    :class:`InputError` (exit 2) when no actor or several match."""
    wanted = name.strip()
    bare = wanted[1:-1] if wanted.startswith("<") and wanted.endswith(">") else wanted
    for actor in corpus.actors.values():
        if bare in (actor.curie, actor.iri):
            return actor.curie
    folded = wanted.casefold()
    found = sorted(
        a.curie for a in corpus.actors.values() if any(n.casefold() == folded for n in a.names)
    )
    if len(found) == 1:
        return found[0]
    if found:
        raise InputError(f"actor name {name!r} is ambiguous: it names {', '.join(found)}")
    looks_like = ":" in bare and bare.split(":", 1)[0] in PREFIXES
    hint = _suggest(corpus, bare.split(":", 1)[1] if looks_like else wanted)
    what = "CURIE" if looks_like else "label or CURIE"
    raise InputError(f"unknown actor {name!r}: no actor has this {what}{hint}")


def _suggest(corpus: Corpus, text: str) -> str:
    """A hint naming up to three actors whose names contain ``text`` or come close to it
    (empty when none does)."""
    folded = text.casefold().replace("-", " ")
    names: dict[str, str] = {}
    for actor in sorted(corpus.actors.values(), key=lambda a: a.curie):
        local = actor.curie.split(":", 1)[-1].replace("-", " ")
        for n in (local, *actor.names):
            names.setdefault(n.casefold(), actor.curie)
    found = sorted({c for n, c in names.items() if folded and folded in n})
    if not found:
        close = difflib.get_close_matches(folded, list(names), n=3, cutoff=0.6)
        found = sorted({names[n] for n in close})
    return "; did you mean " + " or ".join(found[:3]) + "?" if found else ""
