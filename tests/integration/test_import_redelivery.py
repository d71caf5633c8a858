"""Two deliveries of the same import message at once (RabbitMQ hands a message out again when the connection it
was delivered on drops, while the worker that has it keeps running; docs/reliability.md, drill 2): one runs, the
other waits for it and then finds the import done. On Postgres, where that can happen."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from sqlalchemy import func, select

from actors.contacts import import_file
from pipelines import locks
from pipelines.contacts import importer
from pipelines.db import unit_of_work
from pipelines.models import Contact, Import, Person, User
from tests.support.people import seed_user

ROWS = 3000  # three batches


def _request(config, tmp_path: Path) -> int:
    user = seed_user(config, "alice@example.com", contacts=[])
    lines = ["First Name,Last Name,E-mail 1 - Value"] + [f"P{i},L{i},p{i}@example.com" for i in range(ROWS)]
    source = tmp_path / "big.csv"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    path = importer.copy_local_file(config, source)
    with unit_of_work(config) as session:
        return importer.request_import(
            session, config, session.get(User, user.user_id), path, filename="big.csv", fmt="google"
        ).id


def _people(config) -> tuple[int, int]:
    """People, and people merged into another."""
    with unit_of_work(config) as session:
        return (
            session.scalar(select(func.count()).select_from(Person)),
            session.scalar(select(func.count()).select_from(Person).where(Person.merged_into.is_not(None))),
        )


def test_two_deliveries_of_one_import_at_once_import_it_once(postgres_config, broker_setup, tmp_path):
    broker_setup(postgres_config)
    import_id = _request(postgres_config, tmp_path)
    people_before = _people(postgres_config)
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def deliver() -> None:
        start.wait()
        try:
            import_file.fn(import_id)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors
    with unit_of_work(postgres_config) as session:
        job = session.get(Import, import_id)
        assert (job.status.value, job.failure) == ("done", None)
        assert (job.rows_done, job.contacts, job.people_created, job.people_merged) == (ROWS, ROWS, ROWS, 0)
        assert session.scalar(select(func.count()).select_from(Contact)) == ROWS
    assert _people(postgres_config) == (people_before[0] + ROWS, people_before[1])  # none twice, none merged


def test_a_second_delivery_waits_for_the_running_one(postgres_config, broker_setup, tmp_path):
    broker_setup(postgres_config)
    import_id = _request(postgres_config, tmp_path)
    done = threading.Event()

    def deliver() -> None:
        import_file.fn(import_id)
        done.set()

    with locks.one_at_a_time(postgres_config, f"{importer.IMPORT_ACTOR}:{import_id}"):  # the running delivery
        thread = threading.Thread(target=deliver)
        thread.start()
        time.sleep(2.5)
        assert not done.is_set()
        with unit_of_work(postgres_config) as session:
            assert session.get(Import, import_id).rows_done == 0  # it has not started
    thread.join(120)  # the lock is free (as when the first delivery ends or dies): it runs the import
    assert done.is_set()
    with unit_of_work(postgres_config) as session:
        job = session.get(Import, import_id)
        assert (job.status.value, job.rows_done, job.contacts) == ("done", ROWS, ROWS)


def test_on_sqlite_the_lock_is_no_lock(migrated_sqlite_config):
    with (
        locks.one_at_a_time(migrated_sqlite_config, "anything"),
        locks.one_at_a_time(migrated_sqlite_config, "anything"),  # would wait forever on Postgres
    ):
        pass
