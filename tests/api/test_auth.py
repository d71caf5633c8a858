"""Accounts and authentication: sessions with CSRF, bearer tokens, brute-force limits, isolation."""

from dataclasses import replace

from sqlalchemy import select

from api import create_app
from pipelines.db import unit_of_work
from pipelines.models import ApiToken, AuthSession, User
from tests.api.conftest import bearer
from tests.support.people import PASSWORD


def _signup(client, email="carol@example.com", password=PASSWORD):
    return client.post("/v1/auth/signup", json={"email": email, "password": password})


def test_signup_sets_a_hardened_session_cookie_and_returns_a_csrf_token(app):
    client = app.test_client()
    response = _signup(client, "Carol@Example.COM")
    assert response.status_code == 201
    body = response.get_json()
    assert body["user"]["email"] == "carol@example.com" and body["csrf_token"]
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert client.get("/v1/me").get_json()["email"] == "carol@example.com"


def test_secure_cookie_when_configured(migrated_sqlite_config):
    app = create_app(replace(migrated_sqlite_config, cookie_secure=True))
    assert "Secure" in _signup(app.test_client()).headers["Set-Cookie"]


def test_signup_validation_and_duplicates(app):
    client = app.test_client()
    weak = _signup(client, password="short")
    assert weak.status_code == 422 and weak.get_json()["errors"][0]["field"] == "password"
    bad = _signup(client, email="not-an-email")
    assert bad.status_code == 422 and bad.get_json()["errors"][0]["field"] == "email"
    assert _signup(client).status_code == 201
    taken = _signup(app.test_client(), email="CAROL@example.com")
    assert taken.status_code == 409 and taken.content_type == "application/problem+json"


def test_passwords_are_argon2_hashes_and_sessions_tokens_are_stored_hashed(app, config):
    client = app.test_client()
    csrf = _signup(client).get_json()["csrf_token"]
    secret = client.post("/v1/tokens", json={"name": "cli"}, headers={"X-CSRF-Token": csrf}).get_json()["token"]
    with unit_of_work(config) as session:
        user = session.scalar(select(User).where(User.email == "carol@example.com"))
        assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash
        stored = session.scalar(select(ApiToken.token_hash))
        assert secret not in stored and len(stored) == 64
        assert all(len(s.token_hash) == 64 for s in session.scalars(select(AuthSession)))


def test_login_logout_and_wrong_password(app, alice):
    client = app.test_client()
    wrong = client.post("/v1/auth/login", json={"email": alice.email, "password": "nope nope nope"})
    assert wrong.status_code == 401 and wrong.content_type == "application/problem+json"
    login = client.post("/v1/auth/login", json={"email": alice.email, "password": PASSWORD})
    assert login.status_code == 200
    assert client.get("/v1/me").status_code == 200
    assert client.post("/v1/auth/logout").status_code == 403  # a cross-site page cannot log you out either
    assert client.post("/v1/auth/logout", headers={"X-CSRF-Token": login.get_json()["csrf_token"]}).status_code == 204
    assert client.get("/v1/me").status_code == 401


def test_logout_ends_the_session_on_the_server_even_if_the_cookie_is_replayed(app, alice):
    client = app.test_client()
    csrf = client.post("/v1/auth/login", json={"email": alice.email, "password": PASSWORD}).get_json()["csrf_token"]
    cookie = client.get_cookie("sixdeg_session").value
    assert client.post("/v1/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
    replay = app.test_client()
    replay.set_cookie("sixdeg_session", cookie)
    assert replay.get("/v1/me").status_code == 401


def test_csrf_is_enforced_for_cookie_sessions_and_not_for_bearer_tokens(app, alice):
    client = app.test_client()
    csrf = client.post("/v1/auth/login", json={"email": alice.email, "password": PASSWORD}).get_json()["csrf_token"]
    refused = client.patch("/v1/me", json={"sharing": "network"})
    assert refused.status_code == 403 and refused.get_json()["type"].endswith("/csrf-failed")
    assert client.patch("/v1/me", json={"sharing": "network"}, headers={"X-CSRF-Token": "wrong"}).status_code == 403
    assert client.patch("/v1/me", json={"sharing": "network"}, headers={"X-CSRF-Token": csrf}).status_code == 200
    assert client.get("/v1/auth/session").get_json()["csrf_token"] == csrf  # a reloaded page gets it back
    api = app.test_client()
    assert api.patch("/v1/me", json={"sharing": "private"}, headers=bearer(alice)).status_code == 200


def test_a_revoked_token_stops_working_at_once(app, alice):
    client = app.test_client()
    assert client.get("/v1/me", headers=bearer(alice)).status_code == 200
    assert client.delete(f"/v1/tokens/{alice.token_id}", headers=bearer(alice)).status_code == 204
    refused = client.get("/v1/me", headers=bearer(alice))
    assert refused.status_code == 401
    assert refused.get_json()["type"].endswith("/invalid-token")
    assert "invalid_token" in refused.headers["WWW-Authenticate"]


def test_token_secret_is_shown_only_once(app, alice):
    client = app.test_client()
    created = client.post("/v1/tokens", json={"name": "ci"}, headers=bearer(alice)).get_json()
    assert created["token"].startswith("sdg_")
    listed = client.get("/v1/tokens", headers=bearer(alice)).get_json()["items"]
    assert all("token" not in item for item in listed)
    assert client.get(f"/v1/tokens/{created['id']}", headers=bearer(alice)).get_json().get("token") is None
    assert client.get("/v1/me", headers={"Authorization": f"Bearer {created['token']}"}).status_code == 200


def test_malformed_authorization_is_401_not_anonymous(app):
    client = app.test_client()
    assert client.get("/v1/me", headers={"Authorization": "Basic abc"}).status_code == 401
    assert client.get("/healthz", headers={"Authorization": "Bearer sdg_nope"}).status_code == 401


def test_change_password_ends_other_sessions(app, alice):
    laptop, phone = app.test_client(), app.test_client()
    csrf = laptop.post("/v1/auth/login", json={"email": alice.email, "password": PASSWORD}).get_json()["csrf_token"]
    phone.post("/v1/auth/login", json={"email": alice.email, "password": PASSWORD})
    wrong = laptop.post(
        "/v1/auth/password",
        json={"current_password": "x" * 12, "new_password": "y" * 12},
        headers={"X-CSRF-Token": csrf},
    )
    assert wrong.status_code == 403 and wrong.get_json()["errors"][0]["field"] == "current_password"
    changed = laptop.post(
        "/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": "n" * 12},
        headers={"X-CSRF-Token": csrf},
    )
    assert changed.status_code == 204
    assert laptop.get("/v1/me").status_code == 200
    assert phone.get("/v1/me").status_code == 401
    assert (
        app.test_client().post("/v1/auth/login", json={"email": alice.email, "password": "n" * 12}).status_code == 200
    )


def test_brute_force_login_gets_429_with_retry_after(migrated_sqlite_config):
    app = create_app(replace(migrated_sqlite_config, ratelimit_auth="5/minute"))
    client = app.test_client()
    statuses = [
        client.post("/v1/auth/login", json={"email": "x@example.com", "password": f"guess {i}"}).status_code
        for i in range(7)
    ]
    assert statuses[:5] == [401] * 5
    assert statuses[5:] == [429, 429]
    limited = client.post("/v1/auth/login", json={"email": "x@example.com", "password": "again"})
    assert limited.content_type == "application/problem+json"
    assert int(limited.headers["Retry-After"]) > 0


def test_per_account_login_limit_holds_across_client_ips(migrated_sqlite_config):
    app = create_app(replace(migrated_sqlite_config, ratelimit_auth="3/minute"))
    statuses = []
    for i in range(5):
        client = app.test_client()
        response = client.post(
            "/v1/auth/login",
            json={"email": "victim@example.com", "password": f"guess {i}"},
            environ_base={"REMOTE_ADDR": f"10.0.0.{i + 1}"},
        )
        statuses.append(response.status_code)
    assert statuses == [401, 401, 401, 429, 429]


def test_default_limit_per_user(migrated_sqlite_config):
    from tests.support.people import seed_user

    app = create_app(replace(migrated_sqlite_config, ratelimit_default="3/minute"))
    seeded = seed_user(app.config["SIXDEG"], "dora@example.com")
    client = app.test_client()
    statuses = [client.get("/v1/me", headers=bearer(seeded)).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert client.get("/healthz").status_code == 200  # probes are never limited


def test_lists_never_show_another_users_rows(app, alice, bob):
    client = app.test_client()
    contacts = client.get("/v1/contacts", headers=bearer(bob)).get_json()["items"]
    assert {c["id"] for c in contacts}.isdisjoint(alice.contact_ids)
    sources = client.get("/v1/sources", headers=bearer(bob)).get_json()["items"]
    assert [s["id"] for s in sources] == [bob.source_id]
    tokens = client.get("/v1/tokens", headers=bearer(bob)).get_json()["items"]
    assert [t["id"] for t in tokens] == [bob.token_id]
