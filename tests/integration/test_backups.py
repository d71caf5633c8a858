"""Backups that restore: back up, wipe the database, the graph and the search index, restore with `sixdeg restore`,
and get the same answers; retention; an interrupted backup leaves nothing behind."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from pipelines import backups
from pipelines.db import dispose_engines, get_engine, sqlite_path, unit_of_work
from pipelines.graph import queries as graph_queries
from pipelines.graph.stores import close_stores, graph_store
from pipelines.graph.stores import rebuild as rebuild_graph
from pipelines.models import Contact, ImportError_, Person, User
from pipelines.search.queries import forget_degrees, search_people
from pipelines.search.stores import close_indexes, search_index
from pipelines.search.stores import rebuild as rebuild_search
from tests.conftest import NEO4J_URL, OPENSEARCH_URL, ROOT
from tests.support.people import seed_user

SHARED = {"given_name": "Xena", "family_name": "Shared", "emails": ["xena@example.net"], "company": "Acme"}
ONLY_BOB = {"given_name": "Yuri", "family_name": "Stripe", "emails": ["yuri@stripe.example"], "company": "Stripe"}


@pytest.fixture(params=["embedded", "production"])
def system(request: pytest.FixtureRequest):
    if request.param == "embedded":
        config = request.getfixturevalue("migrated_sqlite_config")
    else:
        request.getfixturevalue("neo4j_session")  # an empty graph, wiped again afterwards
        request.getfixturevalue("opensearch_client")
        config = replace(
            request.getfixturevalue("postgres_config"),
            graph_url=NEO4J_URL,
            search_url=f"opensearch+{OPENSEARCH_URL}",
            search_index=f"t{uuid.uuid4().hex[:10]}",
        )
    yield config
    search_index(config).clear()
    close_indexes()
    close_stores()


def _answers(config) -> dict:
    forget_degrees()
    with unit_of_work(config) as session:
        alice = session.scalar(select(User).where(User.email == "alice@example.com"))
        yuri = session.scalar(select(Contact.person_id).where(Contact.external_key == "card-1"))
        paths = graph_queries.paths_between(
            session, graph_store(config), alice.person_id, yuri, alice, max_hops=6, limit=3
        )
        found = search_people(config, session, search_index(config), graph_store(config), alice, q="xena")
        return {
            "people": session.scalar(select(func.count()).select_from(Person).where(Person.merged_into.is_(None))),
            "contacts": session.scalar(select(func.count()).select_from(Contact)),
            "path": [[p["name"] for p in path["people"]] for path in paths],
            "search": [(i["name"], i["degree"]) for i in found["items"]],
            "errors": [(e.line, e.reason) for e in session.scalars(select(ImportError_).order_by(ImportError_.line))],
        }


def _wipe(config) -> None:
    if config.database_kind == "postgresql":
        with get_engine(config).begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    else:
        path = sqlite_path(config.database_url)
        dispose_engines()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    dispose_engines()
    if config.graph_kind == "neo4j":
        graph_store(config).clear()  # type: ignore[attr-defined]
    search_index(config).clear()
    close_indexes()


def _sixdeg(config, *args: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "SIXDEG_DATABASE_URL": config.database_url,
        "SIXDEG_DATA_DIR": str(config.data_dir),
        "SIXDEG_BACKUP_DIR": str(config.backup_dir),
        "SIXDEG_GRAPH_URL": config.graph_url,
        "SIXDEG_SEARCH_URL": config.search_url,
        "SIXDEG_SEARCH_INDEX": config.search_index,
    }
    return subprocess.run(
        [str(Path(sys.executable).parent / "sixdeg"), *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_backup_wipe_restore_gives_the_same_answers(system) -> None:
    config = system
    seed_user(config, "alice@example.com", contacts=[SHARED])
    bob = seed_user(config, "bob@example.org", contacts=[SHARED, ONLY_BOB])
    with unit_of_work(config) as session:
        session.get(User, bob.user_id).sharing = "network"
    if config.graph_kind == "neo4j":
        rebuild_graph(config)
    rebuild_search(config)
    before = _answers(config)
    assert before["path"] and before["search"] == [("Xena Shared", 1)] and before["errors"], before

    made = _sixdeg(config, "backup", "--json")
    assert made.returncode == 0, made.stderr
    manifest = json.loads(made.stdout)
    assert manifest["rows"] == {"people": before["people"], "contacts": before["contacts"]}
    assert manifest["schema_revision"] and manifest["sha256"]

    _wipe(config)
    restored = _sixdeg(config, "restore", "latest")
    assert restored.returncode == 0, restored.stderr
    assert "search rebuilt" in restored.stdout
    dispose_engines()
    close_stores()
    assert _answers(config) == before

    again = _sixdeg(config, "restore", "latest")  # never over a database that has data
    assert again.returncode == 1 and "not empty" in again.stderr


def test_a_damaged_backup_is_refused(migrated_sqlite_config) -> None:
    made = backups.create_backup(migrated_sqlite_config)
    with made.path.open("r+b") as handle:
        handle.seek(200)
        handle.write(b"\x00garbage\x00")
    with pytest.raises(backups.BackupError, match="damaged"):
        backups.restore(migrated_sqlite_config, made)


def test_an_interrupted_backup_leaves_nothing(postgres_config) -> None:
    stop = threading.Event()
    stop.set()
    with pytest.raises(backups.BackupError, match="interrupted"):
        backups.create_backup(postgres_config, stop=stop)
    assert list(Path(postgres_config.backup_dir).iterdir()) == []
    assert backups.list_backups(postgres_config) == []


def test_retention_keeps_24_newest_and_one_per_day_for_a_week(migrated_sqlite_config, tmp_path) -> None:
    config = migrated_sqlite_config
    directory = Path(config.backup_dir)
    directory.mkdir(parents=True, exist_ok=True)
    now = datetime(2026, 11, 27, 12, 30, tzinfo=UTC)
    for hours in range(0, 24 * 10, 1):  # hourly backups for ten days
        created = now - timedelta(hours=hours)
        name = f"sixdeg-{created.strftime('%Y%m%dT%H%M%S%fZ')}.sqlite3"
        (directory / name).write_bytes(b"x")
        (directory / f"{name}{backups.MANIFEST_SUFFIX}").write_text(
            json.dumps({"file": name, "created_at": created.isoformat()})
        )
    backups.apply_retention(config, now=now)
    kept = [b.created_at for b in backups.list_backups(config)]
    newest = [now - timedelta(hours=h) for h in range(24)]
    assert kept[:24] == newest
    older_days = sorted({k.date() for k in kept[24:]})
    assert len(kept) == 24 + len(older_days) and len(older_days) <= 7
    assert all(now - k <= timedelta(days=7) for k in kept)
