"""What a JSON request body must be before a handler reads it: declared as JSON, present when the
operation needs one, and of the body's type read strictly.

Litestar reads any body as JSON whatever its Content-Type says (`text/plain`, or none), and converts
it to the handler's type leniently, as it must for query strings: `"is_active": 0` became `false`
and `"5"` became `5`, values the API document says are refused. So, for every handler that takes a
JSON `data`:

- a body under another Content-Type is a 415 `unsupported_media_type` (`application/json`, with
  any parameters, and `application/<anything>+json` are JSON);
- no body at all is a 400 `invalid_json` when the body is required, and fine when it is optional
  (`POST /posts/{id}/publish` with nothing to say asks for no Content-Type);
- the body is decoded once more, strictly, into the handler's type: a mismatch is the 422
  `validation_error` Litestar's own check would give, naming the field.

Handlers that read their body themselves (the media upload's multipart stream) take no `data`
and judge their own Content-Type.
"""

from __future__ import annotations

import re
from types import UnionType
from typing import Any, Union, get_args, get_origin

import msgspec
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.enums import RequestEncodingType
from litestar.handlers.base import BaseRouteHandler
from litestar.params import BodyKwarg

from crier.gateway.entrypoints.http.errors import ApiError

JSON_TYPES = ["application/json", "application/*+json"]
# msgspec ends a validation message with where the problem is: "… - at `$.accounts[0]`".
_WHERE = re.compile(r"^(?P<message>.*?)(?: - at `\$\.?(?P<field>[^`]*)`)?$", re.DOTALL)


def is_json(content_type: str) -> bool:
    kind = content_type.split(";", 1)[0].strip().lower()
    return kind == "application/json" or (kind.startswith("application/") and kind.endswith("+json"))


def json_body_of(handler: BaseRouteHandler) -> tuple[Any, bool] | None:
    """The type of the handler's JSON body and whether it may be absent; None if it takes none."""
    field = getattr(handler, "parsed_fn_signature", None) and handler.parsed_fn_signature.parameters.get("data")
    if not field:
        return None
    kwarg = field.kwarg_definition
    media_type = kwarg.media_type if isinstance(kwarg, BodyKwarg) else RequestEncodingType.JSON
    if media_type != RequestEncodingType.JSON:
        return None
    return _without_none(field.annotation), field.is_optional or field.has_default


def _without_none(annotation: Any) -> Any:
    """An optional body is left out, not sent as `null`: a body that is sent must be the object."""
    kinds = [kind for kind in get_args(annotation) if kind is not type(None)]
    if get_origin(annotation) in (Union, UnionType) and len(kinds) == 1:
        return kinds[0]
    return annotation


def _has_body(connection: ASGIConnection[Any, Any, Any, Any]) -> bool:
    length = connection.headers.get("content-length")
    if length is not None:
        return length.strip() not in ("", "0")
    return "transfer-encoding" in connection.headers


async def check_json_body(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """An app-wide check, run by the app's `before_request` hook (before the handler's arguments are read)."""
    expected = json_body_of(handler)
    if expected is None or not isinstance(connection, Request):
        return
    body_type, optional = expected
    if not _has_body(connection):
        if optional:
            return
        raise ApiError(400, "invalid_json", "this operation takes a JSON body, and none was sent")
    content_type = connection.headers.get("content-type", "")
    if not is_json(content_type):
        sent = content_type.split(";", 1)[0].strip() or "none"
        raise ApiError(
            415,
            "unsupported_media_type",
            f"send the body as application/json (Content-Type: {sent})",
            {"accepted": JSON_TYPES},
        )
    body = await connection.body()
    if not body and optional:
        return
    try:
        msgspec.json.decode(body, type=body_type, strict=True)
    except msgspec.ValidationError as exc:
        where = _WHERE.match(str(exc))
        field = (where and where["field"]) or "body"
        message = where["message"] if where else str(exc)
        raise ApiError(
            422,
            "validation_error",
            "the request is invalid",
            {"fields": [{"field": field, "code": "invalid", "message": message, "source": "body"}]},
        ) from None
    except msgspec.DecodeError:
        raise ApiError(400, "invalid_json", "the request body is not valid JSON") from None
