"""A new post's media: references resolved into what the gateway knows of each media object,
before the platforms' rules judge the post (so they judge the real sizes, types and durations), and
the post's use of its media recorded with the post."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import msgspec

from crier.contracts.common import Container
from crier.gateway.adapters import media_rows
from crier.gateway.domain.api_key import Principal
from crier.gateway.domain.media import media_ids, resolved
from crier.gateway.domain.validation import PostRequest, refused
from crier.gateway.handlers.context import Context
from crier.gateway.handlers.media import fetch_media
from crier.kit.errors import Invalid, Problem
from crier.kit.uow import Transaction


async def resolve(ctx: Context, who: Principal, request: PostRequest) -> PostRequest:
    """The request with every media reference carrying its media's facts. Media given by URL is
    fetched into a media object of the caller's first. `Invalid` names every reference that is
    unknown (`media_not_found`), not ready (`media_not_ready`) or gives both or neither of an id
    and a URL."""
    if not request.containers:
        return request
    containers = list(request.containers)
    problems = _shape_problems(containers, request.media_urls)
    if problems:
        raise refused(problems, {})
    for (i, j), url in request.media_urls.items():
        ref = containers[i].media[j]
        row = await fetch_media(ctx, who, url, alt_text=ref.alt_text, field=f"containers[{i}].media[{j}].url")
        media = [*containers[i].media]
        media[j] = msgspec.structs.replace(ref, id=row.id)
        containers[i] = msgspec.structs.replace(containers[i], media=media)
    async with ctx.uow.read() as conn:
        stored = await media_rows.stored(conn, who.org_id, who.mode, media_ids(containers))
    containers, problems = resolved(containers, stored)
    if problems:
        raise refused(problems, {})
    return dataclasses.replace(request, containers=containers, media_urls={})


def _shape_problems(containers: Sequence[Container], urls: dict[tuple[int, int], str]) -> list[Problem]:
    problems = []
    for i, container in enumerate(containers):
        for j, ref in enumerate(container.media):
            if bool(ref.id) == ((i, j) in urls):
                problems.append(
                    Problem(f"containers[{i}].media[{j}]", "media_id_or_url", "give exactly one of id or url")
                )
    return problems


async def replace_use(ctx: Context, tx: Transaction, who: Principal, post_id: str, containers: list[Container]) -> None:
    """An edited post uses the media its new containers name, and no other."""
    await media_rows.forget_use(tx.conn, post_id)
    await record_use(ctx, tx, who, post_id, containers)


async def record_use(ctx: Context, tx: Transaction, who: Principal, post_id: str, containers: list[Container]) -> None:
    """In the post's own transaction: a media object deleted since the post was checked refuses
    the post rather than leave it naming bytes that are gone."""
    ids = media_ids(containers)
    gone = await media_rows.record_use(tx.conn, who.org_id, who.mode, post_id, ids, ctx.now())
    if gone:
        raise Invalid(
            "validation_error",
            "some media was deleted meanwhile",
            {"fields": [Problem("containers", "media_not_found", f"no media {m}").as_detail() for m in gone]},
        )
