#!/usr/bin/env python3
"""Coverage-guided fuzzing of finding words in a text and checking mentions against it
(see :func:`fuzz.targets.spans_target`).

    python fuzz/fuzz_spans.py fuzz/corpus/spans -max_total_time=300 -timeout=20

runs for five minutes, adds inputs that reach new code to ``fuzz/corpus/spans/`` and stops at
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

with atheris.instrument_imports(include=["kg", "fuzz"]):
    from fuzz.targets import spans_target


def main() -> None:
    # rdflib logs every ill-typed literal with a traceback; the targets judge what it returns
    logging.getLogger("rdflib").setLevel(logging.CRITICAL)
    warnings.filterwarnings("ignore")
    atheris.Setup(sys.argv, spans_target)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
