"""Each timetable row remembers the version of the post it was written from, so an update of the
post moves or rewrites it only when it is newer (a redelivered or late update changes nothing).

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
    # Rows written so far come from creations: the post's first version.
    op.add_column("timetable", sa.Column("post_version", sa.Integer, nullable=False, server_default="1"))


def downgrade() -> None:
    op.drop_column("timetable", "post_version")
