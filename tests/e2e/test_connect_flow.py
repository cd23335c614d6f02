"""Connecting accounts through the public HTTP API of a whole stack whose platforms are the
platform simulator (`CRIER_PLATFORM_BASE_URL`): every platform end to end, page choice, refusals,
replays, expiry, reconnects, the hosted test-mode pages, token refresh and revocation, and a scan
proving no plaintext secret or token reaches the database, the logs or any response."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pytest

from crier.contracts import connect as api
from crier.kit.bus import Bus, rpc
from crier.kit.bus.rpc import RpcError
from crier.kit.crypto import Keyring
from crier.platforms.simulator.world import World
from tests.e2e.conftest import sql
from tests.support.simulator import Simulator, start_simulator
from tests.support.stack import Infra, Stack, start_stack, wait_for

CUSTOMER = "https://customer.test/integrations/crier/return"
# (simulated user, how many accounts the grant offers)
USERS: dict[str, tuple[dict[str, Any], int]] = {
    "x": ({}, 1),
    "linkedin": ({"pages": 2}, 3),
    "facebook": ({"pages": 2}, 2),
    "instagram": ({"pages": 2}, 2),
    "youtube": ({}, 1),
    "threads": ({}, 1),
    "bluesky": ({"app_password": "app-pass-1234"}, 1),
    "mastodon": ({}, 1),
    "tiktok": ({}, 1),
    "pinterest": ({}, 1),
    "google_business": ({"pages": 2, "accounts": 1}, 2),
}
ACCOUNT_FIELDS = {
    "id",
    "platform",
    "tenant_id",
    "social_network_id",
    "network_unique_id",
    "username",
    "display_name",
    "profile_image_url",
    "account_type",
    "status",
    "scopes",
    "token_expires_at",
    "last_synced_at",
    "created_at",
    "updated_at",
}


class Forms(HTMLParser):
    """The forms on a page: action, hidden/checkbox inputs and submit buttons."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form":
            self.forms.append({"action": a.get("action"), "method": a.get("method"), "inputs": [], "buttons": []})
        elif tag == "input" and self.forms:
            self.forms[-1]["inputs"].append((a.get("name"), a.get("value"), a.get("type")))
        elif tag == "button" and self.forms:
            self.forms[-1]["buttons"].append((a.get("name"), a.get("value")))


@dataclass
class Recorder:
    """Every response body and Location header any client in this module saw."""

    texts: list[str] = field(default_factory=list)

    def hook(self, response: httpx.Response) -> None:
        response.read()
        self.texts.append(response.headers.get("location", "") + "\n" + response.text)


@dataclass
class Env:
    stack: Stack
    sim: Simulator
    world: World
    seen: Recorder
    secrets: set[str] = field(default_factory=set)

    @property
    def callback(self) -> str:
        return f"{self.stack.api_url}/api/v1/connect/callback"

    def api(self, key: str) -> httpx.Client:
        return self.stack.client(key, event_hooks={"response": [self.seen.hook]})

    def browser(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.stack.api_url, follow_redirects=False, timeout=30, event_hooks={"response": [self.seen.hook]}
        )


@pytest.fixture(scope="module")
def env(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    world = World()
    sim = start_simulator(world=world)
    stack = start_stack(
        infra,
        tmp_path_factory.mktemp("connect-e2e"),
        {
            "CRIER_PLATFORM_BASE_URL": sim.base_url,
            "CRIER_REFRESH_INTERVAL_S": "0.2",
        },
    )
    yield Env(stack, sim, world, Recorder())
    stack.supervisor.stop_all()
    sim.stop()


@dataclass
class Customer:
    env: Env
    org: Any
    api: httpx.Client
    test_api: httpx.Client


@pytest.fixture(scope="module")
def customer(env: Env) -> Iterator[Customer]:
    org = env.stack.new_org("connect")
    with env.api(org.live_key) as live, env.api(org.test_key) as test:
        for client in (live, test):
            assert client.post("/redirect-uris", json={"uri": CUSTOMER}).status_code == 201
        yield Customer(env, org, live, test)


def landing(location: str) -> dict[str, str]:
    assert location.startswith(CUSTOMER), location
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def follow(browser: httpx.Client, url: str) -> httpx.Response:
    """Follow redirects until the customer's page (not fetched) or a page that needs the user."""
    for _ in range(10):
        response = browser.get(url)
        location = response.headers.get("location")
        if response.status_code not in (302, 303) or not location:
            return response
        if location.startswith(CUSTOMER):
            return response
        url = urljoin(str(response.url), location)
    raise AssertionError("redirect loop")


def submit(browser: httpx.Client, page: httpx.Response, **fields: Any) -> httpx.Response:
    [form] = Forms(page.text).forms
    data: dict[str, Any] = {n: v for n, v, kind in form["inputs"] if kind == "hidden"}
    data.update(fields)
    return browser.post(urljoin(str(page.url), form["action"]), data=data)


def register(c: Customer, platform: str, **sim_app: Any) -> dict[str, Any]:
    client_id, secret = f"cid-{platform}-{secrets.token_hex(4)}", f"cs_{secrets.token_urlsafe(24)}"
    c.env.secrets.add(secret)
    c.env.sim.add_app(platform, client_id=client_id, client_secret=secret, redirect_uris=[c.env.callback], **sim_app)
    r = c.api.post(
        "/social-networks",
        json={
            "platform": platform,
            "client_id": client_id,
            "client_secret": secret,
            "display_name": f"Acme {platform}",
            "scopes": [],
        },
    )
    assert r.status_code == 200, r.text
    assert "client_secret" not in r.json() and r.json()["redirect_uri"] == c.env.callback
    return r.json()


def authorize(
    c: Customer, platform: str, tenant_id: str = "user_42", user: dict[str, Any] | None = None
) -> dict[str, str]:
    """Start a flow with the API and play the user's browser through it; the customer's landing query."""
    r = c.api.post(f"/social-networks/{platform}/auth-url", json={"redirect_uri": CUSTOMER, "tenant_id": tenant_id})
    assert r.status_code == 200, r.text
    with c.env.browser() as browser:
        response = follow(browser, r.json()["auth_url"])
        if platform == "bluesky":  # Crier's own sign-in page instead of a redirect to the platform
            assert response.status_code == 200 and "app_password" in response.text
            assert user is not None
            handle = f"{user['username']}.bsky.social"
            typo = submit(browser, response, identifier=handle, app_password="wrong")
            assert typo.status_code == 422 and "did not work" in typo.text  # the state survives a typo
            response = submit(browser, typo, identifier=handle, app_password=user["app_password"])
    assert response.status_code in (302, 303), response.text
    return landing(response.headers["location"])


@pytest.mark.parametrize("platform", list(USERS))
def test_connect_every_platform(customer: Customer, platform: str) -> None:
    c = customer
    register(c, platform)
    spec, offered = USERS[platform]
    user = c.env.sim.add_user(platform, username=f"u{secrets.token_hex(3)}", **spec)
    if "app_password" in spec:
        c.env.secrets.add(spec["app_password"])
    params = authorize(c, platform, user=user)
    if offered == 1:
        assert params["status"] == "connected", params
        account_ids = [params["account_id"]]
    else:
        assert params["status"] == "pending" and set(params) == {"status", "session"}, params
        pending = c.api.get(f"/social-accounts/pending/{params['session']}").json()
        assert pending["network"] == platform and len(pending["available_pages"]) == offered
        assert pending["availablePages"][0]["id"] == pending["available_pages"][0]["id"]
        chosen = [p["id"] for p in pending["available_pages"][-2:]]
        r = c.api.post(f"/social-accounts/pending/{params['session']}/finalize", json={"selectedPageIds": chosen})
        assert r.status_code == 200, r.text
        connected = r.json()["connected_accounts"]
        assert sorted(a["network_unique_id"] for a in connected) == sorted(chosen)
        assert [a["id"] for a in r.json()["connectedAccounts"]] == [a["id"] for a in connected]
        account_ids = [a["id"] for a in connected]
    for account_id in account_ids:
        account = c.api.get(f"/social-accounts/{account_id}").json()
        assert set(account) == ACCOUNT_FIELDS and account["platform"] == platform
        assert (account["status"], account["tenant_id"]) == ("active", "user_42")
        assert account["social_network_id"] and account["scopes"]
    listed = c.api.get("/social-accounts", params={"platform": platform, "tenant_id": "user_42"}).json()["data"]
    assert {a["id"] for a in listed} >= set(account_ids)
    nuid = c.api.get(f"/social-accounts/{account_ids[0]}").json()["network_unique_id"]
    for name in ("network_unique_id", "networkUniqueId"):
        assert [a["id"] for a in c.api.get("/social-accounts", params={name: nuid}).json()["data"]] == account_ids[:1]
    # The gateway's own read model has them too, so posts can target them at once.
    assert _targetable(c, account_ids)


def _targetable(c: Customer, account_ids: list[str]) -> bool:
    """Whether the gateway knows the accounts as active: a draft to them is accepted, or refused by
    their platform's rules (a text draft to a platform that publishes nothing without media, or
    needs options): rules only a known account is judged by."""
    r = c.api.post("/posts", json={"content": "hi", "accounts": account_ids, "is_draft": True})
    if r.status_code == 201:
        return True
    assert r.status_code == 422, r.text
    problems = r.json()["error"]["details"].get("accounts")
    assert isinstance(problems, dict) and set(problems) == set(account_ids), r.text
    return all(p and p[0]["code"] != "unknown_account" for p in problems.values())


def _unknown_to_the_gateway(c: Customer, account_id: str) -> bool:
    """Whether posts may no longer target the account (gone, expired, or never there)."""
    r = c.api.post("/posts", json={"content": "x", "accounts": [account_id]})
    return r.status_code == 422 and r.json()["error"]["code"] == "unknown_account"


def test_refusals_replays_and_reuse(customer: Customer) -> None:
    c = customer
    register(c, "tiktok")
    c.env.sim.add_user("tiktok")
    c.env.sim.consent("tiktok", "deny")
    assert authorize(c, "tiktok") == {"status": "error", "error_code": "user_denied"}

    r = c.api.post("/social-networks/tiktok/auth-url", json={"redirect_uri": CUSTOMER})
    with c.env.browser() as browser:
        to_callback = browser.get(r.json()["auth_url"]).headers["location"]
        assert landing(browser.get(to_callback).headers["location"])["status"] == "connected"
        replay = browser.get(to_callback)
        assert landing(replay.headers["location"]) == {"status": "error", "error_code": "invalid_state"}
        forged = browser.get("/api/v1/connect/callback", params={"state": "forged", "code": "x"})
        assert forged.status_code == 400 and forged.headers["content-type"].startswith("text/html")
        assert "location" not in forged.headers

    for uri in (CUSTOMER + "/", "https://evil.test/steal", CUSTOMER + "?x=1"):
        for path, body in (
            ("/social-networks/tiktok/auth-url", {"redirect_uri": uri}),
            ("/connect-sessions", {"platform": "tiktok", "redirect_uri": uri}),
        ):
            r = c.api.post(path, json=body)
            assert r.status_code == 422 and r.json()["error"]["code"] == "redirect_uri_not_allowed", r.text

    newcomer = c.env.stack.new_org("newcomer")
    with c.env.api(newcomer.live_key) as fresh:
        fresh.post("/redirect-uris", json={"uri": CUSTOMER})
        r = fresh.post("/social-networks/pinterest/auth-url", json={"redirect_uri": CUSTOMER})
        assert r.status_code == 422 and r.json()["error"]["code"] == "no_credentials"

    register(c, "facebook")
    c.env.sim.add_user("facebook", pages=2)
    token = authorize(c, "facebook")["session"]
    pages = c.api.get(f"/social-accounts/pending/{token}").json()["available_pages"]
    with c.env.stack.client(c.org.test_key) as other_mode:
        assert other_mode.get(f"/social-accounts/pending/{token}").status_code == 404
    with c.env.stack.client() as anonymous:
        # The session token is the credential: the same pages without a key.
        seen = anonymous.get(f"/social-accounts/pending/{token}")
        assert seen.status_code == 200 and seen.json()["available_pages"] == pages
    for body, code in (
        ({"selected_page_ids": []}, "validation_error"),
        ({"selectedPageIds": ["nope"]}, "invalid_selection"),
    ):
        r = c.api.post(f"/social-accounts/pending/{token}/finalize", json=body)
        assert r.status_code == 422 and r.json()["error"]["code"] == code, r.text
    body = {"selected_page_ids": [pages[0]["id"]]}
    assert c.api.post(f"/social-accounts/pending/{token}/finalize", json=body).status_code == 200
    assert c.api.post(f"/social-accounts/pending/{token}/finalize", json=body).status_code == 404
    assert c.api.get(f"/social-accounts/pending/{token}").status_code == 404

    token = authorize(c, "facebook")["session"]
    sql(
        c.env.stack,
        "UPDATE connect.pending_sessions SET expires_at = now() - interval '1 second' WHERE consumed_at IS NULL",
    )
    assert c.api.get(f"/social-accounts/pending/{token}").status_code == 404


def _stored(c: Customer, account_id: str) -> tuple[str | None, str | None]:
    [row] = sql(c.env.stack, "SELECT * FROM connect.social_accounts WHERE id = $1", account_id)
    keyring = Keyring(c.env.stack.env["CRIER_ENCRYPTION_KEYS"])

    def open_(kind: str) -> str | None:
        sealed = row[f"{kind}_token_enc"]
        context = f"account:{row['org_id']}:{row['mode']}:{row['platform']}:{row['network_unique_id']}:{kind}"
        return None if sealed is None else keyring.decrypt(sealed, context.encode())

    return open_("access"), open_("refresh")


def test_reconnect_updates_in_place_and_keeps_the_refresh_token(customer: Customer) -> None:
    c = customer
    network = register(c, "x")
    c.env.sim.add_user("x", username="reconnecting")
    first = authorize(c, "x", tenant_id="t-re")["account_id"]
    access, refresh = _stored(c, first)
    assert access and refresh
    # This time the platform sends no refresh token (the app lost offline access).
    secret = f"cs_{secrets.token_urlsafe(24)}"
    c.env.secrets.add(secret)
    c.env.sim.add_app(
        "x", client_id=network["client_id"], client_secret=secret, redirect_uris=[c.env.callback], refresh_tokens=False
    )
    c.api.post("/social-networks", json={"platform": "x", "client_id": network["client_id"], "client_secret": secret})
    again = authorize(c, "x", tenant_id="t-re")["account_id"]
    assert again == first
    account = c.api.get(f"/social-accounts/{again}").json()
    assert account["status"] == "active" and account["created_at"] < account["updated_at"]
    new_access, kept_refresh = _stored(c, again)
    assert new_access != access and kept_refresh == refresh


def test_hosted_session_in_test_mode_with_crier_consent_page(customer: Customer) -> None:
    c = customer
    r = c.test_api.post(
        "/connect-sessions", json={"platform": "linkedin", "redirect_uri": CUSTOMER, "tenant_id": "hosted-1"}
    )
    assert r.status_code == 201, r.text
    session = r.json()
    assert session["status"] == "pending"
    assert session["connect_url"].startswith(f"{c.env.stack.api_url}/connect/start?session=")
    with c.env.browser() as browser:
        start = browser.get(session["connect_url"])
        assert start.status_code == 200 and "Continue to LinkedIn" in start.text
        assert start.headers["x-frame-options"] == "DENY" and start.headers["cache-control"] == "no-store"
        token = session["connect_url"].split("session=", 1)[1]
        forged = browser.post("/connect/start", data={"csrf": "guess", "session": token})
        assert forged.status_code == 400  # the form's value does not match the page's cookie
        consent = follow(browser, submit(browser, start).headers["location"])
        assert consent.status_code == 200 and "Approve" in consent.text and "Deny" in consent.text
        chooser = follow(browser, submit(browser, consent, decision="approve").headers["location"])
        assert chooser.status_code == 200 and 'type="checkbox"' in chooser.text
        polled = c.test_api.get(f"/connect-sessions/{session['id']}").json()
        assert polled["status"] == "pending_selection"
        [form] = Forms(chooser.text).forms
        options = [v for n, v, kind in form["inputs"] if n == "page_id"]
        assert submit(browser, chooser).status_code == 422  # nothing chosen: the form again
        done = submit(browser, chooser, page_id=options[:1])
        params = landing(done.headers["location"])
    assert params["status"] == "connected" and params["connect_session_id"] == session["id"]
    polled = c.test_api.get(f"/connect-sessions/{session['id']}").json()
    assert polled["status"] == "connected" and polled["account_ids"] == [params["account_id"]]
    account = c.test_api.get(f"/social-accounts/{params['account_id']}").json()
    assert account["tenant_id"] == "hosted-1" and account["status"] == "active"
    assert c.api.get(f"/social-accounts/{params['account_id']}").status_code == 404  # live keys never see it
    post = c.test_api.post("/posts", json={"content": "hello", "accounts": [params["account_id"]]})
    assert post.status_code == 201, post.text
    user = c.test_api.get("/end-users/hosted-1").json()
    assert user["connection_summary"] == {"total": 1, "connected": 1, "failed": 0}

    with c.env.browser() as browser:
        assert browser.get(session["connect_url"]).status_code == 410  # finished
        late = c.test_api.post("/connect-sessions", json={"platform": "x", "redirect_uri": CUSTOMER}).json()
        sql(
            c.env.stack,
            "UPDATE connect.connect_sessions SET expires_at = now() - interval '1 second' WHERE id = $1",
            late["id"],
        )
        assert browser.get(late["connect_url"]).status_code == 410
        assert c.test_api.get(f"/connect-sessions/{late['id']}").json()["status"] == "expired"
        denied = c.test_api.post("/connect-sessions", json={"platform": "x", "redirect_uri": CUSTOMER}).json()
        start = browser.get(denied["connect_url"])
        consent = follow(browser, submit(browser, start).headers["location"])
        refused = follow(browser, submit(browser, consent, decision="deny").headers["location"])
        assert landing(refused.headers["location"])["error_code"] == "user_denied"
    polled = c.test_api.get(f"/connect-sessions/{denied['id']}").json()
    assert (polled["status"], polled["error_code"]) == ("failed", "user_denied")


def _near_expiry(c: Customer, account_id: str) -> None:
    sql(
        c.env.stack,
        "UPDATE connect.social_accounts SET token_expires_at = now() + interval '2 minutes' WHERE id = $1",
        account_id,
    )


def _expires_at(c: Customer, account_id: str) -> datetime:
    [row] = sql(c.env.stack, "SELECT token_expires_at FROM connect.social_accounts WHERE id = $1", account_id)
    return row["token_expires_at"]


def test_tokens_are_refreshed_before_they_expire(customer: Customer) -> None:
    c = customer
    register(c, "youtube")
    c.env.sim.add_user("youtube")
    account_id = authorize(c, "youtube")["account_id"]
    _, refresh = _stored(c, account_id)
    _near_expiry(c, account_id)
    wait_for(
        lambda: _expires_at(c, account_id) > datetime.now(UTC) + timedelta(minutes=30),
        timeout=20,
        what="the background refresher to renew the token",
    )
    assert _stored(c, account_id)[1] == refresh  # Google does not resend it; the stored one stays
    health = c.api.get(f"/social-accounts/{account_id}/health").json()
    assert health["healthy"] and health["checked_live"] and health["status"] == "active"


def test_revoked_grant_expires_the_account_and_a_transient_failure_does_not(customer: Customer) -> None:
    c = customer
    register(c, "pinterest")
    user = c.env.sim.add_user("pinterest")
    account_id = authorize(c, "pinterest")["account_id"]
    try:
        c.env.sim.fault("pinterest", "token", "unavailable", times=2)
        c.env.sim.fault("pinterest", "user_account", "server_error", times=1)
        _near_expiry(c, account_id)
        health = c.api.get(f"/social-accounts/{account_id}/health").json()
        assert not health["healthy"] and health["error_code"] == "platform_unavailable"
        assert health["status"] == "active"
        assert c.api.get(f"/social-accounts/{account_id}").json()["status"] == "active"
    finally:
        c.env.sim.clear_faults()

    c.env.sim.revoke_grants("pinterest", user["id"])
    sql(c.env.stack, "UPDATE connect.social_accounts SET refresh_claimed_until = NULL WHERE id = $1", account_id)
    health = c.api.get(f"/social-accounts/{account_id}/health").json()
    assert (health["status"], health["error_code"], health["healthy"]) == ("token_expired", "token_expired", False)
    # account.token_expired reaches the gateway's read model: no new post may target the account.
    wait_for(
        lambda: _unknown_to_the_gateway(c, account_id),
        what="the gateway to stop accepting posts for an expired account",
    )
    assert c.api.get(f"/social-accounts/{account_id}").json()["status"] == "token_expired"


def test_disconnect_and_end_users(customer: Customer) -> None:
    c = customer
    r = c.api.post(
        "/end-users",
        json={
            "external_user_id": "eu-1",
            "display_name": "Alex",
            "email": "a@example.com",
            "metadata": {"plan": "pro"},
        },
    )
    assert r.status_code == 200 and r.json()["id"] == "eu-1"
    register(c, "threads")
    c.env.sim.add_user("threads")
    threads_id = authorize(c, "threads", tenant_id="eu-1")["account_id"]
    register(c, "mastodon")
    c.env.sim.add_user("mastodon")
    mastodon_id = authorize(c, "mastodon", tenant_id="eu-1")["account_id"]
    user = c.api.get("/end-users/eu-1").json()
    assert user["metadata"] == {"plan": "pro"} and user["connection_summary"]["connected"] == 2
    assert {a["id"] for a in c.api.get("/end-users/eu-1/connections").json()["data"]} == {threads_id, mastodon_id}
    gone = c.api.delete("/end-users/eu-1/connections/threads").json()
    assert gone["disconnected_account_ids"] == [threads_id]
    assert c.api.delete(f"/social-accounts/{mastodon_id}").json() == {"id": mastodon_id, "deleted": True}
    assert c.api.get(f"/social-accounts/{mastodon_id}").status_code == 404
    assert c.api.delete(f"/social-accounts/{mastodon_id}").status_code == 404
    assert c.api.get("/end-users/eu-1").json()["connection_summary"]["total"] == 0
    assert mastodon_id not in {a["id"] for a in c.api.get("/social-accounts").json()["data"]}
    assert _unknown_to_the_gateway(c, mastodon_id)
    assert c.api.get("/end-users/nobody").status_code == 404


def test_apps_and_allowlist_management(customer: Customer) -> None:
    c = customer
    network = register(c, "tiktok")
    listed = c.api.get("/social-networks").json()["data"]
    assert network["id"] in {n["id"] for n in listed} and all("client_secret" not in n for n in listed)
    assert c.api.get(f"/social-networks/{network['id']}").json()["platform"] == "tiktok"
    assert c.api.delete(f"/social-networks/{network['id']}").json() == {"id": network["id"], "deleted": True}
    assert c.api.get(f"/social-networks/{network['id']}").status_code == 404
    entry = c.api.post("/redirect-uris", json={"uri": "https://customer.test/other"}).json()
    assert entry["uri"] in {u["uri"] for u in c.api.get("/redirect-uris").json()["data"]}
    assert c.api.delete(f"/redirect-uris/{entry['id']}").status_code == 200
    assert c.api.post("/redirect-uris", json={"uri": "javascript:alert(1)"}).status_code == 422
    with c.env.stack.client(c.org.test_key) as other_mode:
        assert other_mode.get(f"/social-networks/{network['id']}").status_code == 404


def _ask_tokens(c: Customer, account_id: str, rejected: list[str | None]) -> list[api.AccountToken | RpcError]:
    """The publisher's question, asked over the bus as often as `rejected` has entries, all at once."""

    async def ask() -> list[api.AccountToken | RpcError]:
        bus = await Bus.connect(c.env.stack.env["CRIER_NATS_URL"], namespace=c.env.stack.namespace)

        async def one(refused: str | None) -> api.AccountToken | RpcError:
            sha = None if refused is None else hashlib.sha256(refused.encode()).hexdigest()
            request = api.TokenRequest(org_id=c.org.id, mode="live", account_id=account_id, rejected_sha256=sha)
            try:
                return await rpc.call(bus, api.ACCOUNTS_TOKEN, request, api.AccountToken, timeout=30)
            except rpc.RpcFailure as failure:
                return failure.error

        try:
            return list(await asyncio.gather(*(one(r) for r in rejected)))
        finally:
            await bus.close()

    return asyncio.run(ask())


def test_the_publisher_gets_the_current_token_over_the_bus(customer: Customer) -> None:
    c = customer
    register(c, "x")
    user = c.env.sim.add_user("x", username="tokened")
    account_id = authorize(c, "x", tenant_id="t-token")["account_id"]
    [first] = _ask_tokens(c, account_id, [None])
    assert isinstance(first, api.AccountToken) and first.access_token == _stored(c, account_id)[0]
    assert (first.platform, first.network_unique_id, first.username) == ("x", user["id"], "tokened")

    # The platform refuses the token: two deliveries ask at once, and it is renewed once.
    c.env.sim.expire_tokens("x", user["id"])
    renewals = len(c.env.sim.requests("x", "token"))
    both = _ask_tokens(c, account_id, [first.access_token, first.access_token])
    assert all(isinstance(t, api.AccountToken) for t in both), both
    assert len({t.access_token for t in both if isinstance(t, api.AccountToken)}) == 1
    renewed = both[0]
    assert isinstance(renewed, api.AccountToken) and renewed.access_token != first.access_token
    assert len(c.env.sim.requests("x", "token")) == renewals + 1
    assert renewed.access_token == _stored(c, account_id)[0]

    # The user removes the app: the account's grant is gone, and everyone hears of it.
    c.env.sim.revoke_grants("x", user["id"])
    [gone] = _ask_tokens(c, account_id, [renewed.access_token])
    assert isinstance(gone, RpcError) and (gone.kind, gone.code) == ("gone", "account_token_expired")
    assert c.api.get(f"/social-accounts/{account_id}").json()["status"] == "token_expired"

    def announced() -> list[Any]:
        events = c.api.get("/events", params={"type": "account.token_expired"}).json()["data"]
        return [e for e in events if e["data"]["account_id"] == account_id]

    wait_for(announced, what="account.token_expired in the event feed")
    wait_for(
        lambda: _unknown_to_the_gateway(c, account_id),
        what="the gateway to stop accepting posts for the expired account",
    )
    c.api.delete(f"/social-accounts/{account_id}")
    [disconnected] = _ask_tokens(c, account_id, [None])
    assert isinstance(disconnected, RpcError) and disconnected.code == "account_disconnected"


def test_no_plaintext_secret_anywhere(env: Env, customer: Customer) -> None:
    """Runs last: every client secret, app password and every token the platforms ever issued."""
    secrets_ = set(env.secrets) | {t.value for t in env.world.tokens.values()}
    assert len(secrets_) > 30
    columns = sql(
        env.stack,
        "SELECT table_schema, table_name, column_name FROM information_schema.columns "
        "WHERE table_schema NOT IN ('pg_catalog', 'information_schema') "
        "AND data_type IN ('text', 'character varying', 'jsonb', 'json', 'bytea')",
    )
    assert any(r["table_schema"] == "connect" for r in columns)
    dump = []
    for r in columns:
        rows = sql(env.stack, f'SELECT "{r["column_name"]}"::text AS v FROM "{r["table_schema"]}"."{r["table_name"]}"')
        dump += [row["v"] for row in rows if row["v"]]
    database = "\n".join(dump)
    assert "k1:" in database  # the sealed values are there, as ciphertext
    logs = "\n".join(p.read_text(errors="replace") for p in Path(env.stack.log_dir).glob("*.log"))
    responses = "\n".join(env.seen.texts)
    assert len(responses) > 10_000 and "connect.social_accounts" not in logs
    for secret in secrets_:
        assert secret not in database, "a plaintext secret is stored"
        assert secret not in logs, "a plaintext secret is logged"
        assert secret not in responses, "a plaintext secret was sent to a client"
