"""The compiled SHACL engine (kg.fastshacl) against pyshacl, the reference.

Every comparison is of multisets of ``kg.report.Result`` (Counter equality): focus, named shape,
path, message, severity, value and source file, as ``kg.validate.shacl_results`` reads them
from pyshacl's report.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from rdflib import RDF, RDFS, Graph, URIRef
from rdflib.term import Node

from kg import fastshacl
from kg.errors import InputError
from kg.fastshacl import FastShaclError, compile_shapes, load_store
from kg.load import load_project, parse_turtle
from kg.project import Project, find_project
from kg.reason import infer
from kg.report import Result
from kg.validate import check_literals, load_shapes, shacl_results

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = sorted((ROOT / "tests" / "fixtures" / "shapes").glob("*/*.ttl"))

_DATA: dict[tuple[Path, bool], Graph] = {}
_REFERENCE: dict[tuple[Path, bool], Counter[Result]] = {}


@pytest.fixture(scope="module")
def shapes(project: Project) -> Graph:
    return load_shapes(project)


@pytest.fixture(scope="module")
def compiled(shapes: Graph) -> fastshacl.Compiled:
    engine = compile_shapes(shapes)
    assert engine is not None, "the project's shapes must compile"
    return engine


def _for_shacl(union: Graph) -> Graph:
    """What validate_union hands to SHACL: the union less its ill-typed literals."""
    _results, bad = check_literals(union)
    for triple in bad:
        union.remove(triple)
    return union


def fixture_data(project: Project, path: Path, inference: bool) -> Graph:
    """The fixture as kg.validate.validate_graph builds it (fixture + ontology + inferences),
    once per fixture and mode for every test of this module."""
    key = (path, inference)
    if key not in _DATA:
        union = Graph()
        parse_turtle(path, union)
        for onto in project.ontology_files():
            parse_turtle(onto, union)
        if inference:
            for triple in infer(union):
                union.add(triple)
        _DATA[key] = _for_shacl(union)
    return _DATA[key]


def reference(project: Project, shapes: Graph, path: Path, inference: bool) -> Counter[Result]:
    key = (path, inference)
    if key not in _REFERENCE:
        data = fixture_data(project, path, inference)
        _REFERENCE[key] = Counter(shacl_results(data, shapes, engine="pyshacl"))
    return _REFERENCE[key]


def _diff(expected: Counter[Result], got: Counter[Result]) -> str:
    lines = [f"only pyshacl: {r}" for r in expected - got]
    lines += [f"only compiled: {r}" for r in got - expected]
    return "\n".join(lines[:20])


def _corpus(project: Project, *, sabotage: int = 0) -> Graph:
    """A project's union of asserted graphs and ontology with its OWL RL inferences, as a build
    validates it; with ``sabotage`` every so many asserted triples are left out first."""
    loaded = load_project(project)
    union = loaded.union()
    if sabotage:
        ontology = loaded.union(include_ontology=False)
        for i, triple in enumerate(sorted(ontology, key=lambda t: tuple(map(str, t)))):
            if i % sabotage == 0:
                union.remove(triple)
    for triple in infer(union):
        union.add(triple)
    return _for_shacl(union)


# ---------------------------------------------------------------------------
# Every shape fixture, with and without inference
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("inference", [False, True], ids=["asserted", "inferred"])
@pytest.mark.parametrize("path", FIXTURES, ids=[f"{p.parent.name}/{p.stem}" for p in FIXTURES])
def test_fixture_same_as_pyshacl(
    project: Project, shapes: Graph, compiled: fastshacl.Compiled, path: Path, inference: bool
) -> None:
    expected = reference(project, shapes, path, inference)
    got = Counter(compiled.results_for_graph(fixture_data(project, path, inference)))
    assert got == expected, _diff(expected, got)
    if path.parent.name == "invalid" and not inference:
        assert expected, "an invalid fixture without results compares nothing"


# ---------------------------------------------------------------------------
# Corpora
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def seed_corpus(project: Project) -> Graph:
    return _corpus(project)


@pytest.fixture(scope="module")
def synthetic_project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    from kg.synth import generate

    out = tmp_path_factory.mktemp("synth") / "project"
    generate(out, 1)
    return find_project(out)


@pytest.fixture(scope="module")
def broken_synthetic(synthetic_project: Project) -> Graph:
    """The synthetic corpus with every 17th asserted triple gone: many results of many kinds."""
    return _corpus(synthetic_project, sabotage=17)


def test_seed_corpus_same_as_pyshacl(
    seed_corpus: Graph, shapes: Graph, compiled: fastshacl.Compiled
) -> None:
    expected = Counter(shacl_results(seed_corpus, shapes, engine="pyshacl"))
    got = Counter(compiled.results_for_graph(seed_corpus))
    assert got == expected, _diff(expected, got)


def test_synthetic_corpus_same_as_pyshacl(
    synthetic_project: Project, compiled: fastshacl.Compiled
) -> None:
    data = _corpus(synthetic_project)
    shapes = load_shapes(synthetic_project)
    expected = Counter(shacl_results(data, shapes, engine="pyshacl"))
    got = Counter(compiled.results_for_graph(data))
    assert got == expected, _diff(expected, got)


def test_broken_synthetic_corpus_same_as_pyshacl(
    broken_synthetic: Graph, shapes: Graph, compiled: fastshacl.Compiled
) -> None:
    expected = Counter(shacl_results(broken_synthetic, shapes, engine="pyshacl"))
    got = Counter(compiled.results_for_graph(broken_synthetic))
    assert len(expected) > 50 and len({r.message for r in expected}) > 10
    assert got == expected, _diff(expected, got)


# ---------------------------------------------------------------------------
# Edge cases the project's data does not reach: literals, nesting, severities, targets
# ---------------------------------------------------------------------------

EDGE_SHAPES = """
@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .
@prefix ex: <http://example.org/> .
ex:A a sh:NodeShape ; sh:targetClass ex:Thing ; sh:message "a-node"@en ;
  sh:nodeKind sh:BlankNode ;
  sh:property
    [ sh:path ex:n ; sh:datatype xsd:integer ; sh:minInclusive 1 ; sh:maxExclusive 10.5 ;
      sh:message "n" ] ,
    [ sh:path ex:d ; sh:datatype xsd:decimal ; sh:minInclusive 1.0 ; sh:maxCount 2 ;
      sh:minCount 2 ; sh:message "d" ] ,
    [ sh:path ex:s ; sh:datatype xsd:string ; sh:minLength 2 ; sh:maxLength 5 ;
      sh:pattern "^a" ; sh:flags "i" ; sh:message "s" ] ,
    [ sh:path ex:l ; sh:languageIn ( "en" "fr" ) ; sh:datatype rdf:langString ; sh:message "l" ] ,
    [ sh:path ex:k ; sh:nodeKind sh:IRI ; sh:message "k" ; sh:severity sh:Info ] ,
    [ sh:path ex:v ; sh:in ( "1"^^xsd:integer "x" "y"@en ex:z ) ; sh:message "v" ] ,
    [ sh:path ex:h ; sh:hasValue "01"^^xsd:integer ; sh:message "h" ] ,
    [ sh:path ex:start ; sh:lessThan ex:end ; sh:lessThanOrEquals ex:end2 ; sh:message "lt" ] ,
    [ sh:path ex:p ; sh:node ex:Warn ; sh:message "node-warn" ] ,
    [ sh:path ex:p ; sh:not ex:Warn ; sh:message "not-warn" ] ,
    [ sh:path ex:p ; sh:or ( ex:Warn [ sh:class ex:Other ] ) ; sh:message "or-warn" ] ,
    [ sh:path ex:p ; sh:or ( ex:Strict [ sh:class ex:Other ] ) ; sh:message "or-strict" ] ,
    [ sh:path ex:q ; sh:node [ sh:property [ sh:path ex:r ; sh:minCount 1 ;
      sh:severity sh:Warning ] ] ; sh:message "node-prop-warn" ] ,
    [ sh:path ex:q ; sh:not [ sh:property [ sh:path ex:r ; sh:minCount 1 ;
      sh:severity sh:Warning ] ] ; sh:message "not-prop-warn" ] ,
    [ sh:path ex:q ; sh:not [ sh:property [ sh:path ex:r ; sh:minCount 1 ] ] ;
      sh:message "not-prop" ] ,
    [ sh:path ex:q ; sh:and ( [ sh:class ex:Other ] [ sh:property [ sh:path ex:r ;
      sh:maxCount 0 ] ] ) ; sh:message "and" ; sh:severity sh:Warning ] ,
    [ sh:path ex:q ; sh:property [ sh:path ex:r ; sh:datatype xsd:string ; sh:message "deep" ] ;
      sh:message "unused" ] .
ex:Warn a sh:NodeShape ; sh:severity sh:Warning ; sh:class ex:Good .
ex:Strict a sh:NodeShape ; sh:class ex:Good .
ex:B a sh:NodeShape ; sh:targetNode ex:t1 , "lit" ; sh:targetSubjectsOf ex:q ;
  sh:targetObjectsOf ex:p ; sh:hasValue ex:t1 ; sh:message "b" .
ex:C sh:targetClass ex:Thing ; sh:not [ sh:class ex:Other ] ; sh:node ex:Warn ; sh:message "c" ;
  sh:in ( ex:t1 ex:t2 ) .
ex:D a sh:PropertyShape ; sh:targetClass ex:Thing ; sh:path ex:p ; sh:class ex:Good , ex:Other ;
  sh:message "d-prop" .
"""

EDGE_DATA = """
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix ex: <http://example.org/> .
ex:Sub rdfs:subClassOf ex:Thing . ex:Sub2 rdfs:subClassOf ex:Sub .
ex:t1 a ex:Thing ; ex:n 1, "01"^^xsd:integer, 0, 11, "5"^^xsd:int, "abc"^^xsd:integer, 3.0, "7" ;
  ex:d 1.50, 1.5, "1.0"^^xsd:decimal ;
  ex:s "ab", "Abc", "b", "abcdef", "ab"@en, "ab"^^xsd:string, 5 ;
  ex:l "x"@en, "x"@de, "x"@en-GB, "x" ;
  ex:k ex:iri, "lit", _:b ;
  ex:v 1, "01"^^xsd:integer, "x", "x"^^xsd:string, "y"@EN, ex:z, ex:zz ;
  ex:h 1 ;
  ex:start 1, 5, "2020-01-01"^^xsd:date ; ex:end 5 ; ex:end2 5, 4.5 ;
  ex:p ex:good, ex:bad, ex:other, "lit" ;
  ex:q ex:q1, ex:q2, ex:q3 .
ex:t2 a ex:Sub2 ; ex:d 2.0, 3.0 ; ex:h "01"^^xsd:integer ; ex:p ex:good ;
  ex:start "2020-01-01"^^xsd:date ; ex:end "2020-01-02"^^xsd:date, "2019-01-01"^^xsd:date ;
  ex:end2 "2020-01-01"^^xsd:date .
ex:t3 a ex:Thing, ex:Other ; ex:q ex:q1 ; ex:s "abc" .
ex:good a ex:Good . ex:other a ex:Other . ex:bad a ex:Bad .
ex:q1 ex:r "x" . ex:q2 ex:r ex:rr, 3 . ex:q3 a ex:Other .
"""


def _edge() -> tuple[Graph, Graph]:
    return (
        Graph().parse(data=EDGE_DATA, format="turtle"),
        Graph().parse(data=EDGE_SHAPES, format="turtle"),
    )


@pytest.mark.parametrize("small", [1, 10**9], ids=["classes-in-values", "classes-by-path"])
def test_edge_cases_same_as_pyshacl(monkeypatch: pytest.MonkeyPatch, small: int) -> None:
    """With every class small (named with its subclasses in VALUES) and with none (the path
    rdf:type/rdfs:subClassOf*): ex:t2 is a Thing through two subclasses."""
    monkeypatch.setattr(fastshacl, "_SMALL", small)
    data, shapes = _edge()
    engine = compile_shapes(shapes)
    assert engine is not None
    expected = Counter(shacl_results(data, shapes, engine="pyshacl"))
    got = Counter(engine.results_for_graph(data))
    assert got == expected, _diff(expected, got)
    messages = {r.message for r in expected}
    # each part of the edge shapes is reached (or, for "or-warn", provably never reports)
    for name in ("a-node", "n", "d", "s", "l", "k", "v", "h", "lt", "node-warn", "not-warn"):
        assert name in messages
    for name in ("or-strict", "node-prop-warn", "not-prop-warn", "not-prop", "and", "deep"):
        assert name in messages
    assert "or-warn" not in messages and "unused" not in messages


def test_a_class_is_named_in_values_where_it_is_small_and_read_by_the_path_elsewhere() -> None:
    """A run over every focus node reads a small class's nodes from its subclasses named in
    VALUES, a large one's (or one with a blank subclass, which VALUES cannot name) by the path:
    a class is small where its nodes are fewer than the store's quads over ``_SMALL``."""
    ex = "http://example.org/"
    data = Graph().parse(
        data=f"""@prefix ex: <{ex}> . @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
        ex:Sub rdfs:subClassOf ex:Few . _:anon rdfs:subClassOf ex:Odd .
        ex:f1 a ex:Few . ex:f2 a ex:Sub . ex:o1 a _:anon .
        {" ".join(f"ex:m{i} a ex:Many ; ex:p {i} ." for i in range(100))}""",
        format="turtle",
    )
    store = load_store(data)
    assert len(store) == 205  # so a class of fewer than 205 // 32 + 1 = 7 nodes is small
    classes = fastshacl._Classes(store, False)
    few = classes.write(f"{{TYPED ?x <{ex}Few>}}")
    assert few == f"VALUES ?x_class {{ <{ex}Few> <{ex}Sub> }} ?x <{RDF.type}> ?x_class ."
    path = f"<{RDF.type}>/<{RDFS.subClassOf}>*"
    assert classes.write(f"{{TYPED ?y <{ex}Many>}}") == f"?y {path} <{ex}Many> ."
    assert classes.write(f"{{TYPED ?z <{ex}Odd>}}") == f"?z {path} <{ex}Odd> ."
    for x, cls, nodes in (("?x", "Few", {"f1", "f2"}), ("?z", "Odd", {"o1"})):
        pattern = classes.write(f"{{TYPED {x} <{ex}{cls}>}}")
        found = {r[0].value for r in store.query(f"SELECT {x} WHERE {{ {pattern} }}")}
        assert found == {ex + n for n in nodes}


def test_a_blank_subclass_of_a_target_class_is_validated_as_by_pyshacl(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A node typed with a blank subclass of a target class is a focus node, as in pyshacl,
    where every class would otherwise be named in VALUES."""
    monkeypatch.setattr(fastshacl, "_SMALL", 1)
    data, shapes = _edge()
    data.parse(
        data="""@prefix ex: <http://example.org/> .
        @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
        _:c rdfs:subClassOf ex:Thing . ex:t9 a _:c ; ex:n 0 .""",
        format="turtle",
    )
    engine = compile_shapes(shapes)
    assert engine is not None
    expected = Counter(shacl_results(data, shapes, engine="pyshacl"))
    got = Counter(engine.results_for_graph(data))
    assert got == expected, _diff(expected, got)
    assert any(str(r.focus) == "http://example.org/t9" and r.message == "n" for r in expected)


def test_blank_node_for_less_than_falls_back_to_pyshacl() -> None:
    """pyshacl stops on a blank node compared by sh:lessThan: the compiled engine declines, and
    shacl_results reports pyshacl's error."""
    data, shapes = _edge()
    data.parse(data="<http://example.org/t3> <http://example.org/start> [] .", format="turtle")
    engine = compile_shapes(shapes)
    assert engine is not None
    with pytest.raises(FastShaclError):
        engine.results_for_graph(data)
    with pytest.raises(InputError):
        shacl_results(data, shapes, engine="pyshacl")
    with pytest.raises(InputError):
        shacl_results(data, shapes)


# ---------------------------------------------------------------------------
# The comparison can fail: a constraint left out is caught
# ---------------------------------------------------------------------------

DROPPABLE = [
    "class",
    "in",
    "hasValue",
    "minCount",
    "maxCount",
    "not",
    "or",
    "and",
    "node",
    "property",
    "datatype",
    "minInclusive",
    "pattern",
    "minLength",
    "lessThan",
    "lessThanOrEquals",
]


@pytest.mark.parametrize("kind", DROPPABLE)
def test_dropping_a_constraint_is_caught(project: Project, shapes: Graph, kind: str) -> None:
    mutant = compile_shapes(shapes, drop=[kind])
    assert mutant is not None
    for path in sorted(FIXTURES, key=lambda p: p.parent.name != "invalid"):
        expected = reference(project, shapes, path, False)
        got = Counter(mutant.results_for_graph(fixture_data(project, path, False)))
        if got != expected:
            return
    # no fixture breaks sh:minLength alone (an empty oa:exact also breaks the span check)
    data, edge_shapes = _edge()
    edge_mutant = compile_shapes(edge_shapes, drop=[kind])
    assert edge_mutant is not None
    expected = Counter(shacl_results(data, edge_shapes, engine="pyshacl"))
    assert Counter(edge_mutant.results_for_graph(data)) != expected, (
        f"neither the fixtures nor the edge cases notice that {kind} constraints are missing"
    )


# ---------------------------------------------------------------------------
# Focus restriction (incremental validation)
# ---------------------------------------------------------------------------


def test_focus_restriction(broken_synthetic: Graph, compiled: fastshacl.Compiled) -> None:
    store = load_store(broken_synthetic)
    full = compiled.results(store)
    assert len(full) > 50
    foci = sorted({r.focus for r in full}, key=str)
    chosen: set[Node] = set(foci[::3])
    chosen.add(URIRef("http://example.org/not-in-the-data"))
    restricted = compiled.results(store, focus=chosen)
    assert restricted == [r for r in full if r.focus in chosen]
    assert restricted and len(restricted) < len(full)
    assert compiled.results(store, focus=[]) == []
    one = foci[0]
    assert compiled.results(store, focus=[one]) == [r for r in full if r.focus == one]


def test_a_shared_run_gives_one_process_s_results(
    broken_synthetic: Graph, compiled: fastshacl.Compiled, shared_map_forks: list[bool]
) -> None:
    """The queries shared with a forked copy (``share``) give the list one process gives, in
    its order, and the copy's error where it meets one."""
    forks = shared_map_forks
    store = load_store(broken_synthetic)
    alone = compiled.results(store, union=True)
    assert len(alone) > 50
    assert compiled.results(store, union=True, share=True) == alone
    assert forks == [False, True]
    data, shapes = _edge()
    data.parse(data="<http://example.org/t3> <http://example.org/start> [] .", format="turtle")
    engine = compile_shapes(shapes)
    assert engine is not None
    with pytest.raises(FastShaclError, match="blank value node"):
        engine.results(load_store(data), share=True)


def test_a_restricted_run_finds_the_focus_nodes_of_subclasses() -> None:
    """A run restricted to some focus nodes tests their types by the path: ex:t2, a Thing
    through two subclasses, has the results pyshacl gives it."""
    data, shapes = _edge()
    engine = compile_shapes(shapes)
    assert engine is not None
    t2 = URIRef("http://example.org/t2")
    expected = Counter(r for r in shacl_results(data, shapes, engine="pyshacl") if r.focus == t2)
    got = Counter(engine.results(load_store(data), focus=[t2]))
    assert got == expected, _diff(expected, got)
    assert {"a-node", "lt"} <= {r.message for r in expected}


def test_origin_gives_source_file(seed_corpus: Graph, compiled: fastshacl.Compiled) -> None:
    full = compiled.results_for_graph(seed_corpus)
    assert full
    origin = {r.focus: f"file-{i}.ttl" for i, r in enumerate(full)}
    again = compiled.results_for_graph(seed_corpus, origin=origin)
    assert [r.source_file for r in again] == [origin[r.focus] for r in again]


# ---------------------------------------------------------------------------
# Shapes the compiler does not cover: pyshacl takes over
# ---------------------------------------------------------------------------

_UNSUPPORTED = {
    "sparql": """
ex:S a sh:NodeShape ; sh:targetClass ex:Thing ; sh:message "no label" ;
  sh:sparql [ sh:select "SELECT $this WHERE { FILTER NOT EXISTS { $this ex:label ?l } }" ] .
""",
    "closed": """
ex:S a sh:NodeShape ; sh:targetClass ex:Thing ; sh:closed true ;
  sh:ignoredProperties ( rdf:type ) ; sh:message "closed" .
""",
    "xone": """
ex:S a sh:NodeShape ; sh:targetClass ex:Thing ; sh:message "xone" ;
  sh:xone ( [ sh:class ex:Thing ] [ sh:class ex:Thing ] ) .
""",
    "sequence path": """
ex:S a sh:NodeShape ; sh:targetClass ex:Thing ;
  sh:property [ sh:path ( ex:label ex:label ) ; sh:minCount 1 ; sh:message "path" ] .
""",
    "no message": """
ex:S a sh:NodeShape ; sh:targetClass ex:Thing ;
  sh:property [ sh:path ex:other ; sh:minCount 1 ] .
""",
}
_PREFIXES = """
@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .
@prefix ex: <http://example.org/> .
"""
_SMALL_DATA = """
@prefix ex: <http://example.org/> .
ex:a a ex:Thing ; ex:extra 1 .
"""


@pytest.mark.parametrize("feature", sorted(_UNSUPPORTED))
def test_unsupported_shapes_fall_back_to_pyshacl(
    feature: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    shapes = Graph().parse(data=_PREFIXES + _UNSUPPORTED[feature], format="turtle")
    data = Graph().parse(data=_SMALL_DATA, format="turtle")
    assert compile_shapes(shapes) is None
    expected = shacl_results(data, shapes, engine="pyshacl")
    assert expected, "the data breaks the shape, so the fallback is seen at work"
    monkeypatch.delenv("KG_SHACL", raising=False)
    assert Counter(shacl_results(data, shapes)) == Counter(expected)
    with pytest.raises(InputError):
        shacl_results(data, shapes, engine="sparql")


def test_engine_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    data, shapes = _edge()
    expected = Counter(shacl_results(data, shapes, engine="pyshacl"))
    calls: list[str] = []
    real = fastshacl.Compiled.results

    def spy(self: fastshacl.Compiled, *args: object, **kwargs: object) -> list[Result]:
        calls.append("sparql")
        return real(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(fastshacl.Compiled, "results", spy)
    for env, used in (("", True), ("auto", True), ("sparql", True), ("pyshacl", False)):
        monkeypatch.setenv("KG_SHACL", env)
        calls.clear()
        assert Counter(shacl_results(data, shapes)) == expected
        assert bool(calls) == used, env
    monkeypatch.setenv("KG_SHACL", "pyshacl")
    calls.clear()
    assert Counter(shacl_results(data, shapes, engine="sparql")) == expected
    assert calls, "an explicit engine wins over the environment"
    monkeypatch.setenv("KG_SHACL", "fast")
    with pytest.raises(InputError):
        shacl_results(data, shapes)
