"""Keep each timetable row's trace context, so firing continues the trace of the request.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("timetable", sa.Column("trace", sa.Text, nullable=False, server_default="{}"))


def downgrade() -> None:
    op.drop_column("timetable", "trace")
