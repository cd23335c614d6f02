"""The look of the hosted connect pages: an organization's default (per mode, like everything a
key of one mode can change) and the display each connect session was made with, kept by the
session's id until a day past its expiry so its last page (success, denied, error) still wears it.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "org_settings",
        sa.Column("org_id", sa.Text, sa.ForeignKey("orgs.id"), primary_key=True),
        sa.Column("mode", sa.Text, primary_key=True),
        sa.Column("connect_display", JSONB),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "connect_session_displays",
        sa.Column("session_id", sa.Text, primary_key=True),
        sa.Column("org_id", sa.Text, nullable=False),
        sa.Column("mode", sa.Text, nullable=False),
        sa.Column("display", JSONB, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
    )
    op.create_index("connect_session_displays_expiry", "connect_session_displays", ["expires_at"])


def downgrade() -> None:
    op.drop_table("connect_session_displays")
    op.drop_table("org_settings")
