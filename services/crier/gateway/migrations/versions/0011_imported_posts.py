"""Imported posts: an index to find a target by the account and the platform's post id, so an import
page skips the posts Crier itself published to that account (they are on the timeline too).

Imported posts need no column of their own: a post's first event (`post.imported`) says where it
came from, and a projection rebuilt from the events comes out the same.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "post_targets_platform_post",
        "post_targets",
        ["account_id", "platform_post_id"],
        postgresql_where=sa.text("platform_post_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("post_targets_platform_post", table_name="post_targets")
