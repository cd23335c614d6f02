"""Media: what an adapter keeps between deliveries while a container is under way, when a target
began waiting on a platform's processing, and the media of the sandbox's posts.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "container_stages",
        sa.Column("target_id", sa.Text, sa.ForeignKey("targets.target_id"), primary_key=True),
        sa.Column("container_index", sa.Integer, primary_key=True),
        sa.Column("state", postgresql.JSONB, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.add_column(
        "container_progress",
        sa.Column("notes", postgresql.ARRAY(sa.Text), nullable=False, server_default="{}"),
    )
    op.add_column("targets", sa.Column("processing_since", sa.DateTime(timezone=True)))
    op.add_column("targets", sa.Column("waiting_on_processing", sa.Boolean, nullable=False, server_default="false"))
    op.add_column(
        "sandbox_posts",
        sa.Column("media", postgresql.ARRAY(sa.Text), nullable=False, server_default="{}"),
    )


def downgrade() -> None:
    op.drop_column("sandbox_posts", "media")
    op.drop_column("targets", "waiting_on_processing")
    op.drop_column("targets", "processing_since")
    op.drop_table("container_stages")
    op.drop_column("container_progress", "notes")
