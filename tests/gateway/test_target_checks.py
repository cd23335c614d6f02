"""The platform of every targeted account judges the post as that account would receive it (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
import pytest

from crier.contracts.common import AccountLimits, Container, Mode, Platform
from crier.gateway.domain.target_checks import TargetAccount, as_received, target_problems
from crier.gateway.domain.validation import PostRequest, new_post
from crier.kit.errors import Invalid
from crier.platforms.rules import AnyText, Rules

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


class ShortOptions(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    visibility: str = "public"


class Short(Rules):
    """A platform of short posts that takes a first comment but no thread, and one option."""

    platform = "mastodon"
    config_type = ShortOptions
    first_comment = True
    max_length = 10


class Roomy(Short):
    """Short, on an instance that allows more."""

    max_length = 20


class Catalog:
    """The platforms as the gateway's use case hands them to the domain: Short for Mastodon (Roomy
    for an account whose limits allow 20), AnyText for the rest; live accounts can be published to
    on the platforms in `live`. `asked` records the accounts' facts each judgement was asked with."""

    def __init__(self, live: frozenset[Platform] = frozenset({"mastodon", "x"})) -> None:
        self.live = live
        self.asked: list[tuple[Platform, str | None, AccountLimits | None]] = []

    def rules(
        self, platform: Platform, *, account_type: str | None = None, limits: AccountLimits | None = None
    ) -> Rules:
        self.asked.append((platform, account_type, limits))
        if platform != "mastodon":
            return AnyText(platform)
        return Roomy() if limits is not None and limits.max_characters == 20 else Short()

    def publishes(self, platform: Platform) -> bool:
        return platform in self.live


X, MASTODON, LINKEDIN = (
    TargetAccount("acc-x", "x"),
    TargetAccount("acc-m", "mastodon"),
    TargetAccount("acc-l", "linkedin"),
)


def judged(
    containers: list[Container],
    accounts: list[TargetAccount],
    *,
    mode: Mode = "test",
    overrides: dict[str, str | None] | None = None,
    config: dict[str, object] | None = None,
    platforms: Catalog | None = None,
) -> dict[str, list[tuple[str, str]]]:
    found = target_problems(
        containers,
        accounts,
        mode=mode,
        overrides=overrides or {},
        config=config or {},
        platforms=platforms or Catalog(),
    )
    return {account: [(p.field, p.code) for p in problems] for account, problems in found.items()}


def post(*texts: str) -> list[Container]:
    return [Container(content=t) for t in texts]


def test_a_post_too_long_for_one_platform_names_only_that_account() -> None:
    assert judged(post("a" * 11), [X, MASTODON]) == {"acc-m": [("containers[0].content", "too_long")]}
    assert judged(post("a" * 10), [X, MASTODON]) == {}


def test_each_account_is_judged_with_what_connect_said_of_it() -> None:
    roomy = TargetAccount("acc-roomy", "mastodon", "profile", AccountLimits(max_characters=20))
    unknown = TargetAccount("acc-old", "mastodon", "profile", AccountLimits())
    catalog = Catalog()
    # Two accounts of one platform, one post: each held to its own instance's limit.
    assert judged(post("a" * 15), [roomy, MASTODON, unknown], platforms=catalog) == {
        "acc-m": [("containers[0].content", "too_long")],
        "acc-old": [("containers[0].content", "too_long")],
    }
    assert ("mastodon", "profile", AccountLimits(max_characters=20)) in catalog.asked
    assert judged(post("a" * 21), [roomy]) == {"acc-roomy": [("containers[0].content", "too_long")]}
    # Accounts alike are judged once; an account unlike them is judged for itself.
    twin = TargetAccount("acc-twin", "mastodon", "profile", AccountLimits(max_characters=20))
    catalog = Catalog()
    judged(post("a" * 15), [roomy, twin, MASTODON], platforms=catalog)
    assert len(catalog.asked) == 2


def test_any_text_takes_ten_thousand_characters_and_threads() -> None:
    assert judged(post("é" * 10_000, "comment", "reply"), [X]) == {}
    assert judged(post("a" * 10_001), [X]) == {"acc-x": [("containers[0].content", "too_long")]}


def test_an_override_replaces_the_first_container_for_its_account_only() -> None:
    long, short = "a" * 11, "short"
    # Container 0 is too long for Mastodon, but the Mastodon account receives its override instead.
    assert judged(post(long), [X, MASTODON], overrides={"acc-m": short}) == {}
    # The override is what is judged, and named as such; the other account keeps container 0.
    assert judged(post(short), [X, MASTODON], overrides={"acc-m": long}) == {"acc-m": [("override_body", "too_long")]}
    assert judged(post(short), [MASTODON], overrides={"acc-m": " "}) == {"acc-m": [("override_body", "empty")]}
    assert as_received(post("root", "comment"), "mine") == post("mine", "comment")
    assert as_received(post("root"), None) == post("root")


def test_a_thread_to_a_platform_without_threads() -> None:
    assert judged(post("root", "comment"), [MASTODON]) == {}
    assert judged(post("root", "comment", "reply"), [X, MASTODON]) == {
        "acc-m": [("containers[2]", "thread_unsupported")]
    }


def test_a_live_account_of_a_platform_crier_cannot_publish_to_is_refused() -> None:
    refused = {"acc-l": [("platform", "platform_not_supported")]}
    assert judged(post("hi"), [X, LINKEDIN], mode="live") == refused
    # Only that: the rules of a platform Crier cannot publish to are no news to the caller.
    assert judged(post("a" * 20_000), [LINKEDIN], mode="live") == refused
    # A sandbox account of the same platform posts to the simulated platform.
    assert judged(post("hi"), [LINKEDIN], mode="test") == {}


def test_sandbox_accounts_are_judged_like_live_ones() -> None:
    containers = post("a" * 11, "comment", "reply")
    assert judged(containers, [MASTODON], mode="test") == judged(containers, [MASTODON], mode="live")
    assert judged(containers, [MASTODON], mode="test") == {
        "acc-m": [("containers[2]", "thread_unsupported"), ("containers[0].content", "too_long")]
    }


def test_each_platform_reads_its_own_config() -> None:
    assert judged(post("hi"), [MASTODON], config={"mastodon": {"visibility": "unlisted"}}) == {}
    assert judged(post("hi"), [X, MASTODON], config={"mastodon": {"visibilty": "unlisted"}}) == {
        "acc-m": [("config.mastodon", "invalid_config")]
    }
    # AnyText knows no options at all: any key is a mistake, never silently dropped.
    assert judged(post("hi"), [X], config={"x": {"reply_settings": "following"}}) == {
        "acc-x": [("config.x", "invalid_config")]
    }


def request(**fields: object) -> PostRequest:
    return PostRequest(**{"accounts": ["acc-x", "acc-m"], "content": "hi", **fields})  # type: ignore[arg-type]


def refusal(req: PostRequest, accounts: list[TargetAccount], mode: Mode = "test") -> Invalid:
    with pytest.raises(Invalid) as info:
        new_post(req, NOW, mode=mode, accounts=accounts, platforms=Catalog())
    assert info.value.code == "validation_error"
    return info.value


def test_the_request_and_every_account_are_refused_at_once() -> None:
    invalid = refusal(
        request(content="a" * 11, scheduled_at="2026-05-01T00:00:00Z", config={"linkedin": {"visibility": "x"}}),
        [X, MASTODON],
    )
    assert invalid.details["fields"] == [
        {"field": "scheduled_at", "code": "in_past", "message": invalid.details["fields"][0]["message"]},
        {"field": "config.linkedin", "code": "invalid_config", "message": invalid.details["fields"][1]["message"]},
    ]
    assert list(invalid.details["accounts"]) == ["acc-m"]
    assert [p["code"] for p in invalid.details["accounts"]["acc-m"]] == ["too_long"]
    assert invalid.message == "the request is invalid"


def test_one_account_problem_is_the_message() -> None:
    invalid = refusal(request(content="a" * 11), [X, MASTODON])
    assert invalid.details["fields"] == []
    assert invalid.message.startswith("account acc-m: ") and "at most 10" in invalid.message


def test_accounts_are_judged_only_once_the_content_is_readable() -> None:
    invalid = refusal(request(content="a", containers=post("b")), [X, LINKEDIN], mode="live")
    assert [f["code"] for f in invalid.details["fields"]] == ["content_or_containers"]
    assert invalid.details["accounts"] == {}


def test_an_unknown_platform_in_config_is_the_requests_problem_only() -> None:
    invalid = refusal(request(config={"myspace": {"a": 1}}), [X, MASTODON])
    assert [(f["field"], f["code"]) for f in invalid.details["fields"]] == [("config.myspace", "unknown_platform")]
    assert invalid.details["accounts"] == {}


def test_a_valid_post_passes() -> None:
    new = new_post(
        request(overrides={"acc-m": "short"}, config={"mastodon": {"visibility": "private"}}),
        NOW,
        mode="live",
        accounts=[X, MASTODON],
        platforms=Catalog(),
    )
    assert new.accounts == ["acc-x", "acc-m"] and new.config == {"mastodon": {"visibility": "private"}}
