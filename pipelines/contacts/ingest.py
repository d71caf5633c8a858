"""Write one batch of normalized contacts: resolve identities, upsert people, identities, contacts and edges.

Set-based (a handful of statements per batch, whatever its size) and idempotent: contacts are keyed by
(source, external key) and skipped when their content hash is unchanged, identities by (kind, value), edges by
(from, to). Running a batch twice leaves the same state; re-importing a file creates no rows and no versions.

Identity resolution (DESIGN.md): the same email, phone or LinkedIn profile URL is the same person, across sources
and across users. Name and company alone never merge; within one user's data they make a merge suggestion.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import exists, func, insert, select, text
from sqlalchemy.orm import Session

from pipelines.contacts.merge import MergeRefused, choose_survivor, live_person_id, live_person_ids, merge_people
from pipelines.contacts.records import NormalizedContact
from pipelines.db import (
    JsonText,
    among,
    bulk_insert,
    bulk_insert_ignoring_conflicts,
    bulk_update_by_id,
    insert_ignoring_conflicts,
)
from pipelines.graph.strength import Evidence, strength
from pipelines.models import (
    Connection,
    Contact,
    ContactChange,
    Identity,
    IdentityKind,
    MergeSuggestion,
    Person,
    utcnow,
)
from pipelines.projections import notify_people_changed

#: Fields of a person that an import fills in or updates (a changed company is a job change).
PERSON_FIELDS = ("given_name", "family_name", "company", "title", "location")


@dataclass(frozen=True)
class BatchTarget:
    """Where a batch goes: whose data, which source, which import."""

    user_id: int
    user_person_id: int
    source_id: int
    import_id: int | None = None


@dataclass
class BatchResult:
    people_created: int = 0
    people_merged: int = 0
    contacts_created: int = 0
    contacts_updated: int = 0
    contacts_unchanged: int = 0
    suggestions: int = 0
    touched: set[int] = field(default_factory=set)
    #: People this batch inserted (among `touched`): projected without a version bump.
    created: set[int] = field(default_factory=set)

    def add(self, other: BatchResult) -> None:
        for name in (
            "people_created",
            "people_merged",
            "contacts_created",
            "contacts_updated",
            "contacts_unchanged",
            "suggestions",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.touched |= other.touched
        self.created |= other.created


def identity_keys(contact: NormalizedContact) -> list[tuple[IdentityKind, str]]:
    """The strong keys of a contact, strongest first."""
    keys = [(IdentityKind.email, e) for e in contact.emails]
    keys += [(IdentityKind.phone, p) for p in contact.phones]
    if contact.profile_url:
        keys.append((IdentityKind.profile_url, contact.profile_url))
    return keys


class _UnionFind:
    def __init__(self, size: int) -> None:
        self.parent = list(range(size))

    def find(self, item: int) -> int:
        while self.parent[item] != item:
            self.parent[item] = self.parent[self.parent[item]]
            item = self.parent[item]
        return item

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _chunks(items: Sequence, size: int = 900) -> Iterable[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _existing_identities(session: Session, keys: set[tuple[IdentityKind, str]]) -> dict[tuple[IdentityKind, str], int]:
    """Which of these keys already name a person (one indexed lookup per kind)."""
    by_kind: dict[IdentityKind, list[str]] = {}
    for kind, value in keys:
        by_kind.setdefault(kind, []).append(value)
    found: dict[tuple[IdentityKind, str], int] = {}
    for kind, values in by_kind.items():
        for chunk in _chunks(sorted(values), 5000):
            rows = session.execute(
                select(Identity.value, Identity.person_id).where(
                    Identity.kind == kind.value, among(session, Identity.value, chunk)
                )
            )
            for value, person_id in rows:
                found[(kind, value)] = person_id
    return found


def _why(keys: list[tuple[IdentityKind, str]]) -> str:
    kind, value = keys[0]
    return f"same {kind.value.replace('_', ' ')} {value}"


def ingest_batch(session: Session, target: BatchTarget, contacts: Sequence[NormalizedContact]) -> BatchResult:
    """Persist `contacts` for `target`; returns counts and the people touched (projected after commit)."""
    result = BatchResult()
    latest: dict[str, NormalizedContact] = {}
    for contact in contacts:  # the same record twice in one file: the last one wins
        if contact.external_key in latest:
            result.contacts_unchanged += 1
        latest[contact.external_key] = contact
    batch = list(latest.values())
    if not batch:
        return result

    existing_contacts = {
        row.external_key: row
        for chunk in _chunks([c.external_key for c in batch])
        for row in session.scalars(
            select(Contact).where(Contact.source_id == target.source_id, among(session, Contact.external_key, chunk))
        )
    }
    unchanged = [
        c
        for c in batch
        if c.external_key in existing_contacts and existing_contacts[c.external_key].content_hash == c.content_hash()
    ]
    unchanged_keys = {c.external_key for c in unchanged}
    result.contacts_unchanged += len(unchanged)
    work = [c for c in batch if c.external_key not in unchanged_keys]
    person_by_key = {c.external_key: existing_contacts[c.external_key].person_id for c in unchanged}
    if work:
        person_by_key.update(_ingest_changed(session, target, work, existing_contacts, result))
    # A merge moves contacts between people behind the batch's back: read where they ended up.
    _upsert_connections(session, target, batch, None if result.people_merged else person_by_key, result)
    if result.touched:
        notify_people_changed(session, result.touched, created=result.created)
    return result


def _ingest_changed(
    session: Session,
    target: BatchTarget,
    work: list[NormalizedContact],
    existing_contacts: dict[str, Contact],
    result: BatchResult,
) -> dict[str, int]:
    """Resolve, write and refresh the new and changed contacts; returns each one's person by external key."""
    keys_of = [identity_keys(c) for c in work]
    known = _existing_identities(session, {k for keys in keys_of for k in keys})

    # Contacts of this batch that share a key describe one person.
    groups = _UnionFind(len(work))
    first_with_key: dict[tuple[IdentityKind, str], int] = {}
    for index, keys in enumerate(keys_of):
        for key in keys:
            if key in first_with_key:
                groups.union(first_with_key[key], index)
            else:
                first_with_key[key] = index
    members: dict[int, list[int]] = {}
    for index in range(len(work)):
        members.setdefault(groups.find(index), []).append(index)

    live = live_person_ids(session, [*known.values(), *(c.person_id for c in existing_contacts.values())])
    person_of_group: dict[int, int] = {}
    new_groups: list[int] = []
    for root, indexes in members.items():
        candidates: dict[int, list[tuple[IdentityKind, str]]] = {}
        for index in indexes:
            for key in keys_of[index]:
                if key in known:
                    candidates.setdefault(live[known[key]], []).append(key)
            previous = existing_contacts.get(work[index].external_key)
            if previous is not None:
                candidates.setdefault(live[previous.person_id], [])
        if not candidates:
            new_groups.append(root)
            continue
        person_of_group[root] = _merge_candidates(session, target, candidates, result)

    if new_groups:
        rows = [_person_row(work[members[root][0]]) for root in new_groups]
        ids = _insert_people(session, rows)
        for root, person_id in zip(new_groups, ids, strict=True):
            person_of_group[root] = person_id
        result.people_created += len(ids)
        result.created.update(ids)

    person_of = {index: person_of_group[groups.find(index)] for index in range(len(work))}
    if _add_identities(session, target, keys_of, person_of, known, result):
        live = live_person_ids(session, set(person_of.values()))
        person_of = {index: live[person_id] for index, person_id in person_of.items()}
    _write_contacts(session, target, work, person_of, existing_contacts, result)
    _refresh_people(session, work, person_of, new_ids=set(person_of_group[r] for r in new_groups))
    result.touched |= set(person_of.values())
    _suggest_merges(session, target, {person_of[i]: work[i] for i in range(len(work))}, result)
    return {contact.external_key: person_of[index] for index, contact in enumerate(work)}


def _merge_candidates(
    session: Session, target: BatchTarget, candidates: dict[int, list[tuple[IdentityKind, str]]], result: BatchResult
) -> int:
    """One person for a group: merge every candidate into the survivor (account holders are never merged)."""
    if len(candidates) == 1:
        return next(iter(candidates))
    try:
        survivor = choose_survivor(session, set(candidates))
    except MergeRefused:
        return min(candidates)
    for person_id, keys in sorted(candidates.items()):
        if person_id == survivor:
            continue
        reason = _why(keys) if keys else "same contact record"
        merge_people(
            session, survivor, person_id, reason, user_id=target.user_id, details={"import_id": target.import_id}
        )
        result.people_merged += 1
        result.touched.add(person_id)
    return survivor


def _insert_people(session: Session, rows: list[dict]) -> list[int]:
    """Insert people and return their ids in row order.

    On Postgres the ids are drawn from the table's sequence first, so the rows go in as one executemany
    (RETURNING with guaranteed order would make SQLAlchemy send them one by one). SQLite takes them one by one.
    """
    now = utcnow()
    for row in rows:
        row.setdefault("created_at", now)
        row.setdefault("updated_at", now)
    if session.get_bind().dialect.name == "postgresql":
        ids = list(
            session.scalars(
                text("SELECT nextval(pg_get_serial_sequence('people', 'id')) FROM generate_series(1, :n)"),
                {"n": len(rows)},
            )
        )
        bulk_insert(session, Person.__table__, [{**row, "id": pid} for row, pid in zip(rows, ids, strict=True)])
        return ids
    return list(session.scalars(insert(Person).returning(Person.id, sort_by_parameter_order=True), rows))


#: The width of each person column an import fills (None: unbounded).
_PERSON_WIDTHS: dict[str, int | None] = {
    column.name: getattr(column.type, "length", None) for column in Person.__table__.columns
}


def _fit(name: str, value: str | None) -> str | None:
    """A person field cut to its column's width (the contact keeps the whole value as given, up to the import's
    field limit): an over-long title must not fail the batch (DESIGN.md principle 7)."""
    length = _PERSON_WIDTHS[name]
    return value[:length].rstrip() if value and length else value


def _person_row(contact: NormalizedContact) -> dict:
    return {
        "display_name": _fit("display_name", contact.display_name),
        "given_name": _fit("given_name", contact.given_name),
        "family_name": _fit("family_name", contact.family_name),
        "company": _fit("company", contact.company),
        "title": _fit("title", contact.title),
        "location": _fit("location", contact.location),
        "version": 1,
    }


def _add_identities(
    session: Session,
    target: BatchTarget,
    keys_of: list[list[tuple[IdentityKind, str]]],
    person_of: dict[int, int],
    known: dict[tuple[IdentityKind, str], int],
    result: BatchResult,
) -> bool:
    """Record the batch's new keys; True when one was taken meanwhile and its people were merged."""
    wanted: dict[tuple[IdentityKind, str], int] = {}
    for index, keys in enumerate(keys_of):
        for key in keys:
            if key not in known:
                wanted.setdefault(key, person_of[index])
    if not wanted:
        return False
    now = utcnow()
    rows = [{"kind": k.value, "value": v, "person_id": p, "created_at": now} for (k, v), p in wanted.items()]
    inserted = bulk_insert_ignoring_conflicts(
        session, Identity.__table__, ("kind", "value"), rows, returning=("kind", "value")
    )
    # Another batch may have taken a key first: its person and ours are then the same human.
    taken = set(wanted) if inserted is None else set(wanted) - {(IdentityKind(k), v) for k, v in inserted}
    winners = _existing_identities(session, taken) if taken else {}
    clashes = {key: (winners[key], mine) for key, mine in wanted.items() if winners.get(key, mine) != mine}
    merged = False
    for key, (winner, mine) in clashes.items():
        winner, mine = live_person_id(session, winner), live_person_id(session, mine)
        if winner != mine:
            _merge_candidates(session, target, {winner: [key], mine: [key]}, result)
            merged = True
    return merged


def _write_contacts(
    session: Session,
    target: BatchTarget,
    work: list[NormalizedContact],
    person_of: dict[int, int],
    existing_contacts: dict[str, Contact],
    result: BatchResult,
) -> None:
    new_rows, changes = [], []
    now = utcnow()
    for index, contact in enumerate(work):
        previous = existing_contacts.get(contact.external_key)
        if previous is None:
            new_rows.append(
                {
                    "source_id": target.source_id,
                    "user_id": target.user_id,
                    "person_id": person_of[index],
                    "external_key": contact.external_key,
                    "fields": JsonText(contact.fields_json()),
                    "content_hash": contact.content_hash(),
                    "created_at": now,
                    "updated_at": now,
                }
            )
            continue
        fields = contact.fields()
        diff = {
            name: [previous.fields.get(name), value]
            for name, value in fields.items()
            if previous.fields.get(name) != value
        }
        previous.fields = fields
        previous.content_hash = contact.content_hash()
        previous.person_id = person_of[index]
        previous.updated_at = now
        changes.append({"contact_id": previous.id, "import_id": target.import_id, "changes": diff})
    if new_rows:
        bulk_insert(session, Contact.__table__, new_rows)
        result.contacts_created += len(new_rows)
    if changes:
        bulk_insert(session, ContactChange.__table__, changes)
        result.contacts_updated += len(changes)
    session.flush()


def _refresh_people(
    session: Session, work: list[NormalizedContact], person_of: dict[int, int], new_ids: set[int]
) -> None:
    """Fill a person's empty fields from the contact, and take a changed company or title (a job change)."""
    by_person: dict[int, NormalizedContact] = {}
    for index, contact in enumerate(work):
        if person_of[index] not in new_ids:
            by_person[person_of[index]] = contact
    if not by_person:
        return
    updates = []
    columns = [Person.id, Person.display_name, *(getattr(Person, name) for name in PERSON_FIELDS)]
    for person in session.execute(select(*columns).where(among(session, Person.id, list(by_person)))):
        contact = by_person[person.id]
        values = {}
        for name in PERSON_FIELDS:
            value = _fit(name, getattr(contact, name))
            if value is not None and getattr(person, name) != value:
                values[name] = value
        if not person.display_name:
            values["display_name"] = _fit("display_name", contact.display_name)
        if values:
            updates.append({"id": person.id, **values})  # the version rises with the batch's notify_people_changed
    bulk_update_by_id(session, Person, updates)


def _upsert_connections(
    session: Session,
    target: BatchTarget,
    batch: list[NormalizedContact],
    person_by_key: dict[str, int] | None,
    result: BatchResult,
) -> None:
    """The user knows everyone in their contacts: one edge per person, evidence listing the sources.

    `person_by_key` is each contact's person when the batch knows it for sure; None reads it back."""
    contact_person = person_by_key
    if contact_person is None:
        contact_person = {
            row.external_key: row.person_id
            for chunk in _chunks([c.external_key for c in batch])
            for row in session.execute(
                select(Contact.external_key, Contact.person_id).where(
                    Contact.source_id == target.source_id, among(session, Contact.external_key, chunk)
                )
            )
        }
    connected_on: dict[int, date | None] = {}
    for contact in batch:
        person_id = contact_person.get(contact.external_key)
        if person_id is None or person_id == target.user_person_id:
            continue
        earlier = connected_on.get(person_id)
        connected_on[person_id] = min(filter(None, [earlier, contact.connected_on]), default=None)
    if not connected_on:
        return
    persons = list(connected_on)
    existing = _edges_keyed(session, Connection.from_person_id, target.user_person_id, Connection.to_person_id, persons)
    # Edges the other side owns towards this user: they make the relationship mutual (both strengths rise).
    reverse = _edges_keyed(session, Connection.to_person_id, target.user_person_id, Connection.from_person_id, persons)
    companies = {
        pid: (company or "").casefold()
        for chunk in _chunks([*persons, target.user_person_id])
        for pid, company in session.execute(select(Person.id, Person.company).where(among(session, Person.id, chunk)))
    }
    own_company = companies.get(target.user_person_id) or None
    now = utcnow()
    new_rows, updates = [], []
    for person_id, when in connected_on.items():
        edge = existing.get(person_id)
        same_company = bool(own_company) and companies.get(person_id) == own_company
        if edge is None:
            evidence = {"sources": [target.source_id], "mutual": person_id in reverse, "same_company": same_company}
            new_rows.append(
                {
                    "from_person_id": target.user_person_id,
                    "to_person_id": person_id,
                    "owner_user_id": target.user_id,
                    "evidence": evidence,
                    "connected_on": when,
                    "strength": edge_strength(evidence, when, now),
                    "first_seen": now,
                    "last_seen": now,
                    "version": 1,
                }
            )
            result.touched.add(person_id)
            continue
        sources = sorted(set(edge.evidence.get("sources", [])) | {target.source_id})
        evidence = {**edge.evidence, "sources": sources, "mutual": person_id in reverse, "same_company": same_company}
        since = when if when and (edge.connected_on is None or when < edge.connected_on) else edge.connected_on
        values: dict = {"id": edge.id, "last_seen": now}
        new_strength = edge_strength(evidence, since, now)
        if evidence != edge.evidence or since != edge.connected_on or new_strength != edge.strength:
            values.update(evidence=evidence, connected_on=since, strength=new_strength, version=edge.version + 1)
            result.touched.add(person_id)
        updates.append(values)
    for person_id, back in reverse.items():  # the other side's edge becomes mutual too
        if not back.evidence.get("mutual"):
            evidence = {**back.evidence, "mutual": True}
            updates.append(
                {
                    "id": back.id,
                    "evidence": evidence,
                    "version": back.version + 1,
                    "strength": edge_strength(evidence, back.connected_on, back.last_seen),
                }
            )
            result.touched.add(person_id)
    if new_rows:
        bulk_insert(session, Connection.__table__, new_rows)
    if updates:
        bulk_update_by_id(session, Connection, updates)


def _edges_keyed(
    session: Session, end: Any, person_id: int, other_end: Any, others: list[int]
) -> dict[int, Connection]:
    """Edges with `end` = person_id and `other_end` among `others`, keyed by their other end."""
    return {
        getattr(edge, other_end.key): edge
        for chunk in _chunks(others)
        for edge in session.scalars(select(Connection).where(end == person_id, among(session, other_end, chunk)))
    }


def edge_strength(evidence: dict, connected_on: date | None, last_seen: datetime) -> float:
    """The strength formula (pipelines/graph/strength.py) applied to an edge's stored evidence."""
    return strength(
        Evidence(
            sources=len(evidence.get("sources", [])),
            mutual=bool(evidence.get("mutual")),
            connected_on=connected_on,
            same_company=bool(evidence.get("same_company")),
            last_seen=last_seen,
        )
    )


def _suggest_merges(
    session: Session, target: BatchTarget, people: dict[int, NormalizedContact], result: BatchResult
) -> None:
    """Same name and company among this user's people: suggest (never perform) a merge.

    One indexed lookup per batch (`ix_people_lower_display_name`), whatever the size of the user's data.
    """
    wanted = {pid: (c.display_name.lower(), c.company.lower()) for pid, c in people.items() if c.company}
    if not wanted:
        return
    names = sorted({name for name, _ in wanted.values()})
    by_key: dict[tuple[str, str], set[int]] = {}
    for chunk in _chunks(names, 5000):
        rows = session.execute(
            select(Person.id, func.lower(Person.display_name), func.lower(Person.company)).where(
                among(session, func.lower(Person.display_name), chunk),
                Person.company.is_not(None),
                Person.merged_into.is_(None),
                exists(select(Contact.id).where(Contact.person_id == Person.id, Contact.user_id == target.user_id)),
            )
        )
        for person_id, name, company in rows:
            by_key.setdefault((name, company), set()).add(person_id)
    pairs: dict[tuple[int, int], str] = {}
    for person_id, key in wanted.items():
        for other in by_key.get(key, set()) - {person_id}:
            pairs[tuple(sorted((person_id, other)))] = f"same name and company: {key[0]} at {key[1]}"
    if pairs:
        session.execute(
            insert_ignoring_conflicts(session, MergeSuggestion.__table__, ("user_id", "person_a_id", "person_b_id")),
            [
                {"user_id": target.user_id, "person_a_id": a, "person_b_id": b, "reason": reason}
                for (a, b), reason in pairs.items()
            ],
        )
        result.suggestions += len(pairs)
