"""A connected account and its platform's adapter, held as the publisher holds them, for adapter
tests against the simulator:

    acct = await connect_for_publishing(flow, "mastodon")
    published = await acct.publish(acct.context("post", "first comment", config={...}))
    acct.posts()  # what the simulated platform keeps, oldest first

With media: `ref = acct.media.add(png())` keeps the bytes (and hosts them on the simulator for
platforms that pull from a URL); `acct.context("caption", media={0: [ref]})` puts it in container 0.
`acct.stage` is the adapter's saved progress, as the publisher keeps it between deliveries.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from typing import Any

import httpx

from crier.contracts.common import Container, MediaRef, Platform
from crier.contracts.connect import AccountToken
from crier.platforms import publishing
from crier.platforms.base import PlatformAdapter, PlatformSettings, PublishContext, PublishedContainer
from tests.support.media_files import media_ref
from tests.support.simulator import Simulator

from .conftest import Flow


class HostedMedia:
    """A `MediaSource` for adapter tests: bytes kept in memory, and served by the simulator for
    platforms that pull them from a URL."""

    def __init__(self, sim: Simulator) -> None:
        self._sim = sim
        self._bytes: dict[str, bytes] = {}
        self._urls: dict[str, str] = {}
        self.reads: list[str] = []

    def add(self, data: bytes, *, alt_text: str | None = None, **over: Any) -> MediaRef:
        ref = media_ref(data, alt_text=alt_text, **over)
        self._bytes[ref.id] = data
        self._urls[ref.id] = self._sim.host_file(data, ref.mime or "application/octet-stream")
        return ref

    async def chunks(self, media: MediaRef, size: int = 4 << 20) -> AsyncIterator[bytes]:
        self.reads.append(media.id)
        data = self._bytes[media.id]
        for start in range(0, len(data), size):
            yield data[start : start + size]

    async def read(self, media: MediaRef) -> bytes:
        self.reads.append(media.id)
        return self._bytes[media.id]

    def url(self, media: MediaRef) -> str:
        return self._urls[media.id]


@dataclass
class SavedStage:
    """A `Stage` kept in memory, as the publisher keeps it in its table."""

    saved: dict[int, dict[str, Any]] = field(default_factory=dict)

    def get(self, index: int) -> dict[str, Any]:
        return dict(self.saved.get(index, {}))

    async def save(self, index: int, state: dict[str, Any]) -> None:
        self.saved[index] = dict(state)


@dataclass
class Publishing:
    platform: Platform
    sim: Simulator
    http: httpx.AsyncClient
    user: dict[str, Any]
    account: AccountToken
    settings: PlatformSettings
    adapter: PlatformAdapter
    media: HostedMedia = field(init=False)
    stage: SavedStage = field(default_factory=SavedStage)

    def __post_init__(self) -> None:
        self.media = HostedMedia(self.sim)

    def context(
        self,
        *texts: str,
        config: dict[str, Any] | None = None,
        target_id: str | None = None,
        media: dict[int, list[MediaRef]] | None = None,
    ) -> PublishContext:
        return PublishContext(
            target_id=target_id or f"tgt_{secrets.token_hex(6)}",
            post_id="post_1",
            org_id="org_1",
            mode="live",
            platform=self.platform,
            account_id=self.account.account_id,
            account_username=self.account.username,
            attempt=1,
            containers=tuple(Container(content=t, media=(media or {}).get(i, [])) for i, t in enumerate(texts)),
            config=config or {},
            account=self.account,
            media=self.media,
            stage=self.stage,
        )

    async def publish(self, ctx: PublishContext, adapter: PlatformAdapter | None = None) -> list[PublishedContainer]:
        """Every container in order, each replying to the one before: the publisher's loop."""
        done: list[PublishedContainer] = []
        for index, container in enumerate(ctx.containers):
            parent = done[-1] if done else None
            done.append(await (adapter or self.adapter).publish_container(ctx, container, index, parent))
        return done

    def adapter_with(self, **settings: Any) -> PlatformAdapter:
        """The same adapter with other settings (`timeout_s=0.3`, `base_url_override=""`)."""
        return adapter_for(self.platform, self.http, replace(self.settings, **settings))

    def posts(self) -> list[dict[str, Any]]:
        return self.sim.posts(self.platform, author=self.account_author)

    def made(self, count: int) -> list[dict[str, Any]]:
        """The posts once there are `count`: after a lost answer (`accept_then_timeout`) the client
        gives up at its own timeout, maybe before the simulator's thread has even run the request."""
        return self.sim.wait_for_posts(self.platform, count, author=self.account_author, timeout=10)

    @property
    def account_author(self) -> str:
        return str(self.user["id"])


def adapter_for(platform: Platform, http: httpx.AsyncClient, settings: PlatformSettings) -> PlatformAdapter:
    built = publishing.adapter(platform, http, settings)
    assert built is not None, f"{platform} has no publisher"
    return built


async def connect_for_publishing(
    flow: Flow, platform: Platform, *, scopes: tuple[str, ...] = (), **user_spec: Any
) -> Publishing:
    """A user connected by OAuth on the simulator, and the credentials connect would hand out."""
    conn = await flow.connect(platform, scopes=scopes, **user_spec)
    [me, *_] = await conn.provider.accounts(flow.http, conn.tokens)
    account = AccountToken(
        account_id=f"acc_{secrets.token_hex(4)}",
        platform=platform,
        access_token=me.access_token or conn.tokens.access_token,
        expires_at=conn.tokens.expires_at,
        network_unique_id=me.network_unique_id,
        username=me.username or "",
        account_type=me.account_type,
        instance_url=conn.tokens.extra.get("instance_url") or me.extra.get("instance_url"),
    )
    settings = PlatformSettings(base_url_override=flow.sim.base_url, timeout_s=5)
    return Publishing(
        platform, flow.sim, flow.http, conn.user, account, settings, adapter_for(platform, flow.http, settings)
    )
