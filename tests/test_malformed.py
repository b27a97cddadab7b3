"""Malformed input, one row per way of breaking a project: the real ``kg`` command answers with
one clear line naming the file, the line or node, and what is wrong; exits 2 for an input error
and 1 for data that does not conform; never prints a traceback; and leaves the outputs of the
last good build as they were.

Each case breaks a copy of the project (the ``project_copy`` fixture). Most use the small
project: the copy with its mappings replaced by ``fixtures/malformed/tiny-002.ttl`` (one source,
one person, one event), so that a case that has to reason and validate costs about three seconds
rather than twenty. Cases that fail while loading stop before reasoning and cost well under one;
the texts and spans are checked with ``kg spans``, which reads them without reasoning first. The
small project itself conforms: ``kg build`` writes its outputs (tests/test_atomic.py kills that
build after it has written them), and writes nothing for data that does not conform.
"""

from __future__ import annotations

import ctypes
import os
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from kg.project import Project
from tests.conftest import ROOT, kg

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "malformed"
TINY = FIXTURES / "tiny-002.ttl"
MAPPING = "seeds/002_a7cc7977949a6578.ttl"
TEXT = "seeds/002_a7cc7977949a6578.txt"
REAL_MAPPING = "seeds/003_12791c6c8d2a98dd.ttl"
SHAPES = "shapes/dip-shapes.ttl"

#: What ``build/`` held before each case: the outputs of "the last good build".
OLD_OUTPUTS = {
    "dip.trig": b"# the last good build\n",
    "dip.ttl": b"# the last good build\n",
    "summary.json": b'{"conforms": true}\n',
}

Break = Callable[[Path], None]


def line_of(text: str, needle: str) -> int:
    """The 1-based line of the first occurrence of ``needle``."""
    return text[: text.index(needle)].count("\n") + 1


def replace(rel: str, old: str, new: str) -> Break:
    def apply(root: Path) -> None:
        path = root / rel
        text = path.read_text(encoding="utf-8")
        assert text.count(old) == 1, f"{old!r} is not in {rel} exactly once"
        path.write_text(text.replace(old, new), encoding="utf-8")

    return apply


def recode(rel: str, change: Callable[[bytes], bytes]) -> Break:
    def apply(root: Path) -> None:
        path = root / rel
        path.write_bytes(change(path.read_bytes()))

    return apply


def write(rel: str, data: bytes) -> Break:
    def apply(root: Path) -> None:
        (root / rel).write_bytes(data)

    return apply


def sparse(rel: str, size: int) -> Break:
    """A file of ``size`` bytes that takes no room on disk (a hole), as big as it claims."""

    def apply(root: Path) -> None:
        with open(root / rel, "wb") as handle:
            handle.truncate(size)

    return apply


def _middle(lines: list[str]) -> int:
    """The index of the first line past the middle of a mapping that ends a statement."""
    return next(i for i in range(len(lines) // 2, len(lines)) if lines[i].endswith(" ."))


def broken_mid_file(root: Path) -> None:
    """A statement with two objects and no separator, after the middle of a real mapping."""
    path = root / REAL_MAPPING
    lines = path.read_text(encoding="utf-8").splitlines()
    lines.insert(_middle(lines) + 1, 'st:003-oops rdfs:label "one" "two" .')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


#: The line ``broken_mid_file`` inserts (1-based).
_MID_FILE_LINE = _middle((ROOT / REAL_MAPPING).read_text(encoding="utf-8").splitlines()) + 2


@dataclass(frozen=True)
class Case:
    """One malformed input: how to break the project, the command, and what it must answer."""

    id: str
    breaks: Break
    pattern: str  # the one error line (exit 2) or the one result line (exit 1) matches this
    code: int = 2
    args: tuple[str, ...] = ("build",)
    small: bool = True  # the small project; False: the whole seed corpus
    env: dict[str, str] = field(default_factory=dict)
    root: Callable[[Path], Path] | None = None  # the --root given, when not the copy itself
    unprivileged: bool = False  # run without root's power to read any file


_T = TINY.read_text(encoding="utf-8")
_LABEL_LINE = line_of(_T, '"Olga Nesterova on')
_TALKS = "ev:berlin-talks a dip:Event"
_EARLIEST = '"2025-12-14"^^xsd:date'
_OLGA = "oa:start 118 ; oa:end 132"
_CUT = "dip:eventType"
_M = r"seeds/002_a7cc7977949a6578\.ttl"
_X = r"seeds/002_a7cc7977949a6578\.txt"
_RESULT = _M + r": ev:berlin-talks dip:happenedAt \[ \] "
_MENTION = _M + r": actor:olga-nesterova dip:denotedBy \[ \] "
_FIRST_NON_ASCII_LINE = next(
    n
    for n, line in enumerate((ROOT / TEXT).read_text(encoding="utf-8").splitlines(), 1)
    if not line.isascii()
)
_ACTOR_SHAPE_LINE = line_of((ROOT / SHAPES).read_text(encoding="utf-8"), "dip:ActorShape")
#: The span check alone: texts are read and spans checked without reasoning first.
SPANS = ("spans",)

CASES = [
    Case(
        "turtle-syntax-error-mid-file",
        broken_mid_file,
        rf"003_12791c6c8d2a98dd\.ttl:{_MID_FILE_LINE}: Turtle syntax error: ",
        small=False,
    ),
    Case(
        "latin-1-mapping",
        recode(
            MAPPING, lambda b: b.replace(b"Olga Nesterova on", "Olga Nésterova on".encode("cp1252"))
        ),
        rf"{_M}:{_LABEL_LINE}: not valid UTF-8 at byte \d+ \(invalid continuation byte\)",
    ),
    Case(
        "utf-16-mapping",
        recode(MAPPING, lambda b: b.decode("utf-8").encode("utf-16")),
        rf"{_M}:1: not valid UTF-8 at byte 0 .*it starts like UTF-16; save it as UTF-8",
    ),
    Case(
        "utf-16-mapping-without-bom",
        recode(MAPPING, lambda b: b.decode("utf-8").encode("utf-16-le")),
        rf"{_M}:1: holds a NUL byte at byte 1: not a UTF-8 text \(UTF-16, or a binary file\?\)",
    ),
    Case(
        "bom-in-mapping",
        recode(MAPPING, lambda b: b"\xef\xbb\xbf" + b),
        rf"{_M}:1: starts with a UTF-8 byte-order mark \(U\+FEFF\); save it as UTF-8 without one",
    ),
    Case(
        "latin-1-text",
        recode(TEXT, lambda b: b.decode("utf-8").encode("cp1252")),
        rf"{_X}:{_FIRST_NON_ASCII_LINE}: not valid UTF-8 at byte \d+",
        args=SPANS,
    ),
    Case(
        "utf-16-text",
        recode(TEXT, lambda b: b.decode("utf-8").encode("utf-16")),
        rf"{_X}:1: not valid UTF-8 at byte 0 .*UTF-16",
        args=SPANS,
    ),
    Case(
        "bom-in-text",
        recode(TEXT, lambda b: b"\xef\xbb\xbf" + b),
        rf"{_X}:1: starts with a UTF-8 byte-order mark",
        args=SPANS,
    ),
    Case(
        "text-file-missing",
        lambda root: (root / TEXT).unlink(),
        rf"^kg: error: {_M}: https://w3id\.org/dip/id/source/002 names the source text "
        r"002_a7cc7977949a6578\.txt, which is not in \S+/seeds$",
        args=SPANS,
    ),
    Case(
        "span-past-the-end",
        replace(MAPPING, _OLGA, "oa:start 118 ; oa:end 99132"),
        rf"^Violation: {_M}: actor:olga-nesterova \[dip:SpanCheck\] oa:end: span 118-99132 lies "
        r"outside the text of \S+/source/002 \(length 7253\)$",
        code=1,
        args=SPANS,
    ),
    Case(
        "quote-does-not-match",
        replace(MAPPING, 'oa:exact "Olga Nesterova"', 'oa:exact "Olga Nesterov"'),
        rf"^Violation: {_M}: actor:olga-nesterova \[dip:SpanCheck\] oa:exact: span 118-132 of "
        r"\S+ reads 'Olga Nesterova', but oa:exact is 'Olga Nesterov'$",
        code=1,
        args=SPANS,
    ),
    Case(
        "unknown-prefix",
        replace(MAPPING, "dip:eventType dv:Talks", "dip:eventType dvx:Talks"),
        rf"{_M}:{line_of(_T, 'dip:eventType dv:Talks')}: Turtle syntax error: "
        r'Prefix "dvx:" not bound',
    ),
    Case(
        "file-cut-off-mid-statement",
        write(MAPPING, _T[: _T.index(_CUT) + len(_CUT)].encode()),
        rf"{_M}:{line_of(_T, _CUT)}: Turtle syntax error: Unexpected end \(column \d+\)$",
    ),
    Case("empty-file", write(MAPPING, b""), rf"{_M}: file is empty$"),
    Case(
        "only-comments",
        write(MAPPING, b"# the mapping of source 002\n\n# (to do)\n"),
        rf"{_M}: holds no triples \(only comments or prefix declarations\)$",
    ),
    Case(
        "enormous-file",
        sparse("seeds/009_enormous.ttl", 4 << 30),
        r"seeds/009_enormous\.ttl: file is 4096\.0 MiB, over the 16 MiB limit on input files; "
        r"refused before reading \(set KG_MAX_INPUT_MB to change it\)$",
    ),
    Case(
        "file-over-a-lowered-size-limit",
        lambda root: None,
        r"seeds/000_64d5d9c3305f829c\.ttl: file is 0\.1 MiB, over the 0\.05 MiB limit",
        small=False,
        env={"KG_MAX_INPUT_MB": "0.05"},
    ),
    Case(
        "size-limit-not-a-number",
        lambda root: None,
        r"^kg: error: KG_MAX_INPUT_MB='lots' is not a file size in MiB \(a non-negative number\)$",
        env={"KG_MAX_INPUT_MB": "lots"},
    ),
    Case(
        "date-month-13",
        replace(MAPPING, _EARLIEST, '"2025-13-45"^^xsd:date'),
        rf"^Violation: {_RESULT}\[dip:LiteralCheck\] dip:earliest: '2025-13-45' is not a valid "
        r"xsd:date \(a calendar date written YYYY-MM-DD\)$",
        code=1,
    ),
    Case(
        "date-in-words",
        replace(MAPPING, _EARLIEST, '"26 Nov"^^xsd:date'),
        rf"^Violation: {_RESULT}\[dip:LiteralCheck\] dip:earliest: '26 Nov' is not a valid "
        r"xsd:date",
        code=1,
    ),
    Case(
        "date-time-where-a-date-is-due",
        replace(MAPPING, _EARLIEST, '"2025-12-14T10:00:00"^^xsd:dateTime'),
        rf"^Violation: {_RESULT}\[dip:TimeExpressionShape\] dip:earliest: dip:earliest is at "
        r"most one xsd:date \(YYYY-MM-DD\)",
        code=1,
    ),
    Case(
        "misspelt-datatype",
        replace(MAPPING, _OLGA, 'oa:start "118"^^xsd:integr ; oa:end 132'),
        rf"^Violation: {_MENTION}\[dip:LiteralCheck\] oa:start: xsd:integr is not an XSD "
        r"datatype",
        code=1,
    ),
    Case(
        "iri-with-a-space",
        replace(MAPPING, _TALKS, "<https://w3id.org/dip/id/event/berlin talks> a dip:Event"),
        rf"{_M}:{line_of(_T, _TALKS)}: the IRI <https://w3id\.org/dip/id/event/berlin talks> "
        r"holds a space, which an IRI cannot hold",
    ),
    Case(
        "prefix-declared-twice",
        replace(
            MAPPING,
            "@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .",
            "@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .\n"
            "@prefix dv: <https://example.org/other/> .",
        ),
        rf"{_M}:{line_of(_T, '@prefix xsd:') + 1}: prefix dv: declared again as "
        rf"<https://example\.org/other/>; line {line_of(_T, '@prefix dv:')} declares it as "
        r"<https://w3id\.org/dip/vocab/>",
    ),
    Case(
        "mapping-is-a-folder",
        lambda root: (root / "seeds/009_folder.ttl").mkdir(),
        r"seeds/009_folder\.ttl: is a folder, not a file$",
    ),
    Case(
        "mapping-is-a-pipe",
        lambda root: os.mkfifo(root / "seeds/009_pipe.ttl"),
        r"seeds/009_pipe\.ttl: is a pipe, socket or device, not a regular file$",
    ),
    Case(
        "mapping-unreadable",
        lambda root: (root / MAPPING).chmod(0),
        rf"{_M}: cannot read file: Permission denied$",
        unprivileged=True,
    ),
    Case(
        "shapes-broken",
        replace(SHAPES, "dip:ActorShape", "dip:ActorShape dip:"),
        rf"shapes/dip-shapes\.ttl:{_ACTOR_SHAPE_LINE}: Turtle syntax error: ",
    ),
    Case(
        "query-broken",
        write("queries/99-broken.rq", b"# Question: What breaks?\nSELECT ?x WHERE {\n  ?x ?y\n"),
        r"queries/99-broken\.rq:3: SPARQL syntax error at column \d+: \w+",
        args=("query", "99-broken"),
    ),
    Case(
        "root-missing",
        lambda root: None,
        r"^kg: error: \S+/no-such-folder: --root: no such folder$",
        args=("validate",),
        root=lambda root: root / "no-such-folder",
    ),
    Case(
        "root-is-a-file",
        lambda root: None,
        r"^kg: error: \S+/seeds/002_a7cc7977949a6578\.ttl: --root: is a file, not a folder$",
        args=("validate",),
        root=lambda root: root / MAPPING,
    ),
    Case(
        "root-not-a-project",
        lambda root: None,
        r"^kg: error: \S+/shapes: not a DIP project \(no ontology/ and seeds/ folders\)$",
        args=("validate",),
        root=lambda root: root / "shapes",
    ),
]


def make_small(root: Path) -> None:
    """Replace the project's mappings by the one small mapping of source 002."""
    for path in (root / "seeds").glob("*.ttl"):
        path.unlink()
    (root / MAPPING).write_bytes(TINY.read_bytes())


def plant_outputs(root: Path) -> None:
    build = root / "build"
    build.mkdir()
    for name, data in OLD_OUTPUTS.items():
        (build / name).write_bytes(data)


def assert_outputs_unchanged(root: Path) -> None:
    build = root / "build"
    for name, data in OLD_OUTPUTS.items():
        assert (build / name).read_bytes() == data, f"build/{name} was changed"
    stray = sorted(p.name for p in build.iterdir() if p.name not in OLD_OUTPUTS | {".cache": b""})
    assert not stray, f"build/ holds new files: {stray}"


_PR_CAPBSET_DROP = 24
_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH = 1, 2


def _drop_file_permission_override() -> None:
    """In the child, before exec: give up root's power to read and search any file, so that
    file modes bind as they would for any other user."""
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH):
        if libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def run_unprivileged(*args: str, root: Path) -> subprocess.CompletedProcess[str]:
    """:func:`tests.conftest.kg`, with file modes binding even when the tests run as root."""
    if os.geteuid() != 0:
        return kg(*args, root=root)
    return kg(*args, root=root, preexec_fn=_drop_file_permission_override)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_malformed_input_gets_one_clear_line(
    case: Case, project_copy: Project, monkeypatch: pytest.MonkeyPatch
):
    root = project_copy.root
    if case.small:
        make_small(root)
    plant_outputs(root)
    case.breaks(root)
    for name, value in case.env.items():
        monkeypatch.setenv(name, value)
    target = case.root(root) if case.root else root
    run = run_unprivileged if case.unprivileged else kg
    proc = run(*case.args, root=target)

    assert proc.returncode == case.code, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    if case.code == 2:
        lines = [line for line in proc.stderr.splitlines() if line.strip()]
        assert len(lines) == 1, proc.stderr
        assert lines[0].startswith("kg: error: ")
        assert re.search(case.pattern, lines[0]), lines[0]
        assert proc.stdout == ""
    else:  # the report: build writes it to standard error, the other commands to output
        report = proc.stderr if case.args[0] == "build" else proc.stdout
        results = [
            line
            for line in report.splitlines()
            if line.startswith(("Violation:", "Warning:", "Info:"))
        ]
        assert len(results) == 1, proc.stdout + proc.stderr
        assert re.search(case.pattern, results[0]), results[0]
        if case.args[0] == "build":
            assert "wrote: nothing (the data does not conform" in proc.stdout
    assert_outputs_unchanged(root)


def test_an_ill_typed_offset_is_reported_once():
    """An offset that is not an integer is one literal-check violation on its mention: the span
    check, which cannot read the span, stays silent about it (in process: validation only)."""
    from rdflib import Graph
    from rdflib.namespace import XSD

    from kg.namespaces import OA
    from kg.validate import LITERAL_CHECK, validate_union

    data = Graph().parse(
        data=_T.replace(_OLGA, 'oa:start "11x8"^^xsd:integer ; oa:end 132'), format="turtle"
    )
    [(mention, bad)] = [(m, o) for m, o in data.subject_objects(OA.start) if o.ill_typed]
    report = validate_union(data, Graph(), ROOT / "seeds")  # no shapes: literal and span checks
    [result] = report.results
    assert (result.focus, result.shape, result.path, result.value) == (
        mention,
        LITERAL_CHECK,
        OA.start,
        bad,
    )
    assert result.message == "'11x8' is not a valid xsd:integer (an integer)"
    assert bad.datatype == XSD.integer
