"""The build that works per source (:mod:`kg.fastbuild`) writes what the reference pipeline
writes (rdflib, owlrl, pyshacl on the union): the same bytes of ``dip.trig`` and ``dip.ttl``, the
same ``summary.json`` but for the seconds, the same validation results. So does an incremental
rebuild after sources change, which reuses every other source's cached work and validates again
only the nodes whose results can change."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kg import fastbuild
from kg.pipeline import build, build_reference
from kg.project import Project, find_project
from kg.report import Report
from kg.synth import generate

ROOT = Path(__file__).resolve().parents[1]


def _outputs(out: Path) -> dict[str, object]:
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    summary.pop("seconds")
    return {
        "trig": (out / "dip.trig").read_bytes(),
        "ttl": (out / "dip.ttl").read_bytes(),
        "summary": summary,
    }


def _results(report: Report) -> list[tuple[str, ...]]:
    return sorted(
        (
            r.severity,
            r.source_file or "",
            str(r.focus),
            str(r.shape),
            str(r.path),
            r.message,
            str(r.value),
        )
        for r in report.results
    )


def _reference(project: Project, out: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """The reference build: owlrl's closure and pyshacl, on the union loaded by rdflib."""
    out.mkdir(exist_ok=True)
    with monkeypatch.context() as m:
        m.setenv("KG_REASONER", "owlrl")
        m.setenv("KG_SHACL", "pyshacl")
        return build_reference(project, out)


def _both(project: Project, tmp: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    ref_out, fast_out = tmp / "ref", tmp / "fast"
    fast_out.mkdir(exist_ok=True)
    reference = _reference(project, ref_out, monkeypatch)
    monkeypatch.setenv(fastbuild.ENGINE_ENV, "fast")
    fast = build(project, fast_out)
    assert fast.engine == "fast"
    assert reference.engine == "reference"
    return reference, fast, _outputs(ref_out), _outputs(fast_out)


def _assert_same(reference, fast, ref_files, fast_files) -> None:  # type: ignore[no-untyped-def]
    assert _results(fast.report) == _results(reference.report)
    assert fast_files["summary"] == ref_files["summary"]
    assert fast_files["ttl"] == ref_files["ttl"]
    assert fast_files["trig"] == ref_files["trig"]


@pytest.fixture(scope="module")
def synth_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fast") / "s1"
    generate(root, 1)
    return root


@pytest.fixture
def synth_copy(synth_root: Path, tmp_path: Path) -> Project:
    """A throw-away copy of the scale-1 synthetic corpus, to edit."""
    shutil.copytree(synth_root, tmp_path / "s1")
    return find_project(tmp_path / "s1")


def test_seed_corpus_builds_as_the_reference_does(
    project_copy: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = project_copy
    reference, fast, ref_files, fast_files = _both(project, tmp_path, monkeypatch)
    _assert_same(reference, fast, ref_files, fast_files)
    assert fast.reused == 0 and fast.revalidated is None  # a first build: everything made


def test_synthetic_corpus_builds_as_the_reference_does(
    synth_copy: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = synth_copy
    reference, fast, ref_files, fast_files = _both(project, tmp_path, monkeypatch)
    _assert_same(reference, fast, ref_files, fast_files)


def test_a_blank_node_of_a_counted_class_is_counted_as_the_reference_counts_it(
    project_copy: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The summary's per-source class counts match a source's subjects against the typed nodes
    of the store, where blank nodes are held under other labels."""
    project = project_copy
    path = sorted(project.seeds_dir.glob("00[0-9]_*.ttl"))[0]
    with path.open("a", encoding="utf-8") as f:
        f.write('\n[] a dip:Event ; rdfs:label "an event with no name of its own"@en .\n')
    _reference, _fast, ref_files, fast_files = _both(project, tmp_path, monkeypatch)
    assert fast_files["summary"] == ref_files["summary"]


def test_a_node_two_sources_or_a_source_and_the_ontology_type_apart_is_caught(
    project_copy: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A node that two sources type with disjoint classes, or a source and the ontology, is a
    common individual of both, which the union's reasoning finds as the reference does."""
    project = project_copy
    first, second = sorted(project.seeds_dir.glob("00[0-9]_*.ttl"))[:2]
    two, onto = "https://w3id.org/dip/id/test/two", "https://w3id.org/dip/id/test/onto"
    with first.open("a", encoding="utf-8") as f:
        f.write(f'\n<{two}> a dip:Person ; rdfs:label "Two"@en .\n')
        f.write(f'<{onto}> a dip:Person ; rdfs:label "Onto"@en .\n')
    with second.open("a", encoding="utf-8") as f:
        f.write(f'\n<{two}> a dip:Organization ; rdfs:label "Two"@en .\n')
    ontology = project.ontology_files()[0]
    with ontology.open("a", encoding="utf-8") as f:
        f.write(f"\n<{onto}> a <https://w3id.org/dip/ontology#Organization> .\n")
    reference, fast, ref_files, fast_files = _both(project, tmp_path, monkeypatch)
    _assert_same(reference, fast, ref_files, fast_files)
    trig = (tmp_path / "fast" / "dip.trig").read_text(encoding="utf-8")
    for node in (two, onto):
        assert f"common individual {node}" in trig


def test_a_literal_two_sources_type_apart_is_caught(
    project_copy: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A literal that one source's property types a mention and another's an event (classes
    held disjoint) is a common individual of both: the union's reasoning finds it from the
    facts each source keeps of its literals, as the reference finds it from the union."""
    project = project_copy
    first, second = sorted(project.seeds_dir.glob("00[0-9]_*.ttl"))[:2]
    with first.open("a", encoding="utf-8") as f:
        f.write('\n<https://w3id.org/dip/id/test/a> dip:denotedBy "a shared value" .\n')
    with second.open("a", encoding="utf-8") as f:
        f.write('\n<https://w3id.org/dip/id/test/b> dip:attributesAction "a shared value" .\n')
    reference, fast, ref_files, fast_files = _both(project, tmp_path, monkeypatch)
    _assert_same(reference, fast, ref_files, fast_files)
    assert b"have a common individual a shared value" in fast_files["trig"]  # type: ignore[operator]


def test_an_ill_typed_literal_is_named_by_the_projects_prefixes(
    project_copy: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file that rdflib's parser reads (an explicit ``xsd:string``) and that declares a
    prefix of its own for XSD: its ill-typed literal's message names the datatype as the
    project's prefixes do, not as the file's."""
    project = project_copy
    _append(
        sorted(project.seeds_dir.glob("00[0-9]_*.ttl"))[0],
        "\n@prefix xs: <http://www.w3.org/2001/XMLSchema#> .\n"
        '<https://w3id.org/dip/id/test/n> rdfs:label "n"^^xsd:string ;\n'
        '    rdfs:comment "twelve"^^xs:integer .\n',
    )
    reference, fast, ref_files, fast_files = _both(project, tmp_path, monkeypatch)
    _assert_same(reference, fast, ref_files, fast_files)
    messages = [r.message for r in fast.report.results]
    assert "'twelve' is not a valid xsd:integer (an integer)" in messages


def test_a_datatype_under_two_disjoint_classes_has_every_literal_of_it_caught(
    project_copy: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where the ontology makes a datatype a kind of two disjoint classes, every literal of it
    is a common individual of both, which the facts the sources keep of their literals do not
    list: the union's reasoning reads the literals themselves, and finds what the reference
    finds."""
    project = project_copy
    ontology = project.ontology_files()[0]
    with ontology.open("a", encoding="utf-8") as f:
        f.write(
            "\n<http://www.w3.org/2001/XMLSchema#integer> <http://www.w3.org/2000/01/rdf-schema#"
            "subClassOf> <https://w3id.org/dip/ontology#Event> ,"
            " <https://w3id.org/dip/ontology#Mention> .\n"
        )
    reference, fast, ref_files, fast_files = _both(project, tmp_path, monkeypatch)
    _assert_same(reference, fast, ref_files, fast_files)
    assert fast_files["trig"].count(b"have a common individual") > 100  # type: ignore[attr-defined]


def _edit(project: Project) -> tuple[str, str]:
    """Change one article: drop an event's label (a violation appears) and rename an actor's
    role title (a value changes)."""
    path = sorted(project.seeds_dir.glob("00[0-9]_*.ttl"))[1]
    text = path.read_text(encoding="utf-8")
    m = re.search(r'a dip:Event ;(\n\s*rdfs:label "[^"\n]*"(@en)? ;)', text)
    assert m, "the article has an event with a label"
    text = text[: m.start(1)] + text[m.end(1) :]
    n = re.search(r'dip:roleTitle "([^"\n]*)"', text)
    assert n, "the article has a role title"
    text = text[: n.start(1)] + "Deputy " + text[n.start(1) :]
    path.write_text(text, encoding="utf-8")
    return path.name, m.group(1)


def test_one_changed_article_rebuilds_incrementally_as_a_full_build_does(
    synth_copy: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = synth_copy
    monkeypatch.setenv(fastbuild.ENGINE_ENV, "fast")
    first = build(project, tmp_path / "first")
    assert first.revalidated is None
    _edit(project)
    again = build(project, tmp_path / "again")
    units = len(project.mapping_files())
    assert again.reused == units - 1  # every other source came from the cache
    cached = project.build_dir / ".cache" / "units"
    assert len(list(cached.glob("*.json"))) == units  # the changed file's old work is gone
    assert again.revalidated is not None and again.revalidated > 0
    assert again.revalidated < 0.25 * first.summary["triples"]["asserted"]
    reference = _reference(project, tmp_path / "ref", monkeypatch)
    assert _results(again.report) == _results(reference.report)
    assert again.report.counts()["Violation"] > first.report.counts()["Violation"]
    assert _outputs(tmp_path / "ref") == _outputs(tmp_path / "again")


@pytest.mark.parametrize(
    ("suffix", "cut"),
    [
        ("triples", "header"),
        ("triples", "triples"),
        ("triples", "codes"),
        ("lines", "header"),
        ("lines", "block"),
        ("lines", "lines"),
    ],
)
def test_a_cached_source_cut_short_is_made_again(
    project_copy: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suffix: str, cut: str
) -> None:
    """A source's cached triples cut short (in its first line, in its N-Triples, or in the
    codes after them), or its cached export lines (in their first line, in the TriG block, in
    the lines after it: checked against their first line as the source is loaded, though read
    only when an export asks for them), are not read: the source is made again, and the build
    is the same."""
    project = project_copy
    monkeypatch.setenv(fastbuild.ENGINE_ENV, "fast")
    build(project, tmp_path / "first")
    cached = sorted((project.build_dir / ".cache" / "units").glob(f"*.{suffix}"))
    assert len(cached) == len(project.mapping_files())
    data = cached[0].read_bytes()
    head = data.index(b"\n")
    block = int(data[:head].split()[0])
    keep = {
        "header": head // 2,
        "triples": head + (len(data) - head) // 2,
        "codes": len(data) - 1,
        "block": head + block // 2,
        "lines": len(data) - 1,
    }
    cached[0].write_bytes(data[: keep[cut]])
    again = build(project, tmp_path / "again")
    assert again.reused == len(project.mapping_files()) - 1
    assert _outputs(tmp_path / "again") == _outputs(tmp_path / "first")


def test_a_sources_cached_store_quads_cut_short_are_made_from_its_triples(
    project_copy: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full validation reads each source's quads for the store from its cached file; one cut
    short in a line adds nothing of it, and its quads are made from its triples instead."""
    project = project_copy
    monkeypatch.setenv(fastbuild.ENGINE_ENV, "fast")
    first = build(project, tmp_path / "first")
    assert first.report.results
    cached = sorted((project.build_dir / ".cache" / "units").glob("*.store.nq"))
    assert len(cached) == len(project.mapping_files())
    for path in cached:
        data = path.read_bytes()
        path.write_bytes(data[: data.index(b" .\n", len(data) // 2)])  # inside a line
    fastbuild._state_path(project).unlink()  # no results to keep: a full validation
    again = build(project, tmp_path / "again")
    assert again.reused == len(project.mapping_files()) and again.revalidated is None
    assert _results(again.report) == _results(first.report)
    assert _outputs(tmp_path / "again") == _outputs(tmp_path / "first")


def test_a_changed_source_text_makes_its_article_checked_again(
    project_copy: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cached source depends on the bytes of the text its mapping file names: when the text
    changes (same length, so every span still fits), its quotes are checked again."""
    project = project_copy
    monkeypatch.setenv(fastbuild.ENGINE_ENV, "fast")
    first = build(project, tmp_path / "first")
    mapping = sorted(project.seeds_dir.glob("00[0-9]_*.ttl"))[0]
    text = mapping.with_suffix(".txt")
    assert text.name.encode() in fastbuild.text_names(mapping.read_bytes())
    text.write_bytes(text.read_bytes().replace(b"e", b"x"))
    again = build(project, tmp_path / "again")
    assert again.reused == len(project.mapping_files()) - 1
    assert again.report.counts()["Violation"] > first.report.counts()["Violation"]
    reference = _reference(project, tmp_path / "ref", monkeypatch)
    assert _results(again.report) == _results(reference.report)


@pytest.mark.parametrize(
    "data",
    [
        b'dip:textFile "000_a.txt" ;',
        b"# Mapping of seeds/001_b.txt (src:001)",
        b"<file:///x/002_c.txt> <y.txt>",
        b"a.txt b.txtx c.txt.txt .txt /.txt x.TXT d.txt. e\\f.txt 'g.txt'",
        b"\xff\xfe.txt\t\x0b\x0ch.txt\r\ni.txt",
        b"",
    ],
)
def test_the_text_names_of_a_mapping_file_are_its_runs_that_end_in_txt(data: bytes) -> None:
    runs = re.findall(rb"[^\s\"'<>/\\]+", data)
    assert fastbuild.text_names(data) == {run for run in runs if run.endswith(b".txt")}


def test_a_rebuild_names_a_failing_blank_node_by_the_triples_that_lead_to_it(
    project_copy: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rebuild validates on a store of the changed nodes and their values only; a report
    that names a blank node still gets the triples that lead to it, and its source file, from
    the whole union, as the reference build gives them."""
    from rdflib import BNode, URIRef
    from rdflib.namespace import RDFS

    project = project_copy
    monkeypatch.setenv(fastbuild.ENGINE_ENV, "fast")
    build(project, tmp_path / "first")
    path = sorted(project.seeds_dir.glob("00[0-9]_*.ttl"))[0]
    holder = URIRef("https://w3id.org/dip/id/test/holder")
    with path.open("a", encoding="utf-8") as f:
        f.write(f"\n<{holder}> rdfs:seeAlso [ a dip:Event ] .\n")
    again = build(project, tmp_path / "again")
    assert again.revalidated is not None  # validated again only where needed
    blanks = [
        r
        for r in again.report.results
        if isinstance(r.focus, BNode) and str(r.shape).endswith("#EventShape")
    ]
    assert blanks and {r.source_file for r in blanks} == {f"seeds/{path.name}"}
    graph = again.label_graph(r.focus for r in blanks)
    assert (holder, RDFS.seeAlso, blanks[0].focus) in graph
    reference = _reference(project, tmp_path / "ref", monkeypatch)
    assert _results(again.report) == _results(reference.report)


def test_a_rebuild_validates_again_the_nodes_that_point_to_a_changed_node(
    project_copy: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An organisation of one article is a member of a node another article types a person,
    which is a violation reported from the article that types the organisation (not the one
    that names it first). When the other article stops typing that node a person, the
    organisation, whose own triples did not change, loses the violation."""
    project = project_copy
    first, second, third = sorted(project.seeds_dir.glob("00[0-9]_*.ttl"))[:3]
    org, person = "https://w3id.org/dip/id/test/org", "https://w3id.org/dip/id/test/person"
    with first.open("a", encoding="utf-8") as f:
        f.write(f'\n<{org}> rdfs:comment "named here first" .\n')
    typed = f'\n<{person}> a dip:Person ; rdfs:label "Test Person" .\n'
    with second.open("a", encoding="utf-8") as f:
        f.write(typed)
    with third.open("a", encoding="utf-8") as f:
        f.write(f'\n<{org}> a dip:Organization ; rdfs:label "Test" ; dip:memberOf <{person}> .\n')
    monkeypatch.setenv(fastbuild.ENGINE_ENV, "fast")

    def member_of(built):  # type: ignore[no-untyped-def]
        return [
            r.source_file
            for r in built.report.results
            if str(r.focus) == org and str(r.path).endswith("#memberOf")
        ]

    assert member_of(build(project, tmp_path / "first")) == [f"seeds/{third.name}"]
    text = second.read_text(encoding="utf-8")
    second.write_text(text.replace(typed, f'\n<{person}> rdfs:label "Test Person" .\n'))
    again = build(project, tmp_path / "again")
    assert again.revalidated is not None  # validated again only where needed
    assert member_of(again) == []
    reference = _reference(project, tmp_path / "ref", monkeypatch)
    assert _results(again.report) == _results(reference.report)


def test_the_comparison_catches_an_incremental_build_that_validates_too_little(
    synth_copy: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = synth_copy
    monkeypatch.setenv(fastbuild.ENGINE_ENV, "fast")
    build(project, tmp_path / "first")
    _edit(project)
    monkeypatch.setattr(fastbuild, "_affected", lambda *a, **k: set())
    again = build(project, tmp_path / "again")
    reference = _reference(project, tmp_path / "ref", monkeypatch)
    assert _results(again.report) != _results(reference.report)


def test_a_change_to_the_shapes_validates_everything_again(
    synth_copy: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = synth_copy
    monkeypatch.setenv(fastbuild.ENGINE_ENV, "fast")
    build(project, tmp_path / "first")
    shapes = project.shape_files()[0]
    shapes.write_text(shapes.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    again = build(project, tmp_path / "again")
    assert again.reused == 0 and again.revalidated is None


def test_reference_engine_is_chosen_by_the_environment(
    project_copy: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = project_copy
    monkeypatch.setenv(fastbuild.ENGINE_ENV, "reference")
    assert build(project, tmp_path / "out").engine == "reference"
    monkeypatch.setenv(fastbuild.ENGINE_ENV, "quick")
    with pytest.raises(Exception, match="KG_ENGINE must be auto, fast or reference"):
        build(project, tmp_path / "out")


def _tricky_triples() -> list:
    """Triples whose literals look like blank nodes and line ends, around two blank nodes."""
    import pyoxigraph as ox

    p, b, c = ox.NamedNode("http://e/p"), ox.BlankNode("b1"), ox.BlankNode("c_2")
    tricky = [
        "_:x",
        "a _:b",
        "a _:b .",
        "a _:b .\n_:c <http://e/p> _:d .",
        ' _:q" ',
        "_:e <http://e/p> _:f .",
        'back\\slash "quoted" \t ünï 😀 \u2028',
    ]
    objects: list = [c, ox.NamedNode("http://e/_:o")]
    for text in tricky:
        objects += [
            ox.Literal(text),
            ox.Literal(text, language="en-GB"),
            ox.Literal(text, datatype=ox.NamedNode("http://e/_:dt")),
        ]
    return [ox.Triple(s, p, o) for s in (b, ox.NamedNode("http://e/s")) for o in objects]


def test_blank_nodes_are_written_as_iris_as_the_writer_writes_those_iris() -> None:
    import pyoxigraph as ox

    prefix = "https://example.org/.well-known/genid/"
    triples = _tricky_triples()

    def iri(term):  # type: ignore[no-untyped-def]
        return ox.NamedNode(prefix + term.value) if isinstance(term, ox.BlankNode) else term

    expected = ox.serialize(
        [ox.Triple(iri(t.subject), t.predicate, iri(t.object)) for t in triples],
        format=ox.RdfFormat.N_TRIPLES,
    ).decode("utf-8")
    written = ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES).decode("utf-8")
    assert "_:" in written
    assert fastbuild.skolemized(written, prefix) == expected


def test_blank_nodes_renamed_in_lines_are_the_lines_of_the_renamed_triples() -> None:
    triples = _tricky_triples()
    labels = {"b1": "bnew", "c_2": "b0c2x1"}
    lines = fastbuild._nt_lines(triples)
    renamed = fastbuild._nt_lines(fastbuild._renamed(triples, labels))
    assert sum("_:b1 " in line for line in lines) > 10
    assert fastbuild._renamed_lines(lines, labels) == renamed


def test_a_sources_store_quads_are_written_as_the_writer_writes_them() -> None:
    import pyoxigraph as ox
    from rdflib import URIRef

    triples = _tricky_triples()
    unit = fastbuild.Unit(
        gid=URIRef("https://example.org/graph/x"),
        path=Path("x.ttl"),
        key="x",
        nt=(fastbuild._nt_lines(triples), fastbuild._nt_lines(triples[:5])),
        reads=(b"", b""),
        bad=[],
        literal_results=[],
        span_results=[],
        triples=(triples, triples[:5]),
    )
    enc = fastbuild._Encoder()
    written = ox.serialize(fastbuild._encoded(unit, enc), format=ox.RdfFormat.N_QUADS)
    assert written.count(b"\n") == len(triples) + 5
    assert fastbuild._store_text(unit, enc) == written


def test_the_build_leaves_inferences_the_other_commands_reuse(
    project_copy: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kg.pipeline import assemble, inputs_digest
    from kg.reason import infer

    project = project_copy
    monkeypatch.setenv(fastbuild.ENGINE_ENV, "fast")
    build(project, tmp_path / "out")
    cache = project.build_dir / ".cache" / f"inferred-{inputs_digest(project)}.nt"
    assert cache.is_file()
    built = assemble(project)  # reads the cache
    assert set(built.inferred) == set(infer(built.loaded.union()))


def test_a_closure_reads_back_as_it_was_written() -> None:
    from rdflib import BNode, Graph, Literal, URIRef
    from rdflib.namespace import XSD

    from kg.rules import Closure

    g = Graph()
    s, b = URIRef("https://example.org/s"), BNode("b0")
    g.add((s, URIRef("https://example.org/p"), b))
    g.add((b, URIRef("https://example.org/p"), Literal("plain")))
    g.add((b, URIRef("https://example.org/p"), Literal("typed", datatype=XSD.string)))
    g.add((b, URIRef("https://example.org/p"), Literal("en", lang="en")))
    g.add((b, URIRef("https://example.org/p"), Literal("01", datatype=XSD.integer)))
    back = Closure.from_bytes(Closure(g, 3, 2).to_bytes())
    assert back is not None and (back.added, back.cycles) == (3, 2)
    assert set(back.closed) == set(g)  # blank-node labels and literal forms kept
    assert Closure.from_bytes(b"not a closure") is None
    assert Closure.from_bytes(b'{"added": 1, "cycles": 0, "triples": [[["x"]]]}') is None


def test_the_ontology_closure_is_kept_between_builds(
    project_copy: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import kg.rules
    from kg.errors import KGError

    project = project_copy
    monkeypatch.setenv(fastbuild.ENGINE_ENV, "fast")
    monkeypatch.setenv(fastbuild.WORKERS_ENV, "1")
    real, runs = kg.rules.close, []
    monkeypatch.setattr(kg.rules, "close", lambda *a, **k: runs.append(1) or real(*a, **k))
    build(project, tmp_path / "first")
    assert runs == [1]
    [kept] = (project.build_dir / ".cache").glob("closure-*.json")
    build(project, tmp_path / "again")
    assert runs == [1]  # read from the cache, owlrl not run
    assert _outputs(tmp_path / "again") == _outputs(tmp_path / "first")
    kept.write_text('{"added": ', encoding="utf-8")  # cut short
    build(project, tmp_path / "third")
    assert runs == [1, 1]  # made again, and the build is the same
    assert _outputs(tmp_path / "third") == _outputs(tmp_path / "first")
    # a lower bound is not escaped through the cache: the closure runs again and stops
    monkeypatch.setenv("KG_REASON_MAX_TRIPLES", "1")
    with pytest.raises(KGError, match="KG_REASON_MAX_TRIPLES"):
        build(project, tmp_path / "bounded")
    assert runs == [1, 1, 1]


# --- the export, made in a process of its own while the build validates ---------------------


def _temporaries(*dirs: Path) -> list[Path]:
    """Hidden temporary files (``.NAME.PID.XXXX.tmp``) anywhere under ``dirs``."""
    return sorted(p for d in dirs if d.exists() for p in d.rglob(".*.tmp"))


def _saved_inferences(project: Project) -> bytes:
    [saved] = (project.build_dir / ".cache").glob("inferred-*.nt")
    return saved.read_bytes()


def test_the_export_made_beside_the_validation_is_what_one_process_writes(
    project_copy: Project,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    shared_map_forks: list[bool],
) -> None:
    """Two processes make the exports and one shares the shapes' queries while the build
    validates: the outputs are those of a build in one process."""
    forks = shared_map_forks
    project = project_copy
    monkeypatch.setenv(fastbuild.ENGINE_ENV, "fast")
    monkeypatch.setenv(fastbuild.WORKERS_ENV, "2")
    beside = build(project, tmp_path / "beside")
    saved = _saved_inferences(project)
    assert forks == [True]
    monkeypatch.setenv(fastbuild.WORKERS_ENV, "1")
    shutil.rmtree(project.build_dir)
    alone = build(project, tmp_path / "alone")
    assert forks == [True, False]
    assert beside.export_forked and not alone.export_forked
    assert _outputs(tmp_path / "beside") == _outputs(tmp_path / "alone")
    assert _saved_inferences(project) == saved
    assert _temporaries(tmp_path, project.build_dir) == []


def test_an_export_process_that_fails_is_done_again_by_the_build(
    project_copy: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The process dies of an error of its own (here: memory): the build makes the export
    itself, and writes what it writes without that process; an error the build meets too is
    the build's error, and leaves no output and no temporary file."""
    import os

    project = project_copy
    monkeypatch.setenv(fastbuild.ENGINE_ENV, "fast")
    monkeypatch.setenv(fastbuild.WORKERS_ENV, "1")
    build(project, tmp_path / "alone")
    monkeypatch.setenv(fastbuild.WORKERS_ENV, "2")
    build_pid, real = os.getpid(), fastbuild._export

    def out_of_memory_in_the_process(*args):  # type: ignore[no-untyped-def]
        if os.getpid() != build_pid:
            raise MemoryError("the export process ran out of memory")
        return real(*args)

    monkeypatch.setattr(fastbuild, "_export", out_of_memory_in_the_process)
    again = build(project, tmp_path / "again")
    assert again.export_forked
    assert _outputs(tmp_path / "again") == _outputs(tmp_path / "alone")

    def disk_full(*args):  # type: ignore[no-untyped-def]
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(fastbuild, "_export", disk_full)
    with pytest.raises(OSError, match="No space left"):
        build(project, tmp_path / "full")
    assert not (tmp_path / "full" / "dip.trig").exists()
    assert _temporaries(tmp_path, project.build_dir) == []

    # the disk fills up when the Turtle file is staged, while the dataset's may be written
    monkeypatch.setattr(fastbuild, "_export", real)
    real_stage = fastbuild.stage_atomic

    def full_at_the_turtle(path, payload, owner=None):  # type: ignore[no-untyped-def]
        if path.name == "dip.ttl":
            raise OSError(28, "No space left on device")
        return real_stage(path, payload, owner)

    monkeypatch.setattr(fastbuild, "stage_atomic", full_at_the_turtle)
    with pytest.raises(OSError, match="No space left"):
        build(project, tmp_path / "half")
    assert not (tmp_path / "half" / "dip.trig").exists()
    assert _temporaries(tmp_path, project.build_dir) == []


def test_a_build_that_does_not_conform_stops_the_export_and_leaves_nothing(
    project_copy: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The seed corpus has warnings: failing on warnings, the build writes nothing, and the
    export processes, stopped and reaped, leave no temporary file and no saved inferences."""
    import os

    project = project_copy
    monkeypatch.setenv(fastbuild.ENGINE_ENV, "fast")
    monkeypatch.setenv(fastbuild.WORKERS_ENV, "2")
    children: list[fastbuild.Child] = []
    real = fastbuild.Child.start

    def start(task):  # type: ignore[no-untyped-def]
        child = real(task)
        children.append(child)
        return child

    monkeypatch.setattr(fastbuild.Child, "start", start)
    (tmp_path / "out").mkdir()
    failed = build(project, tmp_path / "out", fail_on="warning")
    assert failed.export_forked and failed.report.failing("warning")
    pids = [child.pid for child in children]
    assert len(pids) == 3  # the two export processes and the validation's copy
    for pid in pids:  # waited for by the build: no process of it is left, not even a zombie
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
    assert sorted((tmp_path / "out").iterdir()) == []
    assert list((project.build_dir / ".cache").glob("*inferred-*")) == []
    assert _temporaries(tmp_path, project.build_dir) == []


# --- a rebuild patches the last build's exports ----------------------------------------------


def _clean(project: Project, tmp_path: Path, name: str) -> tuple[dict[str, object], bytes]:
    """The outputs and saved inferences of a build of a copy of ``project`` with no cache."""
    root = tmp_path / name
    for part in ("ontology", "shapes", "seeds", "queries", "checks"):
        shutil.copytree(project.root / part, root / part)
    copy = find_project(root)
    build(copy)
    return _outputs(copy.build_dir), _saved_inferences(copy)


def _append(path: Path, text: str) -> None:
    with path.open("a", encoding="utf-8") as f:
        f.write(text)


_PARTS = frozenset({"inferences", "dataset", "turtle"})


def test_a_rebuild_patches_the_last_exports_as_a_clean_build_writes_them(
    project_copy: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One article changes: it asserts what another source's triples infer, and nothing it
    infers itself changes with it (the inference leaves the inferences' graph and the saved
    inferences), names a new node (a new block in each file) and loses an event's label. The
    rebuild patches all three files, which are then what a build with no cache writes; so are
    they when the article is put back (the new node's blocks leave)."""
    project = project_copy
    monkeypatch.setenv(fastbuild.ENGINE_ENV, "fast")
    first = build(project)
    assert first.patched == frozenset()  # nothing to patch: no index yet
    before = _outputs(project.build_dir), _saved_inferences(project)
    path = sorted(project.seeds_dir.glob("00[0-9]_*.ttl"))[1]
    original = path.read_text(encoding="utf-8")
    text = original
    m = re.search(r'a dip:Event ;(\n\s*rdfs:label "[^"\n]*"(@en)? ;)', text)
    assert m, "the article has an event with a label"
    text = text[: m.start(1)] + text[m.end(1) :]
    path.write_text(text, encoding="utf-8")
    _append(
        path,
        "\nactor:vladimir-putin a <http://www.w3.org/ns/prov#Agent> .\n"
        'ev:001-test-new-event a dip:Event ; rdfs:label "A new event"@en .\n',
    )
    inferred = "<https://w3id.org/dip/id/actor/vladimir-putin> "
    assert any(
        line.startswith(inferred) and "prov#Agent>" in line
        for line in before[1].decode("utf-8").splitlines()
    )

    again = build(project)
    assert again.patched == _PARTS
    files, saved = _outputs(project.build_dir), _saved_inferences(project)
    assert (files, saved) == _clean(project, tmp_path, "clean")
    assert not any(
        line.startswith(inferred) and "prov#Agent>" in line
        for line in saved.decode("utf-8").splitlines()
    )
    assert b"test-new-event" in files["ttl"] and b"test-new-event" in files["trig"]  # type: ignore[operator]

    path.write_text(original, encoding="utf-8")
    back = build(project)
    assert back.patched == _PARTS
    assert (_outputs(project.build_dir), _saved_inferences(project)) == before


def test_a_patched_rebuild_reads_the_export_lines_of_the_changed_source_only(
    project_copy: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An article names a node no other source has triples about: patching the three files
    reads that article's cached export lines (its old and new version's) and no other
    source's."""
    project = project_copy
    monkeypatch.setenv(fastbuild.ENGINE_ENV, "fast")
    monkeypatch.setenv("KG_WORKERS", "1")  # the exports made in this process, where it is seen
    build(project)
    units_dir = project.build_dir / ".cache" / "units"
    before = set(units_dir.glob("*.lines"))
    path = sorted(project.seeds_dir.glob("00[0-9]_*.ttl"))[1]
    _append(path, '\nev:001-test-new-event a dip:Event ; rdfs:label "A new event"@en .\n')
    read: list[Path] = []
    real = fastbuild._read_lines

    def recording(lines: Path):  # type: ignore[no-untyped-def]
        read.append(lines)
        return real(lines)

    monkeypatch.setattr(fastbuild, "_read_lines", recording)
    again = build(project)
    assert again.patched == _PARTS
    unchanged = before & set(units_dir.glob("*.lines"))
    assert len(unchanged) == len(project.mapping_files()) - 1
    assert read and not unchanged.intersection(read)


def test_an_export_changed_since_the_last_build_is_written_whole(
    project_copy: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file edited by hand since the last build (its digest differs from its index's; here
    in a literal, which leaves its blocks as they were), or whose index is gone, is written
    whole; the others are patched."""
    project = project_copy
    monkeypatch.setenv(fastbuild.ENGINE_ENV, "fast")
    build(project)
    ttl = project.build_dir / "dip.ttl"
    ttl.write_bytes(ttl.read_bytes().replace(b"Vladimir Putin", b"Vladimir Poutine", 1))
    (project.build_dir / ".cache" / "export-dataset.idx").unlink()
    path = sorted(project.seeds_dir.glob("00[0-9]_*.ttl"))[2]
    _append(path, '\nactor:vladimir-putin rdfs:comment "a comment"@en .\n')
    again = build(project)
    assert again.patched == frozenset({"inferences"})
    assert (_outputs(project.build_dir), _saved_inferences(project)) == _clean(
        project, tmp_path, "clean"
    )
    assert (project.build_dir / ".cache" / "export-dataset.idx").is_file()  # made again


def test_a_change_to_the_union_inferences_patches_what_it_can(
    project_copy: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A change that makes an inconsistency of the union (an error message, a blank node the
    dataset names by its triples among all the union's inferences) has the inferences' graph
    of ``dip.trig`` made whole; the other files are patched. And back again."""
    project = project_copy
    monkeypatch.setenv(fastbuild.ENGINE_ENV, "fast")
    build(project)
    before = _outputs(project.build_dir), _saved_inferences(project)
    path = sorted(project.seeds_dir.glob("00[0-9]_*.ttl"))[3]
    original = path.read_text(encoding="utf-8")
    _append(path, "\n<https://w3id.org/dip/id/test/both> a dip:Person , dip:Organization .\n")
    again = build(project)
    assert again.patched == frozenset({"inferences", "turtle"})
    files = _outputs(project.build_dir)
    assert b"common individual https://w3id.org/dip/id/test/both" in files["trig"]  # type: ignore[operator]
    assert (files, _saved_inferences(project)) == _clean(project, tmp_path, "clean")
    path.write_text(original, encoding="utf-8")
    back = build(project)
    assert back.patched == frozenset({"inferences", "turtle"})
    assert (_outputs(project.build_dir), _saved_inferences(project)) == before


_LINE = st.text(alphabet='ab <>é"', max_size=6).filter(lambda s: "\n" not in s)


@given(
    held=st.sets(_LINE, max_size=12),
    gone=st.sets(_LINE, max_size=6),
    come=st.sets(_LINE, max_size=6),
)
def test_sorted_lines_are_edited_as_sets_are(
    held: set[str], gone: set[str], come: set[str]
) -> None:
    """The saved inferences' lines less those that left, with those that joined, are the
    lines a set gives, sorted: for lines at either end, lines one of which begins another,
    lines not held that leave and lines held that join."""
    come -= gone  # a triple leaves the inferences or joins them, not both

    def text(lines: set[str]) -> bytes:
        return b"".join(line.encode("utf-8") + b"\n" for line in sorted(lines))

    def raw(lines: set[str]) -> set[bytes]:
        return {line.encode("utf-8") for line in lines}

    assert fastbuild._edit_sorted(text(held), raw(gone), raw(come)) == text(held - gone | come)


@pytest.mark.parametrize("n", [0, 1, 2, 3, 7])
def test_a_line_is_sought_where_it_sorts(n: int) -> None:
    """:func:`fastbuild._seek` gives each held line's offset, and where each line not held
    would go, among ``n`` lines."""
    lines = [f"<l{i:02d}>".encode() for i in range(0, 2 * n, 2)]
    text = b"".join(line + b"\n" for line in lines)
    for i, line in enumerate(lines):
        assert fastbuild._seek(text, line) == (sum(len(x) + 1 for x in lines[:i]), True)
        before = f"<l{2 * i - 1:02d}>".encode() if i else b"<l"
        assert fastbuild._seek(text, before) == (sum(len(x) + 1 for x in lines[:i]), False)
    assert fastbuild._seek(text, b"<m>") == (len(text), False)


def test_a_build_runs_the_collector_rarely_and_puts_it_back(
    project_copy: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    """During a build, the cycle collector has the build's thresholds; after it, and after a
    build that fails, the ones it had."""
    import gc

    monkeypatch.setenv(fastbuild.ENGINE_ENV, "fast")
    before = gc.get_threshold()
    assert before != fastbuild._THRESHOLDS
    seen: list[tuple[int, ...]] = []
    real = fastbuild._joint

    def recording(*args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(gc.get_threshold())
        return real(*args, **kwargs)

    monkeypatch.setattr(fastbuild, "_joint", recording)
    build(project_copy)
    assert seen == [fastbuild._THRESHOLDS]
    assert gc.get_threshold() == before

    def failing(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("stop")

    monkeypatch.setattr(fastbuild, "_joint", failing)
    with pytest.raises(RuntimeError):
        build(project_copy)
    assert gc.get_threshold() == before
