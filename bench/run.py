"""The benchmark of the kg pipeline: see bench/README.md.

    python bench/run.py [--scales seeds,1,10,100] [--runs 3] [--naive-timeout S]
                        [--out bench/results/NAME.json] [--workdir DIR]

Per scale it prints the median of several runs of: cold ``kg --help`` and ``kg queries`` (and a
bare click program, the floor); a cold ``kg build`` split into load, reasoning, validation and
export (from build/summary.json); a rebuild with no change; an incremental rebuild after one
article changes; every canned query of queries/manifest.ttl, in process on kg's own engine;
the peak memory of the build; the naive pipeline (rdflib parse, owlrl closure, pyshacl
validate, rdflib Turtle serialize) on the same files, each step bounded by --naive-timeout; and
Oxigraph's raw load of the same files. Then the targets, as ratios with a mark each, and a JSON
file with every raw figure.

kg is measured only from the outside: the ``kg`` command in child processes, the summary.json
a build writes, and kg's query engine (bench/steps.py) over the built dataset.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import math
import os
import platform
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kg.export import write_atomic

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
STEPS = HERE / "steps.py"
BARE = HERE / "bare_click.py"

BUILD_PARTS = ("load", "reason", "validate", "export", "total")
NAIVE_STEPS = ("parse", "reason", "validate", "serialize")
COPIED = ("ontology", "shapes", "queries", "checks", "seeds")
MILLION = 1_000_000
GIB_AS_MIB = 4 * 1024
INCREMENTAL_SCALE = "200"  # 1000 articles
DIP_SOURCE_DOCUMENT = "https://w3id.org/dip/ontology#SourceDocument"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
RDFS_COMMENT = "http://www.w3.org/2000/01/rdf-schema#comment"


class BenchError(Exception):
    pass


# ---------------------------------------------------------------------------
# Figures: samples, some of which are lower bounds (a step stopped at its deadline)
# ---------------------------------------------------------------------------


@dataclass
class Row:
    label: str
    unit: str  # "s" or "MiB"
    samples: list[tuple[float, bool]] = field(default_factory=list)  # (value, lower bound?)
    note: str = ""

    def add(self, value: float, bound: bool = False) -> None:
        self.samples.append((float(value), bound))

    def median(self) -> tuple[float, bool] | None:
        """The median, and whether it is only a lower bound: recorded values of stopped steps
        are below their true values, so the median is exact only when no bound is at or below
        its position."""
        if not self.samples:
            return None
        ordered = sorted(self.samples)
        value = statistics.median(v for v, _ in ordered)
        upto = (len(ordered) - 1) // 2 + (0 if len(ordered) % 2 else 1)
        return value, any(b for _, b in ordered[: upto + 1])

    def as_json(self) -> dict[str, Any]:
        med = self.median()
        values = [v for v, _ in self.samples]
        return {
            "label": self.label,
            "unit": self.unit,
            "samples": [{"value": v, "bound": b} for v, b in self.samples],
            "median": None if med is None else med[0],
            "bound": None if med is None else med[1],
            "min": min(values) if values else None,
            "max": max(values) if values else None,
            "n": len(values),
            "note": self.note,
        }


def fmt_value(value: float, unit: str, bound: bool = False) -> str:
    text = f"{value:.1f} MiB" if unit == "MiB" else f"{value:.3f} s"
    return f"> {text}" if bound else text


@dataclass
class Scale:
    name: str  # "seeds" or a synth scale
    root: Path
    articles: int = 0
    triples: int = 0
    files: list[Path] = field(default_factory=list)
    rows: dict[str, Row] = field(default_factory=dict)
    queries: dict[str, Any] = field(default_factory=dict)
    naive: list[dict[str, Any]] = field(default_factory=list)
    incremental: dict[str, Any] = field(default_factory=dict)
    builds: list[dict[str, Any]] = field(default_factory=list)

    def row(self, key: str, label: str, unit: str = "s") -> Row:
        if key not in self.rows:
            self.rows[key] = Row(label, unit)
        return self.rows[key]

    def median(self, key: str) -> tuple[float, bool] | None:
        row = self.rows.get(key)
        return row.median() if row else None

    @property
    def number(self) -> int | None:
        return int(self.name) if self.name.isdigit() else None


# ---------------------------------------------------------------------------
# Child processes: wall clock, exit status and peak memory (rusage of that child only)
# ---------------------------------------------------------------------------


def kg_command() -> list[str]:
    script = Path(sys.executable).with_name("kg")
    if script.is_file():
        return [str(script)]
    found = shutil.which("kg")
    return [found] if found else [sys.executable, "-m", "kg.cli"]


def kg_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("KG_REASON_TIMEOUT", "0")  # large corpora reason past the default 300 s
    return env


@dataclass
class Child:
    rc: int
    output: bytes
    wall: float
    maxrss_mib: float


def _children(pid: int) -> list[int]:
    out: list[int] = []
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children", encoding="ascii") as handle:
                out += [int(n) for n in handle.read().split()]
    return out


def _pss_kib(pid: int) -> int:
    """The proportional set size of ``pid`` (its pages, those it shares divided among their
    sharers), 0 where /proc does not tell."""
    with (
        contextlib.suppress(OSError, ValueError),
        open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as handle,
    ):
        for line in handle:
            if line.startswith("Pss:"):
                return int(line.split()[1])
    return 0


def _tree(pid: int) -> list[int]:
    tree, at = [pid], 0
    while at < len(tree):
        tree += _children(tree[at])
        at += 1
    return tree


def _rss_kib(pid: int) -> int:
    """The resident set size of ``pid`` (cheap to read), 0 where /proc does not tell."""
    with (
        contextlib.suppress(OSError, ValueError, IndexError),
        open(f"/proc/{pid}/statm", encoding="ascii") as handle,
    ):
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024
    return 0


class TreeSampler:
    """The peak memory of a process and those below it (the build's workers and its export
    process), where the rusage of wait4 gives the largest single process only. Every 50 ms
    while the process is alone, its RSS (cheap to read); while it has others below it, at most
    once a second, the sum of their PSS, which divides the pages they share (a forked process
    shares its parent's until either writes them) and costs the kernel a walk of each one's
    pages (about 25 ms for 1.7 GiB)."""

    PSS_EVERY = 1.0

    def __init__(self, pid: int) -> None:
        import threading

        self.peak_kib = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(pid,), daemon=True)
        self._thread.start()

    def _run(self, pid: int) -> None:
        last_pss = -math.inf
        while not self._stop.wait(0.05):
            tree = _tree(pid)
            if len(tree) == 1:
                kib = _rss_kib(pid)
            elif time.monotonic() - last_pss >= self.PSS_EVERY:
                last_pss = time.monotonic()
                kib = sum(_pss_kib(p) for p in tree)
            else:
                continue
            self.peak_kib = max(self.peak_kib, kib)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak_kib


def run_child(argv: list[str], env: dict[str, str] | None = None) -> Child:
    """Run ``argv`` to its end; stdout and stderr together. Peak memory: the larger of the
    peak RSS from wait4 and the peak :class:`TreeSampler` saw (MiB)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    sampler = TreeSampler(proc.pid)
    assert proc.stdout is not None
    try:
        output = proc.stdout.read()
    finally:
        tree_kib = sampler.stop()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    proc.stdout.close()
    return Child(proc.returncode, output, wall, max(usage.ru_maxrss, tree_kib) / 1024)


@dataclass
class Stepped:
    done: dict[str, dict[str, Any]]
    infos: list[dict[str, Any]]
    timed_out: str | None
    rc: int
    maxrss_mib: float
    ready: dict[str, Any]


def run_steps(argv: list[str], timeout: float, env: dict[str, str] | None = None) -> Stepped:
    """Run a child of bench/steps.py, reading its steps as they end; a step that runs past
    ``timeout`` seconds gets the child killed (by its pid) and is reported as timed out."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, env=env)
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    done: dict[str, dict[str, Any]] = {}
    infos: list[dict[str, Any]] = []
    ready: dict[str, Any] = {}
    current: str | None = None
    deadline: float | None = None
    timed_out = None
    buffer = b""
    while True:
        wait = None if deadline is None else max(0.0, deadline - time.monotonic())
        readable, _, _ = select.select([fd], [], [], wait)
        if not readable:
            timed_out = current
            proc.kill()
            break
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        buffer += chunk
        *lines, buffer = buffer.split(b"\n")
        for line in lines:
            msg = json.loads(line)
            if "start" in msg:
                current, deadline = msg["start"], time.monotonic() + timeout
            elif "done" in msg:
                done[msg["done"]] = msg
                current, deadline = None, None
            elif "ready" in msg:
                ready = msg
            else:
                infos.append(msg)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    proc.stdout.close()
    if timed_out is None and proc.returncode != 0:
        raise BenchError(f"{' '.join(argv)} exited with {proc.returncode}")
    return Stepped(done, infos, timed_out, proc.returncode, usage.ru_maxrss / 1024, ready)


# ---------------------------------------------------------------------------
# Corpora
# ---------------------------------------------------------------------------


def copy_tree(src: Path, dst: Path) -> None:
    for path in sorted(src.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            write_atomic(dst / path.relative_to(src), path.read_bytes())


def copy_project(root: Path, parts: tuple[str, ...]) -> None:
    """The project's folders ``parts`` copied into ``root``, each replacing what was there."""
    for sub in parts:
        shutil.rmtree(root / sub, ignore_errors=True)
        if (PROJECT / sub).is_dir():
            copy_tree(PROJECT / sub, root / sub)


def prepare(name: str, workdir: Path) -> Scale:
    """The corpus of a scale: the project's own seeds copied, or ``kg synth`` (its articles
    reused from an earlier run in the same --workdir when complete, since the same scale gives
    the same bytes; the ontology, shapes, queries and checks copied from the project again, so
    a reused corpus is measured with the project as it is now)."""
    if name == "seeds":
        root = workdir / "seeds-corpus"
        shutil.rmtree(root, ignore_errors=True)
        copy_project(root, COPIED)
    else:
        root = workdir / f"scale-{name}"
        marker = root / ".bench-corpus"
        if not (marker.is_file() and marker.read_text() == f"scale {name} seed 0\n"):
            shutil.rmtree(root, ignore_errors=True)
            child = run_child([*kg_command(), "synth", str(root), "--scale", name], kg_env())
            if child.rc != 0:
                raise BenchError(f"kg synth failed:\n{child.output.decode(errors='replace')}")
            write_atomic(marker, f"scale {name} seed 0\n".encode())
        else:
            copy_project(root, tuple(sub for sub in COPIED if sub != "seeds"))
    scale = Scale(name, root)
    scale.files = sorted((root / "ontology").glob("*.ttl")) + sorted((root / "seeds").glob("*.ttl"))
    scale.articles = len(list((root / "seeds").glob("*.txt")))
    scale.triples = oxigraph_load(scale.files)[1]
    return scale


def oxigraph_load(files: list[Path]) -> tuple[float, int]:
    """Oxigraph's raw load: every file bulk-loaded into one in-memory store."""
    import pyoxigraph as ox

    t0 = time.perf_counter()
    store = ox.Store()
    for path in files:
        store.bulk_load(path=str(path), format=ox.RdfFormat.TURTLE)
    seconds = time.perf_counter() - t0
    count = len(store)
    del store
    return seconds, count


def article_file(root: Path) -> Path:
    """The article whose mapping the incremental rebuild changes: the first one."""
    files = sorted(p for p in (root / "seeds").glob("*.ttl") if p.name != "shared.ttl")
    if not files:
        raise BenchError(f"no article mapping in {root / 'seeds'}")
    return files[0]


def incremental_change(root: Path, run: int) -> tuple[Path, bytes, str]:
    """Change one article's mapping for real: append one harmless triple, an rdfs:comment on
    the article's source document node. Returns the file, its original bytes (to restore with
    :func:`restore`) and the line appended."""
    import pyoxigraph as ox

    path = article_file(root)
    original = path.read_bytes()
    docs = sorted(
        {
            t.subject.value
            for t in ox.parse(original, format=ox.RdfFormat.TURTLE)
            if t.predicate.value == RDF_TYPE
            and isinstance(t.object, ox.NamedNode)
            and t.object.value == DIP_SOURCE_DOCUMENT
            and isinstance(t.subject, ox.NamedNode)
        }
    )
    if not docs:
        raise BenchError(f"{path}: no dip:SourceDocument node to comment on")
    line = f'<{docs[0]}> <{RDFS_COMMENT}> "kg bench: incremental change {run}" .'
    write_atomic(path, original.rstrip(b"\n") + b"\n\n" + line.encode() + b"\n")
    return path, original, line


def restore(path: Path, original: bytes) -> None:
    write_atomic(path, original)


# ---------------------------------------------------------------------------
# Measuring one scale
# ---------------------------------------------------------------------------


def kg_build(scale: Scale, what: str) -> dict[str, Any]:
    child = run_child([*kg_command(), "--root", str(scale.root), "build"], kg_env())
    if child.rc != 0:
        tail = child.output.decode(errors="replace")[-3000:]
        raise BenchError(f"kg build ({what}) of {scale.root} exited with {child.rc}:\n{tail}")
    summary = json.loads((scale.root / "build" / "summary.json").read_text(encoding="utf-8"))
    record = {
        "what": what,
        "wall": child.wall,
        "maxrss_mib": child.maxrss_mib,
        "seconds": summary["seconds"],
        "conforms": summary.get("conforms"),
        "results": summary.get("results"),
        "triples": summary.get("triples"),
    }
    scale.builds.append(record)
    return record


def time_startup(scale: Scale, reps: int) -> None:
    kg = kg_command()
    bare = [sys.executable, str(BARE)]
    commands = {
        "startup.help": ("kg --help", [*kg, "--help"]),
        "startup.queries": ("kg queries", [*kg, "--root", str(scale.root), "queries"]),
        "startup.bare_help": ("bare click --help", [*bare, "--help"]),
        "startup.bare_queries": (
            "bare click queries",
            [*bare, "--root", str(scale.root), "queries"],
        ),
    }
    for _ in range(reps):
        for key, (label, argv) in commands.items():
            child = run_child(argv)
            if child.rc != 0:
                raise BenchError(f"{label} exited with {child.rc}")
            scale.row(key, label).add(child.wall)


def add_build(scale: Scale, prefix: str, title: str, record: dict[str, Any]) -> None:
    for part in BUILD_PARTS:
        scale.row(f"{prefix}.{part}", f"{title}: {part}").add(record["seconds"][part])
    scale.row(f"{prefix}.wall", f"{title}: wall clock").add(record["wall"])


def measure_queries(scale: Scale, reps: int, timeout: float) -> None:
    result = run_steps(
        [sys.executable, str(STEPS), "queries", str(scale.root), str(reps)], timeout, kg_env()
    )
    load = result.done.get("engine-load")
    if load:
        scale.row("query.engine", "queries: engine load").add(load["seconds"])
    for name in result.ready.get("entries", []):
        row = scale.row(f"query.{name}", f"query {name}")
        msg = result.done.get(name)
        if msg:
            for s in msg["seconds"]:
                row.add(s)
            scale.queries[name] = {"results": msg["results"], "params": msg["params"]}
        elif result.timed_out == name:
            row.add(timeout, bound=True)
            break
    if result.timed_out is not None:
        scale.queries.setdefault("_timed_out", []).append(result.timed_out)


def measure_naive(scale: Scale, timeout: float) -> None:
    result = run_steps([sys.executable, str(STEPS), "naive", str(scale.root)], timeout)
    total, bound = 0.0, False
    rows = [scale.row(f"naive.{step}", f"naive: {step}") for step in NAIVE_STEPS]
    for step, row in zip(NAIVE_STEPS, rows, strict=True):
        if step in result.done:
            seconds = result.done[step]["seconds"]
            row.add(seconds)
            total += seconds
        elif result.timed_out == step:
            row.add(timeout, bound=True)
            total += timeout
            bound = True
            break
    scale.row("naive.total", "naive: total").add(total, bound)
    scale.row("naive.memory", "naive: peak memory", "MiB").add(result.maxrss_mib, bound)
    scale.naive.append({"timed_out": result.timed_out, "infos": result.infos, "steps": result.done})


def measure_scale(scale: Scale, args: argparse.Namespace, log: Any) -> None:
    time_startup(scale, args.startup_reps * args.runs)
    for run in range(1, args.runs + 1):
        log(f"  run {run}/{args.runs}: cold build")
        shutil.rmtree(scale.root / "build", ignore_errors=True)  # with build/.cache
        cold = kg_build(scale, "cold")
        add_build(scale, "build", "build", cold)
        scale.row("memory.build", "build: peak memory", "MiB").add(cold["maxrss_mib"])
        log(f"  run {run}/{args.runs}: queries")
        measure_queries(scale, args.query_reps, args.query_timeout)
        if not args.no_warm:
            log(f"  run {run}/{args.runs}: rebuild, no change")
            warm = kg_build(scale, "warm")
            add_build(scale, "warm", "rebuild, no change", warm)
        log(f"  run {run}/{args.runs}: incremental rebuild")
        path, original, line = incremental_change(scale.root, run)
        try:
            incr = kg_build(scale, "incremental")
        finally:
            restore(path, original)
        if not incr["conforms"] or incr["results"] != cold["results"]:
            raise BenchError(f"the incremental change to {path} changed the validation results")
        add_build(scale, "incr", "incremental", incr)
        scale.incremental = {"file": str(path.relative_to(scale.root)), "appended": line}
        log(f"  run {run}/{args.runs}: naive pipeline")
        measure_naive(scale, args.naive_timeout)
        log(f"  run {run}/{args.runs}: oxigraph raw load")
        scale.row("oxigraph.load", "oxigraph: raw load").add(oxigraph_load(scale.files)[0])
    if args.workdir is None:
        shutil.rmtree(scale.root / "build", ignore_errors=True)


# ---------------------------------------------------------------------------
# Targets
# ---------------------------------------------------------------------------


@dataclass
class Target:
    target: str
    scale: str
    value: str
    goal: str
    mark: str
    ratio: float | None = None
    bound: bool = False


def ratio(num: tuple[float, bool] | None, den: tuple[float, bool] | None) -> tuple[float, str]:
    """num/den and its kind: "exact", "lower" (num is a lower bound), "unknown"."""
    if num is None or den is None or den[0] <= 0:
        return math.nan, "unknown"
    if den[1]:
        return num[0] / den[0], "unknown"
    return num[0] / den[0], "lower" if num[1] else "exact"


def shown(value: float, kind: str, suffix: str = "x", digits: int = 2) -> str:
    if math.isnan(value):
        return "n/a"
    text = f"{value * 100:.1f}%" if suffix == "%" else f"{value:.{digits}f}x"
    return {"exact": text, "lower": f"≥ {text}"}.get(kind, f"? {text}")


def mark(value: float, kind: str, ok: Any, applies: bool, *, higher_is_better: bool) -> str:
    """PASS or FAIL by ``ok(value)``; n/a where the target does not apply. A lower bound (a
    naive step stopped at its deadline) settles a goal only one way: it passes a "higher is
    better" goal it reaches and fails a "lower is better" goal it already misses; otherwise,
    and when a denominator is itself a bound, the mark is UNKNOWN."""
    if not applies:
        return "n/a"
    if kind == "unknown" or math.isnan(value):
        return "UNKNOWN"
    good = bool(ok(value))
    if kind == "lower" and good != higher_is_better:
        return "UNKNOWN"
    return "PASS" if good else "FAIL"


def targets(scales: list[Scale]) -> list[Target]:
    out: list[Target] = []
    largest = max(scales, key=lambda s: s.triples)

    for s in scales:
        here = s is largest
        v, k = ratio(s.median("naive.total"), s.median("build.total"))
        out.append(
            Target(
                "build: naive total / kg build total",
                s.name,
                shown(v, k),
                "≥ 10x",
                mark(v, k, lambda x: x >= 10, here, higher_is_better=True),
                v,
                k == "lower",
            )
        )
    for s in scales:
        here = s is largest
        v, k = ratio(s.median("build.total"), s.median("oxigraph.load"))
        out.append(
            Target(
                "build: kg build total / oxigraph raw load",
                s.name,
                shown(v, k),
                "≤ 10x",
                mark(v, k, lambda x: x <= 10, here, higher_is_better=False),
                v,
                k == "lower",
            )
        )
    for s in scales:
        applies = s.triples >= MILLION
        slowest = None
        for key, row in s.rows.items():
            if key.startswith("query.") and key != "query.engine":
                med = row.median()
                if med and (slowest is None or med[0] > slowest[1][0]):
                    slowest = (row.label[len("query ") :], med)
        if slowest is None:
            out.append(Target("queries: slowest canned query < 1 s", s.name, "n/a", "< 1 s", "n/a"))
            continue
        name, (v, b) = slowest
        k = "lower" if b else "exact"
        m = mark(v, k, lambda x: x < 1.0, applies, higher_is_better=False)
        out.append(
            Target(
                "queries: slowest canned query < 1 s",
                s.name,
                f"{'> ' if b else ''}{v:.3f} s ({name})",
                "< 1 s",
                m,
                v,
                b,
            )
        )
    numbered = sorted((s for s in scales if s.number), key=lambda s: s.number or 0)
    pairs = [(a, b) for a in numbered for b in numbered if b.number == 10 * (a.number or 0)]
    for key, title in (
        ("build.total", "growth: kg build total"),
        ("naive.total", "growth: naive total"),
    ):
        if not pairs:
            out.append(
                Target(f"{title}, 10x corpus", "-", "n/a (no two scales 10x apart)", "≤ 11x", "n/a")
            )
        for a, b in pairs:
            v, k = ratio(b.median(key), a.median(key))
            out.append(
                Target(
                    f"{title}, 10x corpus",
                    f"{a.name}→{b.name}",
                    shown(v, k),
                    "≤ 11x",
                    mark(v, k, lambda x: x <= 11, True, higher_is_better=False),
                    v,
                    k == "lower",
                )
            )
    for s in scales:
        v, k = ratio(s.median("incr.total"), s.median("build.total"))
        out.append(
            Target(
                "incremental: one article changed / full build",
                s.name,
                shown(v, k, "%"),
                "< 5%",
                mark(v, k, lambda x: x < 0.05, s.name == INCREMENTAL_SCALE, higher_is_better=False),
                v,
                k == "lower",
            )
        )
    for s in scales:
        med = s.median("memory.build")
        v = med[0] if med else math.nan
        out.append(
            Target(
                "memory: kg build peak memory < 4 GiB",
                s.name,
                "n/a" if med is None else f"{v:.1f} MiB",
                f"< {GIB_AS_MIB} MiB",
                mark(
                    v,
                    "exact",
                    lambda x: x < GIB_AS_MIB,
                    s.triples >= MILLION,
                    higher_is_better=False,
                ),
                v,
            )
        )
    for s in scales:
        for key, bare, title in (
            ("startup.help", "startup.bare_help", "kg --help"),
            ("startup.queries", "startup.bare_queries", "kg queries"),
        ):
            v, k = ratio(s.median(key), s.median(bare))
            out.append(
                Target(
                    f"startup: {title} / bare click",
                    s.name,
                    shown(v, k),
                    "≤ 2x",
                    mark(v, k, lambda x: x <= 2, True, higher_is_better=False),
                    v,
                    k == "lower",
                )
            )
    seeds = [s for s in scales if s.name == "seeds"]
    if seeds:
        v, k = ratio(seeds[0].median("naive.total"), seeds[0].median("build.total"))
        out.append(
            Target(
                "seeds: naive total / kg build total",
                "seeds",
                shown(v, k),
                "> 1x",
                mark(v, k, lambda x: x > 1, True, higher_is_better=True),
                v,
                k == "lower",
            )
        )
    else:
        out.append(
            Target(
                "seeds: naive total / kg build total",
                "-",
                "n/a (seeds not in --scales)",
                "> 1x",
                "n/a",
            )
        )
    return out


# ---------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------


def scale_table(s: Scale, runs: int) -> str:
    lines = [
        f"== scale {s.name}: {s.articles} articles, {s.triples} triples "
        f"(ontology + seeds, Oxigraph count), {runs} run{'s' if runs != 1 else ''} ==",
        f"{'figure':<48} {'median':>14} {'min':>12} {'max':>12} {'n':>3}",
    ]
    for row in s.rows.values():
        med = row.median()
        if med is None:
            lines.append(f"{row.label:<48} {'not run':>14}  (an earlier step was stopped)")
            continue
        values = [v for v, _ in row.samples]
        lines.append(
            f"{row.label:<48} {fmt_value(med[0], row.unit, med[1]):>14} "
            f"{fmt_value(min(values), row.unit):>12} {fmt_value(max(values), row.unit):>12} "
            f"{len(values):>3}"
        )
    return "\n".join(lines)


def targets_table(ts: list[Target]) -> str:
    lines = [
        "== targets ==",
        f"{'target':<48} {'scale':>8}  {'value':<40} {'goal':<10} mark",
    ]
    for t in ts:
        lines.append(f"{t.target:<48} {t.scale:>8}  {t.value:<40} {t.goal:<10} {t.mark}")
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    from importlib import metadata

    versions = {}
    for dist in ("dip-kg", "rdflib", "owlrl", "pyshacl", "pyoxigraph", "click"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    commit = None
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        got = subprocess.run(
            ["git", "-C", str(PROJECT), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
            timeout=10,
        )
        commit = got.stdout.strip() or None
    return {
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "python": sys.version,
        "packages": versions,
        "commit": commit,
        "kg": kg_command(),
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python bench/run.py",
        description="Benchmark the kg pipeline against a naive pipeline and Oxigraph's raw load.",
    )
    p.add_argument(
        "--scales",
        default="seeds,1,10,100",
        help="comma-separated: 'seeds' (the project's corpus) or kg synth scales",
    )
    p.add_argument("--runs", type=int, default=3, help="runs per scale (medians over them)")
    p.add_argument(
        "--naive-timeout",
        type=float,
        default=600.0,
        help="seconds each naive step may take before it is stopped (a lower bound)",
    )
    p.add_argument("--query-reps", type=int, default=5, help="times each canned query runs per run")
    p.add_argument(
        "--query-timeout",
        type=float,
        default=600.0,
        help="seconds each canned query (all its repetitions) may take",
    )
    p.add_argument(
        "--startup-reps", type=int, default=5, help="start-up timings per run of each command"
    )
    p.add_argument(
        "--no-warm",
        action="store_true",
        help="skip the rebuild with no change (a shorter run, e.g. the smoke test)",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help="JSON file of every figure (default bench/results/bench-UTCSTAMP.json)",
    )
    p.add_argument(
        "--workdir",
        type=Path,
        default=None,
        help="where corpora are generated and built (kept; default a temporary folder)",
    )
    args = p.parse_args(argv)
    args.scale_names = [x.strip() for x in args.scales.split(",") if x.strip()]
    for name in args.scale_names:
        if name != "seeds" and not (name.isdigit() and int(name) >= 1):
            p.error(f"--scales: {name!r} is neither 'seeds' nor a positive integer")
    if args.runs < 1 or args.query_reps < 1 or args.startup_reps < 1:
        p.error("--runs, --query-reps and --startup-reps must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = dt.datetime.now(dt.UTC)
    out = args.out or HERE / "results" / f"bench-{started:%Y%m%dT%H%M%SZ}.json"
    keep = args.workdir is not None
    workdir = (args.workdir or Path(tempfile.mkdtemp(prefix="kg-bench-"))).resolve()
    workdir.mkdir(parents=True, exist_ok=True)

    def log(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    scales: list[Scale] = []
    try:
        for name in args.scale_names:
            log(f"scale {name}: preparing the corpus in {workdir}")
            scale = prepare(name, workdir)
            measure_scale(scale, args, log)
            scales.append(scale)
            print(scale_table(scale, args.runs), flush=True)
            print(flush=True)
    except BenchError as exc:
        log(f"bench: error: {exc}")
        return 1
    finally:
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)
    ts = targets(scales)
    print(targets_table(ts), flush=True)
    report = {
        "command": ["python", "bench/run.py", *(sys.argv[1:] if argv is None else argv)],
        "started": started.isoformat(),
        "seconds": (dt.datetime.now(dt.UTC) - started).total_seconds(),
        "machine": machine(),
        "settings": {
            "scales": args.scale_names,
            "runs": args.runs,
            "naive_timeout": args.naive_timeout,
            "query_reps": args.query_reps,
            "query_timeout": args.query_timeout,
            "startup_reps": args.startup_reps,
            "no_warm": args.no_warm,
            "workdir": str(workdir) if keep else None,
        },
        "scales": {
            s.name: {
                "articles": s.articles,
                "triples": s.triples,
                "files": len(s.files),
                "rows": {k: r.as_json() for k, r in s.rows.items()},
                "queries": s.queries,
                "builds": s.builds,
                "naive": s.naive,
                "incremental": s.incremental,
            }
            for s in scales
        },
        "targets": [
            {
                "target": t.target,
                "scale": t.scale,
                "value": t.value,
                "ratio": None if t.ratio is None or math.isnan(t.ratio) else t.ratio,
                "bound": t.bound,
                "goal": t.goal,
                "mark": t.mark,
            }
            for t in ts
        ],
    }
    write_atomic(out, (json.dumps(report, indent=2) + "\n").encode("utf-8"))
    print(f"\nfigures written to {out}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
