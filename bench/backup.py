"""Backup benchmark: back up and restore a database of 1,000,000 contacts, and what a running backup does to the
API's latency (idle and during the backup, side by side in one run).

    make services && .venv/bin/python bench/backup.py [--contacts 1000000] [--requests 2000]

1. A fresh Postgres database `sixdeg_bench_backup`, one user whose contacts are the people (written with COPY:
   people, email identities, contacts and the user's edges to them).
2. The API (`gunicorn 'api:create_app()'`, 4 workers): p50/p99 of GET /v1/contacts?limit=50 and GET /v1/people/{id}
   while idle, then again while `sixdeg backup` runs; the ratio of the p99s (goal: at most 2).
3. `sixdeg backup`: time and size. Restore with `sixdeg restore latest` into a fresh empty database, with Neo4j
   and OpenSearch configured, so the time includes rebuilding both projections (goal: at most 10 minutes).

Figures are printed and written to bench/results/backup.json (and backup-<time>.json).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import PASSWORD, ROOT, figure, fresh_database, percentile, served, sixdeg, token_session, write_results

sys.path.insert(0, str(ROOT))

import requests
from sqlalchemy import create_engine, text

EMAIL = "backup@example.com"
NEO4J_URL = os.environ.get("SIXDEG_BENCH_NEO4J_URL", "bolt://127.0.0.1:7687")
SEARCH_URL = os.environ.get("SIXDEG_BENCH_OPENSEARCH_URL", "opensearch+http://127.0.0.1:9200")


def load(database: str, count: int) -> list[int]:
    """`count` people known by the bench user (contacts, identities, edges); returns their ids."""
    engine = create_engine(database)
    with engine.begin() as connection:
        user_id, own = connection.execute(text("SELECT id, person_id FROM users WHERE email = :e"), {"e": EMAIL}).one()
        source_id = connection.execute(
            text(
                "INSERT INTO sources (user_id, kind, name, created_at) VALUES (:u, 'csv', 'bench', now()) RETURNING id"
            ),
            {"u": user_id},
        ).scalar_one()
        first = connection.execute(text("SELECT coalesce(max(id), 0) + 1 FROM people")).scalar_one()
        cursor = connection.connection.driver_connection.cursor()
        with cursor.copy("COPY people (id, display_name, company, version, created_at, updated_at) FROM STDIN") as copy:
            for n in range(count):
                copy.write_row((first + n, f"Person {n} Backup", f"Company {n % 5000}", 1, "now", "now"))
        with cursor.copy("COPY identities (person_id, kind, value, created_at) FROM STDIN") as copy:
            for n in range(count):
                copy.write_row((first + n, "email", f"p{n}@backup.example", "now"))
        with cursor.copy(
            "COPY contacts (source_id, user_id, person_id, external_key, fields, content_hash, created_at, updated_at) "
            "FROM STDIN"
        ) as copy:
            for n in range(count):
                fields = json.dumps({"display_name": f"Person {n} Backup", "emails": [f"p{n}@backup.example"]})
                copy.write_row((source_id, user_id, first + n, f"row-{n}", fields, f"{n:064x}", "now", "now"))
        with cursor.copy(
            "COPY connections (from_person_id, to_person_id, owner_user_id, strength, evidence, first_seen, last_seen, "
            "version) FROM STDIN"
        ) as copy:
            for n in range(count):
                copy.write_row((own, first + n, user_id, 0.3, json.dumps({"sources": [source_id]}), "now", "now", 1))
        connection.execute(text("SELECT setval(pg_get_serial_sequence('people', 'id'), (SELECT max(id) FROM people))"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))
    engine.dispose()
    return list(range(first, first + count))


def latencies(client: requests.Session, base: str, people: list[int], count: int, seed: int) -> list[float]:
    rng = random.Random(seed)
    measured = []
    for n in range(count):
        url = f"{base}/v1/contacts?limit=50" if n % 2 else f"{base}/v1/people/{rng.choice(people)}"
        # /v1/people/{id} reads the person, who may see them, their degree (one bounded path search) and contacts
        started = time.perf_counter()
        client.get(url).raise_for_status()
        measured.append((time.perf_counter() - started) * 1000)
    return measured


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--no-restore", action="store_true", help="Measure only the backup and its effect on the API.")
    args = parser.parse_args()
    database = fresh_database("sixdeg_bench_backup")
    work = ROOT / "var" / "bench-backup"
    env = {
        **os.environ,
        "SIXDEG_DATABASE_URL": database,
        "SIXDEG_DATA_DIR": str(work),
        "SIXDEG_BACKUP_DIR": str(work / "backups"),
        "SIXDEG_RATELIMIT_DEFAULT": "1000000/minute",
        "SIXDEG_RATELIMIT_AUTH": "1000000/minute",
        "SIXDEG_SECRET_KEY": "bench-backup-key",
    }
    for old in (work / "backups").glob("sixdeg-*"):
        old.unlink()
    sixdeg(env, "migrate")
    sixdeg(env, "user", "create", EMAIL, stdin=PASSWORD + "\n")
    started = time.perf_counter()
    people = load(database, args.contacts)
    print(f"wrote {args.contacts} contacts in {time.perf_counter() - started:.0f} s", flush=True)

    with served(env, gunicorn_workers=4) as base:
        client = token_session(base, EMAIL)
        latencies(client, base, people, 100, 0)  # warm up
        idle = latencies(client, base, people, args.requests, 1)
        result: dict = {}

        def run_backup() -> None:
            began = time.perf_counter()
            made = json.loads(sixdeg(env, "backup", "--json").strip().splitlines()[-1])
            result.update(seconds=time.perf_counter() - began, manifest=made)

        thread = threading.Thread(target=run_backup)
        thread.start()
        during: list[float] = []
        while thread.is_alive():
            during += latencies(client, base, people, 50, len(during))
        thread.join()
    print(
        f"backup: {result['seconds']:.1f} s, {result['manifest']['bytes'] / 2**20:.0f} MiB | API p50/p99 idle "
        f"{percentile(idle, 0.5):.1f}/{percentile(idle, 0.99):.1f} ms, during the backup "
        f"{percentile(during, 0.5):.1f}/{percentile(during, 0.99):.1f} ms ({len(during)} requests): p99 ratio "
        f"{percentile(during, 0.99) / percentile(idle, 0.99):.2f}",
        flush=True,
    )

    if args.no_restore:
        return
    target = fresh_database("sixdeg_bench_backup_restore")
    restore_env = {
        **env,
        "SIXDEG_DATABASE_URL": target,
        "SIXDEG_GRAPH_URL": NEO4J_URL,
        "SIXDEG_SEARCH_URL": SEARCH_URL,
        "SIXDEG_SEARCH_INDEX": "benchrestore",
    }
    began = time.perf_counter()
    output = sixdeg(restore_env, "restore", "latest")
    restore_seconds = time.perf_counter() - began
    print(f"restore + rebuild of Neo4j and OpenSearch: {restore_seconds:.0f} s\n{output.strip()}", flush=True)
    out = write_results(
        "backup",
        {
            "contacts": args.contacts,
            "backup_seconds": round(result["seconds"], 1),
            "backup_bytes": result["manifest"]["bytes"],
            "api_idle_p50_ms": round(percentile(idle, 0.5), 1),
            "api_idle_p99_ms": round(percentile(idle, 0.99), 1),
            "api_during_backup_p50_ms": round(percentile(during, 0.5), 1),
            "api_during_backup_p99_ms": round(percentile(during, 0.99), 1),
            "requests_during_backup": len(during),
            "restore_and_rebuild_seconds": round(restore_seconds, 1),
            "restore_output": output.strip().splitlines(),
        },
        figures=[
            figure(
                f"API p99 while a backup runs ({args.contacts:,} contacts)",
                round(percentile(during, 0.99), 1),
                "ms",
                better="lower",
                goal=round(2 * percentile(idle, 0.99), 1),
                goal_note="2x the idle p99",
                baseline=round(percentile(idle, 0.99), 1),
                baseline_name="the same requests, idle",
            ),
            figure("Backup time", round(result["seconds"], 1), "s", better="lower"),
            figure(
                "Restore plus rebuilding Neo4j and OpenSearch",
                round(restore_seconds, 1),
                "s",
                better="lower",
                goal=600 if args.contacts >= 1_000_000 else None,
                goal_note="10 minutes for 1,000,000 contacts",
            ),
        ],
        options=vars(args),
    )
    print(f"written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
