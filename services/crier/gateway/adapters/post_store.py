"""The Post event store and the projections written beside it: every change to a post is one
transaction that appends its events, rewrites its projection rows and queues its announcements."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from crier.contracts.common import Mode
from crier.gateway.adapters import post_rows
from crier.gateway.adapters.database import violated_constraint
from crier.gateway.adapters.folded_posts import FoldedPosts
from crier.gateway.adapters.post_queries import PostRecord
from crier.gateway.adapters.tables import post_events, post_targets
from crier.gateway.domain import events as ev
from crier.gateway.domain.post import Post, apply, replay
from crier.gateway.domain.target import Target
from crier.kit.bus import inbox
from crier.kit.bus.outbox import OutboxMessage
from crier.kit.direct_sql import DirectStatement, fetch
from crier.kit.errors import NotFound
from crier.kit.uow import Transaction, UnitOfWork

# Writers of one post that keep losing the race to append give up after this many tries.
APPEND_RETRIES = 8

# What happens to the post, decided from its current state alone: the events to append.
Decide = Callable[[Post], Sequence[ev.AnyPostEvent]]
# What to tell other services about the change, from the post before and after it.
Announce = Callable[[Post, Post, Sequence[ev.AnyPostEvent]], Sequence[OutboxMessage]]
# Other writes the change carries, in its transaction, given the post after it.
Effect = Callable[[Transaction, Post], Awaitable[None]]


class ConcurrentAppend(Exception):
    """Someone appended to this post since we read it; re-read and decide again."""


class _ClaimedMeanwhile(Exception):
    """Another handler claimed a message the change answers after the change read it was new."""


class ExternalRefTaken(Exception):
    """The organization already has a post with this external_ref (another request won the race)."""

    def __init__(self, external_ref: str) -> None:
        super().__init__(external_ref)
        self.external_ref = external_ref


@dataclass(frozen=True)
class KeyClaim:
    """An Idempotency-Key to claim as done with the new post, in the statement that writes it."""

    key: str
    request_hash: str
    holder: str


class KeyTakenMeanwhile(Exception):
    """The Idempotency-Key a create claims as it writes was claimed by another request first."""


@dataclass(frozen=True)
class AccountsAsKnown:
    """The usable accounts a create was checked against without reading them first, as a read
    gives them (by id): the create writes only if they are all still so, unchanged."""

    rows: Mapping[str, Mapping[str, Any]]


class AccountsChanged(Exception):
    """An account a create was checked against as known changed, or is no longer usable: nothing
    was written."""


async def create(
    tx: Transaction,
    created: ev.PostCreated,
    announce: Callable[[Post], Sequence[OutboxMessage]] | None = None,
    *,
    claiming: KeyClaim | None = None,
    known: AccountsAsKnown | None = None,
) -> tuple[Post, PostRecord]:
    """A new post's first event and its projection rows, in one statement (`post_rows`), and
    the rows as written: what a read right after would give, without reading them back. Raises
    ExternalRefTaken, spoiling the caller's transaction; with `claiming`, KeyTakenMeanwhile when
    the key was taken; with `known`, AccountsChanged when the accounts are not as known. In each
    of those cases nothing is written."""
    post = apply(None, created)
    post_row, target_rows = _post_row(post), _target_rows(post)
    announced = announce(post) if announce is not None else ()
    await _write(tx, None, post, [created], target_rows, announced, key=claiming, known=known)
    return post, PostRecord(post_rows.as_read(post_row), [post_rows.as_read(t) for t in target_rows])


async def change(
    uow: UnitOfWork,
    *,
    post_id: str,
    org_id: str,
    mode: Mode,
    decide: Decide | None = None,
    announce: Announce,
    handling: str | None = None,
    effect: Effect | None = None,
    facts: Mapping[str, ev.AnyPostEvent] | None = None,
) -> Post | None:
    """Load → decide → append → project → announce, committed together, started over from the load
    when another writer appended to the post first. `handling` is the id of the message this change
    answers, recorded with it: None is returned when it was handled before.
    Raises NotFound when the organization has no such post in that mode, ExternalRefTaken when the
    change gives the post a reference another live post holds.

    `facts` instead of `decide`: events that answer several messages at once (by message id, in
    order); those whose message was handled before are left out, and each event is announced as
    its own change (the post's every status move, as one message at a time would have it).

    Facts about a post this process folded last are one statement, applied to the state it kept
    (`_change_from_kept`); most other changes are two statements that each commit on their own
    (`_change_at_once`); the rest are made in a transaction (`_change_in_a_transaction`)."""
    answering = list(facts) if facts is not None else [handling] if handling is not None else []
    consumer = uow.consumer if answering else ""
    decision = _Decision(org_id, mode, decide, announce, facts)
    if facts is not None and effect is None:
        kept = await _change_from_kept(uow, post_id, answering, consumer, decision)
        if not isinstance(kept, _NotKept):
            return kept
    for _ in range(APPEND_RETRIES):
        try:
            if effect is None:
                changed = await _change_at_once(uow, post_id, answering, consumer, decision)
                if not isinstance(changed, _InATransaction):
                    return changed
            return await _change_in_a_transaction(uow, post_id, answering, consumer, decision, effect)
        except ConcurrentAppend:
            continue
    raise ConcurrentAppend(post_id)


@dataclass(frozen=True)
class _Decision:
    """What a change decides its events and announcements from."""

    org_id: str
    mode: Mode
    decide: Decide | None
    announce: Announce
    facts: Mapping[str, ev.AnyPostEvent] | None

    def made(
        self, post_id: str, before: Post | None, unseen: set[str]
    ) -> tuple[Post, list[ev.AnyPostEvent], Post, list[OutboxMessage]]:
        """(before, events, after, announcements); raises NotFound for another tenant's post."""
        if before is None or (before.org_id, before.mode) != (self.org_id, self.mode):
            raise NotFound.of("post", post_id)
        if self.facts is not None:
            events = [event for message_id, event in self.facts.items() if message_id in unseen]
        else:
            assert self.decide is not None, "a change needs decide or facts"
            events = list(self.decide(before))
        after, announced = before, []
        for event in events:
            step = apply(after, event)
            if self.facts is not None:
                announced += self.announce(after, step, [event])
            after = step
        if self.facts is None and events:
            announced = list(self.announce(before, after, events))
        return before, events, after, announced


class _InATransaction:
    """`_change_at_once` cannot make this change: make it in a transaction."""


_IN_A_TRANSACTION = _InATransaction()


async def _change_at_once(
    uow: UnitOfWork, post_id: str, answering: list[str], consumer: str, decision: _Decision
) -> Post | _InATransaction | None:
    """The change in two statements, each committed on its own: the read (and which of the
    messages it answers were handled before), then one write that claims the others in the inbox
    with the events, the projection rows and the announcements; where a transaction takes four
    round trips, two. Left to a transaction: a change that claims messages and writes nothing, an
    edit (it deletes the targets it removed too), and a change whose message another handler
    claimed between the read and the write."""
    async with uow.autocommit() as tx:
        before, seen = await _load(tx.conn, post_id, answering, consumer, _SEEN_AND_READ)
        unseen = set(answering) - seen
        if answering and not unseen:
            return None  # handled before
        before, events, after, announced = decision.made(post_id, before, unseen)
        if not events:
            return before if not unseen else _IN_A_TRANSACTION
        if any(isinstance(e, ev.PostEdited) for e in events):
            return _IN_A_TRANSACTION
        try:
            claims = (consumer, sorted(unseen))
            stored = await _write(tx, before, after, events, _changed_target_rows(after, before), announced, claims)
        except _ClaimedMeanwhile:
            return _IN_A_TRANSACTION
    _keep(before, stored)  # committed: the statement was its own transaction
    return after


class _NotKept:
    """`_change_from_kept` cannot make this change: load the post first."""


_NOT_KEPT = _NotKept()


async def _change_from_kept(
    uow: UnitOfWork, post_id: str, answering: list[str], consumer: str, decision: _Decision
) -> Post | _NotKept:
    """Facts in one statement, applied to the post as this process last folded it, and written only
    if the post's last stored event is still the one that state ended on, which is what the read
    would have checked (a delivery report after the first of a post's: its read was half the work).
    The messages they answer are taken as new: one handled before fails the claim, and the change
    is made again the long way, as is one whose post another writer appended to since. Only facts:
    a `decide` would be asked twice for a message handled before."""
    known = FOLDED.get(post_id)
    if known is None:
        return _NOT_KEPT
    kept, last_event = known
    unseen = set(answering)
    before, events, after, announced = decision.made(post_id, kept, unseen)
    if not events or any(isinstance(e, ev.PostEdited) for e in events):
        return _NOT_KEPT
    async with uow.autocommit() as tx:
        try:
            claims = (consumer, sorted(unseen))
            rows = _changed_target_rows(after, before)
            stored = await _write(tx, before, after, events, rows, announced, claims, expected=last_event)
        except (_ClaimedMeanwhile, ConcurrentAppend):
            return _NOT_KEPT
    if not stored:
        return _NOT_KEPT
    _keep(before, stored)
    return after


def _keep(before: Post, stored: list[dict[str, Any]]) -> None:
    """The post after the events just committed, kept for the next change: folded from the events
    as they are stored, so it is what a load would fold."""
    post: Post | None = before
    for data in stored:
        post = apply(post, ev.decode(data))
    if post is not None and stored:
        FOLDED.keep(post, stored[-1])


async def _change_in_a_transaction(
    uow: UnitOfWork, post_id: str, answering: list[str], consumer: str, decision: _Decision, effect: Effect | None
) -> Post | None:
    async with uow.begin() as tx:
        # The messages this change answers, claimed in the inbox with the post's load.
        before, unseen = await _load(tx.conn, post_id, answering, consumer, _CLAIM_AND_READ)
        if answering and not unseen:
            return None  # handled before
        before, events, after, announced = decision.made(post_id, before, unseen)
        if not events:
            return before
        await _write(tx, before, after, events, _changed_target_rows(after, before), announced)
        if any(isinstance(e, ev.PostEdited) for e in events):
            # The targets an edit removed: their rows go, as a rebuild never writes them.
            await tx.conn.execute(
                post_targets.delete().where(
                    post_targets.c.post_id == post_id,
                    post_targets.c.id.not_in([t.id for t in after.targets]),
                )
            )
        if effect is not None:
            await effect(tx, after)
    return after


# Shared by every load in this process (see folded_posts for why a kept state is safe to reuse).
FOLDED = FoldedPosts()


async def load(conn: AsyncConnection, post_id: str) -> Post | None:
    """The post as its stored events make it: the kept state and the events since, when the kept
    state's last event is still the stored one at its version; else its whole history."""
    post, _ = await _load(conn, post_id, [], "")
    return post


# The post's events from a version on (0: all of them), beside the inbox claim of the messages a
# change answers (none: the claim inserts nothing), in one round trip. The claim's rows come with a
# null version, the events with a null claimed id.
# Every change runs it or the next: on the driver directly (see `kit.direct_sql`).
_EVENTS_SINCE = (
    " UNION ALL"
    " SELECT version, data, NULL FROM post_events WHERE post_id = :post_id AND version >= :since"
    " ORDER BY version NULLS FIRST"
)
_CLAIM_AND_READ = DirectStatement(
    f"WITH claimed AS ({inbox.CLAIM})"
    " SELECT NULL::integer AS version, NULL::jsonb AS data, event_id AS claimed FROM claimed" + _EVENTS_SINCE
)

# The same read, with which of the messages were handled before in place of the claim: the read a
# change made at once starts with (its claim goes with its write). Each id is looked up by the
# inbox's whole key: `event_id = ANY(:ids)` let a plan made while the inbox was small (a fresh
# database in its first minute, before any ANALYZE) find the consumer's rows and filter them by id,
# and a connection kept that plan as the inbox grew (1.4 ms a change after 2,000 posts).
_SEEN_AND_READ = DirectStatement(
    "SELECT NULL::integer AS version, NULL::jsonb AS data, seen.event_id AS claimed"
    " FROM unnest(CAST(:ids AS text[])) AS i(id) CROSS JOIN LATERAL"
    " (SELECT event_id FROM inbox WHERE consumer = :consumer AND event_id = i.id LIMIT 1) AS seen" + _EVENTS_SINCE
)

_HISTORY = DirectStatement("SELECT version, data FROM post_events WHERE post_id = :post_id ORDER BY version")


async def _load(
    conn: AsyncConnection,
    post_id: str,
    answering: list[str],
    consumer: str,
    statement: DirectStatement = _CLAIM_AND_READ,
) -> tuple[Post | None, set[str]]:
    """`load`, and the ids among `answering` the statement names: those this consumer had not
    handled before, claimed in the caller's transaction (`_CLAIM_AND_READ`), or those it had
    (`_SEEN_AND_READ`)."""
    known = FOLDED.get(post_id)
    since = known[0].version if known is not None else 0
    rows = await fetch(conn, statement, {"consumer": consumer, "ids": answering, "post_id": post_id, "since": since})
    named = {row["claimed"] for row in rows if row["claimed"] is not None}
    events: Sequence[Any] = [row for row in rows if row["version"] is not None]
    if known is not None:
        post, last_event = known
        if events and events[0]["version"] == post.version and events[0]["data"] == last_event:
            for row in events[1:]:
                post = apply(post, ev.decode(row["data"]))
            if len(events) > 1:
                FOLDED.keep(post, events[-1]["data"])
            return post, named
        # The kept state is not the stored one: read the whole history again.
        events = await fetch(conn, _HISTORY, {"post_id": post_id})
    folded = replay(ev.decode(r["data"]) for r in events)
    if folded is not None:
        FOLDED.keep(folded, events[-1]["data"])
    return folded, named


async def history(conn: AsyncConnection, post_id: str) -> list[ev.AnyPostEvent]:
    """The post's events in the order they were appended."""
    return [ev.decode(r["data"]) for r in await fetch(conn, _HISTORY, {"post_id": post_id})]


async def project(conn: AsyncConnection, post: Post) -> None:
    """Write the post's current state into `posts` and every one of its `post_targets` rows."""
    await fetch(conn, post_rows.STATEMENT, post_rows.params([], _post_row(post), _target_rows(post)))


async def _write(
    tx: Transaction,
    before: Post | None,
    after: Post,
    events: Sequence[ev.AnyPostEvent],
    target_rows: list[dict[str, Any]],
    announced: Sequence[OutboxMessage],
    claims: tuple[str, Sequence[str]] = ("", ()),
    key: KeyClaim | None = None,
    expected: Any = None,
    known: AccountsAsKnown | None = None,
) -> list[dict[str, Any]]:
    """The events appended after `before`'s version, the projection rows of `after` and the
    messages announcing the change, in one statement; the events' data as stored. No savepoint:
    losing the race to append spoils the caller's transaction, and every caller starts a new one to
    re-read and decide again. `expected`: the stored data of `before`'s last event; the statement
    writes nothing, and none is returned, unless that is still the post's last event."""
    first = 1 if before is None else before.version + 1
    new_events = []
    for version, event in enumerate(events, start=first):
        kind, data = ev.encode(event)
        new_events.append(post_rows.NewEvent(version, kind, data, event.at))
    try:
        params = post_rows.params(new_events, _post_row(after), target_rows, announced, claims)
        if expected is not None:
            assert before is not None
            params.update(x_version=before.version, x_data=post_rows.json_text(expected))
            (row,) = await fetch(tx.conn, post_rows.EXPECTING, params)
            if not row["written"]:
                return []
        elif key is None and known is None:
            await fetch(tx.conn, post_rows.CREATE if before is None else post_rows.STATEMENT, params)
        else:
            assert before is None, "a key is claimed, and accounts known, only by a create"
            if key is not None:
                params.update(
                    k_org_id=after.org_id,
                    k_mode=after.mode,
                    k_key=key.key,
                    k_request_hash=key.request_hash,
                    k_holder=key.holder,
                )
            if known is not None:
                ids = sorted(known.rows)
                params.update(a_ids=ids, a_rows=post_rows.json_text([known.rows[i] for i in ids]))
            (row,) = await fetch(tx.conn, _CREATING[key is not None, known is not None], params)
            if not row["written"]:
                if known is not None and not row["fresh"]:
                    raise AccountsChanged()
                if known is not None and not row["ref_free"]:
                    assert after.external_ref is not None
                    raise ExternalRefTaken(after.external_ref)
                raise KeyTakenMeanwhile()
        tx.wrote(announced)
    except IntegrityError as exc:
        violated = violated_constraint(exc)
        if violated == "post_events_pkey":
            raise ConcurrentAppend(after.id) from exc
        if violated == "inbox_pkey":
            raise _ClaimedMeanwhile() from exc
        if after.external_ref is not None and violated == "posts_external_ref_key":
            raise ExternalRefTaken(after.external_ref) from exc
        raise
    return [e.data for e in new_events]


# A create's statement by (claiming a key, checking accounts as known).
_CREATING = {
    (True, False): post_rows.CREATE_CLAIMING,
    (False, True): post_rows.CREATE_KNOWING,
    (True, True): post_rows.CREATE_KNOWING_CLAIMING,
}


def _changed_target_rows(after: Post, before: Post) -> list[dict[str, Any]]:
    """The rows of the targets that changed: a delivery report changes one, and rewriting the
    others was a third of the projection's work."""
    unchanged = {t.id: t for t in before.targets}
    return [_target_row(after, t) for t in after.targets if unchanged.get(t.id) != t]


async def rebuild(conn: AsyncConnection, chunk: int = 200) -> int:
    """Throw the projections away and fold every post's events again. Returns the number of posts."""
    # Core has no TRUNCATE; a DELETE would leave every old row for vacuum to clean up.
    await conn.execute(sa.text("TRUNCATE posts, post_targets"))
    ids = (await conn.scalars(sa.select(post_events.c.post_id).distinct().order_by(post_events.c.post_id))).all()
    count = 0
    for i in range(0, len(ids), chunk):
        rows = await conn.execute(
            sa.select(post_events.c.post_id, post_events.c.data)
            .where(post_events.c.post_id.in_(ids[i : i + chunk]))
            .order_by(post_events.c.post_id, post_events.c.version)
        )
        by_post: dict[str, list[ev.AnyPostEvent]] = {}
        for row in rows:
            by_post.setdefault(row.post_id, []).append(ev.decode(row.data))
        for events in by_post.values():
            count += await _project_events(conn, events)
    return count


async def _project_events(conn: AsyncConnection, events: list[ev.AnyPostEvent]) -> int:
    post = replay(events)
    if post is None:
        return 0
    await project(conn, post)
    return 1


def _post_row(post: Post) -> dict[str, Any]:
    return {
        "id": post.id,
        "org_id": post.org_id,
        "mode": post.mode,
        "status": post.status,
        "containers": msgspec.to_builtins(post.containers),
        "scheduled_at": post.scheduled_at,
        "is_draft": post.is_draft,
        "config": post.config,
        "external_ref": post.external_ref,
        "created_at": post.created_at,
        "updated_at": post.updated_at,
        "published_at": post.published_at,
        "version": post.version,
        "canceled_at": post.canceled_at,
    }


def _target_rows(post: Post) -> list[dict[str, Any]]:
    return [_target_row(post, t) for t in post.targets]


def _target_row(post: Post, target: Target) -> dict[str, Any]:
    return {"post_id": post.id, **msgspec.structs.asdict(target)}
