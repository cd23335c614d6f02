"""An Idempotency-Key is held by a lease its request renews while it runs, instead of for five
minutes from its claim: a key whose request died frees once the lease runs out.

`holder` names the claim, so only the request that holds a key can finish or release it.
`lease_expires_at` defaults to five minutes from the insert for the claims a gateway of the
previous version still makes during a rolling upgrade: it sets no lease, and its claims expire as
they did before. Claims under way at the upgrade keep their five minutes from their start.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("idempotency_keys", sa.Column("holder", sa.Text))
    op.add_column(
        "idempotency_keys",
        sa.Column(
            "lease_expires_at", sa.DateTime(timezone=True), server_default=sa.text("now() + interval '5 minutes'")
        ),
    )
    op.execute(
        """
        UPDATE idempotency_keys
        SET lease_expires_at = CASE WHEN status = 'in_progress' THEN created_at + interval '5 minutes' END
        """
    )


def downgrade() -> None:
    op.drop_column("idempotency_keys", "lease_expires_at")
    op.drop_column("idempotency_keys", "holder")
