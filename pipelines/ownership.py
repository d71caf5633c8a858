"""A user's data is theirs: export everything they own, delete a contact, a source or the whole account.

Deletion is set-based (a few statements whatever the size) and leaves no orphans: edges the user's data no
longer supports go, and people whom nobody knows any more (no contact, no edge, no account) go too. The people
touched are sent to the projections through the outbox, so the graph and the search index follow even if one
of them is down at that moment.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import vobject
from sqlalchemy import delete, exists, func, select
from sqlalchemy.orm import Session, aliased

from pipelines.models import (
    ApiToken,
    AuthSession,
    Connection,
    Contact,
    Import,
    Person,
    Source,
    User,
    utcnow,
)
from pipelines.projections import notify_people_changed

EXPORT_VERSION = 1


def delete_contacts(session: Session, user: User, contact_ids: Iterable[int]) -> dict[str, int]:
    """Delete some of `user`'s contacts, the edges only they supported, and people left known by nobody."""
    ids = list(contact_ids)
    if not ids:
        return {"contacts": 0, "connections": 0, "people": 0}
    person_ids = set(
        session.scalars(select(Contact.person_id).where(Contact.user_id == user.id, Contact.id.in_(ids))).all()
    )
    contacts = session.execute(delete(Contact).where(Contact.user_id == user.id, Contact.id.in_(ids))).rowcount
    still_listed = select(Contact.id).where(Contact.user_id == user.id, Contact.person_id == Connection.to_person_id)
    connections = session.execute(
        delete(Connection).where(
            Connection.owner_user_id == user.id,
            Connection.from_person_id == user.person_id,
            Connection.to_person_id.in_(person_ids),
            ~exists(still_listed),
        )
    ).rowcount
    people = delete_orphans(session, person_ids)
    notify_people_changed(session, person_ids | {user.person_id})
    return {"contacts": contacts, "connections": connections, "people": people}


def delete_source(session: Session, user: User, source: Source) -> dict[str, int]:
    """Delete a source with its contacts and imports."""
    contact_ids = session.scalars(select(Contact.id).where(Contact.source_id == source.id)).all()
    counts = delete_contacts(session, user, contact_ids)
    counts["imports"] = session.execute(delete(Import).where(Import.source_id == source.id)).rowcount
    session.delete(source)
    counts["sources"] = 1
    return counts


def delete_account(session: Session, user: User) -> dict[str, int]:
    """Delete the user and everything they own; their person goes too unless someone else knows them."""
    contact_ids = session.scalars(select(Contact.id).where(Contact.user_id == user.id)).all()
    counts = delete_contacts(session, user, contact_ids)
    touched = set(session.scalars(select(Connection.to_person_id).where(Connection.owner_user_id == user.id)).all())
    counts["connections"] += session.execute(delete(Connection).where(Connection.owner_user_id == user.id)).rowcount
    counts["imports"] = session.execute(delete(Import).where(Import.user_id == user.id)).rowcount
    counts["sources"] = session.execute(delete(Source).where(Source.user_id == user.id)).rowcount
    counts["tokens"] = session.execute(delete(ApiToken).where(ApiToken.user_id == user.id)).rowcount
    session.execute(delete(AuthSession).where(AuthSession.user_id == user.id))
    person_id = user.person_id
    session.delete(user)
    session.flush()
    counts["people"] += delete_orphans(session, touched | {person_id})
    counts["users"] = 1
    notify_people_changed(session, touched | {person_id})
    return counts


def delete_orphans(session: Session, person_ids: Iterable[int]) -> int:
    """Delete the given people that nobody knows any more: no contact, no edge, no account."""
    ids = list(person_ids)
    if not ids:
        return 0
    session.flush()
    absorbed = aliased(Person)
    known = (
        exists(select(Contact.id).where(Contact.person_id == Person.id))
        | exists(select(Connection.id).where(Connection.from_person_id == Person.id))
        | exists(select(Connection.id).where(Connection.to_person_id == Person.id))
        | exists(select(User.id).where(User.person_id == Person.id))
        | exists(select(absorbed.id).where(absorbed.merged_into == Person.id))  # undoable merges point here
    )
    orphans = session.scalars(select(Person.id).where(Person.id.in_(ids), ~known)).all()
    if not orphans:
        return 0
    return session.execute(delete(Person).where(Person.id.in_(orphans))).rowcount


# --- export ----------------------------------------------------------------------------------------------------


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def export_user(session: Session, user: User) -> dict[str, Any]:
    """Everything `user` owns, as JSON-ready data (no secrets: token hashes and webhook secrets stay out)."""
    sources = session.scalars(select(Source).where(Source.user_id == user.id).order_by(Source.id)).all()
    contacts = session.scalars(select(Contact).where(Contact.user_id == user.id).order_by(Contact.id)).all()
    connections = session.execute(
        select(Connection, Person)
        .join(Person, Person.id == Connection.to_person_id)
        .where(Connection.owner_user_id == user.id)
        .order_by(Connection.id)
    ).all()
    imports = session.scalars(select(Import).where(Import.user_id == user.id).order_by(Import.id)).all()
    tokens = session.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id)).all()
    return {
        "format": "sixdeg-export",
        "version": EXPORT_VERSION,
        "exported_at": utcnow().isoformat(),
        "user": {
            "id": user.id,
            "email": user.email,
            "person_id": user.person_id,
            "sharing": user.sharing.value,
            "created_at": _iso(user.created_at),
        },
        "sources": [
            {"id": s.id, "kind": s.kind.value, "name": s.name, "created_at": _iso(s.created_at)} for s in sources
        ],
        "contacts": [
            {
                "id": c.id,
                "source_id": c.source_id,
                "person_id": c.person_id,
                "external_key": c.external_key,
                "fields": c.fields,
                "created_at": _iso(c.created_at),
                "updated_at": _iso(c.updated_at),
            }
            for c in contacts
        ],
        "connections": [
            {
                "person_id": p.id,
                "name": p.display_name,
                "company": p.company,
                "title": p.title,
                "strength": c.strength,
                "evidence": c.evidence,
                "connected_on": c.connected_on.isoformat() if c.connected_on else None,
                "first_seen": _iso(c.first_seen),
                "last_seen": _iso(c.last_seen),
            }
            for c, p in connections
        ],
        "imports": [
            {
                "id": i.id,
                "source_id": i.source_id,
                "status": i.status.value,
                "format": i.format,
                "filename": i.filename,
                "rows_total": i.rows_total,
                "contacts": i.contacts,
                "errors": i.errors,
                "requested_at": _iso(i.requested_at),
                "finished_at": _iso(i.finished_at),
            }
            for i in imports
        ],
        "tokens": [
            {
                "id": t.id,
                "name": t.name,
                "prefix": t.prefix,
                "created_at": _iso(t.created_at),
                "last_used_at": _iso(t.last_used_at),
                "revoked_at": _iso(t.revoked_at),
            }
            for t in tokens
        ],
    }


def contact_count(session: Session, source_id: int) -> int:
    return session.scalar(select(func.count()).select_from(Contact).where(Contact.source_id == source_id)) or 0


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def contact_to_vcard(fields: dict[str, Any]) -> str:
    """One contact as a vCard 4.0 (RFC 6350) card, from the importer's normalized field names."""
    card = vobject.vCard()
    card.add("version").value = "4.0"
    given = fields.get("given_name") or ""
    family = fields.get("family_name") or ""
    display = (
        fields.get("display_name")
        or " ".join(p for p in (given, family) if p)
        or (_as_list(fields.get("emails")) or _as_list(fields.get("phones")) or ["(no name)"])[0]
    )
    card.add("fn").value = str(display)
    card.add("n").value = vobject.vcard.Name(family=family, given=given)
    for email in _as_list(fields.get("emails")):
        card.add("email").value = str(email)
    for phone in _as_list(fields.get("phones")):
        card.add("tel").value = str(phone)
    if fields.get("company") or fields.get("department"):
        card.add("org").value = [
            str(fields.get("company") or ""),
            *([str(fields["department"])] if fields.get("department") else []),
        ]
    if fields.get("title"):
        card.add("title").value = str(fields["title"])
    for url in _as_list(fields.get("urls")) + _as_list(fields.get("profile_url")):
        card.add("url").value = str(url)
    if fields.get("notes"):
        card.add("note").value = str(fields["notes"])
    return card.serialize()


def export_vcards(session: Session, user: User) -> Iterable[str]:
    """Every contact of `user` as vCard 4.0 text, one card at a time (streams for big address books)."""
    query = select(Contact.fields).where(Contact.user_id == user.id).order_by(Contact.id)
    for fields in session.scalars(query.execution_options(yield_per=1000)):
        yield contact_to_vcard(fields or {})
