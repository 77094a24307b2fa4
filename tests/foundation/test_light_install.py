"""A plain ``pip install tunesmith`` (no extras) ingests, curates with the shipped static
embeddings, reports, gates and builds the API, and has no torch.

The venv is made fresh with the core package only, from PyPI through pip's own cache (a minute or
two when the cache is warm). The static model ships inside the package (``tunesmith_data/models/
minilm_static``): distilling it needs torch, which a core install does not have.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ["curate", "api", "evalsuite", "train", "data", "setup.py", "pyproject.toml", "README.md"]
HEAVY = ("torch", "transformers", "sentence_transformers", "trl", "peft", "vllm")

pytestmark = pytest.mark.slow


def _sh(*args: str | Path, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=1200
    )


@pytest.fixture(scope="module")
def core(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str], Path]:
    """A fresh venv holding tunesmith without extras; its environment; a working folder."""
    tmp = tmp_path_factory.mktemp("light")
    src = tmp / "src"  # install from a copy: a build in the checkout would leave build/ there
    for name in [*SHIPPED, *(["LICENSE"] if (ROOT / "LICENSE").exists() else [])]:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(ROOT / name, src / name)
    venv = tmp / "venv"
    made = subprocess.run([sys.executable, "-m", "venv", venv], capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHONPATH"))}
    env.update(
        PATH=f"{venv / 'bin'}:{env.get('PATH', '')}",
        TUNESMITH_HOME=str(tmp / "home"),
        TUNESMITH_CACHE=str(tmp / "cache"),
        OMP_NUM_THREADS="1",
    )
    cwd = tmp / "cwd"
    cwd.mkdir()
    done = _sh(venv / "bin" / "pip", "install", "-q", src, cwd=cwd, env=env)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    return venv, env, cwd


def test_core_install_has_no_torch(core: tuple[Path, dict[str, str], Path]) -> None:
    venv, env, cwd = core
    probe = _sh(venv / "bin" / "python", "-c", "import torch", cwd=cwd, env=env)
    assert probe.returncode != 0 and "No module named 'torch'" in probe.stderr
    code = (
        "import sys, api.app, curate, evalsuite; api.app.create_app(); "
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules) or 'none')"
    )
    imported = _sh(venv / "bin" / "python", "-c", code, cwd=cwd, env=env)
    assert (imported.returncode, imported.stdout.strip()) == (0, "none"), imported.stderr


def test_core_install_curates_with_static_embeddings_and_gates(
    core: tuple[Path, dict[str, str], Path], shared_data: Path
) -> None:
    venv, env, cwd = core
    tunesmith = venv / "bin" / "tunesmith"
    source = shared_data / "alpaca_en_demo.json"
    ingested = _sh(tunesmith, "ingest", source, "--name", "demo", cwd=cwd, env=env)
    assert ingested.returncode == 0, ingested.stderr[-4000:]
    assert "999 records" in ingested.stdout
    # the stored dataset, by name: ingest and curate both work on the core install
    curated = _sh(tunesmith, "curate", "demo", "--out", "curated", cwd=cwd, env=env)
    assert curated.returncode == 0, curated.stdout[-2000:] + curated.stderr[-4000:]
    report = json.loads((cwd / "curated" / "report.json").read_text(encoding="utf-8"))
    assert report["n_records"] > 900
    semantic = report["figures"]["semantic_dedup"]
    assert semantic["model"] == "minilm-static" and semantic["path"] == "exhaustive"
    assert report["dropped_by_reason"].get("exact_duplicate", 0) > 0
    assert (cwd / "curated" / "report.html").is_file() or any((cwd / "curated").glob("*.html"))

    data = Path(
        _sh(
            venv / "bin" / "python",
            "-c",
            "from importlib.resources import files; print(files('tunesmith_data'))",
            cwd=cwd,
            env=env,
        ).stdout.strip()
    )
    assert (data / "models" / "minilm_static" / "model.safetensors").is_file()
    gated = _sh(
        tunesmith,
        "gate",
        data / "samples" / "comparison",
        "--policy",
        data / "policies" / "default.toml",
        "--out",
        "gate",
        "--quiet",
        cwd=cwd,
        env=env,
    )
    assert (gated.returncode, gated.stdout.strip()) == (0, "pass"), gated.stderr[-4000:]


def test_core_install_says_which_extra_a_sentence_transformers_model_needs(
    core: tuple[Path, dict[str, str], Path], tmp_path: Path
) -> None:
    venv, env, cwd = core
    folder = tmp_path / "st-model"  # a sentence-transformers folder (its config names no model2vec)
    folder.mkdir()
    (folder / "config.json").write_text('{"model_type": "bert"}')
    code = (
        "from curate import MissingExtra; from curate.models.embed import embed_texts\n"
        "try:\n"
        f"    embed_texts(['x'], {str(folder)!r})\n"
        "except MissingExtra as e:\n"
        "    print(e)\n"
    )
    out = _sh(venv / "bin" / "python", "-c", code, cwd=cwd, env=env)
    assert "pip install 'tunesmith[train]'" in out.stdout, out.stderr[-2000:]


def test_core_install_train_exits_2_naming_the_extra(
    core: tuple[Path, dict[str, str], Path], shared_data: Path
) -> None:
    venv, env, cwd = core
    config = ROOT / "data" / "demo" / "train.toml"
    dataset = shared_data / "alpaca_en_demo.json"
    out = _sh(
        venv / "bin" / "tunesmith",
        *("train", "--config", config, "--dataset", dataset, "--max-steps", "1", "--out", "t"),
        cwd=cwd,
        env=env,
    )
    assert out.returncode == 2, out.stdout[-2000:] + out.stderr[-2000:]
    assert "pip install 'tunesmith[train]'" in out.stderr
    assert "internal error" not in out.stderr
