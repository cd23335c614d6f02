"""Each stored event keeps the W3C trace context of the internal event it stands for, so its
deliveries' attempts, made later from the queue, continue the post's trace.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("events", sa.Column("traceparent", sa.Text))


def downgrade() -> None:
    op.drop_column("events", "traceparent")
