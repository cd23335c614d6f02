"""NUL characters are refused at the edge with the API's error shape, never a 500."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from crier.gateway.entrypoints.http.nul_guard import NulGuard, body_has_nul


async def _call(path: str, query: bytes, chunks: list[bytes]) -> tuple[int, bytes, bytes]:
    seen_body = b""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        nonlocal seen_body
        while True:
            message = await receive()
            seen_body += message.get("body", b"")
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    incoming = [{"type": "http.request", "body": c, "more_body": i < len(chunks) - 1} for i, c in enumerate(chunks)]
    sent: list[dict] = []

    async def receive() -> Any:
        return incoming.pop(0)

    async def send(message: Any) -> None:
        sent.append(message)

    await NulGuard(app, 1000)({"type": "http", "path": path, "query_string": query}, receive, send)
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:]), seen_body


@pytest.mark.parametrize(
    ("path", "query", "chunks"),
    [
        ("/api/v1/posts", b"", [b'{"content": "a\\u0000b"}']),
        ("/api/v1/posts", b"", [b'{"meta": {"k\\u0000": 1}}']),
        ("/api/v1/posts", b"", [b'{"content": "a', b'\\u0000"}']),
        ("/api/v1/posts/a\x00b", b"", [b""]),
        ("/api/v1/posts", b"status=%00", [b""]),
    ],
)
async def test_nul_anywhere_is_a_422(path: str, query: bytes, chunks: list[bytes]) -> None:
    status, body, _ = await _call(path, query, chunks)
    assert status == 422
    assert msgspec.json.decode(body)["error"]["code"] == "validation_error"


async def test_clean_requests_reach_the_app_whole() -> None:
    status, _, seen = await _call("/api/v1/posts", b"limit=5", [b'{"content": "a literal \\\\u0000', b' stays"}'])
    assert status == 200
    assert seen == b'{"content": "a literal \\\\u0000 stays"}'


@given(
    st.recursive(
        st.text() | st.integers() | st.none(),
        lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
        max_leaves=10,
    )
)
def test_body_check_agrees_with_the_decoded_value(value: Any) -> None:
    def strings(v: Any) -> Any:
        if isinstance(v, str):
            yield v
        elif isinstance(v, list):
            for item in v:
                yield from strings(item)
        elif isinstance(v, dict):
            for k, item in v.items():
                yield k
                yield from strings(item)

    assert body_has_nul(msgspec.json.encode(value)) == any("\x00" in s for s in strings(value))


async def _json_call(body: bytes, content_type: bytes = b"application/json") -> tuple[int, bytes]:
    seen = b""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        nonlocal seen
        seen = (await receive()).get("body", b"")
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    sent: list[dict] = []

    async def receive() -> Any:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Any) -> None:
        sent.append(message)

    scope = {"type": "http", "path": "/api/v1/posts", "query_string": b"", "headers": [(b"content-type", content_type)]}
    await NulGuard(app, 1 << 20)(scope, receive, send)
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b'{"content": "\xff\xfe", "accounts": []}', "UTF-8"),
        (b"[" * 5000 + b"]" * 5000, "deeper"),
        (b'{"a": ' * 100 + b"1" + b"}" * 100, "deeper"),
    ],
)
async def test_json_the_decoder_would_crash_on_is_a_400(body: bytes, why: str) -> None:
    # msgspec raises UnicodeDecodeError and RecursionError on these, not a DecodeError.
    status, answer = await _json_call(body)
    error = msgspec.json.decode(answer)["error"]
    assert (status, error["code"]) == (400, "invalid_json") and why in error["message"]


async def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    deep_text = b'{"content": "' + b"[" * 500 + b'\\"' + b"{" * 500 + b'"}'
    assert (await _json_call(deep_text))[0] == 200
    assert (await _json_call(b"[" * 64 + b"]" * 64))[0] == 200
    # Not JSON by its Content-Type: left to the route.
    assert (await _json_call(b"\xff", b"application/octet-stream"))[0] == 200


_JSONISH = st.lists(st.sampled_from([b"[", b"]", b"{", b"}", b'"', b"\\", b"1", b":", b","]), max_size=400)


@given(_JSONISH.map(b"".join))
def test_the_depth_check_refuses_exactly_what_the_full_scan_finds_too_deep(body: bytes) -> None:
    from crier.gateway.entrypoints.http.nul_guard import MAX_JSON_DEPTH, _depth, json_problem

    assert (json_problem(body) is not None) == (_depth(body) > MAX_JSON_DEPTH)


@given(st.binary(max_size=200))
def test_any_bytes_are_either_refused_or_decoded_without_a_crash(body: bytes) -> None:
    from crier.gateway.entrypoints.http.nul_guard import json_problem

    if json_problem(body) is None:
        try:
            msgspec.json.decode(body)
        except msgspec.DecodeError:
            pass  # malformed JSON: the route answers it with 400 invalid_json
