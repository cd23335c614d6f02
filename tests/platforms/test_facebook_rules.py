"""What a Facebook Page post may be, checked before it is stored: 63,206 UTF-16 code units for the
post and 8,000 for a comment, a post with a first comment and one reply at most (Facebook comments
go one reply deep), and `config.facebook` (a `link`, nothing else)."""

from __future__ import annotations

import httpx
import pytest

from crier.contracts.common import Container
from crier.platforms import publishing
from crier.platforms.base import PlatformAdapter, PlatformSettings
from crier.platforms.facebook import FacebookRules, rules, utf16_length


def _codes(*texts: str, config: object = None) -> list[tuple[str, str]]:
    return [(p.field, p.code) for p in rules.check([Container(content=t) for t in texts], config)]


async def test_facebook_publishes_with_its_own_rules() -> None:
    assert isinstance(publishing.rules("facebook"), FacebookRules) and publishing.publishes("facebook")
    async with httpx.AsyncClient() as http:
        adapter = publishing.adapter("facebook", http, PlatformSettings())
    assert isinstance(adapter, PlatformAdapter) and adapter.needs_account and not adapter.transactional


@pytest.mark.parametrize(
    ("text", "length"), [("hello", 5), ("é", 1), ("e\u0301", 2), ("👍", 2), ("👍🏽", 4), ("한", 1)]
)
def test_length_in_utf16_code_units(text: str, length: int) -> None:
    assert utf16_length(text) == length


def test_the_post_and_its_comments_have_their_own_limits() -> None:
    assert _codes("x" * 63_206) == [] and _codes("👍" * 31_603) == []
    assert _codes("x" * 63_207) == [("containers[0].content", "too_long")]
    assert _codes("👍" * 31_604) == [("containers[0].content", "too_long")]
    assert _codes("post", "x" * 8_000, "y" * 8_000) == []
    assert _codes("post", "x" * 8_001, "y" * 8_001) == [
        ("containers[1].content", "too_long"),
        ("containers[2].content", "too_long"),
    ]
    [problem] = rules.check([Container(content="post"), Container(content="👍" * 4_001)], {})
    assert problem.message == "8002 characters as facebook counts them; a comment has at most 8000"


def test_a_first_comment_and_one_reply_to_it_at_most() -> None:
    assert _codes("post", "first comment") == [] and _codes("post", "comment", "reply") == []
    [problem] = rules.check([Container(content=t) for t in ("post", "comment", "reply", "too deep")], {})
    assert (problem.field, problem.code) == ("containers[3]", "thread_too_long")
    assert "one reply deep" in problem.message
    assert _codes("post", " ") == [("containers[1].content", "empty")]


def test_config_is_a_link_and_nothing_else() -> None:
    assert _codes("see this", config={"link": "https://bakery.example/menu?x=1"}) == []
    assert _codes("see this", config={}) == [] and _codes("see this", config=None) == []
    for link in ("bakery.example/menu", "ftp://bakery.example/menu", "https://", "javascript:alert(1)"):
        assert _codes("see this", config={"link": link}) == [("config.facebook.link", "invalid_config")]
    for config in ({"published": False}, {"link": 3}, {"message": "other"}):
        assert _codes("see this", config=config) == [("config.facebook", "invalid_config")]


def test_every_problem_at_once() -> None:
    texts = ("", "x" * 8_001, "fine", "too deep")
    assert _codes(*texts, config={"link": "nowhere"}) == [
        ("containers[3]", "thread_too_long"),
        ("containers[0].content", "empty"),
        ("containers[1].content", "too_long"),
        ("config.facebook.link", "invalid_config"),
    ]
