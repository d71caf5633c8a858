"""Seed data for API and ownership tests: users with sources, contacts and connections, written through the
real models (the importer arrives later; these rows look like what it writes)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from pipelines import accounts
from pipelines.config import Config
from pipelines.contacts.merge import merge_people
from pipelines.db import unit_of_work
from pipelines.models import (
    Connection,
    Contact,
    Identity,
    IdentityKind,
    Import,
    ImportError_,
    ImportStatus,
    MergeSuggestion,
    Person,
    Source,
    SourceKind,
    User,
)

PASSWORD = "correct horse battery staple"


@dataclass
class Seeded:
    user_id: int
    person_id: int
    email: str
    token: str
    source_id: int
    contact_ids: list[int]
    person_ids: list[int]
    token_id: int
    import_id: int
    merge_id: int
    suggestion_id: int | None


def seed_user(
    config: Config, email: str, contacts: list[dict] | None = None, *, with_suggestion: bool = False
) -> Seeded:
    """A user with an API token and one vCard source holding `contacts` (each a fields dict with an email); with
    `with_suggestion`, two more people the user may merge (a merge suggestion)."""
    contacts = (
        contacts
        if contacts is not None
        else [
            {"given_name": "Grace", "family_name": "Hopper", "emails": [f"grace.{email}"], "company": "Navy"},
            {"given_name": "Linus", "family_name": "T", "phones": ["+15555550100"]},
        ]
    )
    with unit_of_work(config) as session:
        user = accounts.create_user(session, email, PASSWORD)
        token = accounts.create_token(session, user, "tests")
        source = Source(user_id=user.id, kind=SourceKind.vcard, name="phone")
        session.add(source)
        session.flush()
        contact_ids, person_ids = [], []
        for index, fields in enumerate(contacts):
            person_id = _person_for(session, fields)
            contact = Contact(
                source_id=source.id,
                user_id=user.id,
                person_id=person_id,
                external_key=f"card-{index}",
                fields=fields,
                content_hash=hashlib.sha256(repr(fields).encode()).hexdigest(),
            )
            session.add(contact)
            session.flush()
            if not session.query(Connection).filter_by(from_person_id=user.person_id, to_person_id=person_id).first():
                session.add(
                    Connection(
                        from_person_id=user.person_id,
                        to_person_id=person_id,
                        owner_user_id=user.id,
                        strength=0.5,
                        evidence={"sources": [source.id]},
                    )
                )
            contact_ids.append(contact.id)
            person_ids.append(person_id)
        job = Import(
            user_id=user.id,
            source_id=source.id,
            status=ImportStatus.done,
            format="vcard",
            filename="phone.vcf",
            rows_total=3,
            rows_done=3,
            contacts=len(contact_ids),
            errors=1,
        )
        session.add(job)
        session.flush()
        session.add(ImportError_(import_id=job.id, line=3, reason="no name, email or phone", raw="BEGIN:VCARD"))
        twin_a, twin_b = Person(display_name="Twin"), Person(display_name="Twin")
        session.add_all([twin_a, twin_b])
        session.flush()
        merge = merge_people(session, twin_a.id, twin_b.id, "same email twin@example.com", user_id=user.id)
        session.flush()
        suggestion_id = None
        if with_suggestion:
            maybe_a, maybe_b = (
                Person(display_name="Ada L", company="Engines"),
                Person(display_name="Ada L", company="Engines"),
            )
            session.add_all([maybe_a, maybe_b])
            session.flush()
            suggestion = MergeSuggestion(
                user_id=user.id, person_a_id=maybe_a.id, person_b_id=maybe_b.id, reason="same name and company"
            )
            session.add(suggestion)
            session.flush()
            suggestion_id = suggestion.id
        return Seeded(
            user.id,
            user.person_id,
            user.email,
            token.secret,
            source.id,
            contact_ids,
            person_ids,
            token.token.id,
            job.id,
            merge.id,
            suggestion_id,
        )


def add_contacts_of(config: Config, seeded: Seeded, person_ids: list[int]) -> None:
    """Give the user a contact record of each person, as an import would (making them part of their data)."""
    with unit_of_work(config) as session:
        for person_id in person_ids:
            fields = {"given_name": f"Contact {person_id}"}
            session.add(
                Contact(
                    source_id=seeded.source_id,
                    user_id=seeded.user_id,
                    person_id=person_id,
                    external_key=f"extra-{person_id}",
                    fields=fields,
                    content_hash=hashlib.sha256(repr(fields).encode()).hexdigest(),
                )
            )


def _person_for(session, fields: dict) -> int:
    for kind, key in ((IdentityKind.email, "emails"), (IdentityKind.phone, "phones")):
        for value in fields.get(key, []):
            identity = session.query(Identity).filter_by(kind=kind, value=value).first()
            if identity:
                return identity.person_id
    person = Person(
        display_name=" ".join(filter(None, [fields.get("given_name"), fields.get("family_name")])),
        given_name=fields.get("given_name"),
        family_name=fields.get("family_name"),
        company=fields.get("company"),
    )
    session.add(person)
    session.flush()
    for kind, key in ((IdentityKind.email, "emails"), (IdentityKind.phone, "phones")):
        for value in fields.get(key, []):
            session.add(Identity(person_id=person.id, kind=kind, value=value))
    session.flush()
    return person.id


def user_row(config: Config, user_id: int) -> User | None:
    with unit_of_work(config) as session:
        return session.get(User, user_id)
