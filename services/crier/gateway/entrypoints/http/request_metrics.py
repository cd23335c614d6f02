"""What every HTTP request is counted and timed by: its route template, method and status.

A label never takes a value from the client unchecked: the route is the template the router
matched (`/api/v1/posts/{post_id}`), or `unmatched` for a path no route serves (a scanner's
thousand probes are one series, not a thousand), and a method the HTTP specification does not
define is `_OTHER`, as the OpenTelemetry HTTP conventions name it.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from crier.kit.metrics import Metrics
from crier.kit.metrics_catalog import HTTP_DURATION, HTTP_REQUESTS

UNMATCHED = "unmatched"
OTHER_METHOD = "_OTHER"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE"})


def known_method(method: str) -> str:
    return method if method in _METHODS else OTHER_METHOD


class RequestMeters:
    """The two HTTP instruments, with each label set's series kept at hand: `labels()` takes a lock
    and checks its arguments on every call, and this runs on every request of an ingest burst."""

    def __init__(self, metrics: Metrics) -> None:
        self._requests = HTTP_REQUESTS.on(metrics)
        self._duration = HTTP_DURATION.on(metrics)
        self._series: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    def record(self, route: str | None, method: str, status: int, seconds: float) -> None:
        """`route` None: no route matched. `method` as `known_method` gives it."""
        key = (route or UNMATCHED, method, status)
        series = self._series.get(key)
        if series is None:
            series = self._series[key] = (
                self._requests.labels(route=key[0], method=method, status=str(status)),
                self._duration.labels(route=key[0], method=method),
            )
        series[0].inc()
        series[1].observe(seconds)


def unserved() -> RequestMeters:
    """On a registry of its own (in-process tests, tools): nothing scrapes it, nothing collides."""
    return RequestMeters(Metrics("gateway"))
