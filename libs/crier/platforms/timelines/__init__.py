"""Reading an account's existing posts (its timeline), one page at a time, for imports.

A reader asks the platform's documented timeline endpoint for one page, newest first, and answers
the posts on it with the cursor of the next page (None at the end). It keeps no state: the cursor
is all an import needs to carry on where it stopped, after a restart too. Failures are the
publishing adapters' `PlatformError`s (`_publish_http.send` classifies the answers the same way):
`RateLimited` with the platform's Retry-After, `TokenRejected` on a 401, and so on.

`readers` builds one reader per platform.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import httpx

from crier.contracts.connect import AccountToken
from crier.contracts.imports import ImportedPost
from crier.platforms.base import PlatformSettings

# How many posts to ask for per page, where the platform lets the caller choose.
PAGE_SIZE = 50


@dataclass(frozen=True)
class TimelinePage:
    posts: list[ImportedPost]
    # Where the next page starts; None when this page was the last.
    cursor: str | None


class TimelineReader(Protocol):
    async def page(self, account: AccountToken, cursor: str | None) -> TimelinePage: ...


def readers(
    http: httpx.AsyncClient, settings: PlatformSettings, *, guarded: httpx.AsyncClient | None = None
) -> dict[str, TimelineReader]:
    """Every platform's reader by platform name. Mastodon's instances are the customers' hosts,
    reached through the SSRF-guarded client when there is one, unless a stand-in plays every
    platform (`base_url_override`): then every call goes to the stand-in's one host."""
    from crier.platforms.timelines import (
        bluesky,
        facebook,
        google_business,
        instagram,
        linkedin,
        mastodon,
        pinterest,
        threads,
        tiktok,
        x,
        youtube,
    )

    instances = guarded if guarded is not None and not settings.base_url_override else http
    return {
        "x": x.XTimeline(http, settings),
        "mastodon": mastodon.MastodonTimeline(instances, settings),
        "bluesky": bluesky.BlueskyTimeline(instances, settings),
        "linkedin": linkedin.LinkedInTimeline(http, settings),
        "google_business": google_business.GoogleBusinessTimeline(http, settings),
        "facebook": facebook.FacebookTimeline(http, settings),
        "instagram": instagram.InstagramTimeline(http, settings),
        "threads": threads.ThreadsTimeline(http, settings),
        "youtube": youtube.YouTubeTimeline(http, settings),
        "pinterest": pinterest.PinterestTimeline(http, settings),
        "tiktok": tiktok.TikTokTimeline(http, settings),
    }
