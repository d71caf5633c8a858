"""The scheduler leads alone: a second one stands by and takes over when the first stops."""

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
