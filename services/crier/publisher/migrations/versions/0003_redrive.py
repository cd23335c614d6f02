"""Redrive: a target's generation of delivery, and attempts numbered within their generation.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Everything delivered so far is generation 0.
    op.add_column("targets", sa.Column("redrive", sa.Integer, nullable=False, server_default="0"))
    op.add_column("attempts", sa.Column("redrive", sa.Integer, nullable=False, server_default="0"))
    # A redriven target counts its attempts from 1 again: the number alone no longer names one.
    op.drop_constraint("attempts_pkey", "attempts", type_="primary")
    op.create_primary_key("attempts_pkey", "attempts", ["target_id", "redrive", "number"])


def downgrade() -> None:
    op.execute("DELETE FROM attempts WHERE redrive > 0")
    op.drop_constraint("attempts_pkey", "attempts", type_="primary")
    op.create_primary_key("attempts_pkey", "attempts", ["target_id", "number"])
    op.drop_column("attempts", "redrive")
    op.drop_column("targets", "redrive")
