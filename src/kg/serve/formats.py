"""Result formats of the SPARQL service: content negotiation and the writers.

SELECT and ASK answers are written as SPARQL 1.1 Query Results JSON, XML, CSV or TSV; CONSTRUCT
and DESCRIBE answers as Turtle, N-Triples or JSON-LD (with the project's context). The writers
of SELECT answers are here, not Oxigraph's, because the service caps the rows it sends: a capped
answer is still a complete, well-formed document, and a truncated one says so in its ``head``
(``"link": ["urn:kg:truncated"]`` in JSON, ``<link href="urn:kg:truncated"/>`` in XML).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import pyoxigraph as ox

#: the link a truncated JSON or XML answer carries in its head
TRUNCATED_LINK = "urn:kg:truncated"

#: the formats of SELECT and ASK answers: key -> media type
RESULT_FORMATS = {
    "json": "application/sparql-results+json",
    "xml": "application/sparql-results+xml",
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
}
#: the formats of CONSTRUCT and DESCRIBE answers: key -> media type
GRAPH_FORMATS = {
    "turtle": "text/turtle",
    "ntriples": "application/n-triples",
    "jsonld": "application/ld+json",
}
#: media types a client may ask for, per kind of answer ("results": SELECT/ASK, "graph":
#: CONSTRUCT/DESCRIBE); the first key of each table is the default
_ACCEPTED = {
    "results": {
        "application/sparql-results+json": "json",
        "application/json": "json",
        "application/sparql-results+xml": "xml",
        "application/xml": "xml",
        "text/xml": "xml",
        "text/csv": "csv",
        "text/tab-separated-values": "tsv",
    },
    "graph": {
        "text/turtle": "turtle",
        "application/x-turtle": "turtle",
        "application/n-triples": "ntriples",
        "text/plain": "ntriples",
        "application/ld+json": "jsonld",
        "application/json": "jsonld",
    },
}
#: names the ``format`` parameter takes (besides the media types above)
FORMAT_NAMES = {
    "json": ("json", "jsonld"),
    "srj": ("json", None),
    "xml": ("xml", None),
    "srx": ("xml", None),
    "csv": ("csv", None),
    "tsv": ("tsv", None),
    "turtle": (None, "turtle"),
    "ttl": (None, "turtle"),
    "ntriples": (None, "ntriples"),
    "nt": (None, "ntriples"),
    "n-triples": (None, "ntriples"),
    "jsonld": (None, "jsonld"),
    "json-ld": (None, "jsonld"),
}

_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
_RDF_LANG_STRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"


def _parse_accept(accept: str) -> list[tuple[str, float]]:
    """The media ranges of an Accept header, best first (by q, then by order)."""
    ranges: list[tuple[float, int, str]] = []
    for i, part in enumerate(accept.split(",")):
        bits = [b.strip() for b in part.split(";")]
        media = bits[0].lower()
        if not media:
            continue
        q = 1.0
        for param in bits[1:]:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        ranges.append((-q, i, media))
    ranges.sort()
    return [(media, -negq) for negq, _i, media in ranges]


def negotiate(accept: str | None, kind: str) -> str | None:
    """The format key for an answer of ``kind`` ("results" or "graph") that ``accept`` (an
    HTTP Accept header) asks for; the default when there is no header; None when nothing the
    header accepts can be written."""
    table = _ACCEPTED[kind]
    default = next(iter(table.values()))
    if accept is None or not accept.strip():
        return default
    for media, q in _parse_accept(accept):
        if q <= 0:
            continue
        if media in table:
            return table[media]
        if media == "*/*" or media == "*":
            return default
        if media.endswith("/*"):
            major = media[:-1]
            for known, key in table.items():
                if known.startswith(major):
                    return key
    return None


def format_override(value: str, kind: str) -> str | None:
    """The format key the ``format`` parameter names for an answer of ``kind``, or None."""
    value = value.strip().lower()
    if value in FORMAT_NAMES:
        results, graph = FORMAT_NAMES[value]
        return results if kind == "results" else graph
    return _ACCEPTED[kind].get(value)


def acceptable_at_all(accept: str | None, wanted: Sequence[str] = ()) -> bool:
    """Whether the request could be answered in some format, whatever the query's form:
    ``wanted`` (the values of ``format=``) names one, or else the Accept header does."""
    if any(format_override(w, kind) for w in wanted for kind in _ACCEPTED):
        return True
    return any(negotiate(accept, kind) for kind in _ACCEPTED)


# --- SELECT and ASK answers -----------------------------------------------------------------


def _json_term(term: Any) -> dict[str, Any]:
    if isinstance(term, ox.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, ox.BlankNode):
        return {"type": "bnode", "value": term.value}
    if isinstance(term, ox.Literal):
        out: dict[str, Any] = {"type": "literal", "value": term.value}
        if term.language:
            out["xml:lang"] = term.language
        elif term.datatype.value != _XSD_STRING:
            out["datatype"] = term.datatype.value
        return out
    if isinstance(term, ox.Triple):
        return {
            "type": "triple",
            "value": {
                "subject": _json_term(term.subject),
                "predicate": _json_term(term.predicate),
                "object": _json_term(term.object),
            },
        }
    return {"type": "literal", "value": str(term)}


def _xml_term(term: Any) -> str:
    if isinstance(term, ox.NamedNode):
        return f"<uri>{escape(term.value)}</uri>"
    if isinstance(term, ox.BlankNode):
        return f"<bnode>{escape(term.value)}</bnode>"
    if isinstance(term, ox.Literal):
        if term.language:
            attr = f" xml:lang={quoteattr(term.language)}"
        elif term.datatype.value != _XSD_STRING:
            attr = f" datatype={quoteattr(term.datatype.value)}"
        else:
            attr = ""
        return f"<literal{attr}>{escape(term.value)}</literal>"
    if isinstance(term, ox.Triple):
        return (
            f"<triple><subject>{_xml_term(term.subject)}</subject>"
            f"<predicate>{_xml_term(term.predicate)}</predicate>"
            f"<object>{_xml_term(term.object)}</object></triple>"
        )
    return f"<literal>{escape(str(term))}</literal>"


def _csv_term(term: Any) -> str:
    if term is None:
        return ""
    if isinstance(term, ox.BlankNode):
        return f"_:{term.value}"
    if isinstance(term, (ox.NamedNode, ox.Literal)):
        return term.value
    return str(term)


def write_select(
    fmt: str, variables: Sequence[str], rows: Sequence[Sequence[Any]], *, truncated: bool
) -> bytes:
    """A SELECT answer (rows of pyoxigraph terms, None for unbound) in ``fmt``."""
    if fmt == "json":
        head: dict[str, Any] = {"vars": list(variables)}
        if truncated:
            head["link"] = [TRUNCATED_LINK]
        bindings = [
            {v: _json_term(t) for v, t in zip(variables, row, strict=True) if t is not None}
            for row in rows
        ]
        doc = {"head": head, "results": {"bindings": bindings}}
        return json.dumps(doc, ensure_ascii=False).encode("utf-8")
    if fmt == "xml":
        out = [
            '<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#">',
            "<head>",
            *(f"<variable name={quoteattr(v)}/>" for v in variables),
            *([f"<link href={quoteattr(TRUNCATED_LINK)}/>"] if truncated else []),
            "</head>",
            "<results>",
        ]
        for row in rows:
            cells = "".join(
                f"<binding name={quoteattr(v)}>{_xml_term(t)}</binding>"
                for v, t in zip(variables, row, strict=True)
                if t is not None
            )
            out.append(f"<result>{cells}</result>")
        out.append("</results>\n</sparql>\n")
        return "\n".join(out).encode("utf-8")
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\r\n")
        writer.writerow(variables)
        for row in rows:
            writer.writerow([_csv_term(t) for t in row])
        return buf.getvalue().encode("utf-8")
    if fmt == "tsv":
        lines = ["\t".join(f"?{v}" for v in variables)]
        lines += ["\t".join("" if t is None else str(t) for t in row) for row in rows]
        return ("\n".join(lines) + "\n").encode("utf-8")
    raise ValueError(f"unknown results format {fmt!r}")


def write_ask(fmt: str, value: bool) -> bytes:
    """An ASK answer in ``fmt``; CSV and TSV (which the standard leaves open for ASK) carry one
    line, ``true`` or ``false``."""
    word = "true" if value else "false"
    if fmt == "json":
        return json.dumps({"head": {}, "boolean": value}).encode("utf-8")
    if fmt == "xml":
        return (
            '<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#">\n'
            f"<head/>\n<boolean>{word}</boolean>\n</sparql>\n"
        ).encode()
    return (word + "\n").encode("utf-8")


def media_type(fmt: str) -> str:
    """The Content-Type of an answer in ``fmt``."""
    media = RESULT_FORMATS.get(fmt) or GRAPH_FORMATS[fmt]
    return f"{media}; charset=utf-8"
