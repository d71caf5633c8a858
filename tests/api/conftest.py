from dataclasses import replace

import pytest

from api import create_app
from tests.support.people import seed_user

WEB_INDEX = "<!doctype html><title>sixdeg</title><div id=app></div>"


@pytest.fixture
def app(migrated_sqlite_config):
    """The API on embedded SQLite, serving a stand-in for the built browser app."""
    web_dir = migrated_sqlite_config.data_dir / "web"
    (web_dir / "assets").mkdir(parents=True)
    (web_dir / "index.html").write_text(WEB_INDEX)
    (web_dir / "assets" / "index-abc123.js").write_text("console.log('sixdeg')")
    return create_app(replace(migrated_sqlite_config, web_dir=web_dir))


@pytest.fixture
def config(app):
    return app.config["SIXDEG"]


@pytest.fixture
def alice(config):
    return seed_user(config, "alice@example.com", with_suggestion=True)


@pytest.fixture
def bob(config):
    return seed_user(
        config,
        "bob@example.org",
        contacts=[
            {"given_name": "Margaret", "family_name": "Hamilton", "emails": ["margaret@nasa.example"]},
        ],
    )


def bearer(seeded):
    return {"Authorization": f"Bearer {seeded.token}"}


@pytest.fixture
def running_worker(app):
    """Dramatiq worker threads on the app's (in-process) broker, as `sixdeg serve` runs them."""
    import dramatiq

    from actors.broker import start_worker

    worker = start_worker(dramatiq.get_broker(), app.config["SIXDEG"])
    yield worker
    worker.stop(timeout=5000)
