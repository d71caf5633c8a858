"""Housekeeping actors (queue `maintenance`)."""

from __future__ import annotations

import dramatiq

from actors.broker import current_config, publish_outbox_rows
from pipelines import retention as retention_rules
from pipelines.db import unit_of_work

MAINTENANCE_QUEUE = "maintenance"


@dramatiq.actor(actor_name="outbox.sweep", queue_name=MAINTENANCE_QUEUE, max_retries=0, time_limit=120_000)
def sweep_outbox() -> int:
    """Publish outbox rows that stayed unsent past the grace period (crash between commit and publish)."""
    return publish_outbox_rows(older_than=current_config().outbox_grace)


@dramatiq.actor(actor_name="maintenance.retention", queue_name=MAINTENANCE_QUEUE, max_retries=3, time_limit=3600_000)
def retention() -> dict[str, int]:
    """Delete what is past its retention (pipelines/retention.py)."""
    config = current_config()
    with unit_of_work(config) as session:
        return retention_rules.apply(config, session)
