"""Prometheus metrics: HTTP, product counters, and gauges computed at scrape time.

Where they are exposed:

- the API at `/metrics` (port `http`): request counts and latency, the scrape-time gauges (projection lag, queue
  and dead-letter depth, backup age), and the counters of work done in the same process (all of them in
  `sixdeg serve`). Under gunicorn every worker process writes to a multiprocess directory
  (PROMETHEUS_MULTIPROC_DIR, or one made per gunicorn master) and a scrape sums them.
- `dramatiq actors` workers on SIXDEG_METRICS_PORT (port `metrics`): Dramatiq's own metrics (its Prometheus
  middleware) and the import counters, summed over the worker processes of one `dramatiq` command through a
  multiprocess directory named after that command's master process. One exposition server per `dramatiq`
  command (a Dramatiq "fork" process), so worker processes never compete for the port.
- the scheduler on SIXDEG_METRICS_PORT: whether it holds the leader lock, and its fires.

Nothing here carries a label with user data: routes are URL templates, queues and actors are code names.
"""

from __future__ import annotations

import logging
import math
import multiprocessing
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.config import Config

log = logging.getLogger(__name__)

PREFIX = "sixdeg"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
METRICS_BASE_DIR = Path(tempfile.gettempdir()) / "sixdeg-metrics"
#: Scrape-time probes (database, RabbitMQ) answer within this many seconds or the last value is served.
PROBE_TIMEOUT = 2.0
#: How long a probe's answer is reused (scrapes from several Prometheus replicas hit the backends once).
PROBE_CACHE_SECONDS = 10.0
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


# --- process modes ------------------------------------------------------------------------------------------------


def under_dramatiq_cli() -> bool:
    """True in a worker process started by the `dramatiq` command (not in `sixdeg serve` or tests)."""
    return "dramatiq.cli" in sys.modules and multiprocessing.current_process().name != "MainProcess"


def under_gunicorn() -> bool:
    return "gunicorn.arbiter" in sys.modules and multiprocessing.current_process().name == "MainProcess"


def worker_metrics_dir(master_pid: int) -> Path:
    """The multiprocess directory shared by the processes of one `dramatiq` command."""
    return METRICS_BASE_DIR / f"dramatiq-{master_pid}"


def _use_multiprocess_dir(directory: Path) -> None:
    from prometheus_client import values

    directory.mkdir(parents=True, exist_ok=True)
    os.environ[MULTIPROC_ENV] = str(directory)
    # prometheus_client picks its value class when first imported; metrics created from now on use the files.
    values.ValueClass = values.get_value_class()


def configure_metrics(config: Config) -> str:
    """Choose how this process keeps its metrics, before any is created: 'multiprocess' or 'single'."""
    if under_dramatiq_cli():
        _use_multiprocess_dir(worker_metrics_dir(os.getppid()))
    elif os.environ.get(MULTIPROC_ENV):
        _use_multiprocess_dir(Path(os.environ[MULTIPROC_ENV]))
    elif under_gunicorn():
        _use_multiprocess_dir(METRICS_BASE_DIR / f"gunicorn-{os.getppid()}")
    return "multiprocess" if os.environ.get(MULTIPROC_ENV) else "single"


# --- the metrics --------------------------------------------------------------------------------------------------


class Metrics:
    """Every metric sixdeg itself records (created once, after `configure_metrics`)."""

    def __init__(self) -> None:
        from prometheus_client import Counter, Gauge, Histogram

        self.http_requests = Counter(
            f"{PREFIX}_http_requests",
            "HTTP requests answered, by route template and status.",
            ["method", "route", "status"],
        )
        self.http_duration = Histogram(
            f"{PREFIX}_http_request_duration_seconds",
            "Time to answer an HTTP request, by route template.",
            ["method", "route"],
            buckets=HTTP_BUCKETS,
        )
        self.imports_started = Counter(f"{PREFIX}_imports_started", "Import jobs started (or resumed) by a worker.")
        self.imports_finished = Counter(f"{PREFIX}_imports_finished", "Import jobs finished successfully.")
        self.imports_failed = Counter(f"{PREFIX}_imports_failed", "Import job runs that failed (they may be retried).")
        self.contacts_imported = Counter(
            f"{PREFIX}_contacts_imported", "Contacts written or confirmed by imports and webhooks (rows accepted)."
        )
        self.rows_rejected = Counter(f"{PREFIX}_import_rows_rejected", "Import rows rejected as import errors.")
        self.merges = Counter(f"{PREFIX}_people_merged", "People merged into another person by identity resolution.")
        self.webhook_events = Counter(f"{PREFIX}_webhook_events_processed", "Webhook events applied by a worker.")
        self._scheduler_leader: Gauge | None = None
        self.scheduler_fires = Counter(f"{PREFIX}_scheduler_fires", "Scheduled job slots enqueued.", ["job"])

    @property
    def scheduler_leader(self) -> Any:
        """Created by the first scheduler of the process: only a process that runs one exports it (the alert on
        a missing leader reads the maximum over schedulers)."""
        from prometheus_client import Gauge

        with _metrics_lock:
            if self._scheduler_leader is None:
                self._scheduler_leader = Gauge(
                    f"{PREFIX}_scheduler_leader",
                    "1 while this scheduler holds the leader lock and fires jobs, 0 while it stands by.",
                    multiprocess_mode="max",
                )
        return self._scheduler_leader


_metrics: Metrics | None = None
_metrics_lock = threading.RLock()


def get() -> Metrics:
    """The process's metrics (created on first use)."""
    global _metrics
    if _metrics is None:
        with _metrics_lock:
            if _metrics is None:
                _metrics = Metrics()
    return _metrics


def record_http(method: str, route: str, status: int, seconds: float) -> None:
    m = get()
    m.http_requests.labels(method, route, str(status)).inc()
    m.http_duration.labels(method, route).observe(seconds)


def import_started() -> None:
    get().imports_started.inc()


def import_finished() -> None:
    get().imports_finished.inc()


def import_failed() -> None:
    get().imports_failed.inc()


def contacts_ingested(*, accepted: int, merged: int, rejected: int = 0) -> None:
    """Count one committed batch (of an import or of webhook events)."""
    m = get()
    m.contacts_imported.inc(max(accepted, 0))
    m.merges.inc(max(merged, 0))
    m.rows_rejected.inc(max(rejected, 0))


def webhook_events_processed(count: int) -> None:
    if count:
        get().webhook_events.inc(count)


def scheduler_leading(leading: bool) -> None:
    get().scheduler_leader.set(1 if leading else 0)


def scheduler_fired(job_id: str, count: int = 1) -> None:
    if count:
        get().scheduler_fires.labels(job_id).inc(count)


# --- scrape-time gauges -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueDepth:
    """Messages waiting in a queue (ready), in its delay queue, and in its dead-letter queue."""

    ready: int
    delayed: int
    dead: int


QueueProbe = Callable[[], dict[str, QueueDepth]]
_queue_probe: QueueProbe | None = None


def set_queue_probe(probe: QueueProbe | None) -> None:
    """Install how queue depths are read (the actors layer does this: it knows the broker and its queues)."""
    global _queue_probe
    _queue_probe = probe
    _cache.clear()


class _Cached:
    """A probe run in a background thread: answers within PROBE_TIMEOUT (the last value if late), reused for
    PROBE_CACHE_SECONDS, and never more than one call in flight."""

    def __init__(self) -> None:
        self.value: Any = None
        self.ok = False
        self.at = 0.0
        self.future: Future[Any] | None = None


_cache: dict[str, _Cached] = {}
_cache_lock = threading.Lock()
_executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="metrics-probe")


def cached_probe(name: str, probe: Callable[[], Any], timeout: float = PROBE_TIMEOUT) -> tuple[Any, bool]:
    """(value, fresh): the probe's answer, or the previous one with fresh=False when it failed or was late."""
    with _cache_lock:
        entry = _cache.setdefault(name, _Cached())
        if entry.ok and time.monotonic() - entry.at < PROBE_CACHE_SECONDS:
            return entry.value, True
        if entry.future is None or entry.future.done():
            entry.future = _executor.submit(probe)
        future = entry.future
    try:
        value = future.result(timeout=timeout)
    except FutureTimeout:
        log.warning("metrics probe %s did not answer within %s s; serving its last value", name, timeout)
        return entry.value, False
    except Exception as exc:
        log.warning("metrics probe %s failed: %s", name, type(exc).__name__)
        with _cache_lock:
            entry.ok = False
        return entry.value, False
    with _cache_lock:
        entry.value, entry.ok, entry.at = value, True, time.monotonic()
    return value, True


def _outbox_state(config: Config) -> tuple[int, float]:
    from sqlalchemy import func, select, text

    from pipelines.db import unit_of_work
    from pipelines.models import OutboxMessage, utcnow

    with unit_of_work(config) as session:
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text(f"SET LOCAL statement_timeout = {int(PROBE_TIMEOUT * 1000)}"))
        count, oldest = session.execute(
            select(func.count(), func.min(OutboxMessage.created_at)).where(OutboxMessage.sent_at.is_(None))
        ).one()
    if oldest is None:
        return 0, 0.0
    if oldest.tzinfo is None:
        from datetime import UTC

        oldest = oldest.replace(tzinfo=UTC)
    return int(count), max((utcnow() - oldest).total_seconds(), 0.0)


def _backup_age(config: Config) -> tuple[float, float | None]:
    from pipelines.backups import last_success

    last = last_success(config)
    if last is None:
        return math.inf, None
    return max(time.time() - last.timestamp(), 0.0), last.timestamp()


class SystemCollector:
    """Gauges read from the backends when Prometheus scrapes: projection lag, queues, backups."""

    def __init__(self, config: Config) -> None:
        self.config = config

    def describe(self) -> list[Any]:
        return []  # computed at scrape time only; nothing to check at registration

    def collect(self) -> Iterable[Any]:
        from prometheus_client.core import GaugeMetricFamily

        up = GaugeMetricFamily(f"{PREFIX}_probe_up", "1 when a scrape-time probe answered in time.", labels=["probe"])

        outbox, fresh = cached_probe("outbox", lambda: _outbox_state(self.config))
        up.add_metric(["outbox"], 1 if fresh else 0)
        if outbox is not None:
            yield GaugeMetricFamily(f"{PREFIX}_outbox_unsent_messages", "Outbox rows not yet published.", outbox[0])
            yield GaugeMetricFamily(
                f"{PREFIX}_outbox_oldest_unsent_age_seconds",
                "Age of the oldest unpublished outbox row (projection lag); 0 when none waits.",
                outbox[1],
            )

        if _queue_probe is not None:
            depths, fresh = cached_probe("queues", _queue_probe)
            up.add_metric(["queues"], 1 if fresh else 0)
            if depths is not None:
                ready = GaugeMetricFamily(
                    f"{PREFIX}_queue_messages_ready", "Messages waiting in a queue.", labels=["queue"]
                )
                delayed = GaugeMetricFamily(
                    f"{PREFIX}_queue_messages_delayed", "Messages waiting in a queue's delay queue.", labels=["queue"]
                )
                dead = GaugeMetricFamily(
                    f"{PREFIX}_dead_letter_messages", "Messages in a queue's dead-letter queue.", labels=["queue"]
                )
                for queue, depth in sorted(depths.items()):
                    ready.add_metric([queue], depth.ready)
                    delayed.add_metric([queue], depth.delayed)
                    dead.add_metric([queue], depth.dead)
                yield from (ready, delayed, dead)

        backup, fresh = cached_probe("backups", lambda: _backup_age(self.config))
        up.add_metric(["backups"], 1 if fresh else 0)
        if backup is not None:
            yield GaugeMetricFamily(
                f"{PREFIX}_backup_last_success_age_seconds",
                "Seconds since the newest complete backup (+Inf when there is none).",
                backup[0],
            )
            if backup[1] is not None:
                yield GaugeMetricFamily(
                    f"{PREFIX}_backup_last_success_timestamp_seconds",
                    "Unix time of the newest complete backup.",
                    backup[1],
                )
        yield up


class _InfoCollector:
    def __init__(self, config: Config) -> None:
        self.config = config

    def describe(self) -> list[Any]:
        return []

    def collect(self) -> Iterable[Any]:
        from prometheus_client.core import GaugeMetricFamily

        from pipelines.observability.errors import release

        info = GaugeMetricFamily(
            f"{PREFIX}_build_info", "Always 1: the running release.", labels=["release", "environment"]
        )
        info.add_metric([release(), self.config.environment], 1)
        yield info


def _process_registry() -> Any:
    """This process's recorded metrics: the multiprocess directory's sum, or the default registry."""
    from prometheus_client import REGISTRY, CollectorRegistry, multiprocess

    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


class _Chain:
    def __init__(self, *sources: Any) -> None:
        self.sources = sources

    def describe(self) -> list[Any]:
        return []

    def collect(self) -> Iterable[Any]:
        for source in self.sources:
            yield from source.collect()


def api_exposition(config: Config) -> tuple[bytes, str]:
    """The API's /metrics body and content type."""
    from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, CollectorRegistry, generate_latest

    get()  # the HTTP and product metrics exist even before their first sample
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Chain(_process_registry(), SystemCollector(config), _InfoCollector(config)))  # type: ignore[arg-type]
    return generate_latest(registry), CONTENT_TYPE_PLAIN_0_0_4  # what Prometheus 2 and 3 both read


# --- exposition servers for workers and the scheduler ---------------------------------------------------------------


def _remove_stale_worker_dirs(keep: Path) -> None:
    """Delete the directories of `dramatiq` commands that are no longer running (their counters are gone)."""
    for directory in METRICS_BASE_DIR.glob("dramatiq-*"):
        if directory == keep:
            continue
        try:
            os.kill(int(directory.name.split("-", 1)[1]), 0)
        except (ValueError, ProcessLookupError):
            shutil.rmtree(directory, ignore_errors=True)
        except PermissionError:
            continue


def serve_worker_metrics() -> int:
    """A Dramatiq fork process: serve the metrics of this `dramatiq` command's worker processes (blocks)."""
    from prometheus_client import CollectorRegistry, multiprocess, start_http_server

    config = Config.from_env()
    directory = worker_metrics_dir(os.getppid())
    directory.mkdir(parents=True, exist_ok=True)
    _remove_stale_worker_dirs(directory)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=str(directory))
    registry.register(_InfoCollector(config))  # type: ignore[arg-type]
    server, thread = start_http_server(config.metrics_port, addr="0.0.0.0", registry=registry)
    log.info("worker metrics on port %s (from %s)", config.metrics_port, directory)
    try:
        thread.join()
    finally:
        server.shutdown()
    return 0


def start_scheduler_metrics_server(config: Config) -> Any:
    """Serve the scheduler's metrics on SIXDEG_METRICS_PORT in a background thread; returns the server."""
    from prometheus_client import REGISTRY, CollectorRegistry, start_http_server

    get()
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Chain(REGISTRY, _InfoCollector(config)))  # type: ignore[arg-type]
    server, _thread = start_http_server(config.metrics_port, addr="0.0.0.0", registry=registry)
    log.info("scheduler metrics on port %s", config.metrics_port)
    return server
