"""The JSON a simulated Mastodon instance answers with: the Account, Status and Instance entities
(`../shared/platform-contracts/mastodon/schema.json`), and a status's text rendered to HTML as
Mastodon's formatter renders it: links shortened inside spans, mentions as `@user`, hashtags,
paragraphs and line breaks."""

from __future__ import annotations

import html
import re
import zlib
from datetime import UTC, datetime
from typing import Any

from litestar import Request

from crier.platforms.mastodon import LANGUAGES, MENTION, URL
from crier.platforms.simulator import account_figures
from crier.platforms.simulator.posts import Post
from crier.platforms.simulator.world import User, World

DEFAULT_MAX_CHARACTERS = 500
_TAG = re.compile(r"(?<![=/\w])#(\w*[^\W\d_]\w*)")


def time_of(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def base_of(request: Request[Any, Any, Any]) -> str:
    return f"{str(request.base_url).rstrip('/')}/mastodon"


def max_characters(world: World) -> int:
    return int(world.setting("mastodon", "max_characters", DEFAULT_MAX_CHARACTERS))


def account(world: World, user: User, base: str) -> dict[str, Any]:
    """The Account entity."""
    statuses = world.posts.of("mastodon", user.id)
    return {
        "id": user.id,
        "username": user.username,
        "acct": user.username,
        "display_name": user.display_name,
        "locked": False,
        "bot": False,
        "discoverable": True,
        "indexable": True,
        "group": False,
        "hide_collections": False,
        "noindex": False,
        "created_at": time_of(1_600_000_000),
        "note": "<p>Simulated</p>",
        "url": f"{base}/@{user.username}",
        "uri": f"{base}/users/{user.username}",
        "avatar": user.avatar_url,
        "avatar_static": user.avatar_url,
        "header": f"{base}/headers/original/missing.png",
        "header_static": f"{base}/headers/original/missing.png",
        "followers_count": account_figures.figures("mastodon", user.id)["followers"],
        "following_count": account_figures.figures("mastodon", user.id)["following"],
        "statuses_count": len(statuses),
        "last_status_at": time_of(statuses[-1].created_at)[:10] if statuses else None,
        "emojis": [],
        "fields": [],
    }


def _link(url: str) -> str:
    scheme, _, rest = url.partition("://")
    shown, hidden = rest[:30], rest[30:]
    return (
        f'<a href="{html.escape(url)}" target="_blank" rel="nofollow noopener" translate="no">'
        f'<span class="invisible">{html.escape(scheme)}://</span>'
        f'<span class="{"ellipsis" if hidden else ""}">{html.escape(shown)}</span>'
        f'<span class="invisible">{html.escape(hidden)}</span></a>'
    )


def render(world: World, text: str, base: str) -> tuple[str, list[dict[str, Any]], list[dict[str, Any]]]:
    """Mastodon's TextFormatter, enough of it: (HTML content, mentions, tags)."""
    found: list[tuple[int, int, str, Any]] = [(m.start(), m.end(), "url", m.group(0)) for m in URL.finditer(text)]
    found += [(m.start(), m.end(), "mention", m) for m in MENTION.finditer(text)]
    found += [(m.start(), m.end(), "tag", m.group(1)) for m in _TAG.finditer(text)]
    found.sort(key=lambda f: f[0])
    users = {u.username.lower(): u for (p, _), u in world.users.items() if p == "mastodon"}
    out, mentions, tags, at = [], [], [], 0
    for start, end, kind, value in found:
        if start < at:
            continue  # inside an entity already rendered (a mention in a link)
        out.append(html.escape(text[at:start]))
        if kind == "url":
            out.append(_link(value))
        elif kind == "tag":
            name = value.lower()
            out.append(f'<a href="{base}/tags/{name}" class="mention hashtag" rel="tag">#<span>{value}</span></a>')
            tags.append({"name": name, "url": f"{base}/tags/{name}"})
        else:
            username, _, domain = value.group(0)[1:].partition("@")
            local = users.get(username.lower()) if not domain else None
            if not domain and local is None:
                out.append(html.escape(value.group(0)))  # nobody of that name: plain text, as Mastodon leaves it
            else:
                url = f"{base}/@{username}" if local else f"https://{domain}/@{username}"
                acct = username if local else f"{username}@{domain}"
                ident = local.id if local else str(10**17 + zlib.crc32(acct.lower().encode()))
                mentions.append({"id": ident, "username": username, "url": url, "acct": acct})
                out.append(
                    f'<span class="h-card" translate="no"><a href="{url}" class="u-url mention">'
                    f"@<span>{html.escape(username)}</span></a></span>"
                )
        at = end
    out.append(html.escape(text[at:]))
    paragraphs = re.split(r"\n{2,}", "".join(out).strip("\n"))
    content = "".join(f"<p>{par.replace(chr(10), '<br />')}</p>" for par in paragraphs if par)
    return content, mentions, tags


def status(world: World, post: Post, user: User, parent: Post | None, base: str, app_name: str) -> dict[str, Any]:
    """The Status entity of a post just made from `post.request`."""
    body = post.request
    content, mentions, tags = render(world, post.text, base)
    spoiler = str(body.get("spoiler_text") or "")
    language = body.get("language")
    return {
        "id": post.id,
        "created_at": time_of(post.created_at),
        "in_reply_to_id": parent.id if parent else None,
        "in_reply_to_account_id": parent.user_id if parent else None,
        "sensitive": body.get("sensitive") is True or str(body.get("sensitive")).lower() == "true" or bool(spoiler),
        "spoiler_text": spoiler,
        "visibility": str(body.get("visibility") or "public"),
        "language": language if language in LANGUAGES else None,
        "uri": f"{base}/users/{user.username}/statuses/{post.id}",
        "url": f"{base}/@{user.username}/{post.id}",
        "replies_count": 0,
        "reblogs_count": 0,
        "favourites_count": 0,
        "edited_at": None,
        "favourited": False,
        "reblogged": False,
        "muted": False,
        "bookmarked": False,
        "pinned": False,
        "content": content,
        "filtered": [],
        "reblog": None,
        "application": {"name": app_name, "website": None},
        "account": account(world, user, base),
        "media_attachments": [],
        "mentions": mentions,
        "tags": tags,
        "emojis": [],
        "card": None,
        "poll": None,
    }


def instance_v2(world: World, request: Request[Any, Any, Any]) -> dict[str, Any]:
    base, host = base_of(request), request.url.netloc
    return {
        "domain": host,
        "title": "Simulated Mastodon",
        "version": "4.4.0",
        "source_url": "https://github.com/mastodon/mastodon",
        "description": "A Mastodon instance played by Crier's platform simulator.",
        "usage": {"users": {"active_month": sum(1 for (p, _) in world.users if p == "mastodon")}},
        "thumbnail": {"url": f"{base}/packs/media/images/preview.png"},
        "icon": [],
        "languages": ["en"],
        "configuration": {
            "urls": {"streaming": f"ws://{host}", "status": None},
            "accounts": {"max_featured_tags": 10, "max_pinned_statuses": 5},
            "statuses": {
                "max_characters": max_characters(world),
                "max_media_attachments": 4,
                "characters_reserved_per_url": 23,
            },
            "media_attachments": {
                "supported_mime_types": ["image/jpeg", "image/png", "image/gif", "image/webp", "video/mp4"],
                "image_size_limit": 16777216,
                "image_matrix_limit": 33177600,
                "video_size_limit": 103809024,
                "video_frame_rate_limit": 120,
                "video_matrix_limit": 8294400,
            },
            "polls": {
                "max_options": 4,
                "max_characters_per_option": 50,
                "min_expiration": 300,
                "max_expiration": 2629746,
            },
            "translation": {"enabled": False},
        },
        "registrations": {"enabled": False, "approval_required": False, "message": None},
        "api_versions": {"mastodon": 6},
        "contact": {"email": f"admin@{request.url.hostname}", "account": None},
        "rules": [],
    }


def instance_v1(world: World, request: Request[Any, Any, Any]) -> dict[str, Any]:
    v2 = instance_v2(world, request)
    configuration = {k: v2["configuration"][k] for k in ("accounts", "statuses", "media_attachments", "polls")}
    return {
        "uri": v2["domain"],
        "title": v2["title"],
        "short_description": v2["description"],
        "description": v2["description"],
        "email": v2["contact"]["email"],
        "version": v2["version"],
        "urls": {"streaming_api": f"ws://{v2['domain']}"},
        "stats": {
            "user_count": v2["usage"]["users"]["active_month"],
            "status_count": len(world.posts.of("mastodon")),
            "domain_count": 1,
        },
        "thumbnail": v2["thumbnail"]["url"],
        "languages": v2["languages"],
        "registrations": False,
        "approval_required": False,
        "invites_enabled": False,
        "configuration": configuration,
        "contact_account": None,
        "rules": [],
    }
