"""Webhook actors (queue `webhooks`): apply received contact events."""

from __future__ import annotations

import dramatiq

from actors.broker import current_config
from pipelines import outbox, webhooks
from pipelines.db import unit_of_work
from pipelines.observability import metrics

WEBHOOKS_QUEUE = "webhooks"


@dramatiq.actor(actor_name=webhooks.WEBHOOK_ACTOR, queue_name=WEBHOOKS_QUEUE, max_retries=8, time_limit=120_000)
def process_event(event_id: int, *more_event_ids: int) -> None:
    """Apply stored webhook events (one, or several the outbox published together); their effect and
    `processed_at` commit together, so a redelivery is a no-op."""
    with unit_of_work(current_config()) as session:
        applied = webhooks.process_events(session, [event_id, *more_event_ids])
    metrics.webhook_events_processed(len(applied))


outbox.publish_together(process_event.actor_name)  # it takes any number of event ids
