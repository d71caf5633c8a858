"""Test actors and helpers for broker, outbox and worker tests (real brokers, no mocks)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable

import dramatiq
import pika
from dramatiq.middleware import CurrentMessage

import actors  # noqa: F401  - the broker exists before these test actors are declared

#: One queue per pytest process, so parallel or leftover runs never share messages.
TEST_QUEUE = f"sixdeg_test_{uuid.uuid4().hex[:8]}"

_deliveries: dict[str, list[str]] = {}
_lock = threading.Lock()


@dramatiq.actor(actor_name="test.record", queue_name=TEST_QUEUE, max_retries=0)
def record(token: str) -> None:
    """Remember that `token` was delivered, with the message id it came with."""
    message = CurrentMessage.get_current_message()
    with _lock:
        _deliveries.setdefault(token, []).append(message.message_id if message else "")


@dramatiq.actor(actor_name="test.always_fails", queue_name=TEST_QUEUE, max_retries=3, min_backoff=10, max_backoff=50)
def always_fails(token: str) -> None:
    raise RuntimeError(f"failing on purpose ({token})")


def deliveries(token: str) -> list[str]:
    with _lock:
        return list(_deliveries.get(token, []))


def wait_until(predicate: Callable[[], bool], timeout: float = 15.0, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def new_token() -> str:
    return uuid.uuid4().hex


def rabbit_queue_bodies(amqp_url: str, queue_name: str) -> list[bytes]:
    """Drain and return the bodies of the messages waiting in `queue_name` (a real basic_get loop)."""
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        channel = connection.channel()
        bodies = []
        while True:
            method, _props, body = channel.basic_get(queue_name, auto_ack=True)
            if method is None:
                return bodies
            bodies.append(body)
    finally:
        connection.close()


def delete_rabbit_queues(amqp_url: str, queue_name: str) -> None:
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        channel = connection.channel()
        for name in (queue_name, f"{queue_name}.DQ", f"{queue_name}.XQ"):
            channel.queue_delete(name)
    finally:
        connection.close()
