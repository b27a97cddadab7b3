"""Loading the ontology and the mapping files into a dataset, one named graph per file."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from rdflib import Dataset, Graph, URIRef
from rdflib.plugins.parsers.notation3 import BadSyntax

from kg.errors import InputError
from kg.namespaces import GRAPH, bind_prefixes
from kg.project import Project
from kg.spans import read_utf8
from kg.stable import relabel

ONTOLOGY_GRAPH = GRAPH["ontology"]
INFERRED_GRAPH = GRAPH["inferred"]


def graph_iri_for(path: Path) -> URIRef:
    """The named graph of a mapping file: ``graph:000`` for ``000_64d5….ttl``,
    ``graph:shared`` for ``shared.ttl``."""
    stem = path.stem
    key = stem.split("_", 1)[0] if re.match(r"^\d+_", stem) else stem
    return GRAPH[key]


_LINE_RE = re.compile(r"line (\d+)")


def _one_line(message: str, limit: int = 200) -> str:
    text = " ".join(message.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def parse_turtle(path: Path, into: Graph | None = None) -> Graph:
    """Parse one Turtle file; a syntax error becomes an :class:`InputError` naming file and line."""
    graph = into if into is not None else Graph()
    data, text = read_utf8(path)
    if not data.strip():
        raise InputError("file is empty", path=str(path))
    try:
        graph.parse(data=text, format="turtle", publicID=path.resolve().as_uri())
    except BadSyntax as exc:
        line = getattr(exc, "lines", None)
        text_msg = str(exc)
        m = re.search(r"Bad syntax \((.*?)\) at \^", text_msg, re.S)
        msg = m.group(1) if m else (getattr(exc, "message", None) or text_msg)
        raise InputError(
            f"Turtle syntax error: {_one_line(msg)}",
            path=str(path),
            line=(line + 1) if line is not None else None,
        ) from None
    except Exception as exc:  # rdflib raises assorted errors for bad prefixes, IRIs and literals
        msg = str(exc) or exc.__class__.__name__
        m = _LINE_RE.search(msg)
        raise InputError(
            f"cannot parse Turtle: {_one_line(msg)}",
            path=str(path),
            line=int(m.group(1)) if m else None,
        ) from None
    return graph


@dataclass
class Loaded:
    """A dataset and where each named graph came from."""

    dataset: Dataset
    sources: dict[URIRef, Path] = field(default_factory=dict)

    def asserted_graph_ids(self) -> list[URIRef]:
        return [g for g in self.sources if g != ONTOLOGY_GRAPH]

    def union(self, *, include_ontology: bool = True) -> Graph:
        """All triples of the asserted graphs (and the ontology) in one plain graph."""
        out = Graph()
        bind_prefixes(out)
        for gid in self.sources:
            if gid == ONTOLOGY_GRAPH and not include_ontology:
                continue
            for triple in self.dataset.graph(gid):
                out.add(triple)
        return out


def _add(target: Graph, source: Graph) -> None:
    for triple in source:
        target.add(triple)


def load_project(project: Project, *, mapping_files: list[Path] | None = None) -> Loaded:
    """Load the ontology into ``graph:ontology`` and each mapping file into its own graph."""
    ds = Dataset()
    bind_prefixes(ds)
    loaded = Loaded(ds)
    onto_files = project.ontology_files()
    if not onto_files:
        raise InputError("no ontology files (*.ttl)", path=str(project.ontology_dir))
    onto = ds.graph(ONTOLOGY_GRAPH)
    for path in onto_files:
        _add(onto, relabel(parse_turtle(path)))
    loaded.sources[ONTOLOGY_GRAPH] = project.ontology_dir
    files = mapping_files if mapping_files is not None else project.mapping_files()
    for path in files:
        gid = graph_iri_for(path)
        if gid in loaded.sources:
            raise InputError(
                f"two mapping files map to the same graph {gid} ({loaded.sources[gid].name})",
                path=str(path),
            )
        _add(ds.graph(gid), relabel(parse_turtle(path)))
        loaded.sources[gid] = path
    return loaded
