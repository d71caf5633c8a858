"""The HTTP API: a slim Flask app that validates requests and enqueues work."""

from __future__ import annotations

import logging

from flask import Flask

from pipelines.config import Config
from pipelines.db import is_postgres
from pipelines.migrate import migrate_on_boot

log = logging.getLogger(__name__)


def create_app(config: Config | None = None) -> Flask:
    """Build the Flask app for `config` (default: from the environment). Migrates on boot under a lock."""
    import actors  # noqa: F401  - declares every actor on the configured broker
    from actors import broker as broker_setup
    from api import (
        accounts,
        contacts,
        context,
        docs,
        graph,
        health,
        imports,
        limits,
        observability,
        people,
        web,
        webhooks,
    )
    from api.problems import register_problem_handlers

    config = config or Config.from_env()
    if broker_setup.current_config() != config:
        broker_setup.setup(config)
    migrate_on_boot(config)

    app = Flask(__name__)
    app.config["SIXDEG"] = config
    app.config["SECRET_KEY"] = config.secret_key
    app.config["MAX_CONTENT_LENGTH"] = max(config.max_body_bytes, config.max_upload_bytes)
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.url_map.strict_slashes = False
    register_problem_handlers(app)
    observability.install(app)  # first: request id and timing around every other hook
    context.install(app)
    limits.install(app)
    app.register_blueprint(health.blueprint)
    limits.limiter.exempt(health.blueprint)
    app.register_blueprint(observability.blueprint)
    limits.limiter.exempt(observability.blueprint)
    app.register_blueprint(accounts.blueprint)
    app.register_blueprint(contacts.blueprint)
    app.register_blueprint(imports.blueprint)
    app.register_blueprint(graph.blueprint)
    app.register_blueprint(people.blueprint)
    app.register_blueprint(webhooks.blueprint)
    app.register_blueprint(docs.blueprint)
    app.register_blueprint(web.blueprint)
    limits.limiter.exempt(web.blueprint)
    if is_postgres(config.database_url):  # where bursts of webhooks come in (see WebhookLane)
        app.wsgi_app = webhooks.WebhookLane(app)  # type: ignore[method-assign]
    return app
