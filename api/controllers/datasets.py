"""``/v1/datasets``: upload (multipart file or JSON records), list, get, page records and
rejects, delete. Every dataset belongs to the API key that uploaded it."""

from __future__ import annotations

import json
from datetime import UTC
from pathlib import Path
from typing import Annotated

import polars as pl
from litestar import Controller, Request, Response, delete, get, post
from litestar.params import Parameter

from api import uploads
from api.controllers import config, db, masker, owner, problems
from api.idempotency import fingerprint, idempotent
from api.ingest import ingest_upload
from api.schemas import MAX_PAGE, DatasetPage, RecordPage, Reject, RejectPage
from curate import (
    RECORD_SCHEMA,
    REJECT_SCHEMA,
    SHAPES_BY_NAME,
    DatasetInfo,
    InputError,
    NotFoundError,
    from_frame,
)

Limit = Annotated[int, Parameter(ge=1, le=MAX_PAGE, description="Items per page")]
After = Annotated[
    str | None,
    Parameter(
        max_length=64,
        description="Cursor: the `last_id` of the previous page. One that names nothing of "
        "this key's is 404.",
    ),
]
RowAfter = Annotated[
    int | None,
    Parameter(ge=0, description="Cursor: the `last_id` of the previous page (a row number)."),
]


def _public(info: DatasetInfo, root: Path) -> DatasetInfo:
    """The dataset with its file named relative to the store (no server paths leak)."""
    path = Path(info.path)
    shown = path.relative_to(root).as_posix() if path.is_relative_to(root) else path.name
    # naive UTC in the store; RFC 3339 (OpenAPI's date-time) wants the offset said
    return info.model_copy(
        update={"path": shown, "created_at": info.created_at.replace(tzinfo=UTC)}
    )


class DatasetController(Controller):
    """Datasets: the inputs of curation, synthesis and training jobs."""

    path = "/v1/datasets"
    tags = ("datasets",)
    security = ({"bearer": []},)

    @post(
        "/",
        status_code=201,
        request_max_body_size=None,  # this route enforces the configurable upload limit itself
        summary="Upload a dataset",
        description=(
            "multipart/form-data with a part named `file` (optional fields `name`, `format`; "
            f"at most {uploads.MAX_PARTS} parts), or application/json `{{name, records, "
            "format?}}` (nested at most 64 deep). Read by the same readers as the CLI, in a "
            "child process with a memory limit (a file that needs more is 413); unreadable "
            "rows become rejects, an unreadable file is 422. Idempotency-Key supported."
        ),
        responses=problems(400, 409, 413, 415, 422),
    )
    async def upload(self, request: Request) -> Response[DatasetInfo]:
        """Stream the upload to disk (sha256 on the way), then read it in a child process."""
        folder = db(request).root / "uploads"
        received = await uploads.receive(request, folder, config(request).max_upload_bytes)
        name = (received.fields.get("name") or Path(received.filename or "").stem or "upload")[:200]
        shape = received.fields.get("format") or None
        if shape is not None and shape not in SHAPES_BY_NAME:
            received.path.unlink(missing_ok=True)
            raise InputError(f"format: expected one of {', '.join(SHAPES_BY_NAME)}")
        key = owner(request)

        async def produce() -> tuple[int, DatasetInfo, dict[str, str]]:
            info = await ingest_upload(
                db(request),
                request.app.state.readers,
                received,
                name=None if received.kind == "records" else name,
                shape=shape,
                owner=key,
            )
            return 201, _public(info, db(request).root), {"Location": f"/v1/datasets/{info.id}"}

        try:
            fp = fingerprint(received.kind, received.sha256, name, shape or "")
            return await idempotent(request, fp, produce)  # type: ignore[return-value]
        finally:
            received.path.unlink(missing_ok=True)  # a replay or a failure leaves no temp file

    @get("/", summary="List datasets", responses=problems(400, 404))
    async def list_datasets(
        self, request: Request, after: After = None, limit: Limit = 20
    ) -> DatasetPage:
        """This key's datasets, newest first (keyset pagination on creation time and id)."""
        store, root = db(request).main, db(request).root
        sql = "SELECT * FROM datasets WHERE owner = ?"
        params: list[object] = [owner(request)]
        if after is not None:
            cursor = store.con.execute(
                "SELECT created_at, id FROM datasets WHERE id = ? AND owner = ?",
                [after, owner(request)],
            ).fetchone()
            if cursor is None:
                raise NotFoundError(f"after={after!r}: no dataset of this key has that id")
            sql += " AND (created_at < ? OR (created_at = ? AND id < ?))"
            params += [cursor[0], cursor[0], cursor[1]]
        cur = store.con.execute(
            sql + " ORDER BY created_at DESC, id DESC LIMIT ?", [*params, limit + 1]
        )
        names = [d[0] for d in cur.description]
        rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
        page = [
            DatasetInfo(**{**r, "reject_reasons": json.loads(r["reject_reasons"])})
            for r in rows[:limit]
        ]
        return DatasetPage(
            data=[_public(d, root) for d in page],
            has_more=len(rows) > limit,
            last_id=page[-1].id if page else None,
        )

    @get("/{dataset_id:str}", summary="Get a dataset", responses=problems(404))
    async def get_dataset(self, request: Request, dataset_id: str) -> DatasetInfo:
        """One dataset by id (or name)."""
        info = db(request).main.get_dataset(dataset_id, owner=owner(request))
        return _public(info, db(request).root)

    @get(
        "/{dataset_id:str}/records",
        summary="Page a dataset's records",
        responses=problems(400, 404),
    )
    async def records(
        self, request: Request, dataset_id: str, after: After = None, limit: Limit = 100
    ) -> RecordPage:
        """Canonical records in file order; ``after`` is a record id."""
        store = db(request).main
        info = store.get_dataset(dataset_id, owner=owner(request))
        start = -1
        if after is not None:
            row = store.con.execute(
                "SELECT row FROM records WHERE dataset_id = ? AND id = ?", [info.id, after]
            ).fetchone()
            if row is None:
                raise NotFoundError(f"after={after!r}: no such record in this dataset")
            start = row[0]
        cols = ", ".join(RECORD_SCHEMA)
        table = store.arrow_table(
            f"SELECT {cols} FROM records WHERE dataset_id = ? AND row > ? ORDER BY row LIMIT ?",
            [info.id, start, limit + 1],
        )
        frame = pl.DataFrame(pl.from_arrow(table)).cast(RECORD_SCHEMA)  # type: ignore[arg-type]
        shown = masker(request).text
        frame = frame.with_columns(pl.col("source_file").map_elements(shown, pl.String))
        recs = from_frame(frame.head(limit))
        return RecordPage(
            data=recs, has_more=frame.height > limit, last_id=recs[-1].id if recs else None
        )

    @get(
        "/{dataset_id:str}/rejects",
        summary="Page a dataset's rejected rows",
        responses=problems(400, 404),
    )
    async def rejects(
        self, request: Request, dataset_id: str, after: RowAfter = None, limit: Limit = 100
    ) -> RejectPage:
        """Rows the readers could not read, in file order; ``after`` is a row number."""
        store = db(request).main
        info = store.get_dataset(dataset_id, owner=owner(request))
        start = after if after is not None else -1
        cols = ", ".join(REJECT_SCHEMA)
        cur = store.con.execute(
            f"SELECT {cols} FROM rejects WHERE dataset_id = ? AND row > ? ORDER BY row LIMIT ?",
            [info.id, start, limit + 1],
        )
        names = [d[0] for d in cur.description]
        shown = masker(request).text
        rows = [
            Reject(**{**dict(zip(names, r, strict=True)), "source_file": shown(r[0])})
            for r in cur.fetchall()
        ]
        page = rows[:limit]
        return RejectPage(
            data=page, has_more=len(rows) > limit, last_id=str(page[-1].row) if page else None
        )

    @delete("/{dataset_id:str}", summary="Delete a dataset", responses=problems(404))
    async def delete_dataset(self, request: Request, dataset_id: str) -> None:
        """Remove the dataset, its records and rejects (and its file if nothing else uses it)."""
        store = db(request).main
        info = store.get_dataset(dataset_id, owner=owner(request))
        store.delete_dataset(info.id)
        (used,) = store.con.execute(
            "SELECT count(*) FROM datasets WHERE path = ?", [info.path]
        ).fetchone()  # type: ignore[misc]
        root = db(request).root / "uploads"
        path = Path(info.path)
        if not used and path.is_relative_to(root):
            path.unlink(missing_ok=True)
