"""Contact import actors (queue `imports`)."""

from __future__ import annotations

import dramatiq
from dramatiq.middleware import Shutdown

from actors.broker import current_config
from pipelines.contacts import importer
from pipelines.db import unit_of_work
from pipelines.observability import metrics

IMPORTS_QUEUE = "imports"


@dramatiq.actor(
    actor_name=importer.IMPORT_ACTOR,
    queue_name=IMPORTS_QUEUE,
    max_retries=3,
    time_limit=25 * 60_000,
    throws=(importer.ImportRefused,),
    notify_shutdown=True,  # a worker shutting down interrupts the batch (rolled back); the retry resumes after it
)
def import_file(import_id: int) -> None:
    """Stream an import's file in batches, one transaction each; a redelivery resumes after the last batch."""
    config = current_config()
    with unit_of_work(config) as session:
        plan = importer.start_import(session, import_id)
    if plan is None:
        return
    metrics.import_started()
    try:
        for records in importer.batches(
            plan, max_rows=config.import_max_rows, max_field_length=config.import_max_field_length
        ):
            with unit_of_work(config) as session:
                result = importer.process_batch(session, plan, records)
            accepted = result.contacts_created + result.contacts_updated + result.contacts_unchanged
            metrics.contacts_ingested(accepted=accepted, merged=result.people_merged, rejected=len(records) - accepted)
    except Exception as exc:
        if not _interrupted_by_shutdown(exc):  # a deploy is not a failure: the retry resumes after the last batch
            with unit_of_work(config) as session:
                importer.fail_import(session, import_id, f"{type(exc).__name__}: {exc}")
            metrics.import_failed()
        raise
    with unit_of_work(config) as session:
        importer.finish_import(session, import_id)
    metrics.import_finished()


def _interrupted_by_shutdown(exc: BaseException) -> bool:
    """True when `exc` was raised while the worker's shutdown notice (Dramatiq's `Shutdown`) was unwinding, for
    example a rollback failing on a connection the interrupt left mid-query."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, Shutdown):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
