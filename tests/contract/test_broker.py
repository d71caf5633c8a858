"""One contract for both brokers (in-process stub and RabbitMQ): delivery, retries, dead letters."""

import json
from dataclasses import replace

import dramatiq
import pytest
from dramatiq.middleware import MiddlewareError, Retries

from actors.broker import GuardedRetries, build_broker, default_middleware
from tests.support.messaging import (
    TEST_QUEUE,
    always_fails,
    delete_rabbit_queues,
    deliveries,
    new_token,
    rabbit_queue_bodies,
    record,
    wait_until,
)


class PublishRefused(MiddlewareError):
    """Stands for a publish the broker refuses (connection lost for good, queue full, confirm nacked)."""


class RefuseRetryPublishes(dramatiq.Middleware):
    """Makes every re-enqueue of a retried message fail, the way a lost broker connection does."""

    def before_enqueue(self, broker, message, delay):
        if message.options.get("retries"):
            raise PublishRefused(f"cannot publish retry of {message.message_id}")


def _dead_letter_ids(stack):
    if stack.kind == "embedded":
        return [m.message_id for m in stack.broker.dead_letters]
    bodies = rabbit_queue_bodies(stack.config.broker_url, f"{TEST_QUEUE}.XQ")
    return [json.loads(body)["message_id"] for body in bodies]


def test_a_sent_message_is_processed_once(stack):
    token = new_token()
    message = record.send(token)
    assert wait_until(lambda: deliveries(token))
    assert deliveries(token) == [message.message_id]


def test_exhausted_retries_end_in_the_dead_letter_queue(stack):
    message = always_fails.send(new_token())
    assert wait_until(lambda: message.message_id in _dead_letter_ids(stack), timeout=20)


def test_a_retry_that_cannot_be_reenqueued_ends_in_the_dead_letter_queue(stack):
    stack.broker.add_middleware(RefuseRetryPublishes())
    message = always_fails.send(new_token())
    assert wait_until(lambda: message.message_id in _dead_letter_ids(stack), timeout=20), (
        "the message whose retry could not be published was acked and lost"
    )


def test_guarded_retries_replaces_dramatiqs_retries():
    middleware = default_middleware()
    assert sum(isinstance(m, Retries) for m in middleware) == 1
    assert any(isinstance(m, GuardedRetries) for m in middleware)


def test_without_the_guard_dramatiq_loses_the_message(sqlite_config):
    """Why GuardedRetries exists: upstream Retries logs the failed re-enqueue and the message is acked away."""
    plain = [m if not isinstance(m, GuardedRetries) else Retries(max_retries=3) for m in default_middleware()]
    broker = build_broker(sqlite_config, [*plain, RefuseRetryPublishes()])
    previous = dramatiq.get_broker()
    dramatiq.set_broker(broker)
    try:

        @dramatiq.actor(actor_name="test.unguarded_fails", queue_name="unguarded", broker=broker, min_backoff=10)
        def unguarded_fails() -> None:
            raise RuntimeError("fail")

        worker = dramatiq.Worker(broker, worker_threads=1, worker_timeout=100)
        worker.start()
        try:
            unguarded_fails.send()
            broker.join("unguarded", fail_fast=False, timeout=10_000)
            worker.join()
        finally:
            worker.stop()
        assert broker.dead_letters == []
    finally:
        dramatiq.set_broker(previous)


@pytest.mark.parametrize("prefetch", [1, 3])
def test_rabbitmq_prefetch_is_explicit(amqp_url, sqlite_config, prefetch):
    """A consumer holds exactly `worker_prefetch` unacked messages, whatever Dramatiq's worker asks for."""
    import pika

    broker = build_broker(replace(sqlite_config, broker_url=amqp_url, worker_prefetch=prefetch))
    queue = f"{TEST_QUEUE}_prefetch"
    broker.declare_queue(queue)
    for _ in range(10):
        broker.enqueue(dramatiq.Message(queue_name=queue, actor_name="x", args=(), kwargs={}, options={}))
    consumer = broker.consume(queue, prefetch=100, timeout=1000)
    observer = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        assert next(consumer) is not None
        ready = lambda: observer.channel().queue_declare(queue, passive=True).method.message_count  # noqa: E731
        assert wait_until(lambda: ready() == 10 - prefetch, timeout=5), ready()
    finally:
        observer.close()
        consumer.close()
        delete_rabbit_queues(amqp_url, queue)
        broker.close()
