"""Sentry, metrics and logs end to end: a real sentry-sdk sending to a capture server on loopback, a real
`dramatiq` worker command on RabbitMQ (its own vhost via SIXDEG_TEST_AMQP_URL), nothing personal in any event."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from urllib.request import urlopen

import dramatiq
import pytest
from flask import request
from prometheus_client.parser import text_string_to_metric_families

from api import create_app
from pipelines.observability import logs
from tests.conftest import ROOT
from tests.support import observability_actors as leaky_actors
from tests.support.messaging import delete_rabbit_queues, wait_until
from tests.support.sentry_capture import SentryCapture

NAME, EMAIL, PHONE = leaky_actors.NAME, leaky_actors.EMAIL, leaky_actors.PHONE
SECRETS = (NAME, EMAIL, PHONE, "Quackenbush", "zebulon", "7946", "sdg_secret_token", "session-cookie-value")


def _assert_nothing_personal(event: dict) -> None:
    serialized = json.dumps(event, ensure_ascii=False).lower()
    for secret in SECRETS:
        assert secret.lower() not in serialized, f"{secret!r} leaked into the Sentry event: {serialized[:3000]}"


def _assert_reported(event: dict, environment: str) -> None:
    assert event["release"].startswith("sixdeg@")
    assert event["environment"] == environment
    frames = event["exception"]["values"][-1]["stacktrace"]["frames"]
    assert frames and all("vars" not in f for f in frames)
    assert event["exception"]["values"][-1]["type"] == "RuntimeError"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_exception_in_a_request_reaches_sentry_scrubbed(migrated_sqlite_config, broker_setup):
    with SentryCapture() as capture:
        config = replace(migrated_sqlite_config, sentry_dsn=capture.dsn, environment="staging-obs")
        app = create_app(config)

        @app.post("/v1/test-boom")
        def boom():  # a view that holds a contact from the request body and fails with it in the message
            contact = request.get_json()
            raise RuntimeError(f"cannot import {contact['name']!r} <{contact['email']}> {contact['phone']}")

        response = app.test_client().post(
            f"/v1/test-boom?q={NAME.replace(' ', '+')}&email={EMAIL}",
            json={"name": NAME, "email": EMAIL, "phone": PHONE},
            headers={
                "Cookie": "sixdeg_session=session-cookie-value",
                "X-Request-ID": "req-obs-api-1",
                "X-Contact": EMAIL,
            },
        )
        assert response.status_code == 500
        assert response.headers["X-Request-ID"] == "req-obs-api-1"
        events = capture.wait_for(lambda e: e.get("exception"))
        assert events, "no event reached the capture server"
        event = events[0]
        _assert_reported(event, "staging-obs")
        assert event["tags"]["request_id"] == "req-obs-api-1"
        assert "[redacted]" in event["exception"]["values"][-1]["value"]
        for raw in capture.raw:
            assert EMAIL.encode() not in raw and NAME.encode() not in raw and b"7946" not in raw
        for e in capture.events:
            _assert_nothing_personal(e)


def _worker_env(config, capture_dsn: str, metrics_port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIXDEG_")}
    env.update(
        SIXDEG_DATA_DIR=str(config.data_dir),
        SIXDEG_DATABASE_URL=config.database_url,
        SIXDEG_BROKER_URL=config.broker_url,
        SIXDEG_SENTRY_DSN=capture_dsn,
        SIXDEG_ENVIRONMENT="ci-obs",
        SIXDEG_LOG_FORMAT="json",
        SIXDEG_METRICS_PORT=str(metrics_port),
        SIXDEG_MIGRATE_ON_BOOT="0",
        PYTHONPATH=str(ROOT),
    )
    return env


def _scrape(port: int) -> dict[str, float]:
    text = urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    return {
        sample.name + json.dumps(sample.labels, sort_keys=True): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


@pytest.mark.rabbitmq
def test_a_real_dramatiq_worker_reports_scrubbed_errors_metrics_and_request_ids(
    migrated_sqlite_config, amqp_url, broker_setup, tmp_path
):
    config = replace(migrated_sqlite_config, broker_url=amqp_url)
    delete_rabbit_queues(amqp_url, leaky_actors.QUEUE)
    broker_setup(config)  # the test process sends through RabbitMQ; the actors move onto this broker
    dramatiq.get_broker().declare_actor(leaky_actors.leaky)
    dramatiq.get_broker().declare_actor(leaky_actors.fine)
    port = _free_port()
    log_path = tmp_path / "worker.log"
    with SentryCapture() as capture, log_path.open("w") as log_file:
        worker = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("dramatiq")),
                "actors",
                "tests.support.observability_actors",
                "--processes",
                "2",
                "--threads",
                "1",
                "--queues",
                leaky_actors.QUEUE,
                "--path",
                str(ROOT),
            ],
            cwd=ROOT,
            env=_worker_env(config, capture.dsn, port),
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            with logs.bound(request_id="req-obs-worker-1"):  # as the API binds it for a request
                message = leaky_actors.leaky.send(7)
                leaky_actors.fine.send(8)
            events = capture.wait_for(lambda e: e.get("exception"), timeout=60)
            assert events, f"no event from the worker; its log:\n{log_path.read_text()[-4000:]}"
            event = events[0]
            _assert_reported(event, "ci-obs")
            assert event["tags"]["request_id"] == "req-obs-worker-1"
            assert event["tags"]["message_id"] == message.message_id
            assert event["tags"]["process"] == "worker"
            for e in capture.events:
                _assert_nothing_personal(e)

            # One exposition server for the command (2 worker processes): dramatiq's and sixdeg's metrics summed.
            def scraped() -> dict[str, float] | None:
                try:
                    samples = _scrape(port)
                except OSError:
                    return None
                done = sum(v for k, v in samples.items() if k.startswith("dramatiq_messages_total"))
                return samples if done >= 2 else None

            assert wait_until(scraped, timeout=30), f"worker metrics not served; log:\n{log_path.read_text()[-3000:]}"
            samples = scraped()
            errors = {k: v for k, v in samples.items() if k.startswith("dramatiq_message_errors_total")}
            assert sum(errors.values()) == 1, errors
            assert any(k.startswith("sixdeg_build_info") for k in samples)
        finally:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(timeout=30)
    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line.startswith("{")]
    processing = [line for line in lines if "processing row 7" in line.get("event", "")]
    assert processing, f"no JSON log line from the actor: {log_path.read_text()[-3000:]}"
    assert processing[0]["request_id"] == "req-obs-worker-1"
    assert processing[0]["message_id"] == message.message_id
    text = log_path.read_text()
    assert EMAIL not in text and PHONE not in text, "contact details in the worker's logs"
    delete_rabbit_queues(amqp_url, leaky_actors.QUEUE)


def test_the_worker_metrics_fork_is_the_only_listener():
    """Documented behaviour: the exposition server is a Dramatiq fork (one per command), never per process."""
    from actors.broker import worker_metrics_middleware
    from pipelines.observability.metrics import serve_worker_metrics

    assert worker_metrics_middleware().forks == [serve_worker_metrics]
