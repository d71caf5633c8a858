"""What every benchmark shares: fresh databases, the `sixdeg` CLI, a served API and percentiles."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
BIN = Path(sys.executable).parent
ADMIN_URL = os.environ.get("SIXDEG_BENCH_ADMIN_URL", "postgresql+psycopg://sixdeg:sixdeg@127.0.0.1:5432/postgres")
PASSWORD = "benchmark password"


def fresh_database(name: str) -> str:
    """Drop and create database `name`; returns its URL."""
    engine = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        connection.execute(text(f"CREATE DATABASE {name}"))
    engine.dispose()
    return ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def sixdeg(env: dict, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [str(BIN / "sixdeg"), *args], env=env, input=stdin, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"sixdeg {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


@contextmanager
def served(env: dict, *, gunicorn_workers: int = 0, serve_args: tuple[str, ...] = ()) -> Iterator[str]:
    """The API on a free port with `env`: `sixdeg serve` (waitress, worker threads, scheduler), or with
    `gunicorn_workers` the production server `gunicorn 'api:create_app()'`. Yields its base URL, stops it after."""
    port = free_port()
    if gunicorn_workers:
        command = [
            str(BIN / "gunicorn"),
            "--workers",
            str(gunicorn_workers),
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "api:create_app()",
        ]
    else:
        command = [str(BIN / "sixdeg"), "serve", "--port", str(port), *serve_args]
    server = subprocess.Popen(
        command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if requests.get(f"{base}/healthz", timeout=5).ok:
                    break
            except requests.RequestException:
                time.sleep(0.2)
        yield base
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)


def token_session(base: str, email: str) -> requests.Session:
    """A requests session authenticated with a fresh API token of `email` (password PASSWORD)."""
    login = requests.Session()
    login.post(f"{base}/v1/auth/login", json={"email": email, "password": PASSWORD}).raise_for_status()
    csrf = login.get(f"{base}/v1/auth/session").json()["csrf_token"]
    token = login.post(f"{base}/v1/tokens", json={"name": "bench"}, headers={"X-CSRF-Token": csrf}).json()
    client = requests.Session()
    client.headers["Authorization"] = f"Bearer {token['token']}"
    return client


def write_results(name: str, payload: dict) -> Path:
    out = ROOT / "bench" / "results" / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"benchmark": name, "machine": f"{os.cpu_count()} cores", **payload}, indent=2))
    return out
