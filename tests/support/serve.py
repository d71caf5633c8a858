"""Start `sixdeg serve` as its own process for tests that need a real server, and wait until it answers."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
SIXDEG = str(Path(sys.executable).parent / "sixdeg")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_serve(env: dict[str, str], *args: str, output=subprocess.PIPE) -> tuple[subprocess.Popen, str]:
    """`sixdeg serve --port <free> *args` with `env`; returns the process and its base URL (not yet waited on).
    `output` takes stdout and stderr together (a pipe by default, read as text)."""
    port = free_port()
    process = subprocess.Popen(
        [SIXDEG, "serve", "--port", str(port), *args],
        cwd=ROOT,
        env=env,
        stdout=output,
        stderr=subprocess.STDOUT,
        text=True,
    )
    return process, f"http://127.0.0.1:{port}"


def wait_until_healthy(process: subprocess.Popen, base: str, seconds: float) -> str | None:
    """Poll /healthz until it answers 200 (None) or the process exits or time runs out (why, as a message)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if requests.get(f"{base}/healthz", timeout=1).status_code == 200:
                return None
        except requests.ConnectionError:
            pass
        if process.poll() is not None:
            return f"sixdeg serve exited with {process.returncode}"
        if time.monotonic() > deadline:
            return f"sixdeg serve did not answer /healthz within {seconds:.0f} s"
        time.sleep(0.2)
