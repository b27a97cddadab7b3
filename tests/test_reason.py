"""OWL RL reasoning: kept apart, free of trivial noise, useful, and bounded."""

from __future__ import annotations

import itertools
import re
import shutil
import sys
import time
from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS, XSD

from kg.errors import InputError
from kg.namespaces import DIP, PROV
from kg.pipeline import Built
from kg.project import Project
from kg.reason import (
    MAX_CYCLES_ENV,
    MAX_TRIPLES_ENV,
    TIMEOUT_ENV,
    Limits,
    ReasoningLimit,
    infer,
    is_trivial,
)
from tests.conftest import kg

EX = "https://w3id.org/dip/id/test/"


def test_inferred_graph_is_separate_from_asserted(built: Built):
    asserted = built.union(inferred=False)
    assert len(built.inferred) > 0
    assert not any(t in asserted for t in built.inferred)


def test_no_trivial_inferences(built: Built):
    noise = [t for t in built.inferred if is_trivial(t)]
    assert noise == []
    assert not any(s == o for s, p, o in built.inferred.triples((None, OWL.sameAs, None)))


def test_subclass_reasoning_types_people_as_actors_and_agents(built: Built):
    person = next(iter(built.union(inferred=False).subjects(RDF.type, DIP.Person)))
    assert (person, RDF.type, DIP.Actor) in built.inferred
    assert (person, RDF.type, PROV.Agent) in built.inferred


def test_prp_inv_reported_by_gives_reports():
    """prp-inv1: p owl:inverseOf q, x p y => y q x."""
    g = Graph()
    g.add((DIP.reportedBy, OWL.inverseOf, DIP.reports))
    a, b = URIRef(EX + "a"), URIRef(EX + "b")
    g.add((a, DIP.reportedBy, b))
    assert (b, DIP.reports, a) in infer(g)


def test_prp_trp_part_of_is_transitive():
    """prp-trp: p a owl:TransitiveProperty, x p y, y p z => x p z."""
    g = Graph()
    g.add((DIP.partOf, RDF.type, OWL.TransitiveProperty))
    a, b, c = (URIRef(EX + n) for n in "abc")
    g.add((a, DIP.partOf, b))
    g.add((b, DIP.partOf, c))
    assert (a, DIP.partOf, c) in infer(g)


def test_closure_is_bounded():
    """A long subclass chain needs many cycles; a tight bound stops it with a clear error."""
    g = Graph()
    chain = [URIRef(f"{EX}C{i}") for i in range(40)]
    for sub, sup in itertools.pairwise(chain):
        g.add((sub, RDFS.subClassOf, sup))
    g.add((URIRef(EX + "x"), RDF.type, chain[0]))
    with pytest.raises(ReasoningLimit, match="cycles"):
        infer(g, limits=Limits(max_cycles=2))


def test_cached_inferences_equal_a_fresh_closure(project):
    """The inference cache (keyed by the inputs' digest) gives exactly the fresh result."""
    from kg.pipeline import assemble

    cached = assemble(project)
    again = assemble(project)
    fresh = assemble(project, cache=False)
    assert set(cached.inferred) == set(fresh.inferred) == set(again.inferred)


# ---------------------------------------------------------------------------
# Bounds: inputs that blow up a naive closure stop in seconds, with a clear message
# ---------------------------------------------------------------------------

REASONING = Path(__file__).resolve().parent / "fixtures" / "reasoning"
BLOW_UPS = sorted(REASONING.glob("*.ttl"))
#: The stated bound: under the default limits each blow-up fixture stops within this many
#: seconds on a 2-core machine (measured: 0.5-1 s alone, up to 3 s on a busy machine; 2-4 s with
#: the ontology; a naive owlrl closure of the same fixture with the ontology runs from two
#: minutes, the subclass chain, to more than ten, the owl:sameAs chain).
DEFAULT_STOP_SECONDS = 15.0


@pytest.mark.parametrize("path", BLOW_UPS, ids=[p.stem for p in BLOW_UPS])
def test_blow_up_stops_under_the_default_limits(path: Path, monkeypatch: pytest.MonkeyPatch):
    """sameAs, subclass, subproperty and transitive chains outgrow the default bound on growth
    (5 times the input, at least 5 000 triples) within seconds and stop with the message."""
    for name in (TIMEOUT_ENV, MAX_TRIPLES_ENV, MAX_CYCLES_ENV):
        monkeypatch.delenv(name, raising=False)
    graph = Graph().parse(path, format="turtle")
    started = time.monotonic()
    with pytest.raises(ReasoningLimit, match=r"inferred more than 5000 triples .* or set "):
        infer(graph)
    assert time.monotonic() - started < DEFAULT_STOP_SECONDS


@pytest.mark.parametrize("path", BLOW_UPS, ids=[p.stem for p in BLOW_UPS])
def test_deadline_stops_owlrl_mid_closure(path: Path):
    """With no bound on growth, the deadline alone stops the closure (checked inside owlrl's rule
    loop), where a naive closure of the same input would run for minutes. (owlrl named: the
    rule-set engine, which `auto` picks for the partOf chain, has its own deadline test in
    test_rules.py.)"""
    graph = Graph().parse(path, format="turtle")
    started = time.monotonic()
    with pytest.raises(ReasoningLimit, match=r"ran past its 0\.3 s deadline .*KG_REASON_TIMEOUT"):
        infer(graph, limits=Limits(timeout=0.3, max_new_triples=sys.maxsize), engine="owlrl")
    # the bounds are checked every few milliseconds of owlrl's work (17 ms at most, measured);
    # a garbage collection over the test session's large heap can add a pause of its own
    assert time.monotonic() - started < 0.3 + 2.0


def test_a_closure_leaves_rdflib_literals_as_they_were():
    """owlrl replaces rdflib's global literal conversions while it runs; a closure, stopped on a
    bound or not, must put them back, or a double such as 1e+16 parsed later no longer equals
    itself as written."""
    from rdflib.term import _toPythonMapping

    before = dict(_toPythonMapping)
    with pytest.raises(ReasoningLimit):
        infer(Graph().parse(BLOW_UPS[0], format="turtle"), limits=Limits(max_new_triples=10))
    assert dict(_toPythonMapping) == before
    infer(_moderate())  # and a closure that ends normally
    assert dict(_toPythonMapping) == before
    written = Literal("1e+16", datatype=XSD.double)
    assert (
        Graph()
        .parse(data=f"<urn:s> <urn:p> {written.n3()} .", format="turtle")
        .value(URIRef("urn:s"), URIRef("urn:p"))
        == written
    )


def _moderate() -> Graph:
    """A closure the defaults let finish: a 15-class chain, 105 subclass triples."""
    g = Graph()
    chain = [URIRef(f"{EX}C{i}") for i in range(15)]
    for sub, sup in itertools.pairwise(chain):
        g.add((sub, RDFS.subClassOf, sup))
    g.add((URIRef(EX + "x"), RDF.type, chain[0]))
    return g


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({MAX_TRIPLES_ENV: "100"}, r"inferred more than 100 triples .*KG_REASON_MAX_TRIPLES"),
        ({MAX_CYCLES_ENV: "2"}, r"no fixpoint within 2 cycles .*KG_REASON_MAX_CYCLES"),
        ({TIMEOUT_ENV: "0.000001"}, r"ran past its 1e-06 s deadline .*KG_REASON_TIMEOUT"),
    ],
    ids=["max-triples", "max-cycles", "timeout"],
)
def test_each_limit_is_set_from_the_environment(
    env: dict[str, str], message: str, monkeypatch: pytest.MonkeyPatch
):
    """The same closure finishes under the defaults and stops under each tight limit."""
    graph = _moderate()
    for name in (TIMEOUT_ENV, MAX_TRIPLES_ENV, MAX_CYCLES_ENV):
        monkeypatch.delenv(name, raising=False)
    assert (URIRef(EX + "C0"), RDFS.subClassOf, URIRef(EX + "C14")) in infer(graph)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ReasoningLimit, match=message):
        infer(graph)


def test_zero_lifts_a_limit_and_defaults_are_documented(monkeypatch: pytest.MonkeyPatch):
    for name in (TIMEOUT_ENV, MAX_TRIPLES_ENV, MAX_CYCLES_ENV):
        monkeypatch.delenv(name, raising=False)
    assert Limits.from_env() == Limits(max_cycles=50, max_new_triples=None, timeout=300.0)
    assert Limits.from_env().new_triples_for(15_855) == 79_275
    assert Limits.from_env().new_triples_for(100) == 5_000
    for name in (TIMEOUT_ENV, MAX_TRIPLES_ENV, MAX_CYCLES_ENV):
        monkeypatch.setenv(name, "0")
    lifted = Limits.from_env()
    assert lifted.timeout is None
    assert lifted.max_cycles == lifted.max_new_triples == sys.maxsize


@pytest.mark.parametrize("name", [TIMEOUT_ENV, MAX_TRIPLES_ENV, MAX_CYCLES_ENV])
def test_a_malformed_limit_is_an_input_error(name: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(name, "soon")
    with pytest.raises(InputError, match=rf"^{name}='soon' is not a number of \w+"):
        Limits.from_env()


def test_build_stops_on_a_blow_up_with_exit_2_and_keeps_the_outputs(
    project_copy: Project, monkeypatch: pytest.MonkeyPatch
):
    """`kg build` of a project holding a 500-place partOf chain, with a one-second deadline and
    no bound on growth set in the environment: one line naming the limit, exit 2, and build/ as
    it was."""
    from tests.test_malformed import assert_outputs_unchanged, make_small, plant_outputs

    for name in (TIMEOUT_ENV, MAX_TRIPLES_ENV, MAX_CYCLES_ENV):
        monkeypatch.delenv(name, raising=False)
    root = project_copy.root
    make_small(root)
    plant_outputs(root)
    shutil.copy(REASONING / "part-of-chain.ttl", root / "seeds" / "009_places.ttl")
    monkeypatch.setenv(TIMEOUT_ENV, "1")
    monkeypatch.setenv(MAX_TRIPLES_ENV, "0")  # no bound on growth: the deadline must stop it
    # owlrl, which a source holding schema triples (this one declares dip:partOf transitive)
    # falls back to; the rule-set engine closes a 500-place chain in seconds
    monkeypatch.setenv("KG_REASONER", "owlrl")
    started = time.monotonic()
    proc = kg("build", root=root)
    assert time.monotonic() - started < DEFAULT_STOP_SECONDS
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert re.match(
        r"kg: error: OWL RL reasoning stopped: it ran past its 1 s deadline \(cycle \d+, "
        r"\d+ triples inferred from \d+(; most of the last cycle's are \S+ \(\d+\))?\); "
        r"look for owl:sameAs chains, .* or set KG_REASON_TIMEOUT$",
        lines[0],
    ), lines[0]
    assert_outputs_unchanged(root)
