"""Response headers set in one place: ``nosniff`` everywhere, a restrictive Content-Security-Policy
on HTML (artifacts are built from tenants' data; only the docs page may run its own scripts),
and a correct ``Allow`` on ``OPTIONS`` answers (Litestar's automatic one lists only the methods
of the first handler registered on a path)."""

from __future__ import annotations

from litestar.types import ASGIApp, Message, Receive, Scope, Send

from api.openapi import DOCS_CSP

ARTIFACT_CSP = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; font-src data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'; sandbox"
)
"""HTML artifacts (reports) render with their inline styles and images, and run nothing."""
DOCS_PATHS = ("/schema", "/schema/")


class SecurityHeaders:
    """ASGI middleware adding the headers above to every HTTP response."""

    def __init__(self, app: ASGIApp, allow: dict[str, str]) -> None:
        self.app = app
        self.allow = allow
        """``Allow`` values by route path template."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope.get("method")
        allow = self.allow.get(scope.get("path_template", "")) if method == "OPTIONS" else None
        docs = scope["path"] in DOCS_PATHS

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = add_headers(list(message.get("headers", [])), allow, docs)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def add_headers(
    headers: list[tuple[bytes, bytes]], allow: str | None, docs: bool
) -> list[tuple[bytes, bytes]]:
    """The response headers with ours added (and ``Allow`` corrected)."""
    names = {k.lower() for k, _ in headers}
    if b"x-content-type-options" not in names:
        headers.append((b"x-content-type-options", b"nosniff"))
    content_type = next((v for k, v in headers if k.lower() == b"content-type"), b"")
    if content_type.startswith(b"text/html") and b"content-security-policy" not in names:
        headers.append((b"content-security-policy", (DOCS_CSP if docs else ARTIFACT_CSP).encode()))
    if allow is not None:
        headers = [(k, v) for k, v in headers if k.lower() != b"allow"]
        headers.append((b"allow", allow.encode()))
    return headers
