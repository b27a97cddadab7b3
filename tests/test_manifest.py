"""The manifest of expected answers: every canned query has entries, and every entry holds."""

from __future__ import annotations

import pytest
from rdflib import Dataset, Graph

from kg.engine import Engine
from kg.manifest import Entry, check_entry, load_manifest, render
from kg.namespaces import DIP, GRAPH
from kg.pipeline import Built
from kg.query import find_query, run
from tests.conftest import ROOT, kg

ENTRIES = load_manifest(ROOT / "queries")


@pytest.fixture(scope="module")
def graph(built: Built) -> Dataset:
    return built.query_graph()


@pytest.fixture(scope="module")
def engine(graph: Dataset) -> Engine:
    return Engine(graph)


def test_every_query_has_an_entry_and_every_entry_a_query_and_an_answer():
    queries = {p.resolve() for p in (ROOT / "queries").glob("*.rq")}
    covered = {e.query.resolve() for e in ENTRIES}
    assert queries - covered == set(), "queries without an expected answer"
    assert covered <= queries, "entries naming a query that does not exist"
    for entry in ENTRIES:
        assert entry.result.is_file(), f"{entry.name}: no expected answer file"
        assert entry.checked and "TODO" not in entry.checked, f"{entry.name}: no note of the check"
    names = [e.name for e in ENTRIES]
    assert len(names) == len(set(names))
    expected_files = {p.resolve() for p in (ROOT / "queries" / "expected").iterdir()}
    assert expected_files == {e.result.resolve() for e in ENTRIES}, "stray expected files"


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.name)
def test_expected_answer_holds(entry: Entry, engine: Engine, graph: Dataset):
    outcome = check_entry(entry, engine, graph)
    assert outcome.ok, f"{entry.name} differs from {entry.result.name}:\n{outcome.detail}"


def test_a_changed_answer_is_caught(engine: Engine, graph: Dataset, tmp_path):
    """The comparison is not vacuous: one dropped row or one changed cell fails it."""
    entry = next(e for e in ENTRIES if e.name == "07-disputes--all")
    lines = entry.result.read_text(encoding="utf-8").splitlines(keepends=True)
    for broken in (lines[:-1], [*lines[:-1], "changed" + lines[-1][lines[-1].index("\t") :]]):
        path = tmp_path / "broken.tsv"
        path.write_text("".join(broken), encoding="utf-8")
        bad = Entry(entry.name, entry.query, entry.params, path, entry.checked)
        assert not check_entry(bad, engine, graph).ok


def test_order_matters_where_the_query_orders(engine: Engine, graph: Dataset, tmp_path):
    entry = next(e for e in ENTRIES if e.name == "12-source-summary--all")
    head, *rows = entry.result.read_text(encoding="utf-8").splitlines(keepends=True)
    path = tmp_path / "reversed.tsv"
    path.write_text(head + "".join(reversed(rows)), encoding="utf-8")
    bad = Entry(entry.name, entry.query, entry.params, path, entry.checked)
    assert not check_entry(bad, engine, graph).ok


def test_queries_see_inferred_types(built: Built, engine: Engine):
    """Asking for dip:Actor finds the people and states, which the mapping types only as
    dip:Person and dip:State: the answer needs the inferred graph."""
    q = find_query(ROOT / "queries", "12-source-summary")
    with_inference = {str(r[0]): int(r[3]) for r in run(engine, q, {}).rows}
    asserted = Dataset(default_union=True)
    full = built.query_graph()
    for g in full.graphs():
        if g.identifier != GRAPH.inferred:
            for t in g:
                asserted.graph(g.identifier).add(t)
    without = {str(r[0]): int(r[3]) for r in run(Engine(asserted), q, {}).rows}
    assert all(with_inference[k] > without[k] for k in with_inference), (with_inference, without)


def test_construct_query_prints_turtle_that_parses():
    out = kg("query", "14-evidence-graph", "--param", "actor=Dmitry Peskov")
    assert out.returncode == 0, out.stderr
    g = Graph().parse(data=out.stdout, format="turtle")
    speakers = set(g.objects(None, DIP.speaker))
    assert [str(s) for s in speakers] == ["https://w3id.org/dip/id/actor/dmitry-peskov"]
    assert len(set(g.subjects(DIP.speaker, None))) == 7


def test_kg_queries_check_runs_the_manifest_and_fails_on_a_wrong_answer(project_copy):
    root = project_copy.root
    ok = kg("queries", "--check", root=root)
    assert ok.returncode == 0, ok.stderr
    assert f"{len(ENTRIES)} of {len(ENTRIES)} expected answers hold" in ok.stdout
    target = root / "queries" / "expected" / "07-disputes--all.tsv"
    target.write_text(target.read_text(encoding="utf-8").replace("deny", "praise", 1), "utf-8")
    bad = kg("queries", "--check", root=root)
    assert bad.returncode == 1
    assert "FAIL  07-disputes--all" in bad.stdout
    assert "praise" in bad.stderr


def test_render_writes_one_line_per_row_and_escapes_tabs():
    from rdflib import Literal

    from kg.engine import Answer

    text = render(Answer("SELECT", ["a", "b"], [[Literal("x\ty\nz"), None]]))
    assert text == "a\tb\nx\\ty\\nz\t\n"


def test_markdown_table_with_chosen_columns():
    out = kg("query", "07-disputes", "--format", "markdown", "--columns", "disputerName,relation")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "| disputerName | relation |"
    assert lines[1] == "|---|---|"
    expected = (ROOT / "queries/expected/07-disputes--all.tsv").read_text("utf-8").splitlines()
    assert len(lines) - 2 == len(expected) - 1
    assert all(line.count(" | ") == 1 for line in lines[2:])


def test_unknown_column_is_an_input_error():
    out = kg("query", "07-disputes", "--columns", "disputerName,nonsense")
    assert out.returncode == 2
    assert "nonsense" in out.stderr and "Traceback" not in out.stderr
    out = kg("query", "07-disputes", "--format", "csv", "--columns", "disputerName")
    assert out.returncode == 2


def _readme_examples() -> list[tuple[list[str], str]]:
    """The `kg query … --format markdown` examples in the README, each with the table after it."""
    import re
    import shlex

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    pattern = re.compile(r"```sh\n(kg query [^`]*?--format markdown[^`]*?)```\n\n((?:\|.*\n)+)")
    out = []
    for m in pattern.finditer(text):
        command = shlex.split(m.group(1).replace("\\\n", " "))
        out.append((command[1:], m.group(2)))
    return out


def test_readme_query_examples_show_real_output():
    examples = _readme_examples()
    assert len(examples) >= 3
    for args, table in examples:
        out = kg(*args)
        assert out.returncode == 0, out.stderr
        assert out.stdout == table, f"README output of {' '.join(args)} is out of date"
