"""Process-wide leader locks: a Postgres advisory lock, or a file lock next to the SQLite database.

A lock is held for as long as its holder lives; when the process dies, Postgres (the session ends) or the
operating system (the file handle closes) releases it, so a standby can take over.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

from filelock import FileLock, Timeout
from sqlalchemy import Connection, text

from pipelines.config import Config
from pipelines.db import get_engine, normalize_database_url, sqlite_path

log = logging.getLogger(__name__)


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


@contextmanager
def one_at_a_time(config: Config, name: str, *, poll: float = 1.0) -> Iterator[None]:
    """Run the block while holding the Postgres advisory lock `name`, first waiting while another thread or
    process holds it.

    For work that a message broker may hand out twice at once: RabbitMQ delivers a message again as soon as the
    connection it was delivered on drops (a broker restart, a network blip), while the worker that has it lives on
    and keeps working. The lock sits on a connection of its own, so Postgres releases it when its holder dies.
    The wait polls, so that Dramatiq's time limit and shutdown notice, raised in the waiting thread, end it.

    On SQLite (the embedded setup: one process, an in-memory broker that never hands out a message twice at
    once) the block just runs.
    """
    if get_engine(config).dialect.name != "postgresql":
        yield
        return
    lock = LeaderLock(config, name)
    waited = False
    while not lock.try_acquire():
        if not waited:
            log.info("%s is held elsewhere (another delivery of the same message?); waiting for it", name)
            waited = True
        time.sleep(poll)
    try:
        yield
    finally:
        try:
            lock.release()
        except Exception:  # the connection is gone, and the lock with it
            log.warning("could not release %s (its connection is gone, and so is the lock)", name, exc_info=True)
