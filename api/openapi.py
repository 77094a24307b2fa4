"""Corrections to the OpenAPI document Litestar generates, applied once to the cached schema.

Litestar derives the schema from the handlers' types; three things need saying by hand:

- the job body is a pydantic ``RootModel`` over a union, which Litestar renders as an object
  with a ``root`` property; on the wire it is one of the request models, told apart by ``type``;
- the dataset upload parses its body itself (to stream it), so its two body forms are declared
  here: multipart with a ``file`` part, or JSON records;
- models with ``extra="forbid"`` reject unknown fields, which the schema should say
  (``additionalProperties: false``) so clients and fuzzers know.
"""

from __future__ import annotations

import typing
from typing import Any

from litestar import Litestar
from litestar.openapi.spec import (
    Discriminator,
    OpenAPIMediaType,
    OpenAPIType,
    Reference,
    RequestBody,
    Schema,
)
from pydantic import BaseModel

from api.jobs.runners import REQUESTS
from api.schemas import RecordsUpload


def _models(root: Any, seen: set[type[BaseModel]]) -> None:
    """Every pydantic model reachable from ``root`` through field annotations."""
    if isinstance(root, type) and issubclass(root, BaseModel):
        if root in seen:
            return
        seen.add(root)
        for f in root.model_fields.values():
            _models(f.annotation, seen)
        return
    for arg in typing.get_args(root):
        _models(arg, seen)


def _job_body(schemas: dict[str, Any]) -> None:
    refs = {
        typing.get_args(cls.model_fields["type"].annotation)[0]: cls.__name__ for cls in REQUESTS
    }
    schemas["JobSubmission"] = Schema(
        one_of=[Reference(f"#/components/schemas/{name}") for name in refs.values()],
        discriminator=Discriminator(
            property_name="type",
            mapping={t: f"#/components/schemas/{name}" for t, name in refs.items()},
        ),
        description="A job request: `type` picks the model.",
    )


def _upload_body(app_schema: Any) -> None:
    text, nullable = Schema(type=OpenAPIType.STRING), [OpenAPIType.STRING, OpenAPIType.NULL]
    app_schema.components.schemas["RecordsUpload"] = Schema(
        type=OpenAPIType.OBJECT,
        properties={
            "name": Schema(type=OpenAPIType.STRING, min_length=1, max_length=200),
            "records": Schema(
                type=OpenAPIType.ARRAY, min_items=1, items=Schema(type=OpenAPIType.OBJECT)
            ),
            "format": Schema(type=nullable, max_length=64),
        },
        required=["name", "records"],
        additional_properties=False,
        description=RecordsUpload.__doc__,
    )
    form = Schema(
        type=OpenAPIType.OBJECT,
        properties={
            "file": Schema(type=OpenAPIType.STRING, format="binary"),  # type: ignore[arg-type]
            "name": text,
            "format": text,
        },
        required=["file"],
    )
    app_schema.paths["/v1/datasets"].post.request_body = RequestBody(
        content={
            "multipart/form-data": OpenAPIMediaType(schema=form),
            "application/json": OpenAPIMediaType(
                schema=Reference("#/components/schemas/RecordsUpload")
            ),
        },
        required=True,
    )


def fix_schema(app: Litestar, roots: list[type[BaseModel]]) -> None:
    """Apply the corrections above to the app's cached OpenAPI document."""
    document = app.openapi_schema
    schemas = document.components.schemas
    assert schemas is not None
    _job_body(schemas)
    _upload_body(document)
    seen: set[type[BaseModel]] = set()
    for root in [*REQUESTS, *roots]:
        _models(root, seen)
    for model in seen:
        schema = schemas.get(model.__name__)
        if isinstance(schema, Schema) and model.model_config.get("extra") == "forbid":
            schema.additional_properties = False
