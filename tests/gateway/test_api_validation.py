"""Every malformed request gets its documented 4xx in the error shape, never a 500."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.gateway.conftest import Gateway, Org
from tests.support.stack import wait_for

ACCOUNT = "<x>"


def in_days(days: float) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


CASES: list[tuple[str, dict[str, Any], str, str | None]] = [
    ("empty content", {"content": "  ", "accounts": [ACCOUNT]}, "validation_error", "content"),
    ("neither content nor containers", {"accounts": [ACCOUNT]}, "validation_error", "content"),
    (
        "both content and containers",
        {"content": "a", "containers": [{"content": "b"}], "accounts": [ACCOUNT]},
        "validation_error",
        "content",
    ),
    ("empty containers", {"containers": [], "accounts": [ACCOUNT]}, "validation_error", "containers"),
    (
        "empty container",
        {"containers": [{"content": ""}], "accounts": [ACCOUNT]},
        "validation_error",
        "containers[0].content",
    ),
    ("no accounts", {"content": "a", "accounts": []}, "validation_error", "accounts"),
    ("duplicate accounts", {"content": "a", "accounts": [ACCOUNT, ACCOUNT]}, "validation_error", "accounts"),
    ("missing accounts", {"content": "a"}, "validation_error", None),
    ("unknown account", {"content": "a", "accounts": [ACCOUNT, "nope"]}, "unknown_account", None),
    (
        "31 days ahead",
        {"content": "a", "accounts": [ACCOUNT], "scheduled_at": in_days(31)},
        "validation_error",
        "scheduled_at",
    ),
    (
        "in the past",
        {"content": "a", "accounts": [ACCOUNT], "scheduled_at": in_days(-0.01)},
        "validation_error",
        "scheduled_at",
    ),
    (
        "bare timestamp",
        {"content": "a", "accounts": [ACCOUNT], "scheduled_at": in_days(1)[:19]},
        "validation_error",
        "scheduled_at",
    ),
    (
        "not a timestamp",
        {"content": "a", "accounts": [ACCOUNT], "scheduled_at": "tomorrow"},
        "validation_error",
        "scheduled_at",
    ),
    ("content is a number", {"content": 5, "accounts": [ACCOUNT]}, "validation_error", "content"),
    ("accounts is a string", {"content": "a", "accounts": ACCOUNT}, "validation_error", "accounts"),
    ("is_draft is a string", {"content": "a", "accounts": [ACCOUNT], "is_draft": "yes"}, "validation_error", None),
    ("scheduled_at is a number", {"content": "a", "accounts": [ACCOUNT], "scheduled_at": 1}, "validation_error", None),
    (
        "config for an unknown platform",
        {"content": "a", "accounts": [ACCOUNT], "config": {"myspace": {}}},
        "validation_error",
        "config.myspace",
    ),
    (
        "config value not an object",
        {"content": "a", "accounts": [ACCOUNT], "config": {"x": 1}},
        "validation_error",
        None,
    ),
    (
        "override for an unlisted account",
        {"content": "a", "accounts": [ACCOUNT], "targets": [{"account_id": "other", "override_body": "b"}]},
        "validation_error",
        "targets",
    ),
    (
        "unknown field",
        {"content": "a", "accounts": [ACCOUNT], "queued_for_account": ACCOUNT},
        "validation_error",
        None,
    ),
    ("body is an array", [], "validation_error", None),  # type: ignore[list-item]
]


@pytest.mark.parametrize(("name", "body", "code", "field"), CASES, ids=[c[0] for c in CASES])
def test_bad_post_bodies(gateway: Gateway, sandbox: Org, name: str, body: Any, code: str, field: str | None) -> None:
    body = _with_account(body, sandbox.accounts["x"])
    with sandbox.test() as c:
        r = c.post("/posts", json=body)
    assert r.status_code == 422, (name, r.text)
    error = r.json()["error"]
    assert error["code"] == code and error["request_id"] == r.headers["x-request-id"]
    if field is not None:
        assert field in [f["field"] for f in error["details"]["fields"]], error
    if code == "unknown_account":
        assert error["details"]["accounts"] == ["nope"]
    with sandbox.test() as c:
        assert c.get("/posts").json()["data"] == []


def _with_account(body: Any, account: str) -> Any:
    if isinstance(body, dict):
        return {k: _with_account(v, account) for k, v in body.items()}
    if isinstance(body, list):
        return [_with_account(v, account) for v in body]
    return account if body == ACCOUNT else body


def test_malformed_json_is_400(gateway: Gateway, sandbox: Org) -> None:
    with sandbox.test() as c:
        r = c.post("/posts", content=b'{"content": "a", ', headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_json"


@pytest.mark.parametrize(
    "body",
    [b'{"content": "\xff\xfe", "accounts": []}', b"[" * 5000 + b"]" * 5000],
    ids=["invalid utf-8", "nested 5000 deep"],
)
def test_json_the_decoder_chokes_on_is_400_not_500(gateway: Gateway, sandbox: Org, body: bytes) -> None:
    with sandbox.test() as c:
        for path in ("/posts", "/webhooks", "/end-users"):
            r = c.post(path, content=body, headers={"content-type": "application/json"})
            assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_json", (path, r.text)


def test_oversize_body_is_413(gateway: Gateway, sandbox: Org) -> None:
    with sandbox.test() as c:
        r = c.post("/posts", json={"content": "a" * 1_200_000, "accounts": [sandbox.accounts["x"]]})
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 101},
        {"limit": -1},
        {"limit": "ten"},
        {"status": "done"},
        {"created_after": "yesterday"},
        {"created_after": "2026-01-01T00:00:00"},
    ],
)
def test_bad_list_parameters_are_422(gateway: Gateway, org: Org, params: dict[str, Any]) -> None:
    with org.test() as c:
        r = c.get("/posts", params=params)
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error", r.text


@pytest.mark.parametrize(
    "cursor", ["garbage", "eyJjIjoxfQ", "", "%%%", "eyJjIjoiMjAyNi0wMS0wMVQwMDowMDowMCIsImkiOiJ4In0"]
)
def test_bad_cursor_is_422(gateway: Gateway, org: Org, cursor: str) -> None:
    with org.test() as c:
        for path in ("/posts", "/social-accounts"):
            r = c.get(path, params={"cursor": cursor})
            assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_cursor", (path, r.text)


def test_unknown_route_and_method(gateway: Gateway, org: Org) -> None:
    with org.test() as c:
        r = c.get("/nothing-here")
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
        r = c.put("/posts")
        assert r.status_code == 405 and r.json()["error"]["code"] == "method_not_allowed"
    with gateway.client() as c:
        r = c.get(f"{gateway.api_url}/nope")
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


def test_request_id_is_echoed_or_generated(gateway: Gateway, org: Org) -> None:
    with org.test() as c:
        r = c.get("/posts/missing", headers={"X-Request-Id": "req-abc.123"})
        assert r.headers["x-request-id"] == "req-abc.123" and r.json()["error"]["request_id"] == "req-abc.123"
        r = c.get("/posts/missing", headers={"X-Request-Id": "bad id with spaces"})
        generated = r.headers["x-request-id"]
        assert generated != "bad id with spaces" and r.json()["error"]["request_id"] == generated
        assert c.get("/posts").headers["x-request-id"] != generated


def test_logs_carry_request_ids_but_never_keys(gateway: Gateway, org: Org) -> None:
    with org.test() as c:
        c.get("/posts", headers={"X-Request-Id": "log-check-1"})
    # The access line is written just after the response leaves.
    logs = wait_for(lambda: "log-check-1" in gateway.full_log() and gateway.full_log(), what="access log line")
    assert org.test_key not in logs and org.live_key not in logs and org.test_key[12:] not in logs


def test_options_is_answered_on_every_operation_with_or_without_a_key(gateway: Gateway, org: Org) -> None:
    spec = httpx.get(f"{gateway.api_url}/api/v1/openapi.json").json()
    with org.test() as keyed, httpx.Client(base_url=gateway.api_url) as anonymous:
        for path, operations in spec["paths"].items():
            concrete = path.replace("{", "").replace("}", "")  # a path parameter's name as its value
            for client in (keyed, anonymous):
                r = client.options(concrete if client is anonymous else concrete.removeprefix("/api/v1"))
                assert r.status_code < 500, (path, r.status_code, r.text)
            r = anonymous.options(concrete)
            allowed = {m.strip() for m in r.headers.get("allow", "").split(",") if m.strip()}
            # The methods of the handler the path resolves to; where one path's methods live in two
            # controllers, Litestar lists one controller's (a 405's Allow is the same).
            assert "OPTIONS" in allowed and allowed & {m.upper() for m in operations}, (path, r.headers)
