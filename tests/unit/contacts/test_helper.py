"""The import's helper process: items in order, errors raised on the reader's side, the helper ended when the
reader stops. Real child processes, running the generators of tests/support/helper_jobs.py."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from pipelines.contacts.batching import prepare_batches
from pipelines.contacts.helper import HelperFailed, iterate_in_helper
from tests.support.helper_jobs import big_items, count_to, fail_after, forever


def test_items_arrive_in_order_from_another_process():
    items = list(iterate_in_helper(count_to, 2500))
    assert [item["i"] for item in items] == list(range(2500))
    assert {item["pid"] for item in items} != {os.getpid()}


def test_an_error_in_the_helper_is_raised_in_the_reader_after_the_items_before_it():
    seen = []
    with pytest.raises(ValueError, match="row 3 is not a row"):
        for item in iterate_in_helper(fail_after, 3, "value"):
            seen.append(item)
    assert seen == [0, 1, 2]


def test_an_error_that_cannot_cross_is_reported_with_its_message():
    with pytest.raises(HelperFailed, match="Unpicklable: held a lock"):
        list(iterate_in_helper(fail_after, 1, "unpicklable"))


def test_a_helper_that_dies_is_reported_with_its_exit_code():
    with pytest.raises(HelperFailed, match=r"stopped unexpectedly \(exit code 7\)"):
        list(iterate_in_helper(fail_after, 2, "die"))


def test_a_reader_that_stops_early_ends_the_helper():
    items = iterate_in_helper(forever)
    pid = next(items)
    assert next(items) == 0
    items.close()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_items_arrive_intact_while_the_helper_is_stopped_and_continued():
    """SIGSTOP/SIGCONT (a debugger or profiler attaching) interrupts the helper's writes part-way; each item must
    still arrive whole. Through sys.stdout.buffer, this corrupted an item within a few hundred stops."""
    count, size = 400, 150_000
    items = iterate_in_helper(big_items, count, size)
    pid = next(items)
    reading = threading.Event()

    def stop_and_continue() -> None:
        while not reading.is_set():
            os.kill(pid, signal.SIGSTOP)
            os.kill(pid, signal.SIGCONT)
            time.sleep(0.002)

    interrupter = threading.Thread(target=stop_and_continue)
    interrupter.start()
    try:
        for index, item in enumerate(items):
            assert item == bytes([index % 251]) * (size + index), f"item {index} arrived damaged"
            time.sleep(0.002)
    finally:
        reading.set()
        interrupter.join()
        items.close()
    assert index == count - 1


def test_prepared_batches_are_the_same_in_a_helper_as_inline(tmp_path: Path):
    lines = ["First Name,Last Name,E-mail 1 - Value,Phone 1 - Value"]
    lines += [f"P{i},L{i},p{i}@example.com,+1 202 555 {i:04d}" for i in range(2300)]
    lines += ["Broken,,not-an-email,", ",,,"]
    path = tmp_path / "contacts.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    args = (path, "google", "US", 200, 1000, 2000, 1000)  # resume after 200 records; stop at 2,000

    inline = list(prepare_batches(*args))
    helped = list(iterate_in_helper(prepare_batches, *args))

    assert helped == inline
    assert [b.records for b in helped] == [1000, 801]  # 1,800 records and the "stopped at the limit" error
    assert helped[0].contacts[0].content_hash() == inline[0].contacts[0].content_hash()
    assert helped[0].contacts[0].external_key == inline[0].contacts[0].external_key
    assert "limit of 2000 records" in helped[-1].errors[-1].reason
