"""Search benchmark: 100,000 people with real and realistic names, searched through the HTTP API on every
engine, side by side with the naive baseline (Postgres `ILIKE '%words%'`, what contact managers without a
search engine do).

    make services && .venv/bin/python bench/search.py [--people 100000] [--queries 1000]
        [--engines sqlite,opensearch,elasticsearch]

1. A fresh Postgres database; one user whose contacts are all the people: the 37,700 real GitHub user names of
   SNAP musae-github plus seeded Faker names (en_US, de_DE, es_ES, fr_FR, pl_PL, for accents) with companies,
   titles and cities. Rows are written with COPY (the import pipeline has its own benchmark).
2. Per engine: `rebuild` of the search index from Postgres (timed: that is indexing 100,000 people), then
   `sixdeg serve` on that engine and, over HTTP:
   - typo queries: a person whose full name is unique, with one edit (substitution, deletion, insertion or
     transposition) in one word of 4+ letters, sent as GET /v1/people?q=...&limit=10; a hit when the person
     is in the top 3;
   - prefix queries: the first 3 letters of a name that no other name starts with, sent as
     GET /v1/people/suggest?q=...&limit=5; a hit when the person is in the top 5;
   p50/p99 latency of each kind.
3. Baseline: the same typo queries as `lower(display_name) LIKE '%<query>%'` on Postgres (a hit when the person is
   in the first 3 rows by name), and its latency measured in-process (no HTTP: a lower bound).

Figures are printed and written to bench/results/search.json (and search-<time>.json).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    DATA,
    PASSWORD,
    ROOT,
    figure,
    fresh_database,
    percentile,
    served,
    sixdeg,
    token_session,
    write_results,
)

sys.path.insert(0, str(ROOT))

import requests
from faker import Faker
from sqlalchemy import create_engine, text

ENGINE_URLS = {
    "sqlite": "sqlite",
    "opensearch": os.environ.get("SIXDEG_BENCH_OPENSEARCH_URL", "opensearch+http://127.0.0.1:9200"),
    "elasticsearch": os.environ.get("SIXDEG_BENCH_ELASTICSEARCH_URL", "elasticsearch+http://127.0.0.1:9201"),
}
EMAIL = "bench@example.com"
LOCALES = ["en_US", "de_DE", "es_ES", "fr_FR", "pl_PL"]


def names(count: int, seed: int) -> list[dict]:
    """Real GitHub names first, then Faker people, each with a company, title and city."""
    fake = Faker(LOCALES)
    Faker.seed(seed)
    with open(DATA / "snap-musae-github" / "musae_git_target.csv", newline="", encoding="utf-8") as handle:
        real = [row["name"].strip() for row in csv.DictReader(handle) if row["name"].strip()]
    people = []
    for index in range(count):
        name = real[index] if index < len(real) else f"{fake.first_name()} {fake.last_name()}"
        people.append({"name": name, "company": fake.company(), "title": fake.job()[:300], "location": fake.city()})
    return people


def load(database: str, people: list[dict]) -> int:
    """The bench user's source, people, identities and contacts, written with COPY; returns the user's id."""
    engine = create_engine(database)
    with engine.begin() as connection:
        user_id, _person = connection.execute(
            text("SELECT id, person_id FROM users WHERE email = :e"), {"e": EMAIL}
        ).one()
        source_id = connection.execute(
            text(
                "INSERT INTO sources (user_id, kind, name, created_at) VALUES (:u, 'csv', 'bench', now()) RETURNING id"
            ),
            {"u": user_id},
        ).scalar_one()
        first = connection.execute(text("SELECT coalesce(max(id), 0) + 1 FROM people")).scalar_one()
        raw = connection.connection.driver_connection
        with raw.cursor() as cursor:
            with cursor.copy(
                "COPY people (id, display_name, company, title, location, version, created_at, updated_at) FROM STDIN"
            ) as copy:
                for offset, person in enumerate(people):
                    copy.write_row(
                        (
                            first + offset,
                            person["name"],
                            person["company"],
                            person["title"],
                            person["location"],
                            1,
                            "now",
                            "now",
                        )
                    )
            with cursor.copy("COPY identities (person_id, kind, value, created_at) FROM STDIN") as copy:
                for offset in range(len(people)):
                    copy.write_row((first + offset, "email", f"p{offset}@bench{offset % 97}.example", "now"))
            with cursor.copy(
                "COPY contacts (source_id, user_id, person_id, external_key, fields, content_hash, created_at, "
                "updated_at) FROM STDIN"
            ) as copy:
                for offset, person in enumerate(people):
                    fields = json.dumps({"display_name": person["name"]})
                    copy.write_row(
                        (
                            source_id,
                            user_id,
                            first + offset,
                            f"row-{offset}",
                            fields,
                            hashlib.sha256(fields.encode()).hexdigest(),
                            "now",
                            "now",
                        )
                    )
        connection.execute(text("SELECT setval(pg_get_serial_sequence('people', 'id'), (SELECT max(id) FROM people))"))
    engine.dispose()
    return user_id


def folded_words(name: str) -> list[str]:
    from pipelines.search.text import terms

    return terms(name)


def one_typo(word: str, rng: random.Random) -> str:
    letters = "abcdefghijklmnopqrstuvwxyz"
    position = rng.randrange(len(word))
    kind = rng.choice(["substitute", "delete", "insert", "transpose"])
    if kind == "substitute":
        replacement = rng.choice([c for c in letters if c != word[position]])
        return word[:position] + replacement + word[position + 1 :]
    if kind == "delete":
        return word[:position] + word[position + 1 :]
    if kind == "insert":
        return word[:position] + rng.choice(letters) + word[position:]
    if position == len(word) - 1 or word[position] == word[position + 1]:
        return word[:position] + rng.choice([c for c in letters if c != word[position]]) + word[position + 1 :]
    return word[:position] + word[position + 1] + word[position] + word[position + 2 :]


def typo_queries(people: list[dict], ids: list[int], count: int, rng: random.Random) -> list[tuple[str, int]]:
    by_name: dict[str, int] = {}
    for person in people:
        key = " ".join(folded_words(person["name"]))
        by_name[key] = by_name.get(key, 0) + 1
    candidates = [
        (index, words)
        for index, person in enumerate(people)
        if (words := folded_words(person["name"])) and by_name[" ".join(words)] == 1 and any(len(w) >= 4 for w in words)
    ]
    chosen = rng.sample(candidates, min(count, len(candidates)))
    queries = []
    for index, words in chosen:
        long_words = [i for i, w in enumerate(words) if len(w) >= 4]
        target = rng.choice(long_words)
        words = list(words)
        words[target] = one_typo(words[target], rng)
        queries.append((" ".join(words), ids[index]))
    return queries


def prefix_queries(people: list[dict], ids: list[int], count: int, rng: random.Random) -> list[tuple[str, int]]:
    starts: dict[str, list[int]] = {}
    for index, person in enumerate(people):
        key = " ".join(folded_words(person["name"]))[:3]  # the first three characters as typed
        if len(key) == 3 and not key.endswith(" "):
            starts.setdefault(key, []).append(index)
    unique = [(prefix, ids[found[0]]) for prefix, found in starts.items() if len(found) == 1]
    return rng.sample(unique, min(count, len(unique)))


def time_queries(client: requests.Session, url: str, queries: list[tuple[str, int]], top: int, limit: int) -> dict:
    latencies, hits = [], 0
    for query, _wanted in queries[:20]:  # warm up
        client.get(url, params={"q": query, "limit": limit})
    for query, wanted in queries:
        started = time.perf_counter()
        response = client.get(url, params={"q": query, "limit": limit})
        latencies.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
        found = [item["id"] for item in response.json()["items"]]
        hits += wanted in found[:top]
    return {
        "queries": len(queries),
        "p50_ms": round(percentile(latencies, 0.5), 1),
        "p99_ms": round(percentile(latencies, 0.99), 1),
        f"top{top}_share": round(hits / max(1, len(queries)), 4),
    }


def baseline(database: str, queries: list[tuple[str, int]]) -> dict:
    engine = create_engine(database)
    latencies, hits = [], 0
    with engine.connect() as connection:
        for query, wanted in queries:
            started = time.perf_counter()
            found = (
                connection.execute(
                    text("SELECT id FROM people WHERE lower(display_name) LIKE :q ORDER BY display_name, id LIMIT 3"),
                    {"q": f"%{query.lower()}%"},
                )
                .scalars()
                .all()
            )
            latencies.append((time.perf_counter() - started) * 1000)
            hits += wanted in found
    engine.dispose()
    return {
        "queries": len(queries),
        "p50_ms": round(percentile(latencies, 0.5), 1),
        "p99_ms": round(percentile(latencies, 0.99), 1),
        "top3_share": round(hits / max(1, len(queries)), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--engines", default="sqlite,opensearch,elasticsearch")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()

    database = fresh_database("sixdeg_bench_search")
    env = {
        **os.environ,
        "SIXDEG_DATABASE_URL": database,
        "SIXDEG_RATELIMIT_DEFAULT": "1000000/minute",
        "SIXDEG_RATELIMIT_AUTH": "1000000/minute",
        "SIXDEG_SEARCH_INDEX": "benchpeople",
    }
    sixdeg(env, "migrate")
    sixdeg(env, "user", "create", EMAIL, stdin=PASSWORD + "\n")
    people = names(args.people, args.seed)
    started = time.perf_counter()
    load(database, people)
    print(f"wrote {len(people)} people to Postgres in {time.perf_counter() - started:.1f} s", flush=True)
    engine = create_engine(database)
    with engine.connect() as connection:
        ids = (
            connection.execute(text("SELECT id FROM people WHERE id NOT IN (SELECT person_id FROM users) ORDER BY id"))
            .scalars()
            .all()
        )
    engine.dispose()
    rng = random.Random(args.seed)
    typos = typo_queries(people, list(ids), args.queries, rng)
    prefixes = prefix_queries(people, list(ids), args.queries, rng)

    results = []
    for name in args.engines.split(","):
        run_env = {**env, "SIXDEG_SEARCH_URL": ENGINE_URLS[name], "SIXDEG_DATA_DIR": str(ROOT / "var" / "bench-search")}
        os.environ.update(run_env)
        from pipelines.config import Config
        from pipelines.search.stores import close_indexes, rebuild, search_index

        config = Config.from_env()
        search_index(config).clear()
        close_indexes()
        started = time.perf_counter()
        counts = rebuild(config)
        index_seconds = time.perf_counter() - started
        close_indexes()
        with served(run_env) as base:
            client = token_session(base, EMAIL)
            typo = time_queries(client, f"{base}/v1/people", typos, top=3, limit=10)
            prefix = time_queries(client, f"{base}/v1/people/suggest", prefixes, top=5, limit=5)
        result = {
            "engine": name,
            "indexed": counts["people"],
            "index_seconds": round(index_seconds, 1),
            "typo": typo,
            "prefix": prefix,
        }
        results.append(result)
        print(
            f"{name:13} indexed {counts['people']} in {index_seconds:5.1f} s | typo p50 {typo['p50_ms']:5.1f} ms "
            f"p99 {typo['p99_ms']:5.1f} ms top-3 {typo['top3_share']:.1%} | prefix p50 {prefix['p50_ms']:5.1f} ms "
            f"p99 {prefix['p99_ms']:5.1f} ms top-5 {prefix['top5_share']:.1%}",
            flush=True,
        )
    naive = baseline(database, typos)
    print(
        f"{'baseline':13} Postgres LIKE '%query%' (in-process, no HTTP) | p50 {naive['p50_ms']:5.1f} ms "
        f"p99 {naive['p99_ms']:5.1f} ms top-3 {naive['top3_share']:.1%}",
        flush=True,
    )
    out = write_results(
        "search",
        {
            "people": len(people),
            "typo_queries": len(typos),
            "prefix_queries": len(prefixes),
            "results": results,
            "baseline": naive,
        },
        figures=[
            item
            for result in results
            for item in (
                figure(
                    f"Search p50, one-typo names ({result['engine']}, {len(people):,} people)",
                    result["typo"]["p50_ms"],
                    "ms",
                    better="lower",
                    baseline=naive["p50_ms"],
                    baseline_name="Postgres LIKE '%query%', in-process",
                ),
                figure(
                    f"Search p99, one-typo names ({result['engine']})",
                    result["typo"]["p99_ms"],
                    "ms",
                    better="lower",
                    baseline=naive["p99_ms"],
                    baseline_name="Postgres LIKE '%query%', in-process",
                ),
                figure(
                    f"Search: intended person in the top 3 ({result['engine']})",
                    round(100 * result["typo"]["top3_share"], 1),
                    "%",
                    better="higher",
                    baseline=round(100 * naive["top3_share"], 1),
                    baseline_name="Postgres LIKE '%query%'",
                ),
                figure(
                    f"Suggest p99, three-letter prefixes ({result['engine']})",
                    result["prefix"]["p99_ms"],
                    "ms",
                    better="lower",
                ),
            )
        ],
        options=vars(args),
    )
    print(f"written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
