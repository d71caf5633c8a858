"""The browser app is served at / with deep links answered by its index.html; the API keeps its own 404s."""

from dataclasses import replace

from api import create_app
from tests.api.conftest import WEB_INDEX
from tests.support.people import PASSWORD


def test_deep_links_get_the_app_and_assets_are_cached(app):
    client = app.test_client()
    for path in ("/", "/explore", "/people/42"):
        response = client.get(path)
        assert response.status_code == 200 and response.get_data(as_text=True) == WEB_INDEX, path
        assert response.headers["Cache-Control"] == "no-cache"
        assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    asset = client.get("/assets/index-abc123.js")
    assert asset.status_code == 200 and "immutable" in asset.headers["Cache-Control"]
    assert client.get("/assets/missing-file.js").status_code == 404


def test_unknown_api_paths_stay_problems(app):
    response = app.test_client().get("/v1/no-such-thing")
    assert response.status_code == 404
    assert response.content_type == "application/problem+json"
    assert "/v1/docs" in response.get_json()["detail"]


def test_an_unbuilt_app_says_how_to_build_it(app, tmp_path):
    config = replace(app.config["SIXDEG"], web_dir=tmp_path / "nothing-here")
    response = create_app(config).test_client().get("/")
    assert response.status_code == 404
    assert "make web" in response.get_json()["detail"]


def test_about_says_whether_the_browser_is_signed_in(app, alice):
    client = app.test_client()
    assert client.get("/v1/about").get_json()["signed_in"] is False
    assert client.post("/v1/auth/login", json={"email": alice.email, "password": PASSWORD}).status_code == 200
    assert client.get("/v1/about").get_json()["signed_in"] is True
    client.set_cookie("sixdeg_session", "forged-value")
    assert client.get("/v1/about").get_json()["signed_in"] is False


def test_about_names_the_demo_login_only_in_demo_mode(app):
    client = app.test_client()
    assert client.get("/v1/about").get_json()["demo"] is None
    app.config["SIXDEG_DEMO"] = {"email": "demo@sixdeg.example", "password": "x"}
    assert client.get("/v1/about").get_json()["demo"]["email"] == "demo@sixdeg.example"
