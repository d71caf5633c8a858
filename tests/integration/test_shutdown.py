"""Long work survives deploys: SIGTERM to a worker process in the middle of a large import or a backup stops it
cleanly (the batch or the dump is abandoned, nothing half-written stays), and a new worker finishes the job."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import func, select

from pipelines import backups
from pipelines.contacts import importer
from pipelines.db import unit_of_work
from pipelines.models import Contact, Import, ImportStatus, User
from tests.conftest import ROOT
from tests.support import messaging
from tests.support.people import seed_user

DRAMATIQ = str(Path(sys.executable).parent / "dramatiq")
ROWS = 30_000


def _worker(config, queues: list[str], extra_env: dict[str, str] | None = None) -> subprocess.Popen:
    env = {
        **os.environ,
        "SIXDEG_DATABASE_URL": config.database_url,
        "SIXDEG_BROKER_URL": config.broker_url,
        "SIXDEG_DATA_DIR": str(config.data_dir),
        "SIXDEG_BACKUP_DIR": str(config.backup_dir),
        **(extra_env or {}),
    }
    return subprocess.Popen(
        [DRAMATIQ, "actors", "--processes", "1", "--threads", "2", "--queues", *queues],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _terminate(worker: subprocess.Popen) -> float:
    """SIGTERM the worker's main process (as Kubernetes does: PID 1 of the container, which tells its worker
    processes) and return how long it took to exit."""
    started = time.monotonic()
    os.kill(worker.pid, signal.SIGTERM)
    worker.wait(60)
    return time.monotonic() - started


@pytest.fixture
def production(postgres_config, amqp_url, broker_setup):
    config = replace(postgres_config, broker_url=amqp_url)
    broker_setup(config)
    yield config
    for queue in ("imports", "projections", "maintenance"):
        messaging.delete_rabbit_queues(amqp_url, queue)


@pytest.mark.timeout(600)
def test_sigterm_during_an_import_then_a_new_worker_finishes_it(production, tmp_path) -> None:
    config = production
    alice = seed_user(config, "alice@example.com", contacts=[])
    lines = ["First Name,Last Name,E-mail 1 - Value"] + [f"P{i},Shutdown,p{i}@shutdown.example" for i in range(ROWS)]
    source = tmp_path / "big.csv"
    source.write_text("\n".join(lines) + "\n")
    with unit_of_work(config) as session:
        stored = importer.copy_local_file(config, source)
        import_id = importer.request_import(
            session, config, session.get(User, alice.user_id), stored, filename="big.csv"
        ).id

    def done_rows() -> int:
        with unit_of_work(config) as session:
            return session.scalar(select(Import.rows_done).where(Import.id == import_id)) or 0

    worker = _worker(config, ["imports"])
    try:
        assert messaging.wait_until(lambda: done_rows() >= 2_000, timeout=120, interval=0.1)
        took = _terminate(worker)
        interrupted_at = done_rows()
        assert interrupted_at < ROWS, "the import finished before the worker could be stopped: make it bigger"
        assert took < 30, f"the worker took {took:.0f} s to stop"
        with unit_of_work(config) as session:
            assert session.get(Import, import_id).status == ImportStatus.running
            assert session.scalar(select(func.count()).select_from(Contact)) == interrupted_at  # whole batches only
        worker = _worker(config, ["imports"])
        assert messaging.wait_until(
            lambda: unit_of_work_status(config, import_id) == ImportStatus.done, timeout=300, interval=0.5
        )
    finally:
        if worker.poll() is None:
            _terminate(worker)
    with unit_of_work(config) as session:
        job = session.get(Import, import_id)
        assert (job.rows_done, job.contacts, job.errors) == (ROWS, ROWS, 0)
        assert session.scalar(select(func.count()).select_from(Contact)) == ROWS


def unit_of_work_status(config, import_id: int) -> ImportStatus:
    with unit_of_work(config) as session:
        return session.get(Import, import_id).status


@pytest.mark.timeout(300)
def test_sigterm_during_a_backup_leaves_no_partial_file_and_the_retry_completes(production, tmp_path) -> None:
    config = production
    seed_user(config, "alice@example.com")
    # pg_dump made slow enough to be caught in the middle: a shim that waits before running the real one.
    shim = tmp_path / "bin"
    shim.mkdir()
    (shim / "pg_dump").write_text(f'#!/bin/sh\nsleep 4\nexec {backups.shutil.which("pg_dump")} "$@"\n')
    (shim / "pg_dump").chmod(0o755)
    slow = {"PATH": f"{shim}:{os.environ['PATH']}"}
    from actors.backups import run_backup

    worker = _worker(config, ["maintenance"], slow)
    try:
        run_backup.send()
        directory = Path(config.backup_dir)
        assert messaging.wait_until(lambda: any(directory.glob("*.partial")), timeout=60, interval=0.05)
        took = _terminate(worker)
        assert took < 30
        # Stopped in time, the dump is abandoned and its file deleted; or it finished within the shutdown. Either
        # way nothing half-written is left: only complete backups with a manifest that matches.
        assert list(directory.glob("*.partial")) == []
        files = sorted(p.name for p in directory.iterdir())
        complete = backups.list_backups(config)
        assert len(files) == 2 * len(complete), files
        for backup in complete:
            backups.verify(backup)
        worker = _worker(config, ["maintenance"])
        assert messaging.wait_until(lambda: backups.list_backups(config), timeout=120, interval=0.5)
    finally:
        if worker.poll() is None:
            _terminate(worker)
    made = backups.list_backups(config)
    assert len(made) == 1, "the backup ran once: finished before the shutdown, or retried after it"
    backups.verify(made[0])
    assert made[0].manifest["rows"]["contacts"] == 2
