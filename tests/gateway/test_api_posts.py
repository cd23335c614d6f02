"""Creating, reading, listing and canceling posts over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crier.contracts.common import PLATFORMS
from crier.platforms import publishing
from tests.gateway.conftest import Gateway, Org
from tests.support.stack import wait_for

TARGET_FIELDS = {
    "id",
    "social_account_id",
    "platform",
    "status",
    "platform_post_id",
    "platform_post_url",
    "error_code",
    "error_message",
    "attempts",
    "published_at",
    "updated_at",
    "notes",
}
POST_FIELDS = {
    "id",
    "status",
    "content",
    "containers",
    "accounts",
    "scheduled_at",
    "is_draft",
    "config",
    "external_ref",
    "targets",
    "published_at",
    "created_at",
    "updated_at",
    "source",
}


def in_days(days: float) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat().replace("+00:00", "Z")


def test_immediate_post(gateway: Gateway, sandbox: Org) -> None:
    accounts = [sandbox.accounts["x"], sandbox.accounts["linkedin"]]
    with sandbox.test() as c:
        r = c.post(
            "/posts",
            # The platforms' own options arrive with their rules; until then an X target takes none.
            json={"content": "Hello 🚀", "accounts": accounts, "config": {"x": {}}},
        )
        assert r.status_code == 201, r.text
        post = r.json()
        assert set(post) == POST_FIELDS
        assert post["status"] == "queued" and post["content"] == "Hello 🚀" and post["accounts"] == accounts
        assert post["containers"] == [{"content": "Hello 🚀", "media": []}]
        assert post["config"] == {"x": {}} and post["scheduled_at"] is None
        assert [t["platform"] for t in post["targets"]] == ["x", "linkedin"]
        for target in post["targets"]:
            assert set(target) == TARGET_FIELDS
            assert target["status"] == "queued" and target["attempts"] == 0 and target["platform_post_id"] is None
        assert c.get(f"/posts/{post['id']}").json() == post
        assert c.get(f"/posts/{post['id']}/targets").json() == {"data": post["targets"]}
    created = wait_for(lambda: gateway.driver.announcements(post["id"], "evt.post.created"), what="evt.post.created")
    assert len(created) == 1
    event = created[0]
    assert (event.org_id, event.mode, event.is_draft, event.scheduled_at) == (sandbox.id, "test", False, None)
    assert [(t.target_id, t.account_id, t.platform, t.tenant_id) for t in event.targets] == [
        (t["id"], t["social_account_id"], t["platform"], tenant)
        for t, tenant in zip(post["targets"], ["tenant-1", "tenant-2"], strict=True)
    ]
    assert all(t.account_username for t in event.targets)
    assert event.config == {"x": {}} and event.containers[0].content == "Hello 🚀"


def test_scheduled_post_with_containers_and_overrides(gateway: Gateway, sandbox: Org) -> None:
    x = sandbox.accounts["x"]
    with sandbox.test() as c:
        r = c.post(
            "/posts",
            json={
                "containers": [
                    {"content": "Launch"},
                    {"content": "Details in the thread"},
                    {"content": "reply 2"},
                ],
                "accounts": [x],
                "scheduled_at": "2026-06-10T08:00:00-07:00".replace("2026-06-10", in_days(2)[:10]),
                "targets": [{"account_id": x, "override_body": "Launch on X"}],
            },
        )
        assert r.status_code == 201, r.text
        post = r.json()
        assert post["status"] == "scheduled" and post["targets"][0]["status"] == "pending"
        assert post["scheduled_at"].endswith("T15:00:00Z")
        assert post["containers"][0] == {"content": "Launch", "media": []}
        assert len(post["containers"]) == 3 and post["content"] == "Launch"


def test_draft_may_hold_a_far_time(gateway: Gateway, sandbox: Org) -> None:
    with sandbox.test() as c:
        r = c.post(
            "/posts",
            json={
                "content": "later",
                "accounts": [sandbox.accounts["x"]],
                "is_draft": True,
                "scheduled_at": in_days(60),
            },
        )
        assert r.status_code == 201, r.text
        assert r.json()["status"] == "draft" and r.json()["is_draft"] is True
        assert r.json()["targets"][0]["status"] == "pending"


def test_live_and_test_data_are_isolated(gateway: Gateway, sandbox: Org) -> None:
    live_account = gateway.live_account(sandbox)
    with sandbox.live() as live, sandbox.test() as test:
        r = live.post("/posts", json={"content": "live", "accounts": [sandbox.accounts["x"]]})
        assert r.status_code == 422 and r.json()["error"]["code"] == "unknown_account"
        r = test.post("/posts", json={"content": "test", "accounts": [live_account]})
        assert r.status_code == 422 and r.json()["error"]["details"]["accounts"] == [live_account]
        test_post = test.post("/posts", json={"content": "test", "accounts": [sandbox.accounts["x"]]}).json()
        assert live.get(f"/posts/{test_post['id']}").status_code == 404
        assert live.delete(f"/posts/{test_post['id']}").status_code == 404
        assert test_post["id"] not in [p["id"] for p in live.get("/posts", params={"limit": 100}).json()["data"]]
        assert [a["id"] for a in live.get("/social-accounts").json()["data"]] == [live_account]
        assert test.get(f"/social-accounts/{live_account}").status_code == 404


def test_test_keys_never_see_live_posts(gateway: Gateway, sandbox: Org) -> None:
    platform = next((p for p in PLATFORMS if publishing.publishes(p)), None)
    if platform is None:
        pytest.skip("Crier cannot publish to any platform yet: a live post cannot be created")
    live_account = gateway.live_account(sandbox, platform=platform)
    with sandbox.live() as live, sandbox.test() as test:
        r = live.post("/posts", json={"content": "live", "accounts": [live_account]})
        assert r.status_code == 201, r.text
        live_post = r.json()
        assert test.get(f"/posts/{live_post['id']}").status_code == 404
        assert test.delete(f"/posts/{live_post['id']}").status_code == 404
        assert live_post["id"] not in [p["id"] for p in test.get("/posts", params={"limit": 100}).json()["data"]]


def test_other_orgs_posts_are_404(gateway: Gateway, sandbox: Org) -> None:
    other = gateway.new_org("other")
    with sandbox.test() as c:
        post = c.post("/posts", json={"content": "mine", "accounts": [sandbox.accounts["x"]]}).json()
    with other.test() as c:
        for r in (
            c.get(f"/posts/{post['id']}"),
            c.get(f"/posts/{post['id']}/targets"),
            c.delete(f"/posts/{post['id']}"),
        ):
            assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
        r = c.post("/posts", json={"content": "theirs", "accounts": [sandbox.accounts["x"]]})
        assert r.status_code == 422 and r.json()["error"]["code"] == "unknown_account"


def test_external_ref_returns_the_original(gateway: Gateway, sandbox: Org) -> None:
    body = {"content": "once", "accounts": [sandbox.accounts["x"]], "external_ref": "campaign-1"}
    with sandbox.test() as c:
        first = c.post("/posts", json=body)
        again = c.post("/posts", json={**body, "content": "twice"})
        assert first.status_code == 201 and again.status_code == 200
        assert again.json() == first.json() and again.json()["external_ref"] == "campaign-1"
    with sandbox.live() as c:
        # The same reference in the other mode is another post's business.
        r = c.post("/posts", json=body)
        assert r.status_code == 422 and r.json()["error"]["code"] == "unknown_account"


def test_cancel(gateway: Gateway, sandbox: Org) -> None:
    with sandbox.test() as c:
        post = c.post(
            "/posts", json={"content": "soon", "accounts": list(sandbox.accounts.values()), "scheduled_at": in_days(1)}
        ).json()
        r = c.delete(f"/posts/{post['id']}")
        assert r.status_code == 200 and r.json() == {"id": post["id"], "canceled": True}
        after = c.get(f"/posts/{post['id']}").json()
        assert after["status"] == "canceled" and {t["status"] for t in after["targets"]} == {"canceled"}
        r = c.delete(f"/posts/{post['id']}")
        assert r.status_code == 409 and r.json()["error"]["code"] == "post_not_cancelable"
        canceled = wait_for(lambda: gateway.driver.announcements(post["id"], "evt.post.canceled"), what="canceled")
        assert sorted(canceled[0].target_ids) == sorted(t["id"] for t in post["targets"])
        changed = wait_for(lambda: gateway.driver.announcements(post["id"], "evt.post.status_changed"), what="change")
        assert [(m.previous_status, m.status) for m in changed] == [("scheduled", "canceled")]
        draft = c.post("/posts", json={"content": "d", "accounts": [sandbox.accounts["x"]], "is_draft": True}).json()
        assert c.delete(f"/posts/{draft['id']}").status_code == 200
        assert c.get(f"/posts/{draft['id']}").json()["status"] == "canceled"
        assert c.delete("/posts/does-not-exist").status_code == 404


def test_pagination_returns_every_post_exactly_once(gateway: Gateway, sandbox: Org) -> None:
    with sandbox.test() as c:
        made = [
            c.post("/posts", json={"content": f"p{i}", "accounts": [sandbox.accounts["x"]]}).json()["id"]
            for i in range(23)
        ]
        seen: list[str] = []
        cursor = None
        pages = 0
        while True:
            params = {"limit": 5, **({"cursor": cursor} if cursor else {})}
            page = c.get("/posts", params=params).json()
            seen += [p["id"] for p in page["data"]]
            pages += 1
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert sorted(seen) == sorted(made) and len(seen) == len(set(seen)) and pages == 5
        assert seen == list(reversed(made))  # newest first
        default = c.get("/posts").json()
        assert len(default["data"]) == 23 and default["next_cursor"] is None


def test_list_filters(gateway: Gateway, sandbox: Org) -> None:
    x, li = sandbox.accounts["x"], sandbox.accounts["linkedin"]
    with sandbox.test() as c:
        now = datetime.now(UTC)
        on_x = c.post("/posts", json={"content": "x", "accounts": [x]}).json()
        on_li = c.post("/posts", json={"content": "li", "accounts": [li], "scheduled_at": in_days(3)}).json()

        def ids(**params: str) -> list[str]:
            r = c.get("/posts", params=params)
            assert r.status_code == 200, r.text
            return [p["id"] for p in r.json()["data"]]

        assert ids(platform="x") == [on_x["id"]]
        assert ids(account=li) == [on_li["id"]]
        assert ids(tenant_id="tenant-2") == [on_li["id"]]
        assert ids(status="scheduled") == [on_li["id"]]
        assert set(ids(created_after=(now - timedelta(minutes=1)).isoformat())) == {on_x["id"], on_li["id"]}
        assert ids(created_before=(now - timedelta(minutes=1)).isoformat()) == []
        assert ids(scheduled_after=in_days(2)) == [on_li["id"]]
        assert ids(scheduled_before=in_days(2)) == []
