"""A bare click program: the floor `kg --help` and `kg queries` start-up is measured against.

    python bench/bare_click.py --help
    python bench/bare_click.py --root DIR queries

It imports click and nothing else of note; ``queries`` lists the ``.rq`` files of DIR/queries
with their first line, about the least a listing of canned queries can do.
"""

from __future__ import annotations

from pathlib import Path

import click


@click.group()
@click.option("--root", type=click.Path(path_type=Path), default=Path("."), help="Folder.")
@click.pass_context
def main(ctx: click.Context, root: Path) -> None:
    """A bare click program."""
    ctx.obj = root


@main.command()
@click.pass_obj
def queries(root: Path) -> None:
    """List the queries."""
    for path in sorted((root / "queries").glob("*.rq")):
        with path.open(encoding="utf-8") as handle:
            click.echo(f"{path.stem}\n    {handle.readline().strip()}")


if __name__ == "__main__":
    main()
