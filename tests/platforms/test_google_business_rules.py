"""What a Google Business Profile local post may be, checked before it is stored: one container of
up to 1500 characters, and `config.google_business` typed and in the combinations Google requires
(events for EVENT and OFFER posts, offers for OFFER posts only, a url for every action but CALL)."""

from __future__ import annotations

from typing import Any

import httpx
import msgspec
import pytest

from crier.contracts.common import Container
from crier.platforms import publishing
from crier.platforms.base import PlatformAdapter, PlatformSettings
from crier.platforms.google_business import GoogleBusinessConfig, GoogleBusinessRules, local_post, rules

EVENT = {"title": "Grand opening", "schedule": {"start_date": "2031-05-15", "end_date": "2031-05-16"}}


def _codes(*texts: str, config: Any = None) -> list[tuple[str, str]]:
    return [(p.field, p.code) for p in rules.check([Container(content=t) for t in texts], config)]


def _config(**config: Any) -> list[tuple[str, str]]:
    return _codes("Come by", config=config)


async def test_google_business_publishes_with_its_own_rules() -> None:
    assert isinstance(publishing.rules("google_business"), GoogleBusinessRules)
    assert publishing.publishes("google_business")
    async with httpx.AsyncClient() as http:
        adapter = publishing.adapter("google_business", http, PlatformSettings())
    assert isinstance(adapter, PlatformAdapter) and adapter.needs_account and not adapter.transactional


def test_one_container_of_up_to_1500_characters() -> None:
    assert _codes("x" * 1500) == [] and _codes("😀" * 1500) == []
    assert _codes("x" * 1501) == [("containers[0].content", "too_long")]
    [problem] = rules.check([Container(content="x" * 1501)], {})
    assert problem.message == "1501 characters as google_business counts them; at most 1500"
    assert _codes("post", "first comment") == [("containers[1]", "first_comment_unsupported")]
    assert _codes("post", "comment", "reply") == [("containers[2]", "thread_unsupported")]
    assert _codes("  ") == [("containers[0].content", "empty")]


def test_a_standard_post_needs_no_config() -> None:
    assert _codes("hello") == [] and _codes("hello", config={}) == []
    assert _config(topic_type="STANDARD", language_code="en-US") == []
    assert _config(topic_type="ALERT") == []


@pytest.mark.parametrize(
    "config",
    [
        {"topic": "EVENT"},
        {"topic_type": "NEWS"},
        {"topic_type": "PRODUCT"},
        {"event": {**EVENT, "url": "https://example.com"}},
        {"event": {"title": "no schedule"}},
        {"event": {"title": "t", "schedule": {"start_date": "2031-02-30", "end_date": "2031-03-01"}}},
        {
            "event": {
                "title": "t",
                "schedule": {"start_date": "2031-03-01", "end_date": "2031-03-01", "start_time": "9:00"},
            }
        },
        {
            "event": {
                "title": "t",
                "schedule": {"start_date": "2031-03-01", "end_date": "2031-03-01", "start_time": "24:00"},
            }
        },
        {"call_to_action": {"action_type": "GET_OFFER", "url": "https://example.com"}},
        {"call_to_action": {"actionType": "CALL"}},
        {"offer": {"coupon": "X"}},
        {"language_code": 7},
    ],
)
def test_options_google_does_not_know_are_refused(config: dict[str, Any]) -> None:
    assert _config(**config) == [("config.google_business", "invalid_config")]


@pytest.mark.parametrize("topic", ["EVENT", "OFFER"])
def test_events_and_offers_need_an_event(topic: str) -> None:
    assert _config(topic_type=topic) == [("config.google_business.event", "invalid_config")]
    assert _config(topic_type=topic, event=EVENT) == []
    [problem] = rules.check([Container(content="x")], {"topic_type": topic})
    assert problem.message == f"an {topic} post needs an event with a title and a schedule"


def test_the_parts_of_other_kinds_of_post_are_refused_not_ignored() -> None:
    assert _config(event=EVENT) == [("config.google_business.event", "invalid_config")]
    assert _config(topic_type="ALERT", event=EVENT) == [("config.google_business.event", "invalid_config")]
    assert _config(topic_type="EVENT", event=EVENT, offer={"coupon_code": "X"}) == [
        ("config.google_business.offer", "invalid_config")
    ]
    assert _config(topic_type="OFFER", event=EVENT, offer={"coupon_code": "X"}) == []
    learn = {"action_type": "LEARN_MORE", "url": "https://example.com"}
    assert _config(topic_type="OFFER", event=EVENT, call_to_action=learn) == [
        ("config.google_business.call_to_action", "invalid_config")
    ]
    assert _config(topic_type="EVENT", event=EVENT, call_to_action=learn) == []


@pytest.mark.parametrize(
    ("action", "ok"),
    [
        ({"action_type": "CALL"}, True),
        ({"action_type": "CALL", "url": "https://example.com"}, False),
        ({"action_type": "BOOK", "url": "https://example.com/book?at=9"}, True),
        ({"action_type": "ORDER"}, False),
        ({"action_type": "SHOP", "url": "example.com/shop"}, False),
        ({"action_type": "SIGN_UP", "url": "javascript:alert(1)"}, False),
        ({"action_type": "LEARN_MORE", "url": "http://example.com"}, True),
    ],
)
def test_a_call_to_action_has_a_url_unless_it_calls(action: dict[str, str], ok: bool) -> None:
    assert _config(call_to_action=action) == (
        [] if ok else [("config.google_business.call_to_action.url", "invalid_config")]
    )


@pytest.mark.parametrize(
    ("event", "problem"),
    [
        ({"title": "x" * 58, "schedule": {"start_date": "2031-05-15", "end_date": "2031-05-15"}}, None),
        ({"title": "x" * 59, "schedule": {"start_date": "2031-05-15", "end_date": "2031-05-15"}}, "event.title"),
        ({"title": "  ", "schedule": {"start_date": "2031-05-15", "end_date": "2031-05-15"}}, "event.title"),
        ({"title": "t", "schedule": {"start_date": "2031-05-15", "end_date": "2031-05-14"}}, "event.schedule"),
        (
            {
                "title": "t",
                "schedule": {
                    "start_date": "2031-05-15",
                    "end_date": "2031-05-15",
                    "start_time": "18:00",
                    "end_time": "09:00",
                },
            },
            "event.schedule",
        ),
        (
            {
                "title": "t",
                "schedule": {
                    "start_date": "2031-05-14",
                    "end_date": "2031-05-15",
                    "start_time": "18:00",
                    "end_time": "09:00",
                },
            },
            None,
        ),
        (
            {"title": "t", "schedule": {"start_date": "2031-05-15", "end_date": "2031-05-16", "start_time": "18:00"}},
            "event.schedule",
        ),
    ],
)
def test_an_event_has_a_title_and_a_schedule_that_ends_after_it_starts(
    event: dict[str, Any], problem: str | None
) -> None:
    expected = [] if problem is None else [(f"config.google_business.{problem}", "invalid_config")]
    assert _config(topic_type="EVENT", event=event) == expected


def test_urls_and_language_tags() -> None:
    bad_url = {"redeem_online_url": "www.example.com/redeem"}
    assert _config(topic_type="OFFER", event=EVENT, offer=bad_url) == [
        ("config.google_business.offer.redeem_online_url", "invalid_config")
    ]
    for tag in ("en", "en-US", "zh-Hant-TW", "es-419", "fil"):
        assert _config(language_code=tag) == []
    for tag in ("english", "en_US", "", "e"):
        assert _config(language_code=tag) == [("config.google_business.language_code", "invalid_config")]


def test_every_problem_at_once() -> None:
    problems = _codes(
        "x" * 1501,
        config={"topic_type": "STANDARD", "offer": {}, "event": EVENT, "call_to_action": {"action_type": "BOOK"}},
    )
    assert problems == [
        ("containers[0].content", "too_long"),
        ("config.google_business.event", "invalid_config"),
        ("config.google_business.offer", "invalid_config"),
        ("config.google_business.call_to_action.url", "invalid_config"),
    ]


def test_the_local_post_google_is_sent() -> None:
    options = msgspec.convert(
        {
            "topic_type": "OFFER",
            "language_code": "en-GB",
            "event": {
                "title": "Half price",
                "schedule": {
                    "start_date": "2031-01-02",
                    "start_time": "08:05",
                    "end_date": "2031-01-09",
                    "end_time": "23:59",
                },
            },
            "offer": {"coupon_code": "HALF"},
        },
        GoogleBusinessConfig,
    )
    assert local_post("Everything must go", options) == {
        "summary": "Everything must go",
        "topicType": "OFFER",
        "languageCode": "en-GB",
        "event": {
            "title": "Half price",
            "schedule": {
                "startDate": {"year": 2031, "month": 1, "day": 2},
                "endDate": {"year": 2031, "month": 1, "day": 9},
                "startTime": {"hours": 8, "minutes": 5},
                "endTime": {"hours": 23, "minutes": 59},
            },
        },
        "offer": {"couponCode": "HALF"},
    }
    assert local_post("hi", GoogleBusinessConfig()) == {"summary": "hi", "topicType": "STANDARD"}
