"""A scripted live platform and a scripted token source, for the delivery use case's tests."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from crier.contracts.common import Container
from crier.contracts.connect import AccountToken, TokenRequest
from crier.kit.uow import UnitOfWork
from crier.platforms.base import MediaSource, PlatformAdapter, PublishContext, PublishedContainer
from crier.publisher.domain.backoff import RetryPolicy
from crier.publisher.handlers.context import Context, Tokens


@dataclass(frozen=True)
class AnswerLost:
    """The platform posts the container, then its answer never reaches us: `error` is raised instead."""

    error: BaseException


Outcome = BaseException | AnswerLost


class ScriptedPlatform:
    """A network platform whose calls go as scripted, keyed by (attempt, container index): each
    entry is what the next calls of that container do, in order; unscripted calls succeed."""

    name = "x"
    transactional = False

    def __init__(
        self, script: dict[tuple[int, int], Outcome | list[Outcome]] | None = None, *, needs_account: bool = False
    ) -> None:
        self.needs_account = needs_account
        self.script = {k: list(v) if isinstance(v, list) else [v] for k, v in (script or {}).items()}
        # Every publish call: (attempt, index, parent id).
        self.calls: list[tuple[int, int, str | None]] = []
        # Every find_published call: (attempt, index).
        self.finds: list[tuple[int, int]] = []
        # The access token each publish call carried.
        self.tokens: list[str | None] = []
        # What is on the platform, and how often each container was posted.
        self.posted: dict[int, PublishedContainer] = {}
        self.posts: Counter[int] = Counter()

    async def publish_container(
        self, ctx: PublishContext, container: Container, index: int, parent: PublishedContainer | None
    ) -> PublishedContainer:
        assert ctx.commit_with_progress is None, "a network adapter writes nothing with the progress rows"
        self.calls.append((ctx.attempt, index, parent.platform_post_id if parent else None))
        self.tokens.append(ctx.account.access_token if ctx.account else None)
        planned = self.script.get((ctx.attempt, index))
        outcome = planned.pop(0) if planned else None
        if isinstance(outcome, AnswerLost):
            self._post(index)
            raise outcome.error
        if outcome is not None:
            raise outcome
        return self._post(index)

    async def find_published(
        self, ctx: PublishContext, container: Container, index: int, parent: PublishedContainer | None
    ) -> PublishedContainer | None:
        # The publisher says since when the container may exist: its first send.
        assert ctx.sent_at is not None and ctx.sent_at.tzinfo is not None
        self.finds.append((ctx.attempt, index))
        return self.posted.get(index)

    def _post(self, index: int) -> PublishedContainer:
        self.posts[index] += 1
        self.posted[index] = PublishedContainer(f"x_{index}", f"https://x.example/{index}")
        return self.posted[index]


def token(access_token: str, account_id: str = "acc") -> AccountToken:
    return AccountToken(
        account_id=account_id,
        platform="x",
        access_token=access_token,
        expires_at=datetime.now(UTC) + timedelta(hours=1),
        network_unique_id="12345",
        username="alice",
        account_type="personal",
    )


@dataclass
class ScriptedTokens:
    """Connect as the publisher sees it: each request gets the next answer (a token or a failure)."""

    answers: list[AccountToken | Exception]
    requests: list[TokenRequest] = field(default_factory=list)

    async def token(self, request: TokenRequest) -> AccountToken:
        self.requests.append(request)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def context(
    engine: AsyncEngine,
    platform: PlatformAdapter,
    tokens: Tokens | None = None,
    *,
    key: str = "x",
    media: MediaSource | None = None,
    **policy: Any,
) -> Context:
    """The delivery use case's context over `engine`, with `platform` as the adapter under routing
    key `key` (the live x adapter by default)."""
    return Context(
        uow=UnitOfWork(engine, consumer="publisher"),
        adapters={key: platform},
        retry=RetryPolicy(**{"max_attempts": 5, "base_s": 2.0, "max_s": 300.0, **policy}),
        tokens=tokens or ScriptedTokens([]),
        jitter=lambda: 0.5,
        media=media,
    )


async def outbox(engine: AsyncEngine, target_id: str) -> list[tuple[str, dict[str, Any]]]:
    """What the publisher announced about the target, in order (nothing relays it in these tests)."""
    async with engine.connect() as conn:
        rows = await conn.execute(sa.text("SELECT subject, payload FROM outbox ORDER BY seq"))
        found = [(r.subject, msgspec.json.decode(bytes(r.payload))) for r in rows]
    return [(s, p) for s, p in found if p.get("target_id") == target_id]


async def subjects(engine: AsyncEngine, target_id: str) -> list[str]:
    """The target's `evt.target.*` events by name (the DEAD stream's copy of a command left out)."""
    found = await outbox(engine, target_id)
    return [s.removeprefix("evt.target.") for s, _ in found if s.startswith("evt.target.")]


async def forget_backoff(engine: AsyncEngine, target_id: str) -> None:
    # Stands in for the wait JetStream would do before redelivering.
    async with engine.begin() as conn:
        await conn.execute(sa.text("UPDATE targets SET retry_at = NULL WHERE target_id = :t"), {"t": target_id})


async def stored_anywhere(engine: AsyncEngine, secret: str) -> list[str]:
    """The publisher's tables in which `secret` appears, in any column of any row."""
    async with engine.connect() as conn:
        tables = await conn.scalars(
            sa.text(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename <> 'alembic_version'"
            )
        )
        found = []
        for table in list(tables):
            hits = await conn.scalar(
                sa.text(f'SELECT count(*) FROM "{table}" t WHERE t::text LIKE :s'), {"s": f"%{secret}%"}
            )
            if hits:
                found.append(table)
    return found
