"""One error shape for every failure: {"error": {"code", "message", "details", "request_id"}}."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    InternalServerException,
    MethodNotAllowedException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    SerializationException,
    ValidationException,
)
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.openapi import ResponseSpec
from msgspec import Meta

from crier.gateway.entrypoints.http.allowed_methods import allow_header
from crier.gateway.entrypoints.http.request_id import current_request_id, loggable_path, route_of
from crier.gateway.entrypoints.http.state import gateway_of
from crier.kit.errors import Failure
from crier.kit.log import get
from crier.kit.transient import is_transient

log = get("gateway.http")


class ErrorDetail(msgspec.Struct, kw_only=True):
    code: str
    message: str
    details: dict[str, Any] = {}
    request_id: str = ""


class ErrorBody(msgspec.Struct, kw_only=True):
    error: ErrorDetail


class ProblemDetail(msgspec.Struct, kw_only=True):
    field: str
    code: str
    message: str
    # Where a field the request could not be read into sits: body, query, path, header, cookie.
    source: str | None = None


_ACCOUNTS = (
    "validation_error on POST /posts: by account id, what that account's platform refuses in the post "
    "as the account would receive it (its override_body in place of the first container's text), e.g. "
    "too_long, empty, thread_unsupported, first_comment_unsupported, media_unsupported, invalid_config, "
    "or platform_not_supported (a live account of a platform Crier cannot publish to yet). "
    "unknown_account: the ids that do not exist, are not active, or belong to another organization or mode."
)


class InvalidDetails(msgspec.Struct, kw_only=True):
    """`details` of a 422; which keys it holds depends on the error's `code`, and codes other than
    these two may carry keys of their own."""

    fields: Annotated[
        list[ProblemDetail], Meta(description="validation_error: the problems of the request's own fields")
    ] = []
    accounts: Annotated[dict[str, list[ProblemDetail]] | list[str], Meta(description=_ACCOUNTS)] = {}


class InvalidDetail(msgspec.Struct, kw_only=True):
    code: str
    message: str
    details: InvalidDetails
    request_id: str = ""


class InvalidBody(msgspec.Struct, kw_only=True):
    """What a 422 documents; it is answered through `ErrorBody` like every error."""

    error: InvalidDetail


class ApiError(Exception):
    """A failure of the HTTP layer itself (a key, a scope, an upstream reply), with the status and
    code the API documents. Use cases raise `kit.errors.Failure`s instead, mapped below."""

    def __init__(self, status: int, code: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details or {}

    @classmethod
    def of(cls, kind: str, code: str, message: str, details: dict[str, Any] | None = None) -> ApiError:
        """A failure of `kind` (a use case's, or another service's over RPC) with its API status."""
        return cls(STATUS_OF_KIND.get(kind, 500), code, message, details)


# The status each kind of failure answers with (see crier.kit.errors).
STATUS_OF_KIND = {
    "invalid": 422,
    "not_found": 404,
    "conflict": 409,
    "forbidden": 403,
    "gone": 410,
    "unavailable": 503,
    "internal": 500,
}

_GENERIC = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
    503: "service_unavailable",
}


_DESCRIBED = {
    400: (
        "Malformed JSON, or no body where one is required (invalid_json); a malformed multipart body "
        "(invalid_multipart); a query parameter this operation does not take (unknown_query_parameter, "
        "details.unknown names them) or one sent more than once (repeated_query_parameter)"
    ),
    401: "Missing, invalid or revoked API key (unauthorized)",
    403: (
        "The key lacks a scope (insufficient_scope) or the wrong mode (test_mode_only); "
        "a media link's signature is invalid or expired (invalid_signature)"
    ),
    404: "No such resource in this organization and mode (not_found)",
    409: (
        "Conflicts: idempotency_in_progress, post_not_cancelable, target_not_retryable, post_not_retryable, "
        "media_in_use, post_not_draft, post_not_editable, post_modified (details.updated_at: the current one), "
        "external_ref_in_use"
    ),
    413: "Request body too large (payload_too_large), or an upload above the media limit (media_too_large)",
    415: "The body is of a type this operation does not take (unsupported_media_type)",
    422: (
        "Invalid request (validation_error with details.fields and, for a new post, details.accounts, "
        "where media references may be media_not_found, media_not_ready or media_id_or_url; "
        "unknown_account; idempotency_key_reused; invalid_cursor; media_unreadable: the file is no image or "
        "video; media_fetch_failed: a media URL gave no media, details.reason says why)"
    ),
    500: "Unexpected failure (internal_error)",
    503: "A service this request needs is unavailable",
}


def documented(*extra: int) -> dict[int, ResponseSpec]:
    """OpenAPI entries for the errors a route can answer with, all in the one error shape. Every
    operation can answer 400 (an unknown query parameter), and documenting it replaces Litestar's own
    400 schema, which is not the shape we answer with and which client generators cannot read."""
    statuses = sorted({400, 401, 403, 422, 500, *extra})
    return {
        code: ResponseSpec(
            InvalidBody if code == 422 else ErrorBody, description=_DESCRIBED[code], generate_examples=False
        )
        for code in statuses
    }


# What Litestar raises when the client disconnects while the body is read (it has no class of its
# own), and the status such a request is logged with.
CLIENT_GONE = "client disconnected prematurely"
CLIENT_CLOSED_REQUEST = 499


def error_response(
    status: int, code: str, message: str, details: dict[str, Any] | None = None, headers: dict[str, str] | None = None
) -> Response[ErrorBody]:
    body = ErrorBody(
        error=ErrorDetail(code=code, message=message, details=details or {}, request_id=current_request_id())
    )
    return Response(body, status_code=status, headers=headers, media_type="application/json")


def handle_exception(request: Request[Any, Any, Any], exc: Exception) -> Response[ErrorBody]:
    match exc:
        case ApiError():
            headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
            return error_response(exc.status, exc.code, exc.message, exc.details, headers)
        case Failure():
            # A use case that knows when to come back (an Idempotency-Key in use) says so in its details.
            wait = exc.details.get("retry_after_s")
            headers = {"Retry-After": str(wait)} if isinstance(wait, int) else None
            return error_response(STATUS_OF_KIND[exc.kind], exc.code, exc.message, exc.details, headers)
        case ValidationException():
            fields = [
                {
                    "field": str(e.get("key", "")),
                    "code": "invalid",
                    "message": str(e.get("message", "")),
                    "source": str(e.get("source", "")),
                }
                for e in (exc.extra if isinstance(exc.extra, list) else [])
                if isinstance(e, dict)
            ]
            return error_response(422, "validation_error", "the request is invalid", {"fields": fields})
        case HTTPException() if isinstance(exc.__cause__, SerializationException) or "JSON is malformed" in exc.detail:
            return error_response(400, "invalid_json", "the request body is not valid JSON")
        case NotAuthorizedException():
            return error_response(401, "unauthorized", exc.detail, headers={"WWW-Authenticate": "Bearer"})
        case PermissionDeniedException():
            return error_response(403, "forbidden", exc.detail)
        case NotFoundException():
            return error_response(404, "not_found", "no such resource")
        case MethodNotAllowedException():
            # The router's `Allow` lists every method of the path (RFC 9110 requires it on a 405).
            allow = allow_header((exc.headers or {}).get("allow", "").split(","))
            return error_response(
                405,
                "method_not_allowed",
                f"{request.method} is not served here; this path serves {allow}",
                {"allowed_methods": allow.split(", ")},
                headers={"Allow": allow},
            )
        case RequestEntityTooLarge():
            return error_response(413, "payload_too_large", "the request body is too large")
        case InternalServerException() if exc.detail == CLIENT_GONE:
            # The client went away before its body was in: nothing failed here, and no one reads
            # the answer. Logged and counted as nginx does (499), never as a 500 with a traceback.
            log.info("http.client_disconnected", path=loggable_path(request.url.path))
            return error_response(CLIENT_CLOSED_REQUEST, "client_closed_request", "the client closed the request")
        case HTTPException() if exc.status_code < 500:
            return error_response(exc.status_code, _GENERIC.get(exc.status_code, "bad_request"), exc.detail)
    if is_transient(exc):
        # One line when the outage begins and one when it ends, not one per request meanwhile.
        gateway_of(request).outage.failed(route_of(request.scope), exc)
        return error_response(
            503,
            "service_unavailable",
            "a service this request needs is unavailable; retry shortly",
            headers={"Retry-After": "2"},
        )
    log.exception("http.unhandled_error", path=loggable_path(request.url.path), error=type(exc).__name__)
    return error_response(500, "internal_error", "an internal error occurred; quote the request_id when reporting it")
