"""Running a generator in a helper process and reading its items here, so two cores share an import.

An import is a chain of Python work (reading the file, normalizing each contact) and database work (resolving and
writing a batch). In one process the two take turns on one interpreter; with a helper, the helper reads and
normalizes the next batches while the worker writes the current one.

The helper is a fresh interpreter (`python -m pipelines.contacts.helper`), not a fork of a threaded worker and not
a multiprocessing "spawn" child (which re-runs the parent's main script). Its items come back as pickled frames
on its stdout; the pipe's buffer is the bound on how far it runs ahead, so memory does not grow with the file.
The helper is ended when the reader stops, whether it read everything, raised, or was interrupted (a worker
shutting down, a time limit).
"""

from __future__ import annotations

import importlib
import os
import pickle
import struct
import subprocess
import sys
import traceback
from collections.abc import Callable, Iterator
from typing import IO, Any

_HEADER = struct.Struct("!cQ")
_ITEM, _FAILED, _DONE = b"i", b"f", b"d"


class HelperFailed(RuntimeError):
    """The helper process raised (the message carries its error) or died without finishing."""


def _write_frame(fd: int, kind: bytes, payload: bytes = b"") -> None:
    """One frame, written with `os.write` until all of it is out.

    Not through `sys.stdout.buffer`: on Python 3.11, a BufferedWriter's large write to a pipe that a stop signal
    interrupts part-way (SIGSTOP and SIGCONT, a debugger or profiler attaching) can put bytes out of place, so
    the reader unpickled garbage and the import failed. A plain write reports how much it wrote, and the rest is
    written next.
    """
    view = memoryview(_HEADER.pack(kind, len(payload)) + payload)
    while view:
        view = view[os.write(fd, view) :]


def _read(stream: IO[bytes], size: int) -> bytes | None:
    """`size` bytes from the helper's (buffered) stdout, which waits for them; None at its end."""
    data = stream.read(size)
    return data if len(data) == size else None


def _died(process: subprocess.Popen[bytes]) -> HelperFailed:
    try:
        code: int | None = process.wait(10)
    except subprocess.TimeoutExpired:
        code = None
    return HelperFailed(f"The import's helper process stopped unexpectedly (exit code {code}).")


def iterate_in_helper(generate: Callable[..., Iterator[Any]], *args: Any) -> Iterator[Any]:
    """The items of `generate(*args)`, produced in a helper process.

    `generate` must be a module-level function and `args` and the items picklable. An exception in the helper is
    raised here (as HelperFailed with its message if it cannot be pickled); a helper that dies (killed, out of
    memory) raises HelperFailed.
    """
    job = pickle.dumps((generate.__module__, generate.__qualname__, args), protocol=pickle.HIGHEST_PROTOCOL)
    process = subprocess.Popen([sys.executable, "-m", __name__], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert process.stdin is not None and process.stdout is not None
    try:
        process.stdin.write(job)
        process.stdin.close()
        while True:
            header = _read(process.stdout, _HEADER.size)
            if header is None:
                raise _died(process)
            kind, size = _HEADER.unpack(header)
            payload = _read(process.stdout, size) if size else b""
            if payload is None:
                raise _died(process)
            if kind == _ITEM:
                yield pickle.loads(payload)
            elif kind == _FAILED:
                raise pickle.loads(payload)
            else:
                return
    finally:
        if process.poll() is None:
            process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stdout.close()


def _serve(job: IO[bytes], out: int) -> None:
    """The helper's side: run the pickled job read from `job`, writing its items to the file descriptor `out` as
    frames."""
    try:
        module, name, args = pickle.load(job)
        generate = getattr(importlib.import_module(module), name)
        for item in generate(*args):
            _write_frame(out, _ITEM, pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL))
    except BaseException as exc:  # raised again in the reader: the same exception when it pickles
        try:
            error = pickle.dumps(exc, protocol=pickle.HIGHEST_PROTOCOL)
            pickle.loads(error)
        except Exception:
            detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            error = pickle.dumps(HelperFailed(f"The import's helper process failed: {detail}"))
        _write_frame(out, _FAILED, error)
        return
    _write_frame(out, _DONE)


if __name__ == "__main__":
    # Through the module's importable name, so HelperFailed pickles as pipelines.contacts.helper.HelperFailed.
    from pipelines.contacts import helper

    frames = os.dup(sys.stdout.fileno())
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # a stray print must not corrupt the frames
    sys.stdout = sys.stderr
    helper._serve(sys.stdin.buffer, frames)
