"""Accounts' tokens kept in the publisher's memory for a few seconds, so a burst of deliveries for
one account asks connect once instead of once each.

Asking connect for every delivery cost a request/reply over NATS and, in connect, a database read
and a decryption: a fifth of all the CPU of a live delivery. Kept here:
- only in this process's memory (never a log line, a table or an event), for at most `ttl_s`, and
  never once the token is within `EXPIRY_MARGIN_S` of its expiry (connect refreshes it before);
- per account, and served only to a request of the same organization and mode: another tenant
  naming the account is asked for at connect, which refuses it;
- dropped the moment connect announces anything about the account (`evt.account.connected`,
  `disconnected`, `token_expired`, `refreshed`: a new token, a dead grant, new limits), heard on a
  plain NATS subscription; a message missed while the connection was down is covered by `ttl_s`;
- never used after the platform refused it: that request goes to connect (with the refused token's
  hash, as before) and its answer replaces the entry;
- asked for once by concurrent deliveries (the first asks, the others wait for its answer), and
  refusals are never kept: each delivery after a refusal asks again.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import msgspec
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from crier.contracts.common import Mode
from crier.contracts.connect import AccountToken, TokenRequest
from crier.kit.bus import Bus
from crier.kit.log import get
from crier.publisher.adapters.tokens import ConnectTokens

log = get(__name__)

# A token this close to its expiry is asked for again: it must outlast the delivery that uses it.
EXPIRY_MARGIN_S = 120.0
# Accounts kept at most; the least recently used goes first.
MAX_ACCOUNTS = 10_000
ACCOUNT_EVENTS = "evt.account.>"


@dataclass(frozen=True)
class _Kept:
    org_id: str
    mode: Mode
    token: AccountToken
    fresh_until: float  # time.monotonic()


class CachedTokens:
    """`handlers.context.Tokens` in front of connect's (`source`; in tests, a stand-in)."""

    def __init__(
        self,
        source: ConnectTokens,
        *,
        ttl_s: float,
        max_accounts: int = MAX_ACCOUNTS,
        monotonic: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._source = source
        self._ttl_s = ttl_s
        self._max_accounts = max_accounts
        self._monotonic = monotonic
        self._now = now
        self._kept: OrderedDict[str, _Kept] = OrderedDict()
        # Requests to connect under way, which the deliveries asking meanwhile wait for.
        self._flights: dict[tuple[str, Mode, str], asyncio.Task[AccountToken]] = {}
        # How many times an account was forgotten: an answer is kept only if nothing was while it
        # was asked for (it may predate what connect announced). Any account's event counts: they
        # are rare next to deliveries, and this needs no record per account.
        self._forgets = 0

    def __len__(self) -> int:
        return len(self._kept)

    async def token(self, request: TokenRequest) -> AccountToken:
        if self._ttl_s <= 0:
            return await self._source.token(request)
        if request.rejected_sha256 is not None:
            # The platform refused a token: connect decides (it refreshes it once), never the cache.
            self.forget(request.account_id)
            return await self._ask(request)
        kept = self._kept.get(request.account_id)
        if kept is not None and (kept.org_id, kept.mode) == (request.org_id, request.mode):
            if self._monotonic() < kept.fresh_until:
                self._kept.move_to_end(request.account_id)
                return kept.token
            del self._kept[request.account_id]
        key = (request.org_id, request.mode, request.account_id)
        flight = self._flights.get(key)
        if flight is None:
            flight = self._flights[key] = asyncio.ensure_future(self._ask(request))
            flight.add_done_callback(lambda done: self._landed(key, done))
        # Shielded: a delivery canceled while it waits does not cancel the others' answer.
        return await asyncio.shield(flight)

    def _landed(self, key: tuple[str, Mode, str], flight: asyncio.Task[AccountToken]) -> None:
        self._flights.pop(key, None)
        if not flight.cancelled():
            flight.exception()  # retrieved: every delivery that waited for it has it already

    async def _ask(self, request: TokenRequest) -> AccountToken:
        forgets = self._forgets
        token = await self._source.token(request)
        if self._forgets == forgets:
            self._keep(request, token)
        return token

    def _keep(self, request: TokenRequest, token: AccountToken) -> None:
        fresh_until = self._monotonic() + self._ttl_s
        if token.expires_at is not None:
            left = (token.expires_at - self._now()).total_seconds() - EXPIRY_MARGIN_S
            if left <= 0:
                return
            fresh_until = min(fresh_until, self._monotonic() + left)
        self._kept[request.account_id] = _Kept(request.org_id, request.mode, token, fresh_until)
        self._kept.move_to_end(request.account_id)
        while len(self._kept) > self._max_accounts:
            self._kept.popitem(last=False)

    def forget(self, account_id: str) -> None:
        """Drops what is kept of the account; answers to requests under way are not kept."""
        self._kept.pop(account_id, None)
        self._forgets += 1


class _AboutAccount(msgspec.Struct):
    account_id: str


async def forget_on_account_events(bus: Bus, cache: CachedTokens) -> Subscription:
    """Drops an account's token as soon as connect announces anything about the account. A plain
    subscription (every replica hears every event), not a durable consumer: a message missed while
    disconnected is covered by the cache's time limit."""
    decoder = msgspec.json.Decoder(_AboutAccount)

    async def on_message(msg: Msg) -> None:
        try:
            about = decoder.decode(msg.data)
        except msgspec.DecodeError:
            log.warning("token_cache.undecodable_account_event", subject=msg.subject)
            return
        cache.forget(about.account_id)

    return await bus.nc.subscribe(bus.subject(ACCOUNT_EVENTS), cb=on_message)
