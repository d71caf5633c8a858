"""Imports over HTTP on the embedded stack: 202 and a URL to poll, progress to done, paginated row errors."""

import io
import time

from pipelines.db import unit_of_work
from pipelines.models import Contact
from tests.api.conftest import bearer

CARDS = (
    "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Grace Hopper\r\nEMAIL:grace@navy.example\r\nEND:VCARD\r\n"
    "BEGIN:VCARD\r\nVERSION:3.0\r\nNOTE:nothing to identify anyone\r\nEND:VCARD\r\n"
    "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Alan Turing\r\nTEL:+44 20 7946 0000\r\nEND:VCARD\r\n"
)


def _upload(client, seeded, content, name="phone.vcf", **form):
    return client.post(
        "/v1/imports",
        headers=bearer(seeded),
        data={"file": (io.BytesIO(content.encode() if isinstance(content, str) else content), name), **form},
    )


def _wait_done(client, seeded, url, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get(url, headers=bearer(seeded)).get_json()
        if body["status"] in ("done", "failed"):
            return body
        time.sleep(0.05)
    raise AssertionError(f"import not finished: {body}")


def test_upload_is_accepted_and_processed_by_the_worker(app, alice, running_worker):
    client = app.test_client()
    response = _upload(client, alice, CARDS)
    assert response.status_code == 202, response.get_data(as_text=True)
    body = response.get_json()
    assert response.headers["Location"] == body["url"] and body["status"] in ("requested", "running", "done")
    done = _wait_done(client, alice, body["url"])
    assert (done["status"], done["contacts"], done["errors"], done["progress"]) == ("done", 2, 1, 1.0)
    errors = client.get(f"{body['url']}/errors", headers=bearer(alice)).get_json()
    assert [e["line"] for e in errors["items"]] == [6]  # the second card starts on line 6
    with unit_of_work(app.config["SIXDEG"]) as session:
        assert session.query(Contact).filter_by(user_id=alice.user_id).count() == 2 + 2  # seeded + imported
    listed = client.get("/v1/imports?limit=1", headers=bearer(alice)).get_json()
    assert listed["items"][0]["id"] == body["id"] and listed["next"]


def test_not_a_contact_file_is_a_422_problem(app, alice):
    response = _upload(app.test_client(), alice, b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8, name="me.png")
    assert response.status_code == 422 and response.content_type == "application/problem+json"
    assert response.get_json()["errors"][0]["field"] == "file"


def test_upload_limits_and_content_type(app, alice):
    client = app.test_client()
    wrong = client.post("/v1/imports", headers=bearer(alice), json={"file": "x"})
    assert wrong.status_code == 415
    app.config["SIXDEG"] = app.config["SIXDEG"].__class__(**{**app.config["SIXDEG"].__dict__, "max_upload_bytes": 100})
    assert _upload(client, alice, CARDS).status_code == 413
