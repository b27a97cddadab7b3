"""The `kg` command as scripts use it: names, outputs and exit codes (0 ok, 1 invalid, 2 input)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from rdflib import Dataset, Graph

from kg.project import Project
from tests.conftest import kg
from tests.rdfcompare import isomorphic


def assert_one_line_error(proc: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    for needle in needles:
        assert needle in lines[0]


def test_help_lists_the_command_contract():
    proc = kg("--help")
    assert proc.returncode == 0
    for name in ("build", "validate", "export", "query", "queries", "stats", "locate"):
        assert name in proc.stdout


def test_build_writes_dataset_turtle_and_summary(tmp_path: Path):
    proc = kg("build", "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "validation: conforms" in proc.stdout
    ds = Dataset()
    ds.parse(tmp_path / "dip.trig", format="trig")
    names = {str(g.identifier).rsplit("/", 1)[-1] for g in ds.graphs()}
    assert {"000", "001", "002", "003", "004", "shared", "ontology", "inferred"} <= names
    g = Graph().parse(tmp_path / "dip.ttl", format="turtle")
    assert len(g) > 1000
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["conforms"] is True
    assert summary["classes"]["Statement"] > 0


def test_validate_conforms_on_the_seeds_in_every_format():
    text = kg("validate")
    assert text.returncode == 0, text.stdout
    assert text.stdout.startswith("Conforms: yes")
    as_json = kg("validate", "--format", "json")
    assert as_json.returncode == 0
    assert json.loads(as_json.stdout)["conforms"] is True
    as_ttl = kg("validate", "--format", "turtle")
    assert as_ttl.returncode == 0
    Graph().parse(data=as_ttl.stdout, format="turtle")


def test_validate_exits_1_and_names_focus_shape_and_file(project_copy: Project):
    path = project_copy.seeds_dir / "003_12791c6c8d2a98dd.ttl"
    text = path.read_text(encoding="utf-8")
    # drop every speaker of one statement: a mapping error, not an input error
    target = "st:003-peskov-no-consultations"
    assert target in text
    lines = text.splitlines()
    out, inside = [], False
    for line in lines:
        if line.startswith(target):
            inside = True
        if inside and line.strip().startswith("dip:speaker"):
            continue
        if inside and line.rstrip().endswith(" ."):
            inside = False
        out.append(line)
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    proc = kg("validate", root=project_copy.root)
    assert proc.returncode == 1
    assert "st:003-peskov-no-consultations [dip:StatementShape] dip:speaker" in proc.stdout
    assert "seeds/003_12791c6c8d2a98dd.ttl" in proc.stdout


def test_malformed_turtle_is_one_line_exit_2(project_copy: Project):
    (project_copy.seeds_dir / "999_broken.ttl").write_text(
        "@prefix ex: <http://example.org/> .\nex:a ex:b ex:c\nex:d ex:e ex:f .\n"
    )
    assert_one_line_error(kg("validate", root=project_copy.root), "999_broken.ttl:3")


def test_missing_seed_text_is_one_line_exit_2(project_copy: Project):
    (project_copy.seeds_dir / "002_a7cc7977949a6578.txt").unlink()
    assert_one_line_error(kg("validate", root=project_copy.root), "002_a7cc7977949a6578.txt")


def test_unknown_query_name_is_one_line_exit_2():
    assert_one_line_error(kg("query", "no-such-query"), "no-such-query")


@pytest.mark.parametrize(
    ("param", "needle"),
    [
        ("speaker=Nobody At All", "no actor is labelled"),
        ("nokey", "KEY=VALUE"),
        ("colour=red", "no parameter 'colour'"),
        ("speaker=actor:no-such-actor", "not a known actor"),
    ],
)
def test_bad_parameter_is_one_line_exit_2(param: str, needle: str):
    assert_one_line_error(kg("query", "02-actor-statements", "--param", param), needle)


def test_export_formats_parse_back_to_the_same_graph(tmp_path: Path):
    parsed = {}
    for fmt, rdflib_fmt in (("turtle", "turtle"), ("ntriples", "nt")):
        out = tmp_path / f"dip.{fmt}"
        proc = kg("export", "--format", fmt, "-o", str(out))
        assert proc.returncode == 0, proc.stderr
        parsed[fmt] = Graph().parse(out, format=rdflib_fmt)
    assert isomorphic(parsed["turtle"], parsed["ntriples"])
    for fmt in ("trig", "nquads", "jsonld"):  # one named graph per source (tests/test_export.py)
        proc = kg("export", "--format", fmt)
        assert proc.returncode == 0
        ds = Dataset()
        ds.parse(data=proc.stdout, format={"jsonld": "json-ld"}.get(fmt, fmt))
        assert len({g.identifier for g in ds.graphs()}) >= 7
        union = Graph()
        for s, p, o, _g in ds.quads((None, None, None, None)):
            union.add((s, p, o))
        assert isomorphic(parsed["turtle"], union), fmt


def test_export_is_byte_for_byte_deterministic():
    first = kg("export", "--format", "turtle")
    second = kg("export", "--format", "turtle")
    assert first.returncode == 0
    assert first.stdout == second.stdout


def test_export_inferred_adds_the_inferences():
    plain = kg("export", "--format", "ntriples")
    inferred = kg("export", "--format", "ntriples", "--inferred")
    assert len(inferred.stdout.splitlines()) > len(plain.stdout.splitlines())


def test_stats_counts_per_class_and_source():
    proc = kg("stats")
    assert proc.returncode == 0
    header = proc.stdout.splitlines()[0].split()
    assert header[:1] == ["class"]
    assert {"000", "001", "002", "003", "004", "shared", "all"} <= set(header)


def test_query_formats():
    table = kg("query", "12-source-summary")
    assert table.returncode == 0 and "(5 rows)" in table.stdout
    as_json = json.loads(kg("query", "12-source-summary", "--format", "json").stdout)
    assert len(as_json["results"]["bindings"]) == 5
    csv_lines = kg("query", "12-source-summary", "--format", "csv").stdout.splitlines()
    assert csv_lines[0].startswith("source,outlet,published")
    assert len(csv_lines) == 6
    tsv = kg("query", "12-source-summary", "--format", "tsv").stdout
    assert "\t" in tsv.splitlines()[0]
