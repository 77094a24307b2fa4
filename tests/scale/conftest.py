"""Scale tests: one local Ray instance per session (2 CPUs, a modest object store), stopped at
the end; and the real-text corpus with planted copies (``bench/scale_corpus.py``)."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def load_corpus_module():
    spec = importlib.util.spec_from_file_location(
        "scale_corpus", ROOT / "bench" / "scale_corpus.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def ray_address():
    """The address of a local Ray instance started for this session (drivers in other processes
    join it with ``--ray-address``)."""
    ray = pytest.importorskip(
        "ray", reason="the ray extra is not installed (make test installs it)"
    )
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        object_store_memory=500_000_000,
    )
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()


@pytest.fixture(scope="session")
def scale_corpus(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Path:
    """Real-text Alpaca rows (about 15% exact and 15% edited planted copies) as one JSONL file:
    10,000 rows, or 50,000 with ``TUNESMITH_SCALE_50K=1``."""
    corpus = load_corpus_module()
    n = 50_000 if os.environ.get("TUNESMITH_SCALE_50K") == "1" else 10_000
    folder = tmp_path_factory.mktemp("corpus")
    (path,) = corpus.write_jsonl(corpus.build(n, shared_data), folder, n)
    return path


@pytest.fixture(scope="session")
def small_corpus(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Path:
    """3,000 rows built as ``scale_corpus`` is: enough for semantic duplicates to survive exact
    and near dedup, small enough for every step (each embedding) to run twice in a test."""
    corpus = load_corpus_module()
    folder = tmp_path_factory.mktemp("small")
    (path,) = corpus.write_jsonl(corpus.build(3_000, shared_data), folder, 3_000)
    return path
