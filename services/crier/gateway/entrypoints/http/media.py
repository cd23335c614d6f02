"""/api/v1/media: upload media (or have Crier fetch it from a URL), list, read, describe and delete
it; and the signed, key-less URL platforms pull media from."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.response import Stream

from crier.gateway.entrypoints.http import media_schemas as s
from crier.gateway.entrypoints.http.auth import principal_of, requires
from crier.gateway.entrypoints.http.errors import ApiError, documented
from crier.gateway.entrypoints.http.media_upload import FRAMING_BYTES, receive_upload
from crier.gateway.entrypoints.http.request_body import is_json
from crier.gateway.entrypoints.http.state import Gateway, gateway_of
from crier.gateway.handlers import media as uc
from crier.gateway.handlers.media_spool import Spool
from crier.kit.errors import Invalid, Problem
from crier.kit.media.signing import MediaUrlSigner
from crier.kit.media.store import MediaMissing


class MediaController(Controller):
    path = "/api/v1/media"
    tags = ["media"]

    @post(
        "/",
        operation_id="createMedia",
        opt=requires("publish"),
        status_code=201,
        # The limit is the media's own (CRIER_MEDIA_MAX_BYTES), enforced while the body streams.
        request_max_body_size=None,
        operation_class=s.UploadOperation,
        responses=documented(400, 413, 415, 503),
        summary="Upload media, or have Crier fetch it from a URL",
    )
    async def create(self, request: Request[Any, Any, Any]) -> Response[s.Media]:
        """`multipart/form-data` with the file in `file` (and `alt_text`), streamed to disk as it
        arrives; or JSON `{"url", "alt_text"}`, fetched through the SSRF guard (public addresses
        only, redirects checked again, size and time limits). What the media is comes from its
        bytes alone, never its name or Content-Type: `type` image, gif or video, `mime`, `width`,
        `height`, and for video `duration_s`, `frame_rate`, `codec`. Images have their EXIF
        orientation applied and their location stripped before they are stored. 413
        `media_too_large` above the limit (CRIER_MEDIA_MAX_BYTES), refused from the declared
        Content-Length before anything is read; 422 `media_unreadable` for a file that is no image
        or video Crier can read, `media_fetch_failed` (with `details.reason`) for a URL that gives
        none."""
        gw, who = gateway_of(request), principal_of(request)
        kind, limit = request.content_type[0], gw.settings.media_max_bytes
        if kind == "multipart/form-data":
            declared = request.content_length
            if declared is not None and declared > limit + FRAMING_BYTES:
                raise ApiError(413, "media_too_large", f"the file is larger than {limit} bytes", {"max_bytes": limit})
            with Spool(limit) as spool:
                alt_text = await receive_upload(request, spool)
                row = await uc.add_media(gw.ctx, who, spool.received(), alt_text=alt_text)
        elif is_json(kind):
            body = await _json_body(request, gw.settings.max_body_bytes)
            row = await uc.fetch_media(gw.ctx, who, body.url, alt_text=body.alt_text)
        else:
            raise ApiError(
                415, "unsupported_media_type", "send multipart/form-data (a file) or application/json (a url)"
            )
        return Response(s.media_of(row), status_code=201)

    @get(
        "/",
        operation_id="listMedia",
        opt=requires("view"),
        responses=documented(),
        summary="List media, newest first",
    )
    async def list_media(
        self,
        request: Request[Any, Any, Any],
        kind: Annotated[str | None, QueryParameter(name="type")] = None,
        status: FromQuery[str | None] = None,
        limit: FromQuery[int | None] = None,
        cursor: FromQuery[str | None] = None,
    ) -> s.MediaList:
        """Filters `type` (image, gif, video) and `status` (processing, ready, failed)."""
        page = await uc.list_media(
            gateway_of(request).ctx, principal_of(request), kind=kind, status=status, limit=limit, cursor=cursor
        )
        return s.MediaList(data=[s.media_of(r) for r in page.rows], next_cursor=page.next_cursor)

    @get(
        "/{media_id:str}",
        operation_id="getMedia",
        opt=requires("view"),
        responses=documented(404),
        summary="Get a media object",
    )
    async def get_media(self, request: Request[Any, Any, Any], media_id: FromPath[str]) -> s.Media:
        return s.media_of(await uc.get_media(gateway_of(request).ctx, principal_of(request), media_id))

    @patch(
        "/{media_id:str}",
        operation_id="updateMedia",
        opt=requires("publish"),
        responses=documented(400, 404),
        summary="Set a media object's alt text",
    )
    async def update(
        self, request: Request[Any, Any, Any], media_id: FromPath[str], data: JSONBody[s.MediaUpdate]
    ) -> s.Media:
        """The alt text posts made from now on use when their reference to the media gives none
        (posts already made keep what they were made with)."""
        if data.alt_text is not None and "\x00" in data.alt_text:
            raise Invalid.one("alt_text", "invalid", "must not contain a NUL character")
        ctx, who = gateway_of(request).ctx, principal_of(request)
        return s.media_of(await uc.describe_media(ctx, who, media_id, data.alt_text))

    @delete(
        "/{media_id:str}",
        operation_id="deleteMedia",
        opt=requires("publish"),
        status_code=200,
        responses=documented(404, 409),
        summary="Delete a media object and its bytes",
    )
    async def delete_media(self, request: Request[Any, Any, Any], media_id: FromPath[str]) -> s.MediaDeleted:
        """409 `media_in_use` (with `details.post_ids`) while a draft, scheduled, queued or
        publishing post uses it."""
        await uc.delete_media(gateway_of(request).ctx, principal_of(request), media_id)
        return s.MediaDeleted(id=media_id)

    @get(
        "/{media_id:str}/content",
        operation_id="getMediaContent",
        security=[],
        opt={"exclude_from_auth": True},
        responses=documented(404),
        summary="The media's bytes, by a signed URL (public)",
    )
    async def content(
        self,
        request: Request[Any, Any, Any],
        media_id: FromPath[str],
        expires: FromQuery[int | None] = None,
        signature: FromQuery[str | None] = None,
    ) -> Stream:
        """No API key: the signature is the authority. Crier hands these URLs (under
        CRIER_PUBLIC_URL, valid for CRIER_MEDIA_URL_TTL_S) to the platforms that pull media
        rather than take an upload, so they must be able to reach this address. 403
        `invalid_signature` for a missing, altered or expired signature."""
        gw = gateway_of(request)
        if expires is None or signature is None or not _signer(gw).verify(media_id, expires, signature):
            raise ApiError(403, "invalid_signature", "the link's signature is invalid or has expired")
        row = await uc.content_of(gw.ctx, media_id)
        chunks = uc.store_of(gw.ctx).chunks(row.store_key)
        try:
            # The first piece before the answer starts: bytes gone from the store are a 404, not
            # a 200 cut short.
            first = await anext(aiter(chunks))
        except (MediaMissing, StopAsyncIteration):
            raise ApiError(404, "not_found", f"no media {media_id}") from None
        return Stream(
            _then(first, chunks),
            media_type=row.mime,
            headers={"content-length": str(row.bytes), "cache-control": "private, max-age=300"},
        )


async def _then(first: bytes, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    yield first
    async for chunk in rest:
        yield chunk


@functools.cache
def _signer_for(keys: str, public_url: str, ttl_s: int) -> MediaUrlSigner:
    return MediaUrlSigner(keys, public_url, ttl_s)


def _signer(gw: Gateway) -> MediaUrlSigner:
    settings = gw.settings
    return _signer_for(settings.encryption_keys, settings.public_url, settings.media_url_ttl_s)


async def _json_body(request: Request[Any, Any, Any], max_bytes: int) -> s.MediaFetch:
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > max_bytes:
            raise ApiError(413, "payload_too_large", "the request body is too large")
    try:
        return msgspec.json.decode(bytes(raw), type=s.MediaFetch)
    except msgspec.ValidationError as exc:
        field = str(exc).rpartition("at `$.")[2].rstrip("`") if "at `$." in str(exc) else "body"
        raise Invalid.of([Problem(field, "invalid", str(exc))]) from None
    except msgspec.DecodeError:
        raise ApiError(400, "invalid_json", "the request body is not valid JSON") from None
