"""Starting the mapping of a new source text: ``kg new-source``.

The text is copied byte for byte into ``seeds/NNN_<hash>.txt`` (``NNN`` the next free
three-digit id, ``<hash>`` the first 16 hex digits of the text's SHA-256) and a mapping file
``seeds/NNN_<hash>.ttl`` is started beside it: the prefixes, the source document with the
metadata given on the command line (grounded in the text wherever the text states it), the
outlet and author as actors, and the usual sections as comments. It is written in the
canonical layout, so ``kg fmt --check`` passes, and it validates.

Nothing is written unless everything checks out, and each file is written atomically; if the
second write fails, the first file is removed again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import tempfile
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, RDFS, SKOS

from kg.errors import InputError
from kg.namespaces import ACTOR_CLASSES, DIP, PREFIXES
from kg.project import Project
from kg.quotes import Passage, quotations
from kg.spans import Match, line_col, locate, read_utf8, turtle_string

#: The prefixes every mapping file starts with (docs/mapping-guide.md), in that order.
MAPPING_PREFIXES = (
    "actor",
    "dip",
    "dv",
    "ev",
    "oa",
    "place",
    "pos",
    "prop",
    "pt",
    "rdfs",
    "skos",
    "src",
    "st",
    "xsd",
)

#: ``--outlet -`` (or ``--author -``): the text does not state it.
NOT_STATED = "-"

_ACTOR_NS = PREFIXES["actor"]
_ACTOR_CLASSES = {DIP[name] for name in ACTOR_CLASSES}
_ID_RE = re.compile(r"^\d{3}$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_LANG_RE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]+)*$")
_SEEDS_ID_RE = re.compile(r"^(\d{3})_")

_RULE = "# " + "-" * 75


@dataclass(frozen=True)
class QuotationItem:
    """A quotation passage of the new text, where it stands."""

    passage: Passage
    line: int
    col: int


@dataclass
class NewSource:
    """What ``kg new-source`` wrote."""

    source_id: str
    text_path: Path
    mapping_path: Path
    quotations: list[QuotationItem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class _Actor:
    """The outlet or the author: an actor of the project, or one this mapping introduces."""

    curie: str
    label: str
    new: bool
    kind: str  # dip class local name, for a new actor
    mention: Match | None


# ---------------------------------------------------------------------------
# Checking the input
# ---------------------------------------------------------------------------


def parse_date(value: str, *, where: str) -> dt.date:
    if not _DATE_RE.match(value):
        raise InputError(f"--published {value!r} is not a date YYYY-MM-DD", path=where)
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InputError(f"--published {value!r} is not a date YYYY-MM-DD", path=where) from None


def read_new_text(path: Path) -> tuple[bytes, str]:
    """The bytes of the text to add and their UTF-8 decoding."""
    data, text = read_utf8(path, "text file", hint="; convert the text to UTF-8 first")
    if not text.strip():
        raise InputError("the text is empty", path=str(path))
    return data, text


def _seed_ids(seeds_dir: Path) -> dict[str, list[Path]]:
    ids: dict[str, list[Path]] = {}
    for p in sorted(seeds_dir.iterdir()) if seeds_dir.is_dir() else []:
        m = _SEEDS_ID_RE.match(p.name)
        if m:
            ids.setdefault(m.group(1), []).append(p)
    return ids


def next_free_id(seeds_dir: Path) -> str:
    """One more than the highest three-digit id in ``seeds/`` (``000`` when there is none)."""
    ids = _seed_ids(seeds_dir)
    n = max((int(i) for i in ids), default=-1) + 1
    if n > 999:
        raise InputError("no free three-digit source id left", path=str(seeds_dir))
    return f"{n:03d}"


def slug(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")


def _curie(node: URIRef) -> str:
    iri = str(node)
    if iri.startswith(_ACTOR_NS):
        return "actor:" + iri[len(_ACTOR_NS) :]
    return f"<{iri}>"


def _find(text: str, words: str) -> Match | None:
    """The first place ``words`` occur in ``text`` as whole words (matched as
    :func:`kg.spans.locate` matches them), else the first place they occur in another case."""
    from kg.spans import _pattern

    words = words.strip()
    if not words:
        return None
    pattern = _pattern(words).pattern
    if words[0].isalnum():
        pattern = r"(?<!\w)" + pattern
    if words[-1].isalnum():
        pattern += r"(?!\w)"
    for flags in (0, re.IGNORECASE):
        m = re.compile(pattern, flags).search(text)
        if m:
            return Match(m.start(), m.end(), m.group(0))
    return None


def _resolve_actor(
    value: str,
    option: str,
    *,
    data: Graph,
    text: str,
    where: str,
    new_kind: str,
    need_class: URIRef | None = None,
) -> _Actor:
    """An actor named on the command line: a CURIE or IRI of an actor of the project, one of
    the project's actors by a label, or a new actor that the text names."""
    value = value.strip()
    if not value:
        raise InputError(f"{option} is empty", path=where)
    actors = {s for s, o in data.subject_objects(RDF.type) if o in _ACTOR_CLASSES}
    node: URIRef | None = None
    if value.startswith("actor:") or value.startswith(_ACTOR_NS):
        node = URIRef(_ACTOR_NS + value[len("actor:") :] if value.startswith("actor:") else value)
        if node not in actors:
            raise InputError(f"{option} {value}: not an actor of the project", path=where)
    else:
        key = value.casefold()
        named = sorted(
            {
                s
                for s in actors
                for p in (RDFS.label, SKOS.altLabel)
                for o in data.objects(s, p)
                if isinstance(o, Literal) and str(o).casefold() == key
            },
            key=str,
        )
        if len(named) > 1:
            raise InputError(
                f"{option} {value!r} names several actors ({', '.join(map(_curie, named))}); "
                "give one as actor:…",
                path=where,
            )
        node = named[0] if named else None
    if node is not None:
        if need_class is not None and (node, RDF.type, need_class) not in data:
            raise InputError(
                f"{option} {_curie(node)} is not a dip:{need_class.split('#')[-1]}", path=where
            )
        label = data.value(node, RDFS.label)
        spellings = [value] if not value.startswith(("actor:", _ACTOR_NS)) else []
        spellings += [str(label)] if label is not None else []
        spellings += [str(o) for o in data.objects(node, SKOS.altLabel)]
        mention = next((m for m in (_find(text, s) for s in spellings) if m), None)
        return _Actor(_curie(node), str(label or value), False, "", mention)
    name_slug = slug(value)
    if not name_slug:
        raise InputError(f"{option} {value!r}: cannot make an actor name of it", path=where)
    node = URIRef(_ACTOR_NS + name_slug)
    if (node, None, None) in data:
        label = data.value(node, RDFS.label)
        raise InputError(
            f"{option} {value!r}: actor:{name_slug} already exists"
            + (f" labelled {str(label)!r}" if label is not None else "")
            + f"; to mean it, pass {option} actor:{name_slug}",
            path=where,
        )
    mention = _find(text, value)
    if mention is None:
        raise InputError(
            f"{option} {value!r} is neither an actor of the project nor named in the text; "
            f"give the name as the text spells it, an existing actor (actor:…), or "
            f"{option} {NOT_STATED} when the text does not state it",
            path=where,
        )
    return _Actor("actor:" + name_slug, value, True, new_kind, mention)


_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def _date_spellings(day: dt.date) -> list[str]:
    month = _MONTHS[day.month - 1]
    short = month[:3]
    d, y = day.day, day.year
    return [
        day.isoformat(),
        f"{month} {d}, {y}",
        f"{short}. {d}, {y}",
        f"{short} {d}, {y}",
        f"{d} {month} {y}",
        f"{d} {short} {y}",
        f"{d} {short}. {y}",
        f"{month} {d} {y}",
    ]


def _date_mention(text: str, day: dt.date) -> Match | None:
    """Where the text states the publication date, in one of the usual spellings (the first)."""
    found = [m for s in _date_spellings(day) for m in locate(text, s)]
    # a spelling must not be part of a longer number ("2025-11-201", "18 November 20250")
    found = [
        m
        for m in found
        if not (m.start > 0 and text[m.start - 1].isdigit())
        and not (m.end < len(text) and text[m.end].isdigit())
    ]
    return min(found, key=lambda m: (m.start, -m.end)) if found else None


# ---------------------------------------------------------------------------
# Writing the mapping
# ---------------------------------------------------------------------------


def _mention(source: str, m: Match) -> str:
    return (
        f"[ a dip:Mention ; dip:inSource {source} ; oa:start {m.start} ; oa:end {m.end} ; "
        f"oa:exact {turtle_string(m.exact)} ]"
    )


def _banner(title: str, *comment: str) -> list[str]:
    lines = [_RULE, f"# {title}", _RULE, ""]
    if comment:
        lines += [f"# {c}" if c else "#" for c in comment] + [""]
    return lines


def _human_date(day: dt.date) -> str:
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


def mapping_text(
    *,
    source_id: str,
    text_name: str,
    digest: str,
    language: str,
    published: dt.date,
    published_mention: Match | None,
    outlet: _Actor | None,
    author: _Actor | None,
    headline: str | None,
    headline_mention: Match | None,
) -> str:
    """The new mapping file, before turtlefmt."""
    src = f"src:{source_id}"
    weekday = published.strftime("%A")
    out = [f"@prefix {p}: <{PREFIXES[p]}> ." for p in MAPPING_PREFIXES]
    who = outlet.label if outlet else author.label if author else "Unattributed article"
    out += [
        "",
        f"# Mapping of seeds/{text_name} ({src}), started with kg new-source:",
        f"# {who}, published {published.isoformat()}.",
        "# Say here in a sentence or two what the text is, and how its relative dates resolve",
        f"# against the publication date {published.isoformat()} (a {weekday}).",
        "# Check the source document against the text: label, headline, outlet, author, dateline.",
        "",
    ]
    # -- source document
    not_stated = []
    props = [
        f"    rdfs:label {turtle_string(_document_label(who, published, headline))} ;",
        f"    dip:textFile {turtle_string(text_name)} ;",
        f"    dip:sha256 {turtle_string(digest)} ;",
        f"    dip:language {turtle_string(language)} ;",
    ]
    if headline:
        props.append(f"    dip:headline {turtle_string(headline)} ;")
    else:
        not_stated.append("dip:headline")
    if outlet:
        props.append(f"    dip:outlet {outlet.curie} ;")
    else:
        not_stated.append("dip:outlet")
    if author:
        props.append(f"    dip:author {author.curie} ;")
    else:
        not_stated.append("dip:author")
    if not_stated:
        props.append(f"    dip:notStated {' , '.join(not_stated)} ;")
    if published_mention is not None:
        basis = (
            "Publication date given when the source was added (kg new-source); the text "
            f"states it as '{published_mention.exact}'. {published.isoformat()} is a {weekday}."
        )
        time_parts = [
            "a dip:TimeExpression",
            f"dip:timeText {turtle_string(published_mention.exact)}",
        ]
    else:
        basis = (
            "Publication date given when the source was added (kg new-source); the text does "
            f"not state it. {published.isoformat()} is a {weekday}."
        )
        time_parts = ["a dip:TimeExpression"]
    time_parts += [
        f'dip:earliest "{published.isoformat()}"^^xsd:date',
        f'dip:latest "{published.isoformat()}"^^xsd:date',
        "dip:precision dv:DayPrecision",
        f"dip:timeBasis {turtle_string(basis)}",
    ]
    if published_mention is not None:
        time_parts.append(f"dip:denotedBy {_mention(src, published_mention)}")
    props.append(f"    dip:published [ {' ; '.join(time_parts)} ] ;")
    if headline_mention is not None:
        props.append(f"    dip:denotedBy {_mention(src, headline_mention)} ;")
    props[-1] = props[-1][: -len(" ;")] + " ."
    out += _banner("Source document")
    out += [f"{src} a dip:SourceDocument ;", *props, ""]
    # -- actors
    out += _banner(
        "Actors",
        "Each actor once, with its type, rdfs:label (only for actors new to the corpus; a",
        "spelling of an actor in seeds/shared.ttl is a skos:altLabel), roles as the text gives",
        "them (dip:holdsRole) and a mention of its first full naming (kg locate prints one).",
        "Unnamed sources are local to this text: actor:" + source_id + "-….",
    )
    seen: set[str] = set()
    for actor in (outlet, author):
        if actor is None or actor.curie in seen:
            continue
        seen.add(actor.curie)
        if actor.new:
            assert actor.mention is not None
            out += [
                f"{actor.curie} a dip:{actor.kind} ;",
                f"    rdfs:label {turtle_string(actor.label)} ;",
                f"    dip:denotedBy {_mention(src, actor.mention)} .",
                "",
            ]
        elif actor.mention is not None:
            out += [f"{actor.curie} dip:denotedBy {_mention(src, actor.mention)} .", ""]
    out += _banner(
        "Places",
        "Places the text names (place:…), with dip:partOf; the dateline as dip:dateline above.",
    )
    out += _banner(
        "Statements",
        f"st:{source_id}-<speaker>-<gist>: speaker, act type, target, certainty, polarity, mode,",
        "reporting cue, hedge cue, saidAt and the mention of the passage that carries it.",
        "Every passage in quotation marks is a statement, or is listed with a reason in",
        "seeds/unmapped-quotes.tsv (kg new-source printed them; kg check lists those left).",
        "Like the other mapping files, this part may instead follow the text passage by",
        "passage, each headed by a comment ¶N \"first words …\" and holding that passage's",
        "statements, attributions, positions and events.",
    )
    out += _banner(
        "Attributions",
        "Statements that ascribe a position, demand or action to someone else (dip:Attribution",
        "with dip:attributesPosition or dip:attributesAction); chains with dip:reportedBy,",
        "denials with dip:disputes, walk-backs with dip:retracts.",
    )
    out += _banner(
        "Positions and demands",
        f"pos:{source_id}-<holder>-<gist>: holder, stance, on, about; a dip:Demand also has",
        "dip:demandedOf; dip:conflictsWith where the text says two cannot both be met.",
    )
    out += _banner(
        "Proposals and points",
        "prop:… per version (dip:revisionOf, dip:authoredBy, dip:pointCount, dip:hasPoint) and",
        "pt:<proposal>-<gist> for each point the text gives.",
    )
    out += _banner(
        "Events",
        f"ev:<gist> (ev:{source_id}-<gist> when only this text reports it): event type,",
        "participants, affected, place, dip:happenedAt; an event another source reports gets",
        "a mention here, not a new node.",
    )
    out += _banner(
        "Reported figures",
        "Figures hang on their event: dip:reportsFigure [ a dip:ReportedFigure ; dip:measure …",
        "; dip:value … ; dip:qualifier … ; dip:denotedBy [ … ] ].",
    )
    return "\n".join(out).rstrip("\n") + "\n"


def _document_label(who: str, published: dt.date, headline: str | None) -> str:
    label = f"{who}, {_human_date(published)}"
    return f"{label}: {headline}" if headline else label


def _canonical(ttl: str, name: str) -> bytes:
    """The mapping in the canonical layout (turtlefmt), checked to parse as Turtle."""
    from kg.fmt import formatted

    with tempfile.TemporaryDirectory() as tmp:
        draft = Path(tmp) / name
        draft.write_text(ttl, encoding="utf-8")
        payload = formatted(draft)
    Graph().parse(data=payload.decode("utf-8"), format="turtle")
    return payload


# ---------------------------------------------------------------------------
# The command
# ---------------------------------------------------------------------------


def new_source(
    project: Project,
    textfile: Path,
    *,
    outlet: str,
    published: str,
    author: str | None = None,
    headline: str | None = None,
    source_id: str | None = None,
    language: str = "en",
) -> NewSource:
    """Copy ``textfile`` into ``seeds/`` and start its mapping file; see the module docstring."""
    from kg.export import write_atomic
    from kg.load import load_project

    where = str(textfile)
    day = parse_date(published, where=where)
    if not _LANG_RE.match(language):
        raise InputError(f"--language {language!r} is not a BCP 47 tag such as en", path=where)
    data, text = read_new_text(textfile)
    seeds = project.seeds_dir
    if source_id is None:
        source_id = next_free_id(seeds)
    elif not _ID_RE.match(source_id):
        raise InputError(f"--id {source_id!r} is not a three-digit id such as 005", path=where)
    digest = hashlib.sha256(data).hexdigest()
    stem = f"{source_id}_{digest[:16]}"
    text_path, mapping_path = seeds / f"{stem}.txt", seeds / f"{stem}.ttl"
    for target in (text_path, mapping_path):
        if target.exists():
            raise InputError("already exists; nothing written", path=str(target))
    taken = _seed_ids(seeds).get(source_id)
    if taken:
        raise InputError(
            f"source id {source_id} is taken by {taken[0].name}; nothing written",
            path=str(taken[0]),
        )
    for existing in sorted(seeds.glob("*.txt")):
        if hashlib.sha256(existing.read_bytes()).hexdigest() == digest:
            raise InputError(
                f"the text is already in the corpus as {existing.name}; nothing written",
                path=where,
            )

    corpus = load_project(project).union(include_ontology=False)
    outlet_actor = None
    if outlet.strip() != NOT_STATED:
        outlet_actor = _resolve_actor(
            outlet,
            "--outlet",
            data=corpus,
            text=text,
            where=where,
            new_kind="NewsOutlet",
            need_class=DIP.NewsOutlet,
        )
    author_actor = None
    if author is not None and author.strip() != NOT_STATED:
        same = outlet_actor is not None and author.strip().casefold() in (
            outlet.strip().casefold(),
            outlet_actor.label.casefold(),
            outlet_actor.curie,
        )
        author_actor = (
            outlet_actor
            if same
            else _resolve_actor(
                author, "--author", data=corpus, text=text, where=where, new_kind="Person"
            )
        )
    headline = headline.strip() if headline else None
    headline_mention = _find(text, headline) if headline else None
    if headline_mention is not None:
        headline = headline_mention.exact  # exactly as printed
    published_mention = _date_mention(text, day)

    ttl = mapping_text(
        source_id=source_id,
        text_name=text_path.name,
        digest=digest,
        language=language,
        published=day,
        published_mention=published_mention,
        outlet=outlet_actor,
        author=author_actor,
        headline=headline,
        headline_mention=headline_mention,
    )
    payload = _canonical(ttl, mapping_path.name)

    write_atomic(text_path, data)
    try:
        write_atomic(mapping_path, payload)
    except BaseException:
        text_path.unlink(missing_ok=True)
        raise

    result = NewSource(source_id, text_path, mapping_path)
    for p in quotations(text, text_path.name):
        line, col = line_col(text, p.start)
        result.quotations.append(QuotationItem(p, line, col))
    if headline and headline_mention is None:
        result.notes.append("the headline is not found in the text: it has no mention")
    if published_mention is None:
        result.notes.append("the publication date is not found in the text: it has no mention")
    for opt, actor in (("--outlet", outlet_actor), ("--author", author_actor)):
        if actor is not None and actor.mention is None:
            result.notes.append(f"{opt} {actor.curie} is not named in the text: it has no mention")
    return result
