"""Ray plumbing shared by the distributed steps: the session, frames to and from stage folders,
and the partitioned map that every shuffle here is built on.

Ray is imported inside these functions only (it is the ``ray`` extra).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from curate.errors import MissingExtra
from curate.executors.config import ExecutorConfig
from curate.pipeline.progress import is_terminal

PART = "_part"
"""The column a partitioned map groups by."""


def import_ray() -> Any:
    """The ``ray`` module, or a one-line error saying what to install."""
    try:
        import ray
        import ray.data
    except ImportError as e:
        raise MissingExtra("the ray executor needs: pip install 'tunesmith[ray]'") from e
    return ray


@contextmanager
def ray_session(config: ExecutorConfig) -> Iterator[Any]:
    """Connect to the configured cluster, or start a local instance; yield the ``ray`` module.

    A session this process already has is reused and left running; one started here is shut
    down at the end.
    """
    ray = import_ray()
    # Off a terminal (CI, nohup, the job worker) the run logs a line per step; Ray's own INFO
    # and advisory lines (one block per dataset executed) would bury them. Errors still show.
    quiet = not is_terminal()
    level = logging.ERROR if quiet else logging.INFO
    data_logger = logging.getLogger("ray.data")
    saved = data_logger.level
    if quiet:
        data_logger.setLevel(logging.ERROR)
    started = False
    if not ray.is_initialized():
        if config.address:
            ray.init(address=config.address, log_to_driver=False, logging_level=level)
        else:
            ray.init(
                num_cpus=config.num_cpus,
                object_store_memory=config.object_store_memory,
                include_dashboard=False,
                log_to_driver=False,
                logging_level=level,
            )
        started = True
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    # Task-based sort shuffle: no long-lived shuffle actors, which on small machines cost more
    # to start than the shuffle itself (measured: 15 s against 0.3 s for 200k rows).
    context.shuffle_strategy = ray.data.context.ShuffleStrategy.SORT_SHUFFLE_PULL_BASED
    try:
        yield ray
    finally:
        data_logger.setLevel(saved)
        if started:
            ray.shutdown()


def write_frame(frame: pl.DataFrame, folder: Path, rows_per_file: int) -> None:
    """Write a frame as Parquet shards ``part-00000.parquet``, ... (at least one file)."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, lo in enumerate(range(0, max(len(frame), 1), rows_per_file)):
        frame.slice(lo, rows_per_file).write_parquet(folder / f"part-{i:05d}.parquet")


def read_frame(folder: Path, columns: list[str] | None = None) -> pl.DataFrame:
    """All Parquet shards of a stage folder as one frame (file order; sort it if order matters)."""
    files = sorted(folder.glob("*.parquet"))
    if not files:
        raise FileNotFoundError(f"{folder}: the stage wrote no Parquet files")
    return pl.concat([pl.read_parquet(f, columns=columns) for f in files], how="vertical")


def dataset(folder: Path, columns: list[str] | None = None) -> Any:
    """A Ray dataset over a stage folder's Parquet shards."""
    ray = import_ray()
    return ray.data.read_parquet(str(folder), columns=columns)


def write_dataset(ds: Any, folder: Path, schema: dict[str, pl.DataType]) -> None:
    """Write a Ray dataset's blocks into a stage folder; with no rows, one empty file of
    ``schema`` (Ray writes no file for an empty dataset, and readers want one)."""
    ds.write_parquet(str(folder))
    if not any(folder.glob("*.parquet")):
        pl.DataFrame(schema=schema).write_parquet(folder / "empty.parquet")


def map_frames(ds: Any, fn: Callable[[pl.DataFrame], pl.DataFrame], batch_size: int) -> Any:
    """``map_batches`` with a Polars function: Arrow batches in, Arrow batches out."""
    return ds.map_batches(
        lambda table: fn(pl.from_arrow(table)).to_arrow(),  # type: ignore[arg-type,union-attr]
        batch_size=batch_size,
        batch_format="pyarrow",
    )


def by_partition(
    ds: Any,
    key: str,
    partitions: int,
    fn: Callable[[pl.DataFrame], pl.DataFrame],
) -> Any:
    """Shuffle rows into ``partitions`` groups by ``key % partitions`` and run ``fn`` once per
    group on all of its rows.

    This is how every bucket and graph pass here is distributed: one vectorised call per
    partition rather than one Python call per key, with each task holding about
    ``1/partitions`` of the rows. Rows with the same key always meet in the same call.
    """
    tagged = ds.map_batches(
        lambda t: _tag(t, key, partitions), batch_format="pyarrow", batch_size=None
    )
    return tagged.groupby(PART, num_partitions=partitions).map_groups(
        lambda t: fn(pl.from_arrow(t).drop(PART)).to_arrow(),  # type: ignore[union-attr]
        batch_format="pyarrow",
    )


def _tag(table: Any, key: str, partitions: int) -> Any:
    import pyarrow as pa

    values = table.column(key).to_numpy()
    return table.append_column(PART, pa.array(np.asarray(values, dtype=np.int64) % partitions))
