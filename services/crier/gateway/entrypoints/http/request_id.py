"""The outermost ASGI layer: every request gets an id (echoed back and stamped on its log lines),
a server span, an access log line without any header values, and its count and duration.

It wraps the whole Litestar app (not a route middleware) so that even a 404 for an unknown route
carries the id and is counted. The route template is known only once Litestar has routed the
request (it writes it into the scope), so the span is named and the metrics labelled at the end.
"""

from __future__ import annotations

import re
import time
import uuid
from contextvars import ContextVar
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from crier.gateway.entrypoints.http.request_metrics import OTHER_METHOD, RequestMeters, known_method
from crier.gateway.entrypoints.http.request_outage import RequestOutage
from crier.kit.log import bound, get
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


def route_of(scope: Any) -> str | None:
    """The template of the route that served the request (`/api/v1/posts/{post_id}`); None when no
    route matched (an unknown path, or a method the path does not serve)."""
    template: str | None = scope.get("path_template")
    return template


class RequestIdMiddleware:
    def __init__(self, app: Any, meters: RequestMeters, outage: RequestOutage) -> None:
        self.app, self.meters, self.outage = app, meters, outage

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        offered = _header(scope, b"x-request-id")
        request_id = offered if offered and _ACCEPTABLE.match(offered) else uuid.uuid4().hex
        token = REQUEST_ID.set(request_id)
        try:
            with bound(request_id=request_id):
                await self._answer(scope, receive, send, request_id)
        finally:
            REQUEST_ID.reset(token)

    async def _answer(self, scope: Any, receive: Any, send: Any, request_id: str) -> None:
        """The request, answered by the app with its id, span, log line and metrics."""
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [h for h in message.get("headers", []) if h[0].lower() != b"x-request-id"]
                message = {**message, "headers": [*headers, (b"x-request-id", request_id.encode())]}
            await send(message)

        method = known_method(scope["method"])
        path = loggable_path(scope["path"])
        # The request's span roots the trace that follows a post through every service: the
        # outbox copies the current trace context into the headers of each event it writes.
        span = _tracer.start_span(
            "HTTP" if method == OTHER_METHOD else method,
            kind=SpanKind.SERVER,
            context=extract_context({"traceparent": _header(scope, b"traceparent") or ""}),
            # The request id is what a client quotes when it reports a problem: it finds the trace.
            attributes={"http.request.method": method, "url.path": path, "crier.request_id": request_id},
        )
        span_token = otel_context.attach(trace.set_span_in_context(span))
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            route = route_of(scope)
            self.meters.record(route, method, status, seconds)
            self.outage.answered(route, status)
            log.info(
                "http.request",
                method=scope["method"],
                path=path,
                route=route,
                status=status,
                duration_ms=round(seconds * 1000, 2),
            )
            _finish(span, scope["method"], method, route, status)
            otel_context.detach(span_token)
            span.end()


def _finish(span: trace.Span, sent_method: str, method: str, route: str | None, status: int) -> None:
    """Named and marked as the OpenTelemetry HTTP server conventions say: `{method} {route}`, the
    method alone when no route matched (a path is no name: one per post id); an error only for a
    5xx, since a 4xx is the client's mistake, answered as designed."""
    if not span.is_recording():
        return
    if route is not None:
        span.update_name(f"{'HTTP' if method == OTHER_METHOD else method} {route}")
        span.set_attribute("http.route", route)
    if method == OTHER_METHOD:
        span.set_attribute("http.request.method_original", sent_method)
    span.set_attribute("http.response.status_code", status)
    if status >= 500:
        span.set_attribute("error.type", str(status))
        span.set_status(Status(StatusCode.ERROR))


def _header(scope: Any, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1").strip()
    return None
