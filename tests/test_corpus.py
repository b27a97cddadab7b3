"""The seed corpus: complete, faithful, canonical."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from kg.fmt import needs_format
from kg.pipeline import Built
from kg.project import Project
from kg.quotes import quotations, read_unmapped, uncovered
from kg.spans import read_text

ROOT = Path(__file__).resolve().parents[1]
SHARED_SEEDS = ROOT.parent / "shared" / "seeds"
TEXTS = sorted((ROOT / "seeds").glob("*.txt"))


def test_five_source_texts():
    assert [p.name[:3] for p in TEXTS] == ["000", "001", "002", "003", "004"]


@pytest.mark.parametrize("path", TEXTS, ids=lambda p: p.name)
def test_texts_are_byte_for_byte_copies(path: Path):
    """The project's copies match the texts as received (../shared/seeds beside the repo)."""
    assert path.read_bytes() == (SHARED_SEEDS / path.name).read_bytes()


def test_every_text_has_a_mapping_with_its_digest(project: Project, built: Built):
    from kg.namespaces import DIP

    union = built.union(inferred=False)
    recorded = {
        str(f): str(union.value(d, DIP.sha256)) for d, f in union.subject_objects(DIP.textFile)
    }
    for path in TEXTS:
        assert path.name in recorded, f"no source document for {path.name}"
        assert recorded[path.name] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert path.with_suffix(".ttl").is_file()


def test_seed_corpus_conforms(built: Built):
    assert built.report is not None
    violations = built.report.failing("violation")
    assert violations == [], "\n".join(r.message for r in violations[:20])


def test_every_quotation_is_covered_or_listed_with_a_reason(project: Project, built: Built):
    missing = uncovered(built.union(inferred=False), project.seeds_dir)
    assert missing == [], "\n".join(f"{p.file}:{p.start}-{p.end} {p.text}" for p in missing)


def test_unmapped_list_names_real_quotations(project: Project):
    listed = read_unmapped(project.seeds_dir)
    for (name, start, end), reason in listed.items():
        text = read_text(project.seeds_dir / name)
        assert any(p.start == start and p.end == end for p in quotations(text)), (
            name,
            start,
            reason,
        )


def test_quotation_finder_pairs_marks_within_a_line():
    text = 'He said “yes” and "no".\nShe said “maybe'
    found = [p.text for p in quotations(text)]
    assert found == ["“yes”", '"no"']


@pytest.mark.parametrize(
    "path",
    [p for folder in ("ontology", "shapes", "seeds") for p in sorted(ROOT.glob(f"{folder}/*.ttl"))],
    ids=lambda p: f"{p.parent.name}/{p.name}",
)
def test_turtle_files_are_in_canonical_layout(path: Path):
    """Mapping files, the ontology and the shapes: what `kg fmt --check` checks."""
    assert not needs_format(path), f"run: kg fmt {path.relative_to(ROOT)}"
