"""index on lower(people.display_name) for merge suggestions

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 10:46:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_people_lower_display_name", "people", [sa.text("lower(display_name)")], unique=False)


def downgrade() -> None:
    op.drop_index("ix_people_lower_display_name", table_name="people")
