"""Mastodon publishing against its OpenAPI description (`../shared/platform-contracts/mastodon`):
what the adapter sends is a valid create-status request on a documented path with the documented
`Idempotency-Key` header, and what the simulated instance answers is a valid Status, Instance or
Error."""

from __future__ import annotations

import pytest

from tests.support.media_files import mp4, png

from .conftest import Flow
from .contracts import ROOT, load, openapi_errors
from .publishing import Publishing, connect_for_publishing

pytestmark = pytest.mark.skipif(not ROOT.is_dir(), reason=f"platform contracts not found at {ROOT}")
SPEC = "mastodon/schema.json"


@pytest.fixture
async def masto(flow: Flow) -> Publishing:
    return await connect_for_publishing(flow, "mastodon")


def test_the_paths_and_header_the_adapter_uses_are_documented() -> None:
    paths = load(SPEC)["paths"]
    assert {"/api/v1/statuses", "/api/v1/accounts/{id}/statuses", "/api/v1/instance", "/api/v2/instance"} <= set(paths)
    create = paths["/api/v1/statuses"]["post"]
    assert {(p["name"], p["in"]) for p in create["parameters"]} >= {("Idempotency-Key", "header")}
    listing = {p["name"] for p in paths["/api/v1/accounts/{id}/statuses"]["get"]["parameters"]}
    assert {"limit", "exclude_reblogs"} <= listing


async def test_requests_and_statuses(masto: Publishing) -> None:
    config = {"visibility": "unlisted", "spoiler_text": "cw", "language": "en", "sensitive": True}
    await masto.publish(masto.context("a post https://example.com @someone@else.social #tag", "a reply", config=config))
    for post in masto.posts():
        assert openapi_errors(SPEC, "TextStatus", post["request"]) == []
        assert openapi_errors(SPEC, "Status", post["response"]) == []
    listed = await masto.http.get(
        f"{masto.sim.base_url}/mastodon/api/v1/accounts/{masto.user['id']}/statuses",
        headers={"Authorization": f"Bearer {masto.account.access_token}"},
    )
    assert [s["id"] for s in listed.json()] == [p["id"] for p in reversed(masto.posts())]  # newest first
    for status in listed.json():
        assert openapi_errors(SPEC, "Status", status) == []
    assert openapi_errors(SPEC, "TextStatus", {"status": "x", "visibility": "everyone"}) != []  # the check bites
    assert openapi_errors(SPEC, "Status", {**listed.json()[0], "replies_count": "two"}) != []


async def test_instance_answers(masto: Publishing) -> None:
    masto.sim.configure("mastodon", max_characters=640)
    v2 = (await masto.http.get(f"{masto.sim.base_url}/mastodon/api/v2/instance")).json()
    v1 = (await masto.http.get(f"{masto.sim.base_url}/mastodon/api/v1/instance")).json()
    assert openapi_errors(SPEC, "Instance", v2) == [] and openapi_errors(SPEC, "V1Instance", v1) == []
    assert v2["configuration"]["statuses"]["max_characters"] == v1["configuration"]["statuses"]["max_characters"] == 640


async def test_refusals_are_mastodon_errors(masto: Publishing) -> None:
    url = f"{masto.sim.base_url}/mastodon/api/v1/statuses"
    auth = {"Authorization": f"Bearer {masto.account.access_token}"}
    answers = [
        await masto.http.post(url, json={"status": " "}, headers=auth),
        await masto.http.post(url, json={"status": "x" * 501}, headers=auth),
        await masto.http.post(url, json={"status": "x", "visibility": "everyone"}, headers=auth),
        await masto.http.post(url, json={"status": "x", "in_reply_to_id": "1"}, headers=auth),
        await masto.http.post(url, json={"status": "x"}),
        await masto.http.get(f"{masto.sim.base_url}/mastodon/api/v1/accounts/404/statuses"),
    ]
    assert [a.status_code for a in answers] == [422, 422, 422, 404, 401, 404]
    for answer in answers:
        assert openapi_errors(SPEC, "Error", answer.json()) == []
    assert answers[0].json()["error"] == "Validation failed: Text can't be blank"
    assert masto.posts() == []


async def test_a_form_encoded_status_is_taken_too(masto: Publishing) -> None:
    resp = await masto.http.post(
        f"{masto.sim.base_url}/mastodon/api/v1/statuses",
        data={"status": "from a form", "sensitive": "true", "visibility": "private"},
        headers={"Authorization": f"Bearer {masto.account.access_token}"},
    )
    assert resp.status_code == 200 and openapi_errors(SPEC, "Status", resp.json()) == []
    assert (resp.json()["sensitive"], resp.json()["visibility"]) == (True, "private")
    [post] = masto.posts()
    assert post["request"]["status"] == "from a form"


async def test_media_uploads_and_attachments(masto: Publishing) -> None:
    paths = load(SPEC)["paths"]
    upload = paths["/api/v2/media"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert {"file", "description", "focus"} <= set(upload["properties"]) and upload["required"] == ["file"]
    assert "get" in paths["/api/v1/media/{id}"]
    await masto.publish(masto.context("with media", media={0: [masto.media.add(png(), alt_text="alt")]}))
    masto.sim.configure("mastodon", processing_s=10)
    await masto.http.post(  # a video still processing: its attachment has no url yet
        f"{masto.sim.base_url}/mastodon/api/v2/media",
        files={"file": ("v.mp4", mp4(), "video/mp4")},
        headers={"Authorization": f"Bearer {masto.account.access_token}"},
    )
    [post] = masto.posts()
    assert openapi_errors(SPEC, "Status", post["response"]) == []
    assert openapi_errors(SPEC, "MediaStatus", post["request"]) == []
    [attachment] = post["response"]["media_attachments"]
    assert openapi_errors(SPEC, "MediaAttachment", attachment) == [] and attachment["description"] == "alt"
    pending = [m for m in masto.sim.media("mastodon") if m["user_id"] == masto.account_author and m["kind"] == "video"]
    shown = await masto.http.get(
        f"{masto.sim.base_url}/mastodon/api/v1/media/{pending[0]['id']}",
        headers={"Authorization": f"Bearer {masto.account.access_token}"},
    )
    assert shown.status_code == 206 and shown.json()["url"] is None
    assert openapi_errors(SPEC, "MediaAttachment", shown.json()) == []
    assert openapi_errors(SPEC, "MediaAttachment", {**attachment, "type": "picture"}) != []  # the check bites
