"""Shared machinery of the reliability drills (tests/reliability/, docs/reliability.md).

- `state_fingerprint(config, ...)`: what must be equal after a disturbed run and an undisturbed run of the same
  work: counts and a sha256 over canonical, sorted rows of people, identities, contacts and connections in
  Postgres; of the run's nodes and edges in Neo4j; of the documents in the search index. Ids, versions and
  timestamps differ legitimately between two runs and are left out: a person is named by its content and its
  strongest identity (`person keys`), a user by its email. `projection_drift` separately checks that each
  projection holds exactly Postgres's people at Postgres's versions (the consistency sweep's comparison).
- Fresh Postgres databases with their own person-id range (`fresh_database`), so two runs can share the one Neo4j
  database of Community edition without mixing their nodes.
- Real worker processes (`dramatiq actors`) started, SIGKILLed and restarted; a private RabbitMQ vhost.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from sqlalchemy import create_engine, select, text

from pipelines.config import Config
from pipelines.db import dispose_engines, unit_of_work
from pipelines.models import Connection, Contact, Identity, Import, ImportStatus, Person, Source, User

ROOT = Path(__file__).resolve().parent.parent.parent
DRAMATIQ = str(Path(sys.executable).parent / "dramatiq")
VHOST = "drills"
#: Person ids of one run start at its offset and stay below offset + ID_SPAN.
ID_SPAN = 10**8
DRILL_QUEUES = ("imports", "projections", "maintenance", "webhooks")


# --- RabbitMQ: the drills' own vhost ---------------------------------------------------------------------------


def ensure_vhost(api_url: str, vhost: str = VHOST) -> None:
    """Create the vhost and give guest every permission on it, through the management API (idempotent)."""
    import requests

    parts = urlsplit(api_url)
    base = parts._replace(netloc=parts.hostname + (f":{parts.port}" if parts.port else "")).geturl().rstrip("/")
    auth = (parts.username or "guest", parts.password or "guest")
    name = quote(vhost, safe="")
    response = requests.put(f"{base}/vhosts/{name}", auth=auth, timeout=10)
    response.raise_for_status()
    response = requests.put(
        f"{base}/permissions/{name}/{auth[0]}",
        json={"configure": ".*", "write": ".*", "read": ".*"},
        auth=auth,
        timeout=10,
    )
    response.raise_for_status()


def vhost_url(amqp_url: str, vhost: str = VHOST) -> str:
    return urlsplit(amqp_url)._replace(path="/" + quote(vhost, safe="")).geturl()


def queue_counts(amqp_url: str, queue: str) -> int:
    """Messages waiting in `queue` (0 when it does not exist), by a passive declare."""
    import pika

    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        channel = connection.channel()
        try:
            return channel.queue_declare(queue, passive=True).method.message_count
        except pika.exceptions.ChannelClosedByBroker:
            return 0
    finally:
        if connection.is_open:
            connection.close()


def queued(api_url: str, vhost: str = VHOST, queues: tuple[str, ...] = DRILL_QUEUES) -> int:
    """Messages ready or unacked (being processed, or waiting for a retry) in the drill queues and their delay
    queues, from the management API: cheap, so convergence checks poll it before comparing whole stores."""
    import requests

    parts = urlsplit(api_url)
    base = parts._replace(netloc=parts.hostname + (f":{parts.port}" if parts.port else "")).geturl().rstrip("/")
    auth = (parts.username or "guest", parts.password or "guest")
    response = requests.get(f"{base}/queues/{quote(vhost, safe='')}", auth=auth, timeout=10)
    response.raise_for_status()
    wanted = {q for queue in queues for q in (queue, f"{queue}.DQ")}
    return sum(int(q.get("messages", 0) or 0) for q in response.json() if q["name"] in wanted)


def queue_state(api_url: str, queue: str, vhost: str = VHOST) -> dict[str, Any]:
    """One queue as the management API sees it (`messages_ready`, `messages_unacknowledged`, `consumers`, ...);
    empty when it does not exist. Its counts are up to the node's statistics interval old."""
    import requests

    parts = urlsplit(api_url)
    base = parts._replace(netloc=parts.hostname + (f":{parts.port}" if parts.port else "")).geturl().rstrip("/")
    auth = (parts.username or "guest", parts.password or "guest")
    response = requests.get(f"{base}/queues/{quote(vhost, safe='')}/{quote(queue, safe='')}", auth=auth, timeout=10)
    if response.status_code == 404:
        return {}
    response.raise_for_status()
    return response.json()


def dead_letters(amqp_url: str, queues: tuple[str, ...] = DRILL_QUEUES) -> dict[str, int]:
    """Messages in each queue's dead-letter queue (`<queue>.XQ`), only the non-empty ones."""
    counts = {f"{q}.XQ": queue_counts(amqp_url, f"{q}.XQ") for q in queues}
    return {q: n for q, n in counts.items() if n}


def purge_queues(amqp_url: str, queues: tuple[str, ...] = DRILL_QUEUES) -> None:
    """Delete the drill queues (and their delay and dead-letter queues) in the drills vhost."""
    import pika

    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        channel = connection.channel()
        for queue in queues:
            for name in (queue, f"{queue}.DQ", f"{queue}.XQ"):
                channel.queue_delete(name)
    finally:
        if connection.is_open:
            connection.close()


# --- Postgres: fresh databases with their own id range -----------------------------------------------------------


@contextmanager
def fresh_database(postgres_url: str, tmp_path: Path, *, id_offset: int, **overrides: Any) -> Iterator[Config]:
    """A new, migrated Postgres database whose person ids start at `id_offset` (dropped afterwards)."""
    from pipelines.migrate import upgrade

    name = f"sixdeg_drill_{uuid.uuid4().hex[:10]}"
    admin = create_engine(urlsplit(postgres_url)._replace(path="/postgres").geturl(), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = urlsplit(postgres_url)._replace(path=f"/{name}").geturl()
    data_dir = tmp_path / name
    config = Config.from_env({}, data_dir=data_dir, database_url=url, metrics=False, **overrides)
    try:
        upgrade(config)
        engine = create_engine(url)
        with engine.begin() as connection:
            connection.execute(text(f"ALTER SEQUENCE people_id_seq RESTART WITH {int(id_offset)}"))
        engine.dispose()
        yield config
    finally:
        dispose_engines()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# --- Input ------------------------------------------------------------------------------------------------------

GOOGLE_HEADER = [
    "First Name",
    "Last Name",
    "Organization Name",
    "Organization Title",
    "E-mail 1 - Value",
    "Phone 1 - Value",
]


def write_contacts_csv(path: Path, count: int, *, seed: int) -> Path:
    """A Google Contacts CSV of `count` Faker people (deterministic for a seed): every row valid and a distinct
    person (its own email or phone); companies are shared, so same-company evidence appears on edges. Names,
    companies and jobs come from pools Faker fills once (Faker per row costs 12 s for 50,000 rows)."""
    from faker import Faker

    fake = Faker(["en_US", "de_DE", "fr_FR"])
    fake.seed_instance(seed)
    rng = random.Random(seed)
    firsts = [fake.first_name() for _ in range(1500)]
    lasts = [fake.last_name() for _ in range(1500)]
    jobs = [fake.job().replace(",", " ") for _ in range(500)]
    companies = [fake.company().replace(",", " ") for _ in range(max(1, count // 50))]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(GOOGLE_HEADER)
        for index in range(count):
            first, last = rng.choice(firsts), rng.choice(lasts)
            phone_only = rng.random() < 0.2
            email = "" if phone_only else f"{first}.{last}.{index}@drill.example".lower().replace(" ", "")
            phone = f"+1202{index:07d}" if phone_only or rng.random() < 0.4 else ""
            writer.writerow([first, last, rng.choice(companies), rng.choice(jobs), email, phone])
    return path


# --- Processes --------------------------------------------------------------------------------------------------


def process_env(config: Config) -> dict[str, str]:
    """The environment of a sixdeg process (worker, API) running with `config`."""
    env = {
        **os.environ,
        "SIXDEG_DATABASE_URL": config.database_url,
        "SIXDEG_BROKER_URL": config.broker_url,
        "SIXDEG_GRAPH_URL": config.graph_url,
        "SIXDEG_SEARCH_URL": config.search_url,
        "SIXDEG_SEARCH_INDEX": config.search_index,
        "SIXDEG_DATA_DIR": str(config.data_dir),
        "SIXDEG_SECRET_KEY": config.secret_key,
        "SIXDEG_METRICS": "0",
        "SIXDEG_BACKEND_TIMEOUT": str(config.backend_timeout),
        "SIXDEG_OUTBOX_GRACE": str(config.outbox_grace),
        "SIXDEG_LOG_FORMAT": "json",
    }
    return env


@dataclass
class Worker:
    """A real `dramatiq actors` command (one process, N threads) that can be SIGKILLed and restarted."""

    config: Config
    queues: tuple[str, ...] = ("imports", "projections", "maintenance")
    threads: int = 4
    log: Path | None = None
    process: subprocess.Popen | None = None
    kills: int = 0
    starts: list[float] = field(default_factory=list)

    def start(self) -> Worker:
        output = self.log.open("ab") if self.log else subprocess.DEVNULL
        self.process = subprocess.Popen(
            [DRAMATIQ, "actors", "--processes", "1", "--threads", str(self.threads), "--queues", *self.queues],
            env=process_env(self.config),
            cwd=ROOT,
            stdout=output,
            stderr=output,
            start_new_session=True,
        )
        self.starts.append(time.monotonic())
        return self

    def kill(self) -> None:
        """SIGKILL the whole process group (the dramatiq parent and its worker process): no cleanup at all."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(30)
        self.kills += 1

    def check(self) -> bool:
        """True while the worker runs; fails the test with its log's tail if it exited by itself."""
        assert self.process is not None
        if self.process.poll() is not None:
            tail = self.log.read_text(errors="replace")[-3000:] if self.log else ""
            raise AssertionError(f"the worker exited with {self.process.returncode}:\n{tail}")
        return True

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


# --- Imports ----------------------------------------------------------------------------------------------------


def create_user(config: Config, email: str) -> int:
    from pipelines import accounts

    with unit_of_work(config) as session:
        return accounts.create_user(session, email, "correct horse battery staple").id


def request_import(config: Config, user_id: int, source: Path, *, fmt: str = "auto") -> int:
    """Store the file and request its import (the outbox sends it to the import actor after commit)."""
    from pipelines.contacts import importer

    with unit_of_work(config) as session:
        stored = importer.copy_local_file(config, source)
        job = importer.request_import(
            session, config, session.get(User, user_id), stored, filename=source.name, fmt=fmt
        )
        return job.id


def import_row(config: Config, import_id: int) -> Import:
    with unit_of_work(config) as session:
        return session.get(Import, import_id)


def rows_done(config: Config, import_id: int) -> int:
    return import_row(config, import_id).rows_done or 0


def import_done(config: Config, import_id: int) -> bool:
    return import_row(config, import_id).status == ImportStatus.done


def sweep_outbox(config: Config) -> int:
    """What the scheduler's minutely `outbox.sweep` does: publish the rows left unsent past the grace period."""
    from actors.broker import publish_outbox_rows

    with unit_of_work(config) as session:
        from pipelines import outbox

        if not outbox.unsent_count(session):
            return 0
    return publish_outbox_rows(older_than=config.outbox_grace, engine=_engine(config))


def _engine(config: Config) -> Any:
    from pipelines.db import get_engine

    return get_engine(config)


def unsent(config: Config) -> int:
    from pipelines import outbox

    with unit_of_work(config) as session:
        return outbox.unsent_count(session)


# --- Fingerprints -----------------------------------------------------------------------------------------------


def _digest(rows: list[Any]) -> str:
    canonical = json.dumps(sorted(rows, key=lambda r: json.dumps(r, sort_keys=True, default=str)), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass
class PostgresView:
    """Postgres's people, keyed by content (for fingerprints) and by id (for the projection checks)."""

    keys: dict[int, str]  # person id -> stable key: name, company, title and the person's first identity
    versions: dict[int, int]  # live (not merged-away) person id -> version
    users: dict[int, str]  # user id -> email


def postgres_view(config: Config) -> PostgresView:
    with unit_of_work(config) as session:
        identities: dict[int, list[str]] = {}
        for person_id, kind, value in session.execute(select(Identity.person_id, Identity.kind, Identity.value)):
            identities.setdefault(person_id, []).append(f"{kind}:{value}")
        keys, versions = {}, {}
        for pid, name, company, title, version, merged in session.execute(
            select(Person.id, Person.display_name, Person.company, Person.title, Person.version, Person.merged_into)
        ):
            keys[pid] = json.dumps([name, company, title, min(identities.get(pid, [""]))])
            if merged is None:
                versions[pid] = version
        users = dict(session.execute(select(User.id, User.email)).all())
    return PostgresView(keys, versions, users)


def postgres_fingerprint(config: Config, view: PostgresView | None = None) -> dict[str, Any]:
    view = view or postgres_view(config)
    key = view.keys.get
    with unit_of_work(config) as session:
        people = [
            [p.display_name, p.given_name, p.family_name, p.company, p.title, p.location, key(p.merged_into)]
            for p in session.scalars(select(Person))
        ]
        identities = [
            [str(kind), value, key(pid)]
            for pid, kind, value in session.execute(select(Identity.person_id, Identity.kind, Identity.value))
        ]
        sources = {s.id: f"{s.kind}:{s.name}" for s in session.scalars(select(Source))}
        contacts = [
            [view.users.get(c.user_id), sources.get(c.source_id), c.external_key, c.content_hash, key(c.person_id)]
            for c in session.scalars(select(Contact))
        ]
        connections = [
            [
                key(c.from_person_id),
                key(c.to_person_id),
                view.users.get(c.owner_user_id),
                round(float(c.strength), 6),
                c.connected_on.isoformat() if c.connected_on else None,
                {k: (len(v) if k == "sources" else v) for k, v in sorted((c.evidence or {}).items())},
            ]
            for c in session.scalars(select(Connection))
        ]
    return {
        name: {"count": len(rows), "sha256": _digest(rows)}
        for name, rows in (
            ("people", people),
            ("identities", identities),
            ("contacts", contacts),
            ("connections", connections),
        )
    }


def _id_range(view: PostgresView) -> tuple[int, int]:
    return (min(view.keys), max(view.keys) + 1) if view.keys else (0, 0)


def neo4j_state(driver: Any, view: PostgresView) -> tuple[dict[int, int], dict[str, Any]]:
    """The run's nodes (by its person-id range): their versions, and the fingerprint of nodes and edges."""
    lo, hi = _id_range(view)
    key = view.keys.get
    with driver.session(database="neo4j") as session:
        nodes = session.run(
            "MATCH (p:Person) WHERE p.id >= $lo AND p.id < $hi RETURN p.id AS id, p.name AS name, "
            "p.company AS company, p.title AS title, p.version AS version",
            lo=lo,
            hi=hi,
        ).data()
        edges = session.run(
            "MATCH (a:Person)-[r:KNOWS]->(b:Person) WHERE a.id >= $lo AND a.id < $hi "
            "RETURN a.id AS a, b.id AS b, r.owner AS owner, r.strength AS strength",
            lo=lo,
            hi=hi,
        ).data()
    versions = {n["id"]: n["version"] for n in nodes}
    node_rows = [[key(n["id"]), n["name"], n["company"], n["title"]] for n in nodes]
    edge_rows = [[key(e["a"]), key(e["b"]), view.users.get(e["owner"]), round(e["strength"], 6)] for e in edges]
    return versions, {
        "nodes": {"count": len(node_rows), "sha256": _digest(node_rows)},
        "edges": {"count": len(edge_rows), "sha256": _digest(edge_rows)},
    }


def search_state(config: Config, view: PostgresView) -> tuple[dict[int, int], dict[str, Any]]:
    """Every document behind the run's alias: versions, and the fingerprint of their content."""
    from opensearchpy import OpenSearch

    client = OpenSearch([config.search_http_url], timeout=30)
    try:
        client.indices.refresh(index=config.search_index)
        versions: dict[int, int] = {}
        rows = []
        after = None
        while True:
            body: dict[str, Any] = {"query": {"match_all": {}}, "sort": [{"pid": "asc"}], "size": 5000, "version": True}
            if after is not None:
                body["search_after"] = after
            hits = client.search(index=config.search_index, body=body)["hits"]["hits"]
            if not hits:
                break
            for hit in hits:
                doc = hit["_source"]
                versions[int(doc["pid"])] = int(hit["_version"])
                rows.append(
                    [
                        view.keys.get(int(doc["pid"])),
                        doc["name"],
                        doc.get("company"),
                        doc.get("title"),
                        doc.get("location"),
                        sorted(doc.get("domains") or []),
                        sorted(view.users.get(o, str(o)) for o in doc.get("owners") or []),
                        doc.get("public"),
                    ]
                )
            after = hits[-1]["sort"]
    finally:
        client.close()
    return versions, {"documents": {"count": len(rows), "sha256": _digest(rows)}}


def projection_drift(expected: dict[int, int], actual: dict[int, int]) -> dict[str, int]:
    """How far a projection is from Postgres: people missing or at another version, and people it should not hold."""
    from pipelines.projections import drift

    stale, extra = drift(expected, actual)
    return {"stale": len(stale), "extra": len(extra)}


@dataclass
class Fingerprint:
    postgres: dict[str, Any]
    graph: dict[str, Any] | None
    search: dict[str, Any] | None
    drift: dict[str, dict[str, int]]

    def comparable(self) -> dict[str, Any]:
        return {"postgres": self.postgres, "graph": self.graph, "search": self.search}


def state_fingerprint(config: Config, *, neo4j_driver: Any = None) -> Fingerprint:
    """Counts and checksums of the run's state in Postgres, Neo4j (when `config` projects there) and the search
    engine (when it is not the embedded one), plus each projection's drift from Postgres (must be zero)."""
    view = postgres_view(config)
    graph = search = None
    drift: dict[str, dict[str, int]] = {}
    if config.graph_kind == "neo4j":
        assert neo4j_driver is not None, "pass the Neo4j driver to fingerprint the graph"
        versions, graph = neo4j_state(neo4j_driver, view)
        drift["graph"] = projection_drift(view.versions, versions)
    if config.search_kind != "sqlite":
        versions, search = search_state(config, view)
        drift["search"] = projection_drift(view.versions, versions)
    return Fingerprint(postgres_fingerprint(config, view), graph, search, drift)


def drift_report(config: Config, neo4j_driver: Any = None) -> dict[str, dict[str, int]]:
    """Each projection's drift from Postgres (people missing or at another version, people it should not hold)."""
    view = postgres_view(config)
    report = {}
    if config.graph_kind == "neo4j":
        report["graph"] = projection_drift(view.versions, neo4j_state(neo4j_driver, view)[0])
    if config.search_kind != "sqlite":
        report["search"] = projection_drift(view.versions, search_state(config, view)[0])
    return report


def converged(config: Config, neo4j_driver: Any = None) -> bool:
    """Both projections hold exactly Postgres's live people at Postgres's versions."""
    return all(d == {"stale": 0, "extra": 0} for d in drift_report(config, neo4j_driver).values())


def wait_settled(config: Config, worker: Worker, neo4j_driver: Any, api_url: str, timeout: float) -> bool:
    """Wait until nothing is unsent or queued and both projections equal Postgres (the full comparison only runs
    when the queues are idle; the outbox sweeper runs as the scheduler would, only sooner)."""

    def settled() -> bool:
        worker.check()
        sweep_outbox(config)
        if unsent(config) or queued(api_url):
            return False
        return converged(config, neo4j_driver)

    return wait_until(settled, timeout, interval=1.0)


def open_transactions(config: Config) -> list[str]:
    """Other sessions of the run's database inside a transaction (a worker still writing), as `state: query`."""
    with unit_of_work(config) as session:
        rows = session.execute(
            text(
                "SELECT state, left(query, 120) FROM pg_stat_activity WHERE datname = current_database() "
                "AND backend_type = 'client backend' AND pid <> pg_backend_pid() "
                "AND state IN ('active', 'idle in transaction', 'idle in transaction (aborted)')"
            )
        ).all()
    return [f"{state}: {query}" for state, query in rows]


def wait_quiet(config: Config, seconds: float, timeout: float) -> bool:
    """Wait until no other session has been inside a transaction of the run's database for `seconds` in a row:
    the worker is idle, not between two batches of work that the queues no longer show (a message acked early,
    a delivery that runs on after its message was handed out again)."""
    deadline = time.monotonic() + timeout
    quiet_since = time.monotonic()
    while time.monotonic() < deadline:
        if open_transactions(config):
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= seconds:
            return True
        time.sleep(0.2)
    return False


def delete_run_graph(driver: Any, lo: int, hi: int) -> None:
    """Remove the run's nodes (its person-id range) from the shared Neo4j."""
    with driver.session(database="neo4j") as session:
        session.run(
            "MATCH (p:Person) WHERE p.id >= $lo AND p.id < $hi "
            "CALL (p) { DETACH DELETE p } IN TRANSACTIONS OF 2000 ROWS",
            lo=lo,
            hi=hi,
        ).consume()


def cleanup_run(config: Config, neo4j_driver: Any, id_offset: int) -> None:
    """Remove what a run left in the shared stores: its Neo4j id range and its search index (even after a
    failure)."""
    delete_run_graph(neo4j_driver, id_offset, id_offset + ID_SPAN)
    delete_search_index(config)


def delete_search_index(config: Config) -> None:
    from opensearchpy import OpenSearch

    client = OpenSearch([config.search_http_url], timeout=30)
    try:
        for alias in (config.search_index, f"{config.search_index}-building"):
            if client.indices.exists_alias(name=alias):
                for index in client.indices.get_alias(name=alias):
                    client.indices.delete(index=index, ignore_unavailable=True)
    finally:
        client.close()


def drill_config(base: Config, **changes: Any) -> Config:
    return replace(base, **changes)
