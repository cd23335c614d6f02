"""Operator actions, called by the `crier` CLI and by test fixtures: plain synchronous functions."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine

from crier.gateway.adapters import orgs, post_store
from crier.gateway.domain.api_key import SCOPES, looks_like_key
from crier.gateway.handlers.keys import checked_mode, checked_scopes
from crier.gateway.settings import SCHEMA
from crier.kit.db import create_engine

T = TypeVar("T")


def create_org(database_url: str, name: str) -> dict[str, Any]:
    async def go(engine: AsyncEngine) -> dict[str, Any]:
        async with engine.begin() as conn:
            row = await orgs.create_org(conn, name)
        return {"id": row["id"], "name": row["name"]}

    return _run(database_url, go)


def create_api_key(
    database_url: str, *, org: str, name: str, mode: str, scopes: Sequence[str] | None
) -> dict[str, Any]:
    """`org` is an id or a name; `scopes` None grants every scope. The secret is in "key", only here."""

    async def go(engine: AsyncEngine) -> dict[str, Any]:
        async with engine.begin() as conn:
            found = await orgs.find_org(conn, org)
            row, secret = await orgs.create_key(
                conn, found["id"], name=name, mode=checked_mode(mode), scopes=checked_scopes(scopes)
            )
        return {k: row[k] for k in ("id", "org_id", "name", "mode", "scopes", "prefix", "created_at")} | {"key": secret}

    return _run(database_url, go)


def bootstrap_admin_key(database_url: str, path: str | os.PathLike[str]) -> str:
    """The key `crier up` prints: reuse the one in `path` while it works, otherwise make a new one."""
    target = Path(path)

    async def go(engine: AsyncEngine) -> str:
        if target.exists():
            secret = target.read_text().strip()
            if looks_like_key(secret):
                async with engine.connect() as conn:
                    if await orgs.authenticate(conn, secret) is not None:
                        return secret
        async with engine.begin() as conn:
            org = await orgs.oldest_org(conn) or await orgs.create_org(conn, "default")
            _, secret = await orgs.create_key(conn, org["id"], name="bootstrap admin", mode="live", scopes=list(SCOPES))
        _write_secret(target, secret)
        return secret

    return _run(database_url, go)


def rebuild_projections(database_url: str) -> int:
    """Replay every post's events into fresh projections; returns how many posts were rebuilt."""

    async def go(engine: AsyncEngine) -> int:
        async with engine.begin() as conn:
            return await post_store.rebuild(conn)

    return _run(database_url, go)


def _write_secret(path: Path, secret: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secret + "\n")
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def _run(database_url: str, work: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    async def main() -> T:
        engine = create_engine(database_url, SCHEMA, pool_size=2)
        try:
            return await work(engine)
        finally:
            await engine.dispose()

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(main())
    # Called from inside an event loop (an async test): run on a thread with a loop of its own.
    result: list[T] = []
    errors: list[BaseException] = []

    def in_thread() -> None:
        try:
            result.append(asyncio.run(main()))
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=in_thread)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return result[0]
