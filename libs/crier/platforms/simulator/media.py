"""Media on the simulated platforms, shared by every platform's media routes.

A platform's upload route stores what it received with `world.media.add(MediaItem(...))`, built by
`inspected(platform, data)`, which reads the bytes the way a platform does (Pillow for images,
PyAV for video) so a route can refuse what its platform refuses. Platforms that pull media from a
URL (Instagram, Threads, TikTok's pull, Pinterest, Google Business) call `await fetch(url)`, which
really downloads it: a URL the platform cannot reach fails the way it would on the platform.

Processing is simulated by time: an item is `processing` until `ready_at` (the platform's
`processing_s` setting, 0 by default, on the simulator's clock), then `ready`, unless the
`processing_fails` setting was true when it was added, which makes it end `failed`.

Tests host bytes for pull platforms with `POST /_sim/files` (the body as it is, with its
Content-Type) and read what was uploaded with `GET /_sim/{platform}/media`.
"""

from __future__ import annotations

import hashlib
import io
import secrets
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class MediaItem:
    """One uploaded (or pulled) media object as a platform keeps it."""

    platform: str
    id: str
    user_id: str
    data: bytes
    mime: str
    kind: str  # image | gif | video | unknown
    width: int | None = None
    height: int | None = None
    duration_s: float | None = None
    frame_rate: float | None = None
    alt_text: str | None = None
    ready_at: float = 0.0
    fails: bool = False
    # Whatever else the platform's route wants to remember (upload session, declared size, ...).
    extra: dict[str, Any] = field(default_factory=dict)

    def status(self, now: float) -> str:
        if now < self.ready_at:
            return "processing"
        return "failed" if self.fails else "ready"

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    def as_dict(self, now: float) -> dict[str, Any]:
        return {
            "platform": self.platform,
            "id": self.id,
            "user_id": self.user_id,
            "bytes": len(self.data),
            "sha256": self.sha256,
            "mime": self.mime,
            "kind": self.kind,
            "width": self.width,
            "height": self.height,
            "duration_s": self.duration_s,
            "frame_rate": self.frame_rate,
            "alt_text": self.alt_text,
            "status": self.status(now),
            "extra": self.extra,
        }


class MediaLibrary:
    """Every platform's media, and the files tests host for pull platforms."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], MediaItem] = {}
        self.files: dict[str, tuple[bytes, str]] = {}

    def add(self, item: MediaItem) -> MediaItem:
        self.items[(item.platform, item.id)] = item
        return item

    def get(self, platform: str, media_id: str) -> MediaItem | None:
        return self.items.get((platform, media_id))

    def of(self, platform: str) -> list[MediaItem]:
        return [m for (p, _), m in self.items.items() if p == platform]

    def host(self, data: bytes, mime: str) -> str:
        file_id = secrets.token_hex(8)
        self.files[file_id] = (data, mime)
        return file_id


def inspected(platform: str, media_id: str, user_id: str, data: bytes, *, declared_mime: str = "") -> MediaItem:
    """A `MediaItem` with what the bytes are (not what the client said they are)."""
    kind, mime, facts = _sniff(data)
    return MediaItem(
        platform=platform,
        id=media_id,
        user_id=user_id,
        data=data,
        mime=mime or declared_mime,
        kind=kind,
        **facts,
    )


def _sniff(data: bytes) -> tuple[str, str, dict[str, Any]]:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as img:
            fmt = (img.format or "").lower()
            mime = Image.MIME.get(img.format or "", "")
            kind = "gif" if fmt == "gif" else "image"
            return kind, mime, {"width": img.width, "height": img.height}
    except (UnidentifiedImageError, OSError, ValueError):
        pass
    import av

    try:
        with av.open(io.BytesIO(data)) as container:
            video = container.streams.video[0]
            duration = container.duration / 1_000_000 if container.duration else None
            rate = float(video.average_rate) if video.average_rate else None
            fmt = container.format.name
            mime = "video/quicktime" if fmt.startswith("mov") and "mp4" not in fmt else "video/mp4"
            return (
                "video",
                mime,
                {"width": video.width, "height": video.height, "duration_s": duration, "frame_rate": rate},
            )
    except (av.error.FFmpegError, IndexError, ValueError, OSError):
        return "unknown", "", {}


async def fetch(url: str, *, limit: int = 1 << 30, timeout_s: float = 30.0) -> tuple[bytes, str]:
    """Downloads a media URL as a platform would; `SimError` 400 (in a generic dialect) when it
    cannot, so the route answers the way its platform answers an unreachable URL."""
    # Imported here: the world (which holds the media library) is imported by authz itself.
    from crier.platforms.simulator.authz import SimError, reply

    try:
        async with httpx.AsyncClient(timeout=timeout_s, follow_redirects=True) as http:
            resp = await http.get(url)
    except httpx.HTTPError as exc:
        raise SimError(reply({"error": {"message": f"could not fetch media: {type(exc).__name__}"}}, 400)) from None
    if resp.status_code != 200:
        raise SimError(reply({"error": {"message": f"fetching media answered {resp.status_code}"}}, 400))
    if len(resp.content) > limit:
        raise SimError(reply({"error": {"message": "media too large"}}, 400))
    return resp.content, resp.headers.get("content-type", "")
