"""A private RabbitMQ node that a drill may stop and start (the shared one on 5672 stays up for everyone else).

Debian's `rabbitmq-server` run in the foreground with its own node name (`drill-<random>@localhost`), AMQP port,
Erlang distribution port, management port, Erlang cookie (its own HOME) and mnesia, log and config files in a
temporary directory. `stop()` is `rabbitmqctl stop` (a clean shutdown: connections are closed, durable queues and
persistent messages stay on disk); `start()` again boots the same node on the same data directory, so the queues
and their messages come back, as after a real broker restart. The management plugin is on (its own port): the
drills count ready and unacked messages through its HTTP API (tests/support/drills.py `queued`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

SBIN = Path("/usr/lib/rabbitmq/bin")


def server_installed() -> bool:
    return (SBIN / "rabbitmq-server").exists() and (SBIN / "rabbitmqctl").exists()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        return True
    return False


class PrivateRabbitMQ:
    def __init__(self) -> None:
        if not server_installed():
            raise RuntimeError(f"no rabbitmq-server under {SBIN}")
        self.dir = Path(tempfile.mkdtemp(prefix="sixdeg-drill-rabbit-"))
        self.node = f"drill-{uuid.uuid4().hex[:8]}@localhost"
        self.port = _free_port()
        self.dist_port = _free_port()
        self.management_port = _free_port()
        self.process: subprocess.Popen | None = None
        self._out_offset = 0
        for sub in ("mnesia", "log"):
            (self.dir / sub).mkdir()
        (self.dir / "enabled_plugins").write_text("[rabbitmq_management].\n")
        (self.dir / "rabbitmq-env.conf").write_text("")  # not /etc/rabbitmq's
        (self.dir / "rabbitmq.conf").write_text(
            "\n".join(
                [
                    f"listeners.tcp.1 = 127.0.0.1:{self.port}",
                    "management.tcp.ip = 127.0.0.1",
                    f"management.tcp.port = {self.management_port}",
                    "collect_statistics_interval = 1000",  # queue counts at most 1 s old (default 5 s)
                    "disk_free_limit.absolute = 50MB",
                    "log.console = false",
                    "log.file.level = info",
                    "",
                ]
            )
        )

    @property
    def amqp_url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    @property
    def api_url(self) -> str:
        return f"http://guest:guest@127.0.0.1:{self.management_port}/api/"

    def env(self) -> dict[str, str]:
        """The environment of this node's server and CLI tools (its own HOME holds its own Erlang cookie)."""
        return {
            **os.environ,
            "HOME": str(self.dir),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(self.dir / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.dir / "log"),
            "RABBITMQ_CONFIG_FILE": str(self.dir / "rabbitmq.conf"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(self.dir / "advanced.config"),
            "RABBITMQ_CONF_ENV_FILE": str(self.dir / "rabbitmq-env.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.dir / "enabled_plugins"),
            "RABBITMQ_PID_FILE": str(self.dir / "pid"),
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
            "RABBITMQ_CTL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
        }

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def ctl(self, *args: str, timeout: float = 120) -> str:
        done = subprocess.run(
            [str(SBIN / "rabbitmqctl"), "-n", self.node, *args],
            env=self.env(),
            cwd=self.dir,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode:
            raise RuntimeError(f"rabbitmqctl {' '.join(args)}: {done.returncode} {done.stderr[-2000:]}")
        return done.stdout

    def start(self, timeout: float = 90, launches: int = 5) -> None:
        """Boot the node (on its existing data directory, if any) and wait until AMQP and the HTTP API answer.

        In one CI run a node launched right after `stop()` exited at once with status 0 (cause not found: the
        message then showed only the old node's log). A launch that exits is retried, up to `launches` in all
        within `timeout`, and a failure shows each launch's own output."""
        import requests

        deadline = time.monotonic() + timeout
        exits: list[str] = []
        self._launch()
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                exits.append(f"exit status {self.process.returncode}: {self._server_out_since_launch()}")
                if len(exits) == launches:
                    break
                time.sleep(2)
                self._launch()
            elif _answers(self.port):
                with contextlib.suppress(requests.RequestException):
                    if requests.get(f"{self.api_url}overview", auth=("guest", "guest"), timeout=2).ok:
                        return
            time.sleep(0.3)
        launched = "\n".join(exits) or "none exited"
        raise RuntimeError(
            f"rabbitmq node {self.node} did not start ({timeout} s and {launches} launches at most); launches "
            f"that exited: {launched}\n"
            f"{self.log_tail()}"
        )

    def _launch(self) -> None:
        out = self.dir / "server.out"
        self._out_offset = out.stat().st_size if out.exists() else 0
        with out.open("ab") as log:
            self.process = subprocess.Popen(
                [str(SBIN / "rabbitmq-server")],
                env=self.env(),
                cwd=self.dir,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )

    def _server_out_since_launch(self, chars: int = 1500) -> str:
        with (self.dir / "server.out").open("rb") as out:
            out.seek(self._out_offset)
            return out.read().decode(errors="replace")[-chars:].strip() or "(no output)"

    def stop(self, timeout: float = 60) -> None:
        """A clean shutdown (`rabbitmqctl stop`): clients see their connections closed by the broker."""
        if self.process is None or self.process.poll() is not None:
            return
        try:
            self.ctl("stop", timeout=timeout)
        except (RuntimeError, subprocess.TimeoutExpired):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def log_tail(self, chars: int = 3000) -> str:
        texts = [
            p.read_text(errors="replace") for p in [self.dir / "server.out", *sorted((self.dir / "log").glob("*.log"))]
        ]
        return "\n".join(texts)[-chars:]

    def destroy(self) -> None:
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(Exception):
                self.stop(timeout=30)
            if self.process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)
