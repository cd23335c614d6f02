"""Per-key API rate limits: one counter row per key, shared by every gateway replica, and the
operator's per-key limits.

The counters are UNLOGGED: every authenticated request updates one, and an unlogged table writes
no WAL, so the update commits without waiting on a disk flush. What that costs is acceptable for a
counter: after a crash of the database (or on a failover) the table comes back empty, and keys
start a fresh window.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "rate_limit_counters",
        sa.Column("key_id", sa.Text, primary_key=True),
        sa.Column("window_start", TS, nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        prefixes=["UNLOGGED"],
    )
    op.create_table(
        "rate_limit_overrides",
        sa.Column("key_id", sa.Text, sa.ForeignKey("api_keys.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("per_minute", sa.Integer, sa.CheckConstraint("per_minute > 0"), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("rate_limit_overrides")
    op.drop_table("rate_limit_counters")
