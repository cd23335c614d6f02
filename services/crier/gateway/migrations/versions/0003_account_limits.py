"""The read model of accounts keeps what connect says each account's platform lets it post
(`AccountLimits`), so a new post is checked against it: a Mastodon instance's own status limit.

NULL is the platform's default, which accounts announced before this keep until connect says more.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("accounts", sa.Column("max_characters", sa.Integer))


def downgrade() -> None:
    op.drop_column("accounts", "max_characters")
