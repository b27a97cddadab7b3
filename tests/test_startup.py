"""``kg --help`` and ``kg queries`` start like a bare click program: the RDF libraries, the SPARQL
engine and the generator are imported only by the commands that use them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("rdflib", "pyoxigraph", "pyshacl", "owlrl", "networkx", "flask", "kg.synth", "kg.query")

_PROBE = """
import json, sys
from kg.cli import main
try:
    main(sys.argv[1:], standalone_mode=False)
except SystemExit:
    pass
print(json.dumps(sorted(m for m in sys.modules)), file=sys.stderr)
"""


def _modules(*args: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=True,
    )
    return set(json.loads(done.stderr.strip().splitlines()[-1]))


@pytest.mark.parametrize("args", [("--help",), ("--root", str(ROOT), "queries")])
def test_light_commands_import_no_heavy_library(args: tuple[str, ...]) -> None:
    loaded = _modules(*args)
    assert "click" in loaded  # the probe saw the command run
    assert not [m for m in HEAVY if m in loaded]


def test_the_probe_sees_a_heavy_import() -> None:
    # the same probe on a command that needs the RDF libraries reports them
    loaded = _modules("--root", str(ROOT), "query", "--help")
    assert "kg.cli" in loaded
    loaded = _modules("synth", "--help")
    assert "kg.synth" not in loaded  # even the generator waits until it runs
    loaded = _modules("--root", str(ROOT), "spans")
    assert "rdflib" in loaded
