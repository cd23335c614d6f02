"""What a platform lets each account post, where accounts of one platform differ: a Mastodon
instance's own status limit, read when the account connects.

NULL is the platform's default, which is what every account connected before this holds until it
is reconnected or its health is checked live.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("social_accounts", sa.Column("max_characters", sa.Integer))


def downgrade() -> None:
    op.drop_column("social_accounts", "max_characters")
