"""A Bluesky PDS's repository: `com.atproto.repo.createRecord` (posts, validated as the PDS
validates `app.bsky.feed.post` against its lexicon), `getRecord` (posts and each user's profile
record `app.bsky.actor.profile/self`), `listRecords` (newest first, like the PDS) and
`com.atproto.identity.resolveHandle`, and the AppView's `app.bsky.feed.getAuthorFeed` (an actor's
posts newest first as feed items, `cursor` = the last item's rkey) that a PDS proxies. A post's
embed of uploaded blobs is checked by `bluesky_media`.

A post's simulator id is its at-uri, so `reply_to` and `root` are the at-uris its `reply` names;
its `response` is the record as `getRecord` answers it (`uri`, `cid`, `value`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from litestar import Request, Response, get, post

from crier.platforms._text import graphemes
from crier.platforms.atproto.syntax import is_language, parse_at_uri, tid
from crier.platforms.simulator import bluesky_media
from crier.platforms.simulator.authz import SimError, reply
from crier.platforms.simulator.posts import Post, payload
from crier.platforms.simulator.world import User, World

POST = "app.bsky.feed.post"
PROFILE = "app.bsky.actor.profile"
FACET = "app.bsky.richtext.facet"
FEATURES = {f"{FACET}#mention": "did", f"{FACET}#link": "uri", f"{FACET}#tag": "tag"}
_NSID = re.compile(r"^[a-zA-Z]([a-zA-Z0-9-]*)(\.[a-zA-Z0-9-]+)+\.[a-zA-Z][a-zA-Z0-9]*$")


def xrpc_error(status: int, error: str, message: str) -> SimError:
    return SimError(reply({"error": error, "message": message}, status))


def cid_of(value: Any) -> str:
    """A CIDv1 (dag-cbor, sha-256) of the record, in base32: the shape a PDS answers."""
    digest = hashlib.sha256(json.dumps(value, sort_keys=True).encode()).digest()
    return "b" + base64.b32encode(b"\x01\x71\x12\x20" + digest).decode().lower().rstrip("=")


def _invalid(message: str) -> SimError:
    return xrpc_error(400, "InvalidRequest", f"Invalid {POST} record: {message}")


def _datetime(value: Any) -> bool:
    if not isinstance(value, str) or not re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$", value):
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _strong_ref(value: Any, where: str) -> None:
    if not isinstance(value, dict) or not isinstance(value.get("cid"), str):
        raise _invalid(f'{where} must have the property "cid"')
    if parse_at_uri(str(value.get("uri"))) is None:
        raise _invalid(f"{where}/uri must be a valid at-uri")


def _facets(facets: Any) -> None:
    if not isinstance(facets, list):
        raise _invalid("Record/facets must be an array")
    for i, facet in enumerate(facets):
        index = facet.get("index") if isinstance(facet, dict) else None
        if not isinstance(index, dict) or not all(
            isinstance(index.get(k), int) and index[k] >= 0 for k in ("byteStart", "byteEnd")
        ):
            raise _invalid(f"Record/facets/{i}/index must have byteStart and byteEnd, integers of at least 0")
        features = facet.get("features")
        if not isinstance(features, list):
            raise _invalid(f"Record/facets/{i}/features must be an array")
        for j, feature in enumerate(features):
            kind = feature.get("$type") if isinstance(feature, dict) else None
            if kind not in FEATURES or not isinstance(feature.get(FEATURES[kind]), str):
                raise _invalid(f"Record/facets/{i}/features/{j} must be a mention, a link or a tag with its value")


def validate_post(record: dict[str, Any]) -> None:
    """What the PDS's lexicon validation refuses in an `app.bsky.feed.post`."""
    text = record.get("text")
    if not isinstance(text, str):
        raise _invalid('Record must have the property "text"')
    if len(text.encode("utf-8")) > 3000:
        raise _invalid("Record/text must not be longer than 3000 characters")
    if graphemes(text) > 300:
        raise _invalid("Record/text must not be longer than 300 graphemes")
    if not _datetime(record.get("createdAt")):
        raise _invalid("Record/createdAt must be an valid atproto datetime (both RFC-3339 and ISO-8601)")
    langs = record.get("langs")
    if langs is not None:
        if not isinstance(langs, list) or len(langs) > 3:
            raise _invalid("Record/langs must not have more than 3 elements")
        for i, lang in enumerate(langs):
            if not isinstance(lang, str) or not is_language(lang):
                raise _invalid(f"Record/langs/{i} must be a well-formed BCP 47 language tag")
    if "facets" in record:
        _facets(record["facets"])
    if "reply" in record:
        reply_ref = record["reply"]
        if not isinstance(reply_ref, dict):
            raise _invalid("Record/reply must be an object")
        _strong_ref(reply_ref.get("root"), "Record/reply/root")
        _strong_ref(reply_ref.get("parent"), "Record/reply/parent")


def profile_record(user: User) -> dict[str, Any]:
    return {
        "$type": PROFILE,
        "displayName": user.display_name,
        "description": "Simulated account",
        "avatar": {
            "$type": "blob",
            "ref": {"$link": cid_of(user.avatar_url)},
            "mimeType": "image/jpeg",
            "size": 4242,
        },
    }


def routes(
    world: World,
    find: Callable[[str], User | None],
    account: Callable[..., tuple[Any, User]],
    handle_of: Callable[[User], str] = lambda user: user.username,
) -> list[Any]:
    """`find`: the user a handle, DID or email names; `account(request)`: the grant and user the
    request's access token speaks for."""

    def repo_of(request: Request[Any, Any, Any]) -> User:
        name = request.query_params.get("repo", "")
        user = find(name) if name else None
        if user is None:
            raise xrpc_error(400, "InvalidRequest", f"Could not find repo: {name}")
        return user

    def posts_of(user: User) -> list[Post]:
        return [p for p in world.posts.of("bluesky", user.id) if p.response.get("value", {}).get("$type") == POST]

    @post("/xrpc/com.atproto.repo.createRecord", opt={"endpoint": "createRecord"}, status_code=200)
    async def create_record(request: Request[Any, Any, Any]) -> Response[Any]:
        _, user = account(request)
        body = await payload(request)
        target = find(str(body.get("repo") or ""))
        if target is None:
            raise xrpc_error(400, "InvalidRequest", f"Could not find repo: {body.get('repo')}")
        if target.id != user.id:
            raise xrpc_error(401, "AuthenticationRequired", "Authentication Required")
        collection, record = str(body.get("collection") or ""), body.get("record")
        if not _NSID.match(collection):
            raise xrpc_error(400, "InvalidRequest", "Input/collection must be a valid nsid")
        if not isinstance(record, dict):
            raise xrpc_error(400, "InvalidRequest", 'Input must have the property "record"')
        record.setdefault("$type", collection)
        if record["$type"] != collection:
            raise xrpc_error(400, "InvalidRequest", f"Invalid $type: expected {collection}, got {record['$type']}")
        if collection != POST:
            raise xrpc_error(400, "InvalidRequest", f"this simulated PDS keeps {POST} records only")
        validate_post(record)
        if "embed" in record:
            bluesky_media.validate_embed(world, user, record["embed"])
        rkey = str(body.get("rkey") or tid(int(world.now() * 1_000_000)))
        uri = f"at://{user.id}/{collection}/{rkey}"
        if world.posts.get("bluesky", uri) is not None:
            raise xrpc_error(400, "InvalidRequest", f"Record already exists: {uri}")
        cid = cid_of(record)
        reply_ref = record.get("reply") or {}
        world.posts.add(
            Post(
                platform="bluesky",
                id=uri,
                user_id=user.id,
                text=record["text"],
                created_at=world.now(),
                reply_to=(reply_ref.get("parent") or {}).get("uri"),
                root=(reply_ref.get("root") or {}).get("uri"),
                request=body,
                response={"uri": uri, "cid": cid, "value": record},
            )
        )
        commit = {"cid": cid_of([uri, cid]), "rev": tid(int(world.now() * 1_000_000))}
        return reply({"uri": uri, "cid": cid, "commit": commit, "validationStatus": "valid"})

    @get("/xrpc/com.atproto.repo.getRecord", opt={"endpoint": "getRecord"})
    async def get_record(request: Request[Any, Any, Any]) -> Response[Any]:
        user = repo_of(request)
        collection, rkey = request.query_params.get("collection", ""), request.query_params.get("rkey", "")
        uri = f"at://{user.id}/{collection}/{rkey}"
        if collection == PROFILE and rkey == "self":
            value = profile_record(user)
            return reply({"uri": uri, "cid": cid_of(value), "value": value})
        found = world.posts.get("bluesky", uri)
        if found is None:
            raise xrpc_error(400, "RecordNotFound", f"Could not locate record: {uri}")
        return reply(found.response)

    @get("/xrpc/com.atproto.repo.listRecords", opt={"endpoint": "listRecords"})
    async def list_records(request: Request[Any, Any, Any]) -> Response[Any]:
        user = repo_of(request)
        params = request.query_params
        try:
            limit = int(params.get("limit") or 50)
        except ValueError:
            limit = 0
        if not 1 <= limit <= 100:
            raise xrpc_error(400, "InvalidRequest", "Input/limit must be between 1 and 100")
        records = posts_of(user) if params.get("collection") == POST else []
        reverse = params.get("reverse") == "true"
        records.sort(key=lambda p: p.id.rsplit("/", 1)[1], reverse=not reverse)
        cursor = params.get("cursor")
        if cursor:
            records = [p for p in records if (p.id.rsplit("/", 1)[1] > cursor) == reverse]
        page = records[:limit]
        answer: dict[str, Any] = {"records": [p.response for p in page]}
        if len(page) == limit:
            answer["cursor"] = page[-1].id.rsplit("/", 1)[1]
        return reply(answer)

    @get("/xrpc/app.bsky.feed.getAuthorFeed", opt={"endpoint": "getAuthorFeed"})
    async def author_feed(request: Request[Any, Any, Any]) -> Response[Any]:
        if request.headers.get("authorization"):
            account(request)
        params = request.query_params
        actor = find(params.get("actor", ""))
        if actor is None:
            raise xrpc_error(400, "InvalidRequest", "Profile not found")
        try:
            limit = int(params.get("limit") or 50)
        except ValueError:
            limit = 0
        if not 1 <= limit <= 100:
            raise xrpc_error(400, "InvalidRequest", "Input/limit must be between 1 and 100")
        shown = posts_of(actor)
        if params.get("filter") in ("posts_no_replies", "posts_and_author_threads"):
            shown = [p for p in shown if p.reply_to is None]
        shown.sort(key=lambda p: p.id.rsplit("/", 1)[1], reverse=True)
        if cursor := params.get("cursor"):
            shown = [p for p in shown if p.id.rsplit("/", 1)[1] < cursor]
        page = shown[:limit]
        author = {"did": actor.id, "handle": handle_of(actor), "displayName": actor.display_name}
        feed = [
            {
                "post": {
                    "uri": p.response["uri"],
                    "cid": p.response["cid"],
                    "author": author,
                    "record": p.response["value"],
                    "indexedAt": p.response["value"].get("createdAt"),
                    "replyCount": 0,
                    "repostCount": 0,
                    "likeCount": 0,
                }
            }
            for p in page
        ]
        answer: dict[str, Any] = {"feed": feed}
        if len(page) == limit and len(shown) > limit:
            answer["cursor"] = page[-1].id.rsplit("/", 1)[1]
        return reply(answer)

    @get("/xrpc/com.atproto.identity.resolveHandle", opt={"endpoint": "resolveHandle"})
    async def resolve_handle(request: Request[Any, Any, Any]) -> Response[Any]:
        handle = request.query_params.get("handle", "")
        user = find(handle) if handle and not handle.startswith("did:") and "@" not in handle else None
        if user is None:
            raise xrpc_error(400, "InvalidRequest", "Unable to resolve handle")
        return reply({"did": user.id})

    return [
        create_record,
        get_record,
        list_records,
        author_feed,
        resolve_handle,
        *bluesky_media.routes(world, account),
    ]
