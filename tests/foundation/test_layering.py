"""The layering rule: light packages import nothing heavy; siblings do not import each other;
no package imports another's private modules (the import-linter contracts in pyproject.toml)."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "transformers", "vllm", "trl", "peft", "sentence_transformers")


@pytest.mark.parametrize("package", ["api", "curate", "evalsuite", "api.cli", "api.app", "train"])
def test_import_loads_nothing_heavy(package: str) -> None:
    code = f"import sys, {package}; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert out.stdout.strip() == "", f"import {package} loaded {out.stdout.strip()}"


def test_a_default_curation_run_loads_nothing_heavy(tmp_path: Path) -> None:
    # The default config embeds (semantic dedup, contradictions, diversity, format) with the
    # static model: numpy only. A torch import anywhere on that path shows up here.
    sample = ROOT / "data" / "samples" / "instructions.jsonl"
    code = (
        "import sys, curate; "
        f"r = curate.run({str(sample)!r}, out_dir={str(tmp_path / 'out')!r}); "
        "assert r.figures.semantic_dedup.model == 'minilm-static', r.figures.semantic_dedup; "
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    env = {**os.environ, "TUNESMITH_HOME": str(tmp_path / "home"), "OMP_NUM_THREADS": "1"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env
    )
    assert out.returncode == 0, out.stderr[-4000:]
    assert out.stdout.strip() == "", f"a default curation run loaded {out.stdout.strip()}"


def _imports(package: str) -> set[str]:
    found = set()
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module.split(".")[0])
    return found


def test_package_dependencies_follow_the_layers() -> None:
    assert not _imports("curate") & {"api", "evalsuite", "train"}
    assert not _imports("train") & {"api", "evalsuite"}
    assert not _imports("evalsuite") & {"api", "train"}


def test_import_contracts_are_kept() -> None:
    lint_imports = Path(sys.executable).with_name("lint-imports")
    args = [lint_imports, "--no-cache", "--no-logo"]
    out = subprocess.run(args, capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr
