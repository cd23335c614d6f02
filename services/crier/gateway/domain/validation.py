"""The rules a new post must satisfy before anything is stored."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from crier.contracts.common import PLATFORMS, Container


class Problem(Exception):
    """One thing wrong with a request, named by the field it concerns."""

    def __init__(self, field: str, code: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field, self.code, self.message = field, code, message

    def as_detail(self) -> dict[str, str]:
        return {"field": self.field, "code": self.code, "message": self.message}


class Invalid(Exception):
    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = list(problems)


def containers_of(content: str | None, containers: Sequence[Container] | None) -> list[Container]:
    """A post is either one piece of text or a thread of containers; never both, never neither."""
    if (content is None) == (containers is None):
        raise Problem("content", "content_or_containers", "send exactly one of content or containers")
    if content is not None:
        if not content.strip():
            raise Problem("content", "empty", "must not be empty")
        return [Container(content=content)]
    assert containers is not None
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
