"""Imported posts: each page an import reads (`evt.import.page`) becomes posts in the posts list,
`source: "imported"`, published, with the platform's id and URL on their one target.

A post's id is derived from its account and the platform's post id, so a page delivered twice, or
the same post read by a later import, lands on the post already held (its first event's key) and
is skipped. So is a post Crier itself published to that account. No post event leaves the gateway
for an imported post: nothing schedules or publishes it.

The import is completed here: when the publisher has read the whole timeline (`evt.import.read`)
and every page before that is recorded, the gateway announces `evt.import.completed`, so a client
that lists its posts on `import.completed` finds them all.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from crier.contracts.imports import ImportCompleted, ImportPageRead, ImportTimelineRead
from crier.gateway.adapters import post_store
from crier.gateway.adapters.tables import post_events, post_targets
from crier.gateway.domain import events as ev
from crier.gateway.handlers.context import Context


class PagesPending(Exception):
    """The import's end came before all its pages were recorded: try it again shortly."""


# The inbox entries of the pages (and only those), so the pages recorded of one import can be counted.
CONSUMER = "gateway-imports"

_NAMESPACE = uuid.UUID("0b6f3f1e-5a55-4c1f-9d0e-6a1c2b7e4f10")


def imported_post_id(account_id: str, platform_post_id: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"post:{account_id}:{platform_post_id}"))


def _target_id(account_id: str, platform_post_id: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"target:{account_id}:{platform_post_id}"))


async def record_import_page(ctx: Context, event: ImportPageRead) -> int:
    """Adds the page's posts; how many were new here."""
    ids = {p.platform_post_id: imported_post_id(event.account_id, p.platform_post_id) for p in event.posts}
    added = 0
    async with ctx.uow.begin(handling=event.id, consumer=CONSUMER) as tx:
        if tx.seen_before or not event.posts:
            return 0
        held = set(
            await tx.conn.scalars(
                sa.select(post_events.c.post_id).where(
                    post_events.c.post_id.in_(list(ids.values())), post_events.c.version == 1
                )
            )
        )
        published_here = set(
            await tx.conn.scalars(
                sa.select(post_targets.c.platform_post_id).where(
                    post_targets.c.account_id == event.account_id,
                    post_targets.c.platform_post_id.in_(list(ids)),
                )
            )
        )
        for post in event.posts:
            post_id = ids[post.platform_post_id]
            if post_id in held or post.platform_post_id in published_here:
                continue
            held.add(post_id)
            target = ev.PlannedTarget(
                id=_target_id(event.account_id, post.platform_post_id),
                account_id=event.account_id,
                platform=event.platform,
                account_username=event.account_username,
                tenant_id=event.tenant_id,
            )
            imported = ev.PostImported(
                at=post.published_at or event.occurred_at,
                post_id=post_id,
                org_id=event.org_id,
                mode=event.mode,
                import_id=event.import_id,
                content=post.content,
                target=target,
                platform_post_id=post.platform_post_id,
                platform_post_url=post.platform_post_url,
                imported_at=event.occurred_at,
            )
            await post_store.create(tx, imported)  # type: ignore[arg-type]
            added += 1
    return added


async def complete_import(ctx: Context, event: ImportTimelineRead) -> None:
    """`evt.import.completed`, once every page the publisher read is recorded here (a page that
    failed and comes back later is waited for)."""
    pages = sa.text("SELECT count(*) FROM inbox WHERE consumer = :consumer AND event_id LIKE :pages")
    async with ctx.uow.begin(handling=event.id, consumer=CONSUMER) as tx:
        if tx.seen_before:
            return
        held = await tx.conn.scalar(pages, {"consumer": CONSUMER, "pages": f"{event.import_id}:page:%"})
        if int(held or 0) < event.pages:
            raise PagesPending(event.import_id)
        fields = {f: getattr(event, f) for f in ImportCompleted.__struct_fields__}
        completed = ImportCompleted(**{**fields, "id": f"{event.import_id}:completed"})
        tx.emit("evt.import.completed", completed, msg_id=completed.id)
