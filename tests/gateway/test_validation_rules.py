"""The pure rules behind a create-post request, the post filters and an API key."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crier.contracts.common import Container, MediaRef
from crier.gateway.domain import api_key
from crier.gateway.domain.filters import PostQuery, post_filter
from crier.gateway.domain.target_checks import TargetAccount
from crier.gateway.domain.validation import (
    NewPost,
    PostRequest,
    check_accounts,
    check_config,
    check_targets,
    containers_of,
    new_post,
    platform_named,
)
from crier.kit.errors import Invalid, Problem
from crier.platforms import publishing

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def checked(request: PostRequest) -> NewPost:
    """`new_post` for sandbox accounts on X, judged by the platforms' own rules."""
    accounts = [TargetAccount(a, "x") for a in dict.fromkeys(request.accounts)]
    return new_post(request, NOW, mode="test", accounts=accounts, platforms=publishing)


def test_content_becomes_one_container() -> None:
    assert containers_of("hi", None) == [Container(content="hi")]


def test_containers_may_hold_media_without_text() -> None:
    thread = [Container(content="", media=[MediaRef(id="m1")]), Container(content="more")]
    assert containers_of(None, thread) == thread


@pytest.mark.parametrize(
    ("content", "containers", "field"),
    [
        (None, None, "content"),
        ("a", [Container(content="b")], "content"),
        ("", None, "content"),
        (None, [], "containers"),
        (None, [Container(content="ok"), Container(content=" ")], "containers[1].content"),
    ],
)
def test_bad_content(content: str | None, containers: list[Container] | None, field: str) -> None:
    with pytest.raises(Problem) as info:
        containers_of(content, containers)
    assert info.value.field == field


def test_accounts_config_and_targets() -> None:
    check_accounts(["a", "b"])
    for bad in ([], ["a", "a"]):
        with pytest.raises(Problem):
            check_accounts(bad)
    check_config({"x": {}, "youtube": {"isShort": True}})
    with pytest.raises(Problem):
        check_config({"friendster": {}})
    with pytest.raises(Problem):
        check_config({"x": []})
    check_targets(["a"], {"a": "override"})
    with pytest.raises(Problem):
        check_targets(["a"], {"b": None})
    assert platform_named("bluesky") == "bluesky"
    with pytest.raises(Problem) as info:
        platform_named("myspace")
    assert (info.value.field, info.value.code) == ("platform", "unknown_platform")


def test_a_valid_request_becomes_a_new_post() -> None:
    request = PostRequest(
        accounts=["a", "b"],
        content="hi",
        scheduled_at="2026-06-02T12:00:00+02:00",
        config={"x": {}},
        overrides={"b": "hello b"},
    )
    post = checked(request)
    assert post.containers == [Container(content="hi")] and post.accounts == ["a", "b"]
    assert post.scheduled_at == datetime(2026, 6, 2, 10, tzinfo=UTC) and post.overrides == {"b": "hello b"}


def test_every_problem_of_a_request_is_named_at_once() -> None:
    request = PostRequest(accounts=["a", "a"], content=" ", scheduled_at="2026-05-01T00:00:00Z", overrides={"z": None})
    with pytest.raises(Invalid) as info:
        checked(request)
    fields = [(f["field"], f["code"]) for f in info.value.details["fields"]]
    assert info.value.code == "validation_error" and info.value.details["accounts"] == {}
    assert fields == [
        ("content", "empty"),
        ("accounts", "duplicate"),
        ("targets", "not_in_accounts"),
        ("scheduled_at", "in_past"),
    ]


def test_a_draft_may_wait_beyond_the_window_but_not_at_an_ambiguous_time() -> None:
    far = (NOW + timedelta(days=90)).isoformat()
    assert checked(PostRequest(accounts=["a"], content="later", scheduled_at=far, is_draft=True)).is_draft
    with pytest.raises(Invalid) as info:
        checked(PostRequest(accounts=["a"], content="later", scheduled_at=far))
    assert info.value.details["fields"][0]["code"] == "too_far_ahead"
    with pytest.raises(Invalid) as info:
        checked(PostRequest(accounts=["a"], content="x", scheduled_at="2026-09-01T00:00", is_draft=True))
    assert info.value.details["fields"][0]["code"] == "missing_offset"


def test_post_filters() -> None:
    checked = post_filter(PostQuery(status="partial", platform="x", created_after="2026-06-01T00:00:00Z"))
    assert (checked.status, checked.platform) == ("partial", "x")
    assert checked.created_after == datetime(2026, 6, 1, tzinfo=UTC) and checked.created_before is None
    with pytest.raises(Invalid) as info:
        post_filter(PostQuery(status="lost", scheduled_before="soon"))
    fields = [(f["field"], f["code"]) for f in info.value.details["fields"]]
    assert fields == [("status", "unknown_status"), ("scheduled_before", "invalid_timestamp")]


def test_new_keys() -> None:
    live, test = api_key.new_secret("live"), api_key.new_secret("test")
    assert live.secret.startswith("sk_live_") and test.secret.startswith("sk_test_")
    assert len(live.secret) - len("sk_live_") >= 32 and live.secret != api_key.new_secret("live").secret
    assert live.digest == api_key.digest(live.secret) and live.secret not in live.digest
    assert live.prefix == live.secret[:12] and api_key.looks_like_key(live.secret)
    assert not api_key.looks_like_key("sk_live_short") and not api_key.looks_like_key("pk_live_" + "a" * 40)
    with pytest.raises(ValueError):
        api_key.new_secret("prod")  # type: ignore[arg-type]


def test_key_modes_and_scopes() -> None:
    assert api_key.checked_mode("test") == "test"
    with pytest.raises(Problem):
        api_key.checked_mode("prod")
    assert api_key.checked_scopes(None) == list(api_key.SCOPES)
    assert api_key.checked_scopes(["admin", "view", "view"]) == ["view", "admin"]
    for bad in ([], ["root"]):
        with pytest.raises(Problem):
            api_key.checked_scopes(bad)
    live = api_key.Principal(org_id="o", mode="live", key_id="k", scopes=frozenset({"admin"}))
    test = api_key.Principal(org_id="o", mode="test", key_id="k", scopes=frozenset({"admin"}))
    assert live.may_issue("live") and test.may_issue("test") and not test.may_issue("live")
    assert live.key_modes() == ("live", "test") and test.key_modes() == ("test",)
