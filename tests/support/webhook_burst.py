"""A webhook burst through a real API server, shared by the drills that restart a backend under it
(tests/reliability/test_postgres_restart.py, test_rabbitmq_restart.py).

- `gunicorn(config)`: the API as production runs it (gunicorn, 2 workers) on a free port.
- `create_source(config, email)`: a user and a webhook source; its id and signing secret.
- `WebhookBurst`: `2 * contacts` signed Standard Webhooks events (an upsert and an update of each contact), sent
  by several client threads, each retrying an event until it is accepted (202), as a webhook sender does. Which
  other answers count as "try again later" is the caller's (by default: 503 problem+json); any other answer, or
  a request that fails or times out, is recorded as bad.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from standardwebhooks.webhooks import Webhook

from pipelines.config import Config
from pipelines.db import unit_of_work
from pipelines.models import User, WebhookEvent
from tests.conftest import ROOT, _port_open
from tests.support import drills

GUNICORN = str(Path(sys.executable).parent / "gunicorn")


def gunicorn(config: Config) -> tuple[subprocess.Popen, str]:
    """Start the API under gunicorn (2 workers) on a free loopback port; returns the process and its base URL."""
    with socket.socket() as sock:
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


def stop_process(process: subprocess.Popen) -> None:
    """SIGTERM a process started in its own session (gunicorn: the master and its workers), and wait for it."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(30)


def processes(pid: int) -> set[int]:
    """`pid` and its children (gunicorn's master and workers), to tell whether any was restarted."""
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return {pid} | {int(p) for p in found}


def create_source(config: Config, email: str = "webhooks@example.com", name: str = "crm") -> tuple[int, str]:
    """A new user with a webhook source: the source's id and its signing secret."""
    from pipelines import webhooks

    user_id = drills.create_user(config, email)
    with unit_of_work(config) as session:
        source, secret = webhooks.create_source(session, config.secret_key, session.get(User, user_id), name)
        return source.id, secret


def processed_events(config: Config) -> int:
    with unit_of_work(config) as session:
        return session.scalar(select(func.count()).where(WebhookEvent.processed_at.is_not(None)))


def stored_events(config: Config) -> int:
    with unit_of_work(config) as session:
        return session.scalar(select(func.count()).select_from(WebhookEvent))


def problem_503(response: Any) -> bool:
    """A 503 problem+json: the API's "try again later" (a sender retries it)."""
    return response.status_code == 503 and response.headers.get("Content-Type", "").startswith(
        "application/problem+json"
    )


class WebhookBurst:
    """Event `n` upserts contact `n // 2`: an even `n` creates it (company `v0`), the odd one updates it (`v1`,
    one second later by its timestamp, so the update wins whatever the processing order). A burst covers
    `contacts` contacts from `first_contact` on (two bursts of one source use distinct ranges)."""

    def __init__(
        self,
        base_url: str,
        source_id: int,
        secret: str,
        contacts: int,
        *,
        first_contact: int = 0,
        threads: int = 4,
        retryable: Callable[[Any], bool] = problem_503,
        attempts: int = 200,
        pause: float = 0.5,
        timeout: float = 20,
    ) -> None:
        self.url = f"{base_url}/v1/webhooks/{source_id}"
        self.signer = Webhook(secret)
        self.numbers = range(2 * first_contact, 2 * (first_contact + contacts))
        self.events = len(self.numbers)
        self.threads = threads
        self.retryable = retryable
        self.attempts = attempts
        self.pause = pause
        self.timeout = timeout
        self.start = datetime.now(tz=UTC) - timedelta(seconds=30)
        self.statuses: Counter[int] = Counter()
        self.bad: list[str] = []
        self.accepted = 0
        self.slowest = 0.0  # seconds, the slowest single request
        self._lock = threading.Lock()
        self._local = threading.local()

    def request(self, number: int) -> tuple[str, dict[str, str]]:
        contact, version = divmod(number, 2)
        body = json.dumps(
            {
                "type": "contact.upserted",
                "data": {"id": f"c{contact}", "given_name": f"Person{contact}", "company": f"v{version}"},
            }
        )
        at = self.start + timedelta(seconds=version)
        headers = {
            "webhook-id": f"msg_{number}",
            "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": self.signer.sign(f"msg_{number}", at, body),
            "Content-Type": "application/json",
        }
        return body, headers

    def send(self, number: int) -> None:
        """Send event `number` until it is accepted; record every status, and anything that is not 202 or a
        retryable answer as bad."""
        import requests

        body, headers = self.request(number)
        if not hasattr(self._local, "http"):
            self._local.http = requests.Session()
        for _attempt in range(self.attempts):
            began = time.monotonic()
            try:
                response = self._local.http.post(self.url, data=body, headers=headers, timeout=self.timeout)
            except requests.RequestException as exc:
                with self._lock:
                    self.bad.append(f"event {number}: {exc}")
                return
            with self._lock:
                self.statuses[response.status_code] += 1
                self.slowest = max(self.slowest, time.monotonic() - began)
            if response.status_code == 202:
                with self._lock:
                    self.accepted += 1
                return
            if not self.retryable(response):
                with self._lock:
                    self.bad.append(f"event {number}: {response.status_code} {response.text[:200]}")
                return
            time.sleep(self.pause)
        with self._lock:
            self.bad.append(f"event {number}: never accepted")

    def run(self, middle: Callable[[WebhookBurst], None] | None = None) -> None:
        """Send every event; `middle(self)` runs in the calling thread while they go (say, to restart a server
        once half are accepted), and the burst finishes after it."""
        with ThreadPoolExecutor(max_workers=self.threads) as pool:
            futures = [pool.submit(self.send, n) for n in self.numbers]
            try:
                if middle is not None:
                    middle(self)
            except BaseException:
                for future in futures:
                    future.cancel()
                raise
            for future in futures:
                future.result()
