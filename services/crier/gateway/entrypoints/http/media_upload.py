"""Reading a multipart upload as it arrives, the file part straight into a `Spool` on disk.

Litestar's own multipart parsing (`data: UploadFile`) reads the whole body into memory first, so
this route takes no `data` and feeds `request.stream()` to python-multipart's streaming parser: the
memory an upload costs is one chunk, whatever the file's size.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from crier.gateway.domain.media import MAX_ALT_TEXT
from crier.gateway.entrypoints.http.errors import ApiError
from crier.gateway.handlers.media_spool import Spool, TooLarge
from crier.kit.errors import Invalid

# What a request may carry besides the file: the multipart framing and the alt_text field.
FRAMING_BYTES = 64 * 1024
_ALT_TEXT_BYTES = MAX_ALT_TEXT * 4


class _Form:
    """The parser's callbacks: the `file` part to the spool, `alt_text` kept, other parts dropped."""

    def __init__(self, spool: Spool) -> None:
        self.spool = spool
        self.files = 0
        self.alt_text: bytearray | None = None
        self._headers: dict[bytes, bytes] = {}
        self._field = bytearray()
        self._value = bytearray()
        self._into: str | None = None
        self.ended = False

    def callbacks(self) -> Any:
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": lambda data, start, end: self._field.extend(data[start:end]),
            "on_header_value": lambda data, start, end: self._value.extend(data[start:end]),
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
            "on_end": self._end,
        }

    def _part_begin(self) -> None:
        self._headers.clear()
        self._into = None

    def _header_end(self) -> None:
        self._headers[bytes(self._field).lower()] = bytes(self._value)
        self._field.clear()
        self._value.clear()

    def _headers_finished(self) -> None:
        _, params = parse_options_header(self._headers.get(b"content-disposition", b""))
        name = params.get(b"name")
        if name == b"file":
            self.files += 1
            if self.files > 1:
                raise Invalid.one("file", "one_file", "send one file per upload")
            self._into = "file"
        elif name == b"alt_text":
            self.alt_text = bytearray()
            self._into = "alt_text"

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._into == "file":
            self.spool.write(data[start:end])
        elif self._into == "alt_text" and self.alt_text is not None:
            self.alt_text.extend(data[start:end])
            if len(self.alt_text) > _ALT_TEXT_BYTES:
                raise Invalid.one("alt_text", "too_long", f"at most {MAX_ALT_TEXT} characters")

    def _part_end(self) -> None:
        self._into = None

    def _end(self) -> None:
        self.ended = True


async def receive_upload(request: Request[Any, Any, Any], spool: Spool) -> str | None:
    """Streams the upload's file into `spool`; its `alt_text`. The body is refused (413) as soon as
    it passes the spool's limit plus the framing, the file as soon as it passes the limit."""
    _, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if not boundary:
        raise ApiError(400, "invalid_multipart", "the multipart Content-Type names no boundary")
    form = _Form(spool)
    parser = MultipartParser(boundary, form.callbacks())
    body_limit, streamed = spool.max_bytes + FRAMING_BYTES, 0
    try:
        async for chunk in request.stream():
            streamed += len(chunk)
            if streamed > body_limit:
                raise TooLarge(spool.max_bytes)
            parser.write(chunk)
        parser.finalize()
    except TooLarge as exc:
        raise ApiError(413, "media_too_large", f"the file is {exc}", {"max_bytes": spool.max_bytes}) from None
    except MultipartParseError as exc:
        raise ApiError(400, "invalid_multipart", f"the multipart body is malformed: {exc}") from None
    if not form.ended:
        raise ApiError(400, "invalid_multipart", "the multipart body ended before its closing boundary")
    if form.files == 0:
        raise Invalid.one("file", "missing", "send the file in a part named 'file'")
    return _alt_text(form.alt_text)


def _alt_text(raw: bytearray | None) -> str | None:
    if raw is None:
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Invalid.one("alt_text", "invalid", "must be UTF-8 text") from None
    if "\x00" in text:
        raise Invalid.one("alt_text", "invalid", "must not contain a NUL character")
    if len(text) > MAX_ALT_TEXT:
        raise Invalid.one("alt_text", "too_long", f"at most {MAX_ALT_TEXT} characters")
    return text or None
