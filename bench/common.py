"""What every benchmark shares: fresh databases, the `sixdeg` CLI, a served API and percentiles."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import requests
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
BIN = Path(sys.executable).parent
ADMIN_URL = os.environ.get("SIXDEG_BENCH_ADMIN_URL", "postgresql+psycopg://sixdeg:sixdeg@127.0.0.1:5432/postgres")
PASSWORD = "benchmark password"


def database_url(name: str) -> str:
    """The URL of database `name` on the benchmarks' Postgres."""
    return ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def fresh_database(name: str) -> str:
    """Drop and create database `name`; returns its URL."""
    engine = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        connection.execute(text(f"CREATE DATABASE {name}"))
    engine.dispose()
    return database_url(name)


def sixdeg(env: dict, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [str(BIN / "sixdeg"), *args], env=env, input=stdin, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"sixdeg {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def cpu_seconds_by_group(groups: dict[str, Callable[[str, str], bool]]) -> dict[str, float]:
    """CPU seconds (user + system) used so far by the running processes of each group, read from /proc; a group is
    a predicate on (command name, command line). Differences of two readings give the CPU a phase cost."""
    totals = dict.fromkeys(groups, 0.0)
    ticks = os.sysconf("SC_CLK_TCK")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            comm = Path(f"/proc/{entry}/comm").read_text().strip()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        for name, matches in groups.items():
            if matches(comm, cmdline):
                totals[name] += (int(fields[11]) + int(fields[12])) / ticks
                break
    return totals


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


@contextmanager
def served(
    env: dict, *, gunicorn_workers: int = 0, gunicorn_threads: int = 0, serve_args: tuple[str, ...] = ()
) -> Iterator[str]:
    """The API on a free port with `env`: `sixdeg serve --no-scheduler` (waitress, worker threads), or with
    `gunicorn_workers` the production server `gunicorn 'api:create_app()'`. Yields its base URL, stops it after.
    No scheduler: on a fresh database it fires the hourly backup at start when its slot is less than 30 minutes
    old, and `pg_dump` then runs among the measured requests."""
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
            *(["--worker-class", "gthread", "--threads", str(gunicorn_threads)] if gunicorn_threads else []),
            *("--keep-alive", "75"),  # as kubernetes/base/api.yaml: idle connections are not closed under the client
            "api:create_app()",
        ]
    else:
        command = [str(BIN / "sixdeg"), "serve", "--port", str(port), "--no-scheduler", *serve_args]
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


def token_session(base: str, email: str, password: str = PASSWORD) -> requests.Session:
    """A requests session authenticated with a fresh API token of `email` (password PASSWORD by default)."""
    login = requests.Session()
    login.post(f"{base}/v1/auth/login", json={"email": email, "password": password}).raise_for_status()
    csrf = login.get(f"{base}/v1/auth/session").json()["csrf_token"]
    token = login.post(f"{base}/v1/tokens", json={"name": "bench"}, headers={"X-CSRF-Token": csrf}).json()
    client = requests.Session()
    client.headers["Authorization"] = f"Bearer {token['token']}"
    return client


STARTED = time.perf_counter()


def machine() -> str:
    """What the figures were measured on: cores, CPU model and memory."""
    model = "unknown CPU"
    try:
        model = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
        kib = int(
            next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines() if "MemTotal" in line)
        )
        return f"{os.cpu_count()} cores, {model}, {kib / 2**20:.0f} GiB"
    except (OSError, StopIteration, ValueError):
        return f"{os.cpu_count()} cores, {model}"


def figure(
    name: str,
    value: float,
    unit: str,
    *,
    better: str,
    goal: float | None = None,
    goal_note: str = "",
    baseline: float | None = None,
    baseline_name: str = "",
) -> dict:
    """One headline figure as bench/report.py tabulates it. `better` is "higher" or "lower"; `goal` is in the
    figure's unit (None: no goal set); `baseline` is the same figure for the baseline measured in the same run.
    `ratio` is how many times better than the baseline (above 1: better), whichever way is better."""
    if better not in ("higher", "lower"):
        raise ValueError(f"better must be 'higher' or 'lower', not {better!r}")
    ratio = None
    if baseline is not None and value and baseline:
        ratio = float(f"{(value / baseline if better == 'higher' else baseline / value):.3g}")
    met = None if goal is None else (value >= goal if better == "higher" else value <= goal)
    return {
        "name": name,
        "value": value,
        "unit": unit,
        "better": better,
        "goal": goal,
        "goal_note": goal_note,
        "goal_met": met,
        "baseline": baseline,
        "baseline_name": baseline_name,
        "ratio": ratio,
    }


def write_results(name: str, payload: dict, *, figures: list[dict], options: dict | None = None) -> Path:
    """Write `bench/results/<name>-<time>.json` (history) and `bench/results/<name>.json` (the latest, which
    bench/report.py reads): the payload plus when, on what machine, how long the run took, its options and the
    headline figures (see `figure`). Returns the timestamped path."""
    record = {
        **payload,
        "benchmark": name,
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": machine(),
        "seconds": round(time.perf_counter() - STARTED, 1),
        "options": options or {},
        "figures": figures,
    }
    folder = ROOT / "bench" / "results"
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    text = json.dumps(record, indent=2)
    out.write_text(text)
    (folder / f"{name}.json").write_text(text)
    for item in figures:
        goal = (
            ""
            if item["goal"] is None
            else f" (goal {item['goal']:g} {item['unit']}: {'met' if item['goal_met'] else 'NOT met'})"
        )
        versus = "" if item["ratio"] is None else f", {item['ratio']:g}x the baseline ({item['baseline_name']})"
        print(f"  {item['name']}: {item['value']:g} {item['unit']}{versus}{goal}", flush=True)
    return out
