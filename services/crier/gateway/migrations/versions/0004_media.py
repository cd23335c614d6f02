"""Media objects (uploaded or fetched by URL, their bytes in the media store) and which posts use
them, so media a pending post needs is never deleted and retention counts from its last post.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "media",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("org_id", sa.Text, nullable=False),
        sa.Column("mode", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("failure_reason", sa.Text),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("mime", sa.Text, nullable=False),
        sa.Column("bytes", sa.BigInteger, nullable=False),
        sa.Column("sha256", sa.Text, nullable=False),
        sa.Column("width", sa.Integer),
        sa.Column("height", sa.Integer),
        sa.Column("duration_s", sa.Float),
        sa.Column("frame_rate", sa.Float),
        sa.Column("codec", sa.Text),
        sa.Column("alt_text", sa.Text),
        sa.Column("store_key", sa.Text, nullable=False),
        sa.Column("source_url", sa.Text),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("last_used_at", TS),
        sa.CheckConstraint("status IN ('processing', 'ready', 'failed')", name="media_status_check"),
    )
    # The API lists an organization's media newest first; housekeeping scans by status and age.
    op.create_index("media_org_listing", "media", ["org_id", "mode", sa.text("created_at DESC"), sa.text("id DESC")])
    op.create_index("media_by_status", "media", ["status", "created_at"])
    op.create_table(
        "post_media",
        sa.Column("post_id", sa.Text, primary_key=True),
        sa.Column("media_id", sa.Text, primary_key=True),
    )
    op.create_index("post_media_by_media", "post_media", ["media_id"])
    # What Crier changed to fit a platform when it published a target (an image re-encoded).
    op.add_column("post_targets", sa.Column("notes", postgresql.ARRAY(sa.Text), nullable=False, server_default="{}"))


def downgrade() -> None:
    op.drop_column("post_targets", "notes")
    op.drop_table("post_media")
    op.drop_table("media")
