"""OAuth states, pending page-selection sessions and hosted connect sessions.

Each is found by the digest of a secret the browser holds, and each single-use secret is spent
with one conditional UPDATE, so two requests racing with the same secret cannot both win.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from crier.connect.adapters.tables import connect_sessions as cs
from crier.connect.adapters.tables import oauth_states as st
from crier.connect.adapters.tables import pending_sessions as ps
from crier.connect.domain.flows import OPEN_SESSION_STATES, SESSION_FAILED, SESSION_PENDING
from crier.contracts.connect import ConnectSession

# OAuth states


async def add_state(conn: AsyncConnection, **values: Any) -> None:
    await conn.execute(st.insert().values(**values))


async def state(conn: AsyncConnection, state_hash: str) -> Any | None:
    return (await conn.execute(sa.select(st).where(st.c.state_hash == state_hash))).first()


async def spend_state(conn: AsyncConnection, state_hash: str, now: datetime) -> Any | None:
    """The state row if this call is the one that used it; None if unknown or already used."""
    stmt = (
        st.update()
        .where(st.c.state_hash == state_hash, st.c.consumed_at.is_(None))
        .values(consumed_at=now)
        .returning(*st.c)
    )
    return (await conn.execute(stmt)).first()


async def grant_sandbox_code(conn: AsyncConnection, state_hash: str, code_hash: str, now: datetime) -> bool:
    """Record the code Crier's consent page issued for a live (unused, unexpired) test-mode state."""
    stmt = (
        st.update()
        .where(
            st.c.state_hash == state_hash,
            st.c.consumed_at.is_(None),
            st.c.expires_at > now,
            st.c.mode == "test",
            st.c.sandbox_code_hash.is_(None),
        )
        .values(sandbox_code_hash=code_hash)
    )
    return (await conn.execute(stmt)).rowcount == 1


async def purge_states(conn: AsyncConnection, before: datetime) -> int:
    return (await conn.execute(st.delete().where(st.c.expires_at < before))).rowcount


# Pending page-selection sessions


async def add_pending(conn: AsyncConnection, **values: Any) -> None:
    await conn.execute(ps.insert().values(**values))


async def pending(conn: AsyncConnection, token_hash: str, now: datetime, *, lock: bool = False) -> Any | None:
    """A usable pending session: not spent, not expired."""
    query = sa.select(ps).where(ps.c.token_hash == token_hash, ps.c.consumed_at.is_(None), ps.c.expires_at > now)
    return (await conn.execute(query.with_for_update() if lock else query)).first()


async def spend_pending(conn: AsyncConnection, token_hash: str, now: datetime) -> None:
    """Spent and stripped of the sealed grant, which is no longer needed by anyone."""
    await conn.execute(ps.update().where(ps.c.token_hash == token_hash).values(consumed_at=now, grant_enc=""))


async def purge_pending(conn: AsyncConnection, before: datetime) -> int:
    return (await conn.execute(ps.delete().where(ps.c.expires_at < before))).rowcount


# Hosted connect sessions


def public_session(row: Any, status: str, connect_url: str | None = None) -> ConnectSession:
    return ConnectSession(
        id=row.id,
        status=status,
        platform=row.platform,
        tenant_id=row.tenant_id,
        redirect_uri=row.redirect_uri,
        account_ids=list(row.account_ids),
        error_code=row.error_code,
        expires_at=row.expires_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
        connect_url=connect_url,
    )


async def add_session(conn: AsyncConnection, **values: Any) -> Any:
    return (await conn.execute(cs.insert().values(**values).returning(*cs.c))).one()


async def session(conn: AsyncConnection, org_id: str, mode: str, session_id: str) -> Any | None:
    query = sa.select(cs).where(cs.c.id == session_id, cs.c.org_id == org_id, cs.c.mode == mode)
    return (await conn.execute(query)).first()


async def session_by_id(conn: AsyncConnection, session_id: str | None) -> Any | None:
    if session_id is None:
        return None
    return (await conn.execute(sa.select(cs).where(cs.c.id == session_id))).first()


async def session_by_token(conn: AsyncConnection, token_hash: str) -> Any | None:
    return (await conn.execute(sa.select(cs).where(cs.c.token_hash == token_hash))).first()


async def settle_session(
    conn: AsyncConnection,
    session_id: str | None,
    status: str,
    now: datetime,
    *,
    error_code: str | None = None,
    account_ids: list[str] | None = None,
) -> None:
    """Move an open session to its next state; a finished session keeps its first outcome."""
    if session_id is None:
        return
    values: dict[str, Any] = {"status": status, "error_code": error_code, "updated_at": now}
    if account_ids is not None:
        values["account_ids"] = account_ids
    await conn.execute(cs.update().where(cs.c.id == session_id, cs.c.status.in_(OPEN_SESSION_STATES)).values(values))


async def reopen_session(conn: AsyncConnection, session_id: str, now: datetime) -> bool:
    """A failed session back to pending for another attempt, while it has not expired. True when
    this call reopened it."""
    result = await conn.execute(
        cs.update()
        .where(cs.c.id == session_id, cs.c.status == SESSION_FAILED, cs.c.expires_at > now)
        .values(status=SESSION_PENDING, error_code=None, updated_at=now)
    )
    return result.rowcount > 0
