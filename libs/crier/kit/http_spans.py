"""CLIENT spans for the HTTP calls Crier makes to the outside (platforms, webhook receivers).

The span carries the OpenTelemetry HTTP client attributes, and `traceparent` goes out with the
request, so a receiver that traces joins the caller's trace. The URL is recorded without its
query string or user info: platforms take tokens in the query (`access_token=…`) and customers put
secrets in webhook URLs, and a trace backend is no place for either.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import httpx
from opentelemetry import propagate, trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

_tracer = trace.get_tracer("crier.http")


def safe_url(url: httpx.URL) -> str:
    """The URL as a trace may show it: scheme, host, port and path; no credentials, no query."""
    return str(url.copy_with(query=None, fragment=None, username=None, password=None))


@contextmanager
def client_span(name: str, method: str, url: str | httpx.URL, attributes: Mapping[str, Any]) -> Iterator[Span]:
    """A CLIENT span around one request; ended with an error status if the block raises."""
    with _tracer.start_as_current_span(
        name, kind=SpanKind.CLIENT, attributes={"http.request.method": method.upper(), **attributes}
    ) as span:
        if span.is_recording():  # a span that records nothing is spared parsing the URL
            span.set_attributes(_where(url))
        yield span


def _where(url: str | httpx.URL) -> dict[str, Any]:
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError):
        return {}  # the caller refuses such a URL itself; the span says so by its error
    return {
        "url.full": safe_url(parsed),
        "server.address": parsed.host,
        "server.port": parsed.port or (443 if parsed.scheme == "https" else 80),
    }


def with_traceparent(headers: Mapping[str, str] | httpx.Headers | None) -> dict[str, str]:
    """`headers` and the current trace context (W3C `traceparent`, `tracestate`)."""
    carrier = dict(headers or {})
    propagate.inject(carrier)
    return carrier


def answered(span: Span, status: int) -> None:
    """Record the status; 4xx and 5xx are errors of a client call (the semantic conventions' rule)."""
    span.set_attribute("http.response.status_code", status)
    if status >= 400:
        span.set_attribute("error.type", str(status))
        span.set_status(Status(StatusCode.ERROR))


def failed(span: Span, error_type: str, description: str | None = None) -> None:
    """No answer (a timeout, a refused connection, the guard's refusal)."""
    span.set_attribute("error.type", error_type)
    span.set_status(Status(StatusCode.ERROR, description))
