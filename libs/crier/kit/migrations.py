"""Run one service's alembic migrations into its own schema.

Each service keeps `migrations/` beside its code with a two-line `env.py` that calls
`run_env(schema)`; the version table lives in that schema too, so services migrate independently.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import sqlalchemy as sa
from alembic import command, context, op
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from crier.kit.db import async_url


def run_env(schema: str) -> None:
    url = context.config.get_main_option("sqlalchemy.url")
    assert url

    def _migrate(conn: Connection) -> None:
        conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        conn.execute(text(f'SET search_path TO "{schema}"'))
        context.configure(connection=conn, version_table_schema=schema, transactional_ddl=True)
        with context.begin_transaction():
            context.run_migrations()

    async def _run() -> None:
        engine = create_async_engine(async_url(url))
        async with engine.begin() as conn:
            # Two services migrating at once must not race on CREATE SCHEMA.
            await conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:s))"), {"s": f"migrate:{schema}"})
            await conn.run_sync(_migrate)
        await engine.dispose()

    asyncio.run(_run())


def upgrade(migrations_dir: Path, database_url: str, revision: str = "head") -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir))
    # Alembic's config is a ConfigParser, which reads "%" as interpolation: a percent-encoded
    # password ("p%40ss") would be refused. Doubled, it reads back as given.
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    command.upgrade(cfg, revision)


def create_outbox_and_inbox() -> None:
    """Called from each service's first migration: the outbox and the consumer inbox."""
    op.create_table(
        "outbox",
        sa.Column("seq", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("msg_id", sa.Text, nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("payload", sa.LargeBinary, nullable=False),
        sa.Column("headers", sa.Text, nullable=False, server_default="{}"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.create_table(
        "inbox",
        sa.Column("consumer", sa.Text, primary_key=True),
        sa.Column("event_id", sa.Text, primary_key=True),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
