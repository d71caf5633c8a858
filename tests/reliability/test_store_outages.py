"""Drill: Neo4j, then the search server, unavailable for 30 seconds during imports (docs/reliability.md, drill 3).

The shared servers keep running (other tests and developers use them): the worker reaches each one through a
fault-injecting TCP proxy (tests/support/faultproxy.py), and the outage is simulated as the client sees it:
`cut()` drops every open connection and refuses new ones; `restore()` lets connections through again.

A real worker imports file A; once its first batches are in, Neo4j is cut for 30 s. Then file B is imported and
the search server is cut for 30 s. Projection messages fail while a store is away and go back to RabbitMQ with a
backoff (Dramatiq retries); after the restore they succeed. The final state must equal an undisturbed run of the
same two imports: fingerprints equal, both projections at Postgres's versions, nothing unsent, no dead letters.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.conftest import RABBITMQ_API_URL
from tests.support import drills
from tests.support.faultproxy import FaultProxy

CONTACTS = int(os.environ.get("SIXDEG_DRILL_OUTAGE_CONTACTS", "5000"))
OUTAGE_SECONDS = float(os.environ.get("SIXDEG_DRILL_OUTAGE_SECONDS", "30"))


def _target(url: str, default_port: int) -> tuple[str, int]:
    parts = urlsplit(url.split("+", 1)[-1])
    return parts.hostname or "127.0.0.1", parts.port or default_port


def run_two_imports(
    postgres_url: str,
    amqp_url: str,
    stores: dict,
    tmp_path: Path,
    files: tuple[Path, Path],
    *,
    id_offset: int,
    outages: bool,
) -> tuple[drills.Fingerprint, dict]:
    stats: dict = {}
    graph_proxy = FaultProxy(*_target(stores["graph_url"], 7687))
    search_proxy = FaultProxy(*_target(stores["search_url"], 9200))
    with (
        graph_proxy,
        search_proxy,
        drills.fresh_database(
            postgres_url,
            tmp_path,
            id_offset=id_offset,
            broker_url=amqp_url,
            graph_url=f"bolt://127.0.0.1:{graph_proxy.port}",
            search_url=f"opensearch+http://127.0.0.1:{search_proxy.port}",
            search_index=f"drill_{uuid.uuid4().hex[:10]}",
            outbox_grace=2.0,
        ) as config,
    ):
        from actors import broker as broker_module

        broker_module.setup(config)
        log = tmp_path / f"worker-{id_offset}.log"
        worker = drills.Worker(config, log=log).start()
        began = time.monotonic()
        try:
            user_id = drills.create_user(config, "outage@example.com")
            for proxy, source, name in ((graph_proxy, files[0], "neo4j"), (search_proxy, files[1], "search")):
                import_id = drills.request_import(config, user_id, source)
                if outages:
                    assert drills.wait_until(
                        lambda i=import_id: worker.check() and drills.rows_done(config, i) >= 1000, 120
                    )
                    proxy.cut()
                    cut_at = time.monotonic()
                    stats[f"{name}_cut_at_rows"] = drills.rows_done(config, import_id)
                    while time.monotonic() - cut_at < OUTAGE_SECONDS:
                        worker.check()
                        time.sleep(0.5)
                    proxy.restore()
                    stats[f"{name}_refused"] = proxy.refused
                assert drills.wait_until(lambda i=import_id: worker.check() and drills.import_done(config, i), 300)
            assert drills.wait_settled(config, worker, stores["neo4j"], RABBITMQ_API_URL, 300), (
                f"not converged: unsent {drills.unsent(config)}, queued {drills.queued(RABBITMQ_API_URL)}, "
                f"{drills.drift_report(config, stores['neo4j'])}"
            )
            stats["converged_seconds"] = round(time.monotonic() - began, 1)
            worker.stop()
            stats["retries"] = sum(
                1
                for line in log.read_text(errors="replace").splitlines()
                if line.startswith("{") and "Retrying message" in json.loads(line).get("event", "")
            )
            fingerprint = drills.state_fingerprint(config, neo4j_driver=stores["neo4j"])
            stats["unsent"] = drills.unsent(config)
            stats["dead_letters"] = drills.dead_letters(amqp_url)
        finally:
            worker.stop()
            drills.cleanup_run(config, stores["neo4j"], id_offset)
    return fingerprint, stats


@pytest.mark.timeout(900)
def test_neo4j_then_search_down_for_30_seconds_during_imports(
    postgres_url: str, drill_queues: str, stores: dict, id_base: int, tmp_path: Path, broker_setup
) -> None:
    files = (
        drills.write_contacts_csv(tmp_path / "a.csv", CONTACTS, seed=31),
        drills.write_contacts_csv(tmp_path / "b.csv", CONTACTS, seed=32),
    )
    reference, quiet = run_two_imports(
        postgres_url, drill_queues, stores, tmp_path, files, id_offset=id_base, outages=False
    )
    drilled, disturbed = run_two_imports(
        postgres_url, drill_queues, stores, tmp_path, files, id_offset=id_base + 10**8, outages=True
    )
    print(f"undisturbed: {quiet}\nwith outages: {disturbed}")

    assert disturbed["neo4j_cut_at_rows"] < CONTACTS and disturbed["search_cut_at_rows"] < CONTACTS
    assert disturbed["neo4j_refused"] > 0 and disturbed["search_refused"] > 0, "nobody tried the stores while down"
    assert disturbed["retries"] > 0, "the projection actors should have failed and been retried"
    for stats in (quiet, disturbed):
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
    assert drilled.comparable() == reference.comparable()
