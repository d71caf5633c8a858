"""Retention: what sixdeg stops keeping, and when (the daily `maintenance.retention` job).

- backups: the newest 24 and the newest of each of the last 7 days (`backups.apply_retention`);
- uploaded import files: deleted 7 days after their import finished (the contacts stay; re-import to redo);
- import errors: deleted 90 days after their import finished;
- scheduler idempotency keys: kept 7 days.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from pipelines.config import Config
from pipelines.models import Import, ImportError_, ImportStatus, ScheduledFire, utcnow

UPLOAD_DAYS = 7
IMPORT_ERROR_DAYS = 90
SCHEDULED_FIRE_DAYS = 7


def apply(config: Config, session: Session) -> dict[str, int]:
    """Delete what is past its retention; returns how many of each."""
    from pipelines.backups import apply_retention

    now = utcnow()
    finished = Import.status.in_([ImportStatus.done, ImportStatus.failed])
    uploads = 0
    for import_id, stored in session.execute(
        select(Import.id, Import.stored_path).where(
            finished, Import.stored_path.is_not(None), Import.finished_at < now - timedelta(days=UPLOAD_DAYS)
        )
    ).all():
        Path(stored).unlink(missing_ok=True)
        session.execute(update(Import).where(Import.id == import_id).values(stored_path=None))
        uploads += 1
    old_imports = select(Import.id).where(finished, Import.finished_at < now - timedelta(days=IMPORT_ERROR_DAYS))
    errors = session.execute(delete(ImportError_).where(ImportError_.import_id.in_(old_imports))).rowcount
    fires = session.execute(
        delete(ScheduledFire).where(ScheduledFire.scheduled_for < now - timedelta(days=SCHEDULED_FIRE_DAYS))
    ).rowcount
    backups = len([p for p in apply_retention(config) if not p.name.endswith(".json")])
    return {"uploads": uploads, "import_errors": errors, "scheduled_fires": fires, "backups": backups}
