"""X media upload (API v2), as the contract in `../shared/platform-contracts/x/openapi.json` describes it:

- Chunked for every type: `POST /2/media/upload/initialize` (JSON `media_type`, `total_bytes`,
  `media_category` `tweet_image` / `tweet_gif` / `tweet_video`) answers the media id; `POST
  /2/media/upload/{id}/append` takes the bytes as multipart `media` with its `segment_index`
  (0..999, so 4 MB segments carry up to ~4 GB; larger videos use bigger segments); `POST
  /2/media/upload/{id}/finalize` closes it. Scope `media.write`.
- Images are ready at FINALIZE. GIFs and videos answer `processing_info` (`pending`,
  `in_progress`, `succeeded`, `failed`, with `check_after_secs`): `GET /2/media/upload?command=STATUS
  &media_id=` says how far it got. A post naming media still processing is refused, so the
  container waits (`StillProcessing`) until every item succeeded; `failed` is final.
- Alt text is metadata set after the upload: `POST /2/media/metadata` `{"id", "metadata":
  {"alt_text": {"text"}}}`, at most 1000 characters, for images and GIFs only (X refuses it for
  a video, so a video's alt text is not sent).
- Each finished upload is saved in the container's stage at once (`{"media": {<ref id>: {"id",
  "pending", "alt"}}}`), so a later delivery (after a crash or a processing wait) never uploads it
  again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from crier.contracts.common import Container, MediaRef
from crier.platforms.base import ContentRejected, OutcomeUnknown, PlatformError, PublishContext, StillProcessing

Call = Callable[..., Awaitable[Any]]

CATEGORY = {"image": "tweet_image", "gif": "tweet_gif", "video": "tweet_video"}
SEGMENT = 4 << 20
MAX_SEGMENTS = 1000
_WAITING = ("pending", "in_progress")


def _segment_size(media: MediaRef) -> int:
    """4 MB, or as much more as keeps a large video within X's 1000 segments."""
    return max(SEGMENT, -(-media.size_bytes // MAX_SEGMENTS))


def _data(answer: Any, step: str) -> dict[str, Any]:
    data = answer.get("data") if isinstance(answer, dict) else None
    if not isinstance(data, dict) or not data.get("id"):
        raise OutcomeUnknown(f"x answered {step} without a media id: {answer!r}"[:500])
    return data


def _processing(data: dict[str, Any]) -> dict[str, Any]:
    info = data.get("processing_info")
    return info if isinstance(info, dict) else {}


async def _upload(call: Call, ctx: PublishContext, media: MediaRef) -> tuple[str, bool]:
    """One item through INIT / APPEND / FINALIZE: its X media id, and whether X is processing it."""
    assert ctx.media is not None
    kind = media.type or "image"
    init = {"media_type": media.mime, "total_bytes": media.size_bytes, "media_category": CATEGORY[kind]}
    media_id = str(_data(await call("POST", "/2/media/upload/initialize", json=init), "initialize")["id"])
    index = 0
    async for chunk in ctx.media.chunks(media, _segment_size(media)):
        await call(
            "POST",
            f"/2/media/upload/{media_id}/append",
            data={"segment_index": str(index)},
            files={"media": ("blob", chunk, "application/octet-stream")},
        )
        index += 1
    finished = _data(await call("POST", f"/2/media/upload/{media_id}/finalize"), "finalize")
    info = _processing(finished)
    _raise_failed(info, media_id)
    return media_id, info.get("state") in _WAITING


def _raise_failed(info: dict[str, Any], media_id: str) -> None:
    if info.get("state") == "failed":
        error = info.get("error")
        error = error if isinstance(error, dict) else {}
        said = str(error.get("message") or error.get("name") or "the media could not be processed")
        raise ContentRejected(f"x refused media {media_id}: {said}", code="media_rejected")


async def media_ids(call: Call, ctx: PublishContext, container: Container, index: int) -> list[str]:
    """The X media ids of the container's media, uploading what is not uploaded yet; raises
    `StillProcessing` while X is still processing any of them."""
    if not container.media:
        return []
    if ctx.media is None or ctx.stage is None:
        raise PlatformError("x needs the post's media and a stage to upload it", code="media_unavailable")
    saved = ctx.stage.get(index)
    uploads: dict[str, dict[str, Any]] = dict(saved.get("media") or {})
    for media in container.media:
        if media.id not in uploads:
            media_id, pending = await _upload(call, ctx, media)
            uploads[media.id] = {"id": media_id, "pending": pending, "alt": False}
            await ctx.stage.save(index, {**saved, "media": uploads})
        entry = uploads[media.id]
        # X takes alt text for images and GIFs only; a video's is not sent.
        if media.alt_text and media.type != "video" and not entry["alt"]:
            alt = {"id": entry["id"], "metadata": {"alt_text": {"text": media.alt_text}}}
            await call("POST", "/2/media/metadata", json=alt)
            uploads[media.id] = {**entry, "alt": True}
            await ctx.stage.save(index, {**saved, "media": uploads})
    wait = await _still_processing(call, ctx, index, saved, uploads)
    if wait is not None:
        raise StillProcessing(f"x is still processing media of container {index}", retry_after_s=wait)
    return [uploads[m.id]["id"] for m in container.media]


async def _still_processing(
    call: Call, ctx: PublishContext, index: int, saved: dict[str, Any], uploads: dict[str, dict[str, Any]]
) -> float | None:
    """Asks X once about each item still processing; the longest wait it suggests, or None when
    every item is ready."""
    assert ctx.stage is not None
    wait: float | None = None
    for ref_id, entry in uploads.items():
        if not entry.get("pending"):
            continue
        status = await call("GET", "/2/media/upload", params={"command": "STATUS", "media_id": entry["id"]})
        info = _processing(_data(status, "status"))
        _raise_failed(info, entry["id"])
        if info.get("state") in _WAITING:
            wait = max(wait or 0.0, float(info.get("check_after_secs") or 5))
            continue
        uploads[ref_id] = {**entry, "pending": False}
        await ctx.stage.save(index, {**saved, "media": uploads})
    return wait


def uploaded(ctx: PublishContext, container: Container, index: int) -> list[str] | None:
    """The media ids the stage says this container's post carries, or None when its uploads were
    never all finished (so no post with them can have been made)."""
    if not container.media:
        return []
    uploads = (ctx.stage.get(index) if ctx.stage is not None else {}).get("media") or {}
    ids = [uploads.get(m.id, {}).get("id") for m in container.media]
    return [str(i) for i in ids] if all(ids) else None
