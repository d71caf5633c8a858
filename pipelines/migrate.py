"""Schema migrations (Alembic), safe to run from several processes at once.

Every process migrates on boot. A Postgres advisory lock (a file lock on SQLite) makes concurrent
replicas take turns: the first upgrades, the others find the schema at head and do nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from filelock import FileLock
from sqlalchemy import Connection, text

from pipelines.config import Config
from pipelines.db import get_engine, normalize_database_url, sqlite_path

log = logging.getLogger(__name__)

# Any fixed 64-bit number; it names "the sixdeg schema migration" among advisory locks.
MIGRATION_LOCK_KEY = 0x5D_6DE6_0001
MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(config: Config, connection: Connection | None = None) -> AlembicConfig:
    """An Alembic config pointing at our migrations, optionally bound to an open connection."""
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", normalize_database_url(config.database_url).replace("%", "%%"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


@contextmanager
def migration_lock(config: Config) -> Iterator[Connection]:
    """Hold the cross-process migration lock; yields a connection to migrate on."""
    engine = get_engine(config)
    path = sqlite_path(normalize_database_url(config.database_url))
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            connection.commit()
            try:
                yield connection
            finally:
                connection.rollback()
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
                connection.commit()
        return
    lock_path = f"{path}.migrate.lock" if path else None
    lock = FileLock(lock_path) if lock_path else None
    if lock:
        lock.acquire(timeout=300)
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        if lock:
            lock.release()


def head_revision(config: Config) -> str | None:
    """The newest revision in the migrations folder."""
    return ScriptDirectory.from_config(alembic_config(config)).get_current_head()


def current_revision(connection: Connection) -> str | None:
    """The revision the database is at (None when unmigrated)."""
    return MigrationContext.configure(connection).get_current_revision()


def upgrade(config: Config, revision: str = "head") -> str | None:
    """Upgrade the schema under the lock; returns the revision the database is at afterwards."""
    with migration_lock(config) as connection:
        before = current_revision(connection)
        if revision == "head" and before == head_revision(config):
            return before
        command.upgrade(alembic_config(config, connection), revision)
        connection.commit()
        after = current_revision(connection)
        log.info("database migrated from %s to %s", before or "empty", after)
        return after


def downgrade(config: Config, revision: str) -> str | None:
    """Downgrade the schema under the lock (tests and operators only)."""
    with migration_lock(config) as connection:
        command.downgrade(alembic_config(config, connection), revision)
        connection.commit()
        return current_revision(connection)


def migrate_on_boot(config: Config) -> None:
    """Called by every process at start: upgrade unless SIXDEG_MIGRATE_ON_BOOT=0."""
    if config.migrate_on_boot:
        upgrade(config)
