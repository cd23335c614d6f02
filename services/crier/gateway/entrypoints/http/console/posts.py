"""Posts and their targets: the filtered list, and one post with its timeline from its events."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response, get
from litestar.params import FromPath, FromQuery

from crier.gateway.entrypoints.http.console.filters import CHOICES, PostForm
from crier.gateway.entrypoints.http.console.pages import render
from crier.gateway.entrypoints.http.console.session import current
from crier.gateway.entrypoints.http.state import gateway_of
from crier.gateway.handlers import posts as uc
from crier.kit.errors import Invalid

PAGE_SIZE = 25


@get("/posts", name="console_posts")
async def list_posts(request: Request[Any, Any, Any], cursor: FromQuery[str | None] = None) -> Response[str]:
    form = PostForm.of(request.query_params)
    rows, next_cursor, problems = await find_posts(request, form, cursor)
    return render(
        request,
        "posts.html",
        400 if problems else 200,
        form=form,
        rows=rows,
        next_link=form.link(cursor=next_cursor) if next_cursor else None,
        problems=problems,
        **CHOICES,
    )


async def find_posts(
    request: Request[Any, Any, Any], form: PostForm, cursor: str | None, limit: int = PAGE_SIZE
) -> tuple[list[Any], str | None, list[dict[str, str]]]:
    """A page of posts through the API's own use case; a filter it refuses comes back as problems."""
    try:
        page = await uc.list_posts(
            gateway_of(request).ctx, current(request).principal, form.query(), limit=limit, cursor=cursor
        )
    except Invalid as refused:
        return [], None, list(refused.details.get("fields", [])) or [{"field": "", "message": refused.message}]
    return page.rows, page.next_cursor, []


@get("/posts/{post_id:str}", name="console_post")
async def show_post(request: Request[Any, Any, Any], post_id: FromPath[str]) -> Response[str]:
    record, history = await uc.post_history(gateway_of(request).ctx, current(request).principal, post_id)
    targets = {t.id: t for t in record.targets}
    return render(request, "post.html", record=record, timeline=[_entry(e, targets) for e in history])


def _entry(event: Any, targets: dict[str, Any]) -> dict[str, Any]:
    data = msgspec.to_builtins(event)
    target = targets.get(data.get("target_id", ""))
    error = f"{data['error_code']}: {data['error_message']}" if data.get("error_code") else None
    return {
        "at": event.at,
        "type": data["type"],
        "target": f"{target.platform} @{target.account_username}" if target is not None else None,
        "attempt": data.get("attempt"),
        "redrive": data.get("redrive"),
        "error": error,
        "url": data.get("platform_post_url"),
        "targets": len(data.get("targets", [])) or len(data.get("target_ids", [])) or None,
    }
