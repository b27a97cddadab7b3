"""The ``kg`` command: a thin layer over the library that maps results to exit codes.

Heavy libraries (rdflib, pyshacl, owlrl) are imported inside the commands that need them,
so ``kg --help`` starts fast.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import click

from kg.errors import EXIT_INTERRUPTED, KGError
from kg.netcli import network
from kg.pushcli import push, store_timeout_option
from kg.servecli import serve


class _Group(click.Group):
    def invoke(self, ctx: click.Context):  # type: ignore[no-untyped-def]
        try:
            return super().invoke(ctx)
        except KGError as exc:
            click.echo(f"kg: error: {exc}", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("kg: interrupted; no file was left half-written", err=True)
            sys.exit(EXIT_INTERRUPTED)


@click.group(cls=_Group)
@click.option(
    "--root",
    type=click.Path(path_type=Path),
    default=None,
    help="Project folder (default: $KG_ROOT, else the nearest folder with ontology/ and seeds/).",
)
@click.version_option(package_name="dip-kg")
@click.pass_context
def main(ctx: click.Context, root: Path | None) -> None:
    """Build, validate, query and export the DIP knowledge graph of actors and claims.

    Exit codes: 0 success, 1 data does not conform, 2 usage or input error (also reasoning
    past its bounds), 130 interrupted (no file is left half-written).

    Limits, from the environment (0 lifts one): KG_MAX_INPUT_MB, the largest input file read
    (default 16); KG_REASON_TIMEOUT, seconds of OWL RL reasoning (default 300);
    KG_REASON_MAX_TRIPLES, triples it may infer (default 5 times the input, at least 5000);
    KG_REASON_MAX_CYCLES, its rounds of rules (default 50).
    """
    import logging
    import warnings

    # rdflib logs every ill-typed literal and malformed IRI, with a traceback; validation
    # reports them instead, one line each, naming node and file
    logging.getLogger("rdflib.term").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module="rdflib.term")
    ctx.obj = {"root": root}


_fail_on_option = click.option(
    "--fail-on",
    type=click.Choice(["violation", "warning", "info"]),
    default="violation",
    show_default=True,
    help="Lowest severity that makes the data fail (exit 1).",
)


def _project(ctx: click.Context):  # type: ignore[no-untyped-def]
    from kg.errors import InputError
    from kg.project import find_project

    root = ctx.obj.get("root")
    if root is not None and not root.is_dir():
        problem = "is a file, not a folder" if root.exists() else "no such folder"
        raise InputError(f"--root: {problem}", path=str(root))
    return find_project(root)


@main.command()
@click.argument("textfile", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("words")
@click.option("--source", "source_curie", default=None, help="CURIE of the source, e.g. src:003.")
def locate(textfile: Path, words: str, source_curie: str | None) -> None:
    """Find WORDS in TEXTFILE and print offsets and a ready-to-paste mention block.

    Curly and straight quotes, dash variants and runs of white space match each other.
    Exit 1 when the words are not found.
    """
    from kg.spans import line_col, read_text, span_block
    from kg.spans import locate as find

    text = read_text(textfile)
    matches = find(text, words)
    if not matches:
        click.echo(f"kg: not found in {textfile}: {words!r}", err=True)
        sys.exit(1)
    if source_curie is None:
        source_curie = "src:" + textfile.name.split("_", 1)[0]
    if len(matches) > 1:
        click.echo(f"# {len(matches)} matches", err=True)
    for m in matches:
        line, col = line_col(text, m.start)
        click.echo(f"# {textfile.name} line {line} col {col}: start {m.start} end {m.end}")
        click.echo(span_block(source_curie, m))


@main.command()
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@click.pass_context
def spans(ctx: click.Context, files: tuple[Path, ...]) -> None:
    """Check only that every mention's offsets select exactly its recorded text (exit 1 if not).

    With FILES, only those mapping files (and seeds/shared.ttl) are loaded.
    """
    from kg.load import load_project
    from kg.report import Report
    from kg.spancheck import check_spans

    project = _project(ctx)
    selected = None
    if files:
        shared = project.seeds_dir / "shared.ttl"
        selected = [shared] if shared.exists() else []
        selected += [f for f in files if f.resolve() != shared.resolve()]
    from kg.validate import node_origins

    loaded = load_project(project, mapping_files=selected)
    union = loaded.union()
    origin = node_origins(loaded, project.root)
    report = Report(check_spans(union, project.seeds_dir, origin=origin))
    click.echo(report.as_text(union))
    sys.exit(0 if report.conforms else 1)


def _load_built(project):  # type: ignore[no-untyped-def]
    """The dataset loaded and reasoned over (inferences come from the build cache when fresh)."""
    from kg.pipeline import assemble

    return assemble(project)


@main.command()
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Output folder (default: build/ in the project).",
)
@_fail_on_option
@click.pass_context
def build(ctx: click.Context, out_dir: Path | None, fail_on: str) -> None:
    """Load, reason, validate and export: writes dip.trig, dip.ttl and summary.json."""
    from kg.pipeline import OUTPUTS
    from kg.pipeline import build as run_build

    project = _project(ctx)
    built = run_build(project, out_dir, fail_on=fail_on)
    report = built.report
    assert report is not None
    out = out_dir or project.build_dir
    summary = built.summary or {}
    counts = summary.get("classes", {})
    triples = summary.get("triples", {})
    click.echo(f"DIP build of {project.root}")
    click.echo(
        f"  sources: {len(summary.get('sources', {}))} mapping files; "
        f"triples: {triples.get('asserted', 0)} asserted, {triples.get('inferred', 0)} inferred"
    )
    click.echo("  classes: " + ", ".join(f"{k} {v}" for k, v in counts.items() if v))
    c = report.counts()
    verdict = "does not conform" if report.failing(fail_on) else "conforms"
    click.echo(
        f"  validation: {verdict} ({c['Violation']} violations, {c['Warning']} warnings, "
        f"{c['Info']} infos)"
    )
    t = built.timings
    click.echo(
        "  time: "
        + ", ".join(f"{k} {t[k]:.2f}s" for k in ("load", "reason", "validate", "export", "total"))
    )
    failing = report.failing(fail_on)
    if failing:
        click.echo(f"  wrote: nothing (the data does not conform; {out} is as it was)")
    else:
        click.echo("  wrote: " + ", ".join(str(out / name) for name in OUTPUTS.values()))
    if failing:
        from kg.report import Report

        graph = built.label_graph(r.focus for r in failing)
        click.echo(Report(failing).as_text(graph), err=True)
        sys.exit(1)


@main.command()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "turtle", "json"]),
    default="text",
    show_default=True,
)
@_fail_on_option
@click.pass_context
def validate(ctx: click.Context, fmt: str, fail_on: str) -> None:
    """Validate the graph (SHACL shapes and the span check) on the union with inferences.

    Exit 0 conforms, 1 does not conform at the --fail-on level, 2 usage or input error.
    """
    from kg.pipeline import assemble, validate_built

    project = _project(ctx)
    built = assemble(project)
    report = validate_built(built)
    union = built.union()
    if fmt == "json":
        click.echo(report.as_json(union))
    elif fmt == "turtle":
        click.echo(report.as_graph().serialize(format="turtle"))
    else:
        click.echo(report.as_text(union, fail_on=fail_on))
    sys.exit(1 if report.failing(fail_on) else 0)


@main.command()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["turtle", "ntriples", "nquads", "trig", "jsonld"]),
    default="turtle",
    show_default=True,
)
@click.option("--inferred", is_flag=True, help="Add the inferred triples (graph:inferred).")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write to this file (atomically) instead of standard output.",
)
@click.pass_context
def export(ctx: click.Context, fmt: str, inferred: bool, output: Path | None) -> None:
    """Export the graph. N-Quads, TriG and JSON-LD keep one named graph per source; JSON-LD
    carries the project's context (ontology/dip-context.jsonld) inline."""
    from kg.export import DATASET_FORMATS, jsonld_context, serialize, write_atomic
    from kg.pipeline import assemble

    project = _project(ctx)
    context = jsonld_context(project.ontology_dir) if fmt == "jsonld" else None
    built = assemble(project, reason=inferred)
    if fmt in DATASET_FORMATS:
        data = built.export_dataset(inferred=inferred)
    else:
        data = built.union(inferred=inferred)
    payload = serialize(data, fmt, context=context)
    if output is None:
        sys.stdout.buffer.write(payload)
    else:
        write_atomic(output, payload)


@main.command("context")
@click.option("--check", is_flag=True, help="Change nothing; exit 1 if the file would change.")
@click.pass_context
def context_command(ctx: click.Context, check: bool) -> None:
    """Write ontology/dip-context.jsonld, the JSON-LD context, from the ontology: a term for
    every class and property. JSON-LD exports carry it inline."""
    from kg.export import context_document, context_path, write_atomic

    project = _project(ctx)
    path = context_path(project.ontology_dir)
    payload = context_document(project.ontology_files())
    if not check:
        write_atomic(path, payload)
        click.echo(f"wrote {path}")
    elif not path.is_file() or path.read_bytes() != payload:
        click.echo(f"would change {path}")
        sys.exit(1)
    else:
        click.echo(f"{path} up to date")


def _check_query_syntax(canned) -> None:  # type: ignore[no-untyped-def]
    """A malformed query is reported with its file and line, before anything is loaded."""
    import re

    import pyoxigraph as ox

    from kg.errors import InputError

    try:
        ox.Store().query(canned.text)  # parsed now; an answer is only computed when read
    except SyntaxError as exc:
        first = str(exc).splitlines()[0]
        m = re.match(r"error at (\d+):(\d+): (.*)", first)
        line = int(m.group(1)) if m else None
        detail = f"column {m.group(2)}: {m.group(3)}" if m else first
        detail = detail if len(detail) <= 160 else detail[:159] + "…"
        raise InputError(
            f"SPARQL syntax error at {detail}", path=str(canned.path), line=line
        ) from None


@main.command()
@click.argument("name")
@click.option(
    "--param",
    "params",
    multiple=True,
    metavar="KEY=VALUE",
    help="A parameter binding; repeatable. Labels are resolved to IRIs.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "markdown", "csv", "tsv", "json"]),
    default="table",
    show_default=True,
)
@click.option(
    "--columns",
    default=None,
    metavar="A,B,…",
    help="Show only these columns, in this order (table and markdown formats).",
)
@click.option(
    "--endpoint",
    default=None,
    metavar="URL",
    help="Run on this SPARQL endpoint (a store `kg push` loaded) instead of the local build; "
    "parameters are bound as a VALUES block, labels resolved on the store.",
)
@store_timeout_option("With --endpoint: how long each request may wait for the store.")
@click.pass_context
def query(
    ctx: click.Context,
    name: str,
    params: tuple[str, ...],
    fmt: str,
    columns: str | None,
    endpoint: str | None,
    timeout: float,
) -> None:
    """Run a canned query (by NAME or number) or a .rq FILE; CONSTRUCT prints Turtle.

    With --endpoint the query runs on an external store over the SPARQL 1.1 Protocol (requests
    go to that URL only); its default graph must be the union of its named graphs.
    """
    from kg.query import (
        bind_params,
        find_query,
        format_result,
        parse_param_args,
        run,
        select_columns,
    )

    if columns is not None and fmt not in ("table", "markdown"):
        raise click.UsageError("--columns works with --format table or markdown")

    project = _project(ctx)
    canned = find_query(project.queries_dir, name)
    from kg.query import graph_names, vet_query

    # before the build, which takes seconds; before anything evaluates it, too
    vet_query(canned.text, graph_names(project), path=str(canned.path))
    _check_query_syntax(canned)
    raw = parse_param_args(params)
    if endpoint is not None:
        from kg.remote import Endpoint, check_url, default_graph_warning, run_canned

        remote = Endpoint(check_url(endpoint, "--endpoint"), timeout=timeout)
        warning = default_graph_warning(remote)
        if warning:
            click.echo(f"kg: warning: {warning}", err=True)
        answer = run_canned(remote, canned, raw, fmt)
    else:
        built = _load_built(project)
        graph = built.query_graph()
        bindings = bind_params(canned, graph, raw)
        from kg.engine import Engine

        answer = run(Engine(graph), canned, bindings, fmt)
    if columns is not None:
        answer = select_columns(answer, [c.strip().lstrip("?") for c in columns.split(",")])
    click.echo(format_result(answer, fmt), nl=False)


@main.command()
@click.option(
    "--check",
    is_flag=True,
    help="Run every entry of queries/manifest.ttl; exit 1 if an answer differs from the expected.",
)
@click.option(
    "--update",
    is_flag=True,
    help="Rewrite the expected answers from the current graph (to be checked by hand again).",
)
@click.pass_context
def queries(ctx: click.Context, check: bool, update: bool) -> None:
    """List the canned queries and the question each answers; check or update their answers."""
    from kg.queryfiles import list_queries

    project = _project(ctx)
    if not (check or update):
        for q in list_queries(project.queries_dir):
            click.echo(f"{q.name}")
            click.echo(f"    {q.question}")
            for p in q.params:
                opt = ", optional" if p.optional else ""
                click.echo(f"    --param {p.name}=…  ({p.kind}{opt}) {p.description}")
        return
    if check and update:
        raise click.UsageError("--check and --update exclude each other")
    from kg.engine import Engine
    from kg.export import write_atomic
    from kg.manifest import check_entry, load_manifest

    entries = load_manifest(project.queries_dir)
    graph = _load_built(project).query_graph()
    engine = Engine(graph)
    failed = 0
    for entry in entries:
        outcome = check_entry(entry, engine, graph)
        if update:
            if not outcome.ok:
                write_atomic(entry.result, outcome.actual.encode("utf-8"))
                click.echo(f"updated  {entry.name}")
            continue
        click.echo(f"{'ok  ' if outcome.ok else 'FAIL'}  {entry.name}")
        if not outcome.ok:
            failed += 1
            click.echo(textwrap.indent(outcome.detail, "    "), err=True)
    if check:
        click.echo(f"{len(entries) - failed} of {len(entries)} expected answers hold")
        if failed:
            sys.exit(1)


@main.command()
@click.pass_context
def stats(ctx: click.Context) -> None:
    """Counts per class, overall and per source."""
    from kg.pipeline import TOP_CLASSES, assemble, class_counts, per_source_counts

    project = _project(ctx)
    built = assemble(project)
    per = per_source_counts(built)
    total = class_counts(built.union())
    cols = list(per)
    header = ["class", *cols, "all"]
    rows = [[name, *[str(per[c][name]) for c in cols], str(total[name])] for name in TOP_CLASSES]
    rows.append(
        [
            "triples",
            *[str(per[c]["triples"]) for c in cols],
            str(len(built.union(inferred=False, ontology=False))),
        ]
    )
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for r in [header, *rows]:
        click.echo(
            "  ".join(
                cell.rjust(w) if i else cell.ljust(w)
                for i, (cell, w) in enumerate(zip(r, widths, strict=True))
            )
        )


@main.command()
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--check", is_flag=True, help="Change nothing; exit 1 and list files not in layout.")
@click.pass_context
def fmt(ctx: click.Context, files: tuple[Path, ...], check: bool) -> None:
    """Rewrite Turtle files in the canonical layout (turtlefmt).

    Default: ontology/*.ttl, shapes/*.ttl and the mapping files seeds/*.ttl (JSON-LD mapping
    files are left as they are).
    """
    from kg.errors import InputError
    from kg.fmt import format_in_place, needs_format

    if files:
        paths = list(files)
        for p in paths:
            if p.suffix.lower() == ".jsonld":
                raise InputError("kg fmt lays out Turtle files only, not JSON-LD", path=str(p))
    else:
        project = _project(ctx)
        mappings = [p for p in project.mapping_files() if p.suffix == ".ttl"]
        paths = [*project.ontology_files(), *project.shape_files(), *mappings]
    if check:
        bad = [p for p in paths if needs_format(p)]
        for p in bad:
            click.echo(f"would reformat {p}")
        if bad:
            sys.exit(1)
        click.echo(f"{len(paths)} files in canonical layout")
        return
    changed = [p for p in paths if format_in_place(p)]
    for p in changed:
        click.echo(f"reformatted {p}")
    click.echo(f"{len(changed)} of {len(paths)} files changed")


@main.command()
@click.option(
    "--check", is_flag=True, help="Change nothing; exit 1 and list the files that would change."
)
@click.pass_context
def docs(ctx: click.Context, check: bool) -> None:
    """Generate docs/ontology/ from the ontology: pyLODE page, vocabularies, class diagram.

    Writes index.html, vocab.html, diagram.dot, diagram.svg and diagram.png (the pictures need
    Graphviz `dot`). With --check, regenerate into a temporary folder and compare.
    """
    from kg import docs as kgdocs

    project = _project(ctx)
    if check:
        result = kgdocs.check(project)
        for name, reason in result.not_compared.items():
            click.echo(f"kg: not compared: {name} ({reason})", err=True)
        for name in result.differing:
            click.echo(f"would change docs/ontology/{name}")
        if not result.ok:
            sys.exit(1)
        compared = len(kgdocs.FILES) - len(result.not_compared)
        click.echo(f"{compared} files in docs/ontology/ up to date")
        return
    for path in kgdocs.generate(project):
        click.echo(f"wrote {path}")


@main.command()
@click.option(
    "--fail-on",
    type=click.Choice(["error", "warn", "info"]),
    default="error",
    show_default=True,
    help="Lowest severity that makes the check fail (exit 1).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
)
@click.pass_context
def check(ctx: click.Context, fail_on: str, fmt: str) -> None:
    """Whole-graph quality checks (checks/*.rq, and quotation passages no statement covers).

    One line per finding: severity, check, offending nodes, problem, fix; then a summary.
    Exit 0 passes, 1 a finding at or above --fail-on, 2 usage or input error.
    """
    from kg.checks import checks_dir, list_checks, run_checks

    project = _project(ctx)
    checks = list_checks(checks_dir(project))  # input errors before the build
    result = run_checks(_load_built(project), checks)
    if fmt == "json":
        click.echo(result.as_json(fail_on))
    else:
        click.echo(result.as_text(fail_on))
    sys.exit(1 if result.failing(fail_on) else 0)


@main.command("new-source")
@click.argument("textfile", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--outlet",
    required=True,
    help="The news outlet: its name as the text spells it, an actor of the project "
    "(actor:reuters, or a label), or - when the text names none.",
)
@click.option("--published", required=True, metavar="YYYY-MM-DD", help="Publication date.")
@click.option(
    "--author",
    default=None,
    help="The author, like --outlet (a new author is a dip:Person); default: not stated.",
)
@click.option("--headline", default=None, help="The headline exactly as printed.")
@click.option("--id", "source_id", default=None, metavar="NNN", help="Source id (default: next).")
@click.option("--language", default="en", show_default=True, help="BCP 47 language tag.")
@click.pass_context
def new_source(
    ctx: click.Context,
    textfile: Path,
    outlet: str,
    published: str,
    author: str | None,
    headline: str | None,
    source_id: str | None,
    language: str,
) -> None:
    """Add TEXTFILE to seeds/ and start its mapping file; list its quotation passages.

    Copies the text byte for byte to seeds/NNN_<hash>.txt and writes seeds/NNN_<hash>.ttl
    with the source document and the usual sections. Refuses (exit 2, nothing written) when
    a target exists, the text is not UTF-8 or the date is malformed.
    """
    from kg.authoring import new_source as start

    project = _project(ctx)
    made = start(
        project,
        textfile,
        outlet=outlet,
        published=published,
        author=author,
        headline=headline,
        source_id=source_id,
        language=language,
    )
    for path in (made.text_path, made.mapping_path):
        click.echo(f"wrote {path.relative_to(project.root)}")
    for note in made.notes:
        click.echo(f"note: {note}")
    n = len(made.quotations)
    click.echo(
        f"{n} quotation passage{'' if n == 1 else 's'} in src:{made.source_id}: map each as a "
        "statement whose span covers it, or list it in seeds/unmapped-quotes.tsv"
    )
    for q in made.quotations:
        p = q.passage
        click.echo(f"[ ] line {q.line} col {q.col}: start {p.start} end {p.end}: {p.text}")


main.add_command(network)


@main.command("synth")
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--scale",
    type=click.IntRange(min=1),
    required=True,
    help="Multiple of the seed corpus: 5 articles per unit.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")
def synth(out: Path, scale: int, seed: int) -> None:
    """Write a synthetic corpus with the shape of the seed corpus to OUT."""
    from kg.synth import generate

    try:
        stats = generate(out, scale, seed=seed)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"kg synth: {out}: {stats.line()}")


main.add_command(serve)
main.add_command(push)


if __name__ == "__main__":  # pragma: no cover
    main()
