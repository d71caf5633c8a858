"""The bulk write helpers the import uses, on SQLite and Postgres: rows come back exactly as written."""

from datetime import UTC, date, datetime

from sqlalchemy import select

from pipelines.db import JsonText, bulk_insert, bulk_update_by_id, unit_of_work
from pipelines.models import Connection, Contact
from tests.support.people import seed_user


def _as_utc(moment: datetime) -> datetime:
    """SQLite gives back naive UTC times, Postgres aware ones."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def test_bulk_update_by_id_sets_each_rows_own_columns(db_config):
    seed_user(db_config, "bulk@example.com")
    with unit_of_work(db_config) as session:
        first, second = session.scalars(select(Connection).order_by(Connection.id)).all()[:2]
        seen = datetime(2026, 12, 1, 12, 30, tzinfo=UTC)
        bulk_update_by_id(
            session,
            Connection,
            [
                {"id": first.id, "evidence": {"sources": [1, 2], "mutual": True}, "connected_on": None, "version": 7},
                {"id": second.id, "last_seen": seen},  # another set of columns: its own statement
            ],
        )
        first_id, second_id, second_evidence = first.id, second.id, dict(second.evidence)
    with unit_of_work(db_config) as session:
        first, second = session.get(Connection, first_id), session.get(Connection, second_id)
        assert (first.evidence, first.connected_on, first.version) == ({"sources": [1, 2], "mutual": True}, None, 7)
        assert _as_utc(second.last_seen) == seen
        assert second.evidence == second_evidence


def test_bulk_insert_takes_json_as_objects_or_as_text(db_config):
    seeded = seed_user(db_config, "copy@example.com")
    with unit_of_work(db_config) as session:
        template = session.scalars(select(Contact).where(Contact.user_id == seeded.user_id)).first()
        rows = [
            {
                "source_id": template.source_id,
                "user_id": seeded.user_id,
                "person_id": template.person_id,
                "external_key": key,
                "fields": fields,
                "content_hash": key,
            }
            for key, fields in (
                ("as-object", {"birthday": date(1990, 1, 2).isoformat()}),
                ("as-text", JsonText('{"a": [1, "ü"]}')),
            )
        ]
        bulk_insert(session, Contact.__table__, rows)
    with unit_of_work(db_config) as session:
        stored = dict(
            session.execute(select(Contact.external_key, Contact.fields).where(Contact.external_key.like("as-%"))).all()
        )
    assert stored == {"as-object": {"birthday": "1990-01-02"}, "as-text": {"a": [1, "ü"]}}


def test_bulk_insert_writes_every_column_type_as_given(db_config):
    """Dates, times, floats, NULLs and text of any script come back as written (on Postgres a binary COPY)."""
    seeded = seed_user(db_config, "types@example.com")
    seen = datetime(2026, 12, 8, 1, 2, 3, 456789, tzinfo=UTC)
    with unit_of_work(db_config) as session:
        [person_id] = session.scalars(select(Contact.person_id).where(Contact.user_id == seeded.user_id)).all()[:1]
        other = session.scalars(select(Contact.person_id).where(Contact.person_id != person_id)).first()
        bulk_insert(
            session,
            Connection.__table__,
            [
                {
                    "from_person_id": other,
                    "to_person_id": person_id,
                    "owner_user_id": seeded.user_id,
                    "strength": 0.731,
                    "evidence": {"sources": [3], "note": "Zoë, 東京"},
                    "connected_on": date(2019, 2, 28),
                    "first_seen": seen,
                    "last_seen": seen,
                    "version": 2,
                }
            ],
        )
    with unit_of_work(db_config) as session:
        edge = session.scalars(
            select(Connection).where(Connection.from_person_id == other, Connection.to_person_id == person_id)
        ).one()
        assert (edge.strength, edge.evidence, edge.connected_on, edge.version) == (
            0.731,
            {"sources": [3], "note": "Zoë, 東京"},
            date(2019, 2, 28),
            2,
        )
        assert (_as_utc(edge.first_seen), _as_utc(edge.last_seen)) == (seen, seen)
