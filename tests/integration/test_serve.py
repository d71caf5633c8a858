"""`sixdeg serve` starts on embedded defaults, answers /healthz and /readyz, and stops on SIGINT."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_serve_starts_answers_and_stops_on_sigint(tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIXDEG_")}
    env["SIXDEG_DATA_DIR"] = str(tmp_path / "var")
    sixdeg = Path(sys.executable).parent / "sixdeg"
    process = subprocess.Popen(
        [str(sixdeg), "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert process.poll() is None, process.stdout.read()
            assert time.monotonic() < deadline, "sixdeg serve did not answer /healthz within 60 s"
            time.sleep(0.2)
        ready = requests.get(f"{base}/readyz", timeout=5)
        assert ready.status_code == 200, ready.text
        assert all(b["ok"] for b in ready.json()["backends"].values())
        assert requests.get(f"{base}/v1/nope", timeout=5).headers["Content-Type"] == "application/problem+json"

        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, output
    assert "stopped after" in output
