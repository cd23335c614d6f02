"""What a Mastodon post may be, checked before it is stored: length as Mastodon counts it (links
23, mentions by their username, grapheme clusters, the spoiler text included), the instance's
own limit, the shape of a thread, and `config.mastodon`."""

from __future__ import annotations

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from crier.contracts.common import AccountLimits, Container
from crier.platforms import _text, publishing
from crier.platforms._text import graphemes
from crier.platforms.base import PlatformAdapter, PlatformSettings
from crier.platforms.mastodon import MastodonRules, rules, rules_for, status_length

LONG_URL = "https://example.com/" + "path/" * 40


def _codes(*texts: str, config: object = None) -> list[tuple[str, str]]:
    problems = rules.check([Container(content=t) for t in texts], config)
    return [(p.field, p.code) for p in problems]


async def test_mastodon_publishes_with_its_own_rules() -> None:
    assert isinstance(publishing.rules("mastodon"), MastodonRules) and publishing.publishes("mastodon")
    async with httpx.AsyncClient() as http:
        adapter = publishing.adapter("mastodon", http, PlatformSettings())
    assert isinstance(adapter, PlatformAdapter) and adapter.needs_account and not adapter.transactional


@pytest.mark.parametrize(
    ("text", "length"),
    [
        ("hello", 5),
        (LONG_URL, 23),
        (f"see {LONG_URL}.", 4 + 23 + 1),  # the full stop is not part of the link
        ("(https://en.wikipedia.org/wiki/Mastodon_(software))", 1 + 23 + 1),
        ("gemini://example.org/a/long/capsule/path/indeed", 23),
        ("example.com/no/scheme/is/text", 29),
        ("@alice@mastodon.example.social hi", len("@alice hi")),
        ("mail me: bob@example.com", 24),  # an address is no mention
        ("https://example.com/@alice", 23),  # a mention inside a link is the link
        ("e\u0301te\u0301", 3),  # decomposed accents: one character each
        ("👍🏽👨‍👩‍👧‍👦🇫🇷🇩🇪1️⃣", 5),
        ("한국어", 3),
    ],
)
def test_length_as_mastodon_counts(text: str, length: int) -> None:
    assert status_length(text) == length


def test_links_mentions_and_graphemes_decide_the_limit() -> None:
    assert _codes("x" * 476 + " " + LONG_URL) == []  # 476 + 1 + 23 = 500
    assert _codes("x" * 477 + " " + LONG_URL) == [("containers[0].content", "too_long")]
    assert _codes("@a@" + "d" * 600 + ".social " + "x" * 400) == []
    assert _codes("👍🏽" * 500) == [] and _codes("👍🏽" * 501) == [("containers[0].content", "too_long")]
    [problem] = rules.check([Container(content="x" * 501)], {})
    assert problem.message == "501 characters as mastodon counts them; at most 500"


def test_the_spoiler_text_counts_with_every_container() -> None:
    config = {"spoiler_text": "content warning"}  # 15
    assert _codes("x" * 485, "y" * 10, config=config) == []
    assert _codes("ok", "x" * 486, config=config) == [("containers[1].content", "too_long")]
    [problem] = rules.check([Container(content="x" * 486)], config)
    assert "spoiler_text" in problem.message and "501" in problem.message


def test_an_instance_with_its_own_limit() -> None:
    roomy = rules_for(1000)
    assert roomy.check([Container(content="x" * 1000)], {}) == []
    assert [p.code for p in roomy.check([Container(content="x" * 1001)], {})] == ["too_long"]
    assert rules.max_length == 500 and _codes("x" * 501) == [("containers[0].content", "too_long")]


def _account_codes(limits: AccountLimits, *texts: str, config: object = None) -> list[tuple[str, str]]:
    held = publishing.rules("mastodon", account_type="profile", limits=limits)
    return [(p.field, p.code) for p in held.check([Container(content=t) for t in texts], config)]


def test_an_account_is_held_to_its_instances_limit() -> None:
    roomy, tight = AccountLimits(max_characters=1000), AccountLimits(max_characters=300)
    assert _account_codes(roomy, "x" * 1000) == [] and _account_codes(tight, "x" * 300) == []
    assert (
        _account_codes(roomy, "x" * 1001) == _account_codes(tight, "x" * 301) == [("containers[0].content", "too_long")]
    )
    # The spoiler text counts against the instance's limit too.
    assert _account_codes(roomy, "x" * 990, config={"spoiler_text": "y" * 11}) == [
        ("containers[0].content", "too_long")
    ]
    [problem] = publishing.rules("mastodon", limits=roomy).check([Container(content="x" * 1001)], {})
    assert problem.message == "1001 characters as mastodon counts them; at most 1000"


def test_an_account_whose_limit_is_unknown_keeps_mastodons_default() -> None:
    for unknown in (AccountLimits(), None):
        assert publishing.rules("mastodon", account_type="profile", limits=unknown) is rules
    assert publishing.rules("mastodon", limits=AccountLimits(max_characters=500)) is rules
    assert _account_codes(AccountLimits(), "x" * 501) == [("containers[0].content", "too_long")]


def test_first_comment_and_any_thread() -> None:
    assert _codes("post", "first comment") == []
    assert _codes("post", "comment", *(f"part {i}" for i in range(10))) == []
    assert _codes("post", "  ") == [("containers[1].content", "empty")]


@pytest.mark.parametrize(
    "config",
    [
        {"visibility": "public", "spoiler_text": "cw", "language": "pt", "sensitive": False},
        {"visibility": "direct"},
        {"visibility": "private", "language": "zh"},
        {},
        None,
    ],
)
def test_config_mastodon_takes(config: object) -> None:
    assert _codes("hi", config=config) == []


@pytest.mark.parametrize(
    "config",
    [
        {"visibility": "followers"},
        {"language": "xx"},
        {"language": "por"},  # ISO 639-1 is two letters
        {"sensitive": "yes"},
        {"spoiler_text": 5},
        {"poll": {"options": ["a", "b"]}},  # not a key Crier knows: refused, never ignored
    ],
)
def test_config_mastodon_refuses(config: object) -> None:
    codes = _codes("hi", config=config)
    assert codes and all(code == "invalid_config" for _, code in codes)
    assert {field for field, _ in codes} <= {"config.mastodon", "config.mastodon.language"}


@given(st.text(alphabet=st.characters(max_codepoint=0x7F)) | st.text(alphabet="\r\n\x00a"))
def test_graphemes_of_ascii_text_are_what_the_clusters_regex_finds(text: str) -> None:
    assert graphemes(text) == len(_text._GRAPHEME.findall(text))


def test_graphemes_of_plain_text_are_its_characters() -> None:
    assert graphemes("") == 0 and graphemes("plain ascii") == 11 and graphemes("a\r\nb") == 3
