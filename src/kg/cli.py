"""The ``kg`` command: a thin layer over the library that maps results to exit codes.

Heavy libraries (rdflib, pyshacl, owlrl) are imported inside the commands that need them,
so ``kg --help`` starts fast.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from kg.errors import KGError


class _Group(click.Group):
    def invoke(self, ctx: click.Context):  # type: ignore[no-untyped-def]
        try:
            return super().invoke(ctx)
        except KGError as exc:
            click.echo(f"kg: error: {exc}", err=True)
            sys.exit(exc.exit_code)


@click.group(cls=_Group)
@click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Project folder (default: $KG_ROOT, else the nearest folder with ontology/ and seeds/).",
)
@click.version_option(package_name="dip-kg")
@click.pass_context
def main(ctx: click.Context, root: Path | None) -> None:
    """Build, validate, query and export the DIP knowledge graph of actors and claims.

    Exit codes: 0 success, 1 data does not conform, 2 usage or input error.
    """
    ctx.obj = {"root": root}


def _project(ctx: click.Context):  # type: ignore[no-untyped-def]
    from kg.project import find_project

    return find_project(ctx.obj.get("root"))


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
@click.pass_context
def spans(ctx: click.Context) -> None:
    """Check only that every mention's offsets select exactly its recorded text (exit 1 if not)."""
    from kg.load import load_project
    from kg.report import Report
    from kg.spancheck import check_spans

    project = _project(ctx)
    loaded = load_project(project)
    union = loaded.dataset  # a Dataset iterates over the union of its graphs
    from rdflib import Graph

    g = Graph()
    for quad in union.quads((None, None, None, None)):
        g.add(quad[:3])
    report = Report(check_spans(g, project.seeds_dir))
    click.echo(report.as_text(g))
    sys.exit(0 if report.conforms else 1)


if __name__ == "__main__":  # pragma: no cover
    main()
