"""import progress, merge suggestions, contact changes

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 10:20:07.798447

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "merge_suggestions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("person_a_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("person_b_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_a_id"], ["people.id"], name=op.f("fk_merge_suggestions_person_a_id_people"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["person_b_id"], ["people.id"], name=op.f("fk_merge_suggestions_person_b_id_people"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_merge_suggestions_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_merge_suggestions")),
        sa.UniqueConstraint(
            "user_id", "person_a_id", "person_b_id", name=op.f("uq_merge_suggestions_user_id_person_a_id_person_b_id")
        ),
    )
    with op.batch_alter_table("merge_suggestions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_merge_suggestions_user_id"), ["user_id"], unique=False)

    op.create_table(
        "contact_changes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("contact_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("import_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contacts.id"], name=op.f("fk_contact_changes_contact_id_contacts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["import_id"], ["imports.id"], name=op.f("fk_contact_changes_import_id_imports"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_changes")),
    )
    with op.batch_alter_table("contact_changes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contact_changes_contact_id"), ["contact_id"], unique=False)

    with op.batch_alter_table("imports", schema=None) as batch_op:
        batch_op.add_column(sa.Column("contacts_updated", sa.Integer(), server_default=sa.text("0"), nullable=False))
        batch_op.add_column(sa.Column("contacts_unchanged", sa.Integer(), server_default=sa.text("0"), nullable=False))
        batch_op.add_column(sa.Column("bytes_total", sa.BigInteger(), server_default=sa.text("0"), nullable=False))
        batch_op.add_column(sa.Column("bytes_done", sa.BigInteger(), server_default=sa.text("0"), nullable=False))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("imports", schema=None) as batch_op:
        batch_op.drop_column("bytes_done")
        batch_op.drop_column("bytes_total")
        batch_op.drop_column("contacts_unchanged")
        batch_op.drop_column("contacts_updated")

    with op.batch_alter_table("contact_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contact_changes_contact_id"))

    op.drop_table("contact_changes")
    with op.batch_alter_table("merge_suggestions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_merge_suggestions_user_id"))

    op.drop_table("merge_suggestions")
