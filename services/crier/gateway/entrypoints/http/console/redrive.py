"""Failed and dead targets, and sending them out again: one, a selection, or every one a filter
finds; always through a confirmation page that lists exactly what will be redriven.

The list reads posts whose roll-up is `failed` (nothing published) or `partial` (the rest failed or
dead) through the API's own post query, and shows their failed and dead targets. A redrive is the
API's retry use case, post by post, so the post's history, the scheduler and the publisher see it
as any retry.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromQuery

from crier.gateway.entrypoints.http.console.filters import CHOICES, PostForm
from crier.gateway.entrypoints.http.console.pages import render
from crier.gateway.entrypoints.http.console.posts import find_posts
from crier.gateway.entrypoints.http.console.session import Operator, current
from crier.gateway.entrypoints.http.state import gateway_of
from crier.gateway.handlers import posts as uc
from crier.kit.errors import Conflict, NotFound
from crier.kit.log import get as get_log

log = get_log("gateway.console")

REDRIVABLE = frozenset({"failed", "dead"})
# Post roll-ups whose targets are all settled and some failed or dead.
STATUSES = ("failed", "partial")
# A redrive by filter takes at most this many targets at once; the page says when there are more.
FILTER_CAP = 500


def _failed_form(values: Mapping[str, Any]) -> PostForm:
    """The failed list's filter: one of its two roll-ups (failed by default), no text search."""
    form = PostForm.of(values)
    return replace(form, status=form.status if form.status in STATUSES else "failed", search="")


def _failed_targets(record: Any, form: PostForm) -> list[Any]:
    return [
        t
        for t in record.targets
        if t.status in REDRIVABLE
        and (not form.platform or t.platform == form.platform)
        and (not form.tenant_id or t.tenant_id == form.tenant_id)
    ]


@get("/failed", name="console_failed")
async def failed_targets(request: Request[Any, Any, Any], cursor: FromQuery[str | None] = None) -> Response[str]:
    form = _failed_form(request.query_params)
    records, next_cursor, problems = await find_posts(request, form, cursor)
    rows = [(r, targets) for r in records if (targets := _failed_targets(r, form))]
    return render(
        request,
        "failed.html",
        400 if problems else 200,
        form=form,
        rows=rows,
        problems=problems,
        next_link=form.link(cursor=next_cursor) if next_cursor else None,
        tabs=STATUSES,
        **CHOICES,
    )


@post("/redrive/confirm", name="console_redrive_confirm", status_code=200)
async def confirm_redrive(request: Request[Any, Any, Any]) -> Response[str]:
    """Nothing changes here: the page lists what the confirmation will redrive."""
    form_data = await request.form()
    if form_data.get("scope") == "filter":
        chosen, more = await _matching(request, _failed_form(form_data))
    else:
        chosen, more = await _named(request, _pairs(form_data.getall("target", []))), False
    return render(request, "confirm.html", chosen=chosen, more=more, cap=FILTER_CAP)


@post("/redrive", name="console_redrive", status_code=200)
async def redrive(request: Request[Any, Any, Any]) -> Response[str]:
    operator = current(request)
    if not operator.principal.can("publish"):
        return render(request, "error.html", 403, title="Not allowed", message="This key lacks the 'publish' scope.")
    by_post: dict[str, list[str]] = {}
    for post_id, target_id in _pairs((await request.form()).getall("target", [])):
        by_post.setdefault(post_id, []).append(target_id)
    done, refused = await _redrive(request, operator, by_post)
    # Who redrove what: the console's one bulk action, worth an audit line.
    log.info(
        "console.redriven",
        org_id=operator.org_id,
        mode=operator.mode,
        key_id=operator.key_id,
        targets=sum(len(targets) for _, targets in done),
        refused_posts=len(refused),
    )
    return render(request, "redriven.html", done=done, refused=refused)


async def _redrive(
    request: Request[Any, Any, Any], operator: Operator, by_post: dict[str, list[str]]
) -> tuple[list[Any], list[tuple[str, str]]]:
    ctx, who = gateway_of(request).ctx, operator.principal
    done, refused = [], []
    for post_id, target_ids in by_post.items():
        try:
            record = await uc.retry_targets(ctx, who, post_id, target_ids)
        except (Conflict, NotFound) as exc:
            # Another operator or the API redrove it first, or it is not this organization's.
            refused.append((post_id, exc.message))
            continue
        done.append((record, [t for t in record.targets if t.id in target_ids]))
    return done, refused


def _pairs(values: Iterable[Any]) -> list[tuple[str, str]]:
    """`post_id/target_id` form values, each once, in the order sent."""
    pairs = [tuple(str(v).split("/", 1)) for v in values if "/" in str(v)]
    return list(dict.fromkeys((p, t) for p, t in pairs if p and t))


async def _named(request: Request[Any, Any, Any], pairs: list[tuple[str, str]]) -> list[tuple[Any, Any]]:
    """The named targets that are this organization's and still failed or dead."""
    ctx, who = gateway_of(request).ctx, current(request).principal
    chosen = []
    for post_id in dict.fromkeys(p for p, _ in pairs):
        try:
            record = await uc.get_post(ctx, who, post_id)
        except NotFound:
            continue
        wanted = {t for p, t in pairs if p == post_id}
        chosen += [(record, t) for t in record.targets if t.id in wanted and t.status in REDRIVABLE]
    return chosen


async def _matching(request: Request[Any, Any, Any], form: PostForm) -> tuple[list[tuple[Any, Any]], bool]:
    """Every failed or dead target the filter finds, up to the cap; True when there are more."""
    chosen: list[tuple[Any, Any]] = []
    cursor: str | None = None
    while True:
        records, cursor, problems = await find_posts(request, form, cursor, limit=100)
        for record in records:
            chosen += [(record, t) for t in _failed_targets(record, form)]
        if len(chosen) > FILTER_CAP:
            return chosen[:FILTER_CAP], True
        if problems or cursor is None:
            return chosen, False
