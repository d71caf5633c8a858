"""The search index as a projection of Postgres, on every engine: writes flow in through the outbox's sync,
versions are respected, merges and deletions remove documents, and `sixdeg rebuild search` swaps generations
while searches keep answering."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import uuid
from dataclasses import replace

import pytest
from sqlalchemy import select

from pipelines.contacts.merge import merge_people
from pipelines.db import unit_of_work
from pipelines.models import Person, User
from pipelines.ownership import delete_contacts
from pipelines.projections import notify_people_changed, sync_people
from pipelines.search.documents import documents_for
from pipelines.search.port import SearchRequest, Visibility
from pipelines.search.stores import close_indexes, rebuild, search_index
from tests.conftest import ELASTICSEARCH_URL, OPENSEARCH_URL, ROOT, _port_open, service_unavailable
from tests.support.people import seed_user

ENGINES = {"opensearch": OPENSEARCH_URL, "elasticsearch": ELASTICSEARCH_URL}


@pytest.fixture(params=["sqlite", "opensearch", "elasticsearch"])
def config(request: pytest.FixtureRequest, postgres_config):
    alias = f"t{uuid.uuid4().hex[:10]}"
    if request.param == "sqlite":
        config = replace(postgres_config, search_index=alias)
    else:
        url = ENGINES[request.param]
        if problem := _port_open(url, 9200):
            service_unavailable(request.param, problem)
        config = replace(postgres_config, search_url=f"{request.param}+{url}", search_index=alias)
    yield config
    search_index(config).clear()
    close_indexes()


def _names(config, text: str, user_id: int | None = None) -> list[str]:
    index = search_index(config)
    index.refresh()
    owners = None if user_id is None else frozenset({user_id})
    return [h.name for h in index.search(SearchRequest(visibility=Visibility(owners=owners), text=text)).hits]


def _sync(config, person_ids) -> None:
    with unit_of_work(config) as session:
        sync_people(config, session, person_ids)


def test_changes_flow_into_the_index(config) -> None:
    alice = seed_user(
        config,
        "alice@example.com",
        contacts=[
            {"given_name": "Grace", "family_name": "Hopper", "emails": ["grace@navy.example"], "company": "Navy"},
            {"given_name": "Grace", "family_name": "Brewster", "emails": ["gb@navy.example"], "company": "Navy"},
        ],
    )
    bob = seed_user(config, "bob@example.org", contacts=[{"given_name": "Linus", "emails": ["linus@kernel.example"]}])
    everyone = [*alice.person_ids, *bob.person_ids, alice.person_id, bob.person_id]
    _sync(config, everyone)
    assert sorted(_names(config, "grace", alice.user_id)) == ["Grace Brewster", "Grace Hopper"]
    assert _names(config, "grace", bob.user_id) == []
    assert search_index(config).get(alice.person_ids[0])["domains"] == ["navy.example"]

    hopper, brewster = alice.person_ids
    with unit_of_work(config) as session:
        person = session.get(Person, hopper)
        person.company = "Yale"
        notify_people_changed(session, [hopper])
    with unit_of_work(config) as session:
        stale_docs, _ = documents_for(session, [hopper])  # read now; applied late below
        notify_people_changed(session, [hopper])
    _sync(config, [hopper])
    search_index(config).upsert(stale_docs)  # an older projection arriving late changes nothing
    stored = search_index(config).get(hopper)
    assert stored["company"] == "Yale" and stored["_version"] > stale_docs[0].version

    with unit_of_work(config) as session:
        merge_people(session, hopper, brewster, reason="test", user_id=alice.user_id)
    _sync(config, [hopper, brewster])
    assert search_index(config).get(brewster) is None
    assert _names(config, "grace", alice.user_id) == ["Grace Hopper"]

    with unit_of_work(config) as session:
        user = session.get(User, alice.user_id)
        delete_contacts(session, user, alice.contact_ids)
    _sync(config, [hopper, brewster])
    assert _names(config, "grace", alice.user_id) == []


def test_rebuild_while_searching(config) -> None:
    people = [
        {"given_name": f"Person{i:03d}", "family_name": "Rebuild", "emails": [f"p{i}@x.example"]} for i in range(300)
    ]
    alice = seed_user(config, "alice@example.com", contacts=people)
    rebuild(config)
    search_index(config).refresh()
    probes = ["Person007 Rebuild", "Person150 Rebuild", "Person299 Rebuild"]
    visibility = Visibility(owners=frozenset({alice.user_id}))
    failures: list[str] = []
    searches = 0
    stop = threading.Event()

    def search_continuously() -> None:
        nonlocal searches
        index = search_index(config)
        while not stop.is_set():
            for probe in probes:
                try:
                    hits = index.search(SearchRequest(visibility=visibility, text=probe, limit=3)).hits
                except Exception as exc:
                    failures.append(f"{probe}: {type(exc).__name__}: {exc}")
                    continue
                if not hits or hits[0].name != probe:
                    failures.append(f"{probe}: got {[h.name for h in hits]}")
                searches += 1

    env = {
        **os.environ,
        "SIXDEG_DATABASE_URL": config.database_url,
        "SIXDEG_SEARCH_URL": config.search_url,
        "SIXDEG_SEARCH_INDEX": config.search_index,
        "SIXDEG_DATA_DIR": str(config.data_dir),
    }
    thread = threading.Thread(target=search_continuously)
    thread.start()
    try:
        for _ in range(2):
            result = subprocess.run(
                [sys.executable, "-m", "api.cli", "rebuild", "search"],
                env=env,
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert result.returncode == 0, result.stderr
            assert "302 people indexed" in result.stdout, result.stdout
    finally:
        stop.set()
        thread.join()
    assert searches > 10
    assert failures == []
    with unit_of_work(config) as session:
        alive = session.scalars(select(Person.id).where(Person.merged_into.is_(None))).all()
    assert len(alive) == 302


def test_threads_sharing_an_engine_client_reuse_its_connections(config, caplog) -> None:
    """Eight threads searching at once (a worker's or gunicorn's threads) keep their connections to the engine
    instead of opening and discarding one per request."""
    seed_user(config, "pool@example.com", contacts=[{"given_name": "Pooled", "emails": ["pooled@example.com"]}])
    index = search_index(config)
    index.refresh()
    failures: list[BaseException] = []

    def search_repeatedly() -> None:
        try:
            for _ in range(20):
                index.search(SearchRequest(visibility=Visibility(owners=None), text="Pooled"))
        except BaseException as exc:  # reported below
            failures.append(exc)

    with caplog.at_level("WARNING", logger="urllib3.connectionpool"):
        threads = [threading.Thread(target=search_repeatedly) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert failures == []
    assert [r.getMessage() for r in caplog.records if "pool is full" in r.getMessage()] == []


def test_the_consistency_sweep_repairs_drift(migrated_sqlite_config) -> None:
    from pipelines.projections import consistency_sweep
    from pipelines.search.port import PersonDoc

    config = migrated_sqlite_config
    alice = seed_user(config, "alice@example.com")
    rebuild(config)
    index = search_index(config)
    grace, linus = alice.person_ids[:2]
    index.delete([grace])  # lost
    stale = index.get(linus)
    index.upsert([PersonDoc(id=987654, version=1, name="Ghost", owners=(alice.user_id,))])  # gone from Postgres
    with unit_of_work(config) as session:
        session.get(Person, linus).title = "Kernel hacker"
        session.get(Person, linus).version = stale["_version"] + 5  # changed without telling the projection
    with unit_of_work(config) as session:
        report = consistency_sweep(config, session)
    assert report["search"]["stale"] == 2 and report["search"]["extra"] == 1
    assert index.get(grace) is not None and index.get(987654) is None
    assert index.get(linus)["title"] == "Kernel hacker"
    with unit_of_work(config) as session:
        again = consistency_sweep(config, session)
    assert again["search"]["stale"] == again["search"]["extra"] == 0
