"""Pending page selection over HTTP against the real connect service: the session token from the
redirect is the credential, an API key sent with it must be the session's organization's, and the
token works once and never reaches a log line."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import asyncpg
import httpx
import pytest

from crier.gateway.entrypoints import admin
from tests.gateway.conftest import start_gateway
from tests.support.stack import Infra, Services

CUSTOMER = "https://customer.test/connected"


class _Form(HTMLParser):
    def __init__(self, html: str) -> None:
        super().__init__()
        self.action = ""
        self.hidden: dict[str, str] = {}
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form":
            self.action = a.get("action") or ""
        elif tag == "input" and a.get("type") == "hidden" and a.get("name"):
            self.hidden[a["name"] or ""] = a.get("value") or ""


class Stack:
    def __init__(self, services: Services, api_url: str) -> None:
        self.services, self.api_url = services, api_url

    def client(self, key: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=f"{self.api_url}/api/v1", headers=headers, timeout=15)

    def org(self, name: str) -> tuple[str, str, str]:
        """A test key with every scope, its organization's live key, and the organization's id."""
        org = admin.create_org(self.services.database_url, name)
        test = admin.create_api_key(self.services.database_url, org=org["id"], name="t", mode="test", scopes=None)
        live = admin.create_api_key(self.services.database_url, org=org["id"], name="l", mode="live", scopes=None)
        with self.client(test["key"]) as c:
            assert c.post("/redirect-uris", json={"uri": CUSTOMER}).status_code == 201
        return test["key"], live["key"], org["id"]

    def pending_token(self, key: str, platform: str = "facebook") -> str:
        """Start a flow with the API and approve it on the sandbox consent page; the `session` the
        customer's redirect URI receives."""
        with self.client(key) as c:
            r = c.post(f"/social-networks/{platform}/auth-url", json={"redirect_uri": CUSTOMER, "tenant_id": "u1"})
        assert r.status_code == 200, r.text
        with httpx.Client(timeout=15) as browser:
            consent = browser.get(r.json()["auth_url"])
            assert consent.status_code == 200, consent.text
            form = _Form(consent.text)
            decided = browser.post(urljoin(str(consent.url), form.action), data={**form.hidden, "decision": "approve"})
            assert decided.status_code == 303, decided.text
            callback = browser.get(urljoin(str(decided.url), decided.headers["location"]))
        location = callback.headers["location"]
        assert location.startswith(CUSTOMER), location
        query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
        assert query["status"] == "pending", query
        return query["session"]


@pytest.fixture(scope="module")
def stack(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    services, api_url = start_gateway(infra, tmp_path_factory.mktemp("pending"), extra=["connect"])
    yield Stack(services, api_url)
    services.supervisor.stop_all()


def test_the_session_token_alone_views_and_finalizes_once(stack: Stack) -> None:
    test_key, _, _ = stack.org("pending-anon")
    token = stack.pending_token(test_key)
    # As long and random as a secret should be: 32 random bytes, URL-safe.
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token)
    assert token != stack.pending_token(test_key)
    with stack.client() as anonymous:
        view = anonymous.get(f"/social-accounts/pending/{token}")
        assert view.status_code == 200, view.text
        pages: list[dict[str, Any]] = view.json()["available_pages"]
        assert view.json()["network"] == "facebook" and len(pages) >= 2
        assert view.json()["availablePages"][0]["id"] == pages[0]["id"]
        bad = anonymous.post(f"/social-accounts/pending/{token}/finalize", json={"selectedPageIds": ["nope"]})
        assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_selection"
        body = {"selectedPageIds": [pages[0]["id"]]}
        done = anonymous.post(f"/social-accounts/pending/{token}/finalize", json=body)
        assert done.status_code == 200, done.text
        [account] = done.json()["connected_accounts"]
        assert account["network_unique_id"] == pages[0]["id"] and account["tenant_id"] == "u1"
        # Single use: the spent token is unknown from now on, to anyone.
        again = anonymous.post(f"/social-accounts/pending/{token}/finalize", json=body)
        assert again.status_code == 404 and again.json()["error"]["code"] == "not_found"
        assert anonymous.get(f"/social-accounts/pending/{token}").status_code == 404
    # The account belongs to the organization that started the flow.
    with stack.client(test_key) as owner:
        assert owner.get(f"/social-accounts/{account['id']}").status_code == 200
    log = (stack.services.log_dir / "gateway.log").read_text(errors="replace")
    assert "/social-accounts/pending/[redacted]" in log and token not in log


def test_a_key_sent_with_the_token_must_be_the_sessions_organizations(stack: Stack) -> None:
    test_key, live_key, _ = stack.org("pending-keyed")
    stranger, _, _ = stack.org("pending-stranger")
    token = stack.pending_token(test_key)
    for key in (stranger, live_key):  # another organization, or the same one in the other mode
        with stack.client(key) as c:
            assert c.get(f"/social-accounts/pending/{token}").status_code == 404
            r = c.post(f"/social-accounts/pending/{token}/finalize", json={"selected_page_ids": ["x"]})
            assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    with stack.client("sk_test_not_a_key") as c:  # a key that is sent is checked
        assert c.get(f"/social-accounts/pending/{token}").status_code == 401
    with stack.client(test_key) as owner:
        pages = owner.get(f"/social-accounts/pending/{token}").json()["available_pages"]
        r = owner.post(f"/social-accounts/pending/{token}/finalize", json={"selected_page_ids": [pages[1]["id"]]})
        assert r.status_code == 200, r.text


def test_an_expired_session_is_not_found(stack: Stack) -> None:
    test_key, _, org_id = stack.org("pending-expired")
    token = stack.pending_token(test_key)
    with stack.client() as anonymous:
        assert anonymous.get(f"/social-accounts/pending/{token}").status_code == 200

        async def expire() -> None:
            conn = await asyncpg.connect(stack.services.database_url)
            try:
                await conn.execute(
                    "UPDATE connect.pending_sessions SET expires_at = now() - interval '1 second' "
                    "WHERE org_id = $1 AND consumed_at IS NULL",
                    org_id,
                )
            finally:
                await conn.close()

        asyncio.run(expire())
        assert anonymous.get(f"/social-accounts/pending/{token}").status_code == 404
        r = anonymous.post(f"/social-accounts/pending/{token}/finalize", json={"selected_page_ids": ["p"]})
        assert r.status_code == 404


def test_unknown_and_malformed_tokens_are_not_found(stack: Stack) -> None:
    with stack.client() as anonymous:
        for token in ("nope", "A" * 43, "A" * 500):
            r = anonymous.get(f"/social-accounts/pending/{token}")
            assert r.status_code == 404 and r.json()["error"]["code"] == "not_found", r.text
            r = anonymous.post(f"/social-accounts/pending/{token}/finalize", json={"selected_page_ids": ["p"]})
            assert r.status_code == 404, r.text
        # Every other route still needs a key.
        assert anonymous.get("/social-accounts").status_code == 401


def test_the_api_description_marks_the_key_optional(stack: Stack) -> None:
    spec = httpx.get(f"{stack.api_url}/api/v1/openapi.json").json()
    for path in ("/api/v1/social-accounts/pending/{token}", "/api/v1/social-accounts/pending/{token}/finalize"):
        [operation] = spec["paths"][path].values()
        assert {} in operation["security"], operation.get("security")
