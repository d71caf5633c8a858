"""Search documents from Postgres: what is indexed of each person, and who may see them."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from pipelines.db import among
from pipelines.models import Connection, Contact, Identity, IdentityKind, Person, User
from pipelines.search.port import PersonDoc, unique

BATCH = 2_000
#: What a document holds of the person row (read as plain rows: ORM objects cost more than the query).
_PERSON_COLUMNS = (Person.id, Person.version, Person.display_name, Person.company, Person.title, Person.location)


def documents_for(session: Session, person_ids: Sequence[int]) -> tuple[list[PersonDoc], list[int]]:
    """The documents of the live people among `person_ids`, and the ids that are gone (merged away or deleted).

    The version is read first and everything else after it, so a document never carries a version newer than
    its content (see `projections.notify_people_changed`).
    """
    docs: list[PersonDoc] = []
    gone: list[int] = []
    ids = sorted(set(person_ids))
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        people = {
            p.id: p
            for p in session.execute(
                select(*_PERSON_COLUMNS).where(among(session, Person.id, chunk), Person.merged_into.is_(None))
            )
        }
        gone.extend(pid for pid in chunk if pid not in people)
        docs.extend(_documents(session, list(people.values())))
    return docs, gone


def all_documents(session: Session, *, batch: int = BATCH) -> Iterator[list[PersonDoc]]:
    """Every live person's document, in batches, in id order (for a rebuild)."""
    last = 0
    while True:
        people = list(
            session.execute(
                select(*_PERSON_COLUMNS)
                .where(Person.id > last, Person.merged_into.is_(None))
                .order_by(Person.id)
                .limit(batch)
            )
        )
        if not people:
            return
        last = people[-1].id
        yield _documents(session, people)
        session.expunge_all()


def _documents(session: Session, people: Sequence[Row[Any]]) -> list[PersonDoc]:
    """The documents of these people (rows of _PERSON_COLUMNS)."""
    if not people:
        return []
    ids = [p.id for p in people]
    owners: dict[int, set[int]] = {pid: set() for pid in ids}
    for person_id, user_id in session.execute(
        select(Contact.person_id, Contact.user_id).where(among(session, Contact.person_id, ids)).distinct()
    ):
        owners[person_id].add(user_id)
    for person_id, user_id in session.execute(
        select(User.person_id, User.id).where(among(session, User.person_id, ids))
    ):
        owners[person_id].add(user_id)
    domains: dict[int, set[str]] = {pid: set() for pid in ids}
    for person_id, email in session.execute(
        select(Identity.person_id, Identity.value).where(
            Identity.kind == IdentityKind.email, among(session, Identity.person_id, ids)
        )
    ):
        domains[person_id].add(email.rsplit("@", 1)[-1])
    public = set(
        session.scalars(
            select(Connection.from_person_id).where(
                Connection.owner_user_id.is_(None), among(session, Connection.from_person_id, ids)
            )
        )
    ) | set(
        session.scalars(
            select(Connection.to_person_id).where(
                Connection.owner_user_id.is_(None), among(session, Connection.to_person_id, ids)
            )
        )
    )
    return [
        PersonDoc(
            id=p.id,
            version=p.version,
            name=p.display_name or "",
            company=p.company,
            title=p.title,
            location=p.location,
            email_domains=unique(domains[p.id]),
            owners=tuple(sorted(owners[p.id])),
            public=p.id in public,
        )
        for p in people
    ]
