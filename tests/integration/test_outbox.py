"""The transactional outbox on the embedded stack and on Postgres + RabbitMQ with a real worker."""

import time

import pytest
from sqlalchemy import func, select

from actors.broker import publish_committed, publish_outbox_rows
from actors.maintenance import sweep_outbox
from pipelines import outbox
from pipelines.db import unit_of_work
from pipelines.models import OutboxMessage
from tests.support.messaging import deliveries, new_token, record, wait_until


def _row(config, message_id):
    with unit_of_work(config) as session:
        return session.scalar(select(OutboxMessage).where(OutboxMessage.message_id == message_id))


def test_message_is_published_only_after_commit(stack):
    token = new_token()
    with unit_of_work(stack.config) as session:
        row = outbox.send_after_commit(session, record, token)
        time.sleep(0.5)  # a worker is running: anything published early would be processed by now
        assert deliveries(token) == []
    assert wait_until(lambda: deliveries(token)), "the committed message never arrived"
    assert deliveries(token) == [row.message_id]  # delivered once, with the outbox row's id
    assert _row(stack.config, row.message_id).sent_at is not None
    if stack.kind == "production":
        assert stack.broker.confirm_delivery is True


def test_a_session_publishing_in_background_commits_without_waiting_and_its_rows_are_sent(stack):
    """API requests: the committing thread hands its rows to the process's background publisher."""
    import threading

    from pipelines.db import session_factory

    token = new_token()
    release, publishing_threads = threading.Event(), []

    def slow_publisher(rows):
        publishing_threads.append(threading.current_thread().name)
        release.wait(10)
        return publish_committed(rows)

    outbox.set_publisher(slow_publisher)
    try:
        session = session_factory(stack.config)()
        outbox.publish_in_background(session)
        row = outbox.send_after_commit(session, record, token)
        session.commit()  # returns while the publisher is still held
        session.close()
        assert _row(stack.config, row.message_id).sent_at is None
        release.set()
        assert outbox.wait_published(10)
    finally:
        outbox.set_publisher(publish_committed)
    assert publishing_threads == ["outbox-publisher"]
    assert _row(stack.config, row.message_id).sent_at is not None
    assert wait_until(lambda: deliveries(token))
    assert deliveries(token) == [row.message_id]


def test_rollback_publishes_nothing(stack):
    token = new_token()
    with pytest.raises(RuntimeError), unit_of_work(stack.config) as session:
        outbox.send_after_commit(session, record, token)
        raise RuntimeError("the request failed")
    time.sleep(1.0)
    assert deliveries(token) == []
    with unit_of_work(stack.config) as session:
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_sweeper_publishes_a_row_left_unsent(stack):
    """The process 'dies' between commit and publish (no publisher ran): the sweeper actor sends the row."""
    token = new_token()
    outbox.set_publisher(None)
    try:
        with unit_of_work(stack.config) as session:
            row = outbox.send_after_commit(session, "test.record", token)  # by name, as pipelines/ does
    finally:
        outbox.set_publisher(publish_committed)
    time.sleep(0.5)
    assert deliveries(token) == []
    assert _row(stack.config, row.message_id).sent_at is None

    sweep_outbox.send()  # through the broker and the worker, as the scheduler does
    assert wait_until(lambda: deliveries(token)), "the sweeper did not publish the unsent row"
    assert deliveries(token) == [row.message_id]
    assert _row(stack.config, row.message_id).sent_at is not None

    assert publish_outbox_rows(older_than=0) == 0  # a sent row is never sent again
    time.sleep(0.5)
    assert len(deliveries(token)) == 1


def test_a_failed_publish_keeps_the_row_for_the_sweeper(stack):
    token = new_token()

    def broken_publisher(_rows):
        raise ConnectionError("broker unreachable")

    outbox.set_publisher(broken_publisher)
    try:
        with unit_of_work(stack.config) as session:  # the commit itself succeeds
            row = outbox.send_after_commit(session, record, token)
    finally:
        outbox.set_publisher(publish_committed)
    assert _row(stack.config, row.message_id).sent_at is None
    assert publish_outbox_rows(older_than=0) == 1
    assert wait_until(lambda: deliveries(token))
    assert deliveries(token) == [row.message_id]
