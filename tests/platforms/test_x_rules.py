"""What an X post may be, checked before it is stored: length as twitter-text weighs it (links 23,
CJK and emoji 2, emoji sequences as one, NFC first), the characters X refuses, the shape of a
thread, and `config.x`. The expected lengths are twitter-text's own conformance figures where it
has one (`conformance/validate.yml`, WeightedTweetsWithDiscountedEmojiCounterTest)."""

from __future__ import annotations

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from crier.contracts.common import Container
from crier.platforms import publishing, x
from crier.platforms.base import PlatformAdapter, PlatformSettings
from crier.platforms.x import XRules, links, rules, weighted_length

LONG_URL = "https://example.com/" + "path/" * 40


def _codes(*texts: str, config: object = None) -> list[tuple[str, str]]:
    problems = rules.check([Container(content=t) for t in texts], config)
    return [(p.field, p.code) for p in problems]


async def test_x_publishes_with_its_own_rules() -> None:
    assert isinstance(publishing.rules("x"), XRules) and publishing.publishes("x")
    async with httpx.AsyncClient() as http:
        adapter = publishing.adapter("x", http, PlatformSettings())
    assert isinstance(adapter, PlatformAdapter) and adapter.needs_account and not adapter.transactional


@pytest.mark.parametrize(
    ("text", "length"),
    [
        ("This is a test.", 15),
        ("http://test.com", 23),
        ("test.com", 23),  # a bare domain is a link too
        ("Test https://test.com test https://test.com test.com test", 86),
        (LONG_URL, 23),
        (f"see {LONG_URL}.", 4 + 23 + 1),  # the full stop is the sentence's
        ("(https://en.wikipedia.org/wiki/Mastodon_(software))", 1 + 23 + 1),
        ("http://user:PASSW0RD@example.com:8080/login.php", 23),
        ("http://192.168.0.1/index.html?src=asdf", 23),
        ("http://☃.net/", 23),
        ("\u2066\u202ahttp://foobar.پاکستان/\u202c\u2069", 31),
        ("日本https://x.com日本", 4 + 23 + 4),
        ("t.co", 23),
        ("foo.co.jp", 23),
        ("foo.jp", 6),  # a country domain alone is no link
        ("foo.jp/page", 23),  # with a path it is
        ("file.py", 7),
        ("my.file.py", 23),
        ("mail bob@example.com", 20),  # an address is no link
        ("e.g. U.S.A. a.b.c", 17),
        ("randomurlrandomurlrandomurlrandomurlrandomurlrandomurlrandomurls.com", 68),  # a 64-character label
        ("ftp://www.example.com/", 22),
        ("저찀쯿쿿", 8),  # CJK counts 2
        ("故人西辞黄鹤楼，烟花三月下扬州。", 32),
        ("\U00010000\U0010ffff", 4),
        ("ÁB", 2),  # composed by NFC
        ("A\u05e9\u05bc\u05c1", 4),  # שּׁ has no composed form: three code points
        ("e\u0301te\u0301", 3),
        ("H\U0001f431☺", 5),
        ("😷👾😡🔥💩", 10),
        ("🙋🏽👨\u200d🎤", 4),  # a skin tone and a ZWJ sequence are one emoji each
        ("👨\u200d👩\u200d👧\u200d👦" * 140, 280),
        ("Unicode 10.0 emoji: 🤪; 🧕; 🧕🏾; 🏴\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f", 34),
        ("🇫🇷🇩🇪", 4),
        ("1\ufe0f\u20e3 ©\ufe0f", 3),  # a keycap and © weigh what their first code point weighs
        ("\u2000\u200a\u200d ‐ — ‘ ” ′ ‷", 15),  # general punctuation X counts 1
        ("™ ←", 5),
        ("a\r\nb", 4),
    ],
)
def test_length_as_twitter_text_weighs_it(text: str, length: int) -> None:
    assert weighted_length(text) == length


def test_links_are_found_where_x_finds_them() -> None:
    text = "See https://example.com/a, example.org/b. Or mail me@example.net!"
    assert [text[a:b] for a, b in links(text)] == ["https://example.com/a", "example.org/b"]


def test_280_weighted_characters_at_most() -> None:
    assert _codes("x" * 280) == [] and _codes("x" * 281) == [("containers[0].content", "too_long")]
    assert _codes("日" * 140) == [] and _codes("日" * 140 + "x") == [("containers[0].content", "too_long")]
    assert _codes("x" * 256 + " " + LONG_URL) == []  # 256 + 1 + 23
    assert _codes("x" * 257 + " " + LONG_URL) == [("containers[0].content", "too_long")]
    [problem] = rules.check([Container(content="😷" * 141)], {})
    assert problem.message == "282 characters as x counts them; at most 280"


def test_characters_x_refuses() -> None:
    assert _codes("ABC\ufffeABC") == [("containers[0].content", "invalid_characters")]
    assert _codes("ok", "\ufeffBOM") == [("containers[1].content", "invalid_characters")]
    assert _codes("ABC\u202aABC\u202c") == []  # directional marks are fine


def test_first_comment_and_any_thread() -> None:
    assert _codes("post", "first comment") == []
    assert _codes("post", "comment", *(f"part {i}" for i in range(10))) == []
    assert _codes("post", "  ") == [("containers[1].content", "empty")]


@pytest.mark.parametrize(
    "config",
    [
        {"reply_settings": "following"},
        {"reply_settings": "mentionedUsers", "for_super_followers_only": True},
        {"reply_settings": "subscribers"},
        {"reply_settings": "verified", "paid_partnership": True},
        {"quote_tweet_id": "1346889436626259968"},
        {},
        None,
    ],
)
def test_config_x_takes(config: object) -> None:
    assert _codes("hi", config=config) == []


@pytest.mark.parametrize(
    "config",
    [
        {"reply_settings": "everyone"},  # X's default is no setting at all
        {"reply_settings": "mentioned_users"},
        {"for_super_followers_only": "yes"},
        {"quote_tweet_id": "12345678901234567890"},  # 20 digits
        {"quote_tweet_id": 1346889436626259968},  # an id is a string
        {"poll": {"options": ["a", "b"], "duration_minutes": 60}},  # not a key Crier knows: refused, never ignored
        {"visibility": "public"},
    ],
)
def test_config_x_refuses(config: object) -> None:
    assert _codes("hi", config=config) == [("config.x", "invalid_config")]


@given(st.text(alphabet=st.characters(max_codepoint=0x7F)))
def test_ascii_text_weighs_what_its_clusters_weigh(text: str) -> None:
    """The ASCII shortcut agrees with weighing grapheme clusters one by one."""
    assert x._weigh(text) == x._weigh_clusters(text) == len(text)


@given(st.text() | st.text(alphabet=list("htps:/wexamplco.0123456789-_@#?=& \u3002\uff0e\uff61\u00e9")))
def test_a_text_without_a_dot_has_no_link(text: str) -> None:
    """The shortcut for a text with no "." agrees with the regex (other dots included: ideographic,
    full-width, half-width)."""
    text = text.replace(".", "")
    assert links(text) == [m.span() for m in x.URL.finditer(text) if x._is_link(m)] == []
