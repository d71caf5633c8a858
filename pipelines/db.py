"""Database engine and the unit of work.

The boundary (a request, an actor run, a CLI command) opens one unit of work and commits it;
code in pipelines/ only receives the session (DESIGN.md principle 4).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, Insert, Table, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from pipelines.config import Config

_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def normalize_database_url(url: str) -> str:
    """Use the psycopg 3 driver for plain postgresql:// URLs."""
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def sqlite_path(url: str) -> Path | None:
    """The file behind a sqlite URL, or None for Postgres and in-memory SQLite."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def create_db_engine(config: Config) -> Engine:
    """A new engine for the configured database, with per-backend connection settings."""
    url = normalize_database_url(config.database_url)
    timeout = config.backend_timeout
    path = sqlite_path(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record) -> None:  # noqa: ANN001
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=10,
        max_overflow=10,
        pool_timeout=timeout,
        connect_args={
            "connect_timeout": max(1, int(timeout)),
            "application_name": "sixdeg",
            # A request never waits forever on a row lock held by a batch job.
            "options": "-c lock_timeout=30000",
        },
    )


def get_engine(config: Config) -> Engine:
    """One engine per database URL per process (engines own connection pools)."""
    url = normalize_database_url(config.database_url)
    with _engines_lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _engines[url] = create_db_engine(config)
        return engine


def dispose_engines() -> None:
    """Close every pooled connection (tests, and after fork)."""
    with _engines_lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


def session_factory(config: Config) -> sessionmaker[Session]:
    """Sessions bound to the configured database; objects stay usable after commit."""
    return sessionmaker(bind=get_engine(config), expire_on_commit=False)


@contextmanager
def unit_of_work(config: Config | Engine) -> Iterator[Session]:
    """Open a session (on the configured database, or on `engine`), commit when the block succeeds, roll back
    when it raises."""
    engine = config if isinstance(config, Engine) else get_engine(config)
    session = Session(bind=engine, expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def insert_ignoring_conflicts(session: Session, table: Table, conflict_columns: tuple[str, ...]) -> Insert:
    """INSERT ... ON CONFLICT (columns) DO NOTHING, for Postgres and SQLite alike (use with executemany rows)."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    return dialect_insert(table).on_conflict_do_nothing(index_elements=list(conflict_columns))
