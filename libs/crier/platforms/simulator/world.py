"""Everything the simulator remembers, in memory: apps, users with their pages, grants, codes,
tokens, what was posted, per-platform settings (an instance's character limit), scheduled faults,
a request log and a clock that tests can move forward.

Plain data and rules, no HTTP: the route modules read and change a `World`.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any

from crier.platforms.simulator.media import MediaLibrary
from crier.platforms.simulator.posts import Posts


@dataclass
class App:
    platform: str
    client_id: str
    client_secret: str
    redirect_uris: list[str]
    # LinkedIn only issues refresh tokens to apps it enabled them for.
    refresh_tokens: bool = True
    name: str = "app"


@dataclass
class User:
    platform: str
    id: str
    username: str
    display_name: str
    email: str
    avatar_url: str
    # Pages / organizations / channels / locations, each a dict in the platform's own words.
    pages: list[dict[str, Any]] = field(default_factory=list)
    # Bluesky: the app password createSession accepts.
    app_password: str | None = None


@dataclass
class Grant:
    id: str
    platform: str
    client_id: str
    user_id: str
    scopes: tuple[str, ...]
    created_at: float
    refresh_expires_at: float | None = None
    revoked: bool = False


@dataclass
class Code:
    value: str
    platform: str
    client_id: str
    user_id: str
    scopes: tuple[str, ...]
    redirect_uri: str
    challenge: str | None
    challenge_method: str | None
    expires_at: float
    params: dict[str, str]
    used_by: str | None = None  # the grant it was redeemed for


@dataclass
class Token:
    value: str
    platform: str
    grant_id: str
    kind: str  # access | refresh | page
    issued_at: float
    expires_at: float | None
    page_id: str | None = None
    revoked: bool = False


@dataclass
class Fault:
    """The next `times` calls to `platform`'s `endpoint` ("*" = any) fail with `kind`, once `skip`
    calls to it have gone through (a fault for a thread's reply, not its root)."""

    platform: str
    endpoint: str
    # rate_limit | server_error | unavailable | timeout | expired_token | reject | status, or
    # accept_then_timeout: the request is served (a post is made) and then the answer hangs.
    kind: str
    times: int = 1
    retry_after: int = 1
    status: int | None = None
    body: Any = None
    hang_s: float = 30.0
    skip: int = 0
    id: str = field(default_factory=lambda: secrets.token_hex(4))


class World:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.offset_s = 0.0
        self.apps: dict[tuple[str, str], App] = {}
        self.users: dict[tuple[str, str], User] = {}
        self.signed_in: dict[str, str] = {}  # platform -> user id the browser is signed in as
        self.consent: dict[str, list[str]] = {}  # platform -> queued decisions ("deny", ...)
        self.grants: dict[str, Grant] = {}
        self.codes: dict[str, Code] = {}
        self.tokens: dict[str, Token] = {}
        self.posts = Posts()
        self.media = MediaLibrary()
        # platform -> name -> value: what a platform lets its operator configure (max_characters)
        self.settings: dict[str, dict[str, Any]] = {}
        self.faults: list[Fault] = []
        self.requests: deque[dict[str, Any]] = deque(maxlen=2000)
        self._ids = itertools.count(1)
        self.unhang()

    # -- clock ---------------------------------------------------------------------------------

    def now(self) -> float:
        return time.time() + self.offset_s

    def advance(self, seconds: float) -> None:
        self.offset_s += seconds

    # -- ids and secrets -----------------------------------------------------------------------

    def number(self, digits: int) -> str:
        """A numeric id of `digits` digits, unique within this world."""
        n = next(self._ids)
        return str(10 ** (digits - 1) + n * 7919 + secrets.randbelow(7919))[:digits]

    # -- apps and users ------------------------------------------------------------------------

    def app(self, platform: str, client_id: str) -> App | None:
        return self.apps.get((platform, client_id))

    def add_app(self, app: App) -> App:
        self.apps[(app.platform, app.client_id)] = app
        return app

    def add_user(self, user: User, *, sign_in: bool = True) -> User:
        self.users[(user.platform, user.id)] = user
        if sign_in:
            self.signed_in[user.platform] = user.id
        return user

    def user(self, platform: str, user_id: str) -> User | None:
        return self.users.get((platform, user_id))

    def next_consent(self, platform: str) -> str:
        queue = self.consent.get(platform) or []
        return queue.pop(0) if queue else "approve"

    # -- grants, codes and tokens --------------------------------------------------------------

    def new_grant(self, platform: str, client_id: str, user_id: str, scopes: tuple[str, ...]) -> Grant:
        grant = Grant(
            id=secrets.token_hex(8),
            platform=platform,
            client_id=client_id,
            user_id=user_id,
            scopes=scopes,
            created_at=self.now(),
        )
        self.grants[grant.id] = grant
        return grant

    def issue(
        self,
        grant: Grant,
        kind: str,
        ttl_s: float | None,
        *,
        prefix: str = "",
        page_id: str | None = None,
        value: str | None = None,
    ) -> Token:
        token = Token(
            value=value or prefix + secrets.token_urlsafe(32),
            platform=grant.platform,
            grant_id=grant.id,
            kind=kind,
            issued_at=self.now(),
            expires_at=None if ttl_s is None else self.now() + ttl_s,
            page_id=page_id,
        )
        self.tokens[token.value] = token
        return token

    def token(self, platform: str, value: str) -> Token | None:
        token = self.tokens.get(value)
        return token if token is not None and token.platform == platform else None

    def live(self, token: Token | None, kind: str | tuple[str, ...]) -> bool:
        kinds = (kind,) if isinstance(kind, str) else kind
        if token is None or token.kind not in kinds or token.revoked:
            return False
        grant = self.grants.get(token.grant_id)
        if grant is None or grant.revoked:
            return False
        return token.expires_at is None or token.expires_at > self.now()

    def revoke_grant(self, grant_id: str) -> None:
        grant = self.grants.get(grant_id)
        if grant is not None:
            grant.revoked = True

    def grants_of(self, platform: str, user_id: str | None = None) -> list[Grant]:
        return [g for g in self.grants.values() if g.platform == platform and (user_id is None or g.user_id == user_id)]

    def expire_access_tokens(self, platform: str, user_id: str | None = None) -> int:
        grant_ids = {g.id for g in self.grants_of(platform, user_id)}
        count = 0
        for token in self.tokens.values():
            if token.grant_id in grant_ids and token.kind in ("access", "page"):
                token.expires_at = self.now() - 1
                count += 1
        return count

    def invalidate_tokens(self, platform: str, user_id: str | None = None, value: str | None = None) -> int:
        """Access (and page) tokens stop working for API calls while their grant lives on: a
        refresh still succeeds, as after a platform-side session reset."""
        grant_ids = {g.id for g in self.grants_of(platform, user_id)}
        count = 0
        for token in self.tokens.values():
            if token.grant_id in grant_ids and token.kind in ("access", "page") and value in (None, token.value):
                token.revoked = True
                count += 1
        return count

    # -- settings ------------------------------------------------------------------------------

    def processing_until(self, platform: str) -> tuple[float, bool]:
        """When media added now finishes processing on `platform`, and whether it then fails (its
        `processing_s` and `processing_fails` settings)."""
        return self.now() + float(self.setting(platform, "processing_s", 0)), bool(
            self.setting(platform, "processing_fails", False)
        )

    def setting(self, platform: str, name: str, default: Any) -> Any:
        return self.settings.get(platform, {}).get(name, default)

    # -- faults --------------------------------------------------------------------------------

    def add_fault(self, fault: Fault) -> Fault:
        self.faults.append(fault)
        return fault

    def take_fault(self, platform: str, endpoint: str) -> Fault | None:
        for fault in self.faults:
            if fault.platform == platform and fault.endpoint in (endpoint, "*") and fault.times > 0:
                if fault.skip > 0:
                    fault.skip -= 1
                    return None
                fault.times -= 1
                if fault.times == 0:
                    self.faults.remove(fault)
                return fault
        return None

    def unhang(self) -> None:
        """Let every request hanging on a timeout fault go (later faults hang afresh)."""
        release = getattr(self, "release", None)
        if release is not None:
            release.set()
        self.release = asyncio.Event()

    async def hang(self, seconds: float) -> None:
        """Sleep like a stuck server, but let go at once when the world is reset or stopped."""
        try:
            await asyncio.wait_for(self.release.wait(), seconds)
        except TimeoutError:
            pass

    def snapshot(self, platform: str) -> dict[str, Any]:
        return {
            "apps": [asdict(a) for (p, _), a in self.apps.items() if p == platform],
            "users": [asdict(u) for (p, _), u in self.users.items() if p == platform],
            "signed_in": self.signed_in.get(platform),
            "grants": [
                {**asdict(g), "tokens": sum(1 for t in self.tokens.values() if t.grant_id == g.id)}
                for g in self.grants_of(platform)
            ],
            "settings": self.settings.get(platform, {}),
            "posts": len(self.posts.of(platform)),
            "faults": [asdict(f) for f in self.faults if f.platform == platform],
        }
