"""The network endpoints honour sharing: a private user's edges are never used for anyone else's answers."""

from tests.api.conftest import bearer
from tests.support.people import seed_user

SHARED = {"given_name": "Xena", "family_name": "Shared", "emails": ["xena@example.net"], "company": "Acme"}
ONLY_BOB = {"given_name": "Yuri", "family_name": "Stripe", "emails": ["yuri@stripe.example"], "company": "Stripe"}


def _setup(config):
    alice = seed_user(config, "alice@example.com", contacts=[SHARED])
    bob = seed_user(config, "bob@example.org", contacts=[SHARED, ONLY_BOB])
    return alice, bob


def test_paths_go_through_other_users_only_when_they_share(app, config):
    alice, bob = _setup(config)
    client = app.test_client()
    xena, yuri = bob.person_ids
    private = client.get(f"/v1/paths?to={yuri}", headers=bearer(alice))
    assert private.status_code == 200 and private.get_json()["paths"] == []  # Bob is private by default

    assert client.patch("/v1/me", json={"sharing": "network"}, headers=bearer(bob)).status_code == 200
    shared = client.get(f"/v1/paths?to={yuri}", headers=bearer(alice)).get_json()
    best = shared["paths"][0]
    assert best["hops"] == 3
    assert [p["id"] for p in best["people"]] == [alice.person_id, xena, bob.person_id, yuri]
    assert [s["owner"] for s in best["steps"]] == ["you", "shared", "shared"]
    assert set(best["steps"][1]["evidence"]) == {"sources", "mutual"}  # no source ids of Bob's shown
    assert best["people"][3] == {"id": yuri, "name": "Yuri Stripe", "company": "Stripe", "title": None}

    own = client.get("/v1/paths?to=xena@example.net", headers=bearer(bob)).get_json()["paths"]
    assert own[0]["hops"] == 1 and own[0]["steps"][0]["owner"] == "you"


def test_unknown_target_is_404_and_bad_hops_422(app, config):
    alice, _ = _setup(config)
    client = app.test_client()
    assert client.get("/v1/paths?to=nobody@example.com", headers=bearer(alice)).status_code == 404
    assert client.get("/v1/paths?to=1&max_hops=7", headers=bearer(alice)).status_code == 422


def test_stats_mutuals_and_reach(app, config):
    alice, bob = _setup(config)
    client = app.test_client()
    client.patch("/v1/me", json={"sharing": "network"}, headers=bearer(bob))
    stats = client.get("/v1/network/stats", headers=bearer(alice)).get_json()["degrees"]
    assert stats == {"1": 1, "2": 1, "3": 1}  # Xena, then Bob, then Yuri
    mutuals = client.get(f"/v1/people/{bob.person_id}/mutuals", headers=bearer(alice)).get_json()
    assert [m["id"] for m in mutuals["mutuals"]] == [bob.person_ids[0]]
    reach = client.get("/v1/network/reach?company=stripe", headers=bearer(alice)).get_json()
    assert [item["person"]["name"] for item in reach["people"]] == ["Yuri Stripe"]
    assert reach["people"][0]["path"]["hops"] == 3


def test_network_graph_draws_what_you_may_use(app, config):
    alice, bob = _setup(config)
    client = app.test_client()
    xena, yuri = bob.person_ids
    mine = client.get("/v1/network/graph", headers=bearer(alice)).get_json()
    # Bob is private: Alice sees herself, Xena, and Bob only as Xena's contact... whose edge is Bob's own.
    assert mine["center"] == alice.person_id
    assert {n["id"]: n["distance"] for n in mine["nodes"]} == {alice.person_id: 0, xena: 1}
    assert [(e["source"], e["target"]) for e in mine["edges"]] == [tuple(sorted((alice.person_id, xena)))]

    client.patch("/v1/me", json={"sharing": "network"}, headers=bearer(bob))
    shared = client.get("/v1/network/graph", headers=bearer(alice)).get_json()
    assert {n["id"]: n["distance"] for n in shared["nodes"]} == {alice.person_id: 0, xena: 1, bob.person_id: 2}
    assert not shared["truncated"]
    xena_node = next(n for n in shared["nodes"] if n["id"] == xena)
    assert xena_node == {"id": xena, "name": "Xena Shared", "company": "Acme", "title": None, "distance": 1}

    around_bob = client.get(f"/v1/network/graph?around={bob.person_id}&hops=1", headers=bearer(alice)).get_json()
    assert around_bob["center"] == bob.person_id
    assert {n["id"] for n in around_bob["nodes"]} == {bob.person_id, xena, yuri}

    cut = client.get("/v1/network/graph?limit=2", headers=bearer(alice)).get_json()
    assert len(cut["nodes"]) == 2 and cut["truncated"]
    assert client.get("/v1/network/graph?around=999999", headers=bearer(alice)).status_code == 404
    assert client.get("/v1/network/graph?hops=3", headers=bearer(alice)).status_code == 422
