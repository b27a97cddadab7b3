#!/usr/bin/env python3
"""Coverage-guided fuzzing of loading a mapping file (see :func:`fuzz.targets.load_target`).

    python fuzz/fuzz_load.py fuzz/corpus/load -max_total_time=300 -timeout=20

runs for five minutes, adds inputs that reach new code to ``fuzz/corpus/load/`` and stops at
the first input that breaks the property, saving it as ``crash-…`` (or ``timeout-…``) in the
current folder. Any libFuzzer option works (``-runs=N``, ``-jobs=N``, ``-merge=1``).
"""

from __future__ import annotations

import logging
import sys
import warnings
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

with atheris.instrument_imports(include=["kg", "rdflib", "fuzz"]):
    from fuzz.targets import load_target


def main() -> None:
    # rdflib logs every ill-typed literal with a traceback; the targets judge what it returns
    logging.getLogger("rdflib").setLevel(logging.CRITICAL)
    warnings.filterwarnings("ignore")
    atheris.Setup(sys.argv, load_target)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
