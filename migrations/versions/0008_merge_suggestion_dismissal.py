"""merge_suggestions.dismissed_at: a suggestion the user said is two different people stays dismissed

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27 16:10:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("merge_suggestions") as batch:
        batch.add_column(sa.Column("dismissed_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("merge_suggestions") as batch:
        batch.drop_column("dismissed_at")
