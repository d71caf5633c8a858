"""10,000 signed webhooks over HTTP through the production API server (gunicorn), Postgres and RabbitMQ, applied
by a real worker process that is killed (SIGKILL) in the middle: every accepted event takes effect exactly once,
none is lost."""

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
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from standardwebhooks.webhooks import Webhook

from pipelines.db import unit_of_work
from pipelines.models import Contact, WebhookEvent
from tests.conftest import ROOT
from tests.support import messaging
from tests.support.people import seed_user

CONTACTS = int(os.environ.get("SIXDEG_TEST_BURST_CONTACTS", "5000"))  # an upsert and an update each: 10,000 events
DRAMATIQ = str(Path(sys.executable).parent / "dramatiq")
GUNICORN = str(Path(sys.executable).parent / "gunicorn")


def _env(config) -> dict[str, str]:
    return {
        **os.environ,
        "SIXDEG_DATABASE_URL": config.database_url,
        "SIXDEG_BROKER_URL": config.broker_url,
        "SIXDEG_DATA_DIR": str(config.data_dir),
        "SIXDEG_SECRET_KEY": config.secret_key,
    }


def _worker(config) -> subprocess.Popen:
    return subprocess.Popen(
        [DRAMATIQ, "actors", "--processes", "1", "--threads", "4", "--queues", "webhooks", "projections"],
        env=_env(config),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _processed(config) -> int:
    with unit_of_work(config) as session:
        return session.scalar(select(func.count()).where(WebhookEvent.processed_at.is_not(None)))


def _gunicorn(config) -> tuple[subprocess.Popen, str]:
    from tests.conftest import _port_open

    port = _free_port()
    process = subprocess.Popen(
        [GUNICORN, "--workers", "3", "--bind", f"127.0.0.1:{port}", "--log-level", "warning", "api:create_app()"],
        env=_env(config),
        cwd=ROOT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while _port_open(f"http://127.0.0.1:{port}", port) and time.monotonic() < deadline:
        time.sleep(0.2)
    return process, f"http://127.0.0.1:{port}"


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.timeout(900)
def test_a_burst_survives_a_killed_worker(postgres_config, amqp_url, broker_setup):
    """Events go over HTTP to gunicorn (as production runs the API); the worker is SIGKILLed while they arrive."""
    import requests

    config = replace(postgres_config, broker_url=amqp_url)
    broker_setup(config)
    alice = seed_user(config, "alice@example.com", contacts=[])
    with unit_of_work(config) as session:
        from pipelines import webhooks
        from pipelines.models import User

        source, secret = webhooks.create_source(session, config.secret_key, session.get(User, alice.user_id), "crm")
        source_id = source.id
    signer = Webhook(secret)
    start = datetime.now(tz=UTC) - timedelta(seconds=30)
    server, base = _gunicorn(config)
    local = threading.local()

    def send(number: int) -> int:
        contact, version = divmod(number, 2)
        event = {
            "type": "contact.upserted",
            "data": {"id": f"c{contact}", "given_name": f"Person{contact}", "company": f"v{version}"},
        }
        body = json.dumps(event)
        at = start + timedelta(seconds=version)  # the update is stamped a second after the upsert
        headers = {
            "webhook-id": f"msg_{number}",
            "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": signer.sign(f"msg_{number}", at, body),
            "Content-Type": "application/json",
        }
        if not hasattr(local, "http"):
            local.http = requests.Session()
        return local.http.post(f"{base}/v1/webhooks/{source_id}", data=body, headers=headers, timeout=30).status_code

    worker = _worker(config)
    statuses: Counter[int] = Counter()
    try:
        began = time.monotonic()
        with ThreadPoolExecutor(max_workers=6) as pool:
            sending = pool.map(send, range(2 * CONTACTS))
            assert messaging.wait_until(lambda: _processed(config) >= 1_000, timeout=300)
            os.killpg(worker.pid, signal.SIGKILL)  # mid-burst: its unacked messages go back to the queue
            worker.wait(10)
            killed_at = _processed(config)
            time.sleep(1)
            worker = _worker(config)
            statuses.update(sending)
        print(f"sent {2 * CONTACTS} in {time.monotonic() - began:.1f} s; killed the worker at {killed_at} processed")
        assert statuses == {202: 2 * CONTACTS}
        assert killed_at < 2 * CONTACTS, "the worker finished before it could be killed: make the burst bigger"
        assert messaging.wait_until(lambda: _processed(config) == 2 * CONTACTS, timeout=600, interval=0.5)
    finally:
        for process in (worker, server):
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(30)
        for queue in ("webhooks", "projections"):
            messaging.delete_rabbit_queues(amqp_url, queue)
    with unit_of_work(config) as session:
        outcomes = Counter(session.scalars(select(WebhookEvent.outcome)))
        contacts = session.execute(
            select(Contact.external_key, Contact.fields).where(Contact.source_id == source_id)
        ).all()
        events = session.scalar(select(func.count()).select_from(WebhookEvent))
    assert events == 2 * CONTACTS
    # Per contact the upsert and the update (stamped a second later) each ran once: processed in that order,
    # "created" then "updated"; the other way round or in one batch, the update "created" it and the upsert was
    # skipped. Never applied twice, never lost.
    assert outcomes["created"] == CONTACTS, outcomes.most_common(5)
    assert outcomes["updated"] + sum(n for o, n in outcomes.items() if o and o.startswith("skipped")) == CONTACTS
    assert len(contacts) == CONTACTS
    assert all(fields["company"] == "v1" for _key, fields in contacts)
