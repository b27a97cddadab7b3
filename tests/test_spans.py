"""Reading texts exactly, locating words, and the span check that is part of validation."""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef

from kg.errors import InputError
from kg.namespaces import DIP, OA
from kg.spancheck import check_spans
from kg.spans import locate, read_text

SEEDS = Path(__file__).resolve().parents[1] / "seeds"
TEXT_003 = "003_12791c6c8d2a98dd.txt"


def test_locate_tolerates_curly_quotes_and_spaces():
    text = read_text(SEEDS / TEXT_003)
    [match] = locate(text, '"Consultations are   not currently under way.')
    assert text[match.start : match.end] == match.exact
    assert match.exact.startswith("“Consultations")


def test_locate_reports_every_match():
    text = read_text(SEEDS / TEXT_003)
    matches = locate(text, "Zelensky")
    assert len(matches) >= 3
    assert all(text[m.start : m.end] == "Zelensky" for m in matches)


def test_read_text_keeps_the_stray_character_of_a_mis_decoded_text():
    text = read_text(SEEDS / "000_64d5d9c3305f829c.txt")
    assert "Front:Â\n" in text


def test_read_text_rejects_bad_utf8_naming_file_and_line(tmp_path: Path):
    path = tmp_path / "bad.txt"
    path.write_bytes(b"first line\nsecond \xff line\n")
    with pytest.raises(InputError, match=r"bad\.txt:2: not valid UTF-8"):
        read_text(path)


def _doc_graph(start: int, end: int, exact: str) -> tuple[Graph, URIRef]:
    g = Graph()
    doc = URIRef("https://w3id.org/dip/id/source/003")
    st = URIRef("https://w3id.org/dip/id/statement/test")
    m = URIRef("https://w3id.org/dip/id/test/mention")
    g.add((doc, DIP.textFile, Literal(TEXT_003)))
    g.add((st, DIP.denotedBy, m))
    g.add((m, DIP.inSource, doc))
    g.add((m, OA.start, Literal(start)))
    g.add((m, OA.end, Literal(end)))
    g.add((m, OA.exact, Literal(exact)))
    return g, st


def test_span_check_accepts_a_true_span():
    text = read_text(SEEDS / TEXT_003)
    [match] = locate(text, "Moscow played down any new US initiative.")
    g, _ = _doc_graph(match.start, match.end, match.exact)
    assert check_spans(g, SEEDS) == []


def test_span_check_reports_a_shifted_span_on_its_statement():
    text = read_text(SEEDS / TEXT_003)
    [match] = locate(text, "Moscow played down any new US initiative.")
    g, st = _doc_graph(match.start + 1, match.end + 1, match.exact)
    [result] = check_spans(g, SEEDS)
    assert result.focus == st
    assert result.path == OA.exact
    assert "reads 'oscow played down" in result.message


def test_span_check_reports_a_span_past_the_end_of_the_text():
    g, st = _doc_graph(10, 10_000_000, "x")
    [result] = check_spans(g, SEEDS)
    assert result.focus == st
    assert "outside the text" in result.message


def test_span_check_reports_a_changed_text_through_its_digest():
    g, _ = _doc_graph(0, 5, read_text(SEEDS / TEXT_003)[0:5])
    doc = URIRef("https://w3id.org/dip/id/source/003")
    g.add((doc, DIP.sha256, Literal("0" * 64)))
    [result] = check_spans(g, SEEDS)
    assert result.focus == doc
    assert result.path == DIP.sha256


def test_a_missing_text_file_is_an_input_error():
    g, _ = _doc_graph(0, 5, "hello")
    doc = URIRef("https://w3id.org/dip/id/source/003")
    g.set((doc, DIP.textFile, Literal("999_missing.txt")))
    with pytest.raises(InputError, match=r"999_missing\.txt"):
        check_spans(g, SEEDS)
