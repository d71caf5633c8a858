"""Dead letters: inspect, replay and purge the messages Dramatiq gave up on (`sixdeg dlq`).

Dramatiq's RabbitMQ broker declares three queues per queue name: `<q>` (work), `<q>.DQ` (delayed messages:
retries waiting for their backoff) and `<q>.XQ`, the dead-letter queue. A message lands in `<q>.XQ` when the
worker rejects it (retries exhausted, an exception listed in `throws`, `GuardedRetries` failing it) and stays
there for `dramatiq_dead_message_ttl` (7 days by default) before RabbitMQ drops it.

What is in a dead letter: RabbitMQ dead-letters the *body as it was delivered*, not the worker's in-memory copy.
So `options.retries` is the count of the last re-enqueue and `options.traceback` is the traceback of the last
failure that was *retried* (Retries writes it before re-enqueueing); the final failure's traceback is only in
the worker log, and a message with `max_retries=0` carries none. RabbitMQ adds an `x-death` header (queue,
reason, time), which gives the age.

Everything goes over AMQP (pika), so the vhost and credentials come from `SIXDEG_BROKER_URL` and no management
API access is needed. Browsing takes messages with `basic_get` without acknowledging them and closes the channel,
which puts them back. Replay publishes with publisher confirms and `mandatory`, and acks the dead letter only
after the broker confirmed the new copy: a crash in between leaves a duplicate (actors are idempotent), never a
loss.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pika
import pika.exceptions

DEAD_LETTER_SUFFIX = ".XQ"
DELAY_SUFFIX = ".DQ"
#: Headers RabbitMQ adds when it dead-letters a message; a replayed copy starts without them.
_DEATH_HEADERS = ("x-death", "x-first-death-queue", "x-first-death-reason", "x-first-death-exchange")
#: Options that belong to a finished delivery attempt, not to the message: an `eta` would park the replay in
#: the worker's delay queue.
_ATTEMPT_OPTIONS = ("eta", "requeue_timestamp")


class DeadLetterError(Exception):
    """An operator-facing failure: the message says what went wrong and what to do."""


def dead_letter_queue(queue_name: str) -> str:
    """`<queue>.XQ` for a work queue name (or a delay/dead-letter queue name)."""
    return canonical_queue(queue_name) + DEAD_LETTER_SUFFIX


def canonical_queue(queue_name: str) -> str:
    """The work queue a `.DQ`/`.XQ` name belongs to (Dramatiq's `q_name`)."""
    for suffix in (DELAY_SUFFIX, DEAD_LETTER_SUFFIX):
        if queue_name.endswith(suffix):
            return queue_name[: -len(suffix)]
    return queue_name


@dataclass(frozen=True)
class DeadLetter:
    """One message waiting in a dead-letter queue, decoded."""

    message_id: str
    actor_name: str
    queue_name: str  # the work queue it came from (and is replayed to)
    dead_letter_queue: str
    args: list[Any]
    kwargs: dict[str, Any]
    options: dict[str, Any]
    enqueued_at: datetime | None
    dead_at: datetime | None
    death_reason: str | None  # RabbitMQ's: rejected, expired, maxlen
    body: bytes = field(repr=False)
    headers: dict[str, Any] = field(default_factory=dict, repr=False)
    priority: int | None = None

    @property
    def retries(self) -> int:
        return int(self.options.get("retries", 0))

    @property
    def traceback(self) -> str | None:
        return self.options.get("traceback")

    @property
    def reason(self) -> str | None:
        """The exception line of the last retried failure, when Dramatiq kept one."""
        lines = [line for line in (self.traceback or "").splitlines() if line.strip()]
        return lines[-1].strip() if lines else None

    def age_seconds(self, now: datetime | None = None) -> float | None:
        """Seconds since the message was dead-lettered (or, failing that, first enqueued)."""
        since = self.dead_at or self.enqueued_at
        if since is None:
            return None
        return max(0.0, ((now or datetime.now(tz=UTC)) - since).total_seconds())

    def summary(self, *, with_traceback: bool = False) -> dict[str, Any]:
        """A JSON-ready description (what `sixdeg dlq list/show --json` prints)."""
        age = self.age_seconds()
        out: dict[str, Any] = {
            "message_id": self.message_id,
            "actor": self.actor_name,
            "queue": self.queue_name,
            "dead_letter_queue": self.dead_letter_queue,
            "enqueued_at": self.enqueued_at.isoformat() if self.enqueued_at else None,
            "dead_at": self.dead_at.isoformat() if self.dead_at else None,
            "age_seconds": round(age, 1) if age is not None else None,
            "retries": self.retries,
            "death_reason": self.death_reason,
            "reason": self.reason,
            "args": self.args,
            "kwargs": self.kwargs,
        }
        if with_traceback:
            out["traceback"] = self.traceback
            out["options"] = {k: v for k, v in self.options.items() if k != "traceback"}
        return out


def _as_datetime(value: object) -> datetime | None:
    """An AMQP timestamp header (pika gives a naive UTC datetime, or seconds) as an aware UTC datetime."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, tz=UTC)
    return None


def decode(body: bytes, properties: pika.BasicProperties, dead_letter_queue_name: str) -> DeadLetter:
    """A dead letter from its AMQP body and properties; raises DeadLetterError when it is not a Dramatiq message."""
    try:
        data = json.loads(body)
        message_id = str(data["message_id"])
        actor_name = str(data["actor_name"])
    except (ValueError, KeyError, TypeError) as exc:
        raise DeadLetterError(
            f"a message in {dead_letter_queue_name} is not a Dramatiq JSON message ({exc}); inspect it in the "
            "RabbitMQ management UI and purge it there"
        ) from None
    headers = dict(properties.headers or {})
    deaths = headers.get("x-death") or []
    first_death = deaths[0] if deaths and isinstance(deaths[0], dict) else {}
    stamp = data.get("message_timestamp")
    original = data.get("queue_name") or first_death.get("queue") or dead_letter_queue_name
    if isinstance(original, bytes):
        original = original.decode()
    reason = first_death.get("reason")
    return DeadLetter(
        message_id=message_id,
        actor_name=actor_name,
        queue_name=canonical_queue(str(original)),
        dead_letter_queue=dead_letter_queue_name,
        args=list(data.get("args") or []),
        kwargs=dict(data.get("kwargs") or {}),
        options=dict(data.get("options") or {}),
        enqueued_at=datetime.fromtimestamp(stamp / 1000, tz=UTC) if isinstance(stamp, int | float) else None,
        dead_at=_as_datetime(first_death.get("time")),
        death_reason=reason.decode() if isinstance(reason, bytes) else reason,
        body=body,
        headers=headers,
        priority=properties.priority,
    )


def replay_body(letter: DeadLetter) -> bytes:
    """The body to re-publish: the same message id, actor and arguments, a fresh retry budget, no stale ETA.

    Keeping the message id keeps the actors' idempotency keys working; `options.replays` counts replays so a
    message that keeps failing is visible as such.
    """
    data = json.loads(letter.body)
    options = {k: v for k, v in (data.get("options") or {}).items() if k not in _ATTEMPT_OPTIONS}
    options["retries"] = 0
    options["replays"] = int(options.get("replays", 0)) + 1
    data["options"] = options
    data["queue_name"] = letter.queue_name
    return json.dumps(data, separators=(",", ":")).encode("utf-8")


def replay_properties(letter: DeadLetter) -> pika.BasicProperties:
    """Dramatiq's publish properties (persistent, its broker priority) plus any headers but RabbitMQ's death
    bookkeeping, and a note of where the copy came from."""
    headers = {k: v for k, v in letter.headers.items() if k not in _DEATH_HEADERS}
    headers["x-sixdeg-replayed-from"] = letter.dead_letter_queue
    return pika.BasicProperties(delivery_mode=2, priority=letter.priority, headers=headers)


class DeadLetters:
    """The dead-letter queues of one RabbitMQ vhost (from the AMQP URL), over one AMQP connection."""

    def __init__(self, amqp_url: str, *, timeout: float = 5.0) -> None:
        if not amqp_url.startswith(("amqp://", "amqps://")):
            raise DeadLetterError(
                f"dead letters live in RabbitMQ, but the broker is {amqp_url!r}; set SIXDEG_BROKER_URL to the "
                "amqp://user:pass@host:5672/vhost the workers use (the in-process broker keeps none)"
            )
        params = pika.URLParameters(amqp_url)
        params.socket_timeout = timeout
        params.blocked_connection_timeout = timeout * 6
        try:
            self._connection = pika.BlockingConnection(params)
        except pika.exceptions.AMQPError as exc:
            raise DeadLetterError(
                f"cannot connect to RabbitMQ at {params.host}:{params.port} vhost {params.virtual_host!r} "
                f"({type(exc).__name__}: {exc}); check SIXDEG_BROKER_URL and that RabbitMQ is up"
            ) from None

    def close(self) -> None:
        """Close the connection: any message still taken but not acknowledged goes back to its queue."""
        if self._connection.is_open:
            self._connection.close()

    def __enter__(self) -> DeadLetters:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def counts(self, queues: Iterable[str]) -> dict[str, int | None]:
        """Messages in each queue's dead-letter queue (None: the queue was never declared on this vhost)."""
        found: dict[str, int | None] = {}
        for queue in queues:
            name = dead_letter_queue(queue)
            found[name] = self.message_count(name)
        return found

    def message_count(self, queue_name: str) -> int | None:
        """Messages waiting in a queue (None: the queue was never declared on this vhost)."""
        channel = self._connection.channel()
        try:
            return channel.queue_declare(queue_name, passive=True).method.message_count
        except pika.exceptions.ChannelClosedByBroker as exc:
            if exc.reply_code == 404:
                return None
            raise
        finally:
            if channel.is_open:
                channel.close()

    @contextmanager
    def _taken(self, queue: str, limit: int | None = None) -> Iterator[tuple[Any, list[tuple[Any, DeadLetter]]]]:
        """Take up to `limit` dead letters of `queue` without acking; on exit the channel closes and every
        message not acked in the block goes back to the dead-letter queue."""
        name = dead_letter_queue(queue)
        taken: list[tuple[Any, DeadLetter]] = []
        if self.message_count(name) is None:
            yield None, taken
            return
        channel = self._connection.channel()
        try:
            while limit is None or len(taken) < limit:
                method, properties, body = channel.basic_get(name, auto_ack=False)
                if method is None:
                    break
                taken.append((method.delivery_tag, decode(body, properties, name)))
            yield channel, taken
        finally:
            if channel.is_open:
                channel.close()

    def list(self, queues: Sequence[str], limit: int | None = None) -> list[DeadLetter]:
        """The dead letters of `queues` (oldest first within each), leaving them where they are."""
        found: list[DeadLetter] = []
        for queue in queues:
            remaining = None if limit is None else limit - len(found)
            if remaining is not None and remaining <= 0:
                break
            with self._taken(queue, remaining) as (_channel, taken):
                found.extend(letter for _tag, letter in taken)
        return found

    def get(self, queues: Sequence[str], message_id: str) -> DeadLetter:
        """The dead letter with `message_id`; DeadLetterError when no queue holds it."""
        for letter in self.list(queues):
            if letter.message_id == message_id:
                return letter
        raise DeadLetterError(_not_found(queues, message_id))

    def replay(self, queues: Sequence[str], message_id: str | None = None) -> list[DeadLetter]:
        """Re-publish dead letters (one by id, or all of `queues`) to their work queues; each is removed from
        the dead-letter queue only after RabbitMQ confirmed its copy. Returns what was replayed."""
        return self._each(queues, message_id, self._republish)

    def purge(self, queues: Sequence[str], message_id: str | None = None) -> list[DeadLetter]:
        """Delete dead letters (one by id, or all of `queues`) for good. Returns what was deleted."""
        return self._each(queues, message_id, lambda _channel, _letter: None)

    def _each(
        self,
        queues: Sequence[str],
        message_id: str | None,
        action: Callable[[Any, DeadLetter], None],
    ) -> list[DeadLetter]:
        done: list[DeadLetter] = []
        for queue in queues:
            with self._taken(queue) as (channel, taken):
                for tag, letter in taken:
                    if message_id is not None and letter.message_id != message_id:
                        continue
                    action(channel, letter)
                    channel.basic_ack(tag)
                    done.append(letter)
            if message_id is not None and done:
                return done
        if message_id is not None:
            raise DeadLetterError(_not_found(queues, message_id))
        return done

    def _republish(self, dlq_channel: Any, letter: DeadLetter) -> None:
        """Publish `letter` to its work queue with confirms; raises DeadLetterError (the letter stays) if the
        broker does not take it."""
        if self.message_count(letter.queue_name) is None:
            raise DeadLetterError(
                f"message {letter.message_id}: its queue {letter.queue_name!r} does not exist on this vhost; start "
                f"a worker for it (`dramatiq actors --queues {letter.queue_name}`), which declares it, then replay "
                "again. The dead letter was left in place."
            )
        channel = self._connection.channel()
        try:
            channel.confirm_delivery()
            channel.basic_publish(
                exchange="",
                routing_key=letter.queue_name,
                body=replay_body(letter),
                properties=replay_properties(letter),
                mandatory=True,
            )
        except (pika.exceptions.UnroutableError, pika.exceptions.NackError, pika.exceptions.AMQPError) as exc:
            raise DeadLetterError(
                f"message {letter.message_id}: RabbitMQ did not confirm the re-publish to {letter.queue_name!r} "
                f"({type(exc).__name__}: {exc}); the dead letter was left in place, try again"
            ) from None
        finally:
            if channel.is_open:
                channel.close()


def _not_found(queues: Sequence[str], message_id: str) -> str:
    where = ", ".join(dead_letter_queue(q) for q in queues) or "(no queues)"
    return (
        f"no dead letter {message_id} in {where}; `sixdeg dlq list` shows what is there "
        "(dead letters expire after 7 days)"
    )


def format_age(seconds: float | None) -> str:
    """`42s`, `5m`, `3h`, `2d`: compact ages for the table."""
    if seconds is None:
        return "?"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"
