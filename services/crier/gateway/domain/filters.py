"""What the list endpoints may filter on, checked before any query runs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from crier.contracts.common import POST_STATUSES, PostStatus, one_of
from crier.gateway.domain.schedule import optional_instant
from crier.kit.errors import Invalid, Problem, collect

# Where a post comes from: made through Crier, or read from its platform by an import.
SOURCES = ("crier", "imported")
# `search` matches a substring; longer than this it is no search a person types.
SEARCH_MAX_CHARS = 200


@dataclass(frozen=True)
class PostQuery:
    """The post filters as the caller sent them."""

    status: str | None = None
    account: str | None = None
    platform: str | None = None
    tenant_id: str | None = None
    created_after: str | None = None
    created_before: str | None = None
    scheduled_after: str | None = None
    scheduled_before: str | None = None
    search: str | None = None
    source: str | None = None


@dataclass(frozen=True)
class PostFilter:
    status: PostStatus | None = None
    account: str | None = None
    platform: str | None = None
    tenant_id: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    scheduled_after: datetime | None = None
    scheduled_before: datetime | None = None
    # Words the post's containers hold (any case), as the caller typed them.
    search: str | None = None
    # "crier" (made through Crier) or "imported" (read from its platform by an import).
    source: str | None = None


@dataclass(frozen=True)
class AccountFilter:
    id: str | None = None
    tenant_id: str | None = None
    platform: str | None = None
    username: str | None = None
    network_unique_id: str | None = None


def post_filter(query: PostQuery) -> PostFilter:
    """The filters with their values checked, or `Invalid` naming every bad one."""
    problems: list[Problem] = []

    def instant(raw: str | None, name: str) -> datetime | None:
        return collect(problems, lambda: optional_instant(raw, name))

    raw_status = query.status
    checked = PostFilter(
        status=None if raw_status is None else collect(problems, lambda: _post_status(raw_status)),
        account=query.account,
        platform=query.platform,
        tenant_id=query.tenant_id,
        created_after=instant(query.created_after, "created_after"),
        created_before=instant(query.created_before, "created_before"),
        scheduled_after=instant(query.scheduled_after, "scheduled_after"),
        scheduled_before=instant(query.scheduled_before, "scheduled_before"),
        search=collect(problems, lambda: _search(query.search)),
        source=None if query.source is None else collect(problems, lambda: _source(query.source)),
    )
    if problems:
        raise Invalid.of(problems)
    return checked


def _search(raw: str | None) -> str | None:
    """Blank is no filter; a long one is refused rather than cut, which would widen the result."""
    text = (raw or "").strip()
    if len(text) > SEARCH_MAX_CHARS:
        raise Problem("search", "too_long", f"must be at most {SEARCH_MAX_CHARS} characters")
    return text or None


def _source(raw: str | None) -> str:
    if raw not in SOURCES:
        raise Problem("source", "unknown_source", f"must be one of {', '.join(SOURCES)}")
    return raw


def _post_status(raw: str) -> PostStatus:
    known = one_of(raw, POST_STATUSES)
    if known is None:
        raise Problem("status", "unknown_status", f"must be one of {', '.join(POST_STATUSES)}")
    return known
