"""POST /posts checks every target against its platform's own rules before anything is stored.

The gateway runs as its own process with the platform modules of this source tree; the tests read
the same modules to pick platforms and limits, so they keep holding as each platform gets its real
rules and adapter (today most platforms are `AnyText`: 10,000 characters, threads, no options)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator

from crier.contracts import events as contract
from crier.contracts.common import PLATFORMS, AccountLimits, Container, Platform
from crier.platforms import publishing
from crier.platforms.rules import AnyText
from tests.gateway.conftest import Gateway, Org
from tests.support.stack import wait_for


def limited() -> list[tuple[Platform, int]]:
    """Platforms with a known text limit, shortest first."""
    found = [(p, publishing.rules(p).max_length) for p in PLATFORMS]
    return sorted(((p, n) for p, n in found if n is not None), key=lambda f: f[1])


def not_publishable() -> Platform:
    platform = next((p for p in PLATFORMS if not publishing.publishes(p)), None)
    if platform is None:
        pytest.skip("Crier publishes to every platform: no live account can be refused for its platform")
    return platform


def publishable() -> Platform:
    platform = next((p for p in PLATFORMS if publishing.publishes(p)), None)
    if platform is None:
        pytest.skip("Crier cannot publish to any platform yet: a live post cannot be created")
    return platform


def refused(client: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    """The 422's details, after checking that nothing was stored."""
    r = client.post("/posts", json=body)
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "validation_error", error
    assert client.get("/posts").json()["data"] == []
    return dict(error["details"])


def codes(details: dict[str, Any]) -> dict[str, list[tuple[str, str]]]:
    return {a: [(p["field"], p["code"]) for p in found] for a, found in details["accounts"].items()}


def test_an_override_too_long_for_its_platform_names_only_its_account(gateway: Gateway, org: Org) -> None:
    platform, limit = limited()[0]
    one, other = (gateway.sandbox_account(org, platform)["id"] for _ in range(2))
    with org.test() as c:
        details = refused(
            c,
            {
                "content": "fine everywhere",
                "accounts": [one, other],
                "targets": [{"account_id": one, "override_body": "a" * (limit + 1)}],
            },
        )
        assert details["fields"] == [] and codes(details) == {one: [("override_body", "too_long")]}
        assert str(limit) in details["accounts"][one][0]["message"]
        # The override is judged instead of container 0, not as well as it.
        r = c.post(
            "/posts",
            json={
                "content": "a" * (limit + 1),
                "accounts": [one],
                "targets": [{"account_id": one, "override_body": "short enough"}],
            },
        )
        assert r.status_code == 201, r.text
        assert r.json()["content"] == "a" * (limit + 1)


def test_text_at_any_texts_limit_passes_and_one_more_character_does_not(gateway: Gateway, org: Org) -> None:
    platform = next((p for p in PLATFORMS if isinstance(publishing.rules(p), AnyText)), None)
    if platform is None:
        pytest.skip("every platform has rules of its own")
    account = gateway.sandbox_account(org, platform)["id"]
    with org.test() as c:
        for draft in (False, True):
            details = refused(c, {"content": "é" * 10_001, "accounts": [account], "is_draft": draft})
            assert codes(details) == {account: [("containers[0].content", "too_long")]}
        assert c.post("/posts", json={"content": "é" * 10_000, "accounts": [account]}).status_code == 201


def test_a_post_too_long_for_one_platform_and_fine_for_another(gateway: Gateway, org: Org) -> None:
    (short, short_limit), (long, long_limit) = limited()[0], limited()[-1]
    if short_limit == long_limit:
        pytest.skip(f"every platform takes {short_limit} characters")
    on_short, on_long = gateway.sandbox_account(org, short)["id"], gateway.sandbox_account(org, long)["id"]
    with org.test() as c:
        details = refused(c, {"content": "a" * (short_limit + 1), "accounts": [on_long, on_short]})
        assert codes(details) == {on_short: [("containers[0].content", "too_long")]}


def test_a_thread_to_a_platform_without_threads(gateway: Gateway, org: Org) -> None:
    platform = next((p for p in PLATFORMS if not publishing.rules(p).thread), None)
    if platform is None:
        pytest.skip("every platform takes threads")
    account = gateway.sandbox_account(org, platform)["id"]
    with org.test() as c:
        details = refused(
            c, {"containers": [{"content": "root"}, {"content": "one"}, {"content": "two"}], "accounts": [account]}
        )
        assert ("containers[2]", "thread_unsupported") in codes(details)[account]


def test_a_live_account_of_a_platform_crier_cannot_publish_to(gateway: Gateway, org: Org) -> None:
    platform = not_publishable()
    account = gateway.live_account(org, platform=platform)
    with org.live() as c:
        for extra in ({}, {"is_draft": True}):
            details = refused(c, {"content": "hello", "accounts": [account], **extra})
            assert codes(details) == {account: [("platform", "platform_not_supported")]}
            assert platform in details["accounts"][account][0]["message"]


def test_a_live_account_of_a_platform_crier_publishes_to(gateway: Gateway, org: Org) -> None:
    good, bad = publishable(), not_publishable()
    ok, refused_account = gateway.live_account(org, platform=good), gateway.live_account(org, platform=bad)
    with org.live() as c:
        details = refused(c, {"content": "hello", "accounts": [ok, refused_account]})
        assert list(details["accounts"]) == [refused_account]
        r = c.post("/posts", json={"content": "hello", "accounts": [ok]})
        assert r.status_code == 201, r.text


def test_sandbox_accounts_are_judged_by_their_platforms_own_rules(gateway: Gateway, org: Org) -> None:
    """A sandbox account of a platform Crier cannot publish to posts fine, and is refused for the
    same things, by the same words, as the platform's rules refuse them."""
    platform = not_publishable()
    account = gateway.sandbox_account(org, platform)["id"]
    rules = publishing.rules(platform)
    text = "a" * ((rules.max_length or 10_000) + 1)
    containers = [Container(content=text), Container(content="comment"), Container(content="reply")]
    expected = [p.as_detail() for p in rules.check(containers, {"no_such_option": True})]
    assert expected, "the rules find nothing wrong with an unknown option and an over-long text"
    with org.test() as c:
        details = refused(
            c,
            {
                "containers": [{"content": ct.content} for ct in containers],
                "accounts": [account],
                "config": {platform: {"no_such_option": True}},
            },
        )
        assert details["accounts"] == {account: expected}
        assert c.post("/posts", json={"content": "hello", "accounts": [account]}).status_code == 201


def test_an_unknown_option_is_refused_for_targeted_and_untargeted_platforms(gateway: Gateway, org: Org) -> None:
    x = gateway.sandbox_account(org, "x")["id"]
    with org.test() as c:
        details = refused(
            c, {"content": "hi", "accounts": [x], "config": {"x": {"no_such_option": 1}, "bluesky": {"nor_this": 2}}}
        )
        assert codes(details) == {x: [("config.x", "invalid_config")]}
        assert [(f["field"], f["code"]) for f in details["fields"]] == [("config.bluesky", "invalid_config")]
        assert "no_such_option" in details["accounts"][x][0]["message"]
        # A platform that is no platform stays the request's own problem.
        details = refused(c, {"content": "hi", "accounts": [x], "config": {"myspace": {}}})
        assert [(f["field"], f["code"]) for f in details["fields"]] == [("config.myspace", "unknown_platform")]
        assert details["accounts"] == {}


def test_the_request_and_every_account_are_refused_at_once(gateway: Gateway, org: Org) -> None:
    platform, limit = limited()[0]
    one, two = (gateway.sandbox_account(org, platform)["id"] for _ in range(2))
    with org.test() as c:
        details = refused(
            c,
            {
                "content": "a" * (limit + 1),
                "accounts": [one, two],
                "scheduled_at": "2020-01-01T00:00:00Z",
                "targets": [{"account_id": two, "override_body": ""}],
            },
        )
    assert [(f["field"], f["code"]) for f in details["fields"]] == [("scheduled_at", "in_past")]
    assert codes(details) == {one: [("containers[0].content", "too_long")], two: [("override_body", "empty")]}


def test_an_unknown_account_beside_a_valid_one_is_still_unknown_account(gateway: Gateway, org: Org) -> None:
    x = gateway.sandbox_account(org, "x")["id"]
    with org.test() as c:
        r = c.post("/posts", json={"content": "hi", "accounts": [x, "nope"]})
    assert r.status_code == 422 and r.json()["error"]["code"] == "unknown_account"
    assert r.json()["error"]["details"]["accounts"] == ["nope"]


def test_every_refusal_of_a_new_post_is_the_documented_422(gateway: Gateway, org: Org) -> None:
    doc = httpx.get(f"{gateway.api_url}/api/v1/openapi.json").json()
    documented = doc["paths"]["/api/v1/posts"]["post"]["responses"]["422"]["content"]["application/json"]["schema"]
    validator = Draft202012Validator({**documented, "components": doc["components"]})
    x = gateway.sandbox_account(org, "x")["id"]
    live = gateway.live_account(org, platform=not_publishable())
    with org.test() as test, org.live() as live_client:
        answers = [
            test.post("/posts", json={"content": "a" * 10_001, "accounts": [x], "config": {"x": {"nope": 1}}}),
            test.post("/posts", json={"content": "hi", "accounts": [x, "nope"]}),
            test.post("/posts", json={"content": 5, "accounts": [x]}),
            test.post("/posts", json={"content": "", "accounts": [x, x]}),
            live_client.post("/posts", json={"content": "hi", "accounts": [live]}),
        ]
    for r in answers:
        assert r.status_code == 422, r.text
        errors = [e.message for e in validator.iter_errors(r.json())]
        assert errors == [], (r.text, errors)
    assert [r.json()["error"]["code"] for r in answers] == [
        "validation_error",
        "unknown_account",
        "validation_error",
        "validation_error",
        "validation_error",
    ]
    # The schema is no blank cheque: a refusal in another shape would not pass.
    bent = answers[0].json()
    bent["error"]["details"]["accounts"][x] = "too long"
    assert not validator.is_valid(bent)


def test_a_mastodon_account_is_held_to_its_own_instances_limit(gateway: Gateway, org: Org) -> None:
    """Connect announces each account with what its instance allows; the post is judged by it."""
    tight = gateway.live_account(org, platform="mastodon", limits=AccountLimits(max_characters=500))
    roomy = gateway.live_account(org, platform="mastodon", limits=AccountLimits(max_characters=1000))
    # Announced before Crier read any limits: Mastodon's default.
    unknown = gateway.live_account(org, platform="mastodon")
    six_hundred = "a" * 600
    with org.live() as c:
        details = refused(c, {"content": six_hundred, "accounts": [roomy, tight, unknown]})
        too_long = [("containers[0].content", "too_long")]
        assert codes(details) == {tight: too_long, unknown: too_long}
        assert "at most 500" in details["accounts"][tight][0]["message"]
        r = c.post("/posts", json={"content": six_hundred, "accounts": [roomy]})
        assert r.status_code == 201, r.text
        details = refused_again(c, {"content": "a" * 1001, "accounts": [roomy]})
        assert codes(details) == {roomy: too_long} and "at most 1000" in details["accounts"][roomy][0]["message"]

        # The instance's operator raises the limit; connect reads it again and says so.
        later = datetime.now(UTC)
        gateway.driver.publish(
            contract.AccountRefreshed(
                id=str(uuid.uuid4()),
                occurred_at=later,
                org_id=org.id,
                mode="live",
                account_id=tight,
                platform="mastodon",
                updated_at=later,
                limits=AccountLimits(max_characters=700),
            )
        )

        def created() -> dict[str, Any] | None:
            r = c.post("/posts", json={"content": six_hundred, "accounts": [tight]})
            return dict(r.json()) if r.status_code == 201 else None

        post = wait_for(created, what="a post within the raised limit")
        assert post["targets"][0]["social_account_id"] == tight


def test_a_linkedin_organization_cannot_post_to_connections(gateway: Gateway, org: Org) -> None:
    organization = gateway.live_account(org, platform="linkedin", account_type="organization")
    member = gateway.live_account(org, platform="linkedin", account_type="profile")
    connections = {"content": "for my network", "config": {"linkedin": {"visibility": "CONNECTIONS"}}}
    with org.live() as c:
        details = refused(c, {**connections, "accounts": [member, organization]})
        assert codes(details) == {organization: [("config.linkedin.visibility", "invalid_config")]}
        assert "organization" in details["accounts"][organization][0]["message"]
        assert c.post("/posts", json={**connections, "accounts": [member]}).status_code == 201
        public = {"content": "for everyone", "config": {"linkedin": {"visibility": "PUBLIC"}}}
        assert c.post("/posts", json={**public, "accounts": [organization]}).status_code == 201


def refused_again(client: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    """A 422's details, where posts were stored before."""
    r = client.post("/posts", json=body)
    assert r.status_code == 422, r.text
    return dict(r.json()["error"]["details"])
