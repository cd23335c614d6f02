"""Bluesky: `app.bsky.actor.getProfile?actor=<did>` through the account's PDS (which hands
`app.bsky.*` on to its AppView), the `profileViewDetailed` lexicon.

followers ← `followersCount`, following ← `followsCount`, posts_count ← `postsCount`. The AT
Protocol has no impressions, reach or profile views: None. `raw` is the profile view. An account
connected through atproto OAuth calls with its DPoP-bound token and a proof, as publishing does."""

from __future__ import annotations

from typing import Any

from crier.contracts.connect import AccountToken
from crier.platforms import _publish_http as ph
from crier.platforms.account_metrics import Figures, Reach, count, mapping
from crier.platforms.atproto import oauth as atproto_oauth
from crier.platforms.bluesky import DEFAULT_PDS, _publishing_error, xrpc


async def read(reach: Reach, account: AccountToken) -> Figures:
    did = account.extra.get("did") or account.network_unique_id
    bound = atproto_oauth.Bound.decode(account.access_token)
    kwargs: dict[str, Any] = {}
    if bound is not None:
        kwargs["auth"] = atproto_oauth.DPoPAuth(bound.key, reach.nonces, access_token=bound.token)
    else:
        kwargs["headers"] = ph.bearer(account.access_token)
    pds = reach.settings.base("bluesky", account.instance_url or DEFAULT_PDS)
    body = await reach.get(
        "bluesky",
        xrpc(pds, "app.bsky.actor.getProfile"),
        params={"actor": did},
        classify=_publishing_error,
        **kwargs,
    )
    return parse(body)


def parse(body: object) -> Figures:
    profile = mapping(body)
    return Figures(
        followers=count(profile.get("followersCount")),
        following=count(profile.get("followsCount")),
        posts_count=count(profile.get("postsCount")),
        raw=profile,
    )
