"""The operator console over HTTP: signing in with an admin key, the session cookie, CSRF, and what
an organization sees (its own posts, in the mode it chose, filtered as asked)."""

from __future__ import annotations

import base64
import re
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from crier.contracts import events as contract
from crier.gateway.entrypoints import admin
from tests.gateway.conftest import Gateway, Org
from tests.support.stack import wait_for

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Console:
    """A browser-like client of the console: cookies kept, redirects not followed, and the
    session's CSRF token read from the forms the pages render."""

    def __init__(self, api_url: str) -> None:
        self.http = httpx.Client(base_url=f"{api_url}/console", follow_redirects=False, timeout=15)

    def __enter__(self) -> Console:
        return self

    def __exit__(self, *_: Any) -> None:
        self.http.close()

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.http.get(path, params=params)

    def csrf(self, page: str = "/posts") -> str:
        found = CSRF.search(self.get(page).text)
        assert found, f"no CSRF token on {page}"
        return found.group(1)

    def sign_in(self, key: str) -> httpx.Response:
        token = self.csrf("/sign-in")
        return self.http.post("/sign-in", data={"api_key": key, "csrf_token": token})

    def submit(self, path: str, fields: list[tuple[str, str]], *, csrf: bool = True) -> httpx.Response:
        """A form post; with `csrf`, the token from the session's own pages."""
        pairs = [*fields, ("csrf_token", self.csrf())] if csrf else fields
        form: dict[str, list[str]] = {}
        for name, value in pairs:
            form.setdefault(name, []).append(value)
        return self.http.post(path, data=form)


def signed_in(gateway: Gateway, key: str) -> Console:
    console = Console(gateway.api_url)
    r = console.sign_in(key)
    assert (r.status_code, r.headers.get("location")) == (303, "/console/posts"), r.text
    return console


def create_post(org: Org, content: str, *accounts: str) -> dict[str, Any]:
    with org.test() as api:
        r = api.post("/posts", json={"content": content, "accounts": list(accounts), "is_draft": True})
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_an_admin_key_signs_in_to_a_strict_http_only_session_that_holds_no_key(gateway: Gateway, org: Org) -> None:
    with Console(gateway.api_url) as console:
        r = console.get("/posts")
        assert (r.status_code, r.headers["location"]) == (303, "/console/sign-in")
        r = console.sign_in(org.live_key)
        assert r.status_code == 303, r.text
        cookie = r.headers["set-cookie"]
        flags = {f.strip().split("=")[0].lower(): f.strip() for f in cookie.split(";")[1:]}
        assert "httponly" in flags and flags["samesite"].lower() == "samesite=strict"
        assert flags["path"] == "Path=/console"
        assert "secure" not in flags  # served over plain http here; https sets it (see session.py)
        value = cookie.split(";", 1)[0]
        assert org.live_key not in value and org.live_key.split("_", 2)[2][:16] not in value
        page = console.get("/posts")
        assert page.status_code == 200 and org.id in page.text
        csp = page.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert page.headers["cache-control"] == "no-store"
        # htmx is served by the gateway itself, with its licence.
        script = console.get("/static/htmx.min.js")
        assert script.status_code == 200 and "htmx" in script.text[:2000]
        assert console.get("/static/htmx-LICENSE.txt").status_code == 200


def test_invalid_and_non_admin_keys_are_refused(gateway: Gateway, org: Org) -> None:
    viewer = admin.create_api_key(gateway.database_url, org=org.id, name="viewer", mode="live", scopes=["view"])
    with Console(gateway.api_url) as console:
        r = console.sign_in(f"sk_live_{secrets.token_urlsafe(32)}")
        assert r.status_code == 401 and "not valid" in r.text
        r = console.sign_in(viewer["key"])
        assert r.status_code == 403 and "admin" in r.text
        assert console.get("/posts").status_code == 303


def test_a_form_without_the_session_csrf_token_is_refused(gateway: Gateway, org: Org) -> None:
    with Console(gateway.api_url) as console:
        # Signing in needs the sign-in page's token too.
        r = console.http.post("/sign-in", data={"api_key": org.live_key})
        assert r.status_code == 403 and console.get("/posts").status_code == 303
    with signed_in(gateway, org.live_key) as console:
        r = console.submit("/sign-out", [])
        assert r.status_code == 303
    with signed_in(gateway, org.live_key) as console:
        for fields in ([], [("csrf_token", "x" * 43)]):
            r = console.submit("/sign-out", fields, csrf=False)
            assert r.status_code == 403 and "Nothing was changed" in r.text
        assert console.get("/posts").status_code == 200
        # Another session's token does not do either.
        with signed_in(gateway, org.live_key) as other:
            r = console.submit("/mode", [("mode", "test"), ("csrf_token", other.csrf())], csrf=False)
        assert r.status_code == 403 and "Viewing <strong>live</strong>" in console.get("/posts").text
        # A JSON body is no form: refused however it is spelt.
        r = console.http.post("/sign-out", json={"csrf_token": console.csrf()})
        assert r.status_code == 403


def test_revoking_the_key_ends_its_console_sessions(gateway: Gateway, org: Org) -> None:
    spare = admin.create_api_key(gateway.database_url, org=org.id, name="spare", mode="live", scopes=None)
    with signed_in(gateway, spare["key"]) as console:
        assert console.get("/posts").status_code == 200
        with org.live() as api:
            assert api.delete(f"/api-keys/{spare['id']}").status_code == 200
        r = console.get("/posts")
        assert (r.status_code, r.headers["location"]) == (303, "/console/sign-in")


def test_an_organization_sees_only_its_own_posts_in_the_mode_it_chose(gateway: Gateway, sandbox: Org) -> None:
    mine = create_post(sandbox, "ours", sandbox.accounts["x"])
    other = gateway.new_org("other")
    other.accounts["x"] = gateway.sandbox_account(other, "x")["id"]
    theirs = create_post(other, "theirs", other.accounts["x"])
    with signed_in(gateway, sandbox.test_key) as console:
        listed = console.get("/posts").text
        assert mine["id"] in listed and theirs["id"] not in listed
        assert console.get(f"/posts/{mine['id']}").status_code == 200
        r = console.get(f"/posts/{theirs['id']}")
        assert r.status_code == 404 and "theirs" not in r.text
        # A test key cannot look at live data.
        assert console.submit("/mode", [("mode", "live")]).status_code == 403
    with signed_in(gateway, sandbox.live_key) as console:
        assert mine["id"] not in console.get("/posts").text
        assert console.submit("/mode", [("mode", "test")]).status_code == 303
        assert mine["id"] in console.get("/posts").text


def test_posts_are_filtered_by_platform_tenant_status_and_time(gateway: Gateway, sandbox: Org) -> None:
    on_x = create_post(sandbox, "to x", sandbox.accounts["x"])
    on_linkedin = create_post(sandbox, "to linkedin", sandbox.accounts["linkedin"])
    with signed_in(gateway, sandbox.test_key) as console:

        def listed(**filters: str) -> set[str]:
            page = console.get("/posts", **filters)
            assert page.status_code == 200, page.text
            return {p for p in (on_x["id"], on_linkedin["id"]) if p in page.text}

        assert listed() == {on_x["id"], on_linkedin["id"]}
        assert listed(platform="x") == {on_x["id"]}
        assert listed(tenant_id="tenant-2") == {on_linkedin["id"]}
        assert listed(status="draft") == {on_x["id"], on_linkedin["id"]}
        assert listed(status="published") == set()
        assert listed(created_before="2020-01-01T00:00") == set()
        assert listed(created_after="2020-01-01T00:00") == {on_x["id"], on_linkedin["id"]}
        refused = console.get("/posts", created_after="yesterday")
        assert refused.status_code == 400 and "created_after" in refused.text


def test_pages_that_other_services_answer_say_so_when_they_are_away(gateway: Gateway, sandbox: Org) -> None:
    """This gateway runs without connect (but for sandbox accounts) and without webhooks."""
    with signed_in(gateway, sandbox.test_key) as console:
        hooks = console.get("/webhooks")
        assert hooks.status_code == 503 and "webhooks service is not answering" in hooks.text
        accounts = console.get("/accounts")
        assert accounts.status_code == 200 and "gateway's own copy" in accounts.text
        assert sandbox.accounts["x"] in accounts.text
        live = console.get("/live")
        assert live.status_code == 200 and "Waiting for a publisher" in live.text


def test_the_cookie_is_secure_behind_https_and_readable_by_every_replica() -> None:
    from crier.gateway.entrypoints.http.console.session import session_config
    from crier.gateway.settings import GatewaySettings
    from crier.kit.crypto import Keyring

    keys = Keyring.generate_spec()
    https = session_config(GatewaySettings(public_url="https://crier.example", encryption_keys=keys))
    http = session_config(GatewaySettings(public_url="http://127.0.0.1:8080", encryption_keys=keys))
    assert (https.secure, http.secure) == (True, False)
    # Derived from the installation's encryption key, not the key itself: every replica agrees.
    assert https.secret == http.secret and len(https.secret) == 32
    assert https.secret != base64.b64decode(keys.split(":", 1)[1])
    other = session_config(GatewaySettings(encryption_keys=Keyring.generate_spec()))
    assert other.secret != https.secret


def sent(gateway: Gateway, org: Org, post: dict[str, Any], index: int, kind: type, **fields: Any) -> None:
    """A publisher's report on one target of a sandbox post, as the bus carries it."""
    target = post["targets"][index]
    fields.setdefault("occurred_at", datetime.now(UTC))
    gateway.driver.publish(
        kind(
            id=str(uuid.uuid4()),
            org_id=org.id,
            mode="test",
            post_id=post["id"],
            target_id=target["id"],
            platform=target["platform"],
            **fields,
        )
    )


def due_post(org: Org, *accounts: str) -> dict[str, Any]:
    """A post to go out at once: its targets are queued from the start."""
    with org.test() as api:
        r = api.post("/posts", json={"content": "due", "accounts": list(accounts)})
    assert r.status_code == 201, r.text
    return dict(r.json())


FIGURE = re.compile(r'data-platform="([a-z_]+)" data-figure="([a-z -]+)">(\d+)<')


def live_figures(console: Console) -> dict[tuple[str, str], int]:
    """Every non-zero figure of the live panel, by (platform, column)."""
    panel = console.get("/live/panel")
    assert panel.status_code == 200 and 'id="live-panel"' in panel.text and "<html" not in panel.text
    return {(p, f): int(n) for p, f, n in FIGURE.findall(panel.text) if int(n)}


def settled(console: Console, want: dict[tuple[str, str], int]) -> None:
    """Wait for the reports to be recorded and the panel to show `want`; failing, show the difference."""
    seen: list[dict[tuple[str, str], int]] = []
    try:
        wait_for(lambda: seen.append(live_figures(console)) or seen[-1] == want, what="the organization's figures")
    except AssertionError:
        assert seen[-1] == want


def test_the_live_view_shows_each_organization_only_its_own_waiting_targets_and_last_minute(
    gateway: Gateway, sandbox: Org
) -> None:
    """Two organizations at work at once, each with its own figures; a report older than a minute
    and the other mode count for nobody."""
    ours = sandbox
    x, linkedin = ours.accounts["x"], ours.accounts["linkedin"]
    both = due_post(ours, x, linkedin)  # x stays queued; linkedin goes on to publishing
    sent(gateway, ours, both, 1, contract.TargetPublishing, attempt=1)
    retried = due_post(ours, x)
    sent(
        gateway,
        ours,
        retried,
        0,
        contract.TargetAttemptFailed,
        attempt=1,
        error_code="e",
        error_message="503",
        retry_in_seconds=30,
    )
    sent(gateway, ours, due_post(ours, linkedin), 0, contract.TargetPublished, attempt=1, platform_post_id="p1")
    long_ago = datetime.now(UTC) - timedelta(minutes=2)
    sent(
        gateway,
        ours,
        due_post(ours, x),
        0,
        contract.TargetPublished,
        attempt=1,
        platform_post_id="p0",
        occurred_at=long_ago,
    )
    create_post(ours, "a draft waits for nobody", x)

    theirs = gateway.new_org("other")
    their_x = gateway.sandbox_account(theirs, "x")["id"]
    their_bluesky = gateway.sandbox_account(theirs, "bluesky")["id"]
    due_post(theirs, their_x)
    due_post(theirs, their_x)
    sent(
        gateway,
        theirs,
        due_post(theirs, their_bluesky),
        0,
        contract.TargetDeadLettered,
        attempt=5,
        error_code="e",
        error_message="503",
    )
    sent(
        gateway,
        theirs,
        due_post(theirs, their_x),
        0,
        contract.TargetFailed,
        attempt=1,
        error_code="e",
        error_message="400",
    )

    expected = {
        ours.id: {
            ("x", "queued"): 1,
            ("x", "retrying"): 1,
            ("x", "attempt failed"): 1,
            ("linkedin", "publishing"): 1,
            ("linkedin", "published"): 1,
        },
        theirs.id: {("x", "queued"): 2, ("bluesky", "dead-lettered"): 1, ("x", "failed"): 1},
    }
    for org in (ours, theirs):
        with signed_in(gateway, org.test_key) as console:
            settled(console, expected[org.id])
            page = console.get("/live").text
            assert "The installation's queues" in page and "crier_consumer_pending_messages" in page
        with signed_in(gateway, org.live_key) as console:
            assert live_figures(console) == {}
            assert "Nothing waiting." in console.get("/live/panel").text
