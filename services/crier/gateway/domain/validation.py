"""The rules a new post must satisfy before anything is stored: the request's own, and those of
the platform of every account it targets (see `target_checks`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from crier.contracts.common import PLATFORMS, Container, Mode, Platform, one_of
from crier.gateway.domain.addressing import Addressing
from crier.gateway.domain.schedule import parse_instant, parse_scheduled_at
from crier.gateway.domain.target_checks import Platforms, TargetAccount, target_problems, untargeted_config_problems
from crier.kit.errors import Invalid, Problem, collect


@dataclass(frozen=True)
class PostRequest:
    """A create-post request as the caller sent it: nothing checked yet."""

    accounts: list[str]
    content: str | None = None
    containers: list[Container] | None = None
    scheduled_at: str | None = None
    is_draft: bool = False
    config: dict[str, Any] = field(default_factory=dict)
    external_ref: str | None = None
    # Per-account replacement text for the main container, by account id.
    overrides: dict[str, str | None] = field(default_factory=dict)
    # Media given by URL, by (container, media) position: fetched into media objects at create.
    media_urls: dict[tuple[int, int], str] = field(default_factory=dict)
    # An end user's platforms in place of `accounts`, and queue mode (`handlers.scheduling`).
    addressing: Addressing | None = None


@dataclass(frozen=True)
class NewPost:
    """A create-post request that has passed every rule."""

    containers: list[Container]
    accounts: list[str]
    scheduled_at: datetime | None = None
    is_draft: bool = False
    config: dict[str, dict[str, Any]] = field(default_factory=dict)
    external_ref: str | None = None
    overrides: dict[str, str | None] = field(default_factory=dict)


def new_post(
    request: PostRequest, now: datetime, *, mode: Mode, accounts: Sequence[TargetAccount], platforms: Platforms
) -> NewPost:
    """The request as a post to create, or `Invalid` naming every problem at once: the request's
    own in `details.fields`, and each account's, as its platform judges what it would receive, in
    `details.accounts`. `accounts` are the targeted accounts that exist and may be posted to; the
    caller refuses the others."""
    problems: list[Problem] = []
    containers = collect(problems, lambda: containers_of(request.content, request.containers))
    collect(problems, lambda: check_accounts(request.accounts))
    collect(problems, lambda: check_config(request.config))
    collect(problems, lambda: check_targets(request.accounts, request.overrides))
    scheduled_at = None
    if request.scheduled_at is not None:
        raw = request.scheduled_at
        if request.is_draft:
            # A draft may hold a time beyond the 30-day window (that is how far-off posts wait),
            # but the time must still be unambiguous.
            scheduled_at = collect(problems, lambda: parse_instant(raw))
        else:
            scheduled_at = collect(problems, lambda: parse_scheduled_at(raw, now))
    by_account: dict[str, list[Problem]] = {}
    if containers is not None:
        by_account = target_problems(
            containers, accounts, mode=mode, overrides=request.overrides, config=request.config, platforms=platforms
        )
    problems += untargeted_config_problems(request.config, {a.platform for a in accounts}, platforms)
    if problems or by_account or containers is None:
        raise refused(problems, by_account)
    return NewPost(
        containers=containers,
        accounts=list(request.accounts),
        scheduled_at=scheduled_at,
        is_draft=request.is_draft,
        config=request.config,
        external_ref=request.external_ref,
        overrides=request.overrides,
    )


def refused(problems: Sequence[Problem], by_account: Mapping[str, Sequence[Problem]]) -> Invalid:
    """One `validation_error` for the request's problems and those of each account."""
    named = [p.message for p in problems]
    named += [f"account {account_id}: {p.message}" for account_id, found in by_account.items() for p in found]
    return Invalid(
        "validation_error",
        named[0] if len(named) == 1 else "the request is invalid",
        {
            "fields": [p.as_detail() for p in problems],
            "accounts": {account_id: [p.as_detail() for p in found] for account_id, found in by_account.items()},
        },
    )


def containers_of(content: str | None, containers: Sequence[Container] | None) -> list[Container]:
    """A post is either one piece of text or a thread of containers; never both, never neither."""
    if content is not None and containers is None:
        if not content.strip():
            raise Problem("content", "empty", "must not be empty")
        return [Container(content=content)]
    if content is not None or containers is None:
        raise Problem("content", "content_or_containers", "send exactly one of content or containers")
    if not containers:
        raise Problem("containers", "empty", "must hold at least one container")
    for i, c in enumerate(containers):
        if not c.content.strip() and not c.media:
            raise Problem(f"containers[{i}].content", "empty", "needs content or media")
    return list(containers)


def check_accounts(accounts: Sequence[str]) -> None:
    if not accounts:
        raise Problem("accounts", "empty", "must name at least one social account")
    if len(set(accounts)) != len(accounts):
        raise Problem("accounts", "duplicate", "must not name an account twice")


def check_config(config: dict[str, Any]) -> None:
    for platform, options in config.items():
        if platform not in PLATFORMS:
            raise Problem(f"config.{platform}", "unknown_platform", f"platform must be one of {', '.join(PLATFORMS)}")
        if not isinstance(options, dict):
            raise Problem(f"config.{platform}", "not_an_object", "must be an object")


def check_targets(accounts: Sequence[str], overrides: dict[str, str | None]) -> None:
    for account_id in overrides:
        if account_id not in accounts:
            raise Problem("targets", "not_in_accounts", f"account {account_id} is not listed in accounts")


def platform_named(raw: str) -> Platform:
    known = one_of(raw, PLATFORMS)
    if known is None:
        raise Problem("platform", "unknown_platform", f"must be one of {', '.join(PLATFORMS)}")
    return known
