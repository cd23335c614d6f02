"""The API reference page renders its operations in a browser cut off from every network but
loopback: each request to another host is aborted (and recorded, so the test says which)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from tests.browser.conftest import Crier

LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


def test_docs_page_renders_operations_with_no_network(page: Any, crier: Crier, shoot: Any) -> None:
    blocked: list[str] = []

    def only_loopback(route: Any) -> None:
        url = route.request.url
        if urlsplit(url).scheme in ("data", "blob") or urlsplit(url).hostname in LOOPBACK:
            route.continue_()
        else:
            blocked.append(url)
            route.abort("internetdisconnected")

    page.context.route("**/*", only_loopback)
    page.goto(f"{crier.url}/api/v1/docs")
    # The first tag's operations, rendered by Scalar from the served OpenAPI document: summary,
    # description and the request example it writes for each.
    page.get_by_text("The database and every required service answer", exact=True).first.wait_for()
    page.get_by_text("Readiness: 200 when PostgreSQL, NATS and every required service answer").first.wait_for()
    page.get_by_text("curl http://127.0.0.1").first.wait_for()
    shoot(page, "docs")
    assert blocked == [], f"the docs page reached past loopback: {blocked}"
