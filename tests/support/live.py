"""Live publishing in tests: a whole stack whose platforms are the platform simulator
(`CRIER_PLATFORM_BASE_URL`), accounts connected through each platform's own connect flow, and
posts made through the public API with a live key.

Every platform that Crier publishes to is tested by the same end-to-end tests
(`tests/e2e/test_live_publishing.py`); what differs per platform is said here once:
- `PUBLISH_ENDPOINT`: the simulator endpoint name of the call that creates a post, where faults go;
- `connect_live`: the OAuth flow by default; a platform whose flow ends in a choice of pages,
  organizations or locations picks the first one offered.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx

from crier.contracts.common import PLATFORMS, Platform
from crier.platforms import publishing
from crier.platforms.simulator.world import World
from tests.support.simulator import Simulator, start_simulator
from tests.support.stack import Infra, Org, Stack, start_stack

CUSTOMER = "https://customer.test/crier/return"

# The platforms Crier publishes text to: each one is taken through the same end-to-end tests.
# Platforms that publish nothing without media are taken through the media tests instead.
LIVE_PLATFORMS: list[Platform] = [
    p for p in PLATFORMS if publishing.publishes(p) and not publishing.rules(p).media.required
]

# The simulator's name for each platform's post-creating call (its route's `endpoint`).
PUBLISH_ENDPOINT: dict[str, str] = {
    "mastodon": "statuses",
    # Facebook: a post (POST feed) and its comments (POST comments) are both `publish`.
    "facebook": "publish",
    # Threads: the post is made by threads_publish (a container that is never published is none).
    "threads": "threads_publish",
    "google_business": "local_posts",
    "linkedin": "publish",
    "x": "tweets",
    "bluesky": "createRecord",
}


@dataclass
class Live:
    stack: Stack
    sim: Simulator
    # The simulator's state, when it runs in this process (None for a simulator process).
    world: World | None


@dataclass
class LiveAccount:
    org: Org
    id: str
    platform: Platform
    # The simulated user: what was posted is read back by `author`.
    user: dict[str, Any]


def start_live(infra: Infra, tmp: Path, extra_env: dict[str, str] | None = None) -> Live:
    world = World()
    sim = start_simulator(world=world)
    env = {
        "CRIER_PLATFORM_BASE_URL": sim.base_url,
        # A platform's processing is looked at again within half a second, whatever it asks.
        "CRIER_PUBLISHER_PROCESSING_POLL_MAX_S": "0.3",
        **(extra_env or {}),
    }
    stack = start_stack(infra, tmp, env)
    return Live(stack, sim, world)


def stop_live(live: Live) -> None:
    live.stack.supervisor.stop_all()
    live.sim.stop()


def live_stack(infra: Infra, tmp: Path, extra_env: dict[str, str] | None = None) -> Iterator[Live]:
    live = start_live(infra, tmp, extra_env)
    yield live
    stop_live(live)


def connect_live(
    live: Live, platform: Platform, org: Org | None = None, *, kind: str | None = None, **user_spec: Any
) -> LiveAccount:
    """A live account of `platform`, connected through its OAuth flow as a browser would; when the
    flow ends in a choice (pages, organizations, locations), the first one offered (of type `kind`
    when given). `user_spec`: more of the simulated user (e.g. `pages=1`)."""
    org = org or live.stack.new_org("live")
    if platform == "bluesky":
        return _sign_in_with_app_password(live, org)
    callback = f"{live.stack.api_url}/api/v1/connect/callback"
    client_id, secret = f"cid-{secrets.token_hex(4)}", f"cs_{secrets.token_urlsafe(16)}"
    live.sim.add_app(platform, client_id=client_id, client_secret=secret, redirect_uris=[callback])
    user = live.sim.add_user(platform, username=f"u{secrets.token_hex(4)}", **user_spec)
    with org.live() as api, httpx.Client(follow_redirects=False, timeout=30) as browser:
        assert api.post("/redirect-uris", json={"uri": CUSTOMER}).status_code in (200, 201, 409)
        r = api.post("/social-networks", json={"platform": platform, "client_id": client_id, "client_secret": secret})
        assert r.status_code == 200, r.text
        r = api.post(f"/social-networks/{platform}/auth-url", json={"redirect_uri": CUSTOMER, "tenant_id": "t1"})
        assert r.status_code == 200, r.text
        url = r.json()["auth_url"]
        for _ in range(10):
            location = browser.get(url).headers.get("location", "")
            if location.startswith(CUSTOMER):
                break
            assert location, f"the flow stopped at {url}"
            url = urljoin(url, location)
        landing = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
        if landing.get("status") == "pending":
            landing = _choose_first(api, landing["session"], kind)
    assert landing.get("status") == "connected", landing
    return LiveAccount(org, landing["account_id"], platform, user)


def _choose_first(api: httpx.Client, session: str, kind: str | None = None) -> dict[str, str]:
    pending = api.get(f"/social-accounts/pending/{session}")
    assert pending.status_code == 200, pending.text
    offered = pending.json()["available_pages"]
    first = next(p["id"] for p in offered if kind is None or p["type"] == kind)
    r = api.post(f"/social-accounts/pending/{session}/finalize", json={"selected_page_ids": [first]})
    assert r.status_code == 200, r.text
    [account] = r.json()["connected_accounts"]
    return {"status": "connected", "account_id": account["id"]}


def _sign_in_with_app_password(live: Live, org: Org, instance_url: str | None = None) -> LiveAccount:
    """Bluesky: no app to register; Crier's own page takes the handle and an app password."""
    password = "-".join(secrets.token_hex(2) for _ in range(4))
    user = live.sim.add_user("bluesky", username=f"u{secrets.token_hex(4)}", app_password=password)
    with org.live() as api, httpx.Client(follow_redirects=False, timeout=30) as browser:
        landing = app_password_flow(api, browser, user["username"] + ".bsky.social", password, instance_url)
    assert landing.get("status") == "connected", landing
    return LiveAccount(org, landing["account_id"], "bluesky", user)


def app_password_flow(
    api: httpx.Client, browser: httpx.Client, identifier: str, password: str, instance_url: str | None = None
) -> dict[str, str]:
    """Auth URL → Crier's app-password page → its form posted as a browser posts it; the query
    string the customer's redirect receives."""
    assert api.post("/redirect-uris", json={"uri": CUSTOMER}).status_code in (200, 201, 409)
    body = {"redirect_uri": CUSTOMER, "tenant_id": "t1", **({"instance_url": instance_url} if instance_url else {})}
    r = api.post("/social-networks/bluesky/auth-url", json=body)
    assert r.status_code == 200, r.text
    url = r.json()["auth_url"]
    page = browser.get(url)
    assert page.status_code == 200 and 'name="app_password"' in page.text, page.text
    form = {"state": parse_qs(urlsplit(url).query)["state"][0], "identifier": identifier, "app_password": password}
    sent = browser.post(urljoin(url, "/connect/app-password"), data={**form, "csrf": browser.cookies["crier_csrf"]})
    location = sent.headers.get("location", "")
    assert sent.status_code == 303 and location.startswith(CUSTOMER), (sent.status_code, sent.text)
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def contents_for(platform: Platform, *texts: str) -> list[str]:
    """The first of `texts` the platform takes: the post, then a first comment and a thread as far
    as the platform does them."""
    rules = publishing.rules(platform)
    return list(texts[: 1 + rules.first_comment + rules.thread])
