"""Synthetic corpora with the shape of the seed corpus, for measuring the pipeline at scale.

:func:`generate` writes a complete project folder: the ontology, shapes, queries and checks
copied from this project, and ``seeds/`` with ``5 * scale`` generated articles. Each article is
an English text filled from templates with seeded random choices, and its mapping, with about
the proportions of a hand-mapped seed article: 25 actors mentioned, 41 statements (15
attributions with their reported statements, 3 disputes), 24 positions (7 demands), 2 proposal
versions with 3 points (each a revision of an earlier article's version), 16 events with
participants and places, 3 reported figures, about 60 time expressions and 250 mentions.
Offsets are taken while the text is written, so every mention selects its words.

Actors, states and places come from a fixed pool written once to ``seeds/shared.ttl``; each
article names a slice of it (so that every pool actor is mentioned at scale 1) besides its own
unnamed sources, groups and delegation. Articles are written one at a time, and the same scale
and seed always give the same bytes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from kg.spans import turtle_string

ARTICLES_PER_SCALE = 5
COPIED_DIRS = ("ontology", "shapes", "queries", "checks")
START_DATE = dt.date(2025, 1, 6)

PREFIXES = """@prefix actor: <https://w3id.org/dip/id/actor/> .
@prefix dip: <https://w3id.org/dip/ontology#> .
@prefix dv: <https://w3id.org/dip/vocab/> .
@prefix ev: <https://w3id.org/dip/id/event/> .
@prefix oa: <http://www.w3.org/ns/oa#> .
@prefix place: <https://w3id.org/dip/id/place/> .
@prefix pos: <https://w3id.org/dip/id/position/> .
@prefix prop: <https://w3id.org/dip/id/proposal/> .
@prefix pt: <https://w3id.org/dip/id/point/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix src: <https://w3id.org/dip/id/source/> .
@prefix st: <https://w3id.org/dip/id/statement/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
"""

# ---------------------------------------------------------------------------
# The pool: states, places, people, organisations and outlets (fictional)
# ---------------------------------------------------------------------------

STATES = [
    ("Norland", "Velsk", "Norlandic"),
    ("Varesia", "Tarn", "Varesian"),
    ("Ostria", "Kalmar", "Ostrian"),
    ("Belmark", "Rysa", "Belmarkian"),
    ("Caldera", "Monteval", "Calderan"),
    ("Drovenia", "Lutsk", "Drovenian"),
    ("Estrava", "Ponta", "Estravan"),
    ("Ferrin", "Halden", "Ferrinese"),
    ("Galvia", "Mirov", "Galvian"),
    ("Hestia", "Corrin", "Hestian"),
    ("Istrel", "Vanta", "Istrelian"),
    ("Jorvik", "Skarn", "Jorvikian"),
    ("Kestria", "Orlo", "Kestrian"),
    ("Lumeria", "Sabel", "Lumerian"),
    ("Marovia", "Teplin", "Marovian"),
    ("Nesland", "Brugge", "Neslandic"),
]
REGIONS = [
    "Orvek",
    "Dalmen",
    "Kessa",
    "Vyrna",
    "Tolbek",
    "Sarn",
    "Ilmar",
    "Pradov",
    "Gorsk",
    "Hollin",
    "Mettar",
    "Ruvno",
    "Zelda",
    "Astrov",
    "Brenna",
    "Cortal",
    "Dunmore",
]
FIRST = [
    "Anna",
    "Boris",
    "Clara",
    "Dmitar",
    "Elena",
    "Farid",
    "Greta",
    "Henrik",
    "Irina",
    "Jonas",
    "Katya",
    "Lukas",
    "Marta",
    "Nikolai",
    "Olga",
    "Pavel",
    "Rosa",
    "Stefan",
    "Tomas",
    "Vera",
    "Yuri",
    "Zora",
    "Adrian",
    "Mila",
]
LAST = [
    "Petrova",
    "Halvorsen",
    "Marek",
    "Dunai",
    "Kovalen",
    "Brandt",
    "Sokol",
    "Varga",
    "Lindqvist",
    "Orlov",
    "Tamas",
    "Reyes",
    "Novak",
    "Eklund",
    "Ferrante",
    "Moravec",
    "Castell",
    "Rudin",
    "Weiss",
    "Albescu",
    "Kerr",
    "Iversen",
    "Lazar",
    "Ostrom",
]
ROLES = [
    ("HeadOfState", "President"),
    ("ForeignMinister", "foreign minister"),
    ("Spokesperson", "government spokesperson"),
    ("DefenceMinister", "defence minister"),
    ("HeadOfGovernment", "Prime Minister"),
    ("SpecialEnvoy", "special envoy"),
    ("Ambassador", "ambassador"),
    ("PresidentialAide", "presidential aide"),
]
ORG_KINDS = ["Ministry of Defence", "Foreign Ministry", "armed forces"]
INTERNATIONAL = [
    ("northern-alliance", "Northern Alliance"),
    ("continental-union", "Continental Union"),
    ("council-of-harbour-states", "Council of Harbour States"),
    ("monitoring-mission", "Joint Monitoring Mission"),
    ("relief-agency", "International Relief Agency"),
    ("energy-agency", "Continental Energy Agency"),
]
OUTLETS = [
    ("meridian-wire", "Meridian Wire"),
    ("harbour-ledger", "The Harbour Ledger"),
    ("eastgate-press", "Eastgate Press Agency"),
]
FAMILIES = [
    ("harbour-framework", "Harbour framework", "framework"),
    ("lakeside-plan", "Lakeside plan", "plan"),
    ("twelve-bridges-initiative", "Twelve Bridges initiative", "initiative"),
    ("ashford-proposals", "Ashford proposals", "proposals"),
    ("corridor-plan", "Northern Corridor plan", "plan"),
    ("kestrel-accord", "Kestrel accord", "accord"),
]
# issue -> (what a demand asks of someone, what a proposal point provides)
ISSUES = {
    "Territory": ("withdraw its forces from the {region} region", "a withdrawal from {region}"),
    "Ceasefire": (
        "agree to a ceasefire along the current front line",
        "a ceasefire along the front",
    ),
    "Sanctions": ("lift the sanctions on its banks", "a phased lifting of sanctions"),
    "PrisonerExchange": ("release all prisoners of war", "an all-for-all prisoner exchange"),
    "Monitoring": ("admit international monitors", "international monitors in {region}"),
    "ArmySize": ("cap the size of its army", "a cap on the size of the army"),
    "Neutrality": ("renounce membership of any alliance", "a pledge of neutrality"),
    "Reparations": ("pay reparations for the damage", "a reparations fund"),
    "SecurityGuarantees": ("give written security guarantees", "written security guarantees"),
    "Humanitarian": ("open a humanitarian corridor to {region}", "humanitarian corridors"),
    "Reconstruction": ("fund the reconstruction of {region}", "a reconstruction fund for {region}"),
    "NuclearPlant": (
        "hand back control of the Sarn power plant",
        "joint control of the power plant",
    ),
}
STANCE_PHRASES = {
    "Supports": "backs",
    "Opposes": "opposes",
    "Accepts": "accepts",
    "Rejects": "rejects",
    "WouldAccept": "could accept",
    "WouldReject": "would not accept",
}
UNNAMED = [
    ("two diplomats", 2),
    ("a senior official", 1),
    ("officials familiar with the talks", None),
    ("three people briefed on the negotiations", 3),
    ("a person close to the delegation", 1),
    ("western officials", None),
]
GROUPS = [
    "protesters in {capital}",
    "{adj} opposition lawmakers",
    "aid workers in {region}",
    "residents of {region}",
    "{adj} veterans' groups",
]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def _slug(text: str) -> str:
    out = "".join(ch.lower() if ch.isalnum() else "-" for ch in text)
    return "-".join(part for part in out.split("-") if part)


@dataclass
class Actor:
    iri: str
    kind: str  # Person, State, Organization, NewsOutlet, Group, UnnamedSource, Delegation
    label: str
    alt: list[str] = field(default_factory=list)
    state: Actor | None = None
    role: tuple[str, str] | None = None  # (role type, title)
    described: str = ""
    count: int | None = None

    @property
    def short(self) -> str:
        return self.alt[0] if self.alt else self.label


@dataclass
class Pool:
    states: list[Actor]
    actors: list[Actor]  # every pool actor, states included
    capitals: list[str]
    places: list[tuple[str, str]]  # (iri, label)

    @property
    def outlets(self) -> list[Actor]:
        return [a for a in self.actors if a.kind == "NewsOutlet"]


def build_pool(seed: int) -> Pool:
    rng = random.Random(f"pool-{seed}")
    states = [
        Actor(f"actor:{_slug(n)}", "State", n, alt=[c], described=adj) for n, c, adj in STATES
    ]
    people: list[Actor] = []
    names = [(f, ln) for f in FIRST for ln in LAST]
    rng.shuffle(names)
    for i in range(24):
        first, last = names[i]
        state = states[i % len(states)]
        role = ROLES[i % len(ROLES)]
        people.append(
            Actor(
                f"actor:{_slug(first + ' ' + last)}",
                "Person",
                f"{first} {last}",
                alt=[last],
                state=state,
                role=role,
            )
        )
    orgs: list[Actor] = []
    for i in range(12):
        state = states[i]
        kind = ORG_KINDS[i % len(ORG_KINDS)]
        label = f"{state.described} {kind}"
        orgs.append(Actor(f"actor:{_slug(label)}", "Organization", label, state=state))
    for slug, label in INTERNATIONAL:
        orgs.append(Actor(f"actor:{slug}", "Organization", label))
    outlets = [Actor(f"actor:{slug}", "NewsOutlet", label) for slug, label in OUTLETS]
    # Interleave so that any slice of the pool holds every kind.
    actors: list[Actor] = []
    groups = [states, people, orgs, outlets]
    longest = max(len(g) for g in groups)
    for i in range(longest):
        for g in groups:
            if i < len(g):
                actors.append(g[i])
    places = [(f"place:{_slug(c)}", c) for _n, c, _a in STATES]
    places += [(f"place:{_slug(r)}-region", f"{r} region") for r in REGIONS]
    return Pool(states, actors, [c for _n, c, _a in STATES], places)


# ---------------------------------------------------------------------------
# Turtle: nodes as (predicate, objects) pairs, counted as they are written
# ---------------------------------------------------------------------------

Pairs = list[tuple[str, list["Obj"]]]


class Blank:
    __slots__ = ("pairs",)

    def __init__(self, *pairs: tuple[str, list[Obj]]) -> None:
        self.pairs: Pairs = list(pairs)


Obj = str | Blank


def _count(pairs: Pairs) -> int:
    n = 0
    for _p, objs in pairs:
        for o in objs:
            n += 1
            if isinstance(o, Blank):
                n += _count(o.pairs)
    return n


def _inline(pairs: Pairs) -> str:
    return " ; ".join(f"{p} {' , '.join(_obj(o) for o in objs)}" for p, objs in pairs)


def _obj(o: Obj) -> str:
    return f"[ {_inline(o.pairs)} ]" if isinstance(o, Blank) else o


def _node(subject: str, pairs: Pairs) -> str:
    pairs = [(p, objs) for p, objs in pairs if objs]
    body = " ;\n    ".join(f"{p} {' , '.join(_obj(o) for o in objs)}" for p, objs in pairs)
    return f"{subject} {body} .\n"


def lit(value: str) -> str:
    return turtle_string(value)


def xdate(day: dt.date) -> str:
    return f'"{day.isoformat()}"^^xsd:date'


# ---------------------------------------------------------------------------
# Text with offsets
# ---------------------------------------------------------------------------

Callback = Callable[[int, int, str], None]


class Seg:
    """A piece of text whose span is reported to ``cb`` once it is written."""

    __slots__ = ("cb", "parts")

    def __init__(self, cb: Callback, *parts: str | Seg) -> None:
        self.cb = cb
        self.parts = parts


def _noop(start: int, end: int, exact: str) -> None:
    return None


class Text:
    def __init__(self) -> None:
        self.parts: list[str] = []
        self.pos = 0

    def write(self, *segs: str | Seg) -> str:
        out = []
        for seg in segs:
            if isinstance(seg, str):
                self.parts.append(seg)
                self.pos += len(seg)
                out.append(seg)
            else:
                start = self.pos
                exact = self.write(*seg.parts)
                seg.cb(start, self.pos, exact)
                out.append(exact)
        return "".join(out)

    def value(self) -> str:
        return "".join(self.parts)


# ---------------------------------------------------------------------------
# One article
# ---------------------------------------------------------------------------


@dataclass
class Stats:
    articles: int
    triples: int
    seconds: float
    bytes: int = 0

    def line(self) -> str:
        return (
            f"articles: {self.articles}; triples: {self.triples}; "
            f"bytes: {self.bytes}; seconds: {self.seconds:.2f}"
        )


class Article:
    """The text and mapping of one synthetic article, written together."""

    def __init__(self, index: int, width: int, pool: Pool, seed: int, n_articles: int) -> None:
        self.i = index
        self.sid = f"{index:0{width}d}"
        self.width = width
        self.src = f"src:{self.sid}"
        self.pool = pool
        self.rng = random.Random(f"article-{seed}-{index}")
        self.pub = START_DATE + dt.timedelta(days=(index * 7) % 720 + index // 103)
        self.text = Text()
        self.nodes: list[tuple[str, Pairs]] = []  # subject, pairs (written in this order)
        self.actor_mentions: dict[str, list[Obj]] = {}
        self.actor_roles: dict[str, list[Obj]] = {}
        self.place_mentions: dict[str, list[Obj]] = {}
        self.mentioned: set[str] = set()
        self.n_st = 0
        self.dateline: Blank | None = None
        self._pick_actors()

    # -- helpers -------------------------------------------------------------

    def mention(self, start: int, end: int, exact: str) -> Blank:
        return Blank(
            ("a", ["dip:Mention"]),
            ("dip:inSource", [self.src]),
            ("oa:start", [str(start)]),
            ("oa:end", [str(end)]),
            ("oa:exact", [lit(exact)]),
        )

    def grab(self, into: list[Obj]) -> Callback:
        def cb(s: int, e: int, x: str) -> None:
            into.append(self.mention(s, e, x))

        return cb

    def _pick_actors(self) -> None:
        pool = self.pool.actors
        P = len(pool)
        n = 13
        chosen = [pool[(self.i * n + j) % P] for j in range(n)]
        seen = {a.iri for a in chosen}
        outlet = self.pool.outlets[self.i % len(self.pool.outlets)]
        self.outlet = outlet
        extra_states = self.rng.sample(self.pool.states, 3)
        people = [a for a in pool if a.kind == "Person"]
        extra_people = self.rng.sample(people, 3)
        for a in [*extra_states, *extra_people, outlet]:
            if a.iri not in seen:
                chosen.append(a)
                seen.add(a.iri)
        self.pool_present = chosen
        state = self.rng.choice(self.pool.states)
        region = self.rng.choice(REGIONS)
        local: list[Actor] = []
        for desc, count in UNNAMED:
            local.append(
                Actor(
                    f"actor:{self.sid}-{_slug(desc)}",
                    "UnnamedSource",
                    f"{desc} ({outlet.label}, {self.pub.isoformat()})",
                    described=desc,
                    count=count,
                )
            )
        for g in GROUPS:
            s = self.rng.choice(self.pool.states)
            desc = g.format(capital=s.short, adj=s.described, region=region)
            local.append(Actor(f"actor:{self.sid}-{_slug(desc)}", "Group", desc, described=desc))
        desc = f"the {state.described} delegation"
        local.append(
            Actor(
                f"actor:{self.sid}-{_slug(state.label)}-delegation",
                "Delegation",
                f"{state.described} delegation ({outlet.label}, {self.pub.isoformat()})",
                state=state,
                described=desc,
            )
        )
        self.local = local
        self.present = chosen + local

    def actor(self, kinds: Iterable[str], exclude: Iterable[Actor] = ()) -> Actor:
        kinds = set(kinds)
        ex = {a.iri for a in exclude}
        cands = [a for a in self.present if a.kind in kinds and a.iri not in ex]
        fresh = [a for a in cands if a.iri not in self.mentioned]
        if fresh:
            return fresh[0]
        return self.rng.choice(cands)

    def name(self, a: Actor, cap: bool = False) -> Seg | str:
        """The words naming ``a`` (with its role the first time a person is named)."""
        mentions = self.actor_mentions.setdefault(a.iri, [])
        first = a.iri not in self.mentioned
        self.mentioned.add(a.iri)
        if a.kind == "Person":
            if first and a.role and a.state:
                role_mentions: list[Obj] = []
                self.actor_roles.setdefault(a.iri, []).append(
                    Blank(
                        ("a", ["dip:Role"]),
                        ("dip:roleType", [f"dv:{a.role[0]}"]),
                        ("dip:roleIn", [a.state.iri]),
                        ("dip:roleTitle", [lit(a.role[1])]),
                        ("dip:denotedBy", role_mentions),
                    )
                )
                return Seg(
                    self.grab(role_mentions),
                    f"{a.state.described} {a.role[1]} ",
                    Seg(self.grab(mentions), a.label),
                )
            return Seg(self.grab(mentions), a.short)
        if a.kind == "State":
            words = a.label if first or self.rng.random() < 0.6 else a.short
            return Seg(self.grab(mentions), words)
        if a.kind == "Organization" and a.state:
            return Seg(_noop, "The " if cap else "the ", Seg(self.grab(mentions), a.label))
        if a.kind in ("Organization", "NewsOutlet"):
            return Seg(self.grab(mentions), a.label)
        words = a.described
        if cap:
            words = words[0].upper() + words[1:]
        return Seg(self.grab(mentions), words)

    def place(self) -> tuple[str, Seg]:
        places = self.pool.places
        self.n_places = getattr(self, "n_places", 0) + 1
        iri, label = places[(self.i * 7 + self.n_places) % len(places)]
        words = label if not label.endswith("region") else f"the {label}"
        ms = self.place_mentions.setdefault(iri, [])
        return iri, Seg(self.grab(ms), words)

    def day_time(self) -> tuple[Blank, Seg]:
        """A time phrase in the text ('on Tuesday', 'last month') and its time expression."""
        ms: list[Obj] = []
        r = self.rng.random()
        if r < 0.12:
            first = (self.pub.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
            last = self.pub.replace(day=1) - dt.timedelta(days=1)
            words = "last month"
            te = Blank(
                ("a", ["dip:TimeExpression"]),
                ("dip:timeText", [lit(words)]),
                ("dip:earliest", [xdate(first)]),
                ("dip:latest", [xdate(last)]),
                ("dip:precision", ["dv:MonthPrecision"]),
                ("dip:timeBasis", [lit(f"The month before publication on {self.pub}.")]),
                ("dip:denotedBy", ms),
            )
            return te, Seg(self.grab(ms), words)
        back = self.rng.randint(0, 6)
        day = self.pub - dt.timedelta(days=back)
        wd = WEEKDAYS[day.weekday()]
        words = f"on {wd}"
        basis = (
            f"{wd} = the publication day {self.pub}."
            if back == 0
            else f"{wd} before publication on {WEEKDAYS[self.pub.weekday()]} {self.pub}."
        )
        te = Blank(
            ("a", ["dip:TimeExpression"]),
            ("dip:timeText", [lit(words)]),
            ("dip:earliest", [xdate(day)]),
            ("dip:latest", [xdate(day)]),
            ("dip:precision", ["dv:DayPrecision"]),
            ("dip:timeBasis", [lit(basis)]),
            ("dip:denotedBy", ms),
        )
        return te, Seg(self.grab(ms), words)

    def bounded_time(self) -> Blank:
        assert self.dateline is not None
        return Blank(
            ("a", ["dip:TimeExpression"]),
            ("dip:latest", [xdate(self.pub)]),
            ("dip:precision", ["dv:BoundedPrecision"]),
            (
                "dip:timeBasis",
                [lit(f"The text gives no time; no later than publication on {self.pub}.")],
            ),
            ("dip:denotedBy", [self.dateline]),
        )

    def st_id(self, slug: str) -> str:
        self.n_st += 1
        return f"st:{self.sid}-{self.n_st:02d}-{slug}"

    def para(self, *sentences: Callable[[], None]) -> None:
        for k, s in enumerate(sentences):
            if k:
                self.text.write(" ")
            s()
        self.text.write("\n\n")

    # -- content -------------------------------------------------------------

    def build(self) -> None:
        rng = self.rng
        t = self.text
        home = rng.choice(self.pool.states)
        self.home = home
        fam_a = FAMILIES[0] if self.i % 2 == 0 else FAMILIES[1]
        fam_b = FAMILIES[2 + self.i % 4]
        headline_ms: list[Obj] = []
        self.headline = f"Talks on the {fam_a[1]} resume as pressure mounts"
        t.write(Seg(self.grab(headline_ms), self.headline), "\n")
        dl_place = f"place:{_slug(home.short)}"
        dl: list[Obj] = []

        def dl_cb(s: int, e: int, x: str) -> None:
            self.dateline = self.mention(s, e, x)
            dl.append(self.dateline)

        pm = self.place_mentions.setdefault(dl_place, [])
        t.write(Seg(self.grab(pm), home.short), " ", Seg(dl_cb, self.pub.isoformat()), "\n\n")
        self.headline_ms = headline_ms
        self.dl_place = dl_place
        self.published = Blank(
            ("a", ["dip:TimeExpression"]),
            ("dip:timeText", [lit(self.pub.isoformat())]),
            ("dip:earliest", [xdate(self.pub)]),
            ("dip:latest", [xdate(self.pub)]),
            ("dip:precision", ["dv:DayPrecision"]),
            ("dip:timeBasis", [lit("Date line at the top of the text.")]),
            ("dip:denotedBy", dl),
        )
        self.delegation_unit()
        self.proposals: list[tuple[str, str, list[tuple[str, str]]]] = []
        self.proposal_unit(fam_a, 2)
        self.proposal_unit(fam_b, 1)
        units = ["A"] * 15 + ["S"] * 6 + ["E"] * 16
        rng.shuffle(units)
        demand_slots = set(rng.sample([k for k, u in enumerate(units) if u == "A"], 4))
        demand_slots |= set(rng.sample([k for k, u in enumerate(units) if u == "S"], 3))
        dispute_slots = set(rng.sample([k for k, u in enumerate(units) if u == "A"], 3))
        figure_slots = set(rng.sample([k for k, u in enumerate(units) if u == "E"], 3))
        for k, u in enumerate(units):
            if u == "A":
                inner = self.attribution_unit(k in demand_slots)
                if k in dispute_slots:
                    self.dispute_unit(*inner)
            elif u == "S":
                self.quote_unit(k in demand_slots)
            else:
                self.event_unit(k in figure_slots)
        left = [
            a for a in self.present if a.iri not in self.mentioned and a.kind != "UnnamedSource"
        ]
        while left:
            self.event_unit(False, participants=left[:3])
            left = left[3:]
        for a in self.present:  # unnamed sources nobody quoted: give them a line of their own
            if a.iri not in self.mentioned:
                self.attribution_unit(False, attributor=a)
        credit_ms = self.actor_mentions.setdefault(self.outlet.iri, [])
        t.write("Reporting by ", Seg(self.grab(credit_ms), self.outlet.label), "\n")
        self.mentioned.add(self.outlet.iri)

    def delegation_unit(self) -> None:
        """'The X delegation was led by …': a leader with a role in the delegation."""
        dele = next(a for a in self.local if a.kind == "Delegation")
        assert dele.state is not None
        leader = next(a for a in self.pool.actors if a.kind == "Person" and a.state is dele.state)
        if leader not in self.pool_present:
            self.pool_present.append(leader)
            self.present.append(leader)
        lead_ms: list[Obj] = []
        self.text.write(
            self.name(dele, cap=True),
            " was ",
            Seg(self.grab(lead_ms), "led by ", self.name(leader)),
            ".\n\n",
        )
        self.actor_roles.setdefault(leader.iri, []).append(
            Blank(
                ("a", ["dip:Role"]),
                ("dip:roleType", ["dv:DelegationLeader"]),
                ("dip:roleIn", [dele.iri]),
                ("dip:roleTitle", [lit("led by")]),
                ("dip:denotedBy", lead_ms),
            )
        )
        self.leader = (leader, dele)

    def target_object(self) -> tuple[str, Seg, list[str]]:
        """A proposal or one of its points as words in the text: (IRI, words, issues)."""
        prop, words, points = self.rng.choice(self.proposals)
        ms = self.obj_mentions.setdefault(prop, [])
        if points and self.rng.random() < 0.5:
            pt_iri, issue = self.rng.choice(points)
            pms = self.obj_mentions.setdefault(pt_iri, [])
            label = ISSUES[issue][1].format(region=self.region)
            return pt_iri, Seg(self.grab(pms), f"the {words}'s call for {label}"), [issue]
        return prop, Seg(self.grab(ms), f"the {words}"), []

    def proposal_unit(self, fam: tuple[str, str, str], n_points: int) -> None:
        rng = self.rng
        if not hasattr(self, "obj_mentions"):
            self.obj_mentions: dict[str, list[Obj]] = {}
            self.region = rng.choice(REGIONS)
        slug, words, kind = fam
        prop = f"prop:{self.sid}-{slug}"
        backer = self.actor(["State"])
        issues = rng.sample(sorted(ISSUES), n_points)
        points = [(f"pt:{self.sid}-{slug}-{k + 1}", iss) for k, iss in enumerate(issues)]
        pms = self.obj_mentions.setdefault(prop, [])
        te, when = self.day_time()
        stmt = self.st_id(f"{_slug(backer.label)}-presents-{slug}")
        st_ms: list[Obj] = []
        point_ms: dict[str, list[Obj]] = {p: self.obj_mentions.setdefault(p, []) for p, _ in points}
        point_words = [
            Seg(self.grab(point_ms[p]), ISSUES[iss][1].format(region=self.region))
            for p, iss in points
        ]
        listing: list[str | Seg] = [point_words[0]]
        if len(point_words) > 1:
            listing += [" and ", point_words[1]]
        self.text.write(
            Seg(
                self.grab(st_ms),
                self.name(backer, cap=True),
                " presented ",
                Seg(self.grab(pms), f"a revised draft of the {words}"),
                " ",
                when,
            ),
            f". The {n_points}-point {kind} calls for ",
            *listing,
            ".\n\n",
        )
        prev = self.prev_version(slug)
        pairs: Pairs = [
            ("a", ["dip:Proposal"]),
            ("rdfs:label", [lit(f"{words} (version of {self.pub}, source {self.sid})")]),
            ("dip:backedBy", [backer.iri]),
            ("dip:presentedBy", [backer.iri]),
            ("dip:authoredBy", [backer.iri]),
            ("dip:about", [f"dv:{iss}" for iss in issues]),
            ("dip:pointCount", [str(n_points)]),
            ("dip:hasPoint", [p for p, _ in points]),
            ("dip:revisionOf", [prev] if prev else []),
            ("dip:denotedBy", pms),
        ]
        self.nodes.append((prop, pairs))
        for k, (p, iss) in enumerate(points):
            self.nodes.append(
                (
                    p,
                    [
                        ("a", ["dip:ProposalPoint"]),
                        (
                            "rdfs:label",
                            [
                                lit(
                                    f"{words} ({self.sid}): "
                                    + ISSUES[iss][1].format(region=self.region)
                                )
                            ],
                        ),
                        ("dip:pointOf", [prop]),
                        ("dip:pointNumber", [str(k + 1)]),
                        ("dip:about", [f"dv:{iss}"]),
                        ("dip:denotedBy", point_ms[p]),
                    ],
                )
            )
        self.nodes.append(
            (
                stmt,
                [
                    ("a", ["dip:Statement"]),
                    (
                        "rdfs:label",
                        [lit(f"{backer.label}: presents a revised draft of the {words}")],
                    ),
                    ("dip:speaker", [backer.iri]),
                    ("dip:actType", ["dv:Propose"]),
                    ("dip:target", [prop]),
                    ("dip:certainty", ["dv:Certain"]),
                    ("dip:polarity", ["dv:Positive"]),
                    ("dip:mode", ["dv:ReportedSpeech"]),
                    ("dip:reportingCue", [lit("presented")]),
                    ("dip:saidAt", [te]),
                    ("dip:denotedBy", st_ms),
                ],
            )
        )
        self.proposals.append((prop, words, points))

    def prev_version(self, slug: str) -> str | None:
        """The same family's version in the nearest earlier article (chains restart every 8)."""
        for back in range(1, 9):
            j = self.i - back
            if j < 0 or j // 8 != self.i // 8:
                return None
            fams = [FAMILIES[0] if j % 2 == 0 else FAMILIES[1], FAMILIES[2 + j % 4]]
            if any(f[0] == slug for f in fams):
                return f"prop:{j:0{self.width}d}-{slug}"
        return None

    def position(
        self,
        holder: Actor,
        demand: bool,
        pos_ms: list[Obj],
        certainty: str,
        hedge: str | None,
        obj: tuple[str, list[str]] | None,
        demanded_of: Actor | None,
        issue: str | None,
        stance: str,
    ) -> str:
        pid = f"pos:{self.sid}-{self.n_st:02d}-{_slug(holder.label)}"
        if demand:
            assert demanded_of is not None and issue is not None
            label = f"{holder.label} demands that {demanded_of.label} " + ISSUES[issue][0].format(
                region=self.region
            )
            pairs: Pairs = [
                ("a", ["dip:Demand"]),
                ("rdfs:label", [lit(label)]),
                ("dip:holder", [holder.iri]),
                ("dip:stance", ["dv:Demands"]),
                ("dip:demandedOf", [demanded_of.iri]),
                ("dip:about", [f"dv:{issue}"]),
            ]
            if issue in ("Territory", "Humanitarian", "Reconstruction", "Monitoring"):
                pairs.append(("dip:concernsPlace", [f"place:{_slug(self.region)}-region"]))
        else:
            assert obj is not None
            iri, issues = obj
            label = f"{holder.label} {STANCE_PHRASES[stance]} {iri.split(':', 1)[1]}"
            pairs = [
                ("a", ["dip:Position"]),
                ("rdfs:label", [lit(label)]),
                ("dip:holder", [holder.iri]),
                ("dip:stance", [f"dv:{stance}"]),
                ("dip:on", [iri]),
                ("dip:about", [f"dv:{i}" for i in issues]),
            ]
        pairs += [
            ("dip:certainty", [certainty]),
            ("dip:hedgeCue", [lit(hedge)] if hedge else []),
            ("dip:denotedBy", pos_ms),
        ]
        self.nodes.append((pid, pairs))
        return pid

    def content(
        self, holder: Actor, demand: bool, pos_ms: list[Obj]
    ) -> tuple[list[str | Seg], bool, tuple[str, list[str]] | None, Actor | None, str | None, str]:
        if demand:
            of = self.actor(["State", "Organization", "Person"], exclude=[holder])
            issue = self.rng.choice(sorted(ISSUES))
            action = ISSUES[issue][0].format(region=self.region)
            words: list[str | Seg] = [Seg(self.grab(pos_ms), "that ", self.name(of), f" {action}")]
            return words, True, None, of, issue, "Demands"
        stance = self.rng.choice(sorted(STANCE_PHRASES))
        iri, seg, issues = self.target_object()
        words = [Seg(self.grab(pos_ms), f"{STANCE_PHRASES[stance]} ", seg)]
        return words, False, (iri, issues), None, None, stance

    def attribution_unit(
        self, demand: bool, attributor: Actor | None = None
    ) -> tuple[str, str, Actor]:
        rng = self.rng
        a = attributor or self.actor(["UnnamedSource", "NewsOutlet", "Person"])
        h = self.actor(["State", "Person", "Organization", "Group", "Delegation"], exclude=[a])
        cue = rng.choice(["said", "reported", "told reporters", "claimed"])
        inner_cue = (
            "had demanded"
            if demand
            else rng.choice(["had told negotiators", "had signalled", "privately indicated"])
        )
        pos_ms: list[Obj] = []
        att_ms: list[Obj] = []
        in_ms: list[Obj] = []
        te, when = self.day_time()
        words, is_demand, obj, of, issue, stance = self.content(h, demand, pos_ms)
        att = self.st_id(f"{_slug(a.label)[:40]}-reports")
        inner = self.st_id(f"{_slug(h.label)[:40]}-{_slug(inner_cue)}")
        hedge = f"{a.described or a.short} {cue}"
        plural = h.kind in ("Group", "Delegation", "UnnamedSource")
        pronoun = " " if is_demand else (" that they " if plural else " that it ")
        lead = ["According to ", self.name(a), ", "] if rng.random() < 0.5 else None
        if lead:
            body = [
                *lead,
                Seg(self.grab(in_ms), self.name(h), f" {inner_cue} ", when, pronoun, *words),
            ]
            self.text.write(Seg(self.grab(att_ms), *body), ". ")
            cue = "according to"
            hedge = f"According to {a.described or a.short}"
        else:
            self.text.write(
                Seg(
                    self.grab(att_ms),
                    self.name(a, cap=True),
                    f" {cue} that ",
                    Seg(self.grab(in_ms), self.name(h), f" {inner_cue} ", when, pronoun, *words),
                ),
                ".\n\n",
            )
        pid = self.position(h, is_demand, pos_ms, "dv:Probable", hedge, obj, of, issue, stance)
        targets = [inner] + ([obj[0]] if obj else [])
        self.nodes.append(
            (
                att,
                [
                    ("a", ["dip:Attribution", "dip:Statement"]),
                    (
                        "rdfs:label",
                        [
                            lit(
                                f"{a.label}: {h.label} {inner_cue} "
                                + f"({'demand' if is_demand else stance})"
                            )
                        ],
                    ),
                    ("dip:speaker", [a.iri]),
                    ("dip:actType", ["dv:Report"]),
                    ("dip:target", targets),
                    ("dip:reports", [inner]),
                    ("dip:attributesPosition", [pid]),
                    ("dip:certainty", ["dv:Probable"]),
                    ("dip:hedgeCue", [lit(hedge)]),
                    ("dip:polarity", ["dv:Positive"]),
                    ("dip:mode", ["dv:ReportedSpeech"]),
                    ("dip:reportingCue", [lit(cue)]),
                    ("dip:saidAt", [self.bounded_time()]),
                    ("dip:denotedBy", att_ms),
                ],
            )
        )
        act = "dv:Demand" if is_demand else "dv:Signal"
        self.nodes.append(
            (
                inner,
                [
                    ("a", ["dip:Statement"]),
                    (
                        "rdfs:label",
                        [lit(f"{h.label}: {inner_cue} ({'demand' if is_demand else stance})")],
                    ),
                    ("dip:speaker", [h.iri]),
                    ("dip:addressee", [of.iri] if of else []),
                    ("dip:actType", [act]),
                    ("dip:target", [of.iri] if of else [obj[0]] if obj else []),
                    ("dip:expressesPosition", [pid]),
                    ("dip:reportedBy", [att]),
                    ("dip:certainty", ["dv:Probable"]),
                    ("dip:hedgeCue", [lit(hedge)]),
                    ("dip:polarity", ["dv:Positive"]),
                    ("dip:mode", ["dv:ReportedSpeech"]),
                    ("dip:reportingCue", [lit(inner_cue)]),
                    ("dip:saidAt", [te]),
                    ("dip:denotedBy", in_ms),
                ],
            )
        )
        return inner, pid, h

    def dispute_unit(self, inner: str, pid: str, holder: Actor) -> None:
        d = self.actor(["State", "Person", "Organization"], exclude=[holder])
        te, when = self.day_time()
        st_ms: list[Obj] = []
        pos_ms: list[Obj] = []
        word = self.rng.choice(["false", "propaganda", "a fabrication"])
        sid = self.st_id(f"{_slug(d.label)}-denies")
        self.text.write(
            Seg(
                self.grab(st_ms),
                self.name(d, cap=True),
                " ",
                Seg(self.grab(pos_ms), "denied the report"),
                " ",
                when,
                ", calling it “",
                word,
                "”",
            ),
            ".\n\n",
        )
        dpid = f"pos:{self.sid}-{self.n_st:02d}-{_slug(d.label)}-rejects"
        self.nodes.append(
            (
                dpid,
                [
                    ("a", ["dip:Position"]),
                    ("rdfs:label", [lit(f"{d.label} rejects the report about {holder.label}")]),
                    ("dip:holder", [d.iri]),
                    ("dip:stance", ["dv:Rejects"]),
                    ("dip:on", [holder.iri]),
                    ("dip:certainty", ["dv:Certain"]),
                    ("dip:denotedBy", pos_ms),
                ],
            )
        )
        self.nodes.append(
            (
                sid,
                [
                    ("a", ["dip:Statement"]),
                    ("rdfs:label", [lit(f"{d.label}: denies the report, calling it {word}")]),
                    ("dip:speaker", [d.iri]),
                    ("dip:actType", ["dv:Deny"]),
                    ("dip:target", [inner]),
                    ("dip:disputes", [inner]),
                    ("dip:expressesPosition", [dpid]),
                    ("dip:certainty", ["dv:Certain"]),
                    ("dip:polarity", ["dv:Negative"]),
                    ("dip:mode", ["dv:PartialQuote"]),
                    ("dip:reportingCue", [lit("denied")]),
                    ("dip:saidAt", [te]),
                    ("dip:denotedBy", st_ms),
                ],
            )
        )

    def quote_unit(self, demand: bool) -> None:
        s = self.actor(["Person", "State", "Organization"])
        te, when = self.day_time()
        st_ms: list[Obj] = []
        pos_ms: list[Obj] = []
        words, is_demand, obj, of, issue, stance = self.content(s, demand, pos_ms)
        sid = self.st_id(f"{_slug(s.label)}-says")
        verb = "We demand " if is_demand else "Our country "
        self.text.write(
            Seg(self.grab(st_ms), "“", verb, *words, "”, ", self.name(s), " said ", when), ".\n\n"
        )
        pid = self.position(s, is_demand, pos_ms, "dv:Certain", None, obj, of, issue, stance)
        act = {
            "Demands": "dv:Demand",
            "Supports": "dv:Support",
            "Accepts": "dv:Accept",
            "Rejects": "dv:Reject",
            "Opposes": "dv:Reject",
            "WouldAccept": "dv:Signal",
            "WouldReject": "dv:Warn",
        }[stance]
        self.nodes.append(
            (
                sid,
                [
                    ("a", ["dip:Statement"]),
                    (
                        "rdfs:label",
                        [
                            lit(
                                f"{s.label}: "
                                + f"{'demand' if is_demand else STANCE_PHRASES[stance]} (quote)"
                            )
                        ],
                    ),
                    ("dip:speaker", [s.iri]),
                    ("dip:addressee", [of.iri] if of else []),
                    ("dip:actType", [act]),
                    ("dip:target", [of.iri] if of else [obj[0]] if obj else []),
                    ("dip:expressesPosition", [pid]),
                    ("dip:certainty", ["dv:Certain"]),
                    (
                        "dip:polarity",
                        [
                            "dv:Negative"
                            if stance in ("Rejects", "Opposes", "WouldReject")
                            else "dv:Positive"
                        ],
                    ),
                    ("dip:mode", ["dv:VerbatimQuote"]),
                    ("dip:reportingCue", [lit("said")]),
                    ("dip:saidAt", [te]),
                    ("dip:denotedBy", st_ms),
                ],
            )
        )

    def event_unit(self, figure: bool, participants: list[Actor] | None = None) -> None:
        rng = self.rng
        self.n_ev = getattr(self, "n_ev", 0) + 1
        eid = f"ev:{self.sid}-{self.n_ev:02d}"
        te, when = self.day_time()
        ev_ms: list[Obj] = []
        place_iri, place_words = self.place()
        extra: Pairs = []
        kinds = ["State", "Person", "Organization", "Group", "Delegation"]
        if participants:
            ps = participants
            names: list[str | Seg] = []
            for k, p in enumerate(ps):
                if k:
                    names.append(" and " if k == len(ps) - 1 else ", ")
                names.append(self.name(p, cap=k == 0))
            body = [*names, " met in ", place_words, " ", when]
            etype, label = "Meeting", "meeting in " + place_iri.split(":")[1]
        elif figure:
            a = self.actor(["State", "Organization"])
            ps = [a]
            n = rng.randint(3, 60)
            fig_ms: list[Obj] = []
            measure, qual, fig_words = rng.choice(
                [
                    ("Killed", "AtLeast", f"at least {n} people were killed"),
                    ("Injured", "Approximately", f"about {n} people were injured"),
                    ("Drones", "Exactly", f"{n} drones were launched"),
                ]
            )
            body = [
                self.name(a, cap=True),
                " struck ",
                place_words,
                " ",
                when,
                "; ",
                Seg(self.grab(fig_ms), fig_words),
            ]
            etype, label = "Attack", "attack on " + place_iri.split(":")[1]
            extra.append(
                (
                    "dip:reportsFigure",
                    [
                        Blank(
                            ("a", ["dip:ReportedFigure"]),
                            ("dip:measure", [f"dv:{measure}"]),
                            ("dip:value", [str(n)]),
                            ("dip:qualifier", [f"dv:{qual}"]),
                            ("dip:denotedBy", fig_ms),
                        )
                    ],
                )
            )
        else:
            a = self.actor(kinds)
            b = self.actor(kinds, exclude=[a])
            ps = [a, b]
            choice = rng.randrange(4)
            if choice == 0:
                body = [
                    self.name(a, cap=True),
                    " and ",
                    self.name(b),
                    " held talks in ",
                    place_words,
                    " ",
                    when,
                ]
                etype, label = "Talks", "talks in " + place_iri.split(":")[1]
            elif choice == 1:
                prop, words, _pts = rng.choice(self.proposals)
                body = [
                    self.name(a, cap=True),
                    " met ",
                    self.name(b),
                    " in ",
                    place_words,
                    " ",
                    when,
                    f" to discuss the {words}",
                ]
                etype, label = "Meeting", f"meeting on the {words}"
                extra.append(("dip:concernsProposal", [prop]))
            elif choice == 2:
                body = [
                    self.name(a, cap=True),
                    " visited ",
                    place_words,
                    " ",
                    when,
                    " with ",
                    self.name(b),
                ]
                etype, label = "Visit", "visit to " + place_iri.split(":")[1]
            else:
                body = [
                    self.name(a, cap=True),
                    " imposed new sanctions on ",
                    self.name(b),
                    " ",
                    when,
                    ", officials in ",
                    place_words,
                    " said",
                ]
                etype, label = "Sanction", "sanctions"
        self.text.write(Seg(self.grab(ev_ms), *body), ".\n\n")
        self.nodes.append(
            (
                eid,
                [
                    ("a", ["dip:Event"]),
                    (
                        "rdfs:label",
                        [lit(f"{' and '.join(p.label for p in ps)}: {label} ({self.sid})")],
                    ),
                    ("dip:eventType", [f"dv:{etype}"]),
                    ("dip:happenedAt", [te]),
                    ("dip:participant", [p.iri for p in ps]),
                    ("dip:place", [place_iri]),
                    *extra,
                    ("dip:denotedBy", ev_ms),
                ],
            )
        )

    # -- output --------------------------------------------------------------

    def mapping(self, text_name: str, digest: str) -> tuple[str, int]:
        out = [PREFIXES, f"\n# Mapping of synthetic source {self.sid}, published {self.pub}.\n\n"]
        n = 0
        doc: Pairs = [
            ("a", ["dip:SourceDocument"]),
            ("rdfs:label", [lit(f"{self.outlet.label} report from {self.home.short}, {self.pub}")]),
            ("dip:textFile", [lit(text_name)]),
            ("dip:sha256", [lit(digest)]),
            ("dip:language", [lit("en")]),
            ("dip:headline", [lit(self.headline)]),
            ("dip:outlet", [self.outlet.iri]),
            ("dip:author", [self.outlet.iri]),
            ("dip:published", [self.published]),
            ("dip:dateline", [self.dl_place]),
            ("dip:denotedBy", self.headline_ms),
        ]
        entries: list[tuple[str, Pairs]] = [(self.src, doc)]
        for a in self.local:
            if a.iri not in self.mentioned:
                continue
            pairs: Pairs = [
                ("a", [f"dip:{a.kind}"]),
                ("rdfs:label", [lit(a.label)]),
                ("dip:describedAs", [lit(a.described)] if a.kind != "Group" else []),
                ("dip:sourceCount", [str(a.count)] if a.count else []),
                ("dip:actsOnBehalfOf", [a.state.iri] if a.state else []),
                ("dip:denotedBy", self.actor_mentions[a.iri]),
            ]
            entries.append((a.iri, pairs))
        leader, dele = self.leader
        for a in self.pool_present:
            ms = self.actor_mentions.get(a.iri)
            if ms:
                entries.append(
                    (
                        a.iri,
                        [
                            ("dip:memberOf", [dele.iri] if a is leader else []),
                            ("dip:holdsRole", self.actor_roles.get(a.iri, [])),
                            ("dip:denotedBy", ms),
                        ],
                    )
                )
        for iri in sorted(self.place_mentions):
            if self.place_mentions[iri]:
                entries.append((iri, [("dip:denotedBy", self.place_mentions[iri])]))
        entries += self.nodes
        for subject, pairs in entries:
            pairs = [(p, objs) for p, objs in pairs if objs]
            n += _count(pairs)
            out.append(_node(subject, pairs))
            out.append("\n")
        return "".join(out).rstrip("\n") + "\n", n


def shared_turtle(pool: Pool) -> tuple[str, int]:
    out = [PREFIXES, "\n# Actors and places that more than one source mentions.\n\n"]
    n = 0
    for a in pool.actors:
        pairs: Pairs = [
            ("a", [f"dip:{a.kind}"]),
            ("rdfs:label", [lit(a.label)]),
            ("skos:altLabel", [lit(x) for x in a.alt]),
        ]
        if a.kind == "Person" and a.state:
            pairs.append(("dip:actsOnBehalfOf", [a.state.iri]))
        if a.kind == "Organization" and a.state:
            pairs.append(("dip:actsOnBehalfOf", [a.state.iri]))
        pairs = [(p, o) for p, o in pairs if o]
        n += _count(pairs)
        out += [_node(a.iri, pairs), "\n"]
    for iri, label in pool.places:
        pairs = [("a", ["dip:Place"]), ("rdfs:label", [lit(label)])]
        n += _count(pairs)
        out += [_node(iri, pairs), "\n"]
    return "".join(out).rstrip("\n") + "\n", n


def _source_root() -> Path:
    from kg.project import find_project

    here = Path(__file__).resolve().parents[2]
    if (here / "ontology").is_dir() and (here / "shapes").is_dir():
        return here
    return find_project().root


def generate(
    out_root: Path, scale: int, *, seed: int = 0, source_root: Path | None = None
) -> Stats:
    """Write a synthetic project with ``5 * scale`` articles at ``out_root``."""
    from kg.export import write_atomic

    if scale < 1:
        raise ValueError("scale must be at least 1")
    started = time.perf_counter()
    out_root = Path(out_root)
    root = (source_root or _source_root()).resolve()
    if out_root.resolve() == root:
        raise ValueError(f"{out_root} is the project itself; choose another folder")
    seeds = out_root / "seeds"
    if seeds.exists() and any(seeds.iterdir()):
        raise ValueError(f"{seeds} is not empty; choose an empty folder")
    out_root.mkdir(parents=True, exist_ok=True)
    for name in COPIED_DIRS:
        if (root / name).is_dir():
            dest = out_root / name
            if dest.exists():
                shutil.rmtree(dest)
            shutil.copytree(root / name, dest)
    seeds.mkdir(exist_ok=True)
    n_articles = ARTICLES_PER_SCALE * scale
    width = max(3, len(str(n_articles - 1)))
    pool = build_pool(seed)
    body, triples = shared_turtle(pool)
    data = body.encode()
    write_atomic(seeds / "shared.ttl", data)
    size = len(data)
    for i in range(n_articles):
        art = Article(i, width, pool, seed, n_articles)
        art.build()
        raw = art.text.value().encode()
        digest = hashlib.sha256(raw).hexdigest()
        text_name = f"{art.sid}_{digest[:16]}.txt"
        write_atomic(seeds / text_name, raw)
        ttl, n = art.mapping(text_name, digest)
        blob = ttl.encode()
        write_atomic(seeds / f"{art.sid}_{digest[:16]}.ttl", blob)
        triples += n
        size += len(raw) + len(blob)
    return Stats(n_articles, triples, time.perf_counter() - started, size)


def main() -> None:
    """``python -m kg.synth OUT --scale N``: the ``kg synth`` command."""
    from kg.cli import synth

    synth()


if __name__ == "__main__":
    main()
