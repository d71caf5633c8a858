"""Backups of the system of record, and restores that bring the projections back (DESIGN.md principle 1).

A backup is a consistent copy of the database: `pg_dump --format=custom` on Postgres (one snapshot, no locks that
block the API or imports), the SQLite online backup API on the embedded default. Each backup is written under a
temporary name and renamed when complete; its manifest (time, schema revision, size, sha256, row counts) is
written last, so a backup without a manifest is not a backup. Retention keeps the newest 24 (the hourly ones)
and the newest of each of the last 7 days.

`restore` loads a backup into an empty database, then rebuilds the Neo4j graph and the search index from it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, inspect, select, text
from sqlalchemy.engine import make_url

from pipelines.config import Config
from pipelines.db import get_engine, normalize_database_url, sqlite_path, unit_of_work
from pipelines.models import Contact, Person

KEEP_NEWEST = 24
KEEP_DAILY = 7
MANIFEST_SUFFIX = ".manifest.json"


class BackupError(RuntimeError):
    """A backup or restore could not be made; the message says why and what to do."""


@dataclass(frozen=True)
class Backup:
    path: Path
    manifest: dict[str, Any]

    @property
    def created_at(self) -> datetime:
        return datetime.fromisoformat(self.manifest["created_at"])


def _libpq_url(config: Config) -> str:
    """The database URL as pg_dump/pg_restore understand it (no SQLAlchemy driver suffix)."""
    url = make_url(normalize_database_url(config.database_url)).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def _schema_revision(config: Config) -> str | None:
    with get_engine(config).connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def _counts(config: Config) -> dict[str, int]:
    with unit_of_work(config) as session:
        return {
            "people": session.scalar(select(func.count()).select_from(Person).where(Person.merged_into.is_(None))) or 0,
            "contacts": session.scalar(select(func.count()).select_from(Contact)) or 0,
        }


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def create_backup(config: Config, *, stop: Any = None) -> Backup:
    """Write a backup and its manifest to SIXDEG_BACKUP_DIR; returns it. `stop` (an Event) aborts a running dump:
    its partial file is deleted and BackupError raised, so nothing half-written is ever left as a backup."""
    directory = Path(config.backup_dir)
    directory.mkdir(parents=True, exist_ok=True)
    created = datetime.now(tz=UTC)
    stamp = created.strftime("%Y%m%dT%H%M%S%fZ")
    kind = config.database_kind
    final = directory / f"sixdeg-{stamp}.{'dump' if kind == 'postgresql' else 'sqlite3'}"
    partial = final.with_name(final.name + ".partial")
    revision = _schema_revision(config)
    started = time.monotonic()
    try:
        if kind == "postgresql":
            _pg_dump(config, partial, stop)
        else:
            _sqlite_backup(config, partial)
        os.replace(partial, final)
    finally:
        partial.unlink(missing_ok=True)
    manifest = {
        "format": "sixdeg-backup/1",
        "created_at": created.isoformat(),
        "database": kind,
        "schema_revision": revision,
        "file": final.name,
        "bytes": final.stat().st_size,
        "sha256": _sha256(final),
        "seconds": round(time.monotonic() - started, 2),
        "rows": _counts(config),
    }
    manifest_path = final.with_name(final.name + MANIFEST_SUFFIX)
    temporary = manifest_path.with_name(manifest_path.name + ".partial")
    temporary.write_text(json.dumps(manifest, indent=2))
    os.replace(temporary, manifest_path)
    return Backup(final, manifest)


def _pg_dump(config: Config, target: Path, stop: Any) -> None:
    """Dump to `target`, at most `config.backup_rate_bytes` per second of (compressed) output: when we stop
    reading, pg_dump stops reading and the server process feeding it waits, so a backup takes a bounded share of
    the machine instead of all it can get while the API and workers run."""
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        raise BackupError("pg_dump is not installed: apt-get install postgresql-client (version ≥ the server's)")
    process = subprocess.Popen(
        [pg_dump, "--format=custom", "--no-owner", "--no-privileges", f"--dbname={_libpq_url(config)}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    assert process.stdout is not None and process.stderr is not None
    rate = max(1, config.backup_rate_bytes)
    started, written = time.monotonic(), 0
    try:
        with target.open("wb") as out:
            while chunk := process.stdout.read(64 * 1024):
                if stop is not None and stop.is_set():
                    raise BackupError("backup interrupted (shutting down); it will run again")
                out.write(chunk)
                written += len(chunk)
                ahead = written / rate - (time.monotonic() - started)
                if ahead > 0:
                    time.sleep(ahead)
        process.wait()
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(30)
    if stop is not None and stop.is_set():
        raise BackupError("backup interrupted (shutting down); it will run again")
    if process.returncode != 0:
        error = process.stderr.read().decode(errors="replace").strip()
        raise BackupError(f"pg_dump failed ({process.returncode}): {error[-500:]}")


def _sqlite_backup(config: Config, target: Path) -> None:
    source_path = sqlite_path(normalize_database_url(config.database_url))
    if source_path is None:
        raise BackupError("an in-memory database cannot be backed up")
    with sqlite3.connect(source_path) as source, sqlite3.connect(target) as copy:
        source.backup(copy, pages=1024)


def list_backups(config: Config) -> list[Backup]:
    """Complete backups (those with a manifest), newest first."""
    directory = Path(config.backup_dir)
    backups = []
    for manifest_path in directory.glob(f"sixdeg-*{MANIFEST_SUFFIX}"):
        try:
            manifest = json.loads(manifest_path.read_text())
        except (OSError, ValueError):
            continue
        path = directory / manifest["file"]
        if path.exists():
            backups.append(Backup(path, manifest))
    return sorted(backups, key=lambda b: b.created_at, reverse=True)


def last_success(config: Config) -> datetime | None:
    backups = list_backups(config)
    return backups[0].created_at if backups else None


def apply_retention(config: Config, *, now: datetime | None = None) -> list[Path]:
    """Delete backups beyond the newest 24 and the newest of each of the last 7 days, and leftovers of
    interrupted backups; returns what was deleted."""
    now = now or datetime.now(tz=UTC)
    backups = list_backups(config)
    keep = {b.path for b in backups[:KEEP_NEWEST]}
    seen_days: set[str] = set()
    for backup in backups:
        day = backup.created_at.date().isoformat()
        if backup.created_at >= now - timedelta(days=KEEP_DAILY) and day not in seen_days:
            seen_days.add(day)
            keep.add(backup.path)
    deleted = []
    for backup in backups:
        if backup.path not in keep:
            for path in (backup.path, backup.path.with_name(backup.path.name + MANIFEST_SUFFIX)):
                path.unlink(missing_ok=True)
                deleted.append(path)
    for leftover in Path(config.backup_dir).glob("sixdeg-*.partial"):
        if datetime.fromtimestamp(leftover.stat().st_mtime, tz=UTC) < now - timedelta(hours=6):
            leftover.unlink(missing_ok=True)
            deleted.append(leftover)
    return deleted


def verify(backup: Backup) -> None:
    """Raise BackupError when the file does not match its manifest's checksum."""
    if _sha256(backup.path) != backup.manifest["sha256"]:
        raise BackupError(f"{backup.path.name} does not match its manifest's sha256: the file is damaged")


def find_backup(config: Config, ref: str) -> Backup:
    """A backup by path, file name, or 'latest'."""
    backups = list_backups(config)
    if ref == "latest":
        if not backups:
            raise BackupError(f"no backups in {config.backup_dir}")
        return backups[0]
    for backup in backups:
        if ref in (str(backup.path), backup.path.name):
            return backup
    candidate = Path(ref)
    manifest_path = candidate.with_name(candidate.name + MANIFEST_SUFFIX)
    if candidate.exists() and manifest_path.exists():
        return Backup(candidate, json.loads(manifest_path.read_text()))
    raise BackupError(f"no backup {ref!r} (with its manifest); `sixdeg backup list` shows them")


def restore(config: Config, backup: Backup) -> dict[str, Any]:
    """Load `backup` into the configured database, which must be empty; returns the restored row counts.
    Rebuilding the projections is the caller's next step (`sixdeg restore` does it)."""
    verify(backup)
    if backup.manifest["database"] != config.database_kind:
        raise BackupError(
            f"{backup.path.name} is a {backup.manifest['database']} backup; the configured database is "
            f"{config.database_kind}"
        )
    with get_engine(config).connect() as connection:
        tables = [t for t in inspect(connection).get_table_names() if t != "alembic_version"]
    if tables:
        with unit_of_work(config) as session:
            people = session.scalar(select(func.count()).select_from(Person)) if "people" in tables else 0
        if people:
            raise BackupError(
                "the database is not empty; restore into a new, empty database (SIXDEG_DATABASE_URL) "
                "so that nothing is overwritten"
            )
    if config.database_kind == "postgresql":
        _pg_restore(config, backup.path, clean=bool(tables))
    else:
        from pipelines.db import dispose_engines

        target = sqlite_path(normalize_database_url(config.database_url))
        assert target is not None
        dispose_engines()
        for suffix in ("-wal", "-shm"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        with sqlite3.connect(backup.path) as source, sqlite3.connect(target) as copy:
            source.backup(copy)
    counts = _counts(config)
    if counts != backup.manifest["rows"]:
        raise BackupError(f"restored rows {counts} differ from the manifest's {backup.manifest['rows']}")
    return counts


def _pg_restore(config: Config, path: Path, *, clean: bool) -> None:
    pg_restore = shutil.which("pg_restore")
    if pg_restore is None:
        raise BackupError("pg_restore is not installed: apt-get install postgresql-client")
    if clean:  # an empty schema (migrated, no rows): drop it so the dump's own schema comes back whole
        with get_engine(config).begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        from pipelines.db import dispose_engines

        dispose_engines()
    done = subprocess.run(
        [
            pg_restore,
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
            f"--dbname={_libpq_url(config)}",
            str(path),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise BackupError(f"pg_restore failed ({done.returncode}): {done.stderr.strip()[-500:]}")
