"""Two ways a new post may say where and when it goes besides `accounts` and `scheduled_at`:
an end user's platforms (`tenant_id` + `platforms`, resolved to that user's active accounts), and
queue mode (`queued_from_account`: the next free posting slot of that account)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from crier.contracts.common import PLATFORMS, Platform
from crier.kit.errors import Problem

# The other seeds' names for a platform, accepted in `platforms`.
PLATFORM_ALIASES: dict[str, Platform] = {"twitter": "x"}


@dataclass(frozen=True)
class Addressing:
    """The create-post fields of both, as sent: nothing checked yet."""

    tenant_id: str | None = None
    platforms: list[str] | None = None
    queued_from_account: str | None = None
    queue_timezone: str | None = None
    timezone: str | None = None


@dataclass(frozen=True)
class Audience:
    """An end user (`tenant_id`, as given at connect) and the platforms to reach them on."""

    tenant_id: str
    platforms: tuple[Platform, ...]


@dataclass(frozen=True)
class QueueRequest:
    """Queue mode: `account` names one of the post's accounts by id, username or
    network_unique_id; `timezone` is the IANA zone its slots are wall-clock times in."""

    account: str
    timezone: str | None = None


def audience_of(tenant_id: str | None, platforms: Sequence[str] | None, accounts: Sequence[str]) -> Audience | None:
    """The end user a post addresses instead of `accounts`, or None when it names accounts."""
    if tenant_id is None and platforms is None:
        return None
    if accounts:
        raise Problem("platforms", "accounts_or_platforms", "send accounts, or tenant_id with platforms, not both")
    if tenant_id is None:
        raise Problem("tenant_id", "required", "platforms names the platforms of an end user: send their tenant_id")
    if not platforms:
        raise Problem("platforms", "required", "name at least one platform of the end user to post to")
    known: list[Platform] = []
    for i, raw in enumerate(platforms):
        name = PLATFORM_ALIASES.get(raw, raw)
        if name not in PLATFORMS:
            raise Problem(f"platforms[{i}]", "unknown_platform", f"must be one of {', '.join(PLATFORMS)}")
        known.append(name)
    return Audience(tenant_id, tuple(dict.fromkeys(known)))


def queue_of(
    account: str | None, queue_timezone: str | None, timezone: str | None, *, scheduled_at: str | None, is_draft: bool
) -> QueueRequest | None:
    """Queue mode as asked, or None. It picks the time itself, so it refuses a time or a draft."""
    if queue_timezone is not None and timezone is not None and queue_timezone != timezone:
        raise Problem("queue_timezone", "conflicting_timezones", "queue_timezone and timezone name different zones")
    zone = queue_timezone if queue_timezone is not None else timezone
    if account is None:
        if zone is not None:
            raise Problem(
                "queue_timezone", "queue_mode_only", "a timezone is only for queue mode (queued_from_account)"
            )
        return None
    if scheduled_at is not None:
        raise Problem(
            "queued_from_account",
            "conflicts_with_scheduled_at",
            "queue mode picks the time itself: send queued_from_account or scheduled_at, not both",
        )
    if is_draft:
        raise Problem(
            "queued_from_account",
            "conflicts_with_is_draft",
            "a draft is never queued: send queued_from_account or is_draft, not both",
        )
    return QueueRequest(account, zone)


def end_user_accounts(audience: Audience, rows: Iterable[Any]) -> list[str]:
    """The ids of the end user's accounts on the asked platforms, in the order of `platforms`
    (then oldest first), from `rows` (the organization's active accounts of that tenant)."""
    by_platform: dict[str, list[Any]] = {}
    for row in sorted(rows, key=lambda r: (r.created_at, r.id)):
        by_platform.setdefault(row.platform, []).append(row)
    missing = [p for p in audience.platforms if p not in by_platform]
    if missing:
        raise Problem(
            "platforms",
            "no_account_on_platform",
            f"end user {audience.tenant_id} has no active account on {', '.join(missing)}",
        )
    return [row.id for p in audience.platforms for row in by_platform[p]]


def queued_account(ref: str, rows: Sequence[Any]) -> Any:
    """The post's account that `ref` names: by id first, else by username or network_unique_id."""
    for row in rows:
        if row.id == ref:
            return row
    named = [r for r in rows if ref in (r.username, r.network_unique_id)]
    if len(named) == 1:
        return named[0]
    if named:
        raise Problem(
            "queued_from_account", "ambiguous", f"{ref} names {len(named)} of the post's accounts: send its id"
        )
    raise Problem(
        "queued_from_account", "not_in_accounts", "must name one of the post's accounts (id, username or network id)"
    )
