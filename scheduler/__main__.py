"""`python -m scheduler`: the production scheduler process (exactly one replica leads)."""

from __future__ import annotations

import contextlib
import signal

import actors  # noqa: F401  - builds the broker (logging, Sentry and metrics first) and declares the actors
from actors.broker import current_config
from pipelines import observability
from pipelines.migrate import migrate_on_boot
from pipelines.observability.metrics import start_scheduler_metrics_server
from scheduler import Scheduler


def main() -> None:
    config = current_config()
    observability.init_process(config, "scheduler")
    if config.metrics:
        start_scheduler_metrics_server(config)  # port `metrics`: sixdeg_scheduler_leader for the alert
    migrate_on_boot(config)
    scheduler = Scheduler(config)
    signal.signal(signal.SIGTERM, lambda *_: scheduler.stop(timeout=0))
    with contextlib.suppress(KeyboardInterrupt):
        scheduler.run()


if __name__ == "__main__":
    main()
