"""`python -m scheduler`: the production scheduler process (exactly one replica leads)."""

from __future__ import annotations

import contextlib
import logging
import signal

import actors  # noqa: F401  - builds the broker and declares the actors the jobs send to
from actors.broker import current_config
from pipelines.migrate import migrate_on_boot
from scheduler import Scheduler


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = current_config()
    migrate_on_boot(config)
    scheduler = Scheduler(config)
    signal.signal(signal.SIGTERM, lambda *_: scheduler.stop(timeout=0))
    with contextlib.suppress(KeyboardInterrupt):
        scheduler.run()


if __name__ == "__main__":
    main()
