"""The fuzz targets: every corpus input replayed, and a short coverage-guided run of each.

``fuzz/targets.py`` holds the properties (any input loads or is refused in one line naming the
file; located words and checked spans agree with the text); ``fuzz/corpus/<target>/`` holds
inputs seeded from real mapping snippets, grown by fuzzing, and every input that once broke a
property (``regression-*``). A longer run: ``python fuzz/fuzz_load.py fuzz/corpus/load
-max_total_time=600`` (see the harnesses' docstrings).
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fuzz.targets import _check_refusal, load_target, spans_target
from rdflib import RDF, XSD, Graph, Literal, URIRef

from kg.errors import InputError
from kg.namespaces import DIP, OA
from kg.spancheck import check_spans
from tests.conftest import ROOT

FUZZ = ROOT / "fuzz"
TARGETS = {"load": load_target, "spans": spans_target}
CORPUS = sorted((t, p) for t in TARGETS for p in (FUZZ / "corpus" / t).iterdir() if p.is_file())

pytestmark = [
    # rdflib warns about ill-typed literals (the corpora hold some) and its own deprecations
    pytest.mark.filterwarnings("ignore::UserWarning:rdflib"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning:rdflib"),
]
#: Inputs each short run tries beyond its corpus: enough to mutate every corpus file a few times.
RUNS = {"fuzz_load": 150, "fuzz_spans": 400}


@pytest.mark.parametrize(("target", "path"), CORPUS, ids=[f"{t}/{p.name}" for t, p in CORPUS])
def test_corpus_input_is_accepted_or_refused_in_one_line(target: str, path: Path) -> None:
    started = time.perf_counter()
    TARGETS[target](path.read_bytes())
    assert time.perf_counter() - started < 20, "too slow: a hang in the making"


def test_the_corpora_are_small_and_hold_the_regressions() -> None:
    for target in TARGETS:
        files = list((FUZZ / "corpus" / target).iterdir())
        assert 10 <= len(files) <= 80, (target, len(files))
        assert sum(f.stat().st_size for f in files) < 300_000, target
    names = {p.name for _t, p in CORPUS}
    assert {"regression-text-file-name-too-long", "bad-long-list.ttl"} <= names


def test_a_refusal_must_be_one_line_naming_the_file() -> None:
    _check_refusal(InputError("bad", path="/p/m.ttl", line=3), Path("/p/m.ttl"))
    with pytest.raises(AssertionError, match="several lines"):
        _check_refusal(InputError("bad\nworse", path="/p/m.ttl"), Path("/p/m.ttl"))
    with pytest.raises(AssertionError, match="names no file"):
        _check_refusal(InputError("bad"), Path("/p/m.ttl"))


def _mapping(text_file: str, start: str = "0") -> Graph:
    doc, mention = URIRef("urn:x:doc"), URIRef("urn:x:mention")
    graph = Graph()
    graph.add((doc, DIP.textFile, Literal(text_file)))
    graph.add((URIRef("urn:x:statement"), DIP.denotedBy, mention))
    graph.add((mention, DIP.inSource, doc))
    graph.add((mention, OA.start, Literal(start, datatype=XSD.integer, normalize=False)))
    graph.add((mention, OA.end, Literal(6)))
    graph.add((mention, OA.exact, Literal("Russia")))
    graph.add((mention, RDF.type, DIP.Mention))
    return graph


@pytest.mark.parametrize("name", ["../outside.txt", "/etc/hostname", "x" * 5000, "a\nb.txt"])
def test_span_check_refuses_a_text_it_cannot_or_must_not_read(tmp_path: Path, name: str):
    """Found by fuzzing: a text outside the seeds folder was read (and quoted back in the
    report), and a name too long for the file system crashed the check."""
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (tmp_path / "outside.txt").write_text("Russia", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        check_spans(_mapping(name), seeds, origin={URIRef("urn:x:doc"): "seeds/m.ttl"})
    message = str(caught.value)
    assert message.startswith("seeds/m.ttl: ") and "\n" not in message and len(message) < 400


@pytest.mark.parametrize("start", ["0", " 0 ", "+0"])
def test_span_check_reads_offsets_as_xsd_spells_them(tmp_path: Path, start: str) -> None:
    (tmp_path / "t.txt").write_text("Russia", encoding="utf-8")
    assert check_spans(_mapping("t.txt", start), tmp_path) == []


@pytest.mark.parametrize("start", ["٠", "0_0", "0.0", ""])
def test_span_check_refuses_offsets_xsd_does_not_spell(tmp_path: Path, start: str) -> None:
    """Found by fuzzing: Python's int() read "٠" (an Arabic-Indic zero) and "0_0" as 0."""
    (tmp_path / "t.txt").write_text("Russia", encoding="utf-8")
    results = check_spans(_mapping("t.txt", start), tmp_path)
    assert [r.message for r in results] == ["oa:start and oa:end must be integers"]


@pytest.mark.parametrize("harness", ["fuzz_load", "fuzz_spans"])
def test_a_short_fuzzing_run_breaks_nothing(harness: str, tmp_path: Path) -> None:
    """A bounded, seeded run of each harness on a copy of its corpus."""
    assert importlib.util.find_spec("atheris"), "atheris is a test dependency: pip install atheris"
    corpus = tmp_path / "corpus"
    shutil.copytree(FUZZ / "corpus" / harness.removeprefix("fuzz_"), corpus)
    proc = subprocess.run(
        [
            sys.executable,
            str(FUZZ / f"{harness}.py"),
            str(corpus),
            f"-runs={RUNS[harness]}",
            "-seed=1",
            "-timeout=20",
            "-max_total_time=60",
            f"-artifact_prefix={tmp_path}/",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Done " in proc.stderr, proc.stderr[-2000:]  # libFuzzer's "Done N runs in T s"
    assert not list(tmp_path.glob("crash-*")) and not list(tmp_path.glob("timeout-*"))
