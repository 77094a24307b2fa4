"""Shared fixtures: the real public data beside the checkout, a real store, the real models."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` (real public datasets); tests that need it skip when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} is absent")
    return SHARED_DATA


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh ``TUNESMITH_HOME`` (so the store is a new DuckDB file) for one test."""
    monkeypatch.setenv("TUNESMITH_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture()
def store(tmp_path: Path):
    """A real DuckDB store in a temporary folder."""
    from curate.store.store import Store

    s = Store(tmp_path / "store" / "tunesmith.duckdb")
    yield s
    s.close()


@pytest.fixture(scope="session")
def minilm_path() -> str:
    """The built-in embedding model's folder."""
    from curate.models.resolve import resolve_model

    return resolve_model("minilm")


@pytest.fixture(scope="session")
def smollm2_path() -> str:
    """The built-in small instruct model, converted once to a Hugging Face folder."""
    from curate.models.resolve import resolve_model

    return resolve_model("smollm2-135m")
