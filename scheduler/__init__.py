"""The scheduler: one process, one leader, that only enqueues (DESIGN.md "Processes").

APScheduler 3 (UTC) fires the jobs in `JOBS`. A leader lock (Postgres advisory lock, or a file lock on
SQLite) keeps a second scheduler idle until the first one dies. Every fire records its idempotency key (job id
+ scheduled time) in `scheduled_fires` in the same transaction that puts the message in the outbox, so a slot is
enqueued once even across a failover or with two leaders by mistake. A new leader fires a slot it finds missed
within the job's grace period; older missed slots are skipped and logged.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import select

from pipelines.config import Config
from pipelines.db import insert_ignoring_conflicts, unit_of_work
from pipelines.locks import LeaderLock
from pipelines.models import ScheduledFire, utcnow
from pipelines.observability import logs, metrics
from pipelines.outbox import send_after_commit

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


JOBS: tuple[Job, ...] = (
    Job("outbox-sweep", "* * * * *", "outbox.sweep"),
    Job("backup", "7 * * * *", "backups.run", misfire_grace_seconds=1800),
    Job("consistency-sweep", "17 3 * * *", "projections.consistency_sweep", misfire_grace_seconds=3 * 3600),
    Job("retention", "37 4 * * *", "maintenance.retention", misfire_grace_seconds=6 * 3600),
)


def cron_trigger(cron: str) -> CronTrigger:
    """A UTC trigger from a 5-field crontab, or 6 fields with seconds first (used by tests)."""
    fields = cron.split()
    if len(fields) == 6:
        second, minute, hour, day, month, day_of_week = fields
        return CronTrigger(
            second=second, minute=minute, hour=hour, day=day, month=month, day_of_week=day_of_week, timezone="UTC"
        )
    return CronTrigger.from_crontab(cron, timezone="UTC")


def slots(job: Job, after: datetime, until: datetime, limit: int = 1000) -> list[datetime]:
    """The times in (after, until] at which `job` is scheduled, oldest first (at most `limit`)."""
    trigger = cron_trigger(job.cron)
    found: list[datetime] = []
    probe = trigger.get_next_fire_time(None, after + timedelta(microseconds=1))
    while probe is not None and probe <= until and len(found) < limit:
        found.append(probe)
        probe = trigger.get_next_fire_time(probe, probe + timedelta(microseconds=1))
    return found


def fire_due(config: Config, job: Job, now: datetime) -> int:
    """Enqueue every slot of `job` within its grace period (now - grace, now] that no scheduler enqueued yet;
    returns how many. Each slot's idempotency key (job id + scheduled time) commits with its outbox message, so
    a slot is enqueued once whichever scheduler gets there first. The scheduler never does the work itself."""
    due = slots(job, now - timedelta(seconds=job.misfire_grace_seconds), now)
    if not due:
        return 0
    fired = 0
    with unit_of_work(config) as session:
        done = set(
            session.scalars(
                select(ScheduledFire.scheduled_for).where(
                    ScheduledFire.job_id == job.id, ScheduledFire.scheduled_for >= due[0]
                )
            )
        )
    for slot in due:
        if slot in done:
            continue
        with unit_of_work(config) as session:
            recorded = session.execute(
                insert_ignoring_conflicts(session, ScheduledFire.__table__, ("job_id", "scheduled_for")).returning(
                    ScheduledFire.__table__.c.job_id
                ),
                [{"job_id": job.id, "scheduled_for": slot, "fired_at": utcnow()}],
            ).scalar()
            if recorded is None:  # another scheduler took this slot a moment ago
                continue
            # The slot's request id follows the job's messages into the worker's logs.
            with logs.bound(request_id=f"scheduler:{job.id}:{slot.strftime('%Y%m%dT%H%M%SZ')}"):
                send_after_commit(session, job.actor_name, *job.args, **job.kwargs)
        fired += 1
        if config.metrics:
            metrics.scheduler_fired(job.id)
        log.info("scheduler fired %s for %s → %s", job.id, slot.isoformat(), job.actor_name)
    return fired


def report_missed(config: Config, job: Job, now: datetime) -> None:
    """On taking the lead: log the slot before the grace window if nobody fired it (it is skipped, not run)."""
    earlier = slots(job, now - timedelta(days=1), now - timedelta(seconds=job.misfire_grace_seconds))
    if not earlier:
        return
    with unit_of_work(config) as session:
        done = session.get(ScheduledFire, (job.id, earlier[-1]))
    if done is None:
        log.warning(
            "scheduler: %s for %s was missed by more than its grace period (%s s); skipped",
            job.id,
            earlier[-1].isoformat(),
            job.misfire_grace_seconds,
        )


class Scheduler:
    """Waits for the leader lock, then fires `jobs` until stopped. Loses leadership → stops firing."""

    def __init__(
        self,
        config: Config,
        jobs: tuple[Job, ...] = JOBS,
        poll_seconds: float = 5.0,
        lock_name: str = LEADER_LOCK_NAME,
    ) -> None:
        self.config = config
        self.jobs = jobs
        self.poll_seconds = poll_seconds
        self.lock = LeaderLock(config, lock_name)
        self._stop = threading.Event()
        self._aps: BackgroundScheduler | None = None
        self._thread: threading.Thread | None = None

    @property
    def is_leader(self) -> bool:
        return self._aps is not None

    def _fire_now(self, job: Job) -> None:
        """APScheduler's callback: fire what is due now (and any slot of the grace period still unfired)."""
        try:
            fire_due(self.config, job, datetime.now(tz=UTC))
        except Exception:  # the next slot tries again; the database or broker may be back by then
            log.exception("scheduler could not fire %s", job.id)

    def _start_firing(self) -> None:
        now = datetime.now(tz=UTC)
        for job in self.jobs:
            try:
                report_missed(self.config, job, now)
                fire_due(self.config, job, now)
            except Exception:
                log.exception("scheduler could not catch up %s", job.id)
        aps = BackgroundScheduler(timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1})
        for job in self.jobs:
            aps.add_job(
                self._fire_now,
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
                if self.config.metrics:
                    metrics.scheduler_leading(self.is_leader)
                self._stop.wait(self.poll_seconds)
        finally:
            self._stop_firing()
            self.lock.release()
            if self.config.metrics:
                metrics.scheduler_leading(False)

    def start_in_thread(self) -> threading.Thread:
        self._thread = threading.Thread(target=self.run, name="scheduler", daemon=True)
        self._thread.start()
        return self._thread

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
