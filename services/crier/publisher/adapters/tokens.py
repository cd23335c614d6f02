"""The account's access token, from the connect service over request/reply.

The token goes into the adapter's `PublishContext` and nowhere else (no log line, no table, no
event); `adapters.token_cache` keeps it in the process's memory for a few seconds.
"""

from __future__ import annotations

from crier.contracts.connect import ACCOUNTS_TOKEN, PLATFORM_CALL_TIMEOUT_S, AccountToken, TokenRequest
from crier.kit.bus import Bus, rpc
from crier.kit.errors import Conflict, Failure, Forbidden, Gone, Invalid, NotFound, Unavailable

_KINDS: dict[str, type[Failure]] = {
    "invalid": Invalid,
    "not_found": NotFound,
    "conflict": Conflict,
    "forbidden": Forbidden,
    "gone": Gone,
    "unavailable": Unavailable,
}


class ConnectTokens:
    """`handlers.context.Tokens` over the bus.

    Connect's refusals come back as the kit failure of the same kind with connect's code (`gone`
    `account_token_expired`, …); a bug on connect's side (`internal`) as `Unavailable`. When connect
    does not answer at all, `rpc.RpcUnavailable` goes up unchanged: that is an outage, which the
    consumer waits out without spending an attempt.
    """

    def __init__(self, bus: Bus, *, timeout_s: float = PLATFORM_CALL_TIMEOUT_S) -> None:
        self._bus = bus
        # Connect may refresh the token at the platform before it answers.
        self._timeout_s = timeout_s

    async def token(self, request: TokenRequest) -> AccountToken:
        try:
            return await rpc.call(self._bus, ACCOUNTS_TOKEN, request, AccountToken, timeout=self._timeout_s)
        except rpc.RpcFailure as exc:
            kind = _KINDS.get(exc.error.kind, Unavailable)
            raise kind(exc.error.code, exc.error.message, exc.error.details) from None
