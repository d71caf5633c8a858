"""Projection actors (queue `projections`): keep the graph and the search index in step with Postgres."""

from __future__ import annotations

import logging

import dramatiq

from actors.broker import current_config
from pipelines import projections
from pipelines.db import unit_of_work
from pipelines.graph import stores as _graph_stores  # noqa: F401  (registers the graph projection)
from pipelines.search import stores as _search_stores  # noqa: F401  (registers the search projection)

PROJECTIONS_QUEUE = "projections"
log = logging.getLogger(__name__)


@dramatiq.actor(
    actor_name=projections.PROJECTION_SYNC_ACTOR, queue_name=PROJECTIONS_QUEUE, max_retries=8, time_limit=300_000
)
def sync_people(person_ids: list[int]) -> None:
    """Re-project these people everywhere (upsert, or remove when gone). Idempotent."""
    config = current_config()
    with unit_of_work(config) as session:
        projections.sync_people(config, session, person_ids)


@dramatiq.actor(
    actor_name="projections.consistency_sweep", queue_name=PROJECTIONS_QUEUE, max_retries=3, time_limit=3600_000
)
def consistency_sweep() -> dict[str, dict[str, int]]:
    """Compare the projections with Postgres and re-project what drifted (nightly)."""
    config = current_config()
    with unit_of_work(config) as session:
        report = projections.consistency_sweep(config, session)
    log.info("consistency sweep: %s", report)
    return report
