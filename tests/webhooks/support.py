"""Test doubles with real I/O: a loopback HTTP receiver whose answers each test scripts, and
helpers to publish internal events and call the RPC API."""

from __future__ import annotations

import ssl
import threading
import time
import uuid
from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

import msgspec

from crier.contracts import events as evt
from crier.contracts import webhooks as api
from crier.contracts.common import Mode
from crier.kit.bus import Bus, rpc
from tests.support.bus import eventually  # noqa: F401  (re-exported for the tests)

T = TypeVar("T")


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes = b"ok"
    headers: dict[str, str] = field(default_factory=dict)
    # Hold the answer this long (or until the receiver is released): a slow or hung endpoint.
    delay_s: float = 0.0


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]

    def json(self) -> Any:
        return msgspec.json.decode(self.body)


class Receiver:
    """Answers each path from its script (a queue of replies, then its default reply) and records
    every request on arrival, before any delay."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self._lock = threading.Lock()
        self._scripts: dict[str, deque[Reply]] = defaultdict(deque)
        self._defaults: dict[str, Reply] = {}
        self._received: list[Received] = []
        self.released = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                reply = receiver._arrived(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                if reply.delay_s:
                    receiver.released.wait(reply.delay_s)
                try:
                    self.send_response(reply.status)
                    for k, v in reply.headers.items():
                        self.send_header(k, v)
                    self.send_header("content-length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except OSError:
                    pass  # the sender gave up (timeout) and closed the connection

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        # A refused TLS handshake is what some tests want; keep its traceback out of the output.
        self._server.handle_error = lambda request, client_address: None  # type: ignore[method-assign]
        if tls is not None:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def new_path(self, *script: Reply, default: Reply | None = None) -> str:
        path = f"/hook/{uuid.uuid4().hex[:12]}"
        with self._lock:
            self._scripts[path].extend(script)
            if default is not None:
                self._defaults[path] = default
        return path

    def received(self, path: str) -> list[Received]:
        with self._lock:
            return [r for r in self._received if r.path == path]

    def _arrived(self, path: str, headers: dict[str, str], body: bytes) -> Reply:
        with self._lock:
            self._received.append(Received(path, headers, body, time.monotonic()))
            script = self._scripts[path]
            return script.popleft() if script else self._defaults.get(path, Reply())

    def close(self) -> None:
        self.released.set()
        self._server.shutdown()
        self._server.server_close()


async def call(bus: Bus, subject: str, request: Any, reply_type: type[T]) -> T:
    return await rpc.call(bus, subject, request, reply_type, timeout=10)


async def publish(bus: Bus, subject: str, event: Any, msg_id: str | None = None) -> None:
    await bus.js.publish(bus.subject(subject), msgspec.json.encode(event), headers={"Nats-Msg-Id": msg_id or event.id})


def _envelope(org_id: str, mode: Mode = "live") -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "occurred_at": datetime.now(UTC), "org_id": org_id, "mode": mode}


def target_published(org_id: str, target_id: str, post_id: str = "post_1", mode: Mode = "live") -> evt.TargetPublished:
    return evt.TargetPublished(
        **_envelope(org_id, mode),
        post_id=post_id,
        target_id=target_id,
        platform="x",
        attempt=1,
        platform_post_id=f"x_{uuid.uuid4().hex[:8]}",
        platform_post_url="https://x.example/p/1",
        notes=["image med_1 re-encoded"],
    )


def attempt_failed(
    org_id: str, target_id: str, attempt: int, post_id: str = "post_1", mode: Mode = "live"
) -> evt.TargetAttemptFailed:
    return evt.TargetAttemptFailed(
        **_envelope(org_id, mode),
        post_id=post_id,
        target_id=target_id,
        platform="x",
        attempt=attempt,
        error_code="rate_limited",
        error_message="slow down",
        retry_in_seconds=30.0,
    )


def account_connected(org_id: str, account_id: str, mode: Mode = "live") -> evt.AccountConnected:
    return evt.AccountConnected(
        **_envelope(org_id, mode),
        account_id=account_id,
        platform="bluesky",
        username="alice",
        network_unique_id=f"did:{account_id}",
        updated_at=datetime.now(UTC),
    )


async def new_endpoint(
    bus: Bus, org_id: str, url: str, events: list[str] | None = None, mode: Mode = "live"
) -> api.EndpointCreated:
    request = api.EndpointCreate(org_id=org_id, mode=mode, url=url, events=events or ["*"])
    return await call(bus, api.WEBHOOKS_CREATE, request, api.EndpointCreated)


async def deliveries_of(bus: Bus, org_id: str, endpoint_id: str, mode: Mode = "live") -> list[api.Delivery]:
    request = api.DeliveryList(org_id=org_id, mode=mode, endpoint_id=endpoint_id, limit=100)
    return (await call(bus, api.WEBHOOKS_DELIVERIES, request, api.DeliveryPage)).data


def new_org() -> str:
    return f"org_{uuid.uuid4().hex[:10]}"
