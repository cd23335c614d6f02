"""Media in live publishing tests: what each platform is given to publish, what it must refuse at
create, and how a post with media is made through the public API.

Every platform takes the same end-to-end media tests (`tests/e2e/test_media.py`); what differs per
platform is said here once, in a `MediaCase`: the files its post carries (what the platform takes:
a JPEG for Instagram, a video for YouTube and TikTok), the `config` the platform requires, the files
of a post it must refuse at create and the problem code it answers, and the files that make it
process (a video, or any media container on the platforms that process every one).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from crier.contracts.common import Platform
from tests.support.live import LiveAccount
from tests.support.media_files import gif, jpeg, mp4, noisy_jpeg, png

File = Callable[[], bytes]


def _square_jpeg() -> bytes:
    return jpeg(1080, 1080)


def _video() -> bytes:
    return mp4(640, 360, seconds=4.5, fps=30)


def _heavy_video() -> bytes:
    """LinkedIn takes no video under 75 KB."""
    return mp4(320, 240, seconds=3.5, fps=24, noise=True)


def _vertical_video() -> bytes:
    return mp4(360, 640, seconds=4.5, fps=30)


def _large_photo() -> bytes:
    """Google's photos must weigh at least 10 KB and measure 250 px a side."""
    return noisy_jpeg(400, 300, quality=80)


def _banner() -> bytes:
    return png(2200, 200)


@dataclass(frozen=True)
class MediaCase:
    files: tuple[File, ...]
    # What the platform must refuse at create: the files, and the problem code.
    refused: tuple[tuple[File, ...], str]
    # The files that make the platform process before it publishes.
    slow: tuple[File, ...]
    config: Callable[[LiveAccount], dict[str, Any]] = field(default=lambda _: {})
    # Whether the platform processes at all (Bluesky's blobs are ready when uploaded).
    processes: bool = True


CASES: dict[Platform, MediaCase] = {
    "x": MediaCase((jpeg, png), ((jpeg,) * 5, "too_many_media"), (_video,)),
    "mastodon": MediaCase((jpeg, gif), ((jpeg,) * 5, "too_many_media"), (_video,)),
    "bluesky": MediaCase((jpeg, png), ((jpeg,) * 5, "too_many_media"), (jpeg,), processes=False),
    "linkedin": MediaCase((jpeg,), ((jpeg, _video), "media_mix_unsupported"), (_heavy_video,)),
    "facebook": MediaCase((jpeg,), ((jpeg, _video), "media_mix_unsupported"), (_video,)),
    "threads": MediaCase((jpeg,), ((_banner,), "media_aspect_ratio"), (jpeg,)),
    "instagram": MediaCase((_square_jpeg,), ((png,), "media_format_unsupported"), (_square_jpeg,)),
    "pinterest": MediaCase(
        (jpeg,),
        ((jpeg,) * 6, "too_many_media"),
        (_video,),
        config=lambda account: {"pinterest": {"board_id": account.user["pages"][0]["id"]}},
    ),
    "google_business": MediaCase((_large_photo,), ((png,), "media_dimensions"), (_large_photo,)),
    "youtube": MediaCase(
        (_video,),
        ((jpeg,), "media_type_unsupported"),
        (_video,),
        config=lambda _: {"youtube": {"title": "Launch day", "privacy_status": "unlisted"}},
    ),
    "tiktok": MediaCase(
        (_vertical_video,),
        ((lambda: mp4(360, 640, seconds=1.0, fps=30),), "media_duration"),
        (_vertical_video,),
        config=lambda _: {"tiktok": {"privacy_level": "PUBLIC_TO_EVERYONE"}},
    ),
}


def upload(api: httpx.Client, data: bytes, *, alt_text: str | None = None, name: str = "file.bin") -> dict[str, Any]:
    """A media object made by a multipart upload through the public API."""
    form = {"alt_text": alt_text} if alt_text is not None else {}
    r = api.post("/media", files={"file": (name, data, "application/octet-stream")}, data=form)
    assert r.status_code == 201, r.text
    return dict(r.json())


def media_post(
    api: httpx.Client, account: LiveAccount, case_files: tuple[File, ...], *, text: str = "Launch day"
) -> tuple[httpx.Response, list[dict[str, Any]]]:
    """A post of `account`'s platform carrying `case_files` (uploaded first, each with alt text),
    with the config its platform requires; the answer and the media objects."""
    media = [upload(api, make(), alt_text=f"picture {i}") for i, make in enumerate(case_files)]
    body = {
        "containers": [{"content": text, "media": [{"id": m["id"]} for m in media]}],
        "accounts": [account.id],
        "config": CASES[account.platform].config(account),
    }
    return api.post("/posts", json=body), media
