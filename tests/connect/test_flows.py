"""The OAuth flow's use cases against the real providers and the platform simulator: single
accounts, page selection, refusals, replays, expiry, credentials, reconnects."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import httpx
import msgspec
import pytest

from crier.connect.adapters.providers import Providers
from crier.connect.domain.seals import token_context
from crier.connect.handlers import apps, flows, pending, sessions, signin
from crier.contracts import connect as api
from crier.contracts.events import AccountConnected
from crier.kit.errors import Failure
from crier.platforms.base import PlatformSettings

from .conftest import CUSTOMER, Harness, app_passwords, landing, with_settings


async def _account(h: Harness, account_id: str):  # type: ignore[no-untyped-def]
    [row] = await h.rows("SELECT * FROM social_accounts WHERE id = :i", i=account_id)
    return row


def _open(h: Harness, row, kind: str) -> str | None:  # type: ignore[no-untyped-def]
    return h.ctx.vault.open(
        getattr(row, f"{kind}_token_enc"),
        token_context(row.org_id, row.mode, row.platform, row.network_unique_id, kind),
    )


async def test_single_account_connects_at_once_with_sealed_tokens(harness: Harness) -> None:
    h = harness
    org = await h.org()
    await h.byok(org, "x")
    user = h.sim.add_user("x", username="acme")
    auth_url = await h.start(org, "x")
    assert "code_challenge=" in auth_url and "code_verifier" not in auth_url
    params = landing(await flows.callback(h.ctx, await h.authorize(auth_url)))
    assert params["status"] == "connected" and set(params) == {"status", "account_id"}
    row = await _account(h, params["account_id"])
    assert (row.username, row.network_unique_id, row.tenant_id, row.status) == ("acme", user["id"], "user_1", "active")
    assert row.social_network_id == org.apps["x"].id and row.token_expires_at is not None
    assert not row.access_token_enc.startswith(("sim", "x")) and _open(h, row, "access")
    assert _open(h, row, "refresh")
    events = [msgspec.json.decode(p, type=AccountConnected) for p in await h.outbox("evt.account.connected")]
    assert any(e.account_id == row.id and e.tenant_id == "user_1" for e in events)
    assert await h.rows("SELECT 1 FROM end_users WHERE org_id = :o AND external_user_id = 'user_1'", o=org.id)


async def test_page_selection_is_single_use_and_checked(harness: Harness) -> None:
    h = harness
    org = await h.org()
    await h.byok(org, "facebook")
    h.sim.add_user("facebook", pages=3)
    params = await h.connect(org, "facebook")
    assert params["status"] == "pending" and params["session"]
    token = params["session"]
    view = await pending.pending_view(h.ctx, api.PendingRef(**org.scoped(), token=token))
    assert view.network == "facebook" and len(view.available_pages) == 3
    assert {p.type for p in view.available_pages} == {"page"}
    other = await h.org()
    with pytest.raises(Failure) as stranger:
        await pending.pending_view(h.ctx, api.PendingRef(**other.scoped(), token=token))
    assert stranger.value.kind == "not_found"
    for bad, code in (([], "validation_error"), (["not-offered"], "invalid_selection")):
        with pytest.raises(Failure) as refused:
            await pending.finalize(h.ctx, api.PendingFinalize(**org.scoped(), token=token, selected_page_ids=bad))
        assert refused.value.code == code and refused.value.kind == "invalid"
        assert refused.value.details["fields"][0]["field"] == "selected_page_ids"
    chosen = [p.id for p in view.available_pages[:2]]
    done = await pending.finalize(h.ctx, api.PendingFinalize(**org.scoped(), token=token, selected_page_ids=chosen))
    assert sorted(a.network_unique_id for a in done.connected_accounts) == sorted(chosen)
    page = await _account(h, done.connected_accounts[0].id)
    assert page.account_type == "page" and page.refresh_token_enc is None and _open(h, page, "access")
    with pytest.raises(Failure) as reused:
        await pending.finalize(h.ctx, api.PendingFinalize(**org.scoped(), token=token, selected_page_ids=chosen))
    assert reused.value.kind == "not_found"
    [spent] = await h.rows(
        "SELECT grant_enc, consumed_at FROM pending_sessions WHERE consumed_at IS NOT NULL AND org_id = :o", o=org.id
    )
    assert spent.grant_enc == ""


async def test_pending_session_expires(harness: Harness) -> None:
    h = harness
    org = await h.org()
    await h.byok(org, "linkedin")
    h.sim.add_user("linkedin", pages=1)
    token = (await h.connect(org, "linkedin"))["session"]
    h.clock.offset = timedelta(seconds=h.ctx.settings.pending_session_ttl_s + 1)
    with pytest.raises(Failure) as expired:
        await pending.pending_view(h.ctx, api.PendingRef(**org.scoped(), token=token))
    assert expired.value.kind == "not_found"


async def test_denied_replayed_unknown_and_expired_states(harness: Harness) -> None:
    h = harness
    org = await h.org()
    await h.byok(org, "tiktok")
    h.sim.add_user("tiktok")
    h.sim.consent("tiktok", "deny")
    denied = await h.authorize(await h.start(org, "tiktok"))
    assert landing(await flows.callback(h.ctx, denied)) == {"status": "error", "error_code": "user_denied"}

    callback = await h.authorize(await h.start(org, "tiktok"))
    assert landing(await flows.callback(h.ctx, callback))["status"] == "connected"
    assert landing(await flows.callback(h.ctx, callback)) == {"status": "error", "error_code": "invalid_state"}

    unknown = await flows.callback(h.ctx, api.Callback(state="forged", code="x"))
    assert unknown.location is None and unknown.page and unknown.page.status == 400
    assert (await flows.callback(h.ctx, api.Callback(code="x"))).page is not None

    late = await h.authorize(await h.start(org, "tiktok"))
    h.clock.offset = timedelta(seconds=h.ctx.settings.oauth_state_ttl_s + 1)
    assert landing(await flows.callback(h.ctx, late))["error_code"] == "invalid_state"


async def test_exchange_failure_redirects_with_exchange_failed(harness: Harness) -> None:
    h = harness
    org = await h.org()
    await h.byok(org, "pinterest")
    h.sim.add_user("pinterest")
    callback = await h.authorize(await h.start(org, "pinterest"))
    h.sim.fault("pinterest", "token", "server_error")
    assert landing(await flows.callback(h.ctx, callback)) == {"status": "error", "error_code": "exchange_failed"}


async def test_redirects_must_be_allowlisted_exactly(harness: Harness) -> None:
    h = harness
    org = await h.org()
    await h.byok(org, "x")
    for uri in (CUSTOMER + "/", CUSTOMER + "?next=https://evil.test", "https://customer.test", "https://evil.test"):
        for start in (
            flows.auth_url(h.ctx, api.AuthUrlRequest(**org.scoped(), platform="x", redirect_uri=uri)),
            sessions.create(h.ctx, api.SessionCreate(**org.scoped(), platform="x", redirect_uri=uri)),
        ):
            with pytest.raises(Failure) as refused:
                await start
            assert refused.value.code == "redirect_uri_not_allowed" and refused.value.kind == "invalid"
    for bad in ("javascript:alert(1)", "https://customer.test/#frag", "/relative", " https://x.test"):
        with pytest.raises(Failure):
            await apps.add_redirect_uri(h.ctx, api.RedirectUriAdd(**org.scoped(), uri=bad))


async def test_credentials_byok_then_managed_then_none(harness: Harness) -> None:
    h = harness
    org = await h.org()
    with pytest.raises(Failure) as none:
        await h.start(org, "threads")
    assert none.value.code == "no_credentials"
    h.sim.add_app(
        "threads",
        client_id="managed-threads",
        client_secret="managed-secret",
        redirect_uris=[h.ctx.settings.callback_url],
    )
    managed = with_settings(
        h, managed_threads_client_id="managed-threads", managed_threads_client_secret="managed-secret"
    )
    assert "client_id=managed-threads" in await managed.start(org, "threads")
    h.sim.add_user("threads")
    params = await managed.connect(org, "threads")
    assert (await _account(h, params["account_id"])).social_network_id is None
    network = await h.byok(org, "threads")
    assert f"client_id={network.client_id}" in await managed.start(org, "threads")
    [stored] = await h.rows("SELECT client_secret_enc FROM social_networks WHERE id = :i", i=network.id)
    assert "secret-" not in stored.client_secret_enc


async def test_reconnect_updates_in_place_and_keeps_the_refresh_token(harness: Harness) -> None:
    h = harness
    org = await h.org()
    network = await h.byok(org, "linkedin")
    h.sim.add_user("linkedin", pages=0)
    first = await _account(h, (await h.connect(org, "linkedin", tenant_id="t1"))["account_id"])
    refresh_token = _open(h, first, "refresh")
    assert refresh_token
    # The platform stops sending refresh tokens to this app: a reconnect brings only a new access token.
    h.sim.add_app(
        "linkedin",
        client_id=network.client_id,
        client_secret="unchanged-by-crier",
        redirect_uris=[h.ctx.settings.callback_url],
        refresh_tokens=False,
    )
    await apps.upsert(
        h.ctx,
        api.NetworkUpsert(
            **org.scoped(), platform="linkedin", client_id=network.client_id, client_secret="unchanged-by-crier"
        ),
    )
    again = await _account(h, (await h.connect(org, "linkedin", tenant_id=None))["account_id"])
    assert again.id == first.id and again.status == "active" and again.tenant_id == "t1"
    assert _open(h, again, "access") != _open(h, first, "access")
    assert _open(h, again, "refresh") == refresh_token
    assert again.created_at == first.created_at and again.updated_at > first.updated_at


async def test_hosted_session_lifecycle(harness: Harness) -> None:
    h = harness
    org = await h.org()
    await h.byok(org, "google_business")
    h.sim.add_user("google_business", pages=2, accounts=1)
    created = await sessions.create(
        h.ctx, api.SessionCreate(**org.scoped(), platform="google_business", redirect_uri=CUSTOMER, tenant_id="u9")
    )
    assert created.status == "pending" and created.connect_url
    assert created.connect_url.startswith(f"{h.ctx.public_url}/connect/start?session=")
    token = created.connect_url.split("session=", 1)[1]
    assert (await sessions.hosted_open(h.ctx, api.HostedToken(token=token))).platform == "google_business"
    begun = await sessions.hosted_begin(h.ctx, api.HostedToken(token=token))
    outcome = await flows.callback(h.ctx, await h.authorize(begun.auth_url))
    assert outcome.location and outcome.location.startswith(f"{h.ctx.public_url}/connect/select?session=")
    pending_token = outcome.location.split("session=", 1)[1]
    polled = await sessions.get(h.ctx, api.SessionRef(**org.scoped(), id=created.id))
    assert polled.status == "pending_selection"
    with pytest.raises(Failure):  # the hosted form's token is not usable without the API key elsewhere
        await pending.pending_view(h.ctx, api.PendingRef(org_id="someone", mode="live", token=pending_token))
    view = await pending.hosted_pending_view(h.ctx, api.HostedToken(token=pending_token))
    picked = view.available_pages[0].id
    done = await pending.hosted_select(h.ctx, api.HostedSelect(token=pending_token, selected_page_ids=[picked]))
    params = landing(done)
    assert params["status"] == "connected" and params["connect_session_id"] == created.id
    polled = await sessions.get(h.ctx, api.SessionRef(**org.scoped(), id=created.id))
    assert polled.status == "connected" and polled.account_ids == [params["account_id"]]
    with pytest.raises(Failure) as finished:
        await sessions.hosted_begin(h.ctx, api.HostedToken(token=token))
    assert finished.value.code == "session_not_pending"

    late = await sessions.create(
        h.ctx, api.SessionCreate(**org.scoped(), platform="google_business", redirect_uri=CUSTOMER)
    )
    h.clock.offset = timedelta(seconds=h.ctx.settings.connect_session_ttl_s + 1)
    assert (await sessions.get(h.ctx, api.SessionRef(**org.scoped(), id=late.id))).status == "expired"


async def test_bluesky_connects_with_an_app_password(harness: Harness) -> None:
    h = app_passwords(harness)
    org = await h.org()
    h.sim.add_user("bluesky", username="alice", app_password="abcd-efgh-ijkl-mnop")
    auth_url = await h.start(org, "bluesky")
    assert auth_url.startswith(f"{h.ctx.public_url}/connect/app-password?state=")
    state = auth_url.split("state=", 1)[1]
    assert (await signin.app_password_view(h.ctx, api.StateRef(state=state))).platform == "bluesky"
    with pytest.raises(Failure) as wrong:
        await signin.app_password_login(
            h.ctx, api.AppPasswordLogin(state=state, identifier="alice.bsky.social", app_password="nope")
        )
    assert wrong.value.code == "invalid_credentials"
    outcome = await signin.app_password_login(
        h.ctx, api.AppPasswordLogin(state=state, identifier="alice.bsky.social", app_password="abcd-efgh-ijkl-mnop")
    )
    row = await _account(h, landing(outcome)["account_id"])
    assert row.username == "alice.bsky.social" and _open(h, row, "refresh") and row.instance_url
    assert "abcd-efgh" not in str(await h.rows("SELECT * FROM social_accounts WHERE id = :i", i=row.id))


async def test_mastodon_registers_itself_on_the_instance(harness: Harness) -> None:
    h = harness
    org = await h.org()
    with pytest.raises(Failure) as missing:
        await apps.upsert(h.ctx, api.NetworkUpsert(**org.scoped(), platform="x"))
    assert missing.value.kind == "invalid"
    network = await apps.upsert(
        h.ctx, api.NetworkUpsert(**org.scoped(), platform="mastodon", instance_url="https://mastodon.example")
    )
    assert network.client_id and network.instance_url == "https://mastodon.example"
    registered = [a for a in h.sim.state("mastodon")["apps"] if a["client_id"] == network.client_id]
    assert registered and registered[0]["redirect_uris"] == [h.ctx.settings.callback_url]
    h.sim.add_user("mastodon", username="toot")
    params = await h.connect(org, "mastodon")
    assert params["status"] == "connected"


async def test_a_flow_request_names_every_problem_at_once(harness: Harness) -> None:
    h = harness
    org = await h.org()
    for start in (
        flows.auth_url(
            h.ctx, api.AuthUrlRequest(**org.scoped(), platform="myspace", redirect_uri=CUSTOMER, tenant_id="")
        ),
        sessions.create(
            h.ctx, api.SessionCreate(**org.scoped(), platform="myspace", redirect_uri=CUSTOMER, tenant_id="")
        ),
    ):
        with pytest.raises(Failure) as refused:
            await start
        assert refused.value.kind == "invalid" and refused.value.code == "validation_error"
        assert [f["field"] for f in refused.value.details["fields"]] == ["platform", "tenant_id"]
        assert refused.value.details["fields"][0]["code"] == "unknown_platform"


async def test_an_unreachable_platform_leaves_the_app_password_form_usable(harness: Harness) -> None:
    h = app_passwords(harness)
    org = await h.org()
    h.sim.add_user("bluesky", username="bob", app_password="pass-word-pass-word")
    state = (await h.start(org, "bluesky")).split("state=", 1)[1]
    login = api.AppPasswordLogin(state=state, identifier="bob.bsky.social", app_password="pass-word-pass-word")
    async with httpx.AsyncClient(timeout=2) as http:
        nowhere = Providers(
            http,
            public_url=h.ctx.settings.public_url,
            platforms=PlatformSettings(base_url_override="http://127.0.0.1:9"),
        )
        with pytest.raises(Failure) as away:
            await signin.app_password_login(replace(h.ctx, providers=nowhere), login)
    assert away.value.kind == "unavailable" and away.value.code == "platform_unavailable"
    assert landing(await signin.app_password_login(h.ctx, login))["status"] == "connected"


async def test_a_failed_hosted_session_is_retried_until_it_expires(harness: Harness) -> None:
    h = harness
    org = await h.org()
    await h.byok(org, "tiktok")
    h.sim.add_user("tiktok")
    created = await sessions.create(h.ctx, api.SessionCreate(**org.scoped(), platform="tiktok", redirect_uri=CUSTOMER))
    token = created.connect_url.split("session=", 1)[1] if created.connect_url else ""
    h.sim.consent("tiktok", "deny")
    denied = await h.authorize((await sessions.hosted_begin(h.ctx, api.HostedToken(token=token))).auth_url)
    assert landing(await flows.callback(h.ctx, denied))["error_code"] == "user_denied"
    assert (await sessions.get(h.ctx, api.SessionRef(**org.scoped(), id=created.id))).status == "failed"

    # The error page's retry carries the failed attempt's state: the session reopens, a new flow starts.
    assert denied.state is not None
    again = await sessions.hosted_retry(h.ctx, api.StateRef(state=denied.state))
    assert (await sessions.get(h.ctx, api.SessionRef(**org.scoped(), id=created.id))).status == "pending"
    h.sim.consent("tiktok", "approve")
    params = landing(await flows.callback(h.ctx, await h.authorize(again.auth_url)))
    assert params["status"] == "connected" and params["connect_session_id"] == created.id
    with pytest.raises(Failure) as connected:  # a connected session is not reopened
        await sessions.hosted_retry(h.ctx, api.StateRef(state=denied.state))
    assert connected.value.code == "session_not_pending"

    late = await sessions.create(h.ctx, api.SessionCreate(**org.scoped(), platform="tiktok", redirect_uri=CUSTOMER))
    late_token = late.connect_url.split("session=", 1)[1] if late.connect_url else ""
    h.sim.consent("tiktok", "deny")
    refused = await h.authorize((await sessions.hosted_begin(h.ctx, api.HostedToken(token=late_token))).auth_url)
    await flows.callback(h.ctx, refused)
    h.clock.offset = timedelta(seconds=h.ctx.settings.connect_session_ttl_s + 1)
    assert refused.state is not None
    with pytest.raises(Failure) as expired:
        await sessions.hosted_retry(h.ctx, api.StateRef(state=refused.state))
    assert expired.value.code == "session_not_pending" and expired.value.details == {"status": "expired"}
    with pytest.raises(Failure) as unknown:
        await sessions.hosted_retry(h.ctx, api.StateRef(state="forged"))
    assert unknown.value.code == "not_found"
