"""The timetable of targets waiting for their moment, and cancellations.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from crier.kit.migrations import create_outbox_and_inbox

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_now = sa.func.now()


def upgrade() -> None:
    create_outbox_and_inbox()
    op.create_table(
        "timetable",
        sa.Column("target_id", sa.Text, primary_key=True),
        sa.Column("post_id", sa.Text, nullable=False),
        sa.Column("org_id", sa.Text, nullable=False),
        sa.Column("mode", sa.Text, nullable=False),
        sa.Column("platform", sa.Text, nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        # The PublishTarget command, ready to send.
        sa.Column("command", JSONB, nullable=False),
        sa.Column("fired_at", sa.DateTime(timezone=True)),
        sa.Column("canceled", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_now),
    )
    # The alarm only ever looks at rows still waiting; keep that set small and ordered.
    op.create_index(
        "timetable_waiting",
        "timetable",
        ["due_at"],
        postgresql_where=sa.text("fired_at IS NULL AND NOT canceled"),
    )
    op.create_index("timetable_post", "timetable", ["post_id"])
    # A cancellation may be handled before the creation it cancels (a redelivered event): it is
    # remembered here so the late creation is written already canceled.
    op.create_table(
        "cancellations",
        sa.Column("target_id", sa.Text, primary_key=True),
        sa.Column("post_id", sa.Text, nullable=False),
        sa.Column("canceled_at", sa.DateTime(timezone=True), nullable=False, server_default=_now),
    )


def downgrade() -> None:
    for table in ("cancellations", "timetable", "inbox", "outbox"):
        op.drop_table(table)
