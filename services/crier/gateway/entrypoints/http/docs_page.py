"""The API reference page (`/api/v1/docs`), served whole by the gateway so it works with no internet
access: a self-hosted Crier is often read from a laptop on a closed network, where Litestar's default
page (Scalar from a CDN at `@latest`, a stylesheet and a favicon from other CDNs) is blank.

Scalar's browser build is vendored under `docs_assets/` at a pinned version, unchanged, with its MIT
licence (docs_assets/README.md says how to move to another version). Vendored rather than taken from
PyPI: no PyPI package carries Scalar alone (the ones that ship it bring a web framework with them), and
swagger-ui-bundle's Swagger UI 4 predates OpenAPI 3.1, the version our document is written in. The
version is in the asset's URL, so browsers may keep it for good and a new version is a new URL.

The page switches off what Scalar would otherwise fetch from its own servers: web fonts (the
browser's fonts stand in), telemetry, the AI agent and the link to Scalar's hosted API client.
"""

from __future__ import annotations

import gzip
from functools import cache
from html import escape
from pathlib import Path
from typing import Any

import msgspec
from litestar import Request, Response, Router, get
from litestar.openapi.plugins import OpenAPIRenderPlugin

SCALAR_VERSION = "1.76.0"
ASSETS = Path(__file__).with_name("docs_assets")
SCRIPT = f"scalar-api-reference-{SCALAR_VERSION}.js"

_OPTIONS = {
    "withDefaultFonts": False,
    "telemetry": False,
    "agent": {"disabled": True},
    "hideClientButton": True,
    "showDeveloperTools": "never",
}


@cache
def _script(encoding: str) -> bytes:
    """Read once per process; 4.8 MB of JavaScript goes out as about a quarter of that gzipped."""
    raw = (ASSETS / SCRIPT).read_bytes()
    return gzip.compress(raw, mtime=0) if encoding == "gzip" else raw


def _accepts_gzip(accept_encoding: str) -> bool:
    for part in accept_encoding.lower().split(","):
        coding, _, params = part.partition(";")
        if coding.strip() == "gzip":
            weight = params.replace(" ", "").removeprefix("q=")
            try:
                return float(weight or 1) > 0  # q=0 refuses it
            except ValueError:
                return True
    return False


# In a worker thread: the first answer reads and compresses megabytes, which would stall the event loop.
@get(f"/docs/{SCRIPT}", include_in_schema=False, opt={"exclude_from_auth": True}, sync_to_thread=True)
def scalar_script(request: Request[Any, Any, Any]) -> Response[bytes]:
    encoding = "gzip" if _accepts_gzip(request.headers.get("accept-encoding", "")) else "identity"
    headers = {"Cache-Control": "public, max-age=31536000, immutable", "Vary": "Accept-Encoding"}
    if encoding == "gzip":
        headers["Content-Encoding"] = "gzip"
    return Response(_script(encoding), media_type="text/javascript; charset=utf-8", headers=headers)


class ScalarPage(OpenAPIRenderPlugin):
    """Scalar's documented set-up (`Scalar.createApiReference`), every URL in it the gateway's own."""

    def __init__(self, *, path: str = "/docs") -> None:
        super().__init__(path=path, favicon="")
        self.script_url = self.document_url = ""

    def receive_router(self, router: Router) -> None:
        router.register(scalar_script)
        base = router.path.rstrip("/")
        self.script_url = f"{base}/docs/{SCRIPT}"
        # Named outright: Litestar's route_reverse picks any of the JSON handler's paths (a set),
        # `/api/v1` one run and `/api/v1/openapi.json` the next.
        self.document_url = f"{base}/openapi.json"

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        config = {"url": self.document_url, **_OPTIONS}
        # JSON inside a <script>: `</` must not end the element early.
        config_js = msgspec.json.encode(config).decode().replace("</", "<\\/")
        return f"""<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>{escape(openapi_schema["info"]["title"])}</title>
    {self.style}
  </head>
  <body>
    <noscript>This page needs JavaScript. The API's description is at {escape(config["url"])}.</noscript>
    <div id="app"></div>
    <script src="{escape(self.script_url)}"></script>
    <script>Scalar.createApiReference("#app", {config_js})</script>
  </body>
</html>
""".encode()
