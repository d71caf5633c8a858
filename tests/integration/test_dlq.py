"""`sixdeg dlq` against a real RabbitMQ: a failing actor's message is dead-lettered, listed, replayed after the
fault is fixed, and then succeeds; purge deletes; mistakes are explained."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import replace

import dramatiq
import pytest
from click.testing import CliRunner
from dramatiq.middleware import CurrentMessage

import actors  # noqa: F401  - the broker exists before the test actor is declared
from api.cli import main
from pipelines.deadletters import DeadLetters
from pipelines.observability.queues import rabbitmq_queue_depths
from tests.support.messaging import delete_rabbit_queues, wait_until

QUEUE = f"sixdeg_dlq_test_{uuid.uuid4().hex[:8]}"
FAULT = threading.Event()
_succeeded: list[tuple[str, str]] = []


@dramatiq.actor(actor_name="test.flaky", queue_name=QUEUE, max_retries=1, min_backoff=10, max_backoff=20)
def flaky(token: str) -> None:
    """Fails while FAULT is set (a bug, a store down), succeeds once it is fixed."""
    if FAULT.is_set():
        raise RuntimeError(f"store unavailable ({token})")
    message = CurrentMessage.get_current_message()
    _succeeded.append((token, message.message_id if message else ""))


@pytest.fixture
def rabbit(sqlite_config, amqp_url, broker_setup, monkeypatch) -> Iterator[str]:
    """A worker on RabbitMQ consuming QUEUE (and its delay queue); the CLI sees the same broker URL."""
    from actors.broker import start_worker

    config = replace(sqlite_config, broker_url=amqp_url, worker_threads=2)
    broker = broker_setup(config)
    worker = start_worker(broker, config, queues={QUEUE, f"{QUEUE}.DQ"})
    monkeypatch.setenv("SIXDEG_BROKER_URL", amqp_url)
    monkeypatch.setenv("SIXDEG_DATA_DIR", str(config.data_dir))
    FAULT.set()
    yield amqp_url
    FAULT.clear()
    worker.stop(timeout=5000)
    delete_rabbit_queues(amqp_url, QUEUE)


def _cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def _dead_count(amqp_url: str) -> int | None:
    with DeadLetters(amqp_url) as store:
        return store.counts([QUEUE])[f"{QUEUE}.XQ"]


def test_a_dead_letter_is_listed_replayed_after_the_fix_and_then_succeeds(rabbit):
    token = uuid.uuid4().hex
    sent = flaky.send(token)
    assert wait_until(lambda: _dead_count(rabbit) == 1, timeout=20), "the failing message was not dead-lettered"

    code, out = _cli("dlq", "list", "--queue", QUEUE, "--json")
    assert code == 0, out
    listed = json.loads(out)
    assert listed["counts"] == {f"{QUEUE}.XQ": 1}
    [item] = listed["items"]
    assert item["message_id"] == sent.message_id
    assert item["actor"] == "test.flaky" and item["queue"] == QUEUE and item["dead_letter_queue"] == f"{QUEUE}.XQ"
    assert item["args"] == [token] and item["death_reason"] == "rejected"
    assert item["reason"] == f"RuntimeError: store unavailable ({token})"  # from the retried failure
    assert 0 <= item["age_seconds"] < 60
    assert _dead_count(rabbit) == 1, "listing must leave the message in the dead-letter queue"
    depths = rabbitmq_queue_depths(rabbit, [QUEUE, f"{QUEUE}.XQ", "sixdeg_never_declared"])
    assert (depths[QUEUE].dead, depths["sixdeg_never_declared"].dead) == (1, 0)  # what /metrics reports

    code, out = _cli("dlq", "show", sent.message_id, "--queue", QUEUE, "--json")
    assert code == 0, out
    assert "RuntimeError" in json.loads(out)["traceback"]

    code, out = _cli("dlq", "list", "--queue", QUEUE)
    assert code == 0 and sent.message_id in out and "test.flaky" in out

    FAULT.clear()  # the operator fixes the cause
    code, out = _cli("dlq", "replay", sent.message_id, "--queue", QUEUE)
    assert code == 0, out
    assert f"replayed {sent.message_id} (test.flaky) → {QUEUE}" in out
    assert wait_until(lambda: (token, sent.message_id) in _succeeded, timeout=20), "the replayed message did not run"
    assert _dead_count(rabbit) == 0


def test_replay_all_and_purge(rabbit):
    tokens = [uuid.uuid4().hex for _ in range(3)]
    ids = [flaky.send(t).message_id for t in tokens]
    assert wait_until(lambda: _dead_count(rabbit) == 3, timeout=20)

    code, out = _cli("dlq", "purge", ids[0], "--queue", QUEUE, "--yes", "--json")
    assert code == 0, out
    assert [p["message_id"] for p in json.loads(out)["purge"]] == [ids[0]]
    assert _dead_count(rabbit) == 2

    FAULT.clear()
    code, out = _cli("dlq", "replay", "--all", "--queue", QUEUE, "--json")
    assert code == 0, out
    assert sorted(r["message_id"] for r in json.loads(out)["replay"]) == sorted(ids[1:])
    assert wait_until(lambda: {t for t, _ in _succeeded} >= set(tokens[1:]), timeout=20)
    assert tokens[0] not in {t for t, _ in _succeeded}
    assert _dead_count(rabbit) == 0


def test_a_replayed_message_that_fails_again_returns_to_the_dead_letter_queue(rabbit):
    sent = flaky.send(uuid.uuid4().hex)
    assert wait_until(lambda: _dead_count(rabbit) == 1, timeout=20)
    code, out = _cli("dlq", "replay", "--all", "--queue", QUEUE)
    assert code == 0, out
    assert wait_until(lambda: _dead_count(rabbit) == 1, timeout=20)
    with DeadLetters(rabbit) as store:
        [letter] = store.list([QUEUE])
    assert letter.message_id == sent.message_id and letter.options["replays"] == 1


def test_errors_say_what_went_wrong_and_what_to_do(rabbit):
    code, out = _cli("dlq", "replay", "no-such-id", "--queue", QUEUE)
    assert code == 1 and "no dead letter no-such-id" in out and "sixdeg dlq list" in out
    code, out = _cli("dlq", "replay", "--queue", QUEUE)
    assert code == 2 and "give one MESSAGE_ID or --all" in out
    code, out = _cli("dlq", "list", "--queue", "never_declared_queue")
    assert code == 0 and "never_declared_queue.XQ" in out and "(not declared)" in out


def test_the_in_process_broker_has_no_dead_letters_to_manage(monkeypatch, tmp_path):
    monkeypatch.setenv("SIXDEG_BROKER_URL", "memory")
    monkeypatch.setenv("SIXDEG_DATA_DIR", str(tmp_path))
    code, out = _cli("dlq", "list", "--queue", QUEUE)
    assert code == 1 and "SIXDEG_BROKER_URL" in out and "amqp://" in out
