"""Sentence embeddings, cached in the store by the SHA-256 of the text.

``Embedder`` is the one way curation steps get embeddings: a run builds one and every step that
embeds (semantic dedup, contradiction candidates, diversity, format-task clustering) calls it, so
each distinct text is embedded once per run, and once ever per store (table ``embeddings``).
Vectors are L2-normalised, so a dot product is the cosine.

Two kinds of model encode: a static (model2vec) model, the default (``minilm-static``, numpy
only), and any sentence-transformers model (the ``train`` extra: torch), for users who want the
slower, stronger encoder. Which one a folder holds is read from its ``config.json``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import polars as pl

from curate.errors import MissingExtra
from curate.models.resolve import resolve_model
from curate.text.opaque import mask_all

if TYPE_CHECKING:
    from curate.store.store import Store

DEFAULT_MODEL = "minilm-static"
"""The audit's embedder: static embeddings distilled from MiniLM (``curate.models.static``)."""

MAX_TOKENS = 128
"""Tokens embedded per text by default: all-MiniLM-L6-v2 was trained on 128-token inputs, and
attention cost grows with length, so longer inputs cost more without telling duplicates apart
better (the start of a record, its prompt, decides). The static model keeps the same window so
that both embed the same part of a record."""

Encode = Callable[[list[str]], np.ndarray]
"""Texts to L2-normalised float32 vectors, one row per text, in order."""


class Encoder(Protocol):
    """A loaded embedding model."""

    dim: int
    """Vector dimensions."""

    def encode(self, texts: list[str], batch_size: int, max_tokens: int) -> np.ndarray:
        """L2-normalised float32 vectors of ``texts``, in order."""
        ...


class StaticEncoder:
    """A model2vec static model: token vectors averaged, numpy only."""

    def __init__(self, folder: str) -> None:
        try:
            from model2vec import StaticModel
        except ImportError as e:  # a core dependency; missing only in a broken install
            raise MissingExtra("static embeddings need: pip install model2vec") from e
        self.model = StaticModel.from_pretrained(folder, force_download=False)
        self.dim = int(self.model.dim)

    def encode(self, texts: list[str], batch_size: int, max_tokens: int) -> np.ndarray:
        """Each text's mean token vector, normalised. A text's vector does not depend on the
        batch it is in, so any split of the work (batches, Ray actors) gives the same bits."""
        out = self.model.encode(
            texts,
            max_length=max_tokens,
            batch_size=max(batch_size, 1024),
            use_multiprocessing=False,
        )
        return _normalised(np.asarray(out, dtype=np.float32))


class SentenceTransformerEncoder:
    """A sentence-transformers model (CUDA when available, else the CPU)."""

    def __init__(self, folder: str) -> None:
        try:
            import torch
            from sentence_transformers import SentenceTransformer
        except ImportError as e:
            raise MissingExtra(
                "sentence-transformers models need: pip install 'tunesmith[train]' "
                "(the default static model needs neither)"
            ) from e
        device = "cuda" if torch.cuda.is_available() else "cpu"
        self.model: Any = SentenceTransformer(folder, device=device)
        # sentence-transformers renamed the method; accept both spellings.
        get: Any = (
            getattr(self.model, "get_embedding_dimension", None)
            or self.model.get_sentence_embedding_dimension
        )
        self.dim = int(get())

    def encode(self, texts: list[str], batch_size: int, max_tokens: int) -> np.ndarray:
        """Vectors in batches of similar length (longest first: less padding), order restored."""
        self.model.max_seq_length = max_tokens
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        out[order] = self.model.encode(
            [texts[i] for i in order],
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return out


def is_static(folder: str) -> bool:
    """Whether a model folder holds a model2vec static model (``model_type`` in its config)."""
    config = Path(folder) / "config.json"
    if not config.is_file():
        return False
    return json.loads(config.read_text()).get("model_type") == "model2vec"


@lru_cache(maxsize=4)
def load_encoder(model: str) -> Encoder:
    """The encoder for a model name, loaded once per process.

    Raises:
        MissingExtra: a sentence-transformers model without the ``train`` extra.
        NotFoundError: the name is neither an alias nor a local folder (nor, with the hub on, an
            id).
    """
    folder = resolve_model(model)
    if is_static(folder):
        return StaticEncoder(folder)
    return SentenceTransformerEncoder(folder)


@lru_cache(maxsize=8)
def cache_model(model: str, max_tokens: int) -> str:
    """The ``model`` column of a model's cached vectors. A static model's key carries its
    weights' hash, so a reshipped model never meets vectors of the old one in the store."""
    folder = resolve_model(model)
    if not is_static(folder):
        return f"{model}#{max_tokens}"
    digest = hashlib.sha256((Path(folder) / "model.safetensors").read_bytes()).hexdigest()
    return f"{model}@{digest[:12]}#{max_tokens}"


def text_sha256(text: str) -> str:
    """The cache key of a text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Embedder:
    """Texts to vectors for one run: remembered in memory and in the store, encoded in chunks.

    Call it with a list of texts; duplicates and texts seen before (by this embedder or, through
    the store, by any earlier run) are not encoded again. ``encode`` is where new texts go: the
    model in this process by default; the Ray executor points it at an actor pool.
    """

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        store: Store | None = None,
        *,
        batch_size: int = 64,
        max_tokens: int = MAX_TOKENS,
        progress: Callable[[int, int], None] | None = None,
    ) -> None:
        self.model, self.store = model, store
        self.batch_size, self.max_tokens, self.progress = batch_size, max_tokens, progress
        self.encode: Encode = self.encode_here
        self._memo: dict[str, np.ndarray] = {}
        self.encoded = 0
        """Texts this embedder sent to ``encode`` (the rest came from memory or the store)."""

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        """A float32 array ``(len(texts), dim)`` of L2-normalised rows, in order.

        Each text is embedded with its opaque tokens (keys, hashes, ids) masked: they carry no
        meaning, and a shared key would otherwise make unrelated records look alike.
        """
        texts = mask_all(texts)
        keys = [text_sha256(t) for t in texts]
        wanted = [k for k in dict.fromkeys(keys) if k not in self._memo]
        key = cache_model(self.model, self.max_tokens)
        if wanted and self.store is not None:
            self._memo.update(_cached(self.store, key, wanted))
        todo = [k for k in wanted if k not in self._memo]
        if todo:
            first = dict(zip(keys, texts, strict=True))
            vectors = self.encode([first[k] for k in todo])
            self.encoded += len(todo)
            fresh = dict(zip(todo, vectors, strict=True))
            if self.store is not None:
                _remember(self.store, key, fresh)
            self._memo.update(fresh)
        if not keys:
            return np.zeros((0, self.dim()), dtype=np.float32)
        return np.stack([self._memo[k] for k in keys]).astype(np.float32, copy=False)

    def dim(self) -> int:
        """Vector dimensions (from a vector already seen, else from the model)."""
        if self._memo:
            return len(next(iter(self._memo.values())))
        return load_encoder(self.model).dim

    def encode_here(self, texts: list[str]) -> np.ndarray:
        """Encode in this process, in chunks, reporting progress after each."""
        encoder = load_encoder(self.model)
        out = np.empty((len(texts), encoder.dim), dtype=np.float32)
        step = max(self.batch_size * 8, 4096)
        for lo in range(0, len(texts), step):
            out[lo : lo + step] = encoder.encode(
                texts[lo : lo + step], self.batch_size, self.max_tokens
            )
            if self.progress:
                self.progress(min(lo + step, len(texts)), len(texts))
        return out


def embed_texts(
    texts: Sequence[str],
    model: str = DEFAULT_MODEL,
    store: Store | None = None,
    *,
    batch_size: int = 64,
    max_tokens: int = MAX_TOKENS,
    progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """Embed texts, reusing cached vectors (a one-off ``Embedder``).

    Args:
        texts: the texts, in order (duplicates are embedded once).
        model: an alias (``minilm-static``, ``minilm``) or a local folder (model2vec or
            sentence-transformers).
        store: where vectors are cached (table ``embeddings``); None to cache nothing.
        batch_size: texts per forward pass (sentence-transformers).
        max_tokens: tokens embedded per text (longer texts are truncated); part of the cache key.
        progress: called with (texts embedded so far, texts to embed).

    Returns:
        A float32 array of shape ``(len(texts), dim)``, rows L2-normalised.
    """
    embed = Embedder(model, store, batch_size=batch_size, max_tokens=max_tokens, progress=progress)
    return embed(texts)


def _normalised(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    # A text with no known token has a zero vector: it stays zero (similar to nothing).
    return vectors / np.where(norms > 0, norms, 1.0)


def _cached(store: Store, model: str, keys: list[str]) -> dict[str, np.ndarray]:
    if not keys:
        return {}
    from curate.store.store import arrow_table

    wanted = pl.DataFrame({"text_sha256": keys}).to_arrow()
    # a session, not store.con: that stays open (holding the file) while the run encodes
    with store.session() as con:
        con.register("_wanted", wanted)
        try:
            table = arrow_table(
                con,
                "SELECT e.text_sha256, e.vector FROM embeddings e "
                "JOIN _wanted w USING (text_sha256) WHERE e.model = ?",
                [model],
            )
        finally:
            con.unregister("_wanted")
    if table is None or not table.num_rows:  # DuckDB 2.0 types the table as optional
        return {}
    found = table.column("text_sha256").to_pylist()
    flat = table.column("vector").combine_chunks().flatten().to_numpy()
    matrix = np.asarray(flat, dtype=np.float32).reshape(len(found), -1)
    return dict(zip(found, matrix, strict=True))


def _remember(store: Store, model: str, vectors: dict[str, np.ndarray]) -> None:
    import pyarrow as pa

    matrix = np.stack(list(vectors.values())).astype(np.float32, copy=False)
    column = pa.ListArray.from_arrays(
        pa.array(np.arange(0, matrix.size + 1, matrix.shape[1], dtype=np.int32)),
        pa.array(matrix.ravel()),
    )
    frame = pa.table(
        {
            "model": pa.array([model] * len(vectors), pa.string()),
            "text_sha256": pa.array(list(vectors), pa.string()),
            "vector": column,
        }
    )
    with store.transaction() as con:
        con.register("_fresh", frame)
        con.execute(
            "INSERT OR IGNORE INTO embeddings SELECT model, text_sha256, vector FROM _fresh"
        )
        con.unregister("_fresh")
