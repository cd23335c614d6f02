"""`GET /posts?search=`: the text of a post's containers as one indexable expression, and a trigram
index over it so a substring search (ILIKE '%…%') of three characters or more does not read every
post of the organization.

pg_trgm ships with PostgreSQL (the embedded server included) and is a trusted extension, so a
database owner may create it. Where it cannot be created, the search still works, unindexed: it
then reads the organization's posts (narrowed by the other filters) and is bounded by the search's
200 characters and the page size.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # IMMUTABLE (it reads nothing but its argument), so an index may be built on it.
    op.execute(
        """
        CREATE FUNCTION post_text(containers jsonb) RETURNS text
        LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
        AS $$
            SELECT string_agg(c ->> 'content', E'\\n' ORDER BY n)
            FROM jsonb_array_elements(containers) WITH ORDINALITY AS e(c, n)
        $$
        """
    )
    bind = op.get_bind()
    try:
        with bind.begin_nested():
            bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    except sa.exc.DBAPIError:
        return  # no permission: the search stays unindexed
    # The extension may live in another schema (made there earlier): name its operator class there.
    schema = bind.scalar(sa.text("SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'pg_trgm'"))
    op.execute(f"CREATE INDEX posts_text_trgm ON posts USING gin (post_text(containers) {schema}.gin_trgm_ops)")


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS posts_text_trgm")
    op.execute("DROP FUNCTION post_text(jsonb)")
