"""Sentence embeddings, cached in the store by the SHA-256 of the text.

``embed_texts`` is the one way curation steps get embeddings: vectors are L2-normalised (so a dot
product is the cosine), computed in batches by sentence-transformers (imported here, lazily), and
remembered in the store's ``embeddings`` table so a rerun embeds nothing twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from curate.errors import MissingExtra
from curate.models.resolve import resolve_model

if TYPE_CHECKING:
    from curate.store.store import Store


MAX_TOKENS = 128
"""Tokens embedded per text by default: all-MiniLM-L6-v2 was trained on 128-token inputs, and
attention cost grows with length, so longer inputs cost more without telling duplicates apart
better (the start of a record, its prompt, decides)."""


@lru_cache(maxsize=2)
def load_embedder(model: str) -> Any:
    """The sentence-transformers model for a name, loaded once per process (CPU unless CUDA)."""
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as e:
        raise MissingExtra("embeddings need: pip install sentence-transformers") from e
    import torch

    device = "cuda" if torch.cuda.is_available() else "cpu"
    return SentenceTransformer(resolve_model(model), device=device)


def text_sha256(text: str) -> str:
    """The cache key of a text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def embed_texts(
    texts: Sequence[str],
    model: str = "minilm",
    store: Store | None = None,
    *,
    batch_size: int = 64,
    max_tokens: int = MAX_TOKENS,
    progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """Embed texts with a sentence-transformers model, reusing cached vectors.

    Args:
        texts: the texts, in order (duplicates are embedded once).
        model: an alias (``minilm``) or a local sentence-transformers folder.
        store: where vectors are cached (table ``embeddings``); None to cache nothing.
        batch_size: texts per forward pass.
        max_tokens: tokens embedded per text (longer texts are truncated); part of the cache key.
        progress: called with (texts embedded so far, texts to embed).

    Returns:
        A float32 array of shape ``(len(texts), dim)``, rows L2-normalised.
    """
    keys = [text_sha256(t) for t in texts]
    unique = dict.fromkeys(keys)
    cache_model = f"{model}#{max_tokens}"
    cached = _cached(store, cache_model, list(unique)) if store is not None else {}
    todo = [k for k in unique if k not in cached]
    if todo:
        first = dict(zip(keys, texts, strict=True))
        vectors = _encode([first[k] for k in todo], model, batch_size, max_tokens, progress)
        fresh = dict(zip(todo, vectors, strict=True))
        if store is not None:
            _remember(store, cache_model, fresh)
        cached.update(fresh)
    if not keys:
        return np.zeros((0, _dimension(model, cached)), dtype=np.float32)
    return np.stack([cached[k] for k in keys]).astype(np.float32)


def _dimension(model: str, cached: dict[str, np.ndarray]) -> int:
    if cached:
        return len(next(iter(cached.values())))
    return _dim(load_embedder(model))


def _encode(
    texts: list[str],
    model: str,
    batch_size: int,
    max_tokens: int,
    progress: Callable[[int, int], None] | None,
) -> np.ndarray:
    embedder = load_embedder(model)
    embedder.max_seq_length = max_tokens
    # Longest first: batches of similar length waste less padding; the order is restored below.
    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    out = np.empty((len(texts), _dim(embedder)), dtype=np.float32)
    step = batch_size * 8
    for lo in range(0, len(order), step):
        part = order[lo : lo + step]
        out[part] = embedder.encode(
            [texts[i] for i in part],
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        if progress:
            progress(min(lo + step, len(order)), len(order))
    return out


def _cached(store: Store, model: str, keys: list[str]) -> dict[str, np.ndarray]:
    if not keys:
        return {}
    wanted = pl.DataFrame({"text_sha256": keys}).to_arrow()
    store.con.register("_wanted", wanted)
    try:
        rows = store.con.execute(
            "SELECT e.text_sha256, e.vector FROM embeddings e "
            "JOIN _wanted w USING (text_sha256) WHERE e.model = ?",
            [model],
        ).fetchall()
    finally:
        store.con.unregister("_wanted")
    return {k: np.asarray(v, dtype=np.float32) for k, v in rows}


def _remember(store: Store, model: str, vectors: dict[str, np.ndarray]) -> None:
    frame = pl.DataFrame(
        {
            "model": [model] * len(vectors),
            "text_sha256": list(vectors),
            "vector": [v.tolist() for v in vectors.values()],
        },
        schema={"model": pl.Utf8, "text_sha256": pl.Utf8, "vector": pl.List(pl.Float32)},
    ).to_arrow()
    with store.transaction() as con:
        con.register("_fresh", frame)
        con.execute(
            "INSERT OR IGNORE INTO embeddings SELECT model, text_sha256, vector FROM _fresh"
        )
        con.unregister("_fresh")


def _dim(embedder: Any) -> int:
    # sentence-transformers renamed the method; accept both spellings.
    get = (
        getattr(embedder, "get_embedding_dimension", None)
        or embedder.get_sentence_embedding_dimension
    )
    return int(get())
