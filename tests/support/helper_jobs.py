"""Generators for the import helper's tests to run in a helper process (which imports them by module name)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator


class Unpicklable(Exception):
    def __init__(self) -> None:
        super().__init__("held a lock")
        self.lock = threading.Lock()


def count_to(n: int) -> Iterator[dict[str, int]]:
    for i in range(n):
        yield {"i": i, "pid": os.getpid()}


def fail_after(n: int, error: str) -> Iterator[int]:
    yield from range(n)
    if error == "value":
        raise ValueError("row 3 is not a row")
    if error == "unpicklable":
        raise Unpicklable()
    os._exit(7)


def forever() -> Iterator[int]:
    yield os.getpid()
    while True:
        yield 0


def big_items(n: int, size: int) -> Iterator[int | bytes]:
    """The helper's pid, then `n` items of `size` bytes, each filled with its index's byte."""
    yield os.getpid()
    for i in range(n):
        yield bytes([i % 251]) * (size + i)
