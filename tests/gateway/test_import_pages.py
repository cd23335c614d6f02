"""Imported pages reach the posts list: published, `source: "imported"`, never twice (a page again, a
post Crier published itself), `evt.import.completed` only once every page is in, and a rebuild of
the projections gives the same rows."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import msgspec

from crier.contracts import events as contract
from crier.contracts.imports import ImportedPost, ImportPageRead, ImportTimelineRead
from crier.gateway.entrypoints import admin
from crier.kit.bus import streams
from tests.gateway.conftest import Gateway, Org
from tests.gateway.test_rebuild import dump
from tests.support.bus import publish, read_stream
from tests.support.stack import wait_for


def imported(org: Org, account_id: str, import_id: str) -> list[dict[str, Any]]:
    with org.test() as c:
        page = c.get("/posts", params={"account": account_id, "source": "imported", "limit": 100}).json()
    return [p for p in page["data"] if p["targets"][0]["platform_post_id"].startswith(import_id)]


def test_pages_become_published_imported_posts_once(gateway: Gateway, sandbox: Org) -> None:
    account = sandbox.accounts["x"]
    import_id = f"imp_{uuid.uuid4().hex[:8]}"
    with sandbox.test() as c:
        mine = c.post("/posts", json={"content": "made with Crier", "accounts": [account]}).json()
    # Crier's own post is on the timeline too: published by Crier as `<import>-own`.
    common = {"occurred_at": datetime.now(UTC), "org_id": sandbox.id, "mode": "test", "post_id": mine["id"]}
    target = {"target_id": mine["targets"][0]["id"], "platform": "x", "attempt": 1}
    gateway.driver.publish(
        contract.TargetPublished(id=str(uuid.uuid4()), **common, **target, platform_post_id=f"{import_id}-own")
    )
    wait_for(lambda: sandbox.test().get(f"/posts/{mine['id']}").json()["status"] == "published", what="published")

    def page(n: int, ids: list[str]) -> ImportPageRead:
        posts = [
            ImportedPost(
                platform_post_id=f"{import_id}-{p}",
                platform_post_url=f"https://x.com/jane/status/{p}",
                content=f"post {p}",
                published_at=datetime(2026, 1, 1, tzinfo=UTC),
            )
            for p in ids
        ]
        return ImportPageRead(
            id=f"{import_id}:page:{n}", occurred_at=datetime.now(UTC), org_id=sandbox.id, mode="test",
            import_id=import_id, account_id=account, platform="x", account_username="jane", tenant_id="user_1",
            posts=posts, pages=n, fetched=2 * n, imported=2 * n,
        )  # fmt: skip

    first = page(1, ["1", "2", "own"])
    run = gateway.driver.run
    run(publish(gateway.driver.bus, "evt.import.page", first))
    # The same page again, past the bus's duplicate window; then the end, before the second page.
    run(publish(gateway.driver.bus, "evt.import.page", first, msg_id=str(uuid.uuid4())))
    done = ImportTimelineRead(
        id=f"{import_id}:read", occurred_at=datetime.now(UTC), org_id=sandbox.id, mode="test", import_id=import_id,
        account_id=account, platform="x", pages=2, fetched=4, imported=4, skipped=1,
    )  # fmt: skip
    run(publish(gateway.driver.bus, "evt.import.read", done))
    wait_for(lambda: len(imported(sandbox, account, import_id)) == 2, what="the first page's posts")

    def completed() -> list[dict[str, Any]]:
        found = run(read_stream(gateway.driver.bus, streams.EVENTS, "evt.import.completed"))
        return [msgspec.json.decode(m.data) for m in found if msgspec.json.decode(m.data)["import_id"] == import_id]

    assert completed() == []  # the second page is not in yet
    run(publish(gateway.driver.bus, "evt.import.page", page(2, ["3"])))
    [announced] = wait_for(completed, what="evt.import.completed")
    assert (announced["id"], announced["imported"], announced["skipped"]) == (f"{import_id}:completed", 4, 1)

    posts = imported(sandbox, account, import_id)
    assert sorted(p["targets"][0]["platform_post_id"] for p in posts) == [f"{import_id}-{n}" for n in "123"]
    for post in posts:
        [t] = post["targets"]
        assert (post["source"], post["status"], t["status"], t["social_account_id"]) == (
            "imported",
            "published",
            "published",
            account,
        )
        assert post["published_at"].startswith("2026-01-01")
    with sandbox.test() as c:
        # One post read alone says what the listing says of it, its origin included.
        assert [c.get(f"/posts/{p['id']}").json() for p in posts] == posts
        assert c.get(f"/posts/{mine['id']}").json()["source"] == "crier"

    before = dump(gateway.database_url)
    admin.rebuild_projections(gateway.database_url)
    assert dump(gateway.database_url) == before
    assert len(imported(sandbox, account, import_id)) == 3
