"""Webhook sources and receiving: signatures (checked against the standardwebhooks library's own signing),
rotation, replay, errors that store nothing, and processing that converges whatever the delivery order."""

from __future__ import annotations

import io
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from standardwebhooks.webhooks import Webhook

from pipelines import webhooks
from pipelines.db import unit_of_work
from pipelines.models import Contact, Identity, Person, Source, WebhookEvent
from tests.api.conftest import bearer

ADA = {"id": "crm-1", "given_name": "Ada", "family_name": "Lovelace", "emails": ["ada@engines.example"]}


@pytest.fixture(params=["sqlite", "postgres"])
def app(request, tmp_path):
    """Every test here runs on embedded SQLite (the ORM receive path) and on Postgres (two statements on the
    thread's own autocommit connection: `receiving_source_on`, `accept_on`)."""
    from api import create_app

    if request.param == "sqlite":
        return request.getfixturevalue("app_on_sqlite")
    return create_app(request.getfixturevalue("postgres_config"))


@pytest.fixture
def app_on_sqlite(migrated_sqlite_config):
    from api import create_app

    return create_app(migrated_sqlite_config)


def _create(client, seeded, name="crm"):
    response = client.post("/v1/sources", json={"kind": "webhook", "name": name}, headers=bearer(seeded))
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def _signed(secret: str, body: bytes, msg_id: str = "msg_1", at: datetime | None = None, extra: list[str] = ()):
    at = at or datetime.now(tz=UTC)
    signature = Webhook(secret).sign(msg_id, at, body.decode())
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": " ".join([*extra, signature]),
        "Content-Type": "application/json",
    }


def _post(client, source_id, secret, event, **kwargs):
    body = json.dumps(event).encode()
    return client.post(f"/v1/webhooks/{source_id}", data=body, headers=_signed(secret, body, **kwargs))


def _events(config) -> int:
    with unit_of_work(config) as session:
        return session.scalar(select(func.count()).select_from(WebhookEvent))


def _process_all(config) -> list[str]:
    with unit_of_work(config) as session:
        ids = session.scalars(select(WebhookEvent.id).where(WebhookEvent.processed_at.is_(None))).all()
    outcomes = []
    for event_id in ids:
        with unit_of_work(config) as session:
            outcomes.extend(webhooks.process_events(session, [event_id]).values())
    return outcomes


def test_a_source_gets_a_secret_shown_once_and_stored_encrypted(app, config, alice):
    client = app.test_client()
    created = _create(client, alice)
    secret, source = created["secret"], created["source"]
    assert secret.startswith("whsec_") and source["kind"] == "webhook" and not source["disabled"]
    assert source["webhook_url"].endswith(f"/v1/webhooks/{source['id']}")
    with unit_of_work(config) as session:
        stored = session.get(Source, source["id"]).webhook_secret
    assert secret not in stored and secret.removeprefix("whsec_") not in stored
    shown = client.get(f"/v1/sources/{source['id']}", headers=bearer(alice)).get_json()
    assert secret not in json.dumps(shown) and secret.removeprefix("whsec_") not in json.dumps(shown)
    listed = client.get("/v1/sources", headers=bearer(alice)).get_json()["items"]
    webhook = next(s for s in listed if s["id"] == source["id"])
    assert webhook["disabled"] is False and webhook["webhook_url"] == source["webhook_url"]
    assert all(s["webhook_url"] is None for s in listed if s["kind"] != "webhook")
    again = client.post("/v1/sources", json={"kind": "webhook", "name": "crm"}, headers=bearer(alice))
    assert again.status_code == 409
    assert client.post("/v1/sources", json={"kind": "vcard", "name": "x"}, headers=bearer(alice)).status_code == 422


def test_signed_upsert_is_accepted_once_and_processed(app, config, alice, running_worker):
    client = app.test_client()
    created = _create(client, alice)
    source_id, secret = created["source"]["id"], created["secret"]
    first = _post(client, source_id, secret, {"type": "contact.upserted", "data": ADA})
    assert first.status_code == 202 and first.get_json() == {"accepted": True, "duplicate": False}
    replay = _post(client, source_id, secret, {"type": "contact.upserted", "data": ADA})
    assert replay.status_code == 202 and replay.get_json()["duplicate"] is True
    assert _events(config) == 1
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with unit_of_work(config) as session:
            contact = session.scalar(select(Contact).where(Contact.source_id == source_id))
        if contact is not None:
            break
        time.sleep(0.05)
    assert contact is not None and contact.external_key == "crm-1"
    with unit_of_work(config) as session:
        assert session.get(WebhookEvent, 1).outcome == "created"


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("valid", 202),
        ("no headers", 401),
        ("wrong secret", 401),
        ("298 s old", 202),
        ("302 s old", 401),
        ("302 s ahead", 401),
        ("one good among several", 202),
        ("only unknown versions", 401),
        ("garbage signature", 401),
        ("body changed", 401),
    ],
)
def test_signature_verification(app, config, alice, case, expected):
    client = app.test_client()
    created = _create(client, alice)
    source_id, secret = created["source"]["id"], created["secret"]
    body = json.dumps({"type": "contact.upserted", "data": ADA}).encode()
    now = datetime.now(tz=UTC)
    other = Webhook(webhooks.secrets.new_webhook_secret()).sign("msg_1", now, body.decode())
    headers = {
        "valid": lambda: _signed(secret, body),
        "no headers": lambda: {"Content-Type": "application/json"},
        "wrong secret": lambda: _signed(webhooks.secrets.new_webhook_secret(), body),
        "298 s old": lambda: _signed(secret, body, at=now - timedelta(seconds=298)),
        "302 s old": lambda: _signed(secret, body, at=now - timedelta(seconds=302)),
        "302 s ahead": lambda: _signed(secret, body, at=now + timedelta(seconds=302)),
        "one good among several": lambda: _signed(secret, body, extra=[other, "v2,AAAA"]),
        "only unknown versions": lambda: {**_signed(secret, body), "webhook-signature": "v2,AAAA v1a,BBBB"},
        "garbage signature": lambda: {**_signed(secret, body), "webhook-signature": "garbage"},
        "body changed": lambda: _signed(secret, body.replace(b"Ada", b"Eve")),
    }[case]()
    response = client.post(f"/v1/webhooks/{source_id}", data=body, headers=headers)
    assert response.status_code == expected, response.get_data(as_text=True)
    assert _events(config) == (1 if expected == 202 else 0)
    if expected == 401:
        assert response.content_type == "application/problem+json"


def test_rotation_keeps_the_old_secret_for_the_grace_period(app, config, alice):
    client = app.test_client()
    created = _create(client, alice)
    source_id, old = created["source"]["id"], created["secret"]
    rotated = client.post(f"/v1/sources/{source_id}/rotate-secret", json={}, headers=bearer(alice)).get_json()
    new = rotated["secret"]
    assert new != old and rotated["source"]["secret_rotated_until"] is not None
    upsert = {"type": "contact.upserted", "data": ADA}
    assert _post(client, source_id, old, upsert, msg_id="a").status_code == 202
    assert _post(client, source_id, new, upsert, msg_id="b").status_code == 202
    now = client.post(f"/v1/sources/{source_id}/rotate-secret", json={"grace_seconds": 0}, headers=bearer(alice))
    newest = now.get_json()["secret"]
    assert _post(client, source_id, new, upsert, msg_id="c").status_code == 401
    assert _post(client, source_id, old, upsert, msg_id="d").status_code == 401
    assert _post(client, source_id, newest, upsert, msg_id="e").status_code == 202


def test_unknown_disabled_invalid_large_and_wrong_type(app, config, alice, bob):
    client = app.test_client()
    created = _create(client, alice)
    source_id, secret = created["source"]["id"], created["secret"]
    upsert = {"type": "contact.upserted", "data": ADA}
    assert _post(client, 999999, secret, upsert).status_code == 404
    assert _post(client, alice.source_id, secret, upsert).status_code == 404  # a vCard source receives nothing
    assert client.post(f"/v1/sources/{source_id}/disable", headers=bearer(bob)).status_code == 404
    assert client.post(f"/v1/sources/{source_id}/disable", headers=bearer(alice)).get_json()["disabled"] is True
    assert _post(client, source_id, secret, upsert).status_code == 404
    client.post(f"/v1/sources/{source_id}/enable", headers=bearer(alice))

    bad = _post(client, source_id, secret, {"type": "contact.upserted", "data": {"id": "x", "emails": "nope"}})
    assert bad.status_code == 422
    assert [e["field"] for e in bad.get_json()["errors"]] == ["contact.upserted.data.emails"]
    assert _post(client, source_id, secret, {"type": "contact.exploded", "data": {"id": "x"}}).status_code == 422
    body = b"{not json"
    assert client.post(f"/v1/webhooks/{source_id}", data=body, headers=_signed(secret, body)).status_code == 422
    huge = json.dumps({"type": "contact.upserted", "data": {**ADA, "notes": "x" * 300_000}}).encode()
    assert client.post(f"/v1/webhooks/{source_id}", data=huge, headers=_signed(secret, huge)).status_code == 413
    plain = json.dumps(upsert).encode()
    headers = {**_signed(secret, plain), "Content-Type": "text/plain"}
    assert client.post(f"/v1/webhooks/{source_id}", data=plain, headers=headers).status_code == 415
    assert _events(config) == 0


@pytest.mark.parametrize("order", [(0, 1, 2), (2, 1, 0), (1, 2, 0), (0, 2, 1), "batch"])
def test_upsert_delete_upsert_converges_in_any_processing_order(app, config, alice, order):
    client = app.test_client()
    created = _create(client, alice)
    source_id, secret = created["source"]["id"], created["secret"]
    start = datetime.now(tz=UTC) - timedelta(seconds=60)
    events = [
        {"type": "contact.upserted", "data": {**ADA, "company": "First"}},
        {"type": "contact.deleted", "data": {"id": "crm-1"}},
        {"type": "contact.upserted", "data": {**ADA, "company": "Analytical Engines"}},
    ]
    for index, event in enumerate(events):
        response = _post(client, source_id, secret, event, msg_id=f"m{index}", at=start + timedelta(seconds=index))
        assert response.status_code == 202
    with unit_of_work(config) as session:
        ids = session.scalars(select(WebhookEvent.id).order_by(WebhookEvent.id)).all()
    if order == "batch":  # all three in one pipeline batch
        with unit_of_work(config) as session:
            assert sorted(webhooks.process_events(session, [ids[1]]).values()) == [
                "created",
                f"skipped: superseded by event {ids[2]}",
                f"skipped: superseded by event {ids[2]}",
            ]
        order = ()
    for position in order:
        with unit_of_work(config) as session:
            webhooks.process_events(session, [ids[position]], batch=1)
    with unit_of_work(config) as session:
        contacts = session.scalars(select(Contact).where(Contact.source_id == source_id)).all()
        assert [c.fields["company"] for c in contacts] == ["Analytical Engines"]
        assert session.get(Person, contacts[0].person_id).company == "Analytical Engines"
        for event_id in ids:  # processing again changes nothing
            assert webhooks.process_events(session, [event_id]) == {}
    assert _process_all(config) == []


def test_a_webhook_contact_merges_with_an_imported_one(app, config, alice):
    client = app.test_client()
    created = _create(client, alice)
    # seed_user gave Alice a vCard contact Grace Hopper with email grace.alice@example.com
    event = {
        "type": "contact.upserted",
        "data": {"id": "g", "given_name": "Grace", "emails": ["grace.alice@example.com"]},
    }
    assert _post(client, created["source"]["id"], created["secret"], event).status_code == 202
    assert _process_all(config) == ["created"]
    with unit_of_work(config) as session:
        person = session.scalar(select(Identity.person_id).where(Identity.value == "grace.alice@example.com"))
        owners = session.scalars(select(Contact.source_id).where(Contact.person_id == person)).all()
    assert sorted(owners) == sorted([alice.source_id, created["source"]["id"]])


@dataclass
class Receiving:
    config: Any
    client: Any
    alice: Any
    source_id: int
    secret: str


@pytest.fixture
def on_postgres(postgres_config) -> Receiving:
    """The Postgres receive path (autocommit connection, cached sources) with a webhook source of Alice's."""
    from api import create_app
    from tests.support.people import seed_user

    client = create_app(postgres_config).test_client()
    alice = seed_user(postgres_config, "alice@example.com")
    created = _create(client, alice)
    return Receiving(postgres_config, client, alice, created["source"]["id"], created["secret"])


def test_on_postgres_a_lost_connection_is_reopened_and_a_deleted_source_is_404(on_postgres):
    from sqlalchemy import text

    from pipelines.db import get_engine, with_autocommit_connection

    config, client = on_postgres.config, on_postgres.client
    source_id, secret = on_postgres.source_id, on_postgres.secret
    upsert = {"type": "contact.upserted", "data": ADA}
    assert _post(client, source_id, secret, upsert, msg_id="before").status_code == 202
    with get_engine(config).begin() as connection:  # what a Postgres restart does to the receiver's connection
        killed = connection.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid() AND state = 'idle'"
            )
        ).scalar()
    assert killed >= 1
    assert _post(client, source_id, secret, upsert, msg_id="after").status_code == 202
    assert _events(config) == 2
    payload = webhooks.PAYLOAD.validate_python(upsert)
    with pytest.raises(webhooks.SourceChanged):  # no such source: nothing is stored
        with_autocommit_connection(
            config, lambda c: webhooks.accept_on(c, 987654, "s", "m", datetime.now(tz=UTC), payload)
        )
    with pytest.raises(webhooks.SourceChanged):  # a secret the source does not hold
        with_autocommit_connection(
            config, lambda c: webhooks.accept_on(c, source_id, "not-its-secret", "m", datetime.now(tz=UTC), payload)
        )
    assert _events(config) == 2


def test_on_postgres_a_source_cached_by_the_receiver_is_checked_again_when_it_changes(on_postgres):
    """The receiver keeps sources in a per-process cache; disabling, deleting or rotating a source takes effect
    on the very next webhook all the same."""
    config, client, alice = on_postgres.config, on_postgres.client, on_postgres.alice
    source_id, secret = on_postgres.source_id, on_postgres.secret
    upsert = {"type": "contact.upserted", "data": ADA}
    assert _post(client, source_id, secret, upsert, msg_id="cached").status_code == 202
    assert webhooks.RECEIVING_SOURCES.get(config.database_url, source_id, lambda: None)[1] is True  # now cached

    client.post(f"/v1/sources/{source_id}/disable", headers=bearer(alice))
    assert _post(client, source_id, secret, upsert, msg_id="while-disabled").status_code == 404
    client.post(f"/v1/sources/{source_id}/enable", headers=bearer(alice))
    assert _post(client, source_id, secret, upsert, msg_id="enabled").status_code == 202

    rotated = client.post(f"/v1/sources/{source_id}/rotate-secret", json={"grace_seconds": 0}, headers=bearer(alice))
    assert _post(client, source_id, secret, upsert, msg_id="old-secret").status_code == 401
    assert _post(client, source_id, rotated.get_json()["secret"], upsert, msg_id="new-secret").status_code == 202

    with unit_of_work(config) as session:
        stored = set(session.scalars(select(WebhookEvent.webhook_id)))
    assert stored == {"cached", "enabled", "new-secret"}

    with unit_of_work(config) as session:  # deleted behind the receiver's back
        session.delete(session.get(Source, source_id))
    assert _post(client, source_id, rotated.get_json()["secret"], upsert, msg_id="deleted").status_code == 404


def test_on_postgres_webhooks_are_answered_by_the_lane_with_a_request_id_metrics_and_problems(on_postgres, monkeypatch):
    """On Postgres `WebhookLane` answers webhooks before Flask: the same answers, the request id and metrics
    every request gets, and an error it does not expect answered by Flask as any other (here: the database
    going away mid-request is a 503 problem)."""
    import psycopg
    from prometheus_client.parser import text_string_to_metric_families

    from api.webhooks import WebhookLane

    client, source_id, secret = on_postgres.client, on_postgres.source_id, on_postgres.secret
    assert isinstance(client.application.wsgi_app, WebhookLane)
    upsert = {"type": "contact.upserted", "data": ADA}
    body = json.dumps(upsert).encode()
    response = client.post(
        f"/v1/webhooks/{source_id}/", data=body, headers={**_signed(secret, body), "X-Request-ID": "lane-test-1"}
    )
    assert (response.status_code, response.get_json()) == (202, {"accepted": True, "duplicate": False})
    assert response.headers["X-Request-ID"] == "lane-test-1"

    too_big = b"{" + b" " * on_postgres.config.webhook_max_bytes + b"}"
    response = client.post(  # sent chunked (as gunicorn passes it on): no Content-Length, a terminated stream
        f"/v1/webhooks/{source_id}",
        input_stream=io.BytesIO(too_big),
        headers=_signed(secret, b"{}"),
        environ_overrides={"CONTENT_LENGTH": "", "wsgi.input_terminated": True},
    )
    assert response.status_code == 413
    assert response.content_type == "application/problem+json"
    assert response.get_json()["instance"] == f"/v1/webhooks/{source_id}"
    assert response.headers["X-Request-ID"]

    metrics_text = client.get("/metrics").get_data(as_text=True)
    answered = {
        (s.labels["route"], s.labels["status"]): s.value
        for family in text_string_to_metric_families(metrics_text)
        for s in family.samples
        if s.name == "sixdeg_http_requests_total" and s.labels.get("method") == "POST"
    }
    assert answered[("/v1/webhooks/<int:source_id>", "202")] >= 1
    assert answered[("/v1/webhooks/<int:source_id>", "413")] >= 1

    calls = []

    def database_gone(*args, **kwargs):
        calls.append(args)
        raise psycopg.OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(webhooks, "accept_receiving", database_gone)
    response = _post(client, source_id, secret, upsert, msg_id="while-down")
    assert response.status_code == 503, response.get_data(as_text=True)
    assert response.content_type == "application/problem+json"
    assert response.headers["Retry-After"] == "5"
    assert len(calls) == 2  # the lane's attempt, then Flask's with the same body
    assert _events(on_postgres.config) == 1


def test_events_published_together_are_applied_by_one_message_and_only_those(app, config, alice):
    """A message naming several events (the outbox publishes a burst's rows together) applies exactly those;
    other pending events wait for their own messages. Applying it again changes nothing."""
    client = app.test_client()
    created = _create(client, alice)
    source_id, secret = created["source"]["id"], created["secret"]
    for number in range(4):
        event = {"type": "contact.upserted", "data": {**ADA, "id": f"crm-{number}", "emails": [f"a{number}@x.example"]}}
        assert _post(client, source_id, secret, event, msg_id=f"m{number}").status_code == 202
    with unit_of_work(config) as session:
        ids = session.scalars(select(WebhookEvent.id).order_by(WebhookEvent.id)).all()
    with unit_of_work(config) as session:
        assert webhooks.process_events(session, ids[:3]) == dict.fromkeys(ids[:3], "created")
    with unit_of_work(config) as session:
        assert webhooks.process_events(session, ids[:3]) == {}
        pending = session.scalars(select(WebhookEvent.id).where(WebhookEvent.processed_at.is_(None))).all()
    assert pending == [ids[3]]
    assert _process_all(config) == ["created"]
