"""The console's live view reads one organization's figures every few seconds: two partial indexes
keep each read to what is in flight or recent, not the whole history.

- posts_in_flight: an organization's posts that roll up as queued or publishing, the only ones
  with a target waiting for a publisher (queued, publishing, retrying).
- post_events_outcomes: delivery outcomes by when they happened, so the last minute's are read
  without scanning the event store.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "posts_in_flight",
        "posts",
        ["org_id", "mode"],
        postgresql_where=sa.text("status IN ('queued', 'publishing')"),
    )
    op.create_index(
        "post_events_outcomes",
        "post_events",
        ["occurred_at"],
        postgresql_where=sa.text(
            "type IN ('target.published', 'target.attempt_failed', 'target.failed', 'target.dead_lettered')"
        ),
    )


def downgrade() -> None:
    op.drop_index("post_events_outcomes", table_name="post_events")
    op.drop_index("posts_in_flight", table_name="posts")
