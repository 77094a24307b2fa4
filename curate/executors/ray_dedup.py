"""Exact and near deduplication on Ray Data, giving exactly the local steps' results.

The per-record work is the local steps' own functions run through ``map_batches``
(``exact_keys``; ``NearDedup.sign``); LSH buckets and candidate pairs come from a partitioned
shuffle of ``(band, bucket key, record)`` rows; candidate pairs are verified in batches by
``NearDedup.pair_jaccard`` on texts looked up from the signature stage; clusters come from the
distributed connected components of ``curate.executors.components``. The reductions that follow
(representatives, findings, figures) are the local steps' own (``ExactDedup.from_keys``,
``NearDedup.result``). Every intermediate is a stage of the work folder.

Ids and tie-breaking are those of the local path: records are numbered by their position in the
frame the step receives, a bucket pairs each member with its first and its previous member in
that order (as ``curate.dedup.minhash.lsh_pairs`` does), and the representative rule is unchanged.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from curate.dedup.exact import ExactDedup, ExactFigures, exact_keys
from curate.dedup.minhash import band_key, estimated_jaccard
from curate.dedup.near import NearDedup, NearFigures, lsh_bands, near_texts
from curate.executors.components import components
from curate.executors.config import ExecutorConfig
from curate.executors.ray_data import (
    by_partition,
    dataset,
    map_frames,
    read_frame,
    write_dataset,
    write_frame,
)
from curate.executors.workdir import WorkDir
from curate.pipeline.step import StepResult
from curate.records import RECORD_SCHEMA

PAIR_SCHEMA: dict[str, pl.DataType] = {"left": pl.Int64(), "right": pl.Int64()}


def _write_input(records: pl.DataFrame, work: WorkDir, config: ExecutorConfig) -> None:
    """The step's input records, numbered by position, as Parquet shards (stage ``input``)."""

    def compute(folder):  # type: ignore[no-untyped-def]
        numbered = records.select(
            pl.int_range(pl.len(), dtype=pl.Int64).alias("idx"), *RECORD_SCHEMA
        )
        write_frame(numbered, folder, max(config.batch_size * 4, 10_000))
        return {"records": len(records)}

    work.stage("input", compute)


class RayExactDedup:
    """``ExactDedup`` with its per-record hashing on Ray."""

    name = ExactDedup.name

    def __init__(self, step: ExactDedup, work: WorkDir, config: ExecutorConfig) -> None:
        self.step, self.work, self.config = step, work, config

    def run(self, records: pl.DataFrame) -> StepResult[ExactFigures]:
        """Hash every record on Ray, then reduce as the local step does."""
        _write_input(records, self.work, self.config)

        def compute(folder):  # type: ignore[no-untyped-def]
            ds = map_frames(
                dataset(self.work.path("input")),
                lambda f: pl.concat([f.select("idx"), exact_keys(f)], how="horizontal"),
                self.config.batch_size,
            )
            write_dataset(
                ds,
                folder,
                {
                    "idx": pl.Int64(),
                    **dict.fromkeys(("record_key", "prompt_key", "answer_key"), pl.Utf8()),
                },
            )

        self.work.stage("keys", compute)
        keys = read_frame(self.work.path("keys")).sort("idx").drop("idx")
        return self.step.from_keys(records, keys)


class RayNearDedup:
    """``NearDedup`` with signatures, buckets, verification and components on Ray."""

    name = NearDedup.name

    def __init__(self, step: NearDedup, work: WorkDir, config: ExecutorConfig) -> None:
        self.step, self.work, self.config = step, work, config

    def run(self, records: pl.DataFrame) -> StepResult[NearFigures]:
        """Find near-duplicate clusters on Ray; the findings equal the local step's."""
        cfg, work, parts = self.step.config, self.work, self.config.partitions
        bands, rows = lsh_bands(cfg)
        _write_input(records, work, self.config)
        work.stage("signatures", self._signatures)
        work.stage("candidates", lambda folder: self._candidates(folder, bands, rows))
        candidates = len(read_frame(work.path("candidates"), ["left"]))
        work.stage("edges", self._verify)
        verified = len(read_frame(work.path("edges"), ["left"]))
        labels = np.arange(len(records), dtype=np.int64)
        if verified:
            roots = components(work, "edges", parts)
            labels[roots["node"].to_numpy()] = roots["root"].to_numpy()
        from curate.dedup.clusters import choose_representatives

        members = choose_representatives(records, labels)
        work.stage("similarity", lambda folder: self._similarity(folder, members))
        sims = read_frame(work.path("similarity")).sort("left")
        order = members.select(pl.col("idx").alias("left")).join(sims, on="left", how="left")
        kinds = read_frame(work.path("signatures"), ["idx", "kind"]).sort("idx")["kind"]
        return self.step.result(
            members, order["sim"].to_numpy(), kinds.to_numpy(), candidates, verified
        )

    # -- stages ------------------------------------------------------------------------------

    def _signatures(self, folder):  # type: ignore[no-untyped-def]
        step = NearDedup(self.step.config, workers=1)

        def sign(frame: pl.DataFrame) -> pl.DataFrame:
            texts = near_texts(frame)
            sigs, has, kinds = step.sign(texts)
            return pl.DataFrame(
                {
                    "idx": frame["idx"],
                    "text": texts,
                    "kind": kinds.astype(str),
                    "has": has,
                    "sig": [row.tobytes() for row in sigs],
                },
                schema=SIG_SCHEMA,
            )

        ds = map_frames(dataset(self.work.path("input")), sign, self.config.batch_size)
        write_dataset(ds, folder, SIG_SCHEMA)

    def _candidates(self, folder, bands: int, rows: int):  # type: ignore[no-untyped-def]
        num_perm = self.step.config.num_perm

        def bucket_rows(frame: pl.DataFrame) -> pl.DataFrame:
            frame = frame.filter(pl.col("has"))
            sigs = _sig_array(frame["sig"], num_perm)
            keys = [band_key(sigs, b, rows) for b in range(bands)]
            n = len(frame)
            return pl.DataFrame(
                {
                    "band": np.repeat(np.arange(bands, dtype=np.int64), n),
                    "key": np.concatenate(keys) if keys else np.zeros(0, np.uint64),
                    "idx": np.tile(frame["idx"].to_numpy(), bands),
                },
                schema={"band": pl.Int64(), "key": pl.UInt64(), "idx": pl.Int64()},
            ).with_columns(
                # Any function of (band, key) works: a bucket's rows must meet in one partition.
                ((pl.col("key") % 1_000_003).cast(pl.Int64) + pl.col("band")).alias("spread")
            )

        ds = map_frames(
            dataset(self.work.path("signatures"), ["idx", "has", "sig"]),
            bucket_rows,
            self.config.batch_size,
        )
        pairs = by_partition(ds, "spread", self.config.partitions, _bucket_pairs)
        unique = by_partition(
            pairs, "left", self.config.partitions, lambda f: f.unique().sort("left", "right")
        )
        write_dataset(unique, folder, PAIR_SCHEMA)

    def _involved(
        self, frame: pl.DataFrame, stage: str, columns: list[str]
    ) -> tuple[pl.DataFrame, np.ndarray, np.ndarray]:
        """The rows of a stage (``input`` or ``signatures``) for the records a batch of pairs
        involves, sorted by ``idx``, and each pair's positions among them.

        Parquet row-group statistics on ``idx`` let the reader skip the rest: a batch reads
        about what it needs, not the whole stage.
        """
        import pyarrow.compute as pc
        import pyarrow.dataset as pads

        left, right = frame["left"].to_numpy(), frame["right"].to_numpy()
        table = pads.dataset(str(self.work.path(stage))).to_table(
            columns=["idx", *columns], filter=pc.field("idx").isin(np.unique(np.r_[left, right]))
        )
        found = pl.DataFrame(pl.from_arrow(table)).sort("idx")
        ids = found["idx"].to_numpy()
        return found, np.searchsorted(ids, left), np.searchsorted(ids, right)

    def _pair_similarity(self, frame: pl.DataFrame) -> np.ndarray:
        """``NearDedup``'s similarity of each pair: exact Jaccard, or the signature estimate."""
        cfg = self.step.config
        if cfg.verify == "exact":
            found, li, ri = self._involved(frame, "signatures", ["text", "kind"])
            step = NearDedup(cfg, workers=1)
            return step.pair_jaccard(found["text"], found["kind"].to_numpy(), li, ri)
        found, li, ri = self._involved(frame, "signatures", ["sig"])
        return estimated_jaccard(_sig_array(found["sig"], cfg.num_perm), li, ri)

    def _verify(self, folder):  # type: ignore[no-untyped-def]
        cfg = self.step.config

        def check(frame: pl.DataFrame) -> pl.DataFrame:
            """``NearDedup``'s confirmation of candidate pairs, on one batch of them."""
            frame = frame.select(PAIR_SCHEMA.keys())
            if cfg.verify == "none" or frame.is_empty():
                return frame
            frame = frame.filter(pl.Series(self._pair_similarity(frame) >= cfg.threshold))
            if frame.is_empty():
                return frame
            records, li, ri = self._involved(frame, "input", list(RECORD_SCHEMA))
            kinds, _, _ = self._involved(frame, "signatures", ["kind"])
            agree = NearDedup(cfg, workers=1).answers_agree(
                records.drop("idx"), kinds["kind"].to_numpy(), li, ri
            )
            return frame.filter(pl.Series(agree))

        ds = map_frames(dataset(self.work.path("candidates")), check, _PAIR_BATCH)
        write_dataset(ds, folder, PAIR_SCHEMA)

    def _similarity(self, folder, members: pl.DataFrame):  # type: ignore[no-untyped-def]
        """Each cluster member's similarity to its representative (1.0 for itself)."""
        pairs = members.select(pl.col("idx").alias("left"), pl.col("rep_idx").alias("right"))
        write_frame(pairs, folder / "pairs", max(self.config.batch_size * 4, 10_000))

        def score(frame: pl.DataFrame) -> pl.DataFrame:
            sim = self._pair_similarity(frame)
            return frame.select("left").with_columns(pl.Series("sim", sim, dtype=pl.Float64))

        ds = map_frames(dataset(folder / "pairs"), score, _PAIR_BATCH)
        write_dataset(ds, folder, {"left": pl.Int64(), "sim": pl.Float64()})
        import shutil

        shutil.rmtree(folder / "pairs")


_PAIR_BATCH = 250_000
"""Pairs per verification batch. A batch reads the row groups holding its records, which for
pairs spread over the whole input is most of them: few large batches read the stage few times."""

SIG_SCHEMA: dict[str, pl.DataType] = {
    "idx": pl.Int64(),
    "text": pl.Utf8(),
    "kind": pl.Utf8(),
    "has": pl.Boolean(),
    "sig": pl.Binary(),
}
"""The signature stage: the normalised text, its shingle kind, and the signature's bytes."""


def _sig_array(column: pl.Series, num_perm: int) -> np.ndarray:
    if not len(column):
        return np.zeros((0, num_perm), dtype=np.uint32)
    return np.frombuffer(b"".join(column.to_list()), dtype=np.uint32).reshape(-1, num_perm)


def _bucket_pairs(frame: pl.DataFrame) -> pl.DataFrame:
    """Candidate pairs of one partition of buckets: in each ``(band, key)`` bucket, every member
    with the bucket's first member and with its predecessor (record order), as ``lsh_pairs``."""
    ordered = frame.sort("band", "key", "idx")
    band, key, idx = (ordered[c].to_numpy() for c in ("band", "key", "idx"))
    same = (band[1:] == band[:-1]) & (key[1:] == key[:-1])
    if not same.any():
        return pl.DataFrame(schema=PAIR_SCHEMA)
    pos = np.arange(len(idx))
    group_start = np.maximum.accumulate(np.where(np.r_[True, ~same], pos, 0))
    member = idx[1:][same]
    firsts = idx[group_start[1:][same]]
    preds = idx[:-1][same]
    other = np.r_[preds, firsts]
    member = np.r_[member, member]
    return pl.DataFrame(
        {"left": np.minimum(member, other), "right": np.maximum(member, other)}, schema=PAIR_SCHEMA
    ).unique()
