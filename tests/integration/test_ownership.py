"""Your data is yours: export, and deletion that leaves no orphans and tells the projections (both databases)."""

import json

import vobject
from sqlalchemy import func, select

from api import create_app
from pipelines.db import unit_of_work
from pipelines.models import (
    ApiToken,
    Connection,
    Contact,
    Identity,
    OutboxMessage,
    Person,
    Source,
    User,
)
from pipelines.projections import PROJECTION_SYNC_ACTOR
from tests.api.conftest import bearer
from tests.support.people import PASSWORD, seed_user


def _count(config, model, *where):
    with unit_of_work(config) as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def _synced_people(config):
    with unit_of_work(config) as session:
        rows = session.scalars(select(OutboxMessage).where(OutboxMessage.actor_name == PROJECTION_SYNC_ACTOR))
        return [set(row.args[0]) for row in rows]


SHARED = {"given_name": "Grace", "family_name": "Hopper", "emails": ["grace@navy.example"]}


def test_deleting_a_contact_removes_its_edge_and_the_orphaned_person(db_config):
    app = create_app(db_config)
    alice = seed_user(db_config, "alice@example.com")
    client = app.test_client()
    orphan = alice.person_ids[1]  # Linus: only Alice knows him
    response = client.delete(f"/v1/contacts/{alice.contact_ids[1]}", headers=bearer(alice))
    assert response.status_code == 200
    assert response.get_json()["deleted"] == {"contacts": 1, "connections": 1, "people": 1}
    assert _count(db_config, Person, Person.id == orphan) == 0
    assert _count(db_config, Identity, Identity.person_id == orphan) == 0
    assert _count(db_config, Connection, Connection.to_person_id == orphan) == 0
    assert {orphan, alice.person_id} in _synced_people(db_config)
    assert client.get(f"/v1/contacts/{alice.contact_ids[1]}", headers=bearer(alice)).status_code == 404


def test_a_person_someone_else_knows_survives(db_config):
    alice = seed_user(db_config, "alice@example.com", contacts=[SHARED])
    bob = seed_user(db_config, "bob@example.org", contacts=[SHARED])
    assert alice.person_ids == bob.person_ids  # same email: one person
    app = create_app(db_config)
    deleted = app.test_client().delete(f"/v1/sources/{alice.source_id}", headers=bearer(alice)).get_json()
    assert deleted["deleted"]["people"] == 0 and deleted["deleted"]["contacts"] == 1
    assert _count(db_config, Person, Person.id == alice.person_ids[0]) == 1
    assert _count(db_config, Connection, Connection.owner_user_id == alice.user_id) == 0
    assert _count(db_config, Connection, Connection.owner_user_id == bob.user_id) == 1
    assert _count(db_config, Source, Source.id == alice.source_id) == 0


def test_deleting_the_account_removes_everything_the_user_owns(db_config):
    alice = seed_user(db_config, "alice@example.com", contacts=[SHARED, {"given_name": "Only", "phones": ["+4930123"]}])
    bob = seed_user(db_config, "bob@example.org", contacts=[SHARED])
    client = create_app(db_config).test_client()
    refused = client.post("/v1/me/delete", json={"password": "wrong password!"}, headers=bearer(alice))
    assert refused.status_code == 403
    response = client.post("/v1/me/delete", json={"password": PASSWORD}, headers=bearer(alice))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["deleted"]["users"] == 1
    for model, where in (
        (User, User.id == alice.user_id),
        (Contact, Contact.user_id == alice.user_id),
        (Source, Source.user_id == alice.user_id),
        (ApiToken, ApiToken.user_id == alice.user_id),
        (Connection, Connection.owner_user_id == alice.user_id),
        (Person, Person.id == alice.person_id),
        (Person, Person.id == alice.person_ids[1]),
    ):
        assert _count(db_config, model, where) == 0, model.__tablename__
    assert _count(db_config, Person, Person.id == bob.person_ids[0]) == 1  # Bob still knows Grace
    assert client.get("/v1/me", headers=bearer(alice)).status_code == 401
    assert client.get("/v1/contacts", headers=bearer(bob)).get_json()["items"]
    synced = set().union(*_synced_people(db_config))
    assert {alice.person_id, *alice.person_ids} <= synced


def test_export_json_and_vcard_round_trip(db_config):
    alice = seed_user(
        db_config,
        "alice@example.com",
        contacts=[
            {
                "given_name": "Zoë",
                "family_name": "Ångström",
                "emails": ["zoe@example.se"],
                "phones": ["+46701234567"],
                "company": "Kungliga",
                "title": "Physicist",
                "notes": "Met at a conference",
            },
            {"phones": ["+15555550100"]},
        ],
    )
    client = create_app(db_config).test_client()
    exported = client.get("/v1/export", headers=bearer(alice))
    assert exported.status_code == 200
    document = exported.get_json()
    assert document["user"]["email"] == "alice@example.com"
    assert document["contacts"][0]["fields"]["given_name"] == "Zoë"
    assert len(document["connections"]) == 2 and len(document["tokens"]) == 1
    assert "token_hash" not in json.dumps(document)

    cards = client.get("/v1/export/contacts.vcf", headers=bearer(alice))
    assert cards.status_code == 200 and cards.mimetype == "text/vcard"
    parsed = list(vobject.readComponents(cards.get_data(as_text=True)))
    assert len(parsed) == 2
    assert parsed[0].version.value == "4.0"
    assert parsed[0].fn.value == "Zoë Ångström"
    assert parsed[0].email.value == "zoe@example.se" and parsed[0].tel.value == "+46701234567"
    assert parsed[0].org.value == ["Kungliga"] and parsed[0].title.value == "Physicist"
    assert parsed[1].fn.value == "+15555550100"  # a phone-only contact still gets a name
