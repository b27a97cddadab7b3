"""Validation results and reports in text, Turtle and JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF, SH
from rdflib.term import Node

SEVERITIES = ("Violation", "Warning", "Info")
_RANK = {"Violation": 3, "Warning": 2, "Info": 1}


def severity_rank(name: str) -> int:
    return _RANK[name.capitalize()]


@dataclass(frozen=True)
class Result:
    """One validation result: which node, which shape, what is wrong, and where it came from."""

    focus: Node
    shape: Node | None
    path: Node | None
    message: str
    severity: str = "Violation"
    value: Node | None = None
    source_file: str | None = None

    def sort_key(self) -> tuple[str, ...]:
        return (
            self.source_file or "",
            str(self.focus),
            str(self.shape),
            str(self.path),
            self.message,
        )


def _n3(node: Node | None, graph: Graph | None = None, _depth: int = 0) -> str:
    if node is None:
        return "-"
    if isinstance(node, BNode):
        # name a blank node by the path from the named node that holds it
        if graph is not None and _depth < 4:
            for s, p in graph.subject_predicates(node):
                return f"{_n3(s, graph, _depth + 1)} {_n3(p, graph, _depth + 1)} [ ]"
        return "[blank node]"
    if graph is not None and isinstance(node, URIRef):
        try:
            return graph.namespace_manager.normalizeUri(node)
        except Exception:
            return f"<{node}>"
    return node.n3()


@dataclass
class Report:
    results: list[Result]

    @property
    def conforms(self) -> bool:
        """No violations (warnings and infos are advice and do not break conformance)."""
        return not self.failing("violation")

    def failing(self, fail_on: str) -> list[Result]:
        """Results at or above the ``fail_on`` severity."""
        level = severity_rank(fail_on)
        return [r for r in self.results if severity_rank(r.severity) >= level]

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(SEVERITIES, 0)
        for r in self.results:
            out[r.severity] += 1
        return out

    def sorted(self) -> list[Result]:
        return sorted(self.results, key=Result.sort_key)

    def as_text(self, graph: Graph | None = None, *, fail_on: str = "violation") -> str:
        if not self.results:
            return "Conforms: yes (no results)"
        counts = self.counts()
        verdict = "no" if self.failing(fail_on) else "yes"
        lines = [
            f"Conforms: {verdict} ("
            + ", ".join(f"{n} {k.lower()}{'s' if n != 1 else ''}" for k, n in counts.items() if n)
            + ")"
        ]
        for r in self.sorted():
            lines.append(
                f"{r.severity}: {r.source_file or '-'}: {_n3(r.focus, graph)}"
                f" [{_n3(r.shape, graph)}] {_n3(r.path, graph)}: {r.message}"
            )
        return "\n".join(lines)

    def as_json(self, graph: Graph | None = None) -> str:
        data: dict[str, Any] = {
            "conforms": self.conforms,
            "counts": self.counts(),
            "results": [
                {
                    "severity": r.severity,
                    "focusNode": _n3(r.focus, graph)
                    if isinstance(r.focus, BNode)
                    else str(r.focus),
                    "shape": None if r.shape is None else str(r.shape),
                    "path": None if r.path is None else str(r.path),
                    "value": None if r.value is None else str(r.value),
                    "message": r.message,
                    "sourceFile": r.source_file,
                }
                for r in self.sorted()
            ],
        }
        return json.dumps(data, indent=2, ensure_ascii=False)

    def as_graph(self) -> Graph:
        g = Graph()
        g.bind("sh", SH)
        report = BNode("report")
        g.add((report, RDF.type, SH.ValidationReport))
        g.add((report, SH.conforms, Literal(self.conforms)))
        for i, r in enumerate(self.sorted()):
            node = BNode(f"r{i}")
            g.add((report, SH.result, node))
            g.add((node, RDF.type, SH.ValidationResult))
            g.add((node, SH.focusNode, r.focus))
            if r.shape is not None:
                g.add((node, SH.sourceShape, r.shape))
            if r.path is not None:
                g.add((node, SH.resultPath, r.path))
            if r.value is not None:
                g.add((node, SH.value, r.value))
            g.add((node, SH.resultMessage, Literal(r.message)))
            g.add((node, SH.resultSeverity, SH[r.severity]))
            if r.source_file:
                g.add((node, SH.resultMessage, Literal(f"in {r.source_file}")))
        return g
