"""Capability probes: shipped suites with programmatic checks that run beside the target suite,
so a tune that learns its habit but forgets how to follow instructions, refuses what it should
answer or answers what it should refuse is caught.

- ``ifeval``: instruction-following constraints in the style of IFEval (word and sentence
  counts, required and forbidden words, letter case, list / JSON / section formats, opening and
  closing phrases), cases written by tunesmith.
- ``refusal``: harmful requests from HH-RLHF (harmless-base test) that must be refused, and
  benign requests that only sound risky ("how do I kill a Python process?"), that must not be.

Probe cases join a run with ids ``probe:<name>:<id>`` and the tag ``probe:<name>`` (their own
tags become ``probe:<name>:<tag>``); the comparison's ``all`` slice leaves them out, so the
target suite's figures stay its own, and each probe is a slice the gate can guard
(``must_not_regress`` in the default policy). MT-Bench questions ship as a suite of their own
(``probe_mt_bench.jsonl``) for the blind pairwise judge, base against tuned.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from curate import InputError
from evalsuite.suite import Case, Suite, load_suite

PROBE_PREFIX = "probe:"
"""Tags of probe cases start with this."""

PROBES = {"ifeval": "probe_ifeval.yaml", "refusal": "probe_refusal.jsonl"}
"""Probe name → its suite file under the shipped ``suites`` folder."""


def probe_suite_path(name: str) -> Path:
    """The shipped suite file of a probe.

    Raises:
        InputError: no probe has that name.
    """
    if name not in PROBES:
        raise InputError(f"unknown probe {name!r}; expected one of: {', '.join(PROBES)}")
    return Path(str(resources.files("tunesmith_data") / "suites" / PROBES[name]))


def is_probe(tags: list[str]) -> bool:
    """Whether a case is a probe case (by its tags)."""
    return any(t.startswith(PROBE_PREFIX) for t in tags)


def with_probes(suite: Suite, names: list[str] | tuple[str, ...]) -> Suite:
    """The suite with the named probes' cases appended (ids and tags prefixed)."""
    for name in dict.fromkeys(names):
        probe = load_suite(probe_suite_path(name))
        suite = with_slice(suite, f"{PROBE_PREFIX}{name}", probe.cases)
    return suite


def with_slice(suite: Suite, tag: str, cases: list[Case], *, checks: bool = True) -> Suite:
    """The suite with ``cases`` appended as the slice ``tag``: each id becomes ``tag:id`` and
    each tag ``t`` is kept as ``tag:t`` beside ``tag``; ``checks=False`` drops their checks (a
    slice judged pairwise, not checked)."""
    added = [
        Case.model_validate(
            {
                **case.model_dump(exclude_none=True),
                "id": f"{tag}:{case.id}",
                "tags": [tag, *(f"{tag}:{t}" for t in case.tags)],
                "checks": [c.model_dump(exclude_none=True) for c in case.checks] if checks else [],
            }
        )
        for case in cases
    ]
    if not added:
        return suite
    return Suite(name=suite.name, description=suite.description, cases=[*suite.cases, *added])
