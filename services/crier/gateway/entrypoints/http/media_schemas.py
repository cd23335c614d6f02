"""The JSON of the media API, and the OpenAPI description of its one request body that Litestar
cannot derive from a `data` parameter: `POST /media` takes a multipart upload or a JSON URL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from litestar.openapi.spec import OpenAPIFormat, OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema
from msgspec import Meta, Struct

from crier.contracts.common import MediaType
from crier.gateway.domain.media import MAX_ALT_TEXT, MediaStatus

AltText = Annotated[str, Meta(max_length=MAX_ALT_TEXT)]
Url = Annotated[str, Meta(min_length=1, max_length=2048)]


class MediaFetch(Struct, kw_only=True, forbid_unknown_fields=True):
    url: Url
    alt_text: AltText | None = None


class MediaUpdate(Struct, kw_only=True, forbid_unknown_fields=True):
    """`alt_text`: the text posts use when their reference to the media gives none; null clears it."""

    alt_text: AltText | None


class Media(Struct, kw_only=True):
    id: str
    type: MediaType
    mime: str
    bytes: int
    sha256: str
    width: int | None
    height: int | None
    duration_s: float | None
    frame_rate: float | None
    codec: str | None
    alt_text: str | None
    status: MediaStatus
    failure_reason: str | None
    source_url: str | None
    created_at: datetime


class MediaList(Struct, kw_only=True):
    data: list[Media]
    next_cursor: str | None


class MediaDeleted(Struct, kw_only=True):
    id: str
    deleted: bool = True


_FIELDS = (
    "id",
    "type",
    "mime",
    "bytes",
    "sha256",
    "width",
    "height",
    "duration_s",
    "frame_rate",
    "codec",
    "alt_text",
    "status",
    "failure_reason",
    "source_url",
    "created_at",
)


def media_of(row: Any) -> Media:
    return Media(**{k: getattr(row, k) for k in _FIELDS})


_ALT_TEXT = Schema(
    type=OpenAPIType.STRING, max_length=MAX_ALT_TEXT, description="Alt text for every platform that takes it"
)

UPLOAD_BODY = RequestBody(
    required=True,
    description=(
        "Either a multipart upload (the file in `file`) or a JSON object naming a URL to fetch the file from."
    ),
    content={
        "multipart/form-data": OpenAPIMediaType(
            schema=Schema(
                type=OpenAPIType.OBJECT,
                properties={
                    "file": Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY),
                    "alt_text": _ALT_TEXT,
                },
                required=["file"],
            )
        ),
        "application/json": OpenAPIMediaType(
            schema=Schema(
                type=OpenAPIType.OBJECT,
                properties={
                    "url": Schema(type=OpenAPIType.STRING, min_length=1, max_length=2048, format=OpenAPIFormat.URI),
                    "alt_text": _ALT_TEXT,
                },
                required=["url"],
                additional_properties=False,
            )
        ),
    },
)


@dataclass
class UploadOperation(Operation):
    """The create-media operation with its two request bodies."""

    def __post_init__(self) -> None:
        self.request_body = UPLOAD_BODY
