"""The demo network on a real database: seeded through the import pipeline (merges, suggestions, paths of 2, 3 and
4 hops, searchable people), idempotent, refused next to real users; and `sixdeg demo` / `serve --demo`."""

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select

from pipelines import accounts
from pipelines.db import unit_of_work
from pipelines.demo import DEMO_EMAIL, DEMO_PASSWORD, DemoRefused, demo_eligible, seed_demo
from pipelines.graph.queries import access_for, paths_between
from pipelines.graph.stores import graph_store
from pipelines.models import Base, Contact, Import, ImportStatus, Person, User
from pipelines.search.queries import forget_degrees, search_people
from pipelines.search.stores import search_index
from tests.support.serve import ROOT, SIXDEG, start_serve, wait_until_healthy

REAL_PASSWORD = "correct horse battery staple"


def table_counts(config) -> dict[str, int]:
    with unit_of_work(config) as session:
        return {
            table.name: session.scalar(select(func.count()).select_from(table)) for table in Base.metadata.sorted_tables
        }


def test_seed_demo_builds_a_network_through_the_import_pipeline(postgres_config):
    config = postgres_config
    assert demo_eligible(config)
    started = time.monotonic()
    summary = seed_demo(config)
    print(f"seeded on Postgres in {time.monotonic() - started:.2f} s: {summary}")
    assert summary.seeded
    assert summary.users == 5
    assert summary.merges > 0 and summary.suggestions > 0

    with unit_of_work(config) as session:
        demo = accounts.authenticate(session, DEMO_EMAIL, DEMO_PASSWORD)
        assert demo is not None
        others = session.scalars(select(User).where(User.id != demo.id)).all()
        assert all(u.sharing == "network" and u.email.endswith("@demo.sixdeg.example") for u in others)
        assert accounts.authenticate(session, others[0].email, DEMO_PASSWORD) is not None
        assert session.scalar(select(func.count()).select_from(Contact).where(Contact.user_id == demo.id)) >= 250
        statuses = session.scalars(select(Import.status)).all()
        assert len(statuses) == 7 and set(statuses) == {ImportStatus.done}
        # Other users appear under the names others imported them by, not their email's local part.
        names = [session.get(Person, u.person_id).display_name for u in others]
        assert all(" " in name for name in names), names

        store = graph_store(config)
        distances = store.hop_distances(demo.person_id, access_for(session, demo), max_hops=6)
        by_hops = {hops: sorted(p for p, d in distances.items() if d == hops) for hops in range(1, 7)}
        assert len(by_hops[1]) >= 200
        for hops in (2, 3, 4):
            assert by_hops[hops], f"nobody {hops} hops away"
            target = by_hops[hops][0]
            found = paths_between(session, store, demo.person_id, target, demo, max_hops=6, limit=1)
            assert found and found[0]["hops"] == hops
            assert found[0]["people"][0]["id"] == demo.person_id and found[0]["people"][-1]["id"] == target

        # Searchable as soon as seeding returns: a direct contact and someone four hops away.
        forget_degrees()
        index = search_index(config)
        for target, degree in ((by_hops[1][0], 1), (by_hops[4][-1], None)):
            person = session.get(Person, target)
            found = search_people(config, session, index, store, demo, q=person.display_name, limit=20)
            hit = next((item for item in found["items"] if item["id"] == target), None)
            assert hit is not None, person.display_name
            assert hit["degree"] == degree  # degrees are shown up to 3 hops

    before = table_counts(config)
    again = seed_demo(config)
    assert not again.seeded
    assert (again.users, again.contacts, again.people, again.merges, again.suggestions) == (
        summary.users,
        summary.contacts,
        summary.people,
        summary.merges,
        summary.suggestions,
    )
    assert table_counts(config) == before


def test_seed_demo_refuses_a_database_with_real_users(postgres_config):
    with unit_of_work(postgres_config) as session:
        accounts.create_user(session, "alice@example.com", REAL_PASSWORD)
    assert not demo_eligible(postgres_config)
    with pytest.raises(DemoRefused, match=r"real users \(1\); run `sixdeg serve` without --demo"):
        seed_demo(postgres_config)
    assert table_counts(postgres_config)["users"] == 1
    assert table_counts(postgres_config)["contacts"] == 0


# --- the command line ----------------------------------------------------------------------------------------


def _env(data_dir: Path, database_url: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIXDEG_")}
    env["SIXDEG_DATA_DIR"] = str(data_dir)
    if database_url:
        env["SIXDEG_DATABASE_URL"] = database_url
    return env


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([SIXDEG, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_demo_check_exits_0_on_an_empty_database_and_1_with_a_real_user(migrated_sqlite_config):
    env = _env(migrated_sqlite_config.data_dir, migrated_sqlite_config.database_url)
    empty = _run(env, "demo", "--check")
    assert empty.returncode == 0, empty.stdout + empty.stderr
    assert "eligible" in empty.stdout
    with unit_of_work(migrated_sqlite_config) as session:
        accounts.create_user(session, "alice@example.com", REAL_PASSWORD)
    taken = _run(env, "demo", "--check")
    assert taken.returncode == 1, taken.stdout + taken.stderr
    assert "real users (1)" in taken.stdout
    refused = _run(env, "serve", "--demo", "--port", "1")
    assert refused.returncode == 1
    assert "the database already holds real users (1)" in refused.stderr
    assert "serving" not in refused.stdout


def test_sixdeg_demo_on_a_brand_new_data_dir(tmp_path):
    env = _env(tmp_path / "var")
    seeded = _run(env, "demo")
    assert seeded.returncode == 0, seeded.stdout + seeded.stderr
    assert "demo network seeded in" in seeded.stdout
    assert f"Demo account: {DEMO_EMAIL} / {DEMO_PASSWORD}" in seeded.stdout
    again = _run(env, "demo")
    assert again.returncode == 0 and "already there" in again.stdout
    check = _run(env, "demo", "--check")
    assert check.returncode == 0, check.stdout + check.stderr


def test_serve_demo_seeds_then_serves_the_demo_login(tmp_path):
    process, base = start_serve(_env(tmp_path / "var"), "--demo")
    try:
        problem = wait_until_healthy(process, base, 90)
        assert problem is None, f"{problem}: {process.stdout.read() if process.poll() is not None else ''}"
        web = requests.Session()
        login = web.post(f"{base}/v1/auth/login", json={"email": DEMO_EMAIL, "password": DEMO_PASSWORD}, timeout=10)
        assert login.status_code == 200, login.text
        people = web.get(f"{base}/v1/people", params={"q": "a", "limit": 5}, timeout=10)
        assert people.status_code == 200, people.text
        assert people.json()["total"] > 0
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, output
    assert f"Demo account: {DEMO_EMAIL} / {DEMO_PASSWORD}" in output
    assert "demo network seeded in" in output
