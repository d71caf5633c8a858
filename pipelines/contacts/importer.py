"""An import job, step by step: request it, stream its file in batches, finish it.

The boundary (the API, the CLI, the import actor) owns the transactions: `request_import` runs in the request's,
each `process_batch` in its own, so a batch is all-or-nothing and its commit is the checkpoint. `rows_done`
counts the records already committed; a redelivered job skips them and resumes where it stopped.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import uuid
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from pipelines.config import Config
from pipelines.contacts.batching import PreparedBatch, prepare_batches, read_batches
from pipelines.contacts.detect import detect_format
from pipelines.contacts.helper import iterate_in_helper
from pipelines.contacts.ingest import BatchResult, BatchTarget, ingest_batch
from pipelines.contacts.records import NotAContactFile, ParsedContact, RowError
from pipelines.db import analyze, insert_ignoring_conflicts, unit_of_work
from pipelines.models import Import, ImportError_, ImportStatus, Source, SourceKind, User, utcnow
from pipelines.outbox import send_after_commit

log = logging.getLogger(__name__)

IMPORT_ACTOR = "contacts.import_file"
BATCH_SIZE = 1000
DETECT_BYTES = 64 * 1024

SOURCE_KINDS = {
    "linkedin": SourceKind.linkedin_csv,
    "google": SourceKind.google_csv,
    "outlook": SourceKind.outlook_csv,
    "thunderbird": SourceKind.csv,
    "csv": SourceKind.csv,
    "vcard": SourceKind.vcard,
}
SOURCE_NAMES = {
    "linkedin": "LinkedIn",
    "google": "Google Contacts",
    "outlook": "Outlook",
    "thunderbird": "Thunderbird",
    "csv": "CSV",
    "vcard": "vCard",
}
FORMATS = ("auto", *SOURCE_KINDS)


class ImportRefused(ValueError):
    """The file cannot be imported at all (not a contact file, unknown format); nothing was stored."""


class UploadTooLarge(ImportRefused):
    """The file is over the upload limit."""


@dataclass(frozen=True)
class ImportPlan:
    """What an import actor needs to run a job, read once at its start."""

    import_id: int
    path: Path
    format: str
    default_region: str | None
    target: BatchTarget
    rows_done: int
    #: The records the file holds (an estimate until the import is done).
    rows_total: int = 0


def uploads_dir(config: Config) -> Path:
    path = config.data_dir / "uploads"
    path.mkdir(parents=True, exist_ok=True)
    return path


def store_upload(config: Config, stream: BinaryIO, filename: str, max_bytes: int) -> Path:
    """Copy an upload to the data dir, streaming, refusing it past `max_bytes`."""
    suffix = Path(filename).suffix.lower()[:10] if filename else ""
    target = uploads_dir(config) / f"{uuid.uuid4().hex}{suffix}"
    written = 0
    with target.open("wb") as out:
        while chunk := stream.read(1024 * 1024):
            written += len(chunk)
            if written > max_bytes:
                out.close()
                target.unlink(missing_ok=True)
                raise UploadTooLarge(f"The file is larger than the limit of {max_bytes} bytes.")
            out.write(chunk)
    return target


def detect(path: Path, fmt: str, filename: str | None) -> str:
    """The file's format (`fmt` wins unless it is "auto"); ImportRefused with the reason if it is no contact file."""
    if fmt not in FORMATS:
        raise ImportRefused(f"Unknown format {fmt!r}; use one of: {', '.join(FORMATS)}.")
    if fmt != "auto":
        return fmt
    with path.open("rb") as handle:
        head = handle.read(DETECT_BYTES)
    try:
        return detect_format(head, filename)
    except NotAContactFile as exc:
        raise ImportRefused(str(exc)) from None


def estimate_records(path: Path, fmt: str) -> int:
    """A fast streaming estimate of how many records the file holds (for progress bars)."""
    needle = b"BEGIN:VCARD" if fmt == "vcard" else b"\n"
    count, tail = 0, b""
    with path.open("rb") as handle:
        while chunk := handle.read(1024 * 1024):
            data = tail + chunk
            count += data.upper().count(needle) if fmt == "vcard" else chunk.count(needle)
            tail = data[-len(needle) :] if fmt == "vcard" else b""
    if fmt == "vcard":
        return count
    return max(count, 1)


def request_import(
    session: Session,
    config: Config,
    user: User,
    path: Path,
    *,
    filename: str,
    fmt: str = "auto",
    default_region: str | None = None,
    source_name: str | None = None,
) -> Import:
    """Create the import job for a stored file and send it to the import actor after commit."""
    try:
        detected = detect(path, fmt, filename)
    except ImportRefused:
        path.unlink(missing_ok=True)
        raise
    region = default_region.upper() if default_region else None
    name = (source_name or SOURCE_NAMES[detected]).strip()[:200]
    kind = SOURCE_KINDS[detected]
    source = session.scalar(select(Source).where(Source.user_id == user.id, Source.kind == kind, Source.name == name))
    if source is None:
        source = Source(user_id=user.id, kind=kind, name=name)
        session.add(source)
        session.flush()
    job = Import(
        user_id=user.id,
        source_id=source.id,
        format=detected,
        filename=filename[:500],
        stored_path=str(path),
        default_region=region,
        bytes_total=path.stat().st_size,
        rows_total=estimate_records(path, detected),
    )
    session.add(job)
    session.flush()
    send_after_commit(session, IMPORT_ACTOR, job.id)
    return job


def start_import(session: Session, import_id: int) -> ImportPlan | None:
    """Mark the job running and return its plan; None when it is finished or gone (a duplicate message)."""
    job = session.get(Import, import_id)
    if job is None or job.status == ImportStatus.done or job.stored_path is None:
        return None
    user = session.get(User, job.user_id)
    if user is None or job.source_id is None:
        return None
    job.status = ImportStatus.running
    job.started_at = job.started_at or utcnow()
    job.failure = None
    return ImportPlan(
        import_id=job.id,
        path=Path(job.stored_path),
        format=job.format,
        default_region=job.default_region,
        target=BatchTarget(user.id, user.person_id, job.source_id, job.id),
        rows_done=job.rows_done,
        rows_total=job.rows_total,
    )


def batches(
    plan: ImportPlan, batch_size: int = BATCH_SIZE, *, max_rows: int = 1_000_000, max_field_length: int = 1000
) -> Iterator[list[ParsedContact | RowError]]:
    """The plan's file in batches of records, skipping those already committed (`batching.read_batches`)."""
    return read_batches(
        plan.path, plan.format, plan.rows_done, batch_size, max_rows=max_rows, max_field_length=max_field_length
    )


#: A large import refreshes the planner's statistics after this many batches, and again each time it has
#: doubled that count (20, 40, 80, 160 ... batches), so lookups keep using the indexes as the tables grow
#: (autovacuum reacts minutes later; a big import must not wait for it). Statistics at most half as old as the
#: import are good enough for its plans (Postgres also scales row estimates by the tables' current size), and
#: a 1,000,000-row import analyzes 6 times instead of 50.
ANALYZE_FIRST_AFTER_BATCHES = 20
GROWN_TABLES = ("identities", "contacts", "people", "connections")


def statistics_due(batches_done: int) -> bool:
    """Whether the statistics are due once `batches_done` batches are committed (see ANALYZE_FIRST_AFTER_BATCHES)."""
    multiple, remainder = divmod(batches_done, ANALYZE_FIRST_AFTER_BATCHES)
    return bool(batches_done) and not remainder and multiple & (multiple - 1) == 0


class StatisticsRefresher:
    """ANALYZEs the tables an import grows on its own connection and thread, while the import writes its next
    batches: off the import's path (about 0.3 s each time on a 100,000-contact import), on the core the import
    leaves idle while it waits for Postgres. One at a time; `wait` before the import is marked done."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.thread: threading.Thread | None = None

    def refresh(self) -> None:
        if self.thread is not None and self.thread.is_alive():
            return  # the running one is recent enough
        self.thread = threading.Thread(target=self._analyze, name="import-statistics", daemon=True)
        self.thread.start()

    def _analyze(self) -> None:
        try:
            with unit_of_work(self.config) as session:
                analyze(session, *GROWN_TABLES)
        except Exception:  # stale statistics slow an import down; they must not fail it
            log.warning("refreshing the planner's statistics during an import failed", exc_info=True)

    def wait(self) -> None:
        if self.thread is not None:
            self.thread.join()


def prepared_batches(
    plan: ImportPlan, *, max_rows: int = 1_000_000, max_field_length: int = 1000, helper_min_rows: int = 0
) -> Iterator[PreparedBatch]:
    """The file's batches, read and normalized, skipping those already committed.

    When at least `helper_min_rows` records are left (and `helper_min_rows` is not 0) and the machine has more
    than one core, a helper process reads and normalizes the next batches while the caller writes the current
    one (pipelines/contacts/helper.py). Close the iterator (or exhaust it) to end the helper."""
    args = (plan.path, plan.format, plan.default_region, plan.rows_done, BATCH_SIZE, max_rows, max_field_length)
    remaining = plan.rows_total - plan.rows_done
    if helper_min_rows and remaining >= helper_min_rows and (os.cpu_count() or 1) > 1:
        yield from iterate_in_helper(prepare_batches, *args)
    else:
        yield from prepare_batches(*args)


def run_batches(config: Config, plan: ImportPlan) -> Iterator[tuple[PreparedBatch, BatchResult]]:
    """Write the plan's remaining batches, one transaction each, yielding each batch and what it did.

    The reading helper (if any) is ended when the loop ends, whether it finished, raised or was interrupted."""
    stream = prepared_batches(
        plan,
        max_rows=config.import_max_rows,
        max_field_length=config.import_max_field_length,
        helper_min_rows=config.import_helper_min_rows,
    )
    statistics = StatisticsRefresher(config)
    batches_done = plan.rows_done // BATCH_SIZE
    with closing(stream):
        try:
            for batch in stream:
                with unit_of_work(config) as session:
                    result = process_batch(session, plan, batch)
                batches_done += 1
                if statistics_due(batches_done):
                    statistics.refresh()
                yield batch, result
        finally:
            statistics.wait()


def process_batch(session: Session, plan: ImportPlan, batch: PreparedBatch) -> BatchResult:
    """Persist one prepared batch, record its row errors, and move the checkpoint; idempotent."""
    result = ingest_batch(session, plan.target, batch.contacts)
    if batch.errors:
        session.execute(
            insert_ignoring_conflicts(session, ImportError_.__table__, ("import_id", "line")),
            [
                {
                    "import_id": plan.import_id,
                    "line": e.line,
                    "reason": e.reason[:500],
                    "raw": e.raw[:1000].replace("\x00", "\ufffd"),  # Postgres text cannot hold NUL (binary rows)
                }
                for e in batch.errors
            ],
        )
    session.execute(
        update(Import)
        .where(Import.id == plan.import_id)
        .values(
            rows_done=Import.rows_done + batch.records,
            people_created=Import.people_created + result.people_created,
            people_merged=Import.people_merged + result.people_merged,
            contacts=Import.contacts + result.contacts_created,
            contacts_updated=Import.contacts_updated + result.contacts_updated,
            contacts_unchanged=Import.contacts_unchanged + result.contacts_unchanged,
            errors=Import.errors + len(batch.errors),
        )
    )
    return result


def finish_import(session: Session, import_id: int) -> Import | None:
    """Mark the job done: its rows are all committed."""
    job = session.get(Import, import_id)
    if job is None:
        return None
    job.status = ImportStatus.done
    job.finished_at = utcnow()
    job.rows_total = job.rows_done
    job.bytes_done = job.bytes_total
    return job


def fail_import(session: Session, import_id: int, reason: str) -> None:
    """Record why a job failed (it may still be retried; a retry sets it running again)."""
    job = session.get(Import, import_id)
    if job is not None:
        job.status = ImportStatus.failed
        job.failure = reason[:2000]
        job.finished_at = utcnow()


def copy_local_file(config: Config, source: Path) -> Path:
    """The CLI imports a local file: it is copied into the data dir like an upload."""
    target = uploads_dir(config) / f"{uuid.uuid4().hex}{source.suffix.lower()[:10]}"
    shutil.copyfile(source, target)
    return target
