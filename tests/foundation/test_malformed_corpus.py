"""Every malformed file through ``tunesmith ingest`` and ``tunesmith curate``, each run a process
of its own: exit 0 with every row accounted for (records + rejects == rows), or exit 2 naming the
file; never an internal error (exit 1); peak RSS under 1 GB on every file, bombs included.

The runs are forked, a few at a time, from one helper process that has imported the CLI once
(``malformed_corpus.run_cli_jobs``): seconds of imports per run would make 180 runs minutes
long. One test checks that a forked run gives what a fresh ``python -m api.cli`` gives.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.foundation.malformed_corpus import CASES, Case, write_corpus

ROOT = Path(__file__).resolve().parents[2]
MAX_RSS = 1 << 30
LIGHT_CONFIG = (
    "# the embedding and NLI steps are tested elsewhere; here only the cheap ones run\n"
    "[semantic]\nenabled = false\n[contradictions]\nenabled = false\n[diversity]\nenabled = false\n"
)
BY_NAME = {case.name: case for case in CASES}
BY_STEM = {case.name.replace(".", "_"): case.name for case in CASES}
FRESH = ("nan.jsonl", "truncated.jsonl.gz")
"""The cases also run in a fresh ``python -m api.cli``, to check the forked runs against."""


@dataclass(frozen=True)
class Outcome:
    """One CLI run: its exit code, output and the process's peak resident memory."""

    command: str
    code: int
    stdout: str
    stderr: str
    max_rss: int
    """Bytes (``ru_maxrss`` of that process alone, from ``os.wait4``)."""


def _commands(case: Case, path: Path, work: Path) -> dict[str, list[str]]:
    out = work / "out" / case.name.replace(".", "_")
    return {
        "ingest": ["ingest", str(path), "--json"],
        "curate": [
            *("curate", str(path), "--config", str(work / "light.toml")),
            *("--out", str(out), "--json"),
        ],
    }


def _env(case: Case, home: Path) -> dict[str, str]:
    return {"TUNESMITH_HOME": str(home), **case.env}


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("corpus")
    write_corpus(folder / "files")
    (folder / "light.toml").write_text(LIGHT_CONFIG)
    (folder / "logs").mkdir()
    return folder


@pytest.fixture(scope="module")
def outcomes(request: pytest.FixtureRequest, work: Path) -> dict[str, dict[str, Outcome]]:
    """Both commands' outcomes for every case selected in this session."""
    wanted = sorted(
        {
            item.callspec.params["name"]  # type: ignore[attr-defined]
            for item in request.session.items
            if getattr(item, "originalname", "") == "test_malformed_file"
        }
        | set(FRESH)
    )
    jobs: list[dict[str, Any]] = []
    for name in wanted:
        case = BY_NAME[name]
        for command, args in _commands(case, work / "files" / name, work).items():
            stem = f"{name.replace('.', '_')}-{command}"
            log = work / "logs" / stem
            env = _env(case, work / "home" / stem)
            jobs.append(
                {
                    "id": stem,
                    "args": args,
                    "env": env,
                    "stdout": f"{log}.out",
                    "stderr": f"{log}.err",
                }
            )
    (work / "jobs.json").write_text(json.dumps(jobs))
    env = {k: v for k, v in os.environ.items() if k != "TUNESMITH_DEBUG"}
    workers = str(max(2, min(4, os.cpu_count() or 2)))
    runner = [sys.executable, "-m", "tests.foundation.malformed_corpus", "--run"]
    done = subprocess.run(
        [*runner, str(work / "jobs.json"), str(work / "results.json"), workers],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads((work / "results.json").read_text())
    found: dict[str, dict[str, Outcome]] = {name: {} for name in wanted}
    for job in jobs:
        name, command = job["id"].rsplit("-", 1)
        code, rss = results[job["id"]]
        out, err = (Path(job[k]).read_text(errors="replace") for k in ("stdout", "stderr"))
        found[BY_STEM[name]][command] = Outcome(command, code, out, err, rss)
    return found


def _counts(outcome: Outcome) -> tuple[int, int, int, dict[str, int]]:
    """(rows, records, rejects, rejects by reason) from either command's ``--json``."""
    data = json.loads(outcome.stdout)
    if outcome.command == "ingest":
        return data["n_rows"], data["n_records"], data["n_rejects"], data["reject_reasons"]
    reasons = data["rejected_by_reason"]
    return data["n_input_rows"], data["n_records"], data["n_rejected"], reasons


def test_the_corpus_is_large_and_every_outcome_is_stated() -> None:
    assert len(CASES) >= 50
    assert len(BY_NAME) == len(CASES)  # names are unique
    for case in CASES:
        stated = [case.reason is not None, case.error is not None, case.clean]
        assert sum(map(bool, stated)) == 1, case.name  # exactly one expected outcome
    shape_guards = {"null_text", "identical_pair", "control_characters", "bad_tool_arguments"}
    assert shape_guards | {"role_cannot_carry"} <= {c.reason for c in CASES}


@pytest.mark.parametrize("name", sorted(BY_NAME))
def test_malformed_file(name: str, outcomes: dict[str, dict[str, Outcome]]) -> None:
    case = BY_NAME[name]
    for command, outcome in outcomes[name].items():
        where = f"{command} {name}: exit {outcome.code}\n{outcome.stderr[-2000:]}"
        assert outcome.code != 1, where  # never an internal error
        assert outcome.max_rss < MAX_RSS, f"{where}\npeak RSS {outcome.max_rss:,} bytes"
        if case.error is not None:
            assert outcome.code == 2, where
            assert name in outcome.stderr and case.error in outcome.stderr, where
            continue
        assert outcome.code == 0, where
        rows, records, rejects, reasons = _counts(outcome)
        assert records + rejects == rows, where
        if case.rows is not None:
            assert rows == case.rows, (where, rows)
        if case.clean:
            assert rejects == 0, (where, reasons)
        elif case.reason is not None:
            assert reasons.get(case.reason, 0) >= 1, (where, reasons)


def test_a_forked_run_gives_what_a_fresh_process_gives(
    work: Path, outcomes: dict[str, dict[str, Outcome]]
) -> None:
    for name in FRESH:
        case = BY_NAME[name]
        args = _commands(case, work / "files" / name, work)["ingest"]
        env = {**os.environ, **_env(case, work / "home" / f"fresh-{name}")}
        fresh = subprocess.run(
            [sys.executable, "-m", "api.cli", *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
        )
        forked = outcomes[name]["ingest"]
        assert fresh.returncode == forked.code
        if fresh.returncode == 0:
            assert _counts(forked) == _counts(Outcome("ingest", 0, fresh.stdout, "", 0))
        else:
            assert fresh.stderr == forked.stderr
