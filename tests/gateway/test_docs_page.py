"""The API reference page works with no internet access: the page and everything it loads come from
the running gateway, and nothing in it names another host."""

from __future__ import annotations

import gzip
import hashlib
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx

from crier.gateway.entrypoints.http import docs_page
from tests.gateway.conftest import Gateway

ASSETS = Path(docs_page.__file__).with_name("docs_assets")


class References(HTMLParser):
    """Every script and stylesheet a browser would load, and every other URL-bearing attribute."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[str] = []
        self.stylesheets: list[str] = []
        self.links: list[str] = []
        self.inline: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "script":
            self._in_script = "src" not in a
            if "src" in a:
                self.scripts.append(a["src"])
        if tag == "link":
            (self.stylesheets if "stylesheet" in a.get("rel", "") else self.links).append(a.get("href", ""))

    def handle_endtag(self, tag: str) -> None:
        self._in_script = self._in_script and tag != "script"

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.inline.append(data)


def test_the_docs_page_loads_only_from_the_gateway(gateway: Gateway) -> None:
    page_url = f"{gateway.api_url}/api/v1/docs"
    page = httpx.get(page_url)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    # No URL to another host anywhere in the page: a browser offline would wait on it or go blank.
    assert not re.findall(r"(?:https?:)?//[^\s\"'<>]+", page.text), page.text
    refs = References()
    refs.feed(page.text)
    assert refs.scripts and not refs.links, page.text
    expected = {"text/javascript": refs.scripts, "text/css": refs.stylesheets}
    for content_type, urls in expected.items():
        for url in urls:
            absolute = urljoin(page_url, url)
            assert urlsplit(absolute).netloc == urlsplit(page_url).netloc, url
            r = httpx.get(absolute)
            assert r.status_code == 200, (url, r.status_code)
            assert r.headers["content-type"].split(";")[0] == content_type, (url, r.headers["content-type"])
    # The inline set-up points Scalar at this gateway's document and keeps Scalar's own services off.
    [setup] = refs.inline
    assert '"url":"/api/v1/openapi.json"' in setup and '"withDefaultFonts":false' in setup
    assert '"telemetry":false' in setup and '"agent":{"disabled":true}' in setup
    assert httpx.get(f"{gateway.api_url}/api/v1/openapi.json").status_code == 200


def test_the_script_is_the_vendored_build_gzipped_or_not_and_cacheable_for_good(gateway: Gateway) -> None:
    url = f"{gateway.api_url}/api/v1/docs/{docs_page.SCRIPT}"
    vendored = (ASSETS / docs_page.SCRIPT).read_bytes()
    with httpx.stream("GET", url, headers={"Accept-Encoding": "gzip"}) as zipped:
        wire = b"".join(zipped.iter_raw())
    assert zipped.headers["content-encoding"] == "gzip" and gzip.decompress(wire) == vendored
    assert len(wire) < len(vendored) // 2
    assert zipped.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert zipped.headers["vary"] == "Accept-Encoding"
    plain = httpx.get(url, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.content == vendored
    refused = httpx.get(url, headers={"Accept-Encoding": "br, gzip;q=0"})
    assert "content-encoding" not in refused.headers and refused.content == vendored


def test_the_vendored_build_is_the_pinned_release_with_its_licence() -> None:
    script = (ASSETS / docs_page.SCRIPT).read_bytes()
    notes = (ASSETS / "README.md").read_text()
    assert f"@scalar/api-reference@{docs_page.SCALAR_VERSION}" in notes
    assert hashlib.sha256(script).hexdigest() in notes
    assert "MIT License" in (ASSETS / "LICENSE").read_text()
    assert [p.name for p in ASSETS.glob("*.js")] == [docs_page.SCRIPT]
