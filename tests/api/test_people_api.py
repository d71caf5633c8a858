"""Search over HTTP: only people you may see, with degree, highlights, facets and cursors; one person's page."""

from __future__ import annotations

import time

from pipelines.search import queries
from pipelines.search.stores import rebuild
from tests.api.conftest import bearer
from tests.api.test_imports_api import _upload, _wait_done
from tests.support.people import add_contacts_of, seed_user

ZOE = {"given_name": "Zoë", "family_name": "Kowalski", "emails": ["zoe@stripe.com"], "company": "Stripe"}
JOSE = {"given_name": "José", "family_name": "Álvarez", "emails": ["jose@acme.example"], "company": "Acme"}
YURI = {"given_name": "Yuri", "family_name": "Stripe", "emails": ["yuri@stripe.example"], "company": "Stripe"}


def _setup(config):
    alice = seed_user(config, "alice@example.com", contacts=[ZOE, JOSE])
    bob = seed_user(config, "bob@example.org", contacts=[JOSE, YURI])
    rebuild(config)
    queries.forget_degrees()
    return alice, bob


def test_search_finds_only_what_you_may_see(app, config):
    alice, bob = _setup(config)
    client = app.test_client()
    body = client.get("/v1/people?q=zoe", headers=bearer(alice)).get_json()
    assert [item["name"] for item in body["items"]] == ["Zoë Kowalski"]
    item = body["items"][0]
    assert item["degree"] == 1 and item["company"] == "Stripe"
    assert item["highlight"] == {"name": [[0, 3]]}
    assert client.get("/v1/people?q=yuri", headers=bearer(alice)).get_json()["items"] == []  # Bob's, private
    assert client.get(f"/v1/people/{bob.person_ids[1]}", headers=bearer(alice)).status_code == 404

    assert client.patch("/v1/me", json={"sharing": "network"}, headers=bearer(bob)).status_code == 200
    queries.forget_degrees()
    shared = client.get("/v1/people?q=yuri", headers=bearer(alice)).get_json()["items"]
    assert [(i["name"], i["degree"]) for i in shared] == [("Yuri Stripe", 3)]  # Alice → José → Bob → Yuri
    queries.forget_degrees()  # no cached map: the page finds the degree with one bounded path search
    page = client.get(f"/v1/people/{bob.person_ids[1]}", headers=bearer(alice)).get_json()
    assert (page["name"], page["degree"]) == ("Yuri Stripe", 3)


def test_typos_filters_facets_and_degree(app, config):
    alice, _ = _setup(config)
    client = app.test_client()
    assert client.get("/v1/people?q=Kowalsky", headers=bearer(alice)).get_json()["items"][0]["name"] == "Zoë Kowalski"
    assert (
        client.get("/v1/people?q=jose+alvarez", headers=bearer(alice)).get_json()["items"][0]["name"] == "José Álvarez"
    )
    everyone = client.get("/v1/people", headers=bearer(alice)).get_json()
    assert everyone["total"] == 3  # Zoë, José and Alice herself
    assert {f["company"]: f["count"] for f in everyone["facets"]["companies"]} == {"Stripe": 1, "Acme": 1}
    stripe = client.get("/v1/people?company=stripe", headers=bearer(alice)).get_json()
    assert [i["name"] for i in stripe["items"]] == ["Zoë Kowalski"]
    first = client.get("/v1/people?degree=1", headers=bearer(alice)).get_json()
    assert sorted(i["name"] for i in first["items"]) == ["José Álvarez", "Zoë Kowalski"]
    assert client.get("/v1/people?degree=2", headers=bearer(alice)).get_json()["items"] == []
    assert client.get("/v1/people?degree=4", headers=bearer(alice)).status_code == 422


def test_cursor_pages_and_bad_cursor(app, config):
    alice = seed_user(
        config,
        "alice@example.com",
        contacts=[{"given_name": "Sam", "family_name": f"Lee{i}", "emails": [f"s{i}@x.example"]} for i in range(5)],
    )
    rebuild(config)
    client = app.test_client()
    seen = []
    url = "/v1/people?q=sam&limit=2"
    while url:
        response = client.get(url, headers=bearer(alice))
        body = response.get_json()
        seen += [i["id"] for i in body["items"]]
        assert body["total"] == 5
        if body["next"]:
            assert response.headers["Link"] == f'<{body["next"]}>; rel="next"'
        url = body["next"]
    assert len(seen) == 5 == len(set(seen))
    bad = client.get("/v1/people?q=sam&cursor=garbage", headers=bearer(alice))
    assert bad.status_code == 422 and bad.get_json()["errors"][0]["field"] == "cursor"


def test_suggest_and_person_page(app, config):
    alice, _ = _setup(config)
    client = app.test_client()
    items = client.get("/v1/people/suggest?q=zo", headers=bearer(alice)).get_json()["items"]
    assert [i["name"] for i in items] == ["Zoë Kowalski"]
    assert items[0]["highlight"] == {"name": [[0, 3]]}
    assert client.get("/v1/people/suggest", headers=bearer(alice)).status_code == 422
    page = client.get(f"/v1/people/{alice.person_ids[0]}", headers=bearer(alice)).get_json()
    assert page["name"] == "Zoë Kowalski" and page["degree"] == 1 and not page["is_you"]
    assert [c["fields"]["emails"] for c in page["contacts"]] == [["zoe@stripe.com"]]
    me = client.get(f"/v1/people/{alice.person_id}", headers=bearer(alice)).get_json()
    assert me["is_you"] and me["degree"] == 0
    assert client.get("/v1/people/999999", headers=bearer(alice)).status_code == 404


def test_an_imported_contact_becomes_searchable(app, alice, running_worker):
    client = app.test_client()
    card = (
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ingrid Bergström\r\nORG:Volvo\r\nEMAIL:ingrid@volvo.example\r\nEND:VCARD\r\n"
    )
    done = _wait_done(client, alice, _upload(client, alice, card).get_json()["url"])
    assert done["status"] == "done"
    deadline = time.monotonic() + 10
    items: list = []
    while time.monotonic() < deadline and not items:
        items = client.get("/v1/people?q=ingrid+bergstrom", headers=bearer(alice)).get_json()["items"]
        time.sleep(0.05)
    assert [(i["name"], i["company"]) for i in items] == [("Ingrid Bergström", "Volvo")]
    assert items[0]["degree"] == 1  # the user's degrees are now cached

    second = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Henrik Larsson\r\nEMAIL:henrik@saab.example\r\nEND:VCARD\r\n"
    assert _wait_done(client, alice, _upload(client, alice, second).get_json()["url"])["status"] == "done"
    deadline = time.monotonic() + 10
    items = []
    while time.monotonic() < deadline and not items:
        items = client.get("/v1/people?q=henrik+larsson", headers=bearer(alice)).get_json()["items"]
        time.sleep(0.05)
    assert items[0]["degree"] == 1  # not a stale cached "unconnected": the import changed the network


def test_merge_suggestions_on_the_person_page_accept_undo_and_dismiss(app, config, alice, bob):
    client = app.test_client()
    suggestions = client.get("/v1/merge-suggestions", headers=bearer(alice)).get_json()["items"]
    assert [s["id"] for s in suggestions] == [alice.suggestion_id]
    a, b = suggestions[0]["person_a_id"], suggestions[0]["person_b_id"]
    add_contacts_of(config, alice, [a, b])

    page = client.get(f"/v1/people/{a}", headers=bearer(alice))
    assert page.status_code == 200, page.get_json()
    offered = page.get_json()["merge_suggestions"]
    assert [(s["id"], s["other"]["id"]) for s in offered] == [(alice.suggestion_id, b)]

    assert client.post(f"/v1/merge-suggestions/{alice.suggestion_id}/accept", headers=bearer(bob)).status_code == 404
    merge = client.post(f"/v1/merge-suggestions/{alice.suggestion_id}/accept", headers=bearer(alice)).get_json()
    assert (merge["survivor_id"], merge["merged_id"]) == (a, b)
    survivor = client.get(f"/v1/people/{a}", headers=bearer(alice)).get_json()
    assert survivor["merge_suggestions"] == []
    assert [m["id"] for m in survivor["merges"]] == [merge["id"]]
    assert survivor["merges"][0]["merged"] == {"id": b, "name": "Ada L", "company": "Engines", "title": None}
    assert client.get("/v1/merge-suggestions", headers=bearer(alice)).get_json()["items"] == []
    again = client.post(f"/v1/merge-suggestions/{alice.suggestion_id}/accept", headers=bearer(alice))
    assert again.status_code == 404  # the accepted suggestion is gone

    assert client.post(f"/v1/merges/{merge['id']}/undo", headers=bearer(alice)).status_code == 200
    assert client.get(f"/v1/people/{a}", headers=bearer(alice)).get_json()["merges"] == []


def test_a_dismissed_suggestion_stays_dismissed(app, alice):
    client = app.test_client()
    dismissed = client.post(f"/v1/merge-suggestions/{alice.suggestion_id}/dismiss", headers=bearer(alice))
    assert dismissed.status_code == 204
    assert client.get("/v1/merge-suggestions", headers=bearer(alice)).get_json()["items"] == []
    refused = client.post(f"/v1/merge-suggestions/{alice.suggestion_id}/accept", headers=bearer(alice))
    assert refused.status_code == 409 and "dismissed" in refused.get_json()["detail"]
