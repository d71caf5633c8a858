"""Queue depths read from RabbitMQ for the scrape-time gauges (ready, delayed and dead-letter messages).

Reads through `pipelines.deadletters.DeadLetters` (one short-lived AMQP connection, passive `queue.declare`
per queue, Dramatiq's `.DQ`/`.XQ` naming); `metrics.cached_probe` bounds the whole call and caches it.
"""

from __future__ import annotations

from collections.abc import Iterable

from pipelines.deadletters import DELAY_SUFFIX, DeadLetters, canonical_queue, dead_letter_queue
from pipelines.observability.metrics import QueueDepth


def rabbitmq_queue_depths(url: str, queues: Iterable[str], timeout: float = 2.0) -> dict[str, QueueDepth]:
    """Depths of `queues` (canonical names, without .DQ/.XQ); a queue that does not exist counts 0."""
    with DeadLetters(url, timeout=timeout) as broker:

        def depth(name: str) -> int:
            return broker.message_count(name) or 0

        return {
            queue: QueueDepth(
                ready=depth(queue), delayed=depth(queue + DELAY_SUFFIX), dead=depth(dead_letter_queue(queue))
            )
            for queue in sorted({canonical_queue(q) for q in queues})
        }
