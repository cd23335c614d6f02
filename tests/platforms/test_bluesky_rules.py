"""What a Bluesky post may be, checked before it is stored (300 grapheme clusters, 3000 bytes,
`config.bluesky.langs`), the facets the official client would find in its text, and AT Protocol
identifiers against the protocol's interop test files."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from crier.contracts.common import Container
from crier.platforms import publishing
from crier.platforms.atproto import richtext
from crier.platforms.atproto.syntax import is_did, is_handle, is_language, parse_at_uri, tid
from crier.platforms.base import PlatformAdapter, PlatformSettings
from crier.platforms.bluesky import BlueskyRules, post_url, rules

from .contracts import ROOT

SYNTAX = ROOT / "bluesky" / "interop-test-files" / "syntax"


def _codes(*texts: str, config: object = None) -> list[tuple[str, str]]:
    return [(p.field, p.code) for p in rules.check([Container(content=t) for t in texts], config)]


async def test_bluesky_publishes_with_its_own_rules() -> None:
    assert isinstance(publishing.rules("bluesky"), BlueskyRules) and publishing.publishes("bluesky")
    async with httpx.AsyncClient() as http:
        adapter = publishing.adapter("bluesky", http, PlatformSettings())
    assert isinstance(adapter, PlatformAdapter) and adapter.needs_account and not adapter.transactional


def test_300_grapheme_clusters() -> None:
    assert _codes("x" * 300) == [] and _codes("x" * 301) == [("containers[0].content", "too_long")]
    assert _codes("👨‍👩‍👧‍👦" * 120) == []  # 120 graphemes of 7 code points and 25 bytes each
    assert _codes("e\u0301" * 300) == []  # decomposed accents: one each
    [problem] = rules.check([Container(content="é" * 301)], {})
    assert problem.message == "301 characters as bluesky counts them; at most 300"


def test_3000_bytes() -> None:
    assert _codes("👨‍👩‍👧‍👦" * 120) == []  # 3000 bytes
    [problem] = rules.check([Container(content="👨‍👩‍👧‍👦" * 120 + "é")], {})  # 121 graphemes, 3002 bytes
    assert (problem.code, problem.message) == ("too_long", "3002 bytes of UTF-8; at most 3000")


def test_first_comment_and_any_thread() -> None:
    assert _codes("post", "first comment") == []
    assert _codes("post", "comment", *(f"part {i}" for i in range(10))) == []
    assert _codes("post", " ") == [("containers[1].content", "empty")]


def test_langs() -> None:
    assert _codes("hi", config={"langs": ["en", "pt-BR", "zh-Hant"]}) == []
    assert _codes("hi", config={"langs": ["en", "fr", "de", "es"]}) == [("config.bluesky.langs", "invalid_config")]
    assert _codes("hi", config={"langs": ["en_US", "123"]}) == [("config.bluesky.langs", "invalid_config")] * 2
    assert _codes("hi", config={"langs": "en"}) == [("config.bluesky", "invalid_config")]
    assert _codes("hi", config={"lang": ["en"]}) == [("config.bluesky", "invalid_config")]


def test_post_urls() -> None:
    uri = "at://did:plc:abc/app.bsky.feed.post/3kabc"
    assert post_url(uri) == "https://bsky.app/profile/did:plc:abc/post/3kabc"
    assert post_url("https://example.com") is None
    assert parse_at_uri(uri) is not None and str(parse_at_uri(uri)) == uri


def test_tids_are_13_sortable_characters() -> None:
    earlier, later = tid(1_700_000_000_000_000, 5), tid(1_700_000_000_000_001, 0)
    assert len(earlier) == 13 and earlier < later and earlier[0] in "234567abcdefghij"


@pytest.mark.skipif(not SYNTAX.is_dir(), reason=f"interop test files not found at {SYNTAX}")
def test_tids_look_like_the_interop_test_files() -> None:
    made = tid(1_700_000_000_000_000, 5)
    valid = [line for line in (SYNTAX / "tid_syntax_valid.txt").read_text().splitlines() if line and line[0] != "#"]
    assert valid and all(len(v) == len(made) and v[0] in "234567abcdefghij" for v in valid)


# -- facets -----------------------------------------------------------------------------------


def _detect(text: str, known: dict[str, str] | None = None) -> list[tuple[str, str]]:
    async def resolve(handle: str) -> str | None:
        return (known or {}).get(handle)

    found = asyncio.run(richtext.facets(text, resolve))
    raw = text.encode()
    return [
        (
            raw[f["index"]["byteStart"] : f["index"]["byteEnd"]].decode(),
            next(v for k, v in f["features"][0].items() if k != "$type"),
        )
        for f in found
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("no facets here", []),
        ("@alice.test hi", [("@alice.test", "did:plc:alice")]),
        ("hi @alice.test.", [("@alice.test", "did:plc:alice")]),
        ("(@alice.test)", [("@alice.test", "did:plc:alice")]),
        ("mail@alice.test", []),  # not after a space
        ("@unknown.example.com", []),  # resolves to no DID
        ("@alice", []),  # no domain: not a handle
        ("see https://example.com/a.", [("https://example.com/a", "https://example.com/a")]),
        ("(https://example.com/x)", [("https://example.com/x", "https://example.com/x")]),
        (
            "https://en.wikipedia.org/wiki/Bluesky_(social_network)",
            [
                (
                    "https://en.wikipedia.org/wiki/Bluesky_(social_network)",
                    "https://en.wikipedia.org/wiki/Bluesky_(social_network)",
                )
            ],
        ),
        ("go to example.com/path now", [("example.com/path", "https://example.com/path")]),
        ("bsky.app and crier.io", [("bsky.app", "https://bsky.app"), ("crier.io", "https://crier.io")]),
        ("read file.txt", []),  # .txt is no top-level domain
        ("#tag", [("#tag", "tag")]),
        ("a #tag, #other!", [("#tag", "tag"), ("#other", "other")]),
        ("#2024 only digits", []),
        ("#2024goals", [("#2024goals", "2024goals")]),
        ("no#tag inside a word", []),
        ("＃全角 fullwidth", [("＃全角", "全角")]),
        ("#" + "x" * 64 + " #" + "y" * 65, [("#" + "x" * 64, "x" * 64)]),
        ("#️⃣ keycap", []),
    ],
)
def test_detection_as_the_official_client(text: str, expected: list[tuple[str, str]]) -> None:
    assert _detect(text, {"alice.test": "did:plc:alice"}) == expected


def test_byte_offsets_count_utf8_before_the_facet() -> None:
    text = "日本語 👍🏽 #タグ https://例え.jp/パス @alice.test"
    assert _detect(text, {"alice.test": "did:plc:alice"}) == [
        ("@alice.test", "did:plc:alice"),
        ("https://例え.jp/パス", "https://例え.jp/パス"),
        ("#タグ", "タグ"),
    ]


def test_a_handle_is_resolved_once_per_post() -> None:
    asked: list[str] = []

    async def resolve(handle: str) -> str | None:
        asked.append(handle)
        return "did:plc:a"

    found = asyncio.run(richtext.facets("@Alice.test and @alice.test", resolve))
    assert asked == ["alice.test"] and len(found) == 2


# -- identifiers (the protocol's own test vectors) --------------------------------------------


def _vectors(name: str) -> list[str]:
    lines = (SYNTAX / name).read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line and not line.startswith("#")]


@pytest.mark.skipif(not SYNTAX.is_dir(), reason=f"interop test files not found at {SYNTAX}")
@pytest.mark.parametrize(("check", "kind"), [(is_handle, "handle"), (is_did, "did"), (is_language, "language")])
def test_identifier_syntax(check: object, kind: str) -> None:
    assert callable(check)
    wrong = [v for v in _vectors(f"{kind}_syntax_valid.txt") if not check(v)]
    assert wrong == []
    wrong = [v for v in _vectors(f"{kind}_syntax_invalid.txt") if check(v)]
    assert wrong == []
