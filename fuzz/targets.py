"""What the fuzzers test: loading a mapping file and checking its mentions against a text.

Each target takes the bytes of one input and either returns or raises :class:`AssertionError`
(a property broke) or whatever else the code under test raised (a crash). The property they
share: any input is accepted or refused with :class:`kg.errors.KGError`, whose message is one
line naming the file; never another exception, never a hang. The atheris harnesses beside this
file run them under coverage-guided fuzzing; ``tests/test_fuzz.py`` replays the corpora.

* :func:`load_target` -- the input is the mapping file ``seeds/000_fuzz.ttl`` of a small
  project (its own ontology, one source text): it is loaded (:func:`kg.load.load_project`),
  its mentions checked against the text (:func:`kg.spancheck.check_spans`), and what loaded is
  exported in every format.
* :func:`spans_target` -- the input is a source text, words to look for, mentions
  (``start|end|exact`` lines, offsets in any spelling) and the text file a source document
  names, separated by lines ``#--``: :func:`kg.spans.locate` must find only true matches whose
  ready-to-paste mention reads back as Turtle, and the span check must flag exactly the
  mentions whose offsets do not select their text.
"""

from __future__ import annotations

import atexit
import itertools
import shutil
import tempfile
from pathlib import Path

from rdflib import RDF, XSD, Graph, Literal, URIRef

from kg.errors import KGError
from kg.export import FORMATS, serialize
from kg.load import graph_iri_for, load_project
from kg.namespaces import DIP, OA
from kg.project import Project
from kg.spancheck import check_spans
from kg.spans import line_col, locate, read_text, span_block

#: The parts of a :func:`spans_target` input are separated by this line.
SEPARATOR = b"\n#--\n"

_ONTOLOGY = b"""@prefix dip: <https://w3id.org/dip/ontology#> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
dip:Statement a owl:Class ; rdfs:label "Statement"@en .
dip:Mention a owl:Class ; rdfs:label "Mention"@en .
dip:denotedBy a owl:ObjectProperty ; rdfs:range dip:Mention .
"""
#: The source text of the fuzzed project: the opening of the first seed article.
TEXT = (
    "Russia Rejects Key Elements of US-Backed Ukraine Peace Plan\n"
    "LONDON-UK, December 8, 2025\n"
    "The path to peace in the nearly four-year-long conflict between Ukraine and Russia remains "
    "dangerously steep, with diplomatic fault lines widening as Moscow formally rejected key "
    "elements of a new US-backed peace plan.\n"
)
_PREFIXES = (
    "@prefix dip: <https://w3id.org/dip/ontology#> .\n"
    "@prefix oa: <http://www.w3.org/ns/oa#> .\n"
    "@prefix src: <https://w3id.org/dip/id/source/> .\n"
)

_work: Path | None = None
_counter = itertools.count()


def _workdir() -> Path:
    global _work
    if _work is None:
        _work = Path(tempfile.mkdtemp(prefix="kg-fuzz-"))
        atexit.register(shutil.rmtree, _work, True)
    return _work


def _check_refusal(exc: KGError, *names: Path) -> None:
    """A refusal is one line that names the file it is about."""
    message = str(exc)
    assert message.strip(), "an empty error message"
    assert "\n" not in message and "\r" not in message, f"a message of several lines: {message!r}"
    assert any(message.startswith(str(name)) for name in names), f"names no file: {message!r}"


def _project() -> tuple[Project, Path]:
    root = _workdir() / f"p{next(_counter)}"
    (root / "ontology").mkdir(parents=True)
    (root / "seeds").mkdir()
    (root / "ontology" / "dip.ttl").write_bytes(_ONTOLOGY)
    (root / "seeds" / "000_fuzz.txt").write_text(TEXT, encoding="utf-8")
    return Project(root), root / "seeds" / "000_fuzz.ttl"


def load_target(data: bytes) -> None:
    """Load ``data`` as a mapping file, check its spans, export it (see the module's doc)."""
    project, mapping = _project()
    try:
        mapping.write_bytes(data)
        try:
            loaded = load_project(project)
        except KGError as exc:
            _check_refusal(exc, mapping, project.root)
            return
        union = loaded.union()
        origin = {s: str(mapping) for s, _p, _o in loaded.dataset.graph(graph_iri_for(mapping))}
        outside = [
            f
            for f in union.objects(None, DIP.textFile)
            if Path(str(f)).is_absolute() or ".." in Path(str(f)).parts
        ]
        try:
            check_spans(union, project.seeds_dir, origin=origin)
        except KGError as exc:
            _check_refusal(exc, mapping, project.seeds_dir)
        else:
            assert not outside, f"the span check read {outside}, outside the seeds folder"
        for fmt in FORMATS:
            try:
                serialize(loaded.dataset, fmt)
            except KGError as exc:
                # only JSON-LD refuses anything that loaded: an IRI it would misread
                assert fmt == "jsonld" and "is a term of the context" in str(exc), str(exc)
    finally:
        shutil.rmtree(project.root, ignore_errors=True)


def _parts(data: bytes) -> tuple[bytes, str, list[str], str | None]:
    text, words, mentions, text_file = [*data.split(SEPARATOR, 3), b"", b"", b""][:4]
    return (
        text,
        words.decode("utf-8", "surrogateescape"),  # as a command-line argument arrives
        mentions.decode("utf-8", "replace").split("\n") if mentions else [],
        text_file.decode("utf-8", "replace") if text_file else None,
    )


def _offset(lexical: str) -> int | None:
    """The integer an ``xsd:integer`` of this spelling stands for, if it is one (XSD allows
    surrounding white space and a sign, ASCII digits only)."""
    stripped = lexical.strip(" \t\n\r")
    digits = stripped[1:] if stripped[:1] in "+-" else stripped
    if not (digits.isascii() and digits.isdigit()):
        return None
    return int(stripped) if len(digits) < 4000 else 10**18


def spans_target(data: bytes) -> None:
    """Locate words in a text and check mentions against it (see the module's doc)."""
    raw, words, mention_lines, text_file = _parts(data)
    seeds = _workdir() / f"s{next(_counter)}"
    seeds.mkdir()
    try:
        path = seeds / "t.txt"
        path.write_bytes(raw)
        try:
            text = read_text(path)
        except KGError as exc:
            _check_refusal(exc, path)
            return
        _check_locate(text, words)
        _check_span_check(text, seeds, mention_lines, text_file)
    finally:
        shutil.rmtree(seeds, ignore_errors=True)


def _check_locate(text: str, words: str) -> None:
    try:
        matches = locate(text, words)
    except KGError as exc:
        assert not words.strip() and "\n" not in str(exc), str(exc)
        return
    for match in matches[:20]:
        assert text[match.start : match.end] == match.exact
        line, col = line_col(text, match.start)
        assert text.count("\n", 0, match.start) == line - 1 and col >= 1
        if any("\ud800" <= ch <= "\udfff" for ch in match.exact):
            continue  # an undecodable argument cannot match a decoded text; never reached
        block = span_block("src:000", match)
        assert "\n" not in block
        graph = Graph().parse(
            data=f"{_PREFIXES}src:000 {block.removesuffix(' ;')} .", format="turtle"
        )
        assert {int(o) for o in graph.objects(None, OA.start)} == {match.start}
        assert {int(o) for o in graph.objects(None, OA.end)} == {match.end}
        assert {str(o) for o in graph.objects(None, OA.exact)} == {match.exact}


def _check_span_check(
    text: str, seeds: Path, mention_lines: list[str], text_file: str | None
) -> None:
    doc = URIRef("https://w3id.org/dip/id/source/000")
    graph = Graph()
    graph.add((doc, RDF.type, DIP.SourceDocument))
    graph.add((doc, DIP.textFile, Literal(text_file if text_file is not None else "t.txt")))
    expected_bad: set[URIRef] = set()
    for n, line in enumerate(mention_lines[:12]):
        start, _, rest = line.partition("|")
        end, _, exact = rest.partition("|")
        owner = URIRef(f"https://w3id.org/dip/id/statement/s{n}")
        mention = URIRef(f"https://w3id.org/dip/id/mention/m{n}")
        graph.add((owner, DIP.denotedBy, mention))
        graph.add((mention, DIP.inSource, doc))
        graph.add((mention, OA.start, Literal(start, datatype=XSD.integer, normalize=False)))
        graph.add((mention, OA.end, Literal(end, datatype=XSD.integer, normalize=False)))
        graph.add((mention, OA.exact, Literal(exact)))
        s, e = _offset(start), _offset(end)
        if s is None or e is None or not (0 <= s < e <= len(text)) or text[s:e] != exact:
            expected_bad.add(owner)
    origin = {node: str(seeds / "000_fuzz.ttl") for node in set(graph.subjects())}
    outside = text_file is not None and (
        Path(text_file).is_absolute() or ".." in Path(text_file).parts
    )
    (seeds.parent / "outside.txt").write_text(text, encoding="utf-8")
    try:
        results = check_spans(graph, seeds, origin=origin)
    except KGError as exc:
        _check_refusal(exc, seeds / "000_fuzz.ttl", seeds)
        assert text_file is not None, "the text file is there, yet the span check refused"
        return
    # a mapping names a text in the seeds folder; it cannot make the check read another file
    assert not outside, f"the span check read {text_file!r}, outside the seeds folder"
    flagged = {r.focus for r in results}
    if text_file is None:
        assert flagged == expected_bad, (flagged, expected_bad)
    for result in results:
        assert result.message and "\n" not in result.message, result.message
