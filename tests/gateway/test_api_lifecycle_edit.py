"""PATCH /posts/{id} through the API: drafts and scheduled posts are edited as a create is checked,
with optimistic concurrency, and the edit is announced with the targets it kept, added and removed."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from crier.gateway.entrypoints import admin
from tests.gateway.conftest import Gateway, Org
from tests.gateway.test_api_lifecycle import announced, error, later, made
from tests.gateway.test_media_api import upload
from tests.gateway.test_rebuild import dump
from tests.support import media_files


def test_an_edit_changes_what_goes_out_and_keeps_the_targets_that_stay(gateway: Gateway, sandbox: Org) -> None:
    x, linkedin = sandbox.accounts["x"], sandbox.accounts["linkedin"]
    other_x = gateway.sandbox_account(sandbox, "x")["id"]
    with sandbox.test() as c:
        post = made(c, {"content": "v1", "accounts": [x, linkedin], "scheduled_at": later(days=2)})
        when = later(days=3)
        r = c.patch(
            f"/posts/{post['id']}",
            json={
                "containers": [{"content": "v2"}, {"content": "a first comment"}],
                "accounts": [other_x, x],
                "scheduled_at": when,
                "targets": [{"account_id": x, "override_body": "v2, as x has it"}],
                "config": {"x": {"reply_settings": "following"}},
                "external_ref": "edited",
                "expected_updated_at": post["updated_at"],
            },
        )
        assert r.status_code == 200, r.text
        edited = r.json()
        assert c.get(f"/posts/{post['id']}").json() == edited
    assert [c["content"] for c in edited["containers"]] == ["v2", "a first comment"]
    assert edited["accounts"] == [other_x, x] and edited["status"] == "scheduled"
    assert (edited["external_ref"], edited["config"]) == ("edited", {"x": {"reply_settings": "following"}})
    assert edited["updated_at"] > post["updated_at"] and edited["created_at"] == post["created_at"]
    kept = next(t for t in post["targets"] if t["social_account_id"] == x)
    removed = next(t for t in post["targets"] if t["social_account_id"] == linkedin)
    assert edited["targets"][1]["id"] == kept["id"]
    assert edited["targets"][0]["id"] not in {t["id"] for t in post["targets"]}
    assert [t["status"] for t in edited["targets"]] == ["pending", "pending"]

    update = announced(gateway, post["id"], "evt.post.updated")[0]
    assert not update.draft_published and update.version == 2 and update.external_ref == "edited"
    assert [(t.target_id, t.override_body) for t in update.targets] == [
        (edited["targets"][0]["id"], None),
        (kept["id"], "v2, as x has it"),
    ]
    assert update.removed_target_ids == [removed["id"]]
    assert [c.content for c in update.containers] == ["v2", "a first comment"]
    # The removed target is announced canceled, as any canceled target is.
    assert announced(gateway, post["id"], "evt.post.canceled")[0].target_ids == [removed["id"]]


def test_an_edit_is_checked_exactly_as_a_create(gateway: Gateway, sandbox: Org) -> None:
    x = sandbox.accounts["x"]
    with sandbox.test() as c:
        post = made(c, {"content": "ok", "accounts": [x], "scheduled_at": later(days=1)})
        bad = {"content": "y" * 281, "config": {"x": {"nope": 1}, "myspace": {}}, "scheduled_at": later(days=40)}
        problem = error(c.patch(f"/posts/{post['id']}", json=bad), 422)
        as_create = error(c.post("/posts", json={**bad, "accounts": [x]}), 422)
        assert problem["details"] == as_create["details"]
        assert {f["code"] for f in problem["details"]["fields"]} >= {"too_far_ahead", "unknown_platform"}
        assert problem["details"]["accounts"][x]
        unknown = str(uuid.uuid4())
        assert error(c.patch(f"/posts/{post['id']}", json={"accounts": [unknown]}), 422)["code"] == "unknown_account"
        both = error(c.patch(f"/posts/{post['id']}", json={"content": "a", "containers": [{"content": "b"}]}), 422)
        assert [f["code"] for f in both["details"]["fields"]] == ["content_or_containers"]
        assert error(c.patch(f"/posts/{post['id']}", json={"is_draft": False}), 422)["code"] == "validation_error"
        # Nothing was stored.
        assert c.get(f"/posts/{post['id']}").json() == post


def test_a_stale_edit_is_refused_with_the_current_updated_at(gateway: Gateway, sandbox: Org) -> None:
    with sandbox.test() as c:
        post = made(c, {"content": "v1", "accounts": [sandbox.accounts["x"]], "is_draft": True})
        first = c.patch(f"/posts/{post['id']}", json={"content": "v2", "expected_updated_at": post["updated_at"]})
        assert first.status_code == 200, first.text
        stale = error(
            c.patch(f"/posts/{post['id']}", json={"content": "v3", "expected_updated_at": post["updated_at"]}), 409
        )
        assert stale["code"] == "post_modified"
        assert stale["details"]["updated_at"] == first.json()["updated_at"].replace("Z", "+00:00")
        assert c.get(f"/posts/{post['id']}").json()["content"] == "v2"
        naive = error(c.patch(f"/posts/{post['id']}", json={"expected_updated_at": "2026-01-01T00:00:00"}), 422)
        assert [f["code"] for f in naive["details"]["fields"]] == ["missing_offset"]
        # Without expected_updated_at the last writer wins.
        assert c.patch(f"/posts/{post['id']}", json={"content": "v4"}).json()["content"] == "v4"


def test_only_drafts_and_scheduled_posts_can_be_edited(gateway: Gateway, sandbox: Org) -> None:
    x = sandbox.accounts["x"]
    with sandbox.test() as c:
        now = made(c, {"content": "now", "accounts": [x]})
        canceled = made(c, {"content": "c", "accounts": [x], "scheduled_at": later(days=1)})
        assert c.delete(f"/posts/{canceled['id']}").status_code == 200
        for post, status in ((now, "queued"), (canceled, "canceled")):
            refused = error(c.patch(f"/posts/{post['id']}", json={"content": "late"}), 409)
            assert (refused["code"], refused["details"]) == ("post_not_editable", {"status": status})
        assert error(c.patch(f"/posts/{uuid.uuid4()}", json={"content": "?"}), 404)["code"] == "not_found"
    with sandbox.live() as c:
        assert error(c.patch(f"/posts/{now['id']}", json={"content": "?"}), 404)["code"] == "not_found"


def test_an_edit_may_not_take_a_reference_another_post_holds(gateway: Gateway, sandbox: Org) -> None:
    ref = f"ref-{uuid.uuid4()}"
    x = sandbox.accounts["x"]
    with sandbox.test() as c:
        made(c, {"content": "holder", "accounts": [x], "external_ref": ref, "is_draft": True})
        post = made(c, {"content": "other", "accounts": [x], "is_draft": True})
        taken = error(c.patch(f"/posts/{post['id']}", json={"external_ref": ref}), 409)
        assert (taken["code"], taken["details"]) == ("external_ref_in_use", {"external_ref": ref})
        cleared = c.patch(f"/posts/{post['id']}", json={"external_ref": None})
        assert cleared.status_code == 200 and cleared.json()["external_ref"] is None


def test_scheduled_at_moves_or_clears(gateway: Gateway, sandbox: Org) -> None:
    x = sandbox.accounts["x"]
    with sandbox.test() as c:
        draft = made(c, {"content": "d", "accounts": [x], "is_draft": True})
        # A draft may hold a time beyond the window; a scheduled post may not.
        far = c.patch(f"/posts/{draft['id']}", json={"scheduled_at": later(days=60)})
        assert (far.status_code, far.json()["status"]) == (200, "draft")
        post = made(c, {"content": "s", "accounts": [x], "scheduled_at": later(days=1)})
        refused = error(c.patch(f"/posts/{post['id']}", json={"scheduled_at": later(days=60)}), 422)
        assert [f["code"] for f in refused["details"]["fields"]] == ["too_far_ahead"]
        # No time: the post goes out now.
        now = c.patch(f"/posts/{post['id']}", json={"scheduled_at": None})
        assert (now.json()["status"], now.json()["scheduled_at"]) == ("queued", None)
        assert [t["status"] for t in now.json()["targets"]] == ["queued"]
    update = announced(gateway, post["id"], "evt.post.updated")[0]
    assert update.scheduled_at is None and update.status == "queued"


def test_the_rebuild_reproduces_edits_and_published_drafts(gateway: Gateway, sandbox: Org) -> None:
    x, linkedin = sandbox.accounts["x"], sandbox.accounts["linkedin"]
    with sandbox.test() as c:
        post = made(c, {"content": "v1", "accounts": [x, linkedin], "is_draft": True})
        edited: dict[str, Any] = c.patch(f"/posts/{post['id']}", json={"accounts": [linkedin], "content": "v2"}).json()
        published = c.post(f"/posts/{post['id']}/publish", json={"scheduled_at": later(days=2)})
        assert published.status_code == 200, published.text
    assert len(edited["targets"]) == 1
    before = dump(gateway.database_url)
    admin.rebuild_projections(gateway.database_url)
    assert dump(gateway.database_url) == before
    ours = [dict(t) for t in before[1] if dict(t)["post_id"] == post["id"]]
    assert [t["account_id"] for t in ours] == [linkedin]


def test_the_media_a_post_uses_follows_its_edits(gateway: Gateway, sandbox: Org) -> None:
    x = sandbox.accounts["x"]
    with sandbox.test() as c:
        first, second = (upload(c, media_files.png(color=color)).json() for color in ((9, 9, 9), (200, 9, 9)))
        post = made(
            c,
            {
                "containers": [{"content": "pic", "media": [{"id": first["id"]}]}],
                "accounts": [x],
                "scheduled_at": later(days=1),
            },
        )
        r = c.patch(
            f"/posts/{post['id']}",
            json={"containers": [{"content": "another pic", "media": [{"id": second["id"], "alt_text": "red"}]}]},
        )
        assert r.status_code == 200, r.text
        [media] = r.json()["containers"][0]["media"]
        # Resolved as a create resolves it: the facts of the bytes.
        assert (media["id"], media["alt_text"], media["width"], media["height"]) == (second["id"], "red", 64, 48)
        in_use = error(c.delete(f"/media/{second['id']}"), 409)
        assert in_use["details"]["post_ids"] == [post["id"]]
        assert c.delete(f"/media/{first['id']}").status_code == 200
        # An edit naming media that is gone is refused as a create would be.
        gone = error(c.patch(f"/posts/{post['id']}", json={"containers": [{"media": [{"id": first["id"]}]}]}), 422)
        assert [f["code"] for f in gone["details"]["fields"]] == ["media_not_found"]


def test_of_concurrent_edits_from_one_read_exactly_one_lands(gateway: Gateway, sandbox: Org) -> None:
    with sandbox.test() as c:
        post = made(c, {"content": "v1", "accounts": [sandbox.accounts["x"]], "scheduled_at": later(days=1)})

    def edit(i: int) -> httpx.Response:
        with sandbox.test() as c:
            return c.patch(f"/posts/{post['id']}", json={"content": f"v{i}", "expected_updated_at": post["updated_at"]})

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(edit, range(2, 10)))
    landed = [r for r in answers if r.status_code == 200]
    assert len(landed) == 1, [r.text for r in answers]
    assert {r.json()["error"]["code"] for r in answers if r not in landed} == {"post_modified"}
    with sandbox.test() as c:
        assert c.get(f"/posts/{post['id']}").json() == landed[0].json()
    assert len(announced(gateway, post["id"], "evt.post.updated")) == 1
