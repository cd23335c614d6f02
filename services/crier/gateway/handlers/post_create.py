"""Creating a post, idempotently: by its Idempotency-Key and by its external_ref, a repeat gets the
first request's post. The common create (no key or a new one, nothing to look up) is one statement
when the process knows the accounts it names from an earlier create's read: the write, checking
those accounts, the key and the external_ref as it goes (`_create_as_known`); else two statements
that each commit: a read, and one write of the post that claims the key with it, if there is one
(`_create_in_two_statements`). Otherwise, without media to fetch, a create is one transaction whose
first statement claims the key, finds the external_ref's holder and reads the accounts
(`adapters.create_claim`); with media to fetch, the key is claimed first and held by a lease while
the media arrives."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from crier.gateway.adapters import create_claim, idempotency, post_queries, post_store
from crier.gateway.adapters.post_queries import PostRecord
from crier.gateway.domain import events as ev
from crier.gateway.domain.api_key import Principal
from crier.gateway.domain.media import media_ids
from crier.gateway.domain.validation import NewPost, PostRequest
from crier.gateway.handlers import announcements, idempotency_leases, media_posts, scheduling
from crier.gateway.handlers.context import Context
from crier.gateway.handlers.posts import checked
from crier.kit.errors import Conflict, Failure, Invalid
from crier.kit.uow import Transaction

# A create that keeps losing the race for its external_ref to posts that are then canceled gives up.
APPEND_RACES = 3


@dataclass(frozen=True)
class IdempotencyKey:
    key: str
    # The request body's hash: the same key with another body is a mistake, not a retry.
    request_hash: str


@dataclass(frozen=True)
class Created:
    record: PostRecord
    # False when an earlier request (same Idempotency-Key or external_ref) already made this post.
    is_new: bool


async def create_post(ctx: Context, who: Principal, request: PostRequest, idem: IdempotencyKey | None) -> Created:
    """A replayed request gets its original answer even after, say, its scheduled time has passed:
    a request is refused only once we know it is not a repeat (one the create from known accounts
    would refuse goes the long way, which finds out). A request with media to fetch
    first claims its key in a transaction of its own and holds it by a lease while it fetches;
    every other request does all its work in one transaction (`_create_at_once`)."""
    if not request.media_urls:
        known = await _create_as_known(ctx, who, request, idem)
        if isinstance(known, Created):
            return known
        for _ in range(APPEND_RACES):
            try:
                # A key or external_ref the one statement found held: a repeat, or a race lost.
                made = None if known is HELD else await _create_in_two_statements(ctx, who, request, idem)
                known = None
                if made is not None:
                    return made
                return await _create_at_once(ctx, who, request, idem)
            except post_store.ExternalRefTaken:
                # Another request with the external_ref committed first: the next try finds its post.
                continue
        raise Conflict("external_ref_in_use", "a post with this external_ref is being created; retry shortly")
    if idem is None:
        return await _create(ctx, who, request, None)
    async with ctx.uow.begin() as tx:
        claim = await idempotency.claim(
            tx.conn, who.org_id, who.mode, idem.key, idem.request_hash, ctx.idempotency_lease
        )
    if not claim.won:
        return await _replay(ctx, who, claim, idem)
    try:
        async with idempotency_leases.kept(ctx.uow, claim.hold, ctx.idempotency_lease):
            return await _create(ctx, who, request, claim.hold)
    except BaseException:
        async with ctx.uow.begin() as tx:
            await idempotency.release(tx.conn, claim.hold)
        raise


async def _replay(ctx: Context, who: Principal, claim: idempotency.Claim, idem: IdempotencyKey) -> Created:
    if claim.request_hash != idem.request_hash:
        raise Invalid("idempotency_key_reused", "this Idempotency-Key was already used with a different request body")
    if claim.status != idempotency.DONE or claim.post_id is None:
        raise _in_progress(claim)
    async with ctx.uow.read() as conn:
        record = await post_queries.get(conn, who.org_id, who.mode, claim.post_id)
    if record is None:
        raise _in_progress(claim)
    return Created(record, is_new=False)


def _in_progress(claim: idempotency.Claim) -> Conflict:
    """Says when to come back: the holder's lease runs out by then unless it is alive to renew it."""
    if claim.lease_expires_at is None:
        return Conflict(
            "idempotency_in_progress",
            "a request with this Idempotency-Key is still being processed; retry shortly",
            {"retry_after_s": claim.frees_in_s},
        )
    frees_at = claim.lease_expires_at.astimezone(UTC).isoformat()
    return Conflict(
        "idempotency_in_progress",
        f"a request with this Idempotency-Key is still being processed; if it has stopped, the key is "
        f"released at {frees_at} at the latest: retry after {claim.frees_in_s} s",
        {"lease_expires_at": frees_at, "retry_after_s": claim.frees_in_s},
    )


class _Held:
    """The key or the external_ref of a create is held: answered by `_create_at_once`."""


HELD = _Held()


async def _create_as_known(
    ctx: Context, who: Principal, request: PostRequest, idem: IdempotencyKey | None
) -> Created | _Held | None:
    """The common create in one statement, when this process knows every account it names: checked
    against them as kept (`known_accounts`), and written, its key claimed, only if they are still
    as kept, no live post holds its external_ref and its key is free. HELD when the write found
    the key or the external_ref held (a repeat to answer, or a race lost). None leaves the create
    to the read: an account not known here, an end user's addressing or media (more to read), a
    request the checks refuse (the read finds out whether it repeats an earlier one, which is
    answered as it was, checked or not), or a write that found an account changed."""
    if request.containers and media_ids(request.containers):
        return None
    ids = list(dict.fromkeys(request.accounts))
    # No accounts named: an end user's addressing (whose accounts the read path looks up) or a
    # request the checks refuse.
    known = ctx.known_accounts.of(who.org_id, who.mode, ids) if ids else None
    if known is None:
        return None
    try:
        addressed, queue = await scheduling.address(ctx, who, request)
        if queue is not None or addressed.accounts != request.accounts:
            return None
        new, found = await checked(ctx, who, addressed, usable=known)
    except Failure:
        return None
    claiming = None if idem is None else post_store.KeyClaim(idem.key, idem.request_hash, uuid.uuid4().hex)
    as_known = post_store.AccountsAsKnown({a: vars(row) for a, row in known.items()})
    try:
        async with ctx.uow.autocommit() as tx:
            record = await _insert(ctx, tx, who, new, found, claiming=claiming, known=as_known)
    except post_store.AccountsChanged:
        ctx.known_accounts.forget(who.org_id, who.mode, ids)
        return None
    except (post_store.KeyTakenMeanwhile, post_store.ExternalRefTaken):
        return HELD
    _count(ctx, who, found, new.accounts)
    return Created(record, is_new=True)


async def _create_in_two_statements(
    ctx: Context, who: Principal, request: PostRequest, idem: IdempotencyKey | None
) -> Created | None:
    """The common create, with no key or a new one and nothing to look up, in two statements that
    each commit on their own: a read (is the key held, does a post hold the external_ref, which
    accounts are usable), then one write of the post that claims the key as done with it, or
    writes nothing when another request took the key meanwhile. Where a transaction takes four
    round trips, two. None when the create is left to `_create_at_once`'s transaction: a repeat (a
    held key, a held external_ref) to answer, a post queued into a slot or carrying media (more
    rows to lock and write), or a key taken between the read and the write. An external_ref taken
    between the two raises ExternalRefTaken, as the write of a transaction would."""
    async with ctx.uow.autocommit() as tx:
        seen = await create_claim.read(
            tx.conn,
            who.org_id,
            who.mode,
            key=None if idem is None else idem.key,
            external_ref=request.external_ref,
            account_ids=list(dict.fromkeys(request.accounts)),
        )
        ctx.known_accounts.keep(who.org_id, who.mode, seen.usable)
        if seen.key_held or seen.ref_holder is not None:
            return None
        addressed, queue = await scheduling.address(ctx, who, request)
        if queue is not None:
            return None
        known = seen.usable if addressed.accounts == request.accounts else None
        new, found = await checked(ctx, who, addressed, tx.conn, known)
        if media_ids(new.containers):
            return None
        claiming = None if idem is None else post_store.KeyClaim(idem.key, idem.request_hash, uuid.uuid4().hex)
        try:
            record = await _insert(ctx, tx, who, new, found, claiming=claiming)
        except post_store.KeyTakenMeanwhile:
            return None
    _count(ctx, who, found, new.accounts)
    return Created(record, is_new=True)


async def _create_at_once(ctx: Context, who: Principal, request: PostRequest, idem: IdempotencyKey | None) -> Created:
    """One transaction: the post with its external_ref (if any) looked up, the key claimed as done
    with the post it answers with, the request checked, the post written. A failure rolls the claim
    back with the rest; a repeat racing this one waits for the commit and then replays it."""
    post_id = str(uuid.uuid4())
    outcome: Created | idempotency.Claim
    async with ctx.uow.begin() as tx:
        ref_holder, claim, usable = None, None, None
        if idem is not None:
            begun = await create_claim.claim(
                tx.conn,
                who.org_id,
                who.mode,
                key=idem.key,
                request_hash=idem.request_hash,
                external_ref=request.external_ref,
                post_id=post_id,
                account_ids=list(dict.fromkeys(request.accounts)),
            )
            ref_holder, claim, usable = begun.ref_holder, begun.claim, begun.usable
            ctx.known_accounts.keep(who.org_id, who.mode, usable)
        elif request.external_ref is not None:
            ref_holder = await post_queries.ref_holder(tx.conn, who.org_id, who.mode, request.external_ref)
        existing = None if ref_holder is None else await post_queries.get(tx.conn, who.org_id, who.mode, ref_holder)
        if claim is not None and not claim.won:
            outcome = claim
        elif existing is not None:
            outcome = Created(existing, is_new=False)
        else:
            addressed, queue = await scheduling.address(ctx, who, request)
            # The accounts read with the claim, unless addressing an end user named others.
            known = usable if addressed.accounts == request.accounts else None
            new, found = await checked(ctx, who, addressed, tx.conn, known)
            new, queued = await scheduling.take_slot(ctx, tx, who, queue, new, found)
            record = await _insert(ctx, tx, who, new, found, post_id)
            outcome = Created(await scheduling.reserve(tx, who, queued, record), is_new=True)
    if isinstance(outcome, idempotency.Claim):
        assert idem is not None
        return await _replay(ctx, who, outcome, idem)
    if outcome.is_new:
        _count(ctx, who, found, new.accounts)
    return outcome


async def _create(ctx: Context, who: Principal, request: PostRequest, idem: idempotency.Hold | None) -> Created:
    if request.external_ref is not None:
        existing = await _by_external_ref(ctx, who, request.external_ref, idem)
        if existing is not None:
            return existing
    request, queue = await scheduling.address(ctx, who, request)
    new, found = await checked(ctx, who, request)
    try:
        async with ctx.uow.begin() as tx:
            new, queued = await scheduling.take_slot(ctx, tx, who, queue, new, found)
            record = await _insert(ctx, tx, who, new, found)
            record = await scheduling.reserve(tx, who, queued, record)
            if idem is not None:
                await idempotency.finish(tx.conn, idem, record.post.id)
        _count(ctx, who, found, new.accounts)
        return Created(record, is_new=True)
    except post_store.ExternalRefTaken as taken:
        # Two requests with one external_ref raced; the loser answers with the winner's post.
        existing = await _by_external_ref(ctx, who, taken.external_ref, idem)
        if existing is None:
            raise
        return existing


def _count(ctx: Context, who: Principal, found: dict[str, Any], account_ids: Sequence[str]) -> None:
    """Once the post is committed: a create rolled back (an external_ref taken) counts nothing."""
    ctx.meters.posts_created.labels(mode=who.mode).inc()
    for account_id in account_ids:
        ctx.meters.targets_created.labels(platform=found[account_id].platform).inc()


async def _by_external_ref(
    ctx: Context, who: Principal, external_ref: str, idem: idempotency.Hold | None
) -> Created | None:
    async with ctx.uow.begin() as tx:
        record = await post_queries.by_external_ref(tx.conn, who.org_id, who.mode, external_ref)
        if record is not None and idem is not None:
            await idempotency.finish(tx.conn, idem, record.post.id)
    return Created(record, is_new=False) if record is not None else None


async def _insert(
    ctx: Context,
    tx: Transaction,
    who: Principal,
    new: NewPost,
    found: dict[str, Any],
    post_id: str | None = None,
    *,
    claiming: post_store.KeyClaim | None = None,
    known: post_store.AccountsAsKnown | None = None,
) -> PostRecord:
    created = ev.PostCreated(
        at=ctx.now(),
        post_id=post_id or str(uuid.uuid4()),
        org_id=who.org_id,
        mode=who.mode,
        containers=new.containers,
        targets=[
            ev.PlannedTarget(
                id=str(uuid.uuid4()),
                account_id=a,
                platform=found[a].platform,
                account_username=found[a].username,
                tenant_id=found[a].tenant_id,
                override_body=new.overrides.get(a),
            )
            for a in new.accounts
        ],
        scheduled_at=new.scheduled_at,
        is_draft=new.is_draft,
        config=new.config,
        external_ref=new.external_ref,
    )
    post, record = await post_store.create(
        tx,
        created,
        lambda post: announcements.outgoing(announcements.created(post, created)),
        claiming=claiming,
        known=known,
    )
    await media_posts.record_use(ctx, tx, who, post.id, new.containers)
    return record
