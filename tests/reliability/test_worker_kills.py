"""Drill: a worker is SIGKILLed five times during a 50,000-contact import (docs/reliability.md, drill 1).

A real `dramatiq actors` process consumes the imports, projections and maintenance queues on RabbitMQ (the
`drills` vhost), with Postgres, Neo4j and OpenSearch configured. It is killed (SIGKILL to its process group: no
shutdown, no cleanup, open transactions and unacked messages abandoned) five times during the import and
restarted after each kill. The final state must equal that of an undisturbed run of the same file into a fresh
database: Postgres, Neo4j and search fingerprints equal, both projections at Postgres's versions, nothing unsent
in the outbox, no dead letters.
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

import pytest

from tests.conftest import RABBITMQ_API_URL
from tests.support import drills

CONTACTS = int(os.environ.get("SIXDEG_DRILL_CONTACTS", "50000"))
KILLS = 5
SEED = 20261127


def run_import(
    postgres_url: str, amqp_url: str, stores: dict, tmp_path: Path, source: Path, *, id_offset: int, kills: int
) -> tuple[drills.Fingerprint, dict]:
    """Import `source` into a fresh database with a real worker, SIGKILLing it `kills` times on the way; wait
    until the projections converge and return the fingerprint and what happened."""
    stats: dict = {"kills_at_rows": []}
    index = f"drill_{uuid.uuid4().hex[:10]}"
    with drills.fresh_database(
        postgres_url,
        tmp_path,
        id_offset=id_offset,
        broker_url=amqp_url,
        graph_url=stores["graph_url"],
        search_url=stores["search_url"],
        search_index=index,
        outbox_grace=2.0,
    ) as config:
        from actors import broker as broker_module

        broker_module.setup(config)  # this process's publisher: the outbox rows go to the drills vhost
        worker = drills.Worker(config, log=tmp_path / f"worker-{id_offset}.log").start()
        began = time.monotonic()
        try:
            user_id = drills.create_user(config, "drill@example.com")
            import_id = drills.request_import(config, user_id, source)
            for k in range(kills):
                threshold = CONTACTS * (k + 1) // (kills + 2)
                assert drills.wait_until(
                    lambda t=threshold: worker.check() and drills.rows_done(config, import_id) >= t, 240
                ), f"the import did not reach row {threshold}: {drills.import_row(config, import_id).status}"
                worker.kill()
                stats["kills_at_rows"].append(drills.rows_done(config, import_id))
                worker.start()
            assert drills.wait_until(
                lambda: worker.check() and drills.import_done(config, import_id), 300, interval=0.5
            ), f"import not done: {drills.import_row(config, import_id).status}"
            stats["import_seconds"] = round(time.monotonic() - began, 1)

            assert drills.wait_settled(config, worker, stores["neo4j"], RABBITMQ_API_URL, 300), (
                f"not converged: unsent {drills.unsent(config)}, queued {drills.queued(RABBITMQ_API_URL)}, "
                f"{drills.drift_report(config, stores['neo4j'])}"
            )
            stats["converged_seconds"] = round(time.monotonic() - began, 1)
            worker.stop()
            job = drills.import_row(config, import_id)
            stats["job"] = (job.rows_done, job.contacts, job.errors, job.people_created)
            fingerprint = drills.state_fingerprint(config, neo4j_driver=stores["neo4j"])
            stats["unsent"] = drills.unsent(config)
            stats["dead_letters"] = drills.dead_letters(amqp_url)
        finally:
            worker.stop()
            drills.cleanup_run(config, stores["neo4j"], id_offset)
    return fingerprint, stats


@pytest.mark.timeout(900)
def test_five_sigkills_during_an_import_change_nothing(
    postgres_url: str, drill_queues: str, stores: dict, id_base: int, tmp_path: Path, broker_setup
) -> None:
    source = drills.write_contacts_csv(tmp_path / "contacts.csv", CONTACTS, seed=SEED)

    reference, quiet = run_import(postgres_url, drill_queues, stores, tmp_path, source, id_offset=id_base, kills=0)
    drilled, killed = run_import(
        postgres_url, drill_queues, stores, tmp_path, source, id_offset=id_base + 10**8, kills=KILLS
    )
    print(f"undisturbed: {quiet}\nkilled {KILLS} times: {killed}")

    assert len(killed["kills_at_rows"]) == KILLS
    assert killed["kills_at_rows"][-1] < CONTACTS, "the import finished before the last kill: make it bigger"
    assert quiet["job"] == killed["job"] == (CONTACTS, CONTACTS, 0, CONTACTS)
    for stats in (quiet, killed):
        assert stats["unsent"] == 0
        assert stats["dead_letters"] == {}
    assert (
        reference.drift
        == drilled.drift
        == {
            "graph": {"stale": 0, "extra": 0},
            "search": {"stale": 0, "extra": 0},
        }
    )
    assert reference.postgres["people"]["count"] == CONTACTS + 1  # the user's own person too
    assert drilled.comparable() == reference.comparable()
