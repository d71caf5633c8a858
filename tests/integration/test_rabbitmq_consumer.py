"""Acks after a lost connection, against real RabbitMQ: a message delivered on a closed connection is never acked
on the consumer that replaced it (delivery tags restart at 1 per channel, so that ack would drop another,
unprocessed message)."""

import uuid

import pytest
from dramatiq import Message

from actors.broker import SixdegRabbitmqBroker


@pytest.fixture
def broker(amqp_url):
    broker = SixdegRabbitmqBroker(url=amqp_url, confirm_delivery=True, middleware=[], queue_prefetch=1)
    yield broker
    broker.close()


def _next_message(consumer, attempts: int = 50):
    for _ in range(attempts):
        message = next(consumer)
        if message is not None:
            return message
    return None


def test_a_message_from_a_closed_connection_is_not_acked_on_the_new_one(broker):
    queue = f"test_consumer_{uuid.uuid4().hex[:10]}"
    broker.declare_queue(queue)
    try:
        broker.enqueue(Message(queue_name=queue, actor_name="noop", args=(), kwargs={}, options={}))

        first = broker.consume(queue, prefetch=1, timeout=100)
        delivered = _next_message(first)
        assert delivered is not None
        first.close()  # the connection drops while a worker thread still has the message

        second = broker.consume(queue, prefetch=1, timeout=100)
        redelivered = _next_message(second)
        assert redelivered is not None and redelivered.message_id == delivered.message_id
        assert redelivered._tag == delivered._tag  # the same tag on the new channel: the trap

        second.ack(delivered)  # the worker thread finishes the old delivery; the consumer thread is now `second`
        second.close()  # so the redelivered copy, never processed, must come back

        third = broker.consume(queue, prefetch=1, timeout=100)
        again = _next_message(third)
        assert again is not None and again.message_id == delivered.message_id, "the unprocessed message was acked"
        third.ack(again)
        third.close()
    finally:
        broker.channel.queue_delete(queue)
        broker.channel.queue_delete(f"{queue}.DQ")
        broker.channel.queue_delete(f"{queue}.XQ")
