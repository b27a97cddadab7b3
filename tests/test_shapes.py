"""The SHACL shapes against small fixtures: valid ones conform, invalid ones fail for their reason.

Fixtures live in ``tests/fixtures/shapes/{valid,invalid}/*.ttl``; their comment header says what
each one is for (see ``tests/fixtures/shapes/README.md``). Every fixture is validated twice, as
asserted (``inference=False``) and with the OWL RL inferences a build adds (``inference=True``), so
a shape that an ``rdfs:range`` inference would satisfy shows up here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from rdflib import Graph, URIRef
from rdflib.namespace import RDF, SH
from rdflib.term import Node

from kg.namespaces import DIP
from kg.project import Project, find_project
from kg.report import Report, Result
from kg.validate import load_shapes, validate_graph

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "shapes"
VALID_FILES = sorted((FIXTURES / "valid").glob("*.ttl"))
INVALID_FILES = sorted((FIXTURES / "invalid").glob("*.ttl"))

#: The span check reports under this name; fixtures may expect it next to the shapes.
SPAN_CHECK = DIP["SpanCheck"]

_HEADER_LINE = re.compile(r"^#\s*([a-z-]+):\s*(.*?)\s*$")
#: Header keys that name a result: (required?, modes it applies to).
_RESULT_KEYS = {
    "expect": (True, (False, True)),
    "expect-without-inference": (True, (False,)),
    "expect-with-inference": (True, (True,)),
    "allow": (False, (False, True)),
    "allow-with-inference": (False, (True,)),
}
_TEXT_KEYS = {"shape", "about", "because"}

# SHACL core constraint parameters that make a node shape check its focus node itself.
_NODE_CONSTRAINTS = (
    SH["class"],
    SH.datatype,
    SH.nodeKind,
    SH.minExclusive,
    SH.minInclusive,
    SH.maxExclusive,
    SH.maxInclusive,
    SH.minLength,
    SH.maxLength,
    SH.pattern,
    SH.languageIn,
    SH.equals,
    SH.disjoint,
    SH["not"],
    SH["and"],
    SH["or"],
    SH.xone,
    SH.node,
    SH.hasValue,
    SH["in"],
    SH.closed,
    SH.sparql,
)


# ---------------------------------------------------------------------------
# Fixture headers
# ---------------------------------------------------------------------------


def read_header(path: Path) -> list[tuple[str, str]]:
    """The ``# key: value`` lines at the top of a fixture, in order."""
    lines: list[tuple[str, str]] = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        if not raw.strip():
            continue
        if not raw.startswith("#"):
            break
        match = _HEADER_LINE.match(raw)
        if match is None:
            raise ValueError(f"{path.name}: header line not of the form '# key: value': {raw!r}")
        lines.append((match.group(1), match.group(2)))
    return lines


def header_values(path: Path, key: str) -> list[str]:
    return [value for k, value in read_header(path) if k == key]


#: As the path of an expect or allow line: the result has no path (a node-level constraint).
NO_PATH = "-"


@dataclass(frozen=True)
class Expected:
    """One ``expect``/``allow`` line, with its CURIEs expanded by the fixture's own prefixes.

    ``path`` is None when the line gives no path (any path matches) and ``NO_PATH`` when it
    gives ``-`` (only a result without a path matches).
    """

    key: str
    focus: URIRef
    shape: URIRef
    path: URIRef | str | None
    line: str

    @property
    def required(self) -> bool:
        return _RESULT_KEYS[self.key][0]

    def applies(self, inference: bool) -> bool:
        return inference in _RESULT_KEYS[self.key][1]

    def matches(self, result: Result) -> bool:
        if result.focus != self.focus or result.shape != self.shape:
            return False
        if self.path is None:
            return True
        if self.path == NO_PATH:
            return result.path is None
        return result.path == self.path


def expand(graph: Graph, curie: str) -> URIRef:
    if curie.startswith("<") and curie.endswith(">"):
        return URIRef(curie[1:-1])
    if curie.startswith("_:"):
        raise ValueError(f"blank nodes cannot be expected ({curie}); give the node an IRI")
    return URIRef(graph.namespace_manager.expand_curie(curie))


def expectations(path: Path, graph: Graph) -> list[Expected]:
    out: list[Expected] = []
    for key, value in read_header(path):
        if key not in _RESULT_KEYS:
            continue
        parts = value.split()
        if len(parts) not in (2, 3):
            raise ValueError(f"{path.name}: '# {key}:' needs <focus> <shape> [<path>]: {value!r}")
        focus, shape = expand(graph, parts[0]), expand(graph, parts[1])
        result_path: URIRef | str | None = None
        if len(parts) == 3:
            result_path = NO_PATH if parts[2] == NO_PATH else expand(graph, parts[2])
        out.append(Expected(key, focus, shape, result_path, f"{key}: {value}"))
    return out


def parse_fixture(path: Path) -> Graph:
    graph = Graph()
    graph.parse(path, format="turtle")
    return graph


# ---------------------------------------------------------------------------
# Project and shapes, built once
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dip_project() -> Project:
    return find_project(ROOT)


@pytest.fixture(scope="module")
def shapes_graph(dip_project: Project) -> Graph:
    return load_shapes(dip_project)


def run(path: Path, project: Project, shapes: Graph, inference: bool) -> tuple[Graph, Report]:
    graph = parse_fixture(path)
    return graph, validate_graph(graph, project, inference=inference, shapes=shapes)


def describe(report: Report, graph: Graph) -> str:
    return report.as_text(graph)


# ---------------------------------------------------------------------------
# Valid fixtures: no results at any severity
# ---------------------------------------------------------------------------


def check_valid(path: Path, project: Project, shapes: Graph, inference: bool) -> None:
    graph, report = run(path, project, shapes, inference)
    assert report.conforms, f"{path.name} should conform:\n{describe(report, graph)}"


@pytest.mark.parametrize("path", VALID_FILES, ids=[p.name for p in VALID_FILES])
def test_valid_fixture_conforms_asserted(path: Path, dip_project: Project, shapes_graph: Graph):
    check_valid(path, dip_project, shapes_graph, inference=False)


@pytest.mark.parametrize("path", VALID_FILES, ids=[p.name for p in VALID_FILES])
def test_valid_fixture_conforms_inferred(path: Path, dip_project: Project, shapes_graph: Graph):
    check_valid(path, dip_project, shapes_graph, inference=True)


# ---------------------------------------------------------------------------
# Invalid fixtures: the expected results, and nothing else
# ---------------------------------------------------------------------------


def check_invalid(path: Path, project: Project, shapes: Graph, inference: bool) -> None:
    graph, report = run(path, project, shapes, inference)
    lines = [e for e in expectations(path, graph) if e.applies(inference)]
    required = [e for e in lines if e.required]
    assert required, f"{path.name}: no expect line applies with inference={inference}"
    text = describe(report, graph)
    missing = [e.line for e in required if not any(e.matches(r) for r in report.results)]
    assert not missing, (
        f"{path.name} (inference={inference}) lacks the expected result(s) {missing}; "
        f"the report was:\n{text}"
    )
    stray = [r for r in report.results if not any(e.matches(r) for e in lines)]
    assert not stray, (
        f"{path.name} (inference={inference}) fails for more than its stated reason; "
        f"results not listed in its header:\n"
        + Report(stray).as_text(graph)
        + f"\nfull report:\n{text}"
    )


@pytest.mark.parametrize("path", INVALID_FILES, ids=[p.name for p in INVALID_FILES])
def test_invalid_fixture_fails_asserted(path: Path, dip_project: Project, shapes_graph: Graph):
    check_invalid(path, dip_project, shapes_graph, inference=False)


@pytest.mark.parametrize("path", INVALID_FILES, ids=[p.name for p in INVALID_FILES])
def test_invalid_fixture_fails_inferred(path: Path, dip_project: Project, shapes_graph: Graph):
    check_invalid(path, dip_project, shapes_graph, inference=True)


# ---------------------------------------------------------------------------
# Headers, coverage and messages
# ---------------------------------------------------------------------------


def _node_shapes(shapes: Graph) -> set[Node]:
    return {s for s in shapes.subjects(RDF.type, SH.NodeShape) if isinstance(s, URIRef)}


@pytest.mark.parametrize(
    "path",
    VALID_FILES + INVALID_FILES,
    ids=[f"{p.parent.name}/{p.name}" for p in VALID_FILES + INVALID_FILES],
)
def test_fixture_header_is_well_formed(path: Path, shapes_graph: Graph):
    header = read_header(path)
    keys = [key for key, _ in header]
    unknown = sorted(set(keys) - set(_RESULT_KEYS) - _TEXT_KEYS)
    assert not unknown, f"{path.name}: unknown header keys {unknown}"
    graph = parse_fixture(path)
    known_shapes = _node_shapes(shapes_graph) | {SPAN_CHECK}
    nodes = set(graph.subjects()) | set(graph.objects())
    if path.parent.name == "valid":
        shapes = [expand(graph, value) for value in header_values(path, "shape")]
        assert shapes, f"{path.name}: a valid fixture names its shape with '# shape:'"
        assert set(shapes) <= known_shapes, f"{path.name}: unknown shape in {shapes}"
        assert not set(keys) & set(_RESULT_KEYS), f"{path.name}: a valid fixture expects nothing"
    else:
        assert "because" in keys, f"{path.name}: an invalid fixture says why with '# because:'"
        lines = expectations(path, graph)
        for inference in (False, True):
            assert any(e.required and e.applies(inference) for e in lines), (
                f"{path.name}: no expect line for inference={inference}"
            )
        for e in lines:
            assert e.shape in known_shapes, f"{path.name}: unknown shape in '{e.line}'"
            assert e.focus in nodes, f"{path.name}: focus of '{e.line}' is not in the fixture"


def test_every_node_shape_has_valid_and_invalid_fixtures(shapes_graph: Graph):
    node_shapes = _node_shapes(shapes_graph)
    valid: set[Node] = set()
    for path in VALID_FILES:
        graph = parse_fixture(path)
        valid |= {expand(graph, value) for value in header_values(path, "shape")}
    invalid: set[Node] = set()
    for path in INVALID_FILES:
        graph = parse_fixture(path)
        invalid |= {e.shape for e in expectations(path, graph) if e.required}
    assert not sorted(node_shapes - valid), (
        f"without a valid fixture: {sorted(node_shapes - valid)}"
    )
    assert not sorted(node_shapes - invalid), (
        f"without an invalid fixture: {sorted(node_shapes - invalid)}"
    )


#: Property shapes, as (NodeShape, path), that no invalid fixture need prove failing with
#: inference, each with the reason it cannot be made to fail. Empty: every one can be.
PROPERTY_SHAPES_EXEMPT: dict[tuple[URIRef, URIRef], str] = {}


def _property_shapes(shapes: Graph) -> set[tuple[Node, Node]]:
    """(named NodeShape, ``sh:path``) of every property shape of a named NodeShape.

    Property shapes nested in ``sh:node``/``sh:or`` are part of their outer constraint and are
    not counted. A complex path (``sh:inversePath``, a sequence) is compared as its path node, a
    blank node that no header can name (there is none today): such a property shape is listed as
    missing until its path is given an IRI or the shape is proved some other way.
    """
    pairs: set[tuple[Node, Node]] = set()
    for node_shape in _node_shapes(shapes):
        for prop in shapes.objects(node_shape, SH.property):
            paths = list(shapes.objects(prop, SH.path))
            assert len(paths) == 1, f"{node_shape}: a property shape with paths {paths}"
            pairs.add((node_shape, paths[0]))
    return pairs


def test_every_property_shape_has_an_invalid_fixture_that_fails_with_inference(
    shapes_graph: Graph,
):
    """The validator cannot be fooled by inference: for each property shape, an invalid fixture
    expects a result of that NodeShape on that exact path in inference mode (``expect`` or
    ``expect-with-inference``). ``test_invalid_fixture_fails_inferred`` asserts that every such
    line is reported, so the two together prove each property shape fails with inference.

    A ``sh:class`` constraint on an object property is where an ``rdfs:range`` inference can
    satisfy the check (the value gains the class); a fixture for it gives a value no inference can
    type, such as a literal, while the wrong-class case is shown failing on the other node.
    Property shapes that share a path (a required and a typed one) are counted once.
    """
    pairs = _property_shapes(shapes_graph)
    unknown = sorted(set(PROPERTY_SHAPES_EXEMPT) - pairs)
    assert not unknown, f"exemptions for property shapes that do not exist: {unknown}"
    proven: set[tuple[Node, Node]] = set()
    for path in INVALID_FILES:
        graph = parse_fixture(path)
        for e in expectations(path, graph):
            if e.required and e.applies(True) and isinstance(e.path, URIRef):
                proven.add((e.shape, e.path))
    missing = sorted(pairs - proven - set(PROPERTY_SHAPES_EXEMPT))
    names = shapes_graph.namespace_manager

    def path_text(path: Node) -> str:
        if isinstance(path, URIRef):
            return path.n3(names)
        parts = shapes_graph.predicate_objects(path)
        return "[ " + " ; ".join(f"{p.n3(names)} {o.n3(names)}" for p, o in parts) + " ]"

    assert not missing, (
        f"{len(missing)} of {len(pairs)} property shapes have no invalid fixture with an "
        "'expect:' or 'expect-with-inference:' line naming their NodeShape and path:\n"
        + "\n".join(f"  {names.normalizeUri(s)} {path_text(p)}" for s, p in missing)
    )


def test_every_constraint_has_a_message(shapes_graph: Graph):
    missing: list[str] = []
    for node_shape, prop in shapes_graph.subject_objects(SH.property):
        if shapes_graph.value(prop, SH.message) is None:
            paths = shapes_graph.value(prop, SH.path)
            missing.append(f"{node_shape} property shape on {paths}")
    for node_shape in _node_shapes(shapes_graph):
        constrained = [c for c in _NODE_CONSTRAINTS if (node_shape, c, None) in shapes_graph]
        if constrained and shapes_graph.value(node_shape, SH.message) is None:
            missing.append(f"{node_shape} node-level constraint {constrained}")
    assert not missing, "constraints without sh:message:\n" + "\n".join(sorted(missing))
