"""The benchmark (bench/run.py) as a smoke test: the real command at its smallest setting.

It checks that every figure is there, positive (or a lower bound where a naive step was
stopped), that the JSON holds the same figures and that the ratios follow from them. It asserts
no timing target: those are for people to read, on a quiet machine at the large scales.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from kg.manifest import load_manifest
from tests.conftest import kg
from tests.test_atomic import _writes

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
NAIVE_TIMEOUT = 2.0  # the naive closure takes longer: its lower-bound path is exercised too

LABEL_WIDTH = 48  # bench/run.py prints the figure name in 48 columns, then the median in 15
FIGURE = re.compile(r"^(> )?(\d+\.\d+) (s|MiB)$")


def _bench_module():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("bench_run", BENCH / "run.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_run"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> dict:
    tmp = tmp_path_factory.mktemp("bench")
    out = tmp / "result.json"
    cmd = [
        sys.executable,
        str(BENCH / "run.py"),
        "--scales", "1",
        "--runs", "1",
        "--naive-timeout", str(NAIVE_TIMEOUT),
        "--query-reps", "1",
        "--startup-reps", "1",
        "--no-warm",
        "--out", str(out),
        "--workdir", str(tmp / "work"),
    ]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=900, check=False)
    return {"done": done, "json": out, "workdir": tmp / "work"}


def _figures(stdout: str) -> dict[str, str]:
    """The scale table's rows: figure name -> printed median."""
    table = stdout.split("== targets ==")[0]
    rows = {}
    for line in table.splitlines():
        if not line or line.startswith(("==", "figure")):
            continue
        rows[line[:LABEL_WIDTH].strip()] = line[LABEL_WIDTH : LABEL_WIDTH + 15].strip()
    return rows


def _targets(stdout: str) -> dict[str, str]:
    """The targets table: "target @ scale" -> printed value."""
    table = stdout.split("== targets ==")[1]
    out = {}
    for line in table.splitlines()[2:]:
        if not line.strip() or line.startswith("figures written"):
            continue
        name, scale = line[:48].strip(), line[49:57].strip()
        out[f"{name} @ {scale}"] = line[59:99].strip()
    return out


def _number(text: str) -> tuple[float, bool]:
    m = FIGURE.match(text)
    assert m, f"not a figure: {text!r}"
    return float(m.group(2)), m.group(1) is not None


def test_bench_smoke(bench: dict) -> None:
    done = bench["done"]
    assert done.returncode == 0, done.stderr[-3000:]
    rows = _figures(done.stdout)

    names = [e.name for e in load_manifest(ROOT / "queries")]
    expected = [
        "kg --help",
        "kg queries",
        "bare click --help",
        "bare click queries",
        *(f"build: {part}" for part in ("load", "reason", "validate", "export", "total")),
        "build: wall clock",
        "build: peak memory",
        *(f"incremental: {part}" for part in ("load", "reason", "validate", "export", "total")),
        *(f"query {name}" for name in names),
        *(f"naive: {step}" for step in ("parse", "reason", "validate", "serialize", "total")),
        "naive: peak memory",
        "oxigraph: raw load",
    ]
    missing = [label for label in expected if label not in rows]
    assert not missing, f"rows missing: {missing}\n{done.stdout}"

    # every figure is a positive number, or a lower bound where a naive step was stopped (the
    # naive steps after it are not run)
    naive = [f"naive: {step}" for step in ("parse", "reason", "validate", "serialize")]
    stopped = [label for label in naive if rows[label].startswith("> ")]
    assert len(stopped) == 1, "the naive closure runs past the 2 s deadline at scale 1"
    assert rows[stopped[0]] == f"> {NAIVE_TIMEOUT:.3f} s"
    not_run = naive[naive.index(stopped[0]) + 1 :]
    assert [label for label, text in rows.items() if text == "not run"] == not_run
    for label, text in rows.items():
        if label in not_run:
            continue
        value, bound = _number(text)
        assert value > 0, (label, text)
        assert not bound or label.startswith("naive:"), (label, text)
    assert rows["naive: total"].startswith("> ")

    # the JSON holds the same figures
    report = json.loads(bench["json"].read_text(encoding="utf-8"))
    assert report["machine"]["cpu_count"] >= 1 and report["machine"]["packages"]["rdflib"]
    scale = report["scales"]["1"]
    assert scale["triples"] > 10_000 and scale["articles"] == 5
    by_label = {r["label"]: r for r in scale["rows"].values()}
    assert set(by_label) == set(rows)
    for label, text in rows.items():
        row = by_label[label]
        if label in not_run:
            assert row["n"] == 0 and row["median"] is None
            continue
        assert row["n"] >= 1 and all(s["value"] > 0 for s in row["samples"])
        shown = f"{row['median']:.1f} MiB" if row["unit"] == "MiB" else f"{row['median']:.3f} s"
        assert text == ("> " if row["bound"] else "") + shown, label
    assert set(scale["queries"]) >= set(names)

    # ratios follow from the printed figures (recomputed from the rounded medians)
    targets = _targets(done.stdout)
    incr, _ = _number(rows["incremental: total"])
    full, _ = _number(rows["build: total"])
    printed = targets["incremental: one article changed / full build @ 1"]
    assert printed.endswith("%")
    assert float(printed[:-1]) == pytest.approx(100 * incr / full, abs=0.15)
    naive, bound = _number(rows["naive: total"])
    printed = targets["build: naive total / kg build total @ 1"]
    assert bound and printed.startswith("≥ ")
    assert float(printed[2:-1]) == pytest.approx(naive / full, rel=0.01, abs=0.006)
    help_, _ = _number(rows["kg --help"])
    bare, _ = _number(rows["bare click --help"])
    printed = targets["startup: kg --help / bare click @ 1"]
    assert float(printed[:-1]) == pytest.approx(help_ / bare, rel=0.05, abs=0.006)
    marks = {t["mark"] for t in report["targets"]}
    assert marks <= {"PASS", "FAIL", "UNKNOWN", "n/a"}
    assert len(report["targets"]) == len(targets)


def test_incremental_change_keeps_the_corpus_valid(bench: dict) -> None:
    """The change the incremental rebuild makes is a real, valid one: kg validate conforms."""
    assert bench["done"].returncode == 0, bench["done"].stderr[-3000:]
    run = _bench_module()
    corpus = bench["workdir"] / "scale-1"
    path, original, line = run.incremental_change(corpus, 1)
    try:
        assert path.read_bytes() == original.rstrip(b"\n") + b"\n\n" + line.encode() + b"\n"
        assert "rdf-schema#comment" in line
        result = kg("validate", root=corpus)
        assert result.returncode == 0, result.stdout + result.stderr
    finally:
        run.restore(path, original)
    assert path.read_bytes() == original


def test_a_reused_corpus_is_measured_with_the_project_as_it_is(bench: dict) -> None:
    """A corpus kept in --workdir keeps its articles but takes the project's ontology, shapes,
    queries and checks again: an edited query is measured as edited, not as first copied."""
    assert bench["done"].returncode == 0, bench["done"].stderr[-3000:]
    run = _bench_module()
    corpus = bench["workdir"] / "scale-1"
    query = sorted((corpus / "queries").glob("*.rq"))[0]
    stale = corpus / "queries" / "99-gone.rq"
    article = run.article_file(corpus)
    before = article.read_bytes()
    query.write_bytes(b"# an older version of this query\n")
    stale.write_bytes(b"# a query the project no longer has\n")
    scale = run.prepare("1", bench["workdir"])
    assert scale.root == corpus
    assert query.read_bytes() == (ROOT / "queries" / query.name).read_bytes()
    assert not stale.exists()
    for sub in ("ontology", "shapes", "queries"):
        mine = sorted(p.relative_to(ROOT / sub) for p in (ROOT / sub).rglob("*") if p.is_file())
        theirs = sorted(
            p.relative_to(corpus / sub) for p in (corpus / sub).rglob("*") if p.is_file()
        )
        assert theirs == mine, sub
    assert article.read_bytes() == before  # the articles are reused as they were


def test_bench_writes_files_only_through_write_atomic() -> None:
    """The rule tests/test_atomic.py holds src/ to, held for bench/ too."""
    found = []
    for path in sorted(BENCH.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _writes(node):
                found.append(f"{path.name}:{node.lineno}")
    assert found == []


#: A child that forks a grandchild, then each holds 200 MiB of its own (written, so resident),
#: both for three seconds: together 400 MiB, where each alone stays near 200.
_TWO_PROCESSES = """
import os, time
pid = os.fork()
held = bytearray(200 * 2**20)
held[::4096] = b"x" * len(range(0, len(held), 4096))
time.sleep(3.0)
if pid == 0:
    os._exit(0)
os.wait()
"""


def test_the_peak_memory_of_a_build_counts_its_processes_together() -> None:
    bench = _bench_module()
    child = bench.run_child([sys.executable, "-c", _TWO_PROCESSES])
    assert child.rc == 0
    assert child.maxrss_mib > 380  # the two together; wait4's peak RSS would be about 210
