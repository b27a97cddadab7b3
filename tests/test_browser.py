"""The browser (``kg serve``'s HTML pages): every kind of page renders for real nodes of the seed
corpus, links resolve, unknown nodes are 404, values are escaped, the query page runs canned
queries through the service's guarded runner; and a real server, started with ``kg serve``, seen
by headless Chromium (the DOM after rendering, and a screenshot of a statement page with its
quoted span highlighted)."""

from __future__ import annotations

import html
import re
import shutil
import signal
import struct
import subprocess
import sys
import threading
import zlib
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from kg.project import Project

from .conftest import ROOT

PUTIN = "/actor/vladimir-putin"
PLAN = "/proposal/us-28-point-plan"
STATEMENT = "/statement/000-russia-rejects-plan-key-elements"
WORKERS = ("--workers", "1")
#: the highlight colour of the quoted span (``--highlight`` in browser.css)
HIGHLIGHT = (0xFF, 0xD8, 0x4A)


@pytest.fixture(scope="module")
def state(project: Project) -> Iterator[object]:
    from kg.serve.state import ServeState

    st = ServeState.from_project(project, workers=1)
    try:
        yield st
    finally:
        st.close()


@pytest.fixture(scope="module")
def client(state: object):  # type: ignore[no-untyped-def]
    from kg.serve.app import create_app

    return create_app(state).test_client()  # type: ignore[arg-type]


def page(client, url: str, status: int = 200) -> str:  # type: ignore[no-untyped-def]
    resp = client.get(url)
    assert resp.status_code == status, (url, resp.status_code)
    if status == 200:
        assert resp.mimetype == "text/html"
    return resp.get_data(as_text=True)


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("href", "src") and value:
                self.hrefs.append(value)


def internal_links(body: str) -> list[str]:
    """The links of a page to the same site, without fragments, in order."""
    parser = _Links()
    parser.feed(body)
    out = []
    for href in parser.hrefs:
        parts = urlsplit(href)
        if parts.scheme or parts.netloc or not parts.path.startswith("/"):
            continue
        url = parts.path + (f"?{parts.query}" if parts.query else "")
        if url not in out:
            out.append(url)
    return out


def seed_text(name: str) -> str:
    return (ROOT / "seeds" / name).read_text(encoding="utf-8")


# ---------------------------------------------------------------------------
# Pages, through Flask's test client
# ---------------------------------------------------------------------------


def test_home_indexes_actors_proposals_and_sources(client) -> None:  # type: ignore[no-untyped-def]
    body = page(client, "/")
    links = internal_links(body)
    assert PUTIN in links and PLAN in links and "/proposal/20-point-plan" in links
    assert [u for u in links if u.startswith("/source/")] == [f"/source/00{i}" for i in range(5)]
    assert sum(u.startswith("/actor/") for u in links) == 127
    for nav in ("/timeline", "/queries", "/search"):
        assert nav in body
    assert "<b>206</b> statements" in body


def test_actor_page(client) -> None:  # type: ignore[no-untyped-def]
    body = page(client, PUTIN)
    assert "<h1>Vladimir Putin</h1>" in body
    assert "<b>President</b>" in body and 'href="/actor/russia"' in body  # role, in Russia
    # statements, positions and demands, attributions received, events: all linked
    assert 'href="/statement/004-putin-reaffirms-demands"' in body
    assert "Putin demands that Ukraine withdraw its forces" in body
    received = body.split("Received: what others ascribe")[1].split("</section>")[0]
    assert received.count('href="/statement/') >= 5
    assert "Made: positions and actions" in body
    assert 'href="/event/' in body
    assert "Evidence" in body and "seeds/004_18049fbfc02a5049.txt" in body


def test_statement_page_highlights_its_words_in_the_source(client) -> None:  # type: ignore[no-untyped-def]
    body = page(client, STATEMENT)
    text = seed_text("000_64d5d9c3305f829c.txt")
    marks = re.findall(r'<mark class="hl">(.*?)</mark>', body, re.S)
    # each mention's span, cut from the seed text by its code-point offsets
    assert [html.unescape(m) for m in marks] == [text[0:59], text[238:305], text[857:1060]]
    assert marks[1] == "Moscow formally rejected key elements of a new US-backed peace plan"
    assert 'href="/source/000?start=238&amp;end=305#highlight"' in body
    assert "seeds/000_64d5d9c3305f829c.txt" in body
    who = body.split("Who said it</dt>")[1].split("</dd>")[0]
    assert re.search(r'<a href="/actor/russia"[^>]*>Russia</a>', who)
    assert 'href="/proposal/000-us-plan-discussed-in-moscow"' in body  # what it targets
    assert "… – 2025-12-08" in body and "bounds only" in body  # said on or before


def test_statement_page_shows_who_disputes_it(client) -> None:  # type: ignore[no-untyped-def]
    body = page(client, "/statement/002-russia-controls-kupyansk")
    disputed = body.split("<h2>Disputed by")[1].split("</section>")[0]
    assert 'href="/actor/volodymyr-zelenskyy"' in disputed
    assert 'href="/statement/002-zelenskyy-kupyansk-claims-false"' in disputed
    denial = page(client, "/statement/002-zelenskyy-kupyansk-claims-false")
    assert 'href="/statement/002-russia-controls-kupyansk"' in denial.split("Disputes</dt>")[1]


def test_proposal_page(client) -> None:  # type: ignore[no-untyped-def]
    body = page(client, PLAN)
    assert "<h1>US-backed 28-point peace plan</h1>" in body
    assert "28-point plan" in body  # another name
    assert 'revised by <a href="/proposal/20-point-plan"' in body
    points = body.split("<h2>Points")[1]
    assert 'href="/point/28-point-plan-cede-donbas"' in points
    assert 'href="/point/28-point-plan-no-nato"' in points
    whole = body.split("Who stands where on the plan as a whole")[1].split("</section>")[0]
    for stance in ("supports", "rejects", "opposes"):
        assert f">{stance}</span>" in whole
    assert 'href="/actor/jean-noel-barrot"' in whole
    later = page(client, "/proposal/20-point-plan")
    assert 'revises <a href="/proposal/us-28-point-plan"' in later


def test_timeline_dates_only_as_exact_as_the_data(client) -> None:  # type: ignore[no-untyped-def]
    body = page(client, "/timeline")
    for year in ("2022", "2025"):
        assert f"<h2>{year} " in body
    assert "<h2>January" not in body  # a year, or bounds, are not a month
    assert "… – 2025-12-08" in body and "bounds only" in body
    assert "2025-11-21 – …" in body or "2025-11-20 – 2025-11-21" in body
    assert "Date unknown" in body
    shown = re.findall(r'<span class="date" title="precision: ([^"]*)">([^<]*)</span>', body)
    firsts = [re.match(r"(\d{4}-\d{2}-\d{2})", t) for _p, t in shown]
    days = [m.group(1) for m in firsts if m]
    assert days == sorted(days)  # in order of the first known bound
    assert {p for p, _t in shown} >= {"day", "bounds only"}
    events = page(client, "/timeline?show=events")
    assert 'href="/statement/' not in events and 'href="/event/' in events


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("/event/ternopil-strike", "Happened"),
        ("/position/000-russia-rejects-withdrawal-provision", "Held by"),
        ("/point/28-point-plan-cede-donbas", "Point of"),
        ("/place/kupyansk", "Kupyansk"),
        ("/source/000", "Statements in order"),
        ("/concept/Territory", "territory"),
        ("/search?q=putin", "Vladimir Putin"),
        ("/queries", "01-attributions"),
    ],
)
def test_other_pages(client, url: str, words: str) -> None:  # type: ignore[no-untyped-def]
    assert words in page(client, url)


def test_source_page_highlights_a_span(client) -> None:  # type: ignore[no-untyped-def]
    body = page(client, "/source/000?start=238&end=305")
    mark = re.search(r'<mark class="hl" id="highlight">(.*?)</mark>', body, re.S)
    assert mark and mark.group(1) == seed_text("000_64d5d9c3305f829c.txt")[238:305]
    for bad in ("?start=305&end=238", "?start=0&end=999999", "?start=a&end=b"):
        assert '<mark class="hl"' not in page(client, "/source/000" + bad)


def test_unknown_nodes_are_404(client) -> None:  # type: ignore[no-untyped-def]
    for url in (
        "/actor/nobody",
        "/statement/no-such-statement",
        "/proposal/vladimir-putin",
        "/concept/NoSuchConcept",
        "/node?iri=https://example.org/nothing",
        "/node?iri=not%20an%20iri",
        "/queries/99-nothing",
        "/no/such/page",
    ):
        body = page(client, url, 404)
        assert "<h1>Not found</h1>" in body


def test_node_redirects_to_the_page_of_an_iri(client) -> None:  # type: ignore[no-untyped-def]
    resp = client.get("/node?iri=https://w3id.org/dip/id/actor/vladimir-putin")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(PUTIN)
    body = page(client, "/node?iri=https://w3id.org/dip/ontology%23speaker")
    assert "<h1>speaker</h1>" in body and "The actor who made a statement." in body
    assert 'href="/node?iri=https://w3id.org/dip/ontology%23Statement"' in body


def test_values_are_escaped(client) -> None:  # type: ignore[no-untyped-def]
    probe = '<script>alert("x")</script>'
    body = page(client, "/search?q=" + probe)
    assert "<script>" not in body and "&lt;script&gt;" in body
    body = page(client, "/queries/12-source-summary?query=" + probe)
    assert "<script>" not in body


def test_links_resolve(client) -> None:  # type: ignore[no-untyped-def]
    """Every internal link of the home page, and of the pages it links to, answers 200."""
    seen: dict[str, int] = {}
    level = ["/"]
    for _depth in range(2):
        following: list[str] = []
        for url in level:
            resp = client.get(url)
            seen[url] = resp.status_code
            if resp.status_code == 200 and resp.mimetype == "text/html":
                following += [u for u in internal_links(resp.get_data(as_text=True))]
        level = [u for u in dict.fromkeys(following) if u not in seen]
    for url in level:  # the links of the second level answer too
        seen[url] = client.get(url).status_code
    broken = {u: s for u, s in seen.items() if s != 200}
    assert not broken
    kinds = {u.split("/")[1].split("?")[0] for u in seen}
    assert kinds >= {"actor", "statement", "position", "proposal", "point", "event", "source"}
    assert len(seen) > 500


# ---------------------------------------------------------------------------
# The query page
# ---------------------------------------------------------------------------


def test_query_page_is_prefilled(client, project: Project) -> None:  # type: ignore[no-untyped-def]
    body = page(client, "/queries/01-attributions")
    text = (project.queries_dir / "01-attributions.rq").read_text(encoding="utf-8")
    area = re.search(r"<textarea[^>]*>(.*?)</textarea>", body, re.S)
    assert area and html.unescape(area.group(1)) == text
    assert 'name="param-attributor"' in body and 'name="param-holder"' in body


def test_query_page_runs_a_canned_query(client) -> None:  # type: ignore[no-untyped-def]
    body = client.post("/queries/12-source-summary", data={}).get_data(as_text=True)
    assert "5 rows" in body and '<table class="results">' in body
    assert 'href="/actor/reuters"' in body or ">Reuters<" in body


def test_query_page_binds_parameters(client) -> None:  # type: ignore[no-untyped-def]
    resp = client.post("/queries/02-actor-statements", data={"param-speaker": "Putin"})
    body = resp.get_data(as_text=True)
    assert "3 rows" in body
    assert 'href="/statement/004-putin-reaffirms-demands"' in body
    assert "He reaffirmed this line" in body
    edited = (ROOT / "queries" / "02-actor-statements.rq").read_text(encoding="utf-8")
    body = client.post(
        "/queries/02-actor-statements",
        data={"param-speaker": "Putin", "query": edited + "LIMIT 1\n"},
    ).get_data(as_text=True)
    assert "1 row<" in body and "(edited" in body  # an edited text takes the bindings too
    body = client.post(
        "/queries/02-actor-statements", data={"param-speaker": "Nobody At All"}
    ).get_data(as_text=True)
    assert "Refused (400)" in body and "no actor is labelled" in body


def test_query_page_refuses_updates(client) -> None:  # type: ignore[no-untyped-def]
    resp = client.post("/queries/12-source-summary", data={"query": "DROP ALL"})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "Refused (400)" in body and "DROP is a SPARQL update" in body
    assert "<textarea" in body and "DROP ALL</textarea>" in body  # the text stays to edit


def test_query_page_shows_the_deadline(client, state) -> None:  # type: ignore[no-untyped-def]
    heavy = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
    saved = state.deadline
    state.deadline = 0.5
    try:
        body = client.post("/queries/12-source-summary", data={"query": heavy}).get_data(
            as_text=True
        )
    finally:
        state.deadline = saved
    assert "Failed (503)" in body


# ---------------------------------------------------------------------------
# A real server, seen by headless Chromium
# ---------------------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """``kg serve --port 0`` in a child process; yields its base URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "kg.cli", "--root", str(ROOT), "serve", "--port", "0", *WORKERS],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    found: list[str] = []

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            m = re.search(r"(http://127\.0\.0\.1:\d+)/sparql", line)
            if m:
                found.append(m.group(1))
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(90)
    try:
        if not found:
            proc.kill()
            _out, err = proc.communicate(timeout=10)
            pytest.fail(f"kg serve did not start: {err[-2000:]}")
        yield found[0]
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None, "needs Debian's chromium (.ci/run installs it)"
    return subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            f"--user-data-dir={tmp_path / 'chromium-profile'}",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def dom(tmp_path: Path, url: str) -> str:
    result = chromium(tmp_path, "--dump-dom", url)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def read_png(data: bytes) -> tuple[int, int, int, bytes]:
    """Width, height, bytes per pixel and the raw pixels of an 8-bit RGB or RGBA PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, bytearray(), None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, chunk = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert zlib.crc32(kind + chunk) == crc, f"bad CRC in chunk {kind!r}"
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat += chunk
        elif kind == b"IEND":
            break
        pos += 12 + length
    assert header is not None, "no IHDR chunk"
    width, height, depth, colour, _c, _f, interlace = header
    assert depth == 8 and colour in (2, 6) and interlace == 0, header
    bpp = 3 if colour == 2 else 4
    raw = zlib.decompress(bytes(idat))
    stride = width * bpp
    out = bytearray(height * stride)
    prev = bytearray(stride)
    for y in range(height):
        ftype = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        if ftype == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 0xFF
        elif ftype == 2:
            line = bytearray((a + b) & 0xFF for a, b in zip(line, prev, strict=True))
        elif ftype == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 0xFF
        elif ftype == 4:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b = prev[i]
                c = prev[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 0xFF
        else:
            assert ftype == 0, f"unknown PNG filter {ftype}"
        out[y * stride : (y + 1) * stride] = line
        prev = line
    return width, height, bpp, bytes(out)


def test_chromium_follows_links(server: str, tmp_path: Path) -> None:
    home = dom(tmp_path, server + "/")
    assert "<h1>Actors and claims" in home
    actor = next(u for u in internal_links(home) if u == PUTIN)
    body = dom(tmp_path, server + actor)
    assert "<h1>Vladimir Putin</h1>" in body and "Roles and ties" in body
    statement = next(u for u in internal_links(body) if u.startswith("/statement/"))
    body = dom(tmp_path, server + statement)
    assert '<mark class="hl">' in body and "Who said it" in body
    proposal = dom(tmp_path, server + PLAN)
    assert "Who stands where on the plan as a whole" in proposal


def test_chromium_screenshot_shows_the_highlighted_span(server: str, tmp_path: Path) -> None:
    shot = tmp_path / "statement.png"
    result = chromium(
        tmp_path, f"--screenshot={shot}", "--window-size=1280,900", server + STATEMENT
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert shot.is_file()
    width, height, bpp, pixels = read_png(shot.read_bytes())
    assert (width, height) == (1280, 900)
    r0, g0, b0 = HIGHLIGHT
    marked = 0
    for i in range(0, len(pixels), bpp):
        r, g, b = pixels[i], pixels[i + 1], pixels[i + 2]
        if abs(r - r0) <= 3 and abs(g - g0) <= 3 and abs(b - b0) <= 3:
            marked += 1
    assert marked > 5000, f"only {marked} pixels of the highlight colour"
