"""The synthetic corpus generator: valid, span-exact, shaped like the seed corpus, deterministic."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from kg.cli import synth
from kg.pipeline import TOP_CLASSES, assemble, class_counts
from kg.project import find_project
from kg.synth import Stats, generate
from tests.conftest import ROOT, kg

#: Classes whose count at scale 1 must be within 30% of the seed corpus's: every top class but
#: the small actor kinds (groups, delegations, outlets), whose few members make 30% meaningless.
COMPARED = tuple(c for c in TOP_CLASSES if c not in ("Group", "Delegation", "NewsOutlet"))


@pytest.fixture(scope="module")
def scale1(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Stats]:
    out = tmp_path_factory.mktemp("synth") / "x1"
    return out, generate(out, 1)


def test_layout(scale1: tuple[Path, Stats]) -> None:
    out, stats = scale1
    assert stats.articles == 5
    for name in ("ontology", "shapes", "queries", "checks"):
        assert (out / name).is_dir()
    seeds = out / "seeds"
    texts = sorted(seeds.glob("*.txt"))
    assert len(texts) == 5
    for text in texts:
        assert (seeds / f"{text.stem}.ttl").is_file()
    assert (seeds / "shared.ttl").is_file()


def test_validates_without_violations(scale1: tuple[Path, Stats]) -> None:
    out, _ = scale1
    result = kg("validate", "--format", "json", root=out)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr
    report = json.loads(result.stdout)
    assert report["conforms"] is True
    assert report["counts"]["Violation"] == 0
    # Warnings and infos are allowed; print them so a run shows how many there are.
    print("synthetic scale 1:", report["counts"])


def test_spans_hold(scale1: tuple[Path, Stats]) -> None:
    out, _ = scale1
    result = kg("spans", root=out)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr


def test_counts_like_the_seed_corpus(scale1: tuple[Path, Stats]) -> None:
    out, stats = scale1
    synthetic = assemble(find_project(out))
    seed = assemble(find_project(ROOT))
    got = class_counts(synthetic.union())
    want = class_counts(seed.union())
    assert set(COMPARED) <= set(TOP_CLASSES)
    off = {
        name: (got[name], want[name])
        for name in COMPARED
        if not 0.7 * want[name] <= got[name] <= 1.3 * want[name]
    }
    assert not off, off
    # The generator counts the triples it writes; the loader agrees.
    assert len(synthetic.union(inferred=False, ontology=False)) == stats.triples


def test_twice_the_scale_twice_the_triples(tmp_path: Path, scale1: tuple[Path, Stats]) -> None:
    _, one = scale1
    two = generate(tmp_path / "x2", 2)
    assert two.articles == 10
    assert 1.8 <= two.triples / one.triples <= 2.2


def test_deterministic(tmp_path: Path, scale1: tuple[Path, Stats]) -> None:
    first, _ = scale1
    second = tmp_path / "again"
    generate(second, 1)
    names = sorted(p.name for p in (first / "seeds").iterdir())
    assert names == sorted(p.name for p in (second / "seeds").iterdir())
    for name in names:
        assert (first / "seeds" / name).read_bytes() == (second / "seeds" / name).read_bytes()
    other = tmp_path / "other-seed"
    generate(other, 1, seed=1)
    assert sorted(p.name for p in (other / "seeds").iterdir()) != names


def test_canned_queries_run(scale1: tuple[Path, Stats]) -> None:
    out, _ = scale1
    listing = kg("queries", root=out)
    assert listing.returncode == 0, listing.stderr
    assert "01-attributions" in listing.stdout
    result = kg("query", "01-attributions", "--format", "csv", root=out)
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.strip().splitlines()) > 1  # a header and rows


def test_refuses_a_folder_with_seeds(scale1: tuple[Path, Stats], tmp_path: Path) -> None:
    out, _ = scale1
    with pytest.raises(ValueError, match="not empty"):
        generate(out, 1)
    with pytest.raises(ValueError, match="project itself"):
        generate(ROOT, 1)


def test_command(tmp_path: Path) -> None:
    result = CliRunner().invoke(synth, [str(tmp_path / "cli"), "--scale", "1", "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert "articles: 5" in result.output
    bad = CliRunner().invoke(synth, [str(tmp_path / "cli"), "--scale", "1"])
    assert bad.exit_code == 2
