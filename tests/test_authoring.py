"""`kg new-source`: a new text and the start of its mapping, valid and canonical from the start."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, RDFS

from kg.authoring import _date_mention, _find, new_source, next_free_id, slug
from kg.errors import InputError
from kg.fmt import needs_format
from kg.namespaces import DIP, ID
from kg.project import Project
from tests.conftest import ROOT, kg

ARTICLE = (
    "Kyiv Signals Openness to Talks\n"
    "By Anna Example, Reuters\n"
    "November 24, 2025\n"
    "Ukraine’s foreign minister said on Monday that Kyiv was “ready to talk” but would not "
    "“give up a single inch.”\r\n"
    'Kremlin spokesperson Dmitry Peskov said there were "no plans" for a meeting.\n'
)



def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.fixture
def article(tmp_path: Path) -> Path:
    path = tmp_path / "incoming" / "article.txt"
    path.parent.mkdir()
    path.write_bytes(ARTICLE.encode("utf-8"))
    return path


def test_new_source_copies_the_text_and_starts_a_valid_canonical_mapping(
    project_copy: Project, article: Path
):
    root = project_copy.root
    before = snapshot(project_copy.seeds_dir)
    proc = kg(
        "new-source",
        str(article),
        "--outlet",
        "Reuters",
        "--published",
        "2025-11-24",
        "--author",
        "Anna Example",
        "--headline",
        "Kyiv Signals Openness to Talks",
        root=root,
    )
    assert proc.returncode == 0, proc.stderr
    data = article.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    stem = f"005_{digest[:16]}"
    text_path, mapping_path = (project_copy.seeds_dir / f"{stem}{s}" for s in (".txt", ".ttl"))
    after = snapshot(project_copy.seeds_dir)
    assert set(after) - set(before) == {text_path.name, mapping_path.name}
    assert {k: v for k, v in after.items() if k in before} == before
    assert text_path.read_bytes() == data  # byte for byte, CRLF and all

    # the checklist: every quotation passage with its offsets
    out = proc.stdout.splitlines()
    assert out[:2] == [f"wrote seeds/{stem}.txt", f"wrote seeds/{stem}.ttl"]
    assert "3 quotation passages in src:005" in out[2]
    text = data.decode("utf-8")
    for passage, line in zip(
        ("“ready to talk”", "“give up a single inch.”", '"no plans"'), out[3:], strict=True
    ):
        start = text.index(passage)
        assert line.startswith("[ ] line ")
        assert line.endswith(f"start {start} end {start + len(passage)}: {passage}")

    # the source document, as the other mapping files give theirs
    g = Graph().parse(mapping_path, format="turtle")
    doc = ID["source/005"]
    assert (doc, RDF.type, DIP.SourceDocument) in g
    assert g.value(doc, DIP.textFile) == Literal(text_path.name)
    assert g.value(doc, DIP.sha256) == Literal(digest)
    assert g.value(doc, DIP.language) == Literal("en")
    assert g.value(doc, DIP.headline) == Literal("Kyiv Signals Openness to Talks")
    assert g.value(doc, DIP.outlet) == ID["actor/reuters"]  # the outlet already in the corpus
    author = g.value(doc, DIP.author)
    assert author == ID["actor/anna-example"]
    assert (author, RDF.type, DIP.Person) in g
    assert g.value(author, RDFS.label) == Literal("Anna Example")
    assert (ID["actor/reuters"], RDFS.label, None) not in g  # no new label for a known actor
    published = g.value(doc, DIP.published)
    assert g.value(published, DIP.earliest) == Literal(dt.date(2025, 11, 24))
    assert g.value(published, DIP.latest) == Literal(dt.date(2025, 11, 24))
    assert g.value(published, DIP.precision) == URIRef("https://w3id.org/dip/vocab/DayPrecision")
    assert g.value(published, DIP.timeText) == Literal("November 24, 2025")
    skeleton = mapping_path.read_text(encoding="utf-8")
    headers = [
        "Source document",
        "Actors",
        "Places",
        "Statements",
        "Attributions",
        "Positions and demands",
        "Proposals and points",
        "Events",
        "Reported figures",
    ]
    positions = [skeleton.index(f"\n# {h}\n") for h in headers]
    assert positions == sorted(positions)

    # canonical layout, and the whole project still validates
    assert not needs_format(mapping_path)
    assert kg("fmt", "--check", root=root).returncode == 0
    validate = kg("validate", root=root)
    assert validate.returncode == 0, validate.stdout
    assert validate.stdout.startswith("Conforms: yes")

    # kg check now lists the quotations still to map, as errors
    check = kg("check", root=root)
    assert check.returncode == 1, check.stdout + check.stderr
    uncovered = [line for line in check.stdout.splitlines() if "uncovered-quotation" in line]
    assert len(uncovered) == 3
    assert all(line.startswith("error: uncovered-quotation: src:005: ") for line in uncovered)


@pytest.mark.parametrize(
    ("case", "needle"),
    [
        ("exists", "already exists"),
        ("encoding", "not valid UTF-8"),
        ("date", "is not a date YYYY-MM-DD"),
        ("impossible-date", "is not a date YYYY-MM-DD"),
    ],
)
def test_new_source_refuses_and_writes_nothing(
    project_copy: Project, article: Path, case: str, needle: str
):
    args = ["--outlet", "Reuters", "--published", "2025-11-24"]
    named = str(article)
    if case == "exists":
        digest = hashlib.sha256(article.read_bytes()).hexdigest()
        target = project_copy.seeds_dir / f"004_{digest[:16]}.ttl"
        target.write_text("# someone's mapping\n", encoding="utf-8")
        args += ["--id", "004"]
        named = str(target)
    elif case == "encoding":
        article.write_bytes("Caf\u00e9 “talks”\n".encode("latin-1", errors="replace"))
    elif case == "date":
        args[-1] = "24.11.2025"
    else:
        args[-1] = "2025-02-30"
    before = snapshot(project_copy.seeds_dir)
    proc = kg("new-source", str(article), *args, root=project_copy.root)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert named in lines[0] and needle in lines[0]
    assert snapshot(project_copy.seeds_dir) == before
    assert proc.stdout == ""


def test_new_source_refuses_a_taken_id_and_a_text_already_in_the_corpus(project_copy: Project):
    text = ROOT / "seeds" / "003_12791c6c8d2a98dd.txt"
    before = snapshot(project_copy.seeds_dir)
    with pytest.raises(InputError, match=r"already in the corpus as 003_12791c6c8d2a98dd\.txt"):
        new_source(project_copy, text, outlet="Reuters", published="2025-11-20")
    copy = project_copy.root / "other.txt"
    copy.write_bytes(text.read_bytes() + b"\n")
    with pytest.raises(InputError, match="source id 002 is taken by 002_a7cc7977949a6578"):
        new_source(project_copy, copy, outlet="Reuters", published="2025-11-20", source_id="002")
    assert snapshot(project_copy.seeds_dir) == before


def test_outlet_must_be_a_known_outlet_or_named_in_the_text(
    project_copy: Project, article: Path
):
    before = snapshot(project_copy.seeds_dir)
    with pytest.raises(InputError, match="neither an actor of the project nor named in the text"):
        new_source(project_copy, article, outlet="Daily Planet", published="2025-11-24")
    with pytest.raises(InputError, match="actor:olga-nesterova is not a dip:NewsOutlet"):
        new_source(project_copy, article, outlet="actor:olga-nesterova", published="2025-11-24")
    with pytest.raises(InputError, match="not an actor of the project"):
        new_source(project_copy, article, outlet="actor:no-such-outlet", published="2025-11-24")
    assert snapshot(project_copy.seeds_dir) == before


def test_outlet_not_stated_and_a_new_outlet_named_in_the_text(project_copy: Project, tmp_path):
    plain = tmp_path / "plain.txt"
    plain.write_text("An unsigned note without a date.\n", encoding="utf-8")
    made = new_source(project_copy, plain, outlet="-", published="2025-12-01", source_id="010")
    g = Graph().parse(made.mapping_path, format="turtle")
    doc = ID["source/010"]
    assert set(g.objects(doc, DIP.notStated)) == {DIP.headline, DIP.outlet, DIP.author}
    assert g.value(g.value(doc, DIP.published), DIP.denotedBy) is None
    assert any("publication date is not found" in n for n in made.notes)
    assert made.quotations == []
    assert next_free_id(project_copy.seeds_dir) == "011"

    planet = tmp_path / "planet.txt"
    planet.write_text("THE DAILY PLANET\nMetropolis, 2025-12-02\n", encoding="utf-8")
    made = new_source(
        project_copy, planet, outlet="Daily Planet", author="daily planet", published="2025-12-02"
    )
    assert made.source_id == "011"
    g = Graph().parse(made.mapping_path, format="turtle")
    doc, outlet = ID["source/011"], ID["actor/daily-planet"]
    assert g.value(doc, DIP.outlet) == outlet == g.value(doc, DIP.author)
    assert (outlet, RDF.type, DIP.NewsOutlet) in g
    assert g.value(outlet, RDFS.label) == Literal("Daily Planet")
    assert g.value(g.value(outlet, DIP.denotedBy), URIRef("http://www.w3.org/ns/oa#exact")) == (
        Literal("DAILY PLANET")
    )
    assert not needs_format(made.mapping_path)


def test_helpers():
    assert slug("Jean-Noël Barrot") == "jean-noel-barrot"
    assert slug("  Kaizen News Brief ") == "kaizen-news-brief"
    text = "Dateline 2025-11-200; by-line Nov. 24, 2025 and later 24 November 2025"
    m = _date_mention(text, dt.date(2025, 11, 24))
    assert m is not None and m.exact == "Nov. 24, 2025"
    assert _date_mention("on 2025-11-240", dt.date(2025, 11, 24)) is None
    # names are found as whole words, in their own case first
    found = _find("thus said the us and the US", "US")
    assert found is not None and (found.start, found.exact) == (25, "US")
    found = _find("thus said the us", "US")
    assert found is not None and (found.start, found.exact) == (14, "us")
