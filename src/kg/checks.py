"""Whole-graph quality checks: SPARQL queries that must return no rows, and one in Python.

A check is one ``.rq`` file in ``checks/`` at the project root, a SELECT query with a header::

    # Check: A statement has no act type (dip:actType).
    # Severity: error
    # Fix: Give it exactly one dip:actType from dv:SpeechActTypes.

Every row it returns is a finding. Columns bound to IRIs or blank nodes name the offending
nodes; columns bound to literals are details of the finding. The queries run on Oxigraph over
the built dataset (:meth:`kg.pipeline.Built.query_graph`): the default graph is the union of
every source, the ontology and the inferences, and each source stays a named graph, with the
ontology in ``graph:ontology`` and the inferences in ``graph:inferred``.

One check cannot be a query over the graph, because it reads the source texts: a passage in
quotation marks that no statement covers (:data:`UNCOVERED_QUOTATION`, reusing
:mod:`kg.quotes`). It is reported in the same form.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.term import Node

from kg.engine import Engine
from kg.errors import InputError
from kg.namespaces import DIP, PREFIXES
from kg.project import Project
from kg.spans import read_utf8

#: Severities, lowest first.
SEVERITIES = ("info", "warn", "error")
_RANK = {name: i for i, name in enumerate(SEVERITIES)}

CHECKS_DIR = "checks"


def severity_rank(name: str) -> int:
    return _RANK[name]


@dataclass(frozen=True)
class Check:
    """One check: its name, how bad a finding is, what is wrong and how to fix it."""

    name: str
    severity: str
    problem: str
    fix: str
    path: Path | None = None  # None for a check written in Python

    @property
    def text(self) -> str:
        if self.path is None:
            raise ValueError(f"check {self.name} is not a query")
        return self.path.read_text(encoding="utf-8")


#: The check written in Python: quotation passages that no statement's span covers.
UNCOVERED_QUOTATION = Check(
    name="uncovered-quotation",
    severity="error",
    problem=(
        "A passage in quotation marks is covered by no statement's span and is not listed "
        "in seeds/unmapped-quotes.tsv."
    ),
    fix=(
        "Map it as a statement whose mention covers the quoted words (kg locate prints the "
        "span), or list it in seeds/unmapped-quotes.tsv with the reason it is left out."
    ),
)

PYTHON_CHECKS = (UNCOVERED_QUOTATION,)


@dataclass(frozen=True)
class Finding:
    check: str
    severity: str
    nodes: tuple[str, ...]
    details: tuple[tuple[str, str], ...]
    problem: str
    fix: str

    def sort_key(self) -> tuple[Any, ...]:
        return (-severity_rank(self.severity), self.check, self.nodes, self.details)


@dataclass
class CheckRun:
    """The checks that ran and what they found."""

    checks: list[Check]
    findings: list[Finding] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(reversed(SEVERITIES), 0)
        for f in self.findings:
            out[f.severity] += 1
        return out

    def failing(self, fail_on: str) -> list[Finding]:
        """Findings at or above the ``fail_on`` severity."""
        level = severity_rank(fail_on)
        return [f for f in self.findings if severity_rank(f.severity) >= level]

    def sorted(self) -> list[Finding]:
        return sorted(self.findings, key=Finding.sort_key)

    def as_text(self, fail_on: str = "error") -> str:
        lines = [_finding_line(f) for f in self.sorted()]
        counts = self.counts()
        verdict = "fails" if self.failing(fail_on) else "passes"
        lines.append(
            f"{len(self.checks)} checks, {len(self.findings)} findings ("
            + ", ".join(f"{n} {sev}" for sev, n in counts.items())
            + f"): {verdict} at --fail-on {fail_on}"
        )
        return "\n".join(lines)

    def as_json(self, fail_on: str = "error") -> str:
        per_check: dict[str, int] = {c.name: 0 for c in self.checks}
        for f in self.findings:
            per_check[f.check] = per_check.get(f.check, 0) + 1
        data = {
            "passes": not self.failing(fail_on),
            "failOn": fail_on,
            "counts": self.counts(),
            "checks": [
                {
                    "name": c.name,
                    "severity": c.severity,
                    "problem": c.problem,
                    "fix": c.fix,
                    "file": None if c.path is None else c.path.name,
                    "findings": per_check[c.name],
                }
                for c in self.checks
            ],
            "findings": [
                {
                    "check": f.check,
                    "severity": f.severity,
                    "nodes": list(f.nodes),
                    "details": dict(f.details),
                    "problem": f.problem,
                    "fix": f.fix,
                }
                for f in self.sorted()
            ],
        }
        return json.dumps(data, indent=2, ensure_ascii=False)


def _finding_line(f: Finding) -> str:
    nodes = ", ".join(f.nodes) or "-"
    details = "; ".join(f"{k}: {' '.join(v.split())}" for k, v in f.details)
    problem = f"{f.problem} ({details})" if details else f.problem
    return f"{f.severity}: {f.check}: {nodes}: {problem} Fix: {f.fix}"


# ---------------------------------------------------------------------------
# Reading checks
# ---------------------------------------------------------------------------


def parse_check(path: Path) -> Check:
    """A check from its ``.rq`` file; an incomplete header is an :class:`InputError`."""
    lines = read_utf8(path, "check file")[1].splitlines()
    header: dict[str, tuple[str, int]] = {}
    for lineno, line in enumerate(lines, 1):
        if not line.startswith("#"):
            break
        key, sep, value = line[1:].strip().partition(":")
        key = key.strip().lower()
        if sep and key in ("check", "severity", "fix"):
            if key in header:
                raise InputError(f"two '# {key.capitalize()}:' lines", path=str(path), line=lineno)
            header[key] = (value.strip(), lineno)
    for key in ("check", "severity", "fix"):
        if not header.get(key, ("", 0))[0]:
            raise InputError(
                f"check has no '# {key.capitalize()}:' header line", path=str(path), line=1
            )
    severity, lineno = header["severity"]
    if severity not in SEVERITIES:
        raise InputError(
            f"unknown severity {severity!r} (one of {', '.join(reversed(SEVERITIES))})",
            path=str(path),
            line=lineno,
        )
    check = Check(path.stem, severity, header["check"][0], header["fix"][0], path)
    _check_query(check)
    return check


def _check_query(check: Check) -> None:
    """Parse the query (by running it on an empty store), so that a broken check is an input
    error before anything is built; it must be a SELECT query. It is vetted first: an update,
    ``SERVICE`` or ``FROM`` of a graph the dataset does not hold never runs."""
    import pyoxigraph as ox

    from kg.engine import vet_query

    vet_query(check.text, None, path=str(check.path))  # FROM is judged when the dataset is known
    try:
        result = ox.Store().query(check.text)
    except SyntaxError as exc:
        raise InputError(
            f"SPARQL syntax error: {str(exc).splitlines()[0]}", path=str(check.path)
        ) from None
    except (RuntimeError, OSError, ValueError) as exc:
        raise InputError(
            f"query failed: {str(exc).splitlines()[0]}", path=str(check.path)
        ) from None
    if not isinstance(result, ox.QuerySolutions):
        raise InputError("a check must be a SELECT query", path=str(check.path))


def checks_dir(project: Project) -> Path:
    return project.root / CHECKS_DIR


def list_checks(directory: Path) -> list[Check]:
    """The query checks in ``directory`` (sorted by name), then the checks written in Python."""
    if not directory.is_dir():
        raise InputError("no checks folder", path=str(directory))
    found = [parse_check(p) for p in sorted(directory.glob("*.rq"))]
    names = {c.name for c in found}
    for c in PYTHON_CHECKS:
        if c.name in names:
            raise InputError(
                f"the name {c.name!r} belongs to a built-in check", path=str(directory / c.name)
            )
    return [*found, *PYTHON_CHECKS]


# ---------------------------------------------------------------------------
# Running checks
# ---------------------------------------------------------------------------


def curie(node: Node) -> str:
    """A node as a prefixed name where one of the project's prefixes fits, else in N3."""
    if isinstance(node, URIRef):
        iri = str(node)
        best = ""
        for prefix, ns in PREFIXES.items():
            if iri.startswith(ns) and len(ns) > len(PREFIXES.get(best, "")):
                local = iri[len(ns) :]
                if local and not any(ch in local for ch in "/#?"):
                    best = prefix
        if best:
            return f"{best}:{iri[len(PREFIXES[best]) :]}"
        return f"<{iri}>"
    if isinstance(node, BNode):
        return f"_:{node}"
    return node.n3()


def run_query_check(engine: Engine, check: Check) -> list[Finding]:
    """The rows of a query check, each as a finding."""
    answer = engine.query(check.text, source=str(check.path))
    if answer.kind != "SELECT":
        raise InputError("a check must be a SELECT query", path=str(check.path))
    findings = []
    for row in answer.rows:
        nodes: list[str] = []
        details: list[tuple[str, str]] = []
        for var, value in zip(answer.variables, row, strict=True):
            if value is None:
                continue
            if isinstance(value, Literal):
                details.append((var, str(value)))
            else:
                nodes.append(curie(value))
        findings.append(
            Finding(
                check.name, check.severity, tuple(nodes), tuple(details), check.problem, check.fix
            )
        )
    return findings


def uncovered_quotation_findings(graph: Graph, seeds_dir: Path) -> list[Finding]:
    """:data:`UNCOVERED_QUOTATION`: each quotation passage in a source text that no statement
    covers and that ``seeds/unmapped-quotes.tsv`` does not list, named by its source document."""
    from kg.quotes import uncovered

    docs = {str(f): doc for doc, f in graph.subject_objects(DIP.textFile)}
    check = UNCOVERED_QUOTATION
    out = []
    for p in uncovered(graph, seeds_dir):
        doc = docs.get(p.file)
        out.append(
            Finding(
                check.name,
                check.severity,
                (curie(doc),) if doc is not None else (),
                (
                    ("file", p.file),
                    ("at", f"{p.start}-{p.end}"),
                    ("passage", p.text),
                ),
                check.problem,
                check.fix,
            )
        )
    return out


def run_checks(built: Any, checks: list[Check] | None = None) -> CheckRun:
    """Run ``checks`` (default: those of the project's ``checks/`` folder and the built-in
    ones) on a built dataset (:class:`kg.pipeline.Built`)."""
    if checks is None:
        checks = list_checks(checks_dir(built.project))
    run = CheckRun(checks)
    queries = [c for c in checks if c.path is not None]
    if queries:
        engine = Engine(built.query_graph())
        for check in queries:
            run.findings.extend(run_query_check(engine, check))
    if UNCOVERED_QUOTATION in checks:
        run.findings.extend(
            uncovered_quotation_findings(
                built.loaded.union(include_ontology=False), built.project.seeds_dir
            )
        )
    return run
