"""Bluesky publishing against the AT Protocol lexicons (`../shared/platform-contracts/bluesky`):
what the adapter sends is a valid `createRecord` input holding a valid `app.bsky.feed.post` (its
facets and strong refs included), and what the simulated PDS answers to it, to `getRecord`,
`listRecords`, `resolveHandle` and `getSession` is each call's documented output, errors included."""

from __future__ import annotations

from typing import Any

import pytest

from crier.platforms import bluesky_media
from crier.platforms._text import graphemes
from crier.platforms.atproto.syntax import is_did, is_language, parse_at_uri
from tests.support.media_files import jpeg, mp4, png

from .bluesky_accounts import bluesky_account
from .conftest import Flow
from .contracts import ROOT, load
from .publishing import Publishing

pytestmark = pytest.mark.skipif(not ROOT.is_dir(), reason=f"platform contracts not found at {ROOT}")

_FORMATS = {
    "did": is_did,
    "at-uri": lambda v: parse_at_uri(v) is not None,
    "language": is_language,
    "cid": lambda v: v.startswith("b") and len(v) > 50,
    "datetime": lambda v: "T" in v and (v.endswith("Z") or v[-6] in "+-"),
    "uri": lambda v: ":" in v,
    "handle": lambda v: "." in v,
}


def _lexicon(nsid: str) -> dict[str, Any]:
    return load(f"bluesky/lexicons/{nsid.replace('.', '/')}.json")  # type: ignore[no-any-return]


def _resolve(ref: str, nsid: str) -> tuple[dict[str, Any], str]:
    target, _, name = ref.partition("#")
    target = target or nsid
    definition = _lexicon(target)["defs"][name or "main"]
    return (definition["record"] if definition["type"] == "record" else definition), target


def errors(schema: dict[str, Any], value: Any, nsid: str, at: str = "") -> list[str]:
    """Where `value` breaks `schema` (a lexicon definition, refs and unions followed)."""
    kind = schema.get("type")
    if kind == "ref":
        target, where = _resolve(schema["ref"], nsid)
        return errors(target, value, where, at)
    if kind == "union":
        named = value.get("$type") if isinstance(value, dict) else None
        full = {(nsid + r if r.startswith("#") else r): r for r in schema["refs"]}
        match = next((r for f, r in full.items() if named in (f, f.removesuffix("#main"))), None)
        return (
            [f"{at}: $type {named!r} not in {schema['refs']}"]
            if match is None
            else errors({"type": "ref", "ref": match}, value, nsid, at)
        )
    if kind == "object":
        if not isinstance(value, dict):
            return [f"{at}: not an object"]
        found = [f"{at}/{name}: missing" for name in schema.get("required", []) if name not in value]
        for name, item in value.items():
            declared = schema.get("properties", {}).get(name)
            if declared is None:
                if name != "$type":
                    found.append(f"{at}/{name}: undeclared")
                continue
            found += errors(declared, item, nsid, f"{at}/{name}")
        return found
    if kind == "array":
        if not isinstance(value, list):
            return [f"{at}: not an array"]
        found = [f"{at}: more than {schema['maxLength']} items"] if len(value) > schema.get("maxLength", 10**9) else []
        for i, item in enumerate(value):
            found += errors(schema["items"], item, nsid, f"{at}/{i}")
        return found
    if kind == "string":
        if not isinstance(value, str):
            return [f"{at}: not a string"]
        found = []
        if len(value.encode()) > schema.get("maxLength", 10**9) or graphemes(value) > schema.get("maxGraphemes", 10**9):
            found.append(f"{at}: too long")
        check = _FORMATS.get(schema.get("format", ""))
        if check is not None and not check(value):
            found.append(f"{at}: not a {schema['format']}")
        return found
    if kind == "integer":
        ok = isinstance(value, int) and not isinstance(value, bool) and value >= schema.get("minimum", -(10**18))
        return [] if ok else [f"{at}: not an integer within bounds"]
    if kind == "boolean":
        return [] if isinstance(value, bool) else [f"{at}: not a boolean"]
    return []  # unknown, blob, …


def call_errors(nsid: str, part: str, value: Any) -> list[str]:
    definition = _lexicon(nsid)["defs"]["main"]
    schema = definition["parameters"] if part == "parameters" else definition[part]["schema"]
    return errors(schema, value, nsid)


def record_errors(nsid: str, value: Any) -> list[str]:
    return errors({"type": "ref", "ref": f"{nsid}#main"}, value, nsid)


def xrpc_error_errors(body: Any, nsid: str) -> list[str]:
    """An XRPC error: `{"error": <name>, "message"?}`, the name one the call documents or a generic one."""
    documented = {e["name"] for e in _lexicon(nsid)["defs"]["main"].get("errors", [])}
    generic = {"InvalidRequest", "AuthenticationRequired", "ExpiredToken", "InvalidToken", "RateLimitExceeded"}
    if not isinstance(body, dict) or set(body) - {"error", "message"} or body.get("error") not in documented | generic:
        return [f"not an XRPC error of {nsid}: {body}"]
    return []


@pytest.fixture
async def bsky(flow: Flow) -> Publishing:
    return await bluesky_account(flow)


def test_the_calls_the_adapter_makes_are_in_the_lexicons() -> None:
    for nsid in (
        "com.atproto.repo.createRecord",
        "com.atproto.repo.getRecord",
        "com.atproto.repo.listRecords",
        "com.atproto.identity.resolveHandle",
        "com.atproto.repo.uploadBlob",
        "app.bsky.embed.images",
        "app.bsky.embed.video",
        "com.atproto.server.createSession",
        "com.atproto.server.getSession",
        "app.bsky.feed.post",
        "app.bsky.actor.profile",
    ):
        assert _lexicon(nsid)["id"] == nsid


async def test_requests_and_records(bsky: Publishing) -> None:
    bsky.sim.add_user("bluesky", username="pal.example.com", sign_in=False)
    text = "Hi @pal.example.com — see https://example.com/ü #launch"
    await bsky.publish(bsky.context(text, "a reply", "and another", config={"langs": ["en", "de"]}))
    posts = bsky.posts()
    for post in posts:
        assert call_errors("com.atproto.repo.createRecord", "input", post["request"]) == []
        assert record_errors("app.bsky.feed.post", post["request"]["record"]) == []
    assert len(posts[0]["request"]["record"]["facets"]) == 3 and "reply" in posts[2]["request"]["record"]
    # the checks bite
    bad = {**posts[0]["request"]["record"], "langs": ["en", "de", "fr", "es"], "reply": {"root": {"uri": "x"}}}
    assert len(record_errors("app.bsky.feed.post", bad)) == 4  # langs; reply.parent; root.cid, root.uri
    assert record_errors("app.bsky.feed.post", {**bad, "facets": [{"index": {"byteStart": -1}}]}) != []


async def test_answers(bsky: Publishing) -> None:
    base, did = f"{bsky.sim.base_url}/bluesky/xrpc", bsky.user["id"]
    auth = {"Authorization": f"Bearer {bsky.account.access_token}"}
    made = await bsky.http.post(
        f"{base}/com.atproto.repo.createRecord",
        json={
            "repo": did,
            "collection": "app.bsky.feed.post",
            "record": {"text": "hi", "createdAt": "2025-01-01T00:00:00.000Z"},
        },
        headers=auth,
    )
    assert made.status_code == 200 and call_errors("com.atproto.repo.createRecord", "output", made.json()) == []
    rkey = made.json()["uri"].rsplit("/", 1)[1]
    record = await bsky.http.get(
        f"{base}/com.atproto.repo.getRecord", params={"repo": did, "collection": "app.bsky.feed.post", "rkey": rkey}
    )
    assert call_errors("com.atproto.repo.getRecord", "output", record.json()) == []
    assert record.json()["value"]["$type"] == "app.bsky.feed.post"  # the PDS adds the $type
    profile = await bsky.http.get(
        f"{base}/com.atproto.repo.getRecord",
        params={"repo": did, "collection": "app.bsky.actor.profile", "rkey": "self"},
    )
    assert record_errors("app.bsky.actor.profile", profile.json()["value"]) == []
    listed = await bsky.http.get(
        f"{base}/com.atproto.repo.listRecords", params={"repo": did, "collection": "app.bsky.feed.post", "limit": 1}
    )
    assert call_errors("com.atproto.repo.listRecords", "output", listed.json()) == []
    assert listed.json()["cursor"] == rkey
    handle = await bsky.http.get(f"{base}/com.atproto.identity.resolveHandle", params={"handle": bsky.account.username})
    assert (
        call_errors("com.atproto.identity.resolveHandle", "output", handle.json()) == [] and handle.json()["did"] == did
    )
    session = await bsky.http.get(f"{base}/com.atproto.server.getSession", headers=auth)
    assert call_errors("com.atproto.server.getSession", "output", session.json()) == []
    assert call_errors("com.atproto.repo.getRecord", "output", {"uri": 1}) != []  # the check bites


async def test_refusals_are_xrpc_errors(bsky: Publishing) -> None:
    base, did = f"{bsky.sim.base_url}/bluesky/xrpc", bsky.user["id"]
    auth = {"Authorization": f"Bearer {bsky.account.access_token}"}
    create = f"{base}/com.atproto.repo.createRecord"
    now = "2025-01-01T00:00:00.000Z"
    answers = [
        (
            "com.atproto.repo.createRecord",
            await bsky.http.post(
                create,
                json={"repo": did, "collection": "app.bsky.feed.post", "record": {"text": "x" * 301, "createdAt": now}},
                headers=auth,
            ),
        ),
        (
            "com.atproto.repo.createRecord",
            await bsky.http.post(
                create,
                json={
                    "repo": did,
                    "collection": "app.bsky.feed.post",
                    "record": {"text": "x", "createdAt": "yesterday"},
                },
                headers=auth,
            ),
        ),
        (
            "com.atproto.repo.createRecord",
            await bsky.http.post(
                create,
                json={"repo": did, "collection": "app.bsky.feed.post", "record": {"text": "x", "createdAt": now}},
            ),
        ),
        (
            "com.atproto.repo.getRecord",
            await bsky.http.get(
                f"{base}/com.atproto.repo.getRecord",
                params={"repo": did, "collection": "app.bsky.feed.post", "rkey": "3kaaaaaaaaaaa"},
            ),
        ),
        (
            "com.atproto.identity.resolveHandle",
            await bsky.http.get(f"{base}/com.atproto.identity.resolveHandle", params={"handle": "nobody.example.com"}),
        ),
    ]
    assert [a.status_code for _, a in answers] == [400, 400, 400, 400, 400]
    assert [a.json()["error"] for _, a in answers] == [
        "InvalidRequest",
        "InvalidRequest",
        "InvalidToken",
        "RecordNotFound",
        "InvalidRequest",
    ]
    for nsid, answer in answers:
        assert xrpc_error_errors(answer.json(), nsid) == []
    assert bsky.posts() == []


async def test_records_with_media_and_the_blob_answers(bsky: Publishing) -> None:
    images = _lexicon("app.bsky.embed.images")["defs"]["image"]["properties"]["image"]
    video = _lexicon("app.bsky.embed.video")["defs"]["main"]["properties"]["video"]
    # the adapter's blob limit is the lexicon's
    assert images["maxSize"] == bluesky_media.IMAGE_MAX_BYTES and video["accept"] == ["video/mp4"]
    await bsky.publish(
        bsky.context(
            "pictures",
            "a video",
            media={0: [bsky.media.add(png(), alt_text="alt"), bsky.media.add(jpeg())], 1: [bsky.media.add(mp4())]},
        )
    )
    posts = bsky.posts()
    for post in posts:
        record = post["request"]["record"]
        assert record_errors("app.bsky.feed.post", record) == []
        embed = record["embed"]
        blobs = [i["image"] for i in embed.get("images", [])] + ([embed["video"]] if "video" in embed else [])
        limit = images["maxSize"] if "images" in embed else video["maxSize"]
        for blob in blobs:
            assert set(blob) == {"$type", "ref", "mimeType", "size"} and blob["$type"] == "blob"
            assert blob["ref"]["$link"].startswith("bafkrei") and 0 < blob["size"] <= limit
    assert [p["request"]["record"]["embed"]["$type"] for p in posts] == [
        "app.bsky.embed.images",
        "app.bsky.embed.video",
    ]
    answer = await bsky.http.post(
        f"{bsky.sim.base_url}/bluesky/xrpc/com.atproto.repo.uploadBlob",
        content=png(),
        headers={"Authorization": f"Bearer {bsky.account.access_token}", "Content-Type": "image/png"},
    )
    assert answer.status_code == 200 and call_errors("com.atproto.repo.uploadBlob", "output", answer.json()) == []
    # the checks bite: an image without its alt text
    bad = {**posts[0]["request"]["record"]}
    bad["embed"] = {**bad["embed"], "images": [{"image": bad["embed"]["images"][0]["image"]}]}
    assert record_errors("app.bsky.feed.post", bad) == ["/embed/images/0/alt: missing"]
