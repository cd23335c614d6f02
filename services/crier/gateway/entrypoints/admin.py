"""Operator actions, called by the `crier` CLI and by test fixtures: plain synchronous functions."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from crier.contracts.common import MODES, one_of
from crier.gateway.domain.api_key import Principal
from crier.gateway.handlers import keys, orgs, posts, projections, rate_limits
from crier.gateway.handlers.context import Context
from crier.gateway.settings import SCHEMA
from crier.kit.db import create_engine
from crier.kit.sync import run_sync
from crier.kit.uow import UnitOfWork

T = TypeVar("T")


def create_org(database_url: str, name: str) -> dict[str, Any]:
    row = _run(database_url, lambda ctx: orgs.create_org(ctx, name))
    return {"id": row["id"], "name": row["name"]}


def create_api_key(
    database_url: str, *, org: str, name: str, mode: str, scopes: Sequence[str] | None
) -> dict[str, Any]:
    """`org` is an id or a name; `scopes` None grants every scope. The secret is in "key", only here."""
    row, secret = _run(
        database_url, lambda ctx: keys.issue_operator_key(ctx, org=org, name=name, mode=mode, scopes=scopes)
    )
    return {k: row[k] for k in ("id", "org_id", "name", "mode", "scopes", "prefix", "created_at")} | {"key": secret}


def set_rate_limit(database_url: str, key_id: str, per_minute: int | None) -> None:
    """A key's own requests-per-minute limit; None: the installation's default again."""
    _run(database_url, lambda ctx: rate_limits.set_key_limit(ctx, key_id, per_minute))


def bootstrap_admin_key(database_url: str, path: str | os.PathLike[str]) -> str:
    """The key `crier up` prints: reuse the one in `path` while it works, otherwise make a new one."""
    target = Path(path)
    current = target.read_text().strip() if target.exists() else None
    secret = _run(database_url, lambda ctx: keys.bootstrap_admin_key(ctx, current))
    if secret != current:
        _write_secret(target, secret)
    return secret


def rebuild_projections(database_url: str) -> int:
    """Replay every post's events into fresh projections; returns how many posts were rebuilt."""
    return _run(database_url, projections.rebuild_projections)


def target_states(database_url: str, target_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Where each known target stands: its status, redrive generation and last error, by id."""
    rows = _run(database_url, lambda ctx: posts.find_targets(ctx, target_ids))
    return {
        r.id: {
            "post_id": r.post_id,
            "status": r.status,
            "redrive": r.redrive,
            "error_code": r.error_code,
            "error_message": r.error_message,
        }
        for r in rows
    }


def retry_target(database_url: str, *, org_id: str, mode: str, post_id: str, target_id: str) -> dict[str, Any]:
    """Redrives one failed or dead target through the use case behind the API's retry, so the post,
    the scheduler and the publisher all see it. Raises the use case's Conflict or NotFound."""
    known_mode = one_of(mode, MODES)
    if known_mode is None:
        raise ValueError(f"unknown mode {mode!r}")
    operator = Principal(org_id=org_id, mode=known_mode, key_id="operator", scopes=frozenset({"publish"}))
    record = _run(database_url, lambda ctx: posts.retry_targets(ctx, operator, post_id, [target_id]))
    [target] = [t for t in record.targets if t.id == target_id]
    return {"post_id": post_id, "target_id": target_id, "status": target.status, "redrive": target.redrive}


def _write_secret(path: Path, secret: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secret + "\n")
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def _run(database_url: str, work: Callable[[Context], Awaitable[T]]) -> T:
    """`work` on a context of its own: a small pool, closed before returning."""

    async def main() -> T:
        engine = create_engine(database_url, SCHEMA, pool_size=2)
        try:
            # No relay runs here: what an operator's redrive announces waits in the outbox for the
            # running gateway's relay, which looks at it at least once a second.
            return await work(Context(uow=UnitOfWork(engine, consumer="gateway")))
        finally:
            await engine.dispose()

    return run_sync(main)
