"""Webhook sources: contact changes pushed by CRMs, sync services and users' own scripts.

Receiving is cheap and safe: verify the Standard Webhooks signature (the `standardwebhooks` package; the current
secret, or the previous one during a rotation's grace period), validate the payload, store it keyed by (source,
webhook-id) and enqueue through the outbox, all in one transaction. Nothing is processed inline.

Processing (`process_events`, on the queue) reuses the import pipeline's steps (normalize, resolve, persist,
project), so a webhook contact and an imported contact of the same person become one person. Events about one
contact apply in the order the sender stamped them (`webhook-timestamp`, then arrival): an older event that
arrives late is recorded and skipped, so upsert → delete → upsert converges whatever the delivery order.

Payload (JSON, Standard Webhooks style):

    {"type": "contact.upserted", "data": {"id": "crm-42", "given_name": "Ada", "family_name": "Lovelace",
     "emails": ["ada@example.com"], "phones": ["+44 20 7946 0000"], "company": "Analytical Engines", ...}}
    {"type": "contact.deleted", "data": {"id": "crm-42"}}
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Annotated, Any, Literal, NamedTuple, Protocol

import cachetools
import psycopg
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter
from sqlalchemy import Insert, select
from sqlalchemy.orm import Session
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from pipelines import secrets
from pipelines.config import Config
from pipelines.contacts.ingest import BatchTarget, ingest_batch
from pipelines.contacts.normalize import normalize
from pipelines.contacts.records import NormalizedContact, ParsedContact, RowError
from pipelines.db import (
    bulk_update_by_id,
    get_engine,
    insert_ignoring_conflicts,
    insert_ignoring_conflicts_on,
    with_autocommit_connection,
)
from pipelines.models import (
    Contact,
    OutboxMessage,
    Source,
    SourceKind,
    User,
    WebhookContactState,
    WebhookEvent,
    utcnow,
)
from pipelines.outbox import new_message_values, publish_soon, send_after_commit
from pipelines.ownership import delete_contacts

WEBHOOK_ACTOR = "webhooks.process_event"
DEFAULT_ROTATION_GRACE = timedelta(hours=24)


class BadSignature(Exception):
    """The request is not signed by the source's secret (or is stale): 401, and nothing is stored."""


# --- payload -------------------------------------------------------------------------------------------------

_Text = Annotated[str, Field(max_length=300)]
_List = Annotated[list[Annotated[str, Field(max_length=300)]], Field(max_length=20)]


class WebhookContact(BaseModel):
    """A contact as the sender has it: the fields the importers read, and the sender's own id for it."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(
        min_length=1, max_length=200, pattern=r"^\S(.*\S)?$", description="The sender's own, stable id of this contact."
    )
    display_name: _Text | None = None
    given_name: _Text | None = None
    middle_name: _Text | None = None
    family_name: _Text | None = None
    nickname: _Text | None = None
    emails: _List = []
    phones: _List = []
    company: _Text | None = None
    title: _Text | None = None
    department: _Text | None = None
    location: _Text | None = None
    profile_urls: _List = []
    urls: _List = []
    birthday: Annotated[str, Field(max_length=20)] | None = None
    connected_on: date | None = None
    notes: Annotated[str, Field(max_length=5000)] | None = None
    default_region: Annotated[str, Field(pattern=r"^[A-Za-z]{2}$")] | None = Field(
        None, description="ISO country for phone numbers without a +country code."
    )


class DeletedContact(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=200, pattern=r"^\S(.*\S)?$")


class ContactUpserted(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["contact.upserted"]
    timestamp: datetime | None = None
    data: WebhookContact


class ContactDeleted(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["contact.deleted"]
    timestamp: datetime | None = None
    data: DeletedContact


WebhookPayload = Annotated[ContactUpserted | ContactDeleted, Field(discriminator="type")]
PAYLOAD = TypeAdapter(WebhookPayload)


# --- sources -------------------------------------------------------------------------------------------------


def create_source(session: Session, secret_key: str, user: User, name: str) -> tuple[Source, str]:
    """A new webhook source of `user`; returns it and its signing secret (shown once, stored encrypted)."""
    secret = secrets.new_webhook_secret()
    source = Source(
        user_id=user.id, kind=SourceKind.webhook, name=name, webhook_secret=secrets.encrypt(secret_key, secret)
    )
    session.add(source)
    session.flush()
    return source, secret


def rotate_secret(session: Session, secret_key: str, source: Source, grace: timedelta = DEFAULT_ROTATION_GRACE) -> str:
    """A new secret; the current one stays valid for `grace` so senders can switch without losing events."""
    secret = secrets.new_webhook_secret()
    source.webhook_previous_secret = source.webhook_secret
    source.webhook_previous_until = utcnow() + grace
    source.webhook_secret = secrets.encrypt(secret_key, secret)
    session.flush()
    return secret


def set_disabled(session: Session, source: Source, disabled: bool) -> None:
    source.disabled_at = (source.disabled_at or utcnow()) if disabled else None
    session.flush()


def receiving_source(session: Session, source_id: int) -> Source | None:
    """The webhook source that may receive now, or None (unknown, not a webhook source, or disabled)."""
    source = session.get(Source, source_id)
    if source is None or source.kind != SourceKind.webhook or source.disabled_at is not None:
        return None
    return source


class SigningSecrets(Protocol):
    """What verifying a signature needs of a source (a `Source` row, or `ReceivingSource` on the fast path)."""

    webhook_secret: str | None
    webhook_previous_secret: str | None
    webhook_previous_until: datetime | None


def verify(secret_key: str, source: SigningSecrets, body: bytes, headers: dict[str, str]) -> datetime:
    """Check the signature with the current secret, then the previous one within its grace period; returns the
    sender's timestamp. Raises BadSignature (missing headers, stale or future timestamp, no matching signature)."""
    return verify_with_secret(secret_key, source, body, headers)[0]


def verify_with_secret(
    secret_key: str, source: SigningSecrets, body: bytes, headers: dict[str, str]
) -> tuple[datetime, str]:
    """`verify`, also returning which stored (encrypted) secret the signature matched."""
    candidates = [source.webhook_secret]
    if source.webhook_previous_secret and source.webhook_previous_until and source.webhook_previous_until > utcnow():
        candidates.append(source.webhook_previous_secret)
    problem = "no signing secret"
    for stored in candidates:
        if not stored:
            continue
        try:
            Webhook(secrets.decrypt(secret_key, stored)).verify(body, headers, json_parse=False)
        except (WebhookVerificationError, ValueError) as exc:  # ValueError: malformed signature or body encoding
            problem = str(exc) or type(exc).__name__
            continue
        return datetime.fromtimestamp(float(_header(headers, "webhook-timestamp")), tz=UTC), stored
    raise BadSignature(problem)


def _header(headers: dict[str, str], name: str) -> str:
    return next(v for k, v in headers.items() if k.lower() == name)


def accept(
    session: Session, source: Source, webhook_id: str, sent_at: datetime, payload: ContactUpserted | ContactDeleted
) -> bool:
    """Store a verified event and enqueue it (after commit); False when this webhook-id was seen before."""
    inserted = session.execute(
        _insert_event(session.get_bind().dialect.name),
        {
            "source_id": source.id,
            "webhook_id": webhook_id,
            "event_type": payload.type,
            "external_id": payload.data.id,
            "payload": payload.model_dump(mode="json"),
            "sent_at": sent_at,
            "received_at": utcnow(),
        },
    ).scalar()
    if inserted is None:
        return False
    send_after_commit(session, WEBHOOK_ACTOR, inserted)
    return True


@lru_cache(maxsize=2)
def _insert_event(dialect: str) -> Insert:
    """INSERT ... ON CONFLICT (source, webhook-id) DO NOTHING RETURNING id, built once per dialect (every accepted
    webhook runs it, and a single-row execute skips SQLAlchemy's executemany machinery)."""
    table = WebhookEvent.__table__
    return insert_ignoring_conflicts_on(dialect, table, ("source_id", "webhook_id")).returning(table.c.id)


# --- receiving on Postgres: two statements on an autocommit connection (the API's own, per thread) ----------
# The session-based `receiving_source` + `accept` cost about 8 ms of CPU per webhook (ORM, pool pre-ping, a
# separate transaction to mark the message sent); this path does the same work in two prepared statements.


class ReceivingSource(NamedTuple):
    id: int
    webhook_secret: str | None
    webhook_previous_secret: str | None
    webhook_previous_until: datetime | None


_RECEIVING_SOURCE_SQL = (
    "SELECT id, webhook_secret, webhook_previous_secret, webhook_previous_until FROM sources"
    " WHERE id = %s AND kind = 'webhook' AND disabled_at IS NULL"
)

# The event and its outbox row in one statement, so an autocommit connection stores both or neither. `receiving`
# re-checks, as the rows go in, that the source still receives and still holds the secret that verified the
# signature: the receiver may have verified against its cached copy of the source (RECEIVING_SOURCES).
_ACCEPT_SQL = """
WITH receiving AS (
    SELECT id FROM sources
    WHERE id = %(source_id)s AND kind = 'webhook' AND disabled_at IS NULL
      AND (webhook_secret = %(secret)s
           OR (webhook_previous_secret = %(secret)s AND webhook_previous_until > %(created_at)s))
), event AS (
    INSERT INTO webhook_events (source_id, webhook_id, event_type, external_id, payload, sent_at, received_at)
    SELECT receiving.id, %(webhook_id)s, %(event_type)s, %(external_id)s, %(payload)s::json, %(sent_at)s,
           %(created_at)s
    FROM receiving
    ON CONFLICT (source_id, webhook_id) DO NOTHING
    RETURNING id
), message AS (
    INSERT INTO outbox (message_id, actor_name, queue_name, args, kwargs, options, created_at, attempts)
    SELECT %(message_id)s, %(actor_name)s, %(queue_name)s, json_build_array(event.id), %(kwargs)s::json,
           %(options)s::json, %(created_at)s, %(attempts)s
    FROM event
    RETURNING id, (args->>0)::bigint AS event_id
)
SELECT (SELECT count(*) FROM receiving), message.id, message.event_id FROM (SELECT 1) AS one LEFT JOIN message ON true
"""


class ReceivingSourceCache:
    """Receiving sources by (database, id), per process: the webhook receiver's hot path skips the lookup
    statement. Never trusted alone: the accept statement re-checks the source and the secret that verified, and
    a signature that fails against a cached copy is checked again against a fresh one (a rotated secret)."""

    def __init__(self, maxsize: int = 10_000, ttl: float = 300.0) -> None:
        self._entries: cachetools.TTLCache[tuple[str, int], ReceivingSource] = cachetools.TTLCache(maxsize, ttl)
        self._lock = threading.Lock()

    def get(
        self, database: str, source_id: int, load: Callable[[], ReceivingSource | None], *, fresh: bool = False
    ) -> tuple[ReceivingSource | None, bool]:
        """The source (None when it does not receive) and whether it came from the cache."""
        key = (database, source_id)
        if not fresh:
            with self._lock:
                cached = self._entries.get(key)
            if cached is not None:
                return cached, True
        source = load()
        with self._lock:
            if source is None:
                self._entries.pop(key, None)
            else:
                self._entries[key] = source
        return source, False

    def forget(self, database: str, source_id: int) -> None:
        with self._lock:
            self._entries.pop((database, source_id), None)


RECEIVING_SOURCES = ReceivingSourceCache()


class SourceGone(Exception):
    """The source was deleted between its lookup and storing the event (answered like an unknown source)."""


class SourceChanged(Exception):
    """When the event was to be stored, the source no longer received with the secret that verified it
    (disabled, deleted, or that secret rotated out since the receiver's copy was read): look it up again."""


def receiving_source_on(connection: psycopg.Connection, source_id: int) -> ReceivingSource | None:
    """`receiving_source` on a Postgres connection, without an ORM session."""
    row = connection.execute(_RECEIVING_SOURCE_SQL, (source_id,)).fetchone()
    return ReceivingSource(*row) if row else None


def accept_on(
    connection: psycopg.Connection,
    source_id: int,
    secret: str,
    webhook_id: str,
    sent_at: datetime,
    payload: ContactUpserted | ContactDeleted,
) -> OutboxMessage | None:
    """`accept` on a Postgres autocommit connection (the caller's): the event and its outbox row in one statement,
    so both are stored or neither, provided the source still receives with `secret` (the stored secret that
    verified the signature). Returns the outbox row to publish, or None when this webhook-id was seen before;
    raises SourceChanged when the source no longer receives with that secret, SourceGone if it was deleted
    meanwhile. Safe to repeat after a lost connection (the event is keyed by (source, webhook-id), so a repeat
    finds it and stores nothing)."""
    message = new_message_values(WEBHOOK_ACTOR, [], {})
    params = {
        **message,
        "kwargs": json.dumps(message["kwargs"]),
        "options": json.dumps(message["options"]),
        "source_id": source_id,
        "secret": secret,
        "webhook_id": webhook_id,
        "event_type": payload.type,
        "external_id": payload.data.id,
        "payload": PAYLOAD.dump_json(payload).decode(),
        "sent_at": sent_at,
    }
    try:
        receiving, row_id, event_id = connection.execute(_ACCEPT_SQL, params, prepare=True).fetchone()  # type: ignore[misc]
    except psycopg.errors.ForeignKeyViolation:
        raise SourceGone(source_id) from None
    if not receiving:
        raise SourceChanged(source_id)
    if row_id is None:
        return None
    return OutboxMessage(id=row_id, **{**message, "args": [event_id]})


class NotReceiving(Exception):
    """The source is unknown, disabled or deleted: the webhook is answered 404 and nothing is stored."""


def verify_receiving(
    config: Config, source_id: int, body: bytes, headers: dict[str, str], *, fresh: bool = False
) -> tuple[datetime, str]:
    """On Postgres: find the receiving source (this process's RECEIVING_SOURCES first) and verify the signature;
    returns the sender's timestamp and the stored secret the signature matched. Raises NotReceiving or
    BadSignature. A signature that fails against a cached copy is checked again against the source read afresh:
    its secret may have been rotated, or the copy be of another database's source with the same id (tests)."""

    def load() -> ReceivingSource | None:
        return with_autocommit_connection(config, lambda c: receiving_source_on(c, source_id))

    source, cached = RECEIVING_SOURCES.get(config.database_url, source_id, load, fresh=fresh)
    if source is None:
        raise NotReceiving(source_id)
    try:
        return verify_with_secret(config.secret_key, source, body, headers)
    except (BadSignature, secrets.SecretUnreadable):
        if not cached:
            raise
    return verify_receiving(config, source_id, body, headers, fresh=True)


def accept_receiving(
    config: Config,
    source_id: int,
    body: bytes,
    headers: dict[str, str],
    verified: tuple[datetime, str],
    webhook_id: str,
    payload: ContactUpserted | ContactDeleted,
) -> bool:
    """Store an event `verify_receiving` verified (`accept_on`, on the caller's thread's autocommit connection)
    and hand its outbox row to the background publisher (`outbox.publish_soon`). If the source changed since
    the cached copy that verified it, verify again against the source as it now is and store then. Returns
    False for a repeated webhook-id; raises NotReceiving or BadSignature."""

    def store(sent_at: datetime, secret: str) -> bool:
        row = with_autocommit_connection(
            config, lambda c: accept_on(c, source_id, secret, webhook_id, sent_at, payload)
        )
        if row is not None:
            publish_soon(get_engine(config), [row])
        return row is not None

    try:
        return store(*verified)
    except SourceGone:
        raise NotReceiving(source_id) from None
    except SourceChanged:
        RECEIVING_SOURCES.forget(config.database_url, source_id)
    try:
        return store(*verify_receiving(config, source_id, body, headers, fresh=True))
    except (SourceGone, SourceChanged):  # changed again within this request
        raise NotReceiving(source_id) from None


# --- processing ----------------------------------------------------------------------------------------------

#: Events applied together: the one a message names, plus other pending events of the same source that no
#: other worker holds. One pipeline batch for many events is what makes a burst drain quickly.
PROCESS_BATCH = 200


def process_events(session: Session, event_ids: Sequence[int], *, batch: int = PROCESS_BATCH) -> dict[int, str]:
    """Apply the events `event_ids` (one message names one, or several the outbox published together) in one
    transaction; a message that names one event also takes other pending events of its source, up to `batch`
    (rows the sweeper resends one by one after an outage then drain in batches; a message naming several leaves
    other events to their own messages, so workers do not queue on each other's row locks).
    Returns {event id: outcome}. Idempotent: processed events are not applied again (their messages,
    delivered later, find nothing to do).

    Per contact only the newest event (by the sender's timestamp, then arrival) that is newer than the last
    one applied takes effect; the others are recorded as skipped."""
    named = session.scalars(
        _locked(
            session,
            select(WebhookEvent)
            .where(WebhookEvent.id.in_(list(event_ids)), WebhookEvent.processed_at.is_(None))
            .order_by(WebhookEvent.id),  # one lock order for every worker: no deadlocks
        )
    ).all()
    by_source: dict[int, list[WebhookEvent]] = {}
    for event in named:
        by_source.setdefault(event.source_id, []).append(event)
    outcomes: dict[int, str] = {}
    now = utcnow()
    for source_id, events in by_source.items():
        if len(event_ids) == 1 and batch > 1:
            others = select(WebhookEvent).where(
                WebhookEvent.source_id == source_id,
                WebhookEvent.processed_at.is_(None),
                WebhookEvent.id.not_in([event.id for event in events]),
            )
            if session.get_bind().dialect.name == "postgresql":
                others = others.with_for_update(skip_locked=True)
            events += session.scalars(others.order_by(WebhookEvent.id).limit(batch - len(events)))
        applied = _apply_events(session, events)
        bulk_update_by_id(  # one statement, not an ORM UPDATE per event
            session,
            WebhookEvent,
            [{"id": event.id, "processed_at": now, "outcome": applied[event.id][:500]} for event in events],
        )
        outcomes.update(applied)
    return outcomes


def _locked(session: Session, query: Any) -> Any:
    return query.with_for_update() if session.get_bind().dialect.name == "postgresql" else query


def _apply_events(session: Session, events: list[WebhookEvent]) -> dict[int, str]:
    source = session.get(Source, events[0].source_id)
    user = session.get(User, source.user_id) if source else None
    if source is None or user is None:
        return {e.id: "gone (its source was deleted)" for e in events}
    by_contact: dict[str, list[WebhookEvent]] = {}
    for event in events:
        by_contact.setdefault(event.external_id, []).append(event)
    keys = sorted(by_contact)
    never = datetime.min.replace(tzinfo=UTC)
    session.execute(
        insert_ignoring_conflicts(session, WebhookContactState.__table__, ("source_id", "external_id")),
        [{"source_id": source.id, "external_id": k, "sent_at": never, "event_id": 0, "deleted": False} for k in keys],
    )
    states = {
        state.external_id: state
        for state in session.scalars(
            _locked(
                session,
                select(WebhookContactState)
                .where(WebhookContactState.source_id == source.id, WebhookContactState.external_id.in_(keys))
                .order_by(WebhookContactState.external_id),  # one lock order for every worker: no deadlocks
            )
        )
    }
    outcomes: dict[int, str] = {}
    upserts: list[tuple[WebhookEvent, NormalizedContact]] = []
    deletes: list[WebhookEvent] = []
    for key in keys:
        state = states[key]
        ordered = sorted(by_contact[key], key=lambda e: (e.sent_at, e.id))
        newest = ordered[-1]
        if (state.sent_at, state.event_id) > (newest.sent_at, newest.id):
            for event in ordered:
                outcomes[event.id] = f"skipped: event {state.event_id} about this contact is newer"
            continue
        for event in ordered[:-1]:
            outcomes[event.id] = f"skipped: superseded by event {newest.id}"
        state.sent_at, state.event_id = newest.sent_at, newest.id
        state.deleted = newest.event_type == "contact.deleted"
        if state.deleted:
            deletes.append(newest)
            continue
        normalized = _normalized(newest)
        if isinstance(normalized, RowError):
            outcomes[newest.id] = f"rejected: {normalized.reason}"
        else:
            upserts.append((newest, normalized))
    if upserts:
        existing = set(
            session.scalars(
                select(Contact.external_key).where(
                    Contact.source_id == source.id, Contact.external_key.in_([n.external_key for _, n in upserts])
                )
            )
        )
        target = BatchTarget(user_id=user.id, user_person_id=user.person_id, source_id=source.id)
        ingest_batch(session, target, [normalized for _, normalized in upserts])
        for event, normalized in upserts:
            outcomes[event.id] = "updated" if normalized.external_key in existing else "created"
    if deletes:
        ids = session.scalars(
            select(Contact.id).where(
                Contact.source_id == source.id, Contact.external_key.in_([e.external_id for e in deletes])
            )
        ).all()
        delete_contacts(session, user, ids)
        for event in deletes:
            outcomes[event.id] = "deleted"
    return outcomes


def _normalized(event: WebhookEvent) -> NormalizedContact | RowError:
    """The event's contact through the importers' normalization (the payload has the importers' fields)."""
    data = ContactUpserted.model_validate(event.payload).data
    fields = data.model_dump(exclude={"id", "default_region"})
    parsed = ParsedContact(
        line=0, external_key=data.id, **{k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()}
    )
    return normalize(parsed, data.default_region.upper() if data.default_region else None)
