"""The transactional outbox (DESIGN.md principle 2): nothing is lost between a commit and a message.

`send_after_commit` writes an outbox row in the caller's transaction. When that transaction commits, the
rows it wrote are handed to the publisher (installed by the actors layer, which owns the broker); after a
rollback they never existed. A row whose publish failed, or whose process died between commit and publish,
stays unsent and the sweeper resends it. Each row carries a stable message id, so a resend is recognisably
the same message and actors stay idempotent.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import timedelta
from typing import Any, NamedTuple, Protocol

from sqlalchemy import Connection, Engine, event, func, insert, select, update
from sqlalchemy.orm import Session

from pipelines.db import with_autocommit_connection
from pipelines.models import OutboxMessage, utcnow
from pipelines.observability.logs import REQUEST_ID_OPTION, message_options_with_request_id

log = logging.getLogger(__name__)

_PENDING_KEY = "sixdeg.outbox.pending"
_IN_BACKGROUND_KEY = "sixdeg.outbox.in_background"


class ActorLike(Protocol):
    actor_name: str
    queue_name: str


#: Publishes the rows a transaction just committed (as the committing session holds them in memory, so
#: publishing reads nothing back) and returns {row id: error} for those it could not publish; the outbox then
#: marks the others sent. Installed by actors/broker.py; None means "leave them for the sweeper".
Publisher = Callable[[Sequence[OutboxMessage]], dict[int, str]]
_publisher: Publisher | None = None
_publisher_lock = threading.Lock()


#: Actors registered with `publish_together`, and how many ids one of their messages may name.
_PUBLISHED_TOGETHER: set[str] = set()
MAX_IDS_PER_MESSAGE = 500


def publish_together(actor_name: str) -> None:
    """Let the rows for `actor_name` that are published in the same round go as one message naming all their
    arguments: for actors that take any number of ids (`actor(*ids)`) and whose rows each name one. A burst of
    webhooks then costs the broker and the workers a few messages, not one per event."""
    _PUBLISHED_TOGETHER.add(actor_name)


def message_groups(rows: Sequence[OutboxMessage]) -> list[list[OutboxMessage]]:
    """The rows to publish, grouped into messages (in order of first appearance): rows with one argument, no
    keyword arguments and no delay, for an actor registered with `publish_together`, share a message per actor
    and queue, up to MAX_IDS_PER_MESSAGE; every other row is a message of its own."""
    groups: list[list[OutboxMessage]] = []
    open_groups: dict[tuple[str, str | None], list[OutboxMessage]] = {}
    for row in rows:
        if row.actor_name not in _PUBLISHED_TOGETHER or len(row.args) != 1 or row.kwargs or row.options.get("delay"):
            groups.append([row])
            continue
        key = (row.actor_name, row.queue_name)
        group = open_groups.get(key)
        if group is None or len(group) >= MAX_IDS_PER_MESSAGE:
            group = open_groups[key] = []
            groups.append(group)
        group.append(row)
    return groups


class OutgoingMessage(NamedTuple):
    """One broker message for one or more outbox rows (see `outgoing_messages`)."""

    rows: list[OutboxMessage]
    message_id: str
    actor_name: str
    queue_name: str | None
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    options: dict[str, Any]


def outgoing_messages(rows: Sequence[OutboxMessage]) -> list[OutgoingMessage]:
    """The messages that publish `rows` (`message_groups`): a single row under its stable message id; rows
    published together as one message naming all their arguments, under a new id and without a request id
    (they came from many requests; their rows keep theirs)."""
    messages = []
    for group in message_groups(rows):
        first = group[0]
        if len(group) == 1:
            args, options, message_id = tuple(first.args), dict(first.options), first.message_id
        else:
            args = tuple(row.args[0] for row in group)
            options = {k: v for k, v in first.options.items() if k != REQUEST_ID_OPTION}
            message_id = str(uuid.uuid4())
        messages.append(
            OutgoingMessage(group, message_id, first.actor_name, first.queue_name, args, dict(first.kwargs), options)
        )
    return messages


def set_publisher(publisher: Publisher | None) -> None:
    """Install the function that publishes committed rows (the actors layer does this at startup)."""
    global _publisher
    with _publisher_lock:
        _publisher = publisher


def send_after_commit(
    session: Session,
    actor: ActorLike | str,
    *args: Any,
    queue_name: str | None = None,
    options: dict[str, Any] | None = None,
    **kwargs: Any,
) -> OutboxMessage:
    """Record a message to `actor` in this transaction; it is published only if the transaction commits.

    `actor` is an actor object or its name (pipelines/ passes names: it never imports actors/).
    Arguments must be JSON values: ids, never objects.
    """
    values = new_message_values(actor, args, kwargs, queue_name=queue_name, options=options)
    # A Core INSERT, not session.add + flush: this runs on every accepted webhook and import batch, and the
    # unit-of-work flush costs several times the statement itself.
    row_id = session.execute(insert(OutboxMessage).values(values).returning(OutboxMessage.id)).scalar_one()
    row = OutboxMessage(id=row_id, **values)  # detached: readable after the commit whatever the session expires
    session.info.setdefault(_PENDING_KEY, []).append(row)
    return row


def new_message_values(
    actor: ActorLike | str,
    args: Sequence[Any],
    kwargs: dict[str, Any],
    *,
    queue_name: str | None = None,
    options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The column values of a new outbox row (a fresh message id; the current request id in its options)."""
    if queue_name is None and not isinstance(actor, str):
        queue_name = actor.queue_name
    return {
        "message_id": str(uuid.uuid4()),
        "actor_name": actor if isinstance(actor, str) else actor.actor_name,
        "queue_name": queue_name,
        "args": list(args),
        "kwargs": dict(kwargs),
        "options": message_options_with_request_id(options),  # the request id follows the work (logs, Sentry)
        "created_at": utcnow(),
        "attempts": 0,
    }


class _BackgroundPublisher:
    """Publishes committed rows from a daemon thread, many per round with one mark-sent UPDATE for all of them,
    so the request that committed them answers without waiting for the broker, and a process holds one publisher
    connection to RabbitMQ whatever its number of threads. Rows still queued when the process ends stay unsent in
    the table and the sweeper publishes them: nothing is lost, only delayed."""

    BATCH = 500
    LINGER = 0.025  # seconds a busy round waits for more rows

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pid = 0
        self._queue: queue.SimpleQueue[tuple[Engine, Sequence[OutboxMessage]]] = queue.SimpleQueue()
        self._idle = threading.Condition()
        self._outstanding = 0  # submissions not yet published

    def submit(self, engine: Engine, rows: Sequence[OutboxMessage]) -> None:
        if self._pid != os.getpid():  # first use in this process (a forked worker inherits no thread)
            with self._lock:
                if self._pid != os.getpid():
                    self._queue = queue.SimpleQueue()
                    self._idle, self._outstanding = threading.Condition(), 0
                    publisher = threading.Thread(
                        target=self._run, args=(self._queue,), name="outbox-publisher", daemon=True
                    )
                    publisher.start()
                    self._pid = os.getpid()
        with self._idle:
            self._outstanding += 1
        self._queue.put((engine, rows))

    def wait_idle(self, timeout: float) -> bool:
        """Wait until everything submitted in this process has been published (or given up on)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._outstanding == 0, timeout)

    def _run(self, pending: queue.SimpleQueue[tuple[Engine, Sequence[OutboxMessage]]]) -> None:
        last_round = 0.0
        while True:
            engine, rows = pending.get()
            # Busy (the last round was moments ago): gather for LINGER first, so a burst goes out in few rounds,
            # each one publish per message group and one mark-sent UPDATE. After a quiet spell, publish at once.
            gather_until = time.monotonic() + self.LINGER if time.monotonic() - last_round < self.LINGER else 0.0
            batches: dict[Engine, list[OutboxMessage]] = {engine: list(rows)}
            taken, submissions = len(rows), 1
            while taken < self.BATCH:
                try:
                    wait = gather_until - time.monotonic()
                    engine, rows = pending.get(timeout=wait) if wait > 0 else pending.get_nowait()
                except queue.Empty:
                    break
                batches.setdefault(engine, []).extend(rows)
                taken, submissions = taken + len(rows), submissions + 1
            for engine, rows in batches.items():
                _publish(rows, _recorder(engine))
            last_round = time.monotonic()
            with self._idle:
                self._outstanding -= submissions
                self._idle.notify_all()


_background = _BackgroundPublisher()


def wait_published(timeout: float = 10.0) -> bool:
    """Wait until this process's background publisher has sent what it was given (tests, orderly shutdown)."""
    return _background.wait_idle(timeout)


def publish_in_background(session: Session) -> None:
    """Rows this session commits are published by the process's background publisher, not by the committing
    thread: for API requests, which then answer without waiting for RabbitMQ and share one publisher connection
    per process (a threaded server would otherwise open one per thread)."""
    session.info[_IN_BACKGROUND_KEY] = True


def publish_soon(engine: Engine, rows: Sequence[OutboxMessage]) -> None:
    """Publish rows just committed on `engine`'s database from this process's background publisher, without
    waiting: for receivers that commit without a session (the webhook receiver's autocommit statement)."""
    if _publisher is not None:
        _background.submit(engine, rows)


class _Marks:
    """What a publishing round learned: the rows now sent, and the errors of those that were not."""

    def __init__(self, rows: Sequence[OutboxMessage], failed: dict[int, str]) -> None:
        self.sent = [row.id for row in rows if row.id not in failed]
        self.failed = failed

    def apply(self, connection: Connection) -> None:
        if self.sent:
            mark_sent(connection, self.sent)
        for row_id, error in self.failed.items():
            mark_failed(connection, row_id, error)


#: `mark_sent` as one statement on Postgres, for the background publisher's rounds.
_MARK_SENT_SQL = "UPDATE outbox SET sent_at = %s, attempts = attempts + 1 WHERE id = ANY(%s) AND sent_at IS NULL"


def _recorder(engine: Engine) -> Callable[[_Marks], object]:
    def record(marks: _Marks) -> None:
        if engine.dialect.name == "postgresql" and not marks.failed:  # the usual round: one autocommitted UPDATE
            with_autocommit_connection(
                engine, lambda c: c.execute(_MARK_SENT_SQL, (utcnow(), marks.sent), prepare=True)
            )
            return
        with engine.begin() as connection:  # no ORM session: this runs after every commit that sent a message
            marks.apply(connection)

    return record


def _publish(rows: Sequence[OutboxMessage], record: Callable[[_Marks], object]) -> None:
    publisher = _publisher
    if not rows or publisher is None:
        return
    try:
        record(_Marks(rows, publisher(rows)))
    except Exception:  # the rows stay unsent; the sweeper will publish them
        log.exception("publishing %d outbox message(s) after commit failed; the sweeper will retry", len(rows))


@event.listens_for(Session, "after_commit")
def _publish_committed(session: Session) -> None:
    pending: list[OutboxMessage] = session.info.pop(_PENDING_KEY, [])
    if not pending:
        return
    engine = session.get_bind()
    if session.info.get(_IN_BACKGROUND_KEY) and _publisher is not None:
        _background.submit(engine, pending)
    else:
        _publish(pending, _recorder(engine))


@event.listens_for(Session, "after_rollback")
def _forget_rolled_back(session: Session) -> None:
    session.info.pop(_PENDING_KEY, None)


def claim_unsent(
    session: Session, ids: Iterable[int] | None = None, *, older_than: float = 0, limit: int = 500
) -> list[OutboxMessage]:
    """Take unsent rows (by id, or for the sweeper those older than `older_than` seconds), oldest first, and mark
    them sent in the same statement. The caller publishes them before its transaction commits and calls
    `mark_failed` for any it could not publish; if it dies first, the rollback leaves them unsent. Rows another
    publisher holds are skipped (Postgres `FOR UPDATE SKIP LOCKED`), so concurrent publishers never share one."""
    candidates = (
        select(OutboxMessage.id)
        .where(OutboxMessage.sent_at.is_(None))
        .order_by(OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    if ids is not None:
        candidates = candidates.where(OutboxMessage.id.in_(list(ids)))
    if older_than:
        candidates = candidates.where(OutboxMessage.created_at <= utcnow() - timedelta(seconds=older_than))
    claimed = session.scalars(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(candidates.scalar_subquery()), OutboxMessage.sent_at.is_(None))
        .values(sent_at=utcnow(), attempts=OutboxMessage.attempts + 1)
        .returning(OutboxMessage),
        execution_options={"synchronize_session": False},
    ).all()
    return sorted(claimed, key=lambda row: row.id)


def mark_sent(connection: Session | Connection, row_ids: Sequence[int]) -> None:
    """Rows published straight after their commit: sent, unless a sweeper got there first (then it counted)."""
    connection.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(list(row_ids)), OutboxMessage.sent_at.is_(None))
        .values(sent_at=utcnow(), attempts=OutboxMessage.attempts + 1),
        execution_options={"synchronize_session": False},
    )


def mark_failed(connection: Session | Connection, row_id: int, error: str) -> None:
    """A claimed row could not be published: keep it unsent (its attempt is already counted), with the error."""
    connection.execute(
        update(OutboxMessage).where(OutboxMessage.id == row_id).values(sent_at=None, last_error=error[:2000])
    )


def latest_id(session: Session) -> int:
    """The newest outbox row's id: it grows with every change to people or connections (each sends a message),
    so it tells a cache whether the network may have changed since (one index lookup)."""
    return session.scalar(select(func.max(OutboxMessage.id))) or 0


def unsent_count(session: Session) -> int:
    """How many rows wait to be published (for monitoring and tests)."""
    return session.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.sent_at.is_(None))) or 0
