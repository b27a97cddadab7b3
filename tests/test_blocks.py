"""Subject blocks of the writer's Turtle and TriG (:mod:`kg.blocks`): a file with some
subjects' triples changed is the old file with those subjects' blocks written afresh."""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox

from kg.blocks import TRIG_BLOCK, TURTLE_BLOCK, Index, cut, splice, starts, subjects_of
from kg.export import trig_of, turtle_of

E = "https://example.org/"


def _lines(triples: dict[str, list[str]]) -> list[str]:
    return sorted(f"<{E}{s}> <{E}p> {o} ." for s, objects in triples.items() for o in objects)


def _turtle(lines: list[str]) -> bytes:
    data = "\n".join(lines).encode("utf-8")
    return turtle_of(ox.parse(data, format=ox.RdfFormat.N_TRIPLES)) if lines else b""


def _patched(old: dict[str, list[str]], new: dict[str, list[str]]) -> bytes:
    """``new``'s Turtle made from ``old``'s with the blocks of the subjects that differ."""
    text, lines = _turtle(_lines(old)), _lines(old)
    begin = TURTLE_BLOCK.search(text).start() + 1  # type: ignore[union-attr]
    at = starts(text, TURTLE_BLOCK, begin, len(text))
    assert len(at) == len(subjects_of(lines))
    changed = {s for s in {*old, *new} if old.get(s) != new.get(s)}
    fresh_lines = _lines({s: new[s] for s in changed if s in new})
    fresh = _turtle(fresh_lines)
    fresh_at = (
        starts(fresh, TURTLE_BLOCK, TURTLE_BLOCK.search(fresh).start() + 1, len(fresh))
        if fresh
        else []
    )  # type: ignore[union-attr]
    blocks = cut(fresh, fresh_at, len(fresh), subjects_of(fresh_lines))
    body, order = splice(
        text,
        at,
        len(text),
        subjects_of(lines),
        {f"<{E}{s}>": blocks.get(f"<{E}{s}>", b"") for s in changed},
    )
    assert order == subjects_of(_lines(new))
    return text[:begin] + body


def test_a_patched_file_is_the_file_written_whole() -> None:
    old = {"b": ['"one"', '"two\\nlines"'], "d": ["<https://example.org/x>"], "f": ['"f"']}
    cases = [
        {**old, "d": ['"changed"']},  # a block written afresh
        {**old, "a": ['"first"'], "e": ['"between"'], "g": ['"last"']},  # new blocks in order
        {"d": old["d"]},  # blocks taken out, first and last
        {"b1": ['"a subject that starts as another does"'], **old},
    ]
    for new in cases:
        assert _patched(old, new) == _turtle(_lines(new))


def test_a_literal_line_end_is_no_block_start() -> None:
    """The writer escapes line ends in literals: each block is found once."""
    lines = _lines({"a": ['"x\\ny"', '"@ and \\t"'], "b": ['"z"']})
    text = _turtle(lines)
    begin = TURTLE_BLOCK.search(text).start() + 1  # type: ignore[union-attr]
    assert len(starts(text, TURTLE_BLOCK, begin, len(text))) == 2


def test_a_trig_graph_has_its_subjects_blocks() -> None:
    graph = ox.NamedNode(E + "g")
    quads = [
        ox.Quad(t.subject, t.predicate, t.object, graph)
        for t in ox.parse(
            "\n".join(_lines({"a": ['"1"', '"2"'], "b": ['"3"']})).encode(),
            format=ox.RdfFormat.N_TRIPLES,
        )
    ]
    text = trig_of(quads)
    opening = text.index(b"{\n") + 2
    end = text.rindex(b"}\n")
    at = starts(text, TRIG_BLOCK, opening, end)
    assert [text[i : i + 1] for i in at] == [b"\t", b"\t"] and len(at) == 2


def test_an_index_reads_back_and_a_broken_one_is_none(tmp_path: Path) -> None:
    index = Index({"sha256": "x", "units": {"a": "b"}}, ["<a>", "_:b"])
    path = tmp_path / "i.idx"
    path.write_bytes(index.dump())
    assert Index.read(path) == index
    path.write_bytes(b"{not json\n<a>")
    assert Index.read(path) is None
    assert Index.read(tmp_path / "missing.idx") is None
    path.write_bytes(Index({}, []).dump())
    assert Index.read(path) == Index({}, [])
