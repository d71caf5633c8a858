"""Queue depths read from RabbitMQ for the scrape-time gauges (ready, delayed and dead-letter messages).

A passive `queue.declare` answers with the number of ready messages of a queue without creating it; Dramatiq
names a queue's delay queue `<queue>.DQ` and its dead-letter queue `<queue>.XQ`. One short-lived connection per
probe, with socket and connect timeouts; `metrics.cached_probe` bounds the whole call and caches it.
"""

from __future__ import annotations

from collections.abc import Iterable

import pika
from pika.exceptions import ChannelClosedByBroker

from pipelines.observability.metrics import QueueDepth


def rabbitmq_queue_depths(url: str, queues: Iterable[str], timeout: float = 2.0) -> dict[str, QueueDepth]:
    """Depths of `queues` (canonical names, without .DQ/.XQ); a queue that does not exist counts 0."""
    parameters = pika.URLParameters(url)
    parameters.socket_timeout = timeout
    parameters.stack_timeout = timeout
    parameters.blocked_connection_timeout = timeout
    parameters.connection_attempts = 1
    parameters.retry_delay = 0
    connection = pika.BlockingConnection(parameters)
    try:
        channel = connection.channel()

        def depth(name: str) -> int:
            nonlocal channel
            try:
                return int(channel.queue_declare(queue=name, passive=True).method.message_count)
            except ChannelClosedByBroker:  # 404: the queue does not exist (yet)
                channel = connection.channel()
                return 0

        found = {}
        for queue in sorted({q for q in queues if not q.endswith((".DQ", ".XQ"))}):
            found[queue] = QueueDepth(ready=depth(queue), delayed=depth(f"{queue}.DQ"), dead=depth(f"{queue}.XQ"))
        return found
    finally:
        connection.close()
