"""Every endpoint x {anonymous, owner, another user}, generated from the app's URL map.

The owner's resources (token, contact, source) fill the path; "other" asks for them with their own token and
must get 404, never 403 (existence is not leaked). An endpoint without an entry here fails the test, so
every new endpoint gets its row.
"""

import io
import itertools
import uuid

import pytest

from api import create_app
from tests.api.conftest import bearer
from tests.support.people import PASSWORD

A, O, X = "anonymous", "owner", "other"  # noqa: E741


def _all(status):
    return {A: status, O: status, X: status}


def _private(owner, other=None, anonymous=401):
    return {A: anonymous, O: owner, X: owner if other is None else other}


EXPECTED = {
    ("health.healthz", "GET"): _all(200),
    ("health.readyz", "GET"): _all(200),
    ("metrics.prometheus_metrics", "GET"): _all(200),  # Prometheus scrapes pods directly; no user data in it
    ("docs.openapi", "GET"): _all(200),
    ("docs.docs", "GET"): _all(200),
    ("accounts.signup", "POST"): _all(201),
    ("accounts.login", "POST"): _all(200),
    ("accounts.logout", "POST"): _all(204),
    ("accounts.current_session", "GET"): _private(404),  # bearer-authenticated: there is no browser session
    ("accounts.change_password", "POST"): _private(204),
    ("accounts.me", "GET"): _private(200),
    ("accounts.update_me", "PATCH"): _private(200),
    ("accounts.delete_me", "POST"): _private(200),
    ("accounts.list_tokens", "GET"): _private(200),
    ("accounts.create_token", "POST"): _private(201),
    ("accounts.get_token", "GET"): _private(200, other=404),
    ("accounts.revoke_token", "DELETE"): _private(204, other=404),
    ("contacts.list_contacts", "GET"): _private(200),
    ("contacts.get_contact", "GET"): _private(200, other=404),
    ("contacts.delete_contact", "DELETE"): _private(200, other=404),
    ("contacts.list_sources", "GET"): _private(200),
    ("contacts.get_source", "GET"): _private(200, other=404),
    ("contacts.delete_source", "DELETE"): _private(200, other=404),
    ("contacts.export_json", "GET"): _private(200),
    ("contacts.export_vcard", "GET"): _private(200),
    ("imports.create_import", "POST"): _private(202),
    ("imports.list_imports", "GET"): _private(200),
    ("imports.get_import", "GET"): _private(200, other=404),
    ("imports.list_import_errors", "GET"): _private(200, other=404),
    ("imports.list_merges", "GET"): _private(200),
    ("imports.undo", "POST"): _private(200, other=404),
    ("imports.list_merge_suggestions", "GET"): _private(200),
    ("imports.accept", "POST"): _private(200, other=404),
    ("imports.dismiss", "POST"): _private(204, other=404),
    ("graph.paths", "GET"): _private(200),
    ("graph.mutuals", "GET"): _private(200),  # anyone may ask whom they share with a person
    ("graph.stats", "GET"): _private(200),
    ("graph.reach", "GET"): _private(200),
    ("graph.network_graph", "GET"): _private(200),
    ("health.about", "GET"): _all(200),
    ("web.index", "GET"): _all(200),
    ("web.app_path", "GET"): _all(200),  # a deep link into the browser app: its index.html
    ("people.search", "GET"): _private(200),
    ("people.suggest", "GET"): _private(200),
    ("people.person", "GET"): _private(200, other=404),  # a private user's contact is not in others' network
    ("webhooks.create_source", "POST"): _private(201),
    # The matrix's source is the owner's vCard source: only webhook sources have secrets and can be disabled.
    ("webhooks.rotate_secret", "POST"): _private(409, other=404),
    ("webhooks.disable_source", "POST"): _private(409, other=404),
    ("webhooks.enable_source", "POST"): _private(409, other=404),
    ("webhooks.receive", "POST"): _all(404),  # signed, not logged in: and a vCard source receives nothing
}

QUERIES = {"graph.paths": "?to={person}", "graph.reach": "?company=Navy", "people.suggest": "?q=gr"}

VCARD = b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Matrix Person\r\nEMAIL:matrix@example.com\r\nEND:VCARD\r\n"


def _bodies(endpoint, owner):
    return {
        "accounts.signup": {"email": f"new-{uuid.uuid4().hex[:8]}@example.net", "password": PASSWORD},
        "accounts.login": {"email": owner.email, "password": PASSWORD},
        "accounts.change_password": {"current_password": PASSWORD, "new_password": PASSWORD + "!"},
        "accounts.update_me": {"sharing": "network"},
        "accounts.delete_me": {"password": PASSWORD},
        "accounts.create_token": {"name": "matrix"},
        "webhooks.create_source": {"kind": "webhook", "name": "matrix"},
        "webhooks.rotate_secret": {},
        "webhooks.receive": {"type": "contact.deleted", "data": {"id": "x"}},
    }.get(endpoint)


def _routes():
    app = create_app_for_listing()
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            yield rule.endpoint, method, str(rule)


def create_app_for_listing():
    import tempfile

    from pipelines.config import Config

    return create_app(Config.from_env({}, data_dir=tempfile.mkdtemp(prefix="sixdeg-matrix-")))


ROUTES = sorted(set(_routes()))


def test_every_endpoint_has_a_matrix_entry():
    missing = [(endpoint, method, path) for endpoint, method, path in ROUTES if (endpoint, method) not in EXPECTED]
    assert not missing, f"add these endpoints to EXPECTED in {__file__}: {missing}"
    stale = set(EXPECTED) - {(e, m) for e, m, _ in ROUTES}
    assert not stale, f"EXPECTED lists endpoints that no longer exist: {stale}"


@pytest.mark.parametrize(
    ("endpoint", "method", "path", "role"), [(e, m, p, r) for (e, m, p), r in itertools.product(ROUTES, (A, O, X))]
)
def test_status(app, alice, bob, endpoint, method, path, role):
    expected = EXPECTED.get((endpoint, method))
    if expected is None:
        pytest.fail(f"{method} {path} ({endpoint}) has no entry in the authorization matrix")
    url = (
        path.replace("<int:token_id>", str(alice.token_id))
        .replace("<int:contact_id>", str(alice.contact_ids[0]))
        .replace("<int:source_id>", str(alice.source_id))
        .replace("<int:import_id>", str(alice.import_id))
        .replace("<int:merge_id>", str(alice.merge_id))
        .replace("<int:person_id>", str(alice.person_ids[0]))
        .replace("<int:suggestion_id>", str(alice.suggestion_id))
        .replace("<path:path>", "people/1")
    ) + QUERIES.get(endpoint, "").format(person=alice.person_ids[0])
    assert "<" not in url, f"no owner resource to fill {path}"
    headers = {A: {}, O: bearer(alice), X: bearer(bob)}[role]
    body = _bodies(endpoint, {O: alice, X: bob, A: alice}[role])
    if endpoint == "imports.create_import":
        response = app.test_client().open(
            url, method=method, headers=headers, data={"file": (io.BytesIO(VCARD), "matrix.vcf")}
        )
    else:
        response = app.test_client().open(url, method=method, headers=headers, json=body)
    assert response.status_code == expected[role], (role, method, url, response.get_data(as_text=True)[:500])
    if response.status_code >= 400:
        assert response.content_type == "application/problem+json"
