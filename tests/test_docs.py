"""The documentation cannot drift from the data.

* ``docs/walkthrough.md``: every Turtle block parses with the mapping guide's prefixes, every
  triple of it is in the seed mapping file it names, every span selects exactly its
  ``oa:exact`` in the source text, every quoted passage is verbatim in a seed text, and every
  ``kg locate`` example prints what the page shows.
* ``docs/ontology/``: the committed files are what ``kg docs`` generates from the ontology, and
  the check notices when the ontology changes.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest
from click.testing import CliRunner
from rdflib import RDF, BNode, Graph, Literal, URIRef
from rdflib.term import Node

from kg import docs as kgdocs
from kg.cli import main
from kg.namespaces import DIP, DV, OA
from kg.project import Project, find_project
from kg.spans import read_text

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "mapping-guide.md"
WALKTHROUGH = ROOT / "docs" / "walkthrough.md"

_FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```[ \t]*$", re.M | re.S)
_SOURCE_LINE = re.compile(r"#\s*(seeds/\S+\.ttl)\s*$")


def fenced(path: Path, lang: str) -> list[str]:
    """The bodies of the fenced code blocks of ``path`` whose info string starts with ``lang``."""
    return [body for kind, body in _FENCE.findall(path.read_text(encoding="utf-8")) if kind == lang]


@cache
def guide_prefixes() -> str:
    lines = {
        line.strip()
        for block in fenced(GUIDE, "turtle")
        for line in block.splitlines()
        if line.strip().startswith("@prefix")
    }
    return "\n".join(sorted(lines)) + "\n"


@cache
def mapping(path: str) -> Graph:
    return Graph().parse(ROOT / path, format="turtle")


def _block_id(block: str) -> str:
    first_subject = next(
        (line.split()[0] for line in block.splitlines() if line and not line.startswith("#")), "?"
    )
    return first_subject


TURTLE = fenced(WALKTHROUGH, "turtle")
TURTLE_IDS = [_block_id(b) for b in TURTLE]


def parse_block(block: str) -> Graph:
    return Graph().parse(data=guide_prefixes() + block, format="turtle")


def source_file(block: str) -> str:
    first = block.splitlines()[0]
    m = _SOURCE_LINE.match(first)
    assert m, f"a walkthrough block must start with '# seeds/<file>.ttl', not {first!r}"
    assert (ROOT / m.group(1)).is_file(), f"{m.group(1)} does not exist"
    return m.group(1)


def _show(graph: Graph, node: Node) -> str:
    return node.n3(graph.namespace_manager) if not isinstance(node, BNode) else "[…]"


def _matches(doc: Graph, seed: Graph, d: Node, s: Node) -> bool:
    """Every triple of ``d`` in ``doc`` has a counterpart at ``s`` in ``seed``; blank nodes
    match any blank node of the seed that says at least the same (recursively)."""
    for p, o in doc.predicate_objects(d):
        if isinstance(o, BNode):
            if not any(
                isinstance(o2, BNode) and _matches(doc, seed, o, o2) for o2 in seed.objects(s, p)
            ):
                return False
        elif (s, p, o) not in seed:
            return False
    return True


def missing_triples(doc: Graph, seed: Graph) -> list[str]:
    """The triples of ``doc`` that ``seed`` does not have, readably."""
    missing = []
    for s in sorted({s for s in doc.subjects() if isinstance(s, URIRef)}, key=str):
        for p, o in sorted(doc.predicate_objects(s), key=lambda po: (str(po[0]), str(po[1]))):
            if isinstance(o, BNode):
                found = any(
                    isinstance(o2, BNode) and _matches(doc, seed, o, o2)
                    for o2 in seed.objects(s, p)
                )
            else:
                found = (s, p, o) in seed
            if not found:
                missing.append(f"{_show(doc, s)} {_show(doc, p)} {_show(doc, o)}")
    roots = [
        b for b in doc.subjects() if isinstance(b, BNode) and not list(doc.subject_predicates(b))
    ]
    missing += [f"a blank node that hangs from no named node: {b}" for b in roots]
    return missing


# ---------------------------------------------------------------------------
# The walkthrough
# ---------------------------------------------------------------------------


def test_walkthrough_shows_turtle_from_the_seed_mappings():
    assert len(TURTLE) >= 10
    for block in TURTLE:
        source_file(block)


@pytest.mark.parametrize("block", TURTLE, ids=TURTLE_IDS)
def test_every_turtle_block_parses_with_the_guides_prefixes(block: str):
    assert len(parse_block(block)) > 0


@pytest.mark.parametrize("block", TURTLE, ids=TURTLE_IDS)
def test_every_triple_of_a_block_is_in_its_seed_mapping(block: str):
    missing = missing_triples(parse_block(block), mapping(source_file(block)))
    assert not missing, f"not in {source_file(block)}:\n" + "\n".join(missing)


@pytest.mark.parametrize("block", TURTLE, ids=TURTLE_IDS)
def test_every_span_of_a_block_selects_its_exact_text(block: str):
    graph = parse_block(block)
    seed = mapping(source_file(block))
    mentions = list(graph.subjects(RDF.type, DIP.Mention))
    assert mentions, "every block shows at least one mention"
    for m in mentions:
        source = graph.value(m, DIP.inSource)
        text_file = seed.value(source, DIP.textFile)
        assert text_file is not None, f"{source} has no dip:textFile in {source_file(block)}"
        text = read_text(ROOT / "seeds" / str(text_file))
        start, end = int(graph.value(m, OA.start)), int(graph.value(m, OA.end))
        exact = str(graph.value(m, OA.exact))
        assert text[start:end] == exact, f"{text_file} [{start}:{end}] is {text[start:end]!r}"


def test_every_quoted_passage_is_verbatim_in_a_seed_text():
    texts = [read_text(p) for p in sorted((ROOT / "seeds").glob("*.txt"))]
    passages = fenced(WALKTHROUGH, "text")
    assert len(passages) >= 2
    for passage in passages:
        assert any(passage.rstrip("\n") in t for t in texts), passage


def test_every_locate_example_prints_what_the_walkthrough_shows(monkeypatch):
    monkeypatch.chdir(ROOT)
    examples = [b for b in fenced(WALKTHROUGH, "console") if b.startswith("$ kg locate ")]
    assert examples
    for example in examples:
        command, *expected = example.rstrip("\n").splitlines()
        args = shlex.split(command[2:])[1:]
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, result.output
        assert result.stdout.rstrip("\n").splitlines() == expected


def test_walkthrough_covers_every_decision_it_promises():
    """Quote and reported speech, a hedge, an unnamed source, a chain, a denial, vague dates."""
    shown = Graph()
    for block in TURTLE:
        shown += parse_block(block)
    for mode in (DV.VerbatimQuote, DV.PartialQuote, DV.ReportedSpeech):
        assert (None, DIP.mode, mode) in shown, mode
    assert (None, DIP.hedgeCue, None) in shown
    assert (None, RDF.type, DIP.UnnamedSource) in shown
    assert (None, DIP.reportedBy, None) in shown
    assert (None, DIP.actType, DV.Deny) in shown and (None, DIP.disputes, None) in shown
    assert (None, DIP.retracts, None) in shown
    for precision in (DV.DayRangePrecision, DV.BoundedPrecision):
        assert (None, DIP.precision, precision) in shown, precision
    assert any(isinstance(o, Literal) for o in shown.objects(None, DIP.timeBasis))


def test_guide_and_readme_link_the_walkthrough_and_the_ontology_pages():
    guide = GUIDE.read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "(walkthrough.md)" in guide and "ontology/index.html" in guide
    assert "docs/walkthrough.md" in readme and "docs/ontology/index.html" in readme


# ---------------------------------------------------------------------------
# docs/ontology/, generated by `kg docs`
# ---------------------------------------------------------------------------


def _docs_copy(project_copy: Project) -> Project:
    shutil.copytree(ROOT / "docs" / "ontology", project_copy.root / "docs" / "ontology")
    return find_project(project_copy.root)


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} is not unique in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_committed_ontology_docs_are_what_kg_docs_generates(project: Project):
    result = kgdocs.check(project)
    assert result.ok, (
        f"docs/ontology/ is stale: {result.differing}; run `kg docs` and commit the result"
    )
    assert set(kgdocs.FILES) <= {p.name for p in kgdocs.docs_dir(project).iterdir()}


def test_docs_check_fails_and_names_the_page_when_a_label_changes(project_copy: Project):
    copy = _docs_copy(project_copy)
    _edit(copy.ontology_dir / "dip.ttl", 'rdfs:label "Actor"@en', 'rdfs:label "Agent"@en')
    proc = subprocess.run(
        [sys.executable, "-m", "kg.cli", "--root", str(copy.root), "docs", "--check"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    # pyLODE makes its anchors from labels, and the diagram links to them: both change.
    assert "would change docs/ontology/index.html" in proc.stdout.splitlines()
    assert "would change docs/ontology/diagram.dot" in proc.stdout.splitlines()
    assert "would change docs/ontology/vocab.html" not in proc.stdout


def test_docs_check_notices_a_changed_range_in_the_diagram(project_copy: Project):
    copy = _docs_copy(project_copy)
    _edit(
        copy.ontology_dir / "dip.ttl",
        "    rdfs:domain dip:Mention ;\n    rdfs:range dip:SourceDocument ;",
        "    rdfs:domain dip:Mention ;\n    rdfs:range dip:Actor ;",
    )
    result = kgdocs.check(copy)
    assert "diagram.dot" in result.differing and "index.html" in result.differing


def test_docs_check_notices_a_changed_concept_in_the_vocabulary_page(project_copy: Project):
    copy = _docs_copy(project_copy)
    _edit(copy.ontology_dir / "dip-vocab.ttl", 'skos:prefLabel "claim"@en', 'skos:prefLabel "x"@en')
    assert kgdocs.check(copy).differing == ["vocab.html"]


def test_diagram_is_read_from_subclasses_domains_and_ranges(project: Project):
    dot = (kgdocs.docs_dir(project) / "diagram.dot").read_text(encoding="utf-8")
    # rdfs:subClassOf, drawn parent -> child with the hollow head at the parent
    assert "  Actor -> UnnamedSource [dir=back, arrowtail=onormal" in dot
    assert "  Statement -> Attribution [dir=back, arrowtail=onormal" in dot
    # object properties from domain to range, several on one arrow
    assert '  Statement -> Actor [label="addressee\\nspeaker"' in dot
    assert '  Mention -> SourceDocument [label="inSource"' in dot
    # a property to the same class is listed in the box; an open domain is an "(any)" box
    assert "↻ reportedBy" in dot and "↻ retracts" in dot
    assert '  any_Mention_domain -> Mention [label="denotedBy"' in dot
    for name in kgdocs.DIAGRAM_CLASSES:
        assert f"  {name} [label=" in dot, name
