"""A run embeds each distinct text once, with the static model by default, and semantic dedup,
contradictions, format-task clustering and diversity all take their vectors from that one
embedder; a later run over the same store encodes nothing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import curate.models.embed as embed_module
from curate import CurateConfig, run


class CountingEncoder:
    """The real encoder, with every text it is asked to encode written down."""

    def __init__(self, real: embed_module.Encoder) -> None:
        self.real, self.dim = real, real.dim
        self.calls: list[list[str]] = []
        self.loaded: list[str] = []
        """The model names the pipeline asked to load."""

    def encode(self, texts: list[str], batch_size: int, max_tokens: int) -> np.ndarray:
        self.calls.append(list(texts))
        return self.real.encode(texts, batch_size, max_tokens)

    @property
    def texts(self) -> list[str]:
        return [t for call in self.calls for t in call]


@pytest.fixture()
def counting(monkeypatch: pytest.MonkeyPatch) -> CountingEncoder:
    counter = CountingEncoder(embed_module.load_encoder(embed_module.DEFAULT_MODEL))

    def load(model: str) -> CountingEncoder:
        counter.loaded.append(model)
        return counter

    monkeypatch.setattr(embed_module, "load_encoder", load)
    return counter


def test_a_run_embeds_each_text_once_for_every_step(
    counting: CountingEncoder, shared_data: Path, store, tmp_path: Path
) -> None:
    source = shared_data / "alpaca_en_demo.json"
    result = run(source, CurateConfig(), out_dir=tmp_path / "first", store=store)

    figures = result.figures
    assert figures.semantic_dedup is not None and figures.semantic_dedup.model == "minilm-static"
    assert set(counting.loaded) == {"minilm-static"}
    # every step that embeds did embed: each took its vectors from the run's embedder
    assert figures.format is not None and figures.format.task_clustering == "embeddings"
    assert figures.diversity is not None and figures.diversity.embedding is not None
    assert figures.contradictions is not None
    texts = counting.texts
    assert len(texts) == len(set(texts)), "a text was encoded twice in one run"
    # more than semantic dedup's texts (one per record): the other steps' prompts came too
    assert len(texts) > result.n_records - result.n_dropped
    # the vectors were cached in the store: a second run encodes nothing
    before = len(counting.calls)
    again = run(source, CurateConfig(), out_dir=tmp_path / "second", store=store)
    assert len(counting.calls) == before
    assert again.n_kept == result.n_kept
    first = (tmp_path / "first" / "findings.parquet").read_bytes()
    assert (tmp_path / "second" / "findings.parquet").read_bytes() == first


def test_the_writing_phase_holds_no_embedded_vectors(
    shared_data: Path, store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The run's embedder remembers every vector (1.2 million of them at a million records); once the
    # steps are done nothing reads them, so the files are written without them in memory.
    import gc

    import curate.pipeline.run as run_module

    alive: list[int] = []
    write = run_module._write

    def watching(*args, **kwargs):  # type: ignore[no-untyped-def]
        gc.collect()
        alive.extend(len(o._memo) for o in gc.get_objects() if type(o) is embed_module.Embedder)
        return write(*args, **kwargs)

    monkeypatch.setattr(run_module, "_write", watching)
    result = run(shared_data / "alpaca_en_demo.json", CurateConfig(), out_dir=tmp_path, store=store)
    assert result.figures.semantic_dedup is not None and result.figures.diversity is not None
    assert alive == [], f"embedders alive while writing, remembering {alive} vectors"
