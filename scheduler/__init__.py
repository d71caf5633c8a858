"""The scheduler: one process, one leader, that only enqueues (DESIGN.md "Processes").

APScheduler 3 (UTC) fires the jobs in `JOBS`. A leader lock (Postgres advisory lock, or a file lock on
SQLite) keeps a second scheduler idle until the first one dies.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any

import dramatiq
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger

from pipelines.config import Config
from pipelines.locks import LeaderLock

log = logging.getLogger(__name__)

LEADER_LOCK_NAME = "scheduler"


@dataclass(frozen=True)
class Job:
    """One row of the job table: fire `actor_name(*args)` on the cron schedule (UTC)."""

    id: str
    cron: str
    actor_name: str
    args: tuple[Any, ...] = ()
    misfire_grace_seconds: int = 60
    kwargs: dict[str, Any] = field(default_factory=dict)


JOBS: tuple[Job, ...] = (Job("outbox-sweep", "* * * * *", "outbox.sweep"),)


def cron_trigger(cron: str) -> CronTrigger:
    """A UTC trigger from a 5-field crontab, or 6 fields with seconds first (used by tests)."""
    fields = cron.split()
    if len(fields) == 6:
        second, minute, hour, day, month, day_of_week = fields
        return CronTrigger(
            second=second, minute=minute, hour=hour, day=day, month=month, day_of_week=day_of_week, timezone="UTC"
        )
    return CronTrigger.from_crontab(cron, timezone="UTC")


def fire(job: Job) -> None:
    """Enqueue one run of `job` (the scheduler never does the work itself)."""
    actor = dramatiq.get_broker().get_actor(job.actor_name)
    actor.send_with_options(args=job.args, kwargs=job.kwargs)
    log.info("scheduler fired %s → %s", job.id, job.actor_name)


class Scheduler:
    """Waits for the leader lock, then fires `jobs` until stopped. Loses leadership → stops firing."""

    def __init__(self, config: Config, jobs: tuple[Job, ...] = JOBS, poll_seconds: float = 5.0) -> None:
        self.config = config
        self.jobs = jobs
        self.poll_seconds = poll_seconds
        self.lock = LeaderLock(config, LEADER_LOCK_NAME)
        self._stop = threading.Event()
        self._aps: BackgroundScheduler | None = None
        self._thread: threading.Thread | None = None

    @property
    def is_leader(self) -> bool:
        return self._aps is not None

    def _start_firing(self) -> None:
        aps = BackgroundScheduler(timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1})
        for job in self.jobs:
            aps.add_job(
                fire,
                cron_trigger(job.cron),
                args=[job],
                id=job.id,
                misfire_grace_time=job.misfire_grace_seconds,
            )
        aps.start()
        self._aps = aps
        log.info("scheduler is the leader; firing %d job(s)", len(self.jobs))

    def _stop_firing(self) -> None:
        if self._aps is not None:
            self._aps.shutdown(wait=False)
            self._aps = None

    def run(self) -> None:
        """Block until `stop()`: try to lead, fire while leading, step down if the lock is lost."""
        try:
            while not self._stop.is_set():
                if self._aps is None:
                    if self.lock.try_acquire():
                        self._start_firing()
                    else:
                        log.debug("another scheduler leads; standing by")
                elif not self.lock.still_held():
                    log.warning("scheduler lost its leader lock; stopping until it can lead again")
                    self._stop_firing()
                self._stop.wait(self.poll_seconds)
        finally:
            self._stop_firing()
            self.lock.release()

    def start_in_thread(self) -> threading.Thread:
        self._thread = threading.Thread(target=self.run, name="scheduler", daemon=True)
        self._thread.start()
        return self._thread

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
