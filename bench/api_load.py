"""API load test: concurrent users on the read endpoints (search, paths, a person's page) against the production
server (gunicorn, as the README runs it) on Postgres + Neo4j + OpenSearch, side by side with `sixdeg serve`
(waitress, the embedded default's server) on the same data in the same run, and /healthz as the floor.

    make services && .venv/bin/python bench/api_load.py [--contacts 5000] [--connections 1,8,32] [--seconds 15]
        [--gunicorn-workers 4] [--gunicorn-threads 8] [--servers gunicorn,waitress] [--graph neo4j]
        [--search opensearch]

1. A fresh Postgres database `sixdeg_bench_api`: the demo network (`sixdeg demo`: five users who share their
   networks, about 750 contacts, people two to four hops away) plus `--contacts` more LinkedIn contacts imported
   into the demo account, on the embedded projections (SQL graph, SQLite search); then `sixdeg rebuild graph`
   and `sixdeg rebuild search` so Neo4j and the search index hold exactly that.
2. Request lists, built through the API as the demo user (every person they can see, paged):
   - search: GET /v1/people?q=... with a full name, a last name or the first letters of a first name;
   - path: GET /v1/paths?to=<id> for people two or more hops away (the default 6 hops, 5 paths);
   - person: GET /v1/people/<id>;
   - floor: GET /healthz (no database, no authentication: what the server and the framework cost alone).
3. Per server and per endpoint, `bench/loadgen` (Go, stdlib only; built here with `go build`) replays the list
   with the demo user's bearer token over 1, 8 and 32 keep-alive connections for `--seconds` each: successful
   requests per second, p50/p90/p99 and errors. The load generator runs on the same 2 cores as the servers,
   Postgres, Neo4j and OpenSearch.

Why these baselines: `sixdeg serve` (waitress, 8 threads in one process, plus the worker threads and scheduler)
is what a single-process install runs; gunicorn with several worker processes is what the README recommends in
production, so the ratio says what that recommendation buys on the same code and data. /healthz on the same
server is the ceiling: how far an endpoint is from the cost of the server itself.

Figures are printed and written to bench/results/api_load.json (and api_load-<time>.json).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import requests

from bench.common import ROOT, figure, fresh_database, served, sixdeg, token_session, write_results
from bench.web import write_connections
from pipelines.demo import DEMO_EMAIL, DEMO_PASSWORD

GRAPH_URLS = {"sql": "sql", "neo4j": os.environ.get("SIXDEG_BENCH_NEO4J_URL", "bolt://127.0.0.1:7687")}
SEARCH_URLS = {
    "sqlite": "sqlite",
    "opensearch": os.environ.get("SIXDEG_BENCH_OPENSEARCH_URL", "opensearch+http://127.0.0.1:9200"),
    "elasticsearch": os.environ.get("SIXDEG_BENCH_ELASTICSEARCH_URL", "elasticsearch+http://127.0.0.1:9201"),
}
ENDPOINTS = ("search", "path", "person", "floor")
LABELS = {
    "search": "GET /v1/people?q=",
    "path": "GET /v1/paths?to=",
    "person": "GET /v1/people/{id}",
    "floor": "GET /healthz",
}


def build_loadgen() -> Path:
    out = ROOT / "var" / "bench-loadgen"
    subprocess.run(["go", "build", "-o", str(out), "."], cwd=ROOT / "bench" / "loadgen", check=True)
    return out


def visible_people(client: requests.Session, base: str) -> list[dict]:
    """Everyone the demo user can see, through the search endpoint's pages (empty query)."""
    people, cursor = [], None
    while True:
        params = {"limit": 100, **({"cursor": cursor} if cursor else {})}
        page = client.get(f"{base}/v1/people", params=params)
        page.raise_for_status()
        body = page.json()
        people += body["items"]
        cursor = body["next_cursor"]
        if not cursor:
            return people


def url_lists(people: list[dict], own_id: int, count: int, seed: int) -> dict[str, list[str]]:
    """Paths relative to the server: `count` of each kind, seeded."""
    rng = random.Random(seed)
    named = [p for p in people if p["name"] and p["id"] != own_id]
    far = [p for p in named if (p["degree"] or 0) >= 2] or named

    def query(person: dict) -> str:
        words = person["name"].split()
        kind = rng.randrange(3)
        if kind == 0 or len(words) < 2:
            return person["name"]
        return words[-1] if kind == 1 else words[0][: max(3, len(words[0]) - 2)]

    return {
        "search": [f"/v1/people?{urlencode({'q': query(rng.choice(named))})}" for _ in range(count)],
        "path": [f"/v1/paths?to={rng.choice(far)['id']}" for _ in range(count)],
        "person": [f"/v1/people/{rng.choice(named)['id']}" for _ in range(count)],
        "floor": ["/healthz"],
    }


def replay(loadgen: Path, base: str, paths: list[str], token: str, connections: int, seconds: float) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as handle:
        handle.write("".join(f"{base}{path}\n" for path in paths))
    try:
        done = subprocess.run(
            [str(loadgen), "-urls", handle.name, "-token", token, "-c", str(connections), "-d", f"{seconds}s"],
            capture_output=True,
            text=True,
            check=True,
        )
    finally:
        os.unlink(handle.name)
    return json.loads(done.stdout)


def measure(server: str, base: str, loadgen: Path, urls: dict[str, list[str]], args: argparse.Namespace) -> list:
    client = token_session(base, DEMO_EMAIL, DEMO_PASSWORD)
    token = client.headers["Authorization"].removeprefix("Bearer ")
    runs = []
    for endpoint in ENDPOINTS:
        for path in urls[endpoint][:20]:  # warm up: connections, caches, the JIT of the JVMs
            client.get(f"{base}{path}")
        for connections in args.connections:
            result = replay(loadgen, base, urls[endpoint], token, connections, args.seconds)
            runs.append({"server": server, "endpoint": endpoint, **result})
            print(
                f"{server:9} {LABELS[endpoint]:22} {connections:3} connections: {result['requests_per_second']:7.1f}"
                f" requests/s | p50 {result['p50_ms']:7.1f} ms p99 {result['p99_ms']:7.1f} ms | errors"
                f" {result['errors']}",
                flush=True,
            )
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=5000, help="LinkedIn contacts imported beside the demo.")
    parser.add_argument("--connections", default="1,8,32", help="Concurrent connections, comma-separated.")
    parser.add_argument("--seconds", type=float, default=15, help="Seconds of load per endpoint and level.")
    parser.add_argument("--urls", type=int, default=1000, help="Distinct requests per endpoint.")
    parser.add_argument("--gunicorn-workers", type=int, default=4)
    parser.add_argument(
        "--gunicorn-threads", type=int, default=8, help="threads per gunicorn worker (gthread, as production); 0: sync"
    )
    parser.add_argument("--servers", default="gunicorn,waitress")
    parser.add_argument("--graph", choices=sorted(GRAPH_URLS), default="neo4j")
    parser.add_argument("--search", choices=sorted(SEARCH_URLS), default="opensearch")
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    args.connections = [int(c) for c in args.connections.split(",")]
    loadgen = build_loadgen()

    database = fresh_database("sixdeg_bench_api")
    work = Path(tempfile.mkdtemp(prefix="sixdeg-bench-api-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIXDEG_")}
    env.update(
        {
            "SIXDEG_DATABASE_URL": database,
            "SIXDEG_GRAPH_URL": GRAPH_URLS[args.graph],
            "SIXDEG_SEARCH_URL": SEARCH_URLS[args.search],
            "SIXDEG_SEARCH_INDEX": "benchapi",
            "SIXDEG_DATA_DIR": str(work / "var"),
            "SIXDEG_SECRET_KEY": "bench-" + uuid.uuid4().hex,
            "SIXDEG_RATELIMIT_DEFAULT": "100000000/minute",
            "SIXDEG_RATELIMIT_AUTH": "100000000/minute",
        }
    )
    started = time.perf_counter()
    # Seeded on the embedded projections, then both projections are rebuilt from Postgres: Neo4j and the search
    # cluster may hold another benchmark's data under the same person ids, which projecting into would touch.
    embedded = {**env, "SIXDEG_GRAPH_URL": "sql", "SIXDEG_SEARCH_URL": "sqlite"}
    sixdeg(embedded, "migrate")
    sixdeg(embedded, "demo")
    connections_csv = work / "Connections.csv"
    write_connections(connections_csv, args.contacts)
    sixdeg(embedded, "import", str(connections_csv), "--user", DEMO_EMAIL, "--json")
    sixdeg(env, "rebuild", "graph")
    sixdeg(env, "rebuild", "search")
    print(f"demo network + {args.contacts} contacts loaded in {time.perf_counter() - started:.0f} s", flush=True)

    with served(env, gunicorn_workers=args.gunicorn_workers, gunicorn_threads=args.gunicorn_threads) as base:
        client = token_session(base, DEMO_EMAIL, DEMO_PASSWORD)
        people = visible_people(client, base)
        own_id = client.get(f"{base}/v1/me").json()["person_id"]
    degrees: dict[str, int] = {}
    for person in people:
        key = str(person["degree"])
        degrees[key] = degrees.get(key, 0) + 1
    print(f"the demo user sees {len(people)} people (by degree: {degrees})", flush=True)
    if degrees.get("1", 0) < args.contacts // 2:
        raise SystemExit(
            f"only {degrees.get('1', 0)} people one hop away, fewer than half the {args.contacts} imported contacts: "
            f"the graph does not hold this data (did another process empty {args.graph}?)"
        )
    urls = url_lists(people, own_id, args.urls, args.seed)

    runs: list[dict] = []
    for server in args.servers.split(","):
        if server == "gunicorn":
            with served(env, gunicorn_workers=args.gunicorn_workers, gunicorn_threads=args.gunicorn_threads) as base:
                runs += measure(f"gunicorn-{args.gunicorn_workers}", base, loadgen, urls, args)
        else:
            with served(env) as base:
                runs += measure("waitress", base, loadgen, urls, args)

    def run_of(server_prefix: str, endpoint: str, connections: int) -> dict | None:
        return next(
            (
                r
                for r in runs
                if r["server"].startswith(server_prefix)
                and r["endpoint"] == endpoint
                and r["connections"] == connections
            ),
            None,
        )

    low, high = min(args.connections), max(args.connections)
    ours_name = "gunicorn" if "gunicorn" in args.servers else "waitress"
    figures = []
    for endpoint in ENDPOINTS:
        for connections, stat, unit, better in (
            (high, "requests_per_second", "requests/s", "higher"),
            (high, "p99_ms", "ms", "lower"),
            (low, "p50_ms", "ms", "lower"),
        ):
            if endpoint == "floor" and stat != "requests_per_second":
                continue
            ours = run_of(ours_name, endpoint, connections)
            base_run = run_of("waitress", endpoint, connections) if ours_name != "waitress" else None
            if ours is None:
                continue
            what = {"requests_per_second": "requests/s", "p99_ms": "p99", "p50_ms": "p50"}[stat]
            figures.append(
                figure(
                    f"API {what}, {LABELS[endpoint]} ({ours['server']}, {connections} connection"
                    f"{'' if connections == 1 else 's'})",
                    round(ours[stat], 1),
                    unit,
                    better=better,
                    baseline=round(base_run[stat], 1) if base_run else None,
                    baseline_name="sixdeg serve (waitress)" if base_run else "",
                )
            )
    errors = sum(r["errors"] for r in runs)
    figures.append(figure("API errors under load (every run)", errors, "requests", better="lower", goal=0))
    out = write_results(
        "api_load",
        {
            "dataset": {"demo": True, "contacts_imported": args.contacts, "visible_people": len(people)},
            "degrees": degrees,
            "graph": args.graph,
            "search": args.search,
            "runs": runs,
        },
        figures=figures,
        options={**vars(args), "connections": ",".join(map(str, args.connections))},
    )
    print(f"written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
