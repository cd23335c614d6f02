"""/api/v1/social-accounts/{id}/metrics, served by connect (which reads the platform and keeps the
snapshots).

Three answers: the current figures (`source: "live"`, or `"snapshot"` when the platform could not
answer and a snapshot was stored); `{metrics: null, message}` when there is neither; and, when
`since` or `until` is given, the stored series in that window, oldest first. A bound that is
neither unix seconds nor an ISO 8601 instant with its offset is a 422 naming it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.openapi import ResponseSpec
from litestar.openapi.spec import Example
from litestar.params import FromPath, Parameter
from msgspec import Meta, Struct, structs

from crier.contracts import connect as api
from crier.contracts.common import Platform
from crier.gateway.domain.schedule import parse_instant
from crier.gateway.entrypoints.http import connect_support as c
from crier.gateway.entrypoints.http.auth import principal_of, requires
from crier.gateway.entrypoints.http.errors import documented
from crier.gateway.entrypoints.http.state import gateway_of
from crier.kit.errors import Invalid, Problem, collect

NO_METRICS = "No metrics have been collected for this account yet."
SERIES_LIMIT = 100
_UNIX = re.compile(r"^-?\d{1,12}(\.\d+)?$")
_BOUND = "unix seconds or an ISO 8601 instant with its offset (2026-06-01T00:00:00Z)"


def _said(text: str) -> Meta:
    return Meta(description=text)


class MetricsPoint(Struct, kw_only=True):
    """One capture of a social account's figures, as the platform gave them."""

    social_account_id: Annotated[str, _said("The account the figures belong to.")]
    network: Annotated[Platform, _said("The account's platform.")]
    followers: Annotated[
        int | None, _said("Followers (subscribers on YouTube); null where the platform offers none.")
    ] = None
    following: Annotated[int | None, _said("Accounts it follows; null where the platform offers none.")] = None
    posts_count: Annotated[
        int | None, _said("Posts on the account (videos, pins); null where the platform offers none.")
    ] = None
    impressions: Annotated[
        int | None, _said("Times its content was seen (the platform's last day or lifetime figure); null where none.")
    ] = None
    reach: Annotated[
        int | None, _said("Distinct accounts that saw its content; null where the platform offers none.")
    ] = None
    profile_views: Annotated[
        int | None, _said("Views of the profile or page; null where the platform offers none.")
    ] = None
    raw: Annotated[
        dict[str, Any],
        _said(
            "The platform's payload the figures were read from, unmodified (each call's answer by name when several)."
        ),
    ]
    captured_at: Annotated[datetime, _said("When the figures were read.")]


class AccountMetrics(MetricsPoint, kw_only=True):
    """A social account's current figures: read live, or the latest snapshot when the platform
    could not answer."""

    source: Annotated[str, _said("`live` (read from the platform now) or `snapshot` (the latest stored capture).")]


class AccountMetricsSeries(Struct, kw_only=True):
    """The stored snapshots of a social account within a window, oldest first."""

    social_account_id: Annotated[str, _said("The account the snapshots belong to.")]
    source: Annotated[str, _said("Always `snapshot`: a series is read from stored captures.")]
    since: Annotated[datetime | None, _said("The window's start, as asked (null: from the first capture).")]
    until: Annotated[datetime | None, _said("The window's end, as asked (null: to the latest capture).")]
    data: Annotated[list[MetricsPoint], _said("The snapshots, oldest first.")]
    next_cursor: Annotated[
        str | None, _said("Pass as `cursor` (with the same window) for the next snapshots; null on the last page.")
    ]


class NoMetrics(Struct, kw_only=True):
    """What a social account's metrics are before anything could be read or stored."""

    social_account_id: Annotated[str, _said("The account asked about.")]
    metrics: Annotated[None, _said("Always null: there are no figures yet.")]
    message: Annotated[str, _said("Why there are no figures.")]


def parse_bound(raw: str | None, field: str) -> datetime | None:
    if raw is None:
        return None
    text = raw.strip()
    if _UNIX.match(text):
        try:
            return datetime.fromtimestamp(float(text), UTC)
        except (OverflowError, OSError, ValueError):
            raise Problem(field, "invalid_timestamp", "is outside the range of instants Crier can hold") from None
    try:
        return parse_instant(text, field)
    except Problem:
        raise Problem(field, "invalid_timestamp", f"must be {_BOUND}") from None


def _window(since: str | None, until: str | None, limit: int | None) -> tuple[datetime | None, datetime | None, int]:
    problems: list[Problem] = []
    start = collect(problems, lambda: parse_bound(since, "since"))
    end = collect(problems, lambda: parse_bound(until, "until"))
    if start is not None and end is not None and start > end:
        problems.append(Problem("since", "after_until", "must not be later than until"))
    if limit is not None and not 1 <= limit <= SERIES_LIMIT:
        problems.append(Problem("limit", "out_of_range", f"must be between 1 and {SERIES_LIMIT}"))
    if problems:
        # 422 validation_error naming each bad bound, as every other query value the API checks.
        raise Invalid.of(problems)
    return start, end, limit or SERIES_LIMIT


def _point(s: api.MetricsSnapshot) -> MetricsPoint:
    return MetricsPoint(
        social_account_id=s.social_account_id,
        network=s.network,  # type: ignore[arg-type]
        followers=s.followers,
        following=s.following,
        posts_count=s.posts_count,
        impressions=s.impressions,
        reach=s.reach,
        profile_views=s.profile_views,
        raw=s.raw,
        captured_at=s.captured_at,
    )


# The live answer is the one the reference shows (the seed's own example).
_ANSWERS = ResponseSpec(
    AccountMetrics | AccountMetricsSeries | NoMetrics,  # type: ignore[arg-type]
    description="The current figures, the series, or no metrics yet",
    generate_examples=False,
    examples=[
        Example(
            summary="live",
            value={
                "social_account_id": "a1b2c3d4-0000-4000-8000-000000000002",
                "network": "x",
                "source": "live",
                "followers": 18420,
                "following": 312,
                "posts_count": 1894,
                "impressions": None,
                "reach": None,
                "profile_views": None,
                "raw": {"id": "1453890213", "username": "acme", "public_metrics": {"followers_count": 18420}},
                "captured_at": "2026-06-14T12:10:00Z",
            },
        )
    ],
)


class AccountMetricsController(Controller):
    path = "/api/v1/social-accounts"
    tags = ["social-accounts"]
    opt = requires("view")

    @get(
        "/{account_id:str}/metrics",
        operation_id="getSocialAccountMetrics",
        responses={200: _ANSWERS, **documented(404, 503)},
        summary="The account's metrics: live, else the latest snapshot; with since/until, the stored series",
        description=(
            "Without `since` and `until`: the figures read from the platform now (`source: live`); when the "
            "platform cannot be reached or is rate-limiting, the latest stored snapshot (`source: snapshot`); "
            "when there is neither, `metrics: null` with a message. With `since` and/or `until`: the snapshots "
            "Crier captured in that window (about daily per account), oldest first, `limit` at a time. "
            "Figures a platform does not offer are null."
        ),
    )
    async def metrics(
        self,
        request: Request[Any, Any, Any],
        account_id: FromPath[str],
        since: Annotated[
            str | None, Parameter(description=f"Start of the series window ({_BOUND}); switches to the series form.")
        ] = None,
        until: Annotated[
            str | None, Parameter(description=f"End of the series window ({_BOUND}); switches to the series form.")
        ] = None,
        limit: Annotated[
            int | None,
            Parameter(description=f"Series only: snapshots per page, 1–{SERIES_LIMIT} (default {SERIES_LIMIT})."),
        ] = None,
        cursor: Annotated[
            str | None, Parameter(description="Series only: the `next_cursor` of the previous page.")
        ] = None,
    ) -> AccountMetrics | AccountMetricsSeries | NoMetrics:
        gw, who = gateway_of(request), principal_of(request)
        series = since is not None or until is not None
        start, end, page = _window(since, until, limit)
        asked = api.MetricsRequest(
            org_id=who.org_id,
            mode=who.mode,
            id=account_id,
            series=series,
            since=start,
            until=end,
            limit=page,
            cursor=cursor,
        )
        found = await c.ask(gw, api.ACCOUNTS_METRICS, asked, api.AccountMetrics, timeout=api.PLATFORM_CALL_TIMEOUT_S)
        if series:
            return AccountMetricsSeries(
                social_account_id=found.social_account_id,
                source="snapshot",
                since=start,
                until=end,
                data=[_point(s) for s in found.series or []],
                next_cursor=found.next_cursor,
            )
        if found.current is None:
            return NoMetrics(social_account_id=found.social_account_id, metrics=None, message=NO_METRICS)
        now = found.current
        return AccountMetrics(**structs.asdict(_point(now)), source=now.source)
