"""A loopback webhook receiver for end-to-end tests: it answers 204 and keeps every request."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook


class Receiver:
    """A loopback HTTP server that records every request it gets."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        received = self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *_: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def headers(self) -> list[dict[str, str]]:
        """Each request's headers, names in lower case."""
        return [headers for headers, _ in list(self.requests)]

    def events(self, secret: str) -> list[dict]:
        """Every delivery whose signature verifies, decoded; raises on a bad signature."""
        hook = Webhook(secret)
        return [hook.verify(body, headers) for headers, body in list(self.requests)]
