"""Accounts and end-users: listing with filters and keyset pages, soft delete with its event,
end-user upsert, connection summary and per-platform disconnect, the sandbox consent flow."""

from __future__ import annotations

import msgspec
import pytest

from crier.connect.handlers import accounts, apps, end_users, flows, signin
from crier.contracts import connect as api
from crier.contracts.events import AccountDisconnected
from crier.kit.errors import Failure

from .conftest import Harness, landing


async def test_listing_filters_and_pages_newest_first(harness: Harness) -> None:
    h = harness
    org = await h.org()
    await h.byok(org, "x")
    made = []
    for n in range(5):
        h.sim.add_user("x", username=f"acct{n}")
        made.append((await h.connect(org, "x", tenant_id=f"t{n % 2}"))["account_id"])

    async def page(**filters: object) -> api.AccountPage:
        return await accounts.list_accounts(h.ctx, api.AccountList(**org.scoped(), **filters))  # type: ignore[arg-type]

    seen, cursor = [], None
    while True:
        got = await page(limit=2, cursor=cursor)
        seen += [a.id for a in got.data]
        if not (cursor := got.next_cursor):
            break
    assert seen == list(reversed(made))
    assert {a.id for a in (await page(tenant_id="t1")).data} == {made[1], made[3]}
    assert [a.id for a in (await page(username="acct2")).data] == [made[2]]
    one = await accounts.get(h.ctx, api.AccountRef(**org.scoped(), id=made[4]))
    assert [a.id for a in (await page(network_unique_id=one.network_unique_id)).data] == [made[4]]
    assert [a.id for a in (await page(id=made[0], platform="x")).data] == [made[0]]
    assert (await page(platform="linkedin")).data == []
    with pytest.raises(Failure) as bad:
        await page(cursor="garbage!")
    assert bad.value.code == "invalid_cursor"
    for limit in (0, 101):
        with pytest.raises(Failure) as out_of_range:
            await page(limit=limit)
        assert out_of_range.value.details["fields"][0]["field"] == "limit"
    stranger = await h.org()
    assert (await accounts.list_accounts(h.ctx, api.AccountList(**stranger.scoped()))).data == []
    with pytest.raises(Failure):
        await accounts.get(h.ctx, api.AccountRef(**stranger.scoped(), id=made[0]))


async def test_networks_list_in_pages_newest_first(harness: Harness) -> None:
    h = harness
    org = await h.org()
    made = [(await h.byok(org, platform)).id for platform in ("x", "linkedin", "tiktok")]
    seen, cursor = [], None
    while True:
        got = await apps.list_networks(h.ctx, api.NetworkList(**org.scoped(), limit=2, cursor=cursor))
        seen += [n.id for n in got.data]
        if not (cursor := got.next_cursor):
            break
    assert seen == list(reversed(made))
    with pytest.raises(Failure) as bad:
        await apps.list_networks(h.ctx, api.NetworkList(**org.scoped(), cursor="garbage!"))
    assert bad.value.code == "invalid_cursor" and bad.value.kind == "invalid"


async def test_delete_is_a_soft_delete_that_wipes_tokens(harness: Harness) -> None:
    h = harness
    org = await h.org()
    await h.byok(org, "x")
    h.sim.add_user("x")
    account_id = (await h.connect(org, "x"))["account_id"]
    removed = await accounts.delete(h.ctx, api.AccountRef(**org.scoped(), id=account_id))
    assert removed.account.status == "disabled"
    [row] = await h.rows("SELECT * FROM social_accounts WHERE id = :i", i=account_id)
    assert row.deleted_at and row.access_token_enc is None and row.refresh_token_enc is None
    gone = [msgspec.json.decode(p, type=AccountDisconnected) for p in await h.outbox("evt.account.disconnected")]
    assert any(e.account_id == account_id for e in gone)
    assert (await accounts.list_accounts(h.ctx, api.AccountList(**org.scoped()))).data == []
    for again in (accounts.get, accounts.delete, accounts.health):
        with pytest.raises(Failure) as missing:
            await again(h.ctx, api.AccountRef(**org.scoped(), id=account_id))
        assert missing.value.kind == "not_found"
    # Connecting the same platform account again brings the same account back, active.
    assert (await h.connect(org, "x"))["account_id"] == account_id


async def test_end_users(harness: Harness) -> None:
    h = harness
    org = await h.org()
    user = await end_users.upsert(
        h.ctx,
        api.EndUserUpsert(
            **org.scoped(),
            external_user_id="cust-1",
            display_name="Alex",
            email="alex@example.com",
            metadata={"plan": "pro"},
        ),
    )
    assert user.id == "cust-1" and user.connection_summary == api.ConnectionSummary(total=0, connected=0, failed=0)
    updated = await end_users.upsert(
        h.ctx,
        api.EndUserUpsert(**org.scoped(), external_user_id="cust-1", display_name="Alex M.", metadata={"plan": "team"}),
    )
    assert updated.created_at == user.created_at and updated.metadata == {"plan": "team"} and updated.email is None
    with pytest.raises(Failure) as refused:
        await end_users.upsert(
            h.ctx, api.EndUserUpsert(**org.scoped(), external_user_id="", email="not-an-email", display_name="d" * 256)
        )
    assert [f["field"] for f in refused.value.details["fields"]] == ["external_user_id", "email", "display_name"]

    await h.byok(org, "x")
    await h.byok(org, "linkedin")
    x_user = h.sim.add_user("x")
    x_id = (await h.connect(org, "x", tenant_id="cust-1"))["account_id"]
    h.sim.add_user("linkedin", pages=0)
    li_id = (await h.connect(org, "linkedin", tenant_id="cust-1"))["account_id"]
    h.sim.revoke_grants("x", x_user["id"])
    await accounts.health(h.ctx, api.AccountRef(**org.scoped(), id=x_id))  # the probe finds the grant gone
    ref = api.EndUserRef(**org.scoped(), external_user_id="cust-1")
    summary = (await end_users.get(h.ctx, ref)).connection_summary
    assert summary == api.ConnectionSummary(total=2, connected=1, failed=1)
    assert {a.id for a in (await end_users.connections(h.ctx, ref)).data} == {x_id, li_id}
    gone = await end_users.disconnect_platform(
        h.ctx, api.EndUserDisconnect(**org.scoped(), external_user_id="cust-1", platform="linkedin")
    )
    assert gone.disconnected_account_ids == [li_id]
    assert {a.id for a in (await end_users.connections(h.ctx, ref)).data} == {x_id}
    with pytest.raises(Failure) as unknown:
        await end_users.get(h.ctx, api.EndUserRef(**org.scoped(), external_user_id="nobody"))
    assert unknown.value.kind == "not_found"
    # A tenant that connects an account becomes a known end-user.
    h.sim.add_user("linkedin", pages=0)
    await h.connect(org, "linkedin", tenant_id="cust-2")
    assert (await end_users.get(h.ctx, api.EndUserRef(**org.scoped(), external_user_id="cust-2"))).id == "cust-2"


async def test_test_mode_connects_through_crier_consent_page(harness: Harness) -> None:
    h = harness
    org = await h.org("test")
    auth_url = await h.start(org, "threads", tenant_id="tenant A")
    assert auth_url.startswith(f"{h.ctx.public_url}/connect/sandbox/authorize?")
    state = auth_url.split("state=", 1)[1].split("&", 1)[0]
    consent = await signin.sandbox_consent(h.ctx, api.StateRef(state=state))
    assert consent.platform == "threads" and consent.tenant_id == "tenant A"
    approved = await signin.sandbox_decide(h.ctx, api.SandboxDecision(state=state, approve=True))
    assert approved.location and approved.location.startswith(h.ctx.settings.callback_url)
    query = dict(p.split("=", 1) for p in approved.location.split("?", 1)[1].split("&"))
    with pytest.raises(Failure):  # the consent is given once
        await signin.sandbox_decide(h.ctx, api.SandboxDecision(state=state, approve=True))
    forged = await flows.callback(h.ctx, api.Callback(state=query["state"], code="forged"))
    assert landing(forged)["error_code"] == "exchange_failed"

    state = (await h.start(org, "threads", tenant_id="tenant A")).split("state=", 1)[1].split("&", 1)[0]
    approved = await signin.sandbox_decide(h.ctx, api.SandboxDecision(state=state, approve=True))
    query = dict(p.split("=", 1) for p in approved.location.split("?", 1)[1].split("&"))  # type: ignore[union-attr]
    params = landing(await flows.callback(h.ctx, api.Callback(state=query["state"], code=query["code"])))
    account = await accounts.get(h.ctx, api.AccountRef(**org.scoped(), id=params["account_id"]))
    assert account.sandbox and account.mode == "test" and account.tenant_id == "tenant A"
    report = await accounts.health(h.ctx, api.AccountRef(**org.scoped(), id=account.id))
    assert report.healthy and report.checked_live

    state = (await h.start(org, "x")).split("state=", 1)[1].split("&", 1)[0]
    denied = await signin.sandbox_decide(h.ctx, api.SandboxDecision(state=state, approve=False))
    query = dict(p.split("=", 1) for p in denied.location.split("?", 1)[1].split("&"))  # type: ignore[union-attr]
    outcome = await flows.callback(h.ctx, api.Callback(state=query["state"], error=query["error"]))
    assert landing(outcome)["error_code"] == "user_denied"
