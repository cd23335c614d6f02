"""Publish budgets: the posts each account and app spent, shared by every replica of a publisher.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "budget_spends",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("spent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("target_id", sa.Text, nullable=False),
    )
    op.create_index("budget_spends_key_spent_at", "budget_spends", ["key", "spent_at"])


def downgrade() -> None:
    op.drop_table("budget_spends")
