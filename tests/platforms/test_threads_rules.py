"""What a Threads post may be, checked before it is stored: 500 characters where an emoji counts
its UTF-8 bytes, at most five links, any thread of replies, and `config.threads.reply_control`."""

from __future__ import annotations

import httpx
import pytest

from crier.contracts.common import Container
from crier.platforms import publishing
from crier.platforms.base import PlatformAdapter, PlatformSettings
from crier.platforms.threads import ThreadsRules, links, rules, text_length

REPLY_CONTROLS = ("everyone", "accounts_you_follow", "mentioned_only", "parent_post_author_only", "followers_only")


def _codes(*texts: str, config: object = None) -> list[tuple[str, str]]:
    return [(p.field, p.code) for p in rules.check([Container(content=t) for t in texts], config)]


async def test_threads_publishes_with_its_own_rules() -> None:
    assert isinstance(publishing.rules("threads"), ThreadsRules) and publishing.publishes("threads")
    async with httpx.AsyncClient() as http:
        adapter = publishing.adapter("threads", http, PlatformSettings())
    assert isinstance(adapter, PlatformAdapter) and adapter.needs_account and not adapter.transactional


@pytest.mark.parametrize(
    ("text", "length"),
    [
        ("hello", 5),
        ("é", 1),
        ("e\u0301", 1),  # one character however it is written
        ("한국어", 3),
        ("👍", 4),  # an emoji counts its UTF-8 bytes
        ("👍🏽", 8),
        ("🇫🇷", 8),
        ("❤️", 6),
        ("1️⃣", 7),
        ("hi 👋", 3 + 4),
    ],
)
def test_length_as_threads_counts(text: str, length: int) -> None:
    assert text_length(text) == length


def test_five_hundred_characters_emojis_by_their_bytes() -> None:
    assert _codes("x" * 500) == [] and _codes("x" * 501) == [("containers[0].content", "too_long")]
    assert _codes("👍" * 125) == [] and _codes("👍" * 125 + "x") == [("containers[0].content", "too_long")]
    [problem] = rules.check([Container(content="👍" * 126)], {})
    assert problem.message == "504 characters as threads counts them; at most 500"


def test_at_most_five_distinct_links() -> None:
    five = " ".join(f"https://example.com/{i}" for i in range(5))
    assert _codes(five) == [] and _codes(f"{five} https://example.com/0 again") == []
    assert _codes(f"{five} www.threads.com") == [("containers[0].content", "too_many_links")]
    assert links("see https://a.example/x, then www.b.example. Not c.example or me@d.example") == {
        "https://a.example/x",
        "www.b.example",
    }


def test_first_comment_and_any_thread() -> None:
    assert _codes("post", "first comment") == []
    assert _codes("post", "comment", *(f"part {i}" for i in range(10))) == []
    assert _codes("post", "  ") == [("containers[1].content", "empty")]


@pytest.mark.parametrize("value", REPLY_CONTROLS)
def test_reply_control(value: str) -> None:
    assert _codes("hi", config={"reply_control": value}) == []


def test_unknown_config_is_refused() -> None:
    for config in ({"reply_control": "nobody"}, {"topic_tag": "news"}, {"reply_control": 1}):
        assert _codes("hi", config=config) == [("config.threads", "invalid_config")]
