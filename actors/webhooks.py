"""Webhook actors (queue `webhooks`): apply received contact events."""

from __future__ import annotations

import dramatiq

from actors.broker import current_config
from pipelines import webhooks
from pipelines.db import unit_of_work
from pipelines.observability import metrics

WEBHOOKS_QUEUE = "webhooks"


@dramatiq.actor(actor_name=webhooks.WEBHOOK_ACTOR, queue_name=WEBHOOKS_QUEUE, max_retries=8, time_limit=120_000)
def process_event(event_id: int) -> None:
    """Apply one stored webhook event; its effect and `processed_at` commit together, so a redelivery is a no-op."""
    with unit_of_work(current_config()) as session:
        applied = webhooks.process_event(session, event_id)
    metrics.webhook_events_processed(len(applied))
