"""Posting slots (an organization's recurring wall-clock times, per mode, org-wide or one
account's) and the slot reservations of queued posts: one row per account and instant, so two
posts created at once can never take the same slot of the same account.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "posting_slots",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("org_id", sa.Text, nullable=False),
        sa.Column("mode", sa.Text, nullable=False),
        sa.Column("social_account_id", sa.Text),
        sa.Column("weekday", sa.SmallInteger),
        sa.Column("minute_of_day", sa.SmallInteger, nullable=False),
        sa.CheckConstraint("weekday BETWEEN 0 AND 6", name="posting_slots_weekday_check"),
        sa.CheckConstraint("minute_of_day BETWEEN 0 AND 1439", name="posting_slots_minute_check"),
    )
    # NULLS NOT DISTINCT (PostgreSQL 15+) would say this in one constraint; coalesce works on 13+.
    op.create_index(
        "posting_slots_unique",
        "posting_slots",
        [
            "org_id",
            "mode",
            sa.text("coalesce(social_account_id, '')"),
            sa.text("coalesce(weekday, -1)"),
            "minute_of_day",
        ],
        unique=True,
    )
    op.create_table(
        "slot_reservations",
        sa.Column("org_id", sa.Text, nullable=False),
        sa.Column("mode", sa.Text, nullable=False),
        sa.Column("account_id", sa.Text, nullable=False),
        sa.Column("scheduled_at", TS, nullable=False),
        sa.Column("post_id", sa.Text, nullable=False),
        # The slot the instant came from, as it was when the post took it.
        sa.Column("slot_account_id", sa.Text),
        sa.Column("weekday", sa.SmallInteger),
        sa.Column("minute_of_day", sa.SmallInteger, nullable=False),
        sa.Column("timezone", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("org_id", "account_id", "scheduled_at", name="slot_reservations_pkey"),
    )
    op.create_index("slot_reservations_by_post", "slot_reservations", ["post_id"])


def downgrade() -> None:
    op.drop_table("slot_reservations")
    op.drop_table("posting_slots")
