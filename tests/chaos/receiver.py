"""A customer's webhook endpoint on loopback: every delivery recorded, its signature checked as it
arrives (Standard Webhooks refuses a timestamp older than five minutes, and a run can be longer)."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook


@dataclass(frozen=True)
class Delivery:
    endpoint: str
    webhook_id: str
    event: dict[str, Any]
    signed: bool
    received_at: datetime


class Receiver:
    """Serves `/hooks/<name>` for every name given a secret with `expect`."""

    def __init__(self) -> None:
        self.deliveries: list[Delivery] = []
        self._secrets: dict[str, Webhook] = {}
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                receiver._record(self.path.rsplit("/", 1)[-1], {k.lower(): v for k, v in self.headers.items()}, body)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *_: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="webhook-receiver", daemon=True)
        self._thread.start()

    def url(self, endpoint: str) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hooks/{endpoint}"

    def expect(self, endpoint: str, secret: str) -> None:
        self._secrets[endpoint] = Webhook(secret)

    def _record(self, endpoint: str, headers: dict[str, str], body: bytes) -> None:
        hook = self._secrets.get(endpoint)
        try:
            event, signed = (hook.verify(body, headers), True) if hook else (_parsed(body), False)
        except Exception:
            event, signed = _parsed(body), False
        with self._lock:
            self.deliveries.append(Delivery(endpoint, headers.get("webhook-id", ""), event, signed, datetime.now(UTC)))

    def received(self) -> list[Delivery]:
        with self._lock:
            return list(self.deliveries)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _parsed(body: bytes) -> dict[str, Any]:
    try:
        event = json.loads(body)
    except ValueError:
        return {}
    return event if isinstance(event, dict) else {}
