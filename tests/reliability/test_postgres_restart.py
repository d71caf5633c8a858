"""Drill: Postgres stopped and started while webhooks arrive (docs/reliability.md, drill 4).

A private Postgres cluster (tests/support/private_postgres.py; the shared one stays up) backs a real API server
(gunicorn) and a real worker (RabbitMQ, the `drills` vhost). Signed webhook events are sent over HTTP by several
clients, each retrying an event until it is accepted, as a webhook sender does. In the middle, Postgres is
stopped (fast shutdown) for a few seconds and started again. While it is down the API must answer 503
problem+json (never a 500, never a hang past the client's timeout); afterwards it must answer again without any
of its processes being restarted, and every accepted event must take effect exactly once: the final state
equals that of an undisturbed run of the same events.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from pipelines.config import Config
from pipelines.db import dispose_engines
from tests.conftest import service_unavailable
from tests.support import drills
from tests.support.private_postgres import PrivatePostgres, server_bin
from tests.support.webhook_burst import (
    WebhookBurst,
    create_source,
    gunicorn,
    processed_events,
    processes,
    stop_process,
    stored_events,
)

EVENTS = int(os.environ.get("SIXDEG_DRILL_WEBHOOK_EVENTS", "500"))  # contacts: an upsert and an update each
DOWN_SECONDS = 6


def run_burst(cluster: PrivatePostgres, database: str, amqp_url: str, tmp_path: Path, *, restart: bool) -> tuple:
    """Send EVENTS webhook events (each until accepted); with `restart`, stop Postgres in the middle."""
    admin = create_engine(cluster.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{database}"'))
    admin.dispose()
    config = Config.from_env(
        {},
        data_dir=tmp_path / database,
        database_url=cluster.database_url(database),
        broker_url=amqp_url,
        metrics=False,
        outbox_grace=2.0,
        backend_timeout=3.0,
    )
    from actors import broker as broker_module
    from pipelines.migrate import upgrade

    upgrade(config)
    broker_module.setup(config)
    source_id, secret = create_source(config)
    worker = drills.Worker(config, queues=("webhooks", "projections"), log=tmp_path / f"{database}.log").start()
    server, base = gunicorn(config)
    burst = WebhookBurst(base, source_id, secret, EVENTS)
    processes_before: set[int] = set()
    downtime = 0.0

    def restart_postgres(burst: WebhookBurst) -> None:
        nonlocal processes_before, downtime
        assert drills.wait_until(lambda: burst.accepted >= EVENTS // 2, 120)
        processes_before = processes(server.pid)  # the API's processes, all booted
        stopped = time.monotonic()
        cluster.stop()
        time.sleep(DOWN_SECONDS)
        cluster.start()
        downtime = time.monotonic() - stopped

    try:
        burst.run(restart_postgres if restart else None)
        assert not burst.bad, burst.bad[:5]
        assert burst.accepted == 2 * EVENTS

        def processed() -> int:
            worker.check()
            drills.sweep_outbox(config)
            return processed_events(config)

        assert drills.wait_until(lambda: processed() == 2 * EVENTS, 240, interval=1.0), processed()
        processes_after = processes(server.pid) if restart else set()
    finally:
        worker.stop()
        stop_process(server)
    fingerprint = drills.state_fingerprint(config)
    stats = {
        "statuses": dict(burst.statuses),
        "downtime": round(downtime, 1),
        "events": stored_events(config),
        "same_processes": processes_before == processes_after,
        "unsent": drills.unsent(config),
        "dead_letters": drills.dead_letters(amqp_url),
    }
    dispose_engines()
    return fingerprint, stats


@pytest.mark.timeout(600)
def test_postgres_restart_gives_503_then_recovers_and_loses_nothing(
    drill_queues: str, tmp_path: Path, broker_setup
) -> None:
    if server_bin() is None:
        service_unavailable("PostgreSQL server binaries", "no initdb under /usr/lib/postgresql")
    cluster = PrivatePostgres()
    try:
        cluster.start()
        reference, quiet = run_burst(cluster, "reference", drill_queues, tmp_path, restart=False)
        drilled, restarted = run_burst(cluster, "drilled", drill_queues, tmp_path, restart=True)
    finally:
        cluster.destroy()
    print(f"undisturbed: {quiet}\nrestarted: {restarted}")

    assert quiet["statuses"] == {202: 2 * EVENTS}
    assert restarted["statuses"].get(503, 0) > 0, "no request arrived while Postgres was down"
    assert set(restarted["statuses"]) <= {202, 503}, restarted["statuses"]
    assert restarted["same_processes"], "the API's processes were restarted"
    for stats in (quiet, restarted):
        assert stats["events"] == 2 * EVENTS  # every accepted event stored once
        assert stats["unsent"] == 0
        assert stats["dead_letters"] == {}
    assert drilled.comparable() == reference.comparable()
