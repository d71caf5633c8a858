"""Observability: error reports (Sentry), metrics (Prometheus) and structured logs, without contact details.

`init_process(config, process)` is called once per process before its broker is built (actors/broker.py does
it in `setup`). The modules: `redact` (what is scrubbed), `errors` (Sentry), `logs` (structlog and the request
id), `metrics` (Prometheus), `queues` (RabbitMQ depths for the gauges). docs/observability.md explains it all.
"""

from __future__ import annotations

import threading

from pipelines.config import Config

_lock = threading.Lock()
_logging_format: str | None = None


def init_process(config: Config, process: str = "app") -> None:
    """Set up logging, Sentry and the metrics mode for this process (idempotent; reconfigures on a new config).

    Runs before the Dramatiq broker exists: Sentry's Dramatiq integration hooks into `Broker.__init__`, and the
    metrics of `dramatiq` worker processes must go to their shared directory before any is created.
    """
    from pipelines.observability import errors, logs, metrics

    global _logging_format
    with _lock:
        if _logging_format != config.log_format:
            # In a `dramatiq` worker process the CLI's handler pipes lines to its master: keep it, format as ours.
            logs.configure_logging(config.log_format, take_over=metrics.under_dramatiq_cli())
            _logging_format = config.log_format
        if metrics.under_dramatiq_cli():
            process = "worker"
        elif metrics.under_gunicorn():
            process = "api"
        errors.init_sentry(config, process)
        if config.metrics:
            metrics.configure_metrics(config)
