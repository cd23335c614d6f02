"""Past posts for a simulated account, so imports have a timeline to read:
`POST /_sim/{platform}/users` with `"history": N` gives the new user N posts made before now.

The history is deterministic per account: post i (0 = the oldest) says "Post <i+1> of <username>",
was made `SPACING_S` × (N − i) seconds before the user was created, and has an id derived from the
user's id and i, in the platform's id style and rising with time (the timelines sort by id). Each
is kept like a post made through the platform's own API (its `response` is the entity the
platform's read endpoints answer), so the timeline endpoints page through it with their own
pagination and play any fault scheduled for them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from crier.platforms.atproto.syntax import tid
from crier.platforms.simulator import bluesky_repo, mastodon_entities, x
from crier.platforms.simulator.graph import graph_time
from crier.platforms.simulator.posts import Post
from crier.platforms.simulator.world import User, World

SPACING_S = 3600.0


def _numeric_id(user_id: str, index: int, digits: int) -> str:
    """`digits` digits: a per-user prefix, then the index, so later posts have higher ids."""
    prefix = int(hashlib.sha256(user_id.encode()).hexdigest(), 16) % 10 ** (digits - 8)
    return str(10 ** (digits - 1) + prefix * 10**6 + index)


def _x(world: World, user: User, index: int, at: float, base: str) -> Post:
    post = Post(platform="x", id=_id_of("x", user, index), user_id=user.id, text=_text(user, index), created_at=at)
    post.response = {
        "id": post.id,
        "text": x.shown(post.text),
        "edit_history_post_ids": [post.id],
        "author_id": user.id,
        "conversation_id": post.id,
        "created_at": mastodon_entities.time_of(at),  # X's format too: RFC 3339 with milliseconds
        "reply_settings": "everyone",
        "lang": "en",
    }
    return post


def _mastodon(world: World, user: User, index: int, at: float, base: str) -> Post:
    post = Post(
        platform="mastodon",
        id=_id_of("mastodon", user, index),
        user_id=user.id,
        text=_text(user, index),
        created_at=at,
        request={"status": _text(user, index), "visibility": "public"},
    )
    post.response = mastodon_entities.status(world, post, user, None, base, "Web")
    return post


def _bluesky(world: World, user: User, index: int, at: float, base: str) -> Post:
    record = {"$type": bluesky_repo.POST, "text": _text(user, index), "createdAt": mastodon_entities.time_of(at)}
    uri = _id_of("bluesky", user, index)
    return Post(
        platform="bluesky",
        id=uri,
        user_id=user.id,
        text=record["text"],
        created_at=at,
        response={"uri": uri, "cid": bluesky_repo.cid_of(record), "value": record},
    )


def _page(user: User) -> dict[str, Any]:
    """A Facebook user's history is on their first Page."""
    return user.pages[0] if user.pages else {"id": user.id, "name": user.display_name}


def _ig(user: User) -> dict[str, Any]:
    """An Instagram user's history is on the first Page's professional account."""
    ig = next((p.get("instagram_business_account") for p in user.pages if p.get("instagram_business_account")), None)
    return ig or {"id": user.id, "username": user.username}


def _facebook(world: World, user: User, index: int, at: float, base: str) -> Post:
    page = _page(user)
    post_id = _id_of("facebook", user, index)
    post = Post(
        platform="facebook", id=post_id, user_id=user.id, page_id=page["id"], text=_text(user, index), created_at=at
    )
    post.response = {
        "id": post_id,
        "message": post.text,
        "created_time": graph_time(at),
        "updated_time": graph_time(at),
        "from": {"id": page["id"], "name": page["name"]},
        "permalink_url": f"https://www.facebook.com/{page['id']}/posts/{post_id.rpartition('_')[2]}",
        "status_type": "mobile_status_update",
        "is_published": True,
        "is_hidden": False,
    }
    return post


def _instagram(world: World, user: User, index: int, at: float, base: str) -> Post:
    ig = _ig(user)
    media_id = _id_of("instagram", user, index)
    post = Post(
        platform="instagram", id=media_id, user_id=user.id, page_id=ig["id"], text=_text(user, index), created_at=at
    )
    post.response = {
        "id": media_id,
        "caption": post.text,
        "media_type": "IMAGE",
        "media_product_type": "FEED",
        "permalink": f"https://www.instagram.com/p/C{media_id[-10:]}/",
        "shortcode": f"C{media_id[-10:]}",
        "timestamp": graph_time(at),
        "username": ig["username"],
        "owner": {"id": ig["id"]},
        "comments_count": 0,
    }
    return post


def _threads(world: World, user: User, index: int, at: float, base: str) -> Post:
    post_id = _id_of("threads", user, index)
    post = Post(platform="threads", id=post_id, user_id=user.id, text=_text(user, index), created_at=at)
    post.response = {
        "id": post_id,
        "media_product_type": "THREADS",
        "media_type": "TEXT_POST",
        "text": post.text,
        "permalink": f"https://www.threads.net/@{user.username}/post/C{post_id[-9:]}",
        "shortcode": f"C{post_id[-9:]}",
        "owner": {"id": user.id},
        "username": user.username,
        "timestamp": graph_time(at),
        "is_quote_post": False,
    }
    return post


def _linkedin(world: World, user: User, index: int, at: float, base: str) -> Post:
    """A post by the first organization the member administers, or by the member when there is
    none (as a Facebook user's history is on their first Page)."""
    urn = _id_of("linkedin", user, index)
    org = str(user.pages[0]["id"]) if user.pages else None
    post = Post(platform="linkedin", id=urn, user_id=user.id, page_id=org, text=_text(user, index), created_at=at)
    ms = int(at * 1000)
    post.response = {
        "id": urn,
        "author": f"urn:li:organization:{org}" if org else f"urn:li:person:{user.id}",
        "commentary": post.text,
        "visibility": "PUBLIC",
        "distribution": {"feedDistribution": "MAIN_FEED", "targetEntities": [], "thirdPartyDistributionChannels": []},
        "lifecycleState": "PUBLISHED",
        "lifecycleStateInfo": {"isEditedByAuthor": False},
        "isReshareDisabledByAuthor": False,
        "isEditedByAuthor": False,
        "createdAt": ms,
        "publishedAt": ms,
        "lastModifiedAt": ms,
    }
    return post


def _location(user: User) -> str:
    """A Business Profile user's history is on their first location."""
    found = next((p for p in user.pages if p.get("kind") == "location"), None)
    return f"{found['account']}/{found['name']}" if found else f"accounts/{user.id}/locations/{user.id}"


def _google_business(world: World, user: User, index: int, at: float, base: str) -> Post:
    name = _id_of("google_business", user, index)
    post = Post(
        platform="google_business",
        id=name,
        user_id=user.id,
        page_id=_location(user),
        text=_text(user, index),
        created_at=at,
    )
    stamp = mastodon_entities.time_of(at)
    post.response = {
        "name": name,
        "languageCode": "en",
        "summary": post.text,
        "topicType": "STANDARD",
        "createTime": stamp,
        "updateTime": stamp,
        "state": "LIVE",
        "searchUrl": "https://local.google.com/place?id={}&use=posts&lpsid={}".format(
            _location(user).rsplit("/", 1)[-1], name.rsplit("/", 1)[-1]
        ),
    }
    return post


def _pinterest(world: World, user: User, index: int, at: float, base: str) -> Post:
    """A Pin on the user's first board."""
    pin_id = _id_of("pinterest", user, index)
    board = user.pages[0]["id"] if user.pages else user.id
    pin = {
        "id": pin_id,
        "created_at": datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "link": None,
        "title": None,
        "description": _text(user, index),
        "alt_text": None,
        "dominant_color": "#6E7874",
        "board_id": str(board),
        "board_section_id": None,
        "board_owner": {"username": user.username},
        "is_owner": True,
        "is_standard": True,
        "has_been_promoted": False,
        "creative_type": "REGULAR",
        "parent_pin_id": None,
        "pin_metrics": None,
    }
    return Post(platform="pinterest", id=pin_id, user_id=user.id, text=_text(user, index), created_at=at, response=pin)


def _youtube(world: World, user: User, index: int, at: float, base: str) -> Post:
    """A public video on the user's first channel."""
    channel = next((c for c in user.pages if c.get("kind") == "channel"), {"id": user.id, "title": user.display_name})
    video_id = _id_of("youtube", user, index)
    title = _text(user, index)
    resource = {
        "kind": "youtube#video",
        "etag": video_id,
        "id": video_id,
        "snippet": {
            "publishedAt": mastodon_entities.time_of(at),
            "channelId": channel["id"],
            "title": title,
            "description": "",
            "thumbnails": {"default": {"url": f"https://i.ytimg.com/vi/{video_id}/default.jpg", "width": 120}},
            "channelTitle": channel["title"],
            "liveBroadcastContent": "none",
            "localized": {"title": title, "description": ""},
        },
        "status": {"uploadStatus": "processed", "privacyStatus": "public", "license": "youtube", "embeddable": True},
    }
    return Post(
        platform="youtube",
        id=video_id,
        user_id=user.id,
        page_id=channel["id"],
        text="",
        created_at=at,
        response=resource,
    )


def _video_id(user: User, index: int) -> str:
    """Eleven characters of YouTube's alphabet, rising with the index."""
    alphabet = "-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
    value, chars = int(_numeric_id(user.id, index, 19)), []
    for _ in range(11):
        value, digit = divmod(value, 64)
        chars.append(alphabet[digit])
    return "".join(reversed(chars))


def _tiktok(world: World, user: User, index: int, at: float, base: str) -> Post:
    video_id = _id_of("tiktok", user, index)
    return Post(platform="tiktok", id=video_id, user_id=user.id, text=_text(user, index), created_at=at)


def _rkey(user: User, index: int) -> str:
    """A TID whose clock part rises with the index (a PDS sorts records by it)."""
    base = 1_600_000_000_000_000 + int(_numeric_id(user.id, 0, 16)) % 10**14
    return tid(base + index, clock_id=0)


ID_OF: dict[str, Callable[[User, int], str]] = {
    "x": lambda user, index: _numeric_id(user.id, index, 19),
    "mastodon": lambda user, index: _numeric_id(user.id, index, 18),
    "bluesky": lambda user, index: f"at://{user.id}/{bluesky_repo.POST}/{_rkey(user, index)}",
    "facebook": lambda user, index: f"{_page(user)['id']}_{_numeric_id(user.id, index, 16)}",
    "instagram": lambda user, index: _numeric_id(user.id, index, 17),
    "threads": lambda user, index: _numeric_id(user.id, index, 17),
    "pinterest": lambda user, index: _numeric_id(user.id, index, 18),
    "youtube": _video_id,
    "tiktok": lambda user, index: _numeric_id(user.id, index, 19),
    "linkedin": lambda user, index: f"urn:li:share:{_numeric_id(user.id, index, 19)}",
    "google_business": lambda user, index: f"{_location(user)}/localPosts/{_numeric_id(user.id, index, 19)}",
}
BUILDERS: dict[str, Callable[[World, User, int, float, str], Post]] = {
    "x": _x,
    "mastodon": _mastodon,
    "bluesky": _bluesky,
    "facebook": _facebook,
    "instagram": _instagram,
    "threads": _threads,
    "linkedin": _linkedin,
    "google_business": _google_business,
    "pinterest": _pinterest,
    "youtube": _youtube,
    "tiktok": _tiktok,
}


def seed(world: World, platform: str, user: User, count: int, base_url: str) -> int:
    """Adds `count` posts to the user's history, after any it has (made since the newest, spread up
    to now); how many (0 where the platform has no builder)."""
    build = BUILDERS.get(platform)
    if build is None or count <= 0:
        return 0
    start, now = 0, world.now()
    while world.posts.get(platform, _id_of(platform, user, start)) is not None:
        start += 1
    newest = world.posts.get(platform, _id_of(platform, user, start - 1)) if start else None
    for n in range(count):
        if newest is None:
            at = now - SPACING_S * (count - n)
        else:
            at = newest.created_at + (now - newest.created_at) * (n + 1) / (count + 1)
        world.posts.add(build(world, user, start + n, at, f"{base_url}/{platform}"))
    return count


def _id_of(platform: str, user: User, index: int) -> str:
    return ID_OF[platform](user, index)


def _text(user: User, index: int) -> str:
    return f"Post {index + 1} of {user.username}"
