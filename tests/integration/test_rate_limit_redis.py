"""Several API replicas share one rate-limit budget when SIXDEG_RATELIMIT_STORAGE points at Redis."""

import uuid
from dataclasses import replace

from api import create_app


def test_two_replicas_count_against_one_limit(migrated_sqlite_config, redis_url):
    # A unique client address keeps this test's counters apart from any other run on the same Redis.
    address = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    config = replace(migrated_sqlite_config, ratelimit_storage=redis_url, ratelimit_auth="4/minute")
    first, second = create_app(config), create_app(config)
    statuses = []
    for i in range(6):
        app = (first, second)[i % 2]
        response = app.test_client().post(
            "/v1/auth/login",
            json={"email": "x@example.com", "password": "guess"},
            environ_base={"REMOTE_ADDR": address},
        )
        statuses.append(response.status_code)
    assert statuses == [401, 401, 401, 401, 429, 429]


def test_memory_storage_is_per_process(migrated_sqlite_config):
    config = replace(migrated_sqlite_config, ratelimit_auth="2/minute")
    first = create_app(config)
    statuses = [
        first.test_client().post("/v1/auth/login", json={"email": "x@example.com", "password": "g"}).status_code
        for _ in range(3)
    ]
    assert statuses == [401, 401, 429]
