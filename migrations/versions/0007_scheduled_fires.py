"""scheduled_fires: one row per fired slot of a scheduled job (the scheduler's idempotency key)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27 14:05:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "scheduled_fires",
        sa.Column("job_id", sa.String(length=100), nullable=False),
        sa.Column("scheduled_for", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fired_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("job_id", "scheduled_for", name=op.f("pk_scheduled_fires")),
    )


def downgrade() -> None:
    op.drop_table("scheduled_fires")
