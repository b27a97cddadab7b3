"""Reading JSON-LD mapping files without fetching anything.

rdflib dereferences every ``@context`` given as a string and every ``@import`` (``http:``,
``https:``, ``file:`` and relative paths alike), so a mapping file could make the loader reach the
network or read any local file. Before rdflib sees a document it is walked here:

* an inline context (a JSON object, or ``null``) is kept;
* the string :data:`kg.namespaces.CONTEXT_IRI` is replaced by the context shipped with the
  project (:func:`kg.export.jsonld_context`), which is never fetched;
* any other string context, at any depth (scoped contexts of terms and types too), and any
  ``@import`` are refused with an :class:`InputError` naming the file and the JSON path.

``@base`` cannot lead to a fetch: it only changes how relative IRIs are resolved, and no
string context is ever passed on for rdflib to resolve against it. rdflib parses the walked
document (re-serialised), never the file, so what it reads is exactly what was checked.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rdflib import Dataset, Graph

from kg.errors import InputError
from kg.namespaces import CONTEXT_IRI
from kg.spans import read_utf8

CONTEXT = "@context"
IMPORT = "@import"


def _json_path(parts: tuple[str | int, ...]) -> str:
    return "$" + "".join(
        f"[{p}]" if isinstance(p, int) else f"[{json.dumps(p, ensure_ascii=False)}]" for p in parts
    )


def _clip(value: str, limit: int = 80) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _why_refused(value: str) -> str:
    lower = value.strip().lower()
    if lower.startswith(("http:", "https:")):
        return "a remote context, which would be fetched from the network"
    if lower.startswith("file:"):
        return "a file: context, which would be read from this machine"
    if ":" in lower.split("/", 1)[0]:
        return "a context named by an IRI, which would be dereferenced"
    return "a relative context path, which would be read from this machine"


def resolve_contexts(doc: Any, path: Path, shipped: Callable[[], dict[str, Any]]) -> Any:
    """``doc`` with every reference to the project's context replaced by ``shipped()``; any
    context that would be fetched or read is an :class:`InputError` naming ``path`` and the
    JSON path of the context."""
    where = str(path)
    cache: dict[str, dict[str, Any]] = {}

    def project_context() -> dict[str, Any]:
        if "ctx" not in cache:
            cache["ctx"] = shipped()
        return cache["ctx"]

    def context_value(value: Any, at: tuple[str | int, ...]) -> Any:
        if value is None or isinstance(value, dict):
            return value
        if isinstance(value, str):
            if value == CONTEXT_IRI:
                return project_context()
            raise InputError(
                f"{_json_path(at)}: the context {_clip(value)} is {_why_refused(value)}; "
                f"contexts are never fetched: inline it, or use {CONTEXT_IRI}",
                path=where,
            )
        if isinstance(value, list):
            return [context_value(item, (*at, i)) for i, item in enumerate(value)]
        raise InputError(
            f"{_json_path(at)}: a context must be an object, a list, null or {CONTEXT_IRI}, "
            f"not {type(value).__name__}",
            path=where,
        )

    # iterative, so that a deeply nested document cannot exhaust the stack here
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(doc, ())]
    while stack:
        node, at = stack.pop()
        if isinstance(node, dict):
            for key in list(node):
                here = (*at, key)
                if key == IMPORT:
                    raise InputError(
                        f"{_json_path(here)}: @import of {_clip(str(node[key]))} is refused: "
                        "contexts are never fetched; inline the imported context",
                        path=where,
                    )
                if key == CONTEXT:
                    value = node[key]
                    node[key] = context_value(value, here)
                    if node[key] is not value and not isinstance(value, list):
                        continue  # the shipped context: nothing in it to check
                stack.append((node[key], here))
        elif isinstance(node, list):
            stack.extend((item, (*at, i)) for i, item in enumerate(node))
    return doc


def parse_jsonld(path: Path, shipped: Callable[[], dict[str, Any]]) -> Graph:
    """Parse one JSON-LD mapping file into a graph, fetching nothing (see the module docstring).

    ``shipped`` returns the project's JSON-LD context. Malformed JSON is an :class:`InputError`
    naming the file, line and column; a named graph inside the file is refused, since a mapping
    file is one graph named after the file.
    """
    where = str(path)
    _data, text = read_utf8(path, "JSON-LD file")
    if not text.strip():
        raise InputError("file is empty", path=where)
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"JSON syntax error at column {exc.colno}: {exc.msg}", path=where, line=exc.lineno
        ) from None
    except RecursionError:
        raise InputError("JSON nested too deeply", path=where) from None
    if not isinstance(doc, (dict, list)):
        raise InputError("a JSON-LD document is an object or an array", path=where, line=1)
    doc = resolve_contexts(doc, path, shipped)
    ds = Dataset()
    try:
        ds.parse(
            data=json.dumps(doc, ensure_ascii=False),
            format="json-ld",
            publicID=path.resolve().as_uri(),
        )
    except RecursionError:
        raise InputError("JSON-LD nested too deeply", path=where) from None
    except Exception as exc:  # rdflib raises assorted errors for invalid JSON-LD
        detail = " ".join((str(exc) or exc.__class__.__name__).split())
        detail = detail if len(detail) <= 200 else detail[:199] + "…"
        raise InputError(f"cannot read JSON-LD: {detail}", path=where) from None
    graph = Graph()
    for g in ds.graphs():
        if g.identifier == ds.default_graph.identifier:
            for triple in g:
                graph.add(triple)
        elif len(g):
            raise InputError(
                f"holds the named graph <{g.identifier}>: a mapping file is one graph, "
                "named after the file (drop the graph's @id)",
                path=where,
            )
    if not len(graph):
        raise InputError("holds no triples", path=where)
    return graph
