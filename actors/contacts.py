"""Contact import actors (queue `imports`)."""

from __future__ import annotations

import dramatiq
from dramatiq.middleware import Shutdown

from actors.broker import current_config
from pipelines import locks
from pipelines.config import Config
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
    """Stream an import's file in batches, one transaction each; a redelivery resumes after the last batch.

    One delivery of an import runs at a time. When a worker's connection to RabbitMQ drops (a broker restart, a
    network blip) the worker lives on and keeps importing, but RabbitMQ puts the unacked message back and hands
    it out again, often to the same worker once it has reconnected. Without the lock the second delivery
    started from the checkpoint it read and raced the first over the same batches: a unique violation that
    marked the running import failed, or the same contacts' people created twice and then merged, and rows
    counted twice had such a batch committed (docs/reliability.md, drill 2). With it the second delivery waits;
    it then finds the import done (and returns), or resumes it if the first delivery died (its lock went with
    its connection).
    """
    config = current_config()
    with locks.one_at_a_time(config, f"{importer.IMPORT_ACTOR}:{import_id}"):
        _import_file(config, import_id)


def _import_file(config: Config, import_id: int) -> None:
    with unit_of_work(config) as session:
        plan = importer.start_import(session, import_id)
    if plan is None:
        return
    metrics.import_started()
    try:
        for batch, result in importer.run_batches(config, plan):
            accepted = result.contacts_created + result.contacts_updated + result.contacts_unchanged
            metrics.contacts_ingested(accepted=accepted, merged=result.people_merged, rejected=batch.records - accepted)
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
