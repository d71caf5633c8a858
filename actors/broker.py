"""Builds the Dramatiq broker from configuration, before any actor is imported.

RabbitMQ (`amqp://...`) runs with publisher confirms and an explicit prefetch; `memory` is Dramatiq's stub
broker with worker threads in the same process (the embedded default). Both use `GuardedRetries`, which sends
a message to the dead-letter queue when its retry cannot be re-enqueued instead of acking it away.
"""

from __future__ import annotations

import gc
import logging
import os
import threading
from collections.abc import Callable, Sequence

import dramatiq
from dramatiq import Broker, Message, Worker
from dramatiq.broker import MessageProxy
from dramatiq.brokers.rabbitmq import RabbitmqBroker, _RabbitmqConsumer
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import (
    AgeLimit,
    Callbacks,
    CurrentMessage,
    Middleware,
    Pipelines,
    Retries,
    ShutdownNotifications,
    TimeLimit,
)
from sqlalchemy import Engine

from pipelines import observability, outbox
from pipelines.config import Config
from pipelines.db import unit_of_work
from pipelines.models import OutboxMessage
from pipelines.observability import logs
from pipelines.observability.metrics import QueueDepth, set_queue_probe, under_dramatiq_cli
from pipelines.observability.queues import rabbitmq_queue_depths

log = logging.getLogger(__name__)

#: Retry backoff stays well below RabbitMQ's 30-minute consumer_timeout: delayed messages wait unacked.
MAX_BACKOFF_MS = 10 * 60 * 1000
DEFAULT_MAX_RETRIES = 8


class GuardedRetries(Retries):
    """Dramatiq's Retries, except a retry that cannot be re-enqueued fails the message (→ dead letters).

    Upstream, `Broker.emit_after` only logs an exception raised while re-enqueueing, and the worker then acks
    the original: the message is lost (Dramatiq PR #545). Failing it makes the consumer nack it, and RabbitMQ
    routes it to the queue's `.XQ` dead-letter queue.
    """

    def after_process_message(
        self, broker: Broker, message: Message, *, result: object = None, exception: BaseException | None = None
    ) -> None:
        try:
            super().after_process_message(broker, message, result=result, exception=exception)
        except Exception:
            log.exception(
                "could not re-enqueue retry of message %s (%s); sending it to the dead-letter queue",
                message.message_id,
                message.actor_name,
            )
            message.fail()


class _ConnectionBoundConsumer(_RabbitmqConsumer):
    """A consumer that acks (or rejects) only messages it delivered itself.

    After a lost connection Dramatiq's consumer thread opens a new consumer, but worker threads still finishing
    messages of the old one hand them to the new one. Delivery tags are numbered per channel from 1, so the old
    message's tag can name a different, unprocessed message on the new channel: acking it would drop that
    message. A message from a closed connection is left alone instead: RabbitMQ requeued it when the connection
    closed, and its actor, idempotent, finds its work done when it runs again."""

    def __next__(self) -> MessageProxy | None:
        message = super().__next__()
        if message is not None:
            message._delivered_by = self  # type: ignore[attr-defined]
        return message

    def _delivered_here(self, message: MessageProxy, verb: str) -> bool:
        if getattr(message, "_delivered_by", self) is self:
            return True
        log.info(
            "not %s message %s: its connection to RabbitMQ closed since delivery, so RabbitMQ has requeued it",
            verb,
            message.message_id,
        )
        return False

    def ack(self, message: MessageProxy) -> None:
        if self._delivered_here(message, "acking"):
            super().ack(message)

    def nack(self, message: MessageProxy) -> None:
        if self._delivered_here(message, "rejecting"):
            super().nack(message)


class SixdegRabbitmqBroker(RabbitmqBroker):
    """RabbitmqBroker whose consumers take an explicit number of messages ahead (not 2 x threads) and ack only
    messages of their own connection (see `_ConnectionBoundConsumer`)."""

    def __init__(self, *, queue_prefetch: int, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.queue_prefetch = queue_prefetch

    def consume(self, queue_name: str, prefetch: int = 1, timeout: int = 5000) -> dramatiq.Consumer:
        # Delay queues keep their large prefetch: their messages sit unacked until their ETA.
        if not queue_name.endswith(".DQ"):
            prefetch = self.queue_prefetch
        return super().consume(queue_name, prefetch, timeout)

    @property
    def consumer_class(self) -> type[_RabbitmqConsumer]:
        return _ConnectionBoundConsumer


class WorkContext(Middleware):
    """Carries the request id from whoever sends a message to the worker that runs it: copied into the message
    options on enqueue, bound with the message id and actor name to the worker thread's logs (and Sentry tags)."""

    def before_enqueue(self, broker: Broker, message: Message, delay: int | None) -> None:
        request_id = logs.current_request_id()
        if request_id and logs.REQUEST_ID_OPTION not in message.options:
            message.options[logs.REQUEST_ID_OPTION] = request_id

    def before_process_message(self, broker: Broker, message: Message) -> None:
        logs.clear()
        logs.bind(
            request_id=message.options.get(logs.REQUEST_ID_OPTION),
            message_id=message.message_id,
            actor=message.actor_name,
        )

    def after_process_message(
        self, broker: Broker, message: Message, *, result: object = None, exception: BaseException | None = None
    ) -> None:
        logs.clear()

    after_skip_message = after_process_message


class FreezeLoadedObjects(Middleware):
    """Moves everything a worker process holds once it has booted (modules, actors, the ORM's mappings, about
    100,000 objects) out of the garbage collector's reach (`gc.freeze`). The collector's full passes then walk only
    what the work itself creates: in a 100,000-contact import they had taken 1.8 s of the worker's time."""

    def after_worker_boot(self, broker: Broker, worker: Worker) -> None:
        gc.collect()
        gc.freeze()


def worker_metrics_middleware() -> Middleware:
    """Dramatiq's Prometheus middleware, writing to this `dramatiq` command's metrics directory and exposed by
    sixdeg's exposition fork on SIXDEG_METRICS_PORT (one per command, whatever --processes is)."""
    from dramatiq.middleware import prometheus

    from pipelines.observability.metrics import serve_worker_metrics, worker_metrics_dir

    class WorkerMetrics(prometheus.Prometheus):
        @property
        def forks(self) -> list[object]:
            return [serve_worker_metrics]

        def after_process_boot(self, broker: Broker) -> None:
            prometheus.DB_PATH = str(worker_metrics_dir(os.getppid()))  # read by the parent's hooks at call time
            super().after_process_boot(broker)

    return WorkerMetrics()


def default_middleware() -> list[Middleware]:
    """Dramatiq's defaults with Retries replaced by GuardedRetries (capped backoff)."""
    return [
        AgeLimit(),
        TimeLimit(),
        ShutdownNotifications(),
        Callbacks(),
        Pipelines(),
        CurrentMessage(),  # actors can key idempotency on the message id, stable across redeliveries
        WorkContext(),
        FreezeLoadedObjects(),
        GuardedRetries(max_retries=DEFAULT_MAX_RETRIES, max_backoff=MAX_BACKOFF_MS),
    ]


def build_broker(config: Config, middleware: Sequence[Middleware] | None = None) -> Broker:
    """A new broker for `config` (not installed globally; see `setup`)."""
    if middleware is None:
        middleware = default_middleware()
        if config.metrics and under_dramatiq_cli():
            middleware.append(worker_metrics_middleware())
    middleware = list(middleware)
    if config.broker_kind == "memory":
        return StubBroker(middleware=middleware)
    url = config.broker_url
    separator = "&" if "?" in url else "?"
    if "socket_timeout" not in url:
        url += f"{separator}socket_timeout={config.backend_timeout}&blocked_connection_timeout=30"
    return SixdegRabbitmqBroker(
        url=url, confirm_delivery=True, middleware=middleware, queue_prefetch=config.worker_prefetch
    )


_state_lock = threading.Lock()
_config: Config | None = None


def setup(config: Config | None = None, middleware: Sequence[Middleware] | None = None) -> Broker:
    """Build the broker for `config` and make it Dramatiq's global broker.

    Actors already declared on a previous broker move to the new one, so tests (and `sixdeg serve`) can switch
    between the stub broker and RabbitMQ in one process.
    """
    global _config
    config = config or Config.from_env()
    observability.init_process(config)  # before the broker: Sentry's Dramatiq integration patches Broker.__init__
    broker = build_broker(config, middleware)
    set_queue_probe(_queue_probe(broker, config) if config.metrics else None)
    with _state_lock:
        previous = _current_broker_or_none()
        if previous is not None:
            for actor in list(previous.actors.values()):
                actor.broker = broker
                broker.declare_actor(actor)
            if previous is not broker:
                previous.close()
        dramatiq.set_broker(broker)
        _config = config
    outbox.set_publisher(publish_committed)
    return broker


def _queue_probe(broker: Broker, config: Config) -> Callable[[], dict[str, QueueDepth]]:
    """How the metrics read queue depths: RabbitMQ by passive declares, the stub broker from memory."""

    def declared() -> list[str]:
        return sorted({q for q in broker.get_declared_queues() if not q.endswith((".DQ", ".XQ"))})

    if isinstance(broker, StubBroker):

        def stub_depths() -> dict[str, QueueDepth]:
            return {
                q: QueueDepth(
                    ready=broker.queues[q].qsize() if q in broker.queues else 0,
                    delayed=broker.queues[f"{q}.DQ"].qsize() if f"{q}.DQ" in broker.queues else 0,
                    dead=len(broker.dead_letters_by_queue.get(q, [])),
                )
                for q in declared()
            }

        return stub_depths
    return lambda: rabbitmq_queue_depths(config.broker_url, declared(), timeout=min(config.backend_timeout, 2.0))


def _current_broker_or_none() -> Broker | None:
    return dramatiq.broker.global_broker


def current_config() -> Config:
    """The configuration the broker (and so every actor) was set up with."""
    if _config is None:
        setup()
    assert _config is not None
    return _config


def publish_committed(rows: Sequence[OutboxMessage]) -> dict[int, str]:
    """The outbox's publisher: enqueue rows a transaction just committed (they are in hand, so nothing is read
    back); returns {row id: error} for those that could not be published. The outbox marks the others sent; a
    failed row stays unsent, with its error, for the sweeper (which resends it)."""
    broker = dramatiq.get_broker()
    failed: dict[int, str] = {}
    for message in outbox.outgoing_messages(rows):
        try:
            _enqueue(broker, message)
        except Exception as exc:
            log.warning("outbox rows %s (%s) not published: %s", [r.id for r in message.rows], message.actor_name, exc)
            failed.update(dict.fromkeys((row.id for row in message.rows), f"{type(exc).__name__}: {exc}"))
    return failed


def publish_outbox_rows(
    ids: Sequence[int] | None = None, *, older_than: float = 0, engine: Engine | None = None
) -> int:
    """Publish unsent outbox rows (given ids, or all older than `older_than` s); returns how many were sent.

    Rows are claimed (marked sent) and enqueued in one transaction: a row whose publish fails, or whose publisher
    dies before the commit, stays unsent (with the error recorded) for the sweeper.
    """
    broker = dramatiq.get_broker()
    sent = 0
    with unit_of_work(engine or current_config()) as session:
        for message in outbox.outgoing_messages(outbox.claim_unsent(session, ids, older_than=older_than)):
            try:
                _enqueue(broker, message)
            except Exception as exc:
                log.warning(
                    "outbox rows %s (%s) not published: %s", [r.id for r in message.rows], message.actor_name, exc
                )
                for row in message.rows:
                    outbox.mark_failed(session, row.id, f"{type(exc).__name__}: {exc}")
                continue
            sent += len(message.rows)
    return sent


def _enqueue(broker: Broker, outgoing: outbox.OutgoingMessage) -> None:
    """Enqueue an outgoing outbox message as its Dramatiq message."""
    message = Message(
        queue_name=outgoing.queue_name or broker.get_actor(outgoing.actor_name).queue_name,
        actor_name=outgoing.actor_name,
        args=outgoing.args,
        kwargs=outgoing.kwargs,
        options=outgoing.options,
        message_id=outgoing.message_id,
    )
    broker.enqueue(message, delay=outgoing.options.get("delay"))


def start_worker(broker: Broker, config: Config, queues: set[str] | None = None) -> Worker:
    """Start Dramatiq worker threads inside this process (`sixdeg serve`, tests)."""
    worker = Worker(broker, queues=queues, worker_threads=config.worker_threads, worker_timeout=100)
    worker.queue_prefetch = config.worker_prefetch
    worker.start()
    return worker
