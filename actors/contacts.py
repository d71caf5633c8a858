"""Contact import actors (queue `imports`)."""

from __future__ import annotations

import dramatiq

from actors.broker import current_config
from pipelines.contacts import importer
from pipelines.db import unit_of_work

IMPORTS_QUEUE = "imports"


@dramatiq.actor(
    actor_name=importer.IMPORT_ACTOR,
    queue_name=IMPORTS_QUEUE,
    max_retries=3,
    time_limit=25 * 60_000,
    throws=(importer.ImportRefused,),
)
def import_file(import_id: int) -> None:
    """Stream an import's file in batches, one transaction each; a redelivery resumes after the last batch."""
    config = current_config()
    with unit_of_work(config) as session:
        plan = importer.start_import(session, import_id)
    if plan is None:
        return
    try:
        for records in importer.batches(
            plan, max_rows=config.import_max_rows, max_field_length=config.import_max_field_length
        ):
            with unit_of_work(config) as session:
                importer.process_batch(session, plan, records)
    except Exception as exc:
        with unit_of_work(config) as session:
            importer.fail_import(session, import_id, f"{type(exc).__name__}: {exc}")
        raise
    with unit_of_work(config) as session:
        importer.finish_import(session, import_id)
