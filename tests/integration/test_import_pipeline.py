"""The contact import pipeline end to end on SQLite and Postgres: identity resolution, merges and their undo,
idempotent re-imports, job changes, phone-only contacts, row errors, and redelivered actors."""

import time
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from actors.contacts import import_file
from pipelines.contacts import importer
from pipelines.contacts.merge import undo_merge
from pipelines.db import is_postgres, unit_of_work
from pipelines.models import (
    Connection,
    Contact,
    ContactChange,
    Identity,
    Import,
    ImportError_,
    Merge,
    MergeSuggestion,
    OutboxMessage,
    Person,
    User,
)
from pipelines.projections import PROJECTION_SYNC_ACTOR
from tests.support.people import seed_user

VCARD = """BEGIN:VCARD
VERSION:3.0
FN:Grace Hopper
N:Hopper;Grace;;;
EMAIL;TYPE=work:grace@navy.example
TEL;TYPE=cell:+1 202 555 0100
ORG:US Navy
END:VCARD
BEGIN:VCARD
VERSION:3.0
FN:Phone Only
TEL:+49 30 1234567
END:VCARD
"""

GOOGLE = (
    "First Name,Middle Name,Last Name,Organization Name,Organization Title,E-mail 1 - Label,E-mail 1 - Value,"
    "Phone 1 - Label,Phone 1 - Value\n"
    "Grace,,Hopper,US Navy,Rear Admiral,* Work,GRACE@navy.example,,\n"
    "Alan,,Turing,Bletchley,,,alan@bletchley.example,,\n"
)


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def run_import(config, user_id: int, path: Path, fmt: str = "auto", region: str | None = "US") -> Import:
    """Request an import and run its actor body synchronously (the same code a worker runs)."""
    with unit_of_work(config) as session:
        user = session.get(User, user_id)
        stored = importer.copy_local_file(config, path)
        job = importer.request_import(session, config, user, stored, filename=path.name, fmt=fmt, default_region=region)
        import_id = job.id
    import_file.fn(import_id)
    with unit_of_work(config) as session:
        return session.get(Import, import_id)


def count(config, model, *where) -> int:
    with unit_of_work(config) as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def snapshot(config) -> dict:
    """Everything an import writes, to compare states."""
    with unit_of_work(config) as session:
        return {
            "people": sorted(session.execute(select(Person.id, Person.version, Person.merged_into, Person.company))),
            "identities": sorted(session.execute(select(Identity.kind, Identity.value, Identity.person_id))),
            "contacts": sorted(session.execute(select(Contact.id, Contact.person_id, Contact.content_hash))),
            "connections": sorted(
                session.execute(select(Connection.from_person_id, Connection.to_person_id, Connection.evidence))
            ),
            "merges": sorted(session.execute(select(Merge.survivor_id, Merge.merged_id, Merge.undone_at))),
        }


@pytest.fixture(autouse=True)
def _actors_use_this_database(db_config, broker_setup):
    """Actors read their config from the broker setup: point it at this test's database."""
    broker_setup(db_config)


@pytest.fixture
def alice(db_config):
    return seed_user(db_config, "alice@example.com", contacts=[])


def test_same_email_in_a_vcard_and_a_google_csv_is_one_person(db_config, alice, tmp_path):
    first = run_import(db_config, alice.user_id, _write(tmp_path, "phone.vcf", VCARD))
    assert (first.status.value, first.contacts, first.people_created, first.errors) == ("done", 2, 2, 0)
    second = run_import(db_config, alice.user_id, _write(tmp_path, "contacts.csv", GOOGLE))
    assert second.status.value == "done" and second.format == "google"
    assert (second.contacts, second.people_created) == (2, 1)  # Grace is known; Alan is new
    with unit_of_work(db_config) as session:
        grace = session.scalar(select(Identity.person_id).where(Identity.value == "grace@navy.example"))
        contacts = session.scalars(select(Contact).where(Contact.person_id == grace)).all()
        assert len(contacts) == 2 and len({c.source_id for c in contacts}) == 2
        assert session.get(Person, grace).title == "Rear Admiral"
        edge = session.scalar(select(Connection).where(Connection.to_person_id == grace))
        assert len(edge.evidence["sources"]) == 2  # both sources list her


def test_phone_only_contacts_are_kept(db_config, alice, tmp_path):
    run_import(db_config, alice.user_id, _write(tmp_path, "phone.vcf", VCARD))
    assert count(db_config, Identity, Identity.value == "+49301234567") == 1
    with unit_of_work(db_config) as session:
        person_id = session.scalar(select(Identity.person_id).where(Identity.value == "+49301234567"))
        assert session.get(Person, person_id).display_name == "Phone Only"


def test_the_same_email_across_users_is_one_person(db_config, alice, tmp_path):
    bob = seed_user(db_config, "bob@example.org", contacts=[])
    run_import(db_config, alice.user_id, _write(tmp_path, "a.vcf", VCARD))
    run_import(db_config, bob.user_id, _write(tmp_path, "b.csv", GOOGLE))
    with unit_of_work(db_config) as session:
        grace = session.scalar(select(Identity.person_id).where(Identity.value == "grace@navy.example"))
        owners = set(session.scalars(select(Connection.owner_user_id).where(Connection.to_person_id == grace)))
    assert owners == {alice.user_id, bob.user_id}


def test_reimporting_the_same_file_changes_nothing(db_config, alice, tmp_path):
    path = _write(tmp_path, "phone.vcf", VCARD)
    run_import(db_config, alice.user_id, path)
    before = snapshot(db_config)
    again = run_import(db_config, alice.user_id, path)
    assert (again.contacts, again.contacts_updated, again.contacts_unchanged, again.people_created) == (0, 0, 2, 0)
    assert snapshot(db_config) == before


def test_a_changed_export_updates_in_place_and_records_the_job_change(db_config, alice, tmp_path):
    run_import(db_config, alice.user_id, _write(tmp_path, "contacts.csv", GOOGLE))
    moved = GOOGLE.replace("US Navy,Rear Admiral", "Univac,Director")
    changed = run_import(db_config, alice.user_id, _write(tmp_path, "contacts.csv", moved))
    assert (changed.contacts, changed.contacts_updated, changed.contacts_unchanged) == (0, 1, 1)
    with unit_of_work(db_config) as session:
        change = session.scalar(select(ContactChange))
        assert change.changes["company"] == ["US Navy", "Univac"]
        grace = session.scalar(select(Identity.person_id).where(Identity.value == "grace@navy.example"))
        person = session.get(Person, grace)
        assert (person.company, person.title) == ("Univac", "Director")
    assert count(db_config, Contact) == 2


def test_new_people_are_projected_at_their_first_version_and_a_change_raises_it(db_config, alice, tmp_path):
    """A person an import creates is sent to the projections as inserted (no version bump in the same
    transaction: nothing had seen it); a later change to that person does raise the version."""
    run_import(db_config, alice.user_id, _write(tmp_path, "contacts.csv", GOOGLE))
    with unit_of_work(db_config) as session:
        grace = session.scalar(select(Identity.person_id).where(Identity.value == "grace@navy.example"))
        alan = session.scalar(select(Identity.person_id).where(Identity.value == "alan@bletchley.example"))
        assert session.get(Person, grace).version == session.get(Person, alan).version == 1
        sent = [
            set(m.args[0])
            for m in session.scalars(select(OutboxMessage).where(OutboxMessage.actor_name == PROJECTION_SYNC_ACTOR))
        ]
        assert any({grace, alan} <= ids for ids in sent), sent
    moved = GOOGLE.replace("US Navy,Rear Admiral", "Univac,Director")
    run_import(db_config, alice.user_id, _write(tmp_path, "contacts.csv", moved))
    with unit_of_work(db_config) as session:
        assert session.get(Person, grace).version == 2  # raised once for the one change
        assert session.get(Person, alan).version == 1  # unchanged: not touched


def test_a_contact_linking_two_people_merges_them_and_the_merge_can_be_undone(db_config, alice, tmp_path):
    run_import(db_config, alice.user_id, _write(tmp_path, "phone.vcf", VCARD))
    run_import(db_config, alice.user_id, _write(tmp_path, "contacts.csv", GOOGLE))
    before_merge = snapshot(db_config)
    linking = (
        "First Name,Last Name,E-mail 1 - Value,E-mail 2 - Value\n"
        "Grace,Hopper,grace@navy.example,alan@bletchley.example\n"
    )
    job = run_import(db_config, alice.user_id, _write(tmp_path, "link.csv", linking), fmt="google")
    assert job.people_merged == 1
    with unit_of_work(db_config) as session:
        merge = session.scalar(select(Merge).order_by(Merge.id.desc()))  # the seed made an older one
        assert merge.reason.startswith("same email")
        merged = session.get(Person, merge.merged_id)
        assert merged.merged_into == merge.survivor_id
        assert (
            session.scalar(select(func.count()).select_from(Identity).where(Identity.person_id == merge.merged_id)) == 0
        )
        merge_id = merge.id
    with unit_of_work(db_config) as session:
        undo_merge(session, merge_id)
    with unit_of_work(db_config) as session:
        merge = session.get(Merge, merge_id)
        assert merge.undone_at is not None
        assert session.get(Person, merge.merged_id).merged_into is None
        alan = session.scalar(select(Identity.person_id).where(Identity.value == "alan@bletchley.example"))
        grace = session.scalar(select(Identity.person_id).where(Identity.value == "grace@navy.example"))
        assert alan != grace
    after = snapshot(db_config)
    assert after["identities"] == before_merge["identities"]
    assert {c[1] for c in after["connections"]} >= {c[1] for c in before_merge["connections"]}


def test_same_name_and_company_is_a_suggestion_never_a_merge(db_config, alice, tmp_path):
    twins = (
        "First Name,Last Name,Organization Name,E-mail 1 - Value\n"
        "Ada,Lovelace,Analytical,ada@one.example\nAda,Lovelace,Analytical,ada@two.example\n"
    )
    job = run_import(db_config, alice.user_id, _write(tmp_path, "twins.csv", twins), fmt="google")
    assert job.people_created == 2 and job.people_merged == 0
    assert count(db_config, MergeSuggestion, MergeSuggestion.user_id == alice.user_id) == 1


def test_unusable_rows_are_recorded_with_line_and_reason(db_config, alice, tmp_path):
    rows = "First Name,Last Name,Organization Name,E-mail 1 - Value\nGood,Row,,good@example.com\n,,Acme Inc,\n"
    job = run_import(db_config, alice.user_id, _write(tmp_path, "some-bad.csv", rows), fmt="google")
    assert job.status.value == "done" and job.contacts == 1 and job.errors == 1
    with unit_of_work(db_config) as session:
        error = session.scalar(select(ImportError_))
        assert error.line == 3 and error.reason


def test_a_file_that_is_not_a_contact_file_is_refused_at_once(db_config, alice, tmp_path):
    path = tmp_path / "photo.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 20)
    before = count(db_config, Import)
    with pytest.raises(importer.ImportRefused), unit_of_work(db_config) as session:
        importer.request_import(session, db_config, session.get(User, alice.user_id), path, filename="photo.png")
    assert count(db_config, Import) == before
    assert not path.exists()  # the refused upload is not kept


def test_a_redelivered_import_message_leaves_the_same_state(db_config, alice, tmp_path):
    job = run_import(db_config, alice.user_id, _write(tmp_path, "contacts.csv", GOOGLE))
    before = snapshot(db_config)
    import_file.fn(job.id)  # the same message again
    assert snapshot(db_config) == before
    with unit_of_work(db_config) as session:
        assert session.get(Import, job.id).rows_done == job.rows_done


def test_a_batch_processed_twice_leaves_the_same_state(db_config, alice, tmp_path):
    path = importer.copy_local_file(db_config, _write(tmp_path, "contacts.csv", GOOGLE))
    with unit_of_work(db_config) as session:
        job = importer.request_import(
            session, db_config, session.get(User, alice.user_id), path, filename="contacts.csv", fmt="google"
        )
        import_id = job.id
    with unit_of_work(db_config) as session:
        plan = importer.start_import(session, import_id)
    batch = next(importer.prepared_batches(plan))
    with unit_of_work(db_config) as session:
        importer.process_batch(session, plan, batch)
    first = snapshot(db_config)
    with unit_of_work(db_config) as session:  # redelivered batch
        importer.process_batch(session, plan, batch)
    assert snapshot(db_config) == first


@pytest.mark.parametrize("helper_min_rows", [0, 1], ids=["inline", "helper-process"])
def test_an_interrupted_import_resumes_after_its_last_committed_batch(
    db_config, alice, tmp_path, broker_setup, helper_min_rows
):
    broker_setup(replace(db_config, import_helper_min_rows=helper_min_rows))
    lines = ["First Name,Last Name,E-mail 1 - Value"] + [f"P{i},L{i},p{i}@example.com" for i in range(2500)]
    path = importer.copy_local_file(db_config, _write(tmp_path, "big.csv", "\n".join(lines) + "\n"))
    with unit_of_work(db_config) as session:
        import_id = importer.request_import(
            session, db_config, session.get(User, alice.user_id), path, filename="big.csv", fmt="google"
        ).id
    with unit_of_work(db_config) as session:
        plan = importer.start_import(session, import_id)
    with unit_of_work(db_config) as session:  # one batch, then the worker "dies"
        importer.process_batch(session, plan, next(importer.prepared_batches(plan)))
    import_file.fn(import_id)  # redelivery: resumes
    with unit_of_work(db_config) as session:
        job = session.get(Import, import_id)
        assert (job.status.value, job.rows_done, job.contacts, job.errors) == ("done", 2500, 2500, 0)
    assert count(db_config, Contact) == 2500


def _analyze_counts(config) -> dict[str, int]:
    with unit_of_work(config) as session:
        rows = session.execute(
            text("SELECT relname, analyze_count FROM pg_stat_user_tables WHERE relname = ANY(:names)"),
            {"names": list(importer.GROWN_TABLES)},
        )
        return dict(rows.all())


def test_a_large_import_refreshes_the_planner_statistics_of_the_tables_it_grows(db_config, monkeypatch, tmp_path):
    if not is_postgres(db_config.database_url):
        pytest.skip("SQLite keeps no planner statistics for an import to refresh")
    postgres_config = db_config
    user = seed_user(postgres_config, "stats@example.com")
    monkeypatch.setattr(importer, "ANALYZE_FIRST_AFTER_BATCHES", 2)  # due after batches 2 and 4 of 5
    before = _analyze_counts(postgres_config)
    lines = ["First Name,Last Name,E-mail 1 - Value"] + [f"P{i},L{i},p{i}@example.com" for i in range(4500)]
    job = run_import(postgres_config, user.user_id, _write(tmp_path, "big.csv", "\n".join(lines) + "\n"), "google")
    assert (job.status.value, job.contacts) == ("done", 4500)

    grown: dict[str, int] = {}
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # the statistics system shows a finished ANALYZE within moments
        after = _analyze_counts(postgres_config)
        grown = {name: after[name] - before.get(name, 0) for name in importer.GROWN_TABLES}
        if all(count >= 2 for count in grown.values()):
            break
        time.sleep(0.2)
    assert all(count >= 2 for count in grown.values()), grown  # autovacuum may add one of its own


SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
NOT_CONTACT_FILES = {"MANIFEST.csv", "PROVENANCE.txt", "HEADERS.txt", "addressbook.expected.json"}


def test_every_real_file_imports_without_an_unhandled_error(db_config, alice):
    """All third-party vCards and CSVs through the whole pipeline: each import ends `done`, or is refused up front
    with a reason; every record is either a contact or a row error."""
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} is absent (a user's clone): the real-data import check needs it")
    files = sorted(p for folder in ("vcards", "contact-csv") for p in (SHARED / folder).rglob("*") if p.is_file())
    assert len(files) > 100
    imported = refused = 0
    for path in files:
        try:
            job = run_import(db_config, alice.user_id, path)
        except importer.ImportRefused as exc:
            assert path.name in NOT_CONTACT_FILES or path.suffix in (".txt", ".json"), f"{path}: {exc}"
            refused += 1
            continue
        assert job.status.value == "done", f"{path}: {job.failure}"
        assert job.rows_done == job.contacts + job.contacts_updated + job.contacts_unchanged + job.errors, path
        imported += 1
    assert imported >= 120 and refused <= len(NOT_CONTACT_FILES) + 2
    assert count(db_config, Contact, Contact.user_id == alice.user_id) > 250


def test_two_users_listing_each_other_make_a_stronger_mutual_edge(db_config, alice, tmp_path):
    bob = seed_user(db_config, "bob@example.org", contacts=[])
    run_import(
        db_config,
        alice.user_id,
        _write(tmp_path, "a.csv", "First Name,E-mail 1 - Value\nBob,bob@example.org\n"),
        fmt="google",
    )
    with unit_of_work(db_config) as session:
        one_sided = session.scalar(
            select(Connection).where(
                Connection.owner_user_id == alice.user_id, Connection.to_person_id == bob.person_id
            )
        )
        assert one_sided.evidence["mutual"] is False
        before, version = one_sided.strength, one_sided.version
    run_import(
        db_config,
        bob.user_id,
        _write(tmp_path, "b.csv", "First Name,E-mail 1 - Value\nAlice,alice@example.com\n"),
        fmt="google",
    )
    with unit_of_work(db_config) as session:
        edges = {
            e.owner_user_id: e
            for e in session.scalars(
                select(Connection).where(
                    Connection.owner_user_id.in_([alice.user_id, bob.user_id]),
                    Connection.to_person_id.in_([alice.person_id, bob.person_id]),
                )
            )
        }
        assert edges[alice.user_id].evidence["mutual"] and edges[bob.user_id].evidence["mutual"]
        assert edges[alice.user_id].strength == round(before + 0.2, 4)
        assert edges[alice.user_id].version == version + 1


def test_two_imports_that_race_for_one_email_end_with_every_contact_on_the_survivor(db_config):
    """Batch B looks the email up before batch A commits it; B's insert then waits for A and loses. B merges its
    new person into A's, and B's contact must point at the survivor, not at the person merged away."""
    import threading

    from pipelines.contacts.ingest import BatchTarget, ingest_batch
    from pipelines.contacts.normalize import normalize
    from pipelines.contacts.records import ParsedContact
    from pipelines.models import Source, SourceKind

    if not db_config.database_url.startswith("postgresql"):
        pytest.skip("SQLite runs one writer at a time: two batches cannot race for a key")
    config = db_config
    ada, bob = (seed_user(config, f"{name}@example.com", contacts=[]) for name in ("ada", "bob"))
    targets = {}
    with unit_of_work(config) as session:
        for seeded in (ada, bob):
            user = session.get(User, seeded.user_id)
            source = Source(user_id=user.id, kind=SourceKind.csv, name="race")
            session.add(source)
            session.flush()
            targets[seeded.user_id] = BatchTarget(user.id, user.person_id, source.id)

    def contact(line: int):
        return normalize(
            ParsedContact(line=line, given_name="Kat", family_name="Race", emails=("kat@race.example",)), None
        )

    first_holds_the_key = threading.Event()
    first_may_commit = threading.Event()
    errors: list[BaseException] = []

    def first() -> None:
        try:
            with unit_of_work(config) as session:
                ingest_batch(session, targets[ada.user_id], [contact(1)])
                first_holds_the_key.set()
                first_may_commit.wait(30)
        except BaseException as exc:  # reported by the test below
            errors.append(exc)
            first_holds_the_key.set()

    racer = threading.Thread(target=first)
    racer.start()
    assert first_holds_the_key.wait(30)
    threading.Timer(1.0, first_may_commit.set).start()  # while the second batch waits on the key
    with unit_of_work(config) as session:
        result = ingest_batch(session, targets[bob.user_id], [contact(2)])
    racer.join(30)
    assert not errors

    assert result.people_merged == 1
    with unit_of_work(config) as session:
        holder = session.scalar(select(Identity.person_id).where(Identity.value == "kat@race.example"))
        assert session.get(Person, holder).merged_into is None
        owners_of_contacts = set(
            session.scalars(select(Contact.person_id).where(Contact.user_id.in_([ada.user_id, bob.user_id])))
        )
        assert owners_of_contacts == {holder}
        edges = set(session.scalars(select(Connection.to_person_id).where(Connection.owner_user_id == bob.user_id)))
        assert edges == {holder}
