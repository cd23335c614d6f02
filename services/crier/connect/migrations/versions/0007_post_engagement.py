"""Post analytics: each reading of a published target's engagement on its platform.

A reading serves as the short cache of `GET /posts/{id}/analytics` (any replica answers from it
while it is fresh) and, kept, as the target's engagement over its first days. `slot` is set on the
periodic captures only: the capture of one target for one period is unique, so two sweeps that
overlap capture it once.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "post_engagement",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("org_id", sa.Text, nullable=False),
        sa.Column("mode", sa.Text, nullable=False),
        sa.Column("post_id", sa.Text, nullable=False),
        sa.Column("target_id", sa.Text, nullable=False),
        sa.Column("account_id", sa.Text, nullable=False),
        sa.Column("platform", sa.Text, nullable=False),
        sa.Column("platform_post_id", sa.Text, nullable=False),
        sa.Column("likes", sa.BigInteger),
        sa.Column("reposts", sa.BigInteger),
        sa.Column("replies", sa.BigInteger),
        sa.Column("impressions", sa.BigInteger),
        sa.Column("raw", JSONB, nullable=False, server_default="{}"),
        sa.Column("slot", sa.BigInteger),
        sa.Column("captured_at", TS, nullable=False),
    )
    op.create_index("ix_post_engagement_target", "post_engagement", ["target_id", "captured_at"])
    op.create_index("ix_post_engagement_captured_at", "post_engagement", ["captured_at"])
    op.create_index(
        "uq_post_engagement_slot",
        "post_engagement",
        ["target_id", "slot"],
        unique=True,
        postgresql_where=sa.text("slot IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("uq_post_engagement_slot", "post_engagement")
    op.drop_index("ix_post_engagement_captured_at", "post_engagement")
    op.drop_index("ix_post_engagement_target", "post_engagement")
    op.drop_table("post_engagement")
