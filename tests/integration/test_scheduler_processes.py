"""Two `python -m scheduler`-style processes against one Postgres and RabbitMQ: one leads, every slot of a
per-second job is enqueued exactly once, and killing the leader (SIGKILL) hands over to the other."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace

from tests.conftest import ROOT
from tests.integration.test_scheduler import _fires
from tests.support.messaging import wait_until

RUN_SCHEDULER = """
import logging, sys
logging.basicConfig(level=logging.INFO)
import actors
from tests.support import messaging  # declares test.record
from scheduler import Job, Scheduler
from actors.broker import current_config
jobs = (Job("test-processes", "* * * * * *", "test.record", args=(sys.argv[1],), misfire_grace_seconds=30),)
Scheduler(current_config(), jobs, poll_seconds=0.2).run()
"""


def _start(config, token: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "SIXDEG_DATABASE_URL": config.database_url,
        "SIXDEG_BROKER_URL": config.broker_url,
        "SIXDEG_DATA_DIR": str(config.data_dir),
    }
    return subprocess.Popen(
        [sys.executable, "-c", RUN_SCHEDULER, token],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def test_failover_between_two_processes_enqueues_every_slot_once(postgres_config, amqp_url):
    config = replace(postgres_config, broker_url=amqp_url)
    processes = [_start(config, "p"), _start(config, "p")]
    try:
        assert wait_until(lambda: len(_fires(config, "test-processes")) >= 3, timeout=60)
        leader = _leader_by_lock(config, processes)  # kill it outright: no clean release, its session just dies
        os.killpg(leader.pid, signal.SIGKILL)
        leader.wait(10)
        killed_at = time.monotonic()
        count = len(_fires(config, "test-processes"))
        assert wait_until(lambda: len(_fires(config, "test-processes")) >= count + 3, timeout=30), "no takeover"
        takeover = time.monotonic() - killed_at
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(10)
    fired = _fires(config, "test-processes")
    gaps = [(a, b) for a, b in itertools.pairwise(fired) if (b - a).total_seconds() != 1]
    assert gaps == [], f"slots missing around the failover (took {takeover:.1f} s): {gaps}"
    assert len(fired) == len(set(fired))


def _leader_by_lock(config, processes: list[subprocess.Popen]) -> subprocess.Popen:
    """The process whose database session holds the scheduler's advisory lock."""
    from sqlalchemy import text

    from pipelines.db import get_engine
    from pipelines.locks import lock_key

    key = lock_key("scheduler")
    with get_engine(config).connect() as connection:
        backend_pids = (
            connection.execute(
                text(
                    "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
                    "AND classid::bigint = :high AND objid::bigint = :low"
                ),
                {"high": (key >> 32) & 0xFFFFFFFF, "low": key & 0xFFFFFFFF},
            )
            .scalars()
            .all()
        )
        client_ports = (
            connection.execute(
                text("SELECT client_port FROM pg_stat_activity WHERE pid = ANY(:pids)"), {"pids": list(backend_pids)}
            )
            .scalars()
            .all()
        )
    for process in processes:
        ports = _local_ports(process.pid)
        if ports & set(client_ports):
            return process
    raise AssertionError(f"no process holds the lock (backends {backend_pids}, ports {client_ports})")


def _local_ports(pid: int) -> set[int]:
    """Local TCP ports of a process's sockets (from /proc)."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as handle:
            for line in handle.readlines()[1:]:
                fields = line.split()
                if fields[9] in inodes:
                    ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports
