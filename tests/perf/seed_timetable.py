"""Scheduled posts written straight into the database, many at a time: copies of one template post
created through the API, in the scheduler's timetable and in the gateway's tables (posts, their
targets and their event streams), each copy with ids of its own and a due moment of its own.

Going through `POST /posts` would take an hour for a million targets and would measure the
gateway's ingest, not what follows; the copies are what the API would have written for the same post.
Copy n of post P is post `P_n`; copy n of target T is target `T_n` in both services' tables.
"""

from __future__ import annotations

from datetime import datetime

import asyncpg

# Every row of the template as JSON, the ids and moments replaced, read back as a row of the same
# table: nothing here names the other columns, so the copy follows the tables as they change.
_TIMETABLE = """
INSERT INTO scheduler.timetable
SELECT (jsonb_populate_record(NULL::scheduler.timetable, to_jsonb(t) || jsonb_build_object(
    'target_id', t.target_id || '_' || n, 'post_id', t.post_id || '_' || n, 'due_at', d.due,
    'command', t.command || jsonb_build_object(
        'id', t.target_id || '_' || n, 'target_id', t.target_id || '_' || n,
        'post_id', t.post_id || '_' || n, 'due_at', d.due)))).*
FROM scheduler.timetable t,
     LATERAL (SELECT n, $2::timestamptz + (n - $3) * $4::float8 * interval '1 second' AS due
              FROM generate_series($3::int, $5::int) n) d
WHERE t.post_id = $1
"""
_POSTS = """
INSERT INTO gateway.posts
SELECT (jsonb_populate_record(NULL::gateway.posts, to_jsonb(p) || jsonb_build_object(
    'id', p.id || '_' || n, 'scheduled_at', $2::timestamptz + (n - $3) * $4::float8 * interval '1 second'))).*
FROM gateway.posts p, generate_series($3::int, $5::int) n
WHERE p.id = $1
"""
_TARGETS = """
INSERT INTO gateway.post_targets
SELECT (jsonb_populate_record(NULL::gateway.post_targets, to_jsonb(t) || jsonb_build_object(
    'id', t.id || '_' || n, 'post_id', t.post_id || '_' || n))).*
FROM gateway.post_targets t, generate_series($2::int, $3::int) n
WHERE t.post_id = $1
"""
_EVENTS = """
INSERT INTO gateway.post_events
SELECT (jsonb_populate_record(NULL::gateway.post_events, to_jsonb(e) || jsonb_build_object(
    'post_id', e.post_id || '_' || n,
    'data', e.data || jsonb_build_object(
        'id', (e.data ->> 'id') || '_' || n, 'post_id', e.post_id || '_' || n,
        'scheduled_at', $2::timestamptz + (n - $3) * $4::float8 * interval '1 second',
        'targets', (SELECT jsonb_agg(s || jsonb_build_object('target_id', (s ->> 'target_id') || '_' || n))
                    FROM jsonb_array_elements(e.data -> 'targets') s))))).*
FROM gateway.post_events e, generate_series($3::int, $5::int) n
WHERE e.post_id = $1
"""
CHUNK = 20_000


async def copy_post(
    database_url: str, template: str, first: int, last: int, start: datetime, step_s: float, *, gateway: bool = True
) -> None:
    """Copies `first`..`last` of post `template`, copy n due at `start` + (n − first) × `step_s`."""
    conn = await asyncpg.connect(database_url)
    try:
        for lo in range(first, last + 1, CHUNK):
            hi = min(last, lo + CHUNK - 1)
            # Each chunk's moments continue from where the copy started, not from the chunk.
            chunk_start = start.timestamp() + (lo - first) * step_s
            begins = datetime.fromtimestamp(chunk_start, start.tzinfo)
            async with conn.transaction():
                await conn.execute(_TIMETABLE, template, begins, lo, step_s, hi)
                if gateway:
                    await conn.execute(_POSTS, template, begins, lo, step_s, hi)
                    await conn.execute(_TARGETS, template, lo, hi)
                    await conn.execute(_EVENTS, template, begins, lo, step_s, hi)
        await conn.execute("ANALYZE scheduler.timetable")
    finally:
        await conn.close()
