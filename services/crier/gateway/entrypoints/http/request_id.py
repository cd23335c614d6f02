"""The outermost ASGI layer: every request gets an id, echoed back and stamped on its log lines.

It wraps the whole Litestar app (not a route middleware) so that even a 404 for an unknown route
carries the id, and it writes the access log line without any header values.
"""

from __future__ import annotations

import re
import time
import uuid
from contextvars import ContextVar
from typing import Any

import structlog
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind

from crier.kit.log import get
from crier.kit.telemetry import extract_context, tracer

log = get("gateway.http")
REQUEST_ID: ContextVar[str] = ContextVar("request_id", default="")
_tracer = tracer("crier.gateway.http")
_ACCEPTABLE = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
# A pending-session token travels in the path (the public API's shape) and is a credential:
# it never reaches a log line or a span.
_SECRET_IN_PATH = re.compile(r"(/social-accounts/pending/)[^/]+")


def loggable_path(path: str) -> str:
    return _SECRET_IN_PATH.sub(r"\1[redacted]", path)


def current_request_id() -> str:
    return REQUEST_ID.get()


class RequestIdMiddleware:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        offered = _header(scope, b"x-request-id")
        request_id = offered if offered and _ACCEPTABLE.match(offered) else uuid.uuid4().hex
        token = REQUEST_ID.set(request_id)
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [h for h in message.get("headers", []) if h[0].lower() != b"x-request-id"]
                message = {**message, "headers": [*headers, (b"x-request-id", request_id.encode())]}
            await send(message)

        # The request's span roots the trace that follows a post through every service: the
        # outbox copies the current trace context into the headers of each event it writes.
        span = _tracer.start_span(
            f"{scope['method']} {loggable_path(scope['path'])}",
            kind=SpanKind.SERVER,
            context=extract_context({"traceparent": _header(scope, b"traceparent") or ""}),
            attributes={"http.request.method": scope["method"], "url.path": loggable_path(scope["path"])},
        )
        span_token = otel_context.attach(trace.set_span_in_context(span))
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            log.info(
                "http.request",
                method=scope["method"],
                path=loggable_path(scope["path"]),
                status=status,
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
            )
            span.set_attribute("http.response.status_code", status)
            otel_context.detach(span_token)
            span.end()
            structlog.contextvars.unbind_contextvars("request_id")
            REQUEST_ID.reset(token)


def _header(scope: Any, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1").strip()
    return None
