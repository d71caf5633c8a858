"""When a large import refreshes the planner's statistics: after 20 batches, then each time the count doubles."""

from pipelines.contacts.importer import statistics_due


def test_statistics_are_due_after_20_batches_and_each_doubling():
    due = [batches for batches in range(1001) if statistics_due(batches)]
    assert due == [20, 40, 80, 160, 320, 640]  # a 1,000,000-row import (1,000 batches) analyzes 6 times
