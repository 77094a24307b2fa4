"""The OpenAPI document, corrected so that it states every rule the server enforces, and the
docs page at ``/schema``, served from assets that ship with an installed package.

Litestar derives the document from the handlers' types; these things are said here:

- the routes that parse their own bodies (jobs, gate, uploads: strictly, with a depth limit)
  get their request bodies from pydantic's validation schemas of the same models;
- the job body is one of the request models, told apart by ``type``;
- model and chat-template fields take only the names this server offers (an ``enum``);
- ``config.executor`` is not part of a curate job over the API;
- an upload's ``format`` is one of the readers' shapes;
- a discriminated union's tag is required; a sweep's grid names only fields it may vary.

Rules between fields that no JSON Schema states (a suite's conversation ends with a user turn)
are answered 422, not 400 (``api.bodies``).
"""

from __future__ import annotations

import copy
import json
from typing import Any

from litestar import Request, Response, Router, get
from litestar.openapi.plugins import JsonRenderPlugin, OpenAPIRenderPlugin
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from api import names, sweep, uploads
from api.config import ServerConfig
from api.jobs.runners import REQUESTS
from api.schemas import RecordsUpload
from curate import SHAPES_BY_NAME, VERIFIERS, NotFoundError, PIIConfig, SynthConfig

REF = "#/components/schemas/{model}"


def _refs(doc: dict[str, Any], roots: list[type[BaseModel]]) -> None:
    """Put pydantic's validation schemas of ``roots`` (and what they use) in the components."""
    _, top = models_json_schema([(m, "validation") for m in roots], ref_template=REF)
    doc["components"]["schemas"].update(top.get("$defs", {}))


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _job_body(doc: dict[str, Any]) -> None:
    schemas = doc["components"]["schemas"]
    mapping = {
        cls.model_fields["type"].annotation.__args__[0]: REF.format(model=cls.__name__)  # type: ignore[union-attr]
        for cls in REQUESTS
    }
    schemas["JobSubmission"] = {
        "oneOf": [{"$ref": ref} for ref in mapping.values()],
        "discriminator": {"propertyName": "type", "mapping": mapping},
        "description": "A job request: `type` picks the model.",
    }
    doc["paths"]["/v1/jobs"]["post"]["requestBody"] = _body(
        {"$ref": REF.format(model="JobSubmission")}
    )
    doc["paths"]["/v1/gate"]["post"]["requestBody"] = _body(
        {"$ref": REF.format(model="GateRequest")}
    )
    curate_config = schemas.get("CurateConfig", {})
    curate_config.get("properties", {}).pop("executor", None)


def _name_enums(doc: dict[str, Any], config: ServerConfig) -> None:
    schemas = doc["components"]["schemas"]
    for f in names.FIELDS:
        prop = schemas.get(f.component, {}).get("properties", {}).get(f.prop)
        if prop is None:
            continue
        offered = names.names_for(f.kind, config)
        kept = {k: v for k, v in prop.items() if k in ("title", "description", "default")}
        if "default" in kept and kept["default"] not in [*offered, None]:
            kept.pop("default")
        string: dict[str, Any] = {"type": "string", "enum": offered} if offered else {"not": {}}
        prop.clear()
        prop.update(kept)
        if f.optional:
            prop["anyOf"] = [string, {"type": "null"}]
        else:
            prop.update(string)
        prop["description"] = (
            f"{'A model' if f.kind == 'model' else 'A chat template'} by a name this server "
            "offers (never a path)."
        )


def _upload_body(doc: dict[str, Any]) -> None:
    shapes = sorted(SHAPES_BY_NAME)
    records = doc["components"]["schemas"]["RecordsUpload"]
    records["properties"]["format"] = {"anyOf": [{"enum": shapes}, {"type": "null"}]}
    form = {
        "type": "object",
        "properties": {
            "file": {"type": "string", "format": "binary"},
            "name": {"type": "string", "maxLength": 200},
            "format": {"type": "string", "enum": shapes},
        },
        "required": ["file"],
        "maxProperties": uploads.MAX_PARTS,
    }
    doc["paths"]["/v1/datasets"]["post"]["requestBody"] = {
        "required": True,
        "content": {
            "multipart/form-data": {"schema": form},
            "application/json": {"schema": {"$ref": REF.format(model="RecordsUpload")}},
        },
    }


def _rules(doc: dict[str, Any]) -> None:
    """Cross-field rules and bounds the generated schemas leave out."""
    schemas = doc["components"]["schemas"]
    gate = schemas.get("GateJob")
    if gate is not None:  # exactly one of eval_job_id and comparison
        gate["oneOf"] = [
            {
                "required": ["eval_job_id"],
                "properties": {"eval_job_id": {"type": "string"}, "comparison": {"type": "null"}},
            },
            {
                "required": ["comparison"],
                "properties": {"comparison": {"type": "object"}, "eval_job_id": {"type": "null"}},
            },
        ]
    # list fields whose items the library checks against a fixed set (their defaults: all of it)
    for component, prop, values in (
        ("PIIConfig", "kinds", PIIConfig().kinds),
        ("SynthConfig", "styles", SynthConfig().styles),
        ("SynthConfig", "error_types", SynthConfig().error_types),
        ("SynthConfig", "correction_types", SynthConfig().error_types),
    ):
        field = schemas.get(component, {}).get("properties", {}).get(prop)
        if field is not None and isinstance(field.get("items"), dict):
            field["items"] = {"type": "string", "enum": list(values)}
    verifier = schemas.get("SynthConfig", {}).get("properties", {}).get("verifier")
    if verifier is not None:
        verifier.pop("type", None)
        verifier["anyOf"] = [{"enum": sorted(VERIFIERS)}, {"type": "null"}]
    rejects = doc["paths"]["/v1/datasets/{dataset_id}/rejects"]["get"]
    for param in rejects.get("parameters", []):
        if param["name"] == "after":
            param["schema"] = {"oneOf": [{"type": "integer", "minimum": 0}, {"type": "null"}]}


def _tags_required(node: Any) -> None:
    """A discriminated union needs its tag: pydantic refuses a member without it even where
    the member's own schema has a default for it (``{"rubric": ""}`` is no check)."""
    if isinstance(node, dict):
        tag = node.get("discriminator", {}).get("propertyName")
        if tag and ("oneOf" in node or "anyOf" in node):
            required = node.setdefault("required", [])
            if tag not in required:
                required.append(tag)
        for value in node.values():
            _tags_required(value)
    elif isinstance(node, list):
        for value in node:
            _tags_required(value)


def _sweep_grid(doc: dict[str, Any]) -> None:
    """A sweep's grid varies only some config fields, each over 1 to 16 values (at most 64
    points in all: a rule between fields, 422)."""
    grid = doc["components"]["schemas"].get("SweepJob", {}).get("properties", {}).get("grid")
    if grid is not None:
        grid["propertyNames"] = {"enum": list(sweep.SWEEPABLE)}
        if isinstance(grid.get("additionalProperties"), dict):
            grid["additionalProperties"] |= {"minItems": 1, "maxItems": 16}


def corrected(
    openapi: dict[str, Any], config: ServerConfig, roots: list[type[BaseModel]]
) -> dict[str, Any]:
    """The generated document with the corrections above."""
    doc = copy.deepcopy(openapi)
    _refs(doc, [*REQUESTS, *roots, RecordsUpload])
    _job_body(doc)
    _name_enums(doc, config)
    _upload_body(doc)
    _rules(doc)
    _sweep_grid(doc)
    _tags_required(doc)
    return doc


class Document(JsonRenderPlugin):
    """``/schema/openapi.json``: the corrected document, built once."""

    def __init__(self, config: ServerConfig, roots: list[type[BaseModel]]) -> None:
        super().__init__(path="/openapi.json")
        self.config, self.roots = config, roots
        self._rendered: bytes | None = None

    def render(self, request: Request, openapi_schema: dict[str, Any]) -> bytes:
        if self._rendered is None:
            doc = corrected(openapi_schema, self.config, self.roots)
            self._rendered = json.dumps(doc, separators=(",", ":")).encode()
        return self._rendered


# -- the docs page --------------------------------------------------------------------------

ASSETS = {
    "swagger-ui.css": "text/css",
    "swagger-ui-bundle.js": "text/javascript",
    "favicon-32x32.png": "image/png",
}
"""Files of the installed Swagger UI bundle the page uses (nothing else is served)."""

INIT_JS = """window.onload = function () {
  window.ui = SwaggerUIBundle({url: "/schema/openapi.json", dom_id: "#swagger-ui",
                               deepLinking: true, persistAuthorization: false});
};
"""

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>tunesmith API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" type="image/png" href="/schema/assets/favicon-32x32.png">
<link rel="stylesheet" href="/schema/assets/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<noscript>The interactive docs need JavaScript; the document itself is
<a href="/schema/openapi.json">/schema/openapi.json</a>.</noscript>
<script src="/schema/assets/swagger-ui-bundle.js"></script>
<script src="/schema/assets/init.js"></script></body></html>
"""

DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; font-src 'self' data:; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)
"""The docs page loads only its own files (no CDN: it works offline)."""


def _bundle() -> Any:
    try:
        from swagger_ui_bundle import swagger_ui_path
    except ImportError as e:  # a dependency of the package: only a broken install lacks it
        raise NotFoundError("the docs UI needs: pip install swagger-ui-bundle-v2") from e
    return swagger_ui_path


@get("/assets/{name:str}", include_in_schema=False, sync_to_thread=False, cache=3600)
def docs_asset(name: str) -> Response[bytes]:
    """One file of the docs page, from the installed bundle (only the listed names)."""
    if name == "init.js":
        content, media = INIT_JS.encode(), "text/javascript"
    elif name in ASSETS:
        content, media = (_bundle() / name).read_bytes(), ASSETS[name]
    else:
        raise NotFoundError(f"no docs asset {name!r}")
    return Response(content, media_type=media)


class DocsPage(OpenAPIRenderPlugin):
    """``/schema``: Swagger UI from the installed ``swagger-ui-bundle-v2``, no network needed."""

    def __init__(self) -> None:
        super().__init__(path="/")

    def render(self, request: Request, openapi_schema: dict[str, Any]) -> bytes:
        return PAGE.encode()

    def receive_router(self, router: Router) -> None:
        router.register(docs_asset)
