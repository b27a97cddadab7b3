"""The rule-set reasoner (:mod:`kg.rules`, run by Oxigraph) gives exactly owlrl's inferences: on
the seed corpus, a synthetic corpus and every shape fixture; per source and joined; within the
same bounds; and owlrl takes over where the rule set does not reach."""

from __future__ import annotations

import dataclasses
import itertools
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS, XSD

from kg.errors import InputError
from kg.load import ONTOLOGY_GRAPH, Loaded, load_project
from kg.namespaces import DIP
from kg.project import find_project
from kg.reason import (
    MAX_CYCLES_ENV,
    MAX_TRIPLES_ENV,
    REASONER_ENV,
    TIMEOUT_ENV,
    Limits,
    ReasoningLimit,
    infer,
    reasoner_from_env,
)
from kg.rules import ERRNS, RuleSet, Triples, Unsupported, compiled, split_tbox

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
EX = "https://w3id.org/dip/id/test/"


@pytest.fixture(autouse=True)
def _default_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (TIMEOUT_ENV, MAX_TRIPLES_ENV, MAX_CYCLES_ENV, REASONER_ENV):
        monkeypatch.delenv(name, raising=False)


def comparable(g: Graph) -> tuple[frozenset, frozenset]:  # type: ignore[type-arg]
    """The triples of ``g`` other than owlrl's error messages, and the messages: owlrl gives each
    message a fresh blank node, so messages compare by text; every other triple, blank nodes
    included, compares exactly."""
    errors = set(g.subjects(RDF.type, ERRNS.ErrorMessage))
    messages = frozenset(str(m) for e in errors for m in g.objects(e, ERRNS.error))
    return frozenset(t for t in g if t[0] not in errors), messages


def same_inferences(got: Graph, expected: Graph) -> bool:
    return comparable(got) == comparable(expected)


@dataclass
class Corpus:
    loaded: Loaded
    union: Graph
    owlrl: Graph

    def rule_set(self) -> RuleSet:
        onto = Graph()
        for t in self.loaded.dataset.graph(ONTOLOGY_GRAPH):
            onto.add(t)
        rules = RuleSet.from_ontology(onto)
        assert rules is not None
        return rules

    def sources(self) -> dict[URIRef, Graph]:
        out = {}
        for gid in self.loaded.asserted_graph_ids():
            g = Graph()
            for t in self.loaded.dataset.graph(gid):
                g.add(t)
            out[gid] = g
        return out


def _corpus(root: Path) -> Corpus:
    loaded = load_project(find_project(root))
    union = loaded.union()
    return Corpus(loaded, union, infer(union, engine="owlrl", limits=Limits()))


@pytest.fixture(scope="module")
def seed_corpus() -> Corpus:
    return _corpus(ROOT)


@pytest.fixture(scope="module")
def synth_corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    from kg.synth import generate

    root = tmp_path_factory.mktemp("synth") / "s1"
    generate(root, 1)
    return _corpus(root)


@pytest.fixture(params=["seed", "synth"])
def corpus(request: pytest.FixtureRequest) -> Corpus:
    return request.getfixturevalue(f"{request.param}_corpus")


# ---------------------------------------------------------------------------
# Same triples as owlrl
# ---------------------------------------------------------------------------


def test_rules_equal_owlrl_on_the_corpora(corpus: Corpus):
    """Exact set equality, blank-node labels included (no error messages in the corpora)."""
    got = infer(corpus.union, engine="rules")
    assert len(corpus.owlrl) > 5000
    assert not comparable(corpus.owlrl)[1]
    assert set(got) == set(corpus.owlrl)
    assert any(isinstance(s, BNode) for s, _p, _o in got)


def test_auto_uses_the_rules_and_is_much_faster(seed_corpus: Corpus):
    started = time.perf_counter()
    got = infer(seed_corpus.union)  # KG_REASONER unset: auto
    assert time.perf_counter() - started < 8.0  # owlrl: 12-20 s
    assert set(got) == set(seed_corpus.owlrl)


def test_decomposition_per_source_equals_owlrl(corpus: Corpus):
    """tbox ∪ ⋃ local(source) ∪ joint - asserted union == owlrl on the union."""
    rules = corpus.rule_set()
    locals_ = []
    for gid, source in corpus.sources().items():
        assert rules.supports(source), gid
        locals_.append(rules.infer_local(source))
    joint = rules.infer_joint(corpus.union, locals_)
    got = Graph()
    for g in (rules.tbox_inferences(), *locals_, joint):
        for t in g:
            if t not in corpus.union:
                got.add(t)
    assert same_inferences(got, corpus.owlrl)
    assert set(got) == set(corpus.owlrl)
    # the joint step needs only the triples it reads (and the ontology); what it then derives
    # again of the locals' is absorbed by the union
    reduced = Graph()
    for t in rules.ontology:
        reduced.add(t)
    for t in corpus.union:
        if rules.joint_reads(t):
            reduced.add(t)
    assert len(reduced) < 0.7 * len(corpus.union)
    reduced_locals = [Graph() for _ in locals_]
    for g, r in zip(locals_, reduced_locals, strict=True):
        for t in g:
            if rules.joint_reads(t):
                r.add(t)
    joint2 = rules.infer_joint(reduced, reduced_locals)
    # the same read off plain triple sets, as the fast build hands them over
    as_triples = rules.infer_joint(Triples(reduced), [Triples(g) for g in reduced_locals])
    assert set(as_triples) == set(joint2)
    again = set(got)
    again.update(t for t in joint2 if t not in corpus.union)
    assert again == set(corpus.owlrl)


def test_the_synthetic_corpus_has_a_shared_source(synth_corpus: Corpus):
    """``seeds/shared.ttl`` (the actor and place pool) is a source like the articles."""
    assert any(str(g).endswith("/shared") for g in synth_corpus.sources())


def test_removing_a_rule_table_is_caught(seed_corpus: Corpus):
    """Mutation: without the owl:inverseOf table the comparison fails (dip:reports is lost)."""
    tbox, data = split_tbox(seed_corpus.union)
    rules = compiled(tbox)
    assert rules is not None and rules.inverse
    whole = rules.infer(seed_corpus.union, data=data)
    assert same_inferences(whole, seed_corpus.owlrl)
    broken = dataclasses.replace(rules, inverse=())
    got = broken.infer(seed_corpus.union, data=data)
    assert not same_inferences(got, seed_corpus.owlrl)
    missing = set(seed_corpus.owlrl) - set(got)
    assert any(p == DIP.reports for _s, p, _o in missing)


SHAPE_FIXTURES = sorted((FIXTURES / "shapes").glob("*/*.ttl"))


def _ontology() -> Graph:
    g = Graph()
    for path in sorted((ROOT / "ontology").glob("*.ttl")):
        g.parse(path, format="turtle")
    return g


def test_rules_equal_owlrl_on_every_shape_fixture():
    """Every fixture of tests/fixtures/shapes (valid and invalid) the rule set supports (all of
    them), with the ontology as `validate_graph` joins them, in one graph: each fixture's own
    IRIs moved to a namespace of its own so that fixtures do not meet (one owlrl run instead of
    161; each alone was checked equal too, 227 s). The invalid ones make owlrl report
    disjointness violations, compared by message."""
    onto = _ontology()
    rules = RuleSet.from_ontology(onto)
    assert rules is not None
    union = Graph()
    for t in onto:
        union.add(t)
    supported = 0
    for i, path in enumerate(SHAPE_FIXTURES):
        fixture = Graph().parse(path, format="turtle")
        if not rules.supports(fixture):
            continue
        supported += 1

        def moved(term, i=i):  # type: ignore[no-untyped-def]
            if isinstance(term, URIRef) and str(term).startswith("https://w3id.org/dip/id/"):
                return URIRef(str(term).replace("/dip/id/", f"/dip/id/fx{i}/", 1))
            return term

        for s, p, o in fixture:
            union.add((moved(s), p, moved(o)))
    assert supported == len(SHAPE_FIXTURES) > 150
    expected = infer(union, engine="owlrl", limits=Limits())
    got = infer(union, engine="rules")
    assert len(comparable(expected)[1]) >= 20  # inconsistencies of the invalid fixtures
    assert comparable(got)[1] == comparable(expected)[1]
    assert comparable(got)[0] == comparable(expected)[0]


@pytest.mark.parametrize(
    "name",
    ["invalid/person-also-state", "invalid/mention-start-string", "valid/statement-reported"],
)
def test_rules_equal_owlrl_on_a_shape_fixture_alone(name: str):
    path = FIXTURES / "shapes" / f"{name}.ttl"
    union = Graph().parse(path, format="turtle")
    for t in _ontology():
        union.add(t)
    assert same_inferences(infer(union, engine="rules"), infer(union, engine="owlrl"))


# ---------------------------------------------------------------------------
# Edge cases owlrl handles and the rules must too
# ---------------------------------------------------------------------------


def _check_both(g: Graph) -> Graph:
    got, expected = infer(g, engine="rules"), infer(g, engine="owlrl")
    assert same_inferences(got, expected)
    return got


def test_blank_node_labels_and_literals_come_back_unchanged():
    g = Graph()
    g.add((DIP.reportedBy, OWL.inverseOf, DIP.reports))
    g.add((DIP.label, RDFS.range, XSD.string))
    b = BNode("a-label-of-its-own")
    g.add((b, DIP.reportedBy, URIRef(EX + "outlet")))
    odd = [
        Literal("Zürich", lang="de-CH"),
        Literal("2025-01-06", datatype=XSD.date),
        Literal("not a date", datatype=XSD.date),  # dt-not-type: an error message
        Literal("x", datatype=URIRef(EX + "custom")),
    ]
    for lit in odd:
        g.add((b, DIP.label, lit))
    got = _check_both(g)
    assert (URIRef(EX + "outlet"), DIP.reports, b) in got
    assert comparable(got)[1] == {
        f"Lexical value of the literal 'not a date' does not match its datatype ({XSD.date})"
    }


def test_a_literal_value_of_an_inverse_property_is_a_node_as_in_owlrl():
    """x p "v", p owl:inverseOf q => "v" q x (a generalised triple, dropped) => x a R when R is
    the range of q: kept."""
    p, q, r, d = (URIRef(EX + n) for n in ("p", "q", "R", "D"))
    g = Graph()
    g.add((p, OWL.inverseOf, q))
    g.add((q, RDFS.range, r))
    g.add((q, RDFS.domain, d))
    g.add((URIRef(EX + "x"), p, Literal("v")))
    got = _check_both(g)
    assert (URIRef(EX + "x"), RDF.type, r) in got


def test_a_chain_a_sub_property_makes_of_a_transitive_property_is_closed_as_in_owlrl():
    """a q b, b q c, c q d with q a sub-property of the transitive p: the p triples the first
    round derives are what transitivity closes in the next (a p d), within the one source as
    over the whole."""
    p, q = URIRef(EX + "p"), URIRef(EX + "q")
    a, b, c, d = (URIRef(EX + n) for n in "abcd")
    onto, data = Graph(), Graph()
    onto.add((p, RDF.type, OWL.TransitiveProperty))
    onto.add((q, RDFS.subPropertyOf, p))
    for s, o in ((a, b), (b, c), (c, d)):
        data.add((s, q, o))
    rules = RuleSet.from_ontology(onto)
    assert rules is not None
    assert (a, p, d) in rules.infer_local(data)
    assert (a, p, d) in _check_both(onto + data)


def test_cross_source_chains_and_conflicts_are_found_by_the_joint_step():
    """Source 1: a partOf b, x a Person; source 2: b partOf c, x a State. Each alone has no
    a partOf c and no conflict; the joint step finds both, as owlrl on the union does."""
    onto = _ontology()
    rules = RuleSet.from_ontology(onto)
    assert rules is not None
    a, b, c, x = (URIRef(EX + n) for n in "abcx")
    s1, s2 = Graph(), Graph()
    s1.add((a, DIP.partOf, b))
    s1.add((x, RDF.type, DIP.Person))
    s2.add((b, DIP.partOf, c))
    s2.add((x, RDF.type, DIP.State))
    union = Graph()
    for g in (onto, s1, s2):
        for t in g:
            union.add(t)
    locals_ = [rules.infer_local(s1), rules.infer_local(s2)]
    assert not any((a, DIP.partOf, c) in g for g in locals_)
    joint = rules.infer_joint(union, locals_)
    assert (a, DIP.partOf, c) in joint
    assert set(rules.infer_joint(Triples(union), [Triples(g) for g in locals_])) == set(joint)
    got = Graph()
    for g in (rules.tbox_inferences(), *locals_, joint):
        for t in g:
            if t not in union:
                got.add(t)
    expected = infer(union, engine="owlrl")
    assert comparable(expected)[1]  # the Person/State conflict
    assert same_inferences(got, expected)


# ---------------------------------------------------------------------------
# What the rule set does not cover goes to owlrl
# ---------------------------------------------------------------------------

BLOW_UPS = sorted((FIXTURES / "reasoning").glob("*.ttl"))


@pytest.mark.parametrize("path", BLOW_UPS, ids=[p.stem for p in BLOW_UPS])
def test_schema_in_a_source_is_not_supported(path: Path):
    """Each reasoning fixture carries schema triples (sameAs, subClassOf, subPropertyOf chains,
    a TransitiveProperty declaration): as a source, owlrl must reason over it."""
    rules = RuleSet.from_ontology(_ontology())
    assert rules is not None
    graph = Graph().parse(path, format="turtle")
    assert not rules.supports(graph)
    with pytest.raises(Unsupported):
        rules.infer_local(graph)


def test_same_as_data_falls_back_to_owlrl():
    graph = Graph().parse(FIXTURES / "reasoning" / "same-as-chain.ttl", format="turtle")
    with pytest.raises(Unsupported):
        infer(graph, engine="rules")
    with pytest.raises(ReasoningLimit, match=r"inferred more than 10 triples"):
        infer(graph, limits=Limits(max_new_triples=10))  # auto: owlrl, bounded


@pytest.mark.parametrize(
    "axiom",
    [
        (DIP.partOf, RDF.type, OWL.FunctionalProperty),
        (DIP.partOf, RDF.type, OWL.InverseFunctionalProperty),
        (DIP.partOf, OWL.propertyChainAxiom, RDF.nil),
        (DIP.Person, OWL.hasKey, RDF.nil),
        (DIP.Person, OWL.sameAs, DIP.Actor),
        (DIP.Person, RDFS.subClassOf, BNode("restriction")),
        (BNode("restriction"), OWL.onProperty, DIP.partOf),
    ],
    ids=[
        "functional",
        "inverse-functional",
        "chain",
        "key",
        "same-as",
        "bnode-class",
        "restriction",
    ],
)
def test_an_ontology_beyond_the_rule_set_does_not_compile(axiom: tuple) -> None:  # type: ignore[type-arg]
    onto = _ontology()
    onto.add(axiom)
    assert RuleSet.from_ontology(onto) is None
    union = Graph()
    for t in onto:
        union.add(t)
    union.add((URIRef(EX + "a"), DIP.partOf, URIRef(EX + "b")))
    with pytest.raises(Unsupported):
        infer(union, engine="rules", limits=Limits())


def test_the_ontology_compiles_with_every_table():
    rules = RuleSet.from_ontology(_ontology())
    assert rules is not None
    assert rules.subproperty and rules.domain and rules.range and rules.subclass
    assert (DIP.reportedBy, DIP.reports) in rules.inverse
    assert rules.symmetric == (DIP.conflictsWith,)
    assert rules.transitive == (DIP.partOf,)
    assert (DIP.Person, DIP.Organization) in rules.disjoint  # owl:disjointWith
    assert (DIP.Actor, DIP.Statement) in rules.disjoint  # owl:AllDisjointClasses
    tbox = rules.tbox_inferences()
    assert (DIP.Person, RDFS.subClassOf, URIRef("http://www.w3.org/ns/prov#Agent")) in tbox
    assert rules.tbox_inferences() is tbox  # computed once


def test_the_engine_is_chosen_by_kg_reasoner(monkeypatch: pytest.MonkeyPatch):
    assert reasoner_from_env() == "auto"
    monkeypatch.setenv(REASONER_ENV, "OWLRL")
    assert reasoner_from_env() == "owlrl"
    graph = Graph().parse(FIXTURES / "reasoning" / "same-as-chain.ttl", format="turtle")
    monkeypatch.setenv(REASONER_ENV, "rules")
    with pytest.raises(Unsupported):
        infer(graph)
    monkeypatch.setenv(REASONER_ENV, "fast")
    with pytest.raises(InputError, match="KG_REASONER='fast'"):
        infer(graph)


# ---------------------------------------------------------------------------
# Bounds
# ---------------------------------------------------------------------------


def _chain(n: int) -> Graph:
    g = Graph()
    g.add((DIP.partOf, RDF.type, OWL.TransitiveProperty))
    places = [URIRef(f"{EX}place{i}") for i in range(n)]
    for a, b in itertools.pairwise(places):
        g.add((a, DIP.partOf, b))
    return g


def test_growth_bound_stops_the_rules_engine(monkeypatch: pytest.MonkeyPatch):
    graph = _chain(3000)
    monkeypatch.setenv(MAX_TRIPLES_ENV, "2000")
    started = time.monotonic()
    with pytest.raises(
        ReasoningLimit,
        match=r"^OWL RL reasoning stopped: it inferred more than 2000 triples \(cycle \d+, "
        r"\d+ triples inferred from 3000; most of the last cycle's are dip:partOf \(\d+\)\); "
        r"look for .* or set KG_REASON_MAX_TRIPLES$",
    ):
        infer(graph, engine="rules")
    assert time.monotonic() - started < 10
    data = Graph()
    for t in graph:
        if t[1] == DIP.partOf:
            data.add(t)
    rules = RuleSet.from_ontology(_ontology())
    assert rules is not None
    with pytest.raises(ReasoningLimit, match="inferred more than 2000 triples"):
        rules.infer_local(data)


def test_deadline_stops_the_rules_engine():
    graph = _chain(2000)  # about 2 million partOf triples
    started = time.monotonic()
    with pytest.raises(ReasoningLimit, match=r"ran past its 0\.2 s deadline .*KG_REASON_TIMEOUT"):
        infer(graph, engine="rules", limits=Limits(timeout=0.2, max_new_triples=sys.maxsize))
    assert time.monotonic() - started < 0.2 + 3.0


def test_cycle_bound_counts_the_ontology_closure():
    """owlrl needs several cycles to close the ontology; the rules engine counts them."""
    union = _ontology()
    union.add((URIRef(EX + "a"), DIP.partOf, URIRef(EX + "b")))
    with pytest.raises(ReasoningLimit, match=r"no fixpoint within 1 cycles .*KG_REASON_MAX_CYCLES"):
        infer(union, engine="rules", limits=Limits(max_cycles=1))
    assert infer(union, engine="rules", limits=Limits(max_cycles=5))
