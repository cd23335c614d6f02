"""Redrive: each target's projection carries the generation of delivery it is in.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Every target stored so far is in its first generation; events without the field say 0 too.
    op.add_column("post_targets", sa.Column("redrive", sa.Integer, nullable=False, server_default="0"))


def downgrade() -> None:
    op.drop_column("post_targets", "redrive")
