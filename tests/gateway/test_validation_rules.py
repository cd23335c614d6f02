"""The pure rules behind a create-post request and an API key."""

from __future__ import annotations

import pytest

from crier.contracts.common import Container, MediaRef
from crier.gateway.domain import api_key
from crier.gateway.domain.validation import Problem, check_accounts, check_config, check_targets, containers_of


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
        check_config({"x": []})  # type: ignore[dict-item]
    check_targets(["a"], {"a": "override"})
    with pytest.raises(Problem):
        check_targets(["a"], {"b": None})


def test_new_keys() -> None:
    live, test = api_key.new_secret("live"), api_key.new_secret("test")
    assert live.secret.startswith("sk_live_") and test.secret.startswith("sk_test_")
    assert len(live.secret) - len("sk_live_") >= 32 and live.secret != api_key.new_secret("live").secret
    assert live.digest == api_key.digest(live.secret) and live.secret not in live.digest
    assert live.prefix == live.secret[:12] and api_key.looks_like_key(live.secret)
    assert not api_key.looks_like_key("sk_live_short") and not api_key.looks_like_key("pk_live_" + "a" * 40)
    with pytest.raises(ValueError):
        api_key.new_secret("prod")
