"""Browser tests: the Debian Chromium (`/usr/bin/chromium`, installed by `make test` where it can
be) driven through Playwright's Python package, pointed at the system browser since Playwright's
own browser downloads are not possible here. Headless; `--no-sandbox` when running as root, where
Chromium refuses its sandbox.

Fixtures for any browser test:
- `browser`: one Chromium for the session; `page`: a fresh context (own cookies) and page per test.
- `crier`: the session's shared stack (tests.support.stack.shared_stack, the one the e2e tests
  use) with an organization of its own, its keys, and a loopback `site` standing for the customer's
  app (redirect target, logo host).
- `shoot(page, name)`: a full-page screenshot under .artifacts/screenshots/, kept as a test artifact.
- `off_loop(fn, *args)`: call `fn` in a thread of its own. Playwright's sync API keeps an event loop
  running in the test's thread, so helpers that call asyncio.run (e.g. Stack.new_org) must run
  elsewhere once a browser is up.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from tests.support.stack import Org, Stack

T = TypeVar("T")
ARTIFACTS = Path(__file__).resolve().parents[2] / ".artifacts" / "screenshots"
LOGO_SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 40 40" width="40" height="40">'
    b'<circle cx="20" cy="20" r="18" fill="#0b7a4b"/><path d="M12 21l6 6 11-13" fill="none" stroke="#fff" '
    b'stroke-width="4"/></svg>'
)


def off_loop(fn: Callable[..., T], *args: Any) -> T:
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(fn, *args).result()


def chromium_path() -> str | None:
    for candidate in (os.environ.get("CRIER_TEST_CHROMIUM"), shutil.which("chromium"), "/usr/bin/chromium"):
        if candidate and Path(candidate).exists():
            return candidate
    return None


@pytest.fixture(scope="module")
def browser(shared_stack: Stack) -> Iterator[Any]:
    """One Chromium per test module. Playwright's sync API keeps an event loop running in this
    thread while it is open, which breaks every later asyncio.run in it (stacks starting, SQL
    helpers): so it closes with its module, and asks for the shared stack so that starts first.
    Anything else of that kind inside a browser module goes through `off_loop`."""
    executable = chromium_path()
    if executable is None:
        pytest.skip("no Chromium on this machine (make test installs the Debian package where it can: root with apt)")
    from playwright.sync_api import sync_playwright

    args = ["--no-sandbox"] if os.geteuid() == 0 else []
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=executable, headless=True, args=args)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context()
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    yield tab
    context.close()


@pytest.fixture
def shoot(request: pytest.FixtureRequest) -> Callable[[Any, str], Path]:
    test = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)

    def take(tab: Any, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{test}-{name}.png"
        tab.screenshot(path=str(path), full_page=True)
        return path

    return take


@dataclass
class Site:
    """The customer's app on loopback: every GET answers a small page (or the logo), and is recorded."""

    url: str
    visits: list[str] = field(default_factory=list)


@pytest.fixture(scope="session")
def site() -> Iterator[Site]:
    visits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            visits.append(self.path)
            body, kind = (
                (LOGO_SVG, "image/svg+xml")
                if self.path.startswith("/logo.svg")
                else (b"<!doctype html><title>Back at Acme</title><h1>Back at Acme</h1>", "text/html")
            )
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Site(f"http://127.0.0.1:{server.server_address[1]}", visits)
    server.shutdown()
    server.server_close()


@dataclass
class Crier:
    stack: Stack
    org: Org
    site: Site

    @property
    def url(self) -> str:
        return self.stack.api_url

    @property
    def return_url(self) -> str:
        return f"{self.site.url}/integrations/crier/return"

    def test_api(self) -> httpx.Client:
        return self.org.test()

    def live_api(self) -> httpx.Client:
        return self.org.live()


@pytest.fixture(scope="module")
def crier(shared_stack: Stack, site: Site) -> Crier:
    org = off_loop(shared_stack.new_org, "browser")
    c = Crier(shared_stack, org, site)
    with c.test_api() as api:
        r = api.post("/redirect-uris", json={"uri": c.return_url})
        assert r.status_code == 201, r.text
    return c
