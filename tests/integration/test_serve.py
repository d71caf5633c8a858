"""`sixdeg serve` starts on embedded defaults, answers /healthz and /readyz, and stops on SIGINT."""

import os
import signal

import requests

from tests.support.serve import start_serve, wait_until_healthy


def test_serve_starts_answers_and_stops_on_sigint(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIXDEG_")}
    env["SIXDEG_DATA_DIR"] = str(tmp_path / "var")
    process, base = start_serve(env)
    try:
        problem = wait_until_healthy(process, base, 60)
        assert problem is None, f"{problem}: {process.stdout.read() if process.poll() is not None else ''}"
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
