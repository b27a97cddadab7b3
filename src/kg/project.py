"""Where a project's files live: ontology, shapes, seeds and queries."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from kg.errors import InputError

ROOT_ENV = "KG_ROOT"

#: The forms a mapping file may take: Turtle, or JSON-LD (as web annotation tools write it).
MAPPING_SUFFIXES = (".ttl", ".jsonld")


@dataclass(frozen=True)
class Project:
    """The folders of a DIP project, all under one root."""

    root: Path

    @property
    def ontology_dir(self) -> Path:
        return self.root / "ontology"

    @property
    def shapes_dir(self) -> Path:
        return self.root / "shapes"

    @property
    def seeds_dir(self) -> Path:
        return self.root / "seeds"

    @property
    def queries_dir(self) -> Path:
        return self.root / "queries"

    @property
    def build_dir(self) -> Path:
        return self.root / "build"

    def ontology_files(self) -> list[Path]:
        return sorted(self.ontology_dir.glob("*.ttl"))

    def shape_files(self) -> list[Path]:
        return sorted(self.shapes_dir.glob("*.ttl"))

    def mapping_files(self) -> list[Path]:
        """The mapping files in ``seeds/``: Turtle (``*.ttl``) and JSON-LD (``*.jsonld``)."""
        return sorted(p for suffix in MAPPING_SUFFIXES for p in self.seeds_dir.glob(f"*{suffix}"))


def _is_root(path: Path) -> bool:
    return (path / "ontology").is_dir() and (path / "seeds").is_dir()


def find_project(start: str | os.PathLike[str] | None = None) -> Project:
    """Find the project root: ``start`` if given, else ``$KG_ROOT``, else the nearest
    folder at or above the current one that holds ``ontology/`` and ``seeds/``."""
    if start is None and os.environ.get(ROOT_ENV):
        start = os.environ[ROOT_ENV]
        explicit = True
    else:
        explicit = start is not None
    here = Path(start or Path.cwd()).resolve()
    if explicit:
        if not _is_root(here):
            raise InputError("not a DIP project (no ontology/ and seeds/ folders)", path=str(here))
        return Project(here)
    for candidate in (here, *here.parents):
        if _is_root(candidate):
            return Project(candidate)
    raise InputError(
        "no DIP project found here or above (looked for ontology/ and seeds/); "
        "use --root DIR or set KG_ROOT",
        path=str(here),
    )
