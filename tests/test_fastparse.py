"""Oxigraph's Turtle parser, where :func:`kg.load.load_turtle_fast` uses it, gives the graph
rdflib's gives (:func:`kg.load.parse_turtle`), with blank nodes labelled as every load labels
them (:func:`kg.load._relabel`); and where either fails, the message is rdflib's, the same as
before."""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import BNode
from rdflib.compare import isomorphic

from kg.errors import InputError
from kg.load import _relabel, load_turtle_fast, parse_turtle
from kg.synth import generate

ROOT = Path(__file__).resolve().parents[1]
FILES = sorted(
    p
    for p in [
        *ROOT.glob("seeds/*.ttl"),
        *ROOT.glob("ontology/*.ttl"),
        *ROOT.glob("tests/fixtures/**/*.ttl"),
    ]
    if p.is_file()
)


class _Same:
    """A graph as every load labels it, equal to another where they are isomorphic (two
    identical blank-node subtrees, which some fixtures hold, may be labelled either way)."""

    def __init__(self, graph) -> None:  # type: ignore[no-untyped-def]
        self.graph = graph

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, _Same):
            return NotImplemented
        return set(self.graph) == set(other.graph) or isomorphic(self.graph, other.graph)


def _labelled(path: Path):  # type: ignore[no-untyped-def]
    return _relabel(parse_turtle(path), path)


def _read(load, path: Path):  # type: ignore[no-untyped-def]
    try:
        return "ok", _Same(load(path))
    except InputError as exc:
        return "error", str(exc)


def test_there_are_many_files_to_compare() -> None:
    assert len(FILES) > 150


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_fast_parse_reads_what_rdflib_reads(path: Path) -> None:
    assert _read(load_turtle_fast, path) == _read(_labelled, path)


def test_a_synthetic_corpus_reads_the_same(tmp_path: Path) -> None:
    generate(tmp_path / "s", 1)
    files = sorted((tmp_path / "s" / "seeds").glob("*.ttl"))
    assert len(files) == 6
    for path in files:
        assert _read(load_turtle_fast, path) == _read(_labelled, path)


def test_the_comparison_sees_a_difference(tmp_path: Path) -> None:
    # the same comparison on two files that differ in one literal fails
    path = tmp_path / "x.ttl"
    path.write_text('<http://e/a> <http://e/p> "2"^^<http://www.w3.org/2001/XMLSchema#integer> .\n')
    fast = _read(load_turtle_fast, path)
    assert fast == _read(_labelled, path)
    path.write_text('<http://e/a> <http://e/p> "3"^^<http://www.w3.org/2001/XMLSchema#integer> .\n')
    assert fast != _read(_labelled, path)


def test_the_fast_load_labels_blank_nodes_as_every_load_does(tmp_path: Path) -> None:
    # the same labels, not only the same shape: the cached work of a source names its blank
    # nodes by them
    generate(tmp_path / "s", 1)
    files = [*ROOT.glob("seeds/*.ttl"), *sorted((tmp_path / "s" / "seeds").glob("*.ttl"))]
    assert len(files) == 12
    blank = 0
    for path in files:
        fast = set(load_turtle_fast(path))
        blank += any(isinstance(n, BNode) for t in fast for n in t)
        assert fast == set(_labelled(path)), path
    assert blank >= 10
