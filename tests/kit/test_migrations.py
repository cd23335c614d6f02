"""`kit.migrations.upgrade` takes any database URL a deployment may give."""

from __future__ import annotations

import asyncio

import asyncpg
from sqlalchemy.engine import make_url

from crier.cli.services import migrations_dir
from crier.kit.migrations import upgrade
from tests.support.stack import Infra


def test_a_url_with_a_percent_encoded_password_migrates(infra: Infra) -> None:
    """A password with "@" or "%" in it is percent-encoded in the URL; the test servers trust
    every local connection, so any password is accepted."""
    url = make_url(infra.create_database()).set(password="p@ss%word").render_as_string(hide_password=False)
    assert "p%40ss%25word" in url
    upgrade(migrations_dir("scheduler"), url)

    async def tables() -> list[str]:
        conn = await asyncpg.connect(url)
        try:
            rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'scheduler'")
            return [r[0] for r in rows]
        finally:
            await conn.close()

    assert asyncio.run(tables())
