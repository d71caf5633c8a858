"""Every error is RFC 9457 problem+json: never an HTML page, never a stack trace."""

from dataclasses import replace

import pytest
from flask import request

from api import create_app


@pytest.fixture
def app(sqlite_config):
    app = create_app(replace(sqlite_config, max_body_bytes=1024))

    @app.post("/_test/echo")
    def echo():
        return {"size": len(request.get_data())}

    @app.get("/_test/boom")
    def boom():
        raise KeyError("secret internals")

    return app


def _assert_problem(response, status):
    assert response.status_code == status
    assert response.content_type == "application/problem+json"
    body = response.get_json(force=True)
    assert body["status"] == status
    assert body["title"] and body["detail"] and body["type"]
    assert "<html" not in response.get_data(as_text=True).lower()
    return body


def test_unknown_route_is_a_404_problem(app):
    body = _assert_problem(app.test_client().get("/v1/no/such/thing"), 404)
    assert body["instance"] == "/v1/no/such/thing"


def test_wrong_method_is_a_405_problem_with_allow(app):
    response = app.test_client().delete("/healthz")
    body = _assert_problem(response, 405)
    assert "GET" in response.headers["Allow"]
    assert "DELETE is not allowed" in body["detail"]


def test_oversized_body_is_a_413_problem(app):
    body = _assert_problem(app.test_client().post("/_test/echo", data=b"x" * 4096), 413)
    assert "limit is 1024" in body["detail"]
    assert app.test_client().post("/_test/echo", data=b"x" * 10).status_code == 200


def test_an_unexpected_exception_is_a_500_problem_without_internals(app):
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = app.test_client().get("/_test/boom")
    body = _assert_problem(response, 500)
    text = response.get_data(as_text=True)
    assert "secret internals" not in text and "Traceback" not in text
    assert body["type"].endswith("/internal-error")


def test_healthz_and_readyz_on_embedded_defaults(app):
    client = app.test_client()
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert set(ready.get_json()["backends"]) == {"database", "broker", "graph", "search"}
    assert ready.get_json()["last_backup_at"] is None

    from pipelines.backups import create_backup

    made = create_backup(app.config["SIXDEG"])
    assert client.get("/readyz").get_json()["last_backup_at"] == made.manifest["created_at"]


def test_readyz_names_the_failing_backend(sqlite_config):
    app = create_app(sqlite_config)
    app.config["SIXDEG"] = replace(
        sqlite_config, graph_url="bolt://127.0.0.1:1", search_url="opensearch+http://127.0.0.1:1", ready_timeout=3
    )
    response = app.test_client().get("/readyz")
    body = _assert_problem(response, 503)
    assert response.headers["Retry-After"]
    assert "graph (neo4j)" in body["detail"] and "search (opensearch)" in body["detail"]
    assert body["backends"]["database"]["ok"] is True
    assert body["backends"]["graph"]["ok"] is False


def test_database_lost_at_commit_is_a_503_problem(postgres_config):
    """The commit runs after the view (in an after_request hook): losing the database there is still a 503
    problem, not Flask's bare 500."""
    from sqlalchemy import create_engine, text

    from api.context import db

    app = create_app(postgres_config)
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.post("/_test/write-then-lose-db")
    def write_then_lose_db():
        backend = db().execute(text("SELECT pg_backend_pid()")).scalar()
        admin = create_engine(postgres_config.database_url)
        with admin.connect() as connection:
            connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
        admin.dispose()
        return {"written": True}, 202

    response = app.test_client().post("/_test/write-then-lose-db", json={})
    body = _assert_problem(response, 503)
    assert body["type"].endswith("/unavailable")
    assert "Retry-After" in response.headers
