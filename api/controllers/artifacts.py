"""``/v1/jobs/{id}/artifacts``: the files a job wrote (curated Parquet, reports, adapter
archives, gate outputs), listed and downloaded. A download name must be one the listing gives:
the client's string is matched against the listing, never joined onto a path."""

from __future__ import annotations

import mimetypes
from pathlib import Path

from litestar import Controller, Request, get
from litestar.response import File

from api.controllers import db, owner, problems, supervisor
from api.jobs import queue
from api.schemas import Artifact, ArtifactList
from curate import NotFoundError

MEDIA_TYPES = {
    ".parquet": "application/vnd.apache.parquet",
    ".jsonl": "application/x-ndjson",
    ".json": "application/json",
    ".html": "text/html",
    ".zip": "application/zip",
    ".md": "text/markdown",
    ".csv": "text/csv",
}


def media_type(name: str) -> str:
    """The download content type for an artifact name."""
    suffix = Path(name).suffix.lower()
    return MEDIA_TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"


def listing(folder: Path) -> dict[str, Path]:
    """Every regular file under ``folder`` by its relative name: a folder a job left (an
    adapter, an evaluation's ``compare/``) downloads whole as its zip archive, and each file in
    it by its own name (``compare/report.html``); symlinks are skipped so nothing outside can
    be reached."""
    if not folder.is_dir():
        return {}
    root = folder.resolve()
    found: dict[str, Path] = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if path.is_symlink() or not path.is_file() or not path.resolve().is_relative_to(root):
            continue
        found[rel.as_posix()] = path
    return found


class ArtifactController(Controller):
    """A job's output files."""

    path = "/v1/jobs/{job_id:str}/artifacts"
    tags = ("artifacts",)
    security = ({"bearer": []},)

    @get("/", summary="List a job's artifacts", responses=problems(404))
    async def list_artifacts(self, request: Request, job_id: str) -> ArtifactList:
        """Files the job wrote so far (all of them once it succeeded)."""
        job = queue.get_job(db(request).main, job_id, owner(request))
        files = listing(supervisor(request).job_dir(job.id) / "artifacts")
        return ArtifactList(
            data=[
                Artifact(
                    name=name,
                    size=path.stat().st_size,
                    media_type=media_type(name),
                    url=f"/v1/jobs/{job.id}/artifacts/{name}",
                )
                for name, path in files.items()
            ]
        )

    @get(
        "/{name:path}",
        summary="Download an artifact",
        responses=problems(404),
        media_type="application/octet-stream",
    )
    async def download(self, request: Request, job_id: str, name: str) -> File:
        """One artifact's bytes, by a name from the listing."""
        job = queue.get_job(db(request).main, job_id, owner(request))
        files = listing(supervisor(request).job_dir(job.id) / "artifacts")
        path = files.get(name.lstrip("/"))
        if path is None:
            raise NotFoundError(f"job {job.id} has no artifact {name!r}")
        return File(path=path, filename=Path(name).name, media_type=media_type(name))
