"""Every export format round-trips, and the same RDF always gives the same bytes.

Hypothesis generates graphs and datasets with unicode IRIs (the project's own namespaces among
them, so the JSON-LD context's terms and coercions are exercised), language tags in any case,
typed literals (xsd:string, integer, decimal, double with NaN and infinities, boolean, date,
dateTime, ill-typed lexical forms, a custom datatype), blank nodes shared across triples and
graphs (and naming a graph), ``rdf:first``/``rdf:rest`` chains, and strings with quotes,
backslashes, newlines, tabs, control and non-BMP characters. Each export is read back by rdflib
(the project's own reader) and by Oxigraph (an independent one) and must give the same RDF.

The comparison is RDF 1.1 term equality: ``"x"^^xsd:string`` is ``"x"``, and language tags
compare in lower case (rdflib keeps both distinctions; the exports write the RDF 1.1 form).
Turtle and N-Triples carry no named graphs: a dataset written in them is the union of its graphs.
Generation keeps to RDF: valid IRIs (RFC 3987), well-formed language tags (BCP 47), no lone
surrogates in strings; what is not RDF is refused by every format
(:func:`test_what_is_not_rdf_is_refused_in_one_line`). Nothing is restricted for one format
only: the one thing JSON-LD cannot carry, an absolute IRI whose scheme is a term of the context
(``dip:x``, which a reader takes for the compact IRI dip:x), is refused with an input error
(:func:`test_jsonld_refuses_an_iri_its_context_would_misread`); the generated IRIs' schemes
(http, https, tag, urn) are no terms.

``KG_ROUNDTRIP_EXAMPLES=2000 python -m pytest tests/test_roundtrip.py`` searches longer.
"""

from __future__ import annotations

import datetime as dt
import decimal
import io
import json
import logging
import os
import random
import subprocess
import sys

import pyoxigraph as ox
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from rdflib import RDF, XSD, BNode, Dataset, Graph, Literal, URIRef
from rdflib.compare import isomorphic
from rdflib.graph import DATASET_DEFAULT_GRAPH_ID
from rdflib.term import Node

from kg.errors import InputError
from kg.export import FORMATS, serialize
from kg.namespaces import DIP, PREFIXES
from tests.rdfcompare import canonical

# Bounded and reproducible in CI: the same examples on every run, nothing stored between runs.
# KG_ROUNDTRIP_EXAMPLES=2000 runs a longer, freshly random search locally.
_LONG = os.environ.get("KG_ROUNDTRIP_EXAMPLES")
BOUNDED = settings(
    max_examples=int(_LONG or 30),
    deadline=None,
    derandomize=not _LONG,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
pytestmark = [
    # rdflib warns about the ill-typed literals generated here, and about its own deprecations
    pytest.mark.filterwarnings("ignore::UserWarning:rdflib"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning:rdflib"),
]

RDFLIB_FORMAT = {"turtle": "turtle", "ntriples": "nt", "nquads": "nquads", "trig": "trig"}
RDFLIB_FORMAT["jsonld"] = "json-ld"
OX_FORMAT = {
    "turtle": ox.RdfFormat.TURTLE,
    "ntriples": ox.RdfFormat.N_TRIPLES,
    "nquads": ox.RdfFormat.N_QUADS,
    "trig": ox.RdfFormat.TRIG,
    "jsonld": ox.RdfFormat.JSON_LD,
}
DATASET_FORMATS = ("nquads", "trig", "jsonld")

# --- strategies -----------------------------------------------------------------------------

# IRI characters (RFC 3987 ipchar without "%"): unreserved, sub-delims, ":", "@", and ucschar
# from the BMP and beyond; percent-encodings are added separately.
_ASCII_IRI = "abcxyzABCXYZ0189-._~!$&'()*+,;=:@"
_iri_char = st.one_of(
    st.sampled_from(_ASCII_IRI),
    st.characters(min_codepoint=0xA0, max_codepoint=0xD7FF),
    st.characters(min_codepoint=0xF900, max_codepoint=0xFDCF),
    st.characters(min_codepoint=0xFDF0, max_codepoint=0xFFEF),
    st.characters(min_codepoint=0x10000, max_codepoint=0x1FFFD),
)
_segment = st.lists(
    st.one_of(_iri_char, st.from_regex(r"%[0-9A-F]{2}", fullmatch=True)), max_size=8
).map("".join)

_PROJECT_NAMESPACES = sorted(set(PREFIXES.values()))
_ONTOLOGY_TERMS = [
    DIP[name]
    for name in (
        "speaker",
        "denotedBy",
        "place",
        "earliest",
        "value",
        "pointCount",
        "headline",
        "ploverType",
        "Statement",
        "Mention",
    )
]


@st.composite
def iris(draw: st.DrawFn) -> URIRef:
    kind = draw(st.sampled_from(["web", "urn", "project", "term"]))
    if kind == "term":
        return draw(st.sampled_from(_ONTOLOGY_TERMS))
    if kind == "project":
        return URIRef(draw(st.sampled_from(_PROJECT_NAMESPACES)) + draw(_segment))
    if kind == "urn":
        return URIRef(
            "urn:x-" + draw(st.from_regex(r"[a-z0-9]{1,6}", fullmatch=True)) + ":" + draw(_segment)
        )
    scheme = draw(st.sampled_from(["http", "https", "tag"]))
    path = "/".join(draw(st.lists(_segment, min_size=1, max_size=3)))
    iri = f"{scheme}://ex{draw(st.integers(0, 3))}.example/{path}"
    if draw(st.booleans()):
        iri += "?" + draw(_segment)
    if draw(st.booleans()):
        iri += "#" + draw(_segment)
    return URIRef(iri)


# Strings: anything but surrogates (RDF strings are sequences of Unicode scalar values), with
# the characters that serialisers must escape drawn often.
_TRICKY = ['"', "'", "\\", "\n", "\r", "\t", "\x00", "\x07", "\x7f", "\u2028", "\ufeff", '"""']
_TRICKY += ["'''", "😀", "\U0010fffd", "\u0301", " ", "#", "@", "<>", "^^", "_:", "\\u0041"]
_strings = st.lists(
    st.one_of(st.sampled_from(_TRICKY), st.characters(blacklist_categories=("Cs",))),
    max_size=12,
).map("".join)
# Well-formed BCP 47 tags (language, script, region), in any case.
_lang = st.from_regex(r"[a-zA-Z]{2,3}(-[a-zA-Z]{4})?(-([a-zA-Z]{2}|[0-9]{3}))?", fullmatch=True)
_CUSTOM = URIRef("https://w3id.org/dip/datatype/plan-point")


def _typed(lexical: str, datatype: URIRef) -> Literal:
    return Literal(lexical, datatype=datatype)


_literals = st.one_of(
    _strings.map(Literal),
    st.builds(lambda s, lang: Literal(s, lang=lang), _strings, _lang),
    _strings.map(lambda s: Literal(s, datatype=XSD.string)),
    st.integers(min_value=-(10**30), max_value=10**30).map(Literal),
    st.decimals(allow_nan=False, allow_infinity=False, places=4).map(
        lambda d: Literal(d, datatype=XSD.decimal)
    ),
    st.floats(allow_nan=True, allow_infinity=True).map(lambda f: Literal(f, datatype=XSD.double)),
    st.booleans().map(Literal),
    st.dates().map(Literal),
    st.datetimes(timezones=st.one_of(st.none(), st.timezones())).map(Literal),
    st.builds(_typed, _strings, st.just(_CUSTOM)),
    st.builds(
        _typed,
        st.sampled_from(["01", "+5", "1.", "-0", "abc", "1e400", "2025-13-45", " 7 ", "True"]),
        st.sampled_from([XSD.integer, XSD.decimal, XSD.double, XSD.boolean, XSD.date]),
    ),
)

_PREDICATES = [RDF.type, RDF.first, RDF.rest, DIP.speaker, DIP.earliest, DIP.value]


@st.composite
def triples(draw: st.DrawFn, bnodes: list[BNode]) -> tuple[Node, Node, Node]:
    node = st.one_of(iris(), st.sampled_from(bnodes))
    subject = draw(node)
    predicate = draw(st.one_of(st.sampled_from(_PREDICATES), iris()))
    obj = draw(st.one_of(node, _literals, st.just(RDF.nil)))
    return subject, predicate, obj


@st.composite
def graphs(draw: st.DrawFn) -> Graph:
    bnodes = [BNode() for _ in range(draw(st.integers(1, 4)))]
    graph = Graph()
    for triple in draw(st.lists(triples(bnodes), max_size=12)):
        graph.add(triple)
    return graph


@st.composite
def datasets(draw: st.DrawFn) -> Dataset:
    bnodes = [BNode() for _ in range(draw(st.integers(1, 4)))]
    names: list[Node] = draw(st.lists(iris(), min_size=1, max_size=3, unique=True))
    if draw(st.booleans()):  # a graph named by a blank node that triples also mention
        names.append(bnodes[0])
    ds = Dataset()
    for triple in draw(st.lists(triples(bnodes), max_size=14)):
        name = draw(st.one_of(st.sampled_from(names), st.just(DATASET_DEFAULT_GRAPH_ID)))
        ds.graph(name).add(triple)
    return ds


# --- comparison -----------------------------------------------------------------------------


def rdf11(node: Node) -> Node:
    """``node`` as RDF 1.1 has it: a simple literal for xsd:string, a lower-case language tag."""
    if isinstance(node, Literal):
        if node.datatype == XSD.string:
            return Literal(str(node))
        if node.language:
            return Literal(str(node), lang=node.language.lower())
    return node


def rdf11_graph(triples_: object) -> Graph:
    out = Graph()
    for s, p, o in triples_:  # type: ignore[attr-defined]
        out.add((s, p, rdf11(o)))
    return out


def named_graphs(ds: Dataset) -> dict[Node, Graph]:
    """Each non-empty graph of ``ds``, by name, in RDF 1.1 form."""
    out = {}
    for graph in ds.graphs():
        if len(graph):
            out[graph.identifier] = rdf11_graph(graph)
    return out


def read_rdflib(payload: bytes, fmt: str, *, dataset: bool) -> Graph | Dataset:
    target = Dataset() if dataset else Graph()
    target.parse(data=payload.decode("utf-8"), format=RDFLIB_FORMAT[fmt])
    return target


def read_oxigraph(payload: bytes, fmt: str) -> set[str]:
    """The canonical N-Quads of what Oxigraph reads from ``payload``."""
    parsed = ox.Dataset(ox.parse(io.BytesIO(payload), format=OX_FORMAT[fmt]))
    parsed.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    return {str(q) for q in parsed}


def union(ds: Dataset) -> Graph:
    out = Graph()
    for s, p, o, _g in ds.quads((None, None, None, None)):
        out.add((s, p, o))
    return out


def shuffled(data: Graph | Dataset, rnd: random.Random) -> Graph | Dataset:
    """The same RDF with its blank nodes renamed and its quads inserted in another order."""
    rename: dict[Node, Node] = {}

    def fresh(node: Node) -> Node:
        if isinstance(node, BNode):
            return rename.setdefault(node, BNode())
        return node

    if isinstance(data, Dataset):
        quads = list(data.quads((None, None, None, None)))
        rnd.shuffle(quads)
        out = Dataset()
        for s, p, o, g in quads:
            out.graph(fresh(g)).add((fresh(s), p, fresh(o)))
        return out
    triples_ = list(data)
    rnd.shuffle(triples_)
    graph = Graph()
    for s, p, o in triples_:
        graph.add((fresh(s), p, fresh(o)))
    return graph


@pytest.fixture(autouse=True)
def _quiet_rdflib(caplog: pytest.LogCaptureFixture) -> None:
    """rdflib logs a warning for every ill-typed literal it builds; those are generated here."""
    caplog.set_level(logging.ERROR, logger="rdflib")


# --- properties -----------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", list(FORMATS))
@BOUNDED
@given(graph=graphs())
def test_graph_round_trips_in_every_format(fmt: str, graph: Graph) -> None:
    note(graph.serialize(format="nt"))
    payload = serialize(graph, fmt)
    expected = rdf11_graph(graph)
    back = read_rdflib(payload, fmt, dataset=fmt in DATASET_FORMATS)
    got = union(back) if isinstance(back, Dataset) else back
    assert isomorphic(rdf11_graph(got), expected), payload.decode()
    assert read_oxigraph(payload, fmt) == canonical(expected), payload.decode()


@pytest.mark.parametrize("fmt", list(FORMATS))
@BOUNDED
@given(ds=datasets())
def test_dataset_round_trips_graph_by_graph(fmt: str, ds: Dataset) -> None:
    note(ds.serialize(format="nquads"))
    payload = serialize(ds, fmt)
    if fmt not in DATASET_FORMATS:  # Turtle and N-Triples write the union of the graphs
        back = read_rdflib(payload, fmt, dataset=False)
        assert isomorphic(rdf11_graph(back), rdf11_graph(union(ds))), payload.decode()
        return
    back = read_rdflib(payload, fmt, dataset=True)
    expected, got = named_graphs(ds), named_graphs(back)
    # a graph named by a blank node has a new name when read back: compare those by number here
    # and by content in the whole-dataset comparison below
    kinds = sorted(type(n).__name__ for n in got)
    assert kinds == sorted(type(n).__name__ for n in expected), payload.decode()
    for name, graph in expected.items():
        if not isinstance(name, BNode):
            assert isomorphic(got[name], graph), (name, payload.decode())
    # blank nodes shared between graphs stay shared: compare the whole dataset too
    assert canonical(back) == canonical(ds), payload.decode()
    assert read_oxigraph(payload, fmt) == canonical(ds), payload.decode()


@pytest.mark.parametrize("fmt", list(FORMATS))
@BOUNDED
@given(data=st.one_of(graphs(), datasets()), rnd=st.randoms(use_true_random=False))
def test_same_rdf_gives_the_same_bytes(fmt: str, data: Graph | Dataset, rnd: random.Random):
    note(data.serialize(format="nquads" if isinstance(data, Dataset) else "nt"))
    first = serialize(data, fmt)
    assert serialize(data, fmt) == first
    assert serialize(shuffled(data, rnd), fmt) == first


_HASH_SEED_SCRIPT = """
import hashlib, sys
from rdflib import Dataset
from kg.export import FORMATS, serialize
ds = Dataset()
ds.parse(data=sys.stdin.read(), format="nquads")
for fmt in FORMATS:
    print(fmt, hashlib.sha256(serialize(ds, fmt)).hexdigest())
"""


def test_bytes_do_not_depend_on_the_hash_seed() -> None:
    """Python salts its string hashes per process; sets and dicts of terms follow the salt, so
    the same data must be written in two processes with different salts to show it does not."""
    quads = "\n".join(
        f"<urn:x:s{i}> <urn:x:p> _:b{i % 3} <urn:x:g{i % 4}> .\n"
        f'_:b{i % 3} <urn:x:q> "v{i}"@en <urn:x:g{(i + 1) % 4}> .\n'
        f"<urn:x:s{i}> <urn:x:r> <urn:x:s{i + 1}> ."
        for i in range(12)
    )
    digests = []
    for seed in ("1", "2"):
        proc = subprocess.run(
            [sys.executable, "-c", _HASH_SEED_SCRIPT],
            input=quads,
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
            timeout=120,
            check=True,
        )
        digests.append(proc.stdout)
    assert digests[0] == digests[1]
    assert len(digests[0].splitlines()) == len(FORMATS)


def test_literal_spellings_of_one_rdf_term_give_the_same_bytes() -> None:
    s, p = URIRef("urn:x:s"), URIRef("urn:x:p")
    plain, typed = Graph(), Graph()
    plain.add((s, p, Literal("x")))
    plain.add((s, p, Literal("y", lang="en-gb")))
    typed.add((s, p, Literal("x", datatype=XSD.string)))
    typed.add((s, p, Literal("y", lang="en-GB")))
    for fmt in FORMATS:
        assert serialize(plain, fmt) == serialize(typed, fmt), fmt


def test_automorphic_blank_nodes_keep_their_count() -> None:
    """Blank nodes that say the same thing are still told apart (two mentions of one text)."""
    graph = Graph()
    s, p, q = URIRef("urn:x:s"), URIRef("urn:x:p"), URIRef("urn:x:q")
    for _ in range(3):
        b = BNode()
        graph.add((s, p, b))
        graph.add((b, q, Literal("same")))
    for fmt in FORMATS:
        back = read_rdflib(serialize(graph, fmt), fmt, dataset=fmt in DATASET_FORMATS)
        assert len({o for o in back.objects(s, p)}) == 3, fmt


def test_jsonld_refuses_an_iri_its_context_would_misread() -> None:
    """``dip:x`` as an absolute IRI would be read back as the compact IRI dip:x, which
    JSON-LD cannot tell apart; the other formats carry it."""
    graph = Graph()
    graph.add((URIRef("urn:x:s"), URIRef("urn:x:p"), URIRef("dip:x")))
    with pytest.raises(InputError, match="scheme 'dip' is a term"):
        serialize(graph, "jsonld")
    back = read_rdflib(serialize(graph, "turtle"), "turtle", dataset=False)
    assert isomorphic(back, graph)


@pytest.mark.parametrize(
    "triple",
    [
        (Literal("x"), URIRef("urn:x:p"), URIRef("urn:x:o")),
        (URIRef("urn:x:s"), BNode(), URIRef("urn:x:o")),
        (URIRef("bad iri"), URIRef("urn:x:p"), URIRef("urn:x:o")),
        (URIRef("urn:x:s"), URIRef("urn:x:p"), Literal("x", lang="en-00")),
    ],
)
def test_what_is_not_rdf_is_refused_in_one_line(triple: tuple[Node, Node, Node]) -> None:
    """rdflib holds literal subjects, blank-node predicates, malformed IRIs and language tags;
    no format can carry them, and the export says so instead of writing them."""
    graph = Graph()
    graph.add(triple)
    for fmt in FORMATS:
        with pytest.raises(InputError, match=r"^cannot export") as caught:
            serialize(graph, fmt)
        assert "\n" not in str(caught.value)


def test_values_json_cannot_hold_natively_are_written_as_strings() -> None:
    """NaN, infinities and integers beyond 2^53 are not JSON numbers every reader keeps."""
    graph = Graph()
    s, p = URIRef("urn:x:s"), URIRef("urn:x:p")
    for value in (float("nan"), float("-inf"), 2**53 + 1, decimal.Decimal("0.10"), 7, True):
        graph.add((s, p, Literal(value)))
    graph.add((s, p, Literal(dt.date(2025, 12, 8))))
    text = serialize(graph, "jsonld").decode("utf-8")

    def no_constants(name: str) -> None:
        raise AssertionError(f"bare {name} in JSON")

    values = json.loads(text, parse_constant=no_constants)["@graph"][0]["urn:x:p"]
    natives = [v for v in values if not isinstance(v, dict)]
    assert sorted(natives, key=str) == [7, True]  # canonical integers and booleans only
    back = read_rdflib(text.encode(), "jsonld", dataset=True)
    assert isomorphic(union(back), graph)
