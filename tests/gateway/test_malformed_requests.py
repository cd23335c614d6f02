"""Malformed requests against the running gateway, as raw as httpx will send them: each is a 4xx
in the API's error shape, never a 500 and never accepted. Bodies under the wrong Content-Type are
415s, methods a path does not serve 405s that name every method it does, and `OPTIONS` lists them
all, whichever controller declares each."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.gateway.conftest import Gateway, Org

JSON = "application/json"
POST_BODY = b'{"content": "x", "accounts": []}'  # well-formed: reaches the post's own checks (422)
POST_PATHS = "DELETE, GET, OPTIONS, PATCH"
AS_JSON, AS_TEXT = [("content-type", JSON.encode())], [("content-type", b"text/plain")]
TYPE, INVALID = "unsupported_media_type", "validation_error"
TOO_BIG = b'{"content": "' + b"a" * 2_000_000 + b'"}'
TEXT_NUMBER = b'{"slots": [{"minute_of_day": "570"}]}'
TWO_KEYS = [("authorization", b"Bearer KEY"), ("authorization", b"Bearer sk_test_other")]
JSON_UTF8 = b"application/json; charset=utf-8"
FORM, MULTIPART = b"application/x-www-form-urlencoded", b"multipart/form-data; boundary=x"

# (case, method, path, headers, body, status, code). `KEY` in a header is the org's test key.
# fmt: off
CASES: list[tuple[str, str, str, list[tuple[str, bytes]], bytes | None, int, str]] = [
    ("text/plain JSON", "POST", "/posts", AS_TEXT, POST_BODY, 415, TYPE),
    ("no Content-Type", "POST", "/posts", [], POST_BODY, 415, TYPE),
    ("a form", "POST", "/posts", [("content-type", FORM)], b"a=1", 415, TYPE),
    ("multipart to JSON", "POST", "/posts", [("content-type", MULTIPART)], b"--x--", 415, TYPE),
    ("non-ASCII type", "POST", "/posts", [("content-type", "application/jsön".encode())], POST_BODY, 415, TYPE),
    ("PATCH as text", "PATCH", "/webhooks/wh_1", AS_TEXT, b"{}", 415, TYPE),
    ("publish as text", "POST", "/posts/p1/publish", AS_TEXT, b"{}", 415, TYPE),
    ("media as text", "POST", "/media", AS_TEXT, b"{}", 415, TYPE),
    ("charset is JSON", "POST", "/posts", [("content-type", JSON_UTF8)], POST_BODY, 422, INVALID),
    ("+json is JSON", "POST", "/posts", [("content-type", b"application/vnd.crier+json")], POST_BODY, 422, INVALID),
    ("no body, required", "POST", "/posts", [], None, 400, "invalid_json"),
    ("no body, optional", "POST", "/posts/p1/publish", [], None, 404, "not_found"),
    ("null for an optional body", "POST", "/posts/p1/publish", AS_JSON, b"null", 422, INVALID),
    ("a string body", "POST", "/posts", AS_JSON, b'"x"', 422, INVALID),
    ("an array body", "POST", "/posts", AS_JSON, b"[1, 2]", 422, INVALID),
    ("a null body", "POST", "/posts", AS_JSON, b"null", 422, INVALID),
    ("trailing garbage", "POST", "/posts", AS_JSON, POST_BODY + b" trailing", 400, "invalid_json"),
    ("two documents", "POST", "/posts", AS_JSON, POST_BODY + POST_BODY, 400, "invalid_json"),
    ("whitespace only", "POST", "/posts", AS_JSON, b"   ", 400, "invalid_json"),
    ("0 for false", "PATCH", "/webhooks/wh_1", AS_JSON, b'{"is_active": 0}', 422, INVALID),
    ("a number as text", "PUT", "/scheduling/slots", AS_JSON, TEXT_NUMBER, 422, INVALID),
    ("over the size limit", "POST", "/posts", AS_JSON, TOO_BIG, 413, "payload_too_large"),
    ("PUT on a post", "PUT", "/posts/p1", [], None, 405, "method_not_allowed"),
    ("TRACE", "TRACE", "/posts", [], None, 405, "method_not_allowed"),
    ("DELETE the key list", "DELETE", "/api-keys", [], None, 405, "method_not_allowed"),
    ("undecodable id", "GET", "/posts/%FF%FE", [], None, 404, "not_found"),
    ("a 5,000 character id", "GET", "/posts/" + "a" * 5000, [], None, 404, "not_found"),
    ("a climbing id", "GET", "/posts/..%2F..%2Fetc%2Fpasswd", [], None, 404, "not_found"),
    ("no such path", "GET", "/no-such-thing", [], None, 404, "not_found"),
    ("Basic auth", "GET", "/posts", [("authorization", b"Basic YTpi")], None, 401, "unauthorized"),
    ("Bearer alone", "GET", "/posts", [("authorization", b"Bearer")], None, 401, "unauthorized"),
    ("non-ASCII key", "GET", "/posts", [("authorization", "Bearer sk_test_clé".encode())], None, 401, "unauthorized"),
    ("two keys", "GET", "/posts", TWO_KEYS, None, 401, "unauthorized"),
    ("a repeated parameter", "GET", "/posts?limit=1&limit=100", [], None, 400, "repeated_query_parameter"),
    ("a huge limit", "GET", "/posts?limit=" + "9" * 40, [], None, 422, INVALID),
    ("a limit of words", "GET", "/posts?limit=ten", [], None, 422, INVALID),
    ("a 60,000 character search", "GET", "/posts?search=" + "a" * 60_000, [], None, 422, INVALID),
    ("an undecodable filter", "GET", "/posts?status=%FF", [], None, 422, INVALID),
]
# fmt: on


@pytest.fixture(scope="module")
def module_org(gateway: Gateway) -> Org:
    return gateway.new_org("edge")


def _send(gateway: Gateway, key: str, method: str, path: str, headers: list[tuple[str, bytes]], body: Any) -> Any:
    sent = [(name, value.replace(b"KEY", key.encode())) for name, value in headers]
    if not any(name == "authorization" for name, _ in sent):
        sent.append(("authorization", f"Bearer {key}".encode()))
    with httpx.Client(timeout=30) as client:
        request = client.build_request(method, f"{gateway.api_url}/api/v1{path}", headers=sent, content=body)
        return client.send(request)


@pytest.mark.parametrize(
    ("method", "path", "headers", "body", "status", "code"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_a_malformed_request_is_a_4xx_in_the_error_shape(
    gateway: Gateway, module_org: Org, method: str, path: str, headers: Any, body: Any, status: int, code: str
) -> None:
    r = _send(gateway, module_org.test_key, method, path, headers, body)
    assert r.status_code == status, r.text[:500]
    assert r.headers["content-type"].startswith(JSON)
    error = r.json()["error"]
    assert error["code"] == code and error["message"] and error["request_id"] == r.headers["x-request-id"]
    assert isinstance(error["details"], dict)


def test_a_405_names_every_method_the_path_serves(gateway: Gateway, module_org: Org) -> None:
    r = _send(gateway, module_org.test_key, "PUT", "/posts/p1", [], None)
    assert r.status_code == 405 and r.headers["allow"] == POST_PATHS
    assert r.json()["error"]["details"]["allowed_methods"] == POST_PATHS.split(", ")
    r = _send(gateway, module_org.test_key, "DELETE", "/posts", [], None)
    assert r.status_code == 405 and r.headers["allow"] == "GET, OPTIONS, POST"


@pytest.mark.parametrize("key", [True, False], ids=["with a key", "without a key"])
def test_options_lists_every_method_of_the_path(gateway: Gateway, module_org: Org, key: bool) -> None:
    headers = {"Authorization": f"Bearer {module_org.test_key}"} if key else {}
    spec = httpx.get(f"{gateway.api_url}/api/v1/openapi.json").json()
    with httpx.Client(base_url=gateway.api_url, headers=headers, timeout=15) as client:
        for path, item in spec["paths"].items():
            served = {m.upper() for m in item if m in {"get", "put", "post", "patch", "delete"}}
            r = client.options(path.replace("{", "").replace("}", ""))
            assert r.status_code == 204 and not r.content, (path, r.status_code, r.text)
            assert set(r.headers["allow"].split(", ")) == served | {"OPTIONS"}, (path, r.headers["allow"])


def test_the_document_names_the_415_and_the_optional_body(gateway: Gateway) -> None:
    spec = httpx.get(f"{gateway.api_url}/api/v1/openapi.json").json()
    with_bodies = [
        (path, method, op)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if isinstance(op, dict) and "requestBody" in op
    ]
    assert len(with_bodies) >= 17
    for path, method, op in with_bodies:
        assert op["responses"]["415"]["content"][JSON]["schema"] == {"$ref": "#/components/schemas/ErrorBody"}, (
            path,
            method,
        )
    publish = spec["paths"]["/api/v1/posts/{post_id}/publish"]["post"]["requestBody"]
    assert publish["required"] is False
    assert publish["content"][JSON]["schema"] == {"$ref": "#/components/schemas/PostPublish"}
