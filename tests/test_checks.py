"""`kg check`: every check fires on a fixture with its problem and is silent on one without."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from rdflib import Dataset, Graph, Literal
from rdflib.namespace import RDF

from kg.checks import (
    SEVERITIES,
    UNCOVERED_QUOTATION,
    Check,
    CheckRun,
    Finding,
    list_checks,
    parse_check,
    run_checks,
    run_query_check,
    uncovered_quotation_findings,
)
from kg.engine import Engine
from kg.errors import InputError
from kg.namespaces import DIP, ID, OA
from kg.pipeline import Built
from kg.project import Project
from tests.conftest import ROOT, kg

CHECKS = ROOT / "checks"
FIXTURES = Path(__file__).parent / "fixtures" / "checks"
QUERY_CHECKS = sorted(CHECKS.glob("*.rq"))



def engine_for(path: Path) -> Engine:
    ds = Dataset()
    ds.parse(path, format="trig")
    return Engine(ds)


def expected_findings(path: Path) -> list[tuple[str, ...]]:
    """The ``# expect:`` lines of a fixture: the nodes of each finding, in order."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# expect:"):
            out.append(tuple(line.split(":", 1)[1].split()))
    return out


# ---------------------------------------------------------------------------
# The query checks, on their fixtures
# ---------------------------------------------------------------------------


def test_there_are_checks_for_each_problem_of_the_issue():
    names = {p.stem for p in QUERY_CHECKS}
    assert names == {
        "duplicate-actors",
        "actor-without-statement-or-role",
        "statement-without-act-type",
        "event-without-time",
        "unused-ontology-term",
        "term-without-definition",
    }


@pytest.mark.parametrize("path", QUERY_CHECKS, ids=lambda p: p.stem)
def test_check_fires_on_its_fixture(path: Path):
    fixture = FIXTURES / f"{path.stem}.fires.trig"
    assert fixture.is_file(), f"no fixture that makes {path.name} fire"
    expected = expected_findings(fixture)
    assert expected, f"{fixture.name} has no '# expect:' line"
    check = parse_check(path)
    findings = run_query_check(engine_for(fixture), check)
    assert [f.nodes for f in findings] == expected
    for f in findings:
        assert (f.check, f.severity, f.problem, f.fix) == (
            check.name,
            check.severity,
            check.problem,
            check.fix,
        )


@pytest.mark.parametrize("path", QUERY_CHECKS, ids=lambda p: p.stem)
def test_check_is_silent_without_the_problem(path: Path):
    fixture = FIXTURES / f"{path.stem}.silent.trig"
    assert fixture.is_file(), f"no fixture on which {path.name} stays silent"
    findings = run_query_check(engine_for(fixture), parse_check(path))
    assert findings == [], [f.nodes for f in findings]


def test_duplicate_actors_reports_the_labels_it_matched():
    findings = run_query_check(
        engine_for(FIXTURES / "duplicate-actors.fires.trig"),
        parse_check(CHECKS / "duplicate-actors.rq"),
    )
    assert [dict(f.details) for f in findings] == [
        {"labels": '"Ukraine’s allies (source 900)" = "ukraine\'s allies"'},
        {"labels": '"Russia" = "RUSSIA"'},
    ]


def test_unused_term_says_class_or_property():
    findings = run_query_check(
        engine_for(FIXTURES / "unused-ontology-term.fires.trig"),
        parse_check(CHECKS / "unused-ontology-term.rq"),
    )
    kinds = {f.nodes[0]: dict(f.details)["kind"] for f in findings}
    assert kinds == {
        "dip:Orphan": "class",
        "dip:Unused": "class",
        "dip:orphanCode": "property",
        "dip:unusedProperty": "property",
    }


def test_every_check_has_a_header_with_a_known_severity():
    for check in list_checks(CHECKS):
        assert check.severity in SEVERITIES
        assert check.problem and check.fix


# ---------------------------------------------------------------------------
# The check written in Python: quotations no statement covers
# ---------------------------------------------------------------------------

TEXT = 'Peskov said “no talks”. Lavrov said “maybe”. A source said "later".\n'


def _quote_graph(seeds: Path, covered: list[str]) -> Graph:
    """A source document over TEXT and one statement per passage in ``covered``."""
    (seeds / "900_test.txt").write_text(TEXT, encoding="utf-8")
    g = Graph()
    doc = ID["source/900"]
    g.add((doc, DIP.textFile, Literal("900_test.txt")))
    for i, words in enumerate(covered):
        start = TEXT.index(words)
        st, m = ID[f"statement/900-{i}"], ID[f"mention/900-{i}"]
        g.add((st, RDF.type, DIP.Statement))
        g.add((st, DIP.denotedBy, m))
        g.add((m, DIP.inSource, doc))
        g.add((m, OA.start, Literal(start)))
        g.add((m, OA.end, Literal(start + len(words))))
    return g


def test_uncovered_quotation_fires_on_a_passage_no_statement_covers(tmp_path: Path):
    # the straight-quoted passage is listed as unmapped, under its own offsets
    start = TEXT.index('"later"')
    (tmp_path / "unmapped-quotes.tsv").write_text(
        "file\tstart\tend\tpassage\treason\n"
        f'900_test.txt\t{start}\t{start + 7}\t"later"\tno one is named\n',
        encoding="utf-8",
    )
    graph = _quote_graph(tmp_path, ["Peskov said “no talks”"])
    findings = uncovered_quotation_findings(graph, tmp_path)
    assert len(findings) == 1
    f = findings[0]
    assert f.check == UNCOVERED_QUOTATION.name
    assert f.severity == UNCOVERED_QUOTATION.severity
    assert f.nodes == ("src:900",)
    start = TEXT.index("“maybe”")
    assert dict(f.details) == {
        "file": "900_test.txt",
        "at": f"{start}-{start + 7}",
        "passage": "“maybe”",
    }


def test_uncovered_quotation_is_silent_when_statements_cover_every_passage(tmp_path: Path):
    graph = _quote_graph(tmp_path, ["“no talks”", "Lavrov said “maybe”", 'said "later".'])
    assert uncovered_quotation_findings(graph, tmp_path) == []


def test_uncovered_quotation_never_reads_a_text_outside_the_seeds_folder(tmp_path: Path):
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (tmp_path / "secret.txt").write_text("“leaked”", encoding="utf-8")
    graph = Graph()
    graph.add((ID["source/900"], DIP.textFile, Literal("../secret.txt")))
    with pytest.raises(InputError, match=r"source text \.\./secret\.txt, which is outside"):
        uncovered_quotation_findings(graph, seeds)


def test_a_list_of_unmapped_passages_not_in_utf8_is_an_input_error(tmp_path: Path):
    (tmp_path / "unmapped-quotes.tsv").write_bytes(
        b"file\tstart\tend\tpassage\treason\n900_test.txt\t1\t2\t\xabx\xbb\tno one\n"
    )
    graph = _quote_graph(tmp_path, [])
    with pytest.raises(InputError, match=r"unmapped-quotes\.tsv:2: not valid UTF-8"):
        uncovered_quotation_findings(graph, tmp_path)


# ---------------------------------------------------------------------------
# Headers and input errors
# ---------------------------------------------------------------------------

GOOD_QUERY = "SELECT ?s WHERE { ?s ?p ?o }\n"


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("# Severity: warn\n# Fix: f\n" + GOOD_QUERY, "no '# Check:'"),
        ("# Check: c\n# Fix: f\n" + GOOD_QUERY, "no '# Severity:'"),
        ("# Check: c\n# Severity: warn\n" + GOOD_QUERY, "no '# Fix:'"),
        ("# Check: c\n# Severity: fatal\n# Fix: f\n" + GOOD_QUERY, "unknown severity 'fatal'"),
        ("# Check: c\n# Severity: warn\n# Fix: f\nSELECT ?s WHERE { ?s \n", "syntax error"),
        ("# Check: c\n# Severity: warn\n# Fix: f\nASK { ?s ?p ?o }\n", "SELECT"),
    ],
)
def test_a_broken_check_is_an_input_error_naming_the_file(tmp_path: Path, text: str, needle: str):
    path = tmp_path / "broken.rq"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as info:
        parse_check(path)
    assert str(path) in str(info.value)
    assert needle in str(info.value)


def test_header_comments_after_the_three_keys_are_free_text(tmp_path: Path):
    path = tmp_path / "ok.rq"
    path.write_text(
        "# Check: A problem.\n# Severity: info\n# Fix: A fix.\n#\n# Why: any note.\n" + GOOD_QUERY,
        encoding="utf-8",
    )
    assert parse_check(path) == Check("ok", "info", "A problem.", "A fix.", path)


# ---------------------------------------------------------------------------
# Reports
# ---------------------------------------------------------------------------


def test_text_report_has_one_line_per_finding_and_a_summary():
    checks = [Check("a", "warn", "P.", "F.", None), Check("b", "error", "Q.", "G.", None)]
    run = CheckRun(
        checks,
        [
            Finding("a", "warn", ("actor:x", "actor:y"), (("label", "X"),), "P.", "F."),
            Finding("b", "error", ("st:1",), (), "Q.", "G."),
        ],
    )
    lines = run.as_text("error").splitlines()
    assert lines == [
        "error: b: st:1: Q. Fix: G.",
        "warn: a: actor:x, actor:y: P. (label: X) Fix: F.",
        "2 checks, 2 findings (1 error, 1 warn, 0 info): fails at --fail-on error",
    ]
    assert run.as_text("error") and not CheckRun(checks).failing("info")
    data = json.loads(run.as_json("error"))
    assert data["passes"] is False
    assert data["counts"] == {"error": 1, "warn": 1, "info": 0}
    assert [c["findings"] for c in data["checks"]] == [1, 1]
    assert data["findings"][1]["nodes"] == ["actor:x", "actor:y"]


# ---------------------------------------------------------------------------
# The seed corpus and the command
# ---------------------------------------------------------------------------


def test_seed_corpus_passes_at_the_default_level(built: Built):
    run = run_checks(built)
    assert {c.name for c in run.checks} == {p.stem for p in QUERY_CHECKS} | {
        UNCOVERED_QUOTATION.name
    }
    assert run.failing("error") == [], run.as_text()
    assert not [f for f in run.findings if f.check == UNCOVERED_QUOTATION.name]


def test_kg_check_on_the_seeds_exits_by_the_fail_on_level():
    proc = kg("check")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    *findings, summary = proc.stdout.splitlines()
    assert re.fullmatch(
        r"7 checks, \d+ findings \(0 error, \d+ warn, \d+ info\): passes at --fail-on error",
        summary,
    )
    assert all(re.match(r"^(warn|info): [a-z-]+: \S", line) for line in findings)
    strict = kg("check", "--fail-on", "info", "--format", "json")
    data = json.loads(strict.stdout)
    assert data["failOn"] == "info"
    assert len(data["findings"]) == len(findings)
    assert data["passes"] == (not findings)
    assert strict.returncode == (1 if findings else 0)


def test_kg_check_with_a_broken_check_file_is_one_line_exit_2(project_copy: Project):
    root = project_copy.root
    (root / "checks" / "zz-broken.rq").write_text(
        "# Check: c\n# Severity: serious\n# Fix: f\n" + GOOD_QUERY, encoding="utf-8"
    )
    proc = kg("check", root=root)
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "zz-broken.rq:2" in lines[0] and "Traceback" not in proc.stderr


def test_kg_check_without_a_checks_folder_is_exit_2(project_copy: Project):
    shutil.rmtree(project_copy.root / "checks")
    proc = kg("check", root=project_copy.root)
    assert proc.returncode == 2
    assert "no checks folder" in proc.stderr
