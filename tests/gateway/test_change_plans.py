"""A change's first read finds the messages it answers by the inbox's whole key, one id at a time,
whatever the age of the plan: a plan made while the inbox was a few rows (a fresh database, never
analyzed) must not read every row of the consumer once the inbox has grown. With `event_id =
ANY(:ids)` that depended on the server's costing of array conditions: PostgreSQL 15 planned it as
the consumer's rows filtered by id, PostgreSQL 18 as a key lookup. Read from PostgreSQL's generic
plans, never from timings."""

from __future__ import annotations

import re
import secrets

from crier.gateway.adapters import post_store
from crier.kit.direct_sql import DirectStatement
from tests.gateway.conftest import Gateway


async def _generic_plan(gateway: Gateway, statement: DirectStatement, params: dict[str, str]) -> str:
    """The plan a kept connection would reuse, made on copies of the tables holding a few rows."""
    schema = f"plan_{secrets.token_hex(4)}"
    values = ", ".join(params[name] for name in statement.names)
    async with gateway.services.database("gateway") as engine, engine.connect() as conn:
        # In the connection's transaction, rolled back at the end: the copies go with it.
        await conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
        for table in ("inbox", "post_events"):
            await conn.exec_driver_sql(
                f"CREATE TABLE {schema}.{table} (LIKE gateway.{table} INCLUDING ALL) WITH (autovacuum_enabled = off)"
            )
        await conn.exec_driver_sql(
            f"INSERT INTO {schema}.inbox (consumer, event_id)"
            " SELECT 'gateway', md5(n::text) FROM generate_series(1, 5) n"
        )
        await conn.exec_driver_sql(f"SET LOCAL search_path = {schema}")
        await conn.exec_driver_sql("SET LOCAL plan_cache_mode = force_generic_plan")
        await conn.exec_driver_sql(f"PREPARE seen AS {statement.sql}")
        result = await conn.exec_driver_sql(f"EXPLAIN EXECUTE seen({values})")
        plan = "\n".join(row[0] for row in result)
        await conn.exec_driver_sql("DEALLOCATE seen")
        return plan


async def test_the_messages_a_change_answers_are_looked_up_by_the_inbox_key(gateway: Gateway) -> None:
    params = {"consumer": "'gateway'", "ids": "ARRAY['a', 'b', 'c']", "post_id": "'p'", "since": "0"}
    plan = await _generic_plan(gateway, post_store._SEEN_AND_READ, params)
    lines = plan.splitlines()
    inbox = [i for i, line in enumerate(lines) if "on inbox" in line]
    assert inbox, plan
    for i in inbox:
        assert "Index" in lines[i] and "inbox_pkey" in lines[i], plan
        # One id a time, by the whole key: no plan of this can read the consumer's other rows.
        assert re.search(r"Index Cond: \(\(consumer = \$\d+\) AND \(event_id = i\.id\)\)", lines[i + 1]), plan
    assert not any("Filter" in line and "event_id" in line for line in lines), plan
