"""LinkedIn, versioned REST API (`LinkedIn-Version`, Rest.li 2.0).

An organization (Community Management API, `rw_organization_admin`): its follower count from
`GET /rest/networkSizes/{organization urn}?edgeType=COMPANY_FOLLOWED_BY_MEMBER` (`firstDegreeSize`)
and its lifetime share statistics from `GET /rest/organizationalEntityShareStatistics
?q=organizationalEntity&organizationalEntity={urn}`: impressions ← `impressionCount`, reach ←
`uniqueImpressionsCount`. `raw` is `{"network_size": …, "share_statistics": …}`.

A member: `GET /rest/memberFollowersCount?q=me` (`r_member_profileAnalytics`), followers ←
`memberFollowersCount`; `raw` is that answer.

LinkedIn gives neither a following count nor a post count through these, nor profile views to
apps: None."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from crier.contracts.connect import AccountToken
from crier.platforms import _publish_http as ph
from crier.platforms.account_metrics import Figures, Reach, count, dig, mapping
from crier.platforms.linkedin import API_BASE, _publishing_error, rest_headers

ORGANIZATION = "urn:li:organization:"


async def read(reach: Reach, account: AccountToken) -> Figures:
    base = f"{reach.settings.base('linkedin', API_BASE)}/rest"
    headers = {**ph.bearer(account.access_token), **rest_headers(reach.settings.linkedin_version)}
    urn = account.network_unique_id
    if not urn.startswith(ORGANIZATION):
        body = await reach.get(
            "linkedin", f"{base}/memberFollowersCount", params={"q": "me"}, headers=headers, classify=_publishing_error
        )
        return parse_member(body)
    size = await reach.get(
        "linkedin",
        f"{base}/networkSizes/{quote(urn, safe='')}",
        params={"edgeType": "COMPANY_FOLLOWED_BY_MEMBER"},
        headers=headers,
        classify=_publishing_error,
    )
    shares = await reach.get(
        "linkedin",
        f"{base}/organizationalEntityShareStatistics",
        params={"q": "organizationalEntity", "organizationalEntity": urn},
        headers=headers,
        classify=_publishing_error,
    )
    return parse_organization(size, shares)


def parse_organization(size: Any, shares: Any) -> Figures:
    elements = dig(shares, "elements")
    first = mapping(elements[0]) if isinstance(elements, list) and elements else {}
    totals = mapping(first.get("totalShareStatistics"))
    return Figures(
        followers=count(dig(size, "firstDegreeSize")),
        impressions=count(totals.get("impressionCount")),
        reach=count(totals.get("uniqueImpressionsCount")),
        raw={"network_size": mapping(size), "share_statistics": mapping(shares)},
    )


def parse_member(body: Any) -> Figures:
    elements = dig(body, "elements")
    first = mapping(elements[0]) if isinstance(elements, list) and elements else {}
    return Figures(followers=count(first.get("memberFollowersCount")), raw=mapping(body))
