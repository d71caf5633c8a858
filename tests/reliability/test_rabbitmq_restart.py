"""Drill: RabbitMQ restarted in the middle of an import and of a webhook burst (docs/reliability.md, drill 2).

The shared RabbitMQ on 5672 is never touched: a private node (tests/support/private_rabbitmq.py: Debian's
`rabbitmq-server` with its own node name, ports, cookie and mnesia directory) carries the drill's messages. In
the middle of the work it is stopped (`rabbitmqctl stop`: every client sees its connection closed), stays down a
few seconds, and is started again on the same data directory, so its durable queues and persistent messages come
back as after a real broker restart. The worker (a real `dramatiq actors` process) and the API (gunicorn) are not
restarted: they must reconnect by themselves.

1. Import: a worker is importing a file when the broker goes away. The import's message is unacked on the
   connection that dies, so RabbitMQ delivers it again when the worker reconnects, while the first delivery may
   still be running in the same worker.
2. Webhook burst: signed events arrive through the API (several senders, each retrying an event until it is
   accepted) while the broker goes away.

Each final state must equal that of an undisturbed run of the same work on the same node: Postgres, Neo4j and
search fingerprints equal, both projections at Postgres's versions, the import job's counts exact (no batch
counted twice), nothing unsent in the outbox, no dead letters.
"""

from __future__ import annotations

import os
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from pipelines.config import Config
from pipelines.db import dispose_engines
from pipelines.models import Import
from tests.conftest import service_unavailable
from tests.support import drills
from tests.support.private_rabbitmq import PrivateRabbitMQ, server_installed
from tests.support.webhook_burst import (
    WebhookBurst,
    create_source,
    gunicorn,
    problem_503,
    processed_events,
    processes,
    stop_process,
    stored_events,
)

CONTACTS = int(os.environ.get("SIXDEG_DRILL_RABBIT_CONTACTS", "5000"))
WEBHOOK_CONTACTS = int(os.environ.get("SIXDEG_DRILL_RABBIT_WEBHOOKS", "300"))  # an upsert and an update each
AFTER_CONTACTS = 50  # the second burst, after recovery
DOWN_SECONDS = 5
SEED = 20261128


@pytest.fixture(scope="module")
def rabbit() -> Iterator[PrivateRabbitMQ]:
    """The drill's own RabbitMQ node, with the `drills` vhost (destroyed after the module)."""
    if not server_installed():
        service_unavailable(
            "rabbitmq-server", "no /usr/lib/rabbitmq/bin/rabbitmq-server (apt-get install rabbitmq-server)"
        )
    node = PrivateRabbitMQ()
    try:
        node.start()
        drills.ensure_vhost(node.api_url)
        yield node
    finally:
        node.destroy()


@pytest.fixture
def private_queues(rabbit: PrivateRabbitMQ) -> Iterator[str]:
    """The private node running (a failed drill may have left it stopped), its drill queues empty."""
    if not rabbit.running():
        rabbit.start()
    url = drills.vhost_url(rabbit.amqp_url)
    drills.purge_queues(url)
    yield url
    if rabbit.running():
        drills.purge_queues(url)


def restart(node: PrivateRabbitMQ) -> dict[str, float]:
    """Stop the node, keep it down DOWN_SECONDS, start it again; how long each part took."""
    began = time.monotonic()
    node.stop()
    stopped = time.monotonic()
    time.sleep(DOWN_SECONDS)
    node.start()
    return {
        "stop_seconds": round(stopped - began, 1),
        "unavailable_seconds": round(time.monotonic() - began, 1),
    }


@contextmanager
def holding_import_row(config: Config, import_id: int) -> Iterator[None]:
    """Lock the import job's row (`SELECT ... FOR UPDATE`) for the block, so the batch in flight cannot commit
    its checkpoint: the first delivery is still running when RabbitMQ is back, as a big import's would be (a
    100,000-contact import takes minutes; a broker restart, seconds). Without it the drill's small import would
    finish while the broker is down, and the redelivered message would only find it done."""
    engine = create_engine(config.database_url)
    try:
        with engine.begin() as connection:
            connection.execute(select(Import.id).where(Import.id == import_id).with_for_update())
            yield
    finally:
        engine.dispose()


def settle(config: Config, worker: drills.Worker, neo4j_driver: object, api_url: str) -> None:
    """Wait until nothing is unsent or queued and the projections equal Postgres, and then until the worker has
    written nothing for 3 s; then check that again (whatever it was still doing may have sent more work)."""

    def explain() -> str:
        return (
            f"unsent {drills.unsent(config)}, queued {drills.queued(api_url)}, "
            f"{drills.drift_report(config, neo4j_driver)}"
        )

    assert drills.wait_settled(config, worker, neo4j_driver, api_url, 300), f"not converged: {explain()}"
    assert drills.wait_quiet(config, 3, 120), f"the worker is still writing: {drills.open_transactions(config)}"
    assert drills.wait_settled(config, worker, neo4j_driver, api_url, 300), f"not converged: {explain()}"
    worker.check()


def log_count(log: Path, needle: str) -> int:
    return log.read_text(errors="replace").count(needle) if log.exists() else 0


# --- 1. Import --------------------------------------------------------------------------------------------------


def run_import(
    postgres_url: str,
    node: PrivateRabbitMQ,
    amqp_url: str,
    stores: dict,
    tmp_path: Path,
    source: Path,
    *,
    id_offset: int,
    restart_: bool,
) -> tuple[drills.Fingerprint, dict]:
    """Import `source` into a fresh database with a real worker; with `restart_`, restart RabbitMQ once the import
    is partway. Wait until everything settled; return the fingerprint and what happened."""
    stats: dict = {}
    log = tmp_path / f"worker-{id_offset}.log"
    with drills.fresh_database(
        postgres_url,
        tmp_path,
        id_offset=id_offset,
        broker_url=amqp_url,
        graph_url=stores["graph_url"],
        search_url=stores["search_url"],
        search_index=f"drill_{uuid.uuid4().hex[:10]}",
        outbox_grace=2.0,
    ) as config:
        from actors import broker as broker_module

        broker_module.setup(config)  # this process's publisher (and the sweeper's): the private node
        worker = drills.Worker(config, log=log).start()
        began = time.monotonic()
        try:
            user_id = drills.create_user(config, "drill@example.com")
            import_id = drills.request_import(config, user_id, source)
            if restart_:
                assert drills.wait_until(
                    lambda: worker.check() and drills.rows_done(config, import_id) > 0, 120, interval=0.1
                ), f"the import did not start: {drills.import_row(config, import_id).status}"
                with holding_import_row(config, import_id):
                    stats["restart_at_rows"] = drills.rows_done(config, import_id)
                    stats.update(restart(node))
                    # The message of the running import was unacked on the connection that died: RabbitMQ
                    # requeued it, and the reconnected worker takes it while the first delivery still runs.
                    stats["redelivered_while_running"] = drills.wait_until(
                        lambda: (
                            worker.check()
                            and drills.queue_state(node.api_url, "imports").get("messages_unacknowledged", 0) > 0
                        ),
                        60,
                        interval=0.5,
                    )
                    time.sleep(2)  # let the second delivery get going
            assert drills.wait_until(
                lambda: worker.check() and drills.import_done(config, import_id), 300, interval=0.5
            ), f"import not done: {drills.import_row(config, import_id).status}"
            stats["import_seconds"] = round(time.monotonic() - began, 1)
            settle(config, worker, stores["neo4j"], node.api_url)
            stats["settled_seconds"] = round(time.monotonic() - began, 1)
            worker.stop()
            job = drills.import_row(config, import_id)
            stats["job"] = (job.rows_done, job.contacts, job.errors, job.people_created)
            stats["status"] = (job.status.value, job.failure)
            fingerprint = drills.state_fingerprint(config, neo4j_driver=stores["neo4j"])
            stats["unsent"] = drills.unsent(config)
            stats["dead_letters"] = drills.dead_letters(amqp_url)
            stats["connection_errors"] = log_count(log, "Consumer encountered a connection error")
            stats["deliveries_that_waited"] = log_count(log, "is held elsewhere")
        finally:
            worker.stop()
            drills.cleanup_run(config, stores["neo4j"], id_offset)
    return fingerprint, stats


@pytest.mark.timeout(600)
def test_rabbitmq_restart_during_an_import_changes_nothing(
    postgres_url: str,
    rabbit: PrivateRabbitMQ,
    private_queues: str,
    stores: dict,
    id_base: int,
    tmp_path: Path,
    broker_setup,
) -> None:
    source = drills.write_contacts_csv(tmp_path / "contacts.csv", CONTACTS, seed=SEED)

    reference, quiet = run_import(
        postgres_url, rabbit, private_queues, stores, tmp_path, source, id_offset=id_base, restart_=False
    )
    drills.purge_queues(private_queues)
    drilled, restarted = run_import(
        postgres_url,
        rabbit,
        private_queues,
        stores,
        tmp_path,
        source,
        id_offset=id_base + drills.ID_SPAN,
        restart_=True,
    )
    print(f"undisturbed: {quiet}\nrestarted: {restarted}")

    assert restarted["restart_at_rows"] < CONTACTS, "the import finished before the restart: make it bigger"
    assert restarted["connection_errors"] > 0, "the worker never noticed the broker going away"
    assert restarted["redelivered_while_running"], "the worker did not take the redelivered import message"
    assert quiet["job"] == restarted["job"] == (CONTACTS, CONTACTS, 0, CONTACTS)
    assert quiet["status"] == restarted["status"] == ("done", None)  # never marked failed on the way
    for stats in (quiet, restarted):
        assert stats["unsent"] == 0
        assert stats["dead_letters"] == {}
    assert reference.drift == drilled.drift == {"graph": {"stale": 0, "extra": 0}, "search": {"stale": 0, "extra": 0}}
    assert reference.postgres["people"]["count"] == CONTACTS + 1  # the user's own person too
    assert drilled.comparable() == reference.comparable()


# --- 2. Webhook burst -------------------------------------------------------------------------------------------


def run_burst(
    postgres_url: str,
    node: PrivateRabbitMQ,
    amqp_url: str,
    stores: dict,
    tmp_path: Path,
    *,
    id_offset: int,
    restart_: bool,
) -> tuple[drills.Fingerprint, dict]:
    """Send 2 x WEBHOOK_CONTACTS events through gunicorn (each until accepted); with `restart_`, restart RabbitMQ
    once half are accepted. Wait until every event is processed and everything settled."""
    stats: dict = {}
    log = tmp_path / f"worker-{id_offset}.log"
    with drills.fresh_database(
        postgres_url,
        tmp_path,
        id_offset=id_offset,
        broker_url=amqp_url,
        graph_url=stores["graph_url"],
        search_url=stores["search_url"],
        search_index=f"drill_{uuid.uuid4().hex[:10]}",
        outbox_grace=2.0,
    ) as config:
        from actors import broker as broker_module

        broker_module.setup(config)
        source_id, secret = create_source(config)
        worker = drills.Worker(config, queues=("webhooks", "projections"), log=log).start()
        server, base = gunicorn(config)
        burst = WebhookBurst(base, source_id, secret, WEBHOOK_CONTACTS, retryable=problem_503)
        events = 2 * WEBHOOK_CONTACTS
        before: dict = {}

        def restart_rabbitmq(burst: WebhookBurst) -> None:
            assert drills.wait_until(lambda: burst.accepted >= events // 2, 120)
            before["processes"] = processes(server.pid)
            before["statuses"] = Counter(burst.statuses)
            stats.update(restart(node))
            stats["outage_statuses"] = dict(burst.statuses - before["statuses"])
            stats["accepted_when_back"] = burst.accepted

        began = time.monotonic()
        try:
            burst.run(restart_rabbitmq if restart_ else None)
            stats["burst_seconds"] = round(time.monotonic() - began, 1)
            stats["statuses"] = dict(burst.statuses)
            stats["bad"] = burst.bad[:5]
            stats["accepted"] = burst.accepted
            stats["slowest_request"] = round(burst.slowest, 2)
            stats["unsent_after_burst"] = drills.unsent(config)

            # After recovery: the API publishes straight after its commits again (its publisher reconnected by
            # itself), so a second, smaller burst leaves no unsent outbox row once what the outage left is swept.
            assert drills.wait_until(lambda: drills.sweep_outbox(config) >= 0 and not drills.unsent(config), 60)
            after = WebhookBurst(base, source_id, secret, AFTER_CONTACTS, first_contact=WEBHOOK_CONTACTS)
            after.run()
            stats["after_statuses"] = dict(after.statuses)
            stats["bad"] += after.bad[:5]
            stats["accepted"] += after.accepted
            # Without a sweep: only the publishers right after the commits can send these rows. The wait covers a
            # worker's own outbox row committed a moment before it is marked sent.
            drills.wait_until(lambda: not drills.unsent(config), 10)
            stats["unsent_after_second_burst"] = drills.unsent(config)

            def processed() -> int:
                worker.check()
                drills.sweep_outbox(config)
                return processed_events(config)

            assert drills.wait_until(lambda: processed() == events + 2 * AFTER_CONTACTS, 240, interval=1.0), processed()
            settle(config, worker, stores["neo4j"], node.api_url)
            stats["settled_seconds"] = round(time.monotonic() - began, 1)
            stats["same_processes"] = not restart_ or processes(server.pid) == before["processes"]
            worker.check()
            worker.stop()
            stop_process(server)
            fingerprint = drills.state_fingerprint(config, neo4j_driver=stores["neo4j"])
            stats["events"] = stored_events(config)
            stats["unsent"] = drills.unsent(config)
            stats["dead_letters"] = drills.dead_letters(amqp_url)
            stats["connection_errors"] = log_count(log, "Consumer encountered a connection error")
        finally:
            worker.stop()
            stop_process(server)
            drills.cleanup_run(config, stores["neo4j"], id_offset)
            dispose_engines()
    return fingerprint, stats


@pytest.mark.timeout(600)
def test_rabbitmq_restart_during_a_webhook_burst_loses_nothing(
    postgres_url: str,
    rabbit: PrivateRabbitMQ,
    private_queues: str,
    stores: dict,
    id_base: int,
    tmp_path: Path,
    broker_setup,
) -> None:
    reference, quiet = run_burst(
        postgres_url, rabbit, private_queues, stores, tmp_path, id_offset=id_base, restart_=False
    )
    drills.purge_queues(private_queues)
    drilled, restarted = run_burst(
        postgres_url, rabbit, private_queues, stores, tmp_path, id_offset=id_base + drills.ID_SPAN, restart_=True
    )
    print(f"undisturbed: {quiet}\nrestarted: {restarted}")

    events = 2 * (WEBHOOK_CONTACTS + AFTER_CONTACTS)
    assert quiet["statuses"] == {202: 2 * WEBHOOK_CONTACTS}
    # While RabbitMQ is down the API accepts every event: it is stored with its outbox row in one statement; the
    # API's background publisher sends the row once the broker is back, or the sweeper does (never a 500, never a
    # 503). Whether rows are still unsent when the burst ends depends on which of them gets there first.
    assert restarted["bad"] == [], restarted["bad"]
    assert restarted["outage_statuses"].get(202, 0) > 0, "no event arrived while RabbitMQ was down"
    assert set(restarted["statuses"]) == {202}, restarted["statuses"]
    assert restarted["same_processes"], "the API's processes were restarted"
    assert restarted["connection_errors"] > 0, "the worker never noticed the broker going away"
    for stats in (quiet, restarted):
        assert stats["after_statuses"] == {202: 2 * AFTER_CONTACTS}
        assert stats["unsent_after_second_burst"] == 0  # published at once again: the API's publisher reconnected
        assert stats["accepted"] == stats["events"] == events  # every accepted event stored once
        assert stats["unsent"] == 0
        assert stats["dead_letters"] == {}
    assert reference.drift == drilled.drift == {"graph": {"stale": 0, "extra": 0}, "search": {"stale": 0, "extra": 0}}
    assert drilled.comparable() == reference.comparable()
