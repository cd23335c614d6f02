"""/api/v1/social-accounts/{id}/imports and /api/v1/imports/{id}: backfills of an account's existing
posts, served by connect (which owns the jobs) and run by the account's platform publisher.

A second `POST` while an import of the account is queued or running starts nothing: it answers
that import with 200 (a new one answers 201), so a retried request never reads a timeline twice.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, FromQuery, JSONBody
from msgspec import Meta, Struct

from crier.contracts import imports as api
from crier.contracts.common import Platform
from crier.contracts.imports import ImportStatus
from crier.gateway.domain.schedule import parse_instant
from crier.gateway.entrypoints.http import connect_support as c
from crier.gateway.entrypoints.http.auth import principal_of, requires
from crier.gateway.entrypoints.http.errors import documented
from crier.gateway.entrypoints.http.state import gateway_of
from crier.kit.errors import Invalid, Problem, collect
from crier.kit.pages import checked_limit


class ImportCreate(Struct, kw_only=True, forbid_unknown_fields=True):
    """What to import; `{}` (or no body) imports the account's whole timeline."""

    since: (
        Annotated[
            str | int,
            Meta(description="Import only posts published at or after this (ISO 8601 with offset, or unix seconds)."),
        ]
        | None
    ) = None
    limit: (
        Annotated[int, Meta(description=f"Import at most this many posts, newest first (1–{api.MAX_IMPORT_LIMIT}).")]
        | None
    ) = None


def _d(text: str) -> Meta:
    return Meta(description=text)


class Import(Struct, kw_only=True):
    """An import of a social account's existing posts: its status, what it read so far, and why it
    failed if it did. Imported posts appear in `GET /posts` with `source: "imported"`."""

    id: Annotated[str, _d("The import's id.")]
    account_id: Annotated[str, _d("The social account whose posts are imported.")]
    platform: Annotated[Platform, _d("The account's platform.")]
    tenant_id: Annotated[str | None, _d("The account's tenant_id, copied when the import was started.")]
    status: Annotated[ImportStatus, _d("queued, running, completed or failed.")]
    since: Annotated[datetime | None, _d("Only posts published at or after this were asked for.")]
    limit: Annotated[int | None, _d("At most this many posts were asked for, newest first.")]
    pages: Annotated[int, _d("Timeline pages read so far.")]
    fetched: Annotated[int, _d("Posts read from the platform so far.")]
    imported: Annotated[int, _d("Posts new to Crier so far (the others were held already).")]
    skipped: Annotated[int, _d("Posts read that Crier held already (set when the import completes).")]
    error_code: Annotated[str | None, _d("Why the import failed (e.g. account_token_expired); null unless failed.")]
    error_message: Annotated[str | None, _d("The failure in words; null unless failed.")]
    created_at: Annotated[datetime, _d("When the import was asked for.")]
    started_at: Annotated[datetime | None, _d("When the platform's timeline was first read; null while queued.")]
    finished_at: Annotated[datetime | None, _d("When the import completed or failed.")]
    updated_at: Annotated[datetime, _d("When the import last changed.")]


def import_of(job: api.Import) -> Import:
    return Import(**msgspec.structs.asdict(job))


class ImportList(Struct, kw_only=True):
    """One page of an account's imports, newest first."""

    data: Annotated[list[Import], _d("The imports on this page.")]
    next_cursor: Annotated[str | None, _d("Pass as `cursor` to get the next page; null on the last page.")]


def _since(raw: str | int | None) -> datetime | None:
    if raw is None:
        return None
    if isinstance(raw, int) and not isinstance(raw, bool):
        try:
            return datetime.fromtimestamp(raw, UTC)
        except (OverflowError, OSError, ValueError):
            raise Problem("since", "invalid_timestamp", "is outside the range of instants Crier can hold") from None
    return parse_instant(str(raw), "since")


def _limit(raw: int | None) -> int | None:
    if raw is not None and not 1 <= raw <= api.MAX_IMPORT_LIMIT:
        raise Problem("limit", "out_of_range", f"must be between 1 and {api.MAX_IMPORT_LIMIT}")
    return raw


class ImportController(Controller):
    path = "/api/v1"
    tags = ["imports"]
    opt = requires("view")

    @post(
        "/social-accounts/{account_id:str}/imports",
        operation_id="startImport",
        opt=requires("connect"),
        status_code=201,
        responses={
            **documented(404, 409, 503),
            200: ResponseSpec(Import, description="An import of the account was already under way: that one."),
        },
        summary="Import the account's existing posts (201: started; 200: the import already under way)",
    )
    async def start(
        self, request: Request[Any, Any, Any], account_id: FromPath[str], data: JSONBody[ImportCreate | None] = None
    ) -> Response[Import]:
        gw, who = gateway_of(request), principal_of(request)
        body = data or ImportCreate()
        problems: list[Problem] = []
        since = collect(problems, lambda: _since(body.since))
        limit = collect(problems, lambda: _limit(body.limit))
        if problems:
            raise Invalid.of(problems)
        asked = api.ImportStart(org_id=who.org_id, mode=who.mode, account_id=account_id, since=since, limit=limit)
        accepted = await c.ask(gw, api.IMPORTS_START, asked, api.ImportAccepted)
        return Response(import_of(accepted.job), status_code=201 if accepted.created else 200)

    @get(
        "/social-accounts/{account_id:str}/imports",
        operation_id="listImports",
        responses=documented(404, 503),
        summary="The account's imports, newest first",
    )
    async def list_imports(
        self,
        request: Request[Any, Any, Any],
        account_id: FromPath[str],
        limit: FromQuery[int | None] = None,
        cursor: FromQuery[str | None] = None,
    ) -> ImportList:
        gw, who = gateway_of(request), principal_of(request)
        asked = api.ImportList(
            org_id=who.org_id, mode=who.mode, account_id=account_id, limit=checked_limit(limit), cursor=cursor
        )
        page = await c.ask(gw, api.IMPORTS_LIST, asked, api.ImportPage)
        return ImportList(data=[import_of(j) for j in page.data], next_cursor=page.next_cursor)

    @get(
        "/imports/{import_id:str}",
        operation_id="getImport",
        responses=documented(404, 503),
        summary="One import: its status, counts and error",
    )
    async def get_import(self, request: Request[Any, Any, Any], import_id: FromPath[str]) -> Import:
        gw, who = gateway_of(request), principal_of(request)
        ref = api.ImportRef(org_id=who.org_id, mode=who.mode, id=import_id)
        return import_of(await c.ask(gw, api.IMPORTS_GET, ref, api.Import))
