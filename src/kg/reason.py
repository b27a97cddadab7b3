"""OWL RL reasoning with owlrl, kept apart from the asserted triples, free of trivial noise, and
bounded in time, growth and rounds.

A naive OWL RL closure can run for minutes on a few hundred triples (a long ``owl:sameAs`` chain,
a long ``rdfs:subClassOf`` chain, a transitive property over a long path), and owlrl cannot be
stopped from another thread. The closure here checks its bounds inside owlrl's own rule loop,
before every triple it looks at and every few hundred derivations within one rule step, and
stops with :class:`ReasoningLimit` (exit code 2) as soon as one is passed:

* ``KG_REASON_TIMEOUT`` -- seconds of reasoning (default :data:`TIMEOUT`; 0: no deadline);
* ``KG_REASON_MAX_TRIPLES`` -- triples the closure may add (default :data:`MAX_RATIO` times the
  input, at least :data:`MIN_NEW_TRIPLES`; 0: no limit);
* ``KG_REASON_MAX_CYCLES`` -- rounds of rules (default :data:`MAX_CYCLES`; 0: no limit).

owlrl is the reference. :mod:`kg.rules` gives the same triples an order of magnitude faster
(a rule set compiled from the schema triples, run by Oxigraph), within the same bounds;
``KG_REASONER`` (``auto``, the default: the rule set when it covers the input, else owlrl;
``rules``; ``owlrl``) chooses, see :func:`infer` and :func:`reasoner_from_env`.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from dataclasses import dataclass

import owlrl
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS, XSD
from rdflib.term import _toPythonMapping

from kg.errors import KGError, env_number
from kg.namespaces import bind_prefixes

#: Namespaces whose own terms are never the subject of an exported inference.
_BUILTIN = (str(RDF), str(RDFS), str(OWL), str(XSD), "http://www.w3.org/ns/shacl#")

#: Defaults that bound the closure; a corpus that passes one stops with a clear message. The seed
#: corpus (15 855 triples with the ontology) reaches its fixpoint in 4 cycles, adds 18 828 triples
#: (6 045 once trivial ones are dropped) and takes about 20 s of one core: the defaults leave it
#: four times the growth and fifteen times the time.
MAX_CYCLES = 50
MAX_RATIO = 5.0
MIN_NEW_TRIPLES = 5_000
TIMEOUT = 300.0

#: Derivations between two checks of the bounds inside one rule step.
_CHECK_EVERY = 256

TIMEOUT_ENV = "KG_REASON_TIMEOUT"
MAX_TRIPLES_ENV = "KG_REASON_MAX_TRIPLES"
MAX_CYCLES_ENV = "KG_REASON_MAX_CYCLES"

_HINT = (
    "look for owl:sameAs chains, long rdfs:subClassOf or rdfs:subPropertyOf chains, or a "
    "transitive property over many nodes"
)


class ReasoningLimit(KGError):
    """The closure passed one of its bounds (exit code 2: the input is not reasonable to reason
    over within them)."""


@dataclass(frozen=True)
class Limits:
    """Bounds on one closure. ``max_new_triples`` None means :data:`MAX_RATIO` times the input
    (at least :data:`MIN_NEW_TRIPLES`); ``timeout`` None means no deadline."""

    max_cycles: int = MAX_CYCLES
    max_new_triples: int | None = None
    timeout: float | None = TIMEOUT

    @classmethod
    def from_env(cls) -> Limits:
        """The limits set by ``KG_REASON_TIMEOUT``, ``KG_REASON_MAX_TRIPLES`` and
        ``KG_REASON_MAX_CYCLES`` (0 lifts a limit); a malformed value is an input error."""
        timeout = env_number(TIMEOUT_ENV, TIMEOUT, what="a number of seconds")
        cycles = env_number(MAX_CYCLES_ENV, MAX_CYCLES, what="a number of cycles")
        triples = env_number(MAX_TRIPLES_ENV, -1, what="a number of triples")
        return cls(
            max_cycles=int(cycles) if cycles else sys.maxsize,
            max_new_triples=None if triples < 0 else int(triples) if triples else sys.maxsize,
            timeout=timeout or None,
        )

    def new_triples_for(self, input_size: int) -> int:
        """The growth bound for an input of ``input_size`` triples."""
        if self.max_new_triples is not None:
            return self.max_new_triples
        return max(MIN_NEW_TRIPLES, int(MAX_RATIO * input_size))


def _bounded_closure_class(
    limits: Limits, input_size: int, started: float, stats: dict[str, int] | None = None
) -> type[owlrl.OWLRL_Semantics]:  # type: ignore[name-defined]
    max_new = limits.new_triples_for(input_size)
    deadline = None if limits.timeout is None else started + limits.timeout

    class Bounded(owlrl.OWLRL_Semantics):  # type: ignore[misc, name-defined]
        """owlrl's OWL RL rules, checking the bounds before each triple of each cycle and every
        :data:`_CHECK_EVERY` derivations (one rule step can derive thousands)."""

        _cycle = 0
        _added_before = 0
        _derived = 0

        def _stop(self, why: str, setting: str) -> ReasoningLimit:
            added = self._added_before + len(self.added_triples)
            top = Counter(p for _s, p, _o in self.added_triples).most_common(1)
            most = ""
            if top:
                name = self.graph.namespace_manager.normalizeUri(top[0][0])
                most = f"; most of the last cycle's are {name} ({top[0][1]})"
            return ReasoningLimit(
                f"OWL RL reasoning stopped: {why} (cycle {self._cycle}, {added} triples "
                f"inferred from {input_size}{most}); {_HINT}, or set {setting}"
            )

        def _check(self) -> None:
            if deadline is not None and time.monotonic() > deadline:
                raise self._stop(f"it ran past its {limits.timeout:g} s deadline", TIMEOUT_ENV)
            if self._added_before + len(self.added_triples) > max_new:
                raise self._stop(f"it inferred more than {max_new} triples", MAX_TRIPLES_ENV)

        def rules(self, t, cycle_num):  # type: ignore[no-untyped-def]
            if cycle_num != self._cycle:
                self._cycle = cycle_num
                if stats is not None:
                    stats["cycles"] = cycle_num
                self._added_before = len(self.graph) - input_size
                if cycle_num > limits.max_cycles:
                    raise self._stop(
                        f"no fixpoint within {limits.max_cycles} cycles", MAX_CYCLES_ENV
                    )
            self._check()
            return super().rules(t, cycle_num)

        def store_triple(self, t):  # type: ignore[no-untyped-def]
            super().store_triple(t)
            self._derived += 1
            if self._derived % _CHECK_EVERY == 0:
                self._check()

    return Bounded


_SAME = frozenset((OWL.sameAs, OWL.equivalentClass, OWL.equivalentProperty))
_SUB = frozenset((RDFS.subClassOf, RDFS.subPropertyOf))
_TOP = frozenset((OWL.Thing, RDFS.Resource))
_TYPE, _SUBCLASS, _NOTHING = RDF.type, RDFS.subClassOf, OWL.Nothing
_EVERY_TYPE = frozenset(
    (
        OWL.Thing,
        RDFS.Resource,
        RDF.Property,
        RDFS.Class,
        OWL.Class,
        RDFS.Datatype,
        OWL.NamedIndividual,
    )
)


def is_trivial(triple: tuple) -> bool:  # type: ignore[type-arg]
    """Inferences that carry no information for users of the graph."""
    s, p, o = triple
    if isinstance(s, Literal):
        return True
    if p in _SAME and s == o:
        return True
    if p in _SUB and (s == o or o in _TOP):
        return True
    if p == _SUBCLASS and s == _NOTHING:
        return True
    if p == _TYPE and o in _EVERY_TYPE:
        return True
    if isinstance(s, URIRef) and str(s).startswith(_BUILTIN):
        return True
    return isinstance(o, URIRef) and p == _TYPE and str(o).startswith(_BUILTIN)


#: ``KG_REASONER``: which engine :func:`infer` uses when not told (see :func:`reasoner_from_env`).
REASONER_ENV = "KG_REASONER"
ENGINES = ("auto", "rules", "owlrl")


def reasoner_from_env() -> str:
    """The engine named by ``KG_REASONER`` (``auto``, the default, ``rules`` or ``owlrl``); any
    other value is an input error."""
    import os

    from kg.errors import InputError

    value = os.environ.get(REASONER_ENV, "").strip().lower() or "auto"
    if value not in ENGINES:
        raise InputError(f"{REASONER_ENV}={value!r} is not one of {', '.join(ENGINES)}")
    return value


def owlrl_closure(
    asserted: Graph, limits: Limits | None = None, stats: dict[str, int] | None = None
) -> Graph:
    """The bounded owlrl OWL RL closure of ``asserted``, on a copy, everything included (asserted
    and trivial triples, owlrl's error messages); ``stats["cycles"]``: the cycles it took."""
    limits = limits or Limits.from_env()
    started = time.monotonic()
    work = Graph()
    bind_prefixes(work)
    for triple in asserted:
        work.add(triple)
    closure = owlrl.DeductiveClosure(
        _bounded_closure_class(limits, len(work), started, stats),
        rdfs_closure=False,
        axiomatic_triples=False,
        datatype_axioms=False,
    )
    # owlrl swaps rdflib's global lexical-to-value conversions for its own while it runs, and
    # swaps back only part of them, and only when the closure ends normally; they are restored
    # exactly here, or literals parsed later in this process compare differently
    conversions = dict(_toPythonMapping)
    try:
        closure.expand(work)
    finally:
        _toPythonMapping.clear()
        _toPythonMapping.update(conversions)
    return work


def infer(asserted: Graph, *, limits: Limits | None = None, engine: str | None = None) -> Graph:
    """Return only the new, non-trivial triples of the OWL RL closure of ``asserted``.

    ``asserted`` is not modified. The closure stops with :class:`ReasoningLimit` when it passes
    ``limits`` (default: :meth:`Limits.from_env`).

    ``engine``: ``"owlrl"`` runs owlrl (the reference); ``"rules"`` the rule set of
    :mod:`kg.rules` compiled from the schema triples of ``asserted`` and run by Oxigraph (same
    triples, owlrl's random error-message blank nodes aside; :class:`kg.rules.Unsupported` when
    the schema or the data is beyond it); ``"auto"`` the rule set when it covers the input, else
    owlrl; None (the default): ``KG_REASONER``, else ``auto``."""
    engine = engine or reasoner_from_env()
    if engine not in ENGINES:
        raise ValueError(f"unknown reasoning engine {engine!r}")
    limits = limits or Limits.from_env()
    if engine != "owlrl":
        from kg.rules import Unsupported, _no_gc, compiled, split_tbox

        with _no_gc():
            tbox, data = split_tbox(asserted)
        rules = compiled(tbox, limits=limits)
        if rules is None:
            if engine == "rules":
                raise Unsupported("the ontology uses constructs the rule set does not cover")
        else:
            try:
                return rules.infer(asserted, limits=limits, data=data)
            except Unsupported:  # the data holds schema triples
                if engine == "rules":
                    raise
    work = owlrl_closure(asserted, limits)
    inferred = Graph()
    for triple in work:
        if triple not in asserted and not is_trivial(triple):
            inferred.add(triple)
    return inferred
