"""webhook sources (previous secret, disabled), webhook events and per-contact event state

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 13:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("sources", schema=None) as batch_op:
        batch_op.add_column(sa.Column("webhook_previous_secret", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("webhook_previous_until", When, nullable=True))
        batch_op.add_column(sa.Column("disabled_at", When, nullable=True))
    op.create_table(
        "webhook_events",
        sa.Column("id", Id, nullable=False),
        sa.Column("source_id", Id, nullable=False),
        sa.Column("webhook_id", sa.String(length=200), nullable=False),
        sa.Column("event_type", sa.String(length=40), nullable=False),
        sa.Column("external_id", sa.String(length=500), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("sent_at", When, nullable=False),
        sa.Column("received_at", When, nullable=False),
        sa.Column("processed_at", When, nullable=True),
        sa.Column("outcome", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["source_id"], ["sources.id"], name=op.f("fk_webhook_events_source_id_sources"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_events")),
        sa.UniqueConstraint("source_id", "webhook_id", name=op.f("uq_webhook_events_source_id_webhook_id")),
    )
    op.create_index(
        "ix_webhook_events_unprocessed",
        "webhook_events",
        ["received_at"],
        unique=False,
        postgresql_where=sa.text("processed_at IS NULL"),
        sqlite_where=sa.text("processed_at IS NULL"),
    )
    op.create_table(
        "webhook_contact_states",
        sa.Column("source_id", Id, nullable=False),
        sa.Column("external_id", sa.String(length=500), nullable=False),
        sa.Column("sent_at", When, nullable=False),
        sa.Column("event_id", Id, nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"], ["sources.id"], name=op.f("fk_webhook_contact_states_source_id_sources"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("source_id", "external_id", name=op.f("pk_webhook_contact_states")),
    )


def downgrade() -> None:
    op.drop_table("webhook_contact_states")
    op.drop_index(
        "ix_webhook_events_unprocessed",
        table_name="webhook_events",
        postgresql_where=sa.text("processed_at IS NULL"),
        sqlite_where=sa.text("processed_at IS NULL"),
    )
    op.drop_table("webhook_events")
    with op.batch_alter_table("sources", schema=None) as batch_op:
        batch_op.drop_column("disabled_at")
        batch_op.drop_column("webhook_previous_until")
        batch_op.drop_column("webhook_previous_secret")
