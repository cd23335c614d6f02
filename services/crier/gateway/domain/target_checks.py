"""Each targeted account's platform judges the post as that account would receive it.

A platform's rules (`crier.platforms.rules`) say how many containers it takes, how long a text may
be by its own counting and which `config` options it knows. Sandbox accounts are judged exactly
like live accounts of their platform, so a test key meets the refusals a live key would. A live
account of a platform Crier cannot publish to is refused here, at create, rather than by a failed
delivery a moment after the 201.

Some rules depend on the account (a Mastodon instance's own limit, a LinkedIn organization that has
no connections): each account is judged with what connect announced of it, the same facts the
publisher's re-check gets with the account's token, so a post accepted here is not refused there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import msgspec

from crier.contracts.common import PLATFORMS, AccountLimits, Container, Mode, Platform, one_of
from crier.kit.errors import Problem
from crier.platforms.rules import Rules


class Platforms(Protocol):
    """What the checks ask of the platforms; `crier.platforms.publishing` answers."""

    def rules(
        self, platform: Platform, *, account_type: str | None = None, limits: AccountLimits | None = None
    ) -> Rules: ...

    def publishes(self, platform: Platform) -> bool: ...


@dataclass(frozen=True)
class TargetAccount:
    """A targeted account as the checks see it."""

    id: str
    platform: Platform
    # What connect announced of the account: its kind on the platform and the limits it set for it.
    account_type: str | None = None
    limits: AccountLimits = field(default_factory=AccountLimits)


def as_received(containers: Sequence[Container], override_body: str | None) -> list[Container]:
    """The containers an account gets: its `override_body`, when given, replaces container 0's text
    (the scheduler builds the publish command the same way)."""
    if override_body is None or not containers:
        return list(containers)
    return [msgspec.structs.replace(containers[0], content=override_body), *containers[1:]]


def target_problems(
    containers: Sequence[Container],
    accounts: Sequence[TargetAccount],
    *,
    mode: Mode,
    overrides: Mapping[str, str | None],
    config: Mapping[str, Any],
    platforms: Platforms,
) -> dict[str, list[Problem]]:
    """The problems of every account that has any, by account id, in the order given."""
    found: dict[str, list[Problem]] = {}
    # Alike accounts on one platform without an override receive the same post: judge it once.
    judged: dict[tuple[Platform, str | None, AccountLimits, str | None], list[Problem]] = {}
    for account in accounts:
        if mode == "live" and not platforms.publishes(account.platform):
            found[account.id] = [
                Problem("platform", "platform_not_supported", f"publishing to {account.platform} is not available yet")
            ]
            continue
        override = overrides.get(account.id)
        key = (account.platform, account.account_type, account.limits, override)
        if key not in judged:
            received = as_received(containers, override)
            rules = platforms.rules(account.platform, account_type=account.account_type, limits=account.limits)
            problems = rules.check(received, config.get(account.platform))
            judged[key] = [_as_override(p) for p in problems] if override is not None else problems
        if judged[key]:
            found[account.id] = judged[key]
    return found


def untargeted_config_problems(
    config: Mapping[str, Any], targeted: set[Platform], platforms: Platforms
) -> list[Problem]:
    """Options for a platform no account of the post is on are still that platform's options: a
    typo in them is named now, not when an account of that platform is added to the post."""
    problems: list[Problem] = []
    for name, options in config.items():
        platform = one_of(name, PLATFORMS)
        # An unknown platform or options that are no object are the request's own problems.
        if platform is not None and platform not in targeted and isinstance(options, dict):
            problems += platforms.rules(platform).config(options)[1]
    return problems


def _as_override(problem: Problem) -> Problem:
    """Container 0's text came from the account's `override_body`: name that field instead."""
    if problem.field != "containers[0].content":
        return problem
    return Problem("override_body", problem.code, problem.message)
