"""Webhook ingest benchmark: signed events against the production server (gunicorn, as the README runs it) on
Postgres + RabbitMQ, a real worker process applying them, and a load generator on loopback.

    make services && .venv/bin/python bench/webhooks.py [--events 20000] [--concurrency 32]
        [--gunicorn-workers 4] [--gunicorn-threads 8] [--no-worker] [--rate 500 [--rate-seconds 20]]

1. A fresh Postgres database `sixdeg_bench_webhooks`, a user and a webhook source.
2. `gunicorn 'api:create_app()'` (4 gthread workers of 8 threads, as production runs it) and
   `dramatiq actors --queues webhooks projections`; search on
   OpenSearch (alias `benchwebhooks`).
3. `bench/loadgen` (Go, stdlib only; built here with `go build`) sends `--events` signed contact.upserted
   events over `--concurrency` keep-alive connections as fast as the server answers: accepted requests per
   second and p50/p99 of the 202.
4. Loss: every accepted event must be stored and, once the worker drains the queue, processed; the drain time is
   measured from the last answer until every event is processed and the last contact is searchable.
5. End-to-end delay at rest: single events sent one at a time, the time until the contact is found by the search
   index (p50 and max of 20).
   With `--rate R`: then, from rest, events at the fixed rate R for `--rate-seconds` (open loop: each request's
   latency counts from when it was due, so waiting behind slow answers counts too): p50/p99 of the 202 at a
   rate the server is offered rather than at saturation, and again none lost.
6. Baseline, same run: the same load against `sixdeg serve` (waitress, the embedded default's server).

Figures are printed and written to bench/results/webhooks.json (and webhooks-<time>.json). The worker's log is
discarded unless SIXDEG_BENCH_WORKER_LOG names a file for it.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    BIN,
    PASSWORD,
    ROOT,
    cpu_seconds_by_group,
    figure,
    fresh_database,
    percentile,
    served,
    sixdeg,
    write_results,
)

sys.path.insert(0, str(ROOT))

import requests
from sqlalchemy import create_engine, text
from standardwebhooks.webhooks import Webhook

AMQP_URL = os.environ.get("SIXDEG_BENCH_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
SEARCH_URL = os.environ.get("SIXDEG_BENCH_OPENSEARCH_URL", "opensearch+http://127.0.0.1:9200")
EMAIL = "webhooks@example.com"


def build_loadgen() -> Path:
    out = ROOT / "var" / "bench-loadgen"
    subprocess.run(["go", "build", "-o", str(out), "."], cwd=ROOT / "bench" / "loadgen", check=True)
    return out


def load(loadgen: Path, url: str, secret: str, events: int, concurrency: int, prefix: str, rate: float = 0) -> dict:
    done = subprocess.run(
        [
            *(str(loadgen), "-url", url, "-secret", secret, "-n", str(events), "-c", str(concurrency)),
            *("-prefix", prefix, "-rate", str(rate)),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)


def counts(database: str) -> tuple[int, int]:
    engine = create_engine(database)
    with engine.connect() as connection:
        stored, processed = connection.execute(text("SELECT count(*), count(processed_at) FROM webhook_events")).one()
    engine.dispose()
    return stored, processed


def searchable(client: requests.Session, base: str, name: str) -> bool:
    items = client.get(f"{base}/v1/people", params={"q": name, "limit": 1}).json()["items"]
    return bool(items) and items[0]["name"] == name


def single_event_delays(client: requests.Session, base: str, url: str, secret: str, samples: int) -> list[float]:
    signer, delays = Webhook(secret), []
    for number in range(samples):
        name = f"Probe{number} Delay{uuid.uuid4().hex[:6]}"
        given, family = name.split()
        body = json.dumps(
            {"type": "contact.upserted", "data": {"id": f"probe-{name}", "given_name": given, "family_name": family}}
        )
        msg_id, now = f"msg_{uuid.uuid4().hex}", datetime.now(tz=UTC)
        headers = {
            "webhook-id": msg_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": signer.sign(msg_id, now, body),
            "Content-Type": "application/json",
        }
        started = time.perf_counter()
        requests.post(url, data=body, headers=headers).raise_for_status()
        while not searchable(client, base, name):
            if time.perf_counter() - started > 30:
                raise SystemExit(f"{name} not searchable after 30 s")
            time.sleep(0.01)
        delays.append((time.perf_counter() - started) * 1000)
    return delays


#: Where the CPU of an accepted webhook goes, by process group (the load generator is not counted).
CPU_GROUPS = {
    "api": lambda comm, cmd: "gunicorn" in cmd or "sixdeg serve" in cmd,
    "worker": lambda comm, cmd: "dramatiq" in cmd,
    "postgres": lambda comm, cmd: comm == "postgres",
    "rabbitmq": lambda comm, cmd: comm == "beam.smp",
    "opensearch": lambda comm, cmd: comm == "java" and "opensearch" in cmd.lower(),
}


def run(server: str, env: dict, database: str, loadgen: Path, args: argparse.Namespace, prefix: str) -> dict:
    gunicorn = {"gunicorn_workers": args.gunicorn_workers, "gunicorn_threads": args.gunicorn_threads}
    if args.no_worker:  # the API alone: what accepting costs, with nothing applying the events meanwhile
        with served(env, **gunicorn) if server == "gunicorn" else served(env) as base:
            return measure(base, env, database, loadgen, args, prefix)
    worker = subprocess.Popen(
        [str(BIN / "dramatiq"), "actors", "--processes", "1", "--threads", "4", "--queues", "webhooks", "projections"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=open(os.environ.get("SIXDEG_BENCH_WORKER_LOG", os.devnull), "w"),  # noqa: SIM115
        start_new_session=True,
    )
    try:
        if server == "gunicorn":
            with served(env, **gunicorn) as base:
                return measure(base, env, database, loadgen, args, prefix)
        with served({**env, "SIXDEG_WORKER_THREADS": "1"}) as base:
            return measure(base, env, database, loadgen, args, prefix)
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(60)


def measure(base: str, env: dict, database: str, loadgen: Path, args: argparse.Namespace, prefix: str) -> dict:
    from common import token_session

    client = token_session(base, EMAIL)
    created = client.post(f"{base}/v1/sources", json={"kind": "webhook", "name": prefix}).json()
    url, secret = created["source"]["webhook_url"], created["secret"]
    stored_before, _ = counts(database)
    cpu_before = cpu_seconds_by_group(CPU_GROUPS)
    result = load(loadgen, url, secret, args.events, args.concurrency, prefix)
    finished = time.perf_counter()
    cpu_after = cpu_seconds_by_group(CPU_GROUPS)
    result["cpu_ms_per_accepted"] = {
        group: round((cpu_after[group] - cpu_before[group]) * 1000 / max(1, result["accepted"]), 2)
        for group in CPU_GROUPS
    }
    if args.no_worker:
        stored, _ = counts(database)
        measured = {**result, "stored": stored - stored_before, "lost": result["accepted"] - (stored - stored_before)}
        if args.rate:  # open loop, from rest: the answers' latency at a fixed offered rate
            offered = at_rate(loadgen, url, secret, args, prefix)
            stored_after, _ = counts(database)
            measured["at_rate"] = {**offered, "lost": offered["accepted"] - (stored_after - stored)}
        return measured
    stored = drained(client, base, database, f"Load{args.events - 1} {prefix}")
    drain = time.perf_counter() - finished
    delays = single_event_delays(client, base, url, secret, args.samples)
    measured = {
        **result,
        "stored": stored - stored_before,
        "lost": result["accepted"] - (stored - stored_before),
        "drain_seconds_after_last_answer": round(drain, 1),
        "searchable_delay_p50_ms": round(percentile(delays, 0.5), 1),
        "searchable_delay_max_ms": round(max(delays), 1),
    }
    if args.rate:  # open loop, from rest: the answers' latency at a fixed offered rate
        stored_before = stored + args.samples
        offered = at_rate(loadgen, url, secret, args, prefix)
        stored = drained(client, base, database, f"Load{offered['sent'] - 1} {prefix}r")
        measured["at_rate"] = {**offered, "lost": offered["accepted"] - (stored - stored_before)}
    return measured


def at_rate(loadgen: Path, url: str, secret: str, args: argparse.Namespace, prefix: str) -> dict:
    """`--rate` requests/s for `--rate-seconds`, open loop, over `--rate-connections` connections."""
    events = round(args.rate * args.rate_seconds)
    return load(loadgen, url, secret, events, args.rate_connections, prefix + "r", rate=args.rate)


def drained(client: requests.Session, base: str, database: str, last: str) -> int:
    """Wait until every stored event is processed and the contact named `last` is searchable; the events stored."""
    started = time.perf_counter()
    while True:
        stored, processed = counts(database)
        if processed == stored and searchable(client, base, last):
            return stored
        if time.perf_counter() - started > 900:
            raise SystemExit(f"not drained after 15 minutes: {processed}/{stored} processed")
        time.sleep(0.5)


def print_at_rate(server: str, result: dict, args: argparse.Namespace) -> None:
    if "at_rate" in result:
        fixed = result["at_rate"]
        print(
            f"{server:9} at {args.rate:g} requests/s offered (open loop, {args.rate_connections} connections): "
            f"{fixed['accepted']}/{fixed['sent']} accepted, {fixed['accepted_per_second']:7.0f} req/s | 202 "
            f"p50 {fixed['p50_ms']:6.1f} ms p99 {fixed['p99_ms']:6.1f} ms | lost {fixed['lost']}",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--gunicorn-workers", type=int, default=4)
    parser.add_argument(
        "--gunicorn-threads", type=int, default=8, help="threads per gunicorn worker (gthread, as production); 0: sync"
    )
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument(
        "--rate", type=float, default=0, help="then, from rest, send at this fixed rate (open loop): p50/p99 there"
    )
    parser.add_argument("--rate-seconds", type=float, default=20, help="how long to send at --rate")
    parser.add_argument("--rate-connections", type=int, default=64, help="connections available at --rate")
    parser.add_argument("--servers", default="gunicorn,waitress")
    parser.add_argument(
        "--no-worker", action="store_true", help="no worker process: accepting only (no drain, no search delay)"
    )
    args = parser.parse_args()
    loadgen = build_loadgen()
    database = fresh_database("sixdeg_bench_webhooks")
    env = {
        **os.environ,
        "SIXDEG_DATABASE_URL": database,
        "SIXDEG_BROKER_URL": AMQP_URL,
        "SIXDEG_SEARCH_URL": SEARCH_URL,
        "SIXDEG_SEARCH_INDEX": "benchwebhooks",
        "SIXDEG_SECRET_KEY": "bench-" + uuid.uuid4().hex,
        "SIXDEG_DATA_DIR": str(ROOT / "var" / "bench-webhooks"),
        "SIXDEG_RATELIMIT_DEFAULT": "1000000/minute",
        "SIXDEG_RATELIMIT_AUTH": "1000000/minute",
    }
    sixdeg(env, "migrate")
    sixdeg(env, "user", "create", EMAIL, stdin=PASSWORD + "\n")
    results = []
    for server in args.servers.split(","):
        result = {"server": server, **run(server, env, database, loadgen, args, f"{server}{int(time.time())}")}
        results.append(result)
        cpu = ", ".join(f"{group} {ms} ms" for group, ms in result["cpu_ms_per_accepted"].items())
        print(f"{server:9} CPU per accepted webhook while sending: {cpu}", flush=True)
        if args.no_worker:
            print(
                f"{server:9} {result['accepted']}/{result['sent']} accepted, {result['accepted_per_second']:7.0f} "
                f"req/s | 202 p50 {result['p50_ms']:6.1f} ms p99 {result['p99_ms']:6.1f} ms | lost {result['lost']}"
            )
            print_at_rate(server, result, args)
            continue
        print(
            f"{server:9} {result['accepted']}/{result['sent']} accepted, {result['accepted_per_second']:7.0f} req/s | "
            f"202 p50 {result['p50_ms']:6.1f} ms p99 {result['p99_ms']:6.1f} ms | lost {result['lost']} | drained "
            f"{result['drain_seconds_after_last_answer']} s after the last answer | searchable after "
            f"{result['searchable_delay_p50_ms']} ms (p50 of {args.samples}, at rest)",
            flush=True,
        )
        print_at_rate(server, result, args)
    by_server = {result["server"]: result for result in results}
    ours, waitress = by_server.get("gunicorn", results[0]), by_server.get("waitress")
    versus = {"baseline_name": "sixdeg serve (waitress)"} if waitress and ours is not waitress else {}
    where = f"{ours['server']}, {args.concurrency} connections{', no worker' if args.no_worker else ''}"
    figures = [
        figure(
            f"Webhooks accepted per second ({where})",
            round(ours["accepted_per_second"], 1),
            "requests/s",
            better="higher",
            goal=1000,
            baseline=round(waitress["accepted_per_second"], 1) if versus else None,
            **versus,
        ),
        figure(
            f"Webhook answer p99 ({where})",
            round(ours["p99_ms"], 1),
            "ms",
            better="lower",
            goal=50,
            baseline=round(waitress["p99_ms"], 1) if versus else None,
            **versus,
        ),
        figure(f"Webhook events lost ({ours['server']})", ours["lost"], "events", better="lower", goal=0),
    ]
    if args.rate:
        fixed = ours["at_rate"]
        alongside = "accepting alone" if args.no_worker else "with the worker"
        where_rate = f"{ours['server']}, {args.rate:g} requests/s offered, {alongside}"
        figures += [
            figure(
                f"Webhook answer p99 at a fixed rate ({where_rate})",
                round(fixed["p99_ms"], 1),
                "ms",
                better="lower",
                **({"goal": 50} if args.rate >= 1000 else {}),
            ),
            figure(
                f"Webhook events lost at a fixed rate ({ours['server']})",
                fixed["lost"],
                "events",
                better="lower",
                goal=0,
            ),
        ]
    if not args.no_worker:
        figures.append(
            figure(
                f"Webhook event searchable after, at rest ({ours['server']}, p50)",
                ours["searchable_delay_p50_ms"],
                "ms",
                better="lower",
            )
        )
    out = write_results(
        "webhooks-accept-only" if args.no_worker else "webhooks",
        {"events": args.events, "concurrency": args.concurrency, "results": results},
        figures=figures,
        options=vars(args),
    )
    print(f"written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
