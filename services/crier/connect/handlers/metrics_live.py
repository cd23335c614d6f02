"""Reading from an account's platform now, as the account: its metrics (and, through `read_as`,
its posts' engagement).

The token comes the way the publisher's does (`credentials.account_token`: renewed first when near
expiry); a token the platform refuses is renewed once and the read tried again. Whatever keeps the
figures from arriving — the platform down or rate-limiting, the grant gone, no answer in time — is
`Unreadable`, with the platform's Retry-After when it gave one. After a 429 the account is not
asked again live until that wait is over (this process remembers it), so a client polling the
metrics endpoint does not hammer a platform that asked for quiet.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TypeVar

from crier.connect.domain.flows import digest
from crier.connect.handlers import credentials
from crier.connect.handlers.context import Context
from crier.contracts import connect as api
from crier.contracts.common import Platform
from crier.kit.errors import Failure
from crier.platforms import account_metrics
from crier.platforms.account_metrics import Figures, Reach
from crier.platforms.account_metrics import sandbox as sandbox_metrics
from crier.platforms.base import PlatformError, RateLimited, TokenRejected

T = TypeVar("T")
# DPoP nonces by server origin (atproto OAuth), learnt from the servers' answers across reads.
_NONCES: dict[str, str] = {}
# Accounts a platform rate-limited, until when.
_QUIET_UNTIL: dict[str, datetime] = {}


class Unreadable(Exception):
    def __init__(self, code: str, retry_after_s: float | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.retry_after_s = retry_after_s


async def read_now(
    ctx: Context, *, account_id: str, org_id: str, mode: str, platform: Platform, sandbox: bool
) -> Figures:
    if sandbox:
        return sandbox_metrics.figures(account_id, platform, ctx.now())

    async def figures(reach: Reach, token: api.AccountToken) -> Figures:
        return await account_metrics.read(platform, reach, token)

    return await read_as(ctx, account_id=account_id, org_id=org_id, mode=mode, platform=platform, read=figures)


async def read_as(
    ctx: Context,
    *,
    account_id: str,
    org_id: str,
    mode: str,
    platform: Platform,
    read: Callable[[Reach, api.AccountToken], Awaitable[T]],
) -> T:
    """`read` as the account, with its current token (renewed once if the platform refuses it)."""
    quiet = _QUIET_UNTIL.get(account_id)
    if quiet is not None:
        if quiet > ctx.now():
            raise Unreadable("rate_limited", (quiet - ctx.now()).total_seconds())
        _QUIET_UNTIL.pop(account_id, None)
    request = api.TokenRequest(org_id=org_id, mode=mode, account_id=account_id)  # type: ignore[arg-type]
    reach = Reach(ctx.providers.http_for(platform), ctx.providers.platform_settings, _NONCES)
    try:
        async with asyncio.timeout(ctx.settings.account_metrics_live_timeout_s):
            token = await credentials.account_token(ctx, request)
            try:
                return await read(reach, token)
            except TokenRejected:
                refused = api.TokenRequest(
                    org_id=org_id,
                    mode=mode,  # type: ignore[arg-type]
                    account_id=account_id,
                    rejected_sha256=digest(token.access_token),
                )
                return await read(reach, await credentials.account_token(ctx, refused))
    except RateLimited as exc:
        wait = exc.retry_after_s if exc.retry_after_s is not None else 60.0
        _QUIET_UNTIL[account_id] = ctx.now() + timedelta(seconds=wait)
        raise Unreadable(exc.code, wait) from None
    except PlatformError as exc:
        raise Unreadable(exc.code, exc.retry_after_s) from None
    except Failure as exc:  # no token to read with: the grant is gone, the refresh failed
        raise Unreadable(exc.code) from None
    except TimeoutError:
        raise Unreadable("timeout") from None
