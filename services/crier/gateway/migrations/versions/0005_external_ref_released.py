"""A canceled post gives its external_ref back: the reference is unique among the posts that were
never canceled, so "cancel, then create again with the same external_ref" makes a new post.

`canceled_at` is when the post as a whole was canceled; it stays set even if a target the cancel
raced with turns out published, so such a post never claims its reference back from a newer one.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("posts", sa.Column("canceled_at", sa.DateTime(timezone=True)))
    # The moment of the cancel that made each post canceled, as a rebuild from its events gives it.
    op.execute(
        """
        UPDATE posts SET canceled_at = (
            SELECT max(e.occurred_at) FROM post_events e WHERE e.post_id = posts.id AND e.type = 'post.canceled'
        )
        WHERE status = 'canceled'
        """
    )
    op.drop_constraint("posts_external_ref_key", "posts", type_="unique")
    op.create_index(
        "posts_external_ref_key",
        "posts",
        ["org_id", "mode", "external_ref"],
        unique=True,
        postgresql_where=sa.text("canceled_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("posts_external_ref_key", "posts")
    op.create_unique_constraint("posts_external_ref_key", "posts", ["org_id", "mode", "external_ref"])
    op.drop_column("posts", "canceled_at")
