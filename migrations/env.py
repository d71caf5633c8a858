"""Alembic environment: runs on the connection `pipelines.migrate` hands over (under its lock)."""

from __future__ import annotations

import warnings

from alembic import context
from sqlalchemy import Connection, create_engine, pool

from pipelines.models import Base, UTCDateTime

# SQLite batch migrations reflect tables; SQLAlchemy cannot reflect expression indexes (lower(display_name)) and
# says so. Those indexes are created explicitly by their migration, so the warning carries no news.
warnings.filterwarnings("ignore", message="Skipped unsupported reflection of expression-based index")

config = context.config
target_metadata = Base.metadata


def _render_item(type_: str, obj: object, autogen_context: object) -> str | bool:
    """Migrations stay free of application imports: UTCDateTime is a plain timezone-aware DateTime in SQL."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_item=_render_item,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER most things in place
        compare_type=True,
        compare_server_default=True,
    )


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url"), poolclass=pool.NullPool)
    with engine.connect() as connection:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) migrations are not supported: run `sixdeg migrate`")
run_migrations_online()
