"""Targets, attempts, per-container progress, the sandbox's simulated posts, cancellations.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from crier.kit.migrations import create_outbox_and_inbox

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_now = sa.func.now()


def upgrade() -> None:
    create_outbox_and_inbox()
    op.create_table(
        "targets",
        sa.Column("target_id", sa.Text, primary_key=True),
        sa.Column("post_id", sa.Text, nullable=False),
        sa.Column("org_id", sa.Text, nullable=False),
        sa.Column("mode", sa.Text, nullable=False),
        sa.Column("platform", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("failed_attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("retry_at", sa.DateTime(timezone=True)),
        sa.Column("platform_post_id", sa.Text),
        sa.Column("url", sa.Text),
        sa.Column("error_code", sa.Text),
        sa.Column("error_message", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_now),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=_now),
    )
    op.create_index("targets_post", "targets", ["post_id"])
    op.create_table(
        "attempts",
        sa.Column("target_id", sa.Text, sa.ForeignKey("targets.target_id"), primary_key=True),
        sa.Column("number", sa.Integer, primary_key=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False, server_default=_now),
        # More than one when a publisher died mid-attempt and the message came back.
        sa.Column("deliveries", sa.Integer, nullable=False, server_default="1"),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("outcome", sa.Text),
        sa.Column("error_code", sa.Text),
        sa.Column("error_message", sa.Text),
        sa.Column("retry_in_s", sa.Float),
    )
    op.create_table(
        "container_progress",
        sa.Column("target_id", sa.Text, sa.ForeignKey("targets.target_id"), primary_key=True),
        sa.Column("container_index", sa.Integer, primary_key=True),
        sa.Column("platform_post_id", sa.Text, nullable=False),
        sa.Column("url", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_now),
    )
    op.create_table(
        "sandbox_posts",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("target_id", sa.Text, nullable=False),
        sa.Column("container_index", sa.Integer, nullable=False),
        sa.Column("parent_id", sa.Text),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_now),
        sa.UniqueConstraint("target_id", "container_index", name="sandbox_posts_once"),
    )
    op.create_table(
        "canceled_targets",
        sa.Column("target_id", sa.Text, primary_key=True),
        sa.Column("post_id", sa.Text, nullable=False),
        sa.Column("canceled_at", sa.DateTime(timezone=True), nullable=False, server_default=_now),
    )


def downgrade() -> None:
    for table in ("canceled_targets", "sandbox_posts", "container_progress", "attempts", "targets", "inbox", "outbox"):
        op.drop_table(table)
