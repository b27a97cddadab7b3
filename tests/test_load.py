"""Loading: one named graph per file; malformed input is one clear error naming file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from kg.errors import InputError
from kg.load import ONTOLOGY_GRAPH, graph_iri_for, load_project
from kg.namespaces import GRAPH
from kg.project import Project


def test_one_named_graph_per_mapping_file(project: Project):
    loaded = load_project(project)
    files = project.mapping_files()
    assert set(loaded.sources) == {ONTOLOGY_GRAPH} | {graph_iri_for(p) for p in files}
    assert graph_iri_for(Path("seeds/003_12791c6c8d2a98dd.ttl")) == GRAPH["003"]
    assert graph_iri_for(Path("seeds/shared.ttl")) == GRAPH["shared"]


def test_blank_node_labels_are_stable_across_loads(project: Project):
    a = load_project(project).union()
    b = load_project(project).union()
    assert set(a) == set(b)


@pytest.mark.parametrize(
    ("content", "pattern"),
    [
        (
            b"@prefix ex: <http://example.org/> .\nex:a ex:b ex:c\nex:d ex:e ex:f .\n",
            r"broken\.ttl:3: ",
        ),
        (b"@prefix ex: <http://example.org/> .\n\nex:a nope:b ex:c .\n", r"broken\.ttl:3: "),
        (b"", r"broken\.ttl: file is empty"),
        (b"   \n\n", r"broken\.ttl: file is empty"),
        (
            b'@prefix ex: <http://example.org/> .\nex:a ex:b "caf\xe9" .\n',
            r"broken\.ttl:2: not valid UTF-8",
        ),
    ],
    ids=["missing-dot", "unknown-prefix", "empty", "blank", "latin1"],
)
def test_malformed_mapping_is_an_input_error_naming_file_and_line(
    project_copy: Project, content: bytes, pattern: str
):
    (project_copy.seeds_dir / "broken.ttl").write_bytes(content)
    with pytest.raises(InputError, match=pattern):
        load_project(project_copy)
