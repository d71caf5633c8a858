"""The scheduler leads alone: a second one stands by and takes over when the first stops."""

import itertools

from scheduler import Job, Scheduler, cron_trigger
from tests.support.messaging import deliveries, new_token, wait_until


def test_cron_trigger_accepts_five_and_six_fields():
    assert str(cron_trigger("0 * * * *").fields[6]) == "0"  # minute
    assert str(cron_trigger("*/2 * * * * *").fields[7]) == "*/2"  # second


def test_one_leader_fires_and_a_standby_takes_over(stack):
    token = new_token()
    jobs = (Job("test-every-second", "* * * * * *", "test.record", args=(token,)),)
    first = Scheduler(stack.config, jobs, poll_seconds=0.2)
    second = Scheduler(stack.config, jobs, poll_seconds=0.2)
    first.start_in_thread()
    assert wait_until(lambda: first.is_leader, timeout=5)
    second.start_in_thread()
    try:
        assert wait_until(lambda: len(deliveries(token)) >= 2, timeout=10)
        assert first.is_leader and not second.is_leader

        first.stop()  # the leader goes away; its lock is released
        assert wait_until(lambda: second.is_leader, timeout=5)
        fired = len(deliveries(token))
        assert wait_until(lambda: len(deliveries(token)) >= fired + 2, timeout=10)
        assert not first.is_leader
    finally:
        first.stop()
        second.stop()


def _fires(config, job_id):
    from sqlalchemy import select

    from pipelines.db import unit_of_work
    from pipelines.models import ScheduledFire

    with unit_of_work(config) as session:
        return sorted(session.scalars(select(ScheduledFire.scheduled_for).where(ScheduledFire.job_id == job_id)))


def test_two_leaders_by_mistake_still_enqueue_each_slot_once(stack):
    """Two schedulers with different locks (split brain) both fire every second: each slot is enqueued once."""
    import time

    token = new_token()
    jobs = (Job("test-split-brain", "* * * * * *", "test.record", args=(token,), misfire_grace_seconds=3),)
    first = Scheduler(stack.config, jobs, poll_seconds=0.2, lock_name="split-a")
    second = Scheduler(stack.config, jobs, poll_seconds=0.2, lock_name="split-b")
    first.start_in_thread()
    second.start_in_thread()
    try:
        assert wait_until(lambda: first.is_leader and second.is_leader, timeout=5)
        time.sleep(4)
    finally:
        first.stop()
        second.stop()
    fired = _fires(stack.config, "test-split-brain")
    assert len(fired) >= 4
    assert all((b - a).total_seconds() == 1 for a, b in itertools.pairwise(fired)), fired  # no gaps
    assert wait_until(lambda: len(deliveries(token)) == len(fired), timeout=10)
    time.sleep(0.5)
    assert len(deliveries(token)) == len(fired) == len(set(deliveries(token)))


def test_a_slot_missed_within_grace_is_fired_on_takeover_and_older_ones_are_skipped(stack, caplog):
    from datetime import UTC, datetime, timedelta

    from scheduler import fire_due, report_missed

    job = Job("test-hourly", "0 * * * *", "test.record", args=(new_token(),), misfire_grace_seconds=600)
    now = datetime.now(tz=UTC).replace(minute=5, second=0, microsecond=0)
    assert fire_due(stack.config, job, now) == 1  # :00 was 5 minutes ago: within the grace period
    assert fire_due(stack.config, job, now) == 0  # and only once
    later = now + timedelta(hours=2)  # :00 of the next two hours: the latest is 5 minutes old, the other is not
    report_missed(stack.config, job, later)
    assert "missed by more than its grace period" in caplog.text
    assert fire_due(stack.config, job, later) == 1
    assert [s.hour for s in _fires(stack.config, "test-hourly")] == [now.hour, later.hour]
