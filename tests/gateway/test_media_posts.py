"""Posts with media, against a real gateway process: references are resolved into what the gateway
found in the bytes before the platforms' rules judge the post, media given by URL becomes a media
object on the way, and media a post still needs cannot be deleted."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from crier.contracts.common import MediaRef
from tests.gateway.conftest import Gateway, Org
from tests.gateway.test_media_api import Files, new_media_org, start_media_gateway, stop_media_gateway, upload
from tests.support import media_files
from tests.support.stack import Infra, wait_for


@pytest.fixture(scope="module")
def media_gw(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    gw = start_media_gateway(infra, tmp_path_factory.mktemp("media-posts"))
    yield gw
    stop_media_gateway(gw)


@pytest.fixture
def media_org(media_gw: Gateway) -> Org:
    return new_media_org(media_gw)


@pytest.fixture(scope="module")
def files() -> Iterator[Files]:
    served = Files()
    yield served
    served.close()


def created_event(gw: Gateway, post_id: str) -> Any:
    return wait_for(lambda: gw.driver.announcements(post_id, "evt.post.created"), what="evt.post.created")[0]


def test_a_post_carries_the_facts_of_its_media(media_gw: Gateway, media_org: Org) -> None:
    png, mp4 = media_files.png(300, 200), media_files.mp4(320, 240, seconds=1.0, fps=30)
    with media_org.test() as c:
        image = upload(c, png, alt_text="the media's own").json()
        video = upload(c, mp4).json()
        made = c.post(
            "/posts",
            json={
                "containers": [
                    {"content": "with media", "media": [{"id": image["id"]}]},
                    {"content": "a reply", "media": [{"id": video["id"], "alt_text": "the post's"}]},
                ],
                "accounts": [media_org.accounts["x"]],
            },
        )
    assert made.status_code == 201, made.text
    shown = made.json()["containers"]
    assert shown[0]["media"][0] | {} == {
        "id": image["id"],
        "alt_text": "the media's own",
        "type": "image",
        "mime": "image/png",
        "size_bytes": len(png),
        "width": 300,
        "height": 200,
        "duration_s": None,
    }
    announced = created_event(media_gw, made.json()["id"]).containers
    assert announced[0].media == [
        MediaRef(
            id=image["id"],
            alt_text="the media's own",
            type="image",
            mime="image/png",
            size_bytes=len(png),
            sha256=image["sha256"],
            width=300,
            height=200,
            key=image["id"],
        )
    ]
    clip = announced[1].media[0]
    assert (clip.type, clip.alt_text, clip.codec, clip.size_bytes, clip.key) == (
        "video",
        "the post's",
        "h264",
        len(mp4),
        video["id"],
    )
    assert clip.duration_s is not None and abs(clip.duration_s - 1.0) < 0.15


def test_unknown_and_unready_media_are_named_by_position(media_gw: Gateway, media_org: Org) -> None:
    other = media_gw.new_org("elsewhere")
    with other.test() as c:
        theirs = upload(c, media_files.png()).json()["id"]
    with media_org.test() as c:
        failed = upload(c, media_files.png()).json()["id"]
        asyncio.run(_set_status(media_gw, failed, "failed"))
        mine = upload(c, media_files.png()).json()["id"]
        made = c.post(
            "/posts",
            json={
                "containers": [
                    {"content": "a", "media": [{"id": mine}, {"id": "med_nothing"}]},
                    {"content": "b", "media": [{"id": theirs}, {"id": failed}]},
                    {"content": "c", "media": [{"id": mine, "url": "https://example.com/a.png"}, {}]},
                ],
                "accounts": [media_org.accounts["x"]],
            },
        )
        shapes_only = made.json()["error"]["details"]["fields"]
        made = c.post(
            "/posts",
            json={
                "containers": [
                    {"content": "a", "media": [{"id": mine}, {"id": "med_nothing"}]},
                    {"content": "b", "media": [{"id": theirs}, {"id": failed}]},
                ],
                "accounts": [media_org.accounts["x"]],
            },
        )
    assert {(p["field"], p["code"]) for p in shapes_only} == {
        ("containers[2].media[0]", "media_id_or_url"),
        ("containers[2].media[1]", "media_id_or_url"),
    }
    assert made.status_code == 422
    assert made.json()["error"]["code"] == "validation_error"
    assert [(p["field"], p["code"]) for p in made.json()["error"]["details"]["fields"]] == [
        ("containers[0].media[1]", "media_not_found"),
        ("containers[1].media[0]", "media_not_found"),
        ("containers[1].media[1]", "media_not_ready"),
    ]


async def _set_status(gw: Gateway, media_id: str, status: str) -> None:
    conn = await asyncpg.connect(gw.database_url)
    try:
        await conn.execute("UPDATE gateway.media SET status = $2 WHERE id = $1", media_id, status)
    finally:
        await conn.close()


def test_media_given_by_url_becomes_a_media_object(media_gw: Gateway, media_org: Org, files: Files) -> None:
    gif = media_files.gif(30, 20)
    files.files["/seed.gif"] = (gif, "image/gif")
    with media_org.test() as c:
        made = c.post(
            "/posts",
            json={
                "containers": [{"content": "by url", "media": [{"url": files.url("/seed.gif"), "alt_text": "a loop"}]}],
                "accounts": [media_org.accounts["x"]],
            },
        )
        listed = c.get("/media").json()["data"]
        refused = c.post(
            "/posts",
            json={
                "containers": [{"content": "x", "media": [{"url": "http://10.0.0.7/a.gif"}]}],
                "accounts": [media_org.accounts["x"]],
            },
        )
    assert made.status_code == 201, made.text
    ref = made.json()["containers"][0]["media"][0]
    assert (ref["type"], ref["width"], ref["height"], ref["alt_text"]) == ("gif", 30, 20, "a loop")
    assert [(m["id"], m["source_url"]) for m in listed] == [(ref["id"], files.url("/seed.gif"))]
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "media_fetch_failed"
    assert refused.json()["error"]["details"]["fields"][0]["field"] == "containers[0].media[0].url"


def test_the_platform_rules_judge_the_real_media(media_gw: Gateway, media_org: Org) -> None:
    with media_org.test() as c:
        images = [upload(c, media_files.png(40 + i, 40)).json()["id"] for i in range(5)]
        made = c.post(
            "/posts",
            json={
                "containers": [{"content": "five", "media": [{"id": m} for m in images]}],
                "accounts": [media_org.accounts["x"]],
            },
        )
    assert made.status_code == 422
    problems = made.json()["error"]["details"]["accounts"][media_org.accounts["x"]]
    assert ("containers[0].media", "too_many_media") in {(p["field"], p["code"]) for p in problems}


def test_media_a_scheduled_post_uses_cannot_be_deleted(media_gw: Gateway, media_org: Org) -> None:
    at = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    with media_org.test() as c:
        media_id = upload(c, media_files.png()).json()["id"]
        post = c.post(
            "/posts",
            json={
                "containers": [{"content": "later", "media": [{"id": media_id}]}],
                "accounts": [media_org.accounts["x"]],
                "scheduled_at": at,
            },
        ).json()
        in_use = c.delete(f"/media/{media_id}")
        assert c.delete(f"/posts/{post['id']}").status_code == 200
        freed = c.delete(f"/media/{media_id}")
    assert in_use.status_code == 409
    assert in_use.json()["error"]["code"] == "media_in_use"
    assert in_use.json()["error"]["details"]["post_ids"] == [post["id"]]
    assert freed.status_code == 200
