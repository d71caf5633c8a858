"""Process-wide leader locks: a Postgres advisory lock, or a file lock next to the SQLite database.

A lock is held for as long as its holder lives; when the process dies, Postgres (the session ends) or the
operating system (the file handle closes) releases it, so a standby can take over.
"""

from __future__ import annotations

import hashlib

from filelock import FileLock, Timeout
from sqlalchemy import Connection, text

from pipelines.config import Config
from pipelines.db import get_engine, normalize_database_url, sqlite_path


def lock_key(name: str) -> int:
    """A stable signed 64-bit advisory-lock key for `name`."""
    return int.from_bytes(hashlib.sha256(f"sixdeg:{name}".encode()).digest()[:8], "big", signed=True)


class LeaderLock:
    """A named lock only one process holds at a time. `try_acquire()` never blocks."""

    def __init__(self, config: Config, name: str) -> None:
        self.name = name
        self._engine = get_engine(config)
        path = sqlite_path(normalize_database_url(config.database_url))
        self._file_lock = FileLock(f"{path}.{name}.lock") if path else None
        self._connection: Connection | None = None

    @property
    def held(self) -> bool:
        if self._file_lock is not None:
            return self._file_lock.is_locked
        return self._connection is not None

    def try_acquire(self) -> bool:
        """Take the lock if it is free; True when this process holds it."""
        if self.held:
            return True
        if self._file_lock is not None:
            try:
                self._file_lock.acquire(timeout=0)
            except Timeout:
                return False
            return True
        connection = self._engine.connect()
        got = connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": lock_key(self.name)}).scalar()
        connection.commit()
        if got:
            self._connection = connection
            return True
        connection.close()
        return False

    def still_held(self) -> bool:
        """Check the lock's connection is alive (a lost connection means a lost lock)."""
        if self._file_lock is not None:
            return self._file_lock.is_locked
        if self._connection is None:
            return False
        try:
            self._connection.execute(text("SELECT 1"))
            self._connection.commit()
            return True
        except Exception:
            self._connection = None
            return False

    def release(self) -> None:
        if self._file_lock is not None:
            if self._file_lock.is_locked:
                self._file_lock.release(force=True)
            return
        if self._connection is not None:
            try:
                self._connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": lock_key(self.name)})
                self._connection.commit()
            finally:
                self._connection.close()
                self._connection = None
