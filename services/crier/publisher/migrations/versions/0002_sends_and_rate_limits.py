"""Live publishing: a marker for each container call in flight, attempt numbers apart from the
failures that count, and when rate limiting began.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "container_sends",
        sa.Column("target_id", sa.Text, sa.ForeignKey("targets.target_id"), primary_key=True),
        sa.Column("container_index", sa.Integer, primary_key=True),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.add_column("targets", sa.Column("last_attempt", sa.Integer, nullable=False, server_default="0"))
    op.add_column("targets", sa.Column("rate_limited_since", sa.DateTime(timezone=True)))
    # Until now every attempt counted, so the attempts table numbers them already.
    op.execute(
        "UPDATE targets SET last_attempt = a.n FROM "
        "(SELECT target_id, max(number) AS n FROM attempts GROUP BY target_id) a "
        "WHERE a.target_id = targets.target_id"
    )


def downgrade() -> None:
    op.drop_column("targets", "rate_limited_since")
    op.drop_column("targets", "last_attempt")
    op.drop_table("container_sends")
