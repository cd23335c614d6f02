"""A client that disconnects before its body is in: logged as such (499), never as a 500."""

from __future__ import annotations

import json
import secrets
import socket

import httpx

from tests.gateway.conftest import Gateway, Org
from tests.support.stack import wait_for


def _lines_about(gateway: Gateway, request_id: str) -> list[dict[str, object]]:
    lines = []
    for raw in gateway.full_log().splitlines():
        if request_id in raw:
            try:
                lines.append(json.loads(raw))
            except json.JSONDecodeError:
                lines.append({"raw": raw})
    return lines


def test_a_body_cut_short_by_the_client_is_no_server_error(gateway: Gateway, org: Org) -> None:
    request_id = f"gone-{secrets.token_hex(4)}"
    url = httpx.URL(gateway.api_url)
    head = (
        "POST /api/v1/posts HTTP/1.1\r\n"
        f"host: {url.host}:{url.port}\r\n"
        f"authorization: Bearer {org.test_key}\r\n"
        f"x-request-id: {request_id}\r\n"
        "content-type: application/json\r\n"
        "content-length: 1000\r\n\r\n"
    )
    with socket.create_connection((url.host, url.port)) as s:
        s.sendall(head.encode() + b'{"content": "half')
    lines = wait_for(
        lambda: (
            {x.get("event") for x in _lines_about(gateway, request_id)} >= {"http.client_disconnected", "http.request"}
            and _lines_about(gateway, request_id)
        ),
        what="the disconnect and its access line logged",
    )
    events = [x.get("event") for x in lines]
    assert "http.unhandled_error" not in events, lines
    [access] = [x for x in lines if x.get("event") == "http.request"]
    assert access["status"] == 499
    assert not any("Traceback" in str(x) for x in lines), lines
    # The API still answers the same key normally.
    with org.test() as c:
        assert c.get("/posts").status_code == 200
