"""Merging two people into one, with the reason recorded, and undoing it.

A merge moves the merged person's identities, contacts and edges to the survivor and points the merged person at
it (`merged_into`). Everything moved is listed in the merge's `details`, so `undo_merge` can put it back exactly;
edges that collided with one the survivor already had are kept whole in `details` and restored on undo.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from pipelines.models import Connection, Contact, Identity, Merge, MergeSuggestion, Person, User, utcnow
from pipelines.projections import notify_people_changed


class MergeRefused(ValueError):
    """Two people that must stay apart (both are account holders), or a merge that cannot be undone."""


def live_person_id(session: Session, person_id: int) -> int:
    """Follow `merged_into` to the surviving person."""
    seen = set()
    while person_id not in seen:
        seen.add(person_id)
        target = session.scalar(select(Person.merged_into).where(Person.id == person_id))
        if target is None:
            return person_id
        person_id = target
    return person_id


def live_person_ids(session: Session, person_ids: Iterable[int]) -> dict[int, int]:
    """`live_person_id` for many people at once: one query per level of `merged_into` (usually one)."""
    result = {person_id: person_id for person_id in person_ids}
    pending = set(result.values())
    for _ in range(32):  # merge chains are short; the bound guards against a corrupted cycle
        if not pending:
            break
        targets: dict[int, int] = {}
        ordered = sorted(pending)
        for start in range(0, len(ordered), 900):
            chunk = ordered[start : start + 900]
            targets.update(
                session.execute(
                    select(Person.id, Person.merged_into).where(Person.id.in_(chunk), Person.merged_into.is_not(None))
                ).all()
            )
        if not targets:
            break
        for person_id, current in result.items():
            if current in targets:
                result[person_id] = targets[current]
        pending = set(targets.values())
    return result


def choose_survivor(session: Session, person_ids: set[int]) -> int:
    """An account holder's own person survives (their node is them); otherwise the oldest person."""
    owners = set(session.scalars(select(User.person_id).where(User.person_id.in_(person_ids))))
    if len(owners) > 1:
        raise MergeRefused("two account holders are different people")
    return next(iter(owners)) if owners else min(person_ids)


def _connection_row(connection: Connection) -> dict[str, Any]:
    return {
        "from_person_id": connection.from_person_id,
        "to_person_id": connection.to_person_id,
        "owner_user_id": connection.owner_user_id,
        "strength": connection.strength,
        "evidence": connection.evidence,
        "connected_on": connection.connected_on.isoformat() if connection.connected_on else None,
        "first_seen": connection.first_seen.isoformat(),
        "last_seen": connection.last_seen.isoformat(),
    }


def merge_people(
    session: Session,
    survivor_id: int,
    merged_id: int,
    reason: str,
    *,
    user_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> Merge:
    """Merge `merged_id` into `survivor_id`, recording why; returns the merge (undo it with `undo_merge`)."""
    if survivor_id == merged_id:
        raise MergeRefused("a person cannot be merged into itself")
    moved: dict[str, Any] = {
        "identities": [],
        "contacts": [],
        "connections_from": [],
        "connections_to": [],
        "connections_dropped": [],
        **(details or {}),
    }
    moved["identities"] = list(session.scalars(select(Identity.id).where(Identity.person_id == merged_id)))
    session.execute(update(Identity).where(Identity.person_id == merged_id).values(person_id=survivor_id))
    moved["contacts"] = list(session.scalars(select(Contact.id).where(Contact.person_id == merged_id)))
    session.execute(update(Contact).where(Contact.person_id == merged_id).values(person_id=survivor_id))

    edges = session.scalars(
        select(Connection).where(or_(Connection.from_person_id == merged_id, Connection.to_person_id == merged_id))
    ).all()
    for edge in edges:
        new_from = survivor_id if edge.from_person_id == merged_id else edge.from_person_id
        new_to = survivor_id if edge.to_person_id == merged_id else edge.to_person_id
        clash = new_from == new_to or session.scalar(
            select(Connection.id).where(Connection.from_person_id == new_from, Connection.to_person_id == new_to)
        )
        if clash:
            moved["connections_dropped"].append(_connection_row(edge))
            if new_from != new_to:
                _absorb_evidence(session, new_from, new_to, edge)
            session.delete(edge)
            session.flush()
            continue
        key = "connections_from" if edge.from_person_id == merged_id else "connections_to"
        moved[key].append(edge.id)
        edge.from_person_id, edge.to_person_id = new_from, new_to
    session.flush()

    merged = session.get(Person, merged_id)
    survivor = session.get(Person, survivor_id)
    assert merged is not None and survivor is not None
    merged.merged_into = survivor_id
    merged.version += 1
    survivor.version += 1
    for field in ("given_name", "family_name", "company", "title", "location"):
        if getattr(survivor, field) is None and getattr(merged, field) is not None:
            setattr(survivor, field, getattr(merged, field))
    merge = Merge(survivor_id=survivor_id, merged_id=merged_id, user_id=user_id, reason=reason[:500], details=moved)
    session.add(merge)
    session.flush()
    notify_people_changed(session, {survivor_id, merged_id})
    return merge


def _absorb_evidence(session: Session, from_id: int, to_id: int, edge: Connection) -> None:
    """Fold a colliding edge's evidence into the surviving edge (sources are a union)."""
    kept = session.scalar(
        select(Connection).where(Connection.from_person_id == from_id, Connection.to_person_id == to_id)
    )
    if kept is None:
        return
    sources = sorted(set(kept.evidence.get("sources", [])) | set(edge.evidence.get("sources", [])))
    kept.evidence = {**edge.evidence, **kept.evidence, "sources": sources}
    kept.strength = max(kept.strength, edge.strength)
    if edge.connected_on and (kept.connected_on is None or edge.connected_on < kept.connected_on):
        kept.connected_on = edge.connected_on


#: What a merge moves from the merged person to the survivor: (key in Merge.details, table, column).
_MOVED = (
    ("identities", Identity, Identity.person_id),
    ("contacts", Contact, Contact.person_id),
    ("connections_from", Connection, Connection.from_person_id),
    ("connections_to", Connection, Connection.to_person_id),
)


def undo_merge(session: Session, merge_id: int) -> Merge:
    """Put back what a merge moved: the merged person lives again with its identities, contacts and edges."""
    merge = session.get(Merge, merge_id)
    if merge is None:
        raise MergeRefused(f"there is no merge {merge_id}")
    if merge.undone_at is not None:
        raise MergeRefused(f"merge {merge_id} was already undone")
    survivor_id, merged_id, details = merge.survivor_id, merge.merged_id, merge.details
    for key, model, column in _MOVED:
        if details.get(key):
            session.execute(
                update(model).where(model.id.in_(details[key]), column == survivor_id).values({column.key: merged_id})
            )
    for row in details.get("connections_dropped", []):
        exists = session.scalar(
            select(Connection.id).where(
                Connection.from_person_id == row["from_person_id"], Connection.to_person_id == row["to_person_id"]
            )
        )
        if exists is None:
            session.add(
                Connection(
                    from_person_id=row["from_person_id"],
                    to_person_id=row["to_person_id"],
                    owner_user_id=row["owner_user_id"],
                    strength=row["strength"],
                    evidence=row["evidence"],
                    connected_on=date.fromisoformat(row["connected_on"]) if row["connected_on"] else None,
                    first_seen=datetime.fromisoformat(row["first_seen"]),
                    last_seen=datetime.fromisoformat(row["last_seen"]),
                )
            )
    merged = session.get(Person, merged_id)
    survivor = session.get(Person, survivor_id)
    if merged is not None:
        merged.merged_into = None
        merged.version += 1
    if survivor is not None:
        survivor.version += 1
    merge.undone_at = utcnow()
    session.flush()
    notify_people_changed(session, {survivor_id, merged_id})
    return merge


def open_suggestions(session: Session, user_id: int, person_id: int | None = None) -> list[MergeSuggestion]:
    """The user's merge suggestions still worth asking about: not dismissed, both people still separate and
    alive; only those involving `person_id` when given."""
    query = select(MergeSuggestion).where(MergeSuggestion.user_id == user_id, MergeSuggestion.dismissed_at.is_(None))
    if person_id is not None:
        query = query.where(or_(MergeSuggestion.person_a_id == person_id, MergeSuggestion.person_b_id == person_id))
    found = list(session.scalars(query.order_by(MergeSuggestion.id)))
    live = live_person_ids(session, {p for s in found for p in (s.person_a_id, s.person_b_id)})
    return [s for s in found if live[s.person_a_id] == s.person_a_id and live[s.person_b_id] == s.person_b_id]


def accept_suggestion(session: Session, suggestion: MergeSuggestion) -> Merge:
    """The user says the two suggested people are one: merge them (undoable) and retire the suggestion."""
    if suggestion.dismissed_at is not None:
        raise MergeRefused("this suggestion was dismissed")
    live = live_person_ids(session, {suggestion.person_a_id, suggestion.person_b_id})
    a, b = live[suggestion.person_a_id], live[suggestion.person_b_id]
    if a == b:
        raise MergeRefused("these two people are already one")
    survivor = choose_survivor(session, {a, b})
    merge = merge_people(
        session,
        survivor,
        b if survivor == a else a,
        f"you confirmed: {suggestion.reason}",
        user_id=suggestion.user_id,
    )
    session.delete(suggestion)
    session.flush()
    return merge


def dismiss_suggestion(session: Session, suggestion: MergeSuggestion) -> None:
    """The user says these are two different people: never suggest this pair again."""
    suggestion.dismissed_at = utcnow()
    session.flush()
