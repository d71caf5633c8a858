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

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from standardwebhooks.webhooks import Webhook

from pipelines.config import Config
from pipelines.db import dispose_engines, unit_of_work
from pipelines.models import User, WebhookEvent
from tests.conftest import ROOT, _port_open, service_unavailable
from tests.support import drills
from tests.support.private_postgres import PrivatePostgres, server_bin

EVENTS = int(os.environ.get("SIXDEG_DRILL_WEBHOOK_EVENTS", "500"))  # contacts: an upsert and an update each
DOWN_SECONDS = 6
GUNICORN = str(Path(sys.executable).parent / "gunicorn")


def _gunicorn(config: Config) -> tuple[subprocess.Popen, str]:
    with __import__("socket").socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [GUNICORN, "--workers", "2", "--bind", f"127.0.0.1:{port}", "--log-level", "warning", "api:create_app()"],
        env=drills.process_env(config),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    assert drills.wait_until(lambda: _port_open(f"http://127.0.0.1:{port}", port) is None, 60)
    return process, f"http://127.0.0.1:{port}"


def _children(pid: int) -> set[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return {int(p) for p in found}


def run_burst(cluster: PrivatePostgres, database: str, amqp_url: str, tmp_path: Path, *, restart: bool) -> tuple:
    """Send EVENTS webhook events (each until accepted); with `restart`, stop Postgres in the middle."""
    import requests

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
    from pipelines import webhooks
    from pipelines.migrate import upgrade

    upgrade(config)
    broker_module.setup(config)
    user_id = drills.create_user(config, "webhooks@example.com")
    with unit_of_work(config) as session:
        source, secret = webhooks.create_source(session, config.secret_key, session.get(User, user_id), "crm")
        source_id = source.id
    signer = Webhook(secret)
    start = datetime.now(tz=UTC) - timedelta(seconds=30)
    worker = drills.Worker(config, queues=("webhooks", "projections"), log=tmp_path / f"{database}.log").start()
    server, base = _gunicorn(config)
    processes_before: set[int] = set()
    statuses: Counter[int] = Counter()
    bad: list[str] = []
    accepted = 0
    lock = threading.Lock()
    local = threading.local()

    def send(number: int) -> None:
        nonlocal accepted
        contact, version = divmod(number, 2)
        body = json.dumps(
            {
                "type": "contact.upserted",
                "data": {"id": f"c{contact}", "given_name": f"Person{contact}", "company": f"v{version}"},
            }
        )
        at = start + timedelta(seconds=version)
        headers = {
            "webhook-id": f"msg_{number}",
            "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": signer.sign(f"msg_{number}", at, body),
            "Content-Type": "application/json",
        }
        if not hasattr(local, "http"):
            local.http = requests.Session()
        for _attempt in range(200):
            try:
                response = local.http.post(f"{base}/v1/webhooks/{source_id}", data=body, headers=headers, timeout=20)
            except requests.RequestException as exc:
                with lock:
                    bad.append(f"event {number}: {exc}")
                return
            with lock:
                statuses[response.status_code] += 1
            if response.status_code == 202:
                with lock:
                    accepted += 1
                return
            if response.status_code != 503 or not response.headers["Content-Type"].startswith(
                "application/problem+json"
            ):
                with lock:
                    bad.append(f"event {number}: {response.status_code} {response.text[:200]}")
                return
            time.sleep(0.5)
        with lock:
            bad.append(f"event {number}: never accepted")

    downtime = 0.0
    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            futures = [pool.submit(send, n) for n in range(2 * EVENTS)]
            if restart:
                assert drills.wait_until(lambda: accepted >= EVENTS // 2, 120)
                processes_before = {server.pid} | _children(server.pid)  # the API's processes, all booted
                stopped = time.monotonic()
                cluster.stop()
                time.sleep(DOWN_SECONDS)
                cluster.start()
                downtime = time.monotonic() - stopped
            for future in futures:
                future.result()
        assert not bad, bad[:5]
        assert accepted == 2 * EVENTS

        def processed() -> int:
            worker.check()
            drills.sweep_outbox(config)
            with unit_of_work(config) as session:
                return session.scalar(select(func.count()).where(WebhookEvent.processed_at.is_not(None)))

        assert drills.wait_until(lambda: processed() == 2 * EVENTS, 240, interval=1.0), processed()
        processes_after = {server.pid} | _children(server.pid) if restart else set()
    finally:
        for process in (worker, server):
            if isinstance(process, drills.Worker):
                process.stop()
            elif process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(30)
    fingerprint = drills.state_fingerprint(config)
    with unit_of_work(config) as session:
        events = session.scalar(select(func.count()).select_from(WebhookEvent))
    stats = {
        "statuses": dict(statuses),
        "downtime": round(downtime, 1),
        "events": events,
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
