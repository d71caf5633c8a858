"""`sixdeg serve` starts on embedded defaults, answers /healthz and /readyz, and stops on SIGINT."""

import os
import signal
import sqlite3
import time
from pathlib import Path

import pytest
import requests

from tests.support.serve import start_serve, wait_until_healthy


def test_serve_starts_answers_and_stops_on_sigint(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIXDEG_")}
    env["SIXDEG_DATA_DIR"] = str(tmp_path / "var")
    process, base = start_serve(env)
    try:
        problem = wait_until_healthy(process, base, 60)
        assert problem is None, f"{problem}: {process.stdout.read() if process.poll() is not None else ''}"
        ready = requests.get(f"{base}/readyz", timeout=5)
        assert ready.status_code == 200, ready.text
        assert all(b["ok"] for b in ready.json()["backends"].values())
        assert requests.get(f"{base}/v1/nope", timeout=5).headers["Content-Type"] == "application/problem+json"

        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, output
    assert "stopped after" in output


def _fired_slots(database: Path) -> int:
    if not database.exists():
        return 0
    with sqlite3.connect(database) as connection:
        tables = {r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "scheduled_fires" not in tables:
            return 0
        return connection.execute("SELECT count(*) FROM scheduled_fires").fetchone()[0]


@pytest.mark.parametrize("flags", [(), ("--no-scheduler",)], ids=["scheduler", "no-scheduler"])
def test_serve_fires_scheduled_jobs_unless_told_not_to(tmp_path, flags):
    """The embedded scheduler fires the every-minute outbox sweep's current slot at start; `--no-scheduler`
    (benchmarks) fires nothing."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIXDEG_")}
    env["SIXDEG_DATA_DIR"] = str(tmp_path / "var")
    database = tmp_path / "var" / "sixdeg.db"
    process, base = start_serve(env, *flags)
    try:
        problem = wait_until_healthy(process, base, 60)
        assert problem is None, problem
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not _fired_slots(database):
            time.sleep(0.2)
        fired = _fired_slots(database)
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert (fired > 0) == (not flags), fired
