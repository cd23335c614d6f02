"""Instagram professional accounts through Facebook Login (the Instagram Graph API).

The login is Facebook's (same dialog, same token exchange, see `facebook.py`); the connectable
accounts are the Instagram business or creator accounts linked to the Pages the user manages
(`instagram_business_account` on each Page). Pages without one are skipped. Each account carries
its Page's access token, which the Instagram Graph API accepts for that account; `page_id` in
`extra` is kept because publishing and insights calls go through the same Page.

Publishing (`publisher`, `rules`; the containers themselves in `_graph_media`):
- Nothing is published without media. Instagram pulls it from the signed URL Crier hands it (it
  cURLs `image_url` / `video_url` when the container is made): `POST /{ig-user-id}/media`, polled
  with `GET /{container-id}?fields=status_code,status` (IN_PROGRESS: `StillProcessing`, a minute,
  Instagram's own advice; ERROR or EXPIRED: `media_rejected` with its `status`), then
  `POST /{ig-user-id}/media_publish` (`creation_id`) answers the post's id.
- `config.instagram.kind`: `feed` (one JPEG image, with `alt_text`; one video, which Instagram
  publishes as a reel since 2023; or 2-10 images and videos as a carousel: item containers with
  `is_carousel_item=true`, then `media_type=CAROUSEL` with `children`), `reel` (one video,
  `media_type=REELS`, `share_to_feed`) or `story` (one image or video, `media_type=STORIES`; a story
  has no caption and no comments). `collaborators` (up to 3 usernames) and `location_id` go with a
  feed post or a reel.
- The caption takes 2,200 characters, 30 hashtags and 20 @mentions. The first comment is
  `POST /{ig-media-id}/comments` (`message`, text only; `instagram_manage_comments`); Instagram has
  no thread of replies to post.
- Limits as Meta documents them: images JPEG only, up to 8 MB, 4:5 to 1.91:1 (widths outside
  320-1440 px are scaled, not refused); videos MP4 or MOV, 23-60 frames a second, 0.01:1 to 10:1,
  a reel or feed video 3 s to 15 min and 300 MB, a story video 3 s to 60 s and 100 MB. Alt text
  goes with images only (Meta documents no length for it; Crier holds it to 1,000 characters).
- An account publishes at most its `content_publishing_limit` in a moving day (code 9, subcode
  2207042 at `media_publish`): `RateLimited`, looked at again in an hour since Graph does not say
  when a slot frees. A container not ready yet at publish (9007) is retried.
- `find_published` consults the stage first: a container made but not published is published (not
  made again); one published is looked up among the account's latest media (or stories, or the
  comments under the post) by caption and time.
"""

from __future__ import annotations

from typing import Any

import httpx

from crier.platforms.facebook import FacebookProvider

# What a post may be, and the adapter that publishes it, live beside this module.
from crier.platforms.instagram_publishing import InstagramRules, publisher, rules
from crier.platforms.oauth import ConnectableAccount, TokenSet

__all__ = ["InstagramProvider", "InstagramRules", "provider", "publisher", "rules"]

_IG_FIELDS = "id,username,name,profile_picture_url"


class InstagramProvider(FacebookProvider):
    platform = "instagram"
    default_scopes = (
        "instagram_basic",
        "instagram_content_publish",
        # The first comment is made, and found again, with this one.
        "instagram_manage_comments",
        "pages_show_list",
        "pages_read_engagement",
        "business_management",
    )

    async def accounts(self, http: httpx.AsyncClient, tokens: TokenSet) -> list[ConnectableAccount]:
        pages = await self.pages(
            http, tokens.access_token, f"id,name,access_token,instagram_business_account{{{_IG_FIELDS}}}"
        )
        return [_account(p["instagram_business_account"], p) for p in pages if p.get("instagram_business_account")]

    async def identity(self, http: httpx.AsyncClient, access_token: str) -> ConnectableAccount:
        """With the Page token an Instagram account carries, `/me` is the Page and names its account."""
        me = await self.get(
            http,
            "api",
            f"/{self.graph_version}/me",
            access_token,
            params={"fields": f"id,name,instagram_business_account{{{_IG_FIELDS}}}"},
        )
        ig = me.get("instagram_business_account")
        if not ig:
            return await super().identity(http, access_token)
        return _account(ig, {**me, "access_token": None})


def _account(ig: dict[str, Any], page: dict[str, Any]) -> ConnectableAccount:
    return ConnectableAccount(
        network_unique_id=str(ig["id"]),
        username=ig.get("username"),
        display_name=ig.get("name") or ig.get("username"),
        account_type="business",
        profile_image_url=ig.get("profile_picture_url"),
        access_token=page.get("access_token"),
        extra={"page_id": str(page["id"]), "page_name": page.get("name")},
    )


provider = InstagramProvider()
