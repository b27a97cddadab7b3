"""Serialising graphs and datasets, deterministically and atomically."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path

from rdflib import Dataset, Graph

from kg.errors import InputError
from kg.namespaces import PREFIXES, bind_prefixes

#: Format names the command line accepts, and the rdflib serializer behind each.
FORMATS: dict[str, str] = {
    "turtle": "turtle",
    "ntriples": "nt",
    "nquads": "nquads",
    "trig": "trig",
    "jsonld": "json-ld",
}
DATASET_FORMATS = {"nquads", "trig"}
SUFFIX = {
    "turtle": ".ttl",
    "ntriples": ".nt",
    "nquads": ".nq",
    "trig": ".trig",
    "jsonld": ".jsonld",
}


def jsonld_context() -> dict[str, str]:
    """The JSON-LD context shipped with the project: the project's prefixes, nothing fetched."""
    return dict(PREFIXES)


def _sorted_lines(data: str) -> str:
    lines = sorted({line for line in data.splitlines() if line.strip()})
    return "\n".join(lines) + ("\n" if lines else "")


def serialize(data: Graph | Dataset, fmt: str) -> bytes:
    """Serialise ``data`` in ``fmt`` (a key of :data:`FORMATS`); same input, same bytes.

    Line-based formats are sorted; Turtle and TriG rely on rdflib's ordered serialisers and the
    stable blank-node labels given at load time.
    """
    if fmt not in FORMATS:
        raise InputError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    bind_prefixes(data)
    if fmt == "ntriples":
        text = data.serialize(format="nt")
        return _sorted_lines(text).encode("utf-8")
    if fmt == "nquads":
        text = data.serialize(format="nquads")
        return _sorted_lines(text).encode("utf-8")
    if fmt == "jsonld":
        text = data.serialize(format="json-ld", context=jsonld_context(), auto_compact=True)
        # json-ld output order follows the store; normalise it
        doc = json.loads(text)
        graph = doc.get("@graph")
        if isinstance(graph, list):
            graph.sort(key=lambda n: json.dumps(n, sort_keys=True, ensure_ascii=False))
        return (json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode(
            "utf-8"
        )
    if fmt == "turtle":
        return data.serialize(format="longturtle").encode("utf-8")
    return data.serialize(format=FORMATS[fmt]).encode("utf-8")


def write_atomic(path: Path, payload: bytes) -> None:
    """Write ``payload`` to a temporary file beside ``path`` and rename it into place, so an
    interrupted write never leaves a half-written file where a good one stood."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
