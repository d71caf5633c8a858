"""Backup actor (queue `maintenance`): the hourly backup, then retention of old backups."""

from __future__ import annotations

import logging

import dramatiq

from actors.broker import current_config
from pipelines import backups

log = logging.getLogger(__name__)


@dramatiq.actor(
    actor_name="backups.run", queue_name="maintenance", max_retries=3, time_limit=2 * 3600_000, notify_shutdown=True
)
def run_backup() -> str:
    """Write a backup. On a worker shutdown the dump is stopped, its partial file deleted, and the message retried
    (Dramatiq raises `Shutdown` in this thread; `create_backup` cleans up on the way out)."""
    config = current_config()
    backup = backups.create_backup(config)
    backups.apply_retention(config)
    log.info("backup %s: %s bytes in %s s", backup.path.name, backup.manifest["bytes"], backup.manifest["seconds"])
    return backup.path.name
