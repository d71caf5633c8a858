"""The relational data model: the system of record (DESIGN.md "Data model").

Neo4j and the search index are projections of these tables. Constraints carry explicit names (the naming
convention below) so migrations can refer to them on both SQLite and Postgres.
"""

from __future__ import annotations

import enum
import uuid
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# BIGINT primary keys on Postgres, INTEGER on SQLite (only INTEGER PRIMARY KEY is SQLite's rowid alias).
Id = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> datetime:
    """Timezone-aware now in UTC; every timestamp is stored in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python (SQLite hands back naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON, date: Date}


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    """A portable enum column: VARCHAR plus a named CHECK constraint (no Postgres ENUM type to migrate)."""
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=20,
        values_callable=lambda members: [m.value for m in members],
    )


class Sharing(enum.StrEnum):
    """Whether others may traverse a user's connections in their path queries (principle 8)."""

    private = "private"
    network = "network"


class IdentityKind(enum.StrEnum):
    """Strong keys that identify one human across sources and users."""

    email = "email"
    phone = "phone"
    profile_url = "profile_url"
    source_uid = "source_uid"
    key = "key"  # `key:<node>` from `sixdeg load-graph`


class SourceKind(enum.StrEnum):
    linkedin_csv = "linkedin_csv"
    google_csv = "google_csv"
    outlook_csv = "outlook_csv"
    vcard = "vcard"
    csv = "csv"
    webhook = "webhook"


class ImportStatus(enum.StrEnum):
    requested = "requested"
    running = "running"
    done = "done"
    failed = "failed"


class Person(Base):
    """The canonical person. A merged-away person points to its survivor through `merged_into`."""

    __tablename__ = "people"
    __table_args__ = (Index("ix_people_lower_display_name", text("lower(display_name)")),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    display_name: Mapped[str] = mapped_column(String(300), default="")
    given_name: Mapped[str | None] = mapped_column(String(200))
    family_name: Mapped[str | None] = mapped_column(String(200))
    company: Mapped[str | None] = mapped_column(String(300))
    title: Mapped[str | None] = mapped_column(String(300))
    location: Mapped[str | None] = mapped_column(String(300))
    version: Mapped[int] = mapped_column(BigInteger, default=1, server_default=text("1"))
    merged_into: Mapped[int | None] = mapped_column(Id, ForeignKey("people.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(200))
    person_id: Mapped[int] = mapped_column(Id, ForeignKey("people.id", ondelete="RESTRICT"), unique=True)
    sharing: Mapped[Sharing] = mapped_column(_enum(Sharing, "sharing"), default=Sharing.private)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Identity(Base):
    """A normalized strong key of a person, unique per (kind, value)."""

    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("kind", "value"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    person_id: Mapped[int] = mapped_column(Id, ForeignKey("people.id", ondelete="CASCADE"), index=True)
    kind: Mapped[IdentityKind] = mapped_column(_enum(IdentityKind, "identity_kind"))
    value: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Source(Base):
    """One contact source of one user (a LinkedIn export, a phone's vCards, a webhook sender)."""

    __tablename__ = "sources"
    __table_args__ = (UniqueConstraint("user_id", "kind", "name"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    user_id: Mapped[int] = mapped_column(Id, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[SourceKind] = mapped_column(_enum(SourceKind, "source_kind"))
    name: Mapped[str] = mapped_column(String(200))
    webhook_secret: Mapped[str | None] = mapped_column(Text)  # encrypted at rest (pipelines/secrets.py)
    #: After a rotation the previous secret stays valid until `webhook_previous_until`.
    webhook_previous_secret: Mapped[str | None] = mapped_column(Text)
    webhook_previous_until: Mapped[datetime | None] = mapped_column()
    disabled_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Contact(Base):
    """One user's record of one person from one source, with the fields as that source gave them."""

    __tablename__ = "contacts"
    __table_args__ = (
        UniqueConstraint("source_id", "external_key"),
        # "does this user have a contact of this person?" (merge suggestions, ownership) is one index probe;
        # it also serves every lookup by person alone.
        Index("ix_contacts_person_id_user_id", "person_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    source_id: Mapped[int] = mapped_column(Id, ForeignKey("sources.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(Id, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(Id, ForeignKey("people.id", ondelete="CASCADE"))
    external_key: Mapped[str] = mapped_column(String(500))
    fields: Mapped[dict[str, Any]] = mapped_column(default=dict)
    content_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Connection(Base):
    """Owner person → person, with strength and evidence. The graph projection is built from this table.

    `owner_user_id` is the user whose data asserts the edge (NULL for edges bulk-loaded by `sixdeg load-graph`,
    which belong to no user); it decides who may traverse the edge.
    """

    __tablename__ = "connections"
    __table_args__ = (
        UniqueConstraint("from_person_id", "to_person_id"),
        CheckConstraint("from_person_id <> to_person_id", name="not_self"),
        CheckConstraint("strength >= 0 AND strength <= 1", name="strength_range"),
        Index("ix_connections_to_person_id", "to_person_id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    from_person_id: Mapped[int] = mapped_column(Id, ForeignKey("people.id", ondelete="CASCADE"))
    to_person_id: Mapped[int] = mapped_column(Id, ForeignKey("people.id", ondelete="CASCADE"))
    owner_user_id: Mapped[int | None] = mapped_column(Id, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    strength: Mapped[float] = mapped_column(Float, default=0.0)
    evidence: Mapped[dict[str, Any]] = mapped_column(default=dict)
    connected_on: Mapped[date | None] = mapped_column()
    first_seen: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(default=utcnow)
    #: Raised whenever strength, evidence or endpoints change: the graph projection never applies an older one.
    version: Mapped[int] = mapped_column(BigInteger, default=1, server_default=text("1"))


class Merge(Base):
    """Why two people became one; undone merges keep their row with `undone_at` set."""

    __tablename__ = "merges"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    survivor_id: Mapped[int] = mapped_column(Id, ForeignKey("people.id", ondelete="CASCADE"), index=True)
    merged_id: Mapped[int] = mapped_column(Id, ForeignKey("people.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(Id, ForeignKey("users.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(String(500))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    undone_at: Mapped[datetime | None] = mapped_column()


class Import(Base):
    """A requested import job: requested → running → done | failed, with counts and timings."""

    __tablename__ = "imports"
    __table_args__ = (Index("ix_imports_user_id_requested_at", "user_id", "requested_at"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    user_id: Mapped[int] = mapped_column(Id, ForeignKey("users.id", ondelete="CASCADE"))
    source_id: Mapped[int | None] = mapped_column(Id, ForeignKey("sources.id", ondelete="CASCADE"))
    status: Mapped[ImportStatus] = mapped_column(_enum(ImportStatus, "import_status"), default=ImportStatus.requested)
    format: Mapped[str] = mapped_column(String(30), default="auto")
    filename: Mapped[str] = mapped_column(String(500), default="")
    stored_path: Mapped[str | None] = mapped_column(String(1000))
    default_region: Mapped[str | None] = mapped_column(String(2))
    rows_total: Mapped[int] = mapped_column(Integer, default=0)
    rows_done: Mapped[int] = mapped_column(Integer, default=0)
    people_created: Mapped[int] = mapped_column(Integer, default=0)
    people_merged: Mapped[int] = mapped_column(Integer, default=0)
    contacts: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[int] = mapped_column(Integer, default=0)
    contacts_updated: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    contacts_unchanged: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    bytes_total: Mapped[int] = mapped_column(BigInteger, default=0, server_default=text("0"))
    bytes_done: Mapped[int] = mapped_column(BigInteger, default=0, server_default=text("0"))
    failure: Mapped[str | None] = mapped_column(Text)
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()


class ImportError_(Base):
    """One rejected line of an import, with its reason."""

    __tablename__ = "import_errors"
    __table_args__ = (UniqueConstraint("import_id", "line"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    import_id: Mapped[int] = mapped_column(Id, ForeignKey("imports.id", ondelete="CASCADE"))
    line: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(500))
    raw: Mapped[str | None] = mapped_column(Text)


class OutboxMessage(Base):
    """A message to publish after its transaction commits (principle 2). `message_id` is stable across resends."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index(
            "ix_outbox_unsent",
            "created_at",
            postgresql_where=text("sent_at IS NULL"),
            sqlite_where=text("sent_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    message_id: Mapped[str] = mapped_column(String(36), unique=True, default=lambda: str(uuid.uuid4()))
    actor_name: Mapped[str] = mapped_column(String(200))
    queue_name: Mapped[str | None] = mapped_column(String(200))
    args: Mapped[list[Any]] = mapped_column(JSON, default=list)
    kwargs: Mapped[dict[str, Any]] = mapped_column(default=dict)
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column()
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


class ApiToken(Base):
    """A personal API token. Only its SHA-256 is stored; the token itself is shown once, at creation."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    user_id: Mapped[int] = mapped_column(Id, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()


class AuthSession(Base):
    """A browser session: the cookie holds a random token, the database its SHA-256 and the CSRF token."""

    __tablename__ = "auth_sessions"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    user_id: Mapped[int] = mapped_column(Id, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class MergeSuggestion(Base):
    """Two people in one user's data with the same name and company: maybe one human, never merged unasked."""

    __tablename__ = "merge_suggestions"
    __table_args__ = (UniqueConstraint("user_id", "person_a_id", "person_b_id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    user_id: Mapped[int] = mapped_column(Id, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    person_a_id: Mapped[int] = mapped_column(Id, ForeignKey("people.id", ondelete="CASCADE"))
    person_b_id: Mapped[int] = mapped_column(Id, ForeignKey("people.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    dismissed_at: Mapped[datetime | None] = mapped_column()


class ContactChange(Base):
    """What a re-import changed on a contact (a new company is a job change)."""

    __tablename__ = "contact_changes"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    contact_id: Mapped[int] = mapped_column(Id, ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    import_id: Mapped[int | None] = mapped_column(Id, ForeignKey("imports.id", ondelete="SET NULL"))
    changes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookEvent(Base):
    """A verified webhook as received, keyed by (source, webhook-id) so a repeated delivery is a no-op; processed
    on the queue, its effect committed together with `processed_at`."""

    __tablename__ = "webhook_events"
    __table_args__ = (
        UniqueConstraint("source_id", "webhook_id"),
        Index(
            "ix_webhook_events_unprocessed",
            "received_at",
            postgresql_where=text("processed_at IS NULL"),
            sqlite_where=text("processed_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    source_id: Mapped[int] = mapped_column(Id, ForeignKey("sources.id", ondelete="CASCADE"))
    webhook_id: Mapped[str] = mapped_column(String(200))
    event_type: Mapped[str] = mapped_column(String(40))
    external_id: Mapped[str] = mapped_column(String(500))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: The sender's `webhook-timestamp`: events about one contact apply in this order, whatever order they arrive in.
    sent_at: Mapped[datetime] = mapped_column()
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column()
    outcome: Mapped[str | None] = mapped_column(String(500))


class WebhookContactState(Base):
    """The newest event applied to one contact of a webhook source (kept after a delete, so an older upsert that
    arrives late cannot bring the contact back)."""

    __tablename__ = "webhook_contact_states"

    source_id: Mapped[int] = mapped_column(Id, ForeignKey("sources.id", ondelete="CASCADE"), primary_key=True)
    external_id: Mapped[str] = mapped_column(String(500), primary_key=True)
    sent_at: Mapped[datetime] = mapped_column()
    event_id: Mapped[int] = mapped_column(Id)
    deleted: Mapped[bool] = mapped_column(default=False)


class ScheduledFire(Base):
    """One fired slot of a scheduled job: the idempotency key that makes each slot enqueue exactly once, even when
    two schedulers fire it (a failover, or two leaders by mistake)."""

    __tablename__ = "scheduled_fires"

    job_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    scheduled_for: Mapped[datetime] = mapped_column(primary_key=True)
    fired_at: Mapped[datetime] = mapped_column(default=utcnow)
